"""Featomic calculators behind the structure transformers: dense columns.

Featomic returns a block-sparse ``TensorMap`` (one block per key such as
``(center_type, neighbor_1_type, neighbor_2_type)``). The dense layout used
here gives every column block (a key, without the central species when the
centres share columns) a fixed column range, and every value of a block a
fixed position inside that range; blocks absent from a batch stay zero, so
every batch gets the same columns in the same order, whatever elements it
contains.

Featomic calculators cannot be pickled, so the transformers keep
hyperparameters only and build a calculator inside every call.
"""

import math
from numbers import Integral, Real

import numpy as np
from ase import Atoms
from featomic import FeatomicError
from scipy import sparse
from sklearn.utils.validation import check_scalar

from skpr._extras import progress
from skpr.atomistic._base import StructureTransformer

#: Structures per featomic call.  Bounds the memory of featomic's block-sparse
#: position gradients (one ``(3, n_values)`` slab per centre-neighbour pair)
#: to that of one call, without changing any result.
STRUCTURES_PER_CALL = 64


class Layout:
    """Dense column layout of a block-sparse featomic output.

    Parameters
    ----------
    blocks : list of (tuple of int, array-like of int)
        One entry per column block, in column order: its key and the labels
        of its columns, shape (n_block_columns, n_label_dims), in order.
    """

    def __init__(self, blocks):
        self.keys = [key for key, _ in blocks]
        self.labels = [np.asarray(labels, dtype=np.int64) for _, labels in blocks]
        sizes = [len(labels) for labels in self.labels]
        starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.n_features = int(starts[-1])
        self._start = dict(zip(self.keys, starts[:-1].tolist(), strict=True))
        self._position = {
            key: {tuple(row): j for j, row in enumerate(labels.tolist())}
            for key, labels in zip(self.keys, self.labels, strict=True)
        }

    def columns(self, key, labels):
        """Column of every value of one block, given the labels of its values."""
        position = self._position[key]
        try:
            offsets = [position[tuple(row)] for row in np.asarray(labels).tolist()]
        except KeyError as error:  # pragma: no cover - a featomic layout change
            raise RuntimeError(
                f"featomic returned the label {error.args[0]} that the column "
                "layout of skpr does not know; this featomic version is not "
                "supported, please report it."
            ) from error
        return self._start[key] + np.asarray(offsets, dtype=np.int64)

    def names(self, name):
        """``name(key, labels_row)`` of every column, in column order."""
        return [
            name(key, tuple(row))
            for key, labels in zip(self.keys, self.labels, strict=True)
            for row in labels.tolist()
        ]


