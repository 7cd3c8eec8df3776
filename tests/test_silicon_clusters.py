"""Tests for the generated silicon clusters: shipped file, loader and generator.

The shipped file is checked against invariants of the Stillinger-Weber potential
(the 2-body and 3-body parts add up to the total, two atoms have no 3-body term,
the 3-body term is never negative, the energy is zero beyond the cutoff
``a * sigma`` and the pair potential has its minimum ``-epsilon`` at
``2**(1/6) * sigma``) and, with matscipy, recomputed. The 2-body route (the
three-body strength ``lambda1`` set to zero) is checked independently: the
2-body energy of a cluster is the sum of the energies of its pairs, each
computed alone as a dimer with the published parameters.
"""

import re
import sys
import tomllib
from importlib.resources import files
from importlib.util import find_spec
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.spatial.distance import pdist

from skpr._extras import install_command
from skpr.datasets import load_silicon_clusters
from skpr.datasets.generators import silicon_clusters as generator

ROOT = Path(__file__).resolve().parents[1]

#: Stillinger-Weber silicon, Phys. Rev. B 31, 5262 (1985): eV, Å, Å / sigma.
EPSILON, SIGMA, A = 2.1683, 2.0951, 1.80
CUTOFF = A * SIGMA

COUNTS = {"dimer": 150, "trimer": 150, "tetramer": 150, "pentamer": 800}
COUNTS["dimer_curve"] = 80
N_ATOMS = {"dimer": 2, "trimer": 3, "tetramer": 4, "pentamer": 5, "dimer_curve": 2}
RANDOM_KINDS = ("dimer", "trimer", "tetramer", "pentamer")

needs_ase = pytest.mark.skipif(
    find_spec("ase") is None, reason=f"needs ASE: {install_command('atomistic')}"
)


@pytest.fixture(scope="module")
def clusters():
    pytest.importorskip("ase")
    return load_silicon_clusters()


@pytest.fixture(scope="module")
def matscipy_sw():
    """Full and 2-body Stillinger-Weber calculators, built here from matscipy."""
    pytest.importorskip("matscipy")
    from matscipy.calculators.manybody import Manybody
    from matscipy.calculators.manybody.explicit_forms import StillingerWeber
    from matscipy.calculators.manybody.explicit_forms.stillinger_weber import (
        Stillinger_Weber_PRB_31_5262_Si as parameters,
    )

    assert parameters["lambda1"] == 21.0  # the key of the three-body strength
    return (
        Manybody(**StillingerWeber(parameters)),
        Manybody(**StillingerWeber(parameters | {"lambda1": 0.0})),
    )


def _energy_and_forces(positions, calculator):
    from ase import Atoms

    # A box of another size than the generator's: without periodicity the box
    # only serves matscipy's neighbour list, which inverts the cell.
    atoms = Atoms(
        f"Si{len(positions)}", positions=positions, cell=np.eye(3) * 31.0, pbc=False
    )
    atoms.calc = calculator
    return atoms.get_potential_energy(), atoms.get_forces()


def _sample(clusters, per_kind, seed=0):
    """``per_kind`` random indices of each kind."""
    rng = np.random.default_rng(seed)
    return [
        int(index)
        for kind in COUNTS
        for index in rng.choice(
            np.flatnonzero(clusters.kind == kind), per_kind, replace=False
        )
    ]


# ------------------------------------------------------------------ shipped file


def test_counts_kinds_shapes_and_units(clusters):
    n = sum(COUNTS.values())
    assert len(clusters.structures) == len(clusters.forces) == n == 1330
    assert_array_equal(clusters.kind, np.repeat(list(COUNTS), list(COUNTS.values())))
    for name in ("energy", "energy_2body", "energy_3body", "distance"):
        assert clusters[name].shape == (n,)
        assert clusters[name].dtype == np.float64
    for atoms, forces, kind in zip(
        clusters.structures, clusters.forces, clusters.kind, strict=True
    ):
        assert atoms.get_chemical_formula() == f"Si{N_ATOMS[kind]}"
        assert forces.shape == (N_ATOMS[kind], 3)
        assert not atoms.pbc.any() and not atoms.cell.any()
        assert atoms.info["kind"] == kind
    assert clusters.units == {
        "energy": "eV",
        "energy_2body": "eV",
        "energy_3body": "eV",
        "forces": "eV/Å",
        "distance": "Å",
        "positions": "Å",
    }


