"""BlockRidge against independent computations (DESIGN.md section 4)."""

import pickle
import warnings

import numpy as np
import pytest
from oracles import mpmath_rigidity
from scipy.linalg import LinAlgWarning
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skpr import BlockRidge, pool_structures


def make_data(n_samples=40, n_features=7, seed=0):
    rng = np.random.default_rng(seed)
    # correlated features, so that blocks interact and CPR differs from 1/H_bb
    X = rng.normal(size=(n_samples, n_features)) @ rng.normal(
        size=(n_features, n_features)
    )
    y = X @ rng.normal(size=n_features) + 3.0 + 0.3 * rng.normal(size=n_samples)
    weights = rng.uniform(0.5, 2.0, size=n_samples)
    return X, y, weights, rng


def augmented_hessian(X, weights, alpha_diag, fit_intercept=True):
    """Hessian of the loss in the parameters [w, c], written out directly."""
    if not fit_intercept:
        return X.T @ (weights[:, None] * X) + np.diag(alpha_diag)
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    return A.T @ (weights[:, None] * A) + np.diag(np.append(alpha_diag, 0.0))


def loss(params, X, y, weights, alpha_diag):
    """The training loss of DESIGN.md section 1 with params = [w, c]."""
    w, c = params[:-1], params[-1]
    return 0.5 * np.sum(weights * (y - X @ w - c) ** 2) + 0.5 * np.sum(
        alpha_diag * w**2
    )


BLOCKS = [3, 4]
ALPHA = [0.3, 5.0]
ALPHA_DIAG = np.repeat(ALPHA, BLOCKS)


@pytest.fixture
def fitted():
    X, y, weights, rng = make_data()
    model = BlockRidge(alpha=ALPHA, blocks=BLOCKS).fit(X, y, sample_weight=weights)
    return model, X, y, weights, rng


def test_coefficients_match_augmented_normal_equations(fitted):
    model, X, y, weights, _ = fitted
    H = augmented_hessian(X, weights, ALPHA_DIAG)
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    params = np.linalg.solve(H, A.T @ (weights * y))
    np.testing.assert_allclose(model.coef_, params[:-1], rtol=1e-10)
    assert model.intercept_ == pytest.approx(params[-1], rel=1e-10)


