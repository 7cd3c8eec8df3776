"""Water dimers and monomers with GFN2-xTB energies, for range separation.

Writes ``skpr/datasets/data/water_dimers.xyz``, read by
:func:`skpr.datasets.load_water_dimers`::

    python -m skpr.datasets.generators.water_dimers [--seed 0] [--output PATH]

The data set is built for the range-separation experiment of Chong et al.
(Fig. 7): SOAP+LODE models trained on water dimers whose molecules never come
within the short-range cutoff of each other, tested on isolated monomers.

**Monomers** are flexible: both O-H bond lengths drawn from a normal
distribution around :data:`BOND` and the H-O-H angle around :data:`ANGLE`
(standard deviations :data:`BOND_SPREAD`, :data:`ANGLE_SPREAD`, clipped to
three of them), then a uniformly random rotation, the oxygen at the origin.

**Dimers** are two such monomers, the second one's oxygen at a distance drawn
uniformly from :data:`OO_RANGE` along a uniformly random direction; a dimer in
which two atoms of different molecules are closer than
:data:`MIN_INTERMOLECULAR` is drawn again, so that no atom of one molecule is
within the 2.8 Å short-range cutoff of the other (the intermolecular
interaction is then long-range only, as in the paper). Positions are rounded
to the 8 decimals the extended-XYZ file keeps before the energies are
computed. Monomers and dimers draw from their own streams, spawned from
``numpy.random.default_rng(seed)``.

**Energies** are GFN2-xTB (Bannwarth, Ehlert and Grimme, J. Chem. Theory
Comput. 15, 1652, 2019) from tblite's ASE calculator, for isolated molecules
(no periodicity), in eV, with forces in eV/Å. For every dimer,
``energy_monomers`` is the sum of the energies of its two molecules computed
alone at the same geometry, so that ``energy - energy_monomers`` is the
interaction energy.

References
----------
S. Chong et al., "Prediction rigidities for data-driven chemistry", Faraday
Discuss. (2024), DOI 10.1039/d4fd00101j, Fig. 7.
"""

import sys
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from skpr._extras import install_command
from skpr.datasets.generators.silicon_clusters import (
    generator_parser,
    pair_distances,
    round_positions,
    run_command,
)

#: Number of structures of each kind in the shipped file, in file order.
COUNTS = {"dimer": 200, "monomer": 100}

#: Equilibrium O-H bond (Å) and H-O-H angle (degrees) the geometries scatter around.
BOND, ANGLE = 0.9572, 104.52

#: Standard deviations of the bond lengths (Å) and of the angle (degrees).
BOND_SPREAD, ANGLE_SPREAD = 0.03, 6.0

#: Range (Å) of the O-O distance of the dimers.
OO_RANGE = (3.0, 10.0)

#: Smallest distance (Å) between atoms of the two molecules of a dimer.
MIN_INTERMOLECULAR = 3.0

#: Draws of the second molecule before a dimer is given up.
MAX_DRAWS = 10000

#: The shipped file, the default output.
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "data" / "water_dimers.xyz"

_MISSING = (
    "Generating the water dimers needs the optional dependency tblite (with "
    "ASE), which is not installed. Install it with: " + install_command("reference")
)


def monomer_positions(rng):
    """O, H, H positions of a random flexible water molecule, oxygen at the origin.

    Parameters
    ----------
    rng : numpy.random.Generator

    Returns
    -------
    positions : ndarray of shape (3, 3)
        In Å, not rounded.

    Examples
    --------
    >>> import numpy as np
    >>> positions = monomer_positions(np.random.default_rng(0))
    >>> bonds = np.linalg.norm(positions[1:] - positions[0], axis=1)
    >>> bool(np.all(np.abs(bonds - BOND) <= 3 * BOND_SPREAD))
    True
    """
    bonds = BOND + BOND_SPREAD * np.clip(rng.standard_normal(2), -3, 3)
    angle = np.radians(ANGLE + ANGLE_SPREAD * np.clip(rng.standard_normal(), -3, 3))
    local = np.array(
        [
            [0.0, 0.0, 0.0],
            [bonds[0], 0.0, 0.0],
            [bonds[1] * np.cos(angle), bonds[1] * np.sin(angle), 0.0],
        ]
    )
    return Rotation.random(random_state=rng).apply(local)


