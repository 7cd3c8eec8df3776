"""``python -m skpr analyze`` on each input format, against a fit in the test."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skpr import BlockRidge, BlockRidgeCV
from skpr.__main__ import main
from skpr._analyze import analyze


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    y = X @ rng.normal(size=6) + 0.1 * rng.normal(size=80)
    return X, y


def read_csv(path):
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows


def quiet(*_):
    pass


@pytest.mark.parametrize("suffix", [".npz", ".npy", ".csv"])
def test_every_array_format_gives_the_fit_of_the_test(tmp_path, arrays, suffix):
    X, y = arrays
    path = tmp_path / f"data{suffix}"
    if suffix == ".npz":
        np.savez(path, features=X, energies=y)
        options = {"features": "features", "target": "energies"}
    elif suffix == ".npy":
        np.save(path, np.column_stack([X, y]))
        options = {}
    else:
        header = [f"f{i}" for i in range(6)] + ["E"]
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["E"] + header[:-1])  # the target is not last here
            writer.writerows(np.column_stack([y, X]).tolist())
        options = {"target": "E"}
    output = tmp_path / "out.csv"
    result = analyze(path, output=output, print=quiet, **options)
    rows = read_csv(output)
    assert len(rows) == 80
    split = np.array([row["split"] for row in rows])
    train = np.flatnonzero(split == "train")
    reference = BlockRidgeCV().fit(X[train], y[train])
    np.testing.assert_allclose(result["alpha"], reference.alpha_)
    np.testing.assert_allclose(
        [float(row["rigidity"]) for row in rows],
        reference.predict_rigidity(X),
        rtol=1e-8,
    )
    _, std = reference.predict(X, return_std=True)
    np.testing.assert_allclose([float(row["std"]) for row in rows], std, rtol=1e-8)
    test = split == "test"
    prediction = reference.predict(X[test])
    assert result["rmse"] == pytest.approx(
        np.sqrt(np.mean((y[test] - prediction) ** 2))
    )


def test_npz_output_and_figures(tmp_path, arrays):
    pytest.importorskip("matplotlib")
    X, y = arrays
    np.savez(tmp_path / "data.npz", X=X, y=y)
    output, figures = tmp_path / "out.npz", tmp_path / "figures"
    analyze(tmp_path / "data.npz", output=output, figures=figures, print=quiet)
    with np.load(output) as saved:
        assert saved["rigidity"].shape == (80,)
        assert set(saved["split"]) == {"train", "test"}
    assert (figures / "calibration.png").read_bytes().startswith(b"\x89PNG")
    for name in ("parity.png", "rigidity.png"):
        assert (figures / name).stat().st_size > 1000


def test_structures_with_energies_give_atoms_too(tmp_path):
    pytest.importorskip("ase")
    pytest.importorskip("featomic")
    import ase.io

    from skpr.datasets import load_ethanol

    structures = load_ethanol().structures[:30]
    path = tmp_path / "ethanol.xyz"
    ase.io.write(path, structures)
    output = tmp_path / "out.csv"
    analyze(path, output=output, cutoff=3.0, print=quiet)
    atoms = read_csv(tmp_path / "out-atoms.csv")
    assert len(atoms) == 30 * 9
    assert {row["symbol"] for row in atoms} == {"C", "H", "O"}
    assert all(float(row["local_rigidity"]) > 0 for row in atoms)
    assert len(read_csv(output)) == 30


def test_structures_with_forces_give_the_fit_of_the_test(tmp_path):
    pytest.importorskip("ase")
    pytest.importorskip("featomic")
    pytest.importorskip("matplotlib")
    import ase.io
    from sklearn.pipeline import make_union

    from skpr.atomistic import (
        CompositionFeatures,
        SoapPowerSpectrum,
        energy_force_rows,
        transform_gradients,
    )
    from skpr.datasets import load_ethanol

    structures = load_ethanol().structures[:20]
    path = tmp_path / "ethanol.xyz"
    ase.io.write(path, structures)
    output, figures = tmp_path / "out.csv", tmp_path / "figures"
    result = analyze(
        path,
        output=output,
        figures=figures,
        forces="forces",
        force_weight=0.5,
        cutoff=3.0,
        units="kcal/mol",
        progress=False,
        print=quiet,
    )
    split = np.array([row["split"] for row in read_csv(output)])
    train = np.flatnonzero(split == "train")

    # the same rows, fitted here at the chosen alpha, one structure per group
    union = make_union(
        SoapPowerSpectrum(cutoff=3.0, max_radial=4, max_angular=3),
        CompositionFeatures(),
    )
    X = union.fit_transform(structures)
    gradients, atom_structure = transform_gradients(union, structures)
    energies = np.array([atoms.get_potential_energy() for atoms in structures])
    forces = np.concatenate([atoms.get_forces() for atoms in structures])
    rows, targets, weights = energy_force_rows(
        X, gradients, energies, forces, structure_index=atom_structure, force_weight=0.5
    )
    row_structure = np.concatenate([np.arange(20), np.repeat(atom_structure, 3)])
    kinds = np.array(["energy"] * 20 + ["force"] * (3 * len(atom_structure)))
    fitted = np.isin(row_structure, train)
    n_soap = X.shape[1] - 3
    reference = BlockRidge(
        alpha=result["alpha"], blocks=[n_soap, 3], fit_intercept=False
    ).fit(
        rows[fitted],
        targets[fitted],
        sample_weight=weights[fitted],
        groups=row_structure[fitted],
        kinds=kinds[fitted],
    )
    force_pred, force_std = reference.predict(-gradients, return_std=True, kind="force")
    atoms = read_csv(tmp_path / "out-atoms.csv")
    saved = np.array(
        [
            [float(row[f"{q}_{a}"]) for a in "xyz"]
            for row in atoms
            for q in ("predicted_force", "force_std")
        ]
    )
    np.testing.assert_allclose(saved[0::2].ravel(), force_pred, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(saved[1::2].ravel(), force_std, rtol=1e-6)
    energy_pred, energy_std = reference.predict(X, return_std=True, kind="energy")
    samples = read_csv(output)
    np.testing.assert_allclose(
        [float(r["prediction"]) for r in samples], energy_pred, rtol=1e-8
    )
    np.testing.assert_allclose(
        [float(r["std"]) for r in samples], energy_std, rtol=1e-6
    )
    test_atoms = ~np.isin(atom_structure, train)
    error = forces[test_atoms] - force_pred.reshape(-1, 3)[test_atoms]
    assert result["force_rmse"] == pytest.approx(np.sqrt(np.mean(error**2)))
    assert (figures / "calibration-forces.png").stat().st_size > 1000


def run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    return exit_info.value.code, capsys.readouterr()


def test_bad_files_fields_and_outputs_are_refused_before_work(tmp_path, arrays, capsys):
    X, y = arrays
    np.savez(tmp_path / "data.npz", A=X, B=y, C=y)
    cases = [
        ([str(tmp_path / "missing.npz")], "no such file"),
        ([str(tmp_path / "data.txt")], "unknown kind of file"),
        ([str(tmp_path / "data.npz"), "--target", "E"], "has no array 'E'"),
        ([str(tmp_path / "data.npz")], "say which is the"),
        (
            [str(tmp_path / "data.npz"), "--output", str(tmp_path / "no" / "o.csv")],
            "does not exist",
        ),
        ([str(tmp_path / "data.npz"), "--output", str(tmp_path / "o.txt")], "must end"),
        ([str(tmp_path / "data.npz"), "--test-fraction", "1.5"], "between 0 and 1"),
        (
            [str(tmp_path / "data.npz"), "--forces", "forces"],
            "--forces needs structures",
        ),
        (
            [str(tmp_path / "data.npz"), "--output", str(tmp_path / "dir.csv")],
            "it is a folder",
        ),
    ]
    (tmp_path / "data.txt").write_text("1 2 3\n")
    (tmp_path / "dir.csv").mkdir()
    for argv, message in cases:
        code, captured = run(["analyze", *argv], capsys)
        assert code == 2, argv
        assert message in captured.err, (argv, captured.err)
        assert "Traceback" not in captured.err
        assert captured.out == ""  # nothing was fitted
    np.savez(tmp_path / "ok.npz", X=X, y=y)
    # a folder no file can be created in: for root, whom permission bits do
    # not stop, a folder of the virtual /proc file system
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.geteuid() == 0:
        locked = Path("/proc")
    for option, target in (("--output", locked / "o.csv"), ("--figures", locked)):
        code, captured = run(
            ["analyze", str(tmp_path / "ok.npz"), option, str(target)], capsys
        )
        assert code == 2, option
        assert "read-only" in captured.err
        assert captured.out == ""


def test_structure_fields_are_checked_before_work(tmp_path, capsys):
    pytest.importorskip("ase")
    pytest.importorskip("featomic")
    import ase.io

    from skpr.datasets import load_ethanol

    structures = load_ethanol().structures[:6]
    path = tmp_path / "ethanol.xyz"
    ase.io.write(path, structures)
    cases = [
        (["--energy", "free_energy"], "has no energy 'free_energy'"),
        (["--forces", "dft_forces"], "has no forces 'dft_forces'"),
        (["--forces", "forces", "--force-weight", "-1"], "must be positive"),
    ]
    for options, message in cases:
        code, captured = run(["analyze", str(path), *options], capsys)
        assert code == 2, options
        assert message in captured.err, (options, captured.err)
        assert "SOAP" not in captured.out  # no descriptor was computed


def test_help_and_version_as_a_subprocess():
    out = subprocess.run(
        [sys.executable, "-m", "skpr", "analyze", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    options = ("--output", "--figures", "--target", "--energy", "--forces", "--units")
    for option in (*options, "--force-weight", "--no-progress", "--test-fraction"):
        assert option in out
    version = subprocess.run(
        [sys.executable, "-m", "skpr", "--version"], capture_output=True, text=True
    )
    assert version.stdout.startswith("skpr ")


def test_alpha_grid_from_the_command_line_and_the_edge_note(tmp_path, arrays, capsys):
    X, y = arrays
    np.savez(tmp_path / "data.npz", X=X, y=y)
    output = str(tmp_path / "out.csv")
    # a grid that stops far above the best alpha: the largest is chosen
    argv = ["analyze", str(tmp_path / "data.npz"), "--output", output]
    assert main([*argv, "--alphas", "10", "1000", "3"]) == 0
    printed = capsys.readouterr().out
    assert (
        "alpha by exact leave-one-out over 1e+01..1e+03 (3 values): 1.0e+01" in printed
    )
    assert "note: the smallest alpha of the grid was chosen" in printed
    # the default grid holds the best alpha: no note
    assert main(argv) == 0
    assert "note:" not in capsys.readouterr().out
    code, captured = run([*argv, "--alphas", "1", "0.1", "5"], capsys)
    assert code == 2 and "0 < LOW < HIGH" in captured.err
