"""RangeSeparatedLode on ase.Atoms, against computations made in the test.

The references are featomic's LODE of the full potential and of molecules
alone (reciprocal space), featomic's adaptive ``dblquad`` radial integral,
and a real-space expansion of the potential of one far atom (no LODE at all).
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("ase")
featomic = pytest.importorskip("featomic")

from ase import Atoms  # noqa: E402
from ase.build import molecule  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import FeatureUnion, make_pipeline  # noqa: E402

from skpr import BlockRidge, RangeSeparator  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    LodeExpansion,
    RangeSeparatedLode,
    SoapPowerSpectrum,
)
from skpr.atomistic._range_separated import (  # noqa: E402
    _QuadratureSpliner,
    _ShortRangeLode,
    short_range_hypers,
)

#: one small set of hypers for most tests, so that its splines are built once
SMALL = dict(max_radial=2, max_angular=2, basis_radius=3.0, box=20.0)


def water(shift=(0.0, 0.0, 0.0), seed=0):
    atoms = molecule("H2O")
    rotation = np.random.default_rng(seed).normal(size=3)
    atoms.rotate(np.degrees(np.linalg.norm(rotation)), rotation)
    atoms.positions += shift
    return atoms


def water_dimer(distance, seed=0):
    """Two waters whose oxygens are ``distance`` apart along x."""
    return water(seed=seed) + water(shift=(distance, 0.0, 0.0), seed=seed + 1)


def test_quadrature_radial_integral_equals_featomic_dblquad():
    basis = featomic.basis.TensorProduct(
        max_angular=2, radial=featomic.basis.Gto(max_radial=2, radius=3.0)
    )
    kwargs = dict(
        cutoff=featomic.cutoff.Cutoff(radius=2.8, smoothing=featomic.cutoff.Step()),
        density=featomic.density.SmearedPowerLaw(smearing=1.0, exponent=6),
        basis=basis,
    )
    adaptive = featomic.splines.SoapSpliner(**kwargs)
    fast = _QuadratureSpliner(**kwargs)
    distances = np.array([0.0, 0.7, 1.9, 2.8])
    for radial, angular in ((0, 0), (2, 1), (1, 2)):
        for derivative in (False, True):
            want = adaptive._ri_custom_density(radial, angular, distances, derivative)
            got = fast._ri_custom_density(radial, angular, distances, derivative)
            assert_allclose(got, want, rtol=0, atol=1e-9 * np.abs(want).max())


@pytest.mark.parametrize("invariant", ["power_spectrum", "radial"])
def test_long_range_block_of_an_isolated_molecule_vanishes_only_when_separated(
    invariant,
):
    molecules = [water(seed=s) for s in range(3)]
    # every atom is within 2.8 Å of every other one
    assert max(m.get_all_distances().max() for m in molecules) < 2.8
    kwargs = dict(SMALL, invariant=invariant, k_cutoff=2 * np.pi)
    separated, _ = (
        RangeSeparatedLode(**kwargs).fit(molecules).transform_local(molecules)
    )
    together, _ = (
        RangeSeparatedLode(**kwargs, separate=False)
        .fit(molecules)
        .transform_local(molecules)
    )
    scale = np.abs(together).max()
    assert scale > 1e-3
    # limited by featomic's reciprocal-space sum, not by the splines
    tolerance = 1e-7 if invariant == "power_spectrum" else 1e-4
    assert np.abs(separated).max() < tolerance * scale


def test_long_range_coefficients_are_lode_of_the_other_molecule():
    dimer = water_dimer(5.0)
    first = slice(0, 3)
    lode = dict(smearing=1.0, exponent=6, max_radial=2, max_angular=2)
    lode["basis_radius"] = 3.0
    separated = RangeSeparatedLode(
        invariant="radial", separate_center_types=False, box=20.0, **lode
    )
    rows, _ = separated.fit([dimer]).transform_local([dimer])

    def boxed(atoms):
        atoms = atoms.copy()
        atoms.cell = np.eye(3) * 20.0
        atoms.pbc = True
        return atoms

    # the molecule's own atoms are all within the cutoff: the long-range
    # potential on them is that of the other molecule (featomic LODE alone)
    expansion = LodeExpansion(**lode, species=["H", "O"])
    both, _ = expansion.fit([boxed(dimer)]).transform_local([boxed(dimer)])
    alone, _ = expansion.transform_local([boxed(dimer[first])])
    l0 = [a * 3 + n for a in range(2) for n in range(3)]  # l = 0 columns
    want = (both[first] - alone)[:, l0]
    assert_allclose(rows[first], want, rtol=0, atol=1e-3 * np.abs(want).max())


@pytest.mark.parametrize(("exponent", "slope"), [(6, -6.0), (4, -4.0)])
def test_long_range_block_decays_with_the_exponent_of_the_potential(exponent, slope):
    hypers = dict(exponent=exponent, max_radial=0, max_angular=0, basis_radius=0.5)
    lode = RangeSeparatedLode(
        invariant="radial",
        separate_center_types=False,
        box=30.0,
        k_cutoff=2 * np.pi,
        **hypers,
    )
    # the potential of a far atom expanded in real space, no LODE involved
    far = featomic.SphericalExpansion(
        **short_range_hypers(12.0, 1.0, exponent, 0, 0, 0.5)
    )

    def real_space(atoms):
        return sum(block.values[0, 0, 0] for block in far.compute(atoms).blocks())

    lone = real_space(Atoms("Ar", positions=[[0.0, 0, 0]]))
    distances = np.array([4.0, 5.0, 6.0, 7.0, 8.0])
    values, exact = [], []
    for d in distances:
        pair = Atoms("Ar2", positions=[[0.0, 0, 0], [d, 0, 0]])
        rows, _ = lode.fit([pair]).transform_local([pair])
        values.append(rows[0, 0])
        exact.append(real_space(pair) - lone)
    values, exact = np.array(values), np.array(exact)
    if exponent == 6:  # the periodic images are negligible
        assert_allclose(values, exact, rtol=0.02)
    fitted = np.polyfit(np.log(distances), np.log(values), 1)[0]
    assert abs(fitted - slope) < 0.1 * abs(slope)


def test_range_separator_on_the_coefficients_gives_the_same_rows():
    dimers = [water_dimer(4.0 + d, seed=d) for d in range(3)]
    model = RangeSeparatedLode(**SMALL, separate_center_types=False).fit(dimers)
    rows, _ = model.transform_local(dimers)
    species = model.species_.tolist()
    boxed = model._boxed(dimers)
    full, _ = model._full(species).fit(boxed).transform_local(boxed)
    short_range = _ShortRangeLode(
        model.short_range_hypers_, max_radial=2, max_angular=2, species=species
    )
    short, _ = short_range.fit(boxed).transform_local(boxed)
    separator = RangeSeparator(0, n_species=2, max_angular=2, max_radial=2)
    assert_allclose(separator.fit_transform(np.hstack([full, short])), rows)


def test_rows_alone_equal_rows_in_a_batch_and_the_input_is_left_alone():
    batch = [water_dimer(3.5 + d, seed=d) for d in range(3)] + [water(seed=7)]
    before = [(a.positions.copy(), a.cell.array.copy(), a.pbc.copy()) for a in batch]
    model = RangeSeparatedLode(**SMALL).fit(batch)
    together = model.transform(batch)
    alone = np.vstack([model.transform([atoms]) for atoms in batch])
    assert_allclose(alone, together, rtol=1e-12, atol=1e-15)
    for atoms, (positions, cell, pbc) in zip(batch, before, strict=True):
        assert_array_equal(atoms.positions, positions)
        assert_array_equal(atoms.cell.array, cell)
        assert_array_equal(atoms.pbc, pbc)
    # pickled with its splines: the same rows, no rebuild needed
    again = pickle.loads(pickle.dumps(model))
    assert_array_equal(again.transform(batch), together)
    assert_array_equal(clone(model).fit(batch).transform(batch), together)


def test_feature_union_with_soap_gives_one_block_per_range():
    dimers = [water_dimer(3.2 + 0.5 * d, seed=d) for d in range(8)]
    boxed = RangeSeparatedLode(**SMALL)._boxed(dimers)
    union = FeatureUnion(
        [
            ("sr", SoapPowerSpectrum(cutoff=2.8, max_radial=2, max_angular=2)),
            ("lr", RangeSeparatedLode(**SMALL)),
        ]
    ).set_output(transform="pandas")
    model = make_pipeline(union, BlockRidge(blocks="names")).fit(boxed, np.arange(8.0))
    assert model[-1].block_names_ == ("sr", "lr")
    names = union.get_feature_names_out()
    assert names[-1].startswith("lr__O|")
    # separate=False keeps the columns
    double = RangeSeparatedLode(**SMALL, separate=False).fit(boxed)
    assert_array_equal(
        double.get_feature_names_out(),
        union.transformer_list[1][1].get_feature_names_out(),
    )


def test_bad_input_is_refused_with_the_fix():
    molecules = [water()]
    with pytest.raises(ValueError, match="is not periodic. Pass box=25.0"):
        RangeSeparatedLode(max_radial=1, max_angular=1).fit(molecules)
    with pytest.raises(ValueError, match="featomic cannot build"):
        RangeSeparatedLode(max_radial=30, box=20.0).fit(molecules)
    with pytest.raises(ValueError, match="larger box"):
        RangeSeparatedLode(max_radial=1, max_angular=1, box=1.0).fit(molecules)
    with pytest.raises(ValueError, match="invariant must be one of"):
        RangeSeparatedLode(invariant="bispectrum", box=20.0).fit(molecules)
    with pytest.raises(ValueError, match="separate must be True or False"):
        RangeSeparatedLode(separate=1, box=20.0).fit(molecules)
    with pytest.raises(ValueError, match="cutoff"):
        RangeSeparatedLode(cutoff=-1.0, box=20.0).fit(molecules)
    model = RangeSeparatedLode(**SMALL).fit(molecules)
    with pytest.raises(NotImplementedError, match="no position gradients"):
        model.transform_gradients(molecules)
