"""Invariances, degenerate input and the O(n log n) concordance of locoreg.survival.cox."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from locoreg.survival import cox
from locoreg.survival._concordance import concordance


def simulate(seed: int, n: int = 120, p: int = 2, ties: bool = True):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    t = rng.exponential(np.exp(-x @ np.linspace(0.5, -0.5, p)))
    t = np.ceil(t * 5) if ties else t
    d = rng.random(n) < 0.7
    return t, d, x, rng


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**16), ties=st.sampled_from(["efron", "breslow"]), counting=st.booleans()
)
def test_row_order_does_not_matter(seed: int, ties: str, counting: bool) -> None:
    t, d, x, rng = simulate(seed)
    strata = rng.integers(0, 2, t.shape[0])
    entry = np.floor(rng.random(t.shape[0]) * t) if counting else None
    perm = rng.permutation(t.shape[0])
    a = cox(t, d, x, ties=ties, strata=strata, entry=entry)
    b = cox(
        t[perm],
        d[perm],
        x[perm],
        ties=ties,
        strata=strata[perm],
        entry=None if entry is None else entry[perm],
    )
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9)
    np.testing.assert_allclose(b.var, a.var, rtol=1e-9)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-12)
    np.testing.assert_allclose(b.concordance, a.concordance, rtol=1e-12)
    np.testing.assert_allclose(b.residuals()[np.argsort(perm)], a.residuals(), atol=1e-10)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), ties=st.booleans())
def test_duplicated_rows_with_half_weight_change_nothing(seed: int, ties: bool) -> None:
    """R case-weight semantics: point estimate, log-likelihood and the model-based
    variance depend only on the total weight per distinct row. This holds for Breslow
    with or without tied times; not for Efron, because duplicating a death creates a
    tied pair and R's Efron step counts tied deaths (d), not their weight (see the next
    test). (Non-integer weights switch R - and locoreg - to the robust variance.)"""
    t, d, x, _ = simulate(seed, ties=ties)
    a = cox(t, d, x, ties="breslow")
    b = cox(
        np.tile(t, 2),
        np.tile(d, 2),
        np.tile(x, (2, 1)),
        ties="breslow",
        weights=np.full(2 * t.shape[0], 0.5),
    )
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-12)
    np.testing.assert_allclose(b.naive_se, a.naive_se, rtol=1e-9)
    np.testing.assert_allclose(b.concordance, a.concordance, rtol=1e-12)
    assert b.robust_se is not None


def test_efron_with_tied_deaths_counts_deaths_not_weights() -> None:
    """Duplicating tied deaths at weight 1/2 changes Efron (as R), never Breslow."""
    t, d, x, _ = simulate(5, ties=True)
    dup = (np.tile(t, 2), np.tile(d, 2), np.tile(x, (2, 1)))
    half = np.full(2 * t.shape[0], 0.5)
    assert not np.allclose(cox(*dup, weights=half).coef, cox(t, d, x).coef, rtol=1e-6)
    np.testing.assert_allclose(
        cox(*dup, weights=half, ties="breslow").coef, cox(t, d, x, ties="breslow").coef, rtol=1e-9
    )


def brute_concordance(stop, event, lp, w, stratum, entry):
    conc = disc = tied = 0.0
    for i in np.flatnonzero(event):
        at_risk = (stratum == stratum[i]) & (stop >= stop[i]) & ~((stop == stop[i]) & event)
        if entry is not None:
            at_risk &= entry < stop[i]
        conc += w[i] * w[at_risk] @ (lp[at_risk] < lp[i])
        disc += w[i] * w[at_risk] @ (lp[at_risk] > lp[i])
        tied += w[i] * w[at_risk] @ (lp[at_risk] == lp[i])
    return conc, disc, tied


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    counting=st.booleans(),
    strata=st.booleans(),
    lp_levels=st.sampled_from([5, 400]),
)
def test_concordance_matches_quadratic_definition(
    seed: int, counting: bool, strata: bool, lp_levels: int
) -> None:
    """Ties in time (also between entry and stop times), in lp (5 levels) or many distinct
    lp values (several 64-rank blocks of the compiled sweep), strata, case weights."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60 if lp_levels == 5 else 400))
    stop = rng.integers(1, 8, n).astype(float)
    entry = np.floor(rng.random(n) * stop) if counting else None
    event = rng.random(n) < 0.6
    lp = rng.integers(0, lp_levels, n) / 7.0
    w = rng.choice([0.5, 1.0, 2.0], n)
    stratum = rng.integers(0, 3, n) if strata else np.zeros(n, dtype=np.intp)
    got = concordance(stop, event, lp, w, stratum, entry)
    conc, disc, tied = brute_concordance(stop, event, lp, w, stratum, entry)
    np.testing.assert_allclose(
        [got.concordant, got.discordant, got.tied_x], [conc, disc, tied], atol=1e-9
    )


