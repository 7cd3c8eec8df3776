"""BlockOrthogonalizer and ACEPurifier against independent computations.

BlockOrthogonalizer: orthogonality of the blocks on the pool (Gram matrix of
the output), the span of the input (an explicit least-squares fit of the
input on the output), the same predictions for a model on either, and
scikit-learn's estimator checks.  ACEPurifier: a one-dimensional ACE model
(neighbours ``x_j`` with one-particle functions ``x^n``) whose purified
features are brute-force sums over ordered tuples of distinct neighbours,
computed in the test; on silicon clusters, the fitted map against
``BodyOrderFeatures(purify=True)`` computed directly.
"""

import itertools
import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from skpr import ACEPurifier, BlockOrthogonalizer, BlockRidge, local_features

# --- BlockOrthogonalizer -------------------------------------------------------


def correlated_blocks(seed=0, n_samples=60, sizes=(3, 4, 2)):
    """Blocks that share most of their variance, far from centred."""
    rng = np.random.default_rng(seed)
    n_features = sum(sizes)
    X = rng.normal(size=(n_samples, n_features)) @ rng.normal(
        size=(n_features, n_features)
    )
    return X + rng.uniform(-3, 3, n_features), list(sizes)


def block_slices(sizes):
    stops = np.cumsum(sizes)
    return [slice(int(b - a), int(b)) for a, b in zip(sizes, stops, strict=True)]


@pytest.mark.parametrize("center", [True, False])
def test_blocks_are_orthogonal_on_the_pool_and_span_the_input(center):
    X, sizes = correlated_blocks()
    Z = BlockOrthogonalizer(blocks=sizes, center=center).fit(X).transform(X)
    Zc = Z - Z.mean(axis=0) if center else Z
    slices = block_slices(sizes)
    for j, k in itertools.combinations(range(len(slices)), 2):
        cross = Zc[:, slices[j]].T @ Zc[:, slices[k]]
        assert np.abs(cross).max() < 1e-10 * np.abs(Zc).max() ** 2 * len(X)
    assert_array_equal(Z[:, slices[0]], X[:, slices[0]])
    # the input is an exact linear function of the output (and back)
    for source, target in ((Z, X), (X, Z)):
        refit = LinearRegression(fit_intercept=center).fit(source, target)
        assert_allclose(refit.predict(source), target, atol=1e-9 * np.abs(X).max())


def test_each_block_is_its_residual_after_an_explicit_least_squares_fit():
    X, sizes = correlated_blocks(seed=1)
    Z = BlockOrthogonalizer(blocks=sizes).fit(X).transform(X)
    for block in block_slices(sizes)[1:]:
        earlier = X[:, : block.start]
        fit = LinearRegression().fit(earlier, X[:, block])
        residual = X[:, block] - fit.predict(earlier) + X[:, block].mean(0)
        assert_allclose(Z[:, block], residual, atol=1e-10 * np.abs(X).max())


def test_a_model_on_the_output_predicts_what_it_predicts_on_the_input():
    X, sizes = correlated_blocks(seed=2)
    y = X @ np.random.default_rng(2).normal(size=X.shape[1])
    plain = LinearRegression().fit(X, y)
    orthogonal = make_pipeline(BlockOrthogonalizer(blocks=sizes), LinearRegression())
    assert_allclose(orthogonal.fit(X, y).predict(X), plain.predict(X), atol=1e-9)


def test_names_give_the_blocks_and_stay_on_the_output():
    X, sizes = correlated_blocks(seed=3)
    columns = [f"{b}__{j}" for b, n in zip("abc", sizes, strict=True) for j in range(n)]
    frame = pd.DataFrame(X, columns=columns)
    step = BlockOrthogonalizer().set_output(transform="pandas").fit(frame)
    assert step.block_names_ == ("a", "b", "c")
    out = step.transform(frame)
    assert list(out.columns) == columns
    model = BlockRidge(blocks="names").fit(out, X[:, 0])
    assert model.block_names_ == ("a", "b", "c")
    # without prefixes, "auto" is one block per column, named by block
    plain = BlockOrthogonalizer().fit(X)
    assert len(plain.blocks_) == X.shape[1]
    assert plain.get_feature_names_out()[1] == "block1__x1"


