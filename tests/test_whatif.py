"""What-if rigidities, greedy selection and valuation against explicit refits."""

import pickle

import numpy as np
import pytest

from skpr import (
    BlockKernelRidge,
    BlockRidge,
    RigiditySelector,
    rigidity_valuation,
    what_if,
)

RTOL = 1e-9


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n, F = 40, 6
    return {
        "X": rng.normal(size=(n, F)),
        "y": rng.normal(size=n),
        "w": rng.uniform(0.5, 2.0, size=n),
        "new": rng.normal(size=(5, F)) + 0.5,
        "new_w": rng.uniform(0.5, 3.0, size=5),
        "Q": rng.normal(size=(7, F)),
    }


RIDGES = [
    {"fit_intercept": True},
    {"fit_intercept": False},
    {"fit_intercept": True, "solver": "dual"},
    {"fit_intercept": False, "solver": "dual", "blocks": [2, 4], "alpha": [0.5, 2.0]},
    {"fit_intercept": True, "blocks": [2, 4], "alpha": [0.5, 2.0]},
]
KERNELS = [
    {"alpha": 0.3, "kernel": "rbf", "kernel_params": {"gamma": 0.2}},
    {"alpha": [0.3, 1.0], "kernel": "linear", "blocks": [2, 4]},
]


def models():
    return [(BlockRidge, kw) for kw in RIDGES] + [
        (BlockKernelRidge, kw) for kw in KERNELS
    ]


def assert_rigidities_equal(whatif, refit, Q, local=True):
    np.testing.assert_allclose(
        whatif.predict_rigidity(Q), refit.predict_rigidity(Q), rtol=RTOL
    )
    np.testing.assert_allclose(
        whatif.component_rigidity(Q), refit.component_rigidity(Q), rtol=RTOL
    )
    if local:
        np.testing.assert_allclose(
            whatif.local_rigidity(Q), refit.local_rigidity(Q), rtol=RTOL
        )


@pytest.mark.parametrize(("cls", "params"), models())
def test_adding_and_removing_rows_equals_refits(data, cls, params):
    X, y, w, Q = data["X"], data["y"], data["w"], data["Q"]
    local = params.get("kernel", "linear") == "linear"
    model = cls(**params).fit(X, y, sample_weight=w)
    before = pickle.dumps(model)

    added = what_if(model, add=data["new"], add_weight=data["new_w"])
    refit = cls(**params).fit(
        np.vstack([X, data["new"]]),
        np.concatenate([y, np.zeros(5)]),  # targets do not enter rigidities
        sample_weight=np.concatenate([w, data["new_w"]]),
    )
    assert_rigidities_equal(added, refit, Q, local)
    # the std keeps the model's calibrated scale
    np.testing.assert_allclose(
        added.predict_std(Q),
        np.sqrt(model.uncertainty_scale_ / refit.predict_rigidity(Q)),
        rtol=RTOL,
    )

    removed = what_if(model, remove=X[:6], remove_weight=w[:6])
    refit = cls(**params).fit(X[6:], y[6:], sample_weight=w[6:])
    assert_rigidities_equal(removed, refit, Q, local)

    both = what_if(
        model,
        add=data["new"],
        add_weight=data["new_w"],
        remove=X[:3],
        remove_weight=w[:3],
    )
    refit = cls(**params).fit(
        np.vstack([X[3:], data["new"]]),
        np.concatenate([y[3:], np.zeros(5)]),
        sample_weight=np.concatenate([w[3:], data["new_w"]]),
    )
    assert_rigidities_equal(both, refit, Q, local)
    assert pickle.dumps(model) == before  # the fitted model is only read


def test_the_plus_s_rule_of_appendix_b(data):
    model = BlockRidge(alpha=0.1).fit(data["X"], data["y"])
    x = data["Q"][:1]
    after = what_if(model, add=x, add_weight=[2.5]).predict_rigidity(x)
    np.testing.assert_allclose(after, model.predict_rigidity(x) + 2.5, rtol=1e-12)


def test_removing_rows_that_fix_parameters_is_refused():
    rng = np.random.default_rng(1)
    X = np.zeros((10, 3))
    X[:, :2] = rng.normal(size=(10, 2))
    X[0, 2] = 1.0  # the only row that sees the third feature
    model = BlockRidge(alpha=1e-14, fit_intercept=False, calibration=None).fit(
        X, rng.normal(size=10)
    )
    with pytest.raises(ValueError, match="not positive definite"):
        what_if(model, remove=X[:1])


