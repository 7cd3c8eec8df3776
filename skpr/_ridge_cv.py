"""Alpha by exact leave-one-out for a whole grid, from one decomposition.

As :class:`sklearn.linear_model.RidgeCV` does for ``Ridge``: with the rows
``A = S^{1/2} (X - xbar) R^{-1/2}`` (``R`` the fixed ratios of the blocks'
alphas, so that ``Lambda = alpha R``) and the thin SVD ``A = U Sigma V^T``,
every alpha of the grid has

.. math:: \\hat y_w = U f U^\\top b, \\quad h_i = \\sum_k U_{ik}^2 f_k
          + s_i / W, \\quad f_k = \\frac{\\sigma_k^2}{\\sigma_k^2 + \\alpha}

(``b = S^{1/2} (y - ybar)``; the last term is the unpenalized intercept), so
the leave-one-out residuals ``(y_i - \\hat y_i) / (1 - h_i)`` of all alphas
cost one SVD and ``O(n k)`` per alpha.  Groups of rows (a structure's energy
and force rows) are left out together with one ``k x k`` solve per group
and alpha.  Per-block ratios are found by a small coordinate search on a
log grid, one SVD per trial.
"""

import numpy as np
from scipy import linalg
from sklearn.utils.validation import _num_samples

from skpr._base import check_labels
from skpr._blocks import resolve_blocks
from skpr._linalg import serial_blas
from skpr._ridge import BlockRidge

#: Default grid of alpha values (in the units of ``sample_weight``).
DEFAULT_ALPHAS = tuple(np.logspace(-10, 2, 25))

#: Ratios tried for each block by ``block_ratios="search"`` (relative to the
#: first block).
RATIO_GRID = tuple(10.0 ** np.arange(-3, 4))


def leave_one_out_path(
    X, y, sample_weight, alphas, column_ratio, *, fit_intercept, groups=None
):
    """Weighted mean squared leave-one-out error of ridge for every alpha.

    Parameters
    ----------
    X : ndarray of shape (n, F)
    y : ndarray of shape (n,)
    sample_weight : ndarray of shape (n,)
        Rows of zero weight are not in the loss and not in the error.
    alphas : ndarray of shape (n_alphas,)
    column_ratio : ndarray of shape (F,)
        ``Lambda = alpha * column_ratio``.
    fit_intercept : bool
    groups : ndarray of shape (n,), optional
        Leave out whole groups of rows.

    Returns
    -------
    ndarray of shape (n_alphas,)
        ``sum_i s_i e_i^2 / sum_i s_i`` with ``e_i`` the left-out residual.
    """
    keep = sample_weight > 0
    X, y, s = X[keep], y[keep], sample_weight[keep]
    W = s.sum()
    if fit_intercept:
        X = X - s @ X / W
        y = y - s @ y / W
    root = np.sqrt(s)
    A = root[:, None] * X / np.sqrt(column_ratio)
    b = root * y
    U, sigma, _ = linalg.svd(A, full_matrices=False, lapack_driver="gesdd")
    c = U.T @ b
    squared = sigma**2
    alphas = np.asarray(alphas, dtype=float)
    # 1 - f = alpha / (sigma^2 + alpha), never 1 minus a number near 1: near
    # interpolation (wide rows, tiny alpha) residuals and 1 - h are both
    # small and keep their digits only in this form
    shrink = alphas[:, None] / (squared[None, :] + alphas[:, None])  # (a, k)
    intercept = s / W if fit_intercept else np.zeros_like(s)
    square = U.shape[1] == U.shape[0]
    if square:
        # wide rows: U U^T = I, so I - hat = U diag(1 - f) U^T less the
        # intercept, which a null singular vector along S^1/2 1 carries: drop
        # that vector and nothing is left to cancel (exact near interpolation)
        use = np.ones(U.shape[1], dtype=bool)
        if fit_intercept:
            use[np.argmax(np.abs(U.T @ (root / np.sqrt(W))))] = False
        U, shrink, c = U[:, use], shrink[:, use], c[use]
        outside = np.zeros_like(b)
    else:
        outside = b - U @ c  # the part of b outside the span of the rows
    # 1 - f = alpha / (sigma^2 + alpha), never 1 minus a number near 1
    residual = U @ (shrink * c).T + outside[:, None]  # (n, a), times S^1/2
    if groups is None:
        complement = (U**2) @ shrink.T
        if not square:  # what of e_i is outside span(U), less the intercept
            complement += (1.0 - np.sum(U**2, axis=1) - intercept)[:, None]
        left_out = residual / complement
        return np.sum(left_out**2, axis=0) / W
    groups = np.asarray(groups)[keep]
    labels, index = np.unique(groups, return_inverse=True)
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(labels.size + 1))
    sizes = np.diff(bounds)
    total = np.zeros(len(alphas))
    with serial_blas():
        for size in np.unique(sizes):
            members = np.flatnonzero(sizes == size)
            rows = order[(bounds[members][:, None] + np.arange(size)).ravel()]
            Ug = U[rows].reshape(members.size, size, -1)
            dg = root[rows].reshape(members.size, size)
            if square:
                base = 0.0
            else:  # I - U U^T - d d^T / W on the group
                base = np.eye(size) - Ug @ np.swapaxes(Ug, 1, 2)
                if fit_intercept:
                    base = base - dg[:, :, None] * dg[:, None, :] / W
            for a in range(len(alphas)):
                # I - hat = U diag(1 - f) U^T + base
                complement = (Ug * shrink[a]) @ np.swapaxes(Ug, 1, 2) + base
                r = residual[rows, a].reshape(members.size, size)
                e = np.linalg.solve(complement, r[:, :, None])[:, :, 0]
                total[a] += np.sum(e**2)
    return total / W


