"""Constructions around the least rigid atom, and their LPR enhancement.

Against the original structure's geometry and features (minimum image),
ASE's own neighbour search, and refits of the model with the constructions
added.
"""

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

from ase.build import bulk  # noqa: E402
from ase.neighborlist import neighbor_list  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

from skpr import BlockRidge  # noqa: E402
from skpr.atomistic import (  # noqa: E402
    EnergyForceRegressor,
    SoapPowerSpectrum,
    carve_cluster,
    high_symmetry_embedding,
    least_rigid_atoms,
    lpr_enhancement,
    periodic_embedding,
    transform_local,
)
from skpr.atomistic._structures import close_pairs  # noqa: E402
from skpr.datasets import load_carbon_surfaces  # noqa: E402

CUTOFF = 3.0


def model():
    return EnergyForceRegressor(
        SoapPowerSpectrum(cutoff=CUTOFF, max_radial=3, max_angular=2),
        BlockRidge(alpha=1e-3),
        force_weight=0,
    )


@pytest.fixture(scope="module")
def carbon():
    data = load_carbon_surfaces()
    bulk_cells = [
        s for s, k in zip(data.structures, data.kind, strict=True) if k == "bulk"
    ]
    energies = data.energy[data.kind == "bulk"]
    return bulk_cells[:30], energies[:30], bulk_cells[300].repeat(2)


@pytest.fixture(scope="module")
def fitted(carbon):
    train, energies, _ = carbon
    return model().fit(train, energies)


def environment_vectors(atoms, center):
    """Vectors from the centre to every atom within the cutoff (ASE's search)."""
    i, D = neighbor_list("iD", atoms, CUTOFF)
    vectors = D[i == center]
    return vectors[np.lexsort(vectors.T)]


def straddling_center(structure):
    """An atom within 1 Å of a cell face: its environment crosses the boundary."""
    fractional = structure.get_scaled_positions()
    widths = np.diag(structure.cell)
    near = np.min(np.minimum(fractional, 1 - fractional) * widths, axis=1)
    return int(np.argmin(near))


def constructions(structure, center, **kwargs):
    return {
        "cluster": [carve_cluster(structure, center, CUTOFF)],
        "periodic": periodic_embedding(structure, center, CUTOFF, n_copies=3, **kwargs),
        "high_symmetry": high_symmetry_embedding(
            structure, center, CUTOFF, n_copies=3, **kwargs
        ),
    }


def test_constructions_keep_the_environment_and_its_features(carbon, fitted):
    _, _, structure = carbon
    X_original, _ = transform_local(fitted.descriptor_, [structure])
    for center in (0, straddling_center(structure)):
        original = environment_vectors(structure, center)
        for name, made in constructions(structure, center, seed=3).items():
            for atoms in made:
                assert atoms.info["construction"] == name
                kept = environment_vectors(atoms, 0)
                assert kept.shape == original.shape, name
                assert_allclose(kept, original, atol=1e-10)
                X, _ = transform_local(fitted.descriptor_, [atoms])
                assert_allclose(X[0], X_original[center], rtol=1e-10, atol=1e-12)
                assert atoms.arrays["environment"].sum() == len(original) + 1


def test_close_contacts_buffer_atoms_and_seeds(carbon):
    _, _, structure = carbon
    center = straddling_center(structure)
    assert not len(close_pairs(structure, 1.0))
    for name in ("periodic", "high_symmetry"):
        build = periodic_embedding if name == "periodic" else high_symmetry_embedding
        still = build(structure, center, CUTOFF, rattle=0.0)[0]
        copies = build(structure, center, CUTOFF, n_copies=4, seed=7)
        again = build(structure, center, CUTOFF, n_copies=4, seed=7)
        other = build(structure, center, CUTOFF, n_copies=1, seed=8)[0]
        fixed = still.arrays["fixed"]
        assert fixed.any() and (~fixed).any()
        for atoms, twin in zip(copies, again, strict=True):
            assert not len(close_pairs(atoms, 1.0)), name  # the 1 Å rule
            assert atoms.pbc.all()
            assert_allclose(atoms.positions, twin.positions)  # same seed
            assert_allclose(atoms.positions[fixed], still.positions[fixed])
            moved = np.linalg.norm(
                atoms.positions[~fixed] - still.positions[~fixed], axis=1
            )
            assert np.all(moved > 0)  # buffer atoms, and only they, move
            assert 0.05 < np.sqrt(np.mean(moved**2) / 3) < 0.5  # sigma 0.2 Å
        assert not np.allclose(copies[0].positions[~fixed], other.positions[~fixed])
        assert not np.allclose(copies[0].positions[~fixed], copies[1].positions[~fixed])
    # the periodic cell is the cube around the sphere, enlarged by the rule
    cube = periodic_embedding(structure, center, CUTOFF, rattle=0.0)[0]
    assert np.allclose(cube.cell, np.eye(3) * cube.cell[0, 0])
    assert cube.cell[0, 0] >= 2 * CUTOFF
    smaller = cube.copy()
    smaller.set_cell(cube.cell - np.eye(3) * 0.05, scale_atoms=False)
    crossing = close_pairs(smaller, 1.0)
    assert len(crossing)  # one step smaller breaks the rule: the cell is tight


