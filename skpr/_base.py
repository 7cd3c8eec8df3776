"""What every rigidity regressor shares: validation, uncertainties, calibration.

A subclass computes its fitted state and provides the quadratic forms
``g^T H^{-1} g`` for the three kinds of ``g`` (paper Table 1); this class turns
them into rigidities, standard deviations and calibration.

Sample weights are normalized before the subclass sees them: the model is
invariant under ``(s, alpha) -> (c s, c alpha)`` (the loss is only multiplied
by ``c``), so every fit runs with ``s / c`` and ``alpha / c`` for
``c = max(s)`` (:attr:`weight_scale_`), and rigidities, which scale with ``c``,
are multiplied back at the end.  Weights near the limits of double precision
(``1e-300`` or ``1e300``) then neither underflow nor overflow.
"""

import copy
import functools

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skpr._calibration import group_leave_one_out, scale_and_noise
from skpr._dask import (
    aligned,
    any_dask,
    check_rows,
    is_dask_array,
    map_chunks,
    map_rows,
    per_row_labels,
)
from skpr._validation import check_choice, check_sample_weight

#: Fitted attributes that only some fits set: removed at the start of ``fit``
#: so that a refit never leaves one from an earlier fit behind.
_OPTIONAL_FITTED = (
    "loo_residual_",
    "loo_rigidity_",
    "uncertainty_scales_",
    "noises_",
)


def reciprocal(quadratic_form):
    """``1 / q``; a zero quadratic form means a prediction no weight can move."""
    with np.errstate(divide="ignore"):
        return 1.0 / quadratic_form


