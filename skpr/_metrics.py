"""Calibration metrics for Gaussian uncertainties ``y_std`` of predictions.

Every function takes the targets ``y_true``, the predictions ``y_pred`` and the
predicted standard deviations ``y_std`` (for a rigidity-based model,
``y_std = sqrt(scale / R)``) as 1-D arrays of equal length, and treats the
error ``e = y_true - y_pred`` as a draw from :math:`\\mathcal{N}(0, s^2)`.
"""

import numbers

import numpy as np
from scipy.special import erf
from scipy.stats import norm, spearmanr

from skpr._validation import check_sample_weight


def _check_predictions(y_true, y_pred, y_std):
    """Validate the three arrays; return the errors and the stds as floats.

    Returns
    -------
    error : ndarray of shape (n_samples,)
        ``y_true - y_pred``.
    y_std : ndarray of shape (n_samples,)
    """
    arrays = {}
    for name, values in (("y_true", y_true), ("y_pred", y_pred), ("y_std", y_std)):
        array = np.asarray(values, dtype=float)
        if array.ndim != 1:
            raise ValueError(
                f"{name} must be a 1-D array with one value per sample; got shape "
                f"{array.shape}. Flatten it with np.ravel() if it holds one target."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"{name} contains {np.sum(~np.isfinite(array))} NaN or infinite "
                "values; all values must be finite. Drop those samples first."
            )
        arrays[name] = array
    lengths = {name: array.shape[0] for name, array in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(
            "y_true, y_pred and y_std must have one value per sample each; got "
            f"lengths {lengths}. Pass arrays computed on the same samples."
        )
    if lengths["y_true"] == 0:
        raise ValueError("Got empty arrays; at least one sample is needed.")
    y_std = arrays["y_std"]
    if np.any(y_std <= 0):
        raise ValueError(
            f"y_std must be strictly positive; got {np.sum(y_std <= 0)} values <= 0 "
            f"(smallest {y_std.min():g}). A zero-width Gaussian has no likelihood: "
            "check the uncertainty model, or clip y_std to a small positive floor."
        )
    return arrays["y_true"] - arrays["y_pred"], y_std


def _check_positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}.")
    return int(value)


def _check_n_sigma(n_sigma):
    n_sigma = np.atleast_1d(np.asarray(n_sigma, dtype=float))
    if n_sigma.ndim != 1 or not np.all(np.isfinite(n_sigma) & (n_sigma > 0)):
        raise ValueError(
            "n_sigma must be a positive number or a 1-D sequence of positive, "
            f"finite numbers (multiples of y_std), such as (1, 2, 3); got {n_sigma}."
        )
    return n_sigma


def negative_log_likelihood(y_true, y_pred, y_std, *, sample_weight=None):
    """Mean negative log-likelihood of the errors under Gaussian uncertainties.

    .. math::
        \\mathrm{NLL} = \\frac{\\sum_i w_i \\left[\\tfrac{1}{2}\\log(2\\pi s_i^2)
        + \\tfrac{1}{2}(e_i / s_i)^2\\right]}{\\sum_i w_i},
        \\qquad e_i = y_i - \\hat{y}_i

    Lower is better. It rewards small ``y_std`` only where the errors are small,
    so it ranks uncertainty models that have the same predictions.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    sample_weight : array-like of shape (n_samples,), default=None
        Weights ``w_i`` of the mean; ``None`` means equal weights.

    Returns
    -------
    float

    See Also
    --------
    nll_scorer : The same metric as a scikit-learn scorer.

    Examples
    --------
    >>> from skpr import negative_log_likelihood
    >>> negative_log_likelihood([0.0, 1.0, 2.0], [0.1, 0.8, 2.3], [0.2, 0.2, 0.4])
    -0.1573...
    """
    error, y_std = _check_predictions(y_true, y_pred, y_std)
    weights = check_sample_weight(sample_weight, error.shape[0])
    # log(s) rather than log(s^2): s^2 underflows for s below 1e-154
    with np.errstate(over="ignore"):
        nll = 0.5 * np.log(2 * np.pi) + np.log(y_std) + 0.5 * (error / y_std) ** 2
    return float(np.average(nll, weights=weights / weights.max()))


