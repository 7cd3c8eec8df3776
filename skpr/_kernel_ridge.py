"""Kernel ridge regression with per-block kernels, and its rigidities in the dual.

With per-block kernels ``K_b`` (block ``b``'s columns only) and regularization
``alpha_b``, the model kernel is ``K~ = sum_b K_b / alpha_b``.  Everything is
computed from one Cholesky factor of ``A = K~ + S^{-1}`` (``S`` the diagonal of
sample weights), kept from ``fit``; by Woodbury every quadratic form of the
primal Hessian ``H = X^T S X + Lambda`` becomes

    g^T H^{-1} g = k~(x, x) - k~_x^T A^{-1} k~_x

(DESIGN.md section 1; S. Chong et al., Faraday Discuss. 2024).
"""

import warnings

import numpy as np
from scipy import linalg

from skpr._base import RigidityRegressor
from skpr._blocks import resolve_alpha, resolve_blocks
from skpr._kernels import SPARSE_ROUTE, describe, is_linear, resolve_kernels
from skpr._linalg import CHUNK, inverse_quadratic_form

#: Relative asymmetry of a training kernel matrix above which it is refused.
SYMMETRY_RTOL = 1e-8

#: A leverage ``s_i q_i`` below ``-LEVERAGE_ATOL`` cannot come from a positive
#: semi-definite kernel (it lies in [0, 1]); above it, it is rounding.
LEVERAGE_ATOL = 1e-8

#: The closed form ``1 - [A^{-1}]_ii / s_i`` of a leverage has a relative error
#: of about ``eps / leverage``; rows with a smaller leverage than this (strong
#: regularization) take the direct formula, which is accurate there.
LEVERAGE_DIRECT = 1e-6

NOT_POSITIVE_SEMIDEFINITE = (
    "The kernel is not positive semi-definite on the training rows ({detail}), "
    "so the loss has no minimum and rigidities are meaningless. Use a positive "
    "semi-definite kernel: check a callable kernel, and note that 'sigmoid' and "
    "'additive_chi2' are not positive semi-definite in general."
)

NOT_POSITIVE_DEFINITE = (
    "The matrix K~ + S^{{-1}} (sum_b K_b / alpha_b plus the inverse sample "
    "weights) is not positive definite to working precision ({detail}). Either "
    "the kernel is not positive semi-definite (check a callable kernel; 'sigmoid' "
    "and 'additive_chi2' are not in general), or alpha is so small, or the "
    "sample weights so large, that S^{{-1}} is lost in rounding next to "
    "K~: increase alpha."
)


