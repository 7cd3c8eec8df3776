"""Benchmark the atomistic layer on the bundled ethanol frames with forces.

For 100 ethanol frames (9 atoms each, so 100 energy rows and 2700 force rows)
and two SOAP sizes, measured:

1. descriptor time: pooled rows (``transform``), per-atom rows
   (``transform_local``) and position gradients (``transform_gradients``) of
   ``FeatureUnion([SoapPowerSpectrum, CompositionFeatures])`` (no peer: skpr
   calls featomic for these);
2. fit time: ``BlockRidge`` on the energy rows alone and on the stacked energy
   and force rows (``energy_force_rows``), with ``solver="cholesky"`` and with
   the default ``solver="auto"`` (which moves to QR when the Hessian is
   ill-conditioned, as it is here), leave-one-out calibration included,
   against the peer ``sklearn.linear_model.Ridge(alpha=1,
   fit_intercept=False)`` on the same rows with the same sample weights and
   the columns of each block divided by ``sqrt(alpha_b)`` (the same model;
   the scaling is part of its timing).  Check: the same predictions on the
   training rows (the coefficients are ill-determined with this alpha).
3. peak memory of the force-row pipeline, step by step, above the resident
   size before the step, next to the sizes of the arrays involved, so that
   the table says what dominates.  Memory runs in a child process with
   ``MALLOC_MMAP_THRESHOLD_`` fixed, so that every large buffer (NumPy's and
   featomic's) is mapped and unmapped on its own and the kernel's peak
   resident size (``VmHWM``, reset through ``/proc/self/clear_refs``) sees it;
   Linux only.  The featomic row is one direct call of featomic's own
   ``SoapPowerSpectrum`` on 64 frames, the batch size of skpr's calls.

Every repeat runs all timed steps, in a rotated order, after one untimed
warm-up call of each; the tables give the median and minimum wall time.

Goal: none fixed; the fit with forces is within a small factor of the
``Ridge`` peer, and the memory of ``transform_gradients`` is that of its
output plus one featomic call.

Run from the repository root (see benchmarks/README.md for the environment)::

    python benchmarks/bench_atomistic.py [--repeats 3] [--blas-threads N] [--quick]
"""

import argparse
import json
import sys

import featomic
import numpy as np
from _harness import (
    MIB,
    add_common_arguments,
    blas_threads,
    check_text,
    describe_environment,
    measure_peak,
    print_table,
    relative_error,
    resolve_repeats,
    run,
    run_child,
)
from sklearn.linear_model import Ridge
from sklearn.pipeline import FeatureUnion

from skpr import BlockRidge
from skpr.atomistic import (
    CompositionFeatures,
    SoapPowerSpectrum,
    energy_force_rows,
    transform_gradients,
    transform_local,
)
from skpr.datasets import load_ethanol

HYPERS = {
    "small (n=4, l=3)": dict(cutoff=4.0, max_radial=3, max_angular=3),
    "large (n=6, l=5)": dict(cutoff=5.0, max_radial=5, max_angular=5),
}
QUICK_FRAMES = 10
ALPHA = (1e-3, 1e-6)  # SOAP block, composition block
#: frames per featomic call in skpr.atomistic (for the reference row only)
FEATOMIC_FRAMES = 64


def setup(hypers, n_frames):
    ethanol = load_ethanol()
    structures = ethanol.structures[:n_frames]
    energies = ethanol.energy[:n_frames]
    union = FeatureUnion(
        [("soap", SoapPowerSpectrum(**hypers)), ("composition", CompositionFeatures())]
    ).fit(structures)
    return (
        structures,
        energies - energies.mean(),
        np.concatenate(ethanol.forces[:n_frames]),
        union,
    )


def featomic_calculator(hypers):
    """featomic's own SoapPowerSpectrum with SoapPowerSpectrum's default widths."""
    return featomic.SoapPowerSpectrum(
        cutoff={
            "radius": hypers["cutoff"],
            "smoothing": {"type": "ShiftedCosine", "width": 0.5},
        },
        density={"type": "Gaussian", "width": 0.3, "center_atom_weight": 1.0},
        basis={
            "type": "TensorProduct",
            "max_angular": hypers["max_angular"],
            "radial": {"type": "Gto", "max_radial": hypers["max_radial"]},
        },
    )


def make_ridge(n_features, solver):
    return BlockRidge(
        alpha=list(ALPHA),
        blocks=[n_features - 3, 3],
        fit_intercept=False,
        solver=solver,
    )


def ridge_peer(X, y, sample_weight):
    """The same model with sklearn: columns of block b scaled by alpha_b^-1/2."""
    scale = 1.0 / np.sqrt(np.repeat(ALPHA, [X.shape[1] - 3, 3]))
    ridge = Ridge(alpha=1.0, fit_intercept=False).fit(
        X * scale, y, sample_weight=sample_weight
    )
    return ridge.coef_ * scale