def test_body_order_parts_add_up_and_dimers_have_no_three_body(clusters):
    total = clusters.energy_2body + clusters.energy_3body
    assert_allclose(total, clusters.energy, rtol=0, atol=1e-12)
    two_atoms = np.isin(clusters.kind, ["dimer", "dimer_curve"])
    assert_array_equal(clusters.energy_3body[two_atoms], 0.0)
    assert_array_equal(clusters.energy_2body[two_atoms], clusters.energy[two_atoms])
    # h(r) (cos + 1/3)^2 >= 0, and > 0 for clusters whose atoms all see each other
    assert np.all(clusters.energy_3body[~two_atoms] > 0)
    # no pair energy below the minimum -epsilon of the pair potential
    assert np.all(clusters.energy[two_atoms] >= -EPSILON)


def test_distances_are_in_range_and_clusters_centred(clusters):
    curve = clusters.kind == "dimer_curve"
    for atoms, kind in zip(clusters.structures, clusters.kind, strict=True):
        distances = pdist(atoms.positions)
        if kind != "dimer_curve":
            assert distances.min() >= 2.0 and distances.max() <= 3.6
            assert CUTOFF > 3.6  # every atom sees every other atom
        # rounded to the 8 decimals of the file after centring
        assert_allclose(atoms.positions.mean(axis=0), 0.0, atol=1e-8)
    assert np.isnan(clusters.distance[~curve]).all()
    curve_distances = [
        pdist(clusters.structures[i].positions)[0] for i in curve.nonzero()[0]
    ]
    assert_allclose(clusters.distance[curve], curve_distances, rtol=0, atol=1e-12)
    assert_allclose(clusters.distance[curve], np.linspace(1.9, 4.2, 80), atol=2e-8)
    for index in curve.nonzero()[0]:
        assert_array_equal(clusters.structures[index].positions[:, :2], 0.0)


def test_dimer_curve_is_zero_beyond_the_cutoff_with_minimum_at_2_one_sixth_sigma(
    clusters,
):
    curve = clusters.kind == "dimer_curve"
    distance, energy = clusters.distance[curve], clusters.energy[curve]
    forces = np.array([clusters.forces[i] for i in curve.nonzero()[0]])
    beyond = distance >= CUTOFF
    assert beyond.sum() == 15
    assert_array_equal(energy[beyond], 0.0)
    assert_array_equal(forces[beyond], 0.0)
    # the pair potential crosses zero at B**(1/4) sigma = 1.85 Å, below the curve
    assert np.all(energy[~beyond] < 0)
    spacing = 2.3 / 79
    r_min = 2 ** (1 / 6) * SIGMA
    assert abs(distance[np.argmin(energy)] - r_min) < spacing
    assert -EPSILON <= energy.min() < -EPSILON + 0.01
    # repulsive below the minimum, attractive above it (inside the cutoff)
    force_on_second = forces[:, 1, 2]
    assert np.all(force_on_second[distance < r_min - spacing] > 0)
    inside = (distance > r_min + spacing) & ~beyond
    assert np.all(force_on_second[inside] <= 0)
    # strictly, where the force is not rounded away (it is 1e-9 eV/Å at 3.7 Å)
    assert np.all(force_on_second[inside & (distance < 3.6)] < 0)


def test_forces_sum_to_zero(clusters):
    # translation invariance, to the rounding of the forces to 8 decimals
    for forces in clusters.forces:
        assert_allclose(forces.sum(axis=0), 0.0, atol=len(forces) * 5e-9)


