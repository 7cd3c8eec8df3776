"""Tests for the liquid-carbon snapshot: shipped file, loader and generator.

The shipped snapshot is checked against its construction (1728 carbon atoms
in a periodic cube at 2.2 g/cm^3, the info of the documented protocol, forces
that sum to zero), against matscipy (its energy and forces recomputed with
Tersoff's carbon) and against the diamond lattice it started from: it must
have melted. Short runs of the generator (64 atoms, a few steps) check that a
seed fixes the file and that the command line writes what the function makes.
"""

import re
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from skpr._extras import install_command
from skpr.datasets import load_liquid_carbon
from skpr.datasets.generators import liquid_carbon as generator

ROOT = Path(__file__).resolve().parents[1]

N_ATOMS, REPEAT, DENSITY = 1728, 6, 2.2

#: Grams of one carbon atom (12.011 u, CODATA 2018 atomic mass constant).
CARBON_GRAMS = 12.011 * 1.66053906660e-24

#: A quick run of the generator: 2 x 2 x 2 cells (64 atoms), 5 steps a stage.
QUICK = {"repeat": 2, "steps": (5, 5)}

quiet_matscipy = pytest.mark.filterwarnings(
    "ignore:'where' used without 'out':UserWarning"
)


@pytest.fixture(scope="module")
def liquid():
    pytest.importorskip("ase")
    return load_liquid_carbon()


@pytest.fixture(scope="module")
def quick():
    """A quick run of the generator, seed 3."""
    pytest.importorskip("matscipy")
    return generator.make_liquid_carbon(seed=3, **QUICK)


def _tersoff():
    """Tersoff carbon, built here from matscipy."""
    pytest.importorskip("matscipy")
    from matscipy.calculators.manybody import Manybody
    from matscipy.calculators.manybody.explicit_forms import TersoffBrenner
    from matscipy.calculators.manybody.explicit_forms.tersoff_brenner import (
        Tersoff_PRB_39_5566_Si_C as parameters,
    )

    assert parameters["el"][0] == "C"
    return Manybody(**TersoffBrenner(parameters))


def _energy_and_forces(atoms):
    atoms = atoms.copy()
    atoms.calc = _tersoff()
    return atoms.get_potential_energy(), atoms.get_forces()


def _side(atoms):
    cell = np.array(atoms.cell)
    assert_array_equal(cell, np.eye(3) * cell[0, 0])  # a cube
    return float(cell[0, 0])


def _lattice(side, repeat=REPEAT):
    """The starting diamond lattice, built with ASE, scaled to the cube."""
    from ase.build import bulk

    return bulk("C", "diamond", a=side / repeat, cubic=True).repeat(repeat)


def _neighbour_counts(atoms, cutoff=1.85):
    from ase.neighborlist import neighbor_list

    return np.bincount(neighbor_list("i", atoms, cutoff), minlength=len(atoms))


def _bragg_111(positions, side, repeat=REPEAT):
    """Static structure factor at the (111) vectors of the starting lattice."""
    vectors = (
        2
        * np.pi
        * repeat
        / side
        * np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]])
    )
    amplitude = np.exp(1j * positions @ vectors.T).sum(axis=0)
    return np.mean(np.abs(amplitude) ** 2) / len(positions)


# ------------------------------------------------------------------ shipped file


def test_shapes_info_and_units(liquid):
    atoms = liquid.structure
    assert atoms.get_chemical_formula() == f"C{N_ATOMS}"
    assert atoms.pbc.all()
    assert liquid.forces.shape == (N_ATOMS, 3)
    assert liquid.forces.dtype == np.float64
    assert isinstance(liquid.energy, float)
    assert set(atoms.calc.results) == {"energy", "forces"}
    assert set(atoms.info) == {"temperature", "density", "seed", "steps"}
    assert atoms.info["seed"] == 0
    assert atoms.info["steps"] == sum(steps for _, steps in generator.STAGES) == 1200
    assert atoms.info["temperature"] == liquid.temperature == 5000.0
    assert liquid.density == atoms.info["density"]
    assert liquid.units == {
        "energy": "eV",
        "forces": "eV/Å",
        "density": "g/cm^3",
        "temperature": "K",
        "positions": "Å",
    }
    # wrapped into the cell
    scaled = atoms.get_scaled_positions(wrap=False)
    assert np.all((scaled >= 0) & (scaled <= 1))


def test_density_is_that_of_the_cell(liquid):
    side = _side(liquid.structure)
    assert_allclose(liquid.density, N_ATOMS * CARBON_GRAMS / (side * 1e-8) ** 3)
    # the side is rounded to 1e-8 Å
    assert_allclose(liquid.density, DENSITY, rtol=1e-8)
    # and is that of the generator's starting lattice
    positions, start_side = generator.diamond_supercell()
    assert start_side == side


