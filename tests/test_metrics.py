"""Calibration metrics and plots against independent computations."""

import sys

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import erf
from scipy.stats import norm
from sklearn.linear_model import BayesianRidge, LinearRegression
from sklearn.model_selection import GridSearchCV, KFold

from skpr._extras import install_command
from skpr._metrics import (
    binned_rmse_rmv,
    calibration_report,
    error_std_correlation,
    expected_sigma_coverage,
    miscalibration_area,
    negative_log_likelihood,
    nll_scorer,
    sigma_coverage,
)
from skpr._plotting import plot_calibration, plot_parity

SIGMA_PROBABILITIES = [0.682689492137, 0.954499736104, 0.997300203937]


def make_predictions(n_samples=50, seed=0, std_factor=1.0):
    """Errors drawn from N(0, std^2); ``std_factor`` rescales the reported std."""
    rng = np.random.default_rng(seed)
    y_std = rng.uniform(0.1, 2.0, size=n_samples)
    y_pred = rng.normal(size=n_samples)
    y_true = y_pred + rng.normal(scale=y_std)
    return y_true, y_pred, std_factor * y_std


# negative log-likelihood


def test_nll_matches_scipy_logpdf():
    y_true, y_pred, y_std = make_predictions()
    expected = -np.mean(norm.logpdf(y_true, loc=y_pred, scale=y_std))
    got = negative_log_likelihood(y_true, y_pred, y_std)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_weighted_nll_matches_scipy_logpdf():
    y_true, y_pred, y_std = make_predictions()
    weights = np.random.default_rng(1).uniform(0.0, 3.0, size=y_true.shape[0])
    logpdf = norm.logpdf(y_true, loc=y_pred, scale=y_std)
    expected = -np.sum(weights * logpdf) / np.sum(weights)
    got = negative_log_likelihood(y_true, y_pred, y_std, sample_weight=weights)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_integer_weights_repeat_samples():
    y_true, y_pred, y_std = make_predictions(n_samples=10)
    counts = np.arange(1, 11)
    repeated = [np.repeat(a, counts) for a in (y_true, y_pred, y_std)]
    np.testing.assert_allclose(
        negative_log_likelihood(y_true, y_pred, y_std, sample_weight=counts),
        negative_log_likelihood(*repeated),
        rtol=1e-12,
    )


def test_inputs_are_not_modified():
    y_true, y_pred, y_std = make_predictions()
    copies = [a.copy() for a in (y_true, y_pred, y_std)]
    calibration_report(y_true, y_pred, y_std)
    for array, copy in zip((y_true, y_pred, y_std), copies, strict=True):
        np.testing.assert_array_equal(array, copy)


# coverage


def test_expected_sigma_coverage():
    np.testing.assert_allclose(
        expected_sigma_coverage(), SIGMA_PROBABILITIES, rtol=0, atol=1e-11
    )
    np.testing.assert_allclose(
        expected_sigma_coverage(1.5), [2 * norm.cdf(1.5) - 1], rtol=1e-12
    )


