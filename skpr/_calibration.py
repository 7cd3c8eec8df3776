"""Leave-one-out values and the uncertainty scale of ``var = scale / R``."""

import warnings

import numpy as np
import scipy.linalg
import scipy.optimize

from skpr._linalg import serial_blas


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


def scale_and_noise(residual, rigidity, sample_weight=None, *, fit_noise=False):
    """Maximum-likelihood ``scale`` and ``noise`` of ``var = scale / R + noise``.

    .. math:: (\\hat a, \\hat\\nu) = \\arg\\min_{a, \\nu \\ge 0} \\sum_i w_i
              \\left[\\log\\left(\\frac{a}{R_i} + \\nu\\right)
              + \\frac{r_i^2}{a / R_i + \\nu}\\right]

    Without ``fit_noise`` this is :func:`uncertainty_scale` (``nu = 0``, in
    closed form).  With it, a bounded quasi-Newton search (L-BFGS-B) in units
    of the mean squared residual; ``nu = 0`` or ``a = 0`` are allowed at the
    boundary.  Rows with an infinite rigidity count for the noise alone.

    Parameters
    ----------
    residual, rigidity : ndarrays of shape (n_samples,)
        Residuals and rigidities of predictions the model did not train on.
    sample_weight : ndarray of shape (n_samples,), optional
    fit_noise : bool, default=False

    Returns
    -------
    scale, noise : float
    """
    if not fit_noise:
        return uncertainty_scale(residual, rigidity, sample_weight), 0.0
    weights = np.ones(len(residual)) if sample_weight is None else sample_weight
    used = weights > 0
    if np.count_nonzero(used) < 2:
        raise ValueError(
            "Fitting a noise term next to the scale needs at least 2 rows with a "
            f"positive weight; got {np.count_nonzero(used)}. Use fit_noise=False."
        )
    weights = weights[used] / weights[used].max()
    squared = residual[used] ** 2
    unit = float(np.sum(weights * squared) / np.sum(weights))
    if unit == 0.0:
        return uncertainty_scale(residual, rigidity, sample_weight), 0.0
    squared = squared / unit
    inverse = 1.0 / rigidity[used]  # 0 for an infinite rigidity
    finite = inverse > 0
    # a start where both terms explain half of the residuals
    start_scale = 0.5 / np.mean(inverse[finite]) if np.any(finite) else 0.0

    def negative_log_likelihood(theta):
        variance = theta[0] * inverse + theta[1]
        value = np.sum(weights * (np.log(variance) + squared / variance))
        factor = weights * (1.0 / variance - squared / variance**2)
        return value, np.array([np.sum(factor * inverse), np.sum(factor)])

    tiny = 1e-12
    result = scipy.optimize.minimize(
        negative_log_likelihood,
        x0=np.array([start_scale, 0.5]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None), (tiny, None)],
    )
    scale, noise = (float(v) * unit for v in result.x)
    if noise <= tiny * unit * 10:
        noise = 0.0
    return scale, noise


#: Rows whose cross terms are computed together (one whitening per batch).
GROUP_BATCH = 2048


def row_batches(sizes):
    """Consecutive groups of about :data:`GROUP_BATCH` rows (one whitening each)."""
    batches, start, total = [], 0, 0
    for g, size in enumerate(sizes):
        total += int(size)
        if total >= GROUP_BATCH or g == len(sizes) - 1:
            batches.append(range(start, g + 1))
            start, total = g + 1, 0
    return batches


