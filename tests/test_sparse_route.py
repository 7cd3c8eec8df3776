"""The sparse route to local non-linear kernels, and farthest-point sampling.

Nystroem features per environment, summed per structure, fitted with
BlockRidge: the rigidities must be the projected-process (subset-of-regressors)
formulas written directly in kernel matrices.
"""

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.kernel_approximation import Nystroem
from sklearn.metrics.pairwise import laplacian_kernel, rbf_kernel

from skpr import (
    BlockKernelRidge,
    BlockRidge,
    active_nystroem,
    farthest_point_sampling,
    pool_structures,
)

# --- farthest-point sampling -----------------------------------------------------


def brute_force_fps(X, n_select, initial):
    """Among unselected rows, the one farthest from its nearest selected row."""
    selected = [initial]
    while len(selected) < n_select:
        best, best_distance = None, -1.0
        for i in range(X.shape[0]):
            if i in selected:
                continue
            distance = min(np.linalg.norm(X[i] - X[j]) for j in selected)
            if distance > best_distance:
                best, best_distance = i, distance
        selected.append(best)
    return np.array(selected)


@pytest.mark.parametrize("seed, initial", [(0, 0), (1, 17), (2, 39)])
def test_farthest_point_sampling_matches_brute_force(seed, initial):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3)) * [1.0, 3.0, 0.3]
    selected = farthest_point_sampling(X, 12, initial=initial)
    np.testing.assert_array_equal(selected, brute_force_fps(X, 12, initial))


def test_farthest_point_sampling_with_duplicates_selects_distinct_rows():
    rng = np.random.default_rng(3)
    X = np.repeat(rng.normal(size=(4, 2)), 3, axis=0)  # each row three times
    selected = farthest_point_sampling(X, 12)
    np.testing.assert_array_equal(np.sort(selected), np.arange(12))
    # the four distinct points come first
    assert len({tuple(row) for row in X[selected[:4]]}) == 4
    X_list = X.tolist()  # array-likes are accepted and never modified
    farthest_point_sampling(X_list, 3)
    assert X_list == X.tolist()


def test_farthest_point_sampling_errors():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="n_select == 0, must be >= 1"):
        farthest_point_sampling(X, 0)
    with pytest.raises(ValueError, match="n_select == 6, must be <= 5"):
        farthest_point_sampling(X, 6)
    with pytest.raises(ValueError, match="initial == 5, must be <= 4"):
        farthest_point_sampling(X, 2, initial=5)


# --- Nystroem on exactly the active rows ---------------------------------------


def test_nystroem_fitted_on_the_active_rows_uses_all_of_them():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(200, 3))
    active = farthest_point_sampling(X, 15)
    plain = Nystroem(kernel="rbf", gamma=0.3, n_components=15, random_state=1)
    plain.fit(X[active])
    np.testing.assert_array_equal(np.sort(plain.component_indices_), np.arange(15))
    np.testing.assert_array_equal(
        plain.components_, X[active][plain.component_indices_]
    )
    frozen = active_nystroem(X[active], kernel="rbf", gamma=0.3)
    # feature inner products are k_xM K_MM^{-1} k_My, whatever the order
    K_mm = rbf_kernel(X[active], gamma=0.3)
    K_xm = rbf_kernel(X, X[active], gamma=0.3)
    expected = K_xm @ np.linalg.solve(K_mm, K_xm.T)
    for nystroem in (plain, frozen):
        features = nystroem.transform(X)
        np.testing.assert_allclose(features @ features.T, expected, atol=1e-9)
    # a frozen Nystroem is not refitted, e.g. inside a ColumnTransformer
    before = frozen.transform(X)
    frozen.fit(X[:50], None)
    np.testing.assert_array_equal(frozen.transform(X), before)


def test_active_nystroem_refuses_n_components():
    with pytest.raises(ValueError, match="do not pass n_components"):
        active_nystroem(np.eye(3), n_components=2)


# --- the sparse route end to end --------------------------------------------------


def make_structures(seed=5, n_structures=40, n_features=5):
    rng = np.random.default_rng(seed)
    structure_index = np.repeat(
        np.arange(n_structures), rng.integers(1, 7, size=n_structures)
    )
    X_local = rng.normal(size=(structure_index.size, n_features))
    energy_local = np.sin(X_local[:, 0]) + X_local[:, 1] * X_local[:, 2]
    y = np.bincount(structure_index, weights=energy_local) + 0.05 * rng.normal(
        size=n_structures
    )
    weights = rng.uniform(0.5, 2.0, size=n_structures)
    return X_local, structure_index, y, weights, rng


GAMMA = (0.6, 0.3)
ALPHA = (1e-2, 5e-2)
BLOCKS = ([0, 1], [2, 3, 4])