# ---------------------------------------------------------------- greedy


def grouped_pool(rng, n_groups, F, sizes=(1, 3, 4)):
    """Candidate groups of rows (an 'energy' row and some 'force' rows)."""
    rows, groups, weights = [], [], []
    for g in range(n_groups):
        k = sizes[g % len(sizes)]
        block = rng.normal(size=(k, F))
        block[1:] *= 0.3
        rows.append(block)
        groups += [f"c{g:02d}"] * k
        weights += [1.0] + [0.4] * (k - 1)
    weights = np.array(weights)
    weights[3] = 0.0  # a zero-weight row: it is predicted, never in the loss
    return np.vstack(rows), np.array(groups), weights


def brute_force_greedy(
    cls,
    params,
    X,
    y,
    w,
    pool,
    groups,
    weights,
    Q,
    n_select,
    objective,
    cost=None,
    scale=1.0,
):
    """Refit for every candidate at every step (as the paper's scripts do)."""
    labels = np.unique(groups)
    cost = np.ones(labels.size) if cost is None else np.asarray(cost)
    chosen, values = [], []

    def value(rows, row_weights):
        model = cls(**params, calibration=None).fit(
            rows, np.zeros(rows.shape[0]), sample_weight=row_weights
        )
        rigidity = model.predict_rigidity(Q)
        return {
            "mean_rigidity": rigidity.mean(),
            "sum_log_rigidity": np.log(rigidity).sum(),
            "mean_variance": -(scale / rigidity).mean(),
            "min_rigidity": rigidity.min(),
        }[objective]

    current_rows, current_w = X, w
    values.append(value(X, w))
    for _ in range(n_select):
        gains = np.full(labels.size, -np.inf)
        for c, label in enumerate(labels):
            if c in chosen:
                continue
            mask = groups == label
            gains[c] = (
                value(
                    np.vstack([current_rows, pool[mask]]),
                    np.concatenate([current_w, weights[mask]]),
                )
                - values[-1]
            ) / cost[c]
        pick = int(np.argmax(gains))
        chosen.append(pick)
        mask = groups == labels[pick]
        current_rows = np.vstack([current_rows, pool[mask]])
        current_w = np.concatenate([current_w, weights[mask]])
        values.append(value(current_rows, current_w))
    return chosen, np.array(values)


@pytest.mark.parametrize(
    ("cls", "params", "objective"),
    [
        (BlockRidge, {"alpha": 0.5}, "mean_rigidity"),
        (BlockRidge, {"alpha": 0.5, "fit_intercept": False}, "sum_log_rigidity"),
        (
            BlockRidge,
            {"alpha": [0.5, 2.0], "blocks": [2, 4], "solver": "dual"},
            "min_rigidity",
        ),
        (
            BlockKernelRidge,
            {"alpha": 0.3, "kernel": "rbf", "kernel_params": {"gamma": 0.3}},
            "mean_variance",
        ),
    ],
)
def test_greedy_selection_equals_a_brute_force_greedy(data, cls, params, objective):
    rng = np.random.default_rng(2)
    X, w = data["X"], data["w"]
    pool, groups, weights = grouped_pool(rng, 12, X.shape[1])
    Q = rng.normal(size=(6, X.shape[1])) + 1.0
    model = cls(**params).fit(X, data["y"], sample_weight=w)
    before = pickle.dumps(model)
    cost = rng.uniform(1.0, 3.0, size=12)
    for c in (None, cost):
        selector = RigiditySelector(model, n_select=4, objective=objective, cost=c)
        selector.fit(pool, Q, pool_weight=weights, pool_groups=groups)
        sign = -1.0 if objective == "mean_variance" else 1.0
        picks, values = brute_force_greedy(
            cls,
            params,
            X,
            data["y"],
            w,
            pool,
            groups,
            weights,
            Q,
            4,
            objective,
            cost=c,
            scale=model.uncertainty_scale_,
        )
        assert selector.selected_.tolist() == picks
        np.testing.assert_allclose(sign * selector.objective_, values, rtol=1e-9)
        assert selector.selected_groups_.tolist() == [f"c{p:02d}" for p in picks]
        assert len(set(selector.selected_)) == 4
    assert pickle.dumps(model) == before