@pytest.mark.parametrize("kind", ["pr", "lpr", "cpr0", "cpr1"])
def test_constrained_loss_rise_is_half_rigidity_eps_squared(fitted, kind):
    """Delta L = R eps^2 / 2, with Delta L from the constrained minimization."""
    model, X, y, weights, rng = fitted
    x = rng.normal(size=X.shape[1]) @ np.eye(X.shape[1]) * 2.0
    g = np.append(x, 1.0)  # d(prediction)/d[w, c]
    if kind == "lpr":
        g[-1] = 0.0
        rigidity = model.local_rigidity(x[None])[0]
    elif kind.startswith("cpr"):
        b = int(kind[-1])
        g = np.zeros(X.shape[1] + 1)
        g[model.blocks_[b]] = x[model.blocks_[b]]
        rigidity = model.component_rigidity(x[None])[0, b]
    else:
        rigidity = model.predict_rigidity(x[None])[0]
    H = augmented_hessian(X, weights, ALPHA_DIAG)
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    optimum = np.linalg.solve(H, A.T @ (weights * y))
    eps = 0.37
    # minimize L subject to g . params = g . optimum + eps (KKT system)
    kkt = np.block([[H, g[:, None]], [g[None, :], np.zeros((1, 1))]])
    rhs = np.append(A.T @ (weights * y), g @ optimum + eps)
    constrained = np.linalg.solve(kkt, rhs)[:-1]
    rise = loss(constrained, X, y, weights, ALPHA_DIAG) - loss(
        optimum, X, y, weights, ALPHA_DIAG
    )
    assert rise == pytest.approx(0.5 * rigidity * eps**2, rel=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weight", [1.0, 2.5])
def test_adding_a_row_raises_its_rigidity_by_its_weight(fit_intercept, weight):
    """Paper Appendix B: the PR of x rises by exactly s when (x, s) is added."""
    X, y, weights, rng = make_data()
    x_new = rng.normal(size=(1, X.shape[1]))
    model = BlockRidge(alpha=ALPHA, blocks=BLOCKS, fit_intercept=fit_intercept)
    before = model.fit(X, y, sample_weight=weights).predict_rigidity(x_new)[0]
    after = model.fit(
        np.vstack([X, x_new]),
        np.append(y, 1.0),
        sample_weight=np.append(weights, weight),
    ).predict_rigidity(x_new)[0]
    assert after - before == pytest.approx(weight, rel=1e-9)


def test_rigidities_match_explicit_inverse(fitted):
    model, X, _, weights, rng = fitted
    Xq = rng.normal(size=(6, X.shape[1]))
    H_inv = np.linalg.inv(augmented_hessian(X, weights, ALPHA_DIAG))
    G = np.hstack([Xq, np.ones((6, 1))])
    np.testing.assert_allclose(
        model.predict_rigidity(Xq),
        1 / np.einsum("ij,jk,ik->i", G, H_inv, G),
        rtol=1e-10,
    )
    G[:, -1] = 0.0
    np.testing.assert_allclose(
        model.local_rigidity(Xq),
        1 / np.einsum("ij,jk,ik->i", G, H_inv, G),
        rtol=1e-10,
    )


def test_cpr_uses_block_of_inverse_not_inverse_of_block(fitted):
    model, X, _, weights, rng = fitted
    Xq = rng.normal(size=(6, X.shape[1]))
    H = augmented_hessian(X, weights, ALPHA_DIAG)
    H_inv = np.linalg.inv(H)
    cpr = model.component_rigidity(Xq)
    assert cpr.shape == (6, 2)
    for b, block in enumerate(model.blocks_):
        xb = Xq[:, block]
        of_inverse = 1 / np.einsum("ij,jk,ik->i", xb, H_inv[block, block], xb)
        of_block = 1 / np.einsum("ij,jk,ik->i", xb, np.linalg.inv(H[block, block]), xb)
        np.testing.assert_allclose(cpr[:, b], of_inverse, rtol=1e-10)
        # correlated blocks compensate each other: the CPR is much lower
        assert np.all(cpr[:, b] < 0.9 * of_block)


def test_components_sum_to_prediction(fitted):
    model, X, _, _, rng = fitted
    Xq = rng.normal(size=(5, X.shape[1]))
    components = model.predict_components(Xq)
    assert components.shape == (5, 2)
    np.testing.assert_allclose(
        components.sum(axis=1) + model.intercept_, model.predict(Xq), rtol=1e-12
    )
    np.testing.assert_allclose(
        components[:, 1], Xq[:, 3:] @ model.coef_[3:], rtol=1e-12
    )


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighting", ["positive", "some zero", "unit"])
def test_leave_one_out_matches_explicit_refits(fit_intercept, weighting):
    X, y, weights, _ = make_data(n_samples=25)
    if weighting == "some zero":
        weights[[2, 11, 17]] = 0.0  # such a row is its own held-out point
    elif weighting == "unit":
        weights = np.ones_like(weights)
    model = BlockRidge(alpha=ALPHA, blocks=BLOCKS, fit_intercept=fit_intercept)
    model.fit(X, y, sample_weight=weights)
    residuals, rigidities = [], []
    for i in range(X.shape[0]):
        keep = np.arange(X.shape[0]) != i
        refit = BlockRidge(
            alpha=ALPHA, blocks=BLOCKS, fit_intercept=fit_intercept, calibration=None
        ).fit(X[keep], y[keep], sample_weight=weights[keep])
        residuals.append(y[i] - refit.predict(X[i : i + 1])[0])
        rigidities.append(refit.predict_rigidity(X[i : i + 1])[0])
    residuals, rigidities = np.array(residuals), np.array(rigidities)
    np.testing.assert_allclose(model.loo_residual_, residuals, rtol=1e-9)
    np.testing.assert_allclose(model.loo_rigidity_, rigidities, rtol=1e-9)
    assert model.uncertainty_scale_ == pytest.approx(
        np.average(residuals**2 * rigidities, weights=weights), rel=1e-9
    )


def test_calibrate_on_held_out_data(fitted):
    model, X, y, _, rng = fitted
    X_cal = rng.normal(size=(30, X.shape[1])) @ np.diag(np.linspace(1, 3, 7))
    y_cal = model.predict(X_cal) + rng.normal(size=30)
    w_cal = rng.uniform(0.5, 1.5, size=30)
    coef_before = model.coef_.copy()
    assert model.calibrate(X_cal, y_cal, sample_weight=w_cal) is model
    residual = y_cal - X_cal @ model.coef_ - model.intercept_
    expected = np.sum(w_cal * residual**2 * model.predict_rigidity(X_cal)) / w_cal.sum()
    assert model.uncertainty_scale_ == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(model.coef_, coef_before)
    _, std = model.predict(X_cal, return_std=True)
    np.testing.assert_allclose(
        std**2 * model.predict_rigidity(X_cal), expected, rtol=1e-12
    )


@pytest.mark.slow
def test_loo_calibration_is_right_when_the_model_is():
    """Targets drawn from the prior that ridge regression assumes (w ~ N(0, I),
    no noise, more features than rows): the predictive error is Gaussian with
    variance alpha / R, so the LOO scale must come out near alpha and the
    errors must fall within 1/2/3 sigma at the Gaussian rates."""
    rng = np.random.default_rng(11)
    n_train, n_features, alpha = 40, 60, 1e-6
    z, scales = [], []
    for _ in range(300):
        X = rng.normal(size=(n_train + 1, n_features))
        y = X @ rng.normal(size=n_features)
        model = BlockRidge(alpha=alpha, fit_intercept=False).fit(X[:-1], y[:-1])
        y_pred, y_std = model.predict(X[-1:], return_std=True)
        z.append(abs(y[-1] - y_pred[0]) / y_std[0])
        scales.append(model.uncertainty_scale_)
    coverage = [np.mean(np.array(z) <= k) for k in (1, 2, 3)]
    assert abs(coverage[0] - 0.683) < 0.08  # binomial sd 0.027, plus t-tails
    assert coverage[1] > 0.90 and coverage[2] > 0.97
    assert np.median(scales) == pytest.approx(alpha, rel=0.2)


def test_variance_matches_gaussian_process_with_linear_kernel():
    """sklearn's GP with a dot-product kernel and noise a is ridge with alpha=a:
    its posterior variance is a / PR."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import DotProduct

    X, y, _, rng = make_data()
    Xq = rng.normal(size=(6, X.shape[1]))
    a = 0.7
    gp = GaussianProcessRegressor(
        DotProduct(sigma_0=0.0, sigma_0_bounds="fixed"), alpha=a, optimizer=None
    ).fit(X, y)
    gp_mean, gp_std = gp.predict(Xq, return_std=True)
    model = BlockRidge(alpha=a, fit_intercept=False, calibration=None).fit(X, y)
    np.testing.assert_allclose(model.predict(Xq), gp_mean, rtol=1e-8)
    np.testing.assert_allclose(gp_std**2, a / model.predict_rigidity(Xq), rtol=1e-8)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_invariances(fit_intercept):
    X, y, weights, rng = make_data()
    Xq = rng.normal(size=(5, X.shape[1]))
    kwargs = dict(blocks=BLOCKS, fit_intercept=fit_intercept, calibration=None)
    base = BlockRidge(alpha=ALPHA, **kwargs).fit(X, y, sample_weight=weights)
    reference = (
        base.predict_rigidity(Xq),
        base.local_rigidity(Xq),
        base.component_rigidity(Xq),
    )

    # scaling X by c and alpha by c^2 leaves predictions and rigidities unchanged
    c = 3.7
    scaled = BlockRidge(alpha=[a * c**2 for a in ALPHA], **kwargs)
    scaled.fit(c * X, y, sample_weight=weights)
    np.testing.assert_allclose(scaled.predict(c * Xq), base.predict(Xq), rtol=1e-10)
    np.testing.assert_allclose(
        scaled.predict_rigidity(c * Xq), reference[0], rtol=1e-10
    )
    np.testing.assert_allclose(scaled.local_rigidity(c * Xq), reference[1], rtol=1e-10)
    np.testing.assert_allclose(
        scaled.component_rigidity(c * Xq), reference[2], rtol=1e-10
    )

    # permuting rows changes nothing
    order = rng.permutation(X.shape[0])
    permuted = BlockRidge(alpha=ALPHA, **kwargs).fit(
        X[order], y[order], sample_weight=weights[order]
    )
    np.testing.assert_allclose(permuted.predict_rigidity(Xq), reference[0], rtol=1e-10)
    np.testing.assert_allclose(permuted.coef_, base.coef_, rtol=1e-10)

    # duplicating the training set and doubling alpha doubles every rigidity
    doubled = BlockRidge(alpha=[2 * a for a in ALPHA], **kwargs).fit(
        np.vstack([X, X]), np.append(y, y), sample_weight=np.append(weights, weights)
    )
    np.testing.assert_allclose(doubled.predict(Xq), base.predict(Xq), rtol=1e-10)
    np.testing.assert_allclose(
        doubled.predict_rigidity(Xq), 2 * reference[0], rtol=1e-10
    )
    np.testing.assert_allclose(doubled.local_rigidity(Xq), 2 * reference[1], rtol=1e-10)
    np.testing.assert_allclose(
        doubled.component_rigidity(Xq), 2 * reference[2], rtol=1e-10
    )


def test_integer_weights_equal_repeated_rows():
    X, y, _, rng = make_data()
    counts = rng.integers(0, 4, size=X.shape[0])
    Xq = rng.normal(size=(4, X.shape[1]))
    weighted = BlockRidge(alpha=ALPHA, blocks=BLOCKS).fit(X, y, sample_weight=counts)
    repeated = BlockRidge(alpha=ALPHA, blocks=BLOCKS).fit(
        np.repeat(X, counts, axis=0), np.repeat(y, counts)
    )
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        weighted.predict_rigidity(Xq), repeated.predict_rigidity(Xq), rtol=1e-10
    )


def test_tiny_alpha_is_accurate_at_condition_number_1e14():
    """alpha = 1e-14 on order-one features with more features than rows:
    cond(H) ~ 1e14, which the normal equations cannot resolve."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(5, 8))
    y = rng.normal(size=5)
    # queries off and on the row space of X (PR ~ 1e-14 and ~ 1)
    Xq = np.vstack([rng.normal(size=(3, 8)), rng.normal(size=(3, 5)) @ X])
    reference = mpmath_rigidity(X, Xq, 1e-14)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LinAlgWarning)
        auto = BlockRidge(1e-14, fit_intercept=False, calibration=None).fit(X, y)
    assert auto.solver_ == "qr"
    assert np.linalg.cond(X.T @ X + 1e-14 * np.eye(8)) > 1e13
    np.testing.assert_allclose(auto.predict_rigidity(Xq), reference, rtol=1e-9)
    # the normal equations are visibly wrong here, which is why auto left them
    normal = BlockRidge(
        1e-14, fit_intercept=False, calibration=None, solver="cholesky"
    ).fit(X, y)
    assert np.max(np.abs(normal.predict_rigidity(Xq) / reference - 1)) > 1e-3


