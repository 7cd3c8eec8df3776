"""Density coefficients and the invariants built from them, against featomic.

The power spectrum built by :func:`power_spectrum` from the coefficients of
:class:`SphericalExpansion` is compared with featomic's own
``SoapPowerSpectrum`` (through :class:`SoapPowerSpectrum`), that of
:class:`LodeExpansion` with featomic's ``clebsch_gordan.PowerSpectrum``
(through :class:`LodeDescriptor`), a SOAP x LODE product with featomic's
``clebsch_gordan.PowerSpectrum`` of two calculators, and the ``l = 0``
channel with featomic's ``SoapRadialSpectrum`` and with
``LodeDescriptor(invariant="radial")``.  Rotation covariance is checked
against Wigner matrices built from real spherical harmonics written out in
Cartesian coordinates.
"""

from math import sqrt

import numpy as np
import pytest

pytest.importorskip("ase")
featomic = pytest.importorskip("featomic")

from ase.build import bulk  # noqa: E402
from featomic.clebsch_gordan import PowerSpectrum as FeatomicPowerSpectrum  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402

from skpr import pool_structures  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    LodeDescriptor,
    LodeExpansion,
    SoapPowerSpectrum,
    SphericalExpansion,
    power_spectrum,
    radial_spectrum,
    separate_center_types,
)
from skpr.datasets import load_carbon, load_ethanol, load_qm9  # noqa: E402

SOAP = dict(cutoff=3.5, max_radial=2, max_angular=2)
LODE = dict(smearing=1.0, max_radial=2, max_angular=2)


def periodic_salt(seed):
    """A rattled 8-atom NaCl cell: two species, periodic."""
    atoms = bulk("NaCl", "rocksalt", a=5.6, cubic=True)
    atoms.rattle(0.1, seed=seed)
    return atoms


@pytest.fixture(scope="module")
def datasets():
    qm9 = load_qm9().structures
    return {
        "ethanol": load_ethanol().structures[:3],
        # H, C, N, O: four species, molecules with and without nitrogen
        "qm9": [qm9[i] for i in (0, 1, 4, 9, 11)],
        "salt": [periodic_salt(seed) for seed in range(2)],
        "carbon": load_carbon().structures[:3],
    }


def scale_of(array):
    return np.abs(array).max()


def centre_numbers(structures):
    return np.concatenate([atoms.numbers for atoms in structures])


def dense(tensor, first_atom, n_atoms, column):
    """Dense per-atom rows of a featomic TensorMap, by explicit loops.

    ``column(key, property)`` gives the output column of one value (key and
    property as dicts of their dimensions).
    """
    entries = []
    for key, block in tensor.items():
        key = dict(zip(tensor.keys.names, key.values.tolist(), strict=True))
        names = block.properties.names
        for p, prop in enumerate(block.properties.values.tolist()):
            j = column(key, dict(zip(names, prop, strict=True)))
            for (system, atom), value in zip(
                block.samples.values.tolist(), block.values[:, p], strict=True
            ):
                entries.append((first_atom[system] + atom, j, value))
    result = np.zeros((n_atoms, max(j for _, j, _ in entries) + 1))
    for row, j, value in entries:
        result[row, j] = value
    return result


def first_atoms(structures):
    return np.concatenate([[0], np.cumsum([len(a) for a in structures])])


# --- SOAP: the power spectrum of the coefficients is featomic's --------------------


@pytest.mark.parametrize("name", ["ethanol", "qm9", "salt", "carbon"])
def test_power_spectrum_of_the_expansion_is_featomic_soap(name, datasets):
    structures = datasets[name]
    expansion = SphericalExpansion(**SOAP).fit(structures)
    coefficients, index = expansion.transform_local(structures)
    n_species = len(expansion.species_)
    X_local = power_spectrum(coefficients, n_species=n_species, max_angular=2)

    assert_same_invariants(
        X_local, index, structures, expansion.species_, SoapPowerSpectrum, SOAP
    )


