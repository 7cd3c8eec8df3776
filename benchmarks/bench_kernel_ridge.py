"""Benchmark ``skpr.BlockKernelRidge`` and the sparse (Nystroem) route.

1. Exact kernel model, N training samples and Q queries with a fixed RBF
   kernel: ``BlockKernelRidge`` fit + ``predict(return_std=True)`` against
   ``GaussianProcessRegressor(RBF(l, length_scale_bounds="fixed"), alpha=a,
   optimizer=None)`` fit + ``predict(return_std=True)``, all in one run, median
   of a few repeats after a warm-up (every repeat runs every candidate, in a
   rotated order).
   ``BlockKernelRidge`` runs with the string kernel ``"rbf"`` (sklearn's
   ``rbf_kernel``) and with the same ``RBF`` object as the GP, each with and
   without its leave-one-out calibration.  The means and the standard
   deviations ``sqrt(a / PR)`` must agree with the GP to 1e-8.
2. Sparse route: N_env environments grouped into structures, M active points
   by farthest-point sampling, Nystroem features summed per structure,
   ``BlockRidge`` fit, and the LPR of every environment.  Each variant runs in
   a fresh subprocess that reports its wall times, the peak of traced
   allocations (``tracemalloc``, which numpy reports to) and the peak resident
   set size (``VmHWM``, including the interpreter and libraries).

Run from the repository root::

    python benchmarks/bench_kernel_ridge.py [--repeats 5] [--n-samples 3000]
        [--n-queries 2000] [--n-environments 50000] [--n-active 1000]
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import scipy
import sklearn
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF
from sklearn.kernel_approximation import Nystroem
from threadpoolctl import threadpool_info

from skpr import BlockRidge, pool_structures
from skpr._kernel_ridge import BlockKernelRidge
from skpr._selection import farthest_point_sampling

LENGTH_SCALE = 1.5
NOISE = 1e-2
N_FEATURES = 8


def smooth_target(X, rng):
    return np.sin(X[:, 0]) * np.cos(X[:, 1]) + 0.3 * X[:, 2] ** 2 - X[:, 3]


def exact_data(n_samples, n_queries, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2.0, 2.0, size=(n_samples + n_queries, N_FEATURES))
    y = smooth_target(X, rng) + 0.1 * rng.normal(size=X.shape[0])
    return X[:n_samples], y[:n_samples], X[n_samples:]


def run(candidates, repeats):
    """Wall times of each candidate and its last output, after one warm-up."""
    times = {name: [] for name in candidates}
    outputs = {name: candidate() for name, candidate in candidates.items()}
    names = list(candidates)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            outputs[name] = candidates[name]()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}, outputs


def exact_benchmark(args):
    X, y, Xq = exact_data(args.n_samples, args.n_queries)
    gamma = 0.5 / LENGTH_SCALE**2

    def gp():
        model = GaussianProcessRegressor(
            RBF(LENGTH_SCALE, length_scale_bounds="fixed"),
            alpha=NOISE,
            optimizer=None,
        ).fit(X, y)
        return model.predict(Xq, return_std=True)

    def ours(kernel, kernel_params, calibration):
        def fit_predict():
            model = BlockKernelRidge(
                NOISE,
                kernel=kernel,
                kernel_params=kernel_params,
                calibration=calibration,
            ).fit(X, y)
            mean, std = model.predict(Xq, return_std=True)
            # the GP's std is sqrt(a / PR); ours is sqrt(scale / PR)
            return mean, std * np.sqrt(NOISE / model.uncertainty_scale_)

        return fit_predict

    candidates = {
        "GaussianProcessRegressor(RBF)": gp,
        'BlockKernelRidge("rbf")': ours("rbf", {"gamma": gamma}, "loo"),
        'BlockKernelRidge("rbf", calibration=None)': ours(
            "rbf", {"gamma": gamma}, None
        ),
        "BlockKernelRidge(RBF)": ours(RBF(LENGTH_SCALE), None, "loo"),
        "BlockKernelRidge(RBF, calibration=None)": ours(RBF(LENGTH_SCALE), None, None),
    }
    results, outputs = run(candidates, args.repeats)
    gp_mean, gp_std = outputs["GaussianProcessRegressor(RBF)"]
    reference = results["GaussianProcessRegressor(RBF)"]
    print(
        f"\n1. Exact kernel model: N = {args.n_samples}, {args.n_queries} queries, "
        f"F = {N_FEATURES}, RBF length scale {LENGTH_SCALE}, alpha = {NOISE}, "
        f"{args.repeats} repeats; fit + predict(return_std=True)"
    )
    print(
        f"  {'':<44}{'median [s]':>11}{'min [s]':>9}{'GP/this':>9}"
        f"{'mean err':>10}{'std err':>10}"
    )
    for name, (median, best) in results.items():
        mean, std = outputs[name]
        mean_err = np.max(np.abs(mean - gp_mean)) / np.max(np.abs(gp_mean))
        std_err = np.max(np.abs(std / gp_std - 1))
        ok = "" if max(mean_err, std_err) <= 1e-8 else "  MISMATCH (tol 1e-8)"
        print(
            f"  {name:<44}{median:>11.3f}{best:>9.3f}{reference[0] / median:>8.2f}x"
            f"{mean_err:>10.1e}{std_err:>10.1e}{ok}"
        )


def peak_rss_mb():
    """Peak resident set size of this process, in MB.

    ``VmHWM`` belongs to the process image, so it starts afresh after
    ``exec``; ``ru_maxrss`` (the fallback off Linux) keeps the peak of the
    parent at ``fork``.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10


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
    y = pool_structures(smooth_target(X_local, rng)[:, None], structure_index)[:, 0]
    y += 0.1 * rng.normal(size=n_structures)
    baseline_rss = peak_rss_mb()
    chunk = args.chunk or n_env

    tracemalloc.start()
    times = {}
    start = time.perf_counter()
    active = farthest_point_sampling(X_local, n_active)
    times["farthest_point_sampling"] = time.perf_counter() - start

    start = time.perf_counter()
    nystroem = Nystroem(
        kernel="rbf", gamma=0.5 / LENGTH_SCALE**2, n_components=n_active
    ).fit(X_local[active])
    phi = np.zeros((n_structures, n_active))
    for first in range(0, n_env, chunk):
        rows = slice(first, first + chunk)
        phi += pool_structures(
            nystroem.transform(X_local[rows]),
            structure_index[rows],
            n_structures=n_structures,
        )
    times["Nystroem fit + transform + pool"] = time.perf_counter() - start

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
    print(
        json.dumps(
            {
                "times": times,
                "fit_peak_mb": fit_peak / 2**20,
                "peak_mb": peak / 2**20,
                "baseline_rss_mb": baseline_rss,
                "max_rss_mb": peak_rss_mb(),
                "n_structures": n_structures,
                "finite_lpr": bool(np.all(np.isfinite(lpr) & (lpr > 0))),
            }
        )
    )


