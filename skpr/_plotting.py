"""Plots of predictions and their Gaussian uncertainties (the paper's Fig. 1).

Both plots give "k sigma" one meaning, the one of :func:`sigma_coverage` and
of the printed reports: an error is within k sigma when
:math:`|y_{true} - y_{pred}| \\le k \\, s`.
"""

import numbers

import numpy as np

from skpr._extras import install_command
from skpr._metrics import (
    _check_predictions,
    binned_rmse_rmv,
    expected_sigma_coverage,
    sigma_coverage,
)

#: Samples per bin that ``n_bins="auto"`` aims at (the paper's Fig. 1 uses
#: 25 to 50), between 5 and 20 bins.
SAMPLES_PER_BIN = 25


def _pyplot(function):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{function} needs matplotlib, which is not installed; install it "
            f"with {install_command('plot')}."
        ) from exc
    return plt


def _with_units(label, units, power=1):
    if not units:
        return label
    if power == 1:
        return f"{label} [{units}]"
    return f"{label} [({units})²]" if "/" in units else f"{label} [{units}²]"


def _auto_bins(n_bins, n_samples):
    if isinstance(n_bins, str) and n_bins == "auto":
        return int(min(n_samples, np.clip(n_samples // SAMPLES_PER_BIN, 5, 20)))
    if not isinstance(n_bins, numbers.Integral) or isinstance(n_bins, bool):
        raise ValueError(f'n_bins must be "auto" or an integer, got {n_bins!r}.')
    return int(n_bins)


def _readable_log_ticks(ax):
    """Label 1, 2 and 5 times each power of ten on axes spanning few decades.

    With the default locator, an axis spanning less than a decade or two
    shows one labelled tick or none.
    """
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator, NullFormatter

    for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if np.log10(limits[1] / limits[0]) < 2.5:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(
                LogFormatterSciNotation(
                    labelOnlyBase=False, minor_thresholds=(np.inf, np.inf)
                )
            )
        axis.set_minor_formatter(NullFormatter())


def plot_calibration(y_true, y_pred, y_std, *, axes=None, n_bins="auto", units=None):
    """Plot errors against predicted uncertainties, as in Fig. 1 of the paper.

    Left: absolute error :math:`|e_i|` against the predicted standard
    deviation :math:`s_i`, log-log, with the lines :math:`|e| = k s` for
    k = 1 (black, y = x), 2 and 3 (gray). A calibrated model has 68.27 %,
    95.45 % and 99.73 % of its points on or below them (the Gaussian
    :func:`expected_sigma_coverage`); the legend gives these next to the
    fractions of the data, :func:`sigma_coverage`, so that "within
    k sigma" means the same in the figure as in a printed report. (The
    paper draws, instead, the central intervals of the same probabilities,
    pairs of lines around y = x.)

    Right: mean squared error against mean predicted variance in ``n_bins``
    groups of samples with similar ``y_std`` (the squares of
    :func:`binned_rmse_rmv`), log-log, with y = x.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    axes : None or pair of matplotlib Axes, default=None
        Where to draw; ``None`` creates a figure with two axes side by side.
    n_bins : int or "auto", default="auto"
        Number of groups of the right panel, at most ``n_samples``;
        ``"auto"`` takes about 25 samples per group, between 5 and 20 groups.
    units : str, default=None
        Units of the targets (``"eV"``, ``"kcal/mol"``) for the axis labels.

    Returns
    -------
    ax_error, ax_binned : matplotlib Axes
        The left and the right panel.

    Notes
    -----
    Samples with zero error cannot be shown on the logarithmic axis of the
    left panel and are left out of it (not out of the fractions).

    References
    ----------
    S. Chong et al., "Prediction rigidities for data-driven chemistry",
    Faraday Discuss. (2024), DOI 10.1039/d4fd00101j, Fig. 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import plot_calibration
    >>> rng = np.random.default_rng(0)
    >>> y_std = rng.uniform(0.1, 1.0, size=200)
    >>> y_true = rng.normal(scale=y_std)
    >>> ax_error, ax_binned = plot_calibration(y_true, np.zeros(200), y_std)
    >>> ax_error.get_xscale(), ax_binned.get_yscale()
    ('log', 'log')
    """
    plt = _pyplot("plot_calibration")
    error, y_std = _check_predictions(y_true, y_pred, y_std)
    n_bins = _auto_bins(n_bins, error.size)
    rmv, rmse = binned_rmse_rmv(y_true, y_pred, y_std, n_bins=n_bins)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9.0, 4.0), layout="constrained")
    # an object array accepts a single Axes, a list, or plt.subplots' array
    axes = np.asarray(axes, dtype=object).ravel()
    if axes.shape != (2,):
        raise ValueError(
            f"axes must be None or a pair of matplotlib Axes; got {axes.size} "
            "axes. Pass e.g. the second value of plt.subplots(1, 2)."
        )
    ax_error, ax_binned = axes

    std_range = np.array([y_std.min(), y_std.max()])
    ax_error.scatter(y_std, np.abs(error), s=8, alpha=0.5, label="samples")
    n_sigma = (1, 2, 3)
    expected = expected_sigma_coverage(n_sigma)
    observed = sigma_coverage(y_true, y_pred, y_std, n_sigma=n_sigma)
    for k, p, c, style in zip(
        n_sigma, expected, observed, ("-", "--", ":"), strict=True
    ):
        ax_error.plot(
            std_range,
            k * std_range,
            color="black" if k == 1 else "gray",
            ls=style,
            label=f"|e| = {k}σ: {100 * p:.1f} % below if calibrated, "
            f"{100 * c:.0f} % here",
        )
    ax_error.set(
        xscale="log",
        yscale="log",
        xlabel=_with_units("predicted std σ", units),
        ylabel=_with_units("absolute error |e|", units),
    )
    ax_error.legend(fontsize="small")

    variance, squared_error = rmv**2, rmse**2
    # squared errors of exactly zero have no place on a log axis
    shown = np.concatenate([variance, squared_error[squared_error > 0]])
    bounds = np.array([shown.min(), shown.max()])
    per_bin = error.size / n_bins
    ax_binned.plot(
        variance,
        squared_error,
        "o",
        label=f"{n_bins} bins of {per_bin:.0f} samples with similar σ",
    )
    ax_binned.plot(bounds, bounds, color="black", label="y = x (calibrated)")
    ax_binned.set(
        xscale="log",
        yscale="log",
        xlabel=_with_units("mean predicted variance σ² per bin", units, 2),
        ylabel=_with_units("mean squared error per bin", units, 2),
    )
    ax_binned.legend(fontsize="small")
    for ax in (ax_error, ax_binned):
        _readable_log_ticks(ax)
    return ax_error, ax_binned


def plot_parity(y_true, y_pred, y_std, *, ax=None, n_sigma=1, units=None):
    """Predictions against targets with error bars of ``n_sigma`` std.

    The bar of a sample crosses the diagonal y = x when its error is within
    ``n_sigma`` predicted standard deviations; the legend gives the fraction
    of such samples (:func:`sigma_coverage`) next to the Gaussian one
    (:func:`expected_sigma_coverage`, 68.27 % for one sigma).

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    ax : matplotlib Axes, default=None
        Where to draw; ``None`` creates a figure.
    n_sigma : float, default=1
        Half-length of the bars in predicted standard deviations.
    units : str, default=None
        Units of the targets for the axis labels.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import plot_parity
    >>> rng = np.random.default_rng(0)
    >>> y_std = rng.uniform(0.1, 0.3, size=50)
    >>> y_true = np.linspace(0, 5, 50)
    >>> ax = plot_parity(y_true, y_true + rng.normal(scale=y_std), y_std)
    >>> ax.get_xlabel()
    'reference'
    """
    plt = _pyplot("plot_parity")
    error, y_std = _check_predictions(y_true, y_pred, y_std)
    if not isinstance(n_sigma, numbers.Real) or not n_sigma > 0:
        raise ValueError(f"n_sigma must be a positive number, got {n_sigma!r}.")
    y_true = np.asarray(y_true, dtype=float)
    y_pred = y_true - error
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5), layout="constrained")
    observed = sigma_coverage(y_true, y_pred, y_std, n_sigma=n_sigma)[0]
    expected = expected_sigma_coverage(n_sigma)[0]
    ax.errorbar(
        y_true,
        y_pred,
        yerr=n_sigma * y_std,
        fmt="o",
        ms=3,
        elinewidth=0.8,
        alpha=0.7,
        label=f"prediction ± {n_sigma:g}σ: {100 * observed:.0f} % of the\n"
        f"bars cross y = x ({100 * expected:.1f} % if calibrated)",
    )
    low = min(y_true.min(), (y_pred - n_sigma * y_std).min())
    high = max(y_true.max(), (y_pred + n_sigma * y_std).max())
    pad = 0.05 * (high - low)
    limits = (low - pad, high + pad)
    ax.plot(limits, limits, color="black", lw=1, label="y = x")
    ax.set(
        xlim=limits,
        ylim=limits,
        xlabel=_with_units("reference", units),
        ylabel=_with_units("predicted", units),
        aspect="equal",
    )
    ax.legend(fontsize="small", loc="upper left")
    return ax