def assert_same_invariants(X_local, index, structures, species, descriptor, hypers):
    """Per-atom invariants equal the descriptor's with shared columns, summed
    per structure its pooled rows, and with per-element columns its default."""
    shared = descriptor(**hypers, separate_center_types=False).fit(structures)
    expected, expected_index = shared.transform_local(structures)
    assert X_local.shape == expected.shape
    atol = 1e-12 * scale_of(expected)
    assert_allclose(X_local, expected, rtol=0, atol=atol)
    assert_array_equal(index, expected_index)
    assert_allclose(
        pool_structures(X_local, index), shared.transform(structures), rtol=0, atol=atol
    )
    separate = descriptor(**hypers).fit(structures)
    assert_allclose(
        separate_center_types(X_local, centre_numbers(structures), species=species),
        separate.transform_local(structures)[0],
        rtol=0,
        atol=atol,
    )


def test_radial_spectrum_of_the_expansion_is_featomic_soap_radial_spectrum(datasets):
    structures = datasets["qm9"]
    expansion = SphericalExpansion(**SOAP).fit(structures)
    coefficients, _ = expansion.transform_local(structures)
    species = expansion.species_.tolist()
    X_local = radial_spectrum(coefficients, n_species=len(species), max_angular=2)

    calculator = featomic.SoapRadialSpectrum(
        cutoff={"radius": 3.5, "smoothing": {"type": "ShiftedCosine", "width": 0.5}},
        density={"type": "Gaussian", "width": 0.3, "center_atom_weight": 1.0},
        basis={"radial": {"type": "Gto", "max_radial": 2}},
    )
    expected = dense(
        calculator.compute(structures),
        first_atoms(structures),
        len(X_local),
        lambda key, prop: 3 * species.index(key["neighbor_type"]) + prop["n"],
    )
    assert_allclose(X_local, expected, rtol=0, atol=1e-12 * scale_of(expected))
    assert_array_equal(X_local, coefficients[:, : len(species) * 3])


# --- LODE: the invariants of the coefficients are LodeDescriptor's ---------------


def test_radial_spectrum_of_the_lode_expansion_is_the_radial_lode(datasets):
    structures = datasets["salt"]
    expansion = LodeExpansion(**LODE).fit(structures)
    coefficients, index = expansion.transform_local(structures)
    X_local = radial_spectrum(coefficients, n_species=2, max_angular=2)
    assert_same_invariants(
        X_local, index, structures, expansion.species_, LodeDescriptor, LODE
    )


def test_power_spectrum_of_the_lode_expansion_is_the_lode_power_spectrum(datasets):
    structures = datasets["salt"]
    S, L, N = 2, 3, 3  # species, angular channels, radial functions
    coefficients, _ = LodeExpansion(**LODE).fit(structures).transform_local(structures)
    lode = LodeDescriptor(
        **LODE, invariant="power_spectrum", separate_center_types=False
    ).fit(structures)
    # featomic's columns (l, a, n1, b, n2) -> every ordered pair (a, b, l, n1, n2)
    featomic_local = lode.transform_local(structures)[0]
    n_atoms = len(featomic_local)
    full = featomic_local.reshape(n_atoms, L, S, N, S, N).transpose(0, 2, 4, 1, 3, 5)
    atol = 1e-12 * scale_of(featomic_local)

    both = power_spectrum(coefficients, coefficients, n_species=S, max_angular=2)
    assert_allclose(both.reshape(full.shape), full, rtol=0, atol=atol)

    # one expansion: pairs a <= b, with sqrt(2) for the pair (b, a) left out
    one = power_spectrum(coefficients, n_species=S, max_angular=2)
    expected = np.stack(
        [full[:, 0, 0], sqrt(2) * full[:, 0, 1], full[:, 1, 1]], axis=1
    ).reshape(n_atoms, -1)
    assert_allclose(one, expected, rtol=0, atol=atol)


