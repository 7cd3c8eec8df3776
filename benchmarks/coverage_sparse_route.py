"""Coverage of the sparse route's uncertainties, with and without the Nystroem residual.

Not a timing. On the CSD-1000r shieldings (``load_csd_shieldings``, rows
normalized), for several random splits (300 training, 100 calibration, the
rest test atoms): the exact RBF model (``BlockKernelRidge``, alpha 0.1,
gamma 0.3, as in the kernel example) and the projected process with ``M``
farthest-point active atoms (``active_nystroem`` + ``BlockRidge``), its std
``sqrt(a / R)`` alone and with the residual,
``sqrt(a (1 / R + nystroem_residual / alpha))``; the scale from closed-form
leave-one-out (with the residual in it when it is used) or from the
calibration atoms. Prints the median fraction of test errors within 1, 2 and
3 sigma over the splits.

Run from the repository root::

    python benchmarks/coverage_sparse_route.py [--splits 5] [--quick]
"""

import argparse

import numpy as np
from _harness import coverage_fractions
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import Normalizer

from skpr import (
    BlockKernelRidge,
    BlockRidge,
    active_nystroem,
    farthest_point_sampling,
    nystroem_residual,
)
from skpr.datasets import load_csd_shieldings

ALPHA, GAMMA = 0.1, 0.3


def one_split(X, y, seed, sizes):
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, train_size=300, random_state=seed
    )
    X_cal, X_test, y_cal, y_test = train_test_split(
        X_rest, y_rest, train_size=100, random_state=seed
    )
    offset = y_train.mean()
    y_train, y_cal, y_test = y_train - offset, y_cal - offset, y_test - offset
    out = {}
    exact = BlockKernelRidge(alpha=ALPHA, kernel="rbf", kernel_params={"gamma": GAMMA})
    exact.fit(X_train, y_train)
    prediction, std = exact.predict(X_test, return_std=True)
    out["exact RBF, LOO"] = coverage_fractions(y_test - prediction, std)
    exact.calibrate(X_cal, y_cal)
    _, std = exact.predict(X_test, return_std=True)
    out["exact RBF, held-out"] = coverage_fractions(y_test - prediction, std)
    for m in sizes:
        feature_map = active_nystroem(
            X_train[farthest_point_sampling(X_train, m)], kernel="rbf", gamma=GAMMA
        )
        rows = {
            name: (feature_map.transform(A), nystroem_residual(feature_map, A) / ALPHA)
            for name, A in (("train", X_train), ("cal", X_cal), ("test", X_test))
        }
        for label, use in (("alone", False), ("+ residual", True)):
            extra = {name: (r if use else None) for name, (_, r) in rows.items()}
            model = BlockRidge(alpha=ALPHA, fit_intercept=False)
            model.fit(rows["train"][0], y_train, prior_variance=extra["train"])
            prediction, std = model.predict(
                rows["test"][0], return_std=True, prior_variance=extra["test"]
            )
            out[f"M={m} {label}, LOO"] = coverage_fractions(y_test - prediction, std)
            model.calibrate(rows["cal"][0], y_cal, prior_variance=extra["cal"])
            _, std = model.predict(
                rows["test"][0], return_std=True, prior_variance=extra["test"]
            )
            out[f"M={m} {label}, held-out"] = coverage_fractions(
                y_test - prediction, std
            )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one split, M=25")
    args = parser.parse_args()
    csd = load_csd_shieldings()
    X, y = Normalizer().transform(csd.data), csd.target
    sizes = (25,) if args.quick else (25, 50, 100, 200)
    splits = [
        one_split(X, y, seed, sizes) for seed in range(1 if args.quick else args.splits)
    ]
    print(f"median over {len(splits)} splits, {len(y) - 400} test atoms each")
    print("| model, std, scale | within 1/2/3 sigma |")
    print("|---|---|")
    for name in splits[0]:
        median = np.median([split[name] for split in splits], axis=0)
        print(f"| {name} | " + "/".join(f"{v:.0%}" for v in median) + " |")


if __name__ == "__main__":
    main()
