"""What every rigidity regressor shares: validation, uncertainties, calibration.

A subclass computes its fitted state in ``_fit`` and provides the quadratic
forms ``g^T H^{-1} g`` for the three kinds of ``g`` (paper Table 1).  This
class turns them into rigidities, standard deviations and calibration.
"""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from skpr._calibration import leave_one_out, uncertainty_scale
from skpr._validation import check_sample_weight


def reciprocal(quadratic_form):
    # A zero quadratic form means a prediction no weight can move: R = inf.
    with np.errstate(divide="ignore"):
        return 1.0 / quadratic_form


class RigidityRegressor(RegressorMixin, BaseEstimator):
    """Base class of the skpr regressors (not public).

    Subclasses implement ``_fit(X, y, sample_weight)`` (which returns what
    ``_leave_one_out`` needs when ``calibration == "loo"``, by default the PR of
    the training rows, else None),
    ``_predict(X)``, ``_predict_components(X)``, and the quadratic forms
    ``_quadratic_form(X)`` (PR), ``_local_quadratic_form(X)`` (LPR) and
    ``_component_quadratic_form(X)`` (CPR).
    """

    _calibrations = ("loo", None)

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
        if self.calibration not in self._calibrations:
            raise ValueError(
                f"calibration must be 'loo' (closed-form leave-one-out at fit time) "
                f"or None (scale 1; call calibrate(X, y) on held-out data later), "
                f"got {self.calibration!r}."
            )
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
        fitted = self._fit(X, y, sample_weight)
        self.uncertainty_scale_ = 1.0
        if self.calibration == "loo":
            self.loo_residual_, self.loo_rigidity_ = self._leave_one_out(
                X, y, sample_weight, fitted
            )
            # the weighted likelihood: a zero-weight row is a removed row
            self.uncertainty_scale_ = uncertainty_scale(
                self.loo_residual_, self.loo_rigidity_, sample_weight
            )
        return self

    def _leave_one_out(self, X, y, sample_weight, training_rigidity):
        # closed form from the residuals and the PR of the training rows, which
        # _fit returned; a subclass may have a form that cancels less
        return leave_one_out(y - self._predict(X), training_rigidity, sample_weight)

    def _validate(self, X):
        check_is_fitted(self)
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _rigidity(self, X):
        return reciprocal(self._quadratic_form(X))

    def predict(self, X, return_std=False):
        """Predict, optionally with the calibrated standard deviation.

        .. math:: \\sigma(x) = \\sqrt{a / R(x)}

        where ``a`` is :attr:`uncertainty_scale_` and ``R`` the prediction
        rigidity.

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
        y_pred = self._predict(X)
        if not return_std:
            return y_pred
        return y_pred, np.sqrt(self.uncertainty_scale_ / self._rigidity(X))

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
        return self._rigidity(self._validate(X))

    def local_rigidity(self, X_local):
        """Local prediction rigidity (LPR) of each environment.

        .. math:: R_j = \\left(x_j^\\top H^{-1} x_j\\right)^{-1}

        for per-environment rows ``x_j`` of a model fitted on per-structure
        sums of them (see :func:`skpr.pool_structures`).  The intercept is not
        part of an environment's prediction.

        Parameters
        ----------
        X_local : array-like of shape (n_environments, n_features)

        Returns
        -------
        ndarray of shape (n_environments,)
        """
        return reciprocal(self._local_quadratic_form(self._validate(X_local)))

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
        return reciprocal(self._component_quadratic_form(self._validate(X)))

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

        the maximum-likelihood scale of ``var = a / R`` on these rows.  The
        model itself is unchanged.

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
        self.uncertainty_scale_ = uncertainty_scale(
            y - self._predict(X), self._rigidity(X), sample_weight
        )
        return self
