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

This module holds the shared pieces and the primal factor; the dual factor
and its exact leave-one-out are in :mod:`skpr._dual`, low-rank updates of a
factor in :mod:`skpr._updates`.

The primal costs ``O(n F^2 + F^3)`` to build and ``O(F^2)`` per query; the dual
``O(n^2 F + n^3)`` and ``O(n F + n^2)`` per query: the dual is the cheaper one
when ``n < F``.  Nothing here forms an explicit inverse except the diagonal of
``A^{-1}`` that exact leave-one-out needs.

All heavy BLAS work runs in scipy's BLAS (``dsyrk``, ``dgemv``, ``potrf``,
``trsm``): numpy ships a second OpenBLAS, and alternating between the two makes
their idle threads compete on a small machine.
"""

import functools
import warnings

import numpy as np
from scipy import linalg
from threadpoolctl import ThreadpoolController

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


@functools.cache
def _threadpools():
    return ThreadpoolController()


def serial_blas():
    """A context in which BLAS runs on one thread: for stacks of small matrices.

    numpy and scipy each load their own OpenBLAS; small products of one
    interleaved with triangular solves of the other leave both thread pools
    spinning on the same cores.  One thread each is several times faster
    there (group leave-one-out: ``benchmarks/bench_group_calibration.py``).
    """
    return _threadpools().limit(limits=1, user_api="blas")


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


def centered_rows(G, rows, offset):
    """``G[rows] - offset`` (or ``G[rows]``): one chunk, never all of G."""
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
        z = whiten(factor, centered_rows(G, rows, offset))
        out[rows] = np.einsum("ij,ij->j", z, z)
        del z  # freed before the next chunk is whitened: a lower peak
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
        whitened[:, rows] = whiten(factor, centered_rows(C, rows, offset))
    out = np.empty((G.shape[0], C.shape[0]))
    for rows in chunks(G.shape[0]):
        out[rows] = whiten(factor, centered_rows(G, rows, offset)).T @ whitened
    return out