def test_soap_times_lode_is_featomic_power_spectrum_of_two_calculators(datasets):
    structures = datasets["salt"]
    soap = SphericalExpansion(**SOAP).fit(structures)  # 3 radial functions
    lode = LodeExpansion(smearing=1.0, max_radial=1, max_angular=2).fit(structures)
    c_soap, _ = soap.transform_local(structures)
    c_lode, _ = lode.transform_local(structures)
    X_local = power_spectrum(c_soap, c_lode, n_species=2, max_angular=2)
    assert X_local.shape == (16, 4 * 3 * 3 * 2)

    calculator = FeatomicPowerSpectrum(
        featomic.SphericalExpansion(
            cutoff={
                "radius": 3.5,
                "smoothing": {"type": "ShiftedCosine", "width": 0.5},
            },
            density={"type": "Gaussian", "width": 0.3, "center_atom_weight": 1.0},
            basis={
                "type": "TensorProduct",
                "max_angular": 2,
                "radial": {"type": "Gto", "max_radial": 2},
            },
        ),
        featomic.LodeSphericalExpansion(
            density={"type": "SmearedPowerLaw", "smearing": 1.0, "exponent": 1},
            basis={
                "type": "TensorProduct",
                "max_angular": 2,
                "radial": {"type": "Gto", "max_radial": 1, "radius": 5.0},
            },
        ),
        neighbor_types=[11, 17],
    )
    species = [11, 17]

    def column(key, prop):  # (a, b, l, n1, n2), n2 fastest
        pair = 2 * species.index(prop["neighbor_1_type"]) + species.index(
            prop["neighbor_2_type"]
        )
        return ((pair * 3 + prop["l"]) * 3 + prop["n_1"]) * 2 + prop["n_2"]

    expected = dense(
        calculator.compute(structures), first_atoms(structures), 16, column
    )
    assert_allclose(X_local, expected, rtol=0, atol=1e-12 * scale_of(expected))


# --- rotations: coefficients turn with Wigner matrices, invariants do not --------


