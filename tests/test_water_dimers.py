"""The water dimer data set: its generator, its geometry and its energies.

The energies are checked against GFN2-xTB recomputed here with tblite, and
the geometric promises (bond lengths, angles, intermolecular distances, O-O
distances) against distances computed from the positions.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

pytest.importorskip("ase")

from skpr.datasets import load_water_dimers  # noqa: E402
from skpr.datasets.generators import water_dimers as generator  # noqa: E402


@pytest.fixture(scope="module")
def water():
    return load_water_dimers()


def test_geometry_is_as_described(water):
    dimers = np.flatnonzero(water.kind == "dimer")
    monomers = np.flatnonzero(water.kind == "monomer")
    assert len(dimers) == 200 and len(monomers) == 100
    assert dimers.max() < monomers.min()  # dimers first
    low, high = generator.OO_RANGE
    for i in dimers:
        atoms = water.structures[i]
        assert atoms.get_chemical_symbols() == ["O", "H", "H"] * 2
        assert not atoms.pbc.any()
        p = atoms.positions
        assert_allclose(np.linalg.norm(p[3] - p[0]), water.oo_distance[i], atol=1e-12)
        assert low <= water.oo_distance[i] <= high
        between = np.linalg.norm(p[:3, None] - p[None, 3:], axis=-1)
        assert between.min() >= generator.MIN_INTERMOLECULAR
    assert np.all(np.diff(water.oo_distance[dimers]) >= 0)
    assert np.isnan(water.oo_distance[monomers]).all()
    spread = 3 * generator.BOND_SPREAD + 1e-8
    for i in monomers:
        p = water.structures[i].positions
        bonds = np.linalg.norm(p[1:] - p[0], axis=1)
        assert np.all(np.abs(bonds - generator.BOND) <= spread)
        cosine = (p[1] - p[0]) @ (p[2] - p[0]) / bonds.prod()
        angle = np.degrees(np.arccos(cosine))
        assert abs(angle - generator.ANGLE) <= 3 * generator.ANGLE_SPREAD + 1e-6


def test_energies_are_gfn2_xtb_of_the_positions(water):
    pytest.importorskip("tblite")
    from ase import Atoms

    for i in (0, 100, 199, 200, 299):
        atoms = water.structures[i]
        fresh = Atoms(atoms.symbols, positions=atoms.positions)
        fresh.calc = generator.xtb_calculator()
        assert_allclose(fresh.get_potential_energy(), water.energy[i], rtol=1e-9)
        assert_allclose(fresh.get_forces(), water.forces[i], atol=1e-7, rtol=0)
        if water.kind[i] == "dimer":
            alone = []
            for part in (slice(0, 3), slice(3, 6)):
                molecule = Atoms("OH2", positions=atoms.positions[part])
                molecule.calc = generator.xtb_calculator()
                alone.append(molecule.get_potential_energy())
            assert_allclose(
                water.interaction_energy[i], water.energy[i] - sum(alone), atol=1e-7
            )


def test_interaction_energy_is_long_range_and_decays(water):
    dimers = water.kind == "dimer"
    interaction = np.abs(water.interaction_energy[dimers])
    distance = water.oo_distance[dimers]
    near, far = interaction[distance < 4.0], interaction[distance > 8.0]
    assert np.median(near) > 10 * np.median(far) > 0
    assert np.isnan(water.interaction_energy[~dimers]).all()


def test_generator_writes_the_shipped_file_again(water, tmp_path):
    pytest.importorskip("tblite")
    path = tmp_path / "water.xyz"
    assert generator.main(["--output", str(path)]) == 0
    import ase.io

    made = ase.io.read(path, index=":")
    assert len(made) == len(water.structures)
    for atoms, shipped in zip(made, water.structures, strict=True):
        assert_array_equal(atoms.positions, shipped.positions)
        assert atoms.info["kind"] == shipped.info["kind"]
    energies = [atoms.get_potential_energy() for atoms in made]
    assert_allclose(energies, water.energy, rtol=1e-10)


def test_generator_errors(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown kinds"):
        generator.make_water_dimers(counts={"trimer": 1})
    with pytest.raises(ValueError, match="non-negative int"):
        generator.make_water_dimers(counts={"dimer": -1})
    with pytest.raises(SystemExit):
        generator.main(["--output", str(tmp_path / "missing" / "x.xyz")])
    assert "does not exist" in capsys.readouterr().err
