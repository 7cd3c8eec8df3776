"""Benchmark ``skpr.BlockRidge`` against ``sklearn.linear_model.BayesianRidge``.

Measured on one seeded regression problem with more samples than features
(default N=20000, F=1000; correlated features ``X = Z M + noise`` of order
one, ``y`` linear plus noise), so that ``BlockRidge`` takes its primal route:

1. fit: ``BlockRidge(alpha)`` (with its default leave-one-out calibration)
   against ``BayesianRidge().fit``; also ``BlockRidge(calibration=None)``
   (so that the leave-one-out share shows), ``BlockRidge(solver="qr")`` and
   ``Ridge(alpha).fit`` (no uncertainty, the floor) for reference.  ``alpha``
   is ``lambda_ / alpha_`` of the fitted ``BayesianRidge``, so that both
   estimators end with the same model.  Checks: coefficients equal to
   ``Ridge``'s and to ``BayesianRidge``'s.
2. queries: ``predict_rigidity`` and ``predict(return_std=True)`` against
   ``BayesianRidge.predict(return_std=True)``, and against a matrix product
   ``Xq @ B`` (``B`` of shape ``(F, F // 2)``) of the same flop count as the
   triangular solve of the rigidity query (``n_q F^2``), its practical
   limit.  Check: ``BayesianRidge``'s variance ``x^T sigma_ x + 1 / alpha_``
   equals ``(q(x) - 1 / N) / alpha_ + 1 / alpha_`` with ``q = 1 / PR``
   (``BayesianRidge`` has no variance for the intercept).

Every repeat runs every candidate, in an order rotated from repeat to repeat;
the tables give the median and the minimum wall time and ``peer / this``
(above 1: faster than the peer), in two protocols: "cold", each call right
after another candidate's (after one warm-up call of each), and "warm", each
call right after an untimed call of itself (the steady state of repeated
calls).

The numpy and scipy wheels each bundle their own OpenBLAS (both are listed in
the header).  After a call, the threads of one keep spinning for a while and,
on a machine with few cores, slow down the next call into the other: that is
the difference between the cold and the warm protocol.  ``BlockRidge`` does
its heavy work in scipy's BLAS; the candidates here alternate between the
two.  Prefix the command with ``OPENBLAS_THREAD_TIMEOUT=4`` to make idle
threads sleep right away.

Goals: fit 5x faster than ``BayesianRidge`` with the default calibration
(``BayesianRidge / this >= 5``); rigidity queries and ``predict(return_std)``
at least as fast as ``BayesianRidge.predict(return_std=True)``; the
rigidity query within 2x of the equal-flop matrix product.

Run from the repository root (see benchmarks/README.md for the environment)::

    python benchmarks/bench_block_ridge.py [--repeats 5] [--n-samples 20000]
        [--n-features 1000] [--n-queries 5000] [--quick]
"""

import argparse

import numpy as np
from _harness import (
    add_common_arguments,
    blas_threads,
    check_text,
    describe_environment,
    print_load_average,
    print_table,
    ratio_note,
    relative_error,
    resolve_repeats,
    run,
)
from sklearn.linear_model import BayesianRidge, Ridge

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


def fit_benchmark(X, y, alpha, repeats, warm):
    candidates = {
        "BayesianRidge().fit": lambda: BayesianRidge().fit(X, y),
        "BlockRidge(alpha).fit": lambda: BlockRidge(alpha=alpha).fit(X, y),
        "BlockRidge(alpha, calibration=None).fit": lambda: BlockRidge(
            alpha=alpha, calibration=None
        ).fit(X, y),
        'BlockRidge(alpha, solver="qr").fit': lambda: BlockRidge(
            alpha=alpha, solver="qr"
        ).fit(X, y),
        "Ridge(alpha).fit": lambda: Ridge(alpha=alpha).fit(X, y),
    }
    timings = run(candidates, repeats, warm=warm)
    ridge = timings["Ridge(alpha).fit"].output
    bayes = timings["BayesianRidge().fit"].output
    checks = {}
    for name, timing in timings.items():
        if name.startswith("BlockRidge"):
            model = timing.output
            checks[name] = (
                f"solver_={model.solver_!r}; coef vs Ridge "
                + check_text(relative_error(model.coef_, ridge.coef_), 1e-8)
                + ", vs BayesianRidge "
                + check_text(relative_error(model.coef_, bayes.coef_), 1e-6)
            )
    print_table(
        f"Fit ({'warm' if warm else 'cold'})",
        timings,
        peers={"BayesianRidge": "BayesianRidge().fit", "Ridge": "Ridge(alpha).fit"},
        checks=checks,
        notes=[
            ratio_note(
                "BayesianRidge / BlockRidge(alpha)",
                timings,
                "BayesianRidge().fit",
                "BlockRidge(alpha).fit",
                goal=">= 5x",
            ),
            ratio_note(
                "leave-one-out share: BlockRidge(alpha) / BlockRidge(calibration=None)",
                timings,
                "BlockRidge(alpha).fit",
                "BlockRidge(alpha, calibration=None).fit",
            ),
        ],
    )