class BlockRidgeCV(BlockRidge):
    """BlockRidge with alpha chosen by exact leave-one-out over a grid.

    One SVD of the weighted, centred rows gives the leave-one-out error of
    every alpha of ``alphas`` (leave-one-group-out with ``groups``), as
    :class:`sklearn.linear_model.RidgeCV` does; the model is then fitted with
    the best alpha and is a :class:`BlockRidge` in every other respect (PR,
    LPR, CPR, calibration, what-if updates).

    Parameters
    ----------
    alphas : array-like of float, default=None
        The grid, in the units of ``sample_weight``; ``None`` means 25 values
        from 1e-10 to 1e2 on a log scale.
    blocks : see :class:`BlockRidge`
    block_ratios : None, array-like of shape (n_blocks,), or "search"
        ``alpha_b = alpha * ratio_b``.  ``None``: one alpha for every block;
        an array: fixed ratios; ``"search"``: a coordinate search of each
        block's ratio (relative to the first) over ``10^-3 .. 10^3``, two
        sweeps, one SVD per trial.
    fit_intercept, calibration, fit_noise, solver : see :class:`BlockRidge`

    Attributes
    ----------
    alpha_ : ndarray of shape (n_blocks,)
        The chosen alpha of each block.
    alphas_ : ndarray of shape (n_alphas,)
    loo_mse_ : ndarray of shape (n_alphas,)
        Leave-one-out mean squared error along ``alphas_`` (at the chosen
        ratios), weighted by ``sample_weight``.
    block_ratios_ : ndarray of shape (n_blocks,)
    best_loo_mse_ : float

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import BlockRidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5))
    >>> y = X @ rng.normal(size=5) + 0.1 * rng.normal(size=60)
    >>> model = BlockRidgeCV(alphas=np.logspace(-4, 2, 13)).fit(X, y)
    >>> model.loo_mse_.shape, bool(model.best_loo_mse_ == model.loo_mse_.min())
    ((13,), True)
    """

    def __init__(
        self,
        alphas=None,
        *,
        blocks=None,
        block_ratios=None,
        fit_intercept=True,
        calibration="loo",
        fit_noise=False,
        solver="auto",
    ):
        self.alphas = alphas
        self.blocks = blocks
        self.block_ratios = block_ratios
        self.fit_intercept = fit_intercept
        self.calibration = calibration
        self.fit_noise = fit_noise
        self.solver = solver

    @property
    def alpha(self):
        """The selected alpha of each block (what ``BlockRidge`` fits with)."""
        return getattr(self, "_selected_alpha", 1.0)

    @property
    def _streams(self):
        # the alpha grid needs the rows themselves (one SVD): no partial_fit
        return False

    def fit(
        self, X, y, sample_weight=None, *, groups=None, kinds=None, prior_variance=None
    ):
        """Choose alpha by leave-one-out, then fit (see :meth:`BlockRidge.fit`).

        ``groups`` also makes the selection leave out whole groups.
        """
        self._selection_groups = (
            None if groups is None else check_labels(groups, _num_samples(X), "groups")
        )
        try:
            return super().fit(
                X,
                y,
                sample_weight,
                groups=groups,
                kinds=kinds,
                prior_variance=prior_variance,
            )
        finally:
            del self._selection_groups

    def _check_params(self):
        super()._check_params()
        alphas = DEFAULT_ALPHAS if self.alphas is None else self.alphas
        alphas = np.asarray(alphas, dtype=float).reshape(-1)
        if alphas.size == 0 or not np.all(np.isfinite(alphas) & (alphas > 0)):
            raise ValueError(
                "alphas must be a non-empty list of positive floats, got "
                f"{self.alphas!r}."
            )
        self._alphas = np.sort(alphas)
        ratios = self.block_ratios
        if not (ratios is None or (isinstance(ratios, str) and ratios == "search")):
            ratios = np.asarray(ratios, dtype=float).reshape(-1)
            if ratios.size == 0 or not np.all(np.isfinite(ratios) & (ratios > 0)):
                raise ValueError(
                    "block_ratios must be None, 'search', or one positive float per "
                    f"block; got {self.block_ratios!r}."
                )
        elif isinstance(ratios, str) and ratios != "search":  # pragma: no cover
            raise ValueError(f"block_ratios={ratios!r}")

    def _fit(self, X, y, sample_weight):
        blocks, names = resolve_blocks(
            self.blocks, X.shape[1], getattr(self, "feature_names_in_", None)
        )
        groups = getattr(self, "_selection_groups", None)

        def path(ratios):
            column = np.empty(X.shape[1])
            for block, ratio in zip(blocks, ratios, strict=True):
                column[block] = ratio
            # normalized units: weights / weight_scale_, so alpha / weight_scale_
            return leave_one_out_path(
                X,
                y,
                sample_weight,
                self._alphas / self.weight_scale_,
                column,
                fit_intercept=self.fit_intercept,
                groups=groups,
            )

        n_blocks = len(blocks)
        if self.block_ratios is None:
            ratios = np.ones(n_blocks)
        elif isinstance(self.block_ratios, str):
            ratios = self._search(path, n_blocks)
        else:
            ratios = np.asarray(self.block_ratios, dtype=float).reshape(-1)
            if ratios.size != n_blocks:
                raise ValueError(
                    f"block_ratios has {ratios.size} values but there are {n_blocks} "
                    f"blocks {list(names)}; give one ratio per block."
                )
        curve = path(ratios)
        best = int(np.argmin(curve))
        self.alphas_ = self._alphas.copy()
        self.loo_mse_ = curve
        self.best_loo_mse_ = float(curve[best])
        self.block_ratios_ = ratios
        self._selected_alpha = list(self._alphas[best] * ratios)
        if n_blocks == 1:
            self._selected_alpha = float(self._selected_alpha[0])
        super()._fit(X, y, sample_weight)

    @staticmethod
    def _search(path, n_blocks):
        ratios = np.ones(n_blocks)
        best = path(ratios).min()
        for _ in range(2):
            for b in range(1, n_blocks):
                for value in RATIO_GRID:
                    trial = ratios.copy()
                    trial[b] = value
                    error = path(trial).min()
                    if error < best:
                        best, ratios = error, trial
        return ratios