def test_per_environment_rows_go_through_the_linear_part():
    X_local, sizes = correlated_blocks(seed=4, n_samples=90)  # 3 rows a structure
    pooled = np.add.reduceat(X_local, np.arange(0, 90, 3))
    step = BlockOrthogonalizer(blocks=sizes).fit(pooled)
    rows = local_features(step, X_local)
    # oracle: the linear part is T(x) - T(0)
    zero = step.transform(np.zeros((1, X_local.shape[1])))
    assert_allclose(rows, step.transform(X_local) - zero, atol=1e-10)
    assert_allclose(
        np.add.reduceat(rows, np.arange(0, 90, 3)) + zero,
        step.transform(pooled),
        atol=1e-9,
    )


def test_orthogonalizer_parameter_errors():
    X, sizes = correlated_blocks()
    with pytest.raises(ValueError, match="center must be True"):
        BlockOrthogonalizer(blocks=sizes, center="yes").fit(X)
    with pytest.raises(ValueError, match="add up to"):
        BlockOrthogonalizer(blocks=[2, 2]).fit(X)
    with pytest.raises(ValueError, match="needs X with column names"):
        BlockOrthogonalizer(blocks="names").fit(X)
    with pytest.raises(NotFittedError):
        BlockOrthogonalizer().transform(X)
    fitted = BlockOrthogonalizer().fit(X)
    with pytest.raises(ValueError, match="should have 9 names"):
        fitted.get_feature_names_out(["a"])


@parametrize_with_checks([BlockOrthogonalizer(), BlockOrthogonalizer(center=False)])
def test_scikit_learn_estimator_contract(estimator, check):
    check(estimator)


# --- ACEPurifier on a one-dimensional ACE model --------------------------------

# one-particle functions x^n; order 1 up to degree 6 (the extended basis),
# order 2 up to degree 3, order 3 up to degree 1: the products that
# self-interaction creates stay within the lower orders
DEGREES = {1: 6, 2: 3, 3: 1}


def labels(order, degree):
    return list(itertools.combinations_with_replacement(range(1, degree + 1), order))


def self_interacting(x, degrees=DEGREES):
    """Products of the density coefficients A_n = sum_j x_j^n."""
    A = {n: np.sum(x**n) for n in range(1, 2 * max(degrees.values()) + 1)}
    return np.array(
        [
            np.prod([A[n] for n in label])
            for order, degree in degrees.items()
            for label in labels(order, degree)
        ]
    )


def brute_force_purified(x, degrees=DEGREES):
    """Sums over ordered tuples of pairwise distinct neighbours, by enumeration."""
    row = []
    for order, degree in degrees.items():
        for label in labels(order, degree):
            row.append(
                sum(
                    np.prod([x[j] ** n for j, n in zip(tup, label, strict=True)])
                    for tup in itertools.permutations(range(len(x)), order)
                )
            )
    return np.array(row)


def sizes_of(degrees=DEGREES):
    return [len(labels(order, degree)) for order, degree in degrees.items()]


def clusters(seed, n, max_neighbors):
    rng = np.random.default_rng(seed)
    return [
        rng.uniform(-1, 1, size=rng.integers(0, max_neighbors + 1)) for _ in range(n)
    ]


def test_fitted_map_purifies_fresh_clusters_like_the_brute_force_sum():
    reference = clusters(0, 150, max_neighbors=2)
    X = np.array([self_interacting(x) for x in reference])
    purifier = ACEPurifier(blocks=sizes_of()).fit(
        X, n_neighbors=np.array([len(x) for x in reference])
    )
    assert purifier.orders_ == (1, 2, 3)
    assert np.all(purifier.holdout_error_[1:] < 1e-10)
    fresh = clusters(1, 20, max_neighbors=5)
    got = purifier.transform(np.array([self_interacting(x) for x in fresh]))
    want = np.array([brute_force_purified(x) for x in fresh])
    assert_allclose(got, want, rtol=1e-8, atol=1e-9 * np.abs(want).max())
    # the self-interacting order-2 and order-3 blocks are not purified ones
    raw = np.array([self_interacting(x) for x in fresh])
    assert np.abs(raw - want)[:, sizes_of()[0] :].max() > 0.1


