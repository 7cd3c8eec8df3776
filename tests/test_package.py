"""The package as a user meets it: public names, the demo, the examples."""

import re
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import skpr
from skpr import BlockRidge
from skpr._demo import run_demo
from skpr.datasets import load_nice_methane

ROOT = Path(__file__).resolve().parents[1]


def documented_names(page):
    text = (ROOT / "docs" / page).read_text()
    entries = re.findall(r"^   ([A-Za-z_][\w.]*)$", text, flags=re.MULTILINE)
    entries += re.findall(r"^\.\. auto(?:function|class):: ([\w.]+)", text, re.M)
    return {name.rsplit(".", 1)[-1] for name in entries}


def test_public_names_match_api_docs():
    assert set(skpr.__all__) == documented_names("api.rst")


def test_atomistic_names_are_documented():
    atomistic = pytest.importorskip("skpr.atomistic")  # CI installs the extra
    assert set(atomistic.__all__) == documented_names("atomistic.rst")


def test_dataset_loaders_are_documented():
    assert set(skpr.datasets.__all__) <= documented_names("datasets.rst")


def test_core_does_not_import_atomistic_packages():
    code = (
        "import sys, skpr, skpr.datasets; "
        "print(sorted(m for m in ('ase', 'featomic', 'metatensor', 'matplotlib') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_demo_reports_what_an_independent_fit_gives(tmp_path):
    lines = []
    figure = tmp_path / "calibration.png"
    result = run_demo(figure, print=lines.append)
    assert figure.stat().st_size > 10_000
    assert any("test RMSE" in line for line in lines)
    data = load_nice_methane()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=0
    )
    model = BlockRidge(alpha=result["alpha"]).fit(X_train, y_train)
    y_pred, y_std = model.predict(X_test, return_std=True)
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean((y_test - y_pred) ** 2)))
    within = np.abs(y_test - y_pred) <= y_std
    assert result["calibration"]["coverage"][1] == pytest.approx(within.mean())
    np.testing.assert_allclose(
        result["rigidity_test"], model.predict_rigidity(X_test), rtol=1e-12
    )


def test_command_line_demo(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "skpr", "demo", "--output", str(tmp_path / "f.png")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert "test RMSE" in out.stdout and "f.png" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "skpr", "dmeo"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "invalid choice: 'dmeo'" in bad.stderr


@pytest.mark.parametrize(
    "script", sorted((ROOT / "examples").glob("plot_*.py")), ids=lambda p: p.name
)
def test_example_runs(script, monkeypatch, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")
    plt.close("all")
