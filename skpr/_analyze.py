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
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from skpr._extras import install_command
from skpr._metrics import calibration_report

ARRAY_SUFFIXES = (".npz", ".npy", ".csv")
STRUCTURE_SUFFIXES = (".xyz", ".extxyz")
OUTPUT_SUFFIXES = (".csv", ".npz")


class InputError(ValueError):
    """A file, field or output the analysis cannot use (said before any work)."""


def _writable(folder):
    """Whether a file can be created in ``folder`` (tried, not guessed).

    ``os.access`` answers for the permission bits only: root passes it on a
    read-only or virtual file system where no file can be created.
    """
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


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
    if path.is_dir():
        raise InputError(
            f"cannot write {what} {str(path)!r}: it is a folder; give a file name."
        )
    if not _writable(folder):
        raise InputError(
            f"cannot write {what} {str(path)!r}: {str(folder)!r} is read-only; "
            "choose a folder you can write to."
        )
    return path


def check_folder(path):
    """A folder for the figures: created if its parent exists."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"--figures {str(path)!r} exists and is not a folder.")
    if path.is_dir():
        if not _writable(path):
            raise InputError(
                f"cannot write the figures into {str(path)!r}: it is read-only; "
                "choose a folder you can write to."
            )
        return path
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir() or not _writable(parent):
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


def read_structures(path, *, energy="energy", forces=None):
    """Structures, their energies and (with ``forces``) forces, from extended XYZ.

    ``energy`` is an ``info`` key, or ``"energy"`` for the calculator's energy
    (ASE stores the energy of an extended-XYZ file there); ``forces`` an
    ``arrays`` key, or ``"forces"`` for the calculator's forces.
    """
    try:
        import ase.io
    except ImportError as error:
        raise InputError(
            "reading structures needs the atomistic extra (ASE and featomic): "
            f"{install_command('atomistic')}."
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
    energies, all_forces = [], []
    for i, atoms in enumerate(structures):
        energies.append(_energy(atoms, energy, i, path))
        if forces is not None:
            all_forces.append(_forces(atoms, forces, i, path))
    if len(structures) < 5:
        raise InputError(
            f"{str(path)!r} has {len(structures)} structures; give at least 5."
        )
    energies = np.array(energies)
    if not np.all(np.isfinite(energies)):
        raise InputError(f"{str(path)!r}: an energy {energy!r} is NaN or infinite.")
    if forces is None:
        return structures, energies, None
    all_forces = np.concatenate(all_forces)
    if not np.all(np.isfinite(all_forces)):
        raise InputError(f"{str(path)!r}: a force {forces!r} is NaN or infinite.")
    return structures, energies, all_forces


def _energy(atoms, key, i, path):
    if key in atoms.info:
        try:
            return float(atoms.info[key])
        except (TypeError, ValueError):
            raise InputError(
                f"structure {i} of {str(path)!r}: the info field {key!r} is "
                f"{atoms.info[key]!r}, not a number. Pass --energy KEY."
            ) from None
    if key == "energy" and atoms.calc is not None:
        return float(atoms.get_potential_energy())
    raise InputError(
        f"structure {i} of {str(path)!r} has no energy {key!r}; its info fields "
        f"are {sorted(atoms.info)}. Pass --energy KEY."
    )


def _forces(atoms, key, i, path):
    if key in atoms.arrays:
        values = np.asarray(atoms.arrays[key], dtype=float)
    elif key == "forces" and atoms.calc is not None and "forces" in atoms.calc.results:
        values = np.asarray(atoms.get_forces(), dtype=float)
    else:
        names = sorted(set(atoms.arrays) - {"numbers", "positions"})
        raise InputError(
            f"structure {i} of {str(path)!r} has no forces {key!r}; its per-atom "
            f"fields are {names}. Pass --forces KEY."
        )
    if values.shape != (len(atoms), 3):
        raise InputError(
            f"structure {i} of {str(path)!r}: the forces {key!r} have shape "
            f"{values.shape}, not ({len(atoms)}, 3)."
        )
    return values


def analyze(
    data,
    *,
    output="skpr-analysis.csv",
    figures=None,
    target=None,
    features=None,
    energy="energy",
    forces=None,
    force_weight=1.0,
    cutoff=4.0,
    test_fraction=0.2,
    alphas=None,
    units=None,
    seed=0,
    progress=None,
    print=print,
):
    """Run the analysis; return the numbers of the report (a dict).

    See ``python -m skpr analyze --help`` for the parameters; ``progress``
    (``None``: when tqdm is installed) shows bars over the descriptor work.
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
    if forces is not None and suffix not in STRUCTURE_SUFFIXES:
        raise InputError(
            f"--forces needs structures ({', '.join(STRUCTURE_SUFFIXES)}); "
            f"{str(data)!r} holds features."
        )
    if not (np.isfinite(force_weight) and force_weight > 0):
        raise InputError(f"--force-weight must be positive, got {force_weight}.")
    if progress is None:
        progress = find_spec("tqdm") is not None
    from skpr._ridge_cv import DEFAULT_ALPHAS, BlockRidgeCV

    alphas = np.asarray(DEFAULT_ALPHAS if alphas is None else alphas, dtype=float)
    structures = force_ref = None
    if suffix in STRUCTURE_SUFFIXES:
        structures, y, force_ref = read_structures(data, energy=energy, forces=forces)
        what = f"{energy!r} energies" + (
            "" if forces is None else f", {forces!r} forces"
        )
        print(f"read {len(structures)} structures from {data} ({what})")
        descriptor, X, blocks = _describe(structures, cutoff, progress, print)
    else:
        X, y, _ = read_arrays(data, features=features, target=target)
        print(f"read {X.shape[0]} samples x {X.shape[1]} features from {data}")
        blocks = None
    index = np.arange(len(y))
    train, test = train_test_split(index, test_size=test_fraction, random_state=seed)
    step = time.perf_counter()
    if force_ref is None:
        model = BlockRidgeCV(alphas=alphas, blocks=blocks).fit(X[train], y[train])
        kind = None
        loo_rmse = float(np.sqrt(model.best_loo_mse_))
        loo_what = "leave-one-out"
    else:
        fit = _fit_energies_and_forces(
            BlockRidgeCV(alphas=alphas, blocks=blocks, fit_intercept=False),
            descriptor,
            structures,
            X,
            y,
            force_ref,
            force_weight,
            train,
        )
        model, kind, gradients, atom_structure, row_kinds = fit
        energy_rows = row_kinds == "energy"
        loo_rmse = float(np.sqrt(np.mean(model.loo_residual_[energy_rows] ** 2)))
        loo_what = "leave-one-structure-out (energies)"
    alpha = model.alpha_
    print(
        f"alpha by exact {loo_what} over {alphas.min():.0e}..{alphas.max():.0e} "
        f"({alphas.size} values): {', '.join(f'{a:.1e}' for a in alpha)}; "
        f"fit in {time.perf_counter() - step:.2f} s"
    )
    # a note when the curve still falls at an end of the grid (more than
    # 0.1 % from the next alpha in): a flat end holds no better alpha beyond
    curve = model.loo_mse_
    best = int(np.argmin(curve))
    inner = 1 if best == 0 else best - 1
    falling = curve[inner] - curve[best] > 1e-3 * curve[best]
    if alphas.size > 1 and best in (0, alphas.size - 1) and falling:
        edge = "smallest" if best == 0 else "largest"
        print(
            f"note: the {edge} alpha of the grid was chosen; the best may lie "
            "beyond it: widen the grid with --alphas LOW HIGH N"
        )
    y_pred, y_std = model.predict(X, return_std=True, kind=kind)
    rigidity = model.predict_rigidity(X)
    component = model.component_rigidity(X)
    rmse = float(np.sqrt(np.mean((y[test] - y_pred[test]) ** 2)))
    unit = f" {units}" if units else ""
    print(
        f"test RMSE {rmse:.4g}{unit} (target std {np.std(y[test]):.4g}{unit}); "
        f"{loo_what} RMSE on the training split {loo_rmse:.4g}{unit}"
    )
    for label, rows in (("train", train), ("test", test)):
        q = np.quantile(rigidity[rows], [0, 0.25, 0.5, 0.75, 1])
        print(f"PR {label:>5}: " + "  ".join(f"{v:.3g}" for v in q) + "  (min..max)")
    n_bins = min(10, len(test))
    report = calibration_report(y[test], y_pred[test], y_std[test], n_bins=n_bins)
    _print_coverage("test errors", report, print)
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
    result = {"alpha": alpha, "rmse": rmse, "loo_rmse": loo_rmse}
    atoms_columns = force_figure = None
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
    if force_ref is not None:
        force_pred, force_std = model.predict(-gradients, return_std=True, kind="force")
        force_pred, force_std = force_pred.reshape(-1, 3), force_std.reshape(-1, 3)
        in_test = np.isin(atom_structure, test)
        force_error = (force_ref - force_pred)[in_test]
        force_rmse = float(np.sqrt(np.mean(force_error**2)))
        force_unit = f" {units}/Å" if units else ""
        print(
            f"test force RMSE {force_rmse:.4g}{force_unit} per component "
            f"({in_test.sum()} atoms; force std {np.std(force_ref[in_test]):.4g}"
            f"{force_unit})"
        )
        force_report = calibration_report(
            force_ref[in_test].ravel(),
            force_pred[in_test].ravel(),
            force_std[in_test].ravel(),
            n_bins=min(10, force_error.size),
        )
        _print_coverage("test force components", force_report, print)
        for k, axis in enumerate("xyz"):
            atoms_columns[f"force_{axis}"] = force_ref[:, k]
            atoms_columns[f"predicted_force_{axis}"] = force_pred[:, k]
            atoms_columns[f"force_std_{axis}"] = force_std[:, k]
        result.update(force_rmse=force_rmse, force_calibration=force_report)
        force_figure = (
            force_ref[in_test].ravel(),
            force_pred[in_test].ravel(),
            force_std[in_test].ravel(),
        )
    _write(output, columns, atoms_columns)
    print(
        f"wrote {output}" + ("" if atoms_columns is None else " (and its atoms file)")
    )
    if figures is not None:
        _figures(
            figures,
            (y[test], y_pred[test], y_std[test]),
            rigidity,
            train,
            test,
            units,
            force_figure,
            print,
        )
    print(f"done in {time.perf_counter() - start:.1f} s")
    result.update(calibration=report, output=str(output))
    return result


