"""Benchmark ``skpr.BlockRidge`` on wide features (fewer samples than features).

With ``n_samples < n_features`` (SOAP, ACE) ``BlockRidge(solver="auto")``
takes the dual route: it factors the ``n x n`` matrix
``A = S^-1 + X Lambda^-1 X^T`` instead of the ``F x F`` Hessian, as
``sklearn.linear_model.Ridge`` factors the ``n x n`` kernel.  Measured, for
each case (random data N=500, F=5000; random data N=60, F=2628; 60 QM9
molecules with a SOAP power spectrum of 2560 features, unless ``--no-soap``):

1. fit: ``BlockRidge(alpha)`` (default: dual route and leave-one-out
   calibration), ``BlockRidge(alpha, calibration=None)`` and
   ``BlockRidge(alpha, solver="cholesky")`` (the primal route, factoring
   ``F x F``; skipped with ``--no-primal``) against ``Ridge(alpha).fit``.
   Check: coefficients and intercept equal to ``Ridge``'s.
2. fit + rigidities of 1000 query rows: ``BlockRidge`` fit +
   ``predict_rigidity``; ``BlockRidge(fit_intercept=False)`` fit +
   ``predict(return_std=True)`` against its like-for-like peer
   ``GaussianProcessRegressor(DotProduct(sigma_0=0, fixed), alpha=alpha,
   optimizer=None)`` fit + ``predict(return_std=True)`` (the same model: GP
   std = ``sqrt(alpha / PR)``); ``Ridge`` fit + ``predict`` (no uncertainty,
   the floor); the primal route for reference.  Checks: means and standard
   deviations equal to the GP's, PR of the dual route equal to the primal's.

Every repeat runs every candidate, in a rotated order, after one untimed
warm-up call of each; the tables give the median and the minimum wall time
and ``peer / this`` (above 1: faster than the peer).

Goal: ``BlockRidge(alpha).fit`` within 2x of ``Ridge(alpha).fit``
(``Ridge / this >= 0.5``), with the leave-one-out calibration included.

Run from the repository root (see benchmarks/README.md for the environment)::

    python benchmarks/bench_wide.py [--repeats 5] [--n-queries 1000]
        [--no-soap] [--no-primal] [--quick]
"""

import argparse

import numpy as np
from _harness import (
    add_common_arguments,
    blas_threads,
    check_text,
    describe_environment,
    print_table,
    ratio_note,
    relative_error,
    resolve_repeats,
    run,
)
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import DotProduct
from sklearn.linear_model import Ridge

from skpr import BlockRidge

#: (label, n_samples, n_features) of the random cases, full size and --quick
RANDOM_CASES = ((500, 5000), (60, 2628))
QUICK_CASES = ((50, 400), (20, 150))
SOAP_HYPERS = dict(cutoff=4.0, max_radial=3, max_angular=3)  # 2560 features
QUICK_SOAP_HYPERS = dict(cutoff=3.0, max_radial=1, max_angular=1)
SOAP_TRAIN = 60


def random_case(n_samples, n_features, n_queries, seed=0):
    """Gaussian rows and a linear target of order one with noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples + n_queries, n_features))
    w = rng.normal(size=n_features) / np.sqrt(n_features)
    y = X @ w + 3.0 + 0.1 * rng.normal(size=X.shape[0])
    return X[:n_samples], y[:n_samples], X[n_samples:], 1.0


def soap_case(hypers, n_train, n_queries):
    """SOAP rows of QM9 molecules; queries are per-atom rows (as for the LPR)."""
    from skpr.atomistic import SoapPowerSpectrum, transform_local
    from skpr.datasets import load_qm9

    qm9 = load_qm9()
    soap = SoapPowerSpectrum(**hypers).fit(qm9.structures)
    X = soap.transform(qm9.structures[:n_train])
    X_local, _ = transform_local(soap, qm9.structures)
    rows = np.resize(np.arange(X_local.shape[0]), n_queries)
    centered = X - X.mean(axis=0)
    # regularization relative to the mean diagonal of the centered Gram matrix
    alpha = 1e-3 * float(np.mean(np.einsum("ij,ij->j", centered, centered)))
    return X, qm9.energy[:n_train], X_local[rows], alpha


def gp_fit_predict(X, y, Xq, alpha):
    gp = GaussianProcessRegressor(
        DotProduct(sigma_0=0.0, sigma_0_bounds="fixed"),
        alpha=alpha,
        optimizer=None,
    ).fit(X, y)
    return gp.predict(Xq, return_std=True)


def like_gp(X, y, Xq, alpha):
    """BlockRidge without intercept; std rescaled to the GP's ``sqrt(alpha q)``."""
    model = BlockRidge(alpha=alpha, fit_intercept=False).fit(X, y)
    mean, std = model.predict(Xq, return_std=True)
    return mean, std * np.sqrt(alpha / model.uncertainty_scale_)


