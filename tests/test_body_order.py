"""Body-ordered invariants, against brute-force sums over neighbour tuples.

The one-particle coefficients of every (centre, neighbour) pair, summed over
the neighbours, are featomic's own density expansion.  From those pair rows
the self-interacting invariants are a brute-force sum over all ``nu``-tuples
of neighbours (``itertools.product``) and the purified ones over tuples of
pairwise distinct neighbours (``itertools.permutations``), both contracted
with the same coupling; the order-2 self-interacting block spans featomic's
SOAP power spectrum.  Invariance under rotations, reflections, translations
and permutations of the atoms is checked on the rows themselves.
"""

import itertools
import pickle

import numpy as np
import pytest

pytest.importorskip("ase")
featomic = pytest.importorskip("featomic")

from ase import Atoms  # noqa: E402
from ase.build import bulk  # noqa: E402
from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from scipy.spatial.transform import Rotation  # noqa: E402
from sklearn.base import clone  # noqa: E402

from skpr import BlockRidge, pool_structures  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    BodyOrderFeatures,
    SoapPowerSpectrum,
    SphericalExpansion,
    _featomic,  # noqa: E402
)
from skpr.datasets import load_silicon_clusters  # noqa: E402

#: Small bases: every order present, brute force over tuples stays cheap.
SMALL = dict(cutoff=4.0, max_order=4, max_radial=(2, 1, 1, 0), max_angular=(0, 2, 1, 1))


def cluster(symbols, seed):
    """A compact random cluster: atoms 1.9 to 3.3 Å apart, all inside the cutoff
    (4 Å, smooth from 3.5 Å) of each other."""
    rng = np.random.default_rng(seed)
    positions, failures = [np.zeros(3)], 0
    while len(positions) < len(Atoms(symbols)):
        trial = rng.uniform(-1.7, 1.7, size=3)
        distances = np.linalg.norm(np.asarray(positions) - trial, axis=1)
        if distances.min() > 1.9 and distances.max() < 3.3:
            positions.append(trial)
        elif (failures := failures + 1) % 1000 == 0:  # a dead end: start again
            positions = [np.zeros(3)]
    return Atoms(symbols, positions=positions)


@pytest.fixture(scope="module")
def clusters():
    return [
        cluster("Si2", 0),
        cluster("Si3", 1),
        cluster("Si4", 2),
        cluster("Si5", 3),
        cluster("SiC2Si", 4),
        cluster("CSi", 5),
    ]


@pytest.fixture(scope="module")
def pentamers():
    data = load_silicon_clusters()
    return [
        atoms
        for atoms, kind in zip(data.structures, data.kind, strict=True)
        if kind == "pentamer"
    ][:24]


def scale_of(array):
    return np.abs(array).max()


def pair_rows(features, atoms):
    """The per-pair one-particle coefficients of one structure, by centre."""
    n_radial, n_angular = features._dimensions()
    n_columns = len(features.species_) * n_angular**2 * n_radial
    pairs, center = features._pairs(
        featomic.SphericalExpansionByPair(**features._hypers()),
        [atoms],
        np.array([0, len(atoms)]),
        n_columns,
        n_radial,
        n_angular,
    )
    return [pairs[center == i] for i in range(len(atoms))]


def brute_force(features, atoms, *, purify):
    """Invariants of every atom by explicit sums over neighbour tuples."""
    per_centre = pair_rows(features, atoms)
    numbers = atoms.numbers
    slot = {int(z): a for a, z in enumerate(features.species_)}
    blocks = []
    for basis in features._bases():
        width = basis.n_invariants
        block = np.zeros((len(atoms), len(features.species_) * width))
        for i, rows in enumerate(per_centre):
            tuples = (
                itertools.permutations(range(len(rows)), basis.nu)
                if purify
                else itertools.product(range(len(rows)), repeat=basis.nu)
            )
            products = np.zeros(len(basis.indices))
            for neighbours in tuples:
                term = np.ones(len(basis.indices))
                for k, j in enumerate(neighbours):
                    term = term * rows[j][basis.indices[:, k]]
                products += term
            start = slot[int(numbers[i])] * width
            block[i, start : start + width] = basis.coupling.T @ products
        blocks.append(block)
    return np.hstack(blocks)


# --- the pair coefficients are featomic's density -------------------------------


def test_pair_coefficients_sum_to_featomic_density(clusters):
    features = BodyOrderFeatures(**SMALL).fit(clusters)
    expansion = SphericalExpansion(
        cutoff=4.0, max_radial=2, max_angular=2, center_atom_weight=0.0
    ).fit(clusters)
    n_radial, n_angular = features._dimensions()
    species = expansion.species_.tolist()
    S = len(species)
    # the expansion's (l, a, m, n) columns in the pair rows' (a, l, m, n) layout
    order = [
        ((a * n_angular**2) + ell * ell + ell + m) * n_radial + n
        for ell in range(n_angular)
        for a in range(S)
        for m in range(-ell, ell + 1)
        for n in range(n_radial)
    ]
    for atoms in clusters:
        density = np.array([rows.sum(axis=0) for rows in pair_rows(features, atoms)])
        expected = expansion.transform_local([atoms])[0]
        assert_allclose(
            density[:, order], expected, rtol=0, atol=1e-12 * scale_of(expected)
        )


