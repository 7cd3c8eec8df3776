"""The package as a user meets it: public names, the demo, the examples."""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import skpr
import skpr._demo
from skpr import BlockRidge
from skpr.__main__ import main
from skpr._demo import check_figure_path, run_demo
from skpr._extras import install_command
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


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """Run the demo once, under the svg backend with one pyplot figure open."""
    matplotlib = pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    previous = matplotlib.get_backend()
    matplotlib.use("svg")  # not Agg, so that a switch to Agg would show
    figure = plt.figure()
    try:
        before = (matplotlib.get_backend(), plt.get_fignums())
        lines = []
        output = tmp_path_factory.mktemp("demo") / "calibration.png"
        result = run_demo(output, print=lines.append)
        after = (matplotlib.get_backend(), plt.get_fignums())
    finally:
        plt.close(figure)
        matplotlib.use(previous)
    return SimpleNamespace(
        result=result, lines=lines, output=output, before=before, after=after
    )


def test_demo_reports_what_an_independent_fit_gives(demo_run):
    result, lines = demo_run.result, demo_run.lines
    assert demo_run.output.read_bytes().startswith(b"\x89PNG")
    assert demo_run.output.stat().st_size > 10_000
    assert result["figure"] == str(demo_run.output)
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


def test_demo_leaves_the_callers_matplotlib_state_alone(demo_run):
    backend, figures = demo_run.before
    assert backend == "svg" and len(figures) == 1
    assert demo_run.after == demo_run.before


