"""Every solver route against one explicit reference, and the solver layer itself.

As opt_einsum's tests cross every path optimizer against ``optimize=False``,
these cross every way skpr can factor a model (primal Cholesky, primal QR,
dual, the linear kernel, the sparse Nystroem route) with every quantity (PR,
LPR, CPR, std, leave-one-out) and with or without an intercept and zero
weights, against an explicit inverse of the augmented Hessian and explicit
refits (``oracles.py``).
"""

import warnings

import numpy as np
import pytest
from oracles import (
    explicit_fit,
    explicit_rigidities,
    likelihood_scale,
    loo_by_refits,
    mpmath_loo,
)
from scipy import linalg
from sklearn.kernel_approximation import Nystroem

from skpr import BlockKernelRidge, BlockRidge, pool_structures
from skpr import _linalg as solver_layer
from skpr import _updates as updates
from skpr._statistics import GramStatistics

BLOCKS, ALPHA = [3, 5], [0.4, 2.0]
ROUTES = ["cholesky", "qr", "dual", "auto", "kernel-linear", "sparse"]


def make_local_data(n_structures, n_features, seed):
    """Per-environment rows, their structures, pooled rows, targets, weights."""
    rng = np.random.default_rng(seed)
    structure_index = np.repeat(
        np.arange(n_structures), rng.integers(1, 4, n_structures)
    )
    X_local = rng.normal(size=(structure_index.size, n_features)) + 0.5
    X = pool_structures(X_local, structure_index)
    y = X @ rng.normal(size=n_features) + 0.3 * rng.normal(size=n_structures)
    weights = rng.uniform(0.5, 2.0, size=n_structures)
    return X_local, structure_index, X, y, weights, rng


