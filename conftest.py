"""pytest configuration for the tests (``tests/``) and the doctests (``skpr/``).

``pyproject.toml`` collects the doctests of every module of ``skpr``
(``--doctest-modules``).  Those of :mod:`skpr.atomistic` need the optional
extra ``atomistic`` (ASE and featomic): without it, importing the subpackage
raises, so it is left out of the collection instead of erroring there.  Any
other doctest that needs the extra is skipped without it: one whose docstring
names the extra (``pip install ".[atomistic]"``, as the loaders of
structures in :mod:`skpr.datasets` do) or whose examples import ``ase``,
``featomic`` or ``skpr.atomistic``.  Test files guard themselves with
``pytest.importorskip``.

Slow statistical and example tests carry the ``slow`` marker: CI runs them,
and a contributor can leave them out with ``python -m pytest -m "not slow"``.
"""

import re
from importlib.util import find_spec

import pytest

from skpr._extras import install_command

#: The packages of the extra ``atomistic`` that are not installed.
MISSING_ATOMISTIC = [name for name in ("ase", "featomic") if find_spec(name) is None]

#: Paths, relative to this file, that pytest does not collect.
collect_ignore = ["skpr/atomistic"] if MISSING_ATOMISTIC else []

_IMPORTS_ATOMISTIC = re.compile(
    r"^\s*(?:import|from)\s+(?:ase|featomic|skpr\.atomistic)\b", re.MULTILINE
)


def _needs_atomistic(doctest):
    sources = "".join(example.source for example in doctest.examples)
    return ".[atomistic]" in (doctest.docstring or "") or bool(
        _IMPORTS_ATOMISTIC.search(sources)
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "slow: a slow statistical or example test; CI runs it, deselect it "
        "locally with -m 'not slow'",
    )


def pytest_collection_modifyitems(config, items):
    if not MISSING_ATOMISTIC:
        return
    skip = pytest.mark.skip(
        reason=f"needs the extra atomistic ({', '.join(MISSING_ATOMISTIC)} not "
        f"installed): {install_command('atomistic')}"
    )
    for item in items:
        doctest = getattr(item, "dtest", None)  # set on doctest items only
        if doctest is not None and _needs_atomistic(doctest):
            item.add_marker(skip)
