"""Every public estimator and transformer is shown in at least one example."""

import inspect
import re
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator

import skpr

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def public_estimators(module):
    """Names in ``module.__all__`` of scikit-learn estimator classes."""
    return sorted(
        name
        for name in module.__all__
        if inspect.isclass(getattr(module, name))
        and issubclass(getattr(module, name), BaseEstimator)
    )


def example_text():
    return "\n".join(path.read_text() for path in sorted(EXAMPLES.glob("plot_*.py")))


def missing_from_examples(names):
    """The names no example mentions as a whole word.

    Whole words, so that "BlockRidgeCV" does not count for "BlockRidge".
    """
    text = example_text()
    return [name for name in names if not re.search(rf"\b{name}\b", text)]


def test_every_core_estimator_is_in_an_example():
    names = public_estimators(skpr)
    assert "BlockRidge" in names and "ACEPurifier" in names  # the check finds them
    assert missing_from_examples(names) == []


def test_every_atomistic_estimator_is_in_an_example():
    atomistic = pytest.importorskip("skpr.atomistic")  # CI installs the extra
    names = public_estimators(atomistic)
    assert "SoapPowerSpectrum" in names
    assert missing_from_examples(names) == []
