"""Block names flow from FeatureUnion / ColumnTransformer into CPR tables."""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from skpr import BlockKernelRidge, BlockRidge

pd = pytest.importorskip("pandas")


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        rng.normal(size=(40, 5)),
        columns=["a", "b", "c", "d", "e"],
        index=[f"s{i}" for i in range(40)],
    )
    y = X.to_numpy() @ rng.normal(size=5) + 0.1 * rng.normal(size=40)
    return X, y


def test_column_transformer_names_are_the_cpr_columns(frame):
    X, y = frame
    columns = ColumnTransformer(
        [
            ("short", StandardScaler(), ["a", "b", "c"]),
            ("long", "passthrough", ["d", "e"]),
        ]
    ).set_output(transform="pandas")
    model = make_pipeline(columns, BlockRidge(alpha=[0.1, 1.0], blocks="names"))
    model.fit(X, y)
    ridge, Z = model[-1], model[:-1].transform(X)
    assert ridge.block_names_ == ("short", "long")
    table = ridge.component_rigidity(Z, as_frame=True)
    assert list(table.columns) == ["short", "long"]
    assert list(table.index) == list(X.index)
    np.testing.assert_array_equal(table.to_numpy(), ridge.component_rigidity(Z))
    parts = ridge.predict_components(Z, as_frame=True)
    np.testing.assert_allclose(parts.sum(axis=1) + ridge.intercept_, ridge.predict(Z))


def test_feature_union_names_reach_the_kernel_model(frame):
    X, y = frame
    union = FeatureUnion(
        [
            ("first", FunctionTransformer(lambda X: X[["a", "b"]])),
            ("second", FunctionTransformer(lambda X: X[["c", "d", "e"]])),
        ]
    ).set_output(transform="pandas")
    Z = union.fit_transform(X)
    model = BlockKernelRidge(alpha=0.1, blocks="names").fit(Z, y)
    table = model.component_rigidity(Z, as_frame=True)
    assert list(table.columns) == ["first", "second"]
    np.testing.assert_array_equal(table.to_numpy(), model.component_rigidity(Z))


def test_a_plain_array_gets_a_range_index(frame):
    X, y = frame
    model = BlockRidge(blocks=[2, 3]).fit(X.to_numpy(), y)
    table = model.component_rigidity(X.to_numpy(), as_frame=True)
    assert list(table.columns) == list(model.block_names_)
    assert list(table.index) == list(range(40))
