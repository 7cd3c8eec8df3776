"""Amorphous carbon cells, bulk and slabs, with Tersoff energies and forces.

Writes ``skpr/datasets/data/carbon_surfaces.xyz``, read by
:func:`skpr.datasets.load_carbon_surfaces`::

    python -m skpr.datasets.generators.carbon_surfaces [--seed 0] [--jobs 2]

(about 2 minutes with two processes, 4-5 with one; ``--output PATH`` writes
elsewhere, ``--counts BULK SURFACE`` makes fewer cells).

The data set is built for the dataset-augmentation experiment of Chong et al.
(Fig. 4): a linear model trained on dense bulk carbon (density above
3.0 g/cm^3), a target set of cells with surfaces, and a pool of bulk cells of
every density from which the training set is augmented, guided by prediction
rigidities. It holds (:data:`COUNTS`)

- **bulk** cells of :data:`N_ATOMS` carbon atoms, periodic in all directions,
  densities uniform over ``DENSITY_RANGES["bulk"]``;
- **surface** cells (slabs): bulk-like cells of densities uniform over
  ``DENSITY_RANGES["surface"]``, opened along ``z`` by a vacuum gap uniform
  over :data:`VACUUM_RANGE`. They stay periodic in all directions; the gap,
  much wider than the 2.1 Å cutoff of the potential, makes two surfaces.

**Sampling.** A cell is orthorhombic: its volume is that of
:data:`N_ATOMS` carbon atoms at the drawn density, and its side lengths are
``volume**(1/3) * exp(u - mean(u))`` with the three ``u`` uniform in
``[-ASPECT, ASPECT]`` (nearly cubic, volume unchanged). The atoms are placed one
after the other, each uniform over the points of the cell at least
:data:`MIN_DISTANCE` from every atom already placed and from their periodic
images (a cell whose free space runs out is started again). For a slab the gap
is then added to the ``z`` side and the atoms moved up by half of it, so that
the slab sits in the middle of the cell; ``density`` is that of the slab
without its gap. Each kind draws from its own stream, spawned from
``numpy.random.default_rng(seed)``: the first cells of a kind do not depend on
how many cells of the other kind are asked for.

**Relaxation.** Random positions are far from any structure carbon takes, so
each cell is relaxed briefly with ASE's FIRE optimizer under the potential
(positions only, fixed cell), until every force is below :data:`FMAX` or for
at most :data:`MAX_STEPS` steps (:data:`FIRE_PARAMETERS`). This reaches the
local minimum nearest to the random start (or comes close to it), not the
lower energies of melt-quenched amorphous carbon: the cells are amorphous
rather than random, and on average about 2 eV/atom above diamond. The
relaxation needs no random numbers, so the cells may be relaxed in several
processes (``jobs``) without changing a digit. The relaxed positions are
wrapped into the cell and rounded to the :data:`DECIMALS` decimals the
extended-XYZ file keeps, and the energies and forces are those of exactly the
positions in the file.

**Energies** come from matscipy's ``Manybody`` calculator with the
``TersoffBrenner`` form and the parameter set ``Tersoff_PRB_39_5566_Si_C``,
whose carbon-carbon entries are Tersoff's carbon potential (Phys. Rev. Lett.
61, 2879, 1988; Phys. Rev. B 39, 5566, 1989): cutoff switched off between 1.8
and 2.1 Å, diamond at -7.37 eV/atom. Its silicon entries are never used.
matscipy's ``Brenner_PRB_42_9458_C_I`` is not used: matscipy implements the
Abell-Tersoff part of Brenner's potential without its conjugation terms, and
gives diamond at -8.9 eV/atom instead of Brenner's -7.37.

References
----------
J. Tersoff, "Empirical interatomic potential for carbon, with applications to
amorphous carbon", Phys. Rev. Lett. 61, 2879 (1988).

J. Tersoff, "Modeling solid-state chemistry: interatomic potentials for
multicomponent systems", Phys. Rev. B 39, 5566 (1989).

S. Chong et al., "Prediction rigidities for data-driven chemistry", Faraday
Discuss. (2024), DOI 10.1039/d4fd00101j, Fig. 4.
"""

import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from skpr._extras import install_command
from skpr.datasets.generators.silicon_clusters import (
    generator_parser,
    round_positions,
    run_command,
    write_structures,
)

