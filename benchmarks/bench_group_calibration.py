"""Benchmark leave-one-structure-out calibration against the fit and against refits.

Two workloads of energy and force rows (one group per structure: its energy
row and its 3 N force rows), weights 1 (energies) and 0.3 (forces):

(a) the 100 ethanol frames of ``load_ethanol()``: rows from
    ``FeatureUnion(SoapPowerSpectrum(cutoff=4, max_radial=3, max_angular=2),
    CompositionFeatures())`` and its position gradients (computed once,
    outside the timings): 100 + 2700 = 2800 rows;
(b) 1000 synthetic structures of 20 atoms, 300 features: energy rows normal
    deviates (``np.random.default_rng(0)``), force rows normal deviates
    scaled by 0.1, targets from a random linear model plus noise:
    1000 + 60000 = 61000 rows.

Candidates, on the same rows, ``BlockRidge(alpha=1e-3, fit_intercept=False)``
(median and minimum over repeats, order rotated, one warm-up each):

- ``calibration=None``: the fit alone (the reference of the goal);
- ``calibration="loo"``: row-wise leave-one-out (closed form);
- ``calibration="loo"`` with ``groups`` and ``kinds``: leave-one-structure-out
  in closed form, one scale per kind (the default of EnergyForceRegressor);
- the peer: one refit per structure without it (``calibration=None``), timed
  for the first ``--refits`` structures and scaled to all of them (marked
  "extrapolated" when not all were run).

Check: the closed-form residuals of the refit structures equal the refits'.

Goal: leave-one-structure-out under 2x the fit.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_group_calibration.py [--repeats 3] [--refits 20]
        [--quick]
"""

import argparse
import time

import numpy as np
from _harness import (
    Timing,
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

from skpr import BlockRidge

FORCE_WEIGHT = 0.3


def ethanol_rows():
    from sklearn.pipeline import FeatureUnion

    from skpr.atomistic import (
        CompositionFeatures,
        SoapPowerSpectrum,
        energy_force_rows,
        transform_gradients,
    )
    from skpr.datasets import load_ethanol

    data = load_ethanol()
    union = FeatureUnion(
        [
            ("soap", SoapPowerSpectrum(cutoff=4.0, max_radial=3, max_angular=2)),
            ("composition", CompositionFeatures()),
        ]
    ).fit(data.structures)
    features = union.transform(data.structures)
    gradients, index = transform_gradients(union, data.structures)
    energy = data.energy - data.energy.mean()
    rows, targets, weights = energy_force_rows(
        features,
        gradients,
        energy,
        np.concatenate(data.forces),
        structure_index=index,
        force_weight=FORCE_WEIGHT,
    )
    n = len(data.structures)
    groups = np.concatenate([np.arange(n), np.repeat(index, 3)])
    return np.asarray(rows), targets, weights, groups


def synthetic_rows(n_structures, n_atoms=20, n_features=300):
    rng = np.random.default_rng(0)
    n_forces = 3 * n_atoms * n_structures
    rows = np.vstack(
        [
            rng.normal(size=(n_structures, n_features)),
            0.1 * rng.normal(size=(n_forces, n_features)),
        ]
    )
    targets = rows @ rng.normal(size=n_features) + 0.1 * rng.normal(size=len(rows))
    weights = np.concatenate([np.ones(n_structures), np.full(n_forces, FORCE_WEIGHT)])
    groups = np.concatenate(
        [np.arange(n_structures), np.repeat(np.arange(n_structures), 3 * n_atoms)]
    )
    return rows, targets, weights, groups


def table(title, rows, targets, weights, groups, repeats, n_refits):
    kinds = np.where(np.arange(len(rows)) < np.unique(groups).size, "energy", "force")

    def fit(**extra):
        calibration = extra.pop("calibration", "loo")
        model = BlockRidge(alpha=1e-3, fit_intercept=False, calibration=calibration)
        return lambda: model.fit(rows, targets, weights, **extra)

    names = {
        "fit alone (calibration=None)": fit(calibration=None),
        "row-wise leave-one-out": fit(),
        "leave-one-structure-out, per kind": fit(groups=groups, kinds=kinds),
    }
    timings = run(names, repeats)
    labels = np.unique(groups)
    chosen = labels[:n_refits]
    start = time.perf_counter()
    refit_residuals = {}
    for g in chosen:
        keep = groups != g
        refit = BlockRidge(alpha=1e-3, fit_intercept=False, calibration=None)
        refit.fit(rows[keep], targets[keep], weights[keep])
        refit_residuals[g] = targets[~keep] - refit.predict(rows[~keep])
    elapsed = (time.perf_counter() - start) * len(labels) / len(chosen)
    peer = "one refit per structure" + (
        "" if len(chosen) == len(labels) else f" (extrapolated from {len(chosen)})"
    )
    timings[peer] = Timing(elapsed, elapsed, None)
    closed = timings["leave-one-structure-out, per kind"].output
    error = max(
        relative_error(closed.loo_residual_[groups == g], want)
        for g, want in refit_residuals.items()
    )
    print_table(
        f"{title}: {len(labels)} structures, {len(rows)} rows, "
        f"{rows.shape[1]} features (solver {closed.solver_})",
        timings,
        peers={"refits": peer},
        checks={
            "leave-one-structure-out, per kind": "residuals = refits' "
            + check_text(error, 1e-8)
        },
        notes=[
            ratio_note(
                "leave-one-structure-out / fit alone",
                timings,
                "leave-one-structure-out, per kind",
                "fit alone (calibration=None)",
                goal="< 2",
            )
        ],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--refits", type=int, default=20)
    args = parser.parse_args()
    with blas_threads(args):
        describe_environment()
        repeats = resolve_repeats(args)
        table("(a) ethanol", *ethanol_rows(), repeats, 100)
        n = 20 if args.quick else 1000
        table("(b) synthetic", *synthetic_rows(n), repeats, min(args.refits, n))
        print_load_average()


if __name__ == "__main__":
    main()
