"""skpr.atomistic against independent computations.

Finite differences for the position gradients, an explicit weighted
least-squares solve for the energy+force fit, manual loops for the pooling,
and batch/pickle/rotation invariances of the descriptors.  Small hypers and a
few small structures keep the file fast.
"""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.transform import Rotation
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import FeatureUnion, Pipeline, make_union

from skpr import BlockRidge, pool_structures
from skpr.atomistic import (
    CompositionFeatures,
    EnergyForceRegressor,
    LodeDescriptor,
    SoapPowerSpectrum,
    energy_force_rows,
    transform_gradients,
    transform_local,
)
from skpr.datasets import load_carbon, load_ethanol, load_qm9


@pytest.fixture(scope="module")
def ethanol():
    return load_ethanol()


@pytest.fixture(scope="module")
def qm9():
    return load_qm9()


@pytest.fixture(scope="module")
def carbon():
    return load_carbon()


def small_soap(**params):
    return SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2, **params)


def small_lode(invariant, **params):
    return LodeDescriptor(
        smearing=1.0, max_radial=2, max_angular=2, invariant=invariant, **params
    )


def periodic_salt(seed):
    """A rattled 8-atom NaCl cell: two species, periodic."""
    atoms = bulk("NaCl", "rocksalt", a=5.6, cubic=True)
    atoms.rattle(0.1, seed=seed)
    return atoms


DESCRIPTORS = {
    "soap": (lambda: small_soap(), "ethanol"),
    "soap-shared-mean": (
        lambda: small_soap(separate_center_types=False, pooling="mean"),
        "ethanol",
    ),
    "lode-radial": (lambda: small_lode("radial"), "salt"),
    "lode-power-spectrum": (lambda: small_lode("power_spectrum"), "salt"),
    "composition": (lambda: CompositionFeatures(), "ethanol"),
}


def structures_for(kind, ethanol, n=3):
    if kind == "ethanol":
        return [atoms.copy() for atoms in ethanol.structures[:n]]
    return [periodic_salt(seed) for seed in range(n)]


@pytest.fixture(params=list(DESCRIPTORS))
def descriptor_case(request, ethanol):
    make, kind = DESCRIPTORS[request.param]
    structures = structures_for(kind, ethanol)
    return make().fit(structures), structures


# --- position gradients ------------------------------------------------------


def finite_difference_gradients(descriptor, structures, h=1e-4):
    """Central differences of the pooled rows, one coordinate at a time."""
    rows = []
    for atoms in structures:
        for a in range(len(atoms)):
            for k in range(3):
                plus, minus = atoms.copy(), atoms.copy()
                plus.positions[a, k] += h
                minus.positions[a, k] -= h
                difference = descriptor.transform([plus]) - descriptor.transform(
                    [minus]
                )
                rows.append(difference[0] / (2 * h))
    return np.array(rows)


@pytest.mark.parametrize("name", [n for n in DESCRIPTORS if n != "composition"])
def test_gradients_match_central_finite_differences(name, ethanol):
    make, kind = DESCRIPTORS[name]
    structures = structures_for(kind, ethanol, n=2)
    descriptor = make().fit(structures)
    gradients, index = descriptor.transform_gradients(structures)
    expected = finite_difference_gradients(descriptor, structures)
    n_atoms = sum(len(atoms) for atoms in structures)
    assert gradients.shape == (3 * n_atoms, len(descriptor.get_feature_names_out()))
    assert_array_equal(index, np.repeat([0, 1], [len(s) for s in structures]))
    scale = np.abs(expected).max()
    assert scale > 0
    assert_allclose(gradients, expected, rtol=0, atol=1e-6 * scale)


def test_composition_and_union_gradients(ethanol):
    structures = structures_for("ethanol", ethanol, n=2)
    soap = small_soap()
    union = make_union(soap, CompositionFeatures(), n_jobs=None)
    union.set_params(transformer_weights={"soappowerspectrum": 2.0})
    union.fit(structures)
    gradients, index = transform_gradients(union, structures)
    own, own_index = union.transformer_list[0][1].transform_gradients(structures)
    n_soap = own.shape[1]
    assert_allclose(gradients[:, :n_soap], 2.0 * own)
    assert_array_equal(gradients[:, n_soap:], 0.0)
    assert_array_equal(index, own_index)
    assert gradients.shape[1] == union.transform(structures).shape[1]