class RigidityRegressor(RegressorMixin, BaseEstimator):
    """Base class of the skpr regressors (not public).

    Hooks a subclass implements, all on validated float64 arrays, all in the
    units of the normalized weights ``s / weight_scale_`` and regularization
    ``alpha_ / weight_scale_``:

    ``_check_params() -> None``
        Validate every constructor parameter (called first in ``fit``; the
        one place where parameters are checked).
    ``_fit(X, y, sample_weight) -> None``
        Set the fitted state (coefficients, factor, blocks, ...).
    ``_leave_one_out(X, y, sample_weight) -> (residual, rigidity)``
        Two arrays of shape ``(n_samples,)``: the leave-one-out residual and
        rigidity of every training row (only with ``calibration="loo"``).
    ``_predict(X) -> ndarray (n_samples,)``
    ``_predict_with_quadratic_form(X) -> (ndarray, ndarray)``
        The prediction and the PR quadratic form in one pass over ``X``; the
        default calls ``_predict`` and ``_quadratic_form``.
    ``_quadratic_form(X) -> ndarray (n_samples,)``
        ``g^T H^{-1} g`` with ``g = [x, 1]`` (PR).
    ``_local_quadratic_form(X_local) -> ndarray (n_environments,)``
        ``x^T H^{-1} x`` (LPR, no intercept).
    ``_component_quadratic_form(X) -> ndarray (n_samples, n_blocks)`` (CPR)
    ``_predict_components(X) -> ndarray (n_samples, n_blocks)``
    """

    _calibrations = ("loo", None)

    def _check_calibration(self):
        check_choice(
            self.calibration,
            "calibration",
            self._calibrations,
            explanation="'loo' calibrates by closed-form leave-one-out at fit "
            "time; None keeps scale 1 until calibrate(X, y) is called on "
            "held-out data.",
        )

    def fit(
        self, X, y, sample_weight=None, *, groups=None, kinds=None, prior_variance=None
    ):
        """Fit the model, factor its Hessian, and calibrate the uncertainty.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per training sample (e.g. per structure).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Weight ``s_i >= 0`` of each row in the loss; a zero weight removes
            the row.
        groups : array-like of shape (n_samples,), optional
            With ``calibration="loo"``: leave out whole groups of rows (e.g.
            the energy and force rows of one structure) instead of one row at
            a time, in closed form (no refits).
        kinds : array-like of shape (n_samples,), optional
            A label per row (e.g. ``"energy"``, ``"force"``): one scale (and
            noise) per kind, in :attr:`uncertainty_scales_`, used by
            ``predict(..., kind=...)``.
        prior_variance : array-like of shape (n_samples,), optional
            A variance the model's rigidity does not see, in the units of
            ``1 / R`` (e.g. ``nystroem_residual(...) / alpha`` for the sparse
            route), added to each left-out row's ``1 / R`` when the scale is
            fitted: ``var = scale * (1 / R + prior_variance)``.

        Returns
        -------
        self

        Notes
        -----
        ``X`` (and ``y``, ``sample_weight``) may be dask arrays for
        :class:`BlockRidge`: the statistics of the rows are then added up
        chunk by chunk where the chunks live (map-reduce), as in
        :meth:`BlockRidge.partial_fit`, and the leave-one-out pass runs chunk
        by chunk too; ``groups`` then needs numpy arrays.
        """
        if any_dask(X, y, sample_weight):
            return self._fit_dask(
                X,
                y,
                sample_weight,
                groups=groups,
                kinds=kinds,
                prior_variance=prior_variance,
            )
        self._check_params()
        for name in _OPTIONAL_FITTED:
            self.__dict__.pop(name, None)
        X, y = self._validate_rows(X, y, reset=True)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        groups = check_labels(groups, X.shape[0], "groups")
        kinds = check_labels(kinds, X.shape[0], "kinds")
        prior_variance = check_prior_variance(prior_variance, X.shape[0])
        if self.calibration == "loo":
            units = "samples" if groups is None else "groups"
            n_units = (
                np.count_nonzero(sample_weight)
                if groups is None
                else (np.unique(groups[sample_weight > 0]).size)
            )
            if n_units < 2:
                raise ValueError(
                    f"calibration='loo' needs at least 2 {units} with positive "
                    f"weight; got {n_units} {units[:-1]}(s). Use calibration=None, or "
                    "fit on more data."
                )
        self.weight_scale_ = float(sample_weight.max())
        sample_weight = sample_weight / self.weight_scale_
        self._fit(X, y, sample_weight)
        self.uncertainty_scale_, self.noise_ = 1.0, 0.0
        if self.calibration == "loo":
            if groups is None:
                residual, rigidity = self._leave_one_out(X, y, sample_weight)
            else:
                residual, rigidity = group_leave_one_out(
                    y - self._predict(X),
                    lambda batch: self._group_cross_forms(X, batch),
                    sample_weight,
                    groups,
                )
            self.loo_residual_ = residual
            self.loo_rigidity_ = rigidity * self.weight_scale_
            self._set_scales(
                self.loo_residual_,
                with_prior(self.loo_rigidity_, prior_variance),
                sample_weight,
                kinds,
            )
        return self

    def _fit_dask(self, X, y, sample_weight, **_):
        raise TypeError(
            f"{type(self).__name__} needs its training rows in memory, but got a "
            "dask array. Pass X.compute() (and y.compute()), or fit BlockRidge, "
            "which adds up a dask array's rows chunk by chunk."
        )

    def _validate_rows(self, X, y, *, reset):
        """Float rows and one float target; ``reset=False`` checks the features."""
        X, y = validate_data(
            self, X, y, reset=reset, multi_output=True, y_numeric=True, dtype=np.float64
        )
        if y.ndim == 2:
            if y.shape[1] != 1:
                raise ValueError(
                    f"{type(self).__name__} fits one target, but y has shape "
                    f"{y.shape}. Fit one model per target, e.g. with sklearn."
                    f"multioutput.MultiOutputRegressor({type(self).__name__}())."
                )
            y = column_or_1d(y, warn=True)
        # numeric y of any dtype (strings fail here with numpy's clear message)
        return X, y.astype(np.float64, copy=False)

    def _group_cross_forms(self, X, batch):
        """``G_g H^{-1} G_g^T`` of each group of training rows in ``batch``."""
        return [self._cross_form(X[rows]) for rows in batch]

    def _set_scales(self, residual, rigidity, weight, kinds):
        """Fit the scale and noise, overall and per kind, in the user's units."""
        fit_noise = bool(getattr(self, "fit_noise", False))
        # the weighted likelihood: a zero-weight row is a removed row
        self.uncertainty_scale_, self.noise_ = scale_and_noise(
            residual, rigidity, weight, fit_noise=fit_noise
        )
        if kinds is None:
            return
        self.uncertainty_scales_, self.noises_ = {}, {}
        for kind in np.unique(kinds):
            mask = kinds == kind
            scale, noise = scale_and_noise(
                residual[mask], rigidity[mask], weight[mask], fit_noise=fit_noise
            )
            self.uncertainty_scales_[_label(kind)] = scale
            self.noises_[_label(kind)] = noise

    def _predict_with_quadratic_form(self, X):
        return self._predict(X), self._quadratic_form(X)

    def _validate(self, X):
        check_is_fitted(self)
        if is_dask_array(X):
            return check_rows(X, self.n_features_in_, type(self).__name__)
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _per_row(self, X, function, n_columns=None):
        """``function(model, X)``, chunk by chunk (a lazy dask array) for dask X.

        The chunks are answered by :meth:`_light`, without the per-row
        training results that every task would otherwise carry to the workers.
        """
        if is_dask_array(X):
            return map_rows(X, functools.partial(function, self._light()), n_columns)
        return function(self, X)

    def _light(self):
        """A shallow copy for tasks on dask chunks: no per-row training results."""
        model = copy.copy(self)
        for name in ("loo_residual_", "loo_rigidity_", "_stream"):
            model.__dict__.pop(name, None)
        return model

    def _rigidity(self, quadratic_form):
        """Rigidities in the user's units from normalized quadratic forms."""
        return self.weight_scale_ * reciprocal(quadratic_form)

    def _scale_and_noise(self, kind):
        if kind is None:
            return self.uncertainty_scale_, self.noise_
        scales = getattr(self, "uncertainty_scales_", None)
        if scales is None or kind not in scales:
            known = "none" if scales is None else sorted(scales)
            raise ValueError(
                f"kind={kind!r} was not calibrated; the calibrated kinds are "
                f"{known}. Pass kinds= to fit (calibration='loo') or to "
                "calibrate(X, y, kinds=...), or use kind=None for the scale of "
                "all rows."
            )
        return scales[kind], self.noises_[kind]

    def _std(self, quadratic_form, kind=None, observation=False, prior_variance=None):
        # sqrt(a / R) from the normalized form, which stays in range
        scale, noise = self._scale_and_noise(kind)
        variance = scale / self.weight_scale_ * quadratic_form
        if prior_variance is not None:
            variance = variance + scale * prior_variance
        return np.sqrt(variance + noise if observation else variance)

    def predict(
        self,
        X,
        return_std=False,
        return_cov=False,
        *,
        kind=None,
        observation=False,
        prior_variance=None,
    ):
        """Predict, optionally with the calibrated standard deviation or covariance.

        .. math:: \\sigma(x)^2 = a / R(x) \\quad (+\\, \\nu
                  \text{ with observation=True})

        where ``a`` is :attr:`uncertainty_scale_` (or the scale of ``kind``)
        and ``R`` the prediction rigidity.  By default this is the uncertainty
        of the model's prediction (of the mean); with ``observation=True`` the
        fitted noise :attr:`noise_` is added: the uncertainty of a new
        measurement (``fit_noise=True``; otherwise the noise is 0).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False
        return_cov : bool, default=False
            The full covariance ``a G H^{-1} G^T`` of the predictions (plus
            ``nu I`` with ``observation=True``), as
            ``GaussianProcessRegressor.predict(return_cov=True)``.
        kind : None or label, default=None
            Which calibrated scale: ``None`` for all rows, or a label passed
            as ``kinds`` to ``fit`` or ``calibrate``.
        observation : bool, default=False
        prior_variance : array-like of shape (n_samples,), optional
            Added to ``1 / R`` of each query (see ``fit``), e.g. the Nystroem
            residual of the sparse route over its ``alpha``; on the diagonal
            only with ``return_cov`` (the FITC approximation).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,)
            Only with ``return_std=True``.
        y_cov : ndarray of shape (n_samples, n_samples)
            Only with ``return_cov=True``.
        """
        X = self._validate(X)
        if is_dask_array(X) and (return_cov or prior_variance is not None):
            raise ValueError(
                "return_cov and prior_variance need X in memory (the covariance "
                "of n rows is n x n); with a dask X, use return_std=True, or pass "
                "X.compute()."
            )
        if return_std and return_cov:
            raise ValueError(
                "At most one of return_std and return_cov can be requested; the "
                "standard deviations are the square roots of the diagonal of the "
                "covariance."
            )
        prior_variance = check_prior_variance(prior_variance, X.shape[0])
        if return_cov:
            scale, noise = self._scale_and_noise(kind)
            covariance = scale / self.weight_scale_ * self._cross_form(X)
            diagonal = np.diag_indices_from(covariance)
            if prior_variance is not None:
                covariance[diagonal] += scale * prior_variance
            if observation:
                covariance[diagonal] += noise
            return self._predict(X), covariance
        if not return_std:
            return self._per_row(X, lambda model, rows: model._predict(rows))
        self._scale_and_noise(kind)  # an unknown kind fails now, not at compute

        def both(model, rows):
            y_pred, quadratic = model._predict_with_quadratic_form(rows)
            return y_pred, model._std(quadratic, kind, observation, prior_variance)

        if is_dask_array(X):
            pair = self._per_row(
                X, lambda model, rows: np.column_stack(both(model, rows)), 2
            )
            return pair[:, 0], pair[:, 1]
        return both(self, X)

    def combination_rigidity(self, X, coefficients):
        """Rigidity of linear combinations of predictions, ``sum_i c_i f(x_i)``.

        .. math:: R(c) = \\left(g_c^\\top H^{-1} g_c\\right)^{-1}, \\quad
                  g_c = \\sum_i c_i g_i

        for energy differences between conformers (``c = [1, -1]``), reaction
        energies, averages over a trajectory.  The intercept cancels in
        combinations whose coefficients sum to zero.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        coefficients : array-like of shape (n_combinations, n_samples)
            One combination per row (a 1-D array is one combination).

        Returns
        -------
        ndarray of shape (n_combinations,)
        """
        X = self._validate(X)
        return self._rigidity(self._combination_form(X, coefficients))

    def predict_combination(self, X, coefficients, return_std=False, *, kind=None):
        """Linear combinations of predictions, optionally with their std.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        coefficients : array-like of shape (n_combinations, n_samples)
        return_std : bool, default=False
            ``sqrt(a / R(c))`` (see :meth:`combination_rigidity`).
        kind : None or label, default=None

        Returns
        -------
        values : ndarray of shape (n_combinations,)
        std : ndarray of shape (n_combinations,)
            Only with ``return_std=True``.
        """
        X = self._validate(X)
        matrix = self._combination_matrix(coefficients, X.shape[0])
        values = matrix @ self._predict(X)
        if not return_std:
            return values
        return values, self._std(self._combination_form(X, matrix), kind)

    def _combination_matrix(self, coefficients, n_samples):
        matrix = np.atleast_2d(np.asarray(coefficients, dtype=np.float64))
        if matrix.ndim != 2 or matrix.shape[1] != n_samples:
            raise ValueError(
                f"coefficients must have one column per row of X ({n_samples}), "
                f"got shape {np.shape(coefficients)}: one combination per row, "
                "e.g. [[1, -1, 0]] for f(x_0) - f(x_1)."
            )
        if not np.all(np.isfinite(matrix)):
            raise ValueError("coefficients must be finite.")
        return matrix

    def _combination_form(self, X, coefficients):
        matrix = self._combination_matrix(coefficients, X.shape[0])
        used = np.flatnonzero(np.any(matrix != 0, axis=0))
        cross = self._cross_form(X[used])
        part = matrix[:, used]
        return np.maximum(np.einsum("ij,jk,ik->i", part, cross, part), 0.0)

    def predict_rigidity(self, X):
        """Prediction rigidity (PR) of each sample.

        .. math:: R(x) = \\left(g^\\top H^{-1} g\\right)^{-1}, \\quad g = [x, 1]

        (``g = x`` without intercept).  ``Delta L = R eps^2 / 2`` is the rise
        of the training loss when the prediction for ``x`` is forced ``eps``
        away from its optimum.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._per_row(
            self._validate(X),
            lambda model, rows: model._rigidity(model._quadratic_form(rows)),
        )

    def local_rigidity(self, X_local):
        """Local prediction rigidity (LPR) of each environment.

        .. math:: R_j = \\left(x_j^\\top H^{-1} x_j\\right)^{-1}

        for per-environment rows ``x_j`` of a model fitted on per-structure
        sums of them (see :func:`skpr.pool_structures`).  The intercept is not
        part of an environment's prediction.  When the model is the last step
        of a pipeline, pass the rows through its transformers with
        :func:`skpr.local_features`, which applies only their linear part.

        Parameters
        ----------
        X_local : array-like of shape (n_environments, n_features)

        Returns
        -------
        ndarray of shape (n_environments,)
        """
        return self._per_row(
            self._validate(X_local),
            lambda model, rows: model._rigidity(model._local_quadratic_form(rows)),
        )

    def component_rigidity(self, X, *, as_frame=False):
        """Component-wise prediction rigidity (CPR) of each block.

        .. math:: R_b(x) = \\left(x_b^\\top [H^{-1}]_{bb}\\, x_b\\right)^{-1}

        using the ``(b, b)`` block of the inverse Hessian, so that the other
        blocks are free to compensate a change of block ``b``'s prediction.
        Given per-environment rows it is the local CPR.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        as_frame : bool, default=False
            Return a pandas DataFrame, one column per block named by
            :attr:`block_names_` (the prefixes of a ``FeatureUnion`` or
            ``ColumnTransformer`` with ``blocks="names"``), indexed like ``X``
            when it is a DataFrame.

        Returns
        -------
        ndarray or DataFrame of shape (n_samples, n_blocks)
        """
        values = self._per_row(
            self._validate(X),
            lambda model, rows: model._rigidity(model._component_quadratic_form(rows)),
            len(self.block_names_),
        )
        return self._as_frame(values, X) if as_frame else values

    def predict_components(self, X, *, as_frame=False):
        """Prediction of each block; with ``intercept_`` they sum to ``predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        as_frame : bool, default=False
            Return a pandas DataFrame with a column per block, as
            :meth:`component_rigidity` does.

        Returns
        -------
        ndarray or DataFrame of shape (n_samples, n_blocks)
        """
        values = self._per_row(
            self._validate(X),
            lambda model, rows: model._predict_components(rows),
            len(self.block_names_),
        )
        return self._as_frame(values, X) if as_frame else values

    def _as_frame(self, values, X):
        if is_dask_array(values):
            raise ValueError(
                "as_frame=True gives a pandas DataFrame, which holds its rows in "
                "memory; with a dask X, take the dask array (as_frame=False) or "
                "pass X.compute()."
            )
        return block_frame(values, self.block_names_, X)

    def calibrate(self, X, y, sample_weight=None, *, kinds=None, prior_variance=None):
        """Refit :attr:`uncertainty_scale_` (and the noise) on held-out data.

        .. math:: a = \\frac{\\sum_i w_i (y_i - \\hat y_i)^2 R_i}{\\sum_i w_i}

        the maximum-likelihood scale of ``var = a / R`` on these rows (with
        ``fit_noise=True``, scale and noise of ``var = a / R + nu``); rows
        with an infinite rigidity (all-zero features without intercept) carry
        no information on the scale and are left out.  The model itself is
        unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the rows in the average.
        kinds : array-like of shape (n_samples,), optional
            One scale per kind of row, as in ``fit``.
        prior_variance : array-like of shape (n_samples,), optional
            As in ``fit``.

        Returns
        -------
        self
        """
        check_is_fitted(self)
        if any_dask(X, y, sample_weight):
            residual, quadratic, sample_weight = self._dask_residuals(
                X, y, sample_weight
            )
            kinds = per_row_labels(kinds, residual.shape[0], "kinds")
        else:
            X, y = validate_data(
                self, X, y, reset=False, y_numeric=True, dtype=np.float64
            )
            sample_weight = check_sample_weight(sample_weight, X.shape[0])
            kinds = check_labels(kinds, X.shape[0], "kinds")
            y_pred, quadratic = self._predict_with_quadratic_form(X)
            residual = y - y_pred
        prior_variance = check_prior_variance(prior_variance, residual.shape[0])
        for name in ("uncertainty_scales_", "noises_"):
            self.__dict__.pop(name, None)
        rigidity = self.weight_scale_ * reciprocal(quadratic)
        rigidity = with_prior(rigidity, prior_variance)
        self._set_scales(residual, rigidity, sample_weight, kinds)
        return self

    def _dask_residuals(self, X, y, sample_weight):
        """Residual, PR quadratic form and weight of dask rows, gathered."""
        X = self._validate(X if is_dask_array(X) else _as_dask(X))
        y, weight = aligned(y, X, "y"), aligned(sample_weight, X, "sample_weight")
        model = self._light()

        def rows(x, t, w):
            y_pred, quadratic = model._predict_with_quadratic_form(x)
            return t - y_pred, quadratic, w

        residual, quadratic, weight = map_chunks(X, y, weight, rows)
        return residual, quadratic, check_sample_weight(weight, residual.shape[0])


def _as_dask(X):
    import dask.array as da

    return da.from_array(np.asarray(X, dtype=np.float64))


def _label(value):
    """A numpy label as the plain Python value users type (``"force"``, ``3``)."""
    return value.item() if isinstance(value, np.generic) else value


def check_labels(labels, n_samples, name):
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n_samples:
        raise ValueError(
            f"{name} must have one label per row of X ({n_samples}), got shape "
            f"{array.shape}."
        )
    return array


def check_prior_variance(prior_variance, n_samples):
    if prior_variance is None:
        return None
    values = np.asarray(prior_variance, dtype=np.float64)
    if (
        values.shape != (n_samples,)
        or not np.all(np.isfinite(values))
        or np.any(values < 0)
    ):
        raise ValueError(
            f"prior_variance must be {n_samples} finite non-negative values, one "
            f"per row of X, got shape {values.shape}; e.g. "
            "nystroem_residual(feature_map, X_local, structure_index) / alpha."
        )
    return values


def with_prior(rigidity, prior_variance):
    """``1 / (1 / R + prior_variance)``: the rigidity with the missing variance."""
    if prior_variance is None:
        return rigidity
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 / rigidity + prior_variance)


def block_frame(values, block_names, X=None):
    """``values`` (one column per block) as a DataFrame named by the blocks.

    The index is ``X``'s when ``X`` is a DataFrame (or Series) of as many rows.
    """
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(
            "as_frame=True needs pandas, which is not installed: pip install pandas."
        ) from error
    index = getattr(X, "index", None)
    if index is not None and len(index) != len(values):
        index = None
    return pd.DataFrame(values, columns=list(block_names), index=index)
