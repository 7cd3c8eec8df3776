"""Per-environment rows through affine pipeline steps, against independent oracles.

The oracle for every step is scikit-learn's own ``transform``: the linear
part of an affine map is ``T(pooled) - T(0)``, so the pooled per-environment
rows must equal it; the model's prediction must be the sum of the
environment contributions plus the intercept and the offset; and the LPR
through a scaler must be that of an unscaled model with the regularization
rescaled, and ``1 / (g^T H^{-1} g)`` from an explicit inverse.
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.decomposition import PCA, IncrementalPCA, TruncatedSVD
from sklearn.exceptions import NotFittedError
from sklearn.feature_selection import SelectKBest, VarianceThreshold, f_regression
from sklearn.kernel_approximation import Nystroem
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    PolynomialFeatures,
    QuantileTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
)
from sklearn.random_projection import GaussianRandomProjection, SparseRandomProjection

from skpr import BlockRidge, local_features, pool_structures

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["a", "b", "c", "d", "e"]


def make_atoms(seed=0, n_structures=30, n_features=5):
    """Per-atom rows (1 to 5 atoms per structure) far from centred and scaled."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, size=n_structures)
    structure_index = np.repeat(np.arange(n_structures), sizes)
    mixing = rng.normal(size=(n_features, n_features))
    X_local = rng.normal(size=(sizes.sum(), n_features)) @ mixing
    X_local = X_local * rng.uniform(0.2, 5.0, n_features)
    X_local += rng.uniform(-5.0, 5.0, n_features)
    pooled = pool_structures(X_local, structure_index)
    y = pooled @ rng.normal(size=n_features) + rng.normal(size=n_structures)
    return X_local, structure_index, pooled, y


def assert_close(actual, expected, rtol=1e-12):
    actual, expected = np.asarray(actual), np.asarray(expected)
    np.testing.assert_allclose(
        actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max()
    )


def linear_part_oracle(transformer, pooled, zeros):
    """T(pooled) - T(0), from scikit-learn's own transform."""
    return np.asarray(transformer.transform(pooled)) - np.asarray(
        transformer.transform(zeros)
    )


# Unfitted affine steps (given the pooled rows, for data-dependent settings).
AFFINE = {
    "standard": lambda X: StandardScaler(),
    "standard-no-mean": lambda X: StandardScaler(with_mean=False),
    "standard-no-std": lambda X: StandardScaler(with_std=False),
    "standard-identity": lambda X: StandardScaler(with_mean=False, with_std=False),
    "max-abs": lambda X: MaxAbsScaler(),
    "min-max": lambda X: MinMaxScaler(feature_range=(-1.0, 2.0)),
    "robust": lambda X: RobustScaler(quantile_range=(10.0, 80.0), unit_variance=True),
    "robust-no-centering": lambda X: RobustScaler(with_centering=False),
    "robust-no-scaling": lambda X: RobustScaler(with_scaling=False),
    "pca": lambda X: PCA(3),
    "pca-whiten": lambda X: PCA(3, whiten=True),
    "incremental-pca-whiten": lambda X: IncrementalPCA(3, whiten=True, batch_size=10),
    "truncated-svd": lambda X: TruncatedSVD(3, random_state=0),
    "gaussian-projection": lambda X: GaussianRandomProjection(3, random_state=0),
    "sparse-projection": lambda X: SparseRandomProjection(
        3, density=0.5, random_state=0
    ),
    "variance-threshold": lambda X: VarianceThreshold(np.median(X.var(axis=0))),
    "select-k-best": lambda X: SelectKBest(f_regression, k=2),
    "identity-function": lambda X: FunctionTransformer(),
    "pipeline": lambda X: Pipeline(
        [
            ("scale", StandardScaler()),
            ("skip", "passthrough"),
            ("none", None),
            ("pca", PCA(4, whiten=True)),
            ("minmax", MinMaxScaler()),
        ]
    ),
    "feature-union": lambda X: FeatureUnion(
        [
            ("scale", StandardScaler()),
            ("pca", PCA(2)),
            ("gone", "drop"),
            ("raw", "passthrough"),
        ],
        transformer_weights={"scale": 2.0, "raw": 0.5},
    ),
    "column-transformer-int-bool": lambda X: ColumnTransformer(
        [
            ("b", StandardScaler(), [3, -5]),
            ("a", PCA(1), np.array([False, True, True, False, False])),
        ],
        remainder="passthrough",
        transformer_weights={"a": 3.0, "remainder": 0.5},
    ),
    "column-transformer-slice-remainder": lambda X: ColumnTransformer(
        [
            ("s", MaxAbsScaler(), slice(1, 4)),
            ("empty", StandardScaler(), []),
        ],
        remainder=RobustScaler(),
    ),
    "column-transformer-drop": lambda X: ColumnTransformer(
        [("p", "passthrough", [4, 0]), ("gone", "drop", [1])], remainder="drop"
    ),
    "nested": lambda X: Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "union",
                FeatureUnion(
                    [
                        ("pca", PCA(2, whiten=True)),
                        (
                            "select",
                            make_pipeline(
                                MaxAbsScaler(), SelectKBest(f_regression, k=2)
                            ),
                        ),
                    ],
                    transformer_weights={"pca": 0.3},
                ),
            ),
            (
                "columns",
                ColumnTransformer(
                    [("x", MinMaxScaler(), [0, 3])], remainder=StandardScaler()
                ),
            ),
        ]
    ),
}


