"""Tests for the generated carbon cells: shipped file, loader and generator.

The shipped file is checked against what its construction guarantees (16
carbon atoms in orthorhombic periodic cells, densities recomputed from the
cells and uniform over their documented ranges, slabs with their vacuum gap,
forces that sum to zero) and against physics: no cell below diamond, the
lowest-energy carbon of Tersoff's potential, and surfaces above dense bulk.
The energies and forces of a sample are recomputed with matscipy, and the
parameter set is checked to be Tersoff's carbon by its published diamond
(cohesive energy 7.37 eV at a = 3.566 Å).
"""

import re
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import kstest

from skpr._extras import install_command
from skpr.datasets import load_carbon_surfaces
from skpr.datasets.generators import carbon_surfaces as generator

ROOT = Path(__file__).resolve().parents[1]

COUNTS = {"bulk": 400, "surface": 100}
DENSITY_RANGES = {"bulk": (1.5, 3.5), "surface": (2.0, 3.2)}
N_ATOMS = 16

#: Tersoff's carbon, Phys. Rev. Lett. 61, 2879 (1988): diamond (eV/atom, Å).
DIAMOND_ENERGY, DIAMOND_LATTICE = -7.37, 3.566

#: Grams of one carbon atom (12.011 u, CODATA 2018 atomic mass constant).
CARBON_GRAMS = 12.011 * 1.66053906660e-24

quiet_matscipy = pytest.mark.filterwarnings(
    "ignore:'where' used without 'out':UserWarning"
)


@pytest.fixture(scope="module")
def carbon():
    pytest.importorskip("ase")
    return load_carbon_surfaces()


@pytest.fixture(scope="module")
def tersoff():
    """Tersoff carbon, built here from matscipy."""
    pytest.importorskip("matscipy")
    from matscipy.calculators.manybody import Manybody
    from matscipy.calculators.manybody.explicit_forms import TersoffBrenner
    from matscipy.calculators.manybody.explicit_forms.tersoff_brenner import (
        Tersoff_PRB_39_5566_Si_C as parameters,
    )

    assert parameters["el"][0] == "C"
    # the carbon-carbon entries (pair index 0) of Tersoff's carbon potential
    assert (parameters["r1"][0], parameters["r2"][0]) == (1.80, 2.10)
    return Manybody(**TersoffBrenner(parameters))


@pytest.fixture(scope="module")
def small():
    """A small set made by the generator, with seed 5."""
    pytest.importorskip("matscipy")
    return generator.make_carbon_surfaces(seed=5, counts={"bulk": 3, "surface": 2})


def _energy_and_forces(atoms, calculator):
    atoms = atoms.copy()
    atoms.calc = calculator
    return atoms.get_potential_energy(), atoms.get_forces()


def _lengths(atoms):
    cell = np.array(atoms.cell)
    assert_array_equal(cell, np.diag(np.diag(cell)))  # orthorhombic
    return np.diag(cell).copy()


def _slab_lengths(atoms):
    lengths = _lengths(atoms)
    if atoms.info["kind"] == "surface":
        lengths[2] -= atoms.info["vacuum"]
    return lengths


def _largest_z_gap(atoms):
    """The widest empty layer along ``z``, across the periodic boundary."""
    z = np.sort(atoms.positions[:, 2])
    return max(np.diff(z).max(), z[0] + _lengths(atoms)[2] - z[-1])


# ------------------------------------------------------------------ shipped file


def test_counts_kinds_shapes_and_units(carbon):
    n = sum(COUNTS.values())
    assert len(carbon.structures) == len(carbon.forces) == n == 500
    assert_array_equal(carbon.kind, np.repeat(list(COUNTS), list(COUNTS.values())))
    for name in ("energy", "energy_per_atom", "density"):
        assert carbon[name].shape == (n,)
        assert carbon[name].dtype == np.float64
    for atoms, forces, kind in zip(
        carbon.structures, carbon.forces, carbon.kind, strict=True
    ):
        assert atoms.get_chemical_formula() == f"C{N_ATOMS}"
        assert forces.shape == (N_ATOMS, 3)
        assert atoms.pbc.all()
        assert atoms.info["kind"] == kind
        assert ("vacuum" in atoms.info) == (kind == "surface")
    assert_allclose(carbon.energy_per_atom, carbon.energy / N_ATOMS, rtol=1e-15)
    assert carbon.units == {
        "energy": "eV",
        "energy_per_atom": "eV/atom",
        "forces": "eV/Å",
        "density": "g/cm^3",
        "positions": "Å",
    }


