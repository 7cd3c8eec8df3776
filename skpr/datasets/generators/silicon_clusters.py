"""Silicon clusters with Stillinger-Weber energies split into 2- and 3-body parts.

Writes ``skpr/datasets/data/silicon_clusters.xyz``, read by
:func:`skpr.datasets.load_silicon_clusters`::

    python -m skpr.datasets.generators.silicon_clusters [--seed 0] [--output PATH]

The data set is built for the body-order experiment of Chong et al. (Fig. 6):
models trained on pentamers, then with part of the pentamers replaced by dimers,
trimers and tetramers, tested on pentamers and on a dimer curve. It holds

- random clusters of 2, 3, 4 and 5 silicon atoms (:data:`COUNTS`), every
  interatomic distance between :data:`MIN_DISTANCE` and :data:`MAX_DISTANCE`,
  so that every atom sees every other one within the Stillinger-Weber cutoff
  ``a * sigma = 3.77118`` Å and within a 4 Å descriptor cutoff;
- a dimer curve along ``z``, distances evenly spaced over :data:`CURVE_RANGE`
  (beyond the cutoff its energy is exactly zero).

**Sampling** is sequential placement: the first atom sits at the origin, and
each further atom is uniform over the points at :data:`MIN_DISTANCE` to
:data:`MAX_DISTANCE` from every atom already placed (candidates uniform in the
cube of half-side :data:`MAX_DISTANCE` around the first atom, the first
acceptable one kept; a cluster whose region runs empty is started again). The
cluster is then centred at the origin and its positions rounded to the
:data:`DECIMALS` decimals the extended-XYZ file keeps, so that the energies are
those of exactly the positions in the file. Each kind draws from its own stream,
spawned from ``numpy.random.default_rng(seed)``: the first clusters of a kind do
not depend on how many clusters of the other kinds are asked for.

**Energies** come from matscipy's Stillinger-Weber code with the silicon
parameters of Stillinger and Weber (Phys. Rev. B 31, 5262, 1985):
``energy`` with the published parameters, ``energy_2body`` from the same code
with the three-body strength ``lambda1`` set to zero (matscipy's form adds
``lambda1 * epsilon * fA(r_ij) * xi_ij`` to each pair term, so ``lambda1 = 0``
leaves the pair potential alone), and ``energy_3body = energy - energy_2body``.
Forces are those of ``energy``.

References
----------
F. H. Stillinger and T. A. Weber, "Computer simulation of local order in
condensed phases of silicon", Phys. Rev. B 31, 5262 (1985).

S. Chong et al., "Prediction rigidities for data-driven chemistry", Faraday
Discuss. (2024), DOI 10.1039/d4fd00101j, Fig. 6.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from skpr._extras import install_command

#: Number of structures of each kind in the shipped file, in file order.
COUNTS = {
    "dimer": 150,
    "trimer": 150,
    "tetramer": 150,
    "pentamer": 800,
    "dimer_curve": 80,
}

#: Number of atoms of a structure of each kind.
N_ATOMS = {"dimer": 2, "trimer": 3, "tetramer": 4, "pentamer": 5, "dimer_curve": 2}

#: The kinds drawn at random; ``"dimer_curve"`` is a fixed grid.
RANDOM_KINDS = ("dimer", "trimer", "tetramer", "pentamer")

#: Bounds (Å) of every interatomic distance of a random cluster.
MIN_DISTANCE, MAX_DISTANCE = 2.0, 3.6

#: First and last distance (Å) of the dimer curve.
CURVE_RANGE = (1.9, 4.2)

#: Decimals of the positions and forces in the extended-XYZ file (ASE writes
#: per-atom floats as ``%16.8f``; the per-structure energies keep every digit).
DECIMALS = 8

#: Side (Å) of the cube given to matscipy: its neighbour list inverts the cell
#: even without periodicity. With ``pbc=False`` the cube changes nothing.
CALCULATOR_BOX = 20.0

#: Candidates drawn at once for the next atom, batches tried before the cluster
#: is started again, and starts before the bounds are deemed unreachable (with
#: the default bounds, about 1 pentamer in 25 is started twice).
BATCH, MAX_BATCHES, MAX_STARTS = 64, 32, 100

#: The shipped file, the default output.
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "data" / "silicon_clusters.xyz"

_MISSING = (
    "Generating the silicon clusters needs the optional dependency matscipy "
    "(with ASE), which is not installed. Install it with: "
    + install_command("reference")
)


def round_positions(positions, decimals=DECIMALS):
    """Round to the floats that ``decimals`` fixed decimals read back as.

    ``np.round`` may land one unit in the last place away from the float that
    the decimal text parses to; formatting and parsing gives exactly that float.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)
    decimals : int, default=DECIMALS

    Returns
    -------
    rounded : ndarray of shape (n_atoms, 3)
        A new array.

    Examples
    --------
    >>> import numpy as np
    >>> round_positions(np.array([[0.1234567891, -2.0, 1 / 3]]))
    array([[ 0.12345679, -2.        ,  0.33333333]])
    """
    positions = np.asarray(positions, dtype=float)
    text = [f"{value:.{decimals}f}" for value in positions.ravel()]
    return np.array(text, dtype=float).reshape(positions.shape)


def pair_distances(positions):
    """Distances of all pairs ``i < j`` of atoms, in the order of ``np.triu_indices``.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)

    Returns
    -------
    distances : ndarray of shape (n_atoms * (n_atoms - 1) // 2,)

    Examples
    --------
    >>> import numpy as np
    >>> pair_distances(np.array([[0.0, 0, 0], [3, 0, 0], [0, 4, 0]]))
    array([3., 4., 5.])
    """
    positions = np.asarray(positions, dtype=float)
    i, j = np.triu_indices(len(positions), k=1)
    return np.linalg.norm(positions[j] - positions[i], axis=1)


def random_cluster_positions(
    n_atoms, rng, *, min_distance=MIN_DISTANCE, max_distance=MAX_DISTANCE
):
    """Positions of a random cluster whose interatomic distances are all in range.

    Sequential placement (see the module docstring): each atom after the first
    is uniform over the points at ``min_distance`` to ``max_distance`` from all
    atoms already placed. The cluster is centred at the origin and rounded with
    :func:`round_positions`, and the bounds are checked once more on the
    rounded positions.

    Parameters
    ----------
    n_atoms : int
        At least 1.
    rng : numpy.random.Generator
    min_distance, max_distance : float
        Bounds of every interatomic distance, in Å.

    Returns
    -------
    positions : ndarray of shape (n_atoms, 3)
        In Å, centroid at the origin to within the rounding.

    Raises
    ------
    ValueError
        If ``n_atoms`` is below 1.
    RuntimeError
        If :data:`MAX_STARTS` starts give no cluster: the bounds are too tight
        for ``n_atoms`` atoms.

    Examples
    --------
    >>> import numpy as np
    >>> positions = random_cluster_positions(5, np.random.default_rng(0))
    >>> positions.shape
    (5, 3)
    >>> distances = pair_distances(positions)
    >>> bool(distances.min() >= 2.0 and distances.max() <= 3.6)
    True
    """
    if n_atoms < 1:
        raise ValueError(f"n_atoms must be at least 1, got {n_atoms}.")
    for _ in range(MAX_STARTS):
        placed = np.zeros((1, 3))
        while len(placed) < n_atoms:
            new = _next_atom(placed, rng, min_distance, max_distance)
            if new is None:
                break
            placed = np.vstack([placed, new])
        else:
            positions = round_positions(placed - placed.mean(axis=0))
            distances = pair_distances(positions)
            if np.all((distances >= min_distance) & (distances <= max_distance)):
                return positions
    raise RuntimeError(
        f"Found no cluster of {n_atoms} atoms with every interatomic distance "
        f"between {min_distance} and {max_distance} Å in {MAX_STARTS} starts; "
        "such a cluster may not exist. Widen the bounds: raise max_distance / "
        "min_distance."
    )


def _next_atom(placed, rng, min_distance, max_distance):
    """A point uniform over the allowed region around ``placed``, or None."""
    for _ in range(MAX_BATCHES):
        # The allowed region lies within max_distance of the first atom (the
        # origin), so inside this cube; uniform candidates kept when allowed are
        # uniform over the region.
        candidates = rng.uniform(-max_distance, max_distance, size=(BATCH, 3))
        distances = np.linalg.norm(candidates[:, None, :] - placed, axis=-1)
        allowed = np.all((distances >= min_distance) & (distances <= max_distance), 1)
        if allowed.any():
            return candidates[np.argmax(allowed)]
    return None


def dimer_curve_positions(distance):
    """Positions of a dimer along ``z`` centred at the origin, rounded.

    Parameters
    ----------
    distance : float
        In Å.

    Returns
    -------
    positions : ndarray of shape (2, 3)
        ``[[0, 0, -z], [0, 0, z]]`` with ``z`` the rounded ``distance / 2``: the
        distance of the two atoms is ``2 z``, within ``10**-DECIMALS`` Å of
        ``distance``.

    Examples
    --------
    >>> dimer_curve_positions(2.5)
    array([[ 0.  ,  0.  , -1.25],
           [ 0.  ,  0.  ,  1.25]])
    """
    return round_positions([[0.0, 0.0, -distance / 2], [0.0, 0.0, distance / 2]])


def stillinger_weber_calculators():
    """The Stillinger-Weber calculators of matscipy, full and two-body only.

    Returns
    -------
    full : matscipy.calculators.manybody.Manybody
        Published silicon parameters (Phys. Rev. B 31, 5262, 1985).
    two_body : matscipy.calculators.manybody.Manybody
        The same with the three-body strength ``lambda1`` set to zero.

    Raises
    ------
    ImportError
        If matscipy is not installed; the message says how to install it.
    """
    try:
        from matscipy.calculators.manybody import Manybody
        from matscipy.calculators.manybody.explicit_forms import StillingerWeber
        from matscipy.calculators.manybody.explicit_forms.stillinger_weber import (
            Stillinger_Weber_PRB_31_5262_Si,
        )
    except ImportError as error:
        raise ImportError(_MISSING) from error
    parameters = dict(Stillinger_Weber_PRB_31_5262_Si)
    return (
        Manybody(**StillingerWeber(parameters)),
        Manybody(**StillingerWeber(parameters | {"lambda1": 0.0})),
    )


def energy_and_forces(positions, calculator):
    """Energy (eV) and forces (eV/Å) of a silicon cluster, without periodicity.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)
        In Å.
    calculator : ase.calculators.calculator.Calculator
        For example one of :func:`stillinger_weber_calculators`.

    Returns
    -------
    energy : float
    forces : ndarray of shape (n_atoms, 3)
    """
    from ase import Atoms

    atoms = Atoms(
        f"Si{len(positions)}",
        positions=positions,
        cell=np.eye(3) * CALCULATOR_BOX,
        pbc=False,
    )
    atoms.calc = calculator
    return float(atoms.get_potential_energy()), np.array(atoms.get_forces())


def make_silicon_clusters(*, seed=0, counts=None):
    """Build the silicon clusters with their Stillinger-Weber energies.

    Parameters
    ----------
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.
    counts : dict of str to int, default=None
        Number of structures of each kind; kinds left out are not made. None
        means :data:`COUNTS`, the shipped file.

    Returns
    -------
    structures : list of ase.Atoms
        Kinds in the order of :data:`COUNTS`, non-periodic, without a cell.
        Energy and forces are the results of a ``SinglePointCalculator``;
        ``atoms.info`` holds ``energy_2body``, ``energy_3body`` (eV),
        ``kind`` and, for the dimer curve, ``distance`` (Å).

    Raises
    ------
    ValueError
        If ``counts`` names an unknown kind or a count is not a non-negative
        integer.
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
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
            raise ValueError(
                f"counts[{kind!r}] must be a non-negative int, got {count!r}."
            )
        if count < 0:
            raise ValueError(f"counts[{kind!r}] must be non-negative, got {count}.")
    full, two_body = stillinger_weber_calculators()
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    spawned = np.random.default_rng(seed).spawn(len(RANDOM_KINDS))
    streams = dict(zip(RANDOM_KINDS, spawned, strict=True))
    structures = []
    for kind in COUNTS:
        count = counts.get(kind, 0)
        if kind == "dimer_curve":
            grid = np.linspace(*CURVE_RANGE, count)
            positions_list = [dimer_curve_positions(distance) for distance in grid]
        else:
            positions_list = [
                random_cluster_positions(N_ATOMS[kind], streams[kind])
                for _ in range(count)
            ]
        for positions in positions_list:
            energy, forces = energy_and_forces(positions, full)
            energy_2body, _ = energy_and_forces(positions, two_body)
            info = {
                "energy_2body": energy_2body,
                "energy_3body": energy - energy_2body,
                "kind": kind,
            }
            if kind == "dimer_curve":
                info["distance"] = float(positions[1, 2] - positions[0, 2])
            atoms = Atoms(f"Si{len(positions)}", positions=positions, info=info)
            atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
            structures.append(atoms)
    return structures


