"""Small structures around one atom's environment (paper section 4.2, Fig. 5a).

- :func:`carve_cluster`: the spherical environment as a non-periodic cluster;
- :func:`periodic_embedding`: the cube that tightly holds the environment,
  made periodic, its cell enlarged until no distance across the boundary is
  below ``min_distance``, the buffer atoms (in the cube, outside the sphere)
  rattled;
- :func:`high_symmetry_embedding`: the environment cut out and put into a
  supercell of a host crystal (diamond by default), the smallest that holds it
  and one intact host environment, the other host atoms rattled.

Every construction keeps the atoms within the cutoff of the centre at their
relative positions (minimum image), so that the centre's environment, and
its features, are those of the original; buffer atoms never enter that
sphere.  The arrays ``"environment"`` (atoms of the target's sphere) and
``"fixed"`` (atoms not rattled) say which atom is which.
"""

import numbers

import numpy as np
from ase import Atoms
from ase.build import bulk

from skpr.atomistic._structures import check_structures, close_pairs

#: Redraws of a copy's rattle before giving up (a buffer atom drawn into the
#: centre's sphere, or two atoms closer than ``min_distance``).
MAX_REDRAWS = 200

#: Step (Å) by which a periodic embedding's cell is enlarged.
CELL_STEP = 0.05


def _check_center(structure, center):
    n = len(structure)
    if not isinstance(center, numbers.Integral) or not -n <= center < n:
        raise IndexError(
            f"center={center!r} is not an atom of the structure, which has {n} "
            f"atoms: give an index from 0 to {n - 1}."
        )
    return int(center) % n


def _widths(atoms):
    """Distances between opposite faces of the cell (1 / |reciprocal vectors|)."""
    return 1.0 / np.linalg.norm(atoms.cell.complete().reciprocal(), axis=1)


def _check_cutoff(structure, cutoff):
    if not isinstance(cutoff, numbers.Real) or not cutoff > 0:
        raise ValueError(f"cutoff must be a positive distance in Å, got {cutoff!r}.")
    pbc = np.asarray(structure.pbc, dtype=bool)
    if pbc.any():
        narrowest = _widths(structure)[pbc].min()
        if cutoff > narrowest / 2:
            raise ValueError(
                f"cutoff={cutoff} Å is larger than half the cell ({narrowest:.3f} "
                "Å across): an atom would see its own periodic image within the "
                "cutoff, and its environment is not a sphere of distinct atoms. "
                "Use a smaller cutoff or a supercell (structure.repeat(...))."
            )
    return float(cutoff)


def _environment(structure, center, radius, *, cube=False):
    """Atoms around the centre (with their images): indices and vectors.

    Within the sphere of ``radius`` (or the cube of half side ``radius``),
    every periodic image once, as vectors from the centre; the centre first.
    """
    positions = structure.positions - structure.positions[center]
    pbc = np.asarray(structure.pbc, dtype=bool)
    cell = np.asarray(structure.cell.complete())
    if pbc.any():
        fractional = np.linalg.solve(cell.T, positions.T).T
        fractional[:, pbc] -= np.round(fractional[:, pbc])
        positions = fractional @ cell
        shifts = np.array(
            [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)]
        )
        shifts[:, ~pbc] = 0
        shifts = np.unique(shifts, axis=0) @ cell
    else:
        shifts = np.zeros((1, 3))
    indices, vectors = [], []
    for shift in shifts:
        moved = positions + shift
        inside = (
            np.all(np.abs(moved) <= radius, axis=1)
            if cube
            else np.linalg.norm(moved, axis=1) <= radius
        )
        indices.append(np.flatnonzero(inside))
        vectors.append(moved[inside])
    indices, vectors = np.concatenate(indices), np.concatenate(vectors)
    # the centre first, then by distance (a stable, reproducible order)
    order = np.lexsort((indices, np.linalg.norm(vectors, axis=1)))
    return indices[order], vectors[order]


def _sphere(vectors, cutoff):
    return np.linalg.norm(vectors, axis=1) <= cutoff