def projected_process(X_local, structure_index, y, weights, X_active, queries):
    """SoR formulas from kernel matrices: K_NM = per-structure sums of
    k(x_j, active); M = K_MN S K_NM + blockdiag(alpha_b K_MM,b)."""
    blocks = []
    for gamma, columns in zip(GAMMA, BLOCKS, strict=True):
        k_jm = rbf_kernel(X_local[:, columns], X_active[:, columns], gamma=gamma)
        K_nm = np.zeros((y.size, k_jm.shape[1]))
        for j, structure in enumerate(structure_index):
            K_nm[structure] += k_jm[j]
        blocks.append((k_jm, K_nm, rbf_kernel(X_active[:, columns], gamma=gamma)))
    K_nm = np.hstack([b[1] for b in blocks])
    n_active = X_active.shape[0]
    regularizer = np.zeros((2 * n_active, 2 * n_active))
    for b, alpha in enumerate(ALPHA):
        part = slice(b * n_active, (b + 1) * n_active)
        regularizer[part, part] = alpha * blocks[b][2]
    M = K_nm.T @ (weights[:, None] * K_nm) + regularizer
    weights_active = np.linalg.solve(M, K_nm.T @ (weights * y))

    def quadratic(K):
        return np.einsum("ij,ij->i", K, np.linalg.solve(M, K.T).T)

    query_blocks = [
        rbf_kernel(queries[:, c], X_active[:, c], gamma=g)
        for g, c in zip(GAMMA, BLOCKS, strict=True)
    ]
    K_qm = np.hstack(query_blocks)
    k_jm = np.hstack([b[0] for b in blocks])
    zero = np.zeros_like(query_blocks[0])
    return {
        "lpr": 1 / quadratic(k_jm),
        "pr": 1 / quadratic(K_nm),
        "local_prediction": k_jm @ weights_active,
        "query_cpr": np.column_stack(
            [
                1 / quadratic(np.hstack([query_blocks[0], zero])),
                1 / quadratic(np.hstack([zero, query_blocks[1]])),
            ]
        ),
        "query_prediction": K_qm @ weights_active,
    }


def sparse_route(X_local, structure_index, y, weights, active):
    features = ColumnTransformer(
        [
            (name, active_nystroem(X_local[active][:, c], gamma=g), c)
            for name, g, c in zip(("soap", "lode"), GAMMA, BLOCKS, strict=True)
        ]
    )
    phi_local = features.fit_transform(X_local)  # frozen: nothing is refitted
    for name, columns in zip(("soap", "lode"), BLOCKS, strict=True):
        components = features.named_transformers_[name].components_
        np.testing.assert_array_equal(
            np.sort(components, axis=0), np.sort(X_local[active][:, columns], axis=0)
        )
    model = BlockRidge(alpha=list(ALPHA), blocks=[active.size] * 2, fit_intercept=False)
    model.fit(pool_structures(phi_local, structure_index), y, sample_weight=weights)
    return model, features, phi_local


def test_sparse_route_matches_projected_process_formulas():
    X_local, structure_index, y, weights, rng = make_structures()
    active = farthest_point_sampling(X_local, 12)
    # a well-conditioned K_MM, so that the comparison is about the algebra
    for gamma, columns in zip(GAMMA, BLOCKS, strict=True):
        assert (
            np.linalg.cond(rbf_kernel(X_local[active][:, columns], gamma=gamma)) < 1e3
        )
    model, features, phi_local = sparse_route(
        X_local, structure_index, y, weights, active
    )
    queries = rng.normal(size=(6, X_local.shape[1]))
    expected = projected_process(
        X_local, structure_index, y, weights, X_local[active], queries
    )
    phi_structures = pool_structures(phi_local, structure_index)
    phi_queries = features.transform(queries)
    np.testing.assert_allclose(model.local_rigidity(phi_local), expected["lpr"], 1e-8)
    np.testing.assert_allclose(
        model.predict_rigidity(phi_structures), expected["pr"], rtol=1e-8
    )
    np.testing.assert_allclose(
        phi_local @ model.coef_, expected["local_prediction"], rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(
        model.component_rigidity(phi_queries), expected["query_cpr"], rtol=1e-8
    )
    np.testing.assert_allclose(
        model.predict(phi_queries), expected["query_prediction"], rtol=1e-8, atol=1e-10
    )


def test_sparse_route_with_every_point_active_is_exact_at_the_training_rows():
    """One environment per structure and every environment active: the
    projected process equals the exact kernel model at the training rows."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(30, 2)) * 2.0
    y = np.sin(X[:, 0]) * X[:, 1] + 0.05 * rng.normal(size=30)
    weights = rng.uniform(0.5, 2.0, size=30)
    exact = BlockKernelRidge(
        alpha=1e-2, kernel="laplacian", kernel_params={"gamma": 0.8}
    ).fit(X, y, sample_weight=weights)
    phi = active_nystroem(X, kernel="laplacian", gamma=0.8).transform(X)
    assert np.linalg.cond(laplacian_kernel(X, gamma=0.8)) < 1e3
    sparse = BlockRidge(alpha=1e-2, fit_intercept=False).fit(phi, y, weights)
    np.testing.assert_allclose(sparse.predict(phi), exact.predict(X), rtol=1e-8)
    np.testing.assert_allclose(
        sparse.predict_rigidity(phi), exact.predict_rigidity(X), rtol=1e-8
    )
    np.testing.assert_allclose(sparse.loo_rigidity_, exact.loo_rigidity_, rtol=1e-8)
