"""The structure transformers of skpr.atomistic against independent computations.

Central finite differences for the position gradients, manual loops for the
pooling, batch, chunk, pickle and rotation invariances, the column layout
fixed by the species list, and every refusal: structures featomic cannot
describe (non-finite coordinates, coincident atoms, cells without k-vectors)
and hyperparameters it cannot compute with.  Small hypers and a few small
structures keep the file fast.
"""

import pickle

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

import pandas as pd  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.build import bulk, molecule  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import FeatureUnion, make_union  # noqa: E402
from sklearn.utils import get_tags  # noqa: E402

from skpr import BlockRidge, pool_structures  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    CompositionFeatures,
    LodeDescriptor,
    LodeExpansion,
    SoapPowerSpectrum,
    SphericalExpansion,
    _featomic,
    transform_gradients,
)
from skpr.datasets import load_ethanol  # noqa: E402


@pytest.fixture(scope="module")
def ethanol():
    return load_ethanol()


def small_soap(**params):
    return SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2, **params)


def small_lode(invariant, **params):
    return LodeDescriptor(
        smearing=1.0, max_radial=2, max_angular=2, invariant=invariant, **params
    )


def periodic_salt(seed):
    """A rattled 8-atom NaCl cell: two species, periodic."""
    atoms = bulk("NaCl", "rocksalt", a=5.6, cubic=True)
    atoms.rattle(0.1, seed=seed)
    return atoms


DESCRIPTORS = {
    "soap": (lambda: small_soap(), "ethanol"),
    "soap-shared-mean": (
        lambda: small_soap(separate_center_types=False, pooling="mean"),
        "ethanol",
    ),
    "lode-radial": (lambda: small_lode("radial"), "salt"),
    "lode-power-spectrum": (lambda: small_lode("power_spectrum"), "salt"),
    "spherical-expansion": (
        lambda: SphericalExpansion(cutoff=3.5, max_radial=2, max_angular=2),
        "ethanol",
    ),
    "lode-expansion": (
        lambda: LodeExpansion(max_radial=2, max_angular=2, pooling="mean"),
        "salt",
    ),
    "composition": (lambda: CompositionFeatures(), "ethanol"),
}
FEATOMIC = [name for name in DESCRIPTORS if name != "composition"]
INVARIANT = [name for name in FEATOMIC if "expansion" not in name]


def structures_for(kind, ethanol, n=3):
    if kind == "ethanol":
        return [atoms.copy() for atoms in ethanol.structures[:n]]
    return [periodic_salt(seed) for seed in range(n)]


@pytest.fixture(params=list(DESCRIPTORS))
def descriptor_case(request, ethanol):
    make, kind = DESCRIPTORS[request.param]
    structures = structures_for(kind, ethanol)
    return make().fit(structures), structures


# --- position gradients ------------------------------------------------------


def finite_difference_gradients(descriptor, structures, h=1e-4):
    """Central differences of the pooled rows, one coordinate at a time."""
    rows = []
    for atoms in structures:
        for a in range(len(atoms)):
            for k in range(3):
                plus, minus = atoms.copy(), atoms.copy()
                plus.positions[a, k] += h
                minus.positions[a, k] -= h
                difference = descriptor.transform([plus]) - descriptor.transform(
                    [minus]
                )
                rows.append(difference[0] / (2 * h))
    return np.array(rows)


@pytest.mark.parametrize("name", FEATOMIC)
def test_gradients_match_central_finite_differences(name, ethanol):
    make, kind = DESCRIPTORS[name]
    structures = structures_for(kind, ethanol, n=2)
    descriptor = make().fit(structures)
    gradients, index = descriptor.transform_gradients(structures)
    expected = finite_difference_gradients(descriptor, structures)
    n_atoms = sum(len(atoms) for atoms in structures)
    assert gradients.shape == (3 * n_atoms, len(descriptor.get_feature_names_out()))
    assert_array_equal(index, np.repeat([0, 1], [len(s) for s in structures]))
    scale = np.abs(expected).max()
    assert scale > 0
    assert_allclose(gradients, expected, rtol=0, atol=1e-6 * scale)


