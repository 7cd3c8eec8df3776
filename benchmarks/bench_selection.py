"""Benchmark the greedy PR-guided selection against the brute-force greedy.

Workloads (``np.random.default_rng(0)``; rows normal deviates; targets shifted
by 1 so that they lie away from the training data):

(a) a pool of C = 1000 single-row candidates, F = 500 features, T = 50
    targets, k = 10 picks, a BlockRidge(alpha=1.0) fitted on 1000 rows;
(b) the same with C = 100000 and F = 1000 (2000 training rows), the pool a
    ``numpy.memmap`` on disk read in chunks: time and peak memory only.

Candidates:

- ``RigiditySelector(model, n_select=k)``: low-rank updates of the fitted
  factor (see ``skpr/_augmentation.py``);
- the peer, the paper's approach: for every candidate at every step, build
  the Hessian with the picks and the candidate added and invert it
  (``numpy.linalg.inv``), then the targets' PR. Timed on ``--brute-steps``
  steps (default all k) and, if fewer, scaled to k (marked "extrapolated").

Check: same picks and same objective values (relative 1e-9) on the steps the
brute force ran.  Goal: at least 100x faster than the brute force.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_selection.py [--brute-steps 10] [--quick] [--no-large]
"""

import argparse
import os
import tempfile
import time

import numpy as np
from _harness import (
    add_common_arguments,
    blas_threads,
    describe_environment,
    measure_peak,
    print_load_average,
)

from skpr import BlockRidge, RigiditySelector


def brute_force(X, pool, Q, alpha, k):
    """Greedy by re-inverting the Hessian per candidate per step (intercept)."""
    ones = lambda A: np.hstack([A, np.ones((A.shape[0], 1))])  # noqa: E731
    G, P, T = ones(X), ones(pool), ones(Q)
    H = G.T @ G
    H[np.arange(X.shape[1]), np.arange(X.shape[1])] += alpha  # intercept free
    chosen, values = [], []
    inverse = np.linalg.inv(H)
    values.append(np.mean(1.0 / np.einsum("ij,jk,ik->i", T, inverse, T)))
    for _ in range(k):
        best, best_value = -1, -np.inf
        for c in range(P.shape[0]):
            if c in chosen:
                continue
            inverse = np.linalg.inv(H + np.outer(P[c], P[c]))
            value = np.mean(1.0 / np.einsum("ij,jk,ik->i", T, inverse, T))
            if value > best_value:
                best, best_value = c, value
        chosen.append(best)
        H = H + np.outer(P[best], P[best])
        values.append(best_value)
    return chosen, np.array(values)


def workload(rng, n_train, n_pool, n_features, n_targets):
    X = rng.normal(size=(n_train, n_features))
    y = X @ rng.normal(size=n_features) + rng.normal(size=n_train)
    pool = rng.normal(size=(n_pool, n_features))
    Q = rng.normal(size=(n_targets, n_features)) + 1.0
    return X, y, pool, Q


def small(args):
    rng = np.random.default_rng(0)
    C, F, T, k = (100, 50, 10, 3) if args.quick else (1000, 500, 50, 10)
    X, y, pool, Q = workload(rng, 2 * F, C, F, T)
    start = time.perf_counter()
    model = BlockRidge(alpha=1.0, calibration=None).fit(X, y)
    fit_time = time.perf_counter() - start
    times = []
    for _ in range(args.repeats or 3):
        start = time.perf_counter()
        selector = RigiditySelector(model, n_select=k).fit(pool, Q)
        times.append(time.perf_counter() - start)
    ours = float(np.median(times))
    steps = min(k, args.brute_steps)
    start = time.perf_counter()
    picks, values = brute_force(X, pool, Q, 1.0, steps)
    brute = (time.perf_counter() - start) * k / steps
    same = picks == selector.selected_[:steps].tolist()
    error = np.max(np.abs(values / selector.objective_[: steps + 1] - 1))
    label = "" if steps == k else f" (extrapolated from {steps} steps)"
    print(f"\n### (a) C={C}, F={F}, T={T}, k={k} (model fitted in {fit_time:.3f} s)\n")
    print("| candidate | median [s] | brute force / this | check |")
    print("|---|---|---|---|")
    print(
        f"| RigiditySelector | {ours:.3f} | {brute / ours:.0f}x | same picks: {same}, "
        f"objective rel. error {error:.1e} |"
    )
    print(f"| brute force, re-invert per candidate{label} | {brute:.2f} | (peer) |  |")
    print(f"\n- picks: {selector.selected_.tolist()} (goal: >= 100x faster)")


def large(args):
    rng = np.random.default_rng(0)
    C, F, T, k = (20000, 200, 50, 10) if args.quick else (100000, 1000, 50, 10)
    X, y, _, Q = workload(rng, 2 * F, 1, F, T)
    model = BlockRidge(alpha=1.0, calibration=None).fit(X, y)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "pool.dat")
        pool = np.memmap(path, dtype=float, mode="w+", shape=(C, F))
        for start in range(0, C, 10000):
            stop = min(C, start + 10000)
            pool[start:stop] = rng.normal(size=(stop - start, F))
        pool.flush()
        del pool
        pool = np.memmap(path, dtype=float, mode="r", shape=(C, F))
        start = time.perf_counter()
        selector, traced, resident, method = measure_peak(
            lambda: RigiditySelector(model, n_select=k).fit(pool, Q)
        )
        elapsed = time.perf_counter() - start
    mib = 2.0**20
    print(
        f"\n### (b) C={C}, F={F}, T={T}, k={k}, pool memory-mapped "
        f"({C * F * 8 / mib:.0f} MiB on disk)\n"
    )
    print("| time [s] | traced peak [MiB] | resident peak growth [MiB] |")
    print("|---|---|---|")
    print(f"| {elapsed:.2f} | {traced / mib:.0f} | {resident / mib:.0f} ({method}) |")
    print(f"\n- picks: {selector.selected_.tolist()}")
    print(
        "- the resident figure includes the pages of the memory-mapped pool that "
        "were read (file-backed, released under memory pressure)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--brute-steps", type=int, default=10)
    parser.add_argument("--no-large", action="store_true")
    args = parser.parse_args()
    describe_environment()
    with blas_threads(args):
        small(args)
        if not args.no_large:
            large(args)
    print_load_average()


if __name__ == "__main__":
    main()
