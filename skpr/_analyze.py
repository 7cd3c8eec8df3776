"""``python -m skpr analyze``: a rigidity analysis of a user's own data.

Reads features and targets (``.npz``, ``.npy``, ``.csv``) or structures with
energies (extended XYZ, with the atomistic extra), chooses alpha by exact
leave-one-out (:class:`skpr.BlockRidgeCV`) on a training split, and reports
the test and leave-one-out RMSE, the PR of the training and test samples and
the calibration of the uncertainties on the test split; writes the
per-sample (and, for structures, per-atom) rigidities and uncertainties to a
CSV or npz file and the figures to a folder.  Every input is checked before
any long work.
"""

import csv
import os
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from skpr._metrics import calibration_report

ARRAY_SUFFIXES = (".npz", ".npy", ".csv")
STRUCTURE_SUFFIXES = (".xyz", ".extxyz")
OUTPUT_SUFFIXES = (".csv", ".npz")


class InputError(ValueError):
    """A file, field or output the analysis cannot use (said before any work)."""


def check_output(path, suffixes, what):
    """A file that can be written: its folder exists and is writable."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise InputError(
            f"{what} {str(path)!r} must end in one of {', '.join(suffixes)}."
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(
            f"cannot write {what} {str(path)!r}: the folder {str(folder)!r} does not "
            "exist; create it first or choose a file in an existing folder."
        )
    if not os.access(folder, os.W_OK):
        raise InputError(
            f"cannot write {what} {str(path)!r}: {str(folder)!r} is read-only."
        )
    return path


def check_folder(path):
    """A folder for the figures: created if its parent exists."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--figures {str(path)!r} exists and is not a folder.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise InputError(
            f"cannot create the figures folder {str(path)!r}: {str(parent)!r} does not "
            "exist or is read-only."
        )
    return path


