"""Active learning around the least rigid atoms (paper section 4.2).

A large structure is out of reach of a reference calculation; the atoms the
model knows least (lowest LPR) are found (:func:`least_rigid_atoms`), small
structures are built around one of them (:mod:`skpr.atomistic._constructions`),
and :func:`lpr_enhancement` scores each construction before any calculation:
the LPR of the target atom once 1, 2, ... of the structures are added, from
the what-if updates of the fitted model (no refits).
"""

import numbers

import numpy as np
from sklearn.utils import Bunch

from skpr._whatif import what_if
from skpr.atomistic._constructions import (
    _check_center,
    _check_cutoff,
    _default_host,
    carve_cluster,
    high_symmetry_embedding,
    periodic_embedding,
)
from skpr.atomistic._structures import check_structures, symbols
from skpr.atomistic._union import _parts, transform_local

#: Constructions scored by :func:`lpr_enhancement`, in the order of Fig. 5.
STRATEGIES = ("original", "cluster", "periodic", "high_symmetry")


# --------------------------------------------------------------------------
# Finding the least rigid atoms


def _efr(model, caller):
    from skpr.atomistic._regressor import EnergyForceRegressor

    if not isinstance(model, EnergyForceRegressor):
        raise TypeError(
            f"{caller} needs a fitted skpr.atomistic.EnergyForceRegressor (for "
            "energies alone: EnergyForceRegressor(descriptor, BlockRidge(), "
            f"force_weight=0)); got {type(model).__name__}."
        )
    model._skpr_regressor(caller)
    return model


def least_rigid_atoms(model, structure, k=1):
    """The ``k`` atoms of a structure with the lowest LPR.

    Parameters
    ----------
    model : skpr.atomistic.EnergyForceRegressor
        Fitted, with a skpr regressor.
    structure : ase.Atoms
        Any size: the per-atom features are computed once, their quadratic
        forms chunk by chunk.
    k : int, default=1

    Returns
    -------
    sklearn.utils.Bunch
        ``index`` (atoms, lowest LPR first), ``rigidity`` (their LPR),
        ``positions`` (their positions, Å) and ``all_rigidities`` (the LPR of
        every atom, in ase order).
    """
    model = _efr(model, "least_rigid_atoms")
    (structure,) = check_structures([structure], caller="least_rigid_atoms")
    if not isinstance(k, numbers.Integral) or not 1 <= k <= len(structure):
        raise ValueError(
            f"k must be an integer from 1 to the {len(structure)} atoms of the "
            f"structure, got {k!r}."
        )
    rigidity = model.local_rigidity([structure])
    order = np.argsort(rigidity, kind="stable")[:k]
    return Bunch(
        index=order,
        rigidity=rigidity[order],
        positions=structure.positions[order].copy(),
        all_rigidities=rigidity,
    )


# --------------------------------------------------------------------------
# Scoring the constructions


def descriptor_cutoff(model):
    """The largest finite cutoff of the model's descriptor parts (Å)."""
    cutoffs = [
        float(part.cutoff)
        for part, _ in _parts(model.descriptor_, "transform_local")
        if isinstance(getattr(part, "cutoff", None), numbers.Real)
    ]
    if not cutoffs:
        raise ValueError(
            "The model's descriptor has no cutoff (e.g. LODE alone); pass cutoff= "
            "(the radius of the environment to keep, in Å)."
        )
    return max(cutoffs)


def _known_species(model):
    known = set()
    for part, _ in _parts(model.descriptor_, "transform_local"):
        species = getattr(part, "species_", None)
        if species is not None:
            known |= set(np.asarray(species).tolist())
    return known