def _describe(structures, cutoff, progress, print):
    """SOAP power spectrum and composition of the structures, two blocks."""
    from sklearn.pipeline import make_union

    from skpr.atomistic import CompositionFeatures, SoapPowerSpectrum

    descriptor = make_union(
        SoapPowerSpectrum(
            cutoff=cutoff, max_radial=4, max_angular=3, progress=progress
        ),
        CompositionFeatures(),
    )
    step = time.perf_counter()
    X = np.asarray(descriptor.fit_transform(structures), dtype=float)
    print(
        f"SOAP power spectrum (cutoff {cutoff} Å) + composition: {X.shape[1]} "
        f"features in {time.perf_counter() - step:.1f} s"
    )
    n_composition = len(descriptor.transformer_list[1][1].species_)
    return descriptor, X, [X.shape[1] - n_composition, n_composition]


def _fit_energies_and_forces(
    model, descriptor, structures, X, y, forces, weight, train
):
    """Fit energy and force rows of the training structures, one group each.

    Leaving out a structure's energy and forces together (``groups``) gives
    the alpha and, one scale per kind (``kinds``), the calibration.
    """
    from skpr.atomistic import energy_force_rows, transform_gradients

    gradients, atom_structure = transform_gradients(descriptor, structures)
    gradients = np.asarray(gradients, dtype=float)
    counts = np.bincount(atom_structure, minlength=len(structures))
    rows, targets, weights = energy_force_rows(
        X,
        gradients,
        y,
        forces,
        structure_index=atom_structure,
        force_weight=weight,
    )
    row_structure = np.concatenate(
        [np.arange(len(structures)), np.repeat(atom_structure, 3)]
    )
    row_kinds = np.repeat(["energy", "force"], [len(structures), 3 * counts.sum()])
    fitted = np.isin(row_structure, train)
    model.fit(
        rows[fitted],
        targets[fitted],
        sample_weight=weights[fitted],
        groups=row_structure[fitted],
        kinds=row_kinds[fitted],
    )
    return model, "energy", gradients, atom_structure, row_kinds[fitted]


