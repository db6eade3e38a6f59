"""Argument checks shared by the meta-analysis functions; errors name the argument and index."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from locoreg.meta.errors import ArgumentError


def as_vector(x: ArrayLike, name: str) -> NDArray[np.float64]:
    """A finite 1-D float array; ``ValueError`` naming ``name[i]`` for the first bad value."""
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(name, f"expected numbers ({exc})") from exc
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1:
        raise ArgumentError(name, f"expected a 1-D array, got shape {a.shape}")
    if a.size == 0:
        raise ArgumentError(name, "no studies (empty array)")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        i = int(bad[0])
        raise ArgumentError(name, f"value {a[i]} is not a finite number", index=i)
    return a


def as_effects(yi: ArrayLike, vi: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Effect sizes and sampling variances: same length, finite, variances > 0."""
    y = as_vector(yi, "yi")
    v = as_vector(vi, "vi")
    if y.shape != v.shape:
        raise ArgumentError("vi", f"yi and vi differ in length ({y.size} vs {v.size})")
    bad = np.flatnonzero(v <= 0)
    if bad.size:
        i = int(bad[0])
        raise ArgumentError("vi", f"sampling variance {v[i]} must be > 0", index=i)
    return y, v


def as_level(level: float) -> float:
    """A confidence level strictly between 0 and 1."""
    lv = float(level)
    if not (math.isfinite(lv) and 0.0 < lv < 1.0):
        raise ArgumentError(
            "level", f"{level} must be strictly between 0 and 1", allowed="for example 0.95"
        )
    return lv
