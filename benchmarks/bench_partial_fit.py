"""Benchmark streaming ``BlockRidge.partial_fit`` on more rows than fit in memory.

N rows (default 10^7) of F = 200 features, generated chunk by chunk from a
seeded generator and never all in memory (10^7 x 200 float64 is 15 GiB; an
in-memory ``fit`` keeps a second, weighted copy, 30 GiB, beyond this
machine's 24 GiB), streamed into ``BlockRidge(alpha=1.0).partial_fit``.
Measured in one run:

- the time to generate the chunks alone (one pass), subtracted from the
  streaming time to give the time of ``partial_fit`` itself;
- the practical limit: ``dsyrk`` (``X^T X``, what any fit must compute) timed
  on one chunk, times the number of chunks, and the flop rate it reaches;
- the peak growth of the resident set during the stream (``ru_maxrss``)
  against the size of all rows;
- the PR of 10^6 query rows, chunk by chunk;
- the peer at a size that fits in memory (``--compare-rows``, default
  10^6): ``fit`` on the concatenated chunks, side by side with
  ``partial_fit``, with the agreement of the coefficients and the PR.

Run from the repository root::

    python benchmarks/bench_partial_fit.py            # 10^7 rows, ~2 min
    python benchmarks/bench_partial_fit.py --quick    # 10^6 rows
"""

import argparse
import resource
import time

import numpy as np
from _harness import describe_environment, print_load_average
from scipy import linalg

from skpr import BlockRidge

F = 200
CHUNK = 100_000
MIB = 2.0**20


def chunks(n_rows, seed=0):
    """``(X, y)`` chunks of CHUNK rows, generated from one seeded stream."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=F) / np.sqrt(F)
    X = np.empty((CHUNK, F))
    for start in range(0, n_rows, CHUNK):
        rows = min(CHUNK, n_rows - start)
        rng.standard_normal(out=X)
        y = X[:rows] @ w + 0.1 * rng.standard_normal(rows)
        yield X[:rows], y


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--compare-rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="10^6 rows")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.queries, args.compare_rows = 1_000_000, 200_000, 200_000
    describe_environment()
    n_chunks = -(-args.rows // CHUNK)
    print(
        f"\n{args.rows:,} rows x {F} features in {n_chunks} chunks of {CHUNK:,}; "
        f"all rows would take {args.rows * F * 8 / 2**30:.1f} GiB"
    )

    start = time.perf_counter()
    for _ in chunks(args.rows):
        pass
    generate = time.perf_counter() - start

    block = np.ascontiguousarray(next(chunks(CHUNK))[0])
    times = []
    for _ in range(5):
        start = time.perf_counter()
        linalg.blas.dsyrk(1.0, block.T)
        times.append(time.perf_counter() - start)
    syrk = float(np.median(times)) * args.rows / CHUNK
    flops = args.rows * F * (F + 1)
    print(f"generation alone: {generate:.1f} s")
    print(
        f"practical limit (dsyrk per chunk x chunks): {syrk:.1f} s, "
        f"{flops / syrk / 1e9:.0f} GFLOP/s"
    )

    rss_before = rss_mib()
    model = BlockRidge(alpha=1.0)
    start = time.perf_counter()
    for X, y in chunks(args.rows):
        model.partial_fit(X, y)
    stream = time.perf_counter() - start
    grown = rss_mib() - rss_before
    print(
        f"partial_fit stream: {stream:.1f} s in all, {stream - generate:.1f} s "
        f"beyond generation = {(stream - generate) / syrk:.2f} x the dsyrk limit"
    )
    print(
        f"peak resident growth during the stream: {max(grown, 0):.0f} MiB "
        f"(all rows: {args.rows * F * 8 / MIB:,.0f} MiB)"
    )

    start = time.perf_counter()
    n_query = 0
    for X, _ in chunks(args.queries, seed=1):
        model.predict_rigidity(X)
        n_query += len(X)
    query = time.perf_counter() - start
    print(f"PR of {n_query:,} query rows: {query:.2f} s (generation included)")

    print(f"\nside by side at {args.compare_rows:,} rows (fits in memory):")
    parts = [(X.copy(), y) for X, y in chunks(args.compare_rows)]
    X_all = np.concatenate([X for X, _ in parts])
    y_all = np.concatenate([y for _, y in parts])
    del parts
    start = time.perf_counter()
    whole = BlockRidge(alpha=1.0, solver="cholesky", calibration=None).fit(X_all, y_all)
    fit = time.perf_counter() - start
    streamed = BlockRidge(alpha=1.0, calibration=None)
    start = time.perf_counter()
    for rows in np.array_split(
        np.arange(args.compare_rows), args.compare_rows // CHUNK
    ):
        streamed.partial_fit(X_all[rows], y_all[rows])
    partial = time.perf_counter() - start
    coef = np.max(np.abs(streamed.coef_ - whole.coef_) / np.abs(whole.coef_).max())
    pr = np.max(
        np.abs(
            streamed.predict_rigidity(X_all[:1000])
            / whole.predict_rigidity(X_all[:1000])
            - 1
        )
    )
    print("| fit | partial_fit | ratio | max rel. coef diff | max rel. PR diff |")
    print(
        f"| {fit:.2f} s | {partial:.2f} s | {partial / fit:.2f} | {coef:.1e} | "
        f"{pr:.1e} |"
    )
    print_load_average()


if __name__ == "__main__":
    main()