def fitted_route(route, shape, fit_intercept, zero_weights):
    n_structures = 30 if shape == "tall" else 6
    X_local, index, X, y, weights, rng = make_local_data(n_structures, 8, seed=3)
    if route == "sparse":
        # the projected-process route: Nystroem features of the environments
        active = X_local[:: max(1, X_local.shape[0] // 8)][:8]
        nystroem = Nystroem(kernel="rbf", gamma=0.2, n_components=8).fit(active)
        X_local = nystroem.transform(X_local)
        X = pool_structures(X_local, index)
    if zero_weights:
        weights[[1, 4]] = 0.0
    if route == "kernel-linear":
        model = BlockKernelRidge(alpha=ALPHA, blocks=BLOCKS)
    else:
        solver = "auto" if route == "sparse" else route
        model = BlockRidge(
            alpha=ALPHA, blocks=BLOCKS, fit_intercept=fit_intercept, solver=solver
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no route may warn on a benign problem
        model.fit(X, y, weights)
    Xq = np.vstack([rng.normal(size=(4, 8)), X[:3]])
    return model, X_local, X, y, weights, Xq


@pytest.mark.parametrize("zero_weights", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("shape", ["tall", "wide"])
@pytest.mark.parametrize("route", ROUTES)
def test_every_route_matches_the_explicit_inverse(
    route, shape, fit_intercept, zero_weights
):
    if route == "kernel-linear" and fit_intercept:
        pytest.skip("BlockKernelRidge has no intercept, like KernelRidge")
    model, X_local, X, y, weights, Xq = fitted_route(
        route, shape, fit_intercept, zero_weights
    )
    alpha_diag = np.repeat(ALPHA, BLOCKS)
    blocks = (slice(0, 3), slice(3, 8))
    params, inverse = explicit_fit(X, y, weights, alpha_diag, fit_intercept)
    pr, _, cpr = explicit_rigidities(inverse, Xq, fit_intercept, blocks)
    _, lpr, _ = explicit_rigidities(inverse, X_local, fit_intercept, blocks)
    rtol = 1e-9
    prediction = (
        np.hstack([Xq, np.ones((len(Xq), 1))]) @ params
        if fit_intercept
        else Xq @ params
    )
    np.testing.assert_allclose(model.predict(Xq), prediction, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(model.predict_rigidity(Xq), pr, rtol=rtol)
    np.testing.assert_allclose(model.local_rigidity(X_local), lpr, rtol=rtol)
    np.testing.assert_allclose(model.component_rigidity(Xq), cpr, rtol=rtol)
    # leave-one-out against refits, then the scale and the std it gives
    residual, rigidity = loo_by_refits(X, y, weights, alpha_diag, fit_intercept)
    np.testing.assert_allclose(model.loo_residual_, residual, rtol=rtol)
    np.testing.assert_allclose(model.loo_rigidity_, rigidity, rtol=rtol)
    scale = likelihood_scale(residual, rigidity, weights)
    assert model.uncertainty_scale_ == pytest.approx(scale, rel=rtol)
    _, std = model.predict(Xq, return_std=True)
    np.testing.assert_allclose(std, np.sqrt(scale / pr), rtol=rtol)


@pytest.mark.parametrize("route", ["cholesky", "qr", "dual"])
def test_routes_agree_with_each_other_to_round_off(route):
    X_local, _, X, y, weights, rng = make_local_data(12, 8, seed=5)
    Xq = rng.normal(size=(5, 8))
    reference = BlockRidge(alpha=ALPHA, blocks=BLOCKS, solver="cholesky").fit(
        X, y, weights
    )
    model = BlockRidge(alpha=ALPHA, blocks=BLOCKS, solver=route).fit(X, y, weights)
    assert model.solver_ == route
    for method in ("predict", "predict_rigidity", "component_rigidity"):
        np.testing.assert_allclose(
            getattr(model, method)(Xq), getattr(reference, method)(Xq), rtol=1e-11
        )
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-11)


def test_auto_takes_the_dual_only_with_fewer_samples_than_features():
    rng = np.random.default_rng(0)
    wide, tall = rng.normal(size=(10, 40)), rng.normal(size=(40, 10))
    assert BlockRidge().fit(wide, rng.normal(size=10)).solver_ == "dual"
    assert BlockRidge().fit(tall, rng.normal(size=40)).solver_ == "cholesky"
    # zero-weight rows do not count: 45 rows, 35 of them weightless, 40 features
    X = rng.normal(size=(45, 40))
    weights = np.r_[np.ones(10), np.zeros(35)]
    assert BlockRidge().fit(X, rng.normal(size=45), weights).solver_ == "dual"


# --- exact leave-one-out near interpolation (defect 2) ------------------------


@pytest.mark.parametrize("solver", ["auto", "cholesky", "qr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_leave_one_out_near_interpolation_matches_50_digit_refits(
    solver, fit_intercept
):
    """F > N and alpha = 1e-12: leverages within 1e-12 of 1.  The closed form
    R - s cancelled here (42 % error, then a negative scale); the dual
    identities are exact, whatever solver gave the coefficients."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(9, 20)) + 1.0
    y = rng.normal(size=9)
    weights = rng.uniform(0.5, 2.0, size=9)
    alpha = 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        model = BlockRidge(alpha, fit_intercept=fit_intercept, solver=solver).fit(
            X, y, weights
        )
    reference = mpmath_loo(X, y, weights, alpha, fit_intercept)
    np.testing.assert_allclose(model.loo_residual_, reference, rtol=1e-8)
    assert model.uncertainty_scale_ > 0
    assert np.all(np.isfinite(model.predict(X, return_std=True)[1]))


# --- primitives -----------------------------------------------------------------


def spd_factor(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n + 5, n))
    H = A.T @ A + 0.5 * np.eye(n)
    return H, linalg.cholesky(H), rng


def test_whitened_forms_equal_the_explicit_inverse(monkeypatch):
    # chunks of 3 rows, so that chunk boundaries are crossed
    monkeypatch.setattr(solver_layer, "CHUNK", 3)
    H, R, rng = spd_factor(7, seed=0)
    G, C = rng.normal(size=(8, 7)), rng.normal(size=(5, 7))
    offset = rng.normal(size=7)
    inverse = np.linalg.inv(H)
    np.testing.assert_allclose(
        solver_layer.quadratic_form(R, G, offset=offset),
        np.einsum("ij,jk,ik->i", G - offset, inverse, G - offset),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        solver_layer.cross_form(R, G, C), G @ inverse @ C.T, rtol=1e-11, atol=1e-13
    )
    blocks = (slice(0, 2), slice(2, 3), slice(3, 7))
    expected = np.stack(
        [np.einsum("ij,jk,ik->i", G[:, b], inverse[b, b], G[:, b]) for b in blocks],
        axis=1,
    )
    np.testing.assert_allclose(
        solver_layer.block_quadratic_form(R, G, blocks), expected, rtol=1e-12
    )


@pytest.mark.parametrize(
    "weights",
    [[2.0, 0.5, 1.0], [-0.05, -0.1], [0.7, -0.05]],
    ids=["add", "remove", "both"],
)
def test_factor_update_equals_a_fresh_factorization(weights):
    H, R, rng = spd_factor(6, seed=1)
    weights = np.asarray(weights)
    rows = rng.normal(size=(weights.size, 6))
    updated = updates.update_factor(R, rows, weights)
    fresh = linalg.cholesky(H + rows.T @ (weights[:, None] * rows))
    np.testing.assert_allclose(updated, fresh, rtol=1e-10, atol=1e-12)
    G = rng.normal(size=(4, 6))
    inverse = np.linalg.inv(H + rows.T @ (weights[:, None] * rows))
    np.testing.assert_allclose(
        updates.updated_quadratic_form(R, G, rows, weights),
        np.einsum("ij,jk,ik->i", G, inverse, G),
        rtol=1e-10,
    )


def test_removing_a_row_with_leverage_one_is_refused():
    H, R, rng = spd_factor(4, seed=2)
    row = rng.normal(size=4)
    weight = 1.0 / (row @ np.linalg.solve(H, row))  # leverage exactly 1
    with pytest.raises(np.linalg.LinAlgError, match="leverage"):
        updates.update_factor(R, row[None], [-1.01 * weight])
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite"):
        updates.updated_quadratic_form(R, row[None], row[None], [-1.01 * weight])


def test_adding_a_row_raises_its_own_rigidity_by_its_weight():
    """The +s rule (Appendix B) is the k = 1 case of the update."""
    H, R, rng = spd_factor(5, seed=3)
    g = rng.normal(size=(1, 5))
    before = 1.0 / solver_layer.quadratic_form(R, g)
    after = 1.0 / updates.updated_quadratic_form(R, g, g, [2.5])
    np.testing.assert_allclose(after - before, 2.5, rtol=1e-10)
    updated = updates.update_factor(R, g, [2.5])
    np.testing.assert_allclose(1.0 / solver_layer.quadratic_form(updated, g), after)


@pytest.mark.parametrize("centered", [True, False])
def test_merged_statistics_equal_statistics_of_all_rows(centered):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 5)) * [1, 10, 0.1, 1, 1] + 100.0
    y = rng.normal(size=40) + 7.0
    weights = rng.uniform(0.1, 3.0, size=40)
    whole = GramStatistics.from_rows(X, y, weights, centered=centered)
    parts = [slice(0, 7), slice(7, 8), slice(8, 40)]
    merged = GramStatistics.from_rows(
        X[parts[0]], y[parts[0]], weights[parts[0]], centered=centered
    )
    for part in parts[1:]:
        merged = merged.merge(
            GramStatistics.from_rows(X[part], y[part], weights[part], centered=centered)
        )
    upper = np.triu_indices(5)
    np.testing.assert_allclose(merged.xx[upper], whole.xx[upper], rtol=1e-10)
    np.testing.assert_allclose(merged.xy, whole.xy, rtol=1e-10)
    np.testing.assert_allclose(merged.x_mean, whole.x_mean, rtol=1e-13)
    assert merged.yy == pytest.approx(whole.yy, rel=1e-10)
    assert merged.weight_sum == pytest.approx(whole.weight_sum, rel=1e-14)
    # the centered scatter is the explicit one, without cancellation
    if centered:
        mean = weights @ X / weights.sum()
        explicit = (X - mean).T @ (weights[:, None] * (X - mean))
        np.testing.assert_allclose(whole.xx[upper], explicit[upper], rtol=1e-10)
    with pytest.raises(ValueError, match="same features and the same centering"):
        whole.merge(GramStatistics.from_rows(X[:, :3], y, weights, centered=centered))


def test_condition_estimate_of_huge_entries_does_not_overflow():
    _, R, _ = spd_factor(5, seed=5)
    assert solver_layer.condition_estimate(R * 1e154) == pytest.approx(
        solver_layer.condition_estimate(R), rel=1e-12
    )