#: Number of cells of each kind in the shipped file, in file order.
COUNTS = {"bulk": 400, "surface": 100}

#: Number of carbon atoms of every cell.
N_ATOMS = 16

#: Bounds of the uniform densities (g/cm^3) of each kind; for a slab, the
#: density without its vacuum gap.
DENSITY_RANGES = {"bulk": (1.5, 3.5), "surface": (2.0, 3.2)}

#: Bounds (Å) of the uniform vacuum gap added along ``z`` to a slab.
VACUUM_RANGE = (8.0, 10.0)

#: Half-width of the uniform logarithmic aspect of the side lengths: each side
#: is within a factor ``exp(2 * ASPECT)`` of the others.
ASPECT = 0.1

#: Smallest distance (Å) of two atoms when they are placed (before relaxation).
MIN_DISTANCE = 1.3

#: The relaxation stops when every force is below FMAX (eV/Å), or after MAX_STEPS.
FMAX, MAX_STEPS = 0.2, 100

#: Parameters of ``ase.optimize.FIRE`` (those of ASE 3.29, written out).
FIRE_PARAMETERS = {"dt": 0.1, "maxstep": 0.2}

#: Decimals of the positions and forces in the extended-XYZ file (ASE writes
#: per-atom floats as ``%16.8f``); the side lengths are rounded to as many.
DECIMALS = 8

#: Mass of a carbon atom (u, ``ase.data.atomic_masses[6]``) and grams per u.
CARBON_MASS, GRAMS_PER_U = 12.011, 1.66053906660e-24

#: Candidates drawn at once for the next atom, batches tried before the cell
#: is started again, and starts before the density is deemed too high.
BATCH, MAX_BATCHES, MAX_STARTS = 64, 32, 100

#: The shipped file, the default output.
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "data" / "carbon_surfaces.xyz"

_MISSING = (
    "Generating the carbon cells needs the optional dependency matscipy "
    "(with ASE), which is not installed. Install it with: "
    + install_command("reference")
)


def density(lengths, n_atoms=N_ATOMS):
    """Density (g/cm^3) of ``n_atoms`` carbon atoms in an orthorhombic cell.

    Parameters
    ----------
    lengths : array-like of shape (3,)
        Side lengths of the cell, in Å.
    n_atoms : int, default=N_ATOMS

    Returns
    -------
    density : float

    Examples
    --------
    >>> round(density([3.5668, 3.5668, 3.5668], n_atoms=8), 3)  # diamond
    3.516
    """
    volume = float(np.prod(lengths)) * 1e-24  # cm^3
    return n_atoms * CARBON_MASS * GRAMS_PER_U / volume


def cell_lengths(target_density, rng, *, aspect=ASPECT, n_atoms=N_ATOMS):
    """Side lengths of a nearly cubic cell of ``n_atoms`` carbon atoms.

    ``volume**(1/3) * exp(u - mean(u))``, with ``u`` uniform in
    ``[-aspect, aspect]``, rounded to :data:`DECIMALS` decimals.

    Parameters
    ----------
    target_density : float
        In g/cm^3.
    rng : numpy.random.Generator
    aspect : float, default=ASPECT
    n_atoms : int, default=N_ATOMS

    Returns
    -------
    lengths : ndarray of shape (3,)
        In Å; their :func:`density` is ``target_density`` up to the rounding.

    Examples
    --------
    >>> import numpy as np
    >>> lengths = cell_lengths(3.0, np.random.default_rng(0))
    >>> lengths.round(3)
    array([5.052, 4.695, 4.485])
    >>> round(density(lengths), 8)
    3.0
    """
    volume = n_atoms * CARBON_MASS * GRAMS_PER_U / target_density * 1e24  # Å^3
    u = rng.uniform(-aspect, aspect, size=3)
    return round_positions(np.cbrt(volume) * np.exp(u - u.mean()))


def minimum_image_distances(positions, lengths):
    """Distances of all pairs ``i < j`` of atoms in an orthorhombic periodic cell.

    Each distance is to the nearest periodic image, in the order of
    ``np.triu_indices``.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)
    lengths : array-like of shape (3,)
        Side lengths of the cell.

    Returns
    -------
    distances : ndarray of shape (n_atoms * (n_atoms - 1) // 2,)

    Examples
    --------
    >>> import numpy as np
    >>> minimum_image_distances(np.array([[0.5, 0, 0], [9.5, 0, 0]]), [10, 10, 10])
    array([1.])
    """
    positions = np.asarray(positions, dtype=float)
    lengths = np.asarray(lengths, dtype=float)
    i, j = np.triu_indices(len(positions), k=1)
    difference = positions[j] - positions[i]
    difference -= lengths * np.round(difference / lengths)
    return np.linalg.norm(difference, axis=1)


