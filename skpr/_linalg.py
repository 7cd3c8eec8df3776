"""Factor the Hessian once; every rigidity is a quadratic form with that factor.

All functions here work with an upper-triangular factor ``R`` such that
``R.T @ R == H``.  A Cholesky factorization of the normal equations and a QR
factorization of the weighted, regularized design matrix give the same ``R``
(up to the signs of its rows), so everything downstream is independent of the
way it was computed.
"""

import warnings

import numpy as np
from scipy import linalg

#: Estimated condition number of the diagonally scaled ``H`` above which
#: ``solver="auto"`` leaves the normal equations for QR: the normal equations
#: lose about ``eps * cond(H)`` in relative accuracy, QR about
#: ``eps * sqrt(cond(H))``.  At this threshold the normal equations still keep
#: half of the double-precision digits.
COND_QR_SWITCH = 1.0 / np.sqrt(np.finfo(float).eps)

#: Samples per triangular solve when computing quadratic forms; bounds the
#: temporary memory to ``n_features * CHUNK`` doubles.
CHUNK = 2048

NOT_POSITIVE_DEFINITE = (
    "The Hessian X^T S X + Lambda is not positive definite to working precision "
    "({detail}). Increase alpha, remove duplicated or constant feature columns, "
    "or use solver='qr' (or 'auto'), which does not square the condition number."
)


def _cholesky_upper(matrix):
    """Upper Cholesky factor of ``matrix`` (overwritten), or ``None`` if not PD."""
    factor, info = linalg.lapack.dpotrf(matrix, lower=0, clean=1, overwrite_a=1)
    return factor if info == 0 else None


def _condition_estimate(factor):
    """Estimate of the condition number of ``H = R.T @ R`` after diagonal scaling.

    The accuracy of Cholesky solves depends on the condition number of
    ``D^{-1/2} H D^{-1/2}`` with ``D = diag(H)``, not of ``H`` itself
    (van der Sluis): features on different scales cost no digits.  The factor
    of the scaled matrix is ``R`` with unit columns, and LAPACK's ``dtrcon``
    estimates its condition number; squared, that of the scaled ``H``.
    """
    scaled = factor / np.linalg.norm(factor, axis=0)
    rcond, info = linalg.lapack.dtrcon(scaled, norm="1", uplo="U", diag="N")
    if info != 0 or rcond == 0.0:
        return np.inf
    return 1.0 / rcond**2


#: Estimated condition number of the scaled ``H`` above which alpha is lost in
#: rounding next to ``X^T S X`` and a warning says so: ``1/eps``, with a factor
#: 10 of slack because the LAPACK estimate is of the 1-norm condition number,
#: which exceeds the 2-norm one by up to a factor ``n_features``.
COND_ROUNDING = 10.0 / np.finfo(float).eps


def _warn_if_rounding_dominates(condition):
    if condition > COND_ROUNDING:
        warnings.warn(
            f"The regularization is lost in rounding: the diagonally scaled "
            f"Hessian has a condition number of about {condition:.1e}, beyond "
            "what double precision resolves. Coefficients along nearly "
            "degenerate feature directions are set by rounding, not by the data "
            "or alpha (the rigidities of such predictions are tiny, so their "
            "uncertainty is huge). Increase alpha, or remove duplicated or "
            "collinear feature columns.",
            linalg.LinAlgWarning,
            stacklevel=5,
        )


