"""The solver layer: factor once; every rigidity is a whitened quadratic form.

Two kinds of factor serve every estimator of skpr.  Both are upper triangular
``R``, and every query goes through one primitive, :func:`whiten`,
``Z = R^{-T} G^T``, applied to chunks of :data:`CHUNK` rows:

- **primal**: ``R^T R = H = X^T S X + Lambda`` (``F x F``), from a Cholesky
  factorization of the normal equations or a QR factorization of the
  weighted, regularized rows (both give the same ``R`` up to row signs), and
  ``g^T H^{-1} g = |R^{-T} g|^2``;
- **dual**: ``R^T R = A = S^{-1} + X Lambda^{-1} X^T`` (``n x n``; for kernels
  ``A = K~ + S^{-1}``), and by Woodbury
  ``g^T H^{-1} g = g^T Lambda^{-1} g - |R^{-T} u|^2`` with
  ``u = X Lambda^{-1} g`` (DESIGN.md section 1.1).

The primal costs ``O(n F^2 + F^3)`` to build and ``O(F^2)`` per query; the dual
``O(n^2 F + n^3)`` and ``O(n F + n^2)`` per query: the dual is the cheaper one
when ``n < F``.  Nothing here forms an explicit inverse except the diagonal of
``A^{-1}`` that exact leave-one-out needs.

All heavy BLAS work runs in scipy's BLAS (``dsyrk``, ``dgemv``, ``potrf``,
``trsm``): numpy ships a second OpenBLAS, and alternating between the two makes
their idle threads compete on a small machine.
"""

import warnings

import numpy as np
from scipy import linalg

#: Rows per chunk of every query and every pass over training rows: bounds the
#: temporary memory to ``n_columns * CHUNK`` doubles whatever the number of rows.
CHUNK = 2048

#: Estimated condition number of the diagonally scaled ``H`` above which
#: ``solver="auto"`` leaves the normal equations for QR: the normal equations
#: lose about ``eps * cond(H)`` in relative accuracy, QR about
#: ``eps * sqrt(cond(H))``.  At this threshold the normal equations still keep
#: half of the double-precision digits.
COND_QR_SWITCH = 1.0 / np.sqrt(np.finfo(float).eps)

#: Estimated condition number of a scaled factor above which the regularization
#: is lost in rounding and a warning says so: ``1/eps``, with a factor 10 of
#: slack because the LAPACK estimate is of the 1-norm condition number, which
#: exceeds the 2-norm one by up to a factor ``n``.
COND_ROUNDING = 10.0 / np.finfo(float).eps

#: A leverage ``h = s g^T H^{-1} g`` computed as ``1 - (1 - h)`` has a relative
#: error of about ``eps / h``; below this value the direct form ``s q`` is used.
LEVERAGE_DIRECT = 1e-6

#: The one message for a factorization that fails.  ``{matrix}`` names the
#: matrix, ``{detail}`` what failed.
NOT_POSITIVE_DEFINITE = (
    "The matrix {matrix} is not positive definite to working precision "
    "({detail}), so the loss has no unique minimum and rigidities are undefined. "
    "Increase alpha; remove duplicated, constant or collinear feature columns; "
    "check that a kernel is positive semi-definite ('sigmoid' and "
    "'additive_chi2' are not in general); or use solver='qr' or 'auto', which "
    "do not square the condition number."
)


def chunks(n_rows, chunk=None):
    """Consecutive slices of at most ``chunk`` rows (default :data:`CHUNK`)."""
    chunk = CHUNK if chunk is None else chunk
    return [slice(start, start + chunk) for start in range(0, n_rows, chunk)]