def time_tables(name, hypers, n_frames, repeats):
    structures, energies, forces, union = setup(hypers, n_frames)
    features = union.transform(structures)
    n_features = features.shape[1]
    gradients, index = transform_gradients(union, structures)
    X, y, weight = energy_force_rows(
        features, gradients, energies, forces, structure_index=index
    )
    print(
        f"\n## {name}: {len(structures)} frames, {n_features} features, "
        f"{X.shape[0]} energy + force rows"
    )
    descriptors = {
        "transform (pooled rows)": lambda: union.transform(structures),
        "transform_local (per-atom rows)": lambda: transform_local(union, structures),
        "transform_gradients": lambda: transform_gradients(union, structures),
        "energy_force_rows": lambda: energy_force_rows(
            features, gradients, energies, forces, structure_index=index
        ),
    }
    print_table("Descriptors and rows", run(descriptors, repeats), peers={})

    fits = {
        "Ridge peer: energies": lambda: ridge_peer(features, energies, None),
        "Ridge peer: energies + forces": lambda: ridge_peer(X, y, weight),
    }
    for solver in ("cholesky", "auto"):
        fits[f"BlockRidge({solver}): energies"] = lambda s=solver: make_ridge(
            n_features, s
        ).fit(features, energies)
        fits[f"BlockRidge({solver}): energies + forces"] = lambda s=solver: make_ridge(
            n_features, s
        ).fit(X, y, sample_weight=weight)
    timings = run(fits, repeats)
    checks = {}
    for label, timing in timings.items():
        if label.startswith("BlockRidge"):
            rows = "energies + forces" if "forces" in label else "energies"
            peer = timings["Ridge peer: " + rows].output
            # coefficients are ill-determined here (tiny alpha); predictions are not
            A = X if "forces" in label else features
            error = relative_error(A @ timing.output.coef_, A @ peer)
            checks[label] = f"solver_={timing.output.solver_!r}; " + (
                "predictions vs Ridge " + check_text(error, 1e-6)
            )
    print_table(
        "Fit (leave-one-out calibration included)",
        timings,
        peers={
            "Ridge (energies)": "Ridge peer: energies",
            "Ridge (E + F)": "Ridge peer: energies + forces",
        },
        checks=checks,
    )


def memory_child(name, n_frames):
    """Run in a child process; print the memory table of one SOAP size as JSON."""
    structures, energies, forces, union = setup(HYPERS[name], n_frames)
    features = union.transform(structures)
    n_features = features.shape[1]
    chunk = featomic_calculator(HYPERS[name]).compute(
        structures[:FEATOMIC_FRAMES], gradients=["positions"]
    )
    featomic_bytes = sum(
        block.gradient("positions").values.nbytes for block in chunk.blocks()
    )
    n_pairs = max(len(block.gradient("positions").samples) for block in chunk.blocks())
    del chunk
    (gradients, index), _, gradient_peak, _ = measure_peak(
        lambda: transform_gradients(union, structures)
    )
    (X, y, weight), _, rows_peak, _ = measure_peak(
        lambda: energy_force_rows(
            features, gradients, energies, forces, structure_index=index
        )
    )
    frames = min(FEATOMIC_FRAMES, len(structures))
    table = {
        "gradients array (3 n_atoms x F)": 8 * 3 * len(index) * n_features,
        f"featomic gradients of {frames} frames (<= {n_pairs} pairs/block)": (
            featomic_bytes
        ),
        "stacked rows X ((n + 3 n_atoms) x F)": X.nbytes,
        "Hessian (F x F)": 8 * n_features**2,
        "peak of transform_gradients": gradient_peak,
        "peak of energy_force_rows": rows_peak,
    }
    for solver in ("cholesky", "auto"):
        model, _, peak, _ = measure_peak(
            lambda s=solver: make_ridge(n_features, s).fit(X, y, sample_weight=weight)
        )
        table[f"peak of fit energies + forces ({solver} -> {model.solver_})"] = peak
    _, _, peak, _ = measure_peak(lambda: ridge_peer(X, y, weight))
    table["peak of the Ridge peer fit, energies + forces"] = peak
    print(json.dumps(table))


def memory_table(name, n_frames, blas_threads):
    threads = [] if blas_threads is None else ["--blas-threads", str(blas_threads)]
    table = run_child(
        __file__,
        ["--memory-child", name, f"--n-frames={n_frames}", *threads],
        env={"MALLOC_MMAP_THRESHOLD_": "65536"},
    )
    print("\n### Memory (resident peak above the start of each step)\n")
    print("| array or step | MiB |")
    print("|---|---|")
    for label, size in table.items():
        print(f"| {label} | {size / MIB:.1f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--n-frames", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_frames = args.n_frames or (QUICK_FRAMES if args.quick else 100)
    with blas_threads(args):
        if args.memory_child:
            memory_child(args.memory_child, n_frames)
            return
        describe_environment()
        hypers = dict(list(HYPERS.items())[:1]) if args.quick else HYPERS
        for name, values in hypers.items():
            time_tables(name, values, n_frames, resolve_repeats(args))
            if sys.platform.startswith("linux"):
                memory_table(name, n_frames, args.blas_threads)


if __name__ == "__main__":
    main()
