"""Kernel ridge regression with per-block kernels, and its rigidities in the dual.

With per-block kernels ``K_b`` (block ``b``'s columns only) and regularization
``alpha_b``, the model kernel is ``K~ = sum_b K_b / alpha_b``.  Everything is
computed from one Cholesky factor of ``A = K~ + S^{-1}`` (``S`` the diagonal of
sample weights), kept from ``fit``; by Woodbury every quadratic form of the
primal Hessian ``H = X^T S X + Lambda`` becomes

    g^T H^{-1} g = k~(x, x) - k~_x^T A^{-1} k~_x

(DESIGN.md section 1; S. Chong et al., Faraday Discuss. 2024).
"""

import numpy as np
from scipy import linalg

from skpr._base import RigidityRegressor, reciprocal
from skpr._blocks import resolve_alpha, resolve_blocks
from skpr._calibration import leave_one_out
from skpr._dual import dual_leave_one_out, dual_quadratic_form
from skpr._kernels import SPARSE_ROUTE, describe, is_linear, resolve_kernels
from skpr._linalg import (
    LEVERAGE_DIRECT,
    cholesky_upper,
    chunks,
    whiten,
)
from skpr._validation import check_bool

#: Relative asymmetry of a training kernel matrix above which it is refused.
SYMMETRY_RTOL = 1e-8

#: A leverage below ``-LEVERAGE_ATOL`` cannot come from a positive
#: semi-definite kernel (it lies in [0, 1]); above it, it is rounding.
LEVERAGE_ATOL = 1e-8

NOT_POSITIVE_SEMIDEFINITE = (
    "The kernel is not positive semi-definite on the training rows ({detail}), "
    "so the loss has no minimum and rigidities are meaningless. Use a positive "
    "semi-definite kernel: check a callable kernel, and note that 'sigmoid' and "
    "'additive_chi2' are not positive semi-definite in general."
)


def check_kernel_matrix(kernel_matrix):
    """Refuse a training kernel matrix that is visibly not PSD.

    Parameters
    ----------
    kernel_matrix : ndarray of shape (n, n)

    Raises
    ------
    numpy.linalg.LinAlgError
        If it is not symmetric (to :data:`SYMMETRY_RTOL`) or has a negative
        diagonal entry.
    """
    scale = np.max(np.abs(kernel_matrix), initial=0.0)
    difference = np.subtract(kernel_matrix, kernel_matrix.T)
    asymmetry = np.max(np.abs(difference, out=difference), initial=0.0)
    del difference
    if asymmetry > SYMMETRY_RTOL * scale:
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_SEMIDEFINITE.format(
                detail=f"the kernel matrix is not symmetric: |K - K^T| reaches "
                f"{asymmetry:.3g} for entries up to {scale:.3g}"
            )
        )
    diagonal = np.diagonal(kernel_matrix)
    if np.any(diagonal < 0):
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_SEMIDEFINITE.format(
                detail=f"k(x, x) < 0 for {np.sum(diagonal < 0)} training rows, "
                f"down to {diagonal.min():.3g}"
            )
        )