def expected_sigma_coverage(n_sigma=(1, 2, 3)):
    """Probability that a Gaussian error lies within ``k`` standard deviations.

    .. math:: P(|e| \\le k s) = \\operatorname{erf}(k / \\sqrt{2})

    Parameters
    ----------
    n_sigma : float or array-like of shape (n_levels,), default=(1, 2, 3)
        The multiples ``k`` of the standard deviation.

    Returns
    -------
    ndarray of shape (n_levels,)

    Examples
    --------
    >>> from skpr import expected_sigma_coverage
    >>> expected_sigma_coverage().round(4)
    array([0.6827, 0.9545, 0.9973])
    """
    return erf(_check_n_sigma(n_sigma) / np.sqrt(2))


def sigma_coverage(y_true, y_pred, y_std, *, n_sigma=(1, 2, 3)):
    """Fraction of errors within ``k`` predicted standard deviations.

    .. math:: c_k = \\frac{1}{n} \\#\\{i : |e_i| \\le k s_i\\}

    For calibrated uncertainties ``c_k`` is close to
    :func:`expected_sigma_coverage` (0.6827, 0.9545, 0.9973 for k = 1, 2, 3),
    within the binomial standard error :math:`\\sqrt{c(1-c)/n}`. Smaller values
    mean overconfident ``y_std``, larger ones underconfident ``y_std``.
    Cost :math:`O(n \\cdot n_{\\mathrm{levels}})`.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    n_sigma : float or array-like of shape (n_levels,), default=(1, 2, 3)
        The multiples ``k`` of ``y_std``.

    Returns
    -------
    ndarray of shape (n_levels,)

    Examples
    --------
    >>> from skpr import sigma_coverage
    >>> sigma_coverage([0.0, 1.0, 2.0, 3.0], [0.1, 1.5, 2.0, 2.0], [0.2, 0.2, 0.1, 0.3])
    array([0.5 , 0.5 , 0.75])
    """
    error, y_std = _check_predictions(y_true, y_pred, y_std)
    n_sigma = _check_n_sigma(n_sigma)
    return np.mean(np.abs(error)[:, None] <= y_std[:, None] * n_sigma, axis=0)


def error_std_correlation(y_true, y_pred, y_std):
    """Spearman rank correlation between absolute errors and predicted stds.

    .. math:: \\rho = \\mathrm{corr}\\big(\\mathrm{rank}(|e|),\\,
              \\mathrm{rank}(s)\\big)

    Near 1 when ``y_std`` orders the samples by their errors; this measures
    ranking only, not the scale of ``y_std``. Even a perfectly calibrated model
    gives clearly less than 1, since a single Gaussian error is noisy. NaN when
    either input is constant. Cost :math:`O(n \\log n)`.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).

    Returns
    -------
    float

    Examples
    --------
    >>> from skpr import error_std_correlation
    >>> error_std_correlation([0.0, 0.0, 0.0], [0.1, -0.3, 0.2], [0.1, 0.5, 0.3])
    1.0
    """
    error, y_std = _check_predictions(y_true, y_pred, y_std)
    return float(spearmanr(np.abs(error), y_std).statistic)


