"""BlockRidge.partial_fit: chunk by chunk, the model of one fit on all rows."""

import pickle

import numpy as np
import pytest

from skpr import BlockRidge, BlockRidgeCV


def data(seed=0, n=300, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 7)) + offset
    y = X @ rng.normal(size=7) + 0.3 * rng.normal(size=n) + 5.0
    # weights over ten decades: the stream's weight scale grows chunk by chunk
    weight = rng.uniform(0.5, 2.0, size=n) * 10.0 ** np.linspace(-5, 5, n)
    weight[rng.choice(n, 10, replace=False)] = 0.0
    return X, y, weight


def chunkings(n, seed):
    """Random cuts of the rows into 1 to 12 chunks, in a random order."""
    rng = np.random.default_rng(seed)
    for _ in range(4):
        cuts = np.sort(rng.choice(np.arange(1, n), rng.integers(0, 12), replace=False))
        pieces = np.split(
            rng.permutation(n) if rng.random() < 0.5 else np.arange(n), cuts
        )
        yield [pieces[k] for k in rng.permutation(len(pieces))]


def stream(model, X, y, weight, chunks):
    for rows in chunks:
        model.partial_fit(X[rows], y[rows], sample_weight=weight[rows])
    return model


# a large feature mean with an intercept: the centered statistics keep the
# digits (without an intercept the normal equations themselves would lose
# them, in fit as in partial_fit)
@pytest.mark.parametrize(
    "fit_intercept, offset", [(True, 0.0), (False, 0.0), (True, 1e4)]
)
def test_any_chunking_gives_the_fit_on_all_rows(fit_intercept, offset):
    X, y, weight = data(offset=offset)
    params = dict(alpha=[1e-2, 3.0], blocks=[4, 3], fit_intercept=fit_intercept)
    whole = BlockRidge(**params, solver="cholesky").fit(X, y, sample_weight=weight)
    queries = np.random.default_rng(9).normal(size=(20, 7)) + offset
    for seed, chunks in enumerate(chunkings(len(y), seed=1)):
        model = stream(BlockRidge(**params), X, y, weight, chunks)
        assert model.solver_ == "cholesky"
        np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10, atol=1e-12)
        assert model.intercept_ == pytest.approx(whole.intercept_, rel=1e-10, abs=1e-9)
        np.testing.assert_allclose(
            model.predict(queries), whole.predict(queries), rtol=1e-10
        )
        for method in ("predict_rigidity", "local_rigidity", "component_rigidity"):
            np.testing.assert_allclose(
                getattr(model, method)(queries),
                getattr(whole, method)(queries),
                rtol=1e-9,
                err_msg=f"{method}, chunking {seed}",
            )
        assert model.sample_weight_sum_ == pytest.approx(weight.sum(), rel=1e-12)


def test_the_rigidity_is_that_of_an_explicit_hessian():
    X, y, weight = data(n=120)
    model = stream(
        BlockRidge(alpha=0.5, fit_intercept=False),
        X,
        y,
        weight,
        np.array_split(np.arange(120), 5),
    )
    hessian = X.T @ (weight[:, None] * X) + 0.5 * np.eye(7)
    x = X[:3]
    expected = 1.0 / np.einsum("ij,ij->i", x, np.linalg.solve(hessian, x.T).T)
    np.testing.assert_allclose(model.predict_rigidity(x), expected, rtol=1e-9)