def write_structures(structures, path):
    """Write structures as extended XYZ, energies with every digit.

    Parameters
    ----------
    structures : list of ase.Atoms
        With energy and forces as calculator results, as made by
        :func:`make_silicon_clusters`.
    path : str or pathlib.Path
    """
    import ase.io

    ase.io.write(path, [_with_results(atoms) for atoms in structures], format="extxyz")


#: The writer under the name of this data set.
write_silicon_clusters = write_structures


def _with_results(atoms):
    """A copy with the energy first in ``info`` and the forces in ``arrays``.

    ASE writes them exactly as it writes calculator results, and reads them
    back as such; here ``energy`` comes first on the comment line.
    """
    copy = atoms.copy()  # without the calculator
    copy.info = {"energy": atoms.get_potential_energy(), **atoms.info}
    copy.arrays["forces"] = atoms.get_forces()
    return copy


def generator_parser(name, description, default_output, counts=None, what="structures"):
    """The options every generator shares: ``--seed``, ``--output``, ``--counts``.

    ``--counts`` takes one number per kind of ``counts`` (a dict of kind to
    default count); with ``counts=None`` (a file of one structure) there is no
    ``--counts``.
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m skpr.datasets.generators.{name}", description=description
    )
    parser.add_argument(
        "--seed",
        metavar="N",
        type=int,
        default=0,
        help="seed of numpy.random.default_rng (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        metavar="PATH",
        type=Path,
        default=default_output,
        help="extended-XYZ file to write (default: the shipped file %(default)s)",
    )
    if counts is None:
        return parser
    parser.add_argument(
        "--counts",
        metavar=tuple(kind.upper() for kind in counts),
        type=int,
        nargs=len(counts),
        default=list(counts.values()),
        help=f"number of {what} of each kind, in this order (default: "
        f"{' '.join(str(count) for count in counts.values())})",
    )
    return parser


def _parser():
    return generator_parser(
        "silicon_clusters",
        "Write silicon clusters (2 to 5 atoms, random, and a dimer "
        "curve) with Stillinger-Weber energies, their 2-body and 3-body parts "
        "and forces, computed with matscipy, as extended XYZ. Needs the extra "
        "reference: "
        f"{install_command('reference')}.",
        DEFAULT_OUTPUT,
        COUNTS,
    )


def run_command(parser, make, argv=None):
    """Parse the command line, make the structures, write them; the exit status.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        With ``--output`` (a ``pathlib.Path``).
    make : callable
        ``make(args) -> list of ase.Atoms``; an ``ImportError`` or
        ``ValueError`` it raises is printed and gives exit status 2.
    argv : None or list of str
    """
    args = parser.parse_args(argv)
    if not args.output.parent.is_dir():
        parser.error(f"--output: the folder '{args.output.parent}' does not exist")
    start = time.perf_counter()
    try:
        structures = make(args)
    except (ImportError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    write_structures(structures, args.output)
    elapsed = time.perf_counter() - start
    size = args.output.stat().st_size
    print(
        f"wrote {len(structures)} structures ({size / 1e6:.2f} MB) to "
        f"{args.output} in {elapsed:.1f} s"
    )
    return 0


def main(argv=None):
    """Run the command line; return the exit status."""

    def make(args):
        counts = dict(zip(COUNTS, args.counts, strict=True))
        return make_silicon_clusters(seed=args.seed, counts=counts)

    return run_command(_parser(), make, argv)


if __name__ == "__main__":
    sys.exit(main())