def test_feature_scales_alone_do_not_force_qr():
    """Columns on scales from 1e-4 to 1e5: cond(H) is about 1e18, but after
    diagonal scaling the problem is benign, and the normal equations are exact
    to working precision (van der Sluis); auto keeps the cheaper Cholesky."""
    rng = np.random.default_rng(2)
    scales = np.array([1e-4, 1.0, 1e3, 1e5, 1.0])
    X = rng.normal(size=(30, 5)) * scales
    y = rng.normal(size=30)
    alpha = 1e-6
    auto = BlockRidge(alpha, fit_intercept=False, calibration=None).fit(X, y)
    assert auto.solver_ == "cholesky"
    assert np.linalg.cond(X.T @ X + alpha * np.eye(5)) > 1e15
    Xq = rng.normal(size=(4, 5)) * scales
    reference = mpmath_rigidity(X, Xq, alpha)
    np.testing.assert_allclose(auto.predict_rigidity(Xq), reference, rtol=1e-9)


def test_solvers_agree_on_well_conditioned_problems(fitted):
    model, X, y, weights, rng = fitted
    Xq = rng.normal(size=(5, X.shape[1]))
    assert model.solver_ == "cholesky"
    qr = BlockRidge(alpha=ALPHA, blocks=BLOCKS, solver="qr").fit(
        X, y, sample_weight=weights
    )
    np.testing.assert_allclose(qr.cholesky_, model.cholesky_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(qr.coef_, model.coef_, rtol=1e-9)
    np.testing.assert_allclose(
        qr.component_rigidity(Xq), model.component_rigidity(Xq), rtol=1e-9
    )


def test_local_rigidity_of_pooled_model():
    """Fit on per-structure sums, ask for the LPR of each environment."""
    rng = np.random.default_rng(5)
    n_structures, n_features = 30, 6
    structure_index = np.repeat(
        np.arange(n_structures), rng.integers(1, 6, n_structures)
    )
    X_local = rng.normal(size=(structure_index.size, n_features))
    X = pool_structures(X_local, structure_index)
    manual = np.zeros((n_structures, n_features))
    for row, structure in zip(X_local, structure_index, strict=True):
        manual[structure] += row
    np.testing.assert_allclose(X, manual, rtol=1e-13)
    y = X @ rng.normal(size=n_features) + rng.normal(size=n_structures)
    model = BlockRidge(alpha=0.1).fit(X, y)
    H_inv = np.linalg.inv(augmented_hessian(X, np.ones(n_structures), 0.1 * np.ones(6)))
    G = np.hstack([X_local, np.zeros((X_local.shape[0], 1))])
    np.testing.assert_allclose(
        model.local_rigidity(X_local),
        1 / np.einsum("ij,jk,ik->i", G, H_inv, G),
        rtol=1e-10,
    )
    # local predictions add up to the structure predictions (minus intercept)
    local = X_local @ model.coef_
    np.testing.assert_allclose(
        pool_structures(local[:, None], structure_index)[:, 0] + model.intercept_,
        model.predict(X),
        rtol=1e-12,
    )


def test_pool_structures_mean_and_errors():
    X_local = np.arange(12.0).reshape(6, 2)
    index = np.array([2, 0, 0, 1, 2, 2])
    expected = np.array(
        [X_local[[1, 2]].mean(0), X_local[3], X_local[[0, 4, 5]].mean(0)]
    )
    np.testing.assert_allclose(
        pool_structures(X_local, index, pooling="mean"), expected
    )
    assert pool_structures(X_local, index, n_structures=4).shape == (4, 2)
    with pytest.raises(ValueError, match="have no environment"):
        pool_structures(X_local, index, pooling="mean", n_structures=4)
    with pytest.raises(ValueError, match="must hold integers"):
        pool_structures(X_local, index.astype(float))
    with pytest.raises(ValueError, match="one entry per row"):
        pool_structures(X_local, index[:-1])
    with pytest.raises(ValueError, match="non-negative"):
        pool_structures(X_local, index - 1)
    with pytest.raises(ValueError, match="pooling must be 'sum'"):
        pool_structures(X_local, index, pooling="max")
    with pytest.raises(ValueError, match="n_structures=2"):
        pool_structures(X_local, index, n_structures=2)


def test_pickle_round_trip_gives_identical_results(fitted):
    model, X, _, _, rng = fitted
    Xq = rng.normal(size=(5, X.shape[1]))
    restored = pickle.loads(pickle.dumps(model))
    for method in (
        "predict_rigidity",
        "local_rigidity",
        "component_rigidity",
        "predict_components",
    ):
        np.testing.assert_array_equal(
            getattr(restored, method)(Xq), getattr(model, method)(Xq)
        )
    np.testing.assert_array_equal(
        restored.predict(Xq, return_std=True), model.predict(Xq, return_std=True)
    )


def test_inputs_are_not_mutated():
    X, y, weights, _ = make_data()
    copies = X.copy(), y.copy(), weights.copy()
    model = BlockRidge(alpha=ALPHA, blocks=BLOCKS).fit(X, y, sample_weight=weights)
    model.predict_rigidity(X)
    model.calibrate(X, y, sample_weight=weights)
    for original, copy in zip((X, y, weights), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_return_std_through_pipeline(fitted):
    _, X, y, _, rng = fitted
    pipe = make_pipeline(StandardScaler(), BlockRidge(alpha=ALPHA, blocks=BLOCKS))
    pipe.fit(X, y)
    Xq = rng.normal(size=(5, X.shape[1]))
    y_pred, y_std = pipe.predict(Xq, return_std=True)
    scaled = pipe[0].transform(Xq)
    expected_pred, expected_std = pipe[-1].predict(scaled, return_std=True)
    np.testing.assert_array_equal(y_pred, expected_pred)
    np.testing.assert_array_equal(y_std, expected_std)
    np.testing.assert_allclose(
        y_std, np.sqrt(pipe[-1].uncertainty_scale_ / pipe[-1].predict_rigidity(scaled))
    )


def test_grid_search_over_per_block_alpha():
    X, y, _, _ = make_data(n_samples=60)
    grid = [[0.01, 0.01], [0.01, 100.0], [100.0, 0.01], [10.0, 10.0]]
    cv = KFold(4, shuffle=True, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("ridge", BlockRidge(blocks=BLOCKS))])
    search = GridSearchCV(pipe, {"ridge__alpha": grid}, cv=cv).fit(X, y)
    scores = [
        cross_val_score(pipe.set_params(ridge__alpha=alpha), X, y, cv=cv).mean()
        for alpha in grid
    ]
    assert search.best_params_["ridge__alpha"] == grid[int(np.argmax(scores))]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], scores)
    # GridSearchCV.predict takes no keywords; the refitted pipeline does
    y_pred, y_std = search.best_estimator_.predict(X[:4], return_std=True)
    np.testing.assert_array_equal(y_pred, search.predict(X[:4]))
    scaler, ridge = search.best_estimator_
    rigidity = ridge.predict_rigidity(scaler.transform(X[:4]))
    np.testing.assert_allclose(
        y_std, np.sqrt(ridge.uncertainty_scale_ / rigidity), rtol=1e-12
    )