def test_high_symmetry_embedding_holds_an_intact_host_environment(carbon):
    _, _, structure = carbon
    host = bulk("C", "diamond", a=3.567, cubic=True)
    (atoms,) = high_symmetry_embedding(structure, 5, CUTOFF, rattle=0.0)
    h = atoms.info["host_center"]
    crystal = host.repeat(atoms.info["host_repeat"])
    assert_allclose(
        environment_vectors(atoms, h), environment_vectors(crystal, 0), atol=1e-10
    )
    # the smallest such supercell: one repeat fewer cannot hold both
    from skpr.atomistic._constructions import (
        _embed,
        _environment,
        _intact_host_environment,
    )

    indices, vectors = _environment(structure, 5, CUTOFF)
    smaller = host.repeat(atoms.info["host_repeat"] - 1)
    embedded = _embed(smaller, structure.numbers[indices], vectors, CUTOFF, 1.0)
    assert (
        embedded is None
        or _intact_host_environment(
            *embedded[:1], smaller, embedded[1], len(indices), CUTOFF
        )
        is None
    )


def test_least_rigid_atoms_are_the_lowest_lpr(carbon, fitted):
    _, _, structure = carbon
    lowest = least_rigid_atoms(fitted, structure, k=5)
    every = fitted.local_rigidity([structure])
    assert_allclose(np.sort(every)[:5], lowest.rigidity)
    assert_allclose(every[lowest.index], lowest.rigidity)
    assert_allclose(lowest.positions, structure.positions[lowest.index])


def test_enhancements_equal_refits(carbon, fitted):
    train, energies, structure = carbon
    center = straddling_center(structure)
    result = lpr_enhancement(fitted, structure, center, n_added=3, seed=1)
    X_local, _ = transform_local(fitted.descriptor_, [structure])
    before = fitted.regressor_.local_rigidity(X_local[center : center + 1])[0]
    assert_allclose(result.rigidity, before)
    for strategy, structures in result.structures.items():
        first = 2 if strategy == "high_symmetry" else 1
        for m in (0, 2):
            added = structures[: m + first]
            # rigidities do not depend on the targets: any energies will do
            noise = np.random.default_rng(m).normal(size=len(added))
            refit = model().fit(train + added, np.concatenate([energies, noise]))
            after = refit.regressor_.local_rigidity(X_local[center : center + 1])[0]
            assert_allclose(
                result.enhancement[strategy][m], after / before - 1, rtol=1e-7
            )
    # several rattled copies resolve more than one (the paper's Fig. 5c)
    assert result.enhancement["periodic"][2] > result.enhancement["periodic"][0]


def test_bad_input_is_refused(carbon, fitted):
    _, _, structure = carbon
    with pytest.raises(IndexError, match="is not an atom of the structure"):
        carve_cluster(structure, len(structure), CUTOFF)
    with pytest.raises(ValueError, match="larger than half the cell"):
        periodic_embedding(structure, 0, 0.6 * structure.cell[0, 0])
    with pytest.raises(ValueError, match="does not know"):
        lpr_enhancement(fitted, structure, 0, host=bulk("Si", "diamond", a=5.43))
    with pytest.raises(ValueError, match="k must be an integer"):
        least_rigid_atoms(fitted, structure, k=0)
    with pytest.raises(TypeError, match="EnergyForceRegressor"):
        least_rigid_atoms(BlockRidge(), structure)
    with pytest.raises(ValueError, match="rattle must be"):
        periodic_embedding(structure, 0, CUTOFF, rattle=-1.0)