def test_densities_are_those_of_the_cells_and_uniform_over_their_ranges(carbon):
    for atoms, rho in zip(carbon.structures, carbon.density, strict=True):
        volume = np.prod(_slab_lengths(atoms)) * 1e-24
        assert_allclose(rho, N_ATOMS * CARBON_GRAMS / volume, rtol=1e-12)
    for kind, (low, high) in DENSITY_RANGES.items():
        rho = carbon.density[carbon.kind == kind]
        # the side lengths are rounded to 1e-8 Å
        assert low - 1e-6 <= rho.min() and rho.max() <= high + 1e-6
        assert kstest(rho, "uniform", args=(low, high - low)).pvalue > 1e-3
    bulk = carbon.density[carbon.kind == "bulk"]
    # enough dense cells for the training set and low-density ones in the pool
    assert (bulk > 3.0).sum() >= 70 and (bulk < 2.0).sum() >= 70


def test_cells_are_nearly_cubic_and_slabs_have_their_gap(carbon):
    for atoms in carbon.structures:
        lengths = _slab_lengths(atoms)
        # exp(u - mean(u)) with |u| <= 0.1: sides within a factor exp(0.2)
        assert lengths.max() / lengths.min() <= np.exp(0.2) * (1 + 1e-8)
        scaled = atoms.get_scaled_positions(wrap=False)
        assert np.all((scaled >= 0) & (scaled <= 1))  # wrapped into the cell
        if atoms.info["kind"] == "surface":
            assert 8.0 <= atoms.info["vacuum"] <= 10.0
            # the relaxation moves surface atoms by up to about 2 Å
            assert _largest_z_gap(atoms) > max(6.0, atoms.info["vacuum"] - 2.5)
        else:
            assert _largest_z_gap(atoms) < 3.0


def test_structures_are_relaxed_carbon(carbon):
    for atoms, forces in zip(carbon.structures, carbon.forces, strict=True):
        distances = atoms.get_all_distances(mic=True)[np.triu_indices(N_ATOMS, 1)]
        # no two atoms closer than a C-C triple bond, 1.20 Å, by much
        assert distances.min() > 1.1
        # translation invariance, to the rounding of the forces to 8 decimals
        assert_allclose(forces.sum(axis=0), 0.0, atol=N_ATOMS * 5e-9)
    fmax = np.array([np.linalg.norm(f, axis=1).max() for f in carbon.forces])
    # a brief relaxation from random positions: most forces are small
    assert np.median(fmax) < 1.5


def test_energies_are_physically_sensible(carbon):
    per_atom = carbon.energy_per_atom
    # nothing below diamond, the lowest carbon of the potential; all bound
    assert np.all(per_atom > DIAMOND_ENERGY)
    assert np.all(per_atom < -3.0)
    bulk = carbon.kind == "bulk"
    dense = bulk & (carbon.density > 3.0)
    surface = carbon.kind == "surface"
    # two surfaces cost energy: slabs sit above dense bulk
    assert per_atom[surface].mean() > per_atom[dense].mean() + 0.1
    assert np.median(per_atom[surface]) > np.median(per_atom[dense])


# ------------------------------------------------------------ against matscipy


@quiet_matscipy
def test_shipped_energies_and_forces_are_matscipys(carbon, tersoff):
    rng = np.random.default_rng(0)
    sample = [
        int(index)
        for kind in COUNTS
        for index in rng.choice(np.flatnonzero(carbon.kind == kind), 4, replace=False)
    ]
    for index in sample:
        energy, forces = _energy_and_forces(carbon.structures[index], tersoff)
        assert_allclose(energy, carbon.energy[index], rtol=1e-10)
        # the file keeps 8 decimals of the forces
        assert_allclose(forces, carbon.forces[index], rtol=0, atol=1e-8)


