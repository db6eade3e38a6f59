"""Normal and chi-square distribution functions, computed with ``scipy.special``.

The engine needs four functions of two distributions. ``scipy.stats`` computes them with
the same special functions, but importing it builds every distribution object of the
library (0.5-1 s, most of ``locoreg cohort analyze``'s start-up); ``scipy.special`` loads
in a few milliseconds. The formulas are those of ``scipy.stats`` (``_continuous_distns``),
so the values are bit-identical (tested in ``tests/survival/test_dist.py``):

- standard normal survival function :math:`1 - \\Phi(x) = \\Phi(-x)` = ``ndtr(-x)``;
- its quantile :math:`\\Phi^{-1}(q)` = ``ndtri(q)`` (nan outside [0, 1]);
- its log density :math:`-x^2/2 - \\log\\sqrt{2\\pi}`;
- chi-square survival function :math:`Q(k/2, x/2)` = ``chdtrc(k, x)`` for k > 0 and x > 0,
  1 for x <= 0 (the support starts at 0) and nan for k <= 0, as ``scipy.stats.chi2.sf``.

Scalars in give numpy scalars out, arrays give arrays, as in ``scipy.stats``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import special

_LOG_SQRT_2PI = np.log(np.sqrt(2 * np.pi))


def norm_sf(x: Any) -> Any:
    """P(Z > x) for a standard normal Z (``scipy.stats.norm.sf``)."""
    return special.ndtr(-np.asarray(x, dtype=np.float64))[()]


def norm_ppf(q: Any) -> Any:
    """The q-quantile of the standard normal (``scipy.stats.norm.ppf``)."""
    return special.ndtri(np.asarray(q, dtype=np.float64))[()]


def norm_logpdf(x: Any) -> Any:
    """log of the standard normal density (``scipy.stats.norm.logpdf``)."""
    x = np.asarray(x, dtype=np.float64)
    return (-(x**2) / 2.0 - _LOG_SQRT_2PI)[()]


def chi2_sf(x: Any, df: Any) -> Any:
    """P(X > x) for X chi-square with ``df`` degrees of freedom (``scipy.stats.chi2.sf``)."""
    x = np.asarray(x, dtype=np.float64)
    df = np.asarray(df, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.where(x > 0, special.chdtrc(df, np.maximum(x, 0.0)), 1.0)
    out = np.where((df > 0) & ~np.isnan(x), out, np.nan)
    return out[()]
