"""Alpha by exact leave-one-out: against explicit refits and GridSearchCV."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, LeaveOneOut
from sklearn.utils.estimator_checks import parametrize_with_checks

from skpr import BlockRidge, BlockRidgeCV
from skpr._ridge_cv import RATIO_GRID, leave_one_out_path

ALPHAS = np.logspace(-4, 2, 7)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6)) * np.array([1, 1, 1, 0.1, 0.1, 0.1])
    y = X @ rng.normal(size=6) + 0.3 * rng.normal(size=40) + 2.0
    w = rng.uniform(0.5, 2.0, size=40)
    w[3] = 0.0  # a zero-weight row: neither in the loss nor in the error
    return X, y, w


def explicit_loo(X, y, w, alpha, groups, **params):
    """Weighted mean squared error of refits without each group."""
    total = 0.0
    for g in np.unique(groups):
        out = groups == g
        keep = ~out & (w > 0)
        model = BlockRidge(alpha=alpha, calibration=None, **params)
        model.fit(X[keep], y[keep], sample_weight=w[keep])
        total += np.sum(w[out] * (y[out] - model.predict(X[out])) ** 2)
    return total / w[w > 0].sum()


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("grouped", [False, True])
def test_the_path_equals_explicit_refits(data, fit_intercept, grouped):
    X, y, w = data
    groups = np.repeat(np.arange(20), 2) if grouped else np.arange(40)
    ratios = np.array([1.0, 1.0, 1.0, 10.0, 10.0, 10.0])
    path = leave_one_out_path(
        X,
        y,
        w,
        ALPHAS,
        ratios,
        fit_intercept=fit_intercept,
        groups=groups if grouped else None,
    )
    for a, value in zip(ALPHAS, path, strict=True):
        expected = explicit_loo(
            X, y, w, [a, 10 * a], groups, blocks=[3, 3], fit_intercept=fit_intercept
        )
        np.testing.assert_allclose(value, expected, rtol=1e-9)


def test_same_choice_as_grid_search_with_leave_one_out(data):
    X, y, _ = data
    search = GridSearchCV(
        BlockRidge(calibration=None),
        {"alpha": list(ALPHAS)},
        cv=LeaveOneOut(),
        scoring="neg_mean_squared_error",
    ).fit(X, y)
    model = BlockRidgeCV(alphas=ALPHAS).fit(X, y)
    assert model.alpha_[0] == search.best_params_["alpha"]
    np.testing.assert_allclose(
        model.loo_mse_, -search.cv_results_["mean_test_score"], rtol=1e-9
    )
    # and the fitted model is that BlockRidge
    reference = BlockRidge(alpha=search.best_params_["alpha"]).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    np.testing.assert_allclose(
        model.predict_rigidity(X[:5]), reference.predict_rigidity(X[:5]), rtol=1e-12
    )


def test_block_ratio_search_finds_the_best_pair_of_the_grid(data):
    X, y, w = data
    model = BlockRidgeCV(alphas=ALPHAS, blocks=[3, 3], block_ratios="search")
    model.fit(X, y, sample_weight=w)
    # two blocks: the coordinate search tries every ratio of the grid
    best = min(
        (
            leave_one_out_path(
                X, y, w, ALPHAS, np.repeat([1.0, r], 3), fit_intercept=True
            ).min(),
            r,
        )
        for r in (1.0, *RATIO_GRID)
    )
    np.testing.assert_allclose(model.best_loo_mse_, best[0], rtol=1e-12)
    assert model.block_ratios_[1] == best[1]
    np.testing.assert_allclose(
        model.alpha_, model.alphas_[np.argmin(model.loo_mse_)] * model.block_ratios_
    )


def test_groups_select_with_the_grouped_error(data):
    X, y, w = data
    groups = np.repeat(np.arange(20), 2)
    model = BlockRidgeCV(alphas=ALPHAS).fit(X, y, sample_weight=w, groups=groups)
    expected = [explicit_loo(X, y, w, a, groups) for a in ALPHAS]
    np.testing.assert_allclose(model.loo_mse_, expected, rtol=1e-9)


def test_bad_parameters(data):
    X, y, _ = data
    with pytest.raises(ValueError, match="alphas must be a non-empty list"):
        BlockRidgeCV(alphas=[1.0, -1.0]).fit(X, y)
    with pytest.raises(ValueError, match="block_ratios"):
        BlockRidgeCV(block_ratios=[1.0, 0.0]).fit(X, y)
    with pytest.raises(ValueError, match="one ratio per block"):
        BlockRidgeCV(blocks=[3, 3], block_ratios=[1.0, 2.0, 3.0]).fit(X, y)


@parametrize_with_checks(
    [BlockRidgeCV(), BlockRidgeCV(fit_intercept=False)],
    # as for RidgeCV: leaving one of two repeated rows out keeps its copy, so
    # the chosen alpha of repeated rows and of integer weights may differ
    expected_failed_checks=lambda estimator: {
        "check_sample_weight_equivalence_on_dense_data": "leave-one-out on "
        "repeated rows is not leave-one-out with integer weights"
    },
)
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("grouped", [False, True])
def test_wide_rows_near_interpolation_keep_their_digits(fit_intercept, grouped):
    # fewer rows than features and alpha down to 1e-10: residuals and 1 - h
    # both vanish with alpha; the path must not subtract numbers near 1
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(20, 30)), rng.normal(size=20)
    w = rng.uniform(0.5, 2.0, size=20)
    groups = np.repeat(np.arange(10), 2) if grouped else np.arange(20)
    alphas = np.array([1e-10, 1e-6, 1e-2])
    path = leave_one_out_path(
        X,
        y,
        w,
        alphas,
        np.ones(30),
        fit_intercept=fit_intercept,
        groups=groups if grouped else None,
    )
    expected = [
        explicit_loo(X, y, w, a, groups, fit_intercept=fit_intercept) for a in alphas
    ]
    np.testing.assert_allclose(path, expected, rtol=1e-6)