def test_concordance_without_comparable_pairs_is_nan() -> None:
    empty = np.empty(0)
    none = concordance(empty, empty.astype(bool), empty, empty, empty.astype(np.intp), None)
    assert (none.concordant, none.discordant, none.tied_x) == (0.0, 0.0, 0.0)
    assert np.isnan(none.value)
    censored = concordance(
        np.arange(1.0, 5.0), np.zeros(4, bool), np.arange(4.0), np.ones(4), np.zeros(4, int), None
    )
    assert np.isnan(censored.value)


BASE_T = np.array([5.0, 3, 8, 2, 9, 4, 7, 6])
BASE_D = np.array([1, 0, 1, 1, 0, 1, 1, 0])
BASE_X = np.array([[0.1, 1], [0.5, 0], [-0.3, 1], [1.2, 0], [0.0, 1], [0.7, 0], [-1, 1], [0.2, 0]])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event": np.zeros(8)}, "no events"),
        ({"time": BASE_T[:7]}, "event has length 8, expected 7"),
        ({"time": np.where(np.arange(8) == 2, np.nan, BASE_T)}, "NaN"),
        ({"time": -BASE_T}, "negative"),
        ({"entry": BASE_T}, "entry must be < time"),
        ({"X": np.column_stack([BASE_X, np.full(8, 3.0)])}, "'x3' is constant"),
        ({"X": np.column_stack([BASE_X, 2 * BASE_X[:, 0] - BASE_X[:, 1]])}, "'x3' is collinear"),
        ({"X": np.where(np.arange(16).reshape(8, 2) == 3, np.inf, BASE_X)}, "X contains NaN"),
        ({"weights": -np.ones(8)}, "weights must be positive"),
        ({"event": np.full(8, 2)}, "only 0/1"),
        ({"ties": "exact"}, "ties must be"),
        ({"names": ["a"]}, "names has 1"),
    ],
)
def test_bad_input_raises_clear_value_error(kwargs: dict, message: str) -> None:
    args = {"time": BASE_T, "event": BASE_D, "X": BASE_X} | kwargs
    with pytest.raises(ValueError, match=message):
        cox(**args)


@pytest.mark.parametrize("noise", [0.0, 1e-9])
def test_collinearity_among_many_covariates_names_the_partners(noise: float) -> None:
    """One linear dependence among 30 covariates (exact, or within rounding noise): the
    message names the dependent covariate and only its partners."""
    rng = np.random.default_rng(8)
    n, p = 400, 30
    x = rng.normal(size=(n, p))
    x[:, 24] = x[:, 3] - 2.0 * x[:, 17] + noise * rng.normal(size=n)
    t = rng.exponential(size=n)
    d = rng.random(n) < 0.7
    with pytest.raises(ValueError, match=r"'x25' is collinear with 'x4', 'x18'$"):
        cox(t, d, x)


def test_monotone_likelihood_names_the_covariate() -> None:
    """All deaths in group 1 before any in group 0: the hazard ratio is infinite."""
    t = np.arange(1.0, 21.0)
    d = np.ones(20)
    group = (t <= 10).astype(float)
    rng = np.random.default_rng(3)
    x = np.column_stack([rng.normal(size=20), group])
    with pytest.raises(ValueError, match=r"'grp'.*monotone likelihood"):
        cox(t, d, x, names=["age", "grp"])


def test_ridge_penalty_keeps_separated_data_finite() -> None:
    t = np.arange(1.0, 21.0)
    group = (t <= 10).astype(float)
    fit = cox(t, np.ones(20), group[:, None], penalty=1.0)
    assert np.isfinite(fit.coef).all() and fit.coef[0] > 0


