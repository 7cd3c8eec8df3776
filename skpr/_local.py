"""Per-environment rows through the affine steps of a fitted pipeline.

A model fitted on pooled rows ``T(X_A)``, with ``X_A = sum_{j in A} x_j`` and
an affine transformer ``T(x) = x M + b`` (a scaler, a PCA, a column
selection, ...), predicts

.. math:: y_A = T(X_A) \\cdot w + c
          = \\sum_{j \\in A} (x_j M) \\cdot w + (c + b \\cdot w),

so environment ``j`` contributes ``(x_j M) \\cdot w``: its row is ``x_j M``,
the *linear part* of ``T``, and the offset ``b`` joins the intercept.
``T(x_j)`` itself is the wrong row (``sum_j T(x_j) = T(X_A) + (n_A - 1) b``),
and a non-linear ``T`` gives no per-environment contributions at all.  This
module reads ``M`` from fitted attributes, step by step, and refuses
everything it cannot read.
"""

import inspect

import numpy as np
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.feature_selection import SelectorMixin
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    RobustScaler,
    StandardScaler,
)
from sklearn.random_projection import (
    GaussianRandomProjection,
    SparseRandomProjection,
)
from sklearn.utils import check_array
from sklearn.utils.validation import check_is_fitted

from skpr._orthogonalization import _BlockMap

_SUPPORTED = (
    "'passthrough' or None, Pipeline, FeatureUnion, ColumnTransformer, "
    "StandardScaler, MaxAbsScaler, MinMaxScaler (clip=False), RobustScaler, PCA, "
    "IncrementalPCA, TruncatedSVD, GaussianRandomProjection, "
    "SparseRandomProjection, feature selectors (SelectorMixin) and "
    "FunctionTransformer(func=None), skpr.BlockOrthogonalizer and skpr.ACEPurifier"
)


