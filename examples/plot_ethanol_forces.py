"""
What do forces add to an energy model?
======================================

A DFT calculation gives the energy of a structure and, almost for free, the
forces on all its atoms: for ethanol, one energy and 27 force components per
frame. A model of the energy ``E = X . w`` predicts the forces as
``F = -dX/dr . w``, so each force component is one more linear equation on the
same weights (paper eqs. 4-6). Here we train a SOAP model on ethanol frames
with and without these force rows and ask three questions: does the test error
drop, does the prediction rigidity (PR) of the energies rise, and are the
uncertainties ``sqrt(scale / PR)`` still calibrated?
"""

# %%
# Data and descriptors
# --------------------
# 100 molecular-dynamics frames of one ethanol molecule, energies in kcal/mol,
# forces in kcal/mol/Å. Energies are shifted by the mean of the training set
# so that the numbers stay readable. The features are a small SOAP power
# spectrum summed over atoms plus the atom counts per element; the counts take
# the place of the intercept, which would otherwise be added to every force
# component too.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import FeatureUnion

from skpr import BlockRidge
from skpr.atomistic import (
    CompositionFeatures,
    SoapPowerSpectrum,
    energy_force_rows,
    transform_gradients,
)
from skpr.datasets import load_ethanol

ethanol = load_ethanol()
rng = np.random.default_rng(0)
order = rng.permutation(len(ethanol.structures))
train, calibration, test = order[:40], order[40:60], order[60:]


def pick(indices):
    return [ethanol.structures[i] for i in indices]


reference = ethanol.energy[train].mean()
energy = ethanol.energy - reference

union = FeatureUnion(
    [
        ("soap", SoapPowerSpectrum(cutoff=4.0, max_radial=3, max_angular=2)),
        ("composition", CompositionFeatures()),
    ]
).set_output(transform="pandas")
union.fit(pick(train))
X_calibration, X_test = union.transform(pick(calibration)), union.transform(pick(test))
print(f"{X_test.shape[1]} features per structure")
print(f"standard deviation of the test energies: {energy[test].std():.1f} kcal/mol")

# %%
# Two models on the same weights
# ------------------------------
# Both models use the same ``alpha`` and the same energy weight,
# ``lambda_E = 1 (kcal/mol)^-2``; the second one adds the force rows with
# ``lambda_f = 1 (kcal/mol/Å)^-2`` per component, so that an error of 1
# kcal/mol on an energy costs as much as 1 kcal/mol/Å on one force component.
# :func:`~skpr.atomistic.energy_force_rows` stacks the rows and returns the
# loss weights as ``sample_weight``, so the Hessian of ``BlockRidge`` is eq. 6
# of the paper and its PR accounts for both kinds of rows. We repeat the fit
# for growing training sets.

alpha = {"soap": 1e-3, "composition": 1e-6}
sizes = [5, 10, 20, 40]
results = {"energies": [], "energies + forces": []}
for n_train in sizes:
    structures = pick(train[:n_train])
    features = union.transform(structures)
    gradients, structure_index = transform_gradients(union, structures)
    forces = np.concatenate([ethanol.forces[i] for i in train[:n_train]])
    rows = {
        "energies": energy_force_rows(features, None, energy[train[:n_train]], None),
        "energies + forces": energy_force_rows(
            features,
            gradients,
            energy[train[:n_train]],
            forces,
            structure_index=structure_index,
        ),
    }
    for name, (X, y, sample_weight) in rows.items():
        model = BlockRidge(alpha=alpha, blocks="names", fit_intercept=False)
        model.fit(X, y, sample_weight=sample_weight)
        rmse = np.sqrt(np.mean((model.predict(X_test) - energy[test]) ** 2))
        pr = np.median(model.predict_rigidity(X_test))
        results[name].append((rmse, pr, model))
        print(
            f"{n_train:2d} frames, {name:17s}: test RMSE {rmse:4.2f} kcal/mol, "
            f"median test PR {pr:8.3g} (kcal/mol)^-2"
        )

