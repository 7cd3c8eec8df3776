"""Energy and force rows, and EnergyForceRegressor, against independent oracles.

The input checks of :func:`energy_force_rows` (shapes of the forces, finite
targets), the restriction of :class:`EnergyForceRegressor` to models linear in
the features, its forces against central finite differences of its own
energies, and the scikit-learn tags of an estimator whose ``X`` is a list of
structures.  Small hypers and a few ethanol frames keep the file fast.
"""

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.base import BaseEstimator, RegressorMixin  # noqa: E402
from sklearn.exceptions import SkipTestWarning  # noqa: E402
from sklearn.kernel_ridge import KernelRidge  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline, make_union  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVR  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from skpr import BlockKernelRidge, BlockRidge  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    CompositionFeatures,
    EnergyForceRegressor,
    SoapPowerSpectrum,
    energy_force_rows,
)
from skpr.datasets import load_ethanol  # noqa: E402


@pytest.fixture(scope="module")
def ethanol():
    return load_ethanol()


def descriptor():
    """SOAP and element counts, with named columns (for ``blocks="names"``)."""
    return make_union(
        SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2),
        CompositionFeatures(),
    ).set_output(transform="pandas")


def training_set(ethanol, n=6):
    energies = ethanol.energy[:n] - ethanol.energy[:n].mean()
    return ethanol.structures[:n], energies


# --- energy_force_rows: the shape of the forces --------------------------------

# 2 structures of 2 and 3 atoms
INDEX = np.array([0, 0, 1, 1, 1])


def small_rows(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(2, 4)), rng.normal(size=(15, 4)), rng.normal(size=(5, 3))


def test_forces_one_row_per_atom_or_flat_give_the_same_rows():
    features, gradients, forces = small_rows()
    originals = [features.copy(), gradients.copy(), forces.copy()]
    energies = np.array([1.0, -2.0])
    X, y, weight = energy_force_rows(
        features, gradients, energies, forces, structure_index=INDEX
    )
    assert_array_equal(y, np.concatenate([energies, forces.ravel()]))
    assert_array_equal(X, np.vstack([features, -gradients]))
    assert not np.shares_memory(y, forces)
    for same in (forces.ravel(), forces.tolist()):
        X_same, y_same, weight_same = energy_force_rows(
            features, gradients, energies, same, structure_index=INDEX
        )
        assert_array_equal(X_same, X)
        assert_array_equal(y_same, y)
        assert_array_equal(weight_same, weight)
    # the caller's arrays are left alone
    for before, after in zip(originals, [features, gradients, forces], strict=True):
        assert_array_equal(before, after)


def test_transposed_forces_are_refused():
    features, gradients, forces = small_rows()
    with pytest.raises(
        ValueError, match=r"got shape \(3, 5\)\. It looks transposed.*pass forces\.T"
    ):
        energy_force_rows(features, gradients, None, forces.T, structure_index=INDEX)


@pytest.mark.parametrize(
    "forces, message",
    [
        (np.zeros((2, 3, 3)), r"shape \(2, 3, 3\).*np\.concatenate\(forces\)"),
        ([np.zeros((3, 3)), np.zeros((3, 3))], r"np\.concatenate\(forces\)"),
        ([np.zeros((2, 3)), np.zeros((4, 3))], r"not one array.*np\.concatenate"),
        (np.zeros(17), r"3 components per atom.*\(6, 3\), or \(18,\) flat"),
        (np.zeros((6, 2)), r"3 components per atom.*got shape \(6, 2\)\.$"),
    ],
)
def test_forces_of_another_shape_are_refused(forces, message):
    index = np.array([0, 0, 0, 1, 1, 1])
    with pytest.raises(ValueError, match=message):
        energy_force_rows(
            np.ones((2, 4)), np.ones((18, 4)), None, forces, structure_index=index
        )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_targets_are_refused(bad):
    features, gradients, forces = small_rows()
    energies = np.array([1.0, bad])
    with pytest.raises(
        ValueError, match=r"energies contain NaN or infinity for 1 structures .*\[1\]"
    ):
        energy_force_rows(features, gradients, energies, forces, structure_index=INDEX)
    with pytest.raises(ValueError, match=r"energies contain NaN"):
        energy_force_rows(features, None, energies, None)
    forces[3, 1] = bad  # atom 3 is in structure 1
    with pytest.raises(
        ValueError,
        match=r"forces contain NaN or infinity on 1 atoms of structures \[1\]",
    ):
        energy_force_rows(features, gradients, None, forces, structure_index=INDEX)
    with pytest.raises(ValueError, match=r"forces contain NaN.*forces=None"):
        energy_force_rows(
            features, gradients, [1.0, 2.0], forces.ravel(), structure_index=INDEX
        )


