"""Tests for the bundled data sets in :mod:`skpr.datasets`.

The raw files are read here independently of the loaders (``np.load`` for the
``.npz`` files, a small hand-written extended-XYZ parser for the ``.xyz`` files),
and the loaders must agree with them. Each description (``descr/<name>.rst``)
must be the loader's ``DESCR``, part of its docstring and included by the docs.
"""

import copy
import re
import shlex
import sys
from importlib.resources import as_file, files
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import skpr
import skpr.datasets
from skpr._extras import install_command
from skpr.datasets import (
    load_carbon,
    load_carbon_surfaces,
    load_csd_shieldings,
    load_degenerate_methane,
    load_ethanol,
    load_liquid_carbon,
    load_nice_methane,
    load_qm9,
    load_silicon_clusters,
    load_water_dimers,
)

DATA_FILES = (
    "nice_dataset.npz",
    "degenerate_CH4_manifold.npz",
    "csd-1000r.npz",
    "qm9_reduced_100.xyz",
    "ethanol_reduced_100.xyz",
    "carbon_reduced_100.xyz",
    "silicon_clusters.xyz",
    "water_dimers.xyz",
    "carbon_surfaces.xyz",
    "liquid_carbon.xyz",
)
ALL_LOADERS = (
    load_nice_methane,
    load_csd_shieldings,
    load_degenerate_methane,
    load_qm9,
    load_ethanol,
    load_carbon,
    load_silicon_clusters,
    load_water_dimers,
    load_carbon_surfaces,
    load_liquid_carbon,
)
ASE_LOADERS = (
    load_qm9,
    load_ethanol,
    load_carbon,
    load_silicon_clusters,
    load_water_dimers,
    load_carbon_surfaces,
    load_liquid_carbon,
)

#: the structure loaders need the optional ASE (the extra atomistic)
needs_ase = pytest.mark.skipif(
    find_spec("ase") is None, reason=f"needs ASE: {install_command('atomistic')}"
)
LOADER_PARAMS = [
    pytest.param(loader, marks=needs_ase) if loader in ASE_LOADERS else loader
    for loader in ALL_LOADERS
]


DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "datasets.rst"


def _data(name):
    return files("skpr.datasets") / "data" / name


def _description_file(loader):
    name = loader.__name__.removeprefix("load_")
    return files("skpr.datasets") / "descr" / f"{name}.rst"


def _raw_npz(name):
    with as_file(_data(name)) as path, np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def _parse_extxyz(name):
    """Parse an extended-XYZ file without ASE.

    Returns a list of frames, each a dict with ``info`` (comment-line key=value
    pairs, values as strings) and ``columns`` (per-atom property name -> list of
    per-atom lists of strings).
    """
    lines = _data(name).read_text().splitlines()
    frames, start = [], 0
    while start < len(lines) and lines[start].strip():
        n_atoms = int(lines[start])
        info = dict(token.split("=", 1) for token in shlex.split(lines[start + 1]))
        rows = [line.split() for line in lines[start + 2 : start + 2 + n_atoms]]
        spec = info["Properties"].split(":")
        columns, offset = {}, 0
        for prop, count in zip(spec[::3], spec[2::3], strict=True):
            width = int(count)
            columns[prop] = [row[offset : offset + width] for row in rows]
            offset += width
        assert all(len(row) == offset for row in rows)
        frames.append({"info": info, "columns": columns})
        start += n_atoms + 2
    return frames


def _floats(strings):
    return np.array(strings, dtype=float)


# --------------------------------------------------------------------------- npz


def test_nice_methane_matches_file():
    raw = _raw_npz("nice_dataset.npz")
    methane = load_nice_methane()
    assert methane.data.shape == (500, 160)
    assert methane.target.shape == (500,)
    assert methane.data.dtype == np.float64
    assert methane.target.dtype == np.float64
    assert_array_equal(methane.data, raw["structural_features"])
    assert_array_equal(methane.target, raw["energies"])
    assert methane.units == {"target": "eV"}


