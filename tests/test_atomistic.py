"""Energy and force rows, pipelines and the LPR of skpr.atomistic, against oracles.

An explicit weighted least-squares solve for the energy+force fit (paper eqs.
4-6), an explicit inverse of the Hessian built by hand for the per-atom LPR,
grid search and pickling of whole models on structures.  The descriptors
themselves are tested in ``test_descriptors.py`` (gradients, pooling,
invariances, refusals) and ``test_expansions.py`` (coefficients and
invariants against featomic).  Small hypers and a few small structures keep
the file fast.
"""

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

import pandas as pd  # noqa: E402
from ase.build import molecule  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline, make_union  # noqa: E402

from skpr import BlockRidge, pool_structures  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    CompositionFeatures,
    EnergyForceRegressor,
    SoapPowerSpectrum,
    energy_force_rows,
    transform_gradients,
    transform_local,
)
from skpr.datasets import load_ethanol, load_qm9  # noqa: E402


@pytest.fixture(scope="module")
def ethanol():
    return load_ethanol()


@pytest.fixture(scope="module")
def qm9():
    return load_qm9()


def small_soap(**params):
    return SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2, **params)


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


def test_local_rigidity_per_atom_matches_the_explicit_inverse_hessian(qm9):
    structures, energies = qm9.structures[:30], qm9.energy[:30]
    model = soap_pipeline().set_params(ridge__alpha={"soap": 1e-2, "composition": 1e-3})
    model.fit(structures, energies)
    union, ridge = model[0], model[-1]
    test = qm9.structures[30:40]
    X_local, index = transform_local(model[:-1], test)
    lpr = ridge.local_rigidity(
        pd.DataFrame(X_local, columns=union.get_feature_names_out())
    )

    # the Hessian of the loss over (w, intercept), from the pooled training
    # rows, inverted explicitly; an atom's prediction x_j . w has g = [x_j, 0]
    X = union.transform(structures).to_numpy()
    n_soap = len(union.transformer_list[0][1].get_feature_names_out())
    regularization = np.concatenate(
        [np.full(n_soap, 1e-2), np.full(X.shape[1] - n_soap, 1e-3), [0.0]]
    )
    design = np.hstack([X, np.ones((len(X), 1))])
    inverse = np.linalg.inv(design.T @ design + np.diag(regularization))
    g = np.hstack([X_local, np.zeros((len(X_local), 1))])
    expected = 1.0 / np.einsum("ij,jk,ik->i", g, inverse, g)
    assert lpr.shape == (sum(len(a) for a in test),)
    assert_allclose(lpr, expected, rtol=1e-6)
    assert_array_equal(np.bincount(index), [len(a) for a in test])
    # the per-atom rows pool to the rows the model predicts from
    assert_allclose(
        pool_structures(X_local, index),
        union.transform(test).to_numpy(),
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
    assert_allclose(
        model.predict_rigidity(test),
        manual.predict_rigidity(union.transform(test)),
        rtol=1e-8,
    )
    X_local, _ = transform_local(union, test)
    assert_allclose(
        model.local_rigidity(test),
        manual.local_rigidity(
            pd.DataFrame(X_local, columns=union.get_feature_names_out())
        ),
        rtol=1e-8,
    )


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
