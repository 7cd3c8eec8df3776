"""Small real data sets shipped with skpr.

Every loader reads its file from ``skpr/datasets/data/`` on each call and returns
a :class:`sklearn.utils.Bunch` built from fresh arrays and objects, so that a
caller may modify the result without affecting later calls. Each data set is
described once, in ``skpr/datasets/descr/<name>.rst``: that text is the
``DESCR`` field of the bunch, part of the loader's docstring and part of the
documentation page.

Three data sets are feature matrices from scikit-matter and three are
extended-XYZ structure files from metatrain, all under the BSD 3-Clause License;
the full licence text ships next to the data in ``skpr/datasets/data/LICENSE``.

The structure loaders (:func:`load_qm9`, :func:`load_ethanol`, :func:`load_carbon`)
need the optional dependency ASE: ``pip install "skpr[atomistic]"``.
"""

from skpr.datasets._loaders import (
    load_carbon,
    load_csd_shieldings,
    load_degenerate_methane,
    load_ethanol,
    load_nice_methane,
    load_qm9,
)

__all__ = [
    "load_carbon",
    "load_csd_shieldings",
    "load_degenerate_methane",
    "load_ethanol",
    "load_nice_methane",
    "load_qm9",
]