# --- self-interacting and purified sums, against brute force ----------------------


@pytest.mark.parametrize("purify", [False, True])
@pytest.mark.parametrize("radial_basis", ["gto", "monomials"])
def test_invariants_are_sums_over_neighbour_tuples(clusters, purify, radial_basis):
    cutoff_width = 0.5 if radial_basis == "gto" else 0.0
    features = BodyOrderFeatures(
        **SMALL, purify=purify, radial_basis=radial_basis, cutoff_width=cutoff_width
    ).fit(clusters)
    X_local, index = features.transform_local(clusters)
    expected = np.vstack(
        [brute_force(features, atoms, purify=purify) for atoms in clusters]
    )
    assert (
        X_local.shape == expected.shape == (sum(map(len, clusters)), X_local.shape[1])
    )
    assert_allclose(X_local, expected, rtol=0, atol=1e-12 * scale_of(expected))
    assert_allclose(
        features.transform(clusters),
        pool_structures(expected, index),
        rtol=0,
        atol=1e-12 * scale_of(expected),
    )


def test_purified_order_vanishes_below_nu_neighbours_and_self_interacting_does_not(
    clusters,
):
    purified = BodyOrderFeatures(**SMALL).fit(clusters)
    interacting = BodyOrderFeatures(**SMALL, purify=False).fit(clusters)
    widths = np.cumsum([0, *purified.n_features_per_order_])
    for atoms in clusters[:4]:  # Si2 .. Si5: every centre has len - 1 neighbours
        P = purified.transform_local([atoms])[0]
        S = interacting.transform_local([atoms])[0]
        for nu in range(1, 5):
            block = slice(widths[nu - 1], widths[nu])
            scale = scale_of(S[:, block])  # the same order, self-interacting
            if nu > len(atoms) - 1:
                assert scale_of(P[:, block]) < 1e-10 * scale
            else:
                assert scale_of(P[:, block]) > 1e-2 * scale
        # order 1 is a sum over single neighbours: both forms agree
        order_one = S[:, : widths[1]]
        assert_allclose(
            P[:, : widths[1]], order_one, rtol=0, atol=1e-13 * scale_of(order_one)
        )


def test_order_two_self_interacting_spans_the_soap_power_spectrum(pentamers):
    features = BodyOrderFeatures(
        cutoff=4.0, max_order=2, max_radial=2, max_angular=2, purify=False
    ).fit(pentamers)
    soap = SoapPowerSpectrum(
        cutoff=4.0, max_radial=2, max_angular=2, center_atom_weight=0.0
    ).fit(pentamers)
    ours = features.transform_local(pentamers)[0][
        :, features.n_features_per_order_[0] :
    ]
    theirs = soap.transform_local(pentamers)[0]
    assert len(ours) > 5 * ours.shape[1]
    for a, b in ((ours, theirs), (theirs, ours)):
        coefficients, *_ = np.linalg.lstsq(a, b, rcond=None)
        assert scale_of(a @ coefficients - b) < 1e-10 * scale_of(b)
    assert np.linalg.matrix_rank(ours) == ours.shape[1]  # no redundant invariant


# --- symmetries ---------------------------------------------------------------------


@pytest.mark.parametrize("purify", [False, True])
def test_invariant_under_rotation_reflection_translation_and_permutation(purify):
    atoms = cluster("Si3CSi", 8)
    features = BodyOrderFeatures(**SMALL, purify=purify).fit([atoms])
    X = features.transform_local([atoms])[0]
    atol = 1e-10 * scale_of(X)
    rng = np.random.default_rng(3)
    rotation = Rotation.random(random_state=rng).as_matrix()
    mirror = np.diag([1.0, -1.0, 1.0])
    for matrix in (rotation, mirror, -np.eye(3), rotation @ mirror):
        moved = atoms.copy()
        moved.positions = atoms.positions @ matrix.T + rng.normal(size=3)
        assert_allclose(features.transform_local([moved])[0], X, rtol=0, atol=atol)
    permutation = rng.permutation(len(atoms))
    shuffled = atoms[permutation]
    assert_allclose(
        features.transform_local([shuffled])[0], X[permutation], rtol=0, atol=atol
    )
    # and not invariant under moving one atom
    bent = atoms.copy()
    bent.positions[1] += [0.2, -0.1, 0.1]
    assert scale_of(features.transform_local([bent])[0] - X) > 1e3 * atol


