"""Benchmark ``skpr.BlockKernelRidge`` and the sparse (Nystroem) route.

1. Exact kernel model, N training samples and Q queries (default 3000 and
   2000, 8 features) with a fixed RBF kernel: ``BlockKernelRidge`` fit +
   ``predict(return_std=True)`` against its like-for-like peer
   ``GaussianProcessRegressor(RBF(l, length_scale_bounds="fixed"), alpha=a,
   optimizer=None)`` fit + ``predict(return_std=True)``.
   ``BlockKernelRidge`` runs with the string kernel ``"rbf"`` (sklearn's
   ``rbf_kernel``) and with the same ``RBF`` object as the GP, each with and
   without its leave-one-out calibration.  Two more tables split the time
   into fit alone and ``predict(return_std=True)`` alone (on fitted models;
   ``predict`` evaluates the query kernel once for mean and std, as the GP
   does).  Checks: means and standard deviations ``sqrt(a / PR)`` equal to
   the GP's.
2. Sparse route: N_env environments grouped into structures, M active points
   by farthest-point sampling, ``skpr.active_nystroem`` features summed per
   structure, ``BlockRidge`` fit, and the LPR of every environment; the fit
   of ``sklearn.linear_model.Ridge`` on the same features is the peer of the
   ``BlockRidge`` fit (check: the same coefficients).  Each variant runs in
   a fresh subprocess that reports its wall times (one run), the peak of
   traced allocations (``tracemalloc``, which numpy reports to) and the peak
   resident set size (``VmHWM``, including the interpreter and libraries).

Every repeat of part 1 runs every candidate, in a rotated order, after one
untimed warm-up call of each; the tables give the median and the minimum wall
time and ``GP / this`` (above 1: faster than the GP).

Goal: ``BlockKernelRidge`` fit + ``predict(return_std=True)`` with the
default leave-one-out calibration at least as fast as the GP
(``GP / this >= 1``).

Run from the repository root (see benchmarks/README.md for the environment)::

    python benchmarks/bench_kernel_ridge.py [--repeats 5] [--n-samples 3000]
        [--n-queries 2000] [--n-environments 50000] [--n-active 1000] [--quick]
"""

import argparse
import json
import time
import tracemalloc

import numpy as np
from _harness import (
    Timing,
    add_common_arguments,
    blas_threads,
    check_text,
    describe_environment,
    peak_resident,
    print_table,
    relative_error,
    resolve_repeats,
    run,
    run_child,
)
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF
from sklearn.linear_model import Ridge

from skpr import (
    BlockKernelRidge,
    BlockRidge,
    active_nystroem,
    farthest_point_sampling,
    pool_structures,
)

LENGTH_SCALE = 1.5
NOISE = 1e-2
N_FEATURES = 8
GP = "GaussianProcessRegressor(RBF)"


def smooth_target(X):
    return np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.3 * X[:, 2] ** 2 - X[:, 3]


def exact_data(n_samples, n_queries, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n_samples + n_queries, N_FEATURES))
    y = smooth_target(X) + 0.1 * rng.normal(size=X.shape[0])
    return X[:n_samples], y[:n_samples], X[n_samples:]


def make_gp():
    return GaussianProcessRegressor(
        RBF(LENGTH_SCALE, length_scale_bounds="fixed"),
        alpha=NOISE,
        optimizer=None,
    )


#: BlockKernelRidge variants: (kernel, kernel_params, calibration)
VARIANTS = {
    'BlockKernelRidge("rbf")': ("rbf", {"gamma": 0.5 / LENGTH_SCALE**2}, "loo"),
    'BlockKernelRidge("rbf", calibration=None)': (
        "rbf",
        {"gamma": 0.5 / LENGTH_SCALE**2},
        None,
    ),
    "BlockKernelRidge(RBF)": (RBF(LENGTH_SCALE), None, "loo"),
    "BlockKernelRidge(RBF, calibration=None)": (RBF(LENGTH_SCALE), None, None),
}


def make_ours(kernel, kernel_params, calibration):
    return BlockKernelRidge(
        NOISE, kernel=kernel, kernel_params=kernel_params, calibration=calibration
    )