@quiet_matscipy
def test_the_parameters_are_tersoffs_carbon():
    pytest.importorskip("matscipy")
    from ase.build import bulk

    diamond = bulk("C", "diamond", a=DIAMOND_LATTICE, cubic=True)
    diamond.calc = generator.tersoff_calculator()
    assert_allclose(diamond.get_potential_energy() / 8, DIAMOND_ENERGY, atol=0.005)
    assert_allclose(diamond.get_forces(), 0.0, atol=1e-10)
    # the minimum lies at the published lattice constant
    energies = []
    for a in DIAMOND_LATTICE * np.array([0.99, 1.0, 1.01]):
        cell = bulk("C", "diamond", a=a, cubic=True)
        cell.calc = generator.tersoff_calculator()
        energies.append(cell.get_potential_energy())
    assert energies[1] < min(energies[0], energies[2])


# ------------------------------------------------------------------- generator


def test_generator_constants_are_those_of_the_shipped_file():
    assert generator.COUNTS == COUNTS
    assert generator.N_ATOMS == N_ATOMS
    assert generator.DENSITY_RANGES == DENSITY_RANGES
    assert generator.VACUUM_RANGE == (8.0, 10.0)
    assert generator.MIN_DISTANCE == 1.3
    assert (generator.FMAX, generator.MAX_STEPS) == (0.2, 100)
    assert generator.DEFAULT_OUTPUT.parent == Path(str(files("skpr.datasets") / "data"))
    assert generator.DEFAULT_OUTPUT.name == "carbon_surfaces.xyz"


def test_carbon_mass_is_ases():
    ase_data = pytest.importorskip("ase.data")
    assert generator.CARBON_MASS == ase_data.atomic_masses[6]


@pytest.mark.parametrize("target", [1.5, 2.4, 3.5])
def test_cell_lengths_give_the_density(target):
    rng = np.random.default_rng(1)
    for _ in range(20):
        lengths = generator.cell_lengths(target, rng)
        assert_allclose(generator.density(lengths), target, rtol=1e-8)
        assert lengths.max() / lengths.min() <= np.exp(0.2) * (1 + 1e-8)
        text = [f"{value:.8f}" for value in lengths]
        assert_array_equal(np.array(text, dtype=float), lengths)


@pytest.mark.parametrize("target", [1.5, 3.5])
def test_random_cell_positions_keep_the_minimum_distance(target):
    rng = np.random.default_rng(2)
    for _ in range(10):
        lengths = generator.cell_lengths(target, rng)
        positions = generator.random_cell_positions(lengths, rng)
        assert positions.shape == (N_ATOMS, 3)
        assert np.all((positions >= 0) & (positions < lengths))
        distances = generator.minimum_image_distances(positions, lengths)
        assert distances.min() >= 1.3


def test_minimum_image_distances_match_ases():
    pytest.importorskip("ase")
    from ase import Atoms

    rng = np.random.default_rng(3)
    lengths = np.array([4.0, 5.0, 6.0])
    positions = rng.uniform(0, 1, size=(7, 3)) * lengths
    atoms = Atoms("C7", positions=positions, cell=lengths, pbc=True)
    expected = atoms.get_all_distances(mic=True)[np.triu_indices(7, 1)]
    assert_allclose(
        generator.minimum_image_distances(positions, lengths), expected, rtol=1e-12
    )


def test_a_too_small_cell_raises():
    with pytest.raises(ValueError, match=r"must exceed 2 \* min_distance = 2.6 Å"):
        generator.random_cell_positions([2.6, 5.0, 5.0], np.random.default_rng(0))


def test_atoms_that_do_not_fit_raise(monkeypatch):
    # 16 atoms 1.3 Å apart do not fit in a cube of 2.7 Å
    monkeypatch.setattr(generator, "MAX_STARTS", 3)
    with pytest.raises(
        RuntimeError, match="Found no placement of 16 atoms .* 3 starts"
    ):
        generator.random_cell_positions([2.7, 2.7, 2.7], np.random.default_rng(0))