def test_composition_and_union_gradients(ethanol):
    structures = structures_for("ethanol", ethanol, n=2)
    soap = small_soap()
    union = make_union(soap, CompositionFeatures(), n_jobs=None)
    union.set_params(transformer_weights={"soappowerspectrum": 2.0})
    union.fit(structures)
    gradients, index = transform_gradients(union, structures)
    own, own_index = union.transformer_list[0][1].transform_gradients(structures)
    n_soap = own.shape[1]
    assert_allclose(gradients[:, :n_soap], 2.0 * own)
    assert_array_equal(gradients[:, n_soap:], 0.0)
    assert_array_equal(index, own_index)
    assert gradients.shape[1] == union.transform(structures).shape[1]


# --- pooling, batching, chunking, pickling, invariances ------------------------


def test_local_rows_sum_to_pooled_rows(descriptor_case):
    descriptor, structures = descriptor_case
    pooled = descriptor.transform(structures)
    X_local, index = descriptor.transform_local(structures)
    assert X_local.shape == (sum(map(len, structures)), pooled.shape[1])
    assert_allclose(
        pool_structures(X_local, index, pooling=descriptor.pooling), pooled, atol=1e-12
    )
    start = 0
    for A, atoms in enumerate(structures):
        rows = X_local[start : start + len(atoms)]
        manual = rows.sum(0) if descriptor.pooling == "sum" else rows.mean(0)
        assert_allclose(manual, pooled[A], atol=1e-12)
        assert_array_equal(index[start : start + len(atoms)], A)
        start += len(atoms)


def test_rows_do_not_depend_on_the_batch(descriptor_case):
    descriptor, structures = descriptor_case
    batch = descriptor.transform(structures)
    batch_local, _ = descriptor.transform_local(structures)
    batch_gradients, _ = descriptor.transform_gradients(structures)
    start = 0
    for A, atoms in enumerate(structures):
        assert_array_equal(descriptor.transform([atoms])[0], batch[A])
        alone_local, alone_index = descriptor.transform_local([atoms])
        assert_array_equal(alone_local, batch_local[start : start + len(atoms)])
        assert_array_equal(alone_index, 0)
        alone_gradients, _ = descriptor.transform_gradients([atoms])
        rows = slice(3 * start, 3 * (start + len(atoms)))
        assert_allclose(alone_gradients, batch_gradients[rows], rtol=0, atol=1e-14)
        start += len(atoms)


@pytest.mark.parametrize("name", ["soap", "lode-expansion"])
def test_rows_do_not_depend_on_the_structures_per_call(name, ethanol, monkeypatch):
    make, kind = DESCRIPTORS[name]
    structures = structures_for(kind, ethanol, n=5)
    descriptor = make().fit(structures)
    one_call = [
        descriptor.transform(structures),
        descriptor.transform_local(structures)[0],
        descriptor.transform_gradients(structures)[0],
    ]
    monkeypatch.setattr(_featomic, "STRUCTURES_PER_CALL", 2)  # calls of 2, 2, 1
    chunked = [
        descriptor.transform(structures),
        descriptor.transform_local(structures)[0],
        descriptor.transform_gradients(structures)[0],
    ]
    for expected, got in zip(one_call, chunked, strict=True):
        assert_allclose(got, expected, rtol=0, atol=1e-14)


def test_pickle_round_trip_gives_identical_rows(descriptor_case):
    descriptor, structures = descriptor_case
    restored = pickle.loads(pickle.dumps(descriptor))
    assert_array_equal(restored.transform(structures), descriptor.transform(structures))
    assert_array_equal(
        restored.transform_local(structures)[0],
        descriptor.transform_local(structures)[0],
    )
    assert_array_equal(restored.species_, descriptor.species_)
    assert_array_equal(
        restored.get_feature_names_out(), descriptor.get_feature_names_out()
    )
    assert_array_equal(
        clone(descriptor).fit(structures).transform(structures),
        descriptor.transform(structures),
    )


def test_transformers_leave_the_structures_alone(descriptor_case):
    descriptor, structures = descriptor_case
    before = [atoms.copy() for atoms in structures]
    descriptor.transform(structures)
    descriptor.transform_local(structures)
    descriptor.transform_gradients(structures)
    for original, atoms in zip(before, structures, strict=True):
        assert atoms == original  # numbers, positions, cell and pbc