def _mark(atoms, environment, fixed, construction, protected=(0,)):
    atoms.arrays["environment"] = np.asarray(environment, dtype=bool)
    atoms.arrays["fixed"] = np.asarray(fixed, dtype=bool)
    atoms.info["construction"] = construction
    atoms.info["center"] = 0
    atoms.info["protected"] = tuple(int(i) for i in protected)
    return atoms


def carve_cluster(structure, center, cutoff):
    """The environment of one atom as a non-periodic cluster.

    Parameters
    ----------
    structure : ase.Atoms
    center : int
        The atom at the centre.
    cutoff : float
        Radius in Å (the descriptor's cutoff).

    Returns
    -------
    ase.Atoms
        The centre at the origin (atom 0) and every atom (periodic images
        included) within ``cutoff`` of it, at their minimum-image positions;
        ``pbc=False``.
    """
    (structure,) = check_structures([structure], caller="carve_cluster")
    center = _check_center(structure, center)
    cutoff = _check_cutoff(structure, cutoff)
    indices, vectors = _environment(structure, center, cutoff)
    cluster = Atoms(numbers=structure.numbers[indices], positions=vectors, pbc=False)
    everything = np.ones(len(cluster), dtype=bool)
    return _mark(cluster, everything, everything, "cluster")


def _rattled(base, movable, sigma, rng, *, cutoff, min_distance, allowed):
    """A copy of ``base`` with the movable atoms displaced by N(0, sigma^2).

    Redrawn until no movable atom (or its periodic image) enters the sphere
    of a protected centre (``base.info["protected"]``) and no pair outside
    ``allowed`` is closer than ``min_distance``.
    """
    centres = base.positions[list(base.info["protected"])]
    cell = np.asarray(base.cell.complete()) if base.pbc.any() else None
    for _ in range(MAX_REDRAWS):
        atoms = base.copy()
        atoms.positions[movable] += rng.normal(scale=sigma, size=(movable.sum(), 3))
        entered = False
        for centre in centres:
            vectors = atoms.positions[movable] - centre
            if cell is not None:
                vectors = _mic(vectors, cell)
            entered |= bool(np.any(np.linalg.norm(vectors, axis=1) <= cutoff))
        if not entered and not _too_close(atoms, min_distance, allowed):
            return atoms
    raise RuntimeError(  # pragma: no cover - needs an absurd rattle
        f"Could not rattle the buffer atoms by sigma={sigma} Å in {MAX_REDRAWS} "
        f"draws without a pair closer than {min_distance} Å or a buffer atom "
        "inside a fixed environment; use a smaller rattle."
    )


def _too_close(atoms, min_distance, allowed):
    """Whether a pair (periodic images included) is closer than allowed."""
    pairs = close_pairs(atoms, min_distance)
    if not len(pairs):
        return False
    return bool(set(map(tuple, pairs.tolist())) - allowed)


def _close_in(atoms, min_distance):
    return set(map(tuple, close_pairs(atoms, min_distance).tolist()))


def _copies(base, movable, n_copies, rattle, seed, *, cutoff, min_distance):
    _check_copies(n_copies, rattle)
    if rattle == 0:
        return [base.copy() for _ in range(n_copies)]
    allowed = _close_in(base, min_distance)
    rng = np.random.default_rng(seed)
    return [
        _rattled(
            base,
            movable,
            rattle,
            rng,
            cutoff=cutoff,
            min_distance=min_distance,
            allowed=allowed,
        )
        for _ in range(n_copies)
    ]


def _check_copies(n_copies, rattle):
    if not isinstance(n_copies, numbers.Integral) or n_copies < 1:
        raise ValueError(f"n_copies must be a positive integer, got {n_copies!r}.")
    if not isinstance(rattle, numbers.Real) or not rattle >= 0:
        raise ValueError(
            f"rattle must be a non-negative distance in Å, got {rattle!r}."
        )