def test_blocks_from_feature_names():
    pd = pytest.importorskip("pandas")  # the 'test' extra installs it
    X, y, _, _ = make_data()

    def columns(start, stop):
        return FunctionTransformer(
            lambda Z: np.asarray(Z)[:, start:stop],
            feature_names_out=lambda t, names: [f"f{i}" for i in range(stop - start)],
        )

    union = FeatureUnion([("soap", columns(0, 3)), ("lode", columns(3, 7))])
    frame = union.set_output(transform="pandas").fit_transform(X)
    assert list(frame.columns[:4]) == ["soap__f0", "soap__f1", "soap__f2", "lode__f0"]
    by_names = BlockRidge(alpha={"soap": 0.3, "lode": 5.0}, blocks="names")
    by_names.fit(frame, y)
    by_sizes = BlockRidge(alpha=ALPHA, blocks=BLOCKS).fit(X, y)
    assert by_names.block_names_ == ("soap", "lode")
    assert by_names.blocks_ == (slice(0, 3), slice(3, 7))
    np.testing.assert_allclose(by_names.coef_, by_sizes.coef_, rtol=1e-12)
    np.testing.assert_allclose(
        by_names.component_rigidity(frame), by_sizes.component_rigidity(X), rtol=1e-12
    )
    transformer = ColumnTransformer(
        [("a", "passthrough", [0, 1]), ("b", "passthrough", [2, 3, 4, 5, 6])]
    ).set_output(transform="pandas")
    frame = transformer.fit_transform(pd.DataFrame(X, columns=list("abcdefg")))
    model = BlockRidge(alpha=[1.0, 2.0], blocks="names").fit(frame, y)
    assert model.block_names_ == ("a", "b")


