"""BlockKernelRidge against independent computations (DESIGN.md sections 1 and 4)."""

import pickle

import numpy as np
import pytest
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, Matern
from sklearn.metrics.pairwise import kernel_metrics, pairwise_kernels, rbf_kernel
from sklearn.utils.estimator_checks import parametrize_with_checks

from skpr import BlockKernelRidge, BlockRidge
from skpr._kernels import resolve_kernels


def make_data(n_samples, n_features, seed=0):
    rng = np.random.default_rng(seed)
    # correlated features, so that blocks interact and CPR differs from 1/H_bb
    X = rng.normal(size=(n_samples, n_features)) @ rng.normal(
        size=(n_features, n_features)
    )
    X /= np.sqrt(n_features)
    y = X @ rng.normal(size=n_features) + 0.3 * rng.normal(size=n_samples)
    weights = rng.uniform(0.5, 2.0, size=n_samples)
    return X, y, weights, rng


def methods(model, Xq, local=True):
    """Every per-row output; LPR only for linear kernels."""
    names = ["predict", "predict_rigidity", "component_rigidity", "predict_components"]
    return {
        name: getattr(model, name)(Xq)
        for name in names + (["local_rigidity"] if local else [])
    }


# --- primal = dual -------------------------------------------------------------


@pytest.mark.parametrize("n_samples, n_features", [(40, 7), (6, 11)])
def test_linear_kernel_reproduces_block_ridge(n_samples, n_features):
    """N > F and N < F, per-block alpha, sample weights (one of them zero)."""
    X, y, weights, rng = make_data(n_samples, n_features)
    weights[2] = 0.0
    Xq = rng.normal(size=(9, n_features))
    blocks, alpha = [3, n_features - 3], [0.3, 5.0]
    dual = BlockKernelRidge(alpha=alpha, blocks=blocks).fit(X, y, weights)
    primal = BlockRidge(alpha=alpha, blocks=blocks, fit_intercept=False).fit(
        X, y, weights
    )
    for name, expected in methods(primal, Xq).items():
        np.testing.assert_allclose(
            methods(dual, Xq)[name], expected, rtol=1e-10, err_msg=name
        )
    np.testing.assert_allclose(dual.loo_rigidity_, primal.loo_rigidity_, rtol=1e-10)
    np.testing.assert_allclose(dual.loo_residual_, primal.loo_residual_, rtol=1e-10)
    assert dual.uncertainty_scale_ == pytest.approx(primal.uncertainty_scale_, 1e-10)
    # the dual coefficients carry the primal ones: w_b = X_b^T c / alpha_b
    np.testing.assert_allclose(
        np.concatenate(
            [
                dual.X_fit_[:, b].T @ dual.dual_coef_ / a
                for b, a in zip(dual.blocks_, alpha, strict=True)
            ]
        ),
        primal.coef_,
        rtol=1e-10,
    )


def homogeneous_quadratic_features(X):
    """Explicit feature map of (x . y)^2: x_k^2 and sqrt(2) x_k x_l (k < l)."""
    rows, columns = np.triu_indices(X.shape[1])
    scale = np.where(rows == columns, 1.0, np.sqrt(2.0))
    return scale * X[:, rows] * X[:, columns]


def test_dual_cpr_equals_primal_cpr_for_explicit_feature_maps():
    """A linear block and a polynomial block (x . y)^2 whose feature map is
    written out: dual PR, CPR and components equal the primal ones."""
    X, y, weights, rng = make_data(50, 6, seed=1)
    Xq = rng.normal(size=(7, 6))
    alpha = [0.5, 2.0]
    dual = BlockKernelRidge(
        alpha=alpha,
        kernel=["linear", "polynomial"],
        blocks=[2, 4],
        kernel_params=[None, {"degree": 2, "gamma": 1.0, "coef0": 0.0}],
    ).fit(X, y, weights)

    def explicit(Z):
        return np.hstack([Z[:, :2], homogeneous_quadratic_features(Z[:, 2:])])

    primal = BlockRidge(alpha=alpha, blocks=[2, 10], fit_intercept=False).fit(
        explicit(X), y, weights
    )
    np.testing.assert_allclose(dual.predict(Xq), primal.predict(explicit(Xq)), 1e-9)
    np.testing.assert_allclose(
        dual.predict_rigidity(Xq), primal.predict_rigidity(explicit(Xq)), rtol=1e-9
    )
    np.testing.assert_allclose(
        dual.component_rigidity(Xq),
        primal.component_rigidity(explicit(Xq)),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        dual.predict_components(Xq),
        primal.predict_components(explicit(Xq)),
        rtol=1e-9,
        atol=1e-12,
    )


