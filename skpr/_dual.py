"""The dual factor: rigidities and exact leave-one-out from ``A = K + S^{-1}``.

With ``A = S^{-1} + X Lambda^{-1} X^T`` (ridge, ``n x n``) or
``A = K~ + S^{-1}`` (kernels), every quadratic form of the primal Hessian is
``k~(x, x) - k~_x^T A^{-1} k~_x`` by Woodbury, and the leave-one-out values of
the training rows follow from ``A^{-1}`` without the subtractions that cancel
near interpolation.  Queries go through :func:`skpr._linalg.whiten`.
"""

import warnings

import numpy as np
from scipy import linalg

from skpr._linalg import cholesky_upper, whiten


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
        Their (positive) weights; ``n >= 2`` (leave-one-out needs two rows).
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
