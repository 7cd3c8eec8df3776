"""The code of the user guide runs, and prints what the pages say it prints.

Pages: ``docs/getting_started.rst`` and ``docs/howto/*.rst``.  Each page's
blocks run in order, in one namespace, in a temporary folder, with
matplotlib's non-interactive Agg backend:

- ``.. code-block:: python`` blocks are executed; a ``.. code-block:: text``
  block right after one (nothing but blank lines between) is its printed
  output and must match it, as a doctest's output (``...`` matches anything,
  runs of white space are equal);
- ``.. code-block:: console`` blocks run their ``$ python -m skpr ...``
  commands in this process (``skpr.__main__.main``), the lines after a
  command being its output, checked the same way;
- other blocks (``bash``: install commands) are not run.

A page marks what its code needs with a comment, ``.. needs: atomistic`` (or
``plot``, ``pandas``; several separated by commas): the blocks after the
comment need that optional extra.  Without it the page is run up to the
comment and then skipped, with a message that says "needs the extra", which
CI reads to tell skips for missing modules from others.

A warning raised by a page's code (other than a deprecation warning of a
dependency) fails the page: the guide shows code that runs cleanly.
"""

import contextlib
import doctest
import importlib.util
import io
import re
import shlex
import textwrap
import warnings
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "docs" / "getting_started.rst"] + sorted(
    path
    for path in (ROOT / "docs" / "howto").glob("*.rst")
    if path.name != "index.rst"  # the table of contents, no code
)

#: What a ``.. needs:`` name stands for: the modules to import, and the extra
#: of pyproject.toml that installs them.
NEEDS = {
    "atomistic": (("ase", "featomic"), "atomistic"),
    "plot": (("matplotlib",), "plot"),
    "dask": (("dask", "distributed"), "dask"),
    # not an extra of its own: set_output(transform="pandas"); the extra
    # test installs it
    "pandas": (("pandas",), "test"),
}

_DIRECTIVE = re.compile(r"^(?P<indent> *)\.\. code-block:: *(?P<language>\S+) *$")
_NEEDS = re.compile(r"^ *\.\. needs: *(?P<names>.+?) *$")
_CHECKER = doctest.OutputChecker()
_OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def parse(path):
    """The code blocks and ``needs`` comments of a page, in order.

    Returns
    -------
    list of dict
        ``{"kind": "needs", "names": [...], "line": int}`` or ``{"kind":
        "block", "language": str, "source": str, "line": int, "end": int}``
        (``line``: 1-based line of the directive; ``end``: 0-based index of
        the line after the block's last non-blank line).
    """
    lines = path.read_text().splitlines()
    items, i = [], 0
    while i < len(lines):
        needs = _NEEDS.match(lines[i])
        if needs:
            names = [name.strip() for name in needs["names"].split(",")]
            items.append({"kind": "needs", "names": names, "line": i + 1})
            i += 1
            continue
        match = _DIRECTIVE.match(lines[i])
        if not match:
            i += 1
            continue
        indent = len(match["indent"])
        j = i + 1
        # options (":caption: ...") before the content
        while j < len(lines) and re.match(rf"^ {{{indent + 1},}}:\w", lines[j]):
            j += 1
        body, end = [], j
        while j < len(lines):
            line = lines[j]
            if line.strip() and len(line) - len(line.lstrip()) <= indent:
                break
            body.append(line)
            j += 1
            if line.strip():
                end = j
        items.append(
            {
                "kind": "block",
                "language": match["language"],
                "source": textwrap.dedent("\n".join(body)).strip("\n") + "\n",
                "line": i + 1,
                "end": end,
            }
        )
        i = j
    return items


def _adjacent(lines, end, line):
    """Only blank lines between the end of one block and the next directive."""
    return all(not text.strip() for text in lines[end : line - 1])


def check_output(want, got, where):
    if not _CHECKER.check_output(want, got, _OPTIONS):
        example = doctest.Example("", want)
        difference = _CHECKER.output_difference(example, got, _OPTIONS)
        pytest.fail(f"{where}: the printed output is not the page's\n{difference}")


def require(names, where):
    for name in names:
        if name not in NEEDS:
            pytest.fail(f"{where}: unknown '.. needs: {name}'; known: {sorted(NEEDS)}")
        modules, extra = NEEDS[name]
        for module in modules:
            pytest.importorskip(
                module,
                reason=f"{where}: needs the extra {extra} ({module} is not "
                f'installed): pip install -e ".[{extra}]"',
            )


def run_console(source, where):
    """Run each ``$ python -m skpr ...`` command; check the lines after it."""
    from skpr.__main__ import main

    commands = re.split(r"^\$ ", source, flags=re.MULTILINE)
    if commands[0].strip():
        pytest.fail(f"{where}: a console block must start with a command, '$ ...'")
    for text in commands[1:]:
        command, _, want = text.partition("\n")
        words = shlex.split(command)
        if words[:3] != ["python", "-m", "skpr"]:
            pytest.fail(f"{where}: console blocks run 'python -m skpr' only: {command}")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                status = main(words[3:])
            except SystemExit as exit:
                status = exit.code
        if status:
            pytest.fail(f"{where}: '{command}' exited with {status}:\n{out.getvalue()}")
        if want.strip():
            check_output(want, out.getvalue(), f"{where} ('{command}')")


def run_page(path):
    lines = path.read_text().splitlines()
    items = parse(path)
    namespace = {"__name__": "__main__"}
    name = path.relative_to(ROOT / "docs").as_posix()
    ran = 0
    for k, item in enumerate(items):
        where = f"{name}, line {item['line']}"
        if item["kind"] == "needs":
            require(item["names"], where)
            continue
        if item["language"] == "console":
            run_console(item["source"], where)
            ran += 1
            continue
        if item["language"] != "python":
            continue
        following = items[k + 1] if k + 1 < len(items) else None
        want = None
        if (
            following is not None
            and following["kind"] == "block"
            and following["language"] == "text"
            and _adjacent(lines, item["end"], following["line"])
        ):
            want = following["source"]
        out = io.StringIO()
        code = compile(item["source"], f"<{name}, line {item['line']}>", "exec")
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
        ran += 1
        if want is not None:
            check_output(want, out.getvalue(), where)
    assert ran, f"{name} has no code block that runs"


def _fails(warning):
    # deprecations of dependencies are theirs to fix, not the guide's
    return not issubclass(
        warning.category, DeprecationWarning | PendingDeprecationWarning
    ) or "skpr" in str(warning.filename)


@pytest.mark.parametrize(
    "path", PAGES, ids=[p.relative_to(ROOT / "docs").as_posix() for p in PAGES]
)
def test_page_runs_and_prints_what_it_says(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        matplotlib.use("Agg")
    # one BLAS thread: on a 2-core CI machine threaded BLAS calls from the
    # many small fits of a page wait for each other (it changes no digit
    # the pages print)
    try:
        with (
            threadpool_limits(limits=1),
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            run_page(path)
    finally:
        if importlib.util.find_spec("matplotlib") is not None:
            import matplotlib.pyplot as plt

            plt.close("all")
    failing = [w for w in caught if _fails(w)]
    assert not failing, "the page's code warns:\n" + "\n".join(
        f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in failing
    )


def test_every_page_is_found():
    names = {p.relative_to(ROOT / "docs").as_posix() for p in PAGES}
    assert {
        "getting_started.rst",
        "howto/choose_alpha.rst",
        "howto/calibrate.rst",
        "howto/least_known_atoms.rst",
        "howto/new_structures.rst",
        "howto/diagnose_components.rst",
        "howto/go_large.rst",
    } <= names