def wigner(rotation, angular):
    """Real Wigner matrix of order ``angular`` (0, 1 or 2) in featomic's m order.

    From real spherical harmonics written in Cartesian form, ``Y_l(R u) =
    D_l Y_l(u)``, solved on random directions ``u``.
    """
    directions = np.random.default_rng(0).normal(size=(20, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)

    def harmonics(u):
        x, y, z = u.T
        if angular == 0:
            return np.ones((len(u), 1))
        if angular == 1:
            return np.stack([y, z, x], axis=1)  # m = -1, 0, 1
        r3 = sqrt(3)
        return np.stack(
            [
                r3 * x * y,
                r3 * y * z,
                (3 * z**2 - 1) / 2,
                r3 * x * z,
                r3 / 2 * (x**2 - y**2),
            ],
            axis=1,
        )

    solution, *_ = np.linalg.lstsq(
        harmonics(directions), harmonics(directions @ rotation.T), rcond=None
    )
    return solution.T


def rotated(atoms, rotation):
    turned = atoms.copy()
    turned.positions = atoms.positions @ rotation.T
    if turned.pbc.all():
        turned.cell = atoms.cell.array @ rotation.T
    return turned


@pytest.mark.parametrize("name", ["spherical", "lode"])
def test_coefficients_are_covariant_and_invariants_invariant(name, datasets):
    if name == "spherical":
        expansion, structures = SphericalExpansion(**SOAP), datasets["ethanol"][:1]
    else:
        expansion, structures = LodeExpansion(**LODE), datasets["salt"][:1]
    expansion.fit(structures)
    S, N = len(expansion.species_), 3
    rotation = Rotation.random(random_state=np.random.default_rng(7)).as_matrix()
    coefficients, _ = expansion.transform_local(structures)
    turned, _ = expansion.transform_local([rotated(structures[0], rotation)])
    atol = 1e-10 * scale_of(coefficients)
    for angular in range(3):
        columns = slice(S * angular**2 * N, S * (angular + 1) ** 2 * N)
        shape = (-1, S, 2 * angular + 1, N)
        before = coefficients[:, columns].reshape(shape)
        after = turned[:, columns].reshape(shape)
        expected = np.einsum("mk,iakn->iamn", wigner(rotation, angular), before)
        assert_allclose(after, expected, rtol=0, atol=atol)
        if angular > 0:  # covariant, not invariant
            assert scale_of(after - before) > 1e3 * atol
    for invariant in (power_spectrum, radial_spectrum):
        expected = invariant(coefficients, n_species=S, max_angular=2)
        assert_allclose(
            invariant(turned, n_species=S, max_angular=2),
            expected,
            rtol=0,
            atol=1e-10 * scale_of(expected),
        )


# --- separate_center_types ------------------------------------------------------


def test_separate_center_types_puts_each_row_in_its_element_block():
    rng = np.random.default_rng(0)
    X_local = rng.normal(size=(6, 4))
    original = X_local.copy()
    types = np.array([8, 1, 1, 6, 8, 1])
    species = np.array([1, 6, 8])
    out = separate_center_types(X_local, types, species=species)
    expected = np.zeros((6, 12))
    for i, z in enumerate(types):
        s = int(np.flatnonzero(species == z)[0])
        expected[i, 4 * s : 4 * (s + 1)] = X_local[i]
    assert_array_equal(out, expected)
    # the blocks follow the order of species, which need not be sorted
    swapped = separate_center_types(X_local, types, species=[8, 1, 6])
    assert_array_equal(swapped[:, :4], expected[:, 8:])
    assert_array_equal(X_local, original)


# --- errors ---------------------------------------------------------------------


def test_invariant_errors(datasets):
    structures = datasets["ethanol"][:1]
    coefficients, _ = (
        SphericalExpansion(**SOAP).fit(structures).transform_local(structures)
    )  # 3 species x 9 (l, m) x 3 n = 81 columns
    with pytest.raises(
        ValueError,
        match=r"coefficients has 81 columns, which is not a multiple of n_species "
        r"\* \(max_angular \+ 1\)\*\*2 = 18 .*n_species=len\(expansion.species_\)",
    ):
        power_spectrum(coefficients, n_species=2, max_angular=2)
    with pytest.raises(ValueError, match="coefficients has 81 columns"):
        radial_spectrum(coefficients, n_species=3, max_angular=3)
    with pytest.raises(ValueError, match="coefficients_2 has 80 columns"):
        power_spectrum(coefficients, coefficients[:, :80], n_species=3, max_angular=2)
    with pytest.raises(ValueError, match="coefficients has 9 rows but coefficients_2"):
        power_spectrum(coefficients, coefficients[:3], n_species=3, max_angular=2)
    with pytest.raises(ValueError, match="n_species == 0, must be >= 1"):
        power_spectrum(coefficients, n_species=0, max_angular=2)
    with pytest.raises(TypeError, match="max_angular must be an instance of"):
        radial_spectrum(coefficients, n_species=3, max_angular=2.0)
    with pytest.raises(ValueError, match="Input coefficients contains NaN"):
        power_spectrum(np.full((2, 81), np.nan), n_species=3, max_angular=2)


def test_separate_center_types_errors():
    X_local = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"one atomic number per row of X_local \(3\)"):
        separate_center_types(X_local, [1, 8], species=[1, 8])
    with pytest.raises(ValueError, match=r"atomic numbers \[6\] that are not in"):
        separate_center_types(X_local, [1, 6, 8], species=[1, 8])
    with pytest.raises(ValueError, match="distinct atomic numbers, got \\[1, 1\\]"):
        separate_center_types(X_local, [1, 1, 1], species=[1, 1])
    with pytest.raises(ValueError, match="non-empty"):
        separate_center_types(X_local, [1, 1, 1], species=[])