def read_arrays(path, *, features=None, target=None):
    """Features ``X`` (n, F), target ``y`` (n,) and feature names from a file.

    ``.npz``: the arrays named ``features`` and ``target`` (default: the only
    2-D and the only 1-D array, or ``X`` and ``y``).  ``.npy``: a 2-D array
    whose last column is the target.  ``.csv``: a header row; the column
    ``target`` (default: the last) is the target, the other columns features.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {str(path)!r}.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
            X = _pick(arrays, features, ("X", "features"), 2, "features", path)
            y = _pick(arrays, target, ("y", "target", "energy"), 1, "target", path)
            names = [f"x{i}" for i in range(X.shape[1])]
        elif suffix == ".npy":
            table = np.load(path, allow_pickle=False)
            if table.ndim != 2 or table.shape[1] < 2:
                raise InputError(
                    f"{str(path)!r} holds an array of shape {table.shape}; a .npy file "
                    "must be 2-D with the features in its columns and the target in "
                    "the last column."
                )
            X, y = table[:, :-1], table[:, -1]
            names = [f"x{i}" for i in range(X.shape[1])]
        else:
            with open(path, newline="") as handle:
                rows = list(csv.reader(handle))
            if len(rows) < 2:
                raise InputError(f"{str(path)!r} needs a header row and data rows.")
            header, body = rows[0], rows[1:]
            column = (
                len(header) - 1 if target is None else _column(header, target, path)
            )
            values = np.array(body, dtype=float)
            y = values[:, column]
            X = np.delete(values, column, axis=1)
            names = [name for i, name in enumerate(header) if i != column]
    except (ValueError, OSError) as error:
        if isinstance(error, InputError):
            raise
        raise InputError(f"cannot read {str(path)!r}: {error}") from error
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise InputError(
            f"{str(path)!r}: features of shape {X.shape} and a target of shape "
            f"{y.shape} do not match (one row per sample)."
        )
    if X.shape[0] < 5:
        raise InputError(f"{str(path)!r} has {X.shape[0]} samples; give at least 5.")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise InputError(f"{str(path)!r} holds NaN or infinite values.")
    return X, y, names


def _pick(arrays, name, defaults, ndim, what, path):
    if name is not None:
        if name not in arrays:
            raise InputError(
                f"{str(path)!r} has no array {name!r}; it holds {sorted(arrays)}. "
                f"Pass --{what} NAME."
            )
        return arrays[name]
    for candidate in defaults:
        if candidate in arrays:
            return arrays[candidate]
    matching = [key for key, value in arrays.items() if value.ndim == ndim]
    if len(matching) == 1:
        return arrays[matching[0]]
    raise InputError(
        f"{str(path)!r} holds {sorted(arrays)}; say which is the {what} with "
        f"--{what} NAME."
    )


def _column(header, name, path):
    if name not in header:
        raise InputError(
            f"{str(path)!r} has no column {name!r}; its columns are {header}. Pass "
            "--target NAME."
        )
    return header.index(name)


def read_structures(path, *, energy="energy"):
    """Structures and their energies from an extended-XYZ file."""
    try:
        import ase.io
    except ImportError as error:
        raise InputError(
            "reading structures needs the atomistic extra: pip install -e "
            '".[atomistic]" in the skpr folder.'
        ) from error
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such file: {str(path)!r}.")
    try:
        structures = ase.io.read(path, index=":")
    except Exception as error:  # ase raises many kinds for a bad file
        raise InputError(
            f"cannot read {str(path)!r} as extended XYZ: {error}"
        ) from error
    energies = []
    for i, atoms in enumerate(structures):
        if energy in atoms.info:
            energies.append(float(atoms.info[energy]))
        elif energy == "energy" and atoms.calc is not None:
            energies.append(float(atoms.get_potential_energy()))
        else:
            keys = sorted(atoms.info)
            raise InputError(
                f"structure {i} of {str(path)!r} has no energy {energy!r}; its info "
                f"fields are {keys}. Pass --energy KEY."
            )
    if len(structures) < 5:
        raise InputError(
            f"{str(path)!r} has {len(structures)} structures; give at least 5."
        )
    return structures, np.array(energies)


def analyze(
    data,
    *,
    output="skpr-analysis.csv",
    figures=None,
    target=None,
    features=None,
    energy="energy",
    cutoff=4.0,
    test_fraction=0.2,
    alphas=None,
    seed=0,
    print=print,
):
    """Run the analysis; return the numbers of the report (a dict).

    See ``python -m skpr analyze --help`` for the parameters.
    """
    start = time.perf_counter()
    data = Path(data)
    suffix = data.suffix.lower()
    if suffix not in ARRAY_SUFFIXES + STRUCTURE_SUFFIXES:
        raise InputError(
            f"{str(data)!r}: unknown kind of file; give features and targets as "
            f"{', '.join(ARRAY_SUFFIXES)} or structures as "
            f"{', '.join(STRUCTURE_SUFFIXES)}."
        )
    output = check_output(output, OUTPUT_SUFFIXES, "--output")
    figures = None if figures is None else check_folder(figures)
    if not 0 < test_fraction < 1:
        raise InputError(
            f"--test-fraction must be between 0 and 1, got {test_fraction}."
        )
    from skpr._ridge_cv import DEFAULT_ALPHAS, BlockRidgeCV

    alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=float)
    structures = None
    if suffix in STRUCTURE_SUFFIXES:
        structures, y = read_structures(data, energy=energy)
        print(f"read {len(structures)} structures from {data} ({energy!r} energies)")
        from sklearn.pipeline import make_union

        from skpr.atomistic import CompositionFeatures, SoapPowerSpectrum

        descriptor = make_union(
            SoapPowerSpectrum(cutoff=cutoff, max_radial=4, max_angular=3),
            CompositionFeatures(),
        )
        step = time.perf_counter()
        X = np.asarray(descriptor.fit_transform(structures), dtype=float)
        print(
            f"SOAP power spectrum (cutoff {cutoff} Å) + composition: {X.shape[1]} "
            f"features in {time.perf_counter() - step:.1f} s"
        )
        names = [f"x{i}" for i in range(X.shape[1])]
        blocks = [X.shape[1] - len(descriptor.transformer_list[1][1].species_)]
        blocks.append(X.shape[1] - blocks[0])
    else:
        X, y, names = read_arrays(data, features=features, target=target)
        print(f"read {X.shape[0]} samples x {X.shape[1]} features from {data}")
        blocks = None
    index = np.arange(len(y))
    train, test = train_test_split(index, test_size=test_fraction, random_state=seed)
    step = time.perf_counter()
    model = BlockRidgeCV(alphas=alphas, blocks=blocks).fit(X[train], y[train])
    alpha = model.alpha_
    print(
        f"alpha by exact leave-one-out over {alphas.min():.0e}..{alphas.max():.0e} "
        f"({alphas.size} values): {', '.join(f'{a:.1e}' for a in alpha)}; "
        f"fit in {time.perf_counter() - step:.2f} s"
    )
    y_pred, y_std = model.predict(X, return_std=True)
    rigidity = model.predict_rigidity(X)
    component = model.component_rigidity(X)
    rmse = float(np.sqrt(np.mean((y[test] - y_pred[test]) ** 2)))
    loo_rmse = float(np.sqrt(model.best_loo_mse_))
    print(
        f"test RMSE {rmse:.4g} (target std {np.std(y[test]):.4g}); "
        f"leave-one-out RMSE on the training split {loo_rmse:.4g}"
    )
    for label, rows in (("train", train), ("test", test)):
        q = np.quantile(rigidity[rows], [0, 0.25, 0.5, 0.75, 1])
        print(f"PR {label:>5}: " + "  ".join(f"{v:.3g}" for v in q) + "  (min..max)")
    n_bins = min(10, len(test))
    report = calibration_report(y[test], y_pred[test], y_std[test], n_bins=n_bins)
    coverage = " / ".join(f"{report['coverage'][k]:.0%}" for k in (1, 2, 3))
    print(f"test errors within 1 / 2 / 3 sigma: {coverage} (Gaussian 68 / 95 / 99.7 %)")
    columns = {
        "sample": index,
        "split": np.where(np.isin(index, test), "test", "train"),
        "target": y,
        "prediction": y_pred,
        "std": y_std,
        "rigidity": rigidity,
    }
    for b in range(component.shape[1]):
        columns[f"component_rigidity_{b}"] = component[:, b]
    if structures is not None:
        from skpr.atomistic import transform_local

        X_local, atom_structure = transform_local(descriptor, structures)
        local = model.local_rigidity(np.asarray(X_local, dtype=float))
        atoms_columns = {
            "structure": atom_structure,
            "atom": np.concatenate([np.arange(len(a)) for a in structures]),
            "symbol": np.concatenate([a.get_chemical_symbols() for a in structures]),
            "local_rigidity": local,
        }
        print(f"LPR of {local.size} atoms: median {np.median(local):.3g}")
    else:
        atoms_columns = None
    _write(output, columns, atoms_columns)
    print(
        f"wrote {output}" + ("" if atoms_columns is None else " (and its atoms file)")
    )
    if figures is not None:
        _figures(
            figures, y[test], y_pred[test], y_std[test], rigidity, train, test, print
        )
    print(f"done in {time.perf_counter() - start:.1f} s")
    return {
        "alpha": alpha,
        "rmse": rmse,
        "loo_rmse": loo_rmse,
        "calibration": report,
        "output": str(output),
    }


def _write(output, columns, atoms_columns):
    if output.suffix.lower() == ".npz":
        extra = (
            {}
            if atoms_columns is None
            else {f"atoms_{k}": v for k, v in atoms_columns.items()}
        )
        np.savez(output, **columns, **extra)
        return
    _write_csv(output, columns)
    if atoms_columns is not None:
        _write_csv(output.with_name(output.stem + "-atoms.csv"), atoms_columns)


def _write_csv(path, columns):
    names = list(columns)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in zip(*(columns[name] for name in names), strict=True):
            writer.writerow(
                [f"{v:.10g}" if isinstance(v, float | np.floating) else v for v in row]
            )


def _figures(folder, y, y_pred, y_std, rigidity, train, test, print):
    """Calibration and PR figures on plain Figures (pyplot state untouched)."""
    try:
        from matplotlib.figure import Figure

        from skpr._plotting import plot_calibration
    except ImportError:
        print('no figures: they need matplotlib (pip install -e ".[plot]")')
        return
    folder.mkdir(exist_ok=True)
    figure = Figure(figsize=(9.0, 4.0), layout="constrained")
    n_bins = min(8, max(2, len(y) // 10))
    plot_calibration(y, y_pred, y_std, axes=figure.subplots(1, 2), n_bins=n_bins)
    figure.suptitle("test split")
    figure.savefig(folder / "calibration.png", dpi=150)
    figure = Figure(figsize=(4.5, 3.5), layout="constrained")
    ax = figure.subplots()
    bins = np.logspace(np.log10(rigidity.min()), np.log10(rigidity.max()), 30)
    ax.hist(rigidity[train], bins=bins, alpha=0.6, label="train")
    ax.hist(rigidity[test], bins=bins, alpha=0.6, label="test")
    ax.set(xscale="log", xlabel="prediction rigidity (PR)", ylabel="samples")
    ax.legend()
    figure.savefig(folder / "rigidity.png", dpi=150)
    print(f"figures written to {folder}/ (calibration.png, rigidity.png)")