def random_cell_positions(lengths, rng, *, n_atoms=N_ATOMS, min_distance=MIN_DISTANCE):
    """Random positions in a periodic cell, no two atoms closer than ``min_distance``.

    Sequential placement (see the module docstring): each atom is uniform over
    the points of the cell at least ``min_distance`` from every atom already
    placed and from their periodic images.

    Parameters
    ----------
    lengths : array-like of shape (3,)
        Side lengths (Å) of the orthorhombic cell, each above
        ``2 * min_distance`` so that one image of each atom is enough to check.
    rng : numpy.random.Generator
    n_atoms : int, default=N_ATOMS
    min_distance : float, default=MIN_DISTANCE
        In Å.

    Returns
    -------
    positions : ndarray of shape (n_atoms, 3)
        In Å, inside the cell.

    Raises
    ------
    ValueError
        If a side is not above ``2 * min_distance``.
    RuntimeError
        If :data:`MAX_STARTS` starts give no cell: the atoms do not fit.

    Examples
    --------
    >>> import numpy as np
    >>> lengths = np.array([4.5, 4.5, 4.5])
    >>> positions = random_cell_positions(lengths, np.random.default_rng(0))
    >>> positions.shape
    (16, 3)
    >>> bool(minimum_image_distances(positions, lengths).min() >= 1.3)
    True
    """
    lengths = np.asarray(lengths, dtype=float)
    if np.any(lengths <= 2 * min_distance):
        raise ValueError(
            f"Every side of the cell must exceed 2 * min_distance = "
            f"{2 * min_distance} Å, got {lengths.tolist()}: use a lower density "
            "or a smaller min_distance."
        )
    for _ in range(MAX_STARTS):
        placed = np.empty((0, 3))
        while len(placed) < n_atoms:
            new = _next_atom(placed, lengths, rng, min_distance)
            if new is None:
                break
            placed = np.vstack([placed, new])
        else:
            return placed
    raise RuntimeError(
        f"Found no placement of {n_atoms} atoms at least {min_distance} Å apart "
        f"in the cell {lengths.tolist()} Å in {MAX_STARTS} starts; lower the "
        "density or min_distance."
    )


def _next_atom(placed, lengths, rng, min_distance):
    """A point uniform over the free space of the cell, or None."""
    for _ in range(MAX_BATCHES):
        candidates = rng.uniform(0.0, 1.0, size=(BATCH, 3)) * lengths
        difference = candidates[:, None, :] - placed
        difference -= lengths * np.round(difference / lengths)
        distances = np.linalg.norm(difference, axis=-1)
        allowed = np.all(distances >= min_distance, axis=1)
        if allowed.any():
            return candidates[np.argmax(allowed)]
    return None


def random_cell(kind, rng):
    """Draw the starting cell of one structure of ``kind``.

    The draws, in this order: the density, the aspect of the cell
    (:func:`cell_lengths`), the positions (:func:`random_cell_positions`) and,
    for a slab, the vacuum gap.

    Parameters
    ----------
    kind : {"bulk", "surface"}
    rng : numpy.random.Generator

    Returns
    -------
    positions : ndarray of shape (N_ATOMS, 3)
        In Å, not yet relaxed.
    lengths : ndarray of shape (3,)
        Side lengths of the cell, gap included, in Å.
    info : dict
        ``kind``, ``density`` (g/cm^3, of the cell without the gap) and, for
        a slab, ``vacuum`` (Å).

    Examples
    --------
    >>> import numpy as np
    >>> positions, lengths, info = random_cell("surface", np.random.default_rng(0))
    >>> info["kind"], bool(8.0 <= info["vacuum"] <= 10.0)
    ('surface', True)
    >>> bool(np.all(positions[:, 2] >= info["vacuum"] / 2))
    True
    """
    target = rng.uniform(*DENSITY_RANGES[kind])
    lengths = cell_lengths(target, rng)
    positions = random_cell_positions(lengths, rng)
    info = {"kind": kind, "density": density(lengths)}
    if kind == "surface":
        slab = lengths[2]
        lengths = lengths.copy()
        lengths[2] = round_positions([slab + rng.uniform(*VACUUM_RANGE)])[0]
        info["vacuum"] = float(lengths[2] - slab)
        positions = positions + [0.0, 0.0, info["vacuum"] / 2]
    return positions, lengths, info


