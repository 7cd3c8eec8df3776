"""dask arrays in BlockRidge: the same numbers as numpy, chunk by chunk."""

import pickle

import numpy as np
import pytest

from skpr import BlockKernelRidge, BlockRidge, BlockRidgeCV

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

QUERIES = ("predict", "predict_rigidity", "local_rigidity", "component_rigidity")


def data(seed=0, n=900, offset=3.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)) + offset
    y = X @ rng.normal(size=6) + 0.5 * rng.normal(size=n) + 2.0
    weight = rng.uniform(0.1, 3.0, size=n)
    weight[rng.choice(n, 20, replace=False)] = 0.0
    kinds = np.where(np.arange(n) % 3 == 0, "force", "energy")
    return X, y, weight, kinds


PARAMS = dict(alpha=[0.03, 2.0], blocks=[4, 2])


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("fit_noise", [False, True])
@pytest.mark.parametrize(
    "chunks, dask_weights",
    [((100, 6), True), ((313, 4), False), ((900, 6), True)],  # rows; rows and columns
)
def test_dask_fit_equals_the_numpy_fit(fit_intercept, fit_noise, chunks, dask_weights):
    X, y, weight, kinds = data()
    params = dict(PARAMS, fit_intercept=fit_intercept, fit_noise=fit_noise)
    whole = BlockRidge(**params, solver="cholesky").fit(
        X, y, sample_weight=weight, kinds=kinds
    )
    Xd = da.from_array(X, chunks=chunks)
    yd = da.from_array(y, chunks=77)  # other chunks than X: aligned inside
    wd = da.from_array(weight, chunks=chunks[0]) if dask_weights else weight
    model = BlockRidge(**params).fit(Xd, yd, sample_weight=wd, kinds=kinds)
    assert model.solver_ == "cholesky"
    assert isinstance(model.coef_, np.ndarray)
    assert isinstance(model.loo_residual_, np.ndarray)
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10, atol=1e-12)
    assert model.intercept_ == pytest.approx(whole.intercept_, rel=1e-10, abs=1e-10)
    np.testing.assert_allclose(model.loo_residual_, whole.loo_residual_, rtol=1e-9)
    np.testing.assert_allclose(model.loo_rigidity_, whole.loo_rigidity_, rtol=1e-9)
    assert model.uncertainty_scale_ == pytest.approx(whole.uncertainty_scale_, 1e-9)
    assert model.noise_ == pytest.approx(whole.noise_, rel=1e-7, abs=1e-12)
    for kind, scale in whole.uncertainty_scales_.items():
        assert model.uncertainty_scales_[kind] == pytest.approx(scale, rel=1e-9)


def test_queries_are_lazy_dask_arrays_equal_to_numpy():
    X, y, weight, kinds = data()
    model = BlockRidge(**PARAMS).fit(X, y, sample_weight=weight, kinds=kinds)
    Q = np.random.default_rng(5).normal(size=(250, 6)) + 3.0
    Qd = da.from_array(Q, chunks=(60, 6))
    for method in QUERIES + ("predict_components",):
        lazy = getattr(model, method)(Qd)
        assert isinstance(lazy, da.Array), method
        assert lazy.chunks[0] == Qd.chunks[0]
        np.testing.assert_allclose(
            lazy.compute(), getattr(model, method)(Q), rtol=1e-12, err_msg=method
        )
    for kind in (None, "force"):
        mean, std = model.predict(Qd, return_std=True, kind=kind, observation=True)
        assert isinstance(std, da.Array)
        expected = model.predict(Q, return_std=True, kind=kind, observation=True)
        np.testing.assert_allclose(mean.compute(), expected[0], rtol=1e-12)
        np.testing.assert_allclose(std.compute(), expected[1], rtol=1e-12)


def test_partial_fit_mixes_dask_and_numpy_chunks_in_any_order():
    X, y, weight, _ = data(seed=3)
    whole = BlockRidge(**PARAMS, solver="cholesky").fit(X, y, sample_weight=weight)
    pieces = np.split(np.random.default_rng(1).permutation(len(y)), [200, 450, 700])
    for order in ([0, 1, 2, 3], [3, 1, 0, 2]):
        model = BlockRidge(**PARAMS, calibration=None)
        for k in order:
            rows = pieces[k]
            X_chunk, y_chunk, w_chunk = X[rows], y[rows], weight[rows]
            if k % 2 == 0:
                X_chunk = da.from_array(X_chunk, chunks=(64, 3))
                y_chunk = da.from_array(y_chunk, chunks=64)
            model.partial_fit(X_chunk, y_chunk, sample_weight=w_chunk)
        np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10, atol=1e-12)
        model.calibrate_loo((X[r], y[r], weight[r]) for r in pieces)
        assert model.uncertainty_scale_ == pytest.approx(
            whole.uncertainty_scale_, rel=1e-9
        )