# --- EnergyForceRegressor: linear models only ----------------------------------


def finite_difference_forces(model, structures, h=1e-5):
    """-dE/dr by central differences of ``model.predict``, one coordinate at a time.

    With ``h = 1e-5`` Å the truncation error (``h^2``) is about ``1e-9`` of the
    largest force here and the rounding error far below it.
    """
    displaced = []
    for atoms in structures:
        for a in range(len(atoms)):
            for k in range(3):
                for step in (h, -h):
                    copy = atoms.copy()
                    copy.positions[a, k] += step
                    displaced.append(copy)
    energies = model.predict(displaced).reshape(-1, 2)
    return -(energies[:, 0] - energies[:, 1]).reshape(-1, 3) / (2 * h)


LINEAR = {
    "BlockRidge": lambda: BlockRidge(alpha=1e-3, fit_intercept=False),
    "BlockKernelRidge-linear": lambda: BlockKernelRidge(alpha=1e-3),
    "BlockKernelRidge-linear-per-block": lambda: BlockKernelRidge(
        alpha=[1e-3, 1e-6], kernel=["linear", "linear"], blocks="names"
    ),
    "sklearn-Ridge": lambda: Ridge(alpha=1e-3, fit_intercept=False),
}


@pytest.mark.parametrize("name", list(LINEAR))
def test_linear_models_predict_minus_the_gradient_of_their_energy(name, ethanol):
    structures, energies = training_set(ethanol)
    model = EnergyForceRegressor(descriptor(), LINEAR[name](), force_weight=0.1)
    model.fit(structures, energies)
    test = ethanol.structures[40:42]
    forces = model.predict_forces(test)
    expected = finite_difference_forces(model, test)
    assert forces.shape == expected.shape == (18, 3)
    scale = np.abs(expected).max()
    assert scale > 1.0  # kcal/mol/Å: the check is not on vanishing forces
    assert_allclose(forces, expected, rtol=0, atol=1e-6 * scale)


def test_linear_routes_agree(ethanol):
    """Primal, dual and scikit-learn's Ridge: one model, the same forces."""
    structures, energies = training_set(ethanol)
    test = ethanol.structures[40:42]
    forces = [
        EnergyForceRegressor(descriptor(), make(), force_weight=0.1)
        .fit(structures, energies)
        .predict_forces(test)
        for make in LINEAR.values()
        if make().get_params().get("blocks") is None
    ]
    for other in forces[1:]:
        assert_allclose(other, forces[0], rtol=1e-6, atol=1e-8)


class QuadraticOfLinear(RegressorMixin, BaseEstimator):
    """A model with ``coef_`` whose prediction is not linear: ``t + t**2 / 10``."""

    def fit(self, X, y, sample_weight=None):
        self.coef_ = np.linalg.lstsq(np.asarray(X), y, rcond=None)[0]
        return self

    def predict(self, X):
        linear = np.asarray(X) @ self.coef_
        return linear + 0.1 * linear**2


