"""Benchmark alpha selection: BlockRidgeCV against GridSearchCV over BlockRidge.

Workloads:

(a) the NICE methane energies (``load_nice_methane()``: 500 structures, 160
    features, standardized), the first 300 rows;
(b) synthetic rows, 400 x 100 (``np.random.default_rng(0)``, a random linear
    model plus noise), two blocks of 50 columns with different scales.

Candidates, on the same grid of 25 alphas (1e-10 .. 1e2):

- ``BlockRidgeCV(alphas=grid)``: exact leave-one-out from one SVD;
- ``BlockRidgeCV(alphas=grid, block_ratios="search")`` on (b) (per-block
  ratios, one SVD per trial);
- the peer: ``GridSearchCV(BlockRidge(calibration=None), {"alpha": grid},
  cv=LeaveOneOut(), scoring="neg_mean_squared_error")`` (the same
  criterion: same choice expected), and with ``cv=5`` (what users run;
  another criterion).

Median of ``--repeats`` for ours, one run for the peers. Goal: at least 20x
faster than the grid search with the same choice.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_alpha.py [--repeats 5] [--quick]
"""

import argparse

import numpy as np
from _harness import (
    add_common_arguments,
    blas_threads,
    describe_environment,
    print_load_average,
    resolve_repeats,
    timed,
)
from sklearn.model_selection import GridSearchCV, LeaveOneOut
from sklearn.preprocessing import StandardScaler

from skpr import BlockRidge, BlockRidgeCV
from skpr.datasets import load_nice_methane

GRID = np.logspace(-10, 2, 25)


def compare(title, X, y, repeats, blocks=None):
    ours, t_ours = timed(
        lambda: BlockRidgeCV(alphas=GRID, blocks=blocks).fit(X, y), repeats
    )
    rows = [("BlockRidgeCV (exact LOO, one SVD)", t_ours, ours.alpha_.tolist())]
    if blocks is not None:
        searched, t_search = timed(
            lambda: BlockRidgeCV(alphas=GRID, blocks=blocks, block_ratios="search").fit(
                X, y
            ),
            repeats,
        )
        rows.append(
            ("BlockRidgeCV, block_ratios='search'", t_search, searched.alpha_.tolist())
        )
    loo, t_loo = timed(
        lambda: GridSearchCV(
            BlockRidge(calibration=None, blocks=blocks),
            {"alpha": list(GRID)},
            cv=LeaveOneOut(),
            scoring="neg_mean_squared_error",
        ).fit(X, y)
    )
    five, t_five = timed(
        lambda: GridSearchCV(
            BlockRidge(calibration=None, blocks=blocks),
            {"alpha": list(GRID)},
            cv=5,
            scoring="neg_mean_squared_error",
        ).fit(X, y)
    )
    rows.append(
        ("GridSearchCV, LeaveOneOut (peer)", t_loo, [loo.best_params_["alpha"]])
    )
    rows.append(("GridSearchCV, 5-fold", t_five, [five.best_params_["alpha"]]))
    same = ours.alpha_[0] == loo.best_params_["alpha"]
    error = np.max(np.abs(ours.loo_mse_ / -loo.cv_results_["mean_test_score"] - 1))
    print(f"\n### {title}: {X.shape[0]} x {X.shape[1]}, {GRID.size} alphas\n")
    print("| candidate | time [s] | LOO peer / this | chosen alpha |")
    print("|---|---|---|---|")
    for name, seconds, alpha in rows:
        ratio = f"{t_loo / seconds:.0f}x" if "peer" not in name else "(peer)"
        print(f"| {name} | {seconds:.3f} | {ratio} | {[f'{a:.0e}' for a in alpha]} |")
    print(
        f"\n- same choice as the LOO grid search: {same}; LOO curves agree to "
        f"{error:.1e} (relative); goal >= 20x faster"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=5)
    args = parser.parse_args()
    repeats = resolve_repeats(args)
    describe_environment()
    n = 60 if args.quick else 300
    nice = load_nice_methane()
    X = StandardScaler().fit_transform(nice.data[:n])
    y = nice.target[:n]
    rng = np.random.default_rng(0)
    m, F = (80, 20) if args.quick else (400, 100)
    Xs = rng.normal(size=(m, F)) * np.repeat([1.0, 0.05], F // 2)
    ys = Xs @ rng.normal(size=F) + 0.1 * rng.normal(size=m)
    with blas_threads(args):
        compare("(a) NICE methane", X, y, repeats)
        compare("(b) synthetic, two blocks", Xs, ys, repeats, blocks=[F // 2, F // 2])
    print_load_average()


if __name__ == "__main__":
    main()
