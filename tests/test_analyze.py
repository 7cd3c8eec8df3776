"""``python -m skpr analyze`` on each input format, against a fit in the test."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

from skpr import BlockRidgeCV
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
    assert (figures / "rigidity.png").stat().st_size > 1000


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
    ]
    (tmp_path / "data.txt").write_text("1 2 3\n")
    for argv, message in cases:
        code, captured = run(["analyze", *argv], capsys)
        assert code == 2, argv
        assert message in captured.err, (argv, captured.err)
        assert "Traceback" not in captured.err
        assert captured.out == ""  # nothing was fitted
    if os.geteuid() != 0:  # root can write anywhere
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        np.savez(tmp_path / "ok.npz", X=X, y=y)
        code, captured = run(
            ["analyze", str(tmp_path / "ok.npz"), "--output", str(locked / "o.csv")],
            capsys,
        )
        assert code == 2 and "read-only" in captured.err


def test_help_and_version_as_a_subprocess():
    out = subprocess.run(
        [sys.executable, "-m", "skpr", "analyze", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in ("--output", "--figures", "--target", "--energy", "--test-fraction"):
        assert option in out
    version = subprocess.run(
        [sys.executable, "-m", "skpr", "--version"], capture_output=True, text=True
    )
    assert version.stdout.startswith("skpr ")