def test_calibrate_on_dask_rows_equals_numpy():
    X, y, weight, kinds = data(seed=4)
    X_test, y_test, w_test, kinds_test = data(seed=5, n=400)
    model = BlockRidge(**PARAMS, calibration=None, fit_noise=True).fit(X, y)
    expected = pickle.loads(pickle.dumps(model)).calibrate(
        X_test, y_test, sample_weight=w_test, kinds=kinds_test
    )
    model.calibrate(
        da.from_array(X_test, chunks=90),
        da.from_array(y_test, chunks=90),
        sample_weight=da.from_array(w_test, chunks=90),
        kinds=kinds_test,
    )
    assert model.uncertainty_scale_ == pytest.approx(expected.uncertainty_scale_, 1e-10)
    assert model.noise_ == pytest.approx(expected.noise_, rel=1e-8, abs=1e-12)
    for kind, scale in expected.uncertainty_scales_.items():
        assert model.uncertainty_scales_[kind] == pytest.approx(scale, rel=1e-10)


@pytest.mark.parametrize("calibration, passes", [(None, 1), ("loo", 2)])
def test_every_chunk_of_X_is_made_once_per_pass(calibration, passes):
    # y computed from X: a graph optimized array by array would make each
    # chunk of X again inside y's tasks
    made = []

    def make(block_info=None):
        start, stop = block_info[None]["array-location"][0]
        made.append(start)
        return data(seed=start, n=stop - start)[0]

    X = da.map_blocks(make, chunks=((100,) * 9, (6,)), meta=np.empty((0, 0)))
    y = X @ np.arange(6.0) + 1.0
    with dask.config.set(scheduler="sync"):
        BlockRidge(calibration=calibration).fit(X, y)
    assert sorted(made) == sorted(list(range(0, 900, 100)) * passes)


def test_query_tasks_do_not_carry_the_training_results():
    cloudpickle = pytest.importorskip("cloudpickle")
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40_000, 4))
    model = BlockRidge().fit(X, X.sum(axis=1) + rng.normal(size=40_000))
    Q = da.from_array(rng.normal(size=(50, 4)), chunks=10)
    queries = [
        model.predict(Q),
        model.predict(Q, return_std=True)[1],
        model.predict_rigidity(Q),
        model.local_rigidity(Q),
        model.component_rigidity(Q),
        model.predict_components(Q),
    ]
    for query in queries:
        graph = cloudpickle.dumps(dict(query.__dask_graph__()))
        assert len(graph) < model.loo_residual_.nbytes / 10
    assert model.loo_residual_.shape == (40_000,)  # the model keeps them
    np.testing.assert_array_equal(
        queries[2].compute(), model.predict_rigidity(Q.compute())
    )


def test_rows_in_memory_keep_their_names_beside_dask_targets():
    pd = pytest.importorskip("pandas")
    X, y, weight, _ = data(seed=7)
    named = pd.DataFrame(X, columns=[f"{'ab'[i // 4]}__{i}" for i in range(6)])
    params = dict(alpha={"a": 0.5, "b": 4.0}, blocks="names")
    whole = BlockRidge(**params, solver="cholesky").fit(named, y, weight)
    model = BlockRidge(**params).fit(named, da.from_array(y, chunks=100), weight)
    assert list(model.feature_names_in_) == list(named.columns)
    assert model.block_names_ == ("a", "b")
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10)
    stream = BlockRidge(**params).partial_fit(
        named[:450], y[:450], da.from_array(weight[:450], chunks=100)
    )
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        stream.partial_fit(da.from_array(X[450:], chunks=100), y[450:], weight[450:])
    np.testing.assert_allclose(stream.coef_, whole.coef_, rtol=1e-10)


def test_a_dask_chunk_of_zero_weights_adds_nothing():
    X, y, weight, _ = data(seed=8)
    zero = weight.copy()
    zero[300:600] = 0.0
    whole = BlockRidge(solver="cholesky").fit(X, y, sample_weight=zero)
    model = BlockRidge()
    for rows in (slice(0, 300), slice(300, 600), slice(600, 900)):
        model.partial_fit(
            da.from_array(X[rows], chunks=100), y[rows], da.from_array(zero[rows])
        )
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10)


