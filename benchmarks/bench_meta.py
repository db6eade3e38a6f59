"""Random-effects meta-analysis speed, locoreg vs peers, as ratios (one run, same data).

For each size k (studies per meta-analysis) the same ``--fits`` simulated data sets are
pooled by
  - locoreg ``rma`` with DL, PM and REML, both as called by default (with the Q-profile
    τ² interval, two root searches) and with ``tau2_ci=False`` (what the peers compute);
  - statsmodels ``combine_effects`` (DL: ``method_re="dl"``; PM: ``"iterated"``), the only
    PyPI peer with a random-effects estimator; REML is not offered there;
  - R metafor ``rma`` (DL, PM, REML; no ``confint``), when ``Rscript`` with metafor is
    installed, timed inside R (``system.time`` around the loop only, data already loaded).

Before timing, the pooled estimates of the peers are compared with locoreg's (largest
absolute difference printed) so that the race is between equal answers. Known
differences: statsmodels 0.15 does not truncate the DL τ² at 0 (a negative τ² gives other
weights, and NaN standard errors), and its PM iteration stops earlier (~1e-5); metafor
agrees to rounding. Ratios are
peer time / locoreg time (> 1: locoreg faster). Each timing is the best of ``--repeat``.
Usage: python benchmarks/bench_meta.py [--sizes 10 100 1000] [--fits 200] [--quick]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from _timing import best_of

from locoreg.meta import rma

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; k <- as.integer(args[2]); n <- as.integer(args[3]); rep <- as.integer(args[4])
suppressPackageStartupMessages(library(metafor))
y <- matrix(readBin(file.path(dir, "y.bin"), "double", k * n), nrow = n, byrow = TRUE)
v <- matrix(readBin(file.path(dir, "v.bin"), "double", k * n), nrow = n, byrow = TRUE)
for (m in c("DL", "PM", "REML")) {
  est <- numeric(n)
  best <- Inf
  for (r in seq_len(rep)) {
    t <- system.time(for (i in seq_len(n)) est[i] <- rma(y[i, ], v[i, ], method = m)$beta[1])
    best <- min(best, t[["elapsed"]])
  }
  cat(m, best, paste(sprintf("%.17g", est), collapse = ","), "\n")
}
"""


def simulate(k: int, n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """n meta-analyses of k studies: true τ² = 0.05, within-study variances 0.01–0.25."""
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.01, 0.25, (n, k))
    # yᵢ = μ + uᵢ + εᵢ with uᵢ ~ N(0, τ²), εᵢ ~ N(0, vᵢ): marginally N(μ, vᵢ + τ²)
    y = rng.normal(-0.2, np.sqrt(v + 0.05))
    return y, v


