"""Hypothesis strategies for generated API requests (the no-5xx tests and fuzz_api.py).

schemathesis cannot mutate ``POST /api/meta`` (its bounds are given by a validator, and
hypothesis-jsonschema stops on them), so the requests are generated here from the
request model: columns of equal length (sometimes not), values inside the accepted
ranges with their edges, and outside them (zero, subnormal, huge, infinite, NaN),
every method and test, odd levels, subgroups, unknown keys. A few other requests ride
along: assessments, static files with odd bytes, pages.

``benchmarks/fuzz_api.py`` imports this module (``tests`` on ``sys.path``).
"""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

from hypothesis import strategies as st

from locoreg.meta.options import TAU2_METHODS as METHODS
from locoreg.meta.options import TESTS
from locoreg.web.meta_service import EFFECT_RANGE, LEVEL_RANGE, RATIO_RANGE, VARIANCE_RANGE

#: Floats where arithmetic breaks: signed zeros, the subnormal and normal extremes,
#: powers of ten that overflow when squared or divided, infinities and NaN.
EDGE_FLOATS: tuple[float, ...] = (
    0.0,
    -0.0,
    5e-324,
    2.2250738585072014e-308,
    1e-300,
    1e-200,
    1e-15,
    1e-12,
    1e-9,
    1e-6,
    0.5,
    0.9999,
    1.0,
    1e6,
    1e12,
    1e15,
    1e150,
    1e300,
    1.7976931348623157e308,
    -1e6,
    -1e300,
    math.inf,
    -math.inf,
    math.nan,
)


@cache
def _log_uniform(bounds: tuple[float, float]) -> st.SearchStrategy[float]:
    """Positive values spread over every order of magnitude of ``bounds``, edges included."""
    low, high = (math.log10(b) for b in bounds)
    return st.one_of(
        st.floats(min_value=low, max_value=high).map(lambda e: float(10**e)),
        st.sampled_from(bounds),
    )


@cache
def _inside(bounds: tuple[float, float], positive: bool) -> st.SearchStrategy[float]:
    if positive:
        return _log_uniform(bounds)
    low, high = bounds
    return st.one_of(
        st.floats(min_value=low, max_value=high),
        st.floats(min_value=-3, max_value=3),
        st.sampled_from((low, high, 0.0)),
        _log_uniform((1e-12, high)).map(lambda x: -x),
        _log_uniform((1e-12, high)),
    )


@cache
def _value(bounds: tuple[float, float], positive: bool, clean: bool) -> st.SearchStrategy[float]:
    """An accepted value when ``clean``; else now and then an edge float or any float."""
    if clean:
        return _inside(bounds, positive)
    return st.one_of(_inside(bounds, positive), st.sampled_from(EDGE_FLOATS), st.floats())


_WIDTHS = _log_uniform((1.0 + 1e-9, 1e3))
_ANY_WIDTH = st.one_of(_WIDTHS, st.sampled_from(EDGE_FLOATS))
_K = st.integers(min_value=1, max_value=12)
_ANY_LENGTH = st.integers(0, 13)
_ONE_IN = {n: st.integers(0, n - 1) for n in (2, 4, 5, 6)}
_METHODS = {True: st.sampled_from(METHODS), False: st.sampled_from((*METHODS, "reml", ""))}
_TESTS = {True: st.sampled_from(TESTS), False: st.sampled_from((*TESTS, "t"))}
_GROUP = st.sampled_from(("a", "b", "c", ""))
_LABEL = st.text(max_size=8)
_UNKNOWN_KEY = st.sampled_from(("tau2", "mods", ""))


@cache
def _lists(element: st.SearchStrategy[Any], n: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(element, min_size=n, max_size=n)


@st.composite
def meta_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON body for ``POST /api/meta``, valid in shape most of the time.

    Strategies are built once (module level, cached): building them per draw costs
    more than drawing from them.
    """
    k = draw(_K)
    clean = draw(_ONE_IN[4]) > 0  # three in four: every value accepted

    def one_in(n: int) -> bool:
        return draw(_ONE_IN[n]) == 0

    def length() -> int:
        return k if clean or not one_in(5) else draw(_ANY_LENGTH)

    def column(bounds: tuple[float, float], positive: bool) -> list[float]:
        return list(draw(_lists(_value(bounds, positive, clean), length())))

    body: dict[str, Any] = {}
    if one_in(2):
        body["yi"] = column(EFFECT_RANGE, positive=False)
        body["vi"] = column(VARIANCE_RANGE, positive=True)
    else:
        hr = column(RATIO_RANGE, positive=True)
        spread = [draw(_WIDTHS if clean else _ANY_WIDTH) for _ in hr]
        body["hr"] = hr
        body["ci_low"] = [h / s if s else h for h, s in zip(hr, spread, strict=True)]
        body["ci_high"] = [h * s for h, s in zip(hr, spread, strict=True)]
        if one_in(2):
            body["ci_level"] = draw(_value(LEVEL_RANGE, True, clean))
    if one_in(2):
        body["method"] = draw(_METHODS[clean])
    if one_in(2):
        body["test"] = draw(_TESTS[clean])
    if one_in(4):
        body["level"] = draw(_value(LEVEL_RANGE, True, clean))
    if one_in(4):
        body["by"] = draw(_lists(_GROUP, length()))
    if one_in(6):
        body["labels"] = draw(_lists(_LABEL, k))
    if not clean and one_in(5):
        body[draw(_UNKNOWN_KEY)] = draw(st.integers())
    return body


#: Other requests: (method, path, JSON body or None).
OTHER_REQUESTS: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/static/css/locoreg.css%00", None),
    ("GET", "/static/%00", None),
    ("GET", "/static/..%2F..%2Fpyproject.toml", None),
    ("GET", "/static/css/%ff%fe", None),
    ("GET", "/static/js/form.js", None),
    ("GET", "/healthz", None),
    ("GET", "/api/assessments?limit=0", None),
    ("GET", "/api/evidence/%00", None),
    ("GET", "/history?page=99999999999999999999", None),
    ("POST", "/api/assessments", {"age": 1e308, "sex": "female"}),
    ("POST", "/api/assessments", [1, 2]),
    ("POST", "/api/meta", [0.1]),
    ("POST", "/api/meta", None),
)


def encode(body: Any) -> bytes:
    """JSON as Python writes it: NaN and ±Infinity as bare tokens (httpx refuses them),
    which the server's JSON reader accepts and the model must refuse."""
    return json.dumps(body, allow_nan=True).encode()


def requests() -> st.SearchStrategy[tuple[str, str, Any]]:
    """A request: mostly ``POST /api/meta`` bodies, sometimes one of the others."""
    meta = meta_bodies().map(lambda body: ("POST", "/api/meta", body))
    return st.one_of(meta, meta, meta, meta, meta, meta, meta, st.sampled_from(OTHER_REQUESTS))