def test_non_convergence_is_reported_with_the_covariate() -> None:
    t, d, x, _ = simulate(1)
    with pytest.raises(
        ValueError, match=r"did not converge in 1 iterations \(largest remaining step: 'x[12]'\)"
    ):
        cox(t, d, x, max_iter=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"X": BASE_X[:7]}, r"X must have 8 rows"),
        ({"weights": np.ones(7)}, "weights has length 7, expected 8"),
        ({"offset": np.ones(9)}, "offset has length 9, expected 8"),
        ({"entry": np.zeros(7)}, "entry has length 7, expected 8"),
        ({"strata": np.zeros(7)}, "strata must be one-dimensional of length 8"),
        ({"cluster": np.zeros(9)}, "cluster must be one-dimensional of length 8"),
        ({"offset": np.where(np.arange(8) == 1, np.inf, 0.0)}, "offset contains NaN or inf"),
        ({"weights": np.where(np.arange(8) == 1, np.nan, 1.0)}, "weights contains NaN or inf"),
        ({"penalty": -1.0}, "penalty must be finite and >= 0"),
        ({"level": 1.5}, "level must lie in"),
    ],
)
def test_mismatched_or_invalid_arguments_are_named(kwargs: dict, message: str) -> None:
    args = {"time": BASE_T, "event": BASE_D, "X": BASE_X} | kwargs
    with pytest.raises(ValueError, match=message):
        cox(**args)


@settings(max_examples=10, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    counting=st.booleans(),
    stratified=st.booleans(),
    ties=st.sampled_from(["efron", "breslow"]),
)
def test_cache_block_size_does_not_change_the_fit(
    seed: int, counting: bool, stratified: bool, ties: str
) -> None:
    """Tiny row blocks (segments cut across block edges), walked by two threads from a few
    blocks on, give the same fit as one block, with weights, strata and (start, stop] rows."""
    from locoreg.survival import _cox_riskset

    t, d, x, rng = simulate(seed, n=150, p=3)
    kw = {
        "ties": ties,
        "weights": rng.choice([0.5, 1.0, 2.0], t.shape[0]),
        "strata": rng.integers(0, 3, t.shape[0]) if stratified else None,
        "entry": np.floor(rng.random(t.shape[0]) * t) if counting else None,
    }
    one = cox(t, d, x, **kw)
    with (
        patch.object(_cox_riskset, "_BLOCK_BYTES", 8 * 3 * int(rng.integers(1, 12))),
        patch.object(_cox_riskset, "_PARALLEL_BLOCKS", int(rng.integers(1, 4))),
    ):
        tiny = cox(t, d, x, **kw)
    np.testing.assert_allclose(tiny.coef, one.coef, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(tiny.var, one.var, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(tiny.loglik, one.loglik, rtol=1e-12)
    np.testing.assert_allclose(tiny.residuals("score"), one.residuals("score"), atol=1e-10)
    assert one.robust_var is not None and tiny.robust_var is not None  # fractional weights
    np.testing.assert_allclose(tiny.robust_var, one.robust_var, rtol=1e-9, atol=1e-13)


def test_blas_threads_limited_during_fit_and_restored() -> None:
    from locoreg.survival import _cox_riskset

    controls = _cox_riskset._openblas_thread_controls()
    before = [get() for get, _ in controls]
    with _cox_riskset.single_threaded_blas():
        assert all(get() == 1 for get, _ in controls)
    assert [get() for get, _ in controls] == before


@pytest.mark.parametrize("stratified", [False, True])
def test_adjacent_float_times_keep_deaths_before_censored(stratified: bool) -> None:
    """The fast sort puts censored rows at the next float up; a death at exactly that
    float must still come after them (the fit only depends on the order of times, so
    it must equal the fit on integer ranks of the times)."""
    t, d, x, rng = simulate(11, n=80)
    t = t.astype(float)
    # Censored rows at 3.0 and deaths at the next float after 3.0.
    t[:5], d[:5] = 3.0, False
    t[5:10], d[5:10] = np.nextafter(3.0, np.inf), True
    ranks = np.unique(t, return_inverse=True)[1].astype(float) + 1.0
    strata = rng.integers(0, 2, t.shape[0]) if stratified else None
    a = cox(t, d, x, strata=strata)
    b = cox(ranks, d, x, strata=strata)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-12)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-12)
    np.testing.assert_allclose(a.concordance, b.concordance, rtol=1e-12)