fig, (ax_error, ax_pr) = plt.subplots(1, 2, figsize=(9, 3.5))
for name, rows in results.items():
    ax_error.plot(sizes, [r[0] for r in rows], "o-", label=name)
    ax_pr.plot(sizes, [r[1] for r in rows], "o-", label=name)
ax_error.set(xlabel="training frames", ylabel="test energy RMSE [kcal/mol]")
ax_pr.set(xlabel="training frames", ylabel="median test PR [(kcal/mol)$^{-2}$]")
for ax in (ax_error, ax_pr):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xticks([], minor=True)
ax_error.legend()
fig.tight_layout()

# %%
# The test energies have a standard deviation of 3.4 kcal/mol (printed
# above). Forty energies alone reach a test RMSE of 3.49 kcal/mol, no better
# than that spread, and their error does not fall steadily with the training
# set; five frames with forces already do better (2.55 kcal/mol), since every
# frame brings 27 force equations. At the same ``alpha`` the PR of the test
# energies is 50 to 90 times larger with forces: the loss now resists any
# change of the weights that would spoil the forces. (Adding rows can only
# raise the Hessian, so no PR can drop.)
#
# Calibrated uncertainties
# ------------------------
# The PR is an uncertainty up to one scale, ``var = scale / PR``. The
# leave-one-out scale that ``BlockRidge`` fits by default averages over
# energy *and* force rows; for energy uncertainties we calibrate it on the 20
# held-out frames instead, then look at the 40 test frames. If the
# uncertainties are calibrated, about 68 %, 95 % and 99.7 % of the points lie
# below the 1, 2 and 3 sigma lines.

fig, axes = plt.subplots(1, 2, figsize=(9, 4), sharex=True, sharey=True)
for ax, (name, rows) in zip(axes, results.items(), strict=True):
    model = rows[-1][2].calibrate(X_calibration, energy[calibration])
    y_pred, y_std = model.predict(X_test, return_std=True)
    error = np.abs(y_pred - energy[test])
    ax.loglog(y_std, error, "o", alpha=0.7)
    grid = np.geomspace(1e-2, 1e2, 20)
    for k, style in [(1, "-"), (2, "--"), (3, ":")]:
        ax.plot(grid, k * grid, "k" + style, lw=1, label=f"{k} sigma")
    inside = " / ".join(f"{np.mean(error < k * y_std):.0%}" for k in (1, 2, 3))
    ax.set_title(f"{name}\nwithin 1/2/3 sigma: {inside}")
    print(
        f"{name:>17}: median predicted std {np.median(y_std):5.2f} kcal/mol, "
        f"test RMSE {np.sqrt(np.mean(error**2)):4.2f} kcal/mol, "
        f"within 1/2/3 sigma {inside}"
    )
    ax.set(xlabel="predicted std [kcal/mol]", xlim=(1e-2, 1e2), ylim=(1e-3, 1e2))
axes[0].set_ylabel("|error| [kcal/mol]")
axes[0].legend(loc="lower right")
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
# With force rows the median predicted standard deviation shrinks by a factor
# of about eight (3.57 to 0.46 kcal/mol, printed above), but the test RMSE only
# by a factor of four (3.49 to 0.86 kcal/mol): the error bars shrink more than
# the errors. Of the 40 test energies, only 45 % lie within 1 sigma and 78 %
# within 2 sigma, below the nominal 68 % and 95 %; without forces the fractions
# are 75 %, 95 % and 98 %. Twenty calibration frames fix the scale only to
# about +-30 %, so these fractions change from one split to the next; on this
# split the error bars of the model with forces are too narrow. In both panels
# the points form a nearly vertical column: the predicted standard deviations
# vary little from frame to frame while the errors span over two decades, so
# here the PR sets the size of the error bars rather than telling which frames
# will have the largest errors.
