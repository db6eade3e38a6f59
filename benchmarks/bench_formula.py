"""Overhead of the formula front end on a Cox fit, as a ratio to the array path.

Fits the same Efron Cox model on one simulated data set (default 1,000,000 rows x 20
covariates, times in whole days, ~40 % censored) twice:

  - arrays:  ``cox(time, event, X)``;
  - formula: ``cox("Surv(time, status) ~ x1 + ... + x20", data=df)`` on a pandas DataFrame
    holding the same columns (formulaic builds the design matrix, NA check included);

best of ``--repeat`` each, after a warm-up that loads the compiled kernels, checks that the
coefficients are identical and prints both times and formula / arrays (issue 13: <= 1.20).
The front end alone (``model_frame``: NA check and design matrix) is timed too: on a busy
machine its share, ``1 + front end / arrays``, is steadier than the ratio of two fits.
A second pair adds a three-level string column (``+ grp``), coded by treatment contrasts.

  python benchmarks/bench_formula.py [--rows 1000000] [--cols 20] [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _timing import best_of_with_result
from bench_cox import simulate

from locoreg.survival import cox
from locoreg.survival.formula import model_frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20,000 rows")
    args = parser.parse_args()
    n = 20_000 if args.quick else args.rows
    t, e, x = simulate(n, args.cols)
    names = [f"x{j + 1}" for j in range(args.cols)]
    # Built column by column, as read_csv builds a frame (each column contiguous).
    df = pd.DataFrame({"time": t, "status": e, **{c: x[:, j] for j, c in enumerate(names)}})
    df["grp"] = np.random.default_rng(2).choice(["a", "b", "c"], n)
    formula = "Surv(time, status) ~ " + " + ".join(names)
    cox(t[:5000], e[:5000], x[:5000])  # warm-up: compiled kernels loaded

    rows = []
    t_arr, fit_arr = best_of_with_result(lambda: cox(t, e, x), args.repeat)
    t_frm, fit_frm = best_of_with_result(lambda: cox(formula, data=df), args.repeat)
    np.testing.assert_allclose(fit_frm.coef, fit_arr.coef, rtol=1e-12)
    t_mf = best_of_with_result(lambda: model_frame(formula, df), args.repeat)[0]
    rows.append((f"{args.cols} numeric covariates", t_arr, t_frm, t_mf))

    grp = np.column_stack([df["grp"] == "b", df["grp"] == "c"]).astype(np.float64)
    xg = np.hstack([x, grp])
    t_arr2, fit_arr2 = best_of_with_result(lambda: cox(t, e, xg), args.repeat)
    t_frm2, fit_frm2 = best_of_with_result(lambda: cox(formula + " + grp", data=df), args.repeat)
    np.testing.assert_allclose(fit_frm2.coef, fit_arr2.coef, rtol=1e-12)
    t_mf2 = best_of_with_result(lambda: model_frame(formula + " + grp", df), args.repeat)[0]
    rows.append(("+ a 3-level string column", t_arr2, t_frm2, t_mf2))

    print(f"Cox (Efron), {n:,} rows x {args.cols} covariates, best of {args.repeat}")
    print(
        f"{'model':<28} {'arrays (s)':>11} {'formula (s)':>12} {'formula / arrays':>17} "
        f"{'front end (s)':>14} {'1 + front end / arrays':>23}"
    )
    for label, a, f, m in rows:
        print(f"{label:<28} {a:11.3f} {f:12.3f} {f / a:17.3f} {m:14.3f} {1 + m / a:23.3f}")


if __name__ == "__main__":
    main()
