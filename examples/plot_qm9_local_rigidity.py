"""
Which atoms does the model know least?
======================================

A model of total energies built from atomic contributions,
``E = sum_i e(x_i)``, is trained on molecules but predicts one number per
atom. The local prediction rigidity (LPR) of an atom says how firmly the
training energies pin down that atom's contribution: a low LPR marks an
environment the training set says little about, even when the total energy
of its molecule looks fine. Here we fit a SOAP model to 80 QM9 molecules,
compute the LPR of every atom of the 100 molecules, and look at it element by
element and on one molecule.
"""

# %%
# Structures in, model out
# ------------------------
# The descriptor is a ``FeatureUnion`` of a SOAP power spectrum summed over
# atoms and the atom counts per element; each becomes one block of
# ``BlockRidge(blocks="names")`` with its own regularization, chosen by
# cross-validation over structures. ``X`` is simply the list of ``ase.Atoms``.

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from ase.units import Hartree
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import FeatureUnion, Pipeline

from skpr import BlockRidge
from skpr.atomistic import (
    CompositionFeatures,
    SoapPowerSpectrum,
    plot_atoms,
    transform_local,
)
from skpr.datasets import load_qm9

qm9 = load_qm9()
structures = qm9.structures
energy = qm9.energy * Hartree  # eV
train = np.arange(80)

union = FeatureUnion(
    [
        ("soap", SoapPowerSpectrum(cutoff=4.0, max_radial=2, max_angular=2)),
        ("composition", CompositionFeatures()),
    ]
).set_output(transform="pandas")
search = GridSearchCV(
    Pipeline([("features", union), ("ridge", BlockRidge(blocks="names"))]),
    {
        "ridge__alpha": [
            {"soap": a, "composition": 1e-6} for a in (1e-3, 1e-2, 1e-1, 1.0)
        ]
    },
    cv=KFold(4, shuffle=True, random_state=0),
    scoring="neg_root_mean_squared_error",
).fit([structures[i] for i in train], energy[train])
model = search.best_estimator_
print(f"alpha: {search.best_params_['ridge__alpha']}")
print(f"cross-validated RMSE: {-search.best_score_:.3f} eV")

# %%
# The LPR of every atom
# ---------------------
# :func:`~skpr.atomistic.transform_local` gives the per-atom rows of the same
# features (their sums per molecule are the rows the model was fitted on),
# and ``local_rigidity`` turns each into ``1 / (x_i^T H^{-1} x_i)``; with
# every training energy weighted by 1 eV⁻², it is in eV⁻². The composition
# block is part of each atom's row: an atom's contribution includes the
# reference energy of its element.

X_local, structure_index = transform_local(model[:-1], structures)
X_local = pd.DataFrame(X_local, columns=model[0].get_feature_names_out())
lpr = model[-1].local_rigidity(X_local)

atoms_table = pd.DataFrame(
    {
        "molecule": structure_index,
        "formula": [structures[i].get_chemical_formula() for i in structure_index],
        "element": np.concatenate([a.get_chemical_symbols() for a in structures]),
        "in_training_set": np.isin(structure_index, train),
        "lpr": lpr,
    }
)
print(
    atoms_table.groupby("element")["lpr"]
    .describe(percentiles=[0.5])[["count", "min", "50%", "max"]]
    .rename(columns={"50%": "median"})
    .to_string(float_format="{:.3g}".format)
)

# %%
# Hydrogen atoms, hundreds of them in a handful of similar environments,
# have the highest median LPR and the narrowest spread. Nitrogen and oxygen
# sit lower, and carbon spreads over two decades (a few carbons lie above
# every hydrogen). The least rigid atoms are all carbons at
# the centre of branched molecules, whose environments hold many neighbours
# within the cutoff and are rare among 80 small molecules. Being in the
# training set does not help much: the model knows the *total* energy of those
# molecules, not how to split it among their atoms.

print(
    atoms_table.nsmallest(8, "lpr").to_string(index=False, float_format="{:.3g}".format)
)

elements = ["H", "C", "N", "O"]
fig, ax = plt.subplots(figsize=(6, 3.5))
rng = np.random.default_rng(0)
for k, element in enumerate(elements):
    for in_train, marker in [(True, "o"), (False, "x")]:
        chosen = (atoms_table["element"] == element) & (
            atoms_table["in_training_set"] == in_train
        )
        values = atoms_table.loc[chosen, "lpr"]
        jitter = k + 0.3 * (rng.random(values.size) - 0.5)
        ax.scatter(jitter, values, s=12, marker=marker, color=f"C{k}", alpha=0.6)
ax.set_xticks(range(len(elements)), elements)
ax.set(yscale="log", ylabel="LPR [1/eV$^2$]", xlabel="element")
for marker, label in [("o", "training molecules"), ("x", "test molecules")]:
    ax.scatter([], [], marker=marker, color="0.4", label=label)
ax.legend()
fig.tight_layout()

# %%
# One molecule, atom by atom
# --------------------------
# The molecule holding the least rigid atom, drawn in the plane of its first
# two principal axes, each atom coloured by its LPR: the quaternary carbon of
# neopentane, with four carbon neighbours, against the better-known methyl
# groups around it.

molecule = int(atoms_table.loc[atoms_table["lpr"].idxmin(), "molecule"])
atoms = structures[molecule]
rows = atoms_table[atoms_table["molecule"] == molecule]
fig, ax = plt.subplots(figsize=(5, 4))
plot_atoms(atoms, rows["lpr"].to_numpy(), ax=ax, log=True, label="LPR [1/eV$^2$]")
ax.set_title(f"molecule {molecule} ({atoms.get_chemical_formula()})")
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

# %%
# A chemist reads this picture as a to-do list: the environments with the
# lowest LPR are the ones to add to the training set (as whole molecules, or
# as fragments carved around them), and the first ones to distrust in a
# prediction, whatever the total energy of the molecule looks like.