def tersoff_calculator():
    """matscipy's Tersoff potential of carbon.

    Returns
    -------
    calculator : matscipy.calculators.manybody.Manybody
        ``TersoffBrenner`` form with the parameter set
        ``Tersoff_PRB_39_5566_Si_C``, whose carbon entries are Tersoff's
        carbon potential (Phys. Rev. Lett. 61, 2879, 1988).

    Raises
    ------
    ImportError
        If matscipy is not installed; the message says how to install it.
    """
    try:
        from matscipy.calculators.manybody import Manybody
        from matscipy.calculators.manybody.explicit_forms import TersoffBrenner
        from matscipy.calculators.manybody.explicit_forms.tersoff_brenner import (
            Tersoff_PRB_39_5566_Si_C,
        )
    except ImportError as error:
        raise ImportError(_MISSING) from error
    return Manybody(**TersoffBrenner(Tersoff_PRB_39_5566_Si_C))


def _carbon_cell(positions, lengths):
    from ase import Atoms

    atoms = Atoms(f"C{len(positions)}", positions=positions, cell=lengths, pbc=True)
    # A new calculator for every structure, so that no cached state can make a
    # result depend on the order of the calculations.
    atoms.calc = tersoff_calculator()
    return atoms


def energy_and_forces(positions, lengths):
    """Tersoff energy (eV) and forces (eV/Å) of a periodic carbon cell.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)
        In Å.
    lengths : array-like of shape (3,)
        Side lengths of the orthorhombic cell, in Å.

    Returns
    -------
    energy : float
    forces : ndarray of shape (n_atoms, 3)
    """
    atoms = _carbon_cell(positions, lengths)
    with _quiet_matscipy():
        return float(atoms.get_potential_energy()), np.array(atoms.get_forces())


def relax(positions, lengths):
    """Relax a cell with FIRE, positions only; its energy and forces.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)
        Starting positions, in Å.
    lengths : array-like of shape (3,)
        Side lengths of the orthorhombic cell, in Å, kept fixed.

    Returns
    -------
    positions : ndarray of shape (n_atoms, 3)
        Relaxed (:data:`FMAX`, at most :data:`MAX_STEPS` steps), wrapped into
        the cell and rounded with :func:`round_positions`.
    energy : float
        Of the rounded positions, in eV.
    forces : ndarray of shape (n_atoms, 3)
        Of the rounded positions, in eV/Å.
    """
    from ase.optimize import FIRE

    atoms = _carbon_cell(positions, lengths)
    with _quiet_matscipy():
        FIRE(atoms, logfile=None, **FIRE_PARAMETERS).run(fmax=FMAX, steps=MAX_STEPS)
    atoms.wrap()
    relaxed = round_positions(atoms.positions)
    return (relaxed, *energy_and_forces(relaxed, lengths))


def _relax(cell):
    """:func:`relax` of a ``(positions, lengths)`` pair, for ``Executor.map``."""
    return relax(*cell)