def test_robust_score_test_with_singleton_clusters_is_the_per_row_test() -> None:
    """cluster = row id is the unclustered robust variance (R's default cluster)."""
    t, d, x, _ = simulate(5)
    a = cox(t, d, x, robust=True)
    b = cox(t, d, x, cluster=np.arange(t.shape[0])[::-1])
    assert a.robust_score_test is not None and b.robust_score_test is not None
    np.testing.assert_allclose(b.robust_score_test.statistic, a.robust_score_test.statistic)
    assert cox(t, d, x).robust_score_test is None


def test_zph_log_transform_needs_positive_event_times() -> None:
    from locoreg.survival import cox_zph

    t, d, x, _ = simulate(7)
    t[np.flatnonzero(d)[0]] = 0.0
    fit = cox(t, d, x)
    assert np.isfinite(cox_zph(fit, transform="rank").chisq).all()
    with pytest.raises(ValueError, match="event times > 0"):
        cox_zph(fit, transform="log")


def test_cluster_always_gives_the_sandwich_variance() -> None:
    """``cluster`` means ids for the robust sandwich variance (the public contract), also
    with ``robust=False`` (where R would drop the cluster with a warning)."""
    t, d, x, rng = simulate(5, n=120, p=2)
    cluster = rng.integers(0, 10, t.shape[0])
    default = cox(t, d, x, cluster=cluster)
    explicit = cox(t, d, x, cluster=cluster, robust=False)
    assert default.robust_var is not None and explicit.robust_var is not None
    np.testing.assert_allclose(explicit.robust_var, default.robust_var, rtol=1e-12)
    assert cox(t, d, x).robust_var is None


