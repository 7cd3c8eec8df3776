"""Calibrated uncertainties of EnergyForceRegressor: energies and forces apart.

Against refits without a structure, an explicit inverse of the Hessian of the
energy and force rows, finite differences of the energy's uncertainty, and
closed-form maximum-likelihood scales on held-out rows.
"""

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

from numpy.testing import assert_allclose  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.pipeline import make_union  # noqa: E402

from skpr import BlockRidge  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    CompositionFeatures,
    EnergyForceRegressor,
    SoapPowerSpectrum,
    transform_gradients,
)
from skpr.datasets import load_ethanol  # noqa: E402

FORCE_WEIGHT = 0.3


@pytest.fixture(scope="module")
def ethanol():
    data = load_ethanol()
    energies = data.energy - data.energy[:20].mean()
    return data.structures, energies


def model(**params):
    descriptor = make_union(
        SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2),
        CompositionFeatures(),
    )
    regressor = BlockRidge(alpha=1e-3, fit_intercept=False, **params)
    return EnergyForceRegressor(descriptor, regressor, force_weight=FORCE_WEIGHT)


@pytest.fixture(scope="module")
def fitted(ethanol):
    structures, energies = ethanol
    return model().fit(structures[:8], energies[:8])


def test_leave_one_structure_out_equals_refits(ethanol, fitted):
    structures, energies = ethanol
    regressor = fitted.regressor_
    assert set(regressor.uncertainty_scales_) == {"energy", "force"}
    n_atoms = len(structures[0])
    for left_out in (0, 5):
        rest = [i for i in range(8) if i != left_out]
        refit = model(calibration=None).fit(
            [structures[i] for i in rest], energies[rest]
        )
        energy = energies[left_out] - refit.predict([structures[left_out]])[0]
        forces = structures[left_out].get_forces() - refit.predict_forces(
            [structures[left_out]]
        )
        assert regressor.loo_residual_[left_out] == pytest.approx(energy, rel=1e-6)
        start = 8 + 3 * n_atoms * left_out
        assert_allclose(
            regressor.loo_residual_[start : start + 3 * n_atoms],
            forces.ravel(),
            rtol=1e-6,
            atol=1e-9,
        )


def test_force_covariance_is_that_of_the_gradient_rows(ethanol, fitted):
    structures, energies = ethanol
    regressor = fitted.regressor_
    # the Hessian of the training rows, assembled here
    descriptor = fitted.descriptor_
    train = structures[:8]
    gradients, _ = transform_gradients(descriptor, train)
    rows = np.vstack([descriptor.transform(train), -gradients])
    weights = np.concatenate([np.ones(8), np.full(len(gradients), FORCE_WEIGHT)])
    hessian = rows.T @ (weights[:, None] * rows) + 1e-3 * np.eye(rows.shape[1])
    query = [structures[30]]
    g = -transform_gradients(descriptor, query)[0]
    scale = regressor.uncertainty_scales_["force"]
    want = scale * g @ np.linalg.solve(hessian, g.T)
    _, covariance = fitted.predict_forces(query, return_cov=True)
    for atom in range(len(query[0])):
        block = slice(3 * atom, 3 * atom + 3)
        assert_allclose(covariance[atom], want[block, block], rtol=1e-6)
    _, std = fitted.predict_forces(query, return_std=True)
    assert_allclose(std.ravel() ** 2, np.diag(want), rtol=1e-6)


def test_force_std_is_the_limit_of_energy_differences(ethanol, fitted):
    structures, _ = ethanol
    atoms = structures[40]
    _, std = fitted.predict_forces([atoms], return_std=True)
    step = 1e-4
    for atom, axis in ((0, 0), (3, 2)):
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[atom, axis] += step
        minus.positions[atom, axis] -= step
        features = fitted.descriptor_.transform([plus, minus])
        # F = -(E+ - E-) / 2h as a combination of two energy predictions
        _, difference = fitted.regressor_.predict_combination(
            features, [[-0.5 / step, 0.5 / step]], return_std=True, kind="force"
        )
        assert difference[0] == pytest.approx(std[atom, axis], rel=1e-4)


def test_calibrate_on_held_out_structures_per_kind(ethanol, fitted):
    structures, energies = ethanol
    held_out = list(range(60, 80))
    calibrated = model().fit(structures[:8], energies[:8])
    calibrated.calibrate([structures[i] for i in held_out], energies[held_out])
    regressor = calibrated.regressor_
    # energies: the closed form mean(r^2 R) on the held-out energies
    prediction = calibrated.predict([structures[i] for i in held_out])
    rigidity = calibrated.predict_rigidity([structures[i] for i in held_out])
    want = np.mean((energies[held_out] - prediction) ** 2 * rigidity)
    assert regressor.uncertainty_scales_["energy"] == pytest.approx(want, rel=1e-9)
    # forces: mean over components of r^2 / (g^T H^-1 g) with the force scale
    forces = calibrated.predict_forces([structures[i] for i in held_out])
    _, std = fitted.predict_forces([structures[i] for i in held_out], return_std=True)
    reference = np.concatenate([structures[i].get_forces() for i in held_out])
    inverse_rigidity = std**2 / fitted.regressor_.uncertainty_scales_["force"]
    want = np.mean((reference - forces) ** 2 / inverse_rigidity)
    assert regressor.uncertainty_scales_["force"] == pytest.approx(want, rel=1e-8)
    blocks = calibrated.component_rigidity([structures[0]])
    assert blocks.shape == (1, 1)


def test_uncertainty_needs_a_skpr_regressor(ethanol):
    structures, energies = ethanol
    plain = EnergyForceRegressor(
        model().descriptor, Ridge(alpha=1e-3, fit_intercept=False), force_weight=0.3
    ).fit(structures[:4], energies[:4])
    with pytest.raises(ValueError, match="needs a skpr regressor"):
        plain.predict_forces(structures[:1], return_std=True)
    with pytest.raises(ValueError, match="leave_out must be"):
        EnergyForceRegressor(model().descriptor, leave_out="atom").fit(
            structures[:4], energies[:4]
        )
