"""Figures (matplotlib → SVG/PNG/PDF by file suffix; matplotlib is imported lazily).

Meta-analysis: :mod:`locoreg.plots.forest` (``ForestRow``, ``ForestSummary``,
``forest_plot``, ``cumulative_forest_plot``) and :mod:`locoreg.plots.funnel`
(``funnel_plot``, contour-enhanced, with trim-and-fill points);
:mod:`locoreg.plots.pool_forest` (``pool_forest_plot``: trials vs observational studies for
``locoreg evidence pool``). Cohorts: ``km``,
``balance``, ``speccurve``; patients: ``icon_array``.
"""