def _print_coverage(what, report, print):
    coverage = " / ".join(f"{report['coverage'][k]:.0%}" for k in (1, 2, 3))
    print(
        f"{what} within 1 / 2 / 3 sigma (|error| <= k std): {coverage} "
        "(Gaussian 68 / 95 / 99.7 %)"
    )


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


def _figures(folder, energies, rigidity, train, test, units, forces, print):
    """Calibration, parity and PR figures on plain Figures (pyplot untouched)."""
    try:
        from matplotlib.figure import Figure

        from skpr._plotting import plot_calibration, plot_parity
    except ImportError:
        print(f"no figures: they need matplotlib ({install_command('plot')})")
        return
    folder.mkdir(exist_ok=True)
    written = []

    def save(figure, name):
        figure.savefig(folder / name, dpi=150)
        written.append(name)

    figure = Figure(figsize=(9.0, 4.0), layout="constrained")
    plot_calibration(*energies, axes=figure.subplots(1, 2), units=units)
    figure.suptitle("test split")
    save(figure, "calibration.png")
    figure = Figure(figsize=(5.0, 5.0), layout="constrained")
    plot_parity(*energies, ax=figure.subplots(), units=units)
    figure.suptitle("test split")
    save(figure, "parity.png")
    if forces is not None:
        figure = Figure(figsize=(9.0, 4.0), layout="constrained")
        force_units = f"{units}/Å" if units else None
        plot_calibration(*forces, axes=figure.subplots(1, 2), units=force_units)
        figure.suptitle("test split, force components")
        save(figure, "calibration-forces.png")
    figure = Figure(figsize=(4.5, 3.5), layout="constrained")
    ax = figure.subplots()
    bins = np.logspace(np.log10(rigidity.min()), np.log10(rigidity.max()), 30)
    ax.hist(rigidity[train], bins=bins, alpha=0.6, label="train")
    ax.hist(rigidity[test], bins=bins, alpha=0.6, label="test")
    pr_units = f" [1/{units}²]" if units and "/" not in units else ""
    ax.set(xscale="log", xlabel=f"prediction rigidity (PR){pr_units}", ylabel="samples")
    ax.legend()
    save(figure, "rigidity.png")
    print(f"figures written to {folder}/ ({', '.join(written)})")