def cholesky_upper(matrix, *, what):
    """Upper Cholesky factor of a symmetric matrix (its upper triangle is read).

    Parameters
    ----------
    matrix : ndarray of shape (k, k)
        Overwritten when it is Fortran-contiguous (or C-contiguous and
        symmetric, whose transpose is then read in place).
    what : str
        Name of the matrix for the error message.

    Returns
    -------
    ndarray of shape (k, k)
        ``R`` with ``R.T @ R == matrix`` and a positive diagonal.

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``matrix`` is not positive definite to working precision.
    """
    factor, info = linalg.lapack.dpotrf(matrix, lower=0, clean=1, overwrite_a=1)
    if info == 0 and not np.all(np.isfinite(np.diag(factor))):
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_DEFINITE.format(
                matrix=what,
                detail="its entries overflow double precision; rescale the "
                "features (and alpha with their square)",
            )
        )
    if info != 0:
        detail = (
            f"the Cholesky factorization failed at row {info - 1}"
            if info > 0
            else f"LAPACK dpotrf argument error {info}"
        )
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_DEFINITE.format(matrix=what, detail=detail)
        )
    return factor


def condition_estimate(factor):
    """Estimated condition number of ``R^T R`` after diagonal scaling.

    The accuracy of solves with a Cholesky factor depends on the condition
    number of ``D^{-1/2} M D^{-1/2}`` with ``D = diag(M)``, not of ``M``
    itself (van der Sluis): rows on different scales cost no digits.  The
    factor of the scaled matrix is ``R`` with unit columns, whose condition
    number LAPACK's ``dtrcon`` estimates; squared, that of the scaled matrix.

    Parameters
    ----------
    factor : ndarray of shape (k, k)
        Upper triangular.

    Returns
    -------
    float
        ``inf`` for a singular factor.

    Notes
    -----
    Column norms are taken after dividing by each column's largest entry, so
    that entries near the overflow threshold (features of size 1e154 and
    more) do not overflow in the squares.  ``O(k^2)``.
    """
    largest = np.max(np.abs(factor), axis=0)
    if not np.all((largest > 0) & np.isfinite(largest)):
        return np.inf
    scaled = factor / largest
    scaled /= np.linalg.norm(scaled, axis=0)
    rcond, info = linalg.lapack.dtrcon(scaled, norm="1", uplo="U", diag="N")
    if info != 0 or rcond == 0.0:
        return np.inf
    return 1.0 / rcond**2


def warn_if_rounding_dominates(condition, *, stacklevel=2):
    """LinAlgWarning when ``condition`` exceeds :data:`COND_ROUNDING`."""
    if condition > COND_ROUNDING:
        warnings.warn(
            f"The regularization is lost in rounding: the diagonally scaled "
            f"matrix that is factored has a condition number of about "
            f"{condition:.1e}, beyond what double precision resolves. "
            "Coefficients along nearly degenerate feature directions are set by "
            "rounding, not by the data or alpha (the rigidities of such "
            "predictions are tiny, so their uncertainty is huge). Increase "
            "alpha, or remove duplicated or collinear feature columns.",
            linalg.LinAlgWarning,
            stacklevel=stacklevel + 1,
        )


# --------------------------------------------------------------------------
# Primal factors


def factor_gram(gram, alpha_diag):
    """Cholesky factor of ``H = gram + diag(alpha_diag)``.

    Parameters
    ----------
    gram : ndarray of shape (F, F)
        ``X^T S X`` (centered when an intercept is fitted); only its upper
        triangle is read, and it is not modified.
    alpha_diag : ndarray of shape (F,)

    Returns
    -------
    ndarray of shape (F, F)
        Upper ``R`` with ``R.T @ R = H``.

    Notes
    -----
    ``F^3 / 3`` flops.
    """
    hessian = np.array(gram, order="F")
    hessian[np.diag_indices_from(hessian)] += alpha_diag
    return cholesky_upper(hessian, what="H = X^T S X + Lambda")


