"""Leave-one-group-out calibration, per-kind scales, noise, covariances.

Every closed form here is compared with an independent computation in the
test: explicit refits without the group, an explicit inverse of the
Hessian, scipy's own optimizer on the likelihood, scikit-learn's Gaussian
process.
"""

import pickle

import numpy as np
import pytest
import scipy.optimize
from numpy.testing import assert_allclose
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF

from skpr import BlockKernelRidge, BlockRidge


def grouped_data(seed=0, n_groups=12, size=4, n_features=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_groups * size, n_features))
    X[5] = 0.0  # a zero row: no information on the scale
    y = X @ rng.normal(size=n_features) + 0.3 * rng.normal(size=len(X))
    weight = rng.uniform(0.5, 2.0, size=len(X))
    weight[7] = 0.0  # a row outside the loss
    groups = np.repeat(np.arange(n_groups), size)
    kinds = np.where(np.arange(len(X)) % size == 0, "energy", "force")
    return X, y, weight, groups, kinds


def explicit_hessian_inverse(model, X, weight):
    """H^{-1} over (w, c) from the rows, by numpy, with H = [X 1]^T S [X 1] + Lambda."""
    n_features = X.shape[1]
    design = np.hstack([X, np.ones((len(X), 1))]) if model.fit_intercept else X
    alpha = np.concatenate(
        [
            np.full(b.stop - b.start, a)
            for b, a in zip(model.blocks_, np.atleast_1d(model.alpha_), strict=True)
        ]
    )
    penalty = np.concatenate([alpha, [0.0]]) if model.fit_intercept else alpha
    hessian = design.T @ (weight[:, None] * design) + np.diag(penalty)
    return np.linalg.inv(hessian), n_features