def test_a_supplied_map_is_applied_and_checked():
    reference = clusters(2, 150, max_neighbors=2)
    X = np.array([self_interacting(x) for x in reference])
    counts = np.array([len(x) for x in reference])
    fitted = ACEPurifier(blocks=sizes_of()).fit(X, n_neighbors=counts)
    for given in (fitted.map_, sparse.csr_array(fitted.map_)):
        supplied = ACEPurifier(blocks=sizes_of(), map=given).fit(X, n_neighbors=counts)
        assert_allclose(supplied.transform(X), fitted.transform(X), atol=1e-12)
        assert np.all(supplied.holdout_error_[1:] < 1e-10)
        assert np.isnan(supplied.fit_error_).all()
    # without reference clusters a supplied map is applied unchecked
    unchecked = ACEPurifier(blocks=sizes_of(), map=fitted.map_).fit(X)
    assert_array_equal(unchecked.transform(X), fitted.transform(X))
    wrong = fitted.map_.copy()
    wrong[0, 7] += 0.5  # a wrong lower-order term
    with pytest.raises(ValueError, match="supplied map does not purify"):
        ACEPurifier(blocks=sizes_of(), map=wrong).fit(X, n_neighbors=counts)
    mixing = fitted.map_.copy()
    mixing[-1, 0] = 1.0
    with pytest.raises(ValueError, match="block upper triangular"):
        ACEPurifier(blocks=sizes_of(), map=mixing).fit(X)
    with pytest.raises(ValueError, match="map must be a finite"):
        ACEPurifier(blocks=sizes_of(), map=np.eye(3)).fit(X)


def test_a_basis_without_the_lower_order_products_is_refused():
    small = {1: 3, 2: 3}  # order 2 needs x^4 .. x^6 at order 1
    reference = clusters(3, 100, max_neighbors=1)
    X = np.array([self_interacting(x, small) for x in reference])
    counts = np.array([len(x) for x in reference])
    with pytest.raises(ValueError, match="extended basis"):
        ACEPurifier(blocks=sizes_of(small)).fit(X, n_neighbors=counts)


def test_too_few_reference_clusters_are_refused():
    reference = clusters(4, 12, max_neighbors=1)  # order 2 has 6 lower columns
    X = np.array([self_interacting(x, {1: 6, 2: 3}) for x in reference])
    counts = np.array([len(x) for x in reference])
    with pytest.raises(ValueError, match="do not determine the map"):
        ACEPurifier(blocks=sizes_of({1: 6, 2: 3})).fit(X, n_neighbors=counts)
    with pytest.raises(ValueError, match="fewer than 2 neighbours"):
        ACEPurifier(blocks=sizes_of({1: 6, 2: 3})).fit(X, n_neighbors=counts + 5)


def test_purifier_parameter_and_input_errors():
    reference = clusters(5, 60, max_neighbors=2)
    X = np.array([self_interacting(x) for x in reference])
    counts = np.array([len(x) for x in reference])
    sizes = sizes_of()
    with pytest.raises(ValueError, match="needs fit\\(X, n_neighbors"):
        ACEPurifier(blocks=sizes).fit(X)
    with pytest.raises(ValueError, match="one non-negative integer per row"):
        ACEPurifier(blocks=sizes).fit(X, n_neighbors=counts[:-1])
    with pytest.raises(ValueError, match="one non-negative integer per row"):
        ACEPurifier(blocks=sizes).fit(X, n_neighbors=counts + 0.5)
    with pytest.raises(ValueError, match="increase in column order"):
        ACEPurifier(blocks=sizes, orders=[1, 3, 2]).fit(X, n_neighbors=counts)
    with pytest.raises(ValueError, match="one correlation order per block"):
        ACEPurifier(blocks=sizes, orders=[1, 2]).fit(X, n_neighbors=counts)
    with pytest.raises(ValueError, match="tol must be a positive"):
        ACEPurifier(blocks=sizes, tol=0).fit(X, n_neighbors=counts)
    with pytest.raises(ValueError, match="validation_fraction must be"):
        ACEPurifier(blocks=sizes, validation_fraction=1.0).fit(X, n_neighbors=counts)
    with pytest.raises(ValueError, match="needs X with column names"):
        ACEPurifier().fit(X, n_neighbors=counts)
    with pytest.raises(NotFittedError):
        ACEPurifier(blocks=sizes).transform(X)