def test_csd_shieldings_shapes_and_dtypes():
    raw = _raw_npz("csd-1000r.npz")
    csd = load_csd_shieldings()
    assert csd.data.shape == (500, 100)
    assert csd.data.dtype == np.float64
    assert csd.target.shape == (500,)
    assert csd.target.dtype == np.float64
    assert csd.structure_index.shape == (500,)
    assert csd.atom_index.shape == (500,)
    assert np.issubdtype(csd.structure_index.dtype, np.integer)
    assert np.issubdtype(csd.atom_index.dtype, np.integer)
    assert_array_equal(csd.data, raw["X"])
    assert raw["Y"].shape == (500, 1)
    assert_array_equal(csd.target, raw["Y"][:, 0])
    assert_array_equal(csd.atom_index, raw["original_mapping"][:, 1])
    assert csd.units == {"target": "ppm"}


def test_csd_structure_index_is_contiguous_and_follows_original_mapping():
    structure_id = _raw_npz("csd-1000r.npz")["original_mapping"][:, 0]
    structure_index = load_csd_shieldings().structure_index

    n_structures = np.unique(structure_id).size
    assert n_structures == 305
    assert_array_equal(np.unique(structure_index), np.arange(n_structures))

    # Labels are handed out in order of first appearance, computed by a loop.
    expected, seen = [], {}
    for sid in structure_id.tolist():
        expected.append(seen.setdefault(sid, len(seen)))
    assert_array_equal(structure_index, expected)

    # Same label exactly when same original structure id (a bijection).
    pairs = np.unique(np.column_stack([structure_index, structure_id]), axis=0)
    assert pairs.shape[0] == n_structures


def test_degenerate_methane_matches_file():
    raw = _raw_npz("degenerate_CH4_manifold.npz")
    manifolds = load_degenerate_methane()
    assert manifolds.power_spectrum.shape == (162, 12)
    assert manifolds.bispectrum.shape == (162, 12)
    assert manifolds.power_spectrum.dtype == np.float64
    assert manifolds.bispectrum.dtype == np.float64
    assert_array_equal(manifolds.power_spectrum, raw["SOAP_power_spectrum"])
    assert_array_equal(manifolds.bispectrum, raw["SOAP_bispectrum"])
    assert np.issubdtype(manifolds.manifold.dtype, np.integer)
    assert_array_equal(manifolds.manifold[:81], 0)
    assert_array_equal(manifolds.manifold[81:], 1)


# --------------------------------------------------------------------------- xyz


@needs_ase
def test_qm9_shapes_fields_and_units():
    from ase import Atoms

    qm9 = load_qm9()
    frames = _parse_extxyz("qm9_reduced_100.xyz")
    assert len(qm9.structures) == len(frames) == 100
    assert all(isinstance(atoms, Atoms) for atoms in qm9.structures)
    assert qm9.energy.shape == (100,)
    assert qm9.energy.dtype == np.float64
    assert "forces" not in qm9
    expected_names = tuple(
        key for key in frames[0]["info"] if key not in ("Properties", "pbc")
    )
    assert qm9.info_names == expected_names
    assert {"U0", "U", "H", "G", "epsgap"} <= set(qm9.info_names)
    assert qm9.units["energy"] == "Hartree"
    assert qm9.units["U0"] == "Hartree"
    for atoms, frame in zip(qm9.structures, frames, strict=True):
        assert len(atoms) == len(frame["columns"]["species"])
        assert_array_equal(atoms.positions, _floats(frame["columns"]["pos"]))


@needs_ase
def test_ethanol_forces_are_calculator_results_matching_file():
    ethanol = load_ethanol()
    frames = _parse_extxyz("ethanol_reduced_100.xyz")
    assert len(ethanol.structures) == len(ethanol.forces) == len(frames) == 100
    assert ethanol.energy.shape == (100,)
    assert ethanol.energy.dtype == np.float64
    assert ethanol.units["energy"] == "kcal/mol"
    assert ethanol.units["forces"] == "kcal/mol/Å"
    for atoms, forces, energy, frame in zip(
        ethanol.structures, ethanol.forces, ethanol.energy, frames, strict=True
    ):
        parsed_forces = _floats(frame["columns"]["forces"])
        assert parsed_forces.shape == (9, 3)
        assert set(atoms.calc.results) == {"energy", "forces"}
        # The same decimal text parsed twice gives the same float, bit for bit.
        assert_array_equal(atoms.get_forces(), parsed_forces)
        assert_array_equal(forces, parsed_forces)
        assert atoms.get_potential_energy() == float(frame["info"]["energy"])
        assert energy == float(frame["info"]["energy"])
        assert_array_equal(atoms.positions, _floats(frame["columns"]["pos"]))