# --- kernel = Gaussian process -------------------------------------------------


@pytest.mark.parametrize(
    "kernel, kernel_params",
    [
        (RBF(1.3), None),
        ("rbf", {"gamma": 0.5 / 1.3**2}),
        (rbf_kernel, {"gamma": 0.5 / 1.3**2}),
    ],
)
def test_rbf_reproduces_gaussian_process(kernel, kernel_params):
    X, _, _, rng = make_data(60, 3)
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.normal(size=60)
    Xq = np.vstack([rng.normal(size=(8, 3)), X[:3]])
    a = 0.05
    gp = GaussianProcessRegressor(
        RBF(1.3, length_scale_bounds="fixed"), alpha=a, optimizer=None
    ).fit(X, y)
    gp_mean, gp_std = gp.predict(Xq, return_std=True)
    model = BlockKernelRidge(
        alpha=a, kernel=kernel, kernel_params=kernel_params, calibration=None
    ).fit(X, y)
    np.testing.assert_allclose(model.predict(Xq), gp_mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gp_std**2, a / model.predict_rigidity(Xq), rtol=1e-9)
    y_pred, y_std = model.predict(Xq, return_std=True)  # scale 1 without calibration
    np.testing.assert_allclose(a * y_std**2, gp_std**2, rtol=1e-9)