def test_purifier_is_an_estimator_that_pickles_and_leaves_its_input_alone():
    reference = clusters(6, 120, max_neighbors=2)
    X = np.array([self_interacting(x) for x in reference])
    counts = np.array([len(x) for x in reference])
    columns = [
        f"nu{order}__{label}"
        for order, degree in DEGREES.items()
        for label in labels(order, degree)
    ]
    frame = pd.DataFrame(X, columns=columns)
    before = frame.copy()
    purifier = (
        ACEPurifier().set_output(transform="pandas").fit(frame, n_neighbors=counts)
    )
    assert purifier.block_names_ == ("nu1", "nu2", "nu3")
    out = purifier.transform(frame)
    assert list(out.columns) == columns
    pd.testing.assert_frame_equal(frame, before)
    restored = pickle.loads(pickle.dumps(purifier))
    assert_array_equal(restored.transform(frame), out)
    again = clone(purifier).fit(frame, n_neighbors=counts)
    assert_array_equal(again.transform(frame), out)
    with pytest.raises(ValueError, match="feature names should match"):
        purifier.transform(frame.iloc[:, :-1])


# --- ACEPurifier on silicon clusters --------------------------------------------


def test_fitted_map_on_silicon_clusters_equals_direct_purification():
    pytest.importorskip("ase")
    pytest.importorskip("featomic")
    from ase.neighborlist import neighbor_list

    from skpr.atomistic import BodyOrderFeatures
    from skpr.datasets import load_silicon_clusters

    data = load_silicon_clusters()
    kind = np.asarray(data.kind)

    def take(name, part):
        return [data.structures[i] for i in np.flatnonzero(kind == name)[part]]

    reference = take("dimer", slice(60)) + take("trimer", slice(60))
    reference += take("tetramer", slice(60))
    fresh = take("pentamer", slice(15)) + take("tetramer", slice(100, 110))
    # polynomial one-particle functions with a hard cutoff; the lower orders
    # hold the products the self-interaction of the higher ones creates
    params = dict(
        max_order=3,
        max_radial=(4, 1, 0),
        max_angular=(0, 2, 1),
        radial_basis="monomials",
        cutoff_width=0.0,
    )
    direct = BodyOrderFeatures(purify=True, **params).fit(reference)
    raw = BodyOrderFeatures(purify=False, **params).fit(reference)
    X, _ = raw.transform_local(reference)
    counts = np.concatenate(
        [
            np.bincount(neighbor_list("i", a, raw.cutoff), minlength=len(a))
            for a in reference
        ]
    )
    frame = pd.DataFrame(X, columns=raw.get_feature_names_out())
    purifier = ACEPurifier().fit(frame, n_neighbors=counts)
    assert purifier.orders_ == (1, 2, 3)
    assert np.all(purifier.holdout_error_[1:] < 1e-9)
    fresh_rows, _ = raw.transform_local(fresh)
    got = purifier.transform(pd.DataFrame(fresh_rows, columns=frame.columns))
    want, _ = direct.transform_local(fresh)
    for block in purifier.blocks_:
        scale = np.abs(want[:, block]).max()
        assert np.abs(got[:, block] - want[:, block]).max() < 1e-9 * scale
    # self-interaction is visible on the same rows
    assert (
        np.abs(fresh_rows - want)[:, purifier.blocks_[1]].max()
        > 1e-3 * np.abs(want[:, purifier.blocks_[1]]).max()
    )