@pytest.mark.parametrize("fit_noise", [False, True])
def test_a_second_pass_gives_the_leave_one_out_calibration_of_fit(fit_noise):
    X, y, weight = data(seed=2)
    kinds = np.where(np.arange(len(y)) % 3 == 0, "energy", "force")
    whole = BlockRidge(alpha=0.1, solver="cholesky", fit_noise=fit_noise).fit(
        X, y, sample_weight=weight, kinds=kinds
    )
    chunks = np.array_split(np.random.default_rng(4).permutation(len(y)), 6)
    model = stream(BlockRidge(alpha=0.1, fit_noise=fit_noise), X, y, weight, chunks)
    assert model.uncertainty_scale_ == 1.0  # until calibrated
    order = np.concatenate(chunks)
    model.calibrate_loo(
        ((X[rows], y[rows], weight[rows]) for rows in chunks),
        kinds=lambda i, X_chunk: kinds[chunks[i]],
    )
    np.testing.assert_allclose(
        model.loo_residual_, whole.loo_residual_[order], rtol=1e-8
    )
    np.testing.assert_allclose(
        model.loo_rigidity_, whole.loo_rigidity_[order], rtol=1e-8
    )
    assert model.uncertainty_scale_ == pytest.approx(whole.uncertainty_scale_, rel=1e-8)
    assert model.noise_ == pytest.approx(whole.noise_, rel=1e-6, abs=1e-12)
    for kind in ("energy", "force"):
        assert model.uncertainty_scales_[kind] == pytest.approx(
            whole.uncertainty_scales_[kind], rel=1e-8
        )
    _, std = model.predict(X[:5], return_std=True, kind="force")
    _, expected = whole.predict(X[:5], return_std=True, kind="force")
    np.testing.assert_allclose(std, expected, rtol=1e-7)


def test_a_pickled_stream_goes_on_where_it_stopped():
    X, y, weight = data(seed=3)
    first, second = np.arange(150), np.arange(150, 300)
    model = BlockRidge(alpha=0.2).partial_fit(X[first], y[first], weight[first])
    restored = pickle.loads(pickle.dumps(model))
    model.partial_fit(X[second], y[second], weight[second])
    restored.partial_fit(X[second], y[second], weight[second])
    np.testing.assert_array_equal(restored.coef_, model.coef_)
    np.testing.assert_array_equal(
        restored.predict_rigidity(X), model.predict_rigidity(X)
    )


def test_fit_after_partial_fit_starts_over_and_partial_fit_after_fit_too():
    X, y, weight = data(seed=5)
    model = BlockRidge(alpha=0.2).partial_fit(X[:100], y[:100])
    model.fit(X[100:], y[100:])
    reference = BlockRidge(alpha=0.2).fit(X[100:], y[100:])
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    model.partial_fit(X[:100], y[:100])
    reference = BlockRidge(alpha=0.2, solver="cholesky").fit(X[:100], y[:100])
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10)


def test_inconsistent_chunks_are_refused():
    pd = pytest.importorskip("pandas")
    X, y, _ = data()
    model = BlockRidge().partial_fit(X[:50], y[:50])
    with pytest.raises(
        ValueError, match="X has 6 features, but BlockRidge is expecting 7"
    ):
        model.partial_fit(X[50:100, :6], y[50:100])
    named = pd.DataFrame(
        X, columns=[f"a__{i}" if i < 4 else f"b__{i}" for i in range(7)]
    )
    model = BlockRidge(blocks="names").partial_fit(named[:50], y[:50])
    assert model.block_names_ == ("a", "b")
    renamed = named.rename(columns={"b__6": "c__6"})
    with pytest.raises(ValueError, match="feature names"):
        model.partial_fit(renamed[50:100], y[50:100])
    with pytest.raises(ValueError, match="sample_weight is zero for every sample"):
        BlockRidge().partial_fit(X[:5], y[:5], sample_weight=np.zeros(5))
    with pytest.raises(ValueError, match="second pass of a partial_fit stream"):
        BlockRidge().fit(X, y).calibrate_loo([(X, y)])
    model = BlockRidge().partial_fit(X[:50], y[:50])
    model.set_params(fit_intercept=False)
    with pytest.raises(ValueError, match="fit_intercept changed to False"):
        model.partial_fit(X[50:], y[50:])


