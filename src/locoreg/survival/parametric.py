"""Parametric accelerated-failure-time models with R ``survival::survreg``'s parameterisation.

``log T = x'beta + sigma W`` with W standard extreme-value (``"weibull"``; ``"exponential"``
is sigma fixed at 1), normal (``"lognormal"``) or logistic (``"loglogistic"``). With
``z_i = (log t_i - x_i'beta) / sigma`` and case weights w_i, the log-likelihood on the time
scale (R's ``loglik``, Jacobian included) is::

    l = sum_events w (log f_W(z) - log sigma - log t) + sum_censored w log S_W(z)

f_W, S_W: extreme value ``exp(z - e^z)``, ``exp(-e^z)``; logistic ``e^z / (1 + e^z)^2``,
``1 / (1 + e^z)``; normal ``phi(z)``, ``1 - Phi(z)``. Maximised over (beta, log sigma) by
Newton–Raphson with step halving from the least-squares start, with analytic first and
second derivatives: writing g(z) for ``log f_W`` (events) or ``log S_W`` (censored),

    dl/d eta = -g'/sigma,  d2l/d eta2 = g''/sigma^2,
    d2l/d eta d(log sigma) = (z g'' + g')/sigma,  d2l/d(log sigma)2 = z^2 g'' + z g'

(Kalbfleisch & Prentice 2002, ch. 3; Klein & Moeschberger 2003, ch. 12). The covariance is
the inverse of the observed information in (beta, log sigma), as R ``fit$var``. The Weibull
shape is ``1/sigma`` and the scale ``exp(beta_0)`` (R's ``rweibull`` parameters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import linalg, special

from locoreg.survival._dispatch import accepts_formula
from locoreg.survival._dist import chi2_sf, norm_logpdf, norm_ppf, norm_sf
from locoreg.survival._util import FloatArray, as_float_vector, check_same_length

if TYPE_CHECKING:
    import pandas as pd

Distribution = Literal["weibull", "exponential", "lognormal", "loglogistic"]
_DISTRIBUTIONS = ("weibull", "exponential", "lognormal", "loglogistic")
_EPS = 1e-12  # relative change of the log-likelihood at convergence (R: 1e-9)


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    df: int
    p_value: float


@dataclass(frozen=True, eq=False)
class SurvregResult:
    """Fitted AFT model. ``coef`` is indexed like ``names`` (``"(Intercept)"`` first);
    ``var`` is the covariance of (coef, log(scale)) - without the log(scale) row and column
    when the scale is fixed, as R."""

    coef: FloatArray
    scale: float
    var: FloatArray
    loglik: tuple[float, float]  # (intercept only, model), R ``fit$loglik``
    chisq: ChiSquare | None  # likelihood-ratio test against the intercept-only model
    distribution: str
    fixed_scale: bool
    n: int
    n_events: int
    iterations: int
    names: tuple[str, ...]
    level: float
    formula: str | None = None
    n_dropped: int = 0

    @property
    def log_scale(self) -> float:
        return float(np.log(self.scale))

    @property
    def params(self) -> FloatArray:
        """coef followed by log(scale) when the scale was estimated (R's table rows)."""
        return self.coef if self.fixed_scale else np.append(self.coef, self.log_scale)

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.names if self.fixed_scale else (*self.names, "Log(scale)")

    @property
    def se(self) -> FloatArray:
        return np.sqrt(np.diag(self.var))

    @property
    def z(self) -> FloatArray:
        return self.params / self.se

    @property
    def p_value(self) -> FloatArray:
        return 2.0 * norm_sf(np.abs(self.z))

    @property
    def ci_low(self) -> FloatArray:
        return self.params - norm_ppf(0.5 + self.level / 2) * self.se

    @property
    def ci_high(self) -> FloatArray:
        return self.params + norm_ppf(0.5 + self.level / 2) * self.se

    @property
    def time_ratio(self) -> FloatArray:
        """``exp(coef)``: the acceleration factor of each covariate."""
        return np.exp(self.coef)

    def summary(self) -> pd.DataFrame:
        """R ``summary(survreg)``'s table as a DataFrame."""
        from .summary import survreg_table

        return survreg_table(self)

    def __str__(self) -> str:
        from .summary import format_survreg

        return format_survreg(self)


def _derivatives(
    z: FloatArray, event: FloatArray, distribution: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """g, g', g'' per row (g = log density at events, log survival when censored)."""
    if distribution in ("weibull", "exponential"):
        ez = np.exp(z)
        g = event * z - ez
        return g, event - ez, -ez
    if distribution == "loglogistic":
        p = special.expit(z)
        log1pez = np.logaddexp(0.0, z)
        g = event * (z - 2.0 * log1pez) + (1.0 - event) * (-log1pez)
        g1 = event * (1.0 - 2.0 * p) + (1.0 - event) * (-p)
        g2 = -(1.0 + event) * p * (1.0 - p)
        return g, g1, g2
    # lognormal: log phi at events; log(1 - Phi) and the Mills ratio when censored
    log_sf = special.log_ndtr(-z)
    lam = np.exp(norm_logpdf(z) - log_sf)
    g = event * norm_logpdf(z) + (1.0 - event) * log_sf
    g1 = event * (-z) + (1.0 - event) * (-lam)
    g2 = event * -1.0 + (1.0 - event) * (-lam * (lam - z))
    return g, g1, g2


def _ascent_step(info: FloatArray, grad: FloatArray) -> FloatArray:
    """Newton step ``I^-1 u``; far from the optimum, where I is not positive definite, a
    Levenberg–Marquardt shift ``(I + lambda diag(I))^-1 u`` keeps it an ascent direction."""
    scale = np.maximum(np.abs(np.diag(info)), 1e-12)
    shift = 0.0
    for _ in range(40):
        try:
            return np.asarray(
                linalg.cho_solve(linalg.cho_factor(info + shift * np.diag(scale)), grad),
                dtype=np.float64,
            )
        except linalg.LinAlgError:
            shift = 1e-4 if shift == 0.0 else shift * 10.0
    return grad / scale


def _newton(
    x: FloatArray,
    y: FloatArray,
    event: FloatArray,
    w: FloatArray,
    distribution: str,
    log_sigma_fixed: float | None,
    max_iter: int,
) -> tuple[FloatArray, float, float, FloatArray, int]:
    """Maximise l over (beta, log sigma); returns beta, log sigma, l, information, iterations."""
    p = x.shape[1]
    jac = float(np.sum(w * event * y))  # sum over events of w log t (the Jacobian)

    def evaluate(theta: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        beta = theta[:p]
        log_sigma = theta[p] if log_sigma_fixed is None else log_sigma_fixed
        sigma = np.exp(log_sigma)
        z = (y - x @ beta) / sigma
        g, g1, g2 = _derivatives(z, event, distribution)
        loglik = float(np.sum(w * g) - np.sum(w * event) * log_sigma - jac)
        u_eta = -w * g1 / sigma
        h_ee = w * g2 / sigma**2
        grad = x.T @ u_eta
        hess = x.T @ (x * h_ee[:, None])
        if log_sigma_fixed is None:
            u_s = float(np.sum(w * (-g1 * z - event)))
            h_es = x.T @ (w * (z * g2 + g1) / sigma)
            h_ss = float(np.sum(w * (z * z * g2 + z * g1)))
            grad = np.append(grad, u_s)
            hess = np.block([[hess, h_es[:, None]], [h_es[None, :], np.array([[h_ss]])]])
        return loglik, grad, -hess

    # Start: least squares of log t on x, log sigma from the residual spread.
    beta0 = np.linalg.lstsq(x * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
    resid_sd = float(np.sqrt(np.average((y - x @ beta0) ** 2, weights=w)))
    start = [] if log_sigma_fixed is not None else [np.log(max(resid_sd, 0.1))]
    theta = np.concatenate([np.asarray(beta0, dtype=np.float64), start])
    loglik, grad, info = evaluate(theta)
    for iteration in range(1, max_iter + 1):
        new = theta + _ascent_step(info, grad)
        new_loglik, new_grad, new_info = evaluate(new)
        halvings = 0
        while not (np.isfinite(new_loglik) and new_loglik >= loglik - 1e-12 * abs(loglik)):
            halvings += 1
            if halvings > 30:
                raise ValueError("survreg: the log-likelihood cannot be increased (step halving)")
            new = (new + theta) / 2.0
            new_loglik, new_grad, new_info = evaluate(new)
        converged = (
            abs(new_loglik - loglik) <= _EPS * abs(new_loglik)
            and float(np.max(np.abs(new - theta))) < 1e-8
        )
        theta, loglik, grad, info = new, new_loglik, new_grad, new_info
        if converged:
            log_sigma = float(theta[p]) if log_sigma_fixed is None else log_sigma_fixed
            return theta[:p], log_sigma, loglik, info, iteration
    raise ValueError(f"survreg did not converge in {max_iter} iterations; raise max_iter")


@accepts_formula("survreg")  # survreg("Surv(time, status) ~ x", data=df): survival/formula.py
def survreg(
    time: ArrayLike,
    event: ArrayLike,
    X: ArrayLike | None = None,
    *,
    distribution: Distribution = "weibull",
    weights: ArrayLike | None = None,
    scale: float | None = None,
    names: Sequence[str] | None = None,
    level: float = 0.95,
    max_iter: int = 50,
) -> SurvregResult:
    """Fit a parametric AFT model as R ``survreg(Surv(time, event) ~ X, dist=)``.

    Parameters
    ----------
    time, event : array_like
        Survival times (> 0) and 0/1 event indicators (right censoring).
    X : array_like, optional
        Covariates (n, p) without the intercept, which is always added.
    distribution : {"weibull", "exponential", "lognormal", "loglogistic"}
        Distribution of T; ``"exponential"`` fixes the scale at 1.
    weights : array_like, optional
        Case weights (a weight of 2 is two identical rows).
    scale : float, optional
        A fixed scale sigma (R ``survreg(scale=)``); estimated when None.
    names : sequence of str, optional
        Covariate names (default ``x1, x2, ...``).
    level : float
        Confidence level of ``ci_low``/``ci_high``.
    max_iter : int
        Newton–Raphson iterations allowed.

    Returns
    -------
    SurvregResult
        ``coef``, ``scale``, ``var`` (of coef and log scale), ``loglik`` (intercept
        only, model), the likelihood-ratio ``chisq``.

    Notes
    -----
    ``log T = x'beta + sigma W``; see the module docstring for the likelihood and its
    derivatives. Agrees with R ``survreg`` to 1e-6 (tests/survival/test_parametric.py).

    References
    ----------
    Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data, 2nd ed.
    Wiley 2002. Therneau TM. survival: ``survreg``.
    """
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {', '.join(_DISTRIBUTIONS)}")
    if not 0.0 < level < 1.0:
        raise ValueError("level must lie in (0, 1)")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    t = as_float_vector(time, "time")
    n = t.shape[0]
    if n == 0:
        raise ValueError("time is empty")
    if np.any(t <= 0):
        raise ValueError("time must be > 0 (the model is for log time)")
    ev = as_float_vector(np.asarray(event, dtype=np.float64), "event")
    check_same_length(n, event=ev)
    if not np.all((ev == 0) | (ev == 1)):
        raise ValueError("event must contain only 0/1 (or booleans)")
    if not ev.any():
        raise ValueError("event contains no events")
    w = np.ones(n) if weights is None else as_float_vector(weights, "weights")
    check_same_length(n, weights=w)
    if np.any(w <= 0):
        raise ValueError("weights must be positive")
    if X is None:
        cov = np.empty((n, 0))
    else:
        cov = np.asarray(X, dtype=np.float64)
        if cov.ndim == 1:
            cov = cov[:, None]
        if cov.ndim != 2 or cov.shape[0] != n or not np.all(np.isfinite(cov)):
            raise ValueError(f"X must be a finite array with {n} rows")
    labels = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(cov.shape[1]))
    if len(labels) != cov.shape[1]:
        raise ValueError(f"names has {len(labels)} entries, X has {cov.shape[1]} columns")
    if distribution == "exponential":
        if scale not in (None, 1.0):
            raise ValueError("the exponential distribution has scale 1")
        scale = 1.0
    if scale is not None and not (np.isfinite(scale) and scale > 0):
        raise ValueError("scale must be a positive number")
    fixed = None if scale is None else float(np.log(scale))
    y = np.log(t)
    design = np.column_stack([np.ones(n), cov])
    beta, log_sigma, loglik, info, iterations = _newton(
        design, y, ev, w, distribution, fixed, max_iter
    )
    var = linalg.inv(info)
    var = (var + var.T) / 2.0
    chisq = None
    loglik0 = loglik
    if cov.shape[1] > 0:
        loglik0 = _newton(design[:, :1], y, ev, w, distribution, fixed, max_iter)[2]
        stat = 2.0 * (loglik - loglik0)
        chisq = ChiSquare(stat, cov.shape[1], float(chi2_sf(stat, cov.shape[1])))
    return SurvregResult(
        coef=beta,
        scale=float(np.exp(log_sigma)),
        var=var,
        loglik=(loglik0, loglik),
        chisq=chisq,
        distribution=distribution,
        fixed_scale=fixed is not None,
        n=n,
        n_events=int(ev.sum()),
        iterations=iterations,
        names=("(Intercept)", *labels),
        level=level,
    )