def dimer_positions(rng, oo_distance):
    """Positions of two random monomers with their oxygens ``oo_distance`` apart.

    Parameters
    ----------
    rng : numpy.random.Generator
    oo_distance : float
        In Å.

    Returns
    -------
    positions : ndarray of shape (6, 3)
        O, H, H of each molecule, rounded with :func:`round_positions`; every
        intermolecular distance at least :data:`MIN_INTERMOLECULAR`.

    Raises
    ------
    RuntimeError
        If :data:`MAX_DRAWS` draws give no such dimer.
    """
    first = monomer_positions(rng)
    for _ in range(MAX_DRAWS):
        direction = rng.standard_normal(3)
        direction /= np.linalg.norm(direction)
        second = monomer_positions(rng) + oo_distance * direction
        positions = round_positions(np.vstack([first, second]))
        between = np.linalg.norm(
            positions[:3, None, :] - positions[None, 3:, :], axis=-1
        )
        if between.min() >= MIN_INTERMOLECULAR:
            return positions
    raise RuntimeError(
        f"Found no water dimer at an O-O distance of {oo_distance} Å with every "
        f"intermolecular distance above {MIN_INTERMOLECULAR} Å in {MAX_DRAWS} draws."
    )


def xtb_calculator():
    """tblite's GFN2-xTB calculator for ASE.

    Raises
    ------
    ImportError
        If tblite is not installed; the message says how to install it.
    """
    try:
        from tblite.ase import TBLite
    except ImportError as error:
        raise ImportError(_MISSING) from error
    return TBLite(method="GFN2-xTB", verbosity=0)


def energy_and_forces(symbols, positions):
    """GFN2-xTB energy (eV) and forces (eV/Å) of an isolated molecule or dimer.

    A new calculator for every structure: tblite starts the SCF from the last
    solution it holds, which would make the forces (to about 1e-5 eV/Å)
    depend on the order of the calculations.
    """
    from ase import Atoms

    atoms = Atoms(symbols, positions=positions, pbc=False)
    atoms.calc = xtb_calculator()
    return float(atoms.get_potential_energy()), np.array(atoms.get_forces())


def make_water_dimers(*, seed=0, counts=None):
    """Build the water dimers and monomers with their GFN2-xTB energies.

    Parameters
    ----------
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.
    counts : dict of str to int, default=None
        Number of dimers and monomers; None means :data:`COUNTS`.

    Returns
    -------
    structures : list of ase.Atoms
        Dimers (``"OH2OH2"``) sorted by O-O distance, then monomers, without a
        cell; energy and forces as ``SinglePointCalculator`` results;
        ``atoms.info`` holds ``kind`` and, for dimers, ``oo_distance`` (Å) and
        ``energy_monomers`` (eV).

    Raises
    ------
    ValueError
        For unknown kinds or counts that are not non-negative integers.
    ImportError
        If tblite is not installed.
    """
    counts = dict(COUNTS if counts is None else counts)
    unknown = sorted(set(counts) - set(COUNTS))
    if unknown:
        raise ValueError(
            f"counts has unknown kinds {unknown}; the kinds are {list(COUNTS)}."
        )
    for kind, count in counts.items():
        if (
            isinstance(count, bool)
            or not isinstance(count, int | np.integer)
            or count < 0
        ):
            raise ValueError(
                f"counts[{kind!r}] must be a non-negative int, got {count!r}."
            )
    xtb_calculator()  # fail early if tblite is missing
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    dimer_rng, monomer_rng = np.random.default_rng(seed).spawn(2)
    distances = np.sort(dimer_rng.uniform(*OO_RANGE, size=counts.get("dimer", 0)))
    made = [("dimer", dimer_positions(dimer_rng, d)) for d in distances]
    made += [
        ("monomer", round_positions(monomer_positions(monomer_rng)))
        for _ in range(counts.get("monomer", 0))
    ]
    structures = []
    for kind, positions in made:
        symbols = "OH2" * (len(positions) // 3)
        energy, forces = energy_and_forces(symbols, positions)
        info = {"kind": kind}
        if kind == "dimer":
            info["oo_distance"] = float(pair_distances(positions[[0, 3]])[0])
            info["energy_monomers"] = sum(
                energy_and_forces("OH2", part)[0]
                for part in (positions[:3], positions[3:])
            )
        atoms = Atoms(symbols, positions=positions, info=info)
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces)
        structures.append(atoms)
    return structures


def _parser():
    return generator_parser(
        "water_dimers",
        "Write water dimers (O-O 3 to 10 Å) and flexible monomers with "
        "GFN2-xTB energies and forces, computed with tblite, as extended XYZ. "
        "Needs the extra reference: "
        f"{install_command('reference')}.",
        DEFAULT_OUTPUT,
        COUNTS,
    )


def main(argv=None):
    """Run the command line; return the exit status."""

    def make(args):
        counts = dict(zip(COUNTS, args.counts, strict=True))
        return make_water_dimers(seed=args.seed, counts=counts)

    return run_command(_parser(), make, argv)


if __name__ == "__main__":
    sys.exit(main())
