"""Ridge regression with feature blocks and prediction rigidities."""

import numpy as np

from skpr._base import RigidityRegressor, reciprocal
from skpr._blocks import resolve_alpha, resolve_blocks
from skpr._linalg import (
    block_inverse_quadratic_form,
    factor_least_squares,
    inverse_quadratic_form,
    matvec,
)


class BlockRidge(RigidityRegressor):
    """Ridge regression with one regularization per feature block, and its rigidities.

    Minimizes

    .. math:: L(w, c) = \\tfrac12 \\sum_i s_i (y_i - x_i \\cdot w - c)^2
              + \\tfrac12 \\sum_b \\alpha_b \\lVert w_b \\rVert^2

    and keeps the Cholesky factor of its Hessian
    ``H = X^T S X + Lambda`` (on weighted-centered ``X`` when an intercept is
    fitted).  Every rigidity is then one triangular solve:
    PR (:meth:`predict_rigidity`), LPR (:meth:`local_rigidity`), CPR
    (:meth:`component_rigidity`), and the calibrated standard deviation
    ``sqrt(uncertainty_scale_ / PR)`` of :meth:`predict`.

    Parameters
    ----------
    alpha : float, sequence of float, or dict, default=1.0
        Regularization, as in :class:`sklearn.linear_model.Ridge`: one value
        for all blocks, one per block in column order, or a dict mapping block
        names to values.  Must be positive.
    blocks : None, list of int, or "names", default=None
        ``None``: all features form one block.  A list: the size of each
        block, in column order.  ``"names"``: one block per ``name__`` prefix
        of the column names of X (the output of ``FeatureUnion`` or
        ``ColumnTransformer`` with pandas output).
    fit_intercept : bool, default=True
        Fit an unregularized intercept.  It enters the PR (as ``g = [x, 1]``)
        but not the LPR or CPR.
    calibration : {"loo", None}, default="loo"
        ``"loo"``: fit :attr:`uncertainty_scale_` by maximum likelihood on the
        closed-form leave-one-out residuals (no refits).  ``None``: scale 1
        until :meth:`calibrate` is called with held-out data.
    solver : {"auto", "cholesky", "qr"}, default="auto"
        How the Hessian is factored.  ``"cholesky"`` forms the normal
        equations; ``"qr"`` factors ``[sqrt(S) X; sqrt(Lambda)]`` without
        squaring its condition number (about twice the cost); ``"auto"``
        switches to QR when the normal equations would lose more than half
        of the digits.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    cholesky_ : ndarray of shape (n_features, n_features)
        Upper-triangular ``R`` with ``R^T R = H`` (positive diagonal).
    solver_ : str
        ``"cholesky"`` or ``"qr"``, the factorization that was used.
    blocks_ : tuple of slice
        Column range of each block.
    block_names_ : tuple of str
    alpha_ : ndarray of shape (n_blocks,)
        Regularization of each block.
    X_offset_ : ndarray of shape (n_features,)
        Weighted mean of the training rows (zero without intercept).
    sample_weight_sum_ : float
        ``sum(s)``, the rigidity of the intercept alone.
    uncertainty_scale_ : float
        ``a`` in ``var(x) = a / R(x)``.
    loo_residual_, loo_rigidity_ : ndarray of shape (n_samples,)
        Leave-one-out residuals and rigidities of the training rows (only
        with ``calibration="loo"``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had column names.

    Notes
    -----
    Fit costs ``O(n F^2 + F^3)`` (``X^T S X``, one Cholesky, and one
    triangular solve for the leave-one-out leverages); every query costs
    ``O(F^2)`` per row, ``B`` times that for the CPR of ``B`` blocks.

    References
    ----------
    S. Chong et al., "Prediction rigidities for data-driven chemistry",
    Faraday Discuss. (2024), doi:10.1039/d4fd00101j, eqs. 1-3 and Table 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import BlockRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4))
    >>> y = X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.normal(size=50)
    >>> model = BlockRidge(alpha=[1e-2, 1.0], blocks=[2, 2]).fit(X, y)
    >>> y_pred, y_std = model.predict(X[:3], return_std=True)
    >>> model.component_rigidity(X[:3]).shape
    (3, 2)
    >>> bool(np.allclose(model.predict_components(X).sum(1) + model.intercept_,
    ...                  model.predict(X)))
    True
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        blocks=None,
        fit_intercept=True,
        calibration="loo",
        solver="auto",
    ):
        self.alpha = alpha
        self.blocks = blocks
        self.fit_intercept = fit_intercept
        self.calibration = calibration
        self.solver = solver

    def _fit(self, X, y, sample_weight):
        if self.solver not in ("auto", "cholesky", "qr"):
            raise ValueError(
                f"solver must be 'auto', 'cholesky' or 'qr', got {self.solver!r}."
            )
        self.blocks_, self.block_names_ = resolve_blocks(
            self.blocks, X.shape[1], getattr(self, "feature_names_in_", None)
        )
        self.alpha_, alpha_diag = resolve_alpha(
            self.alpha, self.blocks_, self.block_names_
        )
        self.sample_weight_sum_ = float(sample_weight.sum())
        if self.fit_intercept:
            # With weighted centering the intercept decouples from w: H becomes
            # block diagonal, diag(H_c, sum(s)).
            self.X_offset_ = sample_weight @ X / self.sample_weight_sum_
            y_offset = sample_weight @ y / self.sample_weight_sum_
        else:
            self.X_offset_ = np.zeros(X.shape[1])
            y_offset = 0.0
        # One (n, F) temporary, centered and weighted in place; X is untouched.
        Xw = np.subtract(X, self.X_offset_, order="C")
        yw = y - y_offset
        root_weight = np.sqrt(sample_weight)
        if np.any(sample_weight != 1.0):
            Xw *= root_weight[:, None]
            yw *= root_weight
        factor, self.coef_, self.solver_ = factor_least_squares(
            Xw, yw, alpha_diag, solver=self.solver
        )
        # Rows of a QR factor may carry a sign; fixing the diagonal positive
        # makes it the unique Cholesky factor whatever the solver.
        self.cholesky_ = np.sign(np.diag(factor))[:, None] * factor
        self.intercept_ = float(y_offset - self.X_offset_ @ self.coef_)
        if self.calibration != "loo":
            return None
        # PR of the training rows from the rows already centered and weighted:
        # |R^-T sqrt(s) (x - xbar)|^2 / s = (x - xbar)^T H_c^-1 (x - xbar).
        positive = sample_weight > 0
        if positive.all():
            quadratic = inverse_quadratic_form(self.cholesky_, Xw) / sample_weight
        else:  # a zero-weight row is zero in Xw: take it as a query
            quadratic = np.empty(X.shape[0])
            quadratic[positive] = (
                inverse_quadratic_form(self.cholesky_, Xw[positive])
                / sample_weight[positive]
            )
            quadratic[~positive] = inverse_quadratic_form(
                self.cholesky_, X[~positive] - self.X_offset_
            )
        if self.fit_intercept:
            quadratic += 1.0 / self.sample_weight_sum_
        return reciprocal(quadratic)

    def _predict(self, X):
        return matvec(X, self.coef_) + self.intercept_

    def _predict_components(self, X):
        return np.stack([X[:, b] @ self.coef_[b] for b in self.blocks_], axis=1)

    def _quadratic_form(self, X):
        # g = [x, 1]; in the centered parameters H = diag(H_c, sum(s)).
        quadratic = inverse_quadratic_form(self.cholesky_, X - self.X_offset_)
        if self.fit_intercept:
            quadratic += 1.0 / self.sample_weight_sum_
        return quadratic

    def _local_quadratic_form(self, X_local):
        return inverse_quadratic_form(self.cholesky_, X_local)

    def _component_quadratic_form(self, X):
        return block_inverse_quadratic_form(self.cholesky_, X, self.blocks_)