@pytest.mark.parametrize("pooling", ["sum", "mean"])
@pytest.mark.parametrize("name", list(AFFINE))
def test_pooled_local_features_are_the_linear_part(name, pooling):
    X_local, structure_index, _, _ = make_atoms()
    pooled = pool_structures(X_local, structure_index, pooling=pooling)
    y = pooled @ np.arange(1.0, 6.0)
    transformer = AFFINE[name](pooled).fit(pooled, y)
    Z_local = local_features(transformer, X_local)
    assert isinstance(Z_local, np.ndarray)
    expected = linear_part_oracle(transformer, pooled, np.zeros((1, 5)))
    assert_close(pool_structures(Z_local, structure_index, pooling=pooling), expected)


@pytest.mark.parametrize("name", list(AFFINE))
def test_environment_contributions_add_up_to_the_prediction(name):
    X_local, structure_index, pooled, y = make_atoms(seed=1)
    model = make_pipeline(AFFINE[name](pooled), BlockRidge(alpha=1e-2))
    model.fit(pooled, y)
    ridge = model[-1]
    contributions = local_features(model[:-1], X_local) @ ridge.coef_
    # the offset T(0) of the affine steps joins the intercept
    intercept = ridge.intercept_ + model[:-1].transform(np.zeros((1, 5))) @ ridge.coef_
    assert_close(
        np.bincount(structure_index, contributions) + intercept,
        model.predict(pooled),
        rtol=1e-10,
    )


def test_passthrough_and_none_return_a_copy():
    X_local, _, _, _ = make_atoms()
    for transformer in ("passthrough", None):
        Z_local = local_features(transformer, X_local)
        np.testing.assert_array_equal(Z_local, X_local)
        assert not np.shares_memory(Z_local, X_local)


# --- the LPR through a scaler -------------------------------------------------


def explicit_local_rigidity(Z_pooled, alpha_diag, Z_local):
    """1 / (g^T H^{-1} g), g = [z, 0], H over [w, c] by an explicit inverse."""
    A = np.hstack([Z_pooled, np.ones((Z_pooled.shape[0], 1))])
    hessian = A.T @ A + np.diag(np.append(alpha_diag, 0.0))
    G = np.hstack([Z_local, np.zeros((Z_local.shape[0], 1))])
    return 1.0 / np.einsum("ij,jk,ik->i", G, np.linalg.inv(hessian), G)


