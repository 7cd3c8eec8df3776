"""Active points for the sparse (Nystroem) route to local non-linear kernels.

A structure's kernel that sums a non-linear kernel over pairs of environments
is not additive over environments, so :class:`BlockKernelRidge` cannot give an
LPR for it.  The projected-process (subset-of-regressors) approximation can:
with ``M`` active environments, each environment ``x_j`` gets the features

.. math:: \\phi(x_j) = K_{MM}^{-1/2} k_M(x_j),

which :class:`sklearn.kernel_approximation.Nystroem` computes when it is
fitted on exactly the active rows.  A structure's features are the sum of its
environments' (:func:`skpr.pool_structures`), :class:`skpr.BlockRidge` fits
them, and :meth:`BlockRidge.local_rigidity` of ``phi(x_j)`` is the LPR

.. math:: R_j = \\left(k_{jM} (K_{MN} S K_{NM} + \\alpha K_{MM})^{-1}
          k_{Mj}\\right)^{-1},

where ``K_NM`` holds the per-structure sums of ``k(x_j, active)``.  With
several blocks, use one Nystroem per block (in a ``ColumnTransformer``) and
one ``alpha`` per block.  This module chooses the active points
(:func:`farthest_point_sampling`) and fixes Nystroem on them
(:func:`active_nystroem`).
"""

from numbers import Integral

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.kernel_approximation import Nystroem
from sklearn.utils import check_array, check_scalar


def farthest_point_sampling(X, n_select, *, initial=0):
    """Greedy farthest-point selection of rows of ``X``.

    Starting from row ``initial``, each step selects the row whose Euclidean
    distance to the nearest already selected row is largest (the first such
    row on ties), which spreads the selection over the data.

    .. math:: i_{k+1} = \\arg\\max_{i} \\min_{l \\le k} \\lVert x_i - x_{i_l}
              \\rVert

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Candidate rows, e.g. per-environment descriptors.
    n_select : int
        Number of rows to select, ``1 <= n_select <= n_samples``.
    initial : int, default=0
        Index of the first selected row.

    Returns
    -------
    ndarray of int of shape (n_select,)
        Indices of the selected rows, in the order of selection; all
        distinct (rows equal to selected ones come last, at distance zero).

    Notes
    -----
    ``O(n_select * n_samples * n_features)`` time and ``O(n_samples)`` memory
    besides one ``(n_samples, n_features)`` temporary; distances are computed
    from differences, not from ``|x|^2 - 2 x.y + |y|^2``, so that near
    duplicates are ordered correctly.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import farthest_point_sampling
    >>> X = np.array([[0.0], [0.1], [1.0], [0.5], [0.9]])
    >>> farthest_point_sampling(X, 3)
    array([0, 2, 3])
    """
    X = check_array(X, dtype=np.float64)
    n_samples = X.shape[0]
    check_scalar(n_select, "n_select", Integral, min_val=1, max_val=n_samples)
    check_scalar(initial, "initial", Integral, min_val=0, max_val=n_samples - 1)
    selected = np.empty(n_select, dtype=np.intp)
    nearest = np.full(n_samples, np.inf)
    index = int(initial)
    for k in range(n_select):
        selected[k] = index
        difference = X - X[index]
        nearest = np.minimum(nearest, np.einsum("ij,ij->i", difference, difference))
        # selected rows never come back, even when duplicates tie at zero
        nearest[index] = -np.inf
        index = int(np.argmax(nearest))
    return selected