def gp_units(model, mean, std):
    """The GP's std is ``sqrt(a / PR)``; ours is ``sqrt(scale / PR)``."""
    if isinstance(model, GaussianProcessRegressor):
        return mean, std
    return mean, std * np.sqrt(NOISE / model.uncertainty_scale_)


def agreement(timings, reference):
    gp_mean, gp_std = reference
    checks = {}
    for name, timing in timings.items():
        if name != GP:
            mean, std = timing.output
            checks[name] = (
                "vs GP: mean "
                + check_text(relative_error(mean, gp_mean), 1e-8)
                + ", std "
                + check_text(float(np.max(np.abs(std / gp_std - 1))), 1e-8)
            )
    return checks


def exact_benchmark(n_samples, n_queries, repeats):
    X, y, Xq = exact_data(n_samples, n_queries)
    print(
        f"\n## 1. Exact kernel model: N = {n_samples}, {n_queries} queries, "
        f"F = {N_FEATURES}, RBF length scale {LENGTH_SCALE}, alpha = {NOISE}, "
        f"{repeats} repeats"
    )
    makers = {GP: make_gp}
    makers.update(
        {name: lambda v=variant: make_ours(*v) for name, variant in VARIANTS.items()}
    )

    def fit_predict(make):
        def call():
            model = make().fit(X, y)
            return gp_units(model, *model.predict(Xq, return_std=True))

        return call

    timings = run({name: fit_predict(make) for name, make in makers.items()}, repeats)
    print_table(
        "Fit + predict(return_std=True)",
        timings,
        peers={"GP": GP},
        checks=agreement(timings, timings[GP].output),
        notes=['- goal: GP / this >= 1x for BlockKernelRidge("rbf") (default LOO).'],
    )

    fits = run(
        {name: lambda m=make: m().fit(X, y) for name, make in makers.items()}, repeats
    )
    print_table("Fit alone", fits, peers={"GP": GP})
    models = {name: timing.output for name, timing in fits.items()}
    timings = run(
        {
            name: lambda m=model: gp_units(m, *m.predict(Xq, return_std=True))
            for name, model in models.items()
        },
        repeats,
    )
    print_table(
        "predict(return_std=True) alone (fitted models)",
        timings,
        peers={"GP": GP},
        checks=agreement(timings, timings[GP].output),
    )


def sparse_child(args):
    """One sparse-route run; prints a JSON line with times and memory."""
    rng = np.random.default_rng(1)
    n_env, n_active = args.n_environments, args.n_active
    n_structures = n_env // 10
    # every structure has at least one environment, 10 on average
    structure_index = np.sort(
        np.concatenate(
            [
                np.arange(n_structures),
                rng.integers(0, n_structures, n_env - n_structures),
            ]
        )
    )
    X_local = rng.uniform(-2.0, 2.0, size=(n_env, N_FEATURES))
    y = pool_structures(smooth_target(X_local)[:, None], structure_index)[:, 0]
    y += 0.1 * rng.normal(size=n_structures)
    baseline_rss = peak_resident()
    chunk = args.chunk or n_env

    tracemalloc.start()
    times = {}
    start = time.perf_counter()
    active = farthest_point_sampling(X_local, n_active)
    times["farthest_point_sampling"] = time.perf_counter() - start

    start = time.perf_counter()
    nystroem = active_nystroem(
        X_local[active], kernel="rbf", gamma=0.5 / LENGTH_SCALE**2
    )
    phi = np.zeros((n_structures, n_active))
    for first in range(0, n_env, chunk):
        rows = slice(first, first + chunk)
        phi += pool_structures(
            nystroem.transform(X_local[rows]),
            structure_index[rows],
            n_structures=n_structures,
        )
    times["active_nystroem + transform + pool"] = time.perf_counter() - start

    start = time.perf_counter()
    model = BlockRidge(alpha=NOISE, fit_intercept=False).fit(phi, y)
    times["BlockRidge fit (with LOO)"] = time.perf_counter() - start
    fit_peak = tracemalloc.get_traced_memory()[1]

    start = time.perf_counter()
    lpr = np.empty(n_env)
    for first in range(0, n_env, chunk):
        rows = slice(first, first + chunk)
        lpr[rows] = model.local_rigidity(nystroem.transform(X_local[rows]))
    times["LPR of every environment"] = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    fits = run(
        {
            "BlockRidge(fit_intercept=False).fit": lambda: BlockRidge(
                alpha=NOISE, fit_intercept=False
            ).fit(phi, y),
            "Ridge(fit_intercept=False).fit": lambda: Ridge(
                alpha=NOISE, fit_intercept=False
            ).fit(phi, y),
        },
        resolve_repeats(args),
    )
    ridge = fits["Ridge(fit_intercept=False).fit"].output
    print(
        json.dumps(
            {
                "times": times,
                "fits": {
                    name: [timing.median, timing.best] for name, timing in fits.items()
                },
                "coef_error": relative_error(model.coef_, ridge.coef_),
                "fit_peak_mb": fit_peak / 2**20,
                "peak_mb": peak / 2**20,
                "baseline_rss_mb": baseline_rss / 2**20,
                "max_rss_mb": peak_resident() / 2**20,
                "finite_lpr": bool(np.all(np.isfinite(lpr) & (lpr > 0))),
            }
        )
    )