def binned_rmse_rmv(y_true, y_pred, y_std, *, n_bins=10):
    """Root mean variance and root mean squared error in bins of ``y_std``.

    The samples are sorted by ``y_std`` and split into ``n_bins`` groups of
    (nearly) equal count; for each group :math:`B`

    .. math::
        \\mathrm{RMV}_B = \\sqrt{\\frac{1}{|B|}\\sum_{i \\in B} s_i^2}, \\qquad
        \\mathrm{RMSE}_B = \\sqrt{\\frac{1}{|B|}\\sum_{i \\in B} e_i^2}

    For calibrated uncertainties the points ``(rmv, rmse)`` lie on the line
    y = x; squared, they are the bottom row of Fig. 1 of Chong et al. (2024).
    Cost :math:`O(n \\log n)`.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    n_bins : int, default=10
        Number of groups, at most ``n_samples``. When ``n_bins`` does not divide
        ``n_samples``, the groups with the smallest ``y_std`` get one sample more.

    Returns
    -------
    rmv : ndarray of shape (n_bins,)
        Root mean variance per group, increasing.
    rmse : ndarray of shape (n_bins,)
        Root mean squared error per group.

    References
    ----------
    S. Chong et al., "Prediction rigidities for data-driven chemistry",
    Faraday Discuss. (2024), DOI 10.1039/d4fd00101j.

    Examples
    --------
    >>> from skpr import binned_rmse_rmv
    >>> rmv, rmse = binned_rmse_rmv(
    ...     [0.0, 0.0, 0.0, 0.0], [0.1, -0.3, 0.2, 0.4], [0.1, 0.3, 0.1, 0.5], n_bins=2
    ... )
    >>> rmv
    array([0.1       , 0.41231056])
    >>> rmse
    array([0.15811388, 0.35355339])
    """
    error, y_std = _check_predictions(y_true, y_pred, y_std)
    n_bins = _check_positive_int(n_bins, "n_bins")
    if n_bins > error.shape[0]:
        raise ValueError(
            f"n_bins={n_bins} is larger than the number of samples "
            f"({error.shape[0]}), so some bins would be empty; use at most "
            f"n_bins={error.shape[0]}."
        )
    bins = np.array_split(np.argsort(y_std, kind="stable"), n_bins)
    rmv = np.array([np.sqrt(np.mean(y_std[b] ** 2)) for b in bins])
    rmse = np.array([np.sqrt(np.mean(error[b] ** 2)) for b in bins])
    return rmv, rmse


def miscalibration_area(y_true, y_pred, y_std, *, n_levels=100):
    """Area between the observed and the expected coverage of Gaussian intervals.

    For a confidence level :math:`p`, the central interval of
    :math:`\\mathcal{N}(\\hat{y}_i, s_i^2)` is
    :math:`|e_i| \\le z_p s_i` with :math:`z_p = \\Phi^{-1}((1 + p) / 2)`, and
    the observed coverage is :math:`c(p) = \\#\\{i : |e_i| / s_i \\le z_p\\} / n`.

    .. math:: A = \\int_0^1 |c(p) - p| \\, dp

    evaluated with the trapezoid rule on the grid :math:`p_k = k / n_{levels}`.
    For calibrated uncertainties :math:`A` is near 0 (sampling noise of order
    :math:`n^{-1/2}`); always :math:`A \\le 0.5`, reached when every error is
    exactly zero and approached when every error lies far outside its interval.
    Overconfidence and underconfidence both increase it; :func:`sigma_coverage`
    tells which one it is. Cost :math:`O(n \\log n + n_{levels} \\log n)`.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    n_levels : int, default=100
        Number of intervals of the grid of confidence levels.

    Returns
    -------
    float

    References
    ----------
    K. Tran et al., "Methods for comparing uncertainty quantifications for
    material property predictions", Mach. Learn.: Sci. Technol. 1, 025006 (2020).

    Examples
    --------
    >>> from skpr import miscalibration_area
    >>> miscalibration_area(
    ...     [0.0, 0.0, 0.0, 0.0], [0.1, -0.3, 0.2, 0.4], [0.1, 0.3, 0.1, 0.5]
    ... )
    0.2312
    """
    error, y_std = _check_predictions(y_true, y_pred, y_std)
    n_levels = _check_positive_int(n_levels, "n_levels")
    levels = np.linspace(0.0, 1.0, n_levels + 1)
    # z_0 = 0 and z_1 = inf, so c(0) counts exact zeros and c(1) = 1
    z = norm.ppf((1.0 + levels) / 2.0)
    observed = np.searchsorted(np.sort(np.abs(error) / y_std), z, side="right")
    observed = observed / error.shape[0]
    return float(np.trapezoid(np.abs(observed - levels), levels))