@needs_ase
def test_carbon_forces_and_virial_match_file():
    carbon = load_carbon()
    frames = _parse_extxyz("carbon_reduced_100.xyz")
    assert len(carbon.structures) == len(carbon.forces) == len(frames) == 100
    assert carbon.energy.shape == (100,)
    assert carbon.virial.shape == (100, 3, 3)
    assert carbon.virial.dtype == np.float64
    assert carbon.units == {
        "energy": "eV",
        "forces": "eV/Å",
        "virial": "eV",
        "positions": "Å",
    }
    for atoms, forces, virial, frame in zip(
        carbon.structures, carbon.forces, carbon.virial, frames, strict=True
    ):
        assert atoms.pbc.all()
        assert_array_equal(
            atoms.cell.array, _floats(frame["info"]["Lattice"].split()).reshape(3, 3)
        )
        assert_array_equal(forces, _floats(frame["columns"]["force"]))
        assert_array_equal(
            virial, _floats(frame["info"]["virial"].split()).reshape(3, 3)
        )


@needs_ase
@pytest.mark.parametrize(
    ("loader", "name", "key"),
    [
        (load_qm9, "qm9_reduced_100.xyz", "U0"),
        (load_ethanol, "ethanol_reduced_100.xyz", "energy"),
        (load_carbon, "carbon_reduced_100.xyz", "energy"),
        (load_silicon_clusters, "silicon_clusters.xyz", "energy"),
        (load_carbon_surfaces, "carbon_surfaces.xyz", "energy"),
    ],
)
def test_energy_matches_first_comment_line(loader, name, key):
    lines = _data(name).read_text().splitlines()
    match = re.search(rf"(?:^|\s){re.escape(key)}=(\S+)", lines[1])
    assert match is not None
    assert loader().energy[0] == float(match.group(1))


# ----------------------------------------------------------------------- copies