def factor_rows_qr(Xw, yw, alpha_diag):
    """Householder QR of ``[Xw, yw; diag(sqrt(alpha)), 0]``.

    The leading triangle is ``R`` with ``R^T R = Xw^T Xw + diag(alpha)``,
    computed without forming the normal equations (the condition number is
    not squared); the last column holds ``Q^T [yw; 0]``, so the coefficients
    come from one back substitution.

    Parameters
    ----------
    Xw : ndarray of shape (n_samples, F)
        Rows multiplied by ``sqrt(sample_weight)`` (and centered when an
        intercept is fitted).
    yw : ndarray of shape (n_samples,)
    alpha_diag : ndarray of shape (F,)

    Returns
    -------
    factor : ndarray of shape (F, F)
        Upper triangular, positive diagonal.
    coef : ndarray of shape (F,)

    Notes
    -----
    ``2 n F^2`` flops (about twice the normal equations) and an
    ``(n + F) x (F + 1)`` workspace.
    """
    n_samples, n_features = Xw.shape
    stacked = np.zeros((n_samples + n_features, n_features + 1), order="F")
    stacked[:n_samples, :n_features] = Xw
    stacked[:n_samples, n_features] = yw
    stacked[n_samples + np.arange(n_features), np.arange(n_features)] = np.sqrt(
        alpha_diag
    )
    # LAPACK's blocked QR needs the workspace it asks for; the wrapper's
    # default (3 n) leaves it unblocked and several times slower.
    work, _ = linalg.lapack.dgeqrf_lwork(*stacked.shape)
    packed, _, _, info = linalg.lapack.dgeqrf(stacked, lwork=int(work), overwrite_a=1)
    if info != 0:  # pragma: no cover - LAPACK argument errors only
        raise np.linalg.LinAlgError(f"LAPACK dgeqrf failed with info={info}.")
    upper = np.triu(packed[: n_features + 1, : n_features + 1])
    factor = upper[:n_features, :n_features]
    diagonal = np.diag(factor)
    if not np.all(np.abs(diagonal) > np.finfo(float).tiny):
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_DEFINITE.format(
                matrix="H = X^T S X + Lambda", detail="the QR factor has a zero pivot"
            )
        )
    # Rows of a QR factor carry signs; a positive diagonal makes it the unique
    # Cholesky factor, whatever the solver.
    signs = np.sign(diagonal)
    factor = np.ascontiguousarray(signs[:, None] * factor)
    coef = linalg.solve_triangular(factor, signs * upper[:n_features, n_features])
    return factor, coef


# --------------------------------------------------------------------------
# Queries


def whiten(factor, rows):
    """The whitened rows ``Z = R^{-T} rows^T``: the one primitive of every query.

    .. math:: z_i = R^{-\\top} g_i, \\qquad g_i^\\top M^{-1} g_j = z_i \\cdot z_j
              \\quad (M = R^\\top R)

    Parameters
    ----------
    factor : ndarray of shape (k, k)
        Upper triangular ``R``.
    rows : ndarray of shape (n_rows, k)
        One chunk of rows ``g_i`` (callers chunk, see :data:`CHUNK`).

    Returns
    -------
    ndarray of shape (k, n_rows)

    Notes
    -----
    One triangular solve with ``n_rows`` right-hand sides, ``k^2 n_rows``
    flops.
    """
    return linalg.solve_triangular(factor, rows.T, trans="T", check_finite=False)


def _centered(G, rows, offset):
    block = G[rows]
    return block if offset is None else block - offset


def quadratic_form(factor, G, *, offset=None):
    """Diagonal of ``G M^{-1} G^T`` with ``M = R^T R``.

    .. math:: q_i = (g_i - o)^\\top M^{-1} (g_i - o) = \\lVert R^{-\\top}
              (g_i - o) \\rVert^2

    Parameters
    ----------
    factor : ndarray of shape (k, k)
        Upper triangular ``R``.
    G : ndarray of shape (n_rows, k)
    offset : ndarray of shape (k,), optional
        Subtracted from every row, chunk by chunk (never from all of ``G``
        at once).

    Returns
    -------
    ndarray of shape (n_rows,)

    Notes
    -----
    ``k^2`` flops per row and ``k * CHUNK`` doubles of memory; the inverse is
    never formed.
    """
    out = np.empty(G.shape[0])
    for rows in chunks(G.shape[0]):
        z = whiten(factor, _centered(G, rows, offset))
        out[rows] = np.einsum("ij,ij->j", z, z)
    return out