def local_features(transformer, X_local):
    """Per-environment rows through the linear part of fitted affine transformers.

    For a fitted affine transformer ``T(x) = x M + b`` (or a pipeline, union
    or column transformer of them) that feeds a model fitted on pooled rows
    ``T(X_A)``, returns the rows ``z_j = x_j M``:

    .. math:: z_j = x_j M, \\qquad
              \\sum_{j \\in A} z_j = T\\Big(\\sum_{j \\in A} x_j\\Big) - b,
              \\qquad b = T(0),

    and the same with means for ``pooling="mean"``.  The model's prediction
    for structure ``A`` is then ``sum_j z_j @ coef_ + intercept_ + b @ coef_``:
    ``z_j @ coef_`` is environment ``j``'s contribution and the offset ``b``
    belongs to the intercept, so ``local_rigidity(z)`` is the LPR
    ``1 / (z_j^T H^{-1} z_j)`` of the model as fitted (and
    ``component_rigidity(z)`` the local CPR).  Passing ``T(x_j)`` instead,
    e.g. ``model[0].transform(X_local)`` after a ``StandardScaler``, gives
    rigidities of rows that do not add up to the pooled ones.

    ``M`` is read from fitted attributes, never from ``T(v) - T(0)``:

    - ``StandardScaler``, ``RobustScaler``, ``MaxAbsScaler``: ``x / scale_``
      (identity when the scaler does not scale); ``MinMaxScaler``:
      ``x * scale_``;
    - ``PCA``, ``IncrementalPCA``: ``x @ components_.T``, divided by
      ``sqrt(explained_variance_)`` (floored at machine epsilon, as
      scikit-learn does) with ``whiten=True``; ``TruncatedSVD``,
      ``GaussianRandomProjection``, ``SparseRandomProjection``:
      ``x @ components_.T``;
    - feature selectors (``sklearn.feature_selection.SelectorMixin``):
      ``x[:, get_support()]``; ``FunctionTransformer(func=None)``,
      ``'passthrough'`` and ``None``: ``x``;
    - ``Pipeline``: the steps' linear parts in turn; ``FeatureUnion``: its
      parts side by side, times ``transformer_weights`` ('drop' omitted);
      ``ColumnTransformer``: each transformer on its columns (integers,
      booleans, names, slices; callables as resolved at fit), times
      ``transformer_weights``, in the column order of ``transform`` (the
      remainder last).

    Parameters
    ----------
    transformer : fitted transformer, Pipeline, 'passthrough' or None
        What the regressor's input went through at fit time, e.g.
        ``model[:-1]`` for ``model = make_pipeline(..., BlockRidge())``
        fitted on pooled rows.  Any step that is not one of the affine maps
        above is refused.
    X_local : array-like or DataFrame of shape (n_environments, n_features_in)
        Per-environment rows (dense), in the form ``transformer.transform``
        accepts: a DataFrame with the fitted column names if the transformer
        was fitted on one (a ``ColumnTransformer`` selects its columns by
        name, as in ``transform``).  Never modified.

    Returns
    -------
    ndarray or DataFrame of shape (n_environments, n_features_out)
        The rows ``x_j M``.  A DataFrame, with the column names of
        ``transformer.transform`` (and the index of ``X_local`` if it is a
        DataFrame), when ``transformer.transform`` returns one, e.g. after
        ``set_output(transform="pandas")``; this is what a regressor fitted
        on that output expects, such as ``BlockRidge(blocks="names")``.

    Raises
    ------
    ValueError
        If a step is not a known affine map (``Normalizer``,
        ``PolynomialFeatures``, ``SplineTransformer``, ``Nystroem``,
        ``QuantileTransformer``, a ``FunctionTransformer`` with a function,
        ``MinMaxScaler(clip=True)``, a regressor, any other class): the
        message names the step.  Apply non-linear maps to the
        per-environment rows *before* pooling instead, e.g. ``Nystroem`` on
        per-atom rows and then :func:`skpr.pool_structures` (the sparse
        route, :func:`skpr.active_nystroem`).
    sklearn.exceptions.NotFittedError
        If a step is not fitted.

    See Also
    --------
    skpr.pool_structures : per-environment rows to per-structure rows.
    skpr.BlockRidge.local_rigidity : the LPR of these rows.

    Notes
    -----
    ``O(n_environments * F * F_out)`` at most (a projection ``x @ M``),
    ``O(n_environments * F)`` for scalers and selections; ``M`` of a
    composite is never formed.  ``transformer.transform`` is called once,
    on a copy of the first row, only to learn the output container and
    column names (and so to validate ``X_local`` as scikit-learn does).

    The offset ``b = transformer.transform(zeros)`` joins the intercept when
    the regressor fits one (``fit_intercept=True``, the default; centering
    removes ``b`` from its Hessian).  Without an intercept ``b @ coef_`` is a
    per-structure term that belongs to no environment, and the
    contributions add up to the prediction minus it.

    References
    ----------
    S. Chong et al., "Prediction rigidities for data-driven chemistry",
    Faraday Discuss. (2024), doi:10.1039/d4fd00101j (LPR, Table 1).

    Examples
    --------
    Standardized pooled rows: an atom's row is ``x_j / scale_``, not
    ``(x_j - mean_) / scale_``.

    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skpr import BlockRidge, local_features, pool_structures
    >>> rng = np.random.default_rng(0)
    >>> structure_index = np.repeat(np.arange(20), 3)   # 20 structures, 3 atoms
    >>> X_local = rng.normal(size=(60, 2)) + 5.0         # per-atom rows
    >>> X = pool_structures(X_local, structure_index)
    >>> y = X @ [1.0, -0.5]
    >>> model = make_pipeline(StandardScaler(), BlockRidge(alpha=1e-3)).fit(X, y)
    >>> Z_local = local_features(model[:-1], X_local)
    >>> bool(np.allclose(Z_local, X_local / model[0].scale_))
    True
    >>> ridge, offset = model[-1], model[:-1].transform(np.zeros((1, 2)))
    >>> energy = np.bincount(structure_index, Z_local @ ridge.coef_)
    >>> bool(np.allclose(energy + ridge.intercept_ + offset @ ridge.coef_,
    ...                  model.predict(X)))
    True
    >>> ridge.local_rigidity(Z_local).shape
    (60,)
    """
    if transformer is None or _is_string(transformer, "passthrough"):
        transformer = Pipeline([("passthrough", "passthrough")])
    linear_part = _linear_part(transformer, ())
    frame = _is_dataframe(X_local)
    if not frame:
        X_local = check_array(X_local, dtype=np.float64)
    # A copy: a transformer with copy=False would scale the probe in place.
    probe = transformer.transform(
        X_local.iloc[:1].copy() if frame else X_local[:1].copy()
    )
    Z = linear_part(X_local)
    if Z.shape[1] != probe.shape[1]:  # a bug here, not a user error
        raise RuntimeError(
            f"local_features built {Z.shape[1]} columns, but transform gives "
            f"{probe.shape[1]}; please report this with the transformer."
        )
    if _is_dataframe(probe):
        index = X_local.index if frame else None
        return type(probe)(Z, columns=probe.columns, index=index)
    return Z