@pytest.mark.parametrize("level", [0.0, 20.0, 700.0])
def test_a_covariate_shifted_by_stratum_changes_nothing(level: float) -> None:
    """Each stratum's partial likelihood ignores a constant added to its own linear
    predictor: a covariate (or offset) shifted by stratum must not move the fit. One shift
    for all strata once let the lower stratum underflow to zero (non-convergence, or
    division by zero); the risk-set sums also subtracted large later-stratum totals."""
    rng = np.random.default_rng(1)
    n = 200
    stratum = np.repeat([0, 1], n // 2)
    z = rng.normal(size=n)
    t = np.ceil(rng.exponential(np.exp(-2 * z)) * 20)
    d = rng.random(n) < 0.8
    entry = np.floor(rng.random(n) * t * 0.5)
    # R survival 3.5.3: coxph(Surv(t, d) ~ z + strata(s)) on these data
    np.testing.assert_allclose(cox(t, d, z, strata=stratum).coef, [1.69859816149738], rtol=1e-9)
    for kw in ({}, {"entry": entry}):
        base = cox(t, d, z, strata=stratum, **kw)
        shifted = cox(t, d, z + level * stratum, strata=stratum, **kw)
        offset = cox(t, d, z, strata=stratum, offset=level * stratum, **kw)
        for fit in (shifted, offset):
            np.testing.assert_allclose(fit.coef, base.coef, rtol=1e-9)
            np.testing.assert_allclose(fit.var, base.var, rtol=1e-8)
            np.testing.assert_allclose(
                fit.loglik[1] - fit.loglik[0], base.loglik[1] - base.loglik[0], rtol=1e-9
            )
            assert fit.concordance == base.concordance
        np.testing.assert_allclose(
            shifted.residuals("martingale"), base.residuals("martingale"), atol=1e-9
        )


def test_identical_covariate_rows_are_tied_in_the_concordance() -> None:
    """Harrell's C counts pairs with equal lp as tied: identical covariate rows must give
    exactly equal lp (BLAS matrix-vector products may differ in the last bit)."""
    rng = np.random.default_rng(1)
    p, n = 20, 101
    x = rng.integers(0, 2, (40, p)).astype(float)[rng.integers(0, 40, n)] + 0.5
    t = np.ceil(rng.exponential(1, n) * 10)
    d = rng.random(n) < 0.6
    fit = cox(t, d, x)
    _, row_of = np.unique(x, axis=0, return_inverse=True)
    lp = fit.linear_predictor
    for r in np.unique(row_of):
        assert np.unique(lp[row_of.ravel() == r]).size == 1
    conc, disc, tied = brute_concordance(t, d, lp, np.ones(n), np.zeros(n, np.intp), None)
    assert fit.concordance == pytest.approx((conc + tied / 2) / (conc + disc + tied), abs=1e-15)
    assert fit.concordance == pytest.approx(0.632352941176471, abs=1e-12)  # R survival 3.5.3


def test_a_covariate_with_a_large_mean_is_not_called_constant() -> None:
    """A calendar date (Julian day ~2.46e6) with a spread of days: constant-ness is judged
    on the centred scale, as R fits it."""
    rng = np.random.default_rng(0)
    n = 200
    day = 2455197.0 + np.round(rng.normal(size=n) * 10)
    x = np.column_stack([day, rng.normal(60, 10, n)])
    t = np.ceil(rng.exponential(1, n) * 10)
    d = rng.random(n) < 0.6
    fit = cox(t, d, x)
    shifted = cox(t, d, np.column_stack([day - 2455000.0, x[:, 1]]))
    np.testing.assert_allclose(fit.coef, shifted.coef, rtol=1e-7)
    with pytest.raises(ValueError, match="'x1' is constant"):
        cox(t, d, np.column_stack([np.full(n, 2455197.0), x[:, 1]]))


@pytest.fixture
def blas_two_threads() -> Iterator[list[tuple[Callable[[], int], Callable[[int], None]]]]:
    """BLAS set to 2 threads for the test (skipped without OpenBLAS), restored after."""
    from locoreg.survival import _cox_riskset

    controls = list(_cox_riskset._openblas_thread_controls())
    if not controls:
        pytest.skip("no OpenBLAS found in this process")
    before = [get() for get, _ in controls]
    for _, put in controls:
        put(2)
    yield controls
    for (_, put), count in zip(controls, before, strict=True):
        put(count)


def test_concurrent_fits_restore_blas_threads(blas_two_threads: list) -> None:
    """Fits overlapping in several threads share one 'BLAS single-threaded' period: the
    thread counts come back when the last one ends, not the first."""
    from concurrent.futures import ThreadPoolExecutor

    t, d, x, _ = simulate(3, n=3000, p=3)
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: cox(t, d, x), range(12)))
    assert [get() for get, _ in blas_two_threads] == [2] * len(blas_two_threads)


def test_unhelpful_inputs_get_clear_errors() -> None:
    from locoreg.survival import cox_zph

    t, d, x, _ = simulate(2, n=60, p=2)
    strata = np.array(["a", "b", None] * 20, dtype=object)
    with pytest.raises(ValueError, match="strata contains missing values"):
        cox(t, d, x, strata=strata)
    with pytest.raises(ValueError, match="sum overflows"):
        cox(t, d, np.column_stack([x[:, 0], np.full(60, 1e308)]))
    fit = cox(t, d, x, strata=np.repeat([0, 1], 30))
    with pytest.raises(ValueError, match="give the stratum code"):
        fit.predict_survival([[0.0, 0.0]], [1.0, 2.0])
    with pytest.raises(ValueError, match="x_new must have 2 columns"):
        fit.predict_survival([0.0, 0.0, 1.0], [1.0], strata=[0])
    # every death at one time: the km transform is constant over the events
    single_time = cox(np.where(d, 5.0, 7.0), d, x)
    with pytest.raises(ValueError, match="singular with transform 'km'"):
        cox_zph(single_time, transform="km")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_during_a_fit_gets_blas_threads_back(blas_two_threads: list) -> None:
    """A process forked while a fit holds BLAS single-threaded inherits that hold but not
    the fit: the child must start with the thread counts of before the fit."""
    from locoreg.survival import _cox_riskset

    with _cox_riskset.single_threaded_blas():  # as inside a fit in another thread
        pid = os.fork()
        if pid == 0:  # child: report through the exit status, never return to pytest
            ok = [get() for get, _ in blas_two_threads] == [2] * len(blas_two_threads)
            os._exit(0 if ok and _cox_riskset._blas_users == 0 else 1)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