class FeatomicTransformer(StructureTransformer):
    """A structure transformer computed by a featomic calculator (not public).

    Subclasses implement:

    ``_calculator() -> calculator``
        A new featomic calculator (anything with ``compute(systems,
        gradients=...)`` returning a ``TensorMap``).
    ``_layout() -> Layout``
        The dense columns for the fitted ``species_``.
    ``_column_key(key) -> tuple of int or None``
        The column block of a featomic key (a dict of its dimensions), or
        ``None`` for a block that is not part of the output.
    ``_block_labels(block) -> ndarray of int, shape (n_values, n_label_dims)``
        Labels of the values of one block, flattened in C order as
        ``block.values.reshape(n_samples, -1)``; the default is the
        properties (blocks without components).
    ``_feature_name(key, labels_row) -> str``
        The name of one column.
    ``_computable_hint() -> str``
        Optional: a sentence saying which hyperparameters to change when
        featomic cannot build the calculator at fit.

    Notes
    -----
    Featomic stores one ``(3, n_values)`` position gradient per pair of a
    central atom and a neighbour within the cutoff; these are summed over
    the central atoms of each structure, :data:`STRUCTURES_PER_CALL`
    structures at a time, so the memory peak is the output plus the
    gradients of one call.
    """

    @property
    def _structures_per_call(self):
        return STRUCTURES_PER_CALL

    def _check_input(self, structures):
        name = type(self).__name__
        for i, atoms in enumerate(structures):
            pbc = np.asarray(atoms.pbc, dtype=bool)
            if pbc.any() and not pbc.all():
                raise ValueError(
                    f"{name}: structure {i} ({atoms.get_chemical_formula()}) has "
                    f"pbc={pbc.tolist()}; featomic needs the same periodicity in "
                    "all three directions. Use pbc=True with a vacuum gap along "
                    "the non-periodic direction (atoms.center(vacuum=10.0, axis=2))."
                )
            if pbc.all() and not abs(atoms.cell.volume) > 0:
                raise ValueError(
                    f"{name}: structure {i} ({atoms.get_chemical_formula()}) is "
                    f"periodic but its cell {atoms.cell.array.tolist()} has no "
                    "volume. Give three independent cell vectors, or pbc=False "
                    "for a molecule."
                )

    def _check_computable(self):
        # featomic computes the radial basis (and LODE's splines) when it
        # builds a calculator, and fails there for hyperparameters whose
        # radial integral cannot be computed; only trying finds them.
        try:
            self._calculator()
        except FeatomicError as error:
            reason = str(error).rstrip(".")
            raise ValueError(
                f"featomic cannot build {type(self).__name__} with these "
                f"hyperparameters ({self._hypers_summary()}): {reason}. "
                f"{self._computable_hint()}"
            ) from error

    def _hypers_summary(self):
        return ", ".join(
            f"{key}={value!r}"
            for key, value in self.get_params().items()
            if isinstance(value, Real) and not isinstance(value, bool)
        )

    def _computable_hint(self):
        """How to change the hyperparameters when featomic fails (a sentence)."""
        return ""

    def _block_labels(self, block):
        return block.properties.values

    def _local_features(self, structures):
        return self._compute(structures, local=True, gradients=False)[0]

    def _pooled_gradients(self, structures):
        return self._compute(structures, local=False, gradients=True)[1]

    def _feature_names(self):
        return self._layout().names(self._feature_name)

    def _pooled_strain_gradients(self, structures):
        for i, atoms in enumerate(structures):
            if not np.all(atoms.pbc):
                raise ValueError(
                    f"{type(self).__name__}: strain gradients need periodic "
                    f"structures (a cell to deform), but structure {i} "
                    f"({atoms.get_chemical_formula()}) has pbc={atoms.pbc.tolist()}."
                )
        layout = self._layout()
        counts = np.array([len(atoms) for atoms in structures])
        out = np.zeros((len(structures), 3, 3, layout.n_features))
        calculator = self._calculator()
        for start in self._calls(len(structures)):
            chunk = structures[start : start + STRUCTURES_PER_CALL]
            try:
                tensor = calculator.compute(
                    [featomic_system(atoms) for atoms in chunk], gradients=["strain"]
                )
            except FeatomicError as error:
                raise NotImplementedError(
                    f"featomic gives no strain gradients for {type(self).__name__} "
                    f"({str(error).rstrip('.')}), so it gives no virial rows; use "
                    "SoapPowerSpectrum or SphericalExpansion for them."
                ) from error
            for block, columns in self._column_blocks(tensor, layout):
                gradient = block.gradient("strain")
                if len(gradient.samples) == 0:
                    continue
                system = block.samples.values[gradient.samples.values[:, 0], 0]
                values = np.asarray(gradient.values).reshape(len(system), 3, 3, -1)
                if self.pooling == "mean":
                    values = values / counts[start + system][:, None, None, None]
                summed = np.zeros((len(structures), 3, 3, len(columns)))
                np.add.at(summed, start + system, values)
                out[..., columns] += summed
        return out

    def _compute(self, structures, *, local, gradients):
        """Per-atom rows and/or pooled position gradients.

        Returns
        -------
        X_local : ndarray of shape (n_atoms_total, n_features) or None
            Only with ``local=True``.
        pooled_gradients : ndarray of shape (n_atoms_total, 3, n_features) or None
            Only with ``gradients=True``.
        """
        layout = self._layout()
        counts = np.array([len(atoms) for atoms in structures])
        first_atom = np.concatenate([[0], np.cumsum(counts)])
        n_atoms = int(first_atom[-1])
        X_local = np.zeros((n_atoms, layout.n_features)) if local else None
        pooled = np.zeros((n_atoms, 3, layout.n_features)) if gradients else None
        calculator = self._calculator()
        for start in self._calls(len(structures)):
            # one call's TensorMap at a time: it is freed when _fill returns
            stop = start + STRUCTURES_PER_CALL
            self._fill(
                calculator,
                [featomic_system(atoms) for atoms in structures[start:stop]],
                layout,
                first_atom[start:],
                counts[start:],
                X_local,
                pooled,
            )
        return X_local, pooled

    def _calls(self, n_structures):
        """First structure of each call to featomic, behind a bar on request."""
        starts = range(0, n_structures, STRUCTURES_PER_CALL)
        enabled = bool(getattr(self, "progress", False)) and len(starts) > 1
        return progress(starts, type(self).__name__, enabled=enabled)

    def _column_blocks(self, tensor, layout):
        """The blocks of a featomic output that are columns, with their columns."""
        for key, block in tensor.items():
            column_key = self._column_key(
                dict(zip(tensor.keys.names, key.values.tolist(), strict=True))
            )
            if column_key is not None:
                yield block, layout.columns(column_key, self._block_labels(block))

    def _fill(self, calculator, chunk, layout, first_atom, counts, X_local, pooled):
        """Write one call's per-atom rows and pooled gradients into the outputs."""
        tensor = calculator.compute(
            chunk, gradients=None if pooled is None else ["positions"]
        )
        # featomic numbers the systems of each call from 0
        offsets = first_atom[: len(chunk)]
        for block, columns in self._column_blocks(tensor, layout):
            if X_local is not None:
                samples = block.samples.values
                rows = offsets[samples[:, 0]] + samples[:, 1]
                values = np.asarray(block.values).reshape(len(rows), -1)
                X_local[rows[:, None], columns] = values
            if pooled is not None:
                _add_pooled_gradient(
                    pooled,
                    block.gradient("positions"),
                    columns,
                    offsets,
                    counts[: len(chunk)],
                    mean=self.pooling == "mean",
                )