def block_quadratic_form(factor, G, blocks):
    """Per-block quadratic forms with the ``(b, b)`` block of ``H^{-1}``.

    .. math:: q_{ib} = g_{i,b}^\\top [H^{-1}]_{bb}\\, g_{i,b}

    This is the block of the inverse, not the inverse of the block ``H_bb``:
    it accounts for the other blocks compensating a change in block ``b``.

    Parameters
    ----------
    factor : ndarray of shape (F, F)
        Upper triangular ``R`` with ``R.T @ R = H``.
    G : ndarray of shape (n_rows, F)
    blocks : tuple of slice
        Contiguous column ranges covering ``0..F``.

    Returns
    -------
    ndarray of shape (n_rows, n_blocks)

    Notes
    -----
    ``R^{-T}`` is lower triangular, so a vector that is zero before column
    ``b.start`` stays zero there: block ``b`` needs only the trailing triangle
    ``R[b.start:, b.start:]``.  At most ``B F^2`` flops per row; the rows are
    masked one chunk at a time.
    """
    n_features = factor.shape[0]
    out = np.empty((G.shape[0], len(blocks)))
    for b, block in enumerate(blocks):
        trailing = np.ascontiguousarray(factor[block.start :, block.start :])
        width = block.stop - block.start
        for rows in chunks(G.shape[0]):
            masked = np.zeros((G[rows].shape[0], n_features - block.start))
            masked[:, :width] = G[rows, block]
            z = whiten(trailing, masked)
            out[rows, b] = np.einsum("ij,ij->j", z, z)
    return out


def cross_form(factor, G, C, *, offset=None):
    """The matrix ``G M^{-1} C^T`` of cross terms ``g_i^T M^{-1} c_j``.

    Parameters
    ----------
    factor : ndarray of shape (k, k)
        Upper triangular ``R`` with ``R.T @ R = M``.
    G : ndarray of shape (n_rows, k)
    C : ndarray of shape (n_columns, k)
    offset : ndarray of shape (k,), optional
        Subtracted from the rows of both ``G`` and ``C``.

    Returns
    -------
    ndarray of shape (n_rows, n_columns)

    Notes
    -----
    ``C`` is whitened once (``k^2 n_columns`` flops, ``k n_columns`` doubles),
    then ``G`` chunk by chunk; ``k^2 + k n_columns`` flops per row of ``G``.
    With ``C = G`` it is the full predictive covariance (up to the scale).
    """
    whitened = np.empty((factor.shape[0], C.shape[0]))
    for rows in chunks(C.shape[0]):
        whitened[:, rows] = whiten(factor, _centered(C, rows, offset))
    out = np.empty((G.shape[0], C.shape[0]))
    for rows in chunks(G.shape[0]):
        out[rows] = whiten(factor, _centered(G, rows, offset)).T @ whitened
    return out


# --------------------------------------------------------------------------
# Dual factors


def factor_dual(kernel_matrix, inverse_weight, *, what="A = K~ + S^-1"):
    """Upper Cholesky factor of ``A = K + S^{-1}``.

    Parameters
    ----------
    kernel_matrix : ndarray of shape (n, n)
        Symmetric ``K`` on the training rows with positive weight (for ridge
        ``X Lambda^{-1} X^T``, for kernels ``sum_b K_b / alpha_b``); modified
        in place.
    inverse_weight : ndarray of shape (n,)
        ``1 / s_i``.
    what : str
        Name of the matrix for the error message.

    Returns
    -------
    ndarray of shape (n, n)
        Upper triangular ``R`` with ``R.T @ R = A`` (positive diagonal).

    Notes
    -----
    ``n^3 / 3`` flops; the transpose of a symmetric C-ordered matrix is in
    Fortran order, so LAPACK factors it in place, without a copy.
    """
    kernel_matrix[np.diag_indices_from(kernel_matrix)] += inverse_weight
    return cholesky_upper(kernel_matrix.T, what=what)


