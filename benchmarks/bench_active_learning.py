"""Benchmark the active-learning steps on the paper's 13824-atom carbon cell.

The liquid-carbon snapshot of ``load_liquid_carbon()`` (1728 atoms) repeated
2 x 2 x 2 is a periodic cell of 13824 atoms, the size of the paper's Fig. 5
structure.  The model: ``EnergyForceRegressor(SoapPowerSpectrum(cutoff=3,
max_radial=6, max_angular=4), BlockRidge(alpha=1e-5), force_weight=0)`` fitted
on the 500 cells of ``load_carbon_surfaces()``.

(a) LPR of every atom:

- the per-atom SOAP rows of the cell (featomic, ``transform_local``): the
  floor any method pays;
- skpr: ``regressor.local_rigidity(rows)`` (triangular solves with the fitted
  factor, chunk by chunk), and ``least_rigid_atoms`` end to end;
- the peer, the paper's scripts: invert the Hessian ``H = X^T X + alpha I``
  (``numpy.linalg.inv``) and take ``x^T H^{-1} x`` for every row (one GEMM).

Time (median of ``--repeats``) and peak memory (traced and resident growth)
of each; check: the same LPRs.

(b) 100 candidate structures around the least rigid atom: build 100 rattled
periodic embeddings (``periodic_embedding(n_copies=100)``), then score each
alone (the atom's LPR with that one structure added) by what-if updates,
against refitting the regressor once per candidate on the training rows
(computed once) and the candidate's row (timed on ``--refits``, scaled to
100).

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_active_learning.py [--repeats 3] [--refits 5] [--quick]
"""

import argparse
import time

import numpy as np
from _harness import (
    add_common_arguments,
    blas_threads,
    describe_environment,
    measure_peak,
    print_load_average,
    relative_error,
    resolve_repeats,
    timed,
)

from skpr import BlockRidge, what_if
from skpr.atomistic import (
    EnergyForceRegressor,
    SoapPowerSpectrum,
    least_rigid_atoms,
    periodic_embedding,
    transform_local,
)
from skpr.datasets import load_carbon_surfaces, load_liquid_carbon