@parametrize_with_checks(
    [
        BlockRidge(),
        BlockRidge(alpha=1e-3, fit_intercept=False, calibration=None),
        BlockRidge(solver="qr"),
    ]
)
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)


# --- errors ------------------------------------------------------------------------


def test_error_non_finite_input():
    X, y, _, _ = make_data()
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BlockRidge().fit(X_nan, y)
    y_inf = y.copy()
    y_inf[0] = np.inf
    with pytest.raises(ValueError, match="Input y contains infinity"):
        BlockRidge().fit(X, y_inf)
    model = BlockRidge().fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.predict_rigidity(X_nan)


def test_error_block_sizes_do_not_add_up():
    X, y, _, _ = make_data()
    with pytest.raises(ValueError, match=r"add up to 6, but X has 7 features"):
        BlockRidge(blocks=[3, 3]).fit(X, y)
    with pytest.raises(ValueError, match="positive integer block sizes"):
        BlockRidge(blocks=[3, 0, 4]).fit(X, y)
    with pytest.raises(ValueError, match="is not understood"):
        BlockRidge(blocks="prefix").fit(X, y)


def test_error_names_without_prefix_or_matching_alpha():
    pd = pytest.importorskip("pandas")
    X, y, _, _ = make_data()
    frame = pd.DataFrame(X, columns=[f"soap__{i}" for i in range(3)] + list("abcd"))
    with pytest.raises(ValueError, match="feature 'a' has no such prefix"):
        BlockRidge(blocks="names").fit(frame, y)
    with pytest.raises(ValueError, match="X has none"):
        BlockRidge(blocks="names").fit(X, y)
    frame.columns = [f"soap__{i}" for i in range(3)] + [f"lode__{i}" for i in range(4)]
    with pytest.raises(ValueError, match=r"no block is called \['lod'\]"):
        BlockRidge(alpha={"soap": 1.0, "lod": 1.0}, blocks="names").fit(frame, y)
    with pytest.raises(ValueError, match=r"no alpha is given for \['lode'\]"):
        BlockRidge(alpha={"soap": 1.0}, blocks="names").fit(frame, y)
    frame.columns = ["a__0", "b__0", "a__1", "b__1", "b__2", "b__3", "b__4"]
    with pytest.raises(ValueError, match="prefix 'a' are not contiguous"):
        BlockRidge(blocks="names").fit(frame, y)