def periodic_embedding(
    structure, center, cutoff, *, n_copies=1, rattle=0.2, min_distance=1.0, seed=0
):
    """The cube that tightly holds an atom's environment, made periodic.

    The cube of side ``2 cutoff`` centred on the atom is cut out of the
    structure (periodic images included) and becomes the cell, enlarged in
    steps of :data:`CELL_STEP` until no distance across its boundary is below
    ``min_distance``.  The atoms within ``cutoff`` of the centre stay where
    they are; the buffer atoms (in the cube, outside the sphere) are
    displaced by normal deviates of standard deviation ``rattle``, a new draw
    for each copy, redrawn if one would enter the sphere or come closer than
    ``min_distance`` to another atom.

    Parameters
    ----------
    structure : ase.Atoms
    center : int
    cutoff : float
        Radius of the environment in Å (the descriptor's cutoff).
    n_copies : int, default=1
        Structures with different rattles of the buffer atoms (Fig. 5c).
    rattle : float, default=0.2
        In Å.
    min_distance : float, default=1.0
        The close-contact rule, in Å.
    seed : int, default=0
        Of ``numpy.random.default_rng``; the same seed gives the same
        structures.

    Returns
    -------
    list of ase.Atoms
        Periodic, cubic; the centre is atom 0, at the centre of the cell.
    """
    (structure,) = check_structures([structure], caller="periodic_embedding")
    center = _check_center(structure, center)
    cutoff = _check_cutoff(structure, cutoff)
    _check_copies(n_copies, rattle)
    indices, vectors = _environment(structure, center, cutoff, cube=True)
    inside = _sphere(vectors, cutoff)
    side = 2.0 * cutoff
    while True:
        base = Atoms(
            numbers=structure.numbers[indices],
            positions=vectors + side / 2,
            cell=np.eye(3) * side,
            pbc=True,
        )
        if not _crosses_too_close(base, min_distance):
            break
        side += CELL_STEP
    _mark(base, inside, inside, "periodic")
    copies = _copies(
        base, ~inside, n_copies, rattle, seed, cutoff=cutoff, min_distance=min_distance
    )
    # a rattle may bring buffer atoms closer across the boundary: enlarge
    out = []
    for atoms in copies:
        while _crosses_too_close(atoms, min_distance):
            atoms.set_cell(atoms.cell.array + np.eye(3) * CELL_STEP, scale_atoms=False)
        out.append(atoms)
    return out


def _crosses_too_close(atoms, min_distance):
    """A pair closer than ``min_distance`` only through the cell boundary."""
    pairs = close_pairs(atoms, min_distance)
    if not len(pairs):
        return False
    direct = np.linalg.norm(
        atoms.positions[pairs[:, 1]] - atoms.positions[pairs[:, 0]], axis=1
    )
    return bool(np.any(direct >= min_distance))


def _default_host():
    return bulk("C", "diamond", a=3.567, cubic=True)


