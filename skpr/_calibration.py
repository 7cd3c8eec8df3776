"""Leave-one-out values and the uncertainty scale of ``var = scale / R``."""

import warnings

import numpy as np


def leave_one_out(residual, leverage, complement, sample_weight, rigidity):
    """Leave-one-out residuals and rigidities of training rows, in closed form.

    For a quadratic loss, removing row ``i`` (weight ``s_i``, leverage
    ``h_i = s_i g_i^T H^{-1} g_i``) scales its residual by ``1 / (1 - h_i)``
    and lowers its own rigidity by exactly ``s_i`` (the +s rule, paper
    Appendix B, read backwards):

    .. math:: r_i^{\\mathrm{loo}} = \\frac{r_i}{1 - h_i}, \\qquad
              R_i^{\\mathrm{loo}} = R_i - s_i = \\frac{s_i (1 - h_i)}{h_i}

    Both are computed from ``h_i`` and ``1 - h_i`` as the solver gives them,
    never by subtracting ``s_i`` from ``R_i``, which cancels as ``h_i`` nears
    1 (interpolation).  One function serves every solver route: the primal
    computes ``h_i`` from its factor, the dual computes ``1 - h_i`` exactly
    (:func:`skpr._dual.dual_leave_one_out`).

    Parameters
    ----------
    residual : ndarray of shape (n_samples,)
        ``y - prediction`` of the model fitted on all rows.
    leverage, complement : ndarray of shape (n_samples,)
        ``h_i`` and ``1 - h_i``.
    sample_weight : ndarray of shape (n_samples,)
    rigidity : ndarray of shape (n_samples,)
        PR of each training row; used for rows of zero weight, which are not
        in the loss and are ordinary held-out rows.

    Returns
    -------
    loo_residual, loo_rigidity : ndarrays of shape (n_samples,)
        A row with ``g = 0`` (for example the force rows of an isolated atom)
        has ``h = 0`` and an infinite rigidity: its prediction is zero
        whatever the weights.
    """
    positive = sample_weight > 0
    loo_residual = np.array(residual, dtype=float)
    loo_rigidity = np.array(rigidity, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        loo_residual[positive] = residual[positive] / complement[positive]
        loo_rigidity[positive] = (
            sample_weight[positive] * complement[positive] / leverage[positive]
        )
    zero_rows = positive & (leverage == 0)
    loo_residual[zero_rows] = residual[zero_rows]
    loo_rigidity[zero_rows] = np.inf
    return loo_residual, loo_rigidity


def uncertainty_scale(residual, rigidity, sample_weight=None):
    """Maximum-likelihood scale of ``var(x) = scale / R(x)``.

    .. math:: \\hat{a} = \\frac{\\sum_i w_i r_i^2 R_i}{\\sum_i w_i}

    over the rows with a finite rigidity: a row whose rigidity is infinite
    (``g = 0``, a prediction no weight can move) carries no information on the
    scale and is left out.

    Parameters
    ----------
    residual, rigidity : ndarrays of shape (n_samples,)
        Residuals and rigidities of predictions the model did not train on
        (held-out rows, or leave-one-out values).
    sample_weight : ndarray of shape (n_samples,), optional
        Weights of the average (only their ratios matter).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If no row with a positive weight has a finite rigidity.

    Warns
    -----
    RuntimeWarning
        If the scale is zero (every residual is zero, as for a constant target
        fitted with an intercept): every standard deviation is then zero.
    """
    weights = np.ones(len(residual)) if sample_weight is None else sample_weight
    informative = np.isfinite(rigidity) & (weights > 0)
    if not np.any(informative):
        raise ValueError(
            "No row can calibrate the uncertainty: every row with a positive "
            "weight has an infinite rigidity (its features are all zero, so its "
            "prediction is zero whatever the model). Calibrate on rows with "
            "non-zero features."
        )
    weights = weights[informative]
    # only ratios of weights matter: normalizing keeps w r^2 R from under- or
    # overflowing for weights near the limits of double precision
    weights = weights / weights.max()
    terms = residual[informative] ** 2 * rigidity[informative]
    scale = float(np.sum(weights * terms) / np.sum(weights))
    if scale == 0.0:
        warnings.warn(
            "The uncertainty scale is 0: every leave-one-out (or held-out) "
            "residual is zero, as for a constant target fitted with an intercept, "
            "so every predicted standard deviation is 0. Check y; calibrate on "
            "held-out data with calibrate(X, y) if the model should be uncertain.",
            RuntimeWarning,
            stacklevel=3,
        )
    return scale