@pytest.mark.parametrize("alpha", [0.0, -1.0, [1.0, -2.0], [1.0, np.nan]])
def test_error_non_positive_alpha(alpha):
    X, y, _, _ = make_data()
    with pytest.raises(ValueError, match="alpha must be positive and finite"):
        BlockRidge(alpha=alpha, blocks=BLOCKS).fit(X, y)


def test_error_wrong_number_of_alphas():
    X, y, _, _ = make_data()
    with pytest.raises(ValueError, match="alpha has 3 values but there are 2 blocks"):
        BlockRidge(alpha=[1.0, 2.0, 3.0], blocks=BLOCKS).fit(X, y)


def test_error_bad_weights():
    X, y, weights, _ = make_data()
    negative = weights.copy()
    negative[3] = -1.0
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        BlockRidge().fit(X, y, sample_weight=negative)
    with pytest.raises(ValueError, match="zero for every sample"):
        BlockRidge().fit(X, y, sample_weight=np.zeros(len(y)))
    with pytest.raises(ValueError, match=r"must have shape \(40,\)"):
        BlockRidge().fit(X, y, sample_weight=weights[:-1])
    with pytest.raises(ValueError, match="NaN or infinity"):
        BlockRidge().fit(X, y, sample_weight=np.full(len(y), np.nan))


