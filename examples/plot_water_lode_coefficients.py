"""
Coefficients first, invariants after
====================================

A SOAP+LODE model has a short-range block (the neighbour density within a
cutoff) and a long-range block (LODE, the potential of all atoms).  To keep
the two blocks apart, the long-range block must not see the atoms within the
cutoff; the potential of those atoms is subtracted from the LODE
**coefficients**, and the invariants are built afterwards.  This example
builds both blocks by hand from per-atom coefficients:
:class:`~skpr.atomistic.SphericalExpansion` and
:class:`~skpr.atomistic.LodeExpansion` give the coefficients,
:class:`~skpr.RangeSeparator` subtracts and builds the invariants, and
:class:`~skpr.atomistic.LodeDescriptor` (invariants computed by featomic
from the atoms) checks the layout.  It then shows what goes wrong when the
invariants are subtracted instead.  :class:`~skpr.atomistic.RangeSeparatedLode`
does all of it from the atoms in one step.

The structures are the water dimers of the range-separation example: no atom
of one molecule is within 3.0 Å of the other, so with a 2.8 Å cutoff the
atoms a centre sees at short range are exactly those of its own molecule.
"""

# %%
# The short-range block from density coefficients
# ------------------------------------------------
# LODE needs a periodic cell: each dimer is put in a 20 Å box.  The SOAP
# power spectrum built from the coefficients with
# :func:`~skpr.atomistic.power_spectrum` equals featomic's own
# :class:`~skpr.atomistic.SoapPowerSpectrum`.
import matplotlib.pyplot as plt
import numpy as np

from skpr import RangeSeparator, pool_structures
from skpr.atomistic import (
    LodeDescriptor,
    LodeExpansion,
    SoapPowerSpectrum,
    SphericalExpansion,
    power_spectrum,
)
from skpr.datasets import load_water_dimers

data = load_water_dimers()
dimers = np.flatnonzero(data.kind == "dimer")[::2]  # 100 dimers, 3 to 10 Å
distance = data.oo_distance[dimers]
CUTOFF, BOX, SPECIES = 2.8, 20.0, ["H", "O"]


def boxed(atoms):
    """A copy of ``atoms`` in a periodic cubic box of side ``BOX``."""
    atoms = atoms.copy()
    atoms.calc = None
    atoms.cell = np.eye(3) * BOX
    atoms.pbc = True
    return atoms


structures = [boxed(data.structures[i]) for i in dimers]
density = SphericalExpansion(CUTOFF, max_radial=4, max_angular=3, species=SPECIES)
coefficients, structure_index = density.fit(structures).transform_local(structures)
short_range = power_spectrum(coefficients, n_species=2, max_angular=3)
soap = SoapPowerSpectrum(
    CUTOFF, max_radial=4, max_angular=3, species=SPECIES, separate_center_types=False
)
reference, _ = soap.fit(structures).transform_local(structures)
print(
    f"{coefficients.shape[1]} density coefficients per atom -> "
    f"{short_range.shape[1]} SOAP invariants; against SoapPowerSpectrum: "
    f"{np.abs(short_range - reference).max() / np.abs(reference).max():.1e}"
)

# %%
# The long-range coefficients
# ---------------------------
# ``V``: the LODE coefficients of the smeared ``1/r^6`` potential of all
# atoms (and their periodic images) around every atom.  ``V_SR``: those of
# the atoms within the cutoff, here the centre's own molecule, so the LODE
# coefficients of each molecule computed alone.  (``RangeSeparatedLode``
# computes ``V_SR`` in real space instead, without the molecule's periodic
# images, whose share is small for ``1/r^6`` in a 20 Å box.)  The ``l = 0``
# channel of ``V`` is the radial LODE invariant featomic computes.
lode = LodeExpansion(
    exponent=6, max_radial=3, max_angular=2, basis_radius=4.0, species=SPECIES
)
V, _ = lode.fit(structures).transform_local(structures)
V_short = np.vstack([lode.transform_local([d[:3], d[3:]])[0] for d in structures])
radial = LodeDescriptor(
    exponent=6,
    max_radial=3,
    basis_radius=4.0,
    species=SPECIES,
    separate_center_types=False,
)
radial_rows, _ = radial.fit(structures).transform_local(structures)
print(
    "radial LODE invariants against the l = 0 coefficients: "
    f"{np.abs(radial_rows - V[:, :8]).max():.1e}"
)