# ------------------------------------------------------------ against matscipy


def test_shipped_energies_and_forces_are_matscipys(clusters, matscipy_sw):
    full, two_body = matscipy_sw
    for index in _sample(clusters, per_kind=4):
        positions = clusters.structures[index].positions
        energy, forces = _energy_and_forces(positions, full)
        energy_2body, _ = _energy_and_forces(positions, two_body)
        assert_allclose(energy, clusters.energy[index], rtol=1e-10, atol=1e-12)
        assert_allclose(energy_2body, clusters.energy_2body[index], rtol=1e-10)
        # the file keeps 8 decimals of the forces
        assert_allclose(forces, clusters.forces[index], rtol=0, atol=1e-8)


@pytest.mark.parametrize("kind", ["trimer", "tetramer", "pentamer"])
def test_two_body_energy_is_the_sum_of_separate_pair_energies(
    clusters, matscipy_sw, kind
):
    full, two_body = matscipy_sw
    indices = np.flatnonzero(clusters.kind == kind)[:8]
    for index in indices:
        positions = clusters.structures[index].positions
        # a dimer has no 3-body term, so the published parameters give its pair
        # energy whatever lambda1 does
        pairs = sum(
            _energy_and_forces(positions[[i, j]], full)[0]
            for i, j in combinations(range(len(positions)), 2)
        )
        assert_allclose(clusters.energy_2body[index], pairs, rtol=1e-12)
        assert_allclose(_energy_and_forces(positions, two_body)[0], pairs, rtol=1e-12)
        assert clusters.energy[index] > pairs  # the 3-body part is switched on


# ------------------------------------------------------------------- generator


def test_generator_constants_are_those_of_the_shipped_file():
    assert generator.COUNTS == COUNTS
    assert generator.N_ATOMS == N_ATOMS
    assert generator.RANDOM_KINDS == RANDOM_KINDS
    assert (generator.MIN_DISTANCE, generator.MAX_DISTANCE) == (2.0, 3.6)
    assert generator.CURVE_RANGE == (1.9, 4.2)
    assert generator.DEFAULT_OUTPUT.parent == Path(str(files("skpr.datasets") / "data"))
    assert generator.DEFAULT_OUTPUT.name == "silicon_clusters.xyz"


@pytest.mark.parametrize(
    ("n_atoms", "bounds"),
    [
        (1, (2.0, 3.6)),
        (2, (2.0, 3.6)),
        (5, (2.0, 3.6)),
        (6, (2.0, 3.6)),
        (4, (2.2, 2.6)),
    ],
)
def test_random_cluster_positions_respect_the_bounds(n_atoms, bounds):
    rng = np.random.default_rng(1)
    for _ in range(20):
        positions = generator.random_cluster_positions(
            n_atoms, rng, min_distance=bounds[0], max_distance=bounds[1]
        )
        assert positions.shape == (n_atoms, 3)
        if n_atoms > 1:
            distances = pdist(positions)
            assert distances.min() >= bounds[0] and distances.max() <= bounds[1]
        assert_allclose(positions.mean(axis=0), 0.0, atol=1e-8)
        # exactly the floats that the file's 8 decimals read back as
        text = [f"{value:16.8f}" for value in positions.ravel()]
        assert_array_equal(np.array(text, dtype=float), positions.ravel())


def test_no_atoms_raise():
    with pytest.raises(ValueError, match="n_atoms must be at least 1, got 0"):
        generator.random_cluster_positions(0, np.random.default_rng(0))


def test_unreachable_bounds_raise(monkeypatch):
    # six atoms pairwise 2.0-2.1 Å apart do not fit in space
    monkeypatch.setattr(generator, "MAX_STARTS", 10)
    rng = np.random.default_rng(0)
    with pytest.raises(RuntimeError, match="Found no cluster of 6 atoms .* 10 starts"):
        generator.random_cluster_positions(6, rng, min_distance=2.0, max_distance=2.1)