@contextmanager
def _quiet_matscipy():
    """Hide one harmless warning of matscipy's Tersoff form inside the block.

    Its bond-order derivative calls ``np.power(..., where=xi != 0)`` without
    ``out``; the entries left unset are those with ``xi == 0``, which the
    enclosing ``np.where`` replaces by zero.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="'where' used without 'out'", category=UserWarning
        )
        yield


def make_carbon_surfaces(*, seed=0, counts=None, jobs=1):
    """Build the carbon cells with their Tersoff energies.

    Parameters
    ----------
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.
    counts : dict of str to int, default=None
        Number of cells of each kind; kinds left out are not made. None means
        :data:`COUNTS`, the shipped file.
    jobs : int, default=1
        Number of processes relaxing the cells; the result does not depend
        on it.

    Returns
    -------
    structures : list of ase.Atoms
        Bulk cells, then slabs; periodic, orthorhombic, :data:`N_ATOMS` carbon
        atoms each. Energy and forces are the results of a
        ``SinglePointCalculator``; ``atoms.info`` holds ``kind``, ``density``
        (g/cm^3) and, for slabs, ``vacuum`` (Å).

    Raises
    ------
    ValueError
        If ``counts`` names an unknown kind, a count is not a non-negative
        integer or ``jobs`` is not a positive integer.
    ImportError
        If matscipy is not installed.
    """
    counts = dict(COUNTS if counts is None else counts)
    unknown = sorted(set(counts) - set(COUNTS))
    if unknown:
        raise ValueError(
            f"counts has unknown kinds {unknown}; the kinds are {list(COUNTS)}."
        )
    for kind, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int | np.integer):
            raise ValueError(
                f"counts[{kind!r}] must be a non-negative int, got {count!r}."
            )
        if count < 0:
            raise ValueError(f"counts[{kind!r}] must be non-negative, got {count}.")
    if isinstance(jobs, bool) or not isinstance(jobs, int | np.integer) or jobs < 1:
        raise ValueError(f"jobs must be a positive int, got {jobs!r}.")
    tersoff_calculator()  # fail early if matscipy is missing
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    spawned = np.random.default_rng(seed).spawn(len(COUNTS))
    streams = dict(zip(COUNTS, spawned, strict=True))
    starts = [
        random_cell(kind, streams[kind])
        for kind in COUNTS
        for _ in range(counts.get(kind, 0))
    ]
    cells = [(positions, lengths) for positions, lengths, _ in starts]
    if jobs == 1 or len(cells) < 2:
        relaxed = [_relax(cell) for cell in cells]
    else:
        # spawn: a forked child would inherit whatever threads the parent runs
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            relaxed = list(pool.map(_relax, cells, chunksize=8))
    structures = []
    for (_, lengths, info), (positions, energy, forces) in zip(
        starts, relaxed, strict=True
    ):
        atoms = Atoms(f"C{len(positions)}", positions=positions, cell=lengths, pbc=True)
        atoms.info.update(info)
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        structures.append(atoms)
    return structures


#: The writer under the name of this data set.
write_carbon_surfaces = write_structures


def summary(structures):
    """A few lines on the cells: counts, densities, energies per atom, forces.

    Parameters
    ----------
    structures : list of ase.Atoms
        As made by :func:`make_carbon_surfaces`.

    Returns
    -------
    text : str
    """
    kind = np.array([atoms.info["kind"] for atoms in structures], dtype=str)
    rho = np.array([atoms.info["density"] for atoms in structures], dtype=float)
    per_atom = np.array(
        [atoms.get_potential_energy() / len(atoms) for atoms in structures]
    )
    fmax = np.array(
        [np.linalg.norm(atoms.get_forces(), axis=1).max() for atoms in structures]
    )
    groups = {
        "bulk": kind == "bulk",
        "bulk, density > 3.0": (kind == "bulk") & (rho > 3.0),
        "bulk, density < 2.0": (kind == "bulk") & (rho < 2.0),
        "surface": kind == "surface",
    }
    lines = []
    for name, chosen in groups.items():
        if chosen.any():
            lines.append(
                f"{name}: {chosen.sum()} cells, density {rho[chosen].min():.2f}-"
                f"{rho[chosen].max():.2f} g/cm^3, energy {per_atom[chosen].min():.3f}"
                f" to {per_atom[chosen].max():.3f} eV/atom (mean "
                f"{per_atom[chosen].mean():.3f}), relaxed below {FMAX} eV/Å: "
                f"{(fmax[chosen] < FMAX).sum()}"
            )
    return "\n".join(lines)


def _parser():
    parser = generator_parser(
        "carbon_surfaces",
        "Write periodic cells of 16 carbon atoms, bulk (1.5-3.5 "
        "g/cm^3) and slabs with two surfaces, relaxed briefly, with Tersoff "
        "energies and forces computed with matscipy, as extended XYZ. Needs "
        "the extra reference: "
        f"{install_command('reference')}.",
        DEFAULT_OUTPUT,
        COUNTS,
        what="cells",
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        type=int,
        default=1,
        help="processes relaxing the cells; the file does not depend on it "
        "(default: %(default)s)",
    )
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""

    def make(args):
        counts = dict(zip(COUNTS, args.counts, strict=True))
        structures = make_carbon_surfaces(seed=args.seed, counts=counts, jobs=args.jobs)
        print(summary(structures))
        return structures

    return run_command(_parser(), make, argv)


if __name__ == "__main__":
    sys.exit(main())