def factor_dual(kernel_matrix, sample_weight):
    """Upper Cholesky factor of ``A = K~ + S^{-1}``.

    Parameters
    ----------
    kernel_matrix : ndarray of shape (n_samples, n_samples)
        ``K~ = sum_b K_b / alpha_b`` on the training rows (modified in place).
    sample_weight : ndarray of shape (n_samples,)
        Positive weights ``s_i``.

    Returns
    -------
    ndarray of shape (n_samples, n_samples)
        Upper triangular ``R`` with ``R.T @ R = A`` (positive diagonal).

    Raises
    ------
    numpy.linalg.LinAlgError
        (a ``ValueError``) if the kernel is visibly not positive
        semi-definite, or ``A`` is not positive definite to working precision.

    Notes
    -----
    ``n^3 / 3`` flops.
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
    kernel_matrix[np.diag_indices_from(kernel_matrix)] += 1.0 / sample_weight
    # The transpose of a symmetric C-ordered matrix is itself in Fortran order:
    # LAPACK factors it in place, without a copy.
    factor, info = linalg.lapack.dpotrf(
        kernel_matrix.T, lower=0, clean=1, overwrite_a=1
    )
    if info != 0:
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_DEFINITE.format(
                detail=f"the Cholesky factorization failed at row {info - 1}"
            )
        )
    return factor


def dual_quadratic_form(factor, cross_kernel, diagonal):
    """``g^T H^{-1} g`` of query rows from the dual factor.

    .. math:: q(x) = \\tilde k(x, x) - \\tilde k_x^\\top A^{-1} \\tilde k_x,
              \\qquad A = \\tilde K + S^{-1}

    Parameters
    ----------
    factor : ndarray of shape (n_samples, n_samples)
        Upper triangular ``R`` with ``R.T @ R = A``.
    cross_kernel : ndarray of shape (n_samples, n_queries)
        ``k~(x_i, x)`` between training rows and queries.
    diagonal : ndarray of shape (n_queries,)
        ``k~(x, x)`` of the queries.

    Returns
    -------
    ndarray of shape (n_queries,)
        Non-negative; a negative value (rounding, or a kernel that is not
        positive semi-definite) is set to zero (infinite rigidity) with a
        warning.

    Notes
    -----
    One triangular solve, ``n^2`` flops per query.
    """
    quadratic = diagonal - inverse_quadratic_form(factor, cross_kernel.T)
    if np.any(quadratic < 0):
        warnings.warn(
            f"{np.sum(quadratic < 0)} quadratic forms k~(x,x) - k~_x^T A^-1 k~_x "
            f"came out negative (down to {quadratic.min():.3g}) and are set to "
            "zero (infinite rigidity). Tiny negative values are rounding when "
            "alpha is very small (increase alpha); large ones mean that the "
            "kernel is not positive semi-definite.",
            RuntimeWarning,
            stacklevel=2,
        )
        quadratic = np.maximum(quadratic, 0.0)
    return quadratic


def training_leverage(factor, sample_weight):
    """Leverages of the training rows and the diagonal of ``A^{-1}``.

    .. math:: h_i = s_i \\, g_i^\\top H^{-1} g_i
              = 1 - \\frac{[A^{-1}]_{ii}}{s_i}

    from ``A - A (A + B)^{-1} A = B - B (A + B)^{-1} B`` with ``A = K~`` and
    ``B = S^{-1}``; ``h_i`` lies in ``[0, 1]`` and does not cancel near
    interpolation (``h_i`` near 1), where ``k~(x,x) - k~_x^T A^{-1} k~_x``
    does.

    Parameters
    ----------
    factor : ndarray of shape (n_samples, n_samples)
        Upper triangular ``R`` with ``R.T @ R = A = K~ + S^{-1}``.
    sample_weight : ndarray of shape (n_samples,)

    Returns
    -------
    leverage, inverse_diagonal : ndarrays of shape (n_samples,)

    Raises
    ------
    numpy.linalg.LinAlgError
        If a leverage is clearly negative, which only an indefinite kernel
        gives.

    Notes
    -----
    ``[A^{-1}]_{ii}`` is the squared norm of row ``i`` of ``R^{-1}``: one
    triangular inversion, ``n^3 / 3`` flops and ``n^2`` doubles.
    """
    factor_inverse, info = linalg.lapack.dtrtri(factor, lower=0)
    if info != 0:  # pragma: no cover - the factor has a positive diagonal
        raise np.linalg.LinAlgError(f"LAPACK dtrtri failed with info={info}.")
    inverse_diagonal = np.einsum("ij,ij->i", factor_inverse, factor_inverse)
    leverage = 1.0 - inverse_diagonal / sample_weight
    if np.any(leverage < -LEVERAGE_ATOL):
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_SEMIDEFINITE.format(
                detail=f"{np.sum(leverage < -LEVERAGE_ATOL)} training rows have a "
                f"negative leverage, down to {leverage.min():.3g}"
            )
        )
    return np.maximum(leverage, 0.0), inverse_diagonal


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

    Attributes
    ----------
    dual_coef_ : ndarray of shape (n_support,)
        ``c = A^{-1} y`` on the training rows with positive weight.
    X_fit_ : ndarray of shape (n_support, n_features)
        The training rows with positive weight (rows with zero weight are
        not part of the loss and are dropped).
    support_ : ndarray of shape (n_support,)
        Indices of those rows in the training set.
    support_weight_ : ndarray of shape (n_support,)
        Their sample weights.
    cholesky_ : ndarray of shape (n_support, n_support)
        Upper triangular ``R`` with ``R^T R = K~ + S^{-1}``.
    kernels_ : tuple
        The kernel of each block, as objects with ``__call__(X, Y=None)`` and
        ``diag(X)``.
    blocks_ : tuple of slice
    block_names_ : tuple of str
    alpha_ : ndarray of shape (n_blocks,)
    uncertainty_scale_ : float
        ``a`` in ``var(x) = a / R(x)``.
    loo_residual_, loo_rigidity_ : ndarray of shape (n_samples,)
        Leave-one-out residuals and rigidities of the training rows (only
        with ``calibration="loo"``).
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
    the diagonal of ``A^{-1}``: the training rows' quadratic forms are
    ``q_i = (1 - [A^{-1}]_{ii} / s_i) / s_i``, which does not cancel where
    the direct formula does (near interpolation); rows whose leverage
    ``s_i q_i`` is below ``1e-6`` (strong regularization, where this one
    would cancel) use the direct formula.  Memory ``O(n^2)``.  Each query costs
    ``O(n F + n^2)``, ``B`` times that for the CPR of ``B`` blocks.

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
    ):
        self.alpha = alpha
        self.kernel = kernel
        self.blocks = blocks
        self.kernel_params = kernel_params
        self.calibration = calibration

    def _fit(self, X, y, sample_weight):
        self.blocks_, self.block_names_ = resolve_blocks(
            self.blocks, X.shape[1], getattr(self, "feature_names_in_", None)
        )
        self.alpha_, _ = resolve_alpha(self.alpha, self.blocks_, self.block_names_)
        self.kernels_ = resolve_kernels(
            self.kernel, self.kernel_params, self.block_names_
        )
        # A zero weight is an infinite noise variance: the row leaves the loss.
        self.support_ = np.flatnonzero(sample_weight > 0)
        self.support_weight_ = sample_weight[self.support_]
        self.X_fit_ = X[self.support_]
        kernel_matrix = np.zeros((self.support_.size, self.support_.size))
        for kernel, block, alpha in zip(
            self.kernels_, self.blocks_, self.alpha_, strict=True
        ):
            kernel_matrix += kernel(self.X_fit_[:, block]) / alpha
        self.cholesky_ = factor_dual(kernel_matrix, self.support_weight_)
        self.dual_coef_ = linalg.cho_solve((self.cholesky_, False), y[self.support_])
        if self.calibration != "loo":
            return None
        return training_leverage(self.cholesky_, self.support_weight_)

    def _block_cross_kernels(self, X):
        """``k_b(x_i, x) / alpha_b`` of each block, shape (n_support, n_queries)."""
        return [
            kernel(self.X_fit_[:, block], X[:, block]) / alpha
            for kernel, block, alpha in zip(
                self.kernels_, self.blocks_, self.alpha_, strict=True
            )
        ]

    def _block_diagonals(self, X):
        """``k_b(x, x) / alpha_b`` of each block, shape (n_queries,)."""
        return [
            kernel.diag(X[:, block]) / alpha
            for kernel, block, alpha in zip(
                self.kernels_, self.blocks_, self.alpha_, strict=True
            )
        ]

    def _predict(self, X):
        return self._predict_components(X).sum(axis=1)

    def _predict_components(self, X):
        out = np.empty((X.shape[0], len(self.blocks_)))
        for start in range(0, X.shape[0], CHUNK):
            rows = slice(start, start + CHUNK)
            for b, cross in enumerate(self._block_cross_kernels(X[rows])):
                out[rows, b] = self.dual_coef_ @ cross
        return out

    def _quadratic_form(self, X):
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], CHUNK):
            rows = slice(start, start + CHUNK)
            out[rows] = dual_quadratic_form(
                self.cholesky_,
                sum(self._block_cross_kernels(X[rows])),
                sum(self._block_diagonals(X[rows])),
            )
        return out

    def _local_quadratic_form(self, X_local):
        for kernel, name in zip(self.kernels_, self.block_names_, strict=True):
            if not is_linear(kernel):
                raise ValueError(
                    f"local_rigidity needs a kernel that is additive over the "
                    f"environments of a structure, which only kernel='linear' is; "
                    f"block {name!r} has the kernel {describe(kernel)}. " + SPARSE_ROUTE
                )
        # A linear kernel of an environment against a structure is its features
        # dotted with the structure's summed features: the PR formula applies.
        return self._quadratic_form(X_local)

    def _component_quadratic_form(self, X):
        out = np.empty((X.shape[0], len(self.blocks_)))
        for start in range(0, X.shape[0], CHUNK):
            rows = slice(start, start + CHUNK)
            crosses = self._block_cross_kernels(X[rows])
            diagonals = self._block_diagonals(X[rows])
            for b, (cross, diagonal) in enumerate(zip(crosses, diagonals, strict=True)):
                out[rows, b] = dual_quadratic_form(self.cholesky_, cross, diagonal)
        return out

    def _leave_one_out(self, X, y, sample_weight, fitted):
        """Leave-one-out residuals and rigidities in the dual, exactly.

        For a row in the loss, with ``c = A^{-1} y`` and ``d_i = [A^{-1}]_ii``,
        ``y_i - f_{-i}(x_i) = c_i / d_i`` (the Gaussian-process identity,
        Rasmussen & Williams eq. 5.12, with noise ``1/s_i``) and
        ``R_i - s_i = d_i / h_i``: neither cancels near interpolation, where
        ``r R / (R - s)`` does.  Rows of zero weight are not in the loss and
        are ordinary held-out points.
        """
        leverage, inverse_diagonal = fitted
        loo_residual, loo_rigidity = np.empty(X.shape[0]), np.empty(X.shape[0])
        dropped = np.ones(X.shape[0], dtype=bool)
        dropped[self.support_] = False
        if np.any(dropped):
            loo_residual[dropped] = y[dropped] - self._predict(X[dropped])
            loo_rigidity[dropped] = self._rigidity(X[dropped])
        with np.errstate(divide="ignore"):
            rigidity = inverse_diagonal / leverage
        # under strong regularization h = 1 - d/s cancels; the direct PR does not
        weak = leverage < LEVERAGE_DIRECT
        if np.any(weak):
            rigidity[weak] = (
                self._rigidity(self.X_fit_[weak]) - self.support_weight_[weak]
            )
        loo_rigidity[self.support_] = rigidity
        loo_residual[self.support_] = self.dual_coef_ / inverse_diagonal
        return loo_residual, loo_rigidity
