"""Block maps that make additive feature blocks mean what they claim.

Both transformers here apply one fitted linear map that leaves the first
block alone and replaces every later block ``k`` by itself minus a linear
function of the blocks before it,

.. math:: X'_k = X_k - X_{<k} C_k, \\qquad
          X' = X M + b, \\quad
          M = \\begin{pmatrix} I & -C_1 & -C_2 & \\dots \\\\
                               0 & I & & \\\\ & & \\ddots \\end{pmatrix},

a block unit-upper-triangular ``M``, so that the output spans the same
space as the input and a linear model on it predicts the same things (only
the split into blocks changes).  They differ by the rows that fix ``C_k``:

- :class:`BlockOrthogonalizer`: least squares on a reference pool
  (hierarchical least squares, i.e. block Gram-Schmidt); afterwards each
  block is orthogonal to the blocks before it *on that pool*, a statistical
  property of the pool, not a physical one;
- :class:`skpr.ACEPurifier`: exact interpolation on reference clusters whose
  centres have fewer neighbours than each block's correlation order, which
  removes the self-interaction of ACE features (a physical property that
  holds for every structure).
"""

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from skpr._blocks import resolve_blocks


def block_triangular_map(X, blocks, rows=None):
    """Least-squares coefficients of every block on the blocks before it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    blocks : tuple of slice
        Contiguous column blocks, in column order.
    rows : None or list of (ndarray of int or None)
        For each block, the rows of ``X`` that fix its coefficients
        (``None``: all rows).

    Returns
    -------
    M : ndarray of shape (n_features, n_features)
        Block unit-upper-triangular: ``(X M)_k = X_k - X_{<k} C_k`` with
        ``C_k = argmin ||X[rows_k, k] - X[rows_k, <k] C||_F`` (minimum norm
        where the earlier blocks are linearly dependent on those rows).

    Notes
    -----
    One ``gelsd`` least-squares solve per block, ``O(n_rows * F_{<k}^2)``.
    """
    n_features = X.shape[1]
    M = np.eye(n_features)
    for k, block in enumerate(blocks):
        lower = slice(0, block.start)
        selected = X if rows is None or rows[k] is None else X[rows[k]]
        if block.start == 0 or selected.shape[0] == 0:
            continue
        coefficients = scipy.linalg.lstsq(
            selected[:, lower], selected[:, block], lapack_driver="gelsd"
        )[0]
        M[lower, block] = -coefficients
    return M


class _BlockMap(TransformerMixin, BaseEstimator):
    """What the block maps share: the fitted ``X M + b`` and the column names.

    Subclasses set ``map_`` (dense or sparse, ``(n_features, n_features)``),
    ``offset_``, ``blocks_`` and ``block_names_`` in ``fit``.
    """

    def _validate(self, X, *, reset):
        return validate_data(self, X, reset=reset, dtype=np.float64)

    def _resolve(self, X):
        names = getattr(self, "feature_names_in_", None)
        if self.blocks == "auto":
            if names is not None and all("__" in str(name) for name in names):
                return resolve_blocks("names", X.shape[1], names)
            return resolve_blocks([1] * X.shape[1], X.shape[1])
        return resolve_blocks(self.blocks, X.shape[1], names)

    def _linear_part(self, X):
        """``X M``: the map without its offset (per-environment rows)."""
        return np.asarray(X @ self.map_)

    def transform(self, X):
        """Apply the fitted map.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            ``X M + b``: same columns, same block layout.
        """
        check_is_fitted(self, "map_")
        X = self._validate(X, reset=False)
        return self._linear_part(X) + self.offset_

    def get_feature_names_out(self, input_features=None):
        """Column names with one ``name__`` prefix per block.

        Input names that already carry the block prefixes (``blocks="names"``)
        are kept; otherwise each name gets its block's name as prefix, so that
        ``BlockRidge(blocks="names")`` finds the same blocks downstream.

        Parameters
        ----------
        input_features : None or array-like of str
            Must match ``feature_names_in_`` when that exists.

        Returns
        -------
        ndarray of str, shape (n_features,)
        """
        check_is_fitted(self, "map_")
        names = _input_names(self, input_features)
        prefixes = np.empty(len(names), dtype=object)
        for name, block in zip(self.block_names_, self.blocks_, strict=True):
            prefixes[block] = name
        if all(
            str(n).partition("__")[0] == p for n, p in zip(names, prefixes, strict=True)
        ):
            return np.asarray(names, dtype=object)
        return np.array(
            [f"{p}__{n}" for p, n in zip(prefixes, names, strict=True)], dtype=object
        )


