"""Brent's root finder exactly as R's ``uniroot()`` runs it (``R_zeroin2``).

metafor finds the Paule–Mandel τ² and the Q-profile τ² confidence limits with
``uniroot(tol = .Machine$double.eps^0.25)``, a loose tolerance (≈1.2e-4). To agree
with metafor beyond that tolerance we take the same steps it takes: this is a
line-by-line port of the algorithm in R's ``src/library/stats/src/zeroin.c``
(Brent 1973, *Algorithms for Minimization without Derivatives*, ch. 4), not
``scipy.optimize.brentq``, whose steps differ in detail.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

#: R's default ``uniroot`` tolerance, ``.Machine$double.eps^0.25``.
R_TOL = sys.float_info.epsilon**0.25
_EPS = sys.float_info.epsilon


def zeroin(
    f: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    tol: float = R_TOL,
    maxiter: int = 1000,
) -> tuple[float, int]:
    """Root of ``f`` in ``[lower, upper]``; returns ``(root, iterations)``.

    ``f(lower)`` and ``f(upper)`` must have opposite signs (or one be zero).
    Raises ``ArithmeticError`` when ``maxiter`` is reached, as ``uniroot`` warns.
    """
    a, b = float(lower), float(upper)
    fa, fb = f(a), f(b)
    if fa * fb > 0:
        raise ValueError(f"f(lower) and f(upper) have the same sign on [{a}, {b}]")
    c, fc = a, fa
    if fa == 0.0:
        return a, 0
    if fb == 0.0:
        return b, 0
    for iteration in range(1, maxiter + 2):
        prev_step = b - a
        if abs(fc) < abs(fb):
            # make b the best approximation
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b, iteration - 1
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            # interpolation may be tried
            cb = c - b
            if a == c:  # linear interpolation
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise ArithmeticError(f"root finding did not converge in {maxiter} iterations")