def test_lpr_through_a_scaler_is_the_lpr_of_the_unscaled_model():
    X_local, structure_index, pooled, y = make_atoms(seed=2)
    alpha, blocks = np.array([0.3, 2.0]), [2, 3]
    model = make_pipeline(StandardScaler(), BlockRidge(alpha=alpha, blocks=blocks))
    model.fit(pooled, y)
    lpr = model[-1].local_rigidity(local_features(model[:-1], X_local))

    scale = pooled.std(axis=0)  # what StandardScaler divides by
    alpha_diag = np.repeat(alpha, blocks)
    # the same model on raw rows: w_raw = w / scale, so alpha_k -> alpha_k scale_k^2
    raw = BlockRidge(alpha=alpha_diag * scale**2, blocks=[1] * 5).fit(pooled, y)
    assert_close(raw.predict(pooled), model.predict(pooled), rtol=1e-10)
    assert_close(raw.local_rigidity(X_local), lpr, rtol=1e-10)
    # fitted on the pooled rows divided by the scale, same alpha per block
    divided = BlockRidge(alpha=alpha, blocks=blocks).fit(pooled / scale, y)
    assert_close(divided.local_rigidity(X_local / scale), lpr, rtol=1e-10)
    assert_close(
        explicit_local_rigidity(pooled / scale, alpha_diag, X_local / scale),
        lpr,
        rtol=1e-9,
    )
    # the mistake the README used to invite: centred per-atom rows
    wrong = model[-1].local_rigidity(model[0].transform(X_local))
    assert np.max(np.abs(wrong / lpr - 1.0)) > 0.1


def test_readme_usage_block_runs_and_gives_the_right_rigidities():
    text = (ROOT / "README.md").read_text()
    usage = text.split("## Usage", 1)[1]
    code = re.search(r"```python\n(.*?)```", usage, flags=re.S).group(1)
    statements = "\n".join(line.split("#")[0] for line in code.splitlines())
    assert "transform(X_atoms)" not in statements
    rng = np.random.default_rng(3)
    sizes = rng.integers(1, 6, size=120)
    structure_index = np.repeat(np.arange(120), sizes)
    X_atoms = rng.normal(size=(sizes.sum(), 160)) + rng.uniform(-3, 3, 160)
    pooled = pool_structures(X_atoms, structure_index)
    y_train = pooled @ rng.normal(size=160) + rng.normal(size=120)
    X_test = pool_structures(rng.normal(size=(30, 160)), np.repeat(np.arange(10), 3))
    namespace = {
        "X_atoms": X_atoms,
        "structure_index": structure_index,
        "y_train": y_train,
        "X_test": X_test,
    }
    exec(compile(code, "README.md", "exec"), namespace)

    mean, scale = pooled.mean(axis=0), pooled.std(axis=0)
    alpha_diag = np.repeat([1e-3, 1.0], [100, 60])
    assert_close(
        namespace["lpr"],
        explicit_local_rigidity(pooled / scale, alpha_diag, X_atoms / scale),
        rtol=1e-8,
    )
    # the PR of a structure takes the whole affine map and the intercept
    A = np.hstack([(pooled - mean) / scale, np.ones((120, 1))])
    inverse = np.linalg.inv(A.T @ A + np.diag(np.append(alpha_diag, 0.0)))
    G = np.hstack([(X_test - mean) / scale, np.ones((10, 1))])
    assert_close(
        namespace["pr"], 1.0 / np.einsum("ij,jk,ik->i", G, inverse, G), rtol=1e-8
    )
    assert namespace["cpr"].shape == (10, 2)
    assert namespace["y_std"].shape == (10,)


# --- DataFrames ---------------------------------------------------------------

FRAME_AFFINE = {
    "column-transformer-names": lambda: ColumnTransformer(
        [
            ("soap", StandardScaler(), ["a", "b", "c"]),
            ("lode", PCA(1, whiten=True), slice("d", "e")),
        ],
        transformer_weights={"lode": 2.0},
    ).set_output(transform="pandas"),
    "column-transformer-selector": lambda: ColumnTransformer(
        [("ab", MaxAbsScaler(), make_column_selector(pattern="^[ab]$"))],
        remainder=MinMaxScaler(),
    ),
    "column-transformer-remainder-names": lambda: ColumnTransformer(
        [("x", StandardScaler(), ["c", "a"])], remainder="passthrough"
    ).set_output(transform="pandas"),
    "pipeline-pandas": lambda: Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "columns",
                ColumnTransformer(
                    [("x", MaxAbsScaler(), ["e", "a"]), ("y", "passthrough", ["c"])]
                ),
            ),
        ]
    ).set_output(transform="pandas"),
    "scaler-on-frame": lambda: RobustScaler(),
}


