"""dask arrays: a fit by map-reduce over chunks of rows, queries chunk by chunk.

A primal fit reads its rows only to add up their sufficient statistics
(:class:`skpr._statistics.GramStatistics`), so a ``dask.array`` of training
rows is fitted by computing the statistics of every chunk where the chunk
lives and merging them pairwise up a tree: only ``F x F`` matrices travel, and
no worker ever holds more than one chunk of rows.  Queries are independent
per row: each chunk of query rows is answered by the fitted model (an
``F x F`` factor, shipped to the workers once per graph) and the answers stay
a lazy dask array with the row chunks of the queries.

dask is imported only when a dask array is passed, so that the package works
without it.
"""

import sys

import numpy as np
from sklearn.utils import check_array

from skpr._statistics import GramStatistics
from skpr._validation import check_sample_weight


def is_dask_array(value):
    """Whether ``value`` is a ``dask.array.Array`` (without importing dask)."""
    array = getattr(sys.modules.get("dask.array"), "Array", None)
    return array is not None and isinstance(value, array)


def any_dask(*values):
    return any(is_dask_array(value) for value in values)


def check_rows(X, n_features, caller):
    """X as a 2-D float64 dask array chunked along rows only.

    Columns split over several chunks are joined (every chunk must hold whole
    rows for ``X^T X`` and the quadratic forms); row chunk sizes must be known.
    """
    if X.ndim != 2:
        raise ValueError(
            f"{caller} expects a 2-D dask array of shape (n_samples, n_features), "
            f"got one with shape {X.shape}."
        )
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(
        X.dtype, np.complexfloating
    ):
        raise ValueError(
            f"{caller} expects a dask array of real numbers, got dtype {X.dtype}."
        )
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {caller} is expecting "
            f"{n_features} features as input."
        )
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            f"{caller} needs the row chunk sizes of the dask array, which are "
            "unknown (after a boolean mask, say); call X.compute_chunk_sizes() "
            "first."
        )
    X = X.astype(np.float64)
    if X.numblocks[1] != 1:
        X = X.rechunk({1: -1})
    return X


def aligned(values, X, name):
    """A per-row vector (numpy or dask) as a dask array with X's row chunks."""
    import dask.array as da

    if values is None:
        return None
    if not is_dask_array(values):
        values = np.asarray(values)
        if values.ndim == 0 and name == "sample_weight":
            values = np.full(X.shape[0], float(values))
    if values.ndim == 2 and values.shape[1] == 1 and name == "y":
        values = values[:, 0]
    if values.shape != (X.shape[0],):
        raise ValueError(
            f"{name} must have shape ({X.shape[0]},), one value per row of X; "
            f"got shape {values.shape}."
        )
    if not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {values.dtype}.")
    if is_dask_array(values):
        return values.astype(np.float64).rechunk((X.chunks[0],))
    return da.from_array(values.astype(np.float64), chunks=(X.chunks[0],))


def _finite_block(X, y, weight):
    """One computed chunk, checked as numpy rows are (weights of 1 for None)."""
    X = check_array(X, dtype=np.float64)
    y = check_array(y, dtype=np.float64, ensure_2d=False)
    return X, y, check_sample_weight(weight, X.shape[0], allow_all_zero=True)


def _chunk_statistics(X, y, weight, scale, centered):
    """Statistics of one chunk's rows, or None when no weight is positive."""
    X, y, weight = _finite_block(X, y, weight)
    if not weight.any():
        return None
    return GramStatistics.from_rows(X, y, weight / scale, centered=centered)


def _row_chunks(X, y, sample_weight):
    """``(X, y, weight)`` delayed chunk by chunk, sharing one graph.

    The graphs are not optimized one by one: that would fuse the tasks that
    make a chunk of X into those of a y computed from it, and every chunk of
    X would be made twice.
    """
    xs = X.to_delayed(optimize_graph=False).ravel()
    ys = y.to_delayed(optimize_graph=False).ravel()
    if sample_weight is None:
        ws = [None] * len(xs)
    else:
        ws = sample_weight.to_delayed(optimize_graph=False).ravel()
    return zip(xs, ys, ws, strict=True)