class BlockKernelRidge(RigidityRegressor):
    """Kernel ridge regression with one kernel and regularization per feature block.

    The kernel of the model is a sum of per-block kernels, each evaluated on
    the columns of its block,

    .. math:: \\tilde k(x, x') = \\sum_b \\frac{k_b(x_b, x'_b)}{\\alpha_b},

    and the model is the minimizer of the block-ridge loss of
    :class:`BlockRidge` in the feature spaces of these kernels, without
    intercept (like :class:`sklearn.kernel_ridge.KernelRidge`):

    .. math:: f(x) = \\tilde k_x^\\top c, \\qquad
              c = (\\tilde K + S^{-1})^{-1} y,

    with ``S`` the diagonal of sample weights.  Every rigidity comes from the
    Cholesky factor of ``A = K~ + S^{-1}`` kept from ``fit``:

    .. math:: R(x)^{-1} = \\tilde k(x, x) - \\tilde k_x^\\top A^{-1} \\tilde k_x,
              \\qquad
              R_b(x)^{-1} = \\frac{k_b(x, x)}{\\alpha_b}
              - \\frac{k_{b,x}^\\top A^{-1} k_{b,x}}{\\alpha_b^2}.

    With ``kernel="linear"`` these are exactly the rigidities of
    ``BlockRidge(fit_intercept=False)``; with one kernel ``k`` and
    ``alpha=a`` the standard deviation of
    :class:`sklearn.gaussian_process.GaussianProcessRegressor` ``(k, alpha=a)``
    is ``sqrt(a / R(x))``.

    Parameters
    ----------
    alpha : float, sequence of float, or dict, default=1.0
        Regularization, one value for all blocks, one per block in column
        order, or a dict mapping block names to values.  Must be positive.
    kernel : str, callable, Kernel, or list of those, default="linear"
        One kernel for all blocks or one per block: a key of
        :func:`sklearn.metrics.pairwise.kernel_metrics` (``"linear"``,
        ``"rbf"``, ``"laplacian"``, ``"polynomial"``, ``"cosine"``, ...), a
        callable ``kernel(X, Y, **kernel_params)`` returning the
        ``(len(X), len(Y))`` kernel matrix (e.g.
        :func:`sklearn.metrics.pairwise.rbf_kernel`; unlike ``KernelRidge``
        it is called on whole arrays, not on pairs of rows), or a
        :mod:`sklearn.gaussian_process.kernels` object (its hyperparameters
        are used as given, not optimized).  The kernel must be positive
        semi-definite.
    blocks : None, list of int, or "names", default=None
        ``None``: all features form one block.  A list: the size of each
        block, in column order.  ``"names"``: one block per ``name__`` prefix
        of the column names of X.
    kernel_params : None, dict, or list of (None or dict), default=None
        Keyword arguments of string and callable kernels (e.g.
        ``{"gamma": 0.5}``), for all blocks or one entry per block.
    calibration : {"loo", None}, default="loo"
        ``"loo"``: fit :attr:`uncertainty_scale_` on the closed-form
        leave-one-out residuals (no refits).  ``None``: scale 1 until
        :meth:`calibrate` is called with held-out data.
    fit_noise : bool, default=False
        Also fit a noise variance ``noise_`` next to the scale, by maximum
        likelihood of ``var = scale / R + noise`` on the leave-one-out (or
        held-out, :meth:`calibrate`) residuals.  ``predict(return_std=True)``
        still gives the uncertainty of the prediction, ``scale / R``;
        ``observation=True`` adds the noise (a new measurement).  ``False``
        is the paper's ``var = scale / R``.

    Attributes
    ----------
    dual_coef_ : ndarray of shape (n_support,)
        ``c = A^{-1} y`` on the training rows with positive weight, so that
        ``f(x) = k~_x^T c``.
    X_fit_ : ndarray of shape (n_support, n_features)
        The training rows with positive weight (rows with zero weight are
        not part of the loss and are dropped).
    support_ : ndarray of shape (n_support,)
        Indices of those rows in the training set.
    support_weight_ : ndarray of shape (n_support,)
        Their sample weights.
    cholesky_ : ndarray of shape (n_support, n_support)
        Upper triangular ``R`` with ``R^T R = A = K~ + S^{-1}``, built with
        the normalized weights ``s / weight_scale_`` and regularization
        ``alpha_ / weight_scale_`` (the same matrix for unit weights): the
        model is invariant under ``(s, alpha) -> (c s, c alpha)``, and the
        normalization keeps ``1 / s`` finite for any positive weight.
    weight_scale_ : float
        ``max(sample_weight)`` (1 for unit weights).
    kernels_ : tuple
        The kernel of each block, as objects with ``__call__(X, Y=None)`` and
        ``diag(X)``.
    blocks_ : tuple of slice
    block_names_ : tuple of str
    alpha_ : ndarray of shape (n_blocks,)
    uncertainty_scale_ : float
        ``a`` in ``var(x) = a / R(x)``.
    noise_ : float
        ``nu`` in ``var = a / R + nu`` (0 unless ``fit_noise=True``).
    uncertainty_scales_, noises_ : dict
        Scale and noise of each kind of row, when ``kinds`` was given to
        ``fit`` (with ``calibration="loo"``) or to :meth:`calibrate`.
    loo_residual_, loo_rigidity_ : ndarray of shape (n_samples,)
        Leave-one-out (with ``groups``: leave-one-group-out) residuals and
        rigidities of the training rows (only with ``calibration="loo"``).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had column names.

    See Also
    --------
    BlockRidge : the primal model, and the sparse route for local kernels.

    Notes
    -----
    Fit costs ``O(n^2 F)`` for the kernel, ``n^3 / 3`` flops for the
    Cholesky factor and, with ``calibration="loo"``, another ``n^3 / 3`` for
    the diagonal of ``A^{-1}``: the leave-one-out values come from
    ``1 - h_i = [A^{-1}]_{ii} / s_i`` and ``r_i^loo = c_i / [A^{-1}]_{ii}``,
    which do not cancel near interpolation (the same helper as
    :class:`BlockRidge`'s dual route); rows whose leverage ``h_i`` is below
    ``1e-6`` (strong regularization) take ``h_i = s_i q_i`` directly.  Memory
    ``O(n^2)``.  Each query costs ``O(n F + n^2)``, ``B`` times that for the
    CPR of ``B`` blocks; ``predict(return_std=True)`` evaluates each kernel
    block once for both.

    The PR of a query inside the span of the training data is a difference
    ``k~(x, x) - k~_x^T A^{-1} k~_x`` of nearly equal terms: it loses about
    ``eps * k~(x, x) / q(x)`` (roughly ``eps / alpha`` for unit kernels) in
    relative accuracy, inherent to the dual form, as in Gaussian-process
    regression.  A training row of zeros under a linear kernel has an
    infinite rigidity and is left out of the uncertainty scale.

    :meth:`local_rigidity` needs a kernel that is additive over the
    environments of a structure, which only ``kernel="linear"`` is here.  For
    local non-linear kernels (a structure's kernel being the sum over pairs of
    environments), use the sparse route: per-environment
    :class:`sklearn.kernel_approximation.Nystroem` features (active points
    e.g. from :func:`skpr.farthest_point_sampling`), summed per structure with
    :func:`skpr.pool_structures`, fitted with :class:`skpr.BlockRidge`, whose
    :meth:`~BlockRidge.local_rigidity` then gives the LPR of every
    environment (the projected-process, or subset-of-regressors,
    approximation).

    References
    ----------
    S. Chong et al., "Prediction rigidities for data-driven chemistry",
    Faraday Discuss. (2024), doi:10.1039/d4fd00101j, eqs. 1-3 and Table 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import BlockKernelRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> y = np.sin(X[:, 0]) + X[:, 2] * X[:, 3] + 0.05 * rng.normal(size=60)
    >>> model = BlockKernelRidge(
    ...     alpha=[1e-2, 1e-1], kernel="rbf", blocks=[2, 2],
    ...     kernel_params={"gamma": 0.5},
    ... ).fit(X, y)
    >>> y_pred, y_std = model.predict(X[:3], return_std=True)
    >>> model.component_rigidity(X[:3]).shape
    (3, 2)
    >>> bool(np.allclose(model.predict_components(X).sum(1), model.predict(X)))
    True
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        kernel="linear",
        blocks=None,
        kernel_params=None,
        calibration="loo",
        fit_noise=False,
    ):
        self.alpha = alpha
        self.kernel = kernel
        self.blocks = blocks
        self.kernel_params = kernel_params
        self.calibration = calibration
        self.fit_noise = fit_noise

    def _check_params(self):
        self._check_calibration()
        check_bool(self.fit_noise, "fit_noise")

    def _fit(self, X, y, sample_weight):
        self.blocks_, self.block_names_ = resolve_blocks(
            self.blocks, X.shape[1], getattr(self, "feature_names_in_", None)
        )
        self.alpha_, _ = resolve_alpha(self.alpha, self.blocks_, self.block_names_)
        self.kernels_ = resolve_kernels(
            self.kernel, self.kernel_params, self.block_names_
        )
        # normalized with the weights (see RigidityRegressor)
        self._alpha = self.alpha_ / self.weight_scale_
        # A zero weight is an infinite noise variance: the row leaves the loss.
        self.support_ = np.flatnonzero(sample_weight > 0)
        self.support_weight_ = sample_weight[self.support_] * self.weight_scale_
        self.X_fit_ = X[self.support_]
        kernel_matrix = np.zeros((self.support_.size, self.support_.size))
        for kernel, block, alpha in zip(
            self.kernels_, self.blocks_, self._alpha, strict=True
        ):
            kernel_matrix += kernel(self.X_fit_[:, block]) / alpha
        check_kernel_matrix(kernel_matrix)
        kernel_matrix[np.diag_indices_from(kernel_matrix)] += (
            1.0 / sample_weight[self.support_]
        )
        # the transpose of a symmetric C-ordered matrix is Fortran ordered:
        # LAPACK factors it in place
        self.cholesky_ = cholesky_upper(
            kernel_matrix.T, what="A = K~ + S^-1 (sum_b K_b / alpha_b + 1 / s)"
        )
        self._dual_coef = linalg.cho_solve((self.cholesky_, False), y[self.support_])
        # A^{-1} y in the user's units (A scales with 1 / weight_scale_)
        self.dual_coef_ = self._dual_coef * self.weight_scale_

    def _block_cross_kernels(self, X):
        """``k_b(x_i, x) / alpha_b`` of each block, shape (n_support, n_queries)."""
        return [
            kernel(self.X_fit_[:, block], X[:, block]) / alpha
            for kernel, block, alpha in zip(
                self.kernels_, self.blocks_, self._alpha, strict=True
            )
        ]

    def _block_diagonals(self, X):
        """``k_b(x, x) / alpha_b`` of each block, shape (n_queries,)."""
        return [
            kernel.diag(X[:, block]) / alpha
            for kernel, block, alpha in zip(
                self.kernels_, self.blocks_, self._alpha, strict=True
            )
        ]

    def _predict(self, X):
        return self._predict_components(X).sum(axis=1)

    def _predict_components(self, X):
        out = np.empty((X.shape[0], len(self.blocks_)))
        for rows in chunks(X.shape[0]):
            for b, cross in enumerate(self._block_cross_kernels(X[rows])):
                out[rows, b] = self._dual_coef @ cross
        return out

    def _predict_with_quadratic_form(self, X):
        # one kernel evaluation per chunk serves the mean and the variance
        prediction, quadratic = np.empty(X.shape[0]), np.empty(X.shape[0])
        for rows in chunks(X.shape[0]):
            cross = sum(self._block_cross_kernels(X[rows]))
            prediction[rows] = self._dual_coef @ cross
            quadratic[rows] = dual_quadratic_form(
                self.cholesky_, cross, sum(self._block_diagonals(X[rows]))
            )
        return prediction, quadratic

    def _quadratic_form(self, X):
        out = np.empty(X.shape[0])
        for rows in chunks(X.shape[0]):
            out[rows] = dual_quadratic_form(
                self.cholesky_,
                sum(self._block_cross_kernels(X[rows])),
                sum(self._block_diagonals(X[rows])),
            )
        return out

    def _cross_form(self, Xa, Xb=None, *, intercept=True):
        """``k~(a, b) - k~_a^T A^{-1} k~_b``; without ``intercept``, linear kernels."""
        if not intercept:
            self._check_additive("A covariance of per-environment rows (forces)")
        Xb = Xa if Xb is None else Xb
        direct = sum(
            kernel(Xa[:, block], Xb[:, block]) / alpha
            for kernel, block, alpha in zip(
                self.kernels_, self.blocks_, self._alpha, strict=True
            )
        )
        za = whiten(self.cholesky_, sum(self._block_cross_kernels(Xa)).T)
        zb = (
            za
            if Xb is Xa
            else whiten(self.cholesky_, sum(self._block_cross_kernels(Xb)).T)
        )
        return direct - za.T @ zb

    def _query_cross(self, X, Q, kind="rigidity", block=None):
        """``G H^{-1} Q^T`` in the dual: rows ``X`` against query functionals.

        ``kind``: ``"rigidity"`` (the prediction at ``q``), ``"local"`` (an
        environment, linear kernels only) or ``"component"`` (block
        ``block``'s part of the prediction at ``q``).
        """
        if kind == "local":
            self._check_additive("local_rigidity")
        if kind == "component":
            kernels = [self.kernels_[block]]
            blocks, alphas = [self.blocks_[block]], [self._alpha[block]]
            query = self._block_cross_kernels(Q)[block]
        else:
            kernels, blocks, alphas = self.kernels_, self.blocks_, self._alpha
            query = sum(self._block_cross_kernels(Q))
        direct = sum(
            kernel(X[:, b], Q[:, b]) / alpha
            for kernel, b, alpha in zip(kernels, blocks, alphas, strict=True)
        )
        zq = whiten(self.cholesky_, query.T)
        out = np.empty((X.shape[0], Q.shape[0]))
        for rows in chunks(X.shape[0]):
            zx = whiten(self.cholesky_, sum(self._block_cross_kernels(X[rows])).T)
            out[rows] = direct[rows] - zx.T @ zq
        return out

    def _check_additive(self, what):
        for kernel, name in zip(self.kernels_, self.block_names_, strict=True):
            if not is_linear(kernel):
                raise ValueError(
                    f"{what} needs a kernel that is additive over the environments "
                    f"of a structure, which only kernel='linear' is; block {name!r} "
                    f"has the kernel {describe(kernel)}. " + SPARSE_ROUTE
                )

    def _local_quadratic_form(self, X_local):
        self._check_additive("local_rigidity")
        # A linear kernel of an environment against a structure is its features
        # dotted with the structure's summed features: the PR formula applies.
        return self._quadratic_form(X_local)

    def _component_quadratic_form(self, X):
        out = np.empty((X.shape[0], len(self.blocks_)))
        for rows in chunks(X.shape[0]):
            crosses = self._block_cross_kernels(X[rows])
            diagonals = self._block_diagonals(X[rows])
            for b, (cross, diagonal) in enumerate(zip(crosses, diagonals, strict=True)):
                out[rows, b] = dual_quadratic_form(self.cholesky_, cross, diagonal)
        return out

    def _leave_one_out(self, X, y, sample_weight):
        """Leave-one-out residuals and rigidities in the dual, exactly.

        From :func:`skpr._dual.dual_leave_one_out`: ``1 - h_i = [A^-1]_ii /
        s_i`` and ``y_i - f_{-i}(x_i) = c_i / [A^-1]_ii``, which do not cancel
        near interpolation.  Rows of zero weight are not in the loss and are
        ordinary held-out points.
        """
        weight = sample_weight[self.support_]
        loo_residual, complement = dual_leave_one_out(
            self.cholesky_, y[self.support_], weight
        )
        leverage = 1.0 - complement
        if np.any(leverage < -LEVERAGE_ATOL):
            raise np.linalg.LinAlgError(
                NOT_POSITIVE_SEMIDEFINITE.format(
                    detail=f"{np.sum(leverage < -LEVERAGE_ATOL)} training rows have "
                    f"a negative leverage, down to {leverage.min():.3g}"
                )
            )
        leverage = np.maximum(leverage, 0.0)
        # under strong regularization h = 1 - (1 - h) cancels; s q does not
        weak = leverage < LEVERAGE_DIRECT
        if np.any(weak):
            leverage[weak] = weight[weak] * self._quadratic_form(self.X_fit_[weak])
        n_samples = X.shape[0]
        residual, rigidity = np.empty(n_samples), np.full(n_samples, np.nan)
        full_leverage, full_complement = np.zeros(n_samples), np.ones(n_samples)
        dropped = np.ones(n_samples, dtype=bool)
        dropped[self.support_] = False
        if np.any(dropped):
            prediction, quadratic = self._predict_with_quadratic_form(X[dropped])
            residual[dropped] = y[dropped] - prediction
            rigidity[dropped] = reciprocal(quadratic)
        residual[self.support_] = loo_residual * complement
        full_leverage[self.support_] = leverage
        full_complement[self.support_] = complement
        return leave_one_out(
            residual, full_leverage, full_complement, sample_weight, rigidity
        )
