"""Checks and bookkeeping for lists of ``ase.Atoms``.

Every transformer of :mod:`skpr.atomistic` takes one structure per sample. The
helpers here check such a list (types, finite coordinates, no coincident
atoms) and turn it into the flat arrays the rest of skpr works with: atomic
numbers and the integer ``structure_index`` of every atom.
"""

from numbers import Integral

import ase
import numpy as np
from ase.data import atomic_numbers, chemical_symbols
from scipy.spatial import KDTree

#: Two atoms closer than this (in Å, periodic images included) are refused as
#: duplicates: no physical structure has them, and featomic's gradients of
#: the density of two coincident atoms are infinite.
MIN_DISTANCE = 1e-3


def check_structures(structures, *, caller):
    """Validate a list of structures; return it as a list.

    Parameters
    ----------
    structures : sequence of ase.Atoms
        One structure per sample.
    caller : str
        Name used in error messages.

    Returns
    -------
    list of ase.Atoms
        The same objects (never copied or modified).

    Raises
    ------
    TypeError
        For anything but a non-empty sequence of ``ase.Atoms``.
    ValueError
        For a structure without atoms, with NaN or infinite positions or
        cell, or with two atoms closer than :data:`MIN_DISTANCE` (periodic
        images included); the message names the structure and the atoms.
    """
    if isinstance(structures, ase.Atoms):
        raise TypeError(
            f"{caller} expects a list of ase.Atoms (one structure per sample), "
            "got a single ase.Atoms. Wrap it in a list: [atoms]."
        )
    if isinstance(structures, (str, bytes)) or not hasattr(structures, "__len__"):
        raise TypeError(
            f"{caller} expects a list of ase.Atoms (one structure per sample), got "
            f"{type(structures).__name__}. Read structures with "
            "ase.io.read(path, index=':')."
        )
    structures = list(structures)
    if not structures:
        raise ValueError(f"{caller} got an empty list of structures.")
    for i, atoms in enumerate(structures):
        if not isinstance(atoms, ase.Atoms):
            raise TypeError(
                f"{caller} expects a list of ase.Atoms, but item {i} is a "
                f"{type(atoms).__name__}. Feature matrices go directly to the "
                "estimators of skpr; the transformers of skpr.atomistic take "
                "structures."
            )
        if len(atoms) == 0:
            raise ValueError(f"Structure {i} has no atoms; remove it.")
        _check_geometry(atoms, i)
    return structures


def _check_geometry(atoms, position):
    """Refuse non-finite coordinates and coincident atoms in one structure."""
    bad = np.flatnonzero(~np.isfinite(atoms.positions).all(axis=1))
    if bad.size:
        raise ValueError(
            f"Structure {position} ({atoms.get_chemical_formula()}) has NaN or "
            f"infinite positions for atoms {bad[:10].tolist()}"
            f"{' ...' if bad.size > 10 else ''}. Every coordinate must be a finite "
            "number of Å; fix or remove the structure."
        )
    if not np.isfinite(atoms.cell.array).all():
        raise ValueError(
            f"Structure {position} ({atoms.get_chemical_formula()}) has a NaN or "
            f"infinite cell {atoms.cell.array.tolist()}. Give finite cell vectors "
            "in Å, or a zero cell and pbc=False for a molecule."
        )
    pairs = close_pairs(atoms, MIN_DISTANCE)
    if len(pairs):
        i, j = pairs[0]
        more = f" (and {len(pairs) - 1} more pairs)" if len(pairs) > 1 else ""
        raise ValueError(
            f"Structure {position} ({atoms.get_chemical_formula()}): atoms {i} and "
            f"{j} are closer than {MIN_DISTANCE} Å{more}, counting periodic images. "
            "Two atoms at the same place are a duplicate (their descriptor "
            "gradients are infinite); remove one of them."
        )