def test_periodic_cell_rows_are_translation_and_image_invariant():
    cell = bulk("Si", "diamond", a=5.43, cubic=True)
    cell.rattle(0.05, seed=1)
    features = BodyOrderFeatures(**SMALL).fit([cell])
    X = features.transform([cell])
    shifted = cell.copy()
    shifted.positions += [0.7, -0.3, 1.1]
    shifted.wrap()
    twice = cell.repeat((2, 1, 1))
    atol = 1e-10 * scale_of(X)
    assert_allclose(features.transform([shifted]), X, rtol=0, atol=atol)
    assert_allclose(features.transform([twice]), 2 * X, rtol=0, atol=atol)


# --- rows, names, pipeline ----------------------------------------------------------


def test_rows_alone_in_a_batch_and_per_call_agree(clusters, monkeypatch):
    features = BodyOrderFeatures(**SMALL).fit(clusters)
    batch = features.transform_local(clusters)[0]
    start = 0
    for atoms in clusters:
        alone = features.transform_local([atoms])[0]
        assert_allclose(alone, batch[start : start + len(atoms)], rtol=0, atol=1e-14)
        start += len(atoms)
    monkeypatch.setattr(_featomic, "STRUCTURES_PER_CALL", 2)
    assert_allclose(features.transform_local(clusters)[0], batch, rtol=0, atol=1e-14)
    mean = clone(features).set_params(pooling="mean").fit(clusters)
    sizes = np.array([len(atoms) for atoms in clusters])[:, None]
    assert_allclose(
        mean.transform(clusters) * sizes, features.transform(clusters), atol=1e-13
    )


def test_elements_get_their_own_columns_and_names_make_one_block_per_order(clusters):
    features = BodyOrderFeatures(**SMALL).fit(clusters)
    assert features.species_.tolist() == [6, 14]
    names = features.get_feature_names_out()
    assert len(names) == sum(features.n_features_per_order_)
    assert len(set(names)) == len(names)
    X_local = features.transform_local(clusters)[0]
    numbers = np.concatenate([atoms.numbers for atoms in clusters])
    centre = np.array([name.split("__")[1].split("|")[0] for name in names])
    for z, symbol in ((6, "C"), (14, "Si")):
        assert not X_local[numbers == z][:, centre != symbol].any()
        assert X_local[numbers == z][:, centre == symbol].any()
    X = features.set_output(transform="pandas").transform(clusters)
    y = np.arange(len(clusters), dtype=float)
    model = BlockRidge(alpha=1e-3, blocks="names").fit(X, y)
    assert list(model.block_names_) == ["nu1", "nu2", "nu3", "nu4"]
    assert model.component_rigidity(X).shape == (len(clusters), 4)


def test_pickle_clone_and_no_mutation(clusters):
    before = [atoms.copy() for atoms in clusters]
    features = BodyOrderFeatures(**SMALL).fit(clusters)
    X = features.transform(clusters)
    restored = pickle.loads(pickle.dumps(features))
    assert_array_equal(restored.transform(clusters), X)
    assert_array_equal(
        restored.get_feature_names_out(), features.get_feature_names_out()
    )
    assert_array_equal(clone(features).fit(clusters).transform(clusters), X)
    for atoms, original in zip(clusters, before, strict=True):
        assert atoms == original
        assert_array_equal(atoms.positions, original.positions)


def test_monomials_with_a_hard_cutoff_are_finite(clusters):
    # featomic's slope of r^0 at r = 0 is 0 * 0^-1; the spline must still build
    features = BodyOrderFeatures(
        **SMALL, radial_basis="monomials", cutoff_width=0.0
    ).fit(clusters)
    X = features.transform(clusters)
    assert np.isfinite(X).all() and scale_of(X) > 0


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(max_order=0), "max_order"),
        (dict(max_order=5), "max_order"),
        (dict(max_order=3, max_radial=(2, 1)), "one per order"),
        (dict(max_radial="many"), "max_radial must be"),
        (dict(max_angular=(2, -1, 0, 0)), "max_angular"),
        (dict(purify="yes"), "purify must be"),
        (dict(radial_basis="bessel"), "radial_basis"),
        (dict(cutoff_width=4.0), "smaller than cutoff"),
        (dict(cutoff=-1.0), "cutoff"),
    ],
)
def test_parameter_errors(params, message, clusters):
    with pytest.raises(ValueError, match=message):
        BodyOrderFeatures(**params).fit(clusters)


def test_no_force_rows_yet(clusters):
    features = BodyOrderFeatures(**SMALL).fit(clusters)
    with pytest.raises(NotImplementedError, match="no position gradients"):
        features.transform_gradients(clusters)


def test_unknown_element_is_refused(clusters):
    features = BodyOrderFeatures(**SMALL).fit(clusters[:4])
    with pytest.raises(ValueError, match="C"):
        features.transform(clusters[4:])
