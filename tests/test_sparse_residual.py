"""The Nystroem residual: the variance the sparse route leaves out.

Against the exact Gaussian process (scikit-learn's) and the Nystroem
residual written out with an explicit inverse of the active kernel matrix.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF
from sklearn.metrics.pairwise import rbf_kernel

from skpr import (
    BlockRidge,
    active_nystroem,
    farthest_point_sampling,
    nystroem_residual,
    pool_structures,
)

GAMMA = 0.5


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(40, 3))
    y = np.sin(X).sum(axis=1) + 0.05 * rng.normal(size=40)
    return X, y, rng.uniform(-2, 2, size=(7, 3))


def test_residual_is_the_kernel_minus_its_nystroem_approximation(data):
    X, _, queries = data
    active = X[farthest_point_sampling(X, 12)]
    feature_map = active_nystroem(active, kernel="rbf", gamma=GAMMA)
    k_qm = rbf_kernel(queries, active, gamma=GAMMA)
    inverse = np.linalg.inv(rbf_kernel(active, active, gamma=GAMMA))
    want = 1.0 - np.einsum("ij,jk,ik->i", k_qm, inverse, k_qm)
    assert_allclose(nystroem_residual(feature_map, queries), want, atol=1e-10)
    # per structure: the double sum over its environments
    index = np.array([0, 0, 1, 1, 1, 2, 2])
    k_full = rbf_kernel(queries, gamma=GAMMA) - k_qm @ inverse @ k_qm.T
    want = [k_full[np.ix_(index == a, index == a)].sum() for a in range(3)]
    assert_allclose(nystroem_residual(feature_map, queries, index), want, atol=1e-9)


def test_with_every_training_point_active_it_gives_the_exact_process(data):
    X, y, queries = data
    noise = 0.05
    feature_map = active_nystroem(X, kernel="rbf", gamma=GAMMA)
    model = BlockRidge(alpha=noise, fit_intercept=False, calibration=None)
    model.fit(feature_map.transform(X), y)
    residual = nystroem_residual(feature_map, queries)
    _, std = model.predict(
        feature_map.transform(queries), return_std=True, prior_variance=residual / noise
    )
    gp = GaussianProcessRegressor(
        RBF(length_scale=np.sqrt(0.5 / GAMMA)), alpha=noise, optimizer=None
    ).fit(X, y)
    _, gp_std = gp.predict(queries, return_std=True)
    # var = a (1/R + delta / alpha) with the GP's a = alpha (scale 1 here)
    assert_allclose(noise * std**2, gp_std**2, rtol=1e-6)
    # without the residual the projected process is overconfident
    _, bare = model.predict(feature_map.transform(queries), return_std=True)
    assert np.all(noise * bare**2 < gp_std**2)


def test_prior_variance_enters_the_leave_one_out_scale(data):
    X, y, _ = data
    index = np.repeat(np.arange(20), 2)
    feature_map = active_nystroem(X[::4], kernel="rbf", gamma=GAMMA)
    features = pool_structures(feature_map.transform(X), index)
    targets = pool_structures(y[:, None], index)[:, 0]
    extra = nystroem_residual(feature_map, X, index) / 0.1
    model = BlockRidge(alpha=0.1, fit_intercept=False).fit(
        features, targets, prior_variance=extra
    )
    effective = 1.0 / (1.0 / model.loo_rigidity_ + extra)
    want = np.mean(model.loo_residual_**2 * effective)
    assert model.uncertainty_scale_ == pytest.approx(want, rel=1e-10)
    with pytest.raises(ValueError, match="prior_variance must be 20 finite"):
        model.predict(features, return_std=True, prior_variance=extra[:3])
    with pytest.raises(TypeError, match="fitted sklearn Nystroem"):
        nystroem_residual(model, X)
