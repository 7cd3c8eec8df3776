"""What-if rigidities and selection over structures (energy and force rows).

A candidate structure brings its energy row and its 3N force rows with the
model's loss weights; every answer is compared with a refit of the
EnergyForceRegressor with the structure added (or removed).
"""

import pickle

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

from numpy.testing import assert_allclose  # noqa: E402
from sklearn.pipeline import make_union  # noqa: E402

from skpr import BlockRidge, RigiditySelector, rigidity_valuation, what_if  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    CompositionFeatures,
    EnergyForceRegressor,
    SoapPowerSpectrum,
)
from skpr.datasets import load_ethanol  # noqa: E402

RTOL = 1e-9


def model():
    descriptor = make_union(
        SoapPowerSpectrum(cutoff=3.0, max_radial=2, max_angular=1),
        CompositionFeatures(),
    )
    return EnergyForceRegressor(
        descriptor, BlockRidge(alpha=1e-2, fit_intercept=False), force_weight=0.3
    )


@pytest.fixture(scope="module")
def ethanol():
    data = load_ethanol()
    return data.structures, data.energy - data.energy.mean()


@pytest.fixture(scope="module")
def fitted(ethanol):
    structures, energies = ethanol
    return model().fit(structures[:6], energies[:6])


def test_adding_and_removing_structures_equals_refits(ethanol, fitted):
    structures, energies = ethanol
    before = pickle.dumps(fitted)
    targets = structures[20:23]
    added = what_if(fitted, add=structures[6:8], add_weight=[1.0, 2.0])
    refit = model().fit(
        structures[:8], energies[:8], sample_weight=[1, 1, 1, 1, 1, 1, 1, 2]
    )
    assert_allclose(
        added.predict_rigidity(targets), refit.predict_rigidity(targets), rtol=RTOL
    )
    assert_allclose(
        added.local_rigidity(targets), refit.local_rigidity(targets), rtol=RTOL
    )
    assert_allclose(
        added.component_rigidity(targets), refit.component_rigidity(targets), rtol=RTOL
    )
    removed = what_if(fitted, remove=structures[:1])
    refit = model().fit(structures[1:6], energies[1:6])
    assert_allclose(
        removed.predict_rigidity(targets), refit.predict_rigidity(targets), rtol=RTOL
    )
    assert pickle.dumps(fitted) == before


def test_selection_over_structures_equals_refits(ethanol, fitted):
    structures, energies = ethanol
    pool, targets = structures[30:36], structures[50:53]
    selector = RigiditySelector(
        fitted, n_select=2, cost=lambda atoms: len(atoms) ** 3
    ).fit(pool, targets)
    # brute force: refit with each remaining candidate, keep the best
    chosen, values = [], [fitted.predict_rigidity(targets).mean()]
    for _ in range(2):
        scores = [
            -np.inf
            if c in chosen
            else model()
            .fit(
                structures[:6] + [pool[i] for i in chosen + [c]],
                np.zeros(6 + len(chosen) + 1),
            )
            .predict_rigidity(targets)
            .mean()
            for c in range(len(pool))
        ]
        chosen.append(int(np.argmax(scores)))
        values.append(max(scores))
    assert selector.selected_.tolist() == chosen
    assert_allclose(selector.objective_, values, rtol=RTOL)
    assert_allclose(selector.gain_, np.diff(values) / 9**3, rtol=1e-7)


def test_valuation_of_training_structures_equals_refits(ethanol, fitted):
    structures, energies = ethanol
    targets = structures[40:44]
    result = rigidity_valuation(
        fitted, structures[:6], targets, objective="min_rigidity"
    )
    for g in range(6):
        keep = [i for i in range(6) if i != g]
        refit = model().fit([structures[i] for i in keep], energies[keep])
        assert_allclose(
            result.objective_without[g],
            refit.predict_rigidity(targets).min(),
            rtol=RTOL,
        )
    with pytest.raises(ValueError, match="each structure is one group"):
        rigidity_valuation(fitted, structures[:6], targets, groups=np.arange(6))