def dual_quadratic_form(factor, cross, diagonal):
    """``g^T H^{-1} g`` of query rows from the dual factor.

    .. math:: q(x) = \\tilde k(x, x) - \\tilde k_x^\\top A^{-1} \\tilde k_x,
              \\qquad A = \\tilde K + S^{-1}

    (for ridge ``k~(x, x) = x^T Lambda^{-1} x`` and ``k~_x = X Lambda^{-1} x``).

    Parameters
    ----------
    factor : ndarray of shape (n, n)
        Upper triangular ``R`` with ``R.T @ R = A``.
    cross : ndarray of shape (n, n_queries)
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
    One triangular solve, ``n^2`` flops per query.  For a query inside the
    span of the training rows the two terms nearly cancel: the result loses
    about ``eps * k~(x, x) / q(x)`` in relative accuracy, inherent to the dual
    form (as in Gaussian-process regression).
    """
    z = whiten(factor, cross.T)
    quadratic = diagonal - np.einsum("ij,ij->j", z, z)
    if np.any(quadratic < 0):
        warnings.warn(
            f"{np.sum(quadratic < 0)} quadratic forms k~(x,x) - k~_x^T A^-1 k~_x "
            f"came out negative (down to {quadratic.min():.3g}) and are set to "
            "zero (infinite rigidity). Tiny negative values are rounding when "
            "alpha is very small (increase alpha); large ones mean that the "
            "kernel is not positive semi-definite.",
            RuntimeWarning,
            stacklevel=3,
        )
        quadratic = np.maximum(quadratic, 0.0)
    return quadratic


def _householder_complement(n):
    """Householder vector ``v`` with ``(I - 2 v v^T) 1 / sqrt(n) = -e_1``.

    The columns 2..n of ``Q = I - 2 v v^T`` are an orthonormal basis of the
    vectors orthogonal to ``1``.
    """
    v = np.full(n, 1.0 / np.sqrt(n))
    v[0] += 1.0
    return v / np.linalg.norm(v)


def _reflect(v, matrix):
    """``Q M Q`` for ``Q = I - 2 v v^T`` and symmetric ``M``, in ``O(n^2)``."""
    Mv = matrix @ v
    t = v @ Mv
    return matrix - 2 * np.outer(v, Mv) - 2 * np.outer(Mv, v) + 4 * t * np.outer(v, v)


def dual_leave_one_out(factor, y, sample_weight, *, kernel=None):
    """Exact leave-one-out from the dual factor, without subtractions.

    For a training row with weight ``s_i`` and leverage
    ``h_i = s_i g_i^T H^{-1} g_i``,

    .. math:: 1 - h_i = \\frac{P_{ii}}{s_i}, \\qquad
              r_i^{\\mathrm{loo}} = y_i - f_{-i}(x_i) = \\frac{(P y)_i}{P_{ii}},

    with ``P = A^{-1}`` without intercept (the Gaussian-process identity,
    Rasmussen & Williams eq. 5.12, noise ``1/s_i``) and, with an unregularized
    intercept (a constant mean with a flat prior),
    ``P = A^{-1} - A^{-1} 1 (1^T A^{-1} 1)^{-1} 1^T A^{-1} = Z (Z^T A Z)^{-1} Z^T``
    for an orthonormal basis ``Z`` of the vectors orthogonal to ``1``.  The
    last form is computed (a Householder basis, one more Cholesky factor): the
    difference form cancels near interpolation, where ``P_ii`` is tiny.

    Parameters
    ----------
    factor : ndarray of shape (n, n)
        Upper ``R`` with ``R^T R = A = K + S^{-1}``, for the training rows with
        positive weight.
    y : ndarray of shape (n,)
        Their targets (centered or not: ``P 1 = 0`` with an intercept).
    sample_weight : ndarray of shape (n,)
        Their (positive) weights.
    kernel : ndarray of shape (n, n), optional
        ``K`` itself (without ``S^{-1}``), given for a model with an
        unregularized intercept; ``None`` for a model without.  ``Z^T K Z``
        and ``Z^T S^{-1} Z`` are reflected separately, so that ``S^{-1}`` is not
        lost in rounding next to a large ``K``.

    Returns
    -------
    loo_residual : ndarray of shape (n,)
    complement : ndarray of shape (n,)
        ``1 - h_i``, accurate near interpolation (``h_i`` near 1); ``h_i``
        itself is accurate from this only when it is not tiny (see
        :data:`LEVERAGE_DIRECT`).

    Notes
    -----
    Without intercept one triangular inversion, ``n^3 / 3`` flops; with it,
    an ``(n - 1)``-square Cholesky factor and a triangular solve with ``n``
    right-hand sides, about ``4 n^3 / 3`` flops.  Memory ``O(n^2)``.
    """
    n = factor.shape[0]
    if kernel is None:
        inverse, info = linalg.lapack.dtrtri(factor, lower=0)
        if info != 0:  # pragma: no cover - the factor has a positive diagonal
            raise np.linalg.LinAlgError(f"LAPACK dtrtri failed with info={info}.")
        p_diagonal = np.einsum("ij,ij->i", inverse, inverse)
        p_y = linalg.cho_solve((factor, False), y)
    elif n == 1:
        # with one row the intercept interpolates it: nothing is left to predict
        return np.full(1, np.nan), np.zeros(1)
    else:
        v = _householder_complement(n)
        reduced = _reflect(v, kernel)[1:, 1:]
        reduced += _reflect(v, np.diag(1.0 / sample_weight))[1:, 1:]  # Z^T A Z
        reduced_factor = cholesky_upper(
            np.asfortranarray(reduced), what="Z^T A Z (A without the intercept)"
        )
        basis_t = (np.eye(n) - 2 * np.outer(v, v))[1:]  # Z^T, shape (n - 1, n)
        w = whiten(reduced_factor, basis_t.T)  # R_Z^{-T} Z^T
        p_diagonal = np.einsum("ij,ij->j", w, w)
        p_y = basis_t.T @ linalg.cho_solve((reduced_factor, False), basis_t @ y)
    with np.errstate(divide="ignore", invalid="ignore"):
        loo_residual = p_y / p_diagonal
    return loo_residual, p_diagonal / sample_weight


