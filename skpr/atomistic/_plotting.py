"""Per-atom values drawn on a structure: LPRs, force uncertainties."""

import numpy as np
from ase.data import covalent_radii

from skpr._plotting import _pyplot

#: Atoms closer than this times the sum of their covalent radii are drawn bonded.
BOND_FACTOR = 1.2


def plot_atoms(atoms, values, *, ax=None, label=None, log=False, cmap="viridis"):
    """Draw a structure with each atom coloured by a value of its own.

    The atoms are projected on the plane of the two largest principal axes
    of their positions (the view that hides least), drawn as discs scaled by
    their covalent radii, with their bonds (closer than 1.2 times the sum of
    the covalent radii) and their chemical symbols, in front-to-back order.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (periodic images are not drawn).
    values : array-like of shape (len(atoms),)
        One value per atom, such as the LPR of
        :meth:`skpr.BlockRidge.local_rigidity` or a force std.
    ax : matplotlib Axes, default=None
        Where to draw; ``None`` creates a figure.
    label : str, default=None
        Label of the colour bar.
    log : bool, default=False
        Colour by ``log10(values)`` (LPRs span decades); values must be
        positive.
    cmap : str, default="viridis"
        Matplotlib colour map.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> from ase.build import molecule
    >>> from skpr.atomistic import plot_atoms
    >>> water = molecule("H2O")
    >>> ax = plot_atoms(water, [1.0, 2.0, 3.0], label="value")
    >>> len(ax.collections)  # the atoms
    1
    """
    plt = _pyplot("plot_atoms")
    from matplotlib.patheffects import withStroke

    values = np.asarray(values, dtype=float)
    if values.shape != (len(atoms),):
        raise ValueError(
            f"values must hold one number per atom, shape ({len(atoms)},); got "
            f"shape {values.shape}."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError("values must be finite.")
    if log:
        if np.any(values <= 0):
            raise ValueError("log=True needs positive values; pass log=False.")
        values = np.log10(values)
        label = None if label is None else f"log$_{{10}}$ {label}"
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 4.0), layout="constrained")
    positions = atoms.positions - atoms.positions.mean(axis=0)
    # principal axes: the first two span the plane, the third is the depth
    _, _, axes = np.linalg.svd(positions, full_matrices=True)
    plane, depth = positions @ axes[:2].T, positions @ axes[2]
    radii = covalent_radii[atoms.numbers]
    # bonds as drawn: within 1.2 times the sum of covalent radii, in the
    # structure as given (no bonds across a periodic boundary)
    distances = atoms.get_all_distances(mic=False)
    first, second = np.nonzero(
        np.triu(distances < BOND_FACTOR * (radii[:, None] + radii[None, :]), k=1)
    )
    for i, j in zip(first, second, strict=True):
        ax.plot(*plane[[i, j]].T, color="0.6", lw=2, zorder=1)
    order = np.argsort(depth)
    radii = radii[order]
    points = ax.scatter(
        *plane[order].T,
        c=values[order],
        s=300 * (radii + 0.3) ** 2,
        cmap=cmap,
        edgecolors="black",
        zorder=2,
    )
    symbols = np.array(atoms.get_chemical_symbols())[order]
    for (x, y), symbol in zip(plane[order], symbols, strict=True):
        ax.annotate(
            symbol,
            (x, y),
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            path_effects=[withStroke(linewidth=2, foreground="white")],
        )
    ax.figure.colorbar(points, ax=ax, label=label)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