def converging(y: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Keep the data sets on which REML Fisher scoring converges.

    A few simulated sets make Fisher scoring oscillate; metafor stops on exactly the same ones
    ("Fisher scoring algorithm did not converge"), as locoreg does, so both are timed on the rest.
    """
    from locoreg.meta._heterogeneity import ConvergenceError

    keep = []
    for i in range(y.shape[0]):
        try:
            rma(y[i], v[i], method="REML", tau2_ci=False)
        except ConvergenceError:
            continue
        keep.append(i)
    return y[keep], v[keep], y.shape[0] - len(keep)


def run_r(y: np.ndarray, v: np.ndarray, repeat: int) -> dict[str, tuple[float, np.ndarray]]:
    """metafor timings and estimates per method, or {} when R/metafor is unavailable."""
    if shutil.which("Rscript") is None:
        return {}
    n, k = y.shape
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        y.astype("<f8").tofile(d / "y.bin")
        v.astype("<f8").tofile(d / "v.bin")
        (d / "bench.R").write_text(R_SCRIPT)
        proc = subprocess.run(
            ["Rscript", str(d / "bench.R"), str(d), str(k), str(n), str(repeat)],
            capture_output=True,
            text=True,
        )
    if proc.returncode != 0:
        print(f"  (R metafor skipped: {proc.stderr.strip().splitlines()[-1:]})")
        return {}
    out = {}
    for line in proc.stdout.splitlines():
        method, secs, est = line.split()
        out[method] = (float(secs), np.array([float(x) for x in est.split(",")]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--fits", type=int, default=200, help="meta-analyses per size")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    parser.add_argument(
        "--r-max-k",
        type=int,
        default=100,
        help="largest k timed in R metafor (k = 1000 takes metafor over 12 minutes)",
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.fits, args.repeat = [10], 20, 1

    import warnings

    # statsmodels takes sqrt of its negative DL τ² variances: silence, the Δ column shows it
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="statsmodels")
    try:
        from statsmodels.stats.meta_analysis import combine_effects
    except ImportError:  # optional peer (pip install '.[bench]')
        combine_effects = None
        print("statsmodels not installed: its column is skipped")

    print(f"python {platform.python_version()}, numpy {np.__version__}; "
          f"{args.fits} fits per size, best of {args.repeat}")  # fmt: skip
    header = f"{'k':>6} {'method':>6} {'peer':<22} {'peer s':>9} {'locoreg s':>10} {'ratio':>7}"
    for k in args.sizes:
        y, v = simulate(k, args.fits, seed=k)
        y, v, dropped = converging(y, v)
        note = f" ({dropped} data sets dropped: REML does not converge)" if dropped else ""
        print(f"\nk = {k}{note}")
        print(header)

        def ours(method: str, ci: bool, y: np.ndarray = y, v: np.ndarray = v) -> np.ndarray:
            return np.array(
                [rma(y[i], v[i], method=method, tau2_ci=ci).estimate for i in range(len(y))]
            )

        lean = {m: best_of(lambda m=m: ours(m, False), args.repeat) for m in ("DL", "PM", "REML")}
        full = {m: best_of(lambda m=m: ours(m, True), args.repeat) for m in ("DL", "PM", "REML")}
        est = {m: ours(m, False) for m in ("DL", "PM", "REML")}
        for m in ("DL", "PM", "REML"):
            print(f"{k:>6} {m:>6} {'locoreg + tau2 CI':<22} {full[m]:>9.4f} {lean[m]:>10.4f} "
                  f"{full[m] / lean[m]:>7.2f}")  # fmt: skip

        if combine_effects is not None:
            for m, sm in (("DL", "dl"), ("PM", "iterated")):

                def peer(sm: str = sm, y: np.ndarray = y, v: np.ndarray = v) -> np.ndarray:
                    return np.array(
                        [combine_effects(y[i], v[i], method_re=sm).mean_effect_re
                         for i in range(len(y))]
                    )  # fmt: skip

                diff = float(np.max(np.abs(peer() - est[m])))
                secs = best_of(peer, args.repeat)
                print(f"{k:>6} {m:>6} {'statsmodels':<22} {secs:>9.4f} {lean[m]:>10.4f} "
                      f"{secs / lean[m]:>7.2f}   max |Δ estimate| {diff:.1e}")  # fmt: skip

        if k > args.r_max_k:
            print(f"{k:>6}        R metafor not timed (k > --r-max-k {args.r_max_k})")
            continue
        for m, (secs, r_est) in run_r(y, v, args.repeat).items():
            diff = float(np.max(np.abs(r_est - est[m])))
            print(f"{k:>6} {m:>6} {'R metafor':<22} {secs:>9.4f} {lean[m]:>10.4f} "
                  f"{secs / lean[m]:>7.2f}   max |Δ estimate| {diff:.1e}")  # fmt: skip
    print("\nratio = peer time / locoreg time (locoreg without the tau2 CI, as the peers);")
    print("the 'locoreg + tau2 CI' rows give default-call time / lean time.")
    print("statsmodels DL differs where its tau2 < 0 (not truncated at 0, unlike metafor).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
