"""``python -m skpr demo``: a full rigidity analysis on a bundled data set."""

import os
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from skpr._extras import install_command
from skpr._metrics import calibration_report
from skpr._ridge_cv import BlockRidgeCV
from skpr.datasets import load_nice_methane

DEFAULT_OUTPUT = "skpr-demo-calibration.png"

# Formats matplotlib writes on its own (with Pillow, one of its dependencies);
# .pgf needs LaTeX and .raw/.rgba are not image files, so they are left out.
IMAGE_SUFFIXES = (
    ".eps",
    ".gif",
    ".jpeg",
    ".jpg",
    ".pdf",
    ".png",
    ".ps",
    ".svg",
    ".svgz",
    ".tif",
    ".tiff",
    ".webp",
)


def _quantiles(values):
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return "  ".join(f"{v:9.3g}" for v in q)


def check_figure_path(output):
    """Check that the calibration figure can be written to ``output``.

    Called before any work, so that a wrong path fails at once instead of
    after the fit. Without matplotlib no figure is written and nothing is
    checked.

    Parameters
    ----------
    output : str, path-like or None
        File for the figure; ``None`` writes none.

    Raises
    ------
    ValueError
        If the folder of ``output`` does not exist or is not writable, if
        ``output`` is a folder or an existing read-only file, or if its suffix
        is not an image format matplotlib can write. The message says what to
        change.

    Examples
    --------
    >>> check_figure_path("figure.png")
    >>> check_figure_path("figure.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot write the calibration figure to 'figure.txt': ...
    """
    if output is None:
        return
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        return
    path = Path(output)
    problem = f"cannot write the calibration figure to {str(output)!r}"
    folder = path.parent
    suffixes = [
        suffix
        for suffix in IMAGE_SUFFIXES
        if suffix[1:] in FigureCanvasBase.get_supported_filetypes()
    ]
    if path.is_dir():
        raise ValueError(
            f"{problem}: it is a folder; give a file name such as "
            f"{str(path / DEFAULT_OUTPUT)!r}"
        )
    if not folder.exists():
        raise ValueError(
            f"{problem}: the folder {str(folder)!r} does not exist; create it "
            "first or choose a file in an existing folder"
        )
    if not folder.is_dir():
        raise ValueError(f"{problem}: {str(folder)!r} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(
            f"{problem}: the folder {str(folder)!r} is not writable; choose a "
            "file in a folder you can write to"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(
            f"{problem}: the file exists and is read-only; choose another file "
            "name or make it writable"
        )
    if path.suffix.lower() not in suffixes:
        found = f"suffix {path.suffix!r}" if path.suffix else "no suffix"
        raise ValueError(
            f"{problem}: it has {found}, and the suffix sets the image format; "
            f"use one of {', '.join(suffixes)} (e.g. "
            f"{str(path.with_suffix('.png'))!r})"
        )


def _write_figure(output, y_test, y_pred, y_std, *, print):
    """Draw the calibration plot on a new Figure and save it to ``output``.

    The figure is a plain :class:`matplotlib.figure.Figure`, never registered
    with pyplot: the caller's backend and open figures stay as they were, and
    the figure is freed with its last reference. Returns the path written, or
    ``None`` (after printing how to install matplotlib) without matplotlib.
    """
    try:
        from matplotlib.figure import Figure

        from skpr._plotting import plot_calibration
    except ImportError:
        print(f"matplotlib is not installed: {install_command('plot')} for the figure")
        return None
    figure = Figure(figsize=(9.0, 4.0), layout="constrained")
    axes = figure.subplots(1, 2)
    plot_calibration(y_test, y_pred, y_std, axes=axes, units="eV")
    figure.suptitle("BlockRidge on NICE methane (test set)")
    figure.savefig(output, dpi=120, bbox_inches="tight")
    print(f"calibration figure written to {output}")
    return str(output)


def run_demo(output=DEFAULT_OUTPUT, *, seed=0, print=print):
    """Fit BlockRidge on the NICE methane energies and report its rigidities.

    Splits the 500 structures of :func:`skpr.datasets.load_nice_methane`
    80/20, chooses ``alpha`` by exact leave-one-out (:class:`skpr.BlockRidgeCV`),
    and reports the test
    RMSE, the prediction rigidities of the training and test structures and
    the calibration of the predicted uncertainties on the test set. Takes a
    few seconds. The caller's matplotlib state (backend, pyplot figures) is
    left untouched.

    Parameters
    ----------
    output : str, path-like or None, default="skpr-demo-calibration.png"
        Where to write the calibration figure (needs matplotlib; its suffix
        sets the format, see ``IMAGE_SUFFIXES``); ``None`` writes none.
        Checked before any work.
    seed : int, default=0
        Seed of the train/test split.
    print : callable, default=print
        Where the report lines go.

    Returns
    -------
    dict
        The numbers of the report: ``alpha``, ``rmse``, ``solver``,
        ``uncertainty_scale``, ``rigidity_train``, ``rigidity_test``,
        ``calibration`` (see :func:`skpr.calibration_report`), ``figure``
        (the path written, or ``None``).

    Raises
    ------
    ValueError
        If the figure cannot be written to ``output`` (see
        :func:`check_figure_path`), before any work is done.
    """
    start = time.perf_counter()
    check_figure_path(output)
    data = load_nice_methane()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=seed
    )
    print(
        f"NICE methane: {data.data.shape[0]} structures, {data.data.shape[1]} "
        f"features, energies in eV; {len(y_train)} train / {len(y_test)} test."
    )
    model = BlockRidgeCV(alphas=np.logspace(-12, 2, 29)).fit(X_train, y_train)
    alpha = float(model.alpha_[0])
    print(
        f"alpha by exact leave-one-out over 1e-12..1e2 (29 values, one SVD): "
        f"{alpha:.0e}, LOO RMSE {np.sqrt(model.best_loo_mse_):.4f} eV "
        f"(Hessian factored by {model.solver_.upper()})"
    )
    y_pred, y_std = model.predict(X_test, return_std=True)
    rmse = float(np.sqrt(np.mean((y_test - y_pred) ** 2)))
    print(
        f"test RMSE: {rmse:.4f} eV  (target std {np.std(y_test):.3f} eV); "
        f"LOO-calibrated scale a = {model.uncertainty_scale_:.4g} (var = a / PR)"
    )
    rigidity_train = model.predict_rigidity(X_train)
    rigidity_test = model.predict_rigidity(X_test)
    print("PR quantiles        min       25%       50%       75%       max")
    print(f"  train         {_quantiles(rigidity_train)}")
    print(f"  test          {_quantiles(rigidity_test)}")
    report = calibration_report(y_test, y_pred, y_std)
    print("calibration on the test set:")
    for k in (1, 2, 3):
        print(
            f"  |error| <= {k} sigma: {report['coverage'][k]:6.1%}  "
            f"(Gaussian {report['expected_coverage'][k]:6.1%})"
        )
    print(
        f"  NLL {report['nll']:.3f}; Spearman(|error|, sigma) "
        f"{report['spearman']:.2f}; miscalibration area "
        f"{report['miscalibration_area']:.3f}"
    )
    figure = None
    if output is not None:
        figure = _write_figure(output, y_test, y_pred, y_std, print=print)
    print(f"done in {time.perf_counter() - start:.1f} s")
    return {
        "alpha": alpha,
        "rmse": rmse,
        "solver": model.solver_,
        "uncertainty_scale": model.uncertainty_scale_,
        "rigidity_train": rigidity_train,
        "rigidity_test": rigidity_test,
        "calibration": report,
        "figure": figure,
    }
