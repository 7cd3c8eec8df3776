"""Coverage of energy and force uncertainties on ethanol, over several splits.

Not a timing: the calibration of ``EnergyForceRegressor`` (SOAP cutoff 4 Å,
``max_radial=3``, ``max_angular=2``, plus element counts;
``BlockRidge(alpha={"soap": 1e-3, "composition": 1e-6}, blocks="names",
fit_intercept=False)``, force weight 1) on the 100 ethanol frames, split at
random (``np.random.default_rng(seed).permutation``) into 40 training, 20
calibration and 40 test frames, for ``--splits`` seeds. For each split, the
fraction of test errors within 1, 2 and 3 predicted sigma, for energies and
for the 1080 force components, with:

- one leave-one-row-out scale for energy and force rows alike (the model
  before per-kind calibration);
- leave-one-structure-out, one scale per kind (the default);
- one scale per kind calibrated on the 20 held-out frames.

Prints the median over splits and the range of the 1-sigma energy coverage.

Run from the repository root::

    python benchmarks/coverage_ethanol_forces.py [--splits 6] [--quick]
"""

import argparse

import numpy as np
from _harness import coverage_fractions
from sklearn.pipeline import FeatureUnion

from skpr import BlockRidge
from skpr.atomistic import CompositionFeatures, EnergyForceRegressor, SoapPowerSpectrum
from skpr.datasets import load_ethanol


def one_split(ethanol, union, seed):
    """Coverage fractions of the three calibrations on one random split."""
    order = np.random.default_rng(seed).permutation(len(ethanol.structures))
    train, held_out, test = order[:40], order[40:60], order[60:]
    energy = ethanol.energy - ethanol.energy[train].mean()
    forces = np.concatenate([ethanol.forces[i] for i in test])

    def pick(indices):
        return [ethanol.structures[i] for i in indices]

    def fitted(leave_out):
        regressor = BlockRidge(
            alpha={"soap": 1e-3, "composition": 1e-6},
            blocks="names",
            fit_intercept=False,
        )
        model = EnergyForceRegressor(union, regressor, leave_out=leave_out)
        return model.fit(pick(train), energy[train])

    def coverage(model, energy_std=None, force_factor=1.0):
        prediction, std = model.predict(pick(test), return_std=True)
        force_prediction, force_std = model.predict_forces(pick(test), return_std=True)
        std = std if energy_std is None else energy_std
        return coverage_fractions(prediction - energy[test], std) + coverage_fractions(
            force_prediction - forces, force_std * force_factor
        )

    out = {}
    rows = fitted("row")
    regressor = rows.regressor_
    _, one_scale = regressor.predict(
        rows.descriptor_.transform(pick(test)), return_std=True
    )
    factor = np.sqrt(
        regressor.uncertainty_scale_ / regressor.uncertainty_scales_["force"]
    )
    out["one LOO scale, rows"] = coverage(rows, one_scale, factor)
    structures = fitted("structure")
    out["per kind, structures"] = coverage(structures)
    structures.calibrate(pick(held_out), energy[held_out])
    out["per kind, held-out"] = coverage(structures)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="one split")
    args = parser.parse_args()
    if args.quick:
        args.splits = 1
    ethanol = load_ethanol()
    union = FeatureUnion(
        [
            ("soap", SoapPowerSpectrum(cutoff=4.0, max_radial=3, max_angular=2)),
            ("composition", CompositionFeatures()),
        ]
    ).set_output(transform="pandas")
    splits = [one_split(ethanol, union, seed) for seed in range(args.splits)]
    print(f"median over {args.splits} splits; 40 test frames, 1080 force components")
    print(
        "| calibration | energies 1/2/3 sigma | forces 1/2/3 sigma | energies 1 sigma |"
    )
    print("|---|---|---|---|")
    for name in splits[0]:
        values = np.array([split[name] for split in splits])
        median = np.median(values, axis=0)
        energies = "/".join(f"{v:.0%}" for v in median[:3])
        force = "/".join(f"{v:.0%}" for v in median[3:])
        spread = f"{values[:, 0].min():.0%}-{values[:, 0].max():.0%}"
        print(f"| {name} | {energies} | {force} | {spread} |")


if __name__ == "__main__":
    main()