def _is_string(value, string):
    # an estimator compared with == a string is fine, an array is not
    return isinstance(value, str) and value == string


def _is_dataframe(X):
    return hasattr(X, "columns") and hasattr(X, "iloc")


def _inherits_transform(step, cls):
    """``step`` is a ``cls`` whose ``transform`` is ``cls``'s own."""
    return isinstance(step, cls) and inspect.getattr_static(
        type(step), "transform", None
    ) is inspect.getattr_static(cls, "transform")


def _describe(step, path):
    name = type(step).__name__
    if not path:
        return name
    return f"step {' > '.join(repr(part) for part in path)} ({name})"


def _values(X, feature_names):
    """Float rows of ``X``; a DataFrame's columns picked by the fitted names."""
    if feature_names is not None and _is_dataframe(X):
        X = X[list(feature_names)]
    return check_array(X, dtype=np.float64, copy=True)


def _linear_part(step, path):
    """The linear part of fitted ``step`` as a function of its input rows.

    Parameters
    ----------
    step : fitted transformer, 'passthrough' or None
    path : tuple of str
        Names of the enclosing steps, for error messages.

    Returns
    -------
    callable
        ``X (n, F_in) array or DataFrame -> ndarray (n, F_out)``.
    """
    if step is None or _is_string(step, "passthrough"):
        return lambda X: _values(X, None)
    if _inherits_transform(step, Pipeline):
        parts = [_linear_part(s, (*path, name)) for name, s in step.steps]
        return lambda X: _compose(parts, X)
    if _inherits_transform(step, FeatureUnion):
        return _feature_union(step, path)
    if _inherits_transform(step, ColumnTransformer):
        return _column_transformer(step, path)
    if not hasattr(step, "transform"):
        raise ValueError(
            f"local_features takes transformers, but {_describe(step, path)} has "
            "no transform method. Pass the transform steps of a fitted pipeline, "
            "e.g. local_features(model[:-1], X_local), not the whole model."
        )
    for cls, build in _AFFINE:
        if _inherits_transform(step, cls):
            check_is_fitted(step)
            linear = build(step, path)
            names = getattr(step, "feature_names_in_", None)
            return lambda X: linear(_values(X, names))
    known = [cls.__name__ for cls, _ in _AFFINE if isinstance(step, cls)]
    reason = (
        f"it overrides {known[0]}.transform, so its map is not known to be affine"
        if known
        else "it is not one of the affine maps whose linear part skpr reads"
    )
    raise _not_affine(step, path, reason)


def _not_affine(step, path, reason):
    return ValueError(
        f"local_features cannot take per-environment rows through "
        f"{_describe(step, path)}: {reason}. Only an affine map T(x) = x M + b "
        "gives each environment a contribution (its row x_j M; the rows add up to "
        "T(pooled row) - b, and b joins the intercept); through a non-linear map, "
        "T(sum of rows) is not a sum over environments, so a model fitted on "
        "pooled rows has no per-environment contributions and no LPR. Apply "
        "non-linear maps to the per-environment rows before pooling (e.g. "
        "Nystroem on per-atom rows, then skpr.pool_structures: the sparse route, "
        "see skpr.active_nystroem) and pass only the affine steps here. "
        f"Supported: {_SUPPORTED}."
    )


def _compose(parts, X):
    for part in parts:
        X = part(X)
    return X


def _stack(blocks, n_rows):
    return np.hstack(blocks) if blocks else np.zeros((n_rows, 0))


def _feature_union(union, path):
    weights = union.transformer_weights or {}
    parts = [
        (_linear_part(part, (*path, name)), weights.get(name))
        for name, part in union.transformer_list
        if not _is_string(part, "drop")
    ]

    def linear(X):
        blocks = []
        for part, weight in parts:
            Z = part(X)
            blocks.append(Z if weight is None else Z * weight)
        return _stack(blocks, X.shape[0])

    return linear


