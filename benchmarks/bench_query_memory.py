"""Benchmark the memory of rigidity queries on a large query matrix.

``BlockRidge.predict_rigidity`` and ``BlockRidge.component_rigidity`` (two
feature blocks) on a query matrix of 40000 x 800 float64 (244 MiB), for the
primal route (fitted on 2000 rows, ``solver_ == "cholesky"``) and the dual
route (fitted on 400 rows, ``solver_ == "dual"``).  Queries work chunk by
chunk and never copy the query matrix, so their extra memory should be a
small fraction of the query matrix's own size.  Peers on the same query
matrix: ``BayesianRidge.predict(return_std=True)`` (fitted on the primal
route's rows) and ``GaussianProcessRegressor(DotProduct(sigma_0=0, fixed),
optimizer=None).predict(return_std=True)`` (fitted on the dual route's rows).

Measured for each call, in a fresh child process (one per row of the table)
with ``MALLOC_MMAP_THRESHOLD_=65536``, so that every large buffer is mapped
and unmapped on its own and the resident size sees it:

- the peak of allocations traced by ``tracemalloc`` during the call, above
  those live before it (numpy reports its data buffers to tracemalloc);
- the peak growth of the resident set during the call: ``VmHWM`` reset
  through ``/proc/self/clear_refs`` on Linux, else the growth of
  ``ru_maxrss`` from ``resource.getrusage`` (a lower bound).  It includes
  buffers that tracemalloc does not see (BLAS, LAPACK).

Both are printed in MiB and as a fraction of the query matrix's size (the
output, ``n_queries`` or ``n_queries x 2`` floats, is part of the peak).
The query matrix is filled in place before the measurement, and one call on
its first 5000 rows warms up the libraries (BLAS buffers, lazy imports),
whose fixed cost is thus not counted.  Check: each result on the first 500
rows against an explicit inverse of the Hessian.

The BlockRidge calls are also measured on half the query rows: a peak that
does not change with the number of rows is the signature of chunked queries
(a copy of the query matrix would double with it).

Goal: the extra memory of ``predict_rigidity`` and ``component_rigidity``
is a small fraction of the query matrix, on both routes, and does not grow
with the number of query rows.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_query_memory.py [--n-queries 40000]
        [--n-features 800] [--quick]

This script measures memory, not time: a busy machine does not change it.
"""

import argparse
import json

import numpy as np
from _harness import (
    MIB,
    check_text,
    describe_environment,
    measure_peak,
    relative_error,
    run_child,
)
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import DotProduct
from sklearn.linear_model import BayesianRidge

from skpr import BlockRidge

ALPHA = (1.0, 10.0)
#: training rows as a multiple of n_features: primal (N > F), dual (N < F)
ROUTES = {"primal": 2.5, "dual": 0.5}
CALLS = {
    "primal": ("predict_rigidity", "component_rigidity", "BayesianRidge peer"),
    "dual": ("predict_rigidity", "component_rigidity", "GP peer"),
}
N_WARMUP = 5000
N_CHECK = 500


def training_data(route, n_features, seed=0):
    rng = np.random.default_rng(seed)
    n_samples = int(ROUTES[route] * n_features)
    X = rng.normal(size=(n_samples, n_features))
    y = X @ rng.normal(size=n_features) / np.sqrt(n_features) + 1.0
    return X, y + 0.1 * rng.normal(size=n_samples)


def explicit_forms(model, X, Xq):
    """PR and CPR quadratic forms from an explicit inverse (the reference)."""
    n_features = X.shape[1]
    half = n_features // 2
    offset = X.mean(axis=0)
    centered = X - offset
    alpha = np.repeat(ALPHA, [half, n_features - half])
    inverse = np.linalg.inv(centered.T @ centered + np.diag(alpha))
    g = Xq - offset
    pr = np.einsum("ij,jk,ik->i", g, inverse, g) + 1.0 / X.shape[0]
    cpr = np.stack(
        [
            np.einsum("ij,jk,ik->i", Xq[:, b], inverse[b, b], Xq[:, b])
            for b in (slice(0, half), slice(half, None))
        ],
        axis=1,
    )
    return 1.0 / pr, 1.0 / cpr


