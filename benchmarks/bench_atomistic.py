"""Benchmark the atomistic layer on the bundled ethanol frames with forces.

For 100 ethanol frames (9 atoms each, so 100 energy rows and 2700 force rows)
and two SOAP sizes, measured:

1. descriptor time: pooled rows (``transform``), per-atom rows
   (``transform_local``) and position gradients (``transform_gradients``) of
   ``FeatureUnion([SoapPowerSpectrum, CompositionFeatures])``;
2. fit time: ``BlockRidge`` on the energy rows alone and on the stacked energy
   and force rows (``energy_force_rows``), with ``solver="cholesky"`` and with
   the default ``solver="auto"`` (which moves to QR when the Hessian is
   ill-conditioned, as it is here), leave-one-out calibration included;
3. peak memory of the force-row pipeline, step by step, above the resident
   size before the step, next to the sizes of the arrays involved, so that
   the table says what dominates.  Memory runs in a child process with
   ``MALLOC_MMAP_THRESHOLD_`` fixed, so that every large buffer (NumPy's and
   featomic's) is mapped and unmapped on its own and the kernel's peak
   resident size (``VmHWM``, reset through ``/proc/self/clear_refs``) sees it;
   Linux only.

Every repeat runs all timed steps; the table reports the median and minimum
wall time over the repeats.

Run from the repository root::

    python benchmarks/bench_atomistic.py [--repeats 3] [--blas-threads N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_info, threadpool_limits

from skpr import BlockRidge
from skpr.atomistic import (
    CompositionFeatures,
    SoapPowerSpectrum,
    energy_force_rows,
    transform_gradients,
    transform_local,
)
from skpr.atomistic._descriptors import _CHUNK_SIZE
from skpr.datasets import load_ethanol

HYPERS = {
    "small (n=4, l=3)": dict(cutoff=4.0, max_radial=3, max_angular=3),
    "large (n=6, l=5)": dict(cutoff=5.0, max_radial=5, max_angular=5),
}
ALPHA = (1e-3, 1e-6)  # SOAP block, composition block
MIB = 2.0**20


def setup(hypers):
    ethanol = load_ethanol()
    union = FeatureUnion(
        [("soap", SoapPowerSpectrum(**hypers)), ("composition", CompositionFeatures())]
    ).fit(ethanol.structures)
    return (
        ethanol.structures,
        ethanol.energy - ethanol.energy.mean(),
        np.concatenate(ethanol.forces),
        union,
    )


def make_ridge(n_features, solver):
    return BlockRidge(
        alpha=list(ALPHA),
        blocks=[n_features - 3, 3],
        fit_intercept=False,
        solver=solver,
    )


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def time_table(name, hypers, repeats):
    structures, energies, forces, union = setup(hypers)
    features = union.transform(structures)
    n_features = features.shape[1]
    gradients, index = transform_gradients(union, structures)
    X, y, weight = energy_force_rows(
        features, gradients, energies, forces, structure_index=index
    )
    print(f"\n{name}: {len(structures)} frames, {n_features} features")
    steps = {
        "transform (pooled rows)": lambda: union.transform(structures),
        "transform_local (per-atom rows)": lambda: transform_local(union, structures),
        "transform_gradients": lambda: transform_gradients(union, structures),
        "energy_force_rows": lambda: energy_force_rows(
            features, gradients, energies, forces, structure_index=index
        ),
    }
    solvers = {}
    for solver in ("cholesky", "auto"):
        steps[f"fit energies ({solver})"] = lambda s=solver: make_ridge(
            n_features, s
        ).fit(features, energies)
        steps[f"fit energies + forces ({solver})"] = lambda s=solver: make_ridge(
            n_features, s
        ).fit(X, y, sample_weight=weight)
        solvers[solver] = make_ridge(n_features, solver).fit(X, y, weight).solver_
    rows = {label: timed(step, repeats) for label, step in steps.items()}
    width = max(len(label) for label in rows) + 2
    print(f"  {'time':<{width}}{'median [s]':>12}{'min [s]':>12}")
    for label, (median, best) in rows.items():
        print(f"  {label:<{width}}{median:>12.3f}{best:>12.3f}")
    print(f"  (solver 'auto' used {solvers['auto']!r} for energies + forces)")


def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def _peak(function):
    """Run ``function``; its result and its peak resident size above the start."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM := VmRSS
    before = _status("VmRSS")
    result = function()
    return result, _status("VmHWM") - before


def memory_child(name):
    """Run in a child process; print the memory table of one SOAP size as JSON."""
    structures, energies, forces, union = setup(HYPERS[name])
    features = union.transform(structures)
    n_features = features.shape[1]
    soap = union.transformer_list[0][1]
    chunk = soap._calculator().compute(
        structures[:_CHUNK_SIZE], gradients=["positions"]
    )
    featomic_bytes = sum(
        block.gradient("positions").values.nbytes for block in chunk.blocks()
    )
    n_pairs = max(len(block.gradient("positions").samples) for block in chunk.blocks())
    del chunk
    (gradients, index), gradient_peak = _peak(
        lambda: transform_gradients(union, structures)
    )
    (X, y, weight), rows_peak = _peak(
        lambda: energy_force_rows(
            features, gradients, energies, forces, structure_index=index
        )
    )
    table = {
        "gradients array (3 n_atoms x F)": 8 * 3 * len(index) * n_features,
        f"featomic gradients of {_CHUNK_SIZE} frames (<= {n_pairs} pairs/block)": (
            featomic_bytes
        ),
        "stacked rows X ((n + 3 n_atoms) x F)": X.nbytes,
        "Hessian (F x F)": 8 * n_features**2,
        "peak of transform_gradients": gradient_peak,
        "peak of energy_force_rows": rows_peak,
    }
    for solver in ("cholesky", "auto"):
        model, peak = _peak(
            lambda s=solver: make_ridge(n_features, s).fit(X, y, sample_weight=weight)
        )
        table[f"peak of fit energies + forces ({solver} -> {model.solver_})"] = peak
    print(json.dumps(table))


def memory_table(name, blas_threads):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    threads = [] if blas_threads is None else ["--blas-threads", str(blas_threads)]
    result = subprocess.run(
        [sys.executable, __file__, "--memory-child", name, *threads],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    table = json.loads(result.stdout.strip().splitlines()[-1])
    width = max(len(label) for label in table) + 2
    print(f"  {'memory':<{width}}{'MiB':>10}")
    for label, size in table.items():
        print(f"  {label:<{width}}{size / MIB:>10.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=None)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with threadpool_limits(args.blas_threads):
        if args.memory_child:
            memory_child(args.memory_child)
            return
        print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()}")
        print(
            "BLAS: "
            + ", ".join(
                f"{i['internal_api']} x{i['num_threads']}" for i in threadpool_info()
            )
        )
        for name, hypers in HYPERS.items():
            time_table(name, hypers, args.repeats)
            if sys.platform.startswith("linux"):
                memory_table(name, args.blas_threads)


if __name__ == "__main__":
    main()