# --------------------------------------------------------------------------
# Low-rank updates


def update_factor(factor, rows, weights):
    """Factor of ``H + rows^T diag(weights) rows`` from the factor of ``H``.

    Positive weights add rows (an update), negative weights remove them (a
    downdate); ``H = R^T R`` and the result ``R'`` is upper triangular with a
    positive diagonal, as a fresh Cholesky factorization would give.

    * **Update** (positive weights): the QR factorization of
      ``[R; sqrt(s) G]`` by LAPACK's ``dtpqrt`` (triangle on top of a
      rectangle), ``O(k F^2)`` flops, backward stable: the same factor as a
      QR of all the rows.
    * **Downdate** (negative weights): one LINPACK-style hyperbolic rank-one
      downdate per row (Givens rotations against ``p = R^{-T} g``),
      ``O(F^2)`` each.  A downdate is as accurate as the matrix that is left
      is well conditioned; removing a row whose leverage ``|s| g^T H^{-1} g``
      is 1 (or more) leaves a matrix that is not positive definite and
      raises.

    Woodbury (:func:`updated_quadratic_form`) answers queries after an update
    without a new factor, in ``O(F k)`` per query; this function gives the
    factor itself, for folding rows in one after the other.

    Parameters
    ----------
    factor : ndarray of shape (F, F)
        Upper triangular ``R`` (not modified).
    rows : ndarray of shape (k, F)
    weights : ndarray of shape (k,)
        Non-zero; positive to add, negative to remove.

    Returns
    -------
    ndarray of shape (F, F)

    Raises
    ------
    numpy.linalg.LinAlgError
        If a downdate leaves a matrix that is not positive definite.
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    weights = np.asarray(weights, dtype=float).reshape(-1)
    updated = np.array(factor, order="F")
    add = weights > 0
    if np.any(add):
        block = np.asfortranarray(np.sqrt(weights[add])[:, None] * rows[add])
        updated, _, _, info = linalg.lapack.dtpqrt(
            0, max(1, min(32, updated.shape[0])), updated, block, overwrite_a=1
        )
        if info != 0:  # pragma: no cover - LAPACK argument errors only
            raise np.linalg.LinAlgError(f"LAPACK dtpqrt failed with info={info}.")
        updated = np.triu(updated)
        signs = np.sign(np.diag(updated))
        signs[signs == 0] = 1.0
        updated = np.asfortranarray(signs[:, None] * updated)
    for row, weight in zip(rows[weights < 0], weights[weights < 0], strict=True):
        updated = _downdate_one(updated, np.sqrt(-weight) * row)
    return np.ascontiguousarray(updated)


def _downdate_one(factor, x):
    """Upper factor of ``R^T R - x x^T`` (LINPACK dchdd, Givens rotations)."""
    n = factor.shape[0]
    p = linalg.solve_triangular(factor, x, trans="T")
    norm_squared = p @ p
    if not norm_squared < 1.0:
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_DEFINITE.format(
                matrix="H - g^T s g (the Hessian with rows removed)",
                detail=f"a removed row has leverage {norm_squared:.6g} >= 1",
            )
        )
    rho = np.sqrt(1.0 - norm_squared)
    # rotations that turn [p; rho] into [0; 1], from the last entry up
    cosines, sines = np.empty(n), np.empty(n)
    for i in range(n - 1, -1, -1):
        radius = np.hypot(rho, p[i])
        cosines[i], sines[i] = rho / radius, p[i] / radius
        rho = radius
    # applied to [R; 0] in the same order, they leave [R'; x^T]
    out = np.array(factor)
    extra = np.zeros(n)
    for i in range(n - 1, -1, -1):
        row = out[i, i:].copy()
        out[i, i:] = cosines[i] * row - sines[i] * extra[i:]
        extra[i:] = sines[i] * row + cosines[i] * extra[i:]
    signs = np.sign(np.diag(out))
    signs[signs == 0] = 1.0
    return signs[:, None] * out


def updated_quadratic_form(factor, G, rows, weights, *, offset=None):
    """Diagonal of ``G H'^{-1} G^T`` for ``H' = H + rows^T diag(weights) rows``.

    By Woodbury, with ``z = R^{-T} g`` and ``W = R^{-T} rows^T`` (``F x k``):

    .. math:: g^\\top H'^{-1} g = \\lVert z \\rVert^2 - (W^\\top z)^\\top
              (S^{-1} + W^\\top W)^{-1} (W^\\top z)

    Positive weights add rows, negative weights remove them (the downdate).
    Zero weights are ignored.

    Parameters
    ----------
    factor : ndarray of shape (F, F)
        Upper triangular ``R`` with ``R.T @ R = H`` (not modified).
    G : ndarray of shape (n_queries, F)
    rows : ndarray of shape (k, F)
    weights : ndarray of shape (k,)
    offset : ndarray of shape (F,), optional
        Subtracted from the query rows (not from ``rows``).

    Returns
    -------
    ndarray of shape (n_queries,)

    Raises
    ------
    numpy.linalg.LinAlgError
        If ``H'`` is not positive definite (a removed row with leverage 1).

    Notes
    -----
    ``O(k F^2 + k^3)`` once, then ``O(F^2 + k F)`` per query; the fitted
    factor is not changed and nothing is refitted.
    """
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    weights = np.asarray(weights, dtype=float).reshape(-1)
    keep = weights != 0
    rows, weights = rows[keep], weights[keep]
    if rows.shape[0] == 0:
        return quadratic_form(factor, G, offset=offset)
    W = whiten(factor, rows)  # (F, k)
    capacitance = W.T @ W
    capacitance[np.diag_indices_from(capacitance)] += 1.0 / weights
    # S^{-1} + W^T W is positive definite for additions; for removals it is
    # negative definite exactly when H' is positive definite.
    sign = 1.0 if np.all(weights > 0) else -1.0
    if np.all(weights > 0) or np.all(weights < 0):
        inner = cholesky_upper(
            np.asfortranarray(sign * capacitance),
            what="H + G^T S G (the Hessian with rows added or removed)",
        )
        solve = lambda b: sign * linalg.cho_solve((inner, False), b)  # noqa: E731
    else:
        lu = linalg.lu_factor(capacitance)
        solve = lambda b: linalg.lu_solve(lu, b)  # noqa: E731
    out = np.empty(G.shape[0])
    for chunk in chunks(G.shape[0]):
        z = whiten(factor, _centered(G, chunk, offset))
        projected = W.T @ z
        out[chunk] = np.einsum("ij,ij->j", z, z) - np.einsum(
            "ij,ij->j", projected, solve(projected)
        )
    return out