MIB = 2.0**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--refits", type=int, default=5)
    args = parser.parse_args()
    repeats = resolve_repeats(args)
    describe_environment()
    cells = load_carbon_surfaces()
    descriptor = SoapPowerSpectrum(cutoff=3.0, max_radial=6, max_angular=4)
    model = EnergyForceRegressor(descriptor, BlockRidge(alpha=1e-5), force_weight=0)
    train = cells.structures[:100] if args.quick else cells.structures
    energies = cells.energy[: len(train)]
    model.fit(train, energies)
    liquid = load_liquid_carbon().structure
    big = liquid if args.quick else liquid.repeat(2)
    regressor = model.regressor_

    with blas_threads(args):
        rows, t_rows = timed(lambda: transform_local(model.descriptor_, [big])[0], 1)
        (_, traced_rows, resident_rows, _) = measure_peak(
            lambda: transform_local(model.descriptor_, [big])[0]
        )
        ours, t_ours = timed(lambda: regressor.local_rigidity(rows), repeats)
        _, traced_ours, resident_ours, method = measure_peak(
            lambda: regressor.local_rigidity(rows)
        )
        lowest, t_end = timed(lambda: least_rigid_atoms(model, big, k=5), 1)
        _, traced_end, resident_end, _ = measure_peak(
            lambda: least_rigid_atoms(model, big, k=5)
        )
        X = np.asarray(model.descriptor_.transform(train), dtype=float)
        alpha = regressor.alpha

        def peer():
            centred = X - X.mean(axis=0)  # the intercept, as BlockRidge fits it
            H = centred.T @ centred + alpha * np.eye(X.shape[1])
            inverse = np.linalg.inv(H)
            return 1.0 / np.sum((rows @ inverse) * rows, axis=1)

        theirs, t_peer = timed(peer, repeats)
        _, traced_peer, resident_peer, _ = measure_peak(peer)

    n_atoms = len(big)
    print(f"\n### (a) LPR of every atom of a {n_atoms}-atom periodic carbon cell\n")
    print(f"model: {X.shape[0]} training cells, {X.shape[1]} features\n")
    print("| step | median [s] | traced peak [MiB] | resident growth [MiB] |")
    print("|---|---|---|---|")
    print(
        f"| per-atom SOAP rows (featomic) | {t_rows:.2f} | {traced_rows / MIB:.0f} | "
        f"{resident_rows / MIB:.0f} |"
    )
    print(
        f"| skpr local_rigidity of the rows | {t_ours:.3f} | {traced_ours / MIB:.0f} | "
        f"{resident_ours / MIB:.0f} |"
    )
    print(
        f"| peer: inv(H), one GEMM over the rows | {t_peer:.3f} | "
        f"{traced_peer / MIB:.0f} | {resident_peer / MIB:.0f} |"
    )
    print(
        f"| skpr least_rigid_atoms, end to end | {t_end:.2f} | "
        f"{traced_end / MIB:.0f} | {resident_end / MIB:.0f} |"
    )
    print(
        f"\n- peer / skpr (LPR of the rows): {t_peer / t_ours:.1f}x; "
        f"LPR agree to {relative_error(ours, theirs):.1e} (relative); "
        f"rows {rows.nbytes / MIB:.0f} MiB ({method})"
    )
    center = int(lowest.index[0])
    print(f"- least rigid atom {center}, LPR {lowest.rigidity[0]:.3g}")

    # (b) build and score 100 candidates
    n_candidates = 10 if args.quick else 100
    start = time.perf_counter()
    candidates = periodic_embedding(big, center, 3.0, n_copies=n_candidates, seed=0)
    t_build = time.perf_counter() - start
    query = model._frame(rows[center : center + 1])
    before = regressor.local_rigidity(query)[0]

    def score():
        design, weights, group = model._design_rows(candidates, None)
        design = np.asarray(design, dtype=float)
        return np.array(
            [
                what_if(
                    regressor,
                    add=model._frame(design[group == c]),
                    add_weight=weights[group == c],
                ).local_rigidity(query)[0]
                for c in range(n_candidates)
            ]
        )

    scores, t_score = timed(score, 1)

    # the cheapest honest refit: the training rows computed once, the
    # regressor refitted on them and the candidate's rows
    train_rows = np.asarray(model.descriptor_.transform(train), dtype=float)

    def refit(c):
        extra = np.asarray(model.descriptor_.transform([candidates[c]]), dtype=float)
        clone = BlockRidge(alpha=1e-5, calibration=None).fit(
            np.vstack([train_rows, extra]), np.append(energies, 0.0)
        )
        return clone.local_rigidity(rows[center : center + 1])[0]

    n_refits = min(args.refits, n_candidates)
    start = time.perf_counter()
    refits = [refit(c) for c in range(n_refits)]
    t_refit = (time.perf_counter() - start) * n_candidates / n_refits
    error = relative_error(scores[:n_refits], refits)
    print(f"\n### (b) {n_candidates} periodic embeddings around atom {center}\n")
    print("| step | time [s] | check |")
    print("|---|---|---|")
    print(f"| build {n_candidates} rattled embeddings | {t_build:.2f} | |")
    print(f"| score each alone (what-if) | {t_score:.2f} | = refits to {error:.1e} |")
    label = "" if n_refits == n_candidates else f" (extrapolated from {n_refits})"
    print(f"| peer: one refit per candidate{label} | {t_refit:.1f} | |")
    print(
        f"\n- refits / what-if: {t_refit / t_score:.0f}x; best candidate raises the "
        f"LPR by {100 * (scores.max() / before - 1):.3g} %, worst by "
        f"{100 * (scores.min() / before - 1):.3g} %"
    )
    print_load_average()


if __name__ == "__main__":
    main()