@pytest.mark.parametrize("name", INVARIANT)
def test_descriptors_are_rotation_invariant(name, ethanol):
    make, kind = DESCRIPTORS[name]
    structures = structures_for(kind, ethanol, n=1)
    descriptor = make().fit(structures)
    rotation = Rotation.random(random_state=np.random.default_rng(3)).as_matrix()
    rotated = structures[0].copy()
    rotated.positions = rotated.positions @ rotation.T
    if rotated.pbc.all():
        rotated.cell = rotated.cell.array @ rotation.T
    expected = descriptor.transform(structures)
    assert_allclose(
        descriptor.transform([rotated]), expected, atol=1e-8 * np.abs(expected).max()
    )


def test_columns_are_fixed_by_the_species_list():
    water, methane = molecule("H2O"), molecule("CH4")
    soap = small_soap(species=["O", "C", "H"]).fit([water])
    assert_array_equal(soap.species_, [1, 6, 8])
    names = soap.get_feature_names_out()
    # 3 centres x 6 neighbour pairs x 3 l x 3 x 3 (n1, n2)
    assert len(names) == len(set(names)) == 3 * 6 * 27
    assert names[0] == "H|H,H|l=0|n=0,0"
    X_water, X_methane = soap.transform([water]), soap.transform([methane])
    assert X_water.shape == X_methane.shape == (1, len(names))
    # methane has no oxygen: every column naming O is zero
    oxygen = np.array(["O" in name for name in names])
    assert_array_equal(X_methane[0, oxygen], 0.0)
    assert np.any(X_water[0, oxygen] != 0)
    numbers = small_soap(species=[8, 6, 1]).fit([water])
    assert_array_equal(numbers.get_feature_names_out(), names)


def test_expansion_columns_follow_l_species_m_n():
    methanol = molecule("CH3OH")  # not planar: every m is populated
    expansion = SphericalExpansion(
        cutoff=3.0, max_radial=1, max_angular=1, species=["H", "C", "N", "O"]
    ).fit([methanol])
    expected = [
        f"l={angular}|{a}|m={m}|n={n}"
        for angular in range(2)
        for a in ("H", "C", "N", "O")
        for m in range(-angular, angular + 1)
        for n in range(2)
    ]
    assert expansion.get_feature_names_out().tolist() == expected
    coefficients, _ = expansion.transform_local([methanol])
    # methanol has no nitrogen: every column of the N density is zero
    nitrogen = np.array(["|N|" in name for name in expected])
    assert_array_equal(coefficients[:, nitrogen], 0.0)
    assert np.all(np.any(coefficients[:, ~nitrogen] != 0, axis=0))


def test_feature_union_gives_named_blocks(ethanol):
    structures = ethanol.structures[:4]
    union = FeatureUnion(
        [("soap", small_soap()), ("composition", CompositionFeatures())]
    ).set_output(transform="pandas")
    X = union.fit_transform(structures)
    assert isinstance(X, pd.DataFrame)
    assert list(X.columns[-3:]) == [
        "composition__H",
        "composition__C",
        "composition__O",
    ]
    assert X.columns[0] == "soap__H|H,H|l=0|n=0,0"
    model = BlockRidge(blocks="names").fit(X, ethanol.energy[:4])
    assert model.block_names_ == ("soap", "composition")


@pytest.mark.parametrize("name", list(DESCRIPTORS))
def test_tags_say_that_X_is_a_list_of_structures(name):
    tags = get_tags(DESCRIPTORS[name][0]())
    assert tags.input_tags.two_d_array is False
    assert tags.requires_fit is True


# --- defect: left-handed cells -------------------------------------------------


def left_handed(atoms):
    """The same periodic structure with the first cell vector negated."""
    flipped = atoms.copy()
    cell = atoms.cell.array.copy()
    cell[0] *= -1
    flipped.set_cell(cell)  # positions unchanged: the same lattice of images
    return flipped