def _mutate(value):
    """Change ``value`` in place wherever it can be changed."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        value[...] = "mutated"
    elif isinstance(value, np.ndarray):
        value += 1
    elif isinstance(value, dict):
        value["mutated"] = True
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, np.ndarray):
                item += 1
            else:  # an ase.Atoms
                item.positions += 1.0
                item.numbers[0] = 92
                item.info["mutated"] = True
                for array in item.arrays.values():
                    if array.dtype.kind == "f":
                        array += 1.0
                if item.calc is not None:
                    for result in item.calc.results.values():
                        if isinstance(result, np.ndarray):
                            result += 1.0


def _assert_same(left, right):
    assert left.keys() == right.keys()
    for key in left:
        a, b = left[key], right[key]
        if isinstance(a, np.ndarray):
            assert_array_equal(a, b)
        elif isinstance(a, list):
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                if isinstance(x, np.ndarray):
                    assert_array_equal(x, y)
                else:
                    assert_array_equal(x.positions, y.positions)
                    assert_array_equal(x.numbers, y.numbers)
                    assert x.info.keys() == y.info.keys()
                    assert x.arrays.keys() == y.arrays.keys()
                    for name in x.arrays:
                        assert_array_equal(x.arrays[name], y.arrays[name])
                    if x.calc is not None:
                        for name, result in x.calc.results.items():
                            assert_array_equal(result, y.calc.results[name])
        else:
            assert a == b


@pytest.mark.parametrize("loader", LOADER_PARAMS)
def test_loaders_return_independent_copies(loader):
    expected = copy.deepcopy(loader())
    first = loader()
    for value in first.values():
        _mutate(value)
    _assert_same(expected, loader())


@needs_ase
@pytest.mark.parametrize(
    ("loader", "stored_forces"),
    [
        (load_ethanol, lambda atoms: atoms.calc.results["forces"]),
        (load_carbon, lambda atoms: atoms.arrays["force"]),
        (load_silicon_clusters, lambda atoms: atoms.calc.results["forces"]),
        (load_carbon_surfaces, lambda atoms: atoms.calc.results["forces"]),
    ],
)
def test_forces_do_not_share_memory_with_structures(loader, stored_forces):
    bunch = loader()
    before = stored_forces(bunch.structures[0]).copy()
    bunch.forces[0] += 1.0
    assert_array_equal(stored_forces(bunch.structures[0]), before)


# ------------------------------------------------------------- package, licence


def test_data_and_licence_ship_with_the_package():
    for name in (*DATA_FILES, "LICENSE"):
        assert _data(name).is_file(), name
    licence = _data("LICENSE").read_text(encoding="utf-8")
    assert "BSD 3-Clause License" in licence
    assert "Copyright (c) 2020 the sklearn-matter contributors" in licence
    assert (
        "Copyright (c) 2023, Laboratory of Computational Science and Modeling"
        in licence
    )


@pytest.mark.parametrize("loader", LOADER_PARAMS)
def test_descr_names_origin_and_licence(loader):
    descr = loader().DESCR
    assert "BSD 3-Clause License" in descr
    origins = ("scikit-matter", "metatrain", "generated by skpr")
    assert sum(origin in descr for origin in origins) == 1


@pytest.mark.parametrize("loader", ASE_LOADERS)
def test_missing_ase_raises_helpful_import_error(loader, monkeypatch):
    # A None entry in sys.modules makes the import fail as if ASE were absent.
    monkeypatch.setitem(sys.modules, "ase", None)
    monkeypatch.setitem(sys.modules, "ase.io", None)
    with pytest.raises(ImportError, match=re.escape(install_command("atomistic"))):
        loader()


def test_public_names_are_the_loaders_and_are_documented():
    loaders = sorted(loader.__name__ for loader in ALL_LOADERS)
    assert sorted(skpr.datasets.__all__) == loaders
    text = DOCS_PAGE.read_text(encoding="utf-8")
    # the autosummary table of the page, one generated page per loader
    listed = re.findall(r"^   (load_\w+)$", text, flags=re.MULTILINE)
    assert sorted(listed) == loaders
    assert ".. currentmodule:: skpr.datasets" in text


# ------------------------------------------------------------------ descriptions


@pytest.mark.parametrize("loader", LOADER_PARAMS)
def test_descr_is_the_description_file_and_is_in_the_docstring(loader):
    text = _description_file(loader).read_text(encoding="utf-8")
    assert loader().DESCR == text
    # between the one-line summary and the numpydoc sections
    summary, rest = loader.__doc__.split("\n\n", 1)
    assert summary.startswith("Load ")
    assert rest.startswith(text.strip() + "\n\nReturns\n-------\n")


def test_every_description_has_a_loader_and_is_included_in_the_docs():
    descr = files("skpr.datasets") / "descr"
    shipped = sorted(item.name for item in descr.iterdir() if item.is_file())
    expected = sorted(_description_file(loader).name for loader in ALL_LOADERS)
    assert shipped == expected
    included = re.findall(
        r"^\.\. include:: \.\./skpr/datasets/descr/(\S+)$",
        DOCS_PAGE.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert sorted(included) == expected


@pytest.mark.parametrize("loader", ALL_LOADERS)
def test_description_fits_in_a_docstring(loader):
    # A section title inside a docstring breaks numpydoc and autodoc, and a
    # doctest prompt would run as a test of the loader.
    lines = _description_file(loader).read_text(encoding="utf-8").splitlines()
    adornment = re.compile(r"""^([=\-~^"'`#*+:.])\1{2,}\s*$""")
    assert not [line for line in lines if adornment.match(line)]
    assert not [line for line in lines if line.lstrip().startswith(">>>")]
    assert lines[0].strip() and not lines[0].startswith(" ")
