"""Atom counts per element: the per-element offsets of extensive energies."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from skpr import pool_structures
from skpr.atomistic._structures import (
    check_known_species,
    check_structures,
    learn_species,
    structure_index,
    symbols,
)


class CompositionFeatures(TransformerMixin, BaseEstimator):
    """Number of atoms of each element in each structure.

    A linear model on these columns is a sum of one energy per element, the
    usual replacement of the intercept for total energies: an intercept adds
    the same constant to a molecule of 3 atoms and one of 30, these columns
    add one constant per atom.  Their position gradients are zero, so with
    force rows (:func:`energy_force_rows`) they are fixed by the energy rows
    alone, and unlike an intercept they do not shift force predictions.

    Use it as a block of a :class:`sklearn.pipeline.FeatureUnion` next to a
    descriptor; with ``BlockRidge(blocks="names")`` it gets its own ``alpha``
    (a small one leaves the per-element energies nearly unregularized).

    Parameters
    ----------
    species : None or list of str or int, default=None
        Elements that get a column; ``None`` learns them at fit.  A structure
        with another element is refused at transform.
    pooling : {"sum", "mean"}, default="sum"
        ``"sum"``: counts; ``"mean"``: fractions (match the pooling of the
        descriptor it is combined with).

    Attributes
    ----------
    species_ : ndarray of int64, shape (n_species,)
        Sorted atomic numbers that have a column.

    Notes
    -----
    Cost ``O(n_atoms)``.

    Examples
    --------
    >>> from ase.build import molecule
    >>> from skpr.atomistic import CompositionFeatures
    >>> composition = CompositionFeatures().fit([molecule("CH3OH"), molecule("H2O")])
    >>> composition.get_feature_names_out().tolist()
    ['H', 'C', 'O']
    >>> composition.transform([molecule("CH3OH")])
    array([[4., 1., 1.]])
    """

    def __init__(self, *, species=None, pooling="sum"):
        self.species = species
        self.pooling = pooling

    def _check_params(self):
        if self.pooling not in ("sum", "mean"):
            raise ValueError(
                f"pooling must be 'sum' (counts) or 'mean' (fractions), got "
                f"{self.pooling!r}."
            )

    def fit(self, X, y=None):
        """Fix the species list.

        Parameters
        ----------
        X : list of ase.Atoms
        y : None
            Ignored.

        Returns
        -------
        self
        """
        structures = check_structures(X, caller="CompositionFeatures")
        self._check_params()
        self.species_ = learn_species(
            structures, self.species, caller="CompositionFeatures"
        )
        return self

    def _validated(self, X):
        check_is_fitted(self)
        self._check_params()
        structures = check_structures(X, caller="CompositionFeatures")
        check_known_species(structures, self.species_, caller="CompositionFeatures")
        return structures

    def transform(self, X):
        """Counts (or fractions) of each element.

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_structures, n_species)
        """
        X_local, index = self.transform_local(X)
        return pool_structures(
            X_local, index, pooling=self.pooling, n_structures=len(X)
        )

    def transform_local(self, X):
        """One-hot element of each atom, and the structure of each atom.

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        X_local : ndarray of shape (n_atoms_total, n_species)
        structure_index : ndarray of int64, shape (n_atoms_total,)
        """
        structures = self._validated(X)
        numbers = np.concatenate([atoms.numbers for atoms in structures])
        X_local = (numbers[:, None] == self.species_[None, :]).astype(float)
        return X_local, structure_index(structures)

    def transform_gradients(self, X):
        """Position gradients of the counts: zeros.

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        gradients : ndarray of shape (3 * n_atoms_total, n_species)
        structure_index : ndarray of int64, shape (n_atoms_total,)
        """
        structures = self._validated(X)
        index = structure_index(structures)
        return np.zeros((3 * index.size, self.species_.size)), index

    def get_feature_names_out(self, input_features=None):
        """Chemical symbol of each column.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        ndarray of str, shape (n_species,)
        """
        check_is_fitted(self)
        return np.asarray(symbols(self.species_), dtype=object)