def calibration_report(y_true, y_pred, y_std, *, n_bins=10):
    """All calibration metrics of this module in one dictionary.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    n_bins : int, default=10
        Number of groups for :func:`binned_rmse_rmv`, at most ``n_samples``.

    Returns
    -------
    dict
        ``"nll"`` (float), :func:`negative_log_likelihood`;
        ``"coverage"`` and ``"expected_coverage"`` (dicts ``{1: float, 2: float,
        3: float}``), :func:`sigma_coverage` and :func:`expected_sigma_coverage`;
        ``"spearman"`` (float), :func:`error_std_correlation`;
        ``"miscalibration_area"`` (float), :func:`miscalibration_area`;
        ``"rmv"`` and ``"rmse"`` (ndarrays of shape (n_bins,)),
        :func:`binned_rmse_rmv`.

    Examples
    --------
    >>> from skpr import calibration_report
    >>> report = calibration_report(
    ...     [0.0, 0.0, 0.0, 0.0], [0.1, -0.3, 0.2, 0.4], [0.1, 0.3, 0.1, 0.5], n_bins=2
    ... )
    >>> sorted(report)  # doctest: +NORMALIZE_WHITESPACE
    ['coverage', 'expected_coverage', 'miscalibration_area', 'nll', 'rmse', 'rmv',
     'spearman']
    >>> report["coverage"]
    {1: 0.75, 2: 1.0, 3: 1.0}
    """
    n_sigma = (1, 2, 3)
    coverage = sigma_coverage(y_true, y_pred, y_std, n_sigma=n_sigma)
    rmv, rmse = binned_rmse_rmv(y_true, y_pred, y_std, n_bins=n_bins)
    return {
        "nll": negative_log_likelihood(y_true, y_pred, y_std),
        "coverage": dict(zip(n_sigma, coverage.tolist(), strict=True)),
        "expected_coverage": dict(
            zip(n_sigma, expected_sigma_coverage(n_sigma).tolist(), strict=True)
        ),
        "spearman": error_std_correlation(y_true, y_pred, y_std),
        "miscalibration_area": miscalibration_area(y_true, y_pred, y_std),
        "rmv": rmv,
        "rmse": rmse,
    }


def nll_scorer(estimator, X, y):
    """Scorer: minus the mean Gaussian negative log-likelihood on ``(X, y)``.

    Calls ``estimator.predict(X, return_std=True)`` and returns
    ``-negative_log_likelihood(y, y_pred, y_std)``, so that greater is better,
    as scikit-learn's model selection expects.

    Parameters
    ----------
    estimator : fitted regressor
        Its ``predict`` must accept ``return_std=True`` (``BlockRidge``,
        ``BayesianRidge``, ``GaussianProcessRegressor``, or a ``Pipeline``
        ending in one of them).
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)

    Returns
    -------
    float
        ``-inf`` when some ``y_std`` is zero and that prediction is wrong,
        ``+inf`` when every zero-``y_std`` prediction is exact (the limit of
        the likelihood), so that model selection still ranks such models.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import BayesianRidge
    >>> from sklearn.model_selection import cross_val_score
    >>> from skpr import nll_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=60)
    >>> scores = cross_val_score(BayesianRidge(), X, y, scoring=nll_scorer, cv=3)
    >>> scores.shape
    (3,)
    """
    try:
        y_pred, y_std = estimator.predict(X, return_std=True)
    except TypeError as exc:
        raise TypeError(
            "nll_scorer needs an estimator whose predict accepts return_std=True "
            f"(e.g. BlockRidge, BayesianRidge); {type(estimator).__name__}.predict "
            "failed with it. Score this estimator with another metric."
        ) from exc
    y_std = np.asarray(y_std, dtype=float)
    if np.any(y_std == 0):
        # a zero-width Gaussian (a model whose uncertainty scale is 0, e.g. for
        # a constant target): its likelihood is infinite where it is right and
        # zero where it is wrong; any wrong prediction makes the score -inf
        error = np.asarray(y, dtype=float) - np.asarray(y_pred, dtype=float)
        zero = y_std == 0
        return -np.inf if np.any(error[zero] != 0) else np.inf
    return -negative_log_likelihood(y, y_pred, y_std)
