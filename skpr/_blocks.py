"""Feature blocks and their regularization.

Blocks are contiguous column ranges, stored as a tuple of slices.  They come
from block sizes, or from the ``name__`` prefixes that ``FeatureUnion`` and
``ColumnTransformer`` put on their output feature names.
"""

from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np


def resolve_blocks(blocks, n_features, feature_names=None):
    """Turn the ``blocks`` parameter into slices and block names.

    Parameters
    ----------
    blocks : None, "names" or sequence of int
        ``None``: one block; ``"names"``: one block per ``name__`` prefix of
        ``feature_names``; a sequence: the size of each block, in column order.
    n_features : int
    feature_names : ndarray of str or None
        ``feature_names_in_`` of the estimator, when X carried column names.

    Returns
    -------
    slices : tuple of slice
    names : tuple of str
    """
    if blocks is None:
        return (slice(0, n_features),), ("all",)
    if isinstance(blocks, str):
        if blocks != "names":
            raise ValueError(
                f"blocks={blocks!r} is not understood: use None (one block), a list "
                "of block sizes, or 'names' (blocks from 'name__' feature-name "
                "prefixes)."
            )
        return _blocks_from_names(feature_names)
    if not isinstance(blocks, (list, tuple, np.ndarray)):
        raise ValueError(
            f"blocks must be None, 'names' or a list of block sizes, got "
            f"{blocks!r}. For one block, leave blocks=None."
        )
    sizes = list(blocks)
    if not sizes or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ValueError(
            f"blocks must be a non-empty list of positive integer block sizes, got "
            f"{blocks!r}."
        )
    if sum(sizes) != n_features:
        raise ValueError(
            f"The block sizes {sizes} add up to {sum(sizes)}, but X has "
            f"{n_features} features. Give one size per block so that they add up "
            "to the number of columns."
        )
    stops = np.cumsum(sizes)
    slices = tuple(slice(int(e - s), int(e)) for s, e in zip(sizes, stops, strict=True))
    return slices, tuple(f"block{b}" for b in range(len(sizes)))


def _blocks_from_names(feature_names):
    if feature_names is None:
        raise ValueError(
            "blocks='names' needs X with column names (for example a pandas "
            "DataFrame from a FeatureUnion or ColumnTransformer with "
            "set_output(transform='pandas')); X has none. Pass the block sizes "
            "instead, e.g. blocks=[n_soap, n_lode]."
        )
    prefixes = []
    for name in feature_names:
        prefix, sep, rest = str(name).partition("__")
        if not sep or not prefix or not rest:
            raise ValueError(
                f"blocks='names' takes blocks from 'name__' prefixes, but feature "
                f"{name!r} has no such prefix. Build X with FeatureUnion or "
                "ColumnTransformer (verbose_feature_names_out=True), or pass block "
                "sizes."
            )
        prefixes.append(prefix)
    names, starts = [], []
    for j, prefix in enumerate(prefixes):
        if not names or prefix != names[-1]:
            if prefix in names:
                raise ValueError(
                    f"The columns with prefix {prefix!r} are not contiguous; blocks "
                    "must be contiguous column ranges. Reorder the columns so that "
                    "each block's features are next to each other."
                )
            names.append(prefix)
            starts.append(j)
    stops = [*starts[1:], len(prefixes)]
    return tuple(slice(a, b) for a, b in zip(starts, stops, strict=True)), tuple(names)


def resolve_alpha(alpha, slices, names):
    """Regularization of every coefficient from ``alpha``.

    Parameters
    ----------
    alpha : float, sequence of float, or mapping of block name to float
        One value for all blocks, one per block in column order, or one per
        block name.
    slices : tuple of slice
    names : tuple of str

    Returns
    -------
    alpha_blocks : ndarray of shape (n_blocks,)
    alpha_diag : ndarray of shape (n_features,)
    """
    n_blocks = len(slices)
    expected = (
        "alpha must be a positive float, one positive float per block (a list "
        "in column order), or a dict mapping block names to positive floats"
    )
    if isinstance(alpha, Mapping):
        unknown = sorted(set(alpha) - set(names))
        missing = [name for name in names if name not in alpha]
        if unknown or missing:
            raise ValueError(
                f"alpha names the blocks {sorted(alpha)}, but the blocks are "
                f"{list(names)}"
                + (f"; no block is called {unknown}" if unknown else "")
                + (f"; no alpha is given for {missing}" if missing else "")
                + ". Give one alpha per block name."
            )
        values = [alpha[name] for name in names]
    elif _is_number(alpha) or (isinstance(alpha, np.ndarray) and alpha.ndim == 0):
        values = [alpha[()] if isinstance(alpha, np.ndarray) else alpha] * n_blocks
    elif isinstance(alpha, (list, tuple, np.ndarray)) and np.ndim(alpha) == 1:
        values = list(alpha)
        if len(values) != n_blocks:
            raise ValueError(
                f"alpha has {len(values)} values but there are {n_blocks} blocks "
                f"{list(names)}. Give one float, or one value per block."
            )
    else:
        raise ValueError(f"{expected}; got {alpha!r}.")
    if not all(_is_number(value) for value in values):
        raise ValueError(f"{expected}; got {alpha!r}, which holds non-numbers.")
    alpha_blocks = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(alpha_blocks) & (alpha_blocks > 0)):
        raise ValueError(
            f"alpha must be positive and finite for every block, got "
            f"{alpha_blocks.tolist()}. The regularization keeps the Hessian "
            "positive definite; use a small value such as 1e-8 for weak "
            "regularization."
        )
    alpha_diag = np.empty(slices[-1].stop)
    for value, block in zip(alpha_blocks, slices, strict=True):
        alpha_diag[block] = value
    return alpha_blocks, alpha_diag


def _is_number(value):
    """A real number that is not a bool (``alpha=True`` is a mistake)."""
    return isinstance(value, Real | np.floating | np.integer) and not isinstance(
        value, bool | np.bool_
    )