def close_pairs(atoms, distance):
    """Pairs of distinct atoms closer than ``distance``, periodic images included.

    Periodic directions are searched in fractional coordinates with a
    toroidal k-d tree, with the radius enlarged by the smallest singular
    value of the cell so that no Cartesian pair is missed; candidates are then
    checked by their Cartesian minimum-image distance.  An atom close to its
    own periodic image (a cell vector shorter than ``distance``) is not a pair.

    Parameters
    ----------
    atoms : ase.Atoms
        With finite positions and cell.
    distance : float
        In Å.

    Returns
    -------
    ndarray of int, shape (n_pairs, 2)
        ``i < j`` in each row.

    Notes
    -----
    Cost ``O(n_atoms log n_atoms)`` for a dense structure.
    """
    pbc = np.asarray(atoms.pbc, dtype=bool)
    if pbc.any():
        cell = np.asarray(atoms.cell.complete())
        points = np.linalg.solve(cell.T, atoms.positions.T).T
        wrapped = points[:, pbc] % 1.0
        wrapped[wrapped >= 1.0] = 0.0  # -1e-17 % 1.0 rounds to 1.0
        points[:, pbc] = wrapped
        radius = distance / np.linalg.svd(cell, compute_uv=False)[-1]
        tree = KDTree(points, boxsize=np.where(pbc, 1.0, 0.0))
    else:
        cell = np.eye(3)
        points, radius, tree = atoms.positions, distance, KDTree(atoms.positions)
    candidates = tree.query_pairs(radius, output_type="ndarray").reshape(-1, 2)
    displacement = points[candidates[:, 1]] - points[candidates[:, 0]]
    displacement[:, pbc] -= np.round(displacement[:, pbc])
    pairs = candidates[np.linalg.norm(displacement @ cell, axis=1) < distance]
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


def structure_index(structures):
    """Structure of every atom, in ase atom order, concatenated.

    Parameters
    ----------
    structures : list of ase.Atoms

    Returns
    -------
    ndarray of int64, shape (n_atoms_total,)
    """
    counts = [len(atoms) for atoms in structures]
    return np.repeat(np.arange(len(structures), dtype=np.int64), counts)


def resolve_species(species, *, caller):
    """Sorted unique atomic numbers from symbols or numbers.

    Parameters
    ----------
    species : sequence of int or str
    caller : str

    Returns
    -------
    ndarray of int64, shape (n_species,)
    """
    if isinstance(species, (str, Integral)):
        species = [species]
    numbers = []
    for item in species:
        if isinstance(item, str):
            if item not in atomic_numbers:
                raise ValueError(
                    f"{caller}: species {item!r} is not a chemical symbol. Give "
                    "symbols such as 'H', 'C' or atomic numbers such as 1, 6."
                )
            numbers.append(atomic_numbers[item])
        elif isinstance(item, Integral) and 0 < int(item) < len(chemical_symbols):
            numbers.append(int(item))
        else:
            raise ValueError(
                f"{caller}: species must hold chemical symbols or atomic numbers, "
                f"got {item!r}."
            )
    if not numbers:
        raise ValueError(f"{caller}: species is empty; give at least one element.")
    return np.unique(np.asarray(numbers, dtype=np.int64))


def learn_species(structures, species, *, caller):
    """The species list of a transformer: given, or every element in the data."""
    if species is not None:
        return resolve_species(species, caller=caller)
    return np.unique(np.concatenate([atoms.numbers for atoms in structures]))


def check_known_species(structures, species, *, caller):
    """Refuse structures holding an element outside the fitted species list."""
    known = set(species.tolist())
    for i, atoms in enumerate(structures):
        unseen = set(np.unique(atoms.numbers).tolist()) - known
        if unseen:
            raise ValueError(
                f"Structure {i} ({atoms.get_chemical_formula()}) contains "
                f"{symbols(sorted(unseen))}, which {caller} did not see in fit "
                f"(fitted species: {symbols(species)}). Its feature columns would "
                f"not exist. Pass every element up front, e.g. {caller}(species="
                f"{symbols(sorted(known | unseen))}), and fit again."
            )


def symbols(numbers):
    """Chemical symbols of atomic numbers, as a list of str."""
    return [chemical_symbols[int(z)] for z in numbers]


def read_forces(atoms, position):
    """Reference forces of one structure, shape (n_atoms, 3).

    Looks at the calculator results first (``atoms.get_forces()`` of an
    extended-XYZ file with a ``forces`` column), then the per-atom arrays
    ``"forces"`` and ``"force"``.
    """
    calc = atoms.calc
    if calc is not None and "forces" in getattr(calc, "results", {}):
        return np.array(calc.results["forces"], dtype=float)
    for key in ("forces", "force"):
        if key in atoms.arrays:
            return np.array(atoms.arrays[key], dtype=float)
    raise ValueError(
        f"Structure {position} ({atoms.get_chemical_formula()}) has no reference "
        "forces: no calculator result 'forces' and no per-atom array 'forces' or "
        "'force'. Attach them, e.g. atoms.arrays['forces'] = forces, or set "
        "force_weight=0 to train on energies only."
    )
