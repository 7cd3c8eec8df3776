"""Reading the files shipped in ``skpr/datasets``: data and descriptions.

The data files live in ``data/`` (with their ``LICENSE``), one description per
data set in ``descr/<name>.rst``. A description is written once and used three
times: as the loader's ``DESCR`` field, inside the loader's docstring (by
:func:`with_description`) and in ``docs/datasets.rst`` (by ``.. include::``).
It therefore holds plain paragraphs and lists, no section titles, so that it is
valid both inside a docstring and on the documentation page.

Files are read through :mod:`importlib.resources`, so the loaders also work
when the package is installed as a zip file.
"""

import inspect
from importlib.resources import as_file, files

import numpy as np

from skpr._extras import install_command

_PACKAGE = "skpr.datasets"


def data_file(name):
    """Return the packaged data file ``data/<name>`` as a ``Traversable``."""
    return files(_PACKAGE) / "data" / name


def description(name):
    """Return the text of the packaged description ``descr/<name>.rst``."""
    return (files(_PACKAGE) / "descr" / f"{name}.rst").read_text(encoding="utf-8")


def with_description(name):
    """Decorate a loader so that its docstring carries ``descr/<name>.rst``.

    The description goes between the one-line summary and the numpydoc
    sections (``Returns``, ``Examples``, ...), where numpydoc expects the
    extended summary.

    Parameters
    ----------
    name : str
        Name of the description file, without the ``.rst`` suffix.

    Returns
    -------
    decorate : callable
        Takes the loader, returns it with the new ``__doc__``.
    """
    text = description(name).strip()

    def decorate(loader):
        # no docstring to extend under ``python -OO``
        if loader.__doc__ is not None:
            summary, _, sections = inspect.cleandoc(loader.__doc__).partition("\n\n")
            loader.__doc__ = f"{summary}\n\n{text}\n\n{sections}\n"
        return loader

    return decorate


def load_npz(name):
    """Read every array of the packaged ``.npz`` file ``name`` into a new dict."""
    with as_file(data_file(name)) as path, np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def read_structures(name):
    """Read every frame of a packaged extended-XYZ file as new ``ase.Atoms``.

    Raises
    ------
    ImportError
        If ASE is not installed; the message says how to install it.
    """
    try:
        import ase.io
    except ImportError as error:
        raise ImportError(
            f"Loading {name} needs the optional dependency ASE, which is not "
            f"installed. Install it with: {install_command('atomistic')}"
        ) from error
    with as_file(data_file(name)) as path:
        return ase.io.read(path, index=":")
