"""The base class of every structure transformer of :mod:`skpr.atomistic`.

A structure transformer takes a list of ``ase.Atoms`` (one sample per
structure), learns nothing at ``fit`` but the species list (which fixes the
columns), and offers three views of the same per-atom features ``x_i``:

- ``transform``: one pooled row per structure, the sum (or mean) of ``x_i``;
- ``transform_local``: the rows ``x_i`` themselves with their
  ``structure_index`` (for the LPR);
- ``transform_gradients``: the position gradients of the pooled rows (for
  force rows).

Subclasses compute; this class validates, pools and shapes.
"""

import copy

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skpr import pool_structures
from skpr._extras import progress
from skpr.atomistic._structures import (
    check_known_species,
    check_structures,
    learn_species,
    structure_index,
)


class StructureTransformer(TransformerMixin, BaseEstimator):
    """Shared machinery of the transformers on lists of structures (not public).

    Subclasses store their parameters in ``__init__`` (including ``species``
    and ``pooling``) and implement these hooks:

    ``_check_params() -> None``
        Raise for invalid parameters (called at fit and transform).
    ``_check_input(structures) -> None``
        Raise for structures the transformer cannot handle (at fit and
        transform); the default accepts every structure that passed
        :func:`check_structures`.
    ``_check_computable() -> None``
        Raise a ``ValueError`` if the parameters cannot be computed with,
        found only by trying (called once at fit); the default does nothing.
    ``_local_features(structures) -> ndarray (n_atoms_total, n_features)``
        Per-atom rows, structures concatenated, atoms in ase order.
    ``_pooled_gradients(structures) -> ndarray (n_atoms_total, 3, n_features)``
        ``[a, k]`` is the derivative of the pooled row of atom ``a``'s
        structure (with ``self.pooling``) with respect to its coordinate ``k``.
    ``_feature_names() -> list of str``
        One name per column, from the fitted ``species_``.
    """

    #: Structures computed together (per featomic call, see
    #: :mod:`skpr.atomistic._featomic`); parallel parts are whole multiples of
    #: it, so that every call, and every number, is that of a serial run.
    _structures_per_call = 1

    def _check_params(self):
        n_jobs = getattr(self, "n_jobs", None)
        if n_jobs is not None and (
            isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0
        ):
            raise ValueError(
                f"n_jobs must be None, a positive integer, or a negative one (-1: "
                f"all cores), as in scikit-learn; got {n_jobs!r}."
            )
        if self.pooling not in ("sum", "mean"):
            raise ValueError(
                f"pooling must be 'sum' (extensive targets such as total energies) "
                f"or 'mean' (intensive targets), got {self.pooling!r}."
            )

    def _check_input(self, structures):
        pass

    def _check_computable(self):
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of ase.Atoms, not a 2-D array: scikit-learn's estimator
        # checks (which feed arrays) skip these transformers.
        tags.input_tags.two_d_array = False
        return tags

    def fit(self, X, y=None):
        """Fix the species list (the columns); no other state is learned.

        Parameters
        ----------
        X : list of ase.Atoms
            Training structures.
        y : None
            Ignored.

        Returns
        -------
        self
        """
        name = type(self).__name__
        structures = check_structures(X, caller=name)
        self._check_params()
        self._check_input(structures)
        self._check_computable()
        self.species_ = learn_species(structures, self.species, caller=name)
        return self

    def _validated(self, X):
        check_is_fitted(self)
        name = type(self).__name__
        structures = check_structures(X, caller=name)
        self._check_params()
        self._check_input(structures)
        check_known_species(structures, self.species_, caller=name)
        return structures

    def transform(self, X):
        """Pooled features of each structure.

        .. math:: X_A = \\sum_{i \\in A} x_i \\quad\\text{or}\\quad
                  \\frac{1}{n_A} \\sum_{i \\in A} x_i

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_structures, n_features)
        """
        structures = self._validated(X)
        return pool_structures(
            self._computed("_local_features", structures),
            structure_index(structures),
            pooling=self.pooling,
            n_structures=len(structures),
        )

    def transform_local(self, X):
        """Per-atom features and the structure of each atom.

        Pass the rows to :meth:`skpr.BlockRidge.local_rigidity` for the LPR of
        every atom of a model fitted on :meth:`transform`;
        ``skpr.pool_structures(X_local, structure_index, pooling=pooling)``
        equals ``transform(X)``.

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        X_local : ndarray of shape (n_atoms_total, n_features)
            One row per atom, structures concatenated, atoms in ase order.
        structure_index : ndarray of int64, shape (n_atoms_total,)
        """
        structures = self._validated(X)
        return (
            self._computed("_local_features", structures),
            structure_index(structures),
        )

    def transform_gradients(self, X):
        """Gradients of the pooled features with respect to atomic positions.

        Row ``3 a + k`` holds :math:`\\partial X_A / \\partial r_{a,k}`, the
        derivative of the pooled row of the structure ``A`` that atom ``a``
        (counted over all structures, in ase order) belongs to, with respect
        to its Cartesian coordinate ``k`` (x, y, z).  Minus these rows are the
        force rows of :func:`energy_force_rows`: a model ``E = X_A . w``
        predicts the force :math:`F_{a,k} = -\\partial X_A / \\partial r_{a,k}
        \\cdot w`.

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        gradients : ndarray of shape (3 * n_atoms_total, n_features)
            In units of features per Å; ``gradients.reshape(n_atoms_total, 3,
            n_features)`` separates atoms and directions.
        structure_index : ndarray of int64, shape (n_atoms_total,)
            The structure of each atom.
        """
        structures = self._validated(X)
        gradients = self._computed("_pooled_gradients", structures)
        return gradients.reshape(-1, gradients.shape[-1]), structure_index(structures)

    def transform_strain_gradients(self, X):
        r"""Derivatives of the pooled features with respect to a strain of the cell.

        ``[A, i, j]`` is :math:`\partial X_A / \partial \epsilon_{ij}` for
        the homogeneous deformation ``r -> (1 + epsilon) r`` of the cell and
        the atoms of periodic structure ``A``.  Minus these are the virial
        rows of :func:`virial_rows`: a model ``E = X . w`` predicts the virial
        :math:`W = -\partial E / \partial \epsilon`.

        Parameters
        ----------
        X : list of ase.Atoms
            Periodic structures.

        Returns
        -------
        ndarray of shape (n_structures, 3, 3, n_features)
        """
        structures = self._validated(X)
        return self._computed("_pooled_strain_gradients", structures)

    def _computed(self, hook, structures):
        """``getattr(self, hook)(structures)``, over parts in parallel with n_jobs.

        The parts are consecutive runs of whole featomic calls, computed by
        joblib (processes by default; ``joblib.parallel_config(backend="dask")``
        sends them to a dask cluster) on copies of this transformer, which
        holds hyperparameters only, and concatenated in order: the result is
        that of the serial computation, to the last bit.
        """
        per_call = self._structures_per_call
        n_calls = -(-len(structures) // per_call)
        n_jobs = getattr(self, "n_jobs", None)
        n_workers = effective_n_jobs(n_jobs)  # honours joblib.parallel_config
        if n_workers == 1 or n_calls < 2:
            return getattr(self, hook)(structures)
        # a few parts per worker, for balance; each a run of whole calls
        n_parts = min(n_calls, 4 * n_workers)
        bounds = np.linspace(0, n_calls, n_parts + 1).round().astype(int) * per_call
        serial = copy.copy(self)
        serial.n_jobs, serial.progress = None, False
        parts = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(getattr(serial, hook))(structures[start:stop])
            for start, stop in zip(bounds[:-1], bounds[1:], strict=True)
        )
        enabled = bool(getattr(self, "progress", False))
        return np.concatenate(
            list(progress(parts, type(self).__name__, enabled=enabled, total=n_parts))
        )

    def _pooled_strain_gradients(self, structures):
        raise NotImplementedError(
            f"{type(self).__name__} has no strain gradients, so it gives no virial "
            "rows; use SoapPowerSpectrum or SphericalExpansion (with "
            "CompositionFeatures) for them."
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns, fixed by the species list.

        Parameters
        ----------
        input_features : None
            Ignored (the input is structures, not columns).

        Returns
        -------
        ndarray of str, shape (n_features,)
        """
        check_is_fitted(self)
        return np.asarray(self._feature_names(), dtype=object)
