"""Generators of the reference data sets that skpr computes itself and ships.

Each module writes one file of ``skpr/datasets/data/`` from a seed, reproducibly
(the same seed gives a byte-identical file), and runs as a command:
``python -m skpr.datasets.generators.<name>``. Each needs the optional extra
``reference`` (the reference methods: matscipy, tblite):
``pip install ".[reference]"``.
The loaders of :mod:`skpr.datasets` read the shipped files and do not need it.
"""