def test_objectives_improve_monotonically_and_picks_are_distinct(data):
    rng = np.random.default_rng(3)
    model = BlockRidge(alpha=1.0).fit(data["X"], data["y"])
    pool = rng.normal(size=(60, 6))
    Q = rng.normal(size=(10, 6)) + 2.0
    for objective in ("mean_rigidity", "sum_log_rigidity", "min_rigidity"):
        selector = RigiditySelector(model, n_select=20, objective=objective).fit(
            pool, Q
        )
        assert np.all(np.diff(selector.objective_) >= -1e-12)
        assert len(set(selector.selected_)) == 20
        # every target's PR can only grow when rows are added
        assert np.all(np.diff(selector.target_rigidity_, axis=0) >= -1e-9)
    selector = RigiditySelector(model, n_select=20, objective="mean_variance").fit(
        pool, Q
    )
    assert np.all(np.diff(selector.objective_) <= 1e-12)


def test_local_and_component_targets_equal_what_if(data):
    rng = np.random.default_rng(4)
    model = BlockRidge(alpha=0.5, blocks=[2, 4]).fit(data["X"], data["y"])
    pool, Q = rng.normal(size=(30, 6)), rng.normal(size=(5, 6))
    for target, method, block in (
        ("local", "local_rigidity", None),
        ("component", "component_rigidity", 1),
    ):
        selector = RigiditySelector(model, n_select=3, target=target, block=block or 0)
        selector.fit(pool, Q)
        after = getattr(what_if(model, add=pool[selector.selected_]), method)(Q)
        if block is not None:
            after = after[:, block]
        np.testing.assert_allclose(selector.target_rigidity_[-1], after, rtol=RTOL)


def test_selector_input_errors(data):
    model = BlockRidge().fit(data["X"], data["y"])
    pool, Q = data["new"], data["Q"]
    with pytest.raises(ValueError, match="empty"):
        RigiditySelector(model, n_select=1).fit([], Q)
    with pytest.raises(ValueError, match="more than the 5 candidates"):
        RigiditySelector(model, n_select=6).fit(pool, Q)
    with pytest.raises(ValueError, match="features"):
        RigiditySelector(model, n_select=1).fit(pool[:, :4], Q)
    with pytest.raises(ValueError, match="features"):
        RigiditySelector(model, n_select=1).fit(pool, Q[:, :4])
    with pytest.raises(ValueError, match="[Nn]egative"):
        RigiditySelector(model, n_select=1).fit(pool, Q, pool_weight=-np.ones(5))
    with pytest.raises(ValueError, match="cost must be finite and positive"):
        RigiditySelector(model, n_select=1, cost=[1, 2, -1, 1, 1]).fit(pool, Q)
    with pytest.raises(ValueError, match="objective must be one of"):
        RigiditySelector(model, objective="max").fit(pool, Q)
    with pytest.raises(ValueError, match="n_select must be a positive integer"):
        RigiditySelector(model, n_select=0).fit(pool, Q)
    with pytest.raises(ValueError, match="one label per row"):
        RigiditySelector(model, n_select=1).fit(pool, Q, pool_groups=[0, 1])
    with pytest.raises(TypeError, match="fitted skpr model"):
        RigiditySelector(object(), n_select=1).fit(pool, Q)


# ---------------------------------------------------------------- valuation


@pytest.mark.parametrize(("cls", "params"), models()[:3] + models()[5:6])
def test_valuation_equals_refits_without_each_group(data, cls, params):
    rng = np.random.default_rng(5)
    X, w = data["X"], data["w"]
    groups = np.repeat(np.arange(20), 2)
    model = cls(**params).fit(X, data["y"], sample_weight=w)
    Q = rng.normal(size=(4, 6)) + 1.0
    result = rigidity_valuation(model, X, Q, sample_weight=w, groups=groups)
    full = model.predict_rigidity(Q).mean()
    np.testing.assert_allclose(result.objective, full, rtol=RTOL)
    for g in range(20):
        keep = groups != g
        refit = cls(**params).fit(X[keep], data["y"][keep], sample_weight=w[keep])
        np.testing.assert_allclose(
            result.objective_without[g], refit.predict_rigidity(Q).mean(), rtol=RTOL
        )
    np.testing.assert_allclose(result.value, full - result.objective_without)
    assert np.all(np.diff(result.value[result.ranking]) <= 0)


def test_progress_bar_gives_the_same_picks(data):
    pytest.importorskip("tqdm")
    model = BlockRidge().fit(data["X"], data["y"])
    pool = np.random.default_rng(6).normal(size=(20, 6))
    plain = RigiditySelector(model, n_select=3).fit(pool, data["Q"])
    shown = RigiditySelector(model, n_select=3, progress=True).fit(pool, data["Q"])
    assert shown.selected_.tolist() == plain.selected_.tolist()


