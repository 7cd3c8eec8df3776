"""Checks and bookkeeping for lists of ``ase.Atoms``.

Every transformer of :mod:`skpr.atomistic` takes one structure per sample. The
helpers here turn such a list into the flat arrays the rest of skpr works with:
atomic numbers, the integer ``structure_index`` of every atom, and the offset of
each structure's first atom.
"""

from numbers import Integral

import ase
import numpy as np
from ase.data import atomic_numbers, chemical_symbols


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
    return structures


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