class NoSampleWeight(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.coef_ = np.zeros(np.shape(X)[1])
        return self

    def predict(self, X):
        return np.asarray(X) @ self.coef_


REFUSED = {
    "rbf": (
        lambda: BlockKernelRidge(alpha=1e-3, kernel="rbf"),
        r"linear in the features.*only when every block has kernel='linear'; got "
        r"kernel='rbf'.*BlockKernelRidge\(kernel='rbf'\)\)",
    ),
    "one-rbf-block": (
        lambda: BlockKernelRidge(alpha=1e-3, kernel=["linear", "rbf"], blocks="names"),
        r"got kernel=\['linear', 'rbf'\]",
    ),
    "sklearn-KernelRidge": (
        lambda: KernelRidge(alpha=1e-3, kernel="rbf"),
        r"KernelRidge has no coef_ after fit .*skpr\.BlockRidge\(fit_intercept=False\)",
    ),
    "coef-but-not-linear": (
        QuadraticOfLinear,
        r"QuadraticOfLinear\.predict differs from X @ coef_ \+ intercept_",
    ),
    "no-sample-weight": (
        NoSampleWeight,
        r"NoSampleWeight\.fit takes no sample_weight",
    ),
    "pipeline": (
        lambda: make_pipeline(StandardScaler(), Ridge(fit_intercept=False)),
        r"Pipeline\.fit takes no sample_weight",
    ),
    "intercept-fitted-without-a-parameter": (
        lambda: SVR(kernel="linear", C=10.0),
        r"intercept, which would be added to every force.*SVR fitted intercept_=",
    ),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_models_not_linear_in_the_features_are_refused(name, ethanol):
    make, message = REFUSED[name]
    structures, energies = training_set(ethanol)
    model = EnergyForceRegressor(descriptor(), make(), force_weight=0.1)
    with pytest.raises(ValueError, match=message):
        model.fit(structures, energies)
    assert not hasattr(model, "regressor_") and not hasattr(model, "descriptor_")


@pytest.mark.parametrize("name", ["rbf", "sklearn-KernelRidge", "coef-but-not-linear"])
def test_non_linear_models_are_refused_without_forces_too(name, ethanol):
    """predict_forces would still be wrong: refused whatever the loss."""
    make, message = REFUSED[name]
    structures, energies = training_set(ethanol)
    with pytest.raises(ValueError, match=message):
        EnergyForceRegressor(descriptor(), make(), force_weight=0).fit(
            structures, energies
        )


def test_an_affine_model_is_allowed_on_energies_alone(ethanol):
    """Without force rows an intercept is harmless, and the forces still exact."""
    structures, energies = training_set(ethanol)
    model = EnergyForceRegressor(descriptor(), SVR(kernel="linear"), force_weight=0)
    model.fit(structures, energies)
    test = ethanol.structures[40:41]
    expected = finite_difference_forces(model, test)
    assert_allclose(
        model.predict_forces(test),
        expected,
        rtol=0,
        atol=1e-6 * np.abs(expected).max(),
    )


# --- structures in: tags, and the caller's structures -----------------------------


def test_tags_say_that_X_is_a_list_of_structures():
    model = EnergyForceRegressor(descriptor())
    tags = get_tags(model)
    assert tags.input_tags.two_d_array is False
    assert tags.target_tags.required is False  # forces alone can train it
    assert get_tags(model.set_params(force_weight=0)).target_tags.required is True
    # scikit-learn's checks, which feed 2-D arrays, skip it instead of failing
    with pytest.warns(SkipTestWarning, match="Can't test estimator"):
        check_estimator(EnergyForceRegressor(descriptor()))


def test_fit_and_predict_leave_the_structures_alone(ethanol):
    structures = [atoms.copy() for atoms in ethanol.structures[:4]]  # no calc
    for atoms, forces in zip(structures, ethanol.forces, strict=False):
        atoms.arrays["forces"] = forces.copy()  # forces as a per-atom array
    before = [
        (atoms.positions.copy(), atoms.arrays["forces"].copy()) for atoms in structures
    ]
    energies = np.arange(4.0)
    model = EnergyForceRegressor(descriptor()).fit(structures, energies)
    model.predict_forces(structures)
    model.predict(structures)
    assert_array_equal(energies, np.arange(4.0))
    for atoms, (positions, forces) in zip(structures, before, strict=True):
        assert_array_equal(atoms.positions, positions)
        assert_array_equal(atoms.arrays["forces"], forces)
        assert sorted(atoms.arrays) == ["forces", "numbers", "positions"]