# --- pooling, batching, pickling, invariances --------------------------------


def test_local_rows_sum_to_pooled_rows(descriptor_case):
    descriptor, structures = descriptor_case
    pooled = descriptor.transform(structures)
    X_local, index = descriptor.transform_local(structures)
    assert X_local.shape == (sum(map(len, structures)), pooled.shape[1])
    assert_allclose(
        pool_structures(X_local, index, pooling=descriptor.pooling), pooled, atol=1e-12
    )
    start = 0
    for A, atoms in enumerate(structures):
        rows = X_local[start : start + len(atoms)]
        manual = rows.sum(0) if descriptor.pooling == "sum" else rows.mean(0)
        assert_allclose(manual, pooled[A], atol=1e-12)
        assert_array_equal(index[start : start + len(atoms)], A)
        start += len(atoms)


def test_rows_do_not_depend_on_the_batch(descriptor_case):
    descriptor, structures = descriptor_case
    batch = descriptor.transform(structures)
    batch_local, _ = descriptor.transform_local(structures)
    batch_gradients, _ = descriptor.transform_gradients(structures)
    start = 0
    for A, atoms in enumerate(structures):
        assert_array_equal(descriptor.transform([atoms])[0], batch[A])
        alone_local, alone_index = descriptor.transform_local([atoms])
        assert_array_equal(alone_local, batch_local[start : start + len(atoms)])
        assert_array_equal(alone_index, 0)
        alone_gradients, _ = descriptor.transform_gradients([atoms])
        rows = slice(3 * start, 3 * (start + len(atoms)))
        assert_allclose(alone_gradients, batch_gradients[rows], rtol=0, atol=1e-14)
        start += len(atoms)


def test_pickle_round_trip_gives_identical_rows(descriptor_case):
    descriptor, structures = descriptor_case
    restored = pickle.loads(pickle.dumps(descriptor))
    assert_array_equal(restored.transform(structures), descriptor.transform(structures))
    assert_array_equal(restored.species_, descriptor.species_)
    assert_array_equal(
        restored.get_feature_names_out(), descriptor.get_feature_names_out()
    )
    assert_array_equal(
        clone(descriptor).fit(structures).transform(structures),
        descriptor.transform(structures),
    )


@pytest.mark.parametrize("name", [n for n in DESCRIPTORS if n != "composition"])
def test_descriptors_are_rotation_invariant(name, ethanol):
    make, kind = DESCRIPTORS[name]
    structures = structures_for(kind, ethanol, n=1)
    descriptor = make().fit(structures)
    rotation = Rotation.random(random_state=np.random.default_rng(3)).as_matrix()
    rotated = structures[0].copy()
    rotated.positions = rotated.positions @ rotation.T
    if rotated.pbc.all():
        rotated.cell = rotated.cell.array @ rotation.T
    expected = descriptor.transform(structures)
    assert_allclose(
        descriptor.transform([rotated]), expected, atol=1e-8 * np.abs(expected).max()
    )


def test_columns_are_fixed_by_the_species_list(ethanol):
    water, methane = molecule("H2O"), molecule("CH4")
    soap = small_soap(species=["O", "C", "H"]).fit([water])
    assert_array_equal(soap.species_, [1, 6, 8])
    names = soap.get_feature_names_out()
    # 3 centres x 6 neighbour pairs x 3 l x 3 x 3 (n1, n2)
    assert len(names) == len(set(names)) == 3 * 6 * 27
    assert names[0] == "H|H,H|l=0|n=0,0"
    X_water, X_methane = soap.transform([water]), soap.transform([methane])
    assert X_water.shape == X_methane.shape == (1, len(names))
    # methane has no oxygen: every column naming O is zero
    oxygen = np.array(["O" in name for name in names])
    assert_array_equal(X_methane[0, oxygen], 0.0)
    assert np.any(X_water[0, oxygen] != 0)
    numbers = small_soap(species=[8, 6, 1]).fit([water])
    assert_array_equal(numbers.get_feature_names_out(), names)