def test_coverage_matches_loop():
    y_true, y_pred, y_std = make_predictions()
    n_sigma = (0.5, 1, 2, 3)
    expected = []
    for k in n_sigma:
        inside = 0
        for t, p, s in zip(y_true, y_pred, y_std, strict=True):
            if abs(t - p) <= k * s:
                inside += 1
        expected.append(inside / len(y_true))
    got = sigma_coverage(y_true, y_pred, y_std, n_sigma=n_sigma)
    assert got.shape == (4,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


def test_coverage_counts_boundary_as_inside():
    got = sigma_coverage([1.0, 2.0], [0.0, 0.0], [1.0, 1.0], n_sigma=[1, 2])
    np.testing.assert_array_equal(got, [0.5, 1.0])


# Spearman correlation


def test_spearman_matches_ranks_and_pearson():
    y_true, y_pred, y_std = make_predictions(n_samples=80)
    abs_error = np.abs(y_true - y_pred)
    # continuous random values, so there are no ties
    rank_error = np.argsort(np.argsort(abs_error)).astype(float)
    rank_std = np.argsort(np.argsort(y_std)).astype(float)
    a, b = rank_error - rank_error.mean(), rank_std - rank_std.mean()
    expected = np.sum(a * b) / np.sqrt(np.sum(a**2) * np.sum(b**2))
    got = error_std_correlation(y_true, y_pred, y_std)
    assert isinstance(got, float)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_spearman_is_one_for_monotone_errors():
    y_std = np.array([0.1, 0.4, 0.2, 0.3])
    assert error_std_correlation(np.zeros(4), -3 * y_std, y_std) == pytest.approx(1)


# binned RMSE and RMV


@pytest.mark.parametrize("n_samples, n_bins", [(23, 5), (20, 4), (7, 7), (9, 1)])
def test_binned_matches_loop(n_samples, n_bins):
    y_true, y_pred, y_std = make_predictions(n_samples=n_samples)
    order = np.argsort(y_std)
    expected_rmv, expected_rmse = [], []
    start = 0
    for b in range(n_bins):
        # the first n_samples % n_bins bins hold one sample more
        size = n_samples // n_bins + (1 if b < n_samples % n_bins else 0)
        variance_sum, squared_error_sum = 0.0, 0.0
        for i in order[start : start + size]:
            variance_sum += y_std[i] ** 2
            squared_error_sum += (y_true[i] - y_pred[i]) ** 2
        expected_rmv.append(np.sqrt(variance_sum / size))
        expected_rmse.append(np.sqrt(squared_error_sum / size))
        start += size
    assert start == n_samples
    rmv, rmse = binned_rmse_rmv(y_true, y_pred, y_std, n_bins=n_bins)
    assert rmv.shape == rmse.shape == (n_bins,)
    np.testing.assert_allclose(rmv, expected_rmv, rtol=1e-12)
    np.testing.assert_allclose(rmse, expected_rmse, rtol=1e-12)
    assert np.all(np.diff(rmv) >= 0)


def test_binned_values_follow_identity_when_calibrated():
    y_true, y_pred, y_std = make_predictions(n_samples=20_000, seed=3)
    rmv, rmse = binned_rmse_rmv(y_true, y_pred, y_std, n_bins=5)
    # 4000 samples per bin: the mean of chi^2_1 has relative std sqrt(2/4000)
    np.testing.assert_allclose(rmse**2 / rmv**2, 1.0, atol=4 * np.sqrt(2 / 4000))


# statistical behaviour on calibrated and miscalibrated samples


def test_calibrated_coverage_within_binomial_error():
    n_samples = 100_000
    y_true, y_pred, y_std = make_predictions(n_samples=n_samples, seed=7)
    p = np.array(SIGMA_PROBABILITIES)
    standard_error = np.sqrt(p * (1 - p) / n_samples)
    got = sigma_coverage(y_true, y_pred, y_std)
    np.testing.assert_array_less(np.abs(got - p), 4 * standard_error)


def test_calibrated_miscalibration_area_is_small():
    y_true, y_pred, y_std = make_predictions(n_samples=100_000, seed=7)
    # Kolmogorov-type fluctuations of the empirical coverage are O(1/sqrt(n))
    assert miscalibration_area(y_true, y_pred, y_std) < 0.005


def expected_area(std_factor):
    """Area for errors N(0, s^2) reported with std ``std_factor * s``."""

    def gap(p):
        observed = erf(std_factor * norm.ppf((1 + p) / 2) / np.sqrt(2))
        return abs(observed - p)

    return quad(gap, 0, 1, limit=200)[0]


@pytest.mark.parametrize("std_factor", [0.2, 0.5, 2.0])
def test_miscalibration_area_of_rescaled_std(std_factor):
    y_true, y_pred, y_std = make_predictions(
        n_samples=100_000, seed=11, std_factor=std_factor
    )
    got = miscalibration_area(y_true, y_pred, y_std, n_levels=1000)
    np.testing.assert_allclose(got, expected_area(std_factor), atol=0.005)
    if std_factor == 0.2:  # five times overconfident
        assert got > 0.35


def test_miscalibration_area_matches_loop():
    y_true, y_pred, y_std = make_predictions(n_samples=30)
    n_levels = 40
    levels = [k / n_levels for k in range(n_levels + 1)]
    gaps = []
    for p in levels:
        z = norm.ppf((1 + p) / 2)
        inside = sum(
            abs(t - q) / s <= z for t, q, s in zip(y_true, y_pred, y_std, strict=True)
        )
        gaps.append(abs(inside / len(y_true) - p))
    expected = sum((gaps[k] + gaps[k + 1]) / 2 / n_levels for k in range(n_levels))
    got = miscalibration_area(y_true, y_pred, y_std, n_levels=n_levels)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_miscalibration_area_worst_cases():
    y_std = np.ones(10)
    # every error zero: coverage 1 at every level, area of 1 - p is 1/2
    got = miscalibration_area(np.zeros(10), np.zeros(10), y_std, n_levels=50)
    np.testing.assert_allclose(got, 0.5, rtol=0, atol=1e-12)
    # every error far outside: coverage 0 below p = 1 (where z is infinite and
    # coverage is 1), so the trapezoid rule misses half of the last interval
    got = miscalibration_area(np.full(10, 1e6), np.zeros(10), y_std, n_levels=50)
    np.testing.assert_allclose(got, 0.5 - 0.5 / 50, rtol=0, atol=1e-12)


# report and scorer


def test_calibration_report_collects_metrics():
    y_true, y_pred, y_std = make_predictions(n_samples=40)
    report = calibration_report(y_true, y_pred, y_std, n_bins=4)
    assert set(report) == {
        "nll",
        "coverage",
        "expected_coverage",
        "spearman",
        "miscalibration_area",
        "rmv",
        "rmse",
    }
    assert report["nll"] == negative_log_likelihood(y_true, y_pred, y_std)
    coverage = sigma_coverage(y_true, y_pred, y_std)
    assert report["coverage"] == {1: coverage[0], 2: coverage[1], 3: coverage[2]}
    assert list(report["expected_coverage"]) == [1, 2, 3]
    np.testing.assert_allclose(
        list(report["expected_coverage"].values()), SIGMA_PROBABILITIES, atol=1e-11
    )
    assert report["spearman"] == error_std_correlation(y_true, y_pred, y_std)
    assert report["miscalibration_area"] == miscalibration_area(y_true, y_pred, y_std)
    rmv, rmse = binned_rmse_rmv(y_true, y_pred, y_std, n_bins=4)
    np.testing.assert_array_equal(report["rmv"], rmv)
    np.testing.assert_array_equal(report["rmse"], rmse)


def make_regression(n_samples=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 10.0 + 0.3 * rng.normal(size=n_samples)
    return X, y


def test_nll_scorer_is_minus_nll():
    X, y = make_regression()
    model = BayesianRidge().fit(X, y)
    y_pred, y_std = model.predict(X, return_std=True)
    assert nll_scorer(model, X, y) == -negative_log_likelihood(y, y_pred, y_std)


def test_nll_scorer_in_grid_search():
    X, y = make_regression()
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    search = GridSearchCV(
        BayesianRidge(), {"fit_intercept": [False, True]}, scoring=nll_scorer, cv=cv
    ).fit(X, y)
    # without an intercept the offset of 10 inflates the errors and the NLL
    assert search.best_params_ == {"fit_intercept": True}
    for index, fit_intercept in enumerate(search.cv_results_["param_fit_intercept"]):
        scores = []
        for train, test in cv.split(X):
            model = BayesianRidge(fit_intercept=fit_intercept).fit(X[train], y[train])
            y_pred, y_std = model.predict(X[test], return_std=True)
            scores.append(-negative_log_likelihood(y[test], y_pred, y_std))
        np.testing.assert_allclose(
            search.cv_results_["mean_test_score"][index], np.mean(scores), rtol=1e-10
        )


def test_nll_scorer_needs_return_std():
    X, y = make_regression()
    with pytest.raises(TypeError, match="predict accepts return_std=True"):
        nll_scorer(LinearRegression().fit(X, y), X, y)


# plotting


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_plot_calibration_draws_the_k_sigma_lines(pyplot):
    y_true, y_pred, y_std = make_predictions(n_samples=200)
    axes = plot_calibration(y_true, y_pred, y_std, n_bins=5, units="eV")
    assert len(axes) == 2
    ax_error, ax_binned = axes
    assert ax_error.figure is ax_binned.figure
    for ax in axes:
        assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax_error.get_xlabel() == "predicted std σ [eV]"
    assert ax_binned.get_ylabel() == "mean squared error per bin [eV²]"

    # |e| = k s for k = 1 (black, y = x), 2 and 3 (gray)
    black = [line for line in ax_error.lines if line.get_color() == "black"]
    gray = [line for line in ax_error.lines if line.get_color() == "gray"]
    assert len(black) == 1 and len(gray) == 2
    np.testing.assert_allclose(black[0].get_ydata(), black[0].get_xdata())
    slopes = sorted(line.get_ydata()[0] / line.get_xdata()[0] for line in gray)
    np.testing.assert_allclose(slopes, [2, 3], rtol=1e-12)
    for line in gray:
        np.testing.assert_allclose(
            line.get_xdata(), [y_std.min(), y_std.max()], rtol=1e-12
        )
    # the legend gives the fractions a report prints, by an explicit count
    ratio = np.abs(y_true - y_pred) / y_std
    labels = [line.get_label() for line in ax_error.lines]
    for k, p in zip((1, 2, 3), SIGMA_PROBABILITIES, strict=True):
        here = f"{100 * np.mean(ratio <= k):.0f} % here"
        assert f"|e| = {k}σ: {100 * p:.1f} % below if calibrated, {here}" in labels

    rmv, rmse = binned_rmse_rmv(y_true, y_pred, y_std, n_bins=5)
    points = [line for line in ax_binned.lines if line.get_marker() == "o"]
    assert len(points) == 1
    assert points[0].get_label() == "5 bins of 40 samples with similar σ"
    np.testing.assert_allclose(points[0].get_xdata(), rmv**2, rtol=1e-12)
    np.testing.assert_allclose(points[0].get_ydata(), rmse**2, rtol=1e-12)


@pytest.mark.parametrize("n_samples, n_bins", [(40, 5), (300, 12), (2000, 20)])
def test_plot_calibration_auto_bins_hold_about_25_samples(pyplot, n_samples, n_bins):
    y_true, y_pred, y_std = make_predictions(n_samples=n_samples)
    _, ax_binned = plot_calibration(y_true, y_pred, y_std)
    assert ax_binned.lines[0].get_xdata().size == n_bins


def test_plot_calibration_labels_ticks_on_a_narrow_range(pyplot):
    # std within a factor 4: the default log axis would label one tick or none
    y_true, y_pred, y_std = make_predictions(n_samples=300)
    y_std = 0.02 + 0.06 * (y_std - y_std.min()) / np.ptp(y_std)
    ax_error, _ = plot_calibration(y_true, y_pred, y_std)
    ax_error.figure.canvas.draw()
    low, high = ax_error.get_xlim()
    shown = [
        tick.get_text()
        for tick, loc in zip(
            ax_error.get_xticklabels(), ax_error.get_xticks(), strict=True
        )
        if low <= loc <= high
    ]
    assert sum(bool(text) for text in shown) >= 2


def test_plot_calibration_lines_hold_the_gaussian_fractions(pyplot):
    y_true, y_pred, y_std = make_predictions(n_samples=50_000, seed=5)
    ax_error, _ = plot_calibration(y_true, y_pred, y_std)
    lines = [line for line in ax_error.lines if line.get_color() in ("black", "gray")]
    slopes = sorted(line.get_ydata()[0] / line.get_xdata()[0] for line in lines)
    ratio = np.abs(y_true - y_pred) / y_std
    for slope, p in zip(slopes, SIGMA_PROBABILITIES, strict=True):
        below = np.mean(ratio <= slope)
        assert abs(below - p) < 4 * np.sqrt(p * (1 - p) / 50_000)


def test_plot_parity_bars_cross_the_diagonal_as_counted(pyplot):
    y_true, y_pred, y_std = make_predictions(n_samples=120)
    ax = plot_parity(y_true, y_pred, y_std, n_sigma=2, units="kcal/mol")
    assert ax.get_xlabel() == "reference [kcal/mol]"
    assert ax.get_ylabel() == "predicted [kcal/mol]"
    container = ax.containers[0]
    np.testing.assert_allclose(container.lines[0].get_xdata(), y_true)
    np.testing.assert_allclose(container.lines[0].get_ydata(), y_pred)
    # each bar spans y_pred -+ 2 y_std
    segments = container.lines[2][0].get_segments()
    spans = np.array([[seg[0][1], seg[1][1]] for seg in segments])
    np.testing.assert_allclose(spans[:, 1] - spans[:, 0], 4 * y_std)
    crossing = np.mean((spans[:, 0] <= y_true) & (y_true <= spans[:, 1]))
    assert f"{100 * crossing:.0f} % of the" in container.get_label()
    assert ax.get_xlim() == ax.get_ylim()


def test_plot_parity_rejects_bad_n_sigma(pyplot):
    y_true, y_pred, y_std = make_predictions()
    with pytest.raises(ValueError, match="n_sigma must be a positive number"):
        plot_parity(y_true, y_pred, y_std, n_sigma=0)


def test_plot_calibration_into_given_axes(pyplot):
    y_true, y_pred, y_std = make_predictions()
    figure, given = pyplot.subplots(1, 2)
    n_figures = len(pyplot.get_fignums())
    axes = plot_calibration(y_true, y_pred, y_std, axes=given)
    assert axes[0] is given[0] and axes[1] is given[1]
    assert len(pyplot.get_fignums()) == n_figures
    assert len(given[0].lines) == 3  # |e| = 1, 2 and 3 sigma
    assert len(given[1].lines) == 2  # binned points and y = x


def test_plot_calibration_rejects_wrong_axes(pyplot):
    y_true, y_pred, y_std = make_predictions()
    _, ax = pyplot.subplots()
    with pytest.raises(ValueError, match="pair of matplotlib Axes; got 1 axes"):
        plot_calibration(y_true, y_pred, y_std, axes=ax)


def test_plot_calibration_without_matplotlib(monkeypatch):
    # a None entry in sys.modules makes the import fail
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    y_true, y_pred, y_std = make_predictions()
    with pytest.raises(ImportError, match="plot_calibration needs matplotlib") as info:
        plot_calibration(y_true, y_pred, y_std)
    assert install_command("plot") in str(info.value)


# error paths

GOOD = ([0.0, 1.0, 2.0], [0.1, 0.9, 2.2], [0.2, 0.3, 0.1])

ALL_METRICS = [
    negative_log_likelihood,
    sigma_coverage,
    error_std_correlation,
    binned_rmse_rmv,
    miscalibration_area,
    calibration_report,
]


def with_argument(position, value):
    arrays = list(GOOD)
    arrays[position] = value
    return arrays


@pytest.mark.parametrize("metric", ALL_METRICS)
@pytest.mark.parametrize(
    "arrays, match",
    [
        (with_argument(1, [0.1, 0.9]), r"one value per sample each; got lengths"),
        (with_argument(0, [0.0, np.nan, 2.0]), "y_true contains 1 NaN or infinite"),
        (with_argument(1, [0.0, 1.0, np.inf]), "y_pred contains 1 NaN or infinite"),
        (with_argument(2, [0.2, np.inf, 0.1]), "y_std contains 1 NaN or infinite"),
        (with_argument(2, [0.2, 0.0, -0.1]), r"strictly positive; got 2 values <= 0"),
        (with_argument(0, [[0.0, 1.0, 2.0]]), r"y_true must be a 1-D array.*\(1, 3\)"),
        (([], [], []), "at least one sample"),
    ],
)
def test_invalid_predictions(metric, arrays, match):
    with pytest.raises(ValueError, match=match):
        metric(*arrays)


def test_plot_rejects_invalid_predictions():
    with pytest.raises(ValueError, match="strictly positive"):
        plot_calibration(*with_argument(2, [0.2, 0.0, 0.1]))


@pytest.mark.parametrize(
    "sample_weight, match",
    [
        ([1.0, 2.0], r"shape \(3,\), one weight per sample; got shape \(2,\)"),
        ([1.0, -1.0, 1.0], "must be non-negative; got 1 negative weights"),
        ([0.0, 0.0, 0.0], "zero for every sample"),
        ([1.0, np.nan, 1.0], "NaN or infinity; weights must be finite"),
    ],
)
def test_invalid_sample_weight(sample_weight, match):
    with pytest.raises(ValueError, match=match):
        negative_log_likelihood(*GOOD, sample_weight=sample_weight)


@pytest.mark.parametrize("n_sigma", [0, -1.0, [1, np.nan], [[1, 2]]])
def test_invalid_n_sigma(n_sigma):
    with pytest.raises(ValueError, match="n_sigma must be a positive number"):
        sigma_coverage(*GOOD, n_sigma=n_sigma)
    with pytest.raises(ValueError, match="n_sigma must be a positive number"):
        expected_sigma_coverage(n_sigma)


@pytest.mark.parametrize("n_bins", [0, 2.5, True])
def test_invalid_n_bins(n_bins):
    with pytest.raises(ValueError, match="n_bins must be a positive integer"):
        binned_rmse_rmv(*GOOD, n_bins=n_bins)


def test_more_bins_than_samples():
    with pytest.raises(ValueError, match=r"n_bins=4 is larger .* at most n_bins=3"):
        binned_rmse_rmv(*GOOD, n_bins=4)
    with pytest.raises(ValueError, match=r"n_bins=4 is larger"):
        calibration_report(*GOOD, n_bins=4)


@pytest.mark.parametrize("n_levels", [0, 10.0])
def test_invalid_n_levels(n_levels):
    with pytest.raises(ValueError, match="n_levels must be a positive integer"):
        miscalibration_area(*GOOD, n_levels=n_levels)
