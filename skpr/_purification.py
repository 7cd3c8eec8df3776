"""ACE purification of precomputed self-interacting features, as one linear map."""

import re
from numbers import Real

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state

from skpr._orthogonalization import _BlockMap, block_triangular_map

_ORDER_NAME = re.compile(r"nu(\d+)$")


class ACEPurifier(_BlockMap):
    """Remove the self-interaction of precomputed ACE features with a linear map.

    Self-interacting features of correlation order ``nu`` (products of
    density coefficients :math:`A_k = \\sum_j \\phi_k(\\mathbf r_{ij})`, as ACE
    codes compute them) also count tuples in which the same neighbour appears
    several times, so an order-``nu`` block also describes fewer than
    ``nu + 1`` bodies.  The purified block sums over pairwise distinct
    neighbours only; it differs from the self-interacting one by lower-order
    terms, so with an *extended* basis (lower orders rich enough to hold the
    products that self-interaction creates) it is a fixed linear map of the
    features (Ho, Gutleb and Ortner, J. Comput. Phys. 515, 113271 (2024)):

    .. math:: X^{\\text{pure}}_\\nu = X_\\nu - X_{<\\nu} C_\\nu .

    The map is either supplied (``map``, for instance exported from ACE1x) or
    fitted exactly: a purified order-``nu`` feature is zero for a centre
    with fewer than ``nu`` neighbours, so on reference clusters of such
    centres the self-interacting block must be exactly a linear function of
    the lower-order columns, and that function is ``C_nu``.  Part of the
    reference clusters is held out to check that the fitted map is
    determined and exact (``holdout_error_``).

    Parameters
    ----------
    blocks : "names" or list of int, default="names"
        The blocks, one per correlation order, in increasing order: from the
        ``name__`` prefixes of the column names (``nu1__``, ``nu2__``, ...,
        as :class:`skpr.atomistic.BodyOrderFeatures` writes them) or their
        sizes.
    orders : None or list of int, default=None
        Correlation order of each block; ``None`` reads it from block names
        ``nu<K>`` and otherwise takes 1, 2, 3, ... in column order.
    map : None, ndarray or sparse matrix of shape (n_features, n_features)
        A supplied purification map (``X @ map``); ``None`` fits it.  A
        supplied map must be block upper triangular (no order mixes in a
        higher one).
    tol : float, default=1e-8
        Largest relative residual accepted on the reference clusters (fit
        and held-out), relative to the largest magnitude of the block in
        ``X``.
    validation_fraction : float, default=0.25
        Share of each order's reference rows held out of the fit to measure
        ``holdout_error_`` (at least one row).
    random_state : int, RandomState or None, default=0
        Which rows are held out.

    Attributes
    ----------
    map_ : ndarray or scipy.sparse.csr_array of shape (n_features, n_features)
        The map ``M``: the output is ``X @ map_``.
    offset_ : ndarray of shape (n_features,)
        Zeros (a purification map is linear).
    blocks_ : tuple of slice
    block_names_ : tuple of str
    orders_ : tuple of int
    fit_error_, holdout_error_ : ndarray of shape (n_blocks,)
        Largest magnitude of each purified block on the reference rows that
        fixed the map and on the held-out ones, relative to the block's
        largest magnitude in ``X`` (NaN where a block had no such rows).
    n_reference_ : ndarray of int, shape (n_blocks,)
        Reference rows (fewer neighbours than the order) of each block.

    See Also
    --------
    skpr.atomistic.BodyOrderFeatures : purified features computed directly.
    skpr.BlockOrthogonalizer : statistical (pool-dependent) orthogonalization.

    Notes
    -----
    Fit: one least-squares solve per order on its reference rows; transform:
    ``O(n_samples * n_features^2)`` (less for a sparse supplied map).  For
    per-structure rows (sums over atoms), ``n_neighbors`` of a row is the
    largest number of neighbours of any of its centres.  Exactness needs
    one-particle functions whose products stay in the lower-order basis:
    polynomial radial functions with a hard cutoff
    (``BodyOrderFeatures(radial_basis="monomials", cutoff_width=0)`` with
    larger lower-order bases), not a smooth cutoff function.

    Examples
    --------
    One-dimensional "neighbours" ``x_j`` with :math:`\\phi_n(x) = x^n`: the
    order-2 features :math:`A_1 A_1, A_1 A_2, A_2 A_2` purify exactly with
    the order-1 columns :math:`A_1 \\dots A_4` (an extended basis).

    >>> import numpy as np
    >>> from skpr import ACEPurifier
    >>> rng = np.random.default_rng(0)
    >>> def features(x):
    ...     A = [np.sum(x**n) for n in range(1, 5)]
    ...     return A + [A[0] * A[0], A[0] * A[1], A[1] * A[1]]
    >>> clusters = [rng.uniform(-1, 1, size=rng.integers(0, 5)) for _ in range(80)]
    >>> X = np.array([features(x) for x in clusters])
    >>> n_neighbors = np.array([len(x) for x in clusters])
    >>> purifier = ACEPurifier(blocks=[4, 3]).fit(X, n_neighbors=n_neighbors)
    >>> x = np.array([0.3, -0.5, 0.9])
    >>> pure = purifier.transform([features(x)])[0, 4:]
    >>> distinct = [sum(x[i] * x[j] for i in range(3) for j in range(3) if i != j)]
    >>> bool(np.isclose(pure[0], distinct[0]))
    True
    >>> bool(purifier.holdout_error_[1] < 1e-10)
    True
    """

    def __init__(
        self,
        blocks="names",
        *,
        orders=None,
        map=None,
        tol=1e-8,
        validation_fraction=0.25,
        random_state=0,
    ):
        self.blocks = blocks
        self.orders = orders
        self.map = map
        self.tol = tol
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def fit(self, X, y=None, *, n_neighbors=None):
        """Fit (or check) the purification map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Self-interacting features: the reference clusters, and any other
            rows (they set the scale of each block).
        y : None
            Ignored.
        n_neighbors : array-like of int, shape (n_samples,), optional
            Largest number of neighbours of a centre in each row.  Needed to
            fit the map; with a supplied ``map`` it measures the map's
            exactness on the rows with fewer neighbours than each order.

        Returns
        -------
        self
        """
        self._check_params()
        X = self._validate(X, reset=True)
        self.blocks_, self.block_names_ = self._resolve(X)
        self.orders_ = self._orders()
        counts = self._neighbor_counts(n_neighbors, X.shape[0])
        if counts is None and self.map is None:
            raise ValueError(
                "ACEPurifier fits its map on reference clusters and needs "
                "fit(X, n_neighbors=...): for every row the largest number of "
                "neighbours of one of its centres. Or supply the map with "
                "ACEPurifier(map=M)."
            )
        rows = self._reference_rows(counts)
        fit_rows = [None if r is None else r[0] for r in rows]
        if self.map is None:
            self.map_ = block_triangular_map(X, self.blocks_, fit_rows)
        else:
            self.map_ = self._supplied_map(X.shape[1])
            fit_rows = [None] * len(self.blocks_)
        self.offset_ = np.zeros(X.shape[1])
        self._measure(X, rows, fit_rows)
        return self

    # -- steps of fit ---------------------------------------------------------

    def _check_params(self):
        if not isinstance(self.tol, Real) or not self.tol > 0:
            raise ValueError(f"tol must be a positive float, got {self.tol!r}.")
        fraction = self.validation_fraction
        if not isinstance(fraction, Real) or not 0 <= fraction < 1:
            raise ValueError(
                f"validation_fraction must be a float in [0, 1), got {fraction!r}."
            )

    def _orders(self):
        if self.orders is not None:
            orders = [int(v) for v in np.asarray(self.orders).ravel()]
            if len(orders) != len(self.blocks_):
                raise ValueError(
                    f"orders has {len(orders)} values but there are "
                    f"{len(self.blocks_)} blocks {list(self.block_names_)}; give "
                    "one correlation order per block."
                )
        else:
            matches = [_ORDER_NAME.match(name) for name in self.block_names_]
            if all(matches):
                orders = [int(m.group(1)) for m in matches]
            else:
                orders = list(range(1, len(self.blocks_) + 1))
        if any(o < 1 for o in orders) or np.any(np.diff(orders) <= 0):
            raise ValueError(
                f"The blocks {list(self.block_names_)} have correlation orders "
                f"{orders}; they must be positive and increase in column order "
                "(a block is purified with the columns before it). Reorder the "
                "columns or pass orders=."
            )
        return tuple(orders)

    @staticmethod
    def _neighbor_counts(n_neighbors, n_samples):
        if n_neighbors is None:
            return None
        counts = np.asarray(n_neighbors)
        if (
            counts.shape != (n_samples,)
            or not np.issubdtype(counts.dtype, np.integer)
            or np.any(counts < 0)
        ):
            raise ValueError(
                f"n_neighbors must hold one non-negative integer per row of X "
                f"({n_samples}), got an array of shape {counts.shape} and dtype "
                f"{counts.dtype}."
            )
        return counts

    def _reference_rows(self, counts):
        """Per block: (fit rows, held-out rows) of the reference clusters."""
        if counts is None:
            return [None] * len(self.blocks_)
        rng = check_random_state(self.random_state)
        rows = []
        for order in self.orders_:
            reference = np.flatnonzero(counts < order)
            if self.map is not None:
                rows.append((reference[:0], reference))  # all rows are held out
                continue
            shuffled = rng.permutation(reference)
            n_held = int(np.ceil(self.validation_fraction * len(reference)))
            rows.append((np.sort(shuffled[n_held:]), np.sort(shuffled[:n_held])))
        return rows

    def _supplied_map(self, n_features):
        M = self.map
        if sparse.issparse(M):
            M = sparse.csr_array(M, dtype=np.float64)
        else:
            M = np.array(M, dtype=np.float64)  # a copy: the parameter stays
        if M.shape != (n_features, n_features) or not _finite(M):
            raise ValueError(
                f"map must be a finite (n_features, n_features) = ({n_features}, "
                f"{n_features}) matrix applied as X @ map, got shape {M.shape}."
            )
        for k, block in enumerate(self.blocks_):
            if block.start and _any_nonzero(M[block, :][:, : block.start]):
                raise ValueError(
                    f"map puts columns of block {self.block_names_[k]!r} into the "
                    "outputs of earlier (lower-order) blocks; a purification map "
                    "is block upper triangular (order nu takes only orders <= nu)."
                )
        return M

    def _measure(self, X, rows, fit_rows):
        purified = self._linear_part(X)
        n_blocks = len(self.blocks_)
        self.fit_error_ = np.full(n_blocks, np.nan)
        self.holdout_error_ = np.full(n_blocks, np.nan)
        self.n_reference_ = np.zeros(n_blocks, dtype=np.int64)
        for k, (block, name, order) in enumerate(
            zip(self.blocks_, self.block_names_, self.orders_, strict=True)
        ):
            if rows[k] is None:
                continue
            fitted, held = rows[k]
            self.n_reference_[k] = len(fitted) + len(held)
            scale = np.abs(X[:, block]).max()
            scale = scale if scale > 0 else 1.0
            for part, errors in (
                (fitted, self.fit_error_),
                (held, self.holdout_error_),
            ):
                if len(part):
                    errors[k] = np.abs(purified[part, block]).max() / scale
            self._check_exact(k, name, order, fit_rows[k] is not None)

    def _check_exact(self, k, name, order, fitted):
        if self.n_reference_[k] == 0:
            if order > 1 and self.map is None:
                raise ValueError(
                    f"No row of X has fewer than {order} neighbours, so the map of "
                    f"block {name!r} (order {order}) has nothing to fit on. Add "
                    f"reference clusters in which every centre has at most "
                    f"{order - 1} neighbours (e.g. dimers and trimers for order 3)."
                )
            return
        fit_error, holdout_error = self.fit_error_[k], self.holdout_error_[k]
        if fitted and fit_error > self.tol:
            raise ValueError(
                f"Block {name!r} (order {order}) is not a linear function of the "
                f"columns before it on the reference clusters with fewer than "
                f"{order} neighbours (relative residual {fit_error:.2e} > tol="
                f"{self.tol:g}), so no linear map purifies it exactly. "
                "Purification needs the lower-order columns of an extended basis: "
                "lower orders with larger radial and angular bases than this one, "
                "holding the products of one-particle functions that "
                "self-interaction creates, and one-particle functions closed under "
                "products (polynomials with a hard cutoff, e.g. BodyOrderFeatures("
                "radial_basis='monomials', cutoff_width=0)); a smooth cutoff "
                "function breaks exactness."
            )
        if holdout_error > self.tol:
            source = "The fitted map" if self.map is None else "The supplied map"
            raise ValueError(
                f"{source} does not purify block {name!r} (order {order}) on the "
                f"held-out clusters with fewer than {order} neighbours (relative "
                f"residual {holdout_error:.2e} > tol={self.tol:g}). "
                + (
                    "The reference clusters do not determine the map: add more of "
                    "them, with varied geometries."
                    if self.map is None
                    else "Check that it was built for these columns, in this order."
                )
            )


def _finite(M):
    values = M.data if sparse.issparse(M) else M
    return bool(np.all(np.isfinite(values)))


def _any_nonzero(M):
    return bool(M.count_nonzero() if sparse.issparse(M) else np.any(M != 0))