def test_feature_union_gives_named_blocks(ethanol):
    structures = ethanol.structures[:4]
    union = FeatureUnion(
        [("soap", small_soap()), ("composition", CompositionFeatures())]
    ).set_output(transform="pandas")
    X = union.fit_transform(structures)
    assert isinstance(X, pd.DataFrame)
    assert list(X.columns[-3:]) == [
        "composition__H",
        "composition__C",
        "composition__O",
    ]
    assert X.columns[0] == "soap__H|H,H|l=0|n=0,0"
    model = BlockRidge(blocks="names").fit(X, ethanol.energy[:4])
    assert model.block_names_ == ("soap", "composition")


# --- errors --------------------------------------------------------------------


def test_unseen_species_is_refused():
    train = [molecule("H2O"), molecule("CH4")]
    for transformer in (small_soap(), CompositionFeatures()):
        transformer.fit(train)
        with pytest.raises(ValueError, match=r"contains \['N'\].*did not see in fit"):
            transformer.transform([molecule("NH3")])
        with pytest.raises(ValueError, match="species="):
            transformer.transform_local([molecule("NH3")])
    lode = small_lode("radial").fit([periodic_salt(0)])
    potassium = periodic_salt(1)
    potassium.symbols[0] = "K"
    with pytest.raises(ValueError, match=r"contains \['K'\]"):
        lode.transform_gradients([potassium])


def test_input_errors():
    soap = small_soap()
    with pytest.raises(TypeError, match="got a single ase.Atoms"):
        soap.fit(molecule("H2O"))
    with pytest.raises(TypeError, match="item 1 is a ndarray"):
        soap.fit([molecule("H2O"), np.zeros(3)])
    with pytest.raises(ValueError, match="empty list"):
        soap.fit([])
    with pytest.raises(ValueError, match="Structure 0 has no atoms"):
        soap.fit([Atoms()])
    with pytest.raises(ValueError, match="pooling must be 'sum'"):
        small_soap(pooling="max").fit([molecule("H2O")])
    with pytest.raises(ValueError, match="cutoff_width .* must be smaller"):
        SoapPowerSpectrum(cutoff=1.0, cutoff_width=1.0).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="not a chemical symbol"):
        small_soap(species=["Xx"]).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="invariant must be"):
        small_lode("bispectrum").fit([periodic_salt(0)])
    with pytest.raises(ValueError, match="LodeDescriptor needs periodic structures"):
        small_lode("radial").fit([molecule("H2O")])
    with pytest.raises(ValueError, match="exponent == 0, must be >= 1"):
        small_lode("radial", exponent=0).fit([periodic_salt(0)])
    with pytest.raises(TypeError, match="max_radial must be an instance of"):
        SoapPowerSpectrum(max_radial=2.5).fit([molecule("H2O")])
    # NumPy integers are integers
    SoapPowerSpectrum(cutoff=3.0, max_radial=np.int64(1), max_angular=1).fit(
        [molecule("H2O")]
    )


def test_species_and_composition_errors():
    with pytest.raises(TypeError, match="got int"):
        small_soap().fit(3)
    with pytest.raises(ValueError, match="symbols or atomic numbers, got 2.5"):
        CompositionFeatures(species=[1, 2.5]).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="species is empty"):
        CompositionFeatures(species=[]).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="pooling must be 'sum' .counts."):
        CompositionFeatures(pooling="max").fit([molecule("H2O")])
    fractions = CompositionFeatures(pooling="mean").fit([molecule("H2O")])
    assert_allclose(fractions.transform([molecule("H2O")]), [[2 / 3, 1 / 3]])


# --- energy and force rows ---------------------------------------------------


def stacked_system(features, gradients, energies, forces, lambda_e, lambda_f):
    """The weighted least-squares problem of paper eqs. 4-5, written out."""
    A = np.vstack([features, -gradients])
    b = np.concatenate([energies, np.ravel(forces)])
    s = np.concatenate(
        [np.full(len(energies), lambda_e), np.full(np.size(forces), lambda_f)]
    )
    return A, b, s


