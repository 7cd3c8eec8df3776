"""Low-rank updates of a fitted factor: rows added or removed, no refit.

``H' = H + G^T S G`` for a block of rows ``G`` with weights ``S`` (positive to
add, negative to remove): :func:`update_factor` gives the factor of ``H'``,
:func:`updated_quadratic_form` the quadratic forms of queries under ``H'``
by Woodbury, without changing the fitted factor.
"""

import numpy as np
from scipy import linalg

from skpr._linalg import (
    NOT_POSITIVE_DEFINITE,
    centered_rows,
    cholesky_upper,
    chunks,
    quadratic_form,
    whiten,
)


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
        z = whiten(factor, centered_rows(G, chunk, offset))
        projected = W.T @ z
        out[chunk] = np.einsum("ij,ij->j", z, z) - np.einsum(
            "ij,ij->j", projected, solve(projected)
        )
    return out