def _leave_groups_out(cross, weight, residual, labels):
    """Quadratic forms and residuals of equal-sized groups, each left out.

    ``cross`` is a stack ``(m, k, k)`` of ``C = G H^{-1} G^T``, ``weight``
    and ``residual`` stacks ``(m, k)``.  Rows of zero weight enter with
    ``D = 0``: their rows and columns of ``B = I - D C D`` are the identity's
    and ``C D`` has zero columns there, so they are predicted, not removed.
    """
    root = np.sqrt(np.maximum(weight, 0.0))
    positive = weight > 0
    complement = np.eye(cross.shape[1]) - root[:, :, None] * cross * root[:, None, :]
    try:
        lower = np.linalg.cholesky(complement)
        pivots = np.abs(np.diagonal(lower, axis1=1, axis2=2))
    except np.linalg.LinAlgError:
        pivots = np.zeros_like(root)
        for g, matrix in enumerate(complement):
            try:
                pivots[g] = np.abs(np.diag(np.linalg.cholesky(matrix)))
            except np.linalg.LinAlgError:
                pass
    largest = np.where(positive, pivots, 0.0).max(axis=1)
    smallest = np.where(positive, pivots, np.inf).min(axis=1)
    singular = positive.any(axis=1) & (smallest**2 <= 1e-12 * largest**2)
    if singular.any():
        g = int(np.flatnonzero(singular)[0])
        label = labels[g]
        name = label.item() if isinstance(label, np.generic) else label
        raise ValueError(
            f"Leaving out the group {name!r} ({cross.shape[1]} rows) leaves a "
            "Hessian that is not positive definite: some parameters are fixed "
            "by this group's rows alone (a leverage of 1), so its "
            "leave-one-group-out prediction is undefined. Increase alpha, or "
            "add training data that shares this group's features."
        )
    coupling = cross * root[:, None, :]  # C D
    right = np.concatenate(
        [(root * residual)[:, :, None], np.swapaxes(coupling, 1, 2)], axis=2
    )
    solved = np.linalg.solve(complement, right)  # B^{-1} [D r, D C]
    loo_residual = residual + (coupling @ solved[:, :, :1])[:, :, 0]
    quadratic = np.diagonal(cross, axis1=1, axis2=2) + np.einsum(
        "gij,gji->gi", coupling, solved[:, :, 1:]
    )
    return quadratic, loo_residual


def group_leave_one_out(residual, cross_form, sample_weight, groups):
    """Residuals and rigidities with each group of rows left out, in closed form.

    For the rows ``G_g`` of one group (a structure's energy and force rows)
    with weights ``S_g`` and cross terms ``C = G_g H^{-1} G_g^T``, removing
    them changes the residuals and quadratic forms of the group's rows to

    .. math:: r' = r + C_{\\cdot p} (S_p^{-1} - C_{pp})^{-1} r_p, \\qquad
              q'_j = C_{jj} + [C_{\\cdot p} (S_p^{-1} - C_{pp})^{-1} C_{p \\cdot}]_{jj}

    (``p``: the rows of positive weight; ``r'_p = (I - C S)^{-1} r_p``), by
    Woodbury on ``H - G_p^T S_p G_p``: one ``k x k`` factorization per group,
    no refit.  ``(S^{-1} - C)^{-1} = D B^{-1} D`` with ``D = S^{1/2}`` and
    ``B = I - D C D``, whose eigenvalues are one minus the leverages.

    Parameters
    ----------
    residual : ndarray of shape (n_samples,)
        ``y - prediction`` of the model fitted on all rows.
    cross_form : callable
        ``cross_form(list of row indices) -> list of (k, k)``: ``G H^{-1}
        G^T`` of the training rows of each group of a batch, in the units of
        ``sample_weight``.
    sample_weight : ndarray of shape (n_samples,)
    groups : ndarray of shape (n_samples,)

    Returns
    -------
    loo_residual, loo_rigidity : ndarrays of shape (n_samples,)

    Raises
    ------
    ValueError
        If leaving out a group leaves a Hessian that is not positive definite.
    """
    labels, inverse = np.unique(groups, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(len(labels) + 1))
    loo_residual = np.array(residual, dtype=float)
    quadratic = np.empty(len(residual))
    members = [order[bounds[g] : bounds[g + 1]] for g in range(len(labels))]
    for batch in row_batches([rows.size for rows in members]):
        crosses = cross_form([members[g] for g in batch])
        by_size = {}
        for g, cross in zip(batch, crosses, strict=True):
            by_size.setdefault(cross.shape[0], []).append(g)
        with serial_blas():
            for chosen in by_size.values():
                rows = np.stack([members[g] for g in chosen])
                cross = np.stack([crosses[g - batch.start] for g in chosen])
                quadratic[rows], loo_residual[rows] = _leave_groups_out(
                    cross, sample_weight[rows], residual[rows], labels[chosen]
                )
    with np.errstate(divide="ignore"):
        loo_rigidity = 1.0 / np.maximum(quadratic, 0.0)
    return loo_residual, loo_rigidity