@pytest.mark.parametrize("name", ["lode-radial", "lode-power-spectrum", "soap"])
def test_left_handed_cell_gives_the_features_of_the_right_handed_cell(name):
    make, _ = DESCRIPTORS[name]
    right = periodic_salt(4)
    left = left_handed(right)
    assert np.linalg.det(left.cell.array) < 0
    descriptor = make().fit([right])
    expected = descriptor.transform([right])
    assert_allclose(
        descriptor.transform([left]), expected, rtol=0, atol=1e-12 * abs(expected).max()
    )
    gradients, _ = descriptor.transform_gradients([right])
    assert_allclose(
        descriptor.transform_gradients([left])[0],
        gradients,
        rtol=0,
        atol=1e-12 * abs(gradients).max(),
    )
    # the caller's structure keeps its left-handed cell
    assert np.linalg.det(left.cell.array) < 0
    assert_array_equal(left.positions, right.positions)


def test_left_handed_cell_is_given_to_featomic_as_the_negated_cell():
    right = periodic_salt(0)
    assert _featomic.featomic_system(right) is right
    left = left_handed(right)
    system = _featomic.featomic_system(left)
    assert system is not left
    assert_array_equal(system.cell.array, -left.cell.array)
    assert_array_equal(system.positions, left.positions)
    assert_array_equal(system.numbers, left.numbers)


# --- defect: non-finite coordinates and coincident atoms ------------------------


def broken_water(kind):
    water = molecule("H2O")
    if kind == "nan":
        water.positions[0, 1] = np.nan
    elif kind == "inf":
        water.positions[0, 2] = -np.inf
    elif kind == "cell":
        water.cell = [[np.nan, 0, 0], [0, 10, 0], [0, 0, 10]]
    elif kind == "duplicate":
        water.positions[2] = water.positions[0] + 1e-5
    return water


REFUSALS = {
    "nan": r"Structure 1 \(H2O\) has NaN or infinite positions for atoms \[0\]",
    "inf": r"Structure 1 \(H2O\) has NaN or infinite positions for atoms \[0\]",
    "cell": r"Structure 1 \(H2O\) has a NaN or infinite cell",
    "duplicate": r"Structure 1 \(H2O\): atoms 0 and 2 are closer than 0.001 Å",
}


@pytest.mark.parametrize("name", ["soap", "spherical-expansion", "composition"])
@pytest.mark.parametrize("kind", list(REFUSALS))
def test_broken_coordinates_are_refused_by_every_transformer(name, kind):
    make, _ = DESCRIPTORS[name]
    structures = [molecule("H2O"), broken_water(kind)]
    with pytest.raises(ValueError, match=REFUSALS[kind]):
        make().fit(structures)
    descriptor = make().fit(structures[:1])
    for method in ("transform", "transform_local", "transform_gradients"):
        with pytest.raises(ValueError, match=REFUSALS[kind]):
            getattr(descriptor, method)(structures)


@pytest.mark.parametrize("name", ["lode-radial", "lode-expansion"])
def test_broken_periodic_coordinates_are_refused(name):
    make, _ = DESCRIPTORS[name]
    descriptor = make().fit([periodic_salt(0)])
    nan = periodic_salt(1)
    nan.positions[3] = np.nan
    with pytest.raises(ValueError, match=r"Structure 0 \(Cl4Na4\) has NaN .* \[3\]"):
        descriptor.transform([nan])
    infinite_cell = periodic_salt(1)
    infinite_cell.cell[2, 2] = np.inf
    with pytest.raises(ValueError, match="has a NaN or infinite cell"):
        descriptor.transform([infinite_cell])


def test_duplicates_across_the_periodic_boundary_are_refused():
    salt = periodic_salt(0)
    # atom 5 sits on the image of atom 2 one cell vector away
    salt.positions[5] = salt.positions[2] + salt.cell[0] + [0.0, 2e-4, 0.0]
    with pytest.raises(ValueError, match=r"atoms 2 and 5 are closer than 0.001 Å"):
        small_lode("radial").fit([salt])
    with pytest.raises(ValueError, match="counting periodic images"):
        small_soap().fit([salt])
    # the same displacement without periodicity is far from any atom
    molecule_like = salt.copy()
    molecule_like.pbc = False
    small_soap().fit([molecule_like])
    # and in a skewed cell, through a combination of cell vectors
    skewed = bulk("Si", "diamond", a=5.43)
    skewed.set_cell(skewed.cell.array + [[0, 0, 0], [0, 0, 0], [3 * 2.715, 0, 0]])
    skewed.positions[1] = skewed.positions[0] + 2 * skewed.cell[1] - skewed.cell[2]
    with pytest.raises(ValueError, match="atoms 0 and 1 are closer"):
        CompositionFeatures().fit([skewed])