def featomic_system(atoms):
    """The structure featomic is given: ``atoms``, or an equivalent copy.

    A periodic cell with a negative determinant (left-handed, which ASE
    allows) makes featomic find no k-vectors for LODE; the negated cell
    ``-cell`` spans the same lattice, so the periodic structure and every
    feature are unchanged.  The caller's ``Atoms`` is never modified.
    """
    if np.all(atoms.pbc) and np.linalg.det(atoms.cell.array) < 0:
        return Atoms(
            numbers=atoms.numbers,
            positions=atoms.positions,
            cell=-atoms.cell.array,
            pbc=True,
        )
    return atoms


def _add_pooled_gradient(pooled, gradient, columns, offsets, counts, *, mean):
    """Sum one block's gradients over the central atoms of each structure.

    ``pooled[a, k, columns] += sum_i d x_i / d r_{a,k}`` over the centres
    ``i`` of the structure of atom ``a`` (divided by its atom count when
    ``mean``), by one sparse-dense product.
    """
    n_pairs = len(gradient.samples)
    if n_pairs == 0:
        return
    pair_samples = gradient.samples.values
    system = pair_samples[:, 1]
    targets = offsets[system] + pair_samples[:, 2]
    weights = 1.0 / counts[system] if mean else np.ones(n_pairs)
    summation = sparse.csr_array(
        (weights, (targets, np.arange(n_pairs))), shape=(pooled.shape[0], n_pairs)
    )
    values = np.asarray(gradient.values).reshape(n_pairs, -1)
    pooled[:, :, columns] += (summation @ values).reshape(
        pooled.shape[0], 3, len(columns)
    )


def check_integer(value, name, *, min_val=0, max_val=None):
    """``value`` is an integer in ``[min_val, max_val]`` (check_scalar's errors)."""
    check_scalar(value, name, Integral, min_val=min_val, max_val=max_val)


def check_real(value, name, *, min_val=0.0, include_min=False):
    """``value`` is a finite real number above ``min_val`` (or equal to it).

    ``check_scalar`` lets NaN through (every comparison with NaN is false) and
    accepts infinity; featomic rejects both with a JSON error, or (a NaN
    ``cutoff_width``) silently uses a hard cutoff.
    """
    check_scalar(
        value,
        name,
        Real,
        min_val=min_val,
        include_boundaries="left" if include_min else "neither",
    )
    if not math.isfinite(value):
        raise ValueError(
            f"{name} must be a finite number, got {value!r}. Give a finite value, "
            "such as the default."
        )