def query_benchmark(block, bayes, Xq, repeats, warm):
    n_features = Xq.shape[1]
    B = np.random.default_rng(1).normal(size=(n_features, n_features // 2))
    candidates = {
        "BayesianRidge.predict(return_std)": lambda: bayes.predict(Xq, return_std=True),
        "BlockRidge.predict_rigidity": lambda: block.predict_rigidity(Xq),
        "BlockRidge.predict(return_std)": lambda: block.predict(Xq, return_std=True),
        "Xq @ B (same flops as the PR query)": lambda: Xq @ B,
    }
    timings = run(candidates, repeats, warm=warm)
    _, bayes_std = timings["BayesianRidge.predict(return_std)"].output
    # BayesianRidge: x^T sigma_ x + 1/alpha_, sigma_ = H^-1 / alpha_ (centered x)
    quadratic = 1.0 / timings["BlockRidge.predict_rigidity"].output
    expected = (quadratic - 1.0 / block.sample_weight_sum_ + 1.0) / bayes.alpha_
    checks = {
        "BlockRidge.predict_rigidity": "variance vs BayesianRidge "
        + check_text(float(np.max(np.abs(expected / bayes_std**2 - 1))), 1e-6)
    }
    mean, _ = timings["BlockRidge.predict(return_std)"].output
    checks["BlockRidge.predict(return_std)"] = "mean vs BayesianRidge " + check_text(
        relative_error(mean, bayes.predict(Xq)), 1e-6
    )
    print_table(
        f"Queries ({Xq.shape[0]} rows, {'warm' if warm else 'cold'})",
        timings,
        peers={
            "BayesianRidge": "BayesianRidge.predict(return_std)",
            "matmul": "Xq @ B (same flops as the PR query)",
        },
        checks=checks,
        notes=[
            "- goals: BayesianRidge / this >= 1x for both BlockRidge rows; "
            "matmul / BlockRidge.predict_rigidity >= 0.5x (within 2x)."
        ],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--n-samples", type=int, default=None, help="default 20000")
    parser.add_argument("--n-features", type=int, default=None, help="default 1000")
    parser.add_argument("--n-queries", type=int, default=None, help="default 5000")
    args = parser.parse_args()
    with blas_threads(args):
        benchmark(args)


def benchmark(args):
    repeats = resolve_repeats(args)
    quick = (2000, 100, 500) if args.quick else (20000, 1000, 5000)
    n = args.n_samples or quick[0]
    f = args.n_features or quick[1]
    q = args.n_queries or quick[2]

    describe_environment()
    print(f"N = {n} rows, F = {f} features, {q} queries, {repeats} repeats")
    X, y, Xq = make_data(n, f, q)
    bayes = BayesianRidge().fit(X, y)
    alpha = bayes.lambda_ / bayes.alpha_
    block = BlockRidge(alpha=alpha).fit(X, y)
    print(
        f"BayesianRidge: n_iter_ = {bayes.n_iter_}, alpha = lambda_ / alpha_ = "
        f"{alpha:.4g}; BlockRidge solver_ = {block.solver_!r}"
    )
    for warm in (False, True):
        fit_benchmark(X, y, alpha, repeats, warm)
    for warm in (False, True):
        query_benchmark(block, bayes, Xq, repeats, warm)
    print_load_average()


if __name__ == "__main__":
    main()
