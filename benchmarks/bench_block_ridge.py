"""Benchmark ``skpr.BlockRidge`` against ``sklearn.linear_model.BayesianRidge``.

Measured on one seeded regression problem (correlated features ``X = Z M +
noise`` of order one, ``y`` linear plus noise):

1. fit: ``BlockRidge(alpha=1.0)`` (with its default leave-one-out calibration)
   vs ``BayesianRidge()``; also ``BlockRidge(calibration=None)`` (so the LOO
   share is visible) and ``BlockRidge(solver="qr")`` for reference.
2. query: ``BlockRidge.predict_rigidity`` and ``BlockRidge.predict(...,
   return_std=True)`` vs ``BayesianRidge.predict(..., return_std=True)``.
3. the practical limit of the rigidity query: a triangular solve of
   ``n_q F^2`` flops is compared with a matrix product ``Xq @ B`` (``B`` of
   shape ``(F, F // 2)``) of the same flop count.

Every repeat runs all candidates, in a rotated order; the table reports the
median and minimum wall time (``time.perf_counter``) over the repeats, in two
protocols: "cold", each call right after another candidate's, and "warm", each
call right after an untimed call of itself (the steady state of repeated
calls).  It also checks that ``BlockRidge`` and
``sklearn.linear_model.Ridge`` give the same coefficients.

Run from the repository root::

    python benchmarks/bench_block_ridge.py [--repeats 5] [--n-samples 20000]
        [--n-features 1000] [--n-queries 5000]

The numpy and scipy wheels each bundle their own OpenBLAS (both are listed in
the header).  After a call, the threads of one keep spinning for a while and,
on a machine with few cores, slow down the next call into the other: that is
the difference between the cold and the warm protocol.  ``BlockRidge`` does
its heavy work in scipy's BLAS only; the candidates here alternate between the
two.  Prefix the command with ``OPENBLAS_THREAD_TIMEOUT=4`` to make idle
threads sleep right away.
"""

import argparse
import os
import statistics
import time

import numpy as np
import scipy
import sklearn
from sklearn.linear_model import BayesianRidge, Ridge
from threadpoolctl import threadpool_info

from skpr import BlockRidge


def make_data(n_samples, n_features, n_queries, seed=0):
    """Correlated features of order one and a linear target with noise."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(n_features, n_features)) / np.sqrt(n_features)
    n_total = n_samples + n_queries
    X = rng.normal(size=(n_total, n_features)) @ mixing
    X += 0.1 * rng.normal(size=X.shape)
    y = X @ rng.normal(size=n_features) + 0.5 * rng.normal(size=n_total)
    return X[:n_samples], y[:n_samples], X[n_samples:]


def run(candidates, repeats, warm):
    """Wall times of each candidate; all of them run in each repeat.

    ``warm``: time each call right after an untimed call of the same candidate.
    """
    times = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            if warm:
                candidates[name]()
            start = time.perf_counter()
            candidates[name]()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def load_average():
    """Other processes on the machine distort the timings; this shows them."""
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def print_table(title, results, ratios):
    print(f"\n{title}")
    width = max(len(name) for name in results) + 2
    print(f"  {'':<{width}}{'median [s]':>12}{'min [s]':>12}")
    for name, (median, best) in results.items():
        print(f"  {name:<{width}}{median:>12.4f}{best:>12.4f}")
    for label, (num, den) in ratios.items():
        median = results[num][0] / results[den][0]
        best = results[num][1] / results[den][1]
        print(f"  ratio {label}: median {median:.2f}x, min {best:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=1000)
    parser.add_argument("--n-queries", type=int, default=5000)
    args = parser.parse_args()
    n, f, q = args.n_samples, args.n_features, args.n_queries

    print(f"numpy {np.__version__}, scipy {scipy.__version__}, ", end="")
    print(f"scikit-learn {sklearn.__version__}, os.cpu_count() = {os.cpu_count()}")
    for pool in threadpool_info():
        print(
            f"  {pool['user_api']:<7}{pool['internal_api']:<10}"
            f"threads={pool['num_threads']:<4}{os.path.basename(pool['filepath'])}"
        )
    print(f"N = {n} rows, F = {f} features, {q} queries, {args.repeats} repeats")
    print(f"load average (1, 5, 15 min): {load_average()}")

    X, y, Xq = make_data(n, f, q)
    block = BlockRidge(alpha=1.0).fit(X, y)
    bayes = BayesianRidge().fit(X, y)
    ridge = Ridge(alpha=1.0).fit(X, y)
    coef_err = np.linalg.norm(block.coef_ - ridge.coef_) / np.linalg.norm(ridge.coef_)
    intercept_err = abs(block.intercept_ - ridge.intercept_)
    ok = coef_err < 1e-8 and intercept_err < 1e-8 * (1 + abs(ridge.intercept_))
    print(
        f"BlockRidge vs Ridge(alpha=1.0): relative coef error {coef_err:.1e}, "
        f"intercept error {intercept_err:.1e} -> {'OK' if ok else 'MISMATCH'} "
        f"(tol 1e-8; solver_={block.solver_!r}; BayesianRidge n_iter_={bayes.n_iter_})"
    )

    fit_candidates = {
        "BlockRidge().fit": lambda: BlockRidge(alpha=1.0).fit(X, y),
        "BlockRidge(calibration=None).fit": lambda: BlockRidge(
            alpha=1.0, calibration=None
        ).fit(X, y),
        "BlockRidge(solver='qr').fit": lambda: BlockRidge(alpha=1.0, solver="qr").fit(
            X, y
        ),
        "BayesianRidge().fit": lambda: BayesianRidge().fit(X, y),
    }
    for warm in (False, True):
        print_table(
            f"Fit ({'warm' if warm else 'cold'})",
            run(fit_candidates, args.repeats, warm),
            {
                "BayesianRidge / BlockRidge (target >= 5x)": (
                    "BayesianRidge().fit",
                    "BlockRidge().fit",
                ),
                "BlockRidge / BlockRidge(calibration=None) (LOO share)": (
                    "BlockRidge().fit",
                    "BlockRidge(calibration=None).fit",
                ),
            },
        )

    B = np.random.default_rng(1).normal(size=(f, f // 2))
    query_candidates = {
        "BlockRidge.predict_rigidity": lambda: block.predict_rigidity(Xq),
        "BlockRidge.predict(return_std)": lambda: block.predict(Xq, return_std=True),
        "BayesianRidge.predict(return_std)": lambda: bayes.predict(Xq, return_std=True),
        "Xq @ B (same flops as PR query)": lambda: Xq @ B,
    }
    for warm in (False, True):
        print_table(
            f"Query ({q} rows, {'warm' if warm else 'cold'})",
            run(query_candidates, args.repeats, warm),
            {
                "BayesianRidge std / BlockRidge PR (target >= 1x)": (
                    "BayesianRidge.predict(return_std)",
                    "BlockRidge.predict_rigidity",
                ),
                "BayesianRidge std / BlockRidge std (target >= 1x)": (
                    "BayesianRidge.predict(return_std)",
                    "BlockRidge.predict(return_std)",
                ),
                "BlockRidge PR / matmul (target <= 2x)": (
                    "BlockRidge.predict_rigidity",
                    "Xq @ B (same flops as PR query)",
                ),
            },
        )
    print(f"\nload average (1, 5, 15 min): {load_average()}")


if __name__ == "__main__":
    main()
