"""Progress bars (the extra ``progress``) show the work and change no number."""

import sys

import numpy as np
import pytest

from skpr._extras import install_command, progress

pytest.importorskip("tqdm")


def test_a_bar_counts_the_items_and_passes_them_through(capsys):
    assert list(progress(range(5), "work")) == [0, 1, 2, 3, 4]
    assert "work: 100%" in capsys.readouterr().err
    items = range(3)
    assert progress(items, "work", enabled=False) is items
    assert capsys.readouterr().err == ""


def test_without_tqdm_the_error_gives_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    with pytest.raises(ImportError, match="needs tqdm") as info:
        progress(range(3), "work")
    assert install_command("progress") in str(info.value)
    # no bar asked for: tqdm is not needed
    assert list(progress(range(3), "work", enabled=False)) == [0, 1, 2]


def test_descriptor_bars_give_the_same_rows(capsys):
    pytest.importorskip("featomic")
    from skpr.atomistic import LodeDescriptor, SoapPowerSpectrum, transform_local
    from skpr.datasets import load_water_dimers

    # more than one call to featomic (64 structures per call)
    structures = load_water_dimers().structures[:130]
    plain = SoapPowerSpectrum(cutoff=3.0, max_radial=2, max_angular=2)
    shown = SoapPowerSpectrum(cutoff=3.0, max_radial=2, max_angular=2, progress=True)
    expected = plain.fit(structures).transform(structures)
    capsys.readouterr()
    np.testing.assert_array_equal(shown.fit(structures).transform(structures), expected)
    err = capsys.readouterr().err
    assert "SoapPowerSpectrum" in err and "3/3" in err
    local, _ = transform_local(shown, structures)
    np.testing.assert_array_equal(local, transform_local(plain, structures)[0])
    assert "3/3" in capsys.readouterr().err
    # the parameter is a hyperparameter like any other: cloned, not computed on
    assert LodeDescriptor(progress=True).get_params()["progress"] is True