def benchmark_case(title, X, y, Xq, alpha, repeats, primal):
    n, f = X.shape
    print(f"\n## {title}: N = {n}, F = {f}, {Xq.shape[0]} queries, alpha = {alpha:.3g}")

    fits = {
        "Ridge(alpha).fit": lambda: Ridge(alpha=alpha).fit(X, y),
        "BlockRidge(alpha).fit": lambda: BlockRidge(alpha=alpha).fit(X, y),
        "BlockRidge(alpha, calibration=None).fit": lambda: BlockRidge(
            alpha=alpha, calibration=None
        ).fit(X, y),
    }
    if primal:
        fits['BlockRidge(alpha, solver="cholesky").fit'] = lambda: BlockRidge(
            alpha=alpha, solver="cholesky"
        ).fit(X, y)
    timings = run(fits, repeats)
    ridge = timings["Ridge(alpha).fit"].output
    checks = {}
    for name, timing in timings.items():
        if name.startswith("BlockRidge"):
            model = timing.output
            error = max(
                relative_error(model.coef_, ridge.coef_),
                abs(model.intercept_ - ridge.intercept_)
                / max(1.0, abs(ridge.intercept_)),
            )
            checks[name] = f"solver_={model.solver_!r}; vs Ridge " + check_text(
                error, 1e-8
            )
    notes = [
        ratio_note(
            "BlockRidge(alpha).fit / Ridge(alpha).fit",
            timings,
            "BlockRidge(alpha).fit",
            "Ridge(alpha).fit",
            goal="<= 2x",
        ),
        ratio_note(
            "leave-one-out share: BlockRidge(alpha) / BlockRidge(calibration=None)",
            timings,
            "BlockRidge(alpha).fit",
            "BlockRidge(alpha, calibration=None).fit",
        ),
    ]
    print_table(
        "Fit", timings, peers={"Ridge": "Ridge(alpha).fit"}, checks=checks, notes=notes
    )

    queries = {
        "Ridge: fit + predict": lambda: Ridge(alpha=alpha).fit(X, y).predict(Xq),
        "GPR(DotProduct): fit + predict(return_std)": lambda: gp_fit_predict(
            X, y, Xq, alpha
        ),
        "BlockRidge(fit_intercept=False): fit + predict(return_std)": lambda: like_gp(
            X, y, Xq, alpha
        ),
        "BlockRidge: fit + predict_rigidity": lambda: (
            BlockRidge(alpha=alpha).fit(X, y).predict_rigidity(Xq)
        ),
    }
    if primal:
        queries['BlockRidge(solver="cholesky"): fit + predict_rigidity'] = lambda: (
            BlockRidge(alpha=alpha, solver="cholesky").fit(X, y).predict_rigidity(Xq)
        )
    timings = run(queries, repeats)
    gp_mean, gp_std = timings["GPR(DotProduct): fit + predict(return_std)"].output
    mean, std = timings[
        "BlockRidge(fit_intercept=False): fit + predict(return_std)"
    ].output
    checks = {
        "BlockRidge(fit_intercept=False): fit + predict(return_std)": (
            "vs GP: mean "
            + check_text(relative_error(mean, gp_mean), 1e-8)
            + ", std "
            + check_text(float(np.max(np.abs(std / gp_std - 1))), 1e-6)
        )
    }
    if primal:
        name = 'BlockRidge(solver="cholesky"): fit + predict_rigidity'
        dual = timings["BlockRidge: fit + predict_rigidity"].output
        checks["BlockRidge: fit + predict_rigidity"] = "PR vs primal " + check_text(
            float(np.max(np.abs(dual / timings[name].output - 1))), 1e-6
        )
    print_table(
        f"Fit + {Xq.shape[0]} queries",
        timings,
        peers={
            "GPR": "GPR(DotProduct): fit + predict(return_std)",
            "Ridge": "Ridge: fit + predict",
        },
        checks=checks,
        notes=[
            "- GPR(DotProduct) and BlockRidge(fit_intercept=False) are the same "
            "model (GP std = sqrt(alpha / PR)); Ridge has no uncertainty (floor)."
        ],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--n-queries", type=int, default=None, help="default 1000")
    parser.add_argument("--no-soap", action="store_true", help="skip the QM9 case")
    parser.add_argument(
        "--no-primal", action="store_true", help='skip solver="cholesky" (slow)'
    )
    args = parser.parse_args()
    with blas_threads(args):
        benchmark(args)


def benchmark(args):
    repeats = resolve_repeats(args)
    n_queries = args.n_queries or (100 if args.quick else 1000)
    describe_environment()
    print(f"{repeats} repeats")
    for n, f in QUICK_CASES if args.quick else RANDOM_CASES:
        X, y, Xq, alpha = random_case(n, f, n_queries)
        benchmark_case("Random", X, y, Xq, alpha, repeats, not args.no_primal)
    if not args.no_soap:
        hypers = QUICK_SOAP_HYPERS if args.quick else SOAP_HYPERS
        n_train = 20 if args.quick else SOAP_TRAIN
        X, y, Xq, alpha = soap_case(hypers, n_train, n_queries)
        benchmark_case(
            f"QM9 SOAP {hypers}", X, y, Xq, alpha, repeats, not args.no_primal
        )


if __name__ == "__main__":
    main()
