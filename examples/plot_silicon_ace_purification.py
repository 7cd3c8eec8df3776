"""
Purifying ACE features you already have
=======================================

ACE codes compute self-interacting features: products of the neighbour
density ``A_k = sum_j phi_k(r_j)``, in which one neighbour may appear several
times, so the order-``nu`` block also describes clusters of fewer than
``nu + 1`` atoms.  With polynomial one-particle functions and a hard cutoff,
the purified features (sums over distinct neighbours only) are a fixed
linear map of the self-interacting ones (Ho, Gutleb and Ortner, J. Comput.
Phys. 2024).  :class:`~skpr.ACEPurifier` fits that map exactly from the
features alone, on reference clusters with fewer neighbours than each order,
and applies it to any other structure.

Here the self-interacting features of Stillinger-Weber silicon clusters come
from :class:`~skpr.atomistic.BodyOrderFeatures` (``purify=False``), standing
in for features exported from an ACE code; the same class with
``purify=True`` computes the purified ones directly, which checks the map.
"""

# %%
# Self-interacting features and neighbour counts
# ----------------------------------------------
# Monomial radial functions with a hard cutoff (``cutoff_width=0``), and
# lower orders with more radial functions than the higher ones, so that the
# products the self-interaction creates lie in the lower-order blocks.
import matplotlib.pyplot as plt
import numpy as np
from ase.neighborlist import neighbor_list

from skpr import ACEPurifier
from skpr.atomistic import BodyOrderFeatures
from skpr.datasets import load_silicon_clusters

data = load_silicon_clusters()
kinds = ["dimer", "trimer", "tetramer", "pentamer"]
of_kind = {kind: np.flatnonzero(data.kind == kind) for kind in kinds}
reference = np.r_[of_kind["dimer"][:100], of_kind["trimer"][:100]]
others = np.r_[
    of_kind["dimer"][100:],
    of_kind["trimer"][100:],
    of_kind["tetramer"],
    of_kind["pentamer"][:100],
]
structures = [data.structures[i] for i in np.r_[reference, others]]
kind = data.kind[np.r_[reference, others]]
is_reference = np.arange(len(structures)) < len(reference)

hypers = dict(
    max_order=3,
    max_radial=(4, 1, 0),
    max_angular=(0, 2, 1),
    radial_basis="monomials",
    cutoff_width=0.0,
)
raw = BodyOrderFeatures(purify=False, **hypers).set_output(transform="pandas")
X = raw.fit(structures).transform(structures)
direct = BodyOrderFeatures(purify=True, **hypers).set_output(transform="pandas")
X_direct = direct.fit(structures).transform(structures)
print(f"columns per order nu = 1, 2, 3: {raw.n_features_per_order_}")

# for each structure, the largest number of neighbours of one of its atoms
n_neighbors = np.array(
    [
        np.bincount(neighbor_list("i", atoms, raw.cutoff), minlength=len(atoms)).max()
        for atoms in structures
    ]
)
for name in kinds:
    print(f"{name:>9}: at most {n_neighbors[kind == name].max()} neighbours")

# %%
# Fit the map on dimers and trimers
# ---------------------------------
# The order-2 block is fitted on the dimers (one neighbour), the order-3
# block on dimers and trimers (at most two); a quarter of these reference
# rows is held out to check that the map is exact and determined.  Order 1
# has nothing to remove.
purifier = ACEPurifier().set_output(transform="pandas")
purifier.fit(X[is_reference], n_neighbors=n_neighbors[is_reference])
X_pure = purifier.transform(X)
print(f"blocks {purifier.block_names_}, orders {purifier.orders_}")
print(f"reference rows per block: {purifier.n_reference_}")
print(f"largest purified value on the fitted rows:   {purifier.fit_error_}")
print(f"largest purified value on the held-out rows: {purifier.holdout_error_}")

# %%
# On the clusters the map never saw, 50 dimers, 50 trimers, all tetramers
# and 100 pentamers, it gives the directly purified features to round-off
# (relative to each block's largest value), although no tetramer or pentamer
# was used to fit it.
for block, name in zip(purifier.blocks_, purifier.block_names_, strict=True):
    want = X_direct.iloc[~is_reference, block].to_numpy()
    got = X_pure.iloc[~is_reference, block].to_numpy()
    difference = np.abs(got - want).max() / np.abs(want).max()
    print(f"{name}: map against direct purification, relative {difference:.1e}")

# %%
# What the purified blocks see
# ----------------------------
# Left, the RMS value of each block on each kind of cluster (the clusters not
# used in the fit).  Self-interacting blocks are non-zero on every cluster;
# purified, order 2 (3-body) vanishes on dimers and order 3 (4-body) on
# dimers and trimers, to 1e-13 or below (bars at the bottom), while on
# larger clusters they keep about 20 to 60 % of their self-interacting RMS.
# Right, the map itself: block upper triangular, each purified block is its
# own self-interacting block minus combinations of the lower-order columns.
rms = {}
for label, frame in (("self-interacting", X), ("purified by the map", X_pure)):
    rms[label] = np.array(
        [
            [
                np.sqrt(np.mean(frame.iloc[(kind == name) & ~is_reference, b] ** 2))
                for b in purifier.blocks_
            ]
            for name in kinds
        ]
    )
    print(f"RMS per block (rows: {', '.join(kinds)}), {label}:")
    print(np.array2string(rms[label], precision=1, floatmode="maxprec"))

fig, axes = plt.subplots(1, 2, figsize=(11, 4), width_ratios=[1.6, 1])
width = 0.13
positions = np.arange(len(kinds))
colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
for j, name in enumerate(purifier.block_names_):
    for k, (label, values) in enumerate(rms.items()):
        axes[0].bar(
            positions + (2 * j + k - 2.5) * width,
            np.maximum(values[:, j], 1e-18),
            width,
            color=colors[j],
            alpha=0.45 if k == 0 else 1.0,
            hatch="//" if k == 0 else None,
            label=f"{name}, {label}",
        )
axes[0].set_yscale("log")
axes[0].set_ylim(1e-19, 1e8)
axes[0].set_yticks(10.0 ** np.arange(-18, 1, 3))
axes[0].set_xticks(positions, [f"{name}s" for name in kinds])
axes[0].set_ylabel("RMS of the block's features")
axes[0].set_title("block magnitude per cluster size")
axes[0].legend(fontsize="small", ncols=3, loc="upper center")

change = np.abs(np.asarray(purifier.map_) - np.eye(X.shape[1]))
image = axes[1].imshow(
    np.log10(np.maximum(change, 1e-16)), cmap="viridis", vmin=-16, vmax=1
)
for block in purifier.blocks_[1:]:
    axes[1].axhline(block.start - 0.5, color="w", lw=0.8)
    axes[1].axvline(block.start - 0.5, color="w", lw=0.8)
axes[1].set_xlabel("output column (nu1 | nu2 | nu3)")
axes[1].set_ylabel("input column")
axes[1].set_title("map minus identity")
fig.colorbar(image, ax=axes[1], label="log10 |map - identity|")
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
