"""Independent references for the tests: explicit inverses, refits, mpmath.

Nothing here uses skpr.  Every rigidity is computed from the augmented
Hessian of the loss (coefficients and, with an intercept, one unregularized
parameter more), inverted explicitly with numpy; leave-one-out values come
from refitting without the row; the high-precision references from mpmath.
"""

import mpmath
import numpy as np


def design(X, fit_intercept):
    """Rows ``g = [x, 1]`` (or ``x``) of the augmented parameters."""
    return np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X


def explicit_fit(X, y, sample_weight, alpha_diag, fit_intercept):
    """Parameters and inverse Hessian of the weighted ridge loss.

    Returns
    -------
    params : ndarray of shape (F,) or (F + 1,)
        Coefficients, then the intercept when fitted.
    inverse_hessian : ndarray, square, of the same size
    """
    G = design(X, fit_intercept)
    regularization = np.concatenate(
        [alpha_diag, [0.0]] if fit_intercept else [alpha_diag]
    )
    hessian = G.T @ (sample_weight[:, None] * G) + np.diag(regularization)
    inverse = np.linalg.inv(hessian)
    return inverse @ (G.T @ (sample_weight * y)), inverse


def explicit_rigidities(inverse_hessian, X, fit_intercept, blocks):
    """PR, LPR and CPR of the rows of X from an explicit inverse Hessian."""
    n_features = X.shape[1]
    G = design(X, fit_intercept)
    pr = 1.0 / np.einsum("ij,jk,ik->i", G, inverse_hessian, G)
    top = inverse_hessian[:n_features, :n_features]
    lpr = 1.0 / np.einsum("ij,jk,ik->i", X, top, X)
    cpr = np.stack(
        [1.0 / np.einsum("ij,jk,ik->i", X[:, b], top[b, b], X[:, b]) for b in blocks],
        axis=1,
    )
    return pr, lpr, cpr


def loo_by_refits(X, y, sample_weight, alpha_diag, fit_intercept):
    """Leave-one-out residual and PR of every row by explicit refits.

    A row with positive weight is removed (weight 0) and the model refitted;
    a row of zero weight is not in the loss and keeps the full model's values.
    """
    n_samples = X.shape[0]
    residual, rigidity = np.empty(n_samples), np.empty(n_samples)
    G = design(X, fit_intercept)
    for i in range(n_samples):
        weights = sample_weight.copy()
        weights[i] = 0.0
        params, inverse = explicit_fit(X, y, weights, alpha_diag, fit_intercept)
        residual[i] = y[i] - G[i] @ params
        with np.errstate(divide="ignore"):
            rigidity[i] = 1.0 / (G[i] @ inverse @ G[i])
    return residual, rigidity


def likelihood_scale(residual, rigidity, sample_weight):
    """Maximum-likelihood scale over the rows with a finite rigidity."""
    keep = np.isfinite(rigidity) & (sample_weight > 0)
    return np.average(residual[keep] ** 2 * rigidity[keep], weights=sample_weight[keep])


def mpmath_loo(X, y, sample_weight, alpha, fit_intercept, digits=50):
    """Leave-one-out residuals by refits in ``digits``-digit arithmetic."""
    with mpmath.workdps(digits):
        G = design(X, fit_intercept)
        n_params = G.shape[1]
        out = []
        for i in range(X.shape[0]):
            hessian = mpmath.matrix(n_params, n_params)
            rhs = mpmath.matrix(n_params, 1)
            for r in range(X.shape[0]):
                if r == i or sample_weight[r] == 0:
                    continue
                s = mpmath.mpf(sample_weight[r])
                row = [mpmath.mpf(v) for v in G[r]]
                for a in range(n_params):
                    rhs[a] += s * row[a] * mpmath.mpf(y[r])
                    for b in range(n_params):
                        hessian[a, b] += s * row[a] * row[b]
            for k in range(X.shape[1]):
                hessian[k, k] += mpmath.mpf(alpha)
            params = mpmath.lu_solve(hessian, rhs)
            prediction = sum(mpmath.mpf(G[i, k]) * params[k] for k in range(n_params))
            out.append(float(mpmath.mpf(y[i]) - prediction))
    return np.array(out)


def mpmath_rigidity(X, Xq, alpha, digits=60):
    """PR without intercept in mpmath arithmetic from the exact float inputs."""
    with mpmath.workdps(digits):
        A = mpmath.matrix(X.tolist())
        H = A.T * A
        for k in range(X.shape[1]):
            H[k, k] += mpmath.mpf(alpha)
        out = []
        for g in Xq:
            column = mpmath.matrix(g.tolist())
            out.append(float(1 / (column.T * mpmath.lu_solve(H, column))[0]))
    return np.array(out)