def high_symmetry_embedding(
    structure,
    center,
    cutoff,
    *,
    host=None,
    n_copies=1,
    rattle=0.2,
    min_distance=1.0,
    seed=0,
):
    """An atom's environment embedded in a supercell of a host crystal.

    The environment (the atoms within ``cutoff`` of the centre) replaces the
    host atoms within ``cutoff`` of the centre of an ``n x n x n`` supercell
    of ``host``; host atoms closer than ``min_distance`` to an environment
    atom go too.  ``n`` is the smallest for which the cell also holds one
    intact host environment (a host atom whose neighbours within ``cutoff``
    are all host atoms at their crystal positions) and no pair, across the
    boundary or not, is closer than ``min_distance`` (except pairs already
    that close in the original).  The other host atoms (buffer) are rattled;
    the environment and the intact host environment stay fixed.

    Parameters
    ----------
    structure : ase.Atoms
    center : int
    cutoff : float
    host : ase.Atoms, optional
        A periodic crystal; by default cubic diamond (a = 3.567 Å).  Add
        ``host`` itself to the training set with the embeddings (paper
        section 4.2): :func:`lpr_enhancement` does.
    n_copies, rattle, min_distance, seed
        As in :func:`periodic_embedding`.

    Returns
    -------
    list of ase.Atoms
        The centre is atom 0; ``info["host_center"]`` is the centre of the
        intact host environment.
    """
    (structure,) = check_structures([structure], caller="high_symmetry_embedding")
    center = _check_center(structure, center)
    cutoff = _check_cutoff(structure, cutoff)
    _check_copies(n_copies, rattle)
    host = _default_host() if host is None else host
    (host,) = check_structures([host], caller="high_symmetry_embedding")
    if not np.all(host.pbc):
        raise ValueError("host must be a crystal periodic in all three directions.")
    indices, vectors = _environment(structure, center, cutoff)
    numbers_env = structure.numbers[indices]
    allowed = _close_in(Atoms(numbers=numbers_env, positions=vectors), min_distance)
    for n in range(1, 64):
        supercell = host.repeat(n)
        embedded = _embed(supercell, numbers_env, vectors, cutoff, min_distance)
        if embedded is None:
            continue
        base, kept = embedded
        host_center = _intact_host_environment(
            base, supercell, kept, len(indices), cutoff
        )
        if host_center is not None and not _too_close(base, min_distance, allowed):
            break
    else:  # pragma: no cover - hosts up to 63^3 cells
        raise ValueError(
            "No supercell of the host up to 63 x 63 x 63 holds the environment."
        )
    environment = np.zeros(len(base), dtype=bool)
    environment[: len(indices)] = True
    cell = np.asarray(base.cell.complete())
    around = _mic(base.positions - base.positions[host_center], cell)
    fixed = environment | (np.linalg.norm(around, axis=1) <= cutoff)
    _mark(base, environment, fixed, "high_symmetry", protected=(0, host_center))
    base.info["host_center"] = int(host_center)
    base.info["host_repeat"] = n
    return _copies(
        base, ~fixed, n_copies, rattle, seed, cutoff=cutoff, min_distance=min_distance
    )


def _embed(supercell, numbers, vectors, cutoff, min_distance):
    """Environment at the cell's centre, overlapping host atoms removed.

    Returns the structure (environment atoms first) and the supercell
    indices of the host atoms kept, or None if the cell is too small for the
    environment to miss its own periodic images.
    """
    cell = np.asarray(supercell.cell.complete())
    if _widths(supercell).min() < 2 * cutoff + min_distance:
        return None
    middle = cell.sum(axis=0) / 2
    placed = vectors + middle
    remove = np.linalg.norm(_mic(supercell.positions - middle, cell), axis=1) <= cutoff
    probe = Atoms(
        numbers=np.concatenate([numbers, supercell.numbers]),
        positions=np.vstack([placed, supercell.positions]),
        cell=cell,
        pbc=True,
    )
    n_env = len(numbers)
    pairs = close_pairs(probe, min_distance)
    overlapping = pairs[(pairs[:, 0] < n_env) & (pairs[:, 1] >= n_env), 1] - n_env
    remove[overlapping] = True
    kept = np.flatnonzero(~remove)
    atoms = Atoms(
        numbers=np.concatenate([numbers, supercell.numbers[kept]]),
        positions=np.vstack([placed, supercell.positions[kept]]),
        cell=cell,
        pbc=True,
    )
    return atoms, kept


def _mic(vectors, cell):
    fractional = np.linalg.solve(cell.T, vectors.T).T
    fractional -= np.round(fractional)
    return fractional @ cell


def _intact_host_environment(embedded, supercell, kept, n_env, cutoff):
    """A host atom whose whole environment is crystal: its index, or None.

    Its neighbours within ``cutoff`` in the embedded structure are exactly its
    neighbours in the pristine supercell (no environment atom, none removed);
    the farthest such atom from the centre is taken.
    """
    cell = np.asarray(embedded.cell.complete())
    middle = cell.sum(axis=0) / 2
    distance = np.linalg.norm(_mic(embedded.positions - middle, cell), axis=1)
    for i in np.argsort(-distance[n_env:], kind="stable") + n_env:
        around = np.linalg.norm(
            _mic(embedded.positions - embedded.positions[i], cell), axis=1
        )
        neighbours = np.flatnonzero(around <= cutoff)
        if np.any(neighbours < n_env):
            continue
        crystal = np.linalg.norm(
            _mic(supercell.positions - supercell.positions[kept[i - n_env]], cell),
            axis=1,
        )
        if np.count_nonzero(crystal <= cutoff) == neighbours.size:
            return int(i)
    return None