def test_error_hessian_not_positive_definite():
    # two identical columns and an alpha lost in rounding: X^T X + alpha I is
    # exactly singular in floating point
    X = np.ones((4, 2))
    y = np.arange(4.0)
    model = BlockRidge(alpha=1e-30, fit_intercept=False, solver="cholesky")
    with pytest.raises(np.linalg.LinAlgError, match="not positive definite.*alpha"):
        model.fit(X, y)
    # the automatic choice falls back to QR, which factors it, and says that
    # alpha is lost in rounding
    with pytest.warns(LinAlgWarning, match="lost in rounding"):
        model = BlockRidge(alpha=1e-30, fit_intercept=False).fit(X, y)
    assert model.solver_ == "qr"


def test_error_wrong_number_of_features_at_predict(fitted):
    model, X, _, _, _ = fitted
    for method in (
        "predict",
        "predict_rigidity",
        "local_rigidity",
        "component_rigidity",
        "predict_components",
    ):
        with pytest.raises(
            ValueError, match="X has 5 features, but BlockRidge is expecting 7 features"
        ):
            getattr(model, method)(X[:, :5])


def test_error_multi_output_y():
    X, y, _, _ = make_data()
    with pytest.raises(ValueError, match="fits one target.*MultiOutputRegressor"):
        BlockRidge().fit(X, np.column_stack([y, y]))