def test_random_cluster_positions_are_seeded():
    def draw(seed):
        rng = np.random.default_rng(seed)
        return [generator.random_cluster_positions(5, rng) for _ in range(3)]

    assert_array_equal(draw(3), draw(3))
    assert not np.array_equal(draw(3), draw(4))


def test_generator_reproduces_the_start_of_the_shipped_file(clusters):
    pytest.importorskip("matscipy")
    counts = dict.fromkeys(RANDOM_KINDS, 3) | {"dimer_curve": 80}
    made = generator.make_silicon_clusters(seed=0, counts=counts)
    # each kind draws from its own stream: its first clusters are the file's
    shipped = [
        index
        for kind, count in counts.items()
        for index in np.flatnonzero(clusters.kind == kind)[:count]
    ]
    assert len(made) == len(shipped) == 92
    for atoms, index in zip(made, shipped, strict=True):
        assert_array_equal(atoms.positions, clusters.structures[index].positions)
        # the same sums, up to the order matscipy adds them in (a few ulp)
        made_energies = [
            atoms.get_potential_energy(),
            atoms.info["energy_2body"],
            atoms.info["energy_3body"],
        ]
        shipped_energies = [
            clusters.energy[index],
            clusters.energy_2body[index],
            clusters.energy_3body[index],
        ]
        assert_allclose(made_energies, shipped_energies, rtol=1e-13, atol=1e-14)
        assert atoms.info["kind"] == clusters.kind[index]
        assert_allclose(atoms.get_forces(), clusters.forces[index], atol=5e-9)
    assert made[-1].info["distance"] == clusters.distance[-1]


def test_generator_is_deterministic(tmp_path):
    pytest.importorskip("matscipy")
    counts = dict.fromkeys(COUNTS, 3)
    paths = []
    for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
        paths.append(tmp_path / f"{name}.xyz")
        structures = generator.make_silicon_clusters(seed=seed, counts=counts)
        generator.write_silicon_clusters(structures, paths[-1])
    same, again, other = (path.read_bytes() for path in paths)
    assert same == again
    assert same != other
    import ase.io

    first, second = ase.io.read(paths[0], ":"), ase.io.read(paths[2], ":")
    assert [a.info["kind"] for a in first] == [a.info["kind"] for a in second]
    for a, b in zip(first, second, strict=True):
        if a.info["kind"] != "dimer_curve":  # the curve is a fixed grid
            assert not np.array_equal(a.positions, b.positions)
            assert a.get_potential_energy() != b.get_potential_energy()


def test_written_file_reads_back_every_digit(tmp_path):
    pytest.importorskip("matscipy")
    import ase.io

    structures = generator.make_silicon_clusters(counts=dict.fromkeys(COUNTS, 2))
    path = tmp_path / "clusters.xyz"
    generator.write_silicon_clusters(structures, path)
    back = ase.io.read(path, ":")
    assert len(back) == len(structures) == 10
    for atoms, read in zip(structures, back, strict=True):
        assert_array_equal(read.positions, atoms.positions)
        assert read.get_potential_energy() == atoms.get_potential_energy()
        for key in ("energy_2body", "energy_3body", "kind"):
            assert read.info[key] == atoms.info[key]
        assert_allclose(read.get_forces(), atoms.get_forces(), rtol=0, atol=5e-9)
        assert not read.pbc.any() and not read.cell.any()