def test_energy_force_fit_matches_weighted_least_squares(ethanol):
    structures = ethanol.structures[:6]
    energies = ethanol.energy[:6] - ethanol.energy[:6].mean()
    forces = np.concatenate(ethanol.forces[:6])
    union = make_union(small_soap(), CompositionFeatures()).fit(structures)
    features = union.transform(structures)
    gradients, index = transform_gradients(union, structures)
    X, y, weight = energy_force_rows(
        features,
        gradients,
        energies,
        forces,
        structure_index=index,
        energy_weight=2.0,
        force_weight=0.3,
    )
    alpha = 1e-3
    model = BlockRidge(alpha=alpha, fit_intercept=False).fit(X, y, sample_weight=weight)

    A, b, s = stacked_system(features, gradients, energies, forces, 2.0, 0.3)
    H = A.T @ (s[:, None] * A) + alpha * np.eye(A.shape[1])
    coef = np.linalg.solve(H, A.T @ (s * b))
    assert_allclose(model.coef_, coef, rtol=1e-6, atol=1e-8 * np.abs(coef).max())
    # the PR of an energy and of a force component use eq. 6's Hessian
    queries = np.vstack([features[:2], -gradients[:2]])
    expected = 1.0 / np.einsum("ij,ji->i", queries, np.linalg.solve(H, queries.T))
    assert_allclose(model.predict_rigidity(queries), expected, rtol=1e-6)


def test_force_rows_raise_the_energy_rigidity(ethanol):
    structures = ethanol.structures[:6]
    union = make_union(small_soap(), CompositionFeatures()).fit(structures)
    features = union.transform(structures)
    gradients, index = transform_gradients(union, structures)
    energies = ethanol.energy[:6]
    forces = np.concatenate(ethanol.forces[:6])
    energy_only = BlockRidge(alpha=1e-3, fit_intercept=False).fit(
        *energy_force_rows(features, None, energies, None)[:2]
    )
    X, y, w = energy_force_rows(
        features, gradients, energies, forces, structure_index=index
    )
    both = BlockRidge(alpha=1e-3, fit_intercept=False).fit(X, y, sample_weight=w)
    test = union.transform(ethanol.structures[50:60])
    assert np.all(both.predict_rigidity(test) > energy_only.predict_rigidity(test))


def test_force_only_rows_and_weight_options(ethanol):
    structures = ethanol.structures[:4]
    soap = small_soap().fit(structures)
    gradients, index = soap.transform_gradients(structures)
    forces = np.concatenate(ethanol.forces[:4])
    X, y, w = energy_force_rows(None, gradients, None, forces, structure_index=index)
    assert_array_equal(X, -gradients)
    assert_array_equal(y, forces.ravel())
    assert_array_equal(w, 1.0)
    model = BlockRidge(alpha=1e-2, fit_intercept=False).fit(X, y, sample_weight=w)
    H = gradients.T @ gradients + 1e-2 * np.eye(gradients.shape[1])
    assert_allclose(
        model.coef_, np.linalg.solve(H, -gradients.T @ forces.ravel()), rtol=1e-6
    )

    # per-structure weights, and the division of energy weights by atom counts
    index = np.array([0, 0, 1, 1, 1])
    features, gradients = np.ones((2, 3)), np.ones((15, 3))
    for scaling, divisor in [
        (None, 1),
        ("n_atoms", [2, 3]),
        ("n_atoms_squared", [4, 9]),
    ]:
        _, _, w = energy_force_rows(
            features,
            gradients,
            [1.0, 2.0],
            np.zeros((5, 3)),
            structure_index=index,
            energy_weight=[1.0, 3.0],
            force_weight=[0.5, 0.25],
            energy_weight_scaling=scaling,
        )
        assert_allclose(w[:2], np.array([1.0, 3.0]) / divisor)
        assert_allclose(w[2:], [0.5] * 6 + [0.25] * 9)


def test_energy_force_rows_keep_column_names(ethanol):
    structures = ethanol.structures[:3]
    union = FeatureUnion(
        [("soap", small_soap()), ("composition", CompositionFeatures())]
    ).set_output(transform="pandas")
    features = union.fit_transform(structures)
    gradients, index = transform_gradients(union, structures)
    X, _, _ = energy_force_rows(
        features,
        gradients,
        ethanol.energy[:3],
        np.concatenate(ethanol.forces[:3]),
        structure_index=index,
    )
    assert isinstance(X, pd.DataFrame)
    assert_array_equal(X.columns, features.columns)
    assert X.shape == (3 + 81, features.shape[1])