@pytest.mark.parametrize("solver", ["cholesky", "dual"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_leave_one_group_out_equals_refits(solver, fit_intercept):
    X, y, weight, groups, _ = grouped_data()
    if solver == "dual":  # fewer rows than features
        X = np.hstack([X, np.random.default_rng(1).normal(size=(len(X), 60))])
    params = dict(
        alpha=[0.3, 2.0], blocks=[3, X.shape[1] - 3], fit_intercept=fit_intercept
    )
    model = BlockRidge(**params, solver=solver).fit(X, y, weight, groups=groups)
    for g in np.unique(groups):
        out = groups == g
        refit = BlockRidge(**params, calibration=None).fit(
            X[~out], y[~out], weight[~out]
        )
        assert_allclose(
            model.loo_residual_[out], y[out] - refit.predict(X[out]), rtol=1e-8
        )
        assert_allclose(
            model.loo_rigidity_[out], refit.predict_rigidity(X[out]), rtol=1e-7
        )
    if solver == "cholesky" and not fit_intercept:  # row 5 is all zeros
        assert np.isinf(model.loo_rigidity_[5])


def test_single_row_groups_are_the_row_wise_formula():
    X, y, weight, _, _ = grouped_data()
    rows = BlockRidge(alpha=0.5).fit(X, y, weight)
    groups = BlockRidge(alpha=0.5).fit(X, y, weight, groups=np.arange(len(X)))
    assert_allclose(groups.loo_residual_, rows.loo_residual_, rtol=1e-10)
    assert_allclose(groups.loo_rigidity_, rows.loo_rigidity_, rtol=1e-9)
    assert groups.uncertainty_scale_ == pytest.approx(rows.uncertainty_scale_, 1e-9)


def test_kernel_ridge_groups_equal_refits():
    X, y, weight, groups, _ = grouped_data(seed=2)
    model = BlockKernelRidge(alpha=0.7, kernel="rbf").fit(X, y, weight, groups=groups)
    for g in (0, 3):
        out = groups == g
        refit = BlockKernelRidge(alpha=0.7, kernel="rbf", calibration=None)
        refit.fit(X[~out], y[~out], weight[~out])
        assert_allclose(
            model.loo_residual_[out], y[out] - refit.predict(X[out]), rtol=1e-8
        )
        assert_allclose(
            model.loo_rigidity_[out], refit.predict_rigidity(X[out]), rtol=1e-7
        )


def negative_log_likelihood(params, residual, rigidity, weight):
    scale, noise = np.exp(params)
    variance = scale / rigidity + noise
    return np.sum(weight * (np.log(variance) + residual**2 / variance))


def direct_optimum(args):
    """scipy's Nelder-Mead on log(scale), log(noise): independent of skpr's fit."""
    return scipy.optimize.minimize(
        negative_log_likelihood,
        x0=[0.0, -2.0],
        args=args,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000},
    )


def test_scales_and_noise_per_kind_are_maximum_likelihood():
    X, y, weight, groups, kinds = grouped_data(n_groups=40)
    model = BlockRidge(alpha=0.5, fit_noise=True).fit(
        X, y, weight, groups=groups, kinds=kinds
    )
    assert set(model.uncertainty_scales_) == {"energy", "force"}
    for kind in ("energy", "force"):
        mask = (kinds == kind) & np.isfinite(model.loo_rigidity_) & (weight > 0)
        args = (model.loo_residual_[mask], model.loo_rigidity_[mask], weight[mask])
        best = direct_optimum(args)
        scale, noise = model.uncertainty_scales_[kind], model.noises_[kind]
        ours = negative_log_likelihood(np.log([scale, noise + 1e-300]), *args)
        # the same optimum of the likelihood (noise may sit at its bound 0)
        assert ours == pytest.approx(best.fun, abs=1e-6 * abs(best.fun))
        assert scale == pytest.approx(np.exp(best.x[0]), rel=1e-3)
    # without a noise term: the closed form mean(r^2 R) per kind
    plain = BlockRidge(alpha=0.5).fit(X, y, weight, groups=groups, kinds=kinds)
    mask = (kinds == "force") & np.isfinite(plain.loo_rigidity_) & (weight > 0)
    want = np.sum(
        weight[mask] * plain.loo_residual_[mask] ** 2 * plain.loo_rigidity_[mask]
    ) / np.sum(weight[mask])
    assert plain.uncertainty_scales_["force"] == pytest.approx(want, rel=1e-10)
    assert plain.noises_["force"] == 0.0


def test_a_prior_consistent_simulation_recovers_the_noise():
    rng = np.random.default_rng(3)
    noise_std, prior_std = 0.2, 1.0
    X = rng.normal(size=(4000, 8))
    y = X @ rng.normal(scale=prior_std, size=8) + rng.normal(scale=noise_std, size=4000)
    model = BlockRidge(
        alpha=noise_std**2 / prior_std**2, fit_intercept=False, fit_noise=True
    ).fit(X, y)
    # the Bayesian reading of ridge with unit weights: scale = noise = sigma^2
    assert model.noise_ == pytest.approx(noise_std**2, rel=0.1)
    _, std = model.predict(X[:3], return_std=True)
    _, with_noise = model.predict(X[:3], return_std=True, observation=True)
    assert_allclose(with_noise**2 - std**2, model.noise_, rtol=1e-12)


@pytest.mark.parametrize("solver", ["cholesky", "dual"])
def test_covariance_and_combinations_against_the_explicit_inverse(solver):
    X, y, weight, _, _ = grouped_data(seed=4)
    if solver == "dual":
        X = np.hstack([X, np.random.default_rng(5).normal(size=(len(X), 60))])
    model = BlockRidge(alpha=[0.3, 2.0], blocks=[3, X.shape[1] - 3], solver=solver)
    model.fit(X, y, weight)
    inverse, n_features = explicit_hessian_inverse(model, X, weight)
    queries = np.random.default_rng(6).normal(size=(5, X.shape[1]))
    design = np.hstack([queries, np.ones((5, 1))])
    want = model.uncertainty_scale_ * design @ inverse @ design.T
    _, covariance = model.predict(queries, return_cov=True)
    assert_allclose(covariance, want, rtol=1e-8, atol=1e-12 * np.abs(want).max())
    _, std = model.predict(queries, return_std=True)
    assert_allclose(np.sqrt(np.diag(covariance)), std, rtol=1e-8)
    # a difference and an average: g = sum_i c_i [x_i, 1]
    coefficients = np.array([[1.0, -1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25, 0]])
    g = coefficients @ design
    want_rigidity = 1.0 / np.einsum("ij,jk,ik->i", g, inverse, g)
    assert_allclose(
        model.combination_rigidity(queries, coefficients), want_rigidity, rtol=1e-8
    )
    values, std = model.predict_combination(queries, coefficients, return_std=True)
    assert_allclose(values, coefficients @ model.predict(queries), rtol=1e-12)
    assert_allclose(std, np.sqrt(model.uncertainty_scale_ / want_rigidity), rtol=1e-8)


def test_kernel_covariance_is_the_gaussian_process_covariance():
    X, y, _, _, _ = grouped_data(seed=7)
    noise = 0.05
    model = BlockKernelRidge(alpha=noise, kernel=RBF(1.5), calibration=None).fit(X, y)
    gp = GaussianProcessRegressor(RBF(1.5), alpha=noise, optimizer=None).fit(X, y)
    queries = np.random.default_rng(8).normal(size=(6, X.shape[1]))
    _, ours = model.predict(queries, return_cov=True)
    _, theirs = gp.predict(queries, return_cov=True)
    # var = a / PR with a = the GP's alpha (paper: sigma^2 = alpha^2 / PR)
    assert_allclose(noise * ours, theirs, rtol=1e-8, atol=1e-12)


def test_bad_groups_kinds_and_singular_groups_are_refused():
    X, y, weight, groups, kinds = grouped_data()
    with pytest.raises(ValueError, match="groups must have one label per row"):
        BlockRidge().fit(X, y, groups=groups[:-1])
    with pytest.raises(ValueError, match="at least 2 groups"):
        BlockRidge().fit(X, y, groups=np.zeros(len(X)))
    model = BlockRidge().fit(X, y, weight, groups=groups, kinds=kinds)
    with pytest.raises(ValueError, match="kind='stress' was not calibrated"):
        model.predict(X[:2], return_std=True, kind="stress")
    with pytest.raises(ValueError, match="coefficients must have one column"):
        model.combination_rigidity(X[:3], [[1.0, -1.0]])
    # one feature seen by group 0 alone, barely regularized: leverage 1
    lonely = np.hstack([X, np.zeros((len(X), 1))])
    lonely[groups == 0, -1] = 1.0
    with pytest.raises(ValueError, match="Leaving out the group 0"):
        BlockRidge(alpha=[1.0, 1e-14], blocks=[X.shape[1], 1]).fit(
            lonely, y, groups=groups
        )


def test_fitted_scales_pickle_and_calibrate_per_kind():
    X, y, weight, groups, kinds = grouped_data(n_groups=30)
    model = BlockRidge(alpha=0.5, fit_noise=True).fit(
        X[:60], y[:60], weight[:60], groups=groups[:60], kinds=kinds[:60]
    )
    again = pickle.loads(pickle.dumps(model))
    assert again.uncertainty_scales_ == model.uncertainty_scales_
    model.calibrate(X[60:], y[60:], kinds=kinds[60:])
    # held-out: the residuals and rigidities of the rows as they are
    prediction = model.predict(X[60:])
    rigidity = model.predict_rigidity(X[60:])
    mask = kinds[60:] == "energy"
    args = ((y[60:] - prediction)[mask], rigidity[mask], np.ones(mask.sum()))
    got = np.log(
        [model.uncertainty_scales_["energy"], model.noises_["energy"] + 1e-300]
    )
    best = direct_optimum(args)
    assert negative_log_likelihood(got, *args) <= best.fun + 1e-6