def test_what_if_and_valuation_input_errors(data):
    model = BlockRidge().fit(data["X"], data["y"])
    with pytest.raises(ValueError, match="add_weight was given without add"):
        what_if(model, add_weight=[1.0])
    with pytest.raises(ValueError, match="features"):
        what_if(model, add=data["new"][:, :3])
    with pytest.raises(ValueError, match="[Nn]egative"):
        what_if(model, add=data["new"], add_weight=-np.ones(5))
    with pytest.raises(ValueError, match="kind must be one of"):
        what_if(model, add=data["new"])._quadratic(data["Q"], "energy")
    with pytest.raises(TypeError, match="fitted skpr model"):
        what_if(object(), add=data["new"])
    with pytest.raises(ValueError, match="block=5 is not a block"):
        rigidity_valuation(model, data["X"], data["Q"], target="component", block=5)
    with pytest.raises(ValueError, match="objective must be one of"):
        rigidity_valuation(model, data["X"], data["Q"], objective="best")
    # a training row that alone fixes a parameter cannot be removed
    X = np.zeros((10, 3))
    X[:, :2] = np.random.default_rng(1).normal(size=(10, 2))
    X[0, 2] = 1.0
    lonely = BlockRidge(alpha=1e-14, fit_intercept=False, calibration=None).fit(
        X, np.ones(10)
    )
    with pytest.raises(ValueError, match="Removing the training group 0"):
        rigidity_valuation(lonely, X, X[:2])


def test_nothing_to_add_is_the_fitted_model(data):
    model = BlockRidge(blocks=[2, 4]).fit(data["X"], data["y"])
    unchanged = what_if(model)
    np.testing.assert_allclose(
        unchanged.component_rigidity(data["Q"]), model.component_rigidity(data["Q"])
    )
    assert unchanged.n_rows_added_ == unchanged.n_rows_removed_ == 0


@pytest.mark.parametrize("solver", ["cholesky", "dual"])
def test_the_same_large_rows_added_many_times_keep_their_digits(solver):
    # a structure's summed features, far larger than the training rows, added
    # five times over a nearly unregularized direction: the case in which
    # Woodbury on the stacked copies loses every digit
    rng = np.random.default_rng(7)
    # dual: wide, and the Woodbury route of the dual keeps fewer digits
    # (condition ~1e12 here) than the QR update of the primal factor
    n, alpha, rtol = (30, 1e-8, 1e-7) if solver == "cholesky" else (6, 1e-4, 1e-5)
    X = rng.normal(size=(n, 8)) * np.array([1, 1, 1, 1, 1, 1, 1, 1e-3])
    big = 1e4 * rng.normal(size=(1, 8))
    model = BlockRidge(alpha=alpha, solver=solver, calibration=None)
    model.fit(X, rng.normal(size=n))
    Q = rng.normal(size=(4, 8))
    after = what_if(model, add=np.repeat(big, 5, axis=0))
    # the same Hessian: the row once with weight 5 (five stacked copies make
    # the dual system of a refit singular)
    refit = BlockRidge(alpha=alpha, solver=solver, calibration=None).fit(
        np.vstack([X, big]), rng.normal(size=n + 1), sample_weight=[1.0] * n + [5.0]
    )
    np.testing.assert_allclose(
        after.local_rigidity(Q), refit.local_rigidity(Q), rtol=rtol
    )
    np.testing.assert_allclose(
        after.predict_rigidity(Q), refit.predict_rigidity(Q), rtol=rtol
    )


def test_a_callable_cost_sees_the_rows_of_each_candidate(data):
    model = BlockRidge().fit(data["X"], data["y"])
    pool = np.random.default_rng(8).normal(size=(12, 6))
    groups = np.array([2, 0, 1, 0, 2, 1, 3, 3, 0, 0, 1, 2])
    seen = []

    def cost(rows):
        seen.append(rows.shape[0])
        return float(rows.shape[0])

    selector = RigiditySelector(model, n_select=2, cost=cost)
    selector.fit(pool, data["Q"], pool_groups=groups)
    assert seen == [4, 3, 3, 2]  # the rows of groups 0, 1, 2, 3
    explicit = RigiditySelector(model, n_select=2, cost=[4.0, 3.0, 3.0, 2.0])
    explicit.fit(pool, data["Q"], pool_groups=groups)
    assert selector.selected_.tolist() == explicit.selected_.tolist()