@pytest.mark.parametrize("name", list(FRAME_AFFINE))
def test_frames_give_the_linear_part_in_the_transform_container(name):
    X_local, structure_index, pooled, y = make_atoms(seed=4)
    index = pd.Index([f"atom{i}" for i in range(len(X_local))])
    frame_local = pd.DataFrame(X_local, columns=COLUMNS, index=index)
    frame_pooled = pd.DataFrame(pooled, columns=COLUMNS)
    transformer = FRAME_AFFINE[name]().fit(frame_pooled, y)
    Z_local = local_features(transformer, frame_local)
    probe = transformer.transform(frame_pooled)
    if isinstance(probe, pd.DataFrame):
        assert isinstance(Z_local, pd.DataFrame)
        assert list(Z_local.columns) == list(probe.columns)
        assert Z_local.index.equals(index)
    else:
        assert isinstance(Z_local, np.ndarray)
    zeros = pd.DataFrame(np.zeros((1, 5)), columns=COLUMNS)
    assert_close(
        pool_structures(Z_local, structure_index),
        linear_part_oracle(transformer, frame_pooled, zeros),
    )


def test_column_transformer_selects_frame_columns_by_name():
    X_local, structure_index, pooled, y = make_atoms(seed=5)
    transformer = FRAME_AFFINE["column-transformer-names"]()
    transformer.fit(pd.DataFrame(pooled, columns=COLUMNS), y)
    frame = pd.DataFrame(X_local, columns=COLUMNS)
    # reordered, with an extra column, as ColumnTransformer.transform accepts
    shuffled = frame[["e", "c", "a", "d", "b"]].assign(label="C")
    np.testing.assert_array_equal(
        local_features(transformer, shuffled), local_features(transformer, frame)
    )


def test_block_ridge_on_names_takes_the_frame_without_warnings():
    X_local, structure_index, pooled, y = make_atoms(seed=6)
    model = Pipeline(
        [
            ("features", FRAME_AFFINE["column-transformer-names"]()),
            ("ridge", BlockRidge(alpha={"soap": 0.1, "lode": 1.0}, blocks="names")),
        ]
    ).fit(pd.DataFrame(pooled, columns=COLUMNS), y)
    ridge = model[-1]
    assert ridge.block_names_ == ("soap", "lode")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z_local = local_features(model[:-1], pd.DataFrame(X_local, columns=COLUMNS))
        lpr = ridge.local_rigidity(Z_local)
        cpr = ridge.component_rigidity(Z_local)
    assert list(Z_local.columns) == list(ridge.feature_names_in_)
    Z_pooled = np.asarray(model[:-1].transform(pd.DataFrame(pooled, columns=COLUMNS)))
    alpha_diag = np.array([0.1, 0.1, 0.1, 1.0])
    assert_close(
        lpr,
        explicit_local_rigidity(Z_pooled, alpha_diag, np.asarray(Z_local)),
        rtol=1e-9,
    )
    assert cpr.shape == (len(X_local), 2)


def test_frame_with_other_names_is_refused_as_transform_refuses_it():
    X_local, _, pooled, _ = make_atoms()
    scaler = StandardScaler().fit(pd.DataFrame(pooled, columns=COLUMNS))
    renamed = pd.DataFrame(X_local, columns=["a", "b", "c", "d", "x"])
    with pytest.raises(ValueError, match="feature names should match"):
        local_features(scaler, renamed)


# --- refusals -----------------------------------------------------------------


class Doubler(TransformerMixin, BaseEstimator):
    """Linear, but not a class skpr knows."""

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return 2.0 * np.asarray(X)


class ShiftedScaler(StandardScaler):
    """A StandardScaler whose transform is not StandardScaler's."""

    def transform(self, X, copy=None):
        return super().transform(X, copy=copy) ** 3