def test_sample_weights_are_gaussian_process_noise_levels():
    """Weight s_i is a noise variance a / s_i in the GP with noise a."""
    X, _, weights, rng = make_data(40, 2, seed=3)
    y = np.cos(X[:, 0]) + 0.1 * rng.normal(size=40)
    Xq = rng.normal(size=(6, 2))
    a = 0.1
    kernel = ConstantKernel(2.0) * Matern(0.8, nu=1.5)
    gp = GaussianProcessRegressor(kernel, alpha=a / weights, optimizer=None).fit(X, y)
    gp_mean, gp_std = gp.predict(Xq, return_std=True)
    model = BlockKernelRidge(alpha=a, kernel=kernel, calibration=None)
    model.fit(X, y, sample_weight=weights)
    np.testing.assert_allclose(model.predict(Xq), gp_mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(gp_std**2, a / model.predict_rigidity(Xq), rtol=1e-9)


# --- the rigidity identities ---------------------------------------------------


def two_block_rbf_model(**kwargs):
    return BlockKernelRidge(
        alpha=[0.1, 0.4],
        kernel=["rbf", "laplacian"],
        blocks=[2, 3],
        kernel_params=[{"gamma": 0.4}, {"gamma": 0.2}],
        **kwargs,
    )


def test_leave_one_out_matches_explicit_refits():
    X, y, weights, _ = make_data(25, 5, seed=4)
    weights[7] = 0.0  # not in the loss: its LOO values are its plain values
    model = two_block_rbf_model().fit(X, y, sample_weight=weights)
    residuals, rigidities = [], []
    for i in range(X.shape[0]):
        keep = np.arange(X.shape[0]) != i
        refit = two_block_rbf_model(calibration=None).fit(
            X[keep], y[keep], sample_weight=weights[keep]
        )
        residuals.append(y[i] - refit.predict(X[i : i + 1])[0])
        rigidities.append(refit.predict_rigidity(X[i : i + 1])[0])
    residuals, rigidities = np.array(residuals), np.array(rigidities)
    np.testing.assert_allclose(model.loo_residual_, residuals, rtol=1e-9)
    np.testing.assert_allclose(model.loo_rigidity_, rigidities, rtol=1e-9)
    assert model.uncertainty_scale_ == pytest.approx(
        np.average(residuals**2 * rigidities, weights=weights), rel=1e-9
    )


@pytest.mark.parametrize(
    "n_samples, alpha_scale",
    [(8, 1e-4), (30, 1.0), (30, 1e9)],
    ids=["near-interpolation", "moderate", "strongly-regularized"],
)
def test_closed_form_training_rigidity_equals_direct_formula(n_samples, alpha_scale):
    """Leverages near 1, in between, and near 1e-9; the reference is the
    inverse Hessian in the explicit feature space of a linear and a
    homogeneous quadratic block (3 + 6 features)."""
    X, y, weights, _ = make_data(n_samples, 6, seed=5)
    alpha = [0.1 * alpha_scale, 0.4 * alpha_scale]
    model = BlockKernelRidge(
        alpha=alpha,
        kernel=["linear", "polynomial"],
        blocks=[3, 3],
        kernel_params=[None, {"degree": 2, "gamma": 1.0, "coef0": 0.0}],
    ).fit(X, y, sample_weight=weights)
    features = np.hstack([X[:, :3], homogeneous_quadratic_features(X[:, 3:])])
    hessian = features.T @ (weights[:, None] * features) + np.diag(
        np.repeat(alpha, [3, 6])
    )
    expected = 1 / np.einsum(
        "ij,ij->i", features, np.linalg.solve(hessian, features.T).T
    )
    leverage = weights / expected
    assert leverage.max() > 0.999 if n_samples == 8 else leverage.max() < 1.0
    # the direct formula misses this by ~4e-10 near interpolation, and the
    # closed form alone by ~1e-7 under strong regularization
    np.testing.assert_allclose(model.loo_rigidity_ + weights, expected, rtol=1e-11)


@pytest.mark.parametrize("weight", [1.0, 3.5])
def test_adding_a_row_raises_its_rigidity_by_its_weight(weight):
    """Paper Appendix B, in the dual: PR(x) rises by exactly s."""
    X, y, weights, rng = make_data(30, 5, seed=6)
    x_new = rng.normal(size=(1, 5))
    model = two_block_rbf_model(calibration=None)
    before = model.fit(X, y, sample_weight=weights).predict_rigidity(x_new)[0]
    after = model.fit(
        np.vstack([X, x_new]),
        np.append(y, 0.3),
        sample_weight=np.append(weights, weight),
    ).predict_rigidity(x_new)[0]
    assert after - before == pytest.approx(weight, rel=1e-9)


def test_cpr_against_explicit_inverse_in_the_dual():
    """R_b^{-1} = k_b(x,x)/a_b - k_b,x^T (K~ + S^-1)^{-1} k_b,x / a_b^2, with the
    matrices built here from sklearn's kernel functions."""
    X, y, weights, rng = make_data(30, 5, seed=7)
    Xq = rng.normal(size=(6, 5))
    model = two_block_rbf_model().fit(X, y, sample_weight=weights)
    K = [rbf_kernel(X[:, :2], gamma=0.4) / 0.1]
    K.append(pairwise_kernels(X[:, 2:], metric="laplacian", gamma=0.2) / 0.4)
    cross = [rbf_kernel(X[:, :2], Xq[:, :2], gamma=0.4) / 0.1]
    cross.append(pairwise_kernels(X[:, 2:], Xq[:, 2:], "laplacian", gamma=0.2) / 0.4)
    A_inv = np.linalg.inv(K[0] + K[1] + np.diag(1 / weights))
    expected = np.column_stack(
        [
            1 / (1 / a - np.einsum("iq,ij,jq->q", c, A_inv, c))
            for a, c in zip([0.1, 0.4], cross, strict=True)
        ]
    )
    np.testing.assert_allclose(model.component_rigidity(Xq), expected, rtol=1e-9)
    components = model.predict_components(Xq)
    dual = A_inv @ y
    np.testing.assert_allclose(components[:, 1], cross[1].T @ dual, rtol=1e-9)
    np.testing.assert_allclose(components.sum(1), model.predict(Xq), rtol=1e-12)


def test_zero_weight_rows_are_dropped():
    X, y, weights, rng = make_data(30, 5, seed=8)
    weights[[3, 11]] = 0.0
    Xq = rng.normal(size=(5, 5))
    y_changed = y.copy()
    y_changed[[3, 11]] = 1e6  # must not matter
    model = two_block_rbf_model().fit(X, y_changed, sample_weight=weights)
    keep = weights > 0
    dropped = two_block_rbf_model().fit(X[keep], y[keep], sample_weight=weights[keep])
    np.testing.assert_array_equal(model.support_, np.flatnonzero(keep))
    for name, expected in methods(dropped, Xq, local=False).items():
        np.testing.assert_allclose(
            methods(model, Xq, local=False)[name], expected, rtol=1e-12
        )
    np.testing.assert_allclose(model.loo_rigidity_[keep], dropped.loo_rigidity_)


def test_duplicating_data_and_doubling_alpha_doubles_rigidities():
    X, y, weights, rng = make_data(20, 5, seed=9)
    Xq = rng.normal(size=(5, 5))
    base = two_block_rbf_model().fit(X, y, sample_weight=weights)
    doubled = BlockKernelRidge(
        alpha=[0.2, 0.8],
        kernel=["rbf", "laplacian"],
        blocks=[2, 3],
        kernel_params=[{"gamma": 0.4}, {"gamma": 0.2}],
    ).fit(np.vstack([X, X]), np.append(y, y), np.append(weights, weights))
    np.testing.assert_allclose(doubled.predict(Xq), base.predict(Xq), rtol=1e-9)
    np.testing.assert_allclose(
        doubled.predict_rigidity(Xq), 2 * base.predict_rigidity(Xq), rtol=1e-9
    )
    np.testing.assert_allclose(
        doubled.component_rigidity(Xq), 2 * base.component_rigidity(Xq), rtol=1e-9
    )


# --- kernels -------------------------------------------------------------------

KERNEL_PARAMS = {
    "additive_chi2": {},
    "chi2": {"gamma": 0.7},
    "linear": {},
    "polynomial": {"degree": 2, "gamma": 0.3, "coef0": 0.5},
    "poly": {},
    "rbf": {"gamma": 0.2},
    "laplacian": {},
    "sigmoid": {"gamma": 0.1, "coef0": -0.2},
    "cosine": {},
}


@pytest.mark.parametrize("name", sorted(kernel_metrics()))
def test_kernel_diagonal_matches_kernel_matrix(name):
    rng = np.random.default_rng(10)
    X = rng.uniform(0.0, 2.0, size=(300, 4))  # non-negative for the chi2 kernels
    X[5] = 0.0  # cosine of a zero row is 0
    params = KERNEL_PARAMS[name]
    (kernel,) = resolve_kernels(name, params, ("all",))
    expected = np.diagonal(pairwise_kernels(X, metric=name, **params))
    np.testing.assert_allclose(kernel.diag(X), expected, rtol=1e-12, atol=1e-300)


def test_callable_and_gaussian_process_kernels_per_block():
    X, y, weights, rng = make_data(30, 5, seed=11)
    Xq = rng.normal(size=(4, 5))
    by_strings = two_block_rbf_model().fit(X, y, weights)

    def laplacian(A, B, gamma):
        return np.exp(-gamma * np.abs(A[:, None, :] - B[None, :, :]).sum(-1))

    mixed = BlockKernelRidge(
        alpha=[0.1, 0.4],
        kernel=[RBF(np.sqrt(0.5 / 0.4)), laplacian],
        blocks=[2, 3],
        kernel_params=[None, {"gamma": 0.2}],
    ).fit(X, y, weights)
    for name, expected in methods(by_strings, Xq, local=False).items():
        np.testing.assert_allclose(
            methods(mixed, Xq, local=False)[name], expected, rtol=1e-10
        )


def test_blocks_from_names_with_alpha_dict():
    pd = pytest.importorskip("pandas")
    X, y, weights, rng = make_data(30, 5, seed=12)
    frame = pd.DataFrame(X, columns=["a__0", "a__1", "b__0", "b__1", "b__2"])
    model = BlockKernelRidge(
        alpha={"a": 0.1, "b": 0.4},
        kernel=["rbf", "laplacian"],
        blocks="names",
        kernel_params=[{"gamma": 0.4}, {"gamma": 0.2}],
    ).fit(frame, y, weights)
    assert model.block_names_ == ("a", "b")
    reference = two_block_rbf_model().fit(X, y, weights)
    np.testing.assert_allclose(
        model.component_rigidity(frame.iloc[:5]),
        reference.component_rigidity(X[:5]),
        rtol=1e-12,
    )


# --- estimator contract ----------------------------------------------------------


@parametrize_with_checks([BlockKernelRidge(), BlockKernelRidge(kernel="rbf")])
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "kernel", ["rbf", ["linear", "laplacian"], [RBF(0.7), "polynomial"]]
)
def test_pickle_round_trip_gives_identical_results(kernel):
    X, y, weights, rng = make_data(30, 5, seed=13)
    Xq = rng.normal(size=(5, 5))
    blocks = None if isinstance(kernel, str) else [2, 3]
    model = BlockKernelRidge(alpha=0.3, kernel=kernel, blocks=blocks)
    model.fit(X, y, weights)
    restored = pickle.loads(pickle.dumps(model))
    for name, values in methods(model, Xq, local=False).items():
        np.testing.assert_array_equal(getattr(restored, name)(Xq), values)
    np.testing.assert_array_equal(
        restored.predict(Xq, return_std=True), model.predict(Xq, return_std=True)
    )


