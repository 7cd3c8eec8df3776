"""Atom counts per element: the per-element offsets of extensive energies."""

import numpy as np

from skpr.atomistic._base import StructureTransformer
from skpr.atomistic._structures import symbols


class CompositionFeatures(StructureTransformer):
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
    :meth:`transform_local` gives the one-hot element of each atom and
    :meth:`transform_gradients` zeros.  Cost ``O(n_atoms)``.

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

    def _local_features(self, structures):
        numbers = np.concatenate([atoms.numbers for atoms in structures])
        return (numbers[:, None] == self.species_[None, :]).astype(float)

    def _pooled_gradients(self, structures):
        n_atoms = sum(len(atoms) for atoms in structures)
        return np.zeros((n_atoms, 3, self.species_.size))

    def _pooled_strain_gradients(self, structures):
        # atom counts do not change under a strain
        return np.zeros((len(structures), 3, 3, len(self.species_)))

    def _feature_names(self):
        return symbols(self.species_)