def factor_least_squares(Xw, yw, alpha_diag, *, solver="auto"):
    """Factor ``H = Xw.T @ Xw + diag(alpha_diag)`` and solve the ridge problem.

    Minimizes ``1/2 |yw - Xw w|^2 + 1/2 sum_k alpha_k w_k^2``.

    Parameters
    ----------
    Xw : ndarray of shape (n_samples, n_features)
        Design matrix already multiplied by ``sqrt(sample_weight)`` (and
        centered, when an intercept is fitted).
    yw : ndarray of shape (n_samples,)
        Targets treated the same way.
    alpha_diag : ndarray of shape (n_features,)
        Regularization of each coefficient, all positive.
    solver : {"auto", "cholesky", "qr"}
        ``"cholesky"`` factors the normal equations (``n F^2`` flops);
        ``"qr"`` factors the stacked matrix ``[Xw; diag(sqrt(alpha))]``
        (``2 n F^2`` flops) without squaring its condition number;
        ``"auto"`` uses Cholesky and switches to QR when the estimated
        condition number of ``H`` exceeds :data:`COND_QR_SWITCH` or the
        Cholesky factorization fails.

    Returns
    -------
    factor : ndarray of shape (n_features, n_features)
        Upper triangular ``R`` with ``R.T @ R = H``.
    coef : ndarray of shape (n_features,)
    solver : str
        The factorization that was used, ``"cholesky"`` or ``"qr"``.
    """
    # The whole fit runs on scipy's BLAS, which also does the factorization and
    # every triangular solve: numpy ships a second OpenBLAS, and alternating
    # between the two makes their idle threads compete on a small machine.
    # The transpose of a C-ordered Xw is Fortran-ordered: BLAS reads it as is.
    XwT = np.ascontiguousarray(Xw).T
    if solver in ("auto", "cholesky"):
        hessian = linalg.blas.dsyrk(1.0, XwT)  # upper triangle of Xw^T Xw
        hessian[np.diag_indices_from(hessian)] += alpha_diag
        factor = _cholesky_upper(hessian)
        if factor is None and solver == "cholesky":
            raise np.linalg.LinAlgError(
                NOT_POSITIVE_DEFINITE.format(detail="the Cholesky factorization failed")
            )
        condition = np.inf if factor is None else _condition_estimate(factor)
        if factor is not None and (solver == "cholesky" or condition <= COND_QR_SWITCH):
            _warn_if_rounding_dominates(condition)
            coef = linalg.cho_solve((factor, False), linalg.blas.dgemv(1.0, XwT, yw))
            return factor, coef, "cholesky"

    # Householder QR of [Xw, yw; diag(sqrt(alpha)), 0]: the leading triangle is R
    # and the last column holds Q^T [yw; 0], so the coefficients come from one
    # back substitution without forming the normal equations.
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
    factor = np.ascontiguousarray(upper[:n_features, :n_features])
    diagonal = np.abs(np.diag(factor))
    if not np.all(diagonal > np.finfo(float).tiny):
        raise np.linalg.LinAlgError(
            NOT_POSITIVE_DEFINITE.format(detail="the QR factor has a zero pivot")
        )
    _warn_if_rounding_dominates(_condition_estimate(factor))
    coef = linalg.solve_triangular(factor, upper[:n_features, n_features])
    return factor, coef, "qr"


def matvec(X, v):
    """``X @ v`` on scipy's BLAS, like the rest of the fit and the queries.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    v : ndarray of shape (n_features,)

    Returns
    -------
    ndarray of shape (n_samples,)
    """
    if X.shape[0] == 0:
        return np.zeros(0)
    return linalg.blas.dgemv(1.0, np.ascontiguousarray(X).T, v, trans=1)


def inverse_quadratic_form(factor, G):
    """Diagonal of ``G H^{-1} G^T`` from the triangular factor of ``H``.

    .. math:: q_i = g_i^\\top H^{-1} g_i = \\lVert R^{-\\top} g_i \\rVert^2

    Parameters
    ----------
    factor : ndarray of shape (n_features, n_features)
        Upper triangular ``R`` with ``R.T @ R = H``.
    G : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples,)

    Notes
    -----
    One triangular solve per chunk of :data:`CHUNK` rows: ``n F^2`` flops and
    ``F * CHUNK`` doubles of memory; the inverse is never formed.
    """
    out = np.empty(G.shape[0])
    for start in range(0, G.shape[0], CHUNK):
        rows = slice(start, start + CHUNK)
        z = linalg.solve_triangular(factor, G[rows].T, trans="T", check_finite=False)
        out[rows] = np.einsum("ij,ij->j", z, z)
    return out


def block_inverse_quadratic_form(factor, G, blocks):
    """Per-block quadratic forms with the ``(b, b)`` block of ``H^{-1}``.

    .. math:: q_{ib} = g_{i,b}^\\top [H^{-1}]_{bb}\\, g_{i,b}

    This is the block of the inverse, not the inverse of the block ``H_bb``:
    it accounts for the other blocks compensating a change in block ``b``.

    Parameters
    ----------
    factor : ndarray of shape (n_features, n_features)
        Upper triangular ``R`` with ``R.T @ R = H``.
    G : ndarray of shape (n_samples, n_features)
    blocks : tuple of slice
        Contiguous column ranges covering ``0..n_features``.

    Returns
    -------
    ndarray of shape (n_samples, n_blocks)

    Notes
    -----
    ``R^{-T}`` is lower triangular, so a vector that is zero before column
    ``b.start`` stays zero there: the solve for block ``b`` only needs the
    trailing triangle ``R[b.start:, b.start:]``.  Cost at most ``B n F^2`` flops.
    """
    out = np.empty((G.shape[0], len(blocks)))
    for b, block in enumerate(blocks):
        masked = np.zeros((G.shape[0], factor.shape[0] - block.start))
        width = block.stop - block.start
        masked[:, :width] = G[:, block]
        out[:, b] = inverse_quadratic_form(factor[block.start :, block.start :], masked)
    return out