def child(route, call, n_queries, n_features):
    """Measure one call; print a JSON line."""
    X, y = training_data(route, n_features)
    half = n_features // 2
    model = BlockRidge(alpha=list(ALPHA), blocks=[half, n_features - half]).fit(X, y)
    if call == "BayesianRidge peer":
        peer = BayesianRidge().fit(X, y)

        def function(Xq):
            return peer.predict(Xq, return_std=True)
    elif call == "GP peer":
        peer = GaussianProcessRegressor(
            DotProduct(sigma_0=0.0, sigma_0_bounds="fixed"),
            alpha=1.0,
            optimizer=None,
        ).fit(X, y)

        def function(Xq):
            return peer.predict(Xq, return_std=True)
    else:
        function = getattr(model, call)
    Xq = np.empty((n_queries, n_features))
    np.random.default_rng(1).standard_normal(out=Xq)
    function(Xq[:N_WARMUP])
    result, traced, resident, method = measure_peak(lambda: function(Xq))
    if call in ("predict_rigidity", "component_rigidity"):
        pr, cpr = explicit_forms(model, X, Xq[:N_CHECK])
        reference = pr if call == "predict_rigidity" else cpr
        check = "vs explicit inverse " + check_text(
            relative_error(result[:N_CHECK], reference), 1e-8
        )
    else:
        check = "(peer)"
    print(
        json.dumps(
            {
                "solver": model.solver_,
                "n_train": X.shape[0],
                "query_bytes": Xq.nbytes,
                "traced": traced,
                "resident": resident,
                "method": method,
                "check": check,
            }
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-queries", type=int, default=None, help="default 40000")
    parser.add_argument("--n-features", type=int, default=None, help="default 800")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes: only checks that it runs"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_queries = args.n_queries or (8000 if args.quick else 40000)
    n_features = args.n_features or (80 if args.quick else 800)
    if args.child:
        child(*args.child, n_queries, n_features)
        return

    describe_environment()
    size = n_queries * n_features * 8
    print(
        f"\nQuery matrix {n_queries} x {n_features} float64 = {size / MIB:.1f} MiB; "
        f"blocks [{n_features // 2}, {n_features - n_features // 2}], alpha {ALPHA}; "
        "one fresh process per row"
    )
    print(
        "\n| route | call | traced peak [MiB] | / query | RSS growth [MiB] | / query "
        "| traced peak, half the rows [MiB] | check |"
    )
    print("|---|---|---|---|---|---|---|---|")
    fractions, growth = [], []
    for route, calls in CALLS.items():
        for call in calls:
            result = measure(route, call, n_queries, n_features)
            traced = result["traced"] / result["query_bytes"]
            resident = result["resident"] / result["query_bytes"]
            half = ""
            if "peer" not in call:
                fractions.append(max(traced, resident))
                half_rows = measure(route, call, n_queries // 2, n_features)
                half = f"{half_rows['traced'] / MIB:.1f}"
                growth.append(result["traced"] / half_rows["traced"])
            label = f"{route} ({result['solver']}, N = {result['n_train']})"
            print(
                f"| {label} | {call} | {result['traced'] / MIB:.1f} | "
                f"{traced:.3f} | {result['resident'] / MIB:.1f} ({result['method']}) "
                f"| {resident:.3f} | {half} | {result['check']} |"
            )
    print(
        f"\n- largest fraction of the query matrix for BlockRidge queries: "
        f"{max(fractions):.3f} (goal: a small fraction)"
    )
    print(
        "- traced peak with all rows / with half the rows: "
        + ", ".join(f"{ratio:.2f}" for ratio in growth)
        + " (about 1 when the queries work chunk by chunk; 2 if they copied X)"
    )


def measure(route, call, n_queries, n_features):
    return run_child(
        __file__,
        [
            "--child",
            route,
            call,
            f"--n-queries={n_queries}",
            f"--n-features={n_features}",
        ],
        env={"MALLOC_MMAP_THRESHOLD_": "65536"},
    )


if __name__ == "__main__":
    main()