def active_nystroem(X_active, *, kernel="rbf", **params):
    """Nystroem feature map on exactly the given active rows, frozen.

    :class:`sklearn.kernel_approximation.Nystroem` draws ``n_components``
    rows at random from what it is fitted on; fitted on exactly the ``M``
    active rows with ``n_components=M`` it uses all of them (in a random
    order, which only rotates the features).  The result is wrapped in
    :class:`sklearn.frozen.FrozenEstimator`, so that a ``Pipeline`` or
    ``ColumnTransformer`` does not refit it on all environments.

    .. math:: \\phi(x) = K_{MM}^{-1/2} k_M(x), \\qquad
              \\phi(x) \\cdot \\phi(x') = k_{xM} K_{MM}^{-1} k_{Mx'}

    Parameters
    ----------
    X_active : array-like of shape (n_active, n_features)
        The active rows (e.g. ``X[farthest_point_sampling(X, M)]``).  They
        should be distinct: Nystroem replaces eigenvalues of ``K_MM`` below
        ``1e-12`` by ``1e-12``, which is then no longer the exact
        projected-process feature map.
    kernel : str or callable, default="rbf"
        Kernel of :class:`~sklearn.kernel_approximation.Nystroem`.
    **params
        Other parameters of Nystroem (``gamma``, ``coef0``, ``degree``,
        ``kernel_params``, ``n_jobs``); ``n_components`` is set to
        ``n_active``.

    Returns
    -------
    sklearn.frozen.FrozenEstimator
        Wrapping the fitted Nystroem; ``transform(X)`` gives
        ``(n_samples, n_active)`` features.

    Notes
    -----
    Fitting costs one ``M x M`` kernel matrix and its SVD, ``O(M^2 F + M^3)``;
    each transformed row costs ``O(M F + M^2)``.

    Examples
    --------
    The whole sparse route: LPR of every environment under a local RBF
    kernel.

    >>> import numpy as np
    >>> from skpr import BlockRidge, pool_structures
    >>> from skpr import active_nystroem, farthest_point_sampling
    >>> rng = np.random.default_rng(0)
    >>> structure_index = np.repeat(np.arange(40), 5)   # 40 structures, 5 atoms
    >>> X_local = rng.normal(size=(200, 3))             # per-atom descriptors
    >>> y = pool_structures(np.sin(X_local), structure_index).sum(1)
    >>> active = farthest_point_sampling(X_local, 30)
    >>> nystroem = active_nystroem(X_local[active], kernel="rbf", gamma=0.5)
    >>> phi_local = nystroem.transform(X_local)
    >>> model = BlockRidge(alpha=1e-3, fit_intercept=False).fit(
    ...     pool_structures(phi_local, structure_index), y)
    >>> model.local_rigidity(phi_local).shape
    (200,)
    """
    X_active = check_array(X_active, dtype=np.float64)
    if "n_components" in params:
        raise ValueError(
            "active_nystroem sets n_components to the number of active rows "
            f"({X_active.shape[0]}), so that all of them are used; do not pass "
            "n_components. Select fewer rows instead."
        )
    n_active = X_active.shape[0]
    nystroem = Nystroem(kernel=kernel, n_components=n_active, **params).fit(X_active)
    # Nystroem keeps a permutation of the rows it was fitted on as components;
    # should a future version subsample differently, fail rather than be wrong.
    if not np.array_equal(np.sort(nystroem.component_indices_), np.arange(n_active)):
        raise RuntimeError(  # pragma: no cover - guards scikit-learn's behaviour
            "Nystroem did not keep every active row as a component."
        )
    return FrozenEstimator(nystroem)


def nystroem_residual(feature_map, X_local, structure_index=None, *, n_structures=None):
    """The prior variance a Nystroem feature map leaves out, per row or structure.

    .. math:: \\delta(x) = k(x, x) - \\phi(x) \\cdot \\phi(x), \\qquad
              \\delta_A = \\sum_{i, j \\in A} k(x_i, x_j)
              - \\Big\\lVert \\sum_{i \\in A} \\phi(x_i) \\Big\\rVert^2

    (the diagonal correction of the FITC / DTC approximations).  The
    projected-process model sees only the part of the kernel spanned by the
    active points; its uncertainty misses ``delta / alpha`` (in the units of
    ``1 / R``, for the block regularized with ``alpha``), which is what
    ``prior_variance=nystroem_residual(...) / alpha`` adds to ``predict``,
    ``fit`` and ``calibrate`` of :class:`BlockRidge`.  With every training
    environment active it turns the projected process into the exact
    Gaussian process.

    Parameters
    ----------
    feature_map : fitted Nystroem or FrozenEstimator of one
        As returned by :func:`active_nystroem`.
    X_local : array-like of shape (n_environments, n_features)
        The environments (rows before the feature map).
    structure_index : array-like of int, shape (n_environments,), optional
        The structure of each environment; ``None`` gives one value per row.
    n_structures : int, optional
        With ``structure_index``: the number of structures (default: the
        largest index plus one).

    Returns
    -------
    ndarray of shape (n_rows,) or (n_structures,)
        Non-negative (rounding below zero is clipped).
    """
    from sklearn.metrics.pairwise import pairwise_kernels

    nystroem = getattr(feature_map, "estimator", feature_map)
    if not isinstance(nystroem, Nystroem):
        raise TypeError(
            "feature_map must be a fitted sklearn Nystroem (or the FrozenEstimator "
            f"of active_nystroem), got {type(nystroem).__name__}."
        )
    X_local = check_array(X_local, dtype=np.float64)
    features = feature_map.transform(X_local)
    params = dict(nystroem.kernel_params or {})
    for name in ("gamma", "coef0", "degree"):
        if getattr(nystroem, name, None) is not None and not callable(nystroem.kernel):
            params.setdefault(name, getattr(nystroem, name))

    def kernel(a, b):
        return pairwise_kernels(
            a, b, metric=nystroem.kernel, filter_params=True, **params
        )

    if structure_index is None:
        diagonal = np.array([kernel(row[None], row[None])[0, 0] for row in X_local])
        return np.maximum(diagonal - np.einsum("ij,ij->i", features, features), 0.0)
    index = np.asarray(structure_index, dtype=np.int64)
    if index.shape != (X_local.shape[0],):
        raise ValueError(
            f"structure_index must have one entry per row of X_local "
            f"({X_local.shape[0]}), got shape {index.shape}."
        )
    n = int(index.max()) + 1 if n_structures is None else int(n_structures)
    out = np.zeros(n)
    for a in range(n):
        rows = index == a
        if rows.any():
            summed = features[rows].sum(axis=0)
            out[a] = kernel(X_local[rows], X_local[rows]).sum() - summed @ summed
    return np.maximum(out, 0.0)