def test_random_cell_draws_the_documented_cells():
    rng = np.random.default_rng(4)
    for kind in ("bulk", "surface"):
        for _ in range(10):
            positions, lengths, info = generator.random_cell(kind, rng)
            assert info["kind"] == kind
            low, high = DENSITY_RANGES[kind]
            assert low - 1e-6 <= info["density"] <= high + 1e-6
            if kind == "surface":
                slab = lengths[2] - info["vacuum"]
                assert 8.0 <= info["vacuum"] <= 10.0
                z = positions[:, 2] - info["vacuum"] / 2
                assert np.all((z >= 0) & (z < slab))
            volume = np.prod(lengths[:2]) * (lengths[2] - info.get("vacuum", 0.0))
            assert_allclose(
                info["density"], N_ATOMS * CARBON_GRAMS / volume / 1e-24, rtol=1e-12
            )


@quiet_matscipy
def test_generator_reproduces_the_start_of_the_shipped_file(carbon):
    pytest.importorskip("matscipy")
    counts = {"bulk": 3, "surface": 2}
    made = generator.make_carbon_surfaces(seed=0, counts=counts)
    # each kind draws from its own stream: its first cells are the file's,
    # made with 400 bulk cells before the slabs
    shipped = [
        index
        for kind, count in counts.items()
        for index in np.flatnonzero(carbon.kind == kind)[:count]
    ]
    assert len(made) == len(shipped) == 5
    for atoms, index in zip(made, shipped, strict=True):
        read = carbon.structures[index]
        assert_array_equal(atoms.cell, read.cell)
        assert atoms.info == read.info
        # exact where the file was written; a margin for other numpy builds,
        # whose sums may differ in the last bit and carry it through 100 steps
        assert_allclose(atoms.positions, read.positions, rtol=0, atol=1e-6)
        assert_allclose(atoms.get_potential_energy(), carbon.energy[index], rtol=1e-8)
        assert_allclose(atoms.get_forces(), carbon.forces[index], atol=1e-5)


@quiet_matscipy
def test_first_cells_of_a_kind_do_not_depend_on_the_other_kind(small):
    alone = generator.make_carbon_surfaces(seed=5, counts={"surface": 1, "bulk": 0})
    assert len(alone) == 1
    assert_array_equal(alone[0].positions, small[3].positions)
    assert alone[0].get_potential_energy() == small[3].get_potential_energy()


@quiet_matscipy
def test_generator_is_deterministic(small, tmp_path):
    counts = {"bulk": 3, "surface": 2}
    paths = [tmp_path / name for name in ("a.xyz", "b.xyz", "c.xyz")]
    generator.write_carbon_surfaces(small, paths[0])
    generator.write_carbon_surfaces(
        generator.make_carbon_surfaces(seed=5, counts=counts), paths[1]
    )
    generator.write_carbon_surfaces(
        generator.make_carbon_surfaces(seed=6, counts=counts), paths[2]
    )
    same, again, other = (path.read_bytes() for path in paths)
    assert same == again
    assert same != other


@quiet_matscipy
def test_processes_do_not_change_a_digit(small, tmp_path):
    counts = {"bulk": 3, "surface": 2}
    made = generator.make_carbon_surfaces(seed=5, counts=counts, jobs=2)
    one, two = tmp_path / "one.xyz", tmp_path / "two.xyz"
    generator.write_carbon_surfaces(small, one)
    generator.write_carbon_surfaces(made, two)
    assert one.read_bytes() == two.read_bytes()


def test_written_file_reads_back_every_digit(small, tmp_path):
    import ase.io

    path = tmp_path / "carbon.xyz"
    generator.write_carbon_surfaces(small, path)
    back = ase.io.read(path, ":")
    assert len(back) == len(small) == 5
    for atoms, read in zip(small, back, strict=True):
        assert_array_equal(read.positions, atoms.positions)
        assert_array_equal(read.cell, atoms.cell)
        assert read.pbc.all()
        assert read.get_potential_energy() == atoms.get_potential_energy()
        assert read.info == atoms.info
        assert_allclose(read.get_forces(), atoms.get_forces(), rtol=0, atol=5e-9)


@quiet_matscipy
def test_energies_are_those_of_the_rounded_positions(small, tersoff):
    for atoms in small:
        energy, forces = _energy_and_forces(atoms, tersoff)
        assert energy == atoms.get_potential_energy()
        assert_array_equal(forces, atoms.get_forces())