def _merge(a, b):
    if a is None:
        return b
    return a if b is None else a.merge(b)


def largest_weight(sample_weight, *, allow_all_zero=False):
    """``max(sample_weight)`` (1 without weights), with the checks of numpy's fit."""
    import dask

    if sample_weight is None:
        return 1.0
    smallest, largest = (
        float(v) for v in dask.compute(sample_weight.min(), sample_weight.max())
    )
    if not (np.isfinite(smallest) and np.isfinite(largest)):
        raise ValueError(
            "sample_weight contains NaN or infinity; weights must be finite."
        )
    if smallest < 0:
        raise ValueError(
            f"sample_weight must be non-negative; got weights down to {smallest:g}. "
            "Drop those rows or give them weight 0."
        )
    if largest == 0 and not allow_all_zero:
        raise ValueError(
            "sample_weight is zero for every sample, so nothing counts; give "
            "positive weights to the rows to fit."
        )
    return largest


def gram_statistics(X, y, sample_weight, *, scale, centered):
    """:class:`GramStatistics` of dask rows, by a tree of pairwise merges.

    Parameters
    ----------
    X : dask array of shape (n_samples, n_features), chunked by rows
    y, sample_weight : dask arrays of shape (n_samples,) with X's chunks
        ``sample_weight`` may be None (unit weights).
    scale : float
        The weights are divided by it (the model's ``weight_scale_``).
    centered : bool

    Returns
    -------
    GramStatistics or None
        None when no row has a positive weight.
    """
    import dask
    from dask import delayed

    parts = [
        delayed(_chunk_statistics)(x, t, w, scale, centered)
        for x, t, w in _row_chunks(X, y, sample_weight)
    ]
    while len(parts) > 1:
        parts = [
            delayed(_merge)(*parts[i : i + 2]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    (statistics,) = dask.compute(parts[0])
    return statistics


def map_chunks(X, y, sample_weight, function):
    """``function(X_chunk, y_chunk, weight_chunk)`` on every chunk, gathered.

    ``function`` returns a tuple of per-row arrays; the results are numpy
    arrays concatenated over the chunks (a few numbers per row: the
    leave-one-out residuals and rigidities).
    """
    import dask
    from dask import delayed

    def run(x, t, w):
        return function(*_finite_block(x, t, w))

    results = dask.compute(
        *[delayed(run)(x, t, w) for x, t, w in _row_chunks(X, y, sample_weight)]
    )
    return tuple(np.concatenate(parts) for parts in zip(*results, strict=True))


def map_rows(X, function, n_columns=None):
    """A lazy dask array of ``function(chunk)`` over the row chunks of X.

    ``function`` maps a float64 chunk of rows to an array of shape
    ``(n_rows,)`` (``n_columns=None``) or ``(n_rows, n_columns)``.  Every
    chunk is checked for finite values when it is computed.
    """

    def run(block):
        return function(check_array(block, dtype=np.float64))

    if n_columns is None:
        return X.map_blocks(run, drop_axis=1, dtype=np.float64, meta=np.empty(0))
    return X.map_blocks(
        run,
        chunks=(X.chunks[0], (n_columns,)),
        dtype=np.float64,
        meta=np.empty((0, 0)),
    )


def per_row_labels(values, n_samples, name):
    """Per-row labels (numpy or dask) as numpy, checked in length."""
    if values is None:
        return None
    array = np.asarray(values.compute() if is_dask_array(values) else values)
    if array.shape != (n_samples,):
        raise ValueError(
            f"{name} must have one value per row of X ({n_samples}), got shape "
            f"{array.shape}."
        )
    return array
