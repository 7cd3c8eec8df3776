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

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skpr._calibration import uncertainty_scale
from skpr._validation import check_choice, check_sample_weight

#: Fitted attributes that only some fits set: removed at the start of ``fit``
#: so that a refit never leaves one from an earlier fit behind.
_OPTIONAL_FITTED = ("loo_residual_", "loo_rigidity_")


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

    def fit(self, X, y, sample_weight=None):
        """Fit the model, factor its Hessian, and calibrate the uncertainty.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One row per training sample (e.g. per structure).
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Weight ``s_i >= 0`` of each row in the loss; a zero weight removes
            the row.

        Returns
        -------
        self
        """
        self._check_params()
        for name in _OPTIONAL_FITTED:
            self.__dict__.pop(name, None)
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=np.float64
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
        y = y.astype(np.float64, copy=False)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if self.calibration == "loo" and np.count_nonzero(sample_weight) < 2:
            raise ValueError(
                "calibration='loo' needs at least 2 samples with positive weight; "
                f"got {np.count_nonzero(sample_weight)} sample(s). Use "
                "calibration=None, or fit on more data."
            )
        self.weight_scale_ = float(sample_weight.max())
        sample_weight = sample_weight / self.weight_scale_
        self._fit(X, y, sample_weight)
        self.uncertainty_scale_ = 1.0
        if self.calibration == "loo":
            self.loo_residual_, loo_rigidity = self._leave_one_out(X, y, sample_weight)
            # the weighted likelihood: a zero-weight row is a removed row
            scale = uncertainty_scale(self.loo_residual_, loo_rigidity, sample_weight)
            self.loo_rigidity_ = loo_rigidity * self.weight_scale_
            self.uncertainty_scale_ = scale * self.weight_scale_
        return self

    def _predict_with_quadratic_form(self, X):
        return self._predict(X), self._quadratic_form(X)

    def _validate(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _rigidity(self, quadratic_form):
        """Rigidities in the user's units from normalized quadratic forms."""
        return self.weight_scale_ * reciprocal(quadratic_form)

    def _std(self, quadratic_form):
        # sqrt(a / R) from the normalized scale and form, which stay in range
        return np.sqrt(self.uncertainty_scale_ / self.weight_scale_ * quadratic_form)

    def predict(self, X, return_std=False):
        """Predict, optionally with the calibrated standard deviation.

        .. math:: \\sigma(x) = \\sqrt{a / R(x)}

        where ``a`` is :attr:`uncertainty_scale_` and ``R`` the prediction
        rigidity: the uncertainty of the model's prediction (of the mean), not
        of a new noisy observation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        return_std : bool, default=False

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        y_std : ndarray of shape (n_samples,)
            Only with ``return_std=True``.
        """
        X = self._validate(X)
        if not return_std:
            return self._predict(X)
        y_pred, quadratic = self._predict_with_quadratic_form(X)
        return y_pred, self._std(quadratic)

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
        return self._rigidity(self._quadratic_form(self._validate(X)))

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
        return self._rigidity(self._local_quadratic_form(self._validate(X_local)))

    def component_rigidity(self, X):
        """Component-wise prediction rigidity (CPR) of each block.

        .. math:: R_b(x) = \\left(x_b^\\top [H^{-1}]_{bb}\\, x_b\\right)^{-1}

        using the ``(b, b)`` block of the inverse Hessian, so that the other
        blocks are free to compensate a change of block ``b``'s prediction.
        Given per-environment rows it is the local CPR.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_blocks)
        """
        return self._rigidity(self._component_quadratic_form(self._validate(X)))

    def predict_components(self, X):
        """Prediction of each block; with ``intercept_`` they sum to ``predict``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_blocks)
        """
        return self._predict_components(self._validate(X))

    def calibrate(self, X, y, sample_weight=None):
        """Refit :attr:`uncertainty_scale_` on held-out data.

        .. math:: a = \\frac{\\sum_i w_i (y_i - \\hat y_i)^2 R_i}{\\sum_i w_i}

        the maximum-likelihood scale of ``var = a / R`` on these rows; rows
        with an infinite rigidity (all-zero features without intercept) carry
        no information on the scale and are left out.  The model itself is
        unchanged.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Weights of the rows in the average.

        Returns
        -------
        self
        """
        check_is_fitted(self)
        X, y = validate_data(self, X, y, reset=False, y_numeric=True, dtype=np.float64)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        y_pred, quadratic = self._predict_with_quadratic_form(X)
        # in normalized units, like the leave-one-out scale
        scale = uncertainty_scale(y - y_pred, reciprocal(quadratic), sample_weight)
        self.uncertainty_scale_ = scale * self.weight_scale_
        return self