def test_energy_and_forces_are_those_of_the_file(liquid):
    lines = (files("skpr.datasets") / "data" / "liquid_carbon.xyz").read_text()
    lines = lines.splitlines()
    assert int(lines[0]) == N_ATOMS and len(lines) == N_ATOMS + 2
    match = re.search(r"(?:^|\s)energy=(\S+)", lines[1])
    assert liquid.energy == float(match.group(1))
    columns = np.array([line.split()[1:] for line in lines[2:]], dtype=float)
    assert_array_equal(liquid.structure.positions, columns[:, :3])
    assert_array_equal(liquid.forces, columns[:, 3:])


def test_forces_are_those_of_a_hot_liquid(liquid):
    # translation invariance, to the rounding of the forces to 8 decimals
    assert_allclose(liquid.forces.sum(axis=0), 0.0, atol=N_ATOMS * 5e-9)
    norms = np.linalg.norm(liquid.forces, axis=1)
    assert 2.0 < np.median(norms) < 15.0
    from ase.neighborlist import neighbor_list

    # no two atoms closer than a C-C triple bond, 1.20 Å, by much
    assert neighbor_list("d", liquid.structure, 2.0).min() > 1.0


def test_energy_is_that_of_liquid_carbon(liquid):
    per_atom = liquid.energy / N_ATOMS
    # diamond is -7.37 eV/atom; a melt at 5000 K sits well above it, bound
    assert -6.5 < per_atom < -5.0


def test_it_melted(liquid):
    atoms = liquid.structure
    side = _side(atoms)
    lattice = _lattice(side)
    # the measures tell the starting lattice at once: four neighbours each,
    # and a (111) Bragg peak of n_atoms / 2
    assert_array_equal(_neighbour_counts(lattice), 4)
    assert_allclose(_bragg_111(lattice.positions, side), N_ATOMS / 2)
    # the lattice the generator started from, in the same order
    start, _ = generator.diamond_supercell()
    assert_allclose(start, lattice.positions, rtol=0, atol=1e-9)

    counts = _neighbour_counts(atoms)
    assert np.mean(counts == 4) < 0.3  # shipped: 0.11
    assert 2.5 < counts.mean() < 3.5  # mostly threefold, as liquid carbon
    assert _bragg_111(atoms.positions, side) < 5.0  # shipped: 1.3; a liquid: ~1
    # every atom has left its site: the root-mean-square displacement (to the
    # nearest image, far below half the side) exceeds a bond length
    displacement = atoms.positions - start
    displacement -= side * np.round(displacement / side)
    assert np.mean(np.sum(displacement**2, axis=1)) > 1.8**2  # shipped: 6.4 Å^2


def test_melting_check_agrees(liquid):
    atoms = liquid.structure
    side = _side(atoms)
    start, _ = generator.diamond_supercell()
    check = generator.melting_check(atoms.positions, side, start=start)
    counts = _neighbour_counts(atoms)
    assert_allclose(check["coordination"], np.bincount(counts, minlength=7) / N_ATOMS)
    assert_allclose(check["bragg"], _bragg_111(atoms.positions, side), rtol=1e-10)
    assert check["fourfold"] < 0.3 and check["bragg"] < 5.0 and check["msd"] > 3.0


@quiet_matscipy
def test_shipped_energy_and_forces_are_matscipys(liquid):
    energy, forces = _energy_and_forces(liquid.structure)
    assert_allclose(energy, liquid.energy, rtol=1e-10)
    # the file keeps 8 decimals of the forces
    assert_allclose(forces, liquid.forces, rtol=1e-10, atol=5e-9)


def test_loader_returns_fresh_objects(liquid):
    again = load_liquid_carbon()
    again.structure.positions += 1.0
    again.structure.calc.results["forces"] += 1.0
    again.forces += 1.0
    fresh = load_liquid_carbon()
    assert_array_equal(fresh.structure.positions, liquid.structure.positions)
    assert_array_equal(fresh.forces, liquid.forces)
    assert_array_equal(fresh.structure.get_forces(), liquid.forces)
    # the forces field does not share memory with the structure
    fresh.forces += 1.0
    assert_array_equal(fresh.structure.get_forces(), liquid.forces)


# ------------------------------------------------------------------- generator


@quiet_matscipy
def test_generator_is_deterministic(quick, tmp_path):
    paths = [tmp_path / name for name in ("a.xyz", "b.xyz", "c.xyz")]
    generator.write_liquid_carbon(quick, paths[0])
    generator.write_liquid_carbon(
        generator.make_liquid_carbon(seed=3, **QUICK), paths[1]
    )
    generator.write_liquid_carbon(
        generator.make_liquid_carbon(seed=4, **QUICK), paths[2]
    )
    same, again, other = (path.read_bytes() for path in paths)
    assert same == again
    assert same != other