def test_a_dask_fitted_model_pickles_to_identical_results():
    X, y, weight, _ = data(seed=6)
    model = BlockRidge(**PARAMS).fit(da.from_array(X, chunks=200), y, weight)
    copy = pickle.loads(pickle.dumps(model))
    for method in QUERIES:
        np.testing.assert_array_equal(
            getattr(copy, method)(X[:50]), getattr(model, method)(X[:50])
        )


def test_dask_errors_say_what_to_do():
    X, y, weight, _ = data(seed=7, n=200)
    Xd, yd = da.from_array(X, chunks=50), da.from_array(y, chunks=50)
    with pytest.raises(ValueError, match="groups with a dask X"):
        BlockRidge().fit(Xd, yd, groups=np.arange(200) // 2)
    with pytest.raises(TypeError, match="solver='auto' or 'cholesky'"):
        BlockRidge(solver="qr").fit(Xd, yd)
    with pytest.raises(TypeError, match="needs its training rows in memory"):
        BlockRidgeCV().fit(Xd, yd)
    with pytest.raises(TypeError, match="needs its training rows in memory"):
        BlockKernelRidge().fit(Xd, yd)
    with pytest.raises(ValueError, match="2-D dask array"):
        BlockRidge().fit(yd, yd)
    with pytest.raises(ValueError, match=r"shape \(200,\), one value per row"):
        BlockRidge().fit(Xd, yd[:150])
    masked = Xd[Xd[:, 0] > 0]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        BlockRidge().fit(masked, yd)
    with pytest.raises(ValueError, match="non-negative"):
        BlockRidge().fit(Xd, yd, sample_weight=da.from_array(-weight, chunks=50))
    with pytest.raises(ValueError, match="zero .*for every sample"):
        BlockRidge().fit(Xd, yd, sample_weight=da.zeros(200, chunks=50))
    bad = X.copy()
    bad[120, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BlockRidge().fit(da.from_array(bad, chunks=50), yd)
    model = BlockRidge().fit(Xd, yd)
    with pytest.raises(ValueError, match="X has 4 features, but BlockRidge is"):
        model.predict(Xd[:, :4])
    with pytest.raises(ValueError, match="X in memory"):
        model.predict(Xd, return_cov=True)
    with pytest.raises(ValueError, match="as_frame=True"):
        model.component_rigidity(Xd, as_frame=True)
    with pytest.raises(ValueError, match="kind='force' was not calibrated"):
        model.predict(Xd, return_std=True, kind="force")
    with pytest.raises(ValueError, match="NaN"):
        model.predict_rigidity(da.from_array(bad, chunks=50)).compute()
    stream = BlockRidge().partial_fit(X, y)  # a numpy chunk, then a dask one
    with pytest.raises(ValueError, match="X has 4 features"):
        stream.partial_fit(Xd[:, :4], yd)


def test_a_local_cluster_of_two_workers_shares_the_work():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        # rows generated on the workers, chunk by chunk: never all in one place
        X = da.random.default_rng(1).normal(size=(24000, 12), chunks=(3000, 12))
        noise = da.random.default_rng(2).normal(size=24000, chunks=3000)
        y = X @ np.linspace(-1, 1, 12) + 0.1 * noise + 1.0
        with distributed.get_task_stream(client) as tasks:
            model = BlockRidge(alpha=[0.1, 1.0], blocks=[6, 6]).fit(X, y)
            rigidity = model.predict_rigidity(X[:5000]).compute()
            _, std = dask.compute(*model.predict(X[:5000], return_std=True))
            streamed = BlockRidge(alpha=[0.1, 1.0], blocks=[6, 6])
            for rows in (slice(0, 9000), slice(9000, 24000)):
                streamed.partial_fit(X[rows], y[rows])
        assert len({task["worker"] for task in tasks.data}) == 2
        X_np, y_np = dask.compute(X, y)
    whole = BlockRidge(alpha=[0.1, 1.0], blocks=[6, 6], solver="cholesky")
    whole.fit(X_np, y_np)
    np.testing.assert_allclose(model.coef_, whole.coef_, rtol=1e-10)
    np.testing.assert_allclose(streamed.coef_, whole.coef_, rtol=1e-10)
    assert model.uncertainty_scale_ == pytest.approx(whole.uncertainty_scale_, 1e-9)
    np.testing.assert_allclose(
        rigidity, whole.predict_rigidity(X_np[:5000]), rtol=1e-10
    )
    np.testing.assert_allclose(
        std, whole.predict(X_np[:5000], return_std=True)[1], rtol=1e-9
    )