def test_energy_force_rows_errors():
    features, gradients, index = np.ones((2, 3)), np.ones((15, 3)), [0, 0, 1, 1, 1]
    forces = np.zeros((5, 3))
    with pytest.raises(ValueError, match="needs energies, forces or both"):
        energy_force_rows(features, gradients, None, None)
    with pytest.raises(ValueError, match="structure_index .* is needed"):
        energy_force_rows(features, gradients, [1.0, 2.0], forces)
    with pytest.raises(ValueError, match="3 rows per atom"):
        energy_force_rows(features, gradients[:-3], None, forces, structure_index=index)
    with pytest.raises(ValueError, match="3 components per atom"):
        energy_force_rows(features, gradients, None, forces[:-1], structure_index=index)
    with pytest.raises(ValueError, match="one value per structure"):
        energy_force_rows(features, None, [1.0, 2.0, 3.0], None)
    with pytest.raises(ValueError, match="energies were given without features"):
        energy_force_rows(None, gradients, [1.0, 2.0], forces, structure_index=index)
    with pytest.raises(ValueError, match="forces were given without gradients"):
        energy_force_rows(features, None, None, forces, structure_index=index)
    with pytest.raises(ValueError, match="gradients has 2 columns"):
        energy_force_rows(
            features, gradients[:, :2], None, forces, structure_index=index
        )
    with pytest.raises(ValueError, match="force_weight must be finite and non-neg"):
        energy_force_rows(
            features, gradients, None, forces, structure_index=index, force_weight=-1
        )
    with pytest.raises(ValueError, match=r"energy_weight must be a float or one"):
        energy_force_rows(features, None, [1.0, 2.0], None, energy_weight=[1.0])
    with pytest.raises(ValueError, match="features must be a 2-D array"):
        energy_force_rows(np.ones(3), None, [1.0, 2.0, 3.0], None)
    with pytest.raises(ValueError, match="gradients contains NaN"):
        energy_force_rows(
            features, np.full((15, 3), np.nan), None, forces, structure_index=index
        )
    with pytest.raises(ValueError, match=r"structures \[2\] have no atom"):
        energy_force_rows(
            np.ones((3, 3)),
            None,
            [1.0, 2.0, 3.0],
            None,
            structure_index=index,
            energy_weight_scaling="n_atoms",
        )
    with pytest.raises(ValueError, match="energy_weight_scaling must be"):
        energy_force_rows(
            features, None, [1.0, 2.0], None, energy_weight_scaling="per_atom"
        )


# --- pipelines, search, LPR --------------------------------------------------


def soap_pipeline():
    union = FeatureUnion(
        [("soap", small_soap()), ("composition", CompositionFeatures())]
    ).set_output(transform="pandas")
    return Pipeline([("features", union), ("ridge", BlockRidge(blocks="names"))])


def test_grid_search_over_alpha_on_structures(qm9):
    structures, energies = qm9.structures[:30], qm9.energy[:30]
    search = GridSearchCV(
        soap_pipeline(),
        {"ridge__alpha": [1e-4, 1e-2, {"soap": 1e-2, "composition": 1e-6}]},
        cv=KFold(3, shuffle=True, random_state=0),
    ).fit(structures, energies)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    best = search.best_estimator_
    assert best[-1].block_names_ == ("soap", "composition")
    y_pred, y_std = best.predict(qm9.structures[30:35], return_std=True)
    assert y_pred.shape == y_std.shape == (5,)
    assert np.all(y_std > 0)


def test_local_rigidity_per_atom_is_finite_and_positive(qm9):
    structures, energies = qm9.structures[:30], qm9.energy[:30]
    model = soap_pipeline().fit(structures, energies)
    union, ridge = model[0], model[-1]
    X_local, index = transform_local(model[:-1], qm9.structures[30:40])
    lpr = ridge.local_rigidity(
        pd.DataFrame(X_local, columns=union.get_feature_names_out())
    )
    assert lpr.shape == (sum(len(a) for a in qm9.structures[30:40]),)
    assert np.all(np.isfinite(lpr)) and np.all(lpr > 0)
    assert_array_equal(np.bincount(index), [len(a) for a in qm9.structures[30:40]])
    # the per-atom rows pool to the rows the model was fitted on
    assert_allclose(
        pool_structures(X_local, index),
        union.transform(qm9.structures[30:40]).to_numpy(),
        atol=1e-10,
    )