def sparse_benchmark(args):
    print(
        f"\n2. Sparse route: {args.n_environments} environments in "
        f"{args.n_environments // 10} structures, M = {args.n_active} active "
        f"points (farthest-point sampling), F = {N_FEATURES}, RBF Nystroem, "
        "BlockRidge; one fresh process per row"
    )
    for chunk in (0, 5000):
        label = "all rows at once" if chunk == 0 else f"chunks of {chunk} rows"
        command = [
            sys.executable,
            __file__,
            "--sparse-child",
            f"--n-environments={args.n_environments}",
            f"--n-active={args.n_active}",
            f"--chunk={chunk}",
        ]
        child = subprocess.run(command, capture_output=True, text=True)
        if child.returncode != 0:
            sys.exit(f"the sparse-route subprocess failed:\n{child.stderr}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"  transform + pool over {label}:")
        for name, seconds in result["times"].items():
            print(f"    {name:<36}{seconds:>8.2f} s")
        fit_time = sum(
            seconds
            for name, seconds in result["times"].items()
            if name != "LPR of every environment"
        )
        print(f"    {'total fit':<36}{fit_time:>8.2f} s")
        print(
            f"    peak traced memory: fit {result['fit_peak_mb']:.0f} MB, with LPR "
            f"{result['peak_mb']:.0f} MB; max RSS {result['max_rss_mb']:.0f} MB "
            f"(before the route {result['baseline_rss_mb']:.0f} MB); all LPR finite "
            f"and positive: {result['finite_lpr']}"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--n-queries", type=int, default=2000)
    parser.add_argument("--n-environments", type=int, default=50000)
    parser.add_argument("--n-active", type=int, default=1000)
    parser.add_argument("--chunk", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--sparse-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sparse_child:
        sparse_child(args)
        return

    print(f"numpy {np.__version__}, scipy {scipy.__version__}, ", end="")
    print(f"scikit-learn {sklearn.__version__}, os.cpu_count() = {os.cpu_count()}, ")
    print(f"load average {os.getloadavg()[0]:.1f}")
    for pool in threadpool_info():
        print(
            f"  {pool['user_api']:<7}{pool['internal_api']:<10}"
            f"threads={pool['num_threads']:<4}{os.path.basename(pool['filepath'])}"
        )
    exact_benchmark(args)
    sparse_benchmark(args)


if __name__ == "__main__":
    main()