def test_inputs_are_not_mutated():
    X, y, weights, _ = make_data(20, 5, seed=14)
    copies = X.copy(), y.copy(), weights.copy()
    model = two_block_rbf_model().fit(X, y, sample_weight=weights)
    model.predict_rigidity(X)
    model.calibrate(X, y, sample_weight=weights)
    for original, copy in zip((X, y, weights), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_calibrate_on_held_out_data():
    X, y, _, rng = make_data(30, 5, seed=15)
    model = two_block_rbf_model().fit(X, y)
    X_cal = rng.normal(size=(20, 5))
    y_cal = model.predict(X_cal) + rng.normal(size=20)
    model.calibrate(X_cal, y_cal)
    residual = y_cal - model.predict(X_cal)
    expected = np.mean(residual**2 * model.predict_rigidity(X_cal))
    assert model.uncertainty_scale_ == pytest.approx(expected, rel=1e-12)


# --- errors --------------------------------------------------------------------


def test_error_unknown_kernel():
    X, y, _, _ = make_data(10, 3)
    with pytest.raises(ValueError, match="Unknown kernel 'gaussian' for block 'all'"):
        BlockKernelRidge(kernel="gaussian").fit(X, y)
    with pytest.raises(ValueError, match="'precomputed' is not supported"):
        BlockKernelRidge(kernel="precomputed").fit(X, y)
    with pytest.raises(ValueError, match="must be a string, a callable or a"):
        BlockKernelRidge(kernel=3.0).fit(X, y)


def test_error_wrong_number_of_kernels_or_kernel_params():
    X, y, _, _ = make_data(10, 5)
    with pytest.raises(ValueError, match="kernel has 3 entries but there are 2 blocks"):
        BlockKernelRidge(kernel=["rbf"] * 3, blocks=[2, 3]).fit(X, y)
    with pytest.raises(
        ValueError, match="kernel_params has 1 entries but there are 2 blocks"
    ):
        BlockKernelRidge(kernel="rbf", blocks=[2, 3], kernel_params=[{}]).fit(X, y)


def test_error_bad_kernel_params():
    X, y, _, _ = make_data(10, 5)
    with pytest.raises(ValueError, match=r"takes the parameters \['gamma'\].*'degree'"):
        BlockKernelRidge(kernel="rbf", kernel_params={"degree": 2}).fit(X, y)
    with pytest.raises(ValueError, match="kernel 'linear' of block 'block0'"):
        BlockKernelRidge(
            kernel=["linear", "rbf"], blocks=[2, 3], kernel_params={"gamma": 1.0}
        ).fit(X, y)
    with pytest.raises(ValueError, match="takes its parameters in its constructor"):
        BlockKernelRidge(kernel=RBF(), kernel_params={"length_scale": 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="kernel_params must be None, a dict"):
        BlockKernelRidge(kernel="rbf", kernel_params="gamma=1").fit(X, y)
    with pytest.raises(ValueError, match="of block 'block1' must be a dict"):
        BlockKernelRidge(kernel="rbf", blocks=[2, 3], kernel_params=[{}, 1.0]).fit(X, y)


def test_error_local_rigidity_with_non_linear_kernel_names_sparse_route():
    X, y, _, _ = make_data(10, 5)
    model = BlockKernelRidge(kernel=["linear", "rbf"], blocks=[2, 3]).fit(X, y)
    with pytest.raises(
        ValueError,
        match=r"only kernel='linear' is; block 'block1' has the kernel 'rbf'.*"
        r"Nystroem.*pool_structures.*BlockRidge.*local_rigidity",
    ):
        model.local_rigidity(X)


def off_diagonal_kernel(A, B):
    """k(x, y) = x1 y2 + x2 y1: symmetric, indefinite (eigenvalues +-1)."""
    return np.outer(A[:, 0], B[:, 1]) + np.outer(A[:, 1], B[:, 0])


def test_error_kernel_not_positive_definite():
    # rows (1, 0) and (0, 1): K = [[0, 1], [1, 0]] (+ copies), K/alpha + I is
    # indefinite for alpha < 1
    X = np.array([[1.0, 0.0], [0.0, 1.0]] * 3)
    y = np.arange(6.0)
    with pytest.raises(
        ValueError, match=r"A = K~ \+ S\^-1.*not positive definite.*Increase alpha"
    ):
        BlockKernelRidge(alpha=0.5, kernel=off_diagonal_kernel).fit(X[:2], y[:2])
    # for larger alpha the factorization succeeds, but the leave-one-out
    # leverages show that the kernel is indefinite
    with pytest.raises(ValueError, match="not positive semi-definite.*leverage"):
        BlockKernelRidge(alpha=2.0, kernel=off_diagonal_kernel).fit(X[:2], y[:2])
    model = BlockKernelRidge(alpha=2.0, kernel=off_diagonal_kernel, calibration=None)
    model.fit(X[:2], y[:2])
    with pytest.warns(RuntimeWarning, match="not positive semi-definite"):
        rigidity = model.predict_rigidity(np.array([[1.0, -1.0]]))
    assert rigidity[0] == np.inf


def test_error_kernel_with_negative_diagonal_or_asymmetry():
    X, y, _, _ = make_data(10, 3)
    with pytest.raises(ValueError, match=r"not positive semi-definite.*k\(x, x\) < 0"):
        BlockKernelRidge(kernel=lambda A, B: -(A @ B.T)).fit(X, y)
    with pytest.raises(ValueError, match="not positive semi-definite.*not symmetric"):
        BlockKernelRidge(kernel=lambda A, B: A @ B.T + A[:, :1] @ B[:, 1:2].T).fit(X, y)


def test_error_callable_kernel_on_pairs_of_rows():
    X, y, _, _ = make_data(10, 3)

    def pairwise(x, z):  # the KernelRidge convention: one pair of rows
        return float(np.exp(-np.sum((x - z) ** 2)))

    with pytest.raises(ValueError, match=r"must return the kernel matrix of shape"):
        BlockKernelRidge(kernel=pairwise).fit(X, y)


def test_zero_weight_rows_are_removed_rows_including_the_uncertainty():
    X, y, weights, rng = make_data(25, 5, seed=8)
    weights[[0, 13]] = 0.0
    keep = weights > 0
    Xq = rng.normal(size=(4, 5))
    weighted = two_block_rbf_model().fit(X, y, sample_weight=weights)
    removed = two_block_rbf_model().fit(X[keep], y[keep], sample_weight=weights[keep])
    np.testing.assert_allclose(
        weighted.predict(Xq, return_std=True),
        removed.predict(Xq, return_std=True),
        rtol=1e-10,
    )


def test_leave_one_out_near_interpolation_against_exact_refits():
    """alpha = 1e-10 with an RBF kernel (the GP default noise): leverages are
    within 1e-8 of 1, where r R / (R - s) cancels. The reference refits every
    leave-one-out model in 50-digit arithmetic from the same kernel matrix."""
    import mpmath

    rng = np.random.default_rng(9)
    X = np.sort(rng.uniform(0, 3, size=(10, 1)), axis=0)
    y = np.sin(3 * X[:, 0])
    alpha, gamma = 1e-10, 2.0
    model = BlockKernelRidge(alpha, kernel="rbf", kernel_params={"gamma": gamma})
    model.fit(X, y)
    K = rbf_kernel(X, gamma=gamma) / alpha
    residuals, rigidities = [], []
    with mpmath.workdps(50):
        for i in range(10):
            rest = [j for j in range(10) if j != i]
            A = mpmath.matrix(K[np.ix_(rest, rest)].tolist())
            for j in range(9):
                A[j, j] += 1
            k_i = mpmath.matrix(K[rest, i].tolist())
            c = mpmath.lu_solve(A, mpmath.matrix(y[rest].tolist()))
            residuals.append(float(y[i] - (k_i.T * c)[0]))
            variance = K[i, i] - (k_i.T * mpmath.lu_solve(A, k_i))[0]
            rigidities.append(float(1 / variance))
    # the float64 side is backward stable: its error is about eps times the
    # condition number of K / alpha + I (about 1e10 here), which differs
    # between BLAS builds by a small factor
    rtol = 100 * np.finfo(float).eps * np.linalg.cond(K + np.eye(10))
    assert rtol < 1e-4
    np.testing.assert_allclose(model.loo_residual_, residuals, rtol=rtol)
    np.testing.assert_allclose(model.loo_rigidity_, rigidities, rtol=rtol)
