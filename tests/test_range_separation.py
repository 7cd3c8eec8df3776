"""RangeSeparator on precomputed arrays, against sums written out in the test.

The coefficients here are random numbers in the ``(l, a, m, n)`` layout of
LODE (``l`` outermost, then the neighbour species ``a``, then ``m``, ``n``
fastest); the invariants are recomputed with explicit loops over that layout.
"""

import pickle
from math import sqrt

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from skpr import BlockRidge, RangeSeparator

N_SPECIES, MAX_ANGULAR, MAX_RADIAL = 2, 2, 1
N_RADIAL = MAX_RADIAL + 1
K = N_SPECIES * (MAX_ANGULAR + 1) ** 2 * N_RADIAL
N_SHORT = 4


def column(ell, a, m, n):
    return (
        N_SPECIES * ell * ell * N_RADIAL
        + a * (2 * ell + 1) * N_RADIAL
        + (m + ell) * N_RADIAL
        + n
    )


def bilinear_power_spectrum(C, D):
    """``c_ab (-1)^l / sqrt(2l+1) sum_m C[a, l, m, n1] D[b, l, m, n2]``, a <= b."""
    rows = []
    for a in range(N_SPECIES):
        for b in range(a, N_SPECIES):
            scale = 1.0 if a == b else sqrt(2.0)
            for ell in range(MAX_ANGULAR + 1):
                for n1 in range(N_RADIAL):
                    for n2 in range(N_RADIAL):
                        total = sum(
                            C[:, column(ell, a, m, n1)] * D[:, column(ell, b, m, n2)]
                            for m in range(-ell, ell + 1)
                        )
                        rows.append(scale * (-1) ** ell / sqrt(2 * ell + 1) * total)
    return np.stack(rows, axis=1)


@pytest.fixture
def parts():
    rng = np.random.default_rng(0)
    short_block = rng.normal(size=(7, N_SHORT))
    full = rng.normal(size=(7, K))
    short = full * rng.uniform(0.5, 1.5, size=K) + 0.1 * rng.normal(size=(7, K))
    return short_block, full, short


def separator(**params):
    layout = dict(n_species=N_SPECIES, max_angular=MAX_ANGULAR, max_radial=MAX_RADIAL)
    return RangeSeparator(N_SHORT, **(layout | params))


def test_long_range_power_spectrum_is_that_of_the_coefficient_difference(parts):
    short_block, full, short = parts
    X = np.hstack([short_block, full, short])
    out = separator().fit_transform(X)
    assert_array_equal(out[:, :N_SHORT], short_block)
    lr = full - short
    want = bilinear_power_spectrum(lr, lr)
    assert_allclose(out[:, N_SHORT:], want, rtol=1e-13, atol=1e-13)
    # the bilinear identity, and how far subtracting power spectra is from it
    identity = (
        bilinear_power_spectrum(full, full)
        - bilinear_power_spectrum(full, short)
        - bilinear_power_spectrum(short, full)
        + bilinear_power_spectrum(short, short)
    )
    assert_allclose(want, identity, rtol=1e-12, atol=1e-12)
    wrong = bilinear_power_spectrum(full, full) - bilinear_power_spectrum(short, short)
    assert np.abs(wrong - want).max() > 0.5 * np.abs(want).max()


def test_radial_invariants_and_the_double_counting_variant(parts):
    short_block, full, short = parts
    X = np.hstack([short_block, full, short])
    radial = separator(invariant="radial").fit_transform(X)
    l0 = [column(0, a, 0, n) for a in range(N_SPECIES) for n in range(N_RADIAL)]
    assert_allclose(radial[:, N_SHORT:], (full - short)[:, l0], rtol=0, atol=1e-15)
    # separate=False ignores V_SR and keeps the columns
    together = separator(separate=False).fit(X)
    out = together.transform(X)
    assert_allclose(out[:, N_SHORT:], bilinear_power_spectrum(full, full), rtol=1e-13)
    assert_array_equal(
        together.get_feature_names_out(), separator().fit(X).get_feature_names_out()
    )


def test_rows_are_independent_and_names_carry_the_blocks(parts):
    short_block, full, short = parts
    X = np.hstack([short_block, full, short])
    model = separator(species=["H", "O"]).fit(X)
    batch = model.transform(X)
    alone = np.vstack([model.transform(X[i : i + 1]) for i in range(len(X))])
    assert_allclose(alone, batch, rtol=0, atol=0)
    names = model.get_feature_names_out()
    assert names[0] == "sr__x0" and names[N_SHORT] == "lr__H|H|l=0|n1=0|n2=0"
    pairs = N_SPECIES * (N_SPECIES + 1) // 2
    assert len(names) == N_SHORT + pairs * (MAX_ANGULAR + 1) * N_RADIAL**2
    assert names[-1] == f"lr__O|O|l={MAX_ANGULAR}|n1={MAX_RADIAL}|n2={MAX_RADIAL}"
    # with pandas, BlockRidge(blocks="names") sees the two blocks
    frame = pd.DataFrame(X, columns=[f"c{j}" for j in range(X.shape[1])])
    pipeline = make_pipeline(
        separator().set_output(transform="pandas"), BlockRidge(blocks="names")
    )
    pipeline.fit(frame, frame["c0"] + 1.0)
    assert pipeline[-1].block_names_ == ("sr", "lr")
    assert list(pipeline[0].transform(frame).columns[:2]) == ["sr__c0", "sr__c1"]


def test_pickles_clones_and_leaves_the_input_alone(parts):
    X = np.hstack(parts)
    before = X.copy()
    model = separator().fit(X)
    out = model.transform(X)
    assert_array_equal(X, before)
    again = pickle.loads(pickle.dumps(model))
    assert_array_equal(again.transform(X), out)
    assert_array_equal(clone(model).fit(X).transform(X), out)


def test_layouts_that_do_not_add_up_are_refused_with_the_sizes(parts):
    short_block, full, short = parts
    with pytest.raises(ValueError, match=r"needs 76: n_species=2 x .* x \(max_r"):
        separator().fit(np.hstack([short_block, full, short[:, :-2]]))
    with pytest.raises(ValueError, match="cannot have the same number of columns"):
        separator().fit(np.hstack([short_block, full, short[:, :-1]]))
    with pytest.raises(ValueError, match="would have 37 columns each"):
        separator().fit(np.hstack([short_block, full, full[:, :1], short, full[:, :1]]))
    model = separator().fit(np.hstack(parts))
    with pytest.raises(ValueError, match="features"):
        model.transform(np.hstack(parts)[:, :-1])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"invariant": "bispectrum"}, "invariant must be one of"),
        ({"separate": "yes"}, "separate must be True or False"),
        ({"species": ["H"]}, "one name per species"),
        ({"max_radial": -1}, "max_radial"),
    ],
)
def test_parameter_errors(parts, params, message):
    with pytest.raises(ValueError, match=message):
        separator(**params).fit(np.hstack(parts))