class BlockOrthogonalizer(_BlockMap):
    """Hierarchical least squares: each block minus its projection on the earlier ones.

    Fitted on a reference pool ``X``, block ``k`` becomes its residual after
    least squares on the blocks before it,

    .. math:: X'_k = X_k - \\bar X_{<k} C_k, \\qquad
              C_k = \\arg\\min_C \\| \\bar X_k - \\bar X_{<k} C \\|_F,

    (:math:`\\bar X`: columns centred on the pool when ``center=True``), so
    that on the pool every block is orthogonal to the blocks before it and
    the blocks together span the same space as the input (block
    Gram-Schmidt).  An unregularized linear model on the output has the same
    predictions as on the input; with ridge regularization they differ a
    little, since the penalty acts on the new coordinates.  What changes is
    what each block's component holds: the first block takes everything it
    can explain on the pool, later blocks what is left.

    This is a statistical orthogonalization, tied to the pool: on other
    structures the blocks are not orthogonal, and the parts it produces are
    not physical terms.  For body-ordered features a block of the 3-body
    order still contains 2-body contributions on structures unlike the pool;
    :class:`skpr.ACEPurifier` (or ``BodyOrderFeatures(purify=True)``) removes
    them for every structure.  The example "Body orders of silicon" shows
    both on the same data (paper section 5.1).

    Parameters
    ----------
    blocks : "auto", "names", None or list of int, default="auto"
        Column blocks, as in :class:`BlockRidge`: ``"names"`` from the
        ``name__`` prefixes of the column names, a list of block sizes in
        column order, ``None`` for one block (the identity), and ``"auto"``:
        the names when every column name has a prefix, otherwise one block
        per column (column-wise Gram-Schmidt).
    center : bool, default=True
        Centre the columns on the pool before the projections, as a model
        with an intercept does (the map is then affine, with offset
        ``offset_``); ``False`` orthogonalizes the raw columns.

    Attributes
    ----------
    map_ : ndarray of shape (n_features, n_features)
        The linear part ``M`` (block unit-upper-triangular).
    offset_ : ndarray of shape (n_features,)
        The offset ``b`` (zero when ``center=False``).
    blocks_ : tuple of slice
        The column blocks (the same for input and output).
    block_names_ : tuple of str
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` had column names.

    See Also
    --------
    skpr.ACEPurifier : exact removal of self-interaction from ACE features.
    BlockRidge : one ``alpha`` and one component rigidity per block.

    Notes
    -----
    Fit: one least-squares solve per block, ``O(n_samples * n_features^2)``
    in all; transform: ``O(n_samples * n_features^2)``.  The map is affine,
    so :func:`skpr.local_features` takes per-environment rows through it.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import BlockOrthogonalizer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4))
    >>> X[:, 2:] += X[:, :2] @ [[1.0, 2.0], [0.5, 0.0]]
    >>> orthogonal = BlockOrthogonalizer(blocks=[2, 2]).fit(X)
    >>> Z = orthogonal.transform(X)
    >>> bool(np.allclose(Z[:, :2], X[:, :2]))  # the first block is kept
    True
    >>> Zc = Z - Z.mean(axis=0)
    >>> bool(np.abs(Zc[:, :2].T @ Zc[:, 2:]).max() < 1e-10)
    True
    """

    def __init__(self, blocks="auto", *, center=True):
        self.blocks = blocks
        self.center = center

    def fit(self, X, y=None):
        """Fit the projections on the reference pool ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The reference pool (for a model, its training rows or a larger
            pool of structures like them).
        y : None
            Ignored.

        Returns
        -------
        self
        """
        if not isinstance(self.center, bool | np.bool_):
            raise ValueError(
                f"center must be True (centre the columns, as a model with an "
                f"intercept) or False, got {self.center!r}."
            )
        X = self._validate(X, reset=True)
        self.blocks_, self.block_names_ = self._resolve(X)
        mean = X.mean(axis=0) if self.center else np.zeros(X.shape[1])
        self.map_ = block_triangular_map(X - mean, self.blocks_)
        self.offset_ = mean - mean @ self.map_
        return self


def _input_names(estimator, input_features):
    """The input column names: given, seen at fit, or ``x0, x1, ...``."""
    seen = getattr(estimator, "feature_names_in_", None)
    if input_features is None:
        if seen is not None:
            return np.asarray(seen, dtype=object)
        return np.array([f"x{j}" for j in range(estimator.n_features_in_)], object)
    names = np.asarray(input_features, dtype=object)
    if names.ndim != 1 or len(names) != estimator.n_features_in_:
        raise ValueError(
            f"input_features should have {estimator.n_features_in_} names, one per "
            f"column seen at fit, got {len(np.atleast_1d(names))}."
        )
    if seen is not None and not np.array_equal(names, seen):
        raise ValueError(
            "input_features is not equal to feature_names_in_, the column names "
            "seen at fit; pass None to use those."
        )
    return names