def lpr_enhancement(
    model,
    structure,
    center,
    *,
    cutoff=None,
    n_added=10,
    strategies=STRATEGIES,
    host=None,
    rattle=0.2,
    min_distance=1.0,
    seed=0,
):
    """How much each construction would raise the LPR of one atom.

    For each strategy, the LPR of atom ``center`` of ``structure`` after
    adding 1, 2, ..., ``n_added`` structures to the training set, from the
    what-if updates of the fitted model (no refits, no reference values):

    - ``"original"``: the whole structure, added 1, 2, ... times;
    - ``"cluster"``: the carved cluster, added 1, 2, ... times;
    - ``"periodic"``: 1, 2, ... rattled periodic embeddings;
    - ``"high_symmetry"``: 1, 2, ... rattled high-symmetry embeddings, with
      the host crystal itself added on top (as in the paper's Fig. 5b).

    Parameters
    ----------
    model : skpr.atomistic.EnergyForceRegressor
        Fitted, with a skpr regressor.
    structure : ase.Atoms
    center : int
    cutoff : float, optional
        Default: the largest cutoff of the model's descriptor.
    n_added : int, default=10
    strategies : sequence of str, default=STRATEGIES
    host : ase.Atoms, optional
        Of the high-symmetry embedding (cubic diamond by default); it may
        hold only elements the model knows.
    rattle, min_distance, seed
        As in :func:`periodic_embedding`.

    Returns
    -------
    sklearn.utils.Bunch
        ``rigidity`` (the LPR before), ``enhancement`` (dict: strategy ->
        ndarray of shape (n_added,), ``LPR_after / LPR_before - 1``),
        ``structures`` (dict: strategy -> the structures added, in order),
        ``n_added``, ``center`` and ``cutoff``; :func:`format_enhancement`
        makes a table of it, :func:`plot_lpr_enhancement` a plot.
    """
    model = _efr(model, "lpr_enhancement")
    (structure,) = check_structures([structure], caller="lpr_enhancement")
    center = _check_center(structure, center)
    cutoff = descriptor_cutoff(model) if cutoff is None else cutoff
    cutoff = _check_cutoff(structure, cutoff)
    if not isinstance(n_added, numbers.Integral) or n_added < 1:
        raise ValueError(f"n_added must be a positive integer, got {n_added!r}.")
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"Unknown strategies {unknown}; choose from {STRATEGIES}.")
    host = _default_host() if host is None else host
    if "high_symmetry" in strategies:
        known = _known_species(model)
        unseen = set(np.unique(host.numbers).tolist()) - known
        if known and unseen:
            raise ValueError(
                f"The host holds {symbols(sorted(unseen))}, which the model's "
                f"descriptor does not know (fitted species: {symbols(sorted(known))}). "
                "Use a host made of the model's elements (e.g. "
                "ase.build.bulk('C', 'diamond', cubic=True) for carbon)."
            )
    regressor = model.regressor_
    X_local, _ = transform_local(model.descriptor_, [structure])
    query = model._frame(X_local)[center : center + 1]
    before = float(regressor.local_rigidity(query)[0])
    made = {}
    for strategy in strategies:
        if strategy == "original":
            made[strategy] = [structure] * n_added
        elif strategy == "cluster":
            made[strategy] = [carve_cluster(structure, center, cutoff)] * n_added
        elif strategy == "periodic":
            made[strategy] = periodic_embedding(
                structure,
                center,
                cutoff,
                n_copies=n_added,
                rattle=rattle,
                min_distance=min_distance,
                seed=seed,
            )
        else:
            made[strategy] = [host] + high_symmetry_embedding(
                structure,
                center,
                cutoff,
                host=host,
                n_copies=n_added,
                rattle=rattle,
                min_distance=min_distance,
                seed=seed,
            )
    enhancement = {}
    for strategy, structures in made.items():
        first = 2 if strategy == "high_symmetry" else 1  # the host comes on top
        # rows of each distinct structure once (original and cluster repeat)
        distinct = list({id(atoms): atoms for atoms in structures}.values())
        position = {id(atoms): i for i, atoms in enumerate(distinct)}
        rows, weights, group = model._design_rows(distinct, None)
        rows = np.asarray(rows, dtype=float)
        blocks = [np.flatnonzero(group == i) for i in range(len(distinct))]
        values = []
        for m in range(n_added):
            chosen = np.concatenate(
                [blocks[position[id(atoms)]] for atoms in structures[: m + first]]
            )
            after = what_if(
                regressor, add=model._frame(rows[chosen]), add_weight=weights[chosen]
            )
            values.append(float(after.local_rigidity(query)[0]) / before - 1.0)
        enhancement[strategy] = np.array(values)
    return Bunch(
        rigidity=before,
        enhancement=enhancement,
        structures=made,
        n_added=n_added,
        center=center,
        cutoff=cutoff,
    )


def format_enhancement(result, steps=(1, 10)):
    """A markdown table of LPR enhancements (percent) for some numbers of structures."""
    steps = [s for s in steps if 1 <= s <= result.n_added]
    lines = ["| strategy | " + " | ".join(f"{s} added" for s in steps) + " |"]
    lines.append("|---|" + "---|" * len(steps))
    for strategy, values in result.enhancement.items():
        cells = " | ".join(f"{100 * values[s - 1]:.3g} %" for s in steps)
        lines.append(f"| {strategy} | {cells} |")
    return "\n".join(lines)


def plot_lpr_enhancement(result, ax=None):
    """LPR enhancement (percent) against the number of added structures (Fig. 5c)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5))
    steps = np.arange(1, result.n_added + 1)
    for strategy, values in result.enhancement.items():
        ax.plot(steps, 100 * values, "o-", label=strategy.replace("_", "-"))
    ax.set(xlabel="structures added", ylabel="LPR enhancement (%)", yscale="log")
    ax.legend()
    return ax
