"""A liquid-carbon snapshot of 1728 atoms, from Langevin dynamics with Tersoff carbon.

Writes ``skpr/datasets/data/liquid_carbon.xyz``, read by
:func:`skpr.datasets.load_liquid_carbon`::

    python -m skpr.datasets.generators.liquid_carbon [--seed 0] [--output PATH]

(about 3 minutes on one core: 1200 force calls of about 0.15 s each; the
dynamics runs in one process).

The snapshot is built for the active-learning experiment of Chong et al.
(Fig. 5): the local rigidity of every atom of a large liquid-carbon structure,
to find the least rigid one. It is one periodic cubic cell of
``8 * REPEAT**3 = 1728`` carbon atoms at the density :data:`DENSITY`
(liquid carbon); repeated 2 x 2 x 2 it gives the 13824 atoms of the paper.

**Start.** The atoms sit on the sites of a ``REPEAT x REPEAT x REPEAT``
supercell of conventional diamond, scaled isotropically to :data:`DENSITY`
(at 2.2 g/cm^3 the nearest neighbours are 1.81 Å apart, at the inner cutoff of
the potential, against 1.54 Å in diamond at 3.52 g/cm^3). The side of the cube
is that of ``8 * REPEAT**3`` carbon atoms (12.011 u) at the density, rounded
to :data:`DECIMALS` decimals.

**Dynamics.** ASE's Langevin integrator (``ase.md.langevin.Langevin``, the
Vanden-Eijnden-Ciccotti scheme, ``fixcm=False``), timestep :data:`TIMESTEP`,
friction :data:`FRICTION`, in the stages of :data:`STAGES`: a melt at
10000 K, then a quench at 5000 K, the temperature of the snapshot. The
velocities start from a Maxwell-Boltzmann distribution at the first
temperature (``ase.md.velocitydistribution.thermalize_momenta``, which
replaces ``MaxwellBoltzmannDistribution`` in ASE 3.29). Every random number,
the velocities and the Langevin noise of both stages, comes from one
``numpy.random.default_rng(seed)``, so a seed fixes the trajectory; floating
point is deterministic on one machine, and the same seed writes the same file
byte for byte. (Another build of numpy or matscipy may round a last bit
differently, which chaotic dynamics amplifies: the file is then another
snapshot of the same liquid.) The 0.5 fs step keeps the energy of a
microcanonical run at 9000-10000 K to within a few meV/atom over 100 fs; with
1 fs it drifts fifteen times more. Tersoff's carbon is sluggish: at
5000-6000 K the lattice keeps part of its order for more than half a
picosecond, hence the melt at 10000 K, where it is lost within about 0.2 ps.

**Snapshot.** The final positions are wrapped into the cell and rounded to the
:data:`DECIMALS` decimals the extended-XYZ file keeps; the energy and forces
are then computed for exactly those positions with a new calculator. The
velocities are not kept; ``temperature`` is the thermostat temperature of the
last stage. The shipped snapshot has lost the lattice (:func:`melting_check`):
the structure factor at the ``(111)`` vectors of the starting lattice is 1.3
(864 for the lattice at rest, about 1 for a liquid), the atoms are 2.5 Å (root
mean square) from their starting sites, and 11% of them have four neighbours
within 1.85 Å (69% three, 19% two); its energy is -5.73 eV/atom.

**Energies** come from the calculator of
:mod:`skpr.datasets.generators.carbon_surfaces`
(:func:`~skpr.datasets.generators.carbon_surfaces.tersoff_calculator`):
matscipy's ``Manybody`` with the ``TersoffBrenner`` form and the parameter set
``Tersoff_PRB_39_5566_Si_C``, whose carbon-carbon entries are Tersoff's carbon
potential (cutoff switched off between 1.8 and 2.1 Å, diamond at
-7.37 eV/atom).

References
----------
J. Tersoff, "Empirical interatomic potential for carbon, with applications to
amorphous carbon", Phys. Rev. Lett. 61, 2879 (1988).

E. Vanden-Eijnden and G. Ciccotti, "Second-order integrators for Langevin
equations with holonomic constraints", Chem. Phys. Lett. 429, 310 (2006).

S. Chong et al., "Prediction rigidities for data-driven chemistry", Faraday
Discuss. (2024), DOI 10.1039/d4fd00101j, Fig. 5.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from skpr._extras import install_command
from skpr.datasets.generators.carbon_surfaces import (
    CARBON_MASS,
    GRAMS_PER_U,
    _quiet_matscipy,
    density,
    tersoff_calculator,
)
from skpr.datasets.generators.silicon_clusters import (
    generator_parser,
    round_positions,
    run_command,
    write_structures,
)

#: Conventional diamond cells along each side of the cube: ``8 * REPEAT**3``
#: atoms.
REPEAT = 6

#: Density (g/cm^3) of the cell.
DENSITY = 2.2

#: Timestep (fs) and Langevin friction (1/fs) of every stage.
TIMESTEP, FRICTION = 0.5, 0.02

#: The stages of the dynamics, in order: (thermostat temperature in K, steps).
#: The snapshot is the last configuration of the last stage.
STAGES = ((10000.0, 800), (5000.0, 400))

#: Decimals of the positions, forces and side length in the extended-XYZ file
#: (ASE writes per-atom floats as ``%16.8f``).
DECIMALS = 8

#: Two atoms closer than this (Å) are counted as neighbours by
#: :func:`melting_check`: between the first shell of diamond (1.54 Å, 1.81 Å
#: at :data:`DENSITY`) and the second (2.52 Å).
NEIGHBOUR_CUTOFF = 1.85

#: The shipped file, the default output.
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "data" / "liquid_carbon.xyz"


def diamond_supercell(repeat=REPEAT, target_density=DENSITY):
    """Sites of a cubic diamond supercell scaled to a density.

    Parameters
    ----------
    repeat : int, default=REPEAT
        Conventional cells (8 atoms) along each side.
    target_density : float, default=DENSITY
        In g/cm^3.

    Returns
    -------
    positions : ndarray of shape (8 * repeat**3, 3)
        In Å, cell after cell, the eight sites of a cell in the order of
        ``ase.build.bulk("C", "diamond", cubic=True)``.
    side : float
        Side of the cube, in Å, rounded to :data:`DECIMALS` decimals.

    Examples
    --------
    >>> positions, side = diamond_supercell(2)
    >>> positions.shape, round(side, 4)
    ((64, 3), 8.3406)
    >>> round(density([side] * 3, n_atoms=64), 8)
    2.2
    """
    # the eight sites of the conventional cell, in units of its side
    sites = np.array(
        [[0, 0, 0], [1, 1, 1], [0, 2, 2], [1, 3, 3],
         [2, 0, 2], [3, 1, 3], [2, 2, 0], [3, 3, 1]],
        dtype=float,
    ) / 4  # fmt: skip
    n_atoms = 8 * repeat**3
    volume = n_atoms * CARBON_MASS * GRAMS_PER_U / target_density * 1e24  # Å^3
    side = float(round_positions([np.cbrt(volume)], DECIMALS)[0])
    cells = np.array(np.meshgrid(*[np.arange(repeat)] * 3, indexing="ij"))
    cells = cells.reshape(3, -1).T
    fractions = (cells[:, None, :] + sites[None, :, :]).reshape(-1, 3) / repeat
    return fractions * side, side


def melting_check(positions, side, repeat=REPEAT, *, start=None):
    """Numbers that tell a melt from the diamond lattice it started from.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)
        In Å, in a cubic periodic cell.
    side : float
        Side of the cell, in Å.
    repeat : int, default=REPEAT
        Conventional diamond cells along each side of the starting lattice.
    start : ndarray of shape (n_atoms, 3), default=None
        The starting lattice sites, in the same order; gives ``msd``.

    Returns
    -------
    check : dict
        ``coordination``: fractions of atoms with 0, 1, ..., 6 neighbours
        within :data:`NEIGHBOUR_CUTOFF` (diamond: all four);
        ``fourfold``: the fraction with exactly four; ``bragg``: the static
        structure factor ``|sum_j exp(i k . r_j)|**2 / n_atoms`` at the eight
        ``(111)`` vectors of the starting lattice, averaged (``n_atoms / 2``
        for the diamond lattice at rest, about 1 for a liquid); and, with ``start``,
        ``msd``: the mean squared displacement (Å^2) from the starting sites,
        to the nearest periodic image.

    Examples
    --------
    >>> positions, side = diamond_supercell(2)
    >>> check = melting_check(positions, side, 2)
    >>> check["fourfold"], round(check["bragg"], 6)
    (1.0, 32.0)
    """
    positions = np.asarray(positions, dtype=float)
    n_atoms = len(positions)
    difference = positions[:, None, :] - positions[None, :, :]
    difference -= side * np.round(difference / side)
    distance = np.linalg.norm(difference, axis=-1)
    np.fill_diagonal(distance, np.inf)
    counts = (distance < NEIGHBOUR_CUTOFF).sum(axis=1)
    coordination = np.bincount(counts, minlength=7)[:7] / n_atoms
    signs = np.array([[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]])
    vectors = 2 * np.pi * repeat / side * signs  # k and -k give the same value
    amplitude = np.exp(1j * positions @ vectors.T).sum(axis=0)
    check = {
        "coordination": coordination,
        "fourfold": float(coordination[4]),
        "bragg": float(np.mean(np.abs(amplitude) ** 2) / n_atoms),
    }
    if start is not None:
        displacement = positions - np.asarray(start, dtype=float)
        displacement -= side * np.round(displacement / side)
        check["msd"] = float(np.mean(np.sum(displacement**2, axis=1)))
    return check


def energy_and_forces(positions, side):
    """Tersoff energy (eV) and forces (eV/Å) of carbon in a periodic cube.

    Parameters
    ----------
    positions : ndarray of shape (n_atoms, 3)
        In Å.
    side : float
        Side of the cube, in Å.

    Returns
    -------
    energy : float
    forces : ndarray of shape (n_atoms, 3)
    """
    atoms = _carbon_cube(positions, side)
    with _quiet_matscipy():
        return float(atoms.get_potential_energy()), np.array(atoms.get_forces())


def _carbon_cube(positions, side):
    from ase import Atoms

    atoms = Atoms(f"C{len(positions)}", positions=positions, cell=[side] * 3, pbc=True)
    atoms.calc = tersoff_calculator()  # a new one: no cached state
    return atoms


def _check_steps(steps):
    steps = tuple(steps)
    if len(steps) != len(STAGES):
        raise ValueError(
            f"steps must give one count per stage ({len(STAGES)}), got {steps!r}."
        )
    for count in steps:
        if isinstance(count, bool) or not isinstance(count, int | np.integer):
            raise ValueError(f"steps must be non-negative ints, got {steps!r}.")
        if count < 0:
            raise ValueError(f"steps must be non-negative, got {steps!r}.")
    return tuple(int(count) for count in steps)


def make_liquid_carbon(*, seed=0, repeat=REPEAT, steps=None):
    """Run the dynamics and return the snapshot with its Tersoff energy.

    Parameters
    ----------
    seed : int, default=0
        Seed of ``numpy.random.default_rng``, the only source of random numbers.
    repeat : int, default=REPEAT
        Conventional diamond cells along each side: ``8 * repeat**3`` atoms.
        At least 2 (a side above twice the 2.1 Å cutoff).
    steps : sequence of int, default=None
        Steps of each stage of :data:`STAGES`; None means those of
        :data:`STAGES`, the shipped file. Fewer steps (and a smaller
        ``repeat``) make a quick test run.

    Returns
    -------
    atoms : ase.Atoms
        Periodic cube of carbon, positions wrapped into it; energy and forces
        are the results of a ``SinglePointCalculator``, and ``atoms.info``
        holds ``temperature`` (K, of the last stage), ``density`` (g/cm^3),
        ``seed`` and ``steps`` (all stages together).

    Raises
    ------
    ValueError
        If ``repeat`` is not an int of at least 2 or ``steps`` does not give one
        non-negative int per stage.
    ImportError
        If matscipy (or ASE) is not installed.
    """
    if isinstance(repeat, bool) or not isinstance(repeat, int | np.integer):
        raise ValueError(f"repeat must be an int of at least 2, got {repeat!r}.")
    if repeat < 2:
        raise ValueError(f"repeat must be at least 2, got {repeat}.")
    steps = _check_steps([count for _, count in STAGES] if steps is None else steps)
    tersoff_calculator()  # fail early if matscipy is missing
    from ase import units
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import thermalize_momenta

    start, side = diamond_supercell(repeat)
    atoms = _carbon_cube(start, side)
    rng = np.random.default_rng(seed)
    thermalize_momenta(atoms, temperature_K=STAGES[0][0], rng=rng)
    with _quiet_matscipy():
        for (temperature, _), count in zip(STAGES, steps, strict=True):
            dynamics = Langevin(
                atoms,
                TIMESTEP * units.fs,
                temperature_K=temperature,
                friction=FRICTION / units.fs,
                fixcm=False,
                rng=rng,
            )
            dynamics.run(count)
    atoms.wrap()
    positions = round_positions(atoms.positions, DECIMALS)
    energy, forces = energy_and_forces(positions, side)
    snapshot = _carbon_cube(positions, side)
    snapshot.info.update(
        temperature=float(STAGES[-1][0]),
        density=density([side] * 3, n_atoms=len(positions)),
        seed=int(seed),
        steps=sum(steps),
    )
    snapshot.calc = SinglePointCalculator(snapshot, energy=energy, forces=forces)
    return snapshot


def write_liquid_carbon(atoms, path):
    """Write the snapshot as extended XYZ, the energy with every digit.

    Parameters
    ----------
    atoms : ase.Atoms
        As made by :func:`make_liquid_carbon`.
    path : str or pathlib.Path
    """
    write_structures([atoms], path)


def summary(atoms, repeat=REPEAT):
    """A few lines on the snapshot: energy, forces and :func:`melting_check`.

    Parameters
    ----------
    atoms : ase.Atoms
        As made by :func:`make_liquid_carbon` with this ``repeat``.
    repeat : int, default=REPEAT

    Returns
    -------
    text : str
    """
    side = float(atoms.cell[0, 0])
    start, _ = diamond_supercell(repeat)
    check = melting_check(atoms.positions, side, repeat, start=start)
    forces = np.linalg.norm(atoms.get_forces(), axis=1)
    coordination = " ".join(f"{value:.3f}" for value in check["coordination"])
    return (
        f"{len(atoms)} atoms, density {atoms.info['density']:.4f} g/cm^3, "
        f"{atoms.info['steps']} steps, temperature {atoms.info['temperature']:.0f}"
        f" K\nenergy {atoms.get_potential_energy() / len(atoms):.4f} eV/atom, "
        f"largest force {forces.max():.2f} eV/Å\nneighbours within "
        f"{NEIGHBOUR_CUTOFF} Å, fractions of 0-6: {coordination}\n(111) structure "
        f"factor {check['bragg']:.2f} (the lattice at rest: {len(atoms) // 2}), mean "
        f"squared displacement from the lattice {check['msd']:.2f} Å^2"
    )


def _parser():
    parser = generator_parser(
        "liquid_carbon",
        "Write a snapshot of liquid carbon (1728 atoms, periodic cube at "
        f"{DENSITY} g/cm^3) from Langevin dynamics with Tersoff's potential "
        "(matscipy), with its energy and forces, as extended XYZ. Needs the "
        "extra reference: "
        f"{install_command('reference')}.",
        DEFAULT_OUTPUT,
    )
    # for quick test runs; the shipped file uses the defaults
    parser.add_argument("--repeat", type=int, default=REPEAT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--steps",
        type=int,
        nargs=len(STAGES),
        default=[count for _, count in STAGES],
        help=argparse.SUPPRESS,
    )
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""

    def make(args):
        atoms = make_liquid_carbon(seed=args.seed, repeat=args.repeat, steps=args.steps)
        print(summary(atoms, args.repeat))
        return [atoms]

    return run_command(_parser(), make, argv)


if __name__ == "__main__":
    sys.exit(main())