def test_a_chunk_of_zero_weights_adds_nothing():
    X, y, weight = data(seed=8)
    zero = weight.copy()
    zero[100:150] = 0.0
    whole = BlockRidge(alpha=0.3, solver="cholesky").fit(X, y, sample_weight=zero)
    chunks = [np.arange(100), np.arange(100, 150), np.arange(150, 300)]
    model = stream(BlockRidge(alpha=0.3), X, y, zero, chunks)
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        model.predict_rigidity(X), whole.predict_rigidity(X), rtol=1e-10
    )
    model.calibrate_loo([(X[rows], y[rows], zero[rows]) for rows in chunks])
    assert model.uncertainty_scale_ == pytest.approx(whole.uncertainty_scale_, 1e-8)


def test_alpha_and_blocks_changed_between_chunks_apply_to_all_rows():
    X, y, weight = data(seed=9)
    model = BlockRidge(alpha=0.1).partial_fit(X[:120], y[:120], weight[:120])
    model.set_params(alpha=[3.0, 0.01], blocks=[3, 4])
    model.partial_fit(X[120:], y[120:], weight[120:])
    whole = BlockRidge(alpha=[3.0, 0.01], blocks=[3, 4], solver="cholesky").fit(
        X, y, sample_weight=weight
    )
    assert model.block_names_ == whole.block_names_
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10)
    np.testing.assert_allclose(
        model.component_rigidity(X), whole.component_rigidity(X), rtol=1e-10
    )


def test_a_new_chunk_clears_the_calibration_of_the_rows_before():
    X, y, weight = data(seed=10)
    kinds = np.where(np.arange(150) % 2 == 0, "energy", "force")
    model = BlockRidge().partial_fit(X[:150], y[:150], weight[:150])
    model.calibrate_loo([(X[:150], y[:150], weight[:150])], kinds=kinds)
    assert set(model.uncertainty_scales_) == {"energy", "force"}
    model.partial_fit(X[150:], y[150:], weight[150:])
    assert model.uncertainty_scale_ == 1.0
    for name in ("uncertainty_scales_", "loo_residual_", "loo_rigidity_"):
        assert not hasattr(model, name)
    with pytest.raises(ValueError, match="was not calibrated"):
        model.predict(X[:3], return_std=True, kind="energy")


def test_the_second_pass_must_bring_the_training_rows():
    X, y, weight = data(seed=11)
    model = BlockRidge().partial_fit(X, y, weight)
    with pytest.raises(ValueError, match="got 144 rows with positive weight, but th"):
        model.calibrate_loo([(X[:150], y[:150], weight[:150])])
    with pytest.raises(ValueError, match=r"kinds\(i=0, X\) must have one label"):
        model.calibrate_loo(
            [(X[:150], y[:150], weight[:150]), (X[150:], y[150:], weight[150:])],
            kinds=lambda i, X_chunk: np.zeros(3),
        )
    with pytest.raises(ValueError, match="at least 2 samples"):
        BlockRidge().partial_fit(X[:1], y[:1]).calibrate_loo([(X[:1], y[:1])])
    # kinds as labels of all rows, in the order of the chunks, or per chunk
    kinds = np.where(np.arange(300) < 200, "energy", "force")
    chunks = [slice(0, 200), slice(200, 300)]
    by_array = BlockRidge().partial_fit(X, y, weight)
    by_array.calibrate_loo([(X[c], y[c], weight[c]) for c in chunks], kinds=kinds)
    model.calibrate_loo(
        [(X[c], y[c], weight[c]) for c in chunks],
        kinds=lambda i, X_chunk: kinds[chunks[i]],
    )
    assert by_array.uncertainty_scales_ == pytest.approx(model.uncertainty_scales_)


def test_only_the_normal_equations_stream():
    assert hasattr(BlockRidge(solver="cholesky"), "partial_fit")
    for model in (BlockRidge(solver="qr"), BlockRidge(solver="dual"), BlockRidgeCV()):
        assert not hasattr(model, "partial_fit")