def test_close_but_distinct_atoms_are_accepted():
    hydrogen = Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.3]])
    small_soap().fit([hydrogen]).transform_gradients([hydrogen])


# --- defect: hyperparameters featomic cannot compute with -----------------------

NON_FINITE = [
    (SoapPowerSpectrum, "cutoff", np.nan),
    (SoapPowerSpectrum, "cutoff", np.inf),
    (SoapPowerSpectrum, "atomic_gaussian_width", np.nan),
    (SphericalExpansion, "atomic_gaussian_width", np.inf),
    (SphericalExpansion, "cutoff_width", np.nan),
    (SoapPowerSpectrum, "center_atom_weight", np.inf),
    (LodeDescriptor, "smearing", np.nan),
    (LodeExpansion, "smearing", np.inf),
    (LodeDescriptor, "basis_radius", np.inf),
    (LodeExpansion, "k_cutoff", np.nan),
    (LodeDescriptor, "k_cutoff", np.inf),
]


@pytest.mark.parametrize(("cls", "param", "value"), NON_FINITE)
def test_non_finite_hyperparameters_are_refused_at_fit(cls, param, value):
    structures = [periodic_salt(0)]
    with pytest.raises(ValueError, match=f"{param} must be a finite number, got"):
        cls(**{param: value}).fit(structures)


@pytest.mark.parametrize(
    ("estimator", "message"),
    [
        (
            SoapPowerSpectrum(cutoff=3.0, atomic_gaussian_width=1e-3, max_radial=2),
            r"featomic cannot build SoapPowerSpectrum .*atomic_gaussian_width=0.001"
            r".*radial integral.*use a larger atomic_gaussian_width",
        ),
        (
            SphericalExpansion(cutoff=3.0, max_radial=40, max_angular=1),
            r"featomic cannot build SphericalExpansion .*singular.*smaller max_radial",
        ),
        (
            LodeDescriptor(smearing=0.01, max_radial=2),
            r"featomic cannot build LodeDescriptor .*spline.*use a larger smearing",
        ),
        (
            LodeExpansion(basis_radius=1e4, max_radial=2, max_angular=1),
            r"featomic cannot build LodeExpansion .*smaller basis_radius",
        ),
    ],
)
def test_hyperparameters_featomic_cannot_compute_are_refused_at_fit(estimator, message):
    with pytest.raises(ValueError, match=message):
        estimator.fit([periodic_salt(0)])


def test_lode_exponent_is_one_of_those_featomic_implements():
    with pytest.raises(ValueError, match="exponent == 10, must be <= 9"):
        small_lode("radial", exponent=10).fit([periodic_salt(0)])
    small_lode("radial", exponent=9).fit([periodic_salt(0)])


@pytest.mark.parametrize("cls", [LodeDescriptor, LodeExpansion])
def test_cells_without_k_vectors_are_refused(cls):
    salt = periodic_salt(0)  # shortest reciprocal vector 2 pi / 5.6 = 1.12 1/Å
    with pytest.raises(
        ValueError,
        match=r"no k-vectors for structure 0 \(Cl4Na4\).* 1.122 1/Å, not below the "
        r"cutoff 0.1 1/Å \(k_cutoff\)",
    ):
        cls(k_cutoff=0.1, max_radial=2).fit([salt])
    with pytest.raises(ValueError, match=r"0.0377 1/Å \(1.2 pi / smearing\)"):
        cls(smearing=100.0, max_radial=2).fit([salt])
    # k_cutoff 1.5 suits the cubic cell, not the primitive one (1.94 1/Å)
    lode = cls(k_cutoff=1.5, max_radial=2).fit([salt])
    primitive = bulk("NaCl", "rocksalt", a=5.6)
    with pytest.raises(ValueError, match=r"structure 1 \(ClNa\).* 1.943 1/Å"):
        lode.transform([salt, primitive])


