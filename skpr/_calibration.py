"""The uncertainty scale: maximum likelihood with ``var = scale / R``."""

import numpy as np


def leave_one_out(residual, rigidity, sample_weight):
    """Closed-form leave-one-out residuals and rigidities of training rows.

    For a quadratic loss, removing row ``i`` (weight ``s_i``) lowers its own
    rigidity by exactly ``s_i`` (the +s rule, paper Appendix B, read
    backwards) and scales its residual by ``R_i / (R_i - s_i)``:

    .. math:: R_i^{\\mathrm{loo}} = R_i - s_i, \\qquad
              r_i^{\\mathrm{loo}} = \\frac{r_i}{1 - s_i / R_i}

    Parameters
    ----------
    residual : ndarray of shape (n_samples,)
        ``y - prediction`` of the model fitted on all rows.
    rigidity : ndarray of shape (n_samples,)
        PR of the training rows in that model.
    sample_weight : ndarray of shape (n_samples,)

    Returns
    -------
    loo_residual, loo_rigidity : ndarrays of shape (n_samples,)
    """
    loo_rigidity = rigidity - sample_weight
    return residual * rigidity / loo_rigidity, loo_rigidity


def uncertainty_scale(residual, rigidity, sample_weight=None):
    """Maximum-likelihood scale of ``var(x) = scale / R(x)``.

    .. math:: \\hat{a} = \\frac{\\sum_i w_i r_i^2 R_i}{\\sum_i w_i}

    Parameters
    ----------
    residual, rigidity : ndarrays of shape (n_samples,)
        Residuals and rigidities of predictions the model did not train on
        (held-out rows, or leave-one-out values).
    sample_weight : ndarray of shape (n_samples,), optional
        Weights of the average.

    Returns
    -------
    float
    """
    return float(np.average(residual**2 * rigidity, weights=sample_weight))