def test_demo_figure_without_matplotlib_prints_a_hint(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backend_bases"):
        monkeypatch.setitem(sys.modules, name, None)
    lines = []
    y = np.linspace(1.0, 2.0, 10)
    output = tmp_path / "missing" / "f.png"
    check_figure_path(output)  # nothing will be written, so nothing to check
    written = skpr._demo._write_figure(output, y, y + 0.1, y, print=lines.append)
    assert written is None
    assert lines == [
        f"matplotlib is not installed: {install_command('plot')} for the figure"
    ]
    assert not output.parent.exists()


BAD_OUTPUTS = [
    ("missing/folder/x.png", r"the folder '\S*missing/folder' does not exist"),
    (".", r"it is a folder; give a file name such as"),
    ("x.txt", r"it has suffix '\.txt', and the suffix sets the image format"),
    ("x", r"it has no suffix, .* use one of \.eps, .*\.png"),
    ("x.pgf", r"suffix '\.pgf'"),
    ("a_file/x.png", r"'\S*a_file' is not a folder"),
]


@pytest.mark.parametrize(("output", "message"), BAD_OUTPUTS)
def test_demo_checks_the_output_before_any_work(output, message, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")

    def no_work():
        raise AssertionError("the data was loaded before the output was checked")

    monkeypatch.setattr(skpr._demo, "load_nice_methane", no_work)
    with pytest.raises(ValueError, match="cannot write the calibration figure to"):
        run_demo(output)
    with pytest.raises(ValueError, match=message):
        check_figure_path(output)


@pytest.mark.parametrize(("output", "message"), BAD_OUTPUTS)
def test_command_line_rejects_a_bad_output_in_one_line(
    output, message, tmp_path, monkeypatch, capsys
):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("")
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--output", output])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    usage, error = err.splitlines()
    assert usage.startswith("usage: python -m skpr demo")
    assert error.startswith(
        "python -m skpr demo: error: argument --output: cannot write the "
        f"calibration figure to {output!r}: "
    )
    assert re.search(message, error)


def test_command_line_checks_writable_folder_and_the_default(
    tmp_path, monkeypatch, capsys
):
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    # os.access is patched: permissions are not enforced for root
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(SystemExit) as exit_info:
        main(["demo"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "'skpr-demo-calibration.png': the folder '.' is not writable" in err
    with pytest.raises(ValueError, match=r"the folder '\.' is not writable"):
        check_figure_path("x.png")


def test_demo_refuses_a_read_only_figure_file(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    existing = tmp_path / "old.png"
    existing.write_bytes(b"")
    access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: access(path, mode) and path != existing
    )
    with pytest.raises(ValueError, match="the file exists and is read-only"):
        check_figure_path(existing)
    check_figure_path(tmp_path / "new.png")


def test_command_line_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m skpr [-h] [--version] COMMAND ...")
    assert "demo" in out and "analyze" in out
    assert "python -m skpr COMMAND --help" in out

    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())  # undo argparse's wrapping
    assert out.startswith("usage: python -m skpr demo [-h] [--output FILE] [--seed N]")
    for text in (
        "NICE methane",
        install_command("plot"),
        "--output FILE file for the calibration figure; its folder must exist",
        ".png, .ps, .svg",
        "checked before any work",
        "(default: skpr-demo-calibration.png, in the current folder)",
        "--seed N seed of the random train/test split (default: 0)",
    ):
        assert text in out


def test_command_line_demo(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "skpr", "demo", "--output", str(tmp_path / "f.png")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert "test RMSE" in out.stdout and "f.png" in out.stdout
    assert (tmp_path / "f.png").stat().st_size > 10_000
    bad = subprocess.run(
        [sys.executable, "-m", "skpr", "dmeo"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "invalid choice: 'dmeo'" in bad.stderr


def test_command_line_bad_output_exits_2_without_traceback(tmp_path):
    bad = subprocess.run(
        [sys.executable, "-m", "skpr", "demo", "--output", "missing/folder/x.png"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""  # nothing was fitted
    assert "Traceback" not in bad.stderr
    assert bad.stderr.splitlines()[-1] == (
        "python -m skpr demo: error: argument --output: cannot write the "
        "calibration figure to 'missing/folder/x.png': the folder "
        "'missing/folder' does not exist; create it first or choose a file in "
        "an existing folder"
    )
    assert not (tmp_path / "missing").exists()


EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
@pytest.mark.slow
def test_example_runs(script, monkeypatch, tmp_path):
    text = script.read_text()
    if "skpr.atomistic" in text:
        pytest.importorskip("ase")
        pytest.importorskip("featomic")
    if re.search(r"^(?:from|import) mapie\b", text, flags=re.MULTILINE):
        pytest.importorskip("mapie", reason="needs the extra conformal")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    examples_before = sorted((ROOT / "examples").iterdir())
    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(script), run_name="__main__")
        figures = plt.get_fignums()
    finally:
        plt.close("all")
    # runpy sets __file__, as a run by hand does: the figures go to the cwd
    assert figures
    written = {path.name for path in tmp_path.glob("*.png")}
    assert written == {f"{script.stem}-{number}.png" for number in figures}
    assert sorted((ROOT / "examples").iterdir()) == examples_before


def figure_block(script):
    """The lines of an example that write its figures, hidden from the gallery."""
    text = script.read_text()
    start = text.index("# sphinx_gallery_start_ignore")
    end = text.index("# sphinx_gallery_end_ignore")
    assert text.count("# sphinx_gallery_start_ignore") == 1
    assert text[end:].startswith("# sphinx_gallery_end_ignore\nplt.show()\n")
    return text[start:end]


def test_every_example_writes_its_figures_the_same_way():
    blocks = {script.name: figure_block(script) for script in EXAMPLES}
    assert len(EXAMPLES) >= 9
    assert len(set(blocks.values())) == 1, blocks


def test_figure_block_writes_files_only_with_a_file_name(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    block = figure_block(EXAMPLES[0])
    monkeypatch.chdir(tmp_path)
    figures = [plt.figure(), plt.figure()]
    try:
        # sphinx-gallery runs each example in a fresh "__main__" module whose
        # namespace has no __file__ (sphinx_gallery.gen_rst.execute_script)
        exec(block, {"__name__": "__main__", "plt": plt})
        assert list(tmp_path.iterdir()) == []
        assert capsys.readouterr().out == ""
        exec(block, {"__name__": "__main__", "__file__": "/x/plot_x.py", "plt": plt})
        numbers = plt.get_fignums()
    finally:
        for figure in figures:
            plt.close(figure)
    names = [f"plot_x-{number}.png" for number in numbers]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)
    assert all((tmp_path / name).read_bytes().startswith(b"\x89PNG") for name in names)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"figure {number} written to {name}"
        for number, name in zip(numbers, names, strict=True)
    ]


@pytest.mark.parametrize(
    ("name", "n_figures"),
    [("plot_methane_calibration", 2), ("plot_ethanol_force_uncertainty", 3)],
)
@pytest.mark.slow
def test_example_run_by_hand_writes_its_figures(name, n_figures, tmp_path):
    pytest.importorskip("matplotlib")
    script = ROOT / "examples" / f"{name}.py"
    if "skpr.atomistic" in script.read_text():
        pytest.importorskip("ase")
        pytest.importorskip("featomic")
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MPLBACKEND": "Agg"},
        check=True,
    )
    names = [f"{name}-{number}.png" for number in range(1, n_figures + 1)]
    assert sorted(path.name for path in tmp_path.iterdir()) == names
    for number, file in enumerate(names, start=1):
        assert (tmp_path / file).read_bytes().startswith(b"\x89PNG")
        assert f"figure {number} written to {file}\n" in out.stdout