REFUSED = {
    "normalizer": (Normalizer(), "not one of the affine maps"),
    "polynomial": (PolynomialFeatures(2), "not one of the affine maps"),
    "spline": (SplineTransformer(n_knots=4), "not one of the affine maps"),
    "nystroem": (Nystroem(n_components=5, random_state=0), "not one of the affine"),
    "quantile": (QuantileTransformer(n_quantiles=10), "not one of the affine maps"),
    "function": (
        FunctionTransformer(np.log1p),
        "FunctionTransformer with func=<ufunc 'log1p'> is not known to be affine",
    ),
    "clip": (MinMaxScaler(clip=True), "clip=True makes it piecewise linear"),
    "unknown": (Doubler(), "not one of the affine maps"),
    "override": (ShiftedScaler(), "overrides StandardScaler.transform"),
}
ADVICE = "before pooling.*Nystroem on per-atom rows, then skpr.pool_structures"


@pytest.mark.parametrize("name", list(REFUSED))
def test_non_affine_steps_are_refused_wherever_they_are(name):
    X_local, _, pooled, _ = make_atoms()
    step, reason = REFUSED[name]
    cls = type(step).__name__
    positive = pooled - pooled.min(axis=0) + 1.0  # log1p needs x > -1
    cases = [
        (cls, step),
        (f"step 'bad' ({cls})", Pipeline([("scale", MaxAbsScaler()), ("bad", step)])),
        (f"step 'bad' ({cls})", FeatureUnion([("ok", MaxAbsScaler()), ("bad", step)])),
        (
            f"step 'outer' > 'bad' ({cls})",
            Pipeline([("outer", ColumnTransformer([("bad", step, [0, 1])]))]),
        ),
    ]
    for where, transformer in cases:
        transformer.fit(positive)
        with pytest.raises(
            ValueError, match=f"through {re.escape(where)}: .*{re.escape(reason)}"
        ):
            local_features(transformer, X_local)
        with pytest.raises(ValueError, match=ADVICE):
            local_features(transformer, X_local)


def test_a_whole_model_is_refused_with_the_slice_to_pass():
    X_local, _, pooled, y = make_atoms()
    model = make_pipeline(StandardScaler(), BlockRidge()).fit(pooled, y)
    with pytest.raises(
        ValueError,
        match=r"step 'blockridge' \(BlockRidge\) has no transform.*model\[:-1\]",
    ):
        local_features(model, X_local)


@pytest.mark.parametrize(
    "transformer",
    [
        StandardScaler(),
        make_pipeline(StandardScaler(), PCA(2)),
        FeatureUnion([("scale", StandardScaler()), ("pca", PCA(2))]),
        ColumnTransformer([("scale", StandardScaler(), [0, 1])]),
    ],
)
def test_unfitted_transformers_raise_not_fitted(transformer):
    X_local, _, _, _ = make_atoms()
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        local_features(transformer, X_local)


def test_sparse_rows_are_refused():
    X_local, _, pooled, _ = make_atoms()
    scaler = MaxAbsScaler().fit(pooled)
    with pytest.raises(TypeError, match="dense data is required"):
        local_features(scaler, sparse.csr_array(X_local))


# --- the caller's data --------------------------------------------------------


@pytest.mark.parametrize("container", ["array", "list", "frame"])
def test_input_is_not_modified(container):
    X_local, _, pooled, y = make_atoms()
    frame = container == "frame"
    fit_rows = pd.DataFrame(pooled, columns=COLUMNS) if frame else pooled
    # copy=False would scale in place whatever it transforms
    transformer = make_pipeline(
        StandardScaler(copy=False), MinMaxScaler(copy=False)
    ).fit(fit_rows, y)
    X_in = {
        "array": X_local.copy(),
        "list": X_local.tolist(),
        "frame": pd.DataFrame(X_local, columns=COLUMNS),
    }[container]
    Z_local = local_features(transformer, X_in)
    np.testing.assert_array_equal(np.asarray(X_in), X_local)
    assert not np.shares_memory(np.asarray(Z_local), X_local)