# %%
# Invariants of ``V - V_SR``
# --------------------------
# :class:`~skpr.RangeSeparator` takes ``[short-range block | V | V_SR]`` and
# returns ``[sr__ | lr__]``, the blocks ``BlockRidge(blocks="names")`` fits
# with one alpha each; ``separate=False`` keeps the invariants of ``V`` in the
# same columns.
rows = np.hstack([short_range, V, V_short])
layout = dict(n_species=2, max_angular=2, max_radial=3, species=SPECIES)
separator = RangeSeparator(short_range.shape[1], **layout)
separated = separator.fit_transform(rows)
together = RangeSeparator(short_range.shape[1], separate=False, **layout)
together = together.fit_transform(rows)
names = separator.get_feature_names_out()
long_range = np.char.startswith(names.astype(str), "lr__")
print(
    f"{np.sum(~long_range)} sr__ and {np.sum(long_range)} lr__ columns, "
    f"e.g. {names[long_range][0]}"
)

# the wrong way: subtract the invariants
subtracted = power_spectrum(V, n_species=2, max_angular=2) - power_spectrum(
    V_short, n_species=2, max_angular=2
)

# %%
# What the long-range block sees
# ------------------------------
# Left: the norm of each dimer's long-range block (summed over its atoms, as
# the model sees it) against the O-O distance.  Without separation it changes
# little with the distance (slope -0.2 beyond 5 Å): the centre's own molecule
# dominates it.  With
# separation it falls as the square of the far molecule's potential, close
# to ``d^-13`` beyond 5 Å (fitted slopes below).  Subtracting the invariants
# leaves the cross terms ``2 PS(V - V_SR, V_SR)``, linear in the far
# potential: it falls only as ``d^-6.6``, so the short-range atoms are still
# in the block.  Right: the ``l = 0``, ``n1 = n2`` invariants of one species
# are squared norms and cannot be negative, and none is in the two proper
# power spectra (their points lie on top of each other at zero); after
# subtracting invariants, 40 % of them are, half of them in every dimer
# beyond 5 Å.
blocks = {
    "not separated": together[:, long_range],
    "V - V_SR, then invariants": separated[:, long_range],
    "invariants subtracted": subtracted,
}
# columns "lr__a|b|l=0|n1=n|n2=n" with a = b
labels = [name.removeprefix("lr__").split("|") for name in names[long_range]]
squares = [
    i
    for i, (a, b, angular, n1, n2) in enumerate(labels)
    if a == b and angular == "l=0" and n1[3:] == n2[3:]
]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
far = distance > 5.0
for (label, block), marker in zip(blocks.items(), "os^", strict=True):
    norm = np.linalg.norm(pool_structures(block, structure_index), axis=1)
    slope = np.polyfit(np.log(distance[far]), np.log(norm[far]), 1)[0]
    print(f"{label:>26}: norm ~ d^{slope:.1f} beyond 5 Å")
    label_slope = f"{label} (d$^{{{slope:.1f}}}$)"
    axes[0].loglog(distance, norm, marker, ms=3, label=label_slope)
    negative = block[:, squares] < 0
    print(f"{'':>26}  squared norms < 0: {negative.mean():.0%} of all")
    share = pool_structures(negative, structure_index, pooling="mean").mean(axis=1)
    axes[1].plot(distance, 100 * share, marker, ms=3, label=label)
axes[0].set_xlabel("O-O distance (Å)")
axes[0].set_ylabel("norm of the long-range block (featomic units)")
axes[0].set_xticks([3, 4, 6, 10], ["3", "4", "6", "10"])
axes[0].legend(fontsize="small")
axes[1].set_xlabel("O-O distance (Å)")
axes[1].set_ylabel("negative squared norms (% of the dimer's)")
axes[1].legend(fontsize="small")
fig.tight_layout()
# sphinx_gallery_start_ignore
# Run as a script, write each figure to a PNG file in the current folder.
# sphinx-gallery runs the example without ``__file__`` and captures the
# figures itself, so there this does nothing.
if "__file__" in globals():
    from pathlib import Path

    for number in plt.get_fignums():
        name = f"{Path(__file__).stem}-{number}.png"
        plt.figure(number).savefig(name, dpi=150)
        print(f"figure {number} written to {name}")
# sphinx_gallery_end_ignore
plt.show()
