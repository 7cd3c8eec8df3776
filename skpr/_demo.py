"""``python -m skpr demo``: a full rigidity analysis on a bundled data set."""

import time

import numpy as np
from sklearn.model_selection import GridSearchCV, train_test_split

from skpr._metrics import calibration_report
from skpr._ridge import BlockRidge
from skpr.datasets import load_nice_methane


def _quantiles(values):
    q = np.percentile(values, [0, 25, 50, 75, 100])
    return "  ".join(f"{v:9.3g}" for v in q)


def run_demo(output="skpr-demo-calibration.png", *, seed=0, print=print):
    """Fit BlockRidge on the NICE methane energies and report its rigidities.

    Parameters
    ----------
    output : str or None
        Where to write the calibration figure (needs matplotlib); ``None``
        writes none.
    seed : int
        Seed of the train/test split.
    print : callable
        Where the report lines go.

    Returns
    -------
    dict
        The numbers of the report: ``alpha``, ``rmse``, ``solver``,
        ``uncertainty_scale``, ``rigidity_train``, ``rigidity_test``,
        ``calibration`` (see :func:`skpr.calibration_report`), ``figure``.
    """
    start = time.perf_counter()
    data = load_nice_methane()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=seed
    )
    print(
        f"NICE methane: {data.data.shape[0]} structures, {data.data.shape[1]} "
        f"features, energies in eV; {len(y_train)} train / {len(y_test)} test."
    )
    search = GridSearchCV(
        BlockRidge(),
        {"alpha": np.logspace(-12, 2, 15)},
        cv=5,
        scoring="neg_root_mean_squared_error",
    ).fit(X_train, y_train)
    model = search.best_estimator_
    alpha = float(model.alpha)
    print(
        f"alpha by 5-fold CV over 1e-12..1e2: {alpha:.0e} "
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
        try:
            import matplotlib

            matplotlib.use("Agg")
            from skpr._plotting import plot_calibration

            axes = plot_calibration(y_test, y_pred, y_std, n_bins=5)
            axes[0].figure.suptitle("BlockRidge on NICE methane (test set)")
            axes[0].figure.savefig(output, dpi=120, bbox_inches="tight")
            figure = str(output)
            print(f"calibration figure written to {figure}")
        except ImportError:
            print(
                'matplotlib is not installed: pip install "skpr[plot]" for the figure'
            )
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