def test_command_line_writes_what_the_function_writes(tmp_path, capsys):
    pytest.importorskip("matscipy")
    path = tmp_path / "cli.xyz"
    argv = ["--seed", "2", "--counts", "1", "2", "0", "1", "3", "--output", str(path)]
    assert generator.main(argv) == 0
    assert "wrote 7 structures" in capsys.readouterr().out
    counts = {"dimer": 1, "trimer": 2, "tetramer": 0, "pentamer": 1, "dimer_curve": 3}
    expected = tmp_path / "function.xyz"
    generator.write_silicon_clusters(
        generator.make_silicon_clusters(seed=2, counts=counts), expected
    )
    assert path.read_bytes() == expected.read_bytes()


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"hexamer": 1}, r"unknown kinds \['hexamer'\]; the kinds are \['dimer'"),
        ({"dimer": -1}, r"counts\['dimer'\] must be non-negative, got -1"),
        ({"trimer": 1.5}, r"counts\['trimer'\] must be a non-negative int, got 1.5"),
        ({"trimer": True}, r"must be a non-negative int, got True"),
    ],
)
def test_bad_counts_raise_before_any_work(counts, message, monkeypatch):
    def no_work():
        raise AssertionError("matscipy was loaded before counts were checked")

    monkeypatch.setattr(generator, "stillinger_weber_calculators", no_work)
    with pytest.raises(ValueError, match=message):
        generator.make_silicon_clusters(counts=counts)


MATSCIPY_MODULES = (
    "matscipy",
    "matscipy.calculators",
    "matscipy.calculators.manybody",
    "matscipy.calculators.manybody.explicit_forms",
    "matscipy.calculators.manybody.explicit_forms.stillinger_weber",
)


def test_missing_matscipy_raises_helpful_import_error(monkeypatch, capsys):
    # A None entry in sys.modules makes the import fail as if it were absent.
    for name in MATSCIPY_MODULES:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=re.escape(install_command("reference"))):
        generator.make_silicon_clusters(counts={"dimer": 1})
    assert generator.main(["--counts", "1", "0", "0", "0", "0"]) == 2
    assert install_command("reference") in capsys.readouterr().err


def test_command_line_rejects_a_missing_folder_before_any_work(tmp_path, capsys):
    output = tmp_path / "missing" / "clusters.xyz"
    with pytest.raises(SystemExit) as exit_info:
        generator.main(["--output", str(output)])
    assert exit_info.value.code == 2
    assert "the folder" in capsys.readouterr().err
    assert not output.parent.exists()


def test_reference_extra_provides_matscipy():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    assert "matscipy>=1.3.1" in extras["reference"]


# ------------------------------------------------------------ loader and docs


def test_missing_ase_raises_helpful_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ase", None)
    monkeypatch.setitem(sys.modules, "ase.io", None)
    with pytest.raises(ImportError, match=re.escape(install_command("atomistic"))):
        load_silicon_clusters()


def _description():
    descr = files("skpr.datasets") / "descr" / "silicon_clusters.rst"
    return descr.read_text(encoding="utf-8")


def test_descr_is_the_description_file(clusters):
    assert clusters.DESCR == _description()


def test_description_is_in_the_docstring_and_says_how_the_file_is_made():
    text = _description()
    summary, rest = load_silicon_clusters.__doc__.split("\n\n", 1)
    assert summary.startswith("Load ")
    assert rest.startswith(text.strip() + "\n\nReturns\n-------\n")
    # origin, licence, method and how to make the file again
    assert "generated by skpr" in text
    assert "BSD 3-Clause License" in text
    assert "Phys. Rev. B 31, 5262 (1985)" in text
    assert "python -m skpr.datasets.generators.silicon_clusters --seed 0" in text
    # the root conftest skips the loader's doctest without ASE on this text
    assert 'pip install ".[atomistic]"' in text


def test_docs_page_lists_the_loader_and_includes_the_description():
    page = (ROOT / "docs" / "datasets.rst").read_text(encoding="utf-8")
    assert "\n   load_silicon_clusters\n" in page
    assert ".. include:: ../skpr/datasets/descr/silicon_clusters.rst\n" in page
    licence = (files("skpr.datasets") / "data" / "LICENSE").read_text(encoding="utf-8")
    assert "silicon_clusters.xyz" in licence