def _column_transformer(transformer, path):
    check_is_fitted(transformer)
    names = getattr(transformer, "feature_names_in_", None)
    weights = transformer.transformer_weights or {}
    parts = []
    for name, part, columns in transformer.transformers_:
        # as ColumnTransformer.transform: no 'drop' and no empty selections
        if _is_string(part, "drop") or _is_empty_selection(columns):
            continue
        positions = _column_positions(columns, names, transformer.n_features_in_)
        parts.append((positions, _linear_part(part, (*path, name)), weights.get(name)))

    def linear(X):
        blocks = []
        for positions, part, weight in parts:
            Z = part(_select_columns(X, positions, names))
            blocks.append(Z if weight is None else Z * weight)
        return _stack(blocks, X.shape[0])

    return linear


def _is_empty_selection(columns):
    # what ColumnTransformer skips: an empty list or an all-False mask
    if hasattr(columns, "dtype") and np.issubdtype(columns.dtype, np.bool_):
        return not np.any(columns)
    if hasattr(columns, "__len__") and not isinstance(columns, str):
        return len(columns) == 0 or (
            all(isinstance(c, bool | np.bool_) for c in columns) and not any(columns)
        )
    return False


def _column_positions(columns, feature_names, n_features):
    """Integer positions of a fitted ColumnTransformer column selection."""
    positions = np.arange(n_features)
    names = () if feature_names is None else feature_names
    lookup = {str(name): i for i, name in enumerate(names)}
    if isinstance(columns, slice):
        start, stop = columns.start, columns.stop
        if isinstance(start, str) or isinstance(stop, str):  # labels: inclusive
            start = None if start is None else lookup[start]
            stop = None if stop is None else lookup[stop] + 1
        return positions[start : stop : columns.step]
    keys = np.atleast_1d(np.asarray(columns))
    if keys.dtype == bool:
        return np.flatnonzero(keys)
    if np.issubdtype(keys.dtype, np.integer):
        return positions[keys]
    return np.array([lookup[str(key)] for key in keys], dtype=np.intp)


def _select_columns(X, positions, feature_names):
    if _is_dataframe(X):
        if feature_names is not None:  # by name, as transform does
            return X[list(np.asarray(feature_names)[positions])]
        return X.iloc[:, positions]
    return X[:, positions]


# --- the affine leaves: fitted step -> linear part on float rows ---------------


def _divide_by(scale):
    if scale is None:  # the scaler does not scale
        return lambda X: X
    scale = np.asarray(scale, dtype=np.float64)
    return lambda X: X / scale


def _scaler(step, path):
    return _divide_by(step.scale_)


def _min_max_scaler(step, path):
    if step.clip:
        raise _not_affine(
            step,
            path,
            "clip=True makes it piecewise linear, not affine (refit it with "
            "clip=False)",
        )
    scale = np.asarray(step.scale_, dtype=np.float64)
    return lambda X: X * scale


def _project(components):
    if sparse.issparse(components):
        components = components.toarray()
    projection = np.asarray(components, dtype=np.float64).T
    return lambda X: X @ projection


def _pca(step, path):
    projection = np.asarray(step.components_, dtype=np.float64).T
    if not step.whiten:
        return lambda X: X @ projection
    # scikit-learn floors the whitening scale at machine epsilon
    scale = np.sqrt(step.explained_variance_)
    scale = np.maximum(scale, np.finfo(scale.dtype).eps).astype(np.float64)
    return lambda X: (X @ projection) / scale


def _components(step, path):
    return _project(step.components_)


def _selector(step, path):
    support = step.get_support()
    return lambda X: X[:, support]


def _block_map(step, path):
    return step._linear_part


def _function_transformer(step, path):
    if step.func is not None:
        raise _not_affine(
            step,
            path,
            f"a FunctionTransformer with func={step.func!r} is not known to be "
            "affine (only func=None, the identity, is)",
        )
    return lambda X: X


_AFFINE = (
    (StandardScaler, _scaler),
    (RobustScaler, _scaler),
    (MaxAbsScaler, _scaler),
    (MinMaxScaler, _min_max_scaler),
    (PCA, _pca),
    (IncrementalPCA, _pca),
    (TruncatedSVD, _components),
    (GaussianRandomProjection, _components),
    (SparseRandomProjection, _components),
    (SelectorMixin, _selector),
    (FunctionTransformer, _function_transformer),
    (_BlockMap, _block_map),
)
