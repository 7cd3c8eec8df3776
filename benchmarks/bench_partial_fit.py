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
  ``partial_fit``, with the agreement of the coefficients and the PR;
- with dask installed (the extra ``dask``): ``fit`` on a dask array of the
  same size generated chunk by chunk on the workers of a ``LocalCluster``
  (processes, one thread and one BLAS thread each), with 1 and then 2
  workers: time, the generation alone on the same cluster, the
  single-threaded ``dsyrk`` limit divided by the workers, each worker's peak
  resident set, the PR of the query rows, and the 1 -> 2 worker speed-up.

Run from the repository root::

    python benchmarks/bench_partial_fit.py            # 10^7 rows, ~2 min
    python benchmarks/bench_partial_fit.py --quick    # 10^6 rows
    python benchmarks/bench_partial_fit.py --no-dask  # partial_fit only
"""

import argparse
import resource
import time

import numpy as np
from _harness import describe_environment, print_load_average
from scipy import linalg
from threadpoolctl import threadpool_limits

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


def syrk_seconds(block, repeats=5):
    """Median time of ``dsyrk`` (``X^T X``) on one chunk."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        linalg.blas.dsyrk(1.0, block.T)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def rss_mib():
    """Peak resident set of this process so far, in MiB.

    ``VmHWM`` where Linux gives it: ``ru_maxrss`` survives ``exec`` and so
    reports, in a dask worker, the peak of the process that started it.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=1_000_000)
    parser.add_argument("--compare-rows", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="10^6 rows")
    parser.add_argument("--no-dask", action="store_true", help="skip dask")
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
    syrk = syrk_seconds(block) * args.rows / CHUNK
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
    for first in range(0, args.compare_rows, CHUNK):  # views, no copies
        rows = slice(first, first + CHUNK)
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
    if not args.no_dask:
        dask_section(args, block)
    print_load_average()


def dask_section(args, block):
    try:
        import dask.array as da
        from distributed import Client, LocalCluster, wait
    except ImportError:
        print("\ndask is not installed (pip install '.[dask]'): dask part skipped")
        return
    with threadpool_limits(1):
        syrk_one = syrk_seconds(block) * args.rows / CHUNK
    print(
        f"\ndask: fit on a dask array of {args.rows:,} x {F} made on the workers "
        f"(chunks of {CHUNK:,}); single-threaded dsyrk limit {syrk_one:.1f} s"
    )
    print(
        "| workers | generation alone | fit | fit beyond generation | "
        "x limit / workers | peak RSS per worker | PR of queries |"
    )
    blas = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    fits = {}
    for n_workers in (1, 2):
        with (
            LocalCluster(
                n_workers=n_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                memory_limit=0,
                env=blas,
            ) as cluster,
            Client(cluster) as client,
        ):
            rng = da.random.default_rng(0)
            X = rng.standard_normal((args.rows, F), chunks=(CHUNK, F))
            w = np.random.default_rng(1).normal(size=F) / np.sqrt(F)
            y = X @ w + 0.1 * rng.standard_normal(args.rows, chunks=CHUNK)
            start = time.perf_counter()
            wait(client.compute(y.sum()))  # generates X and y, keeps nothing
            generate = time.perf_counter() - start
            start = time.perf_counter()
            model = BlockRidge(alpha=1.0, calibration=None).fit(X, y)
            fit = time.perf_counter() - start
            fits[n_workers] = fit
            Q = da.random.default_rng(2).standard_normal(
                (args.queries, F), chunks=(CHUNK, F)
            )
            start = time.perf_counter()
            model.predict_rigidity(Q).compute()
            query = time.perf_counter() - start
            peak = max(client.run(rss_mib).values())
            print(
                f"| {n_workers} | {generate:.1f} s | {fit:.1f} s | "
                f"{fit - generate:.1f} s | "
                f"{(fit - generate) / (syrk_one / n_workers):.2f} | {peak:.0f} MiB | "
                f"{query:.2f} s |"
            )
    print(f"speed-up from 1 to 2 workers: {fits[1] / fits[2]:.2f}x")


if __name__ == "__main__":
    main()