@quiet_matscipy
def test_command_line_writes_what_the_function_writes(tmp_path, capsys):
    pytest.importorskip("matscipy")
    path = tmp_path / "cli.xyz"
    argv = ["--seed", "2", "--counts", "1", "1", "--output", str(path)]
    assert generator.main(argv) == 0
    out = capsys.readouterr().out
    assert "wrote 2 structures" in out
    assert "bulk: 1 cells" in out and "surface: 1 cells" in out
    expected = tmp_path / "function.xyz"
    generator.write_carbon_surfaces(
        generator.make_carbon_surfaces(seed=2, counts={"bulk": 1, "surface": 1}),
        expected,
    )
    assert path.read_bytes() == expected.read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"counts": {"slab": 1}}, r"unknown kinds \['slab'\]; the kinds are \['bulk'"),
        ({"counts": {"bulk": -1}}, r"counts\['bulk'\] must be non-negative, got -1"),
        ({"counts": {"bulk": 1.5}}, r"counts\['bulk'\] must be a non-negative int"),
        ({"counts": {"surface": True}}, r"must be a non-negative int, got True"),
        ({"jobs": 0}, r"jobs must be a positive int, got 0"),
        ({"jobs": 2.0}, r"jobs must be a positive int, got 2.0"),
    ],
)
def test_bad_arguments_raise_before_any_work(kwargs, message, monkeypatch):
    def no_work():
        raise AssertionError("matscipy was loaded before the arguments were checked")

    monkeypatch.setattr(generator, "tersoff_calculator", no_work)
    with pytest.raises(ValueError, match=message):
        generator.make_carbon_surfaces(**kwargs)


MATSCIPY_MODULES = (
    "matscipy",
    "matscipy.calculators",
    "matscipy.calculators.manybody",
    "matscipy.calculators.manybody.explicit_forms",
    "matscipy.calculators.manybody.explicit_forms.tersoff_brenner",
)


def test_missing_matscipy_raises_helpful_import_error(monkeypatch, capsys):
    # A None entry in sys.modules makes the import fail as if it were absent.
    for name in MATSCIPY_MODULES:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=re.escape(install_command("reference"))):
        generator.make_carbon_surfaces(counts={"bulk": 1})
    assert generator.main(["--counts", "1", "0"]) == 2
    assert install_command("reference") in capsys.readouterr().err


def test_command_line_rejects_a_missing_folder_before_any_work(tmp_path, capsys):
    output = tmp_path / "missing" / "carbon.xyz"
    with pytest.raises(SystemExit) as exit_info:
        generator.main(["--output", str(output)])
    assert exit_info.value.code == 2
    assert "the folder" in capsys.readouterr().err
    assert not output.parent.exists()


# ------------------------------------------------------------ loader and docs


def test_missing_ase_raises_helpful_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ase", None)
    monkeypatch.setitem(sys.modules, "ase.io", None)
    with pytest.raises(ImportError, match=re.escape(install_command("atomistic"))):
        load_carbon_surfaces()


def _description():
    descr = files("skpr.datasets") / "descr" / "carbon_surfaces.rst"
    return descr.read_text(encoding="utf-8")


def test_descr_is_the_description_file(carbon):
    assert carbon.DESCR == _description()


def test_description_is_in_the_docstring_and_says_how_the_file_is_made():
    text = _description()
    summary, rest = load_carbon_surfaces.__doc__.split("\n\n", 1)
    assert summary.startswith("Load ")
    assert rest.startswith(text.strip() + "\n\nReturns\n-------\n")
    assert "generated by skpr" in text
    assert "BSD 3-Clause License" in text
    assert "Tersoff_PRB_39_5566_Si_C" in text
    assert "Phys. Rev. Lett. 61, 2879 (1988)" in text
    assert "python -m skpr.datasets.generators.carbon_surfaces --seed 0" in text
    # the root conftest skips the loader's doctest without ASE on this text
    assert 'pip install ".[atomistic]"' in text


def test_docs_page_lists_the_loader_and_includes_the_description():
    page = (ROOT / "docs" / "datasets.rst").read_text(encoding="utf-8")
    assert "\n   load_carbon_surfaces\n" in page
    assert ".. include:: ../skpr/datasets/descr/carbon_surfaces.rst\n" in page
