"""Strain gradients and virial rows, against finite differences under strain.

The bundled carbon cells carry DFT virials; the references here are central
finite differences of descriptors and model energies under a homogeneous
strain, an explicit least-squares fit on rows stacked in the test, and refits
without a structure.
"""

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

from ase.build import bulk, molecule  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402
from sklearn.pipeline import make_union  # noqa: E402

from skpr import BlockRidge  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    CompositionFeatures,
    EnergyForceRegressor,
    LodeDescriptor,
    SoapPowerSpectrum,
    energy_force_rows,
    transform_gradients,
    transform_strain_gradients,
    virial_rows,
)
from skpr.datasets import load_carbon  # noqa: E402

STEP = 1e-5


def strained(atoms, epsilon):
    """``r -> (1 + epsilon) r`` for the cell and the atoms."""
    out = atoms.copy()
    out.set_cell(atoms.cell.array @ (np.eye(3) + epsilon).T, scale_atoms=True)
    return out


def central_difference(function, atoms, i, j):
    epsilon = np.zeros((3, 3))
    epsilon[i, j] = STEP
    return (
        function(strained(atoms, epsilon)) - function(strained(atoms, -epsilon))
    ) / (2 * STEP)


def descriptor():
    return make_union(
        SoapPowerSpectrum(cutoff=3.0, max_radial=2, max_angular=2),
        CompositionFeatures(),
    )


@pytest.fixture(scope="module")
def carbon():
    data = load_carbon()
    keep = [i for i, atoms in enumerate(data.structures) if len(atoms) <= 16][:12]
    structures = [data.structures[i] for i in keep]
    return structures, data.energy[keep] - data.energy[keep].mean()


def test_strain_gradients_are_finite_differences_of_the_features():
    atoms = bulk("C", "diamond", a=3.57).repeat(2)
    atoms.rattle(0.05, seed=1)
    union = descriptor().fit([atoms])
    gradients = transform_strain_gradients(union, [atoms])[0]
    for i, j in ((0, 0), (1, 2), (2, 0)):
        want = central_difference(lambda a: union.transform([a])[0], atoms, i, j)
        assert_allclose(gradients[i, j], want, rtol=0, atol=1e-6 * np.abs(want).max())
    # atom counts do not change under strain
    assert np.all(gradients[..., -1] == 0)


def test_predicted_virials_are_minus_the_strain_derivative_of_the_energy(carbon):
    structures, energies = carbon
    model = EnergyForceRegressor(
        descriptor(),
        BlockRidge(alpha=1e-3, fit_intercept=False),
        force_weight=0.1,
        virial_weight=0.01,
    ).fit(structures, energies)
    atoms = structures[3]
    virials = model.predict_virials([atoms])[0]
    voigt = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
    for k, (i, j) in enumerate(voigt):
        # symmetric strain: the derivative along e_ij and e_ji together, halved
        def energy(a):
            return model.predict([a])[0]

        derivative = (
            central_difference(energy, atoms, i, j)
            + central_difference(energy, atoms, j, i)
        ) / 2
        assert virials[k] == pytest.approx(-derivative, rel=1e-5, abs=1e-7)
    assert set(model.regressor_.uncertainty_scales_) == {"energy", "force", "virial"}


def test_virial_rows_enter_the_fit_with_their_weight(carbon):
    structures, energies = carbon
    union = descriptor().fit(structures)
    model = EnergyForceRegressor(
        union, BlockRidge(alpha=1e-3, fit_intercept=False), virial_weight=0.05
    ).fit(structures, energies)
    # the same loss, stacked here
    gradients, index = transform_gradients(union, structures)
    forces = np.concatenate([a.arrays["force"] for a in structures])
    rows, targets, weights = energy_force_rows(
        union.transform(structures), gradients, energies, forces, structure_index=index
    )
    virials = np.stack([np.reshape(a.info["virial"], (3, 3)) for a in structures])
    more, more_targets, more_weights = virial_rows(
        transform_strain_gradients(union, structures), virials, virial_weight=0.05
    )
    explicit = BlockRidge(alpha=1e-3, fit_intercept=False, calibration=None).fit(
        np.vstack([rows, more]),
        np.concatenate([targets, more_targets]),
        np.concatenate([weights, more_weights]),
    )
    assert_allclose(model.regressor_.coef_, explicit.coef_, rtol=1e-8, atol=1e-12)
    # leave one structure out: energy, forces and virials together
    rest = list(range(1, len(structures)))
    refit = EnergyForceRegressor(
        union,
        BlockRidge(alpha=1e-3, fit_intercept=False, calibration=None),
        virial_weight=0.05,
    ).fit([structures[i] for i in rest], energies[rest])
    residual = model.regressor_.loo_residual_
    want = (
        virials[0][[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
        - refit.predict_virials([structures[0]])[0]
    )
    n_rows = len(structures) + 3 * len(index)
    assert_allclose(residual[n_rows : n_rows + 6], want, rtol=1e-6, atol=1e-9)
    _, std = model.predict_virials(structures[:2], return_std=True)
    # a layered cell has no strain gradient out of plane: zero rows, zero std
    assert std.shape == (2, 6) and np.all(np.isfinite(std)) and np.any(std > 0)


def test_virial_input_errors():
    cell = bulk("C", "diamond", a=3.57)
    with pytest.raises(ValueError, match="strain gradients need periodic"):
        SoapPowerSpectrum(cutoff=3.0).fit([molecule("H2O")]).transform_strain_gradients(
            [molecule("H2O")]
        )
    lode = LodeDescriptor(max_radial=1).fit([cell])
    with pytest.raises(NotImplementedError, match="no strain gradients"):
        lode.transform_strain_gradients([cell])
    with pytest.raises(ValueError, match=r"virials must have shape \(1, 3, 3\)"):
        virial_rows(np.zeros((1, 3, 3, 4)), np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match="strain_gradients must have shape"):
        virial_rows(np.zeros((1, 9, 4)), np.zeros((1, 3, 3)))
    bare = cell.copy()
    bare.arrays["forces"] = np.zeros((2, 3))
    with pytest.raises(ValueError, match="no reference virial"):
        EnergyForceRegressor(descriptor(), virial_weight=1.0).fit([bare, bare], [0, 1])