def test_error_bad_calibration_and_solver():
    X, y, _, _ = make_data()
    with pytest.raises(ValueError, match="calibration must be one of 'loo', None"):
        BlockRidge(calibration="held-out").fit(X, y)
    with pytest.raises(ValueError, match="solver must be"):
        BlockRidge(solver="svd").fit(X, y)
    with pytest.raises(ValueError, match="at least 2 samples"):
        BlockRidge().fit(X[:1], y[:1])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"fit_intercept": "no"}, "fit_intercept must be True or False"),
        ({"fit_intercept": None}, "fit_intercept must be True or False"),
        ({"alpha": True}, "alpha must be a positive float.*got True"),
        ({"alpha": "1.0"}, "alpha must be a positive float.*got '1.0'"),
        ({"alpha": None, "blocks": [2, 5]}, "alpha must be a positive float.*got None"),
        ({"alpha": [1.0, "2"], "blocks": [2, 5]}, "holds non-numbers"),
        ({"alpha": [[1.0, 2.0]], "blocks": [2, 5]}, "alpha must be a positive float"),
        ({"solver": "svd"}, "solver must be one of 'auto', 'cholesky', 'qr', 'dual'"),
        ({"calibration": "held-out"}, "calibration must be one of 'loo', None"),
    ],
)
def test_error_loose_parameters_are_refused(params, match):
    """fit_intercept='no' fitted an intercept, alpha=True or '1.0' was
    accepted, alpha=None with two blocks reported '1 values'."""
    X, y, _, _ = make_data()
    with pytest.raises(ValueError, match=match):
        BlockRidge(**params).fit(X, y)


def test_numpy_scalars_and_zero_dimensional_alpha_are_accepted():
    X, y, _, _ = make_data()
    reference = BlockRidge(alpha=0.5).fit(X, y).coef_
    for alpha in (np.float64(0.5), np.array(0.5), np.float32(0.5), [0.5]):
        np.testing.assert_allclose(BlockRidge(alpha=alpha).fit(X, y).coef_, reference)


def test_refit_leaves_no_stale_fitted_attributes():
    """loo_residual_ of an earlier fit survived a refit with calibration=None."""
    X, y, _, _ = make_data(n_samples=12, n_features=30)
    model = BlockRidge().fit(X, y)
    assert model.solver_ == "dual" and hasattr(model, "support_")
    model.set_params(calibration=None, solver="cholesky").fit(X, y)
    assert not hasattr(model, "loo_residual_")
    assert not hasattr(model, "loo_rigidity_")
    assert not hasattr(model, "support_")
    assert model.uncertainty_scale_ == 1.0


def test_error_blocks_not_a_list():
    X, y, _, _ = make_data()
    with pytest.raises(ValueError, match="a list of block sizes, got 3"):
        BlockRidge(blocks=3).fit(X, y)


def test_error_non_numeric_y():
    X, _, _, _ = make_data()
    with pytest.raises(ValueError, match="could not convert string to float"):
        BlockRidge().fit(X, np.array(["a"] * X.shape[0]))


def test_error_loo_needs_two_weighted_rows():
    X, y, _, _ = make_data()
    weights = np.zeros(len(y))
    weights[4] = 1.0
    with pytest.raises(ValueError, match="at least 2 samples with positive weight"):
        BlockRidge().fit(X, y, sample_weight=weights)
    # without calibration one weighted row is a valid (if poor) fit
    BlockRidge(calibration=None).fit(X, y, sample_weight=weights)


def test_zero_weight_rows_are_removed_rows_including_the_uncertainty():
    X, y, weights, rng = make_data()
    weights[[3, 9]] = 0.0
    keep = weights > 0
    Xq = rng.normal(size=(5, X.shape[1]))
    weighted = BlockRidge(alpha=ALPHA, blocks=BLOCKS).fit(X, y, sample_weight=weights)
    removed = BlockRidge(alpha=ALPHA, blocks=BLOCKS).fit(
        X[keep], y[keep], sample_weight=weights[keep]
    )
    np.testing.assert_allclose(
        weighted.predict(Xq, return_std=True),
        removed.predict(Xq, return_std=True),
        rtol=1e-10,
    )


def test_warning_when_the_regularization_is_lost_in_rounding():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    X[:, 4] = X[:, 0]  # a duplicated column: H is singular but for alpha
    y = rng.normal(size=30)
    with pytest.warns(LinAlgWarning, match="regularization is lost in rounding"):
        BlockRidge(alpha=1e-16).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LinAlgWarning)
        BlockRidge(alpha=1e-12).fit(X, y)  # cond ~ 1e14: still resolved