def sparse_benchmark(n_environments, n_active, repeats, threads):
    print(
        f"\n## 2. Sparse route: {n_environments} environments in "
        f"{n_environments // 10} structures, M = {n_active} active points "
        f"(farthest-point sampling), F = {N_FEATURES}, RBF active_nystroem, "
        "BlockRidge; one fresh process per variant, one run each"
    )
    chunk_rows = max(n_environments // 10, 1)
    for chunk in (0, chunk_rows):
        label = "all rows at once" if chunk == 0 else f"chunks of {chunk} rows"
        result = run_child(
            __file__,
            [
                "--sparse-child",
                f"--n-environments={n_environments}",
                f"--n-active={n_active}",
                f"--chunk={chunk}",
                f"--repeats={repeats}",
                *([] if threads is None else [f"--blas-threads={threads}"]),
            ],
        )
        print(f"\n### Transform + pool over {label}: one run\n")
        print("| step | time [s] |")
        print("|---|---|")
        for name, seconds in result["times"].items():
            print(f"| {name} | {seconds:.3f} |")
        fits = {
            name: Timing(median, best, None)
            for name, (median, best) in result["fits"].items()
        }
        print_table(
            f"Fit on the pooled features ({label}; {repeats} repeats)",
            fits,
            peers={"Ridge": "Ridge(fit_intercept=False).fit"},
        )
        print(
            f"\n- BlockRidge vs Ridge coefficients: "
            f"{check_text(result['coef_error'], 1e-8)}; all LPR finite and "
            f"positive: {result['finite_lpr']}"
        )
        print(
            f"- peak traced memory: fit {result['fit_peak_mb']:.0f} MiB, with LPR "
            f"{result['peak_mb']:.0f} MiB; max RSS {result['max_rss_mb']:.0f} MiB "
            f"(before the route {result['baseline_rss_mb']:.0f} MiB)"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--n-samples", type=int, default=None, help="default 3000")
    parser.add_argument("--n-queries", type=int, default=None, help="default 2000")
    parser.add_argument(
        "--n-environments", type=int, default=None, help="default 50000"
    )
    parser.add_argument("--n-active", type=int, default=None, help="default 1000")
    parser.add_argument("--chunk", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sparse-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with blas_threads(args):
        benchmark(args)


def benchmark(args):
    if args.sparse_child:
        sparse_child(args)
        return
    sizes = (300, 200, 2000, 100) if args.quick else (3000, 2000, 50000, 1000)
    n_samples = args.n_samples or sizes[0]
    n_queries = args.n_queries or sizes[1]
    n_environments = args.n_environments or sizes[2]
    n_active = args.n_active or sizes[3]

    describe_environment()
    repeats = resolve_repeats(args)
    exact_benchmark(n_samples, n_queries, repeats)
    sparse_benchmark(n_environments, n_active, repeats, args.blas_threads)


if __name__ == "__main__":
    main()
