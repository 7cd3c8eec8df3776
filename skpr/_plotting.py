"""Calibration plots of Gaussian uncertainties (the paper's Fig. 1)."""

import numpy as np
from scipy.stats import halfnorm

from skpr._metrics import _check_predictions, binned_rmse_rmv, expected_sigma_coverage


def plot_calibration(y_true, y_pred, y_std, *, axes=None, n_bins=10):
    """Plot errors against predicted uncertainties, as in Fig. 1 of the paper.

    Left: absolute error :math:`|e_i|` against the predicted standard
    deviation :math:`s_i`, log-log, with the line y = x in black and, in gray,
    the pairs of isolines between which a Gaussian :math:`|e|` falls with
    probability :math:`p = 68.27\\,\\%, 95.45\\,\\%, 99.73\\,\\%` (1, 2 and 3
    sigma). The pair for :math:`p` is the central interval of the half-normal
    distribution of :math:`|e| / s`:

    .. math:: |e| = s \\, F^{-1}\\!\\left(\\tfrac{1 \\mp p}{2}\\right), \\qquad
              F^{-1}(q) = \\sqrt{2} \\, \\operatorname{erf}^{-1}(q)

    so about 68 % of the points of a calibrated model lie between the innermost
    pair. Right: mean squared error against mean predicted variance in
    ``n_bins`` groups of samples with similar ``y_std`` (the squares of
    :func:`binned_rmse_rmv`), log-log, with y = x.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n_samples,)
        Targets, predictions and predicted standard deviations (``y_std > 0``).
    axes : None or pair of matplotlib Axes, default=None
        Where to draw; ``None`` creates a figure with two axes side by side.
    n_bins : int, default=10
        Number of groups of the right panel, at most ``n_samples``.

    Returns
    -------
    ax_error, ax_binned : matplotlib Axes
        The left and the right panel.

    Notes
    -----
    Samples with zero error cannot be shown on the logarithmic axis of the
    left panel and are left out of it.

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
    try:
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError as exc:
        raise ImportError(
            "plot_calibration needs matplotlib, which is not installed; install "
            'it with pip install "skpr[plot]".'
        ) from exc
    error, y_std = _check_predictions(y_true, y_pred, y_std)
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
    ax_error.plot(std_range, std_range, color="black", label="y = x")
    n_sigma, linestyles = (1, 2, 3), ("-", "--", ":")
    probabilities = expected_sigma_coverage(n_sigma)
    for k, p, ls in zip(n_sigma, probabilities, linestyles, strict=True):
        low, high = halfnorm.ppf([(1 - p) / 2, (1 + p) / 2])
        ax_error.plot(std_range, low * std_range, color="gray", ls=ls)
        ax_error.plot(
            std_range,
            high * std_range,
            color="gray",
            ls=ls,
            label=f"{k}σ, {100 * p:.2f} %",
        )
    ax_error.set(
        xscale="log",
        yscale="log",
        xlabel="estimated error (predicted std)",
        ylabel="absolute error |y_true - y_pred|",
    )
    ax_error.legend(fontsize="small")

    variance, squared_error = rmv**2, rmse**2
    # squared errors of exactly zero have no place on a log axis
    shown = np.concatenate([variance, squared_error[squared_error > 0]])
    bounds = np.array([shown.min(), shown.max()])
    ax_binned.plot(variance, squared_error, "o", label=f"{n_bins} bins of y_std")
    ax_binned.plot(bounds, bounds, color="black", label="y = x")
    ax_binned.set(
        xscale="log",
        yscale="log",
        xlabel="mean predicted variance per bin",
        ylabel="mean squared error per bin",
    )
    ax_binned.legend(fontsize="small")
    for ax in (ax_error, ax_binned):
        # a narrow log range gets crowded minor labels; the major ones suffice
        ax.xaxis.set_minor_formatter(NullFormatter())
    return ax_error, ax_binned