# --- errors --------------------------------------------------------------------


def test_unseen_species_is_refused():
    train = [molecule("H2O"), molecule("CH4")]
    for transformer in (small_soap(), CompositionFeatures(), SphericalExpansion()):
        transformer.fit(train)
        with pytest.raises(ValueError, match=r"contains \['N'\].*did not see in fit"):
            transformer.transform([molecule("NH3")])
        with pytest.raises(ValueError, match="species="):
            transformer.transform_local([molecule("NH3")])
    lode = small_lode("radial").fit([periodic_salt(0)])
    potassium = periodic_salt(1)
    potassium.symbols[0] = "K"
    with pytest.raises(ValueError, match=r"contains \['K'\]"):
        lode.transform_gradients([potassium])


def test_input_errors():
    soap = small_soap()
    with pytest.raises(TypeError, match="got a single ase.Atoms"):
        soap.fit(molecule("H2O"))
    with pytest.raises(TypeError, match="item 1 is a ndarray"):
        soap.fit([molecule("H2O"), np.zeros(3)])
    with pytest.raises(ValueError, match="empty list"):
        soap.fit([])
    with pytest.raises(ValueError, match="Structure 0 has no atoms"):
        soap.fit([Atoms()])
    with pytest.raises(ValueError, match="pooling must be 'sum'"):
        small_soap(pooling="max").fit([molecule("H2O")])
    with pytest.raises(ValueError, match="pooling must be 'sum'"):
        SphericalExpansion(pooling="max").fit([molecule("H2O")])
    with pytest.raises(ValueError, match="cutoff_width .* must be smaller"):
        SoapPowerSpectrum(cutoff=1.0, cutoff_width=1.0).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="not a chemical symbol"):
        small_soap(species=["Xx"]).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="invariant must be"):
        small_lode("bispectrum").fit([periodic_salt(0)])
    with pytest.raises(ValueError, match="LodeDescriptor needs periodic structures"):
        small_lode("radial").fit([molecule("H2O")])
    with pytest.raises(ValueError, match="LodeExpansion needs periodic structures"):
        LodeExpansion().fit([molecule("H2O")])
    with pytest.raises(ValueError, match="exponent == 0, must be >= 1"):
        small_lode("radial", exponent=0).fit([periodic_salt(0)])
    with pytest.raises(TypeError, match="max_radial must be an instance of"):
        SoapPowerSpectrum(max_radial=2.5).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="max_angular == -1, must be >= 0"):
        LodeExpansion(max_angular=-1).fit([periodic_salt(0)])
    # NumPy integers are integers
    SoapPowerSpectrum(cutoff=3.0, max_radial=np.int64(1), max_angular=1).fit(
        [molecule("H2O")]
    )


def test_periodicity_errors():
    slab = periodic_salt(0)
    slab.pbc = [True, True, False]
    with pytest.raises(ValueError, match=r"pbc=\[True, True, False\]; featomic needs"):
        small_soap().fit([slab])
    flat = molecule("H2O")
    flat.pbc = True
    flat.cell = [[5.0, 0, 0], [0, 5.0, 0], [0, 0, 0]]
    with pytest.raises(ValueError, match="is periodic but its cell .* has no volume"):
        small_soap().fit([flat])


def test_species_and_composition_errors():
    with pytest.raises(TypeError, match="got int"):
        small_soap().fit(3)
    with pytest.raises(ValueError, match="symbols or atomic numbers, got 2.5"):
        CompositionFeatures(species=[1, 2.5]).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="species is empty"):
        CompositionFeatures(species=[]).fit([molecule("H2O")])
    with pytest.raises(ValueError, match="pooling must be 'sum' .counts."):
        CompositionFeatures(pooling="max").fit([molecule("H2O")])
    fractions = CompositionFeatures(pooling="mean").fit([molecule("H2O")])
    assert_allclose(fractions.transform([molecule("H2O")]), [[2 / 3, 1 / 3]])
