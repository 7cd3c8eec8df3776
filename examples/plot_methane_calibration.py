"""
Can I trust these error bars?
=============================

A ridge model on NICE descriptors of displaced methane predicts energies with
an uncertainty ``sigma = sqrt(a / PR)``.  The prediction rigidity PR comes from
the training loss alone; the scale ``a`` is fitted either from closed-form
leave-one-out residuals at fit time, or on held-out data.  Here we check both
against errors on a test set, as in Fig. 1 of Chong et al. (2024).
"""

# %%
# Fit with the leave-one-out calibration
# ---------------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skpr import BlockRidge, calibration_report, plot_calibration, plot_parity
from skpr.datasets import load_nice_methane

data = load_nice_methane()
X_train, X_rest, y_train, y_rest = train_test_split(
    data.data, data.target, test_size=0.4, random_state=1
)
X_cal, X_test, y_cal, y_test = train_test_split(
    X_rest, y_rest, test_size=0.5, random_state=1
)
model = BlockRidge(alpha=1e-8).fit(X_train, y_train)
print(
    f"Hessian factored by {model.solver_}; LOO scale a = {model.uncertainty_scale_:.3f}"
)

# %%
# The rigidity of a prediction says how firmly the training set pins it down.
# Test structures sit lower than training ones: a training row's PR contains
# its own weight (adding a row raises its PR by exactly its weight).
print("median PR, train:", np.median(model.predict_rigidity(X_train)))
print("median PR, test: ", np.median(model.predict_rigidity(X_test)))

# %%
# Calibration on the test set
# ---------------------------
# The fraction of errors within 1, 2, 3 sigma should be near 68, 95, 99.7 %.
# On this split (output below) the leave-one-out scale gives slightly too
# narrow error bars (61 % within 1 sigma, 92 % within 2) and the held-out scale
# slightly too wide ones (71 % and 97 %); all test errors lie within 3 sigma.
y_pred, y_std = model.predict(X_test, return_std=True)
loo = calibration_report(y_test, y_pred, y_std, n_bins=5)
model.calibrate(X_cal, y_cal)  # refit the scale on held-out structures
y_pred, y_std_held_out = model.predict(X_test, return_std=True)
held_out = calibration_report(y_test, y_pred, y_std_held_out, n_bins=5)
for name, report in (("leave-one-out", loo), ("held-out", held_out)):
    coverage = ", ".join(f"{100 * report['coverage'][k]:.0f} %" for k in (1, 2, 3))
    print(f"{name:>14}: within 1/2/3 sigma {coverage}; NLL {report['nll']:.2f}")

# %%
# The paper's Fig. 1 for this model: absolute error against the predicted
# std, with the lines ``|e| = k sigma`` for k = 1, 2 and 3 (a calibrated
# model has 68, 95 and 99.7 % of its points below them; the legend gives the
# fractions of this test set, the held-out numbers above), and the binned
# mean squared error
# against the mean predicted variance: the binned errors follow the predicted
# variances over almost two decades, a little below them in the lowest bins.
axes = plot_calibration(y_test, y_pred, y_std_held_out, n_bins=5, units="eV")
axes[0].figure.suptitle("NICE methane, held-out calibration")

# %%
# The same predictions against the reference energies, each with its 1 sigma
# error bar: a bar that crosses the diagonal is an error within 1 sigma.
plot_parity(y_test, y_pred, y_std_held_out, units="eV")
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