@quiet_matscipy
def test_quick_run_is_a_rounded_cube_with_its_own_energy(quick):
    assert len(quick) == 64 and quick.pbc.all()
    side = _side(quick)
    assert quick.info == {
        "temperature": 5000.0,
        "density": pytest.approx(DENSITY, rel=1e-8),
        "seed": 3,
        "steps": 10,
    }
    assert_array_equal(np.round(quick.positions, 8), quick.positions)
    scaled = quick.get_scaled_positions(wrap=False)
    assert np.all((scaled >= 0) & (scaled <= 1))
    # 10 steps of 0.5 fs move the atoms, but not far from the lattice
    displacement = quick.positions - _lattice(side, 2).positions
    displacement -= side * np.round(displacement / side)
    assert 0 < np.abs(displacement).max() < 0.5
    # energy and forces of exactly the rounded positions
    energy, forces = _energy_and_forces(quick)
    assert energy == quick.get_potential_energy()
    assert_array_equal(forces, quick.get_forces())


def test_written_file_reads_back_every_digit(quick, tmp_path):
    import ase.io

    path = tmp_path / "liquid.xyz"
    generator.write_liquid_carbon(quick, path)
    read = ase.io.read(path)
    assert_array_equal(read.positions, quick.positions)
    assert_array_equal(read.cell, quick.cell)
    assert read.get_potential_energy() == quick.get_potential_energy()
    assert read.info == quick.info
    assert_allclose(read.get_forces(), quick.get_forces(), rtol=0, atol=5e-9)


@quiet_matscipy
def test_command_line_writes_what_the_function_writes(quick, tmp_path, capsys):
    path = tmp_path / "cli.xyz"
    argv = ["--seed", "3", "--repeat", "2", "--steps", "5", "5", "--output", str(path)]
    assert generator.main(argv) == 0
    out = capsys.readouterr().out
    assert "wrote 1 structures" in out and "64 atoms" in out
    expected = tmp_path / "function.xyz"
    generator.write_liquid_carbon(quick, expected)
    assert path.read_bytes() == expected.read_bytes()


def test_command_line_has_no_counts_and_hides_the_test_options(capsys):
    with pytest.raises(SystemExit):
        generator.main(["--help"])
    text = capsys.readouterr().out
    assert "--seed" in text and "--output" in text
    assert "--counts" not in text and "--steps" not in text and "--repeat" not in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"repeat": 1}, r"repeat must be at least 2, got 1"),
        ({"repeat": 2.0}, r"repeat must be an int of at least 2, got 2.0"),
        ({"steps": (5,)}, r"one count per stage \(2\), got \(5,\)"),
        ({"steps": (5, -1)}, r"steps must be non-negative, got \(5, -1\)"),
        ({"steps": (5, 1.5)}, r"steps must be non-negative ints"),
        ({"steps": (True, 5)}, r"steps must be non-negative ints"),
    ],
)
def test_bad_arguments_raise_before_any_work(kwargs, message, monkeypatch):
    def no_work():
        raise AssertionError("matscipy was loaded before the arguments were checked")

    monkeypatch.setattr(generator, "tersoff_calculator", no_work)
    with pytest.raises(ValueError, match=message):
        generator.make_liquid_carbon(**kwargs)


MATSCIPY_MODULES = (
    "matscipy",
    "matscipy.calculators",
    "matscipy.calculators.manybody",
    "matscipy.calculators.manybody.explicit_forms",
    "matscipy.calculators.manybody.explicit_forms.tersoff_brenner",
)


def test_missing_matscipy_raises_helpful_import_error(monkeypatch, capsys, tmp_path):
    # A None entry in sys.modules makes the import fail as if it were absent.
    for name in MATSCIPY_MODULES:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=re.escape(install_command("reference"))):
        generator.make_liquid_carbon(**QUICK)
    output = tmp_path / "liquid.xyz"
    argv = ["--repeat", "2", "--steps", "1", "1", "--output", str(output)]
    assert generator.main(argv) == 2
    assert not output.exists()
    assert install_command("reference") in capsys.readouterr().err


# ------------------------------------------------------------ loader and docs


def test_description_says_how_the_file_is_made():
    text = (files("skpr.datasets") / "descr" / "liquid_carbon.rst").read_text(
        encoding="utf-8"
    )
    assert "generated by skpr" in text
    assert "Tersoff_PRB_39_5566_Si_C" in text
    assert "python -m skpr.datasets.generators.liquid_carbon --seed 0" in text
    assert "10000 K" in text and "5000 K" in text and "0.5 fs" in text
    # the root conftest skips the loader's doctest without ASE on this text
    assert 'pip install ".[atomistic]"' in text


def test_docs_page_lists_the_loader_and_includes_the_description():
    page = (ROOT / "docs" / "datasets.rst").read_text(encoding="utf-8")
    assert "\n   load_liquid_carbon\n" in page
    assert ".. include:: ../skpr/datasets/descr/liquid_carbon.rst\n" in page
    licence = (files("skpr.datasets") / "data" / "LICENSE").read_text()
    assert "liquid_carbon.xyz\n    generated by skpr" in licence