def test_transform_local_errors(qm9):
    with pytest.raises(TypeError, match="Pipeline of 2 steps"):
        transform_local(soap_pipeline(), qm9.structures[:2])
    with pytest.raises(TypeError, match="has no method transform_local"):
        transform_local(BlockRidge(), qm9.structures[:2])
    union = FeatureUnion([("soap", small_soap()), ("raw", "passthrough")])
    union.transformer_list[0] = ("soap", small_soap().fit(qm9.structures[:2]))
    with pytest.raises(TypeError, match="'raw' is 'passthrough'"):
        transform_local(union, qm9.structures[:2])


# --- EnergyForceRegressor ----------------------------------------------------


def energy_force_model(**params):
    descriptor = FeatureUnion(
        [("soap", small_soap()), ("composition", CompositionFeatures())]
    ).set_output(transform="pandas")
    regressor = BlockRidge(
        alpha={"soap": 1e-3, "composition": 1e-6},
        blocks="names",
        fit_intercept=False,
    )
    return EnergyForceRegressor(descriptor, regressor, **params)


def test_energy_force_regressor_matches_manual_rows(ethanol):
    structures, energies = ethanol.structures[:8], ethanol.energy[:8]
    model = energy_force_model(force_weight=0.5).fit(structures, energies)
    union = clone(model.descriptor).fit(structures)
    features = union.transform(structures)
    gradients, index = transform_gradients(union, structures)
    X, y, w = energy_force_rows(
        features,
        gradients,
        energies,
        np.concatenate(ethanol.forces[:8]),
        structure_index=index,
        force_weight=0.5,
    )
    manual = clone(model.regressor).fit(X, y, sample_weight=w)
    assert_allclose(model.regressor_.coef_, manual.coef_, rtol=1e-10)
    test = ethanol.structures[50:53]
    assert_allclose(model.predict(test), manual.predict(union.transform(test)))
    test_gradients, _ = transform_gradients(union, test)
    assert_allclose(
        model.predict_forces(test),
        -(test_gradients @ manual.coef_).reshape(-1, 3),
        rtol=1e-10,
        atol=1e-10,
    )
    assert model.predict_rigidity(test).shape == (3,)
    lpr = model.local_rigidity(test)
    assert lpr.shape == (27,) and np.all(lpr > 0)


def test_energy_force_regressor_clone_pickle_and_search(ethanol):
    structures, energies = ethanol.structures[:12], ethanol.energy[:12]
    model = energy_force_model()
    assert clone(model).get_params()["force_weight"] == 1.0
    search = GridSearchCV(
        model,
        {"regressor__alpha": [{"soap": a, "composition": 1e-6} for a in (1e-4, 1e-1)]},
        cv=KFold(3),
    ).fit(structures, energies)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    fitted = search.best_estimator_
    restored = pickle.loads(pickle.dumps(fitted))
    test = ethanol.structures[60:62]
    assert_array_equal(restored.predict(test), fitted.predict(test))
    assert_array_equal(restored.predict_forces(test), fitted.predict_forces(test))


def test_energy_force_regressor_force_only_and_errors(ethanol):
    structures = ethanol.structures[:5]
    model = energy_force_model().fit(structures)  # forces alone
    assert model.predict_forces(structures).shape == (45, 3)
    with pytest.raises(ValueError, match="regressor fits an intercept"):
        EnergyForceRegressor(small_soap(), BlockRidge()).fit(
            structures, ethanol.energy[:5]
        )
    with pytest.raises(ValueError, match="Nothing to fit"):
        energy_force_model(force_weight=0).fit(structures)
    mean_soap = EnergyForceRegressor(
        small_soap(pooling="mean"), BlockRidge(fit_intercept=False)
    )
    with pytest.raises(ValueError, match="pooling='mean'. Use pooling='sum'"):
        mean_soap.fit(structures, ethanol.energy[:5])
    with pytest.raises(ValueError, match="has no reference forces"):
        energy_force_model().fit([molecule("H2O"), molecule("H2O")], [1.0, 2.0])
    # with force_weight=0 no forces are needed, and an intercept is allowed
    waters = [molecule("H2O"), molecule("H2O")]
    waters[1].rattle(0.05, seed=0)
    EnergyForceRegressor(small_soap(), BlockRidge(), force_weight=0).fit(
        waters, [1.0, 2.0]
    )


# --- packaging -------------------------------------------------------------------


def test_core_does_not_import_atomistic_dependencies():
    code = (
        "import sys, skpr, skpr.datasets; "
        "names = ('ase', 'featomic', 'metatensor'); "
        "print(sorted(m for m in names if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.strip() == "[]"
