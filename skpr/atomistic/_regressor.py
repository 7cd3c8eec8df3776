"""A regressor on structures that trains on energy and force rows."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from skpr import BlockRidge
from skpr._validation import check_sample_weight
from skpr.atomistic._forces import energy_force_rows
from skpr.atomistic._structures import check_structures, read_forces
from skpr.atomistic._union import _parts, transform_gradients, transform_local


def _check_sum_pooling(descriptor):
    for transformer, _ in _parts(descriptor, "transform_gradients"):
        pooling = transformer.get_params().get("pooling", "sum")
        if pooling != "sum":
            raise ValueError(
                f"Force rows need extensive energies, E = sum of atomic "
                f"contributions, but {type(transformer).__name__} has "
                f"pooling={pooling!r}. Use pooling='sum' with forces, or "
                "force_weight=0 to train on energies alone."
            )


class EnergyForceRegressor(RegressorMixin, BaseEstimator):
    """Fit energies and forces of structures; one sample is one structure.

    ``fit(structures, energies)`` computes the descriptor, its position
    gradients and the reference forces stored on each ``ase.Atoms``, stacks
    energy rows and force rows with :func:`energy_force_rows`, and fits the
    regressor on them with the loss weights as ``sample_weight``.  Everything
    else (``predict``, ``score``, cross-validation splits) sees one sample per
    structure, so ``GridSearchCV(model, {"regressor__alpha": [...]})`` splits
    by structure and scores energies.

    Parameters
    ----------
    descriptor : transformer
        A structure transformer of :mod:`skpr.atomistic` with ``pooling="sum"``
        or a ``FeatureUnion`` of them, e.g. ``make_union(SoapPowerSpectrum(),
        CompositionFeatures())``.  With ``set_output(transform="pandas")`` the
        regressor sees column names (for ``BlockRidge(blocks="names")``).
    regressor : regressor, default=None
        A linear model accepting ``sample_weight``, without intercept when
        forces are fitted.  ``None`` means ``BlockRidge(fit_intercept=False)``.
    energy_weight : float, default=1.0
        :math:`\\lambda_E` (1/energy²).
    force_weight : float, default=1.0
        :math:`\\lambda_f` per force component ((length/energy)²); 0 trains on
        energies alone and skips the gradients.
    energy_weight_scaling : {None, "n_atoms", "n_atoms_squared"}, default=None
        See :func:`energy_force_rows`.

    Attributes
    ----------
    descriptor_ : transformer
        The fitted clone of ``descriptor``.
    regressor_ : regressor
        The fitted clone of ``regressor``, fitted on the stacked rows.

    Notes
    -----
    Reference forces are read from each structure: the calculator result
    ``forces`` (``atoms.get_forces()`` of an extended-XYZ file), else the
    per-atom array ``"forces"`` or ``"force"``.  ``y=None`` trains on forces
    alone; the energy is then known only up to a constant per element, and
    ``score`` needs energies.

    Cost: the descriptor gradients (see
    :meth:`SoapPowerSpectrum.transform_gradients`) plus the regressor's fit on
    ``n_structures + 3 n_atoms`` rows.

    Examples
    --------
    >>> import numpy as np
    >>> from ase.build import molecule
    >>> from sklearn.pipeline import make_union
    >>> from skpr import BlockRidge
    >>> from skpr.atomistic import (CompositionFeatures, EnergyForceRegressor,
    ...                             SoapPowerSpectrum)
    >>> rng = np.random.default_rng(0)
    >>> structures = []
    >>> for _ in range(6):
    ...     atoms = molecule("H2O")
    ...     atoms.rattle(0.05, seed=int(rng.integers(1000)))
    ...     atoms.arrays["forces"] = rng.normal(size=(3, 3))
    ...     structures.append(atoms)
    >>> model = EnergyForceRegressor(
    ...     make_union(SoapPowerSpectrum(cutoff=3.0, max_radial=2, max_angular=2),
    ...                CompositionFeatures()),
    ...     BlockRidge(alpha=1e-3, fit_intercept=False),
    ...     force_weight=0.1,
    ... ).fit(structures, rng.normal(size=6))
    >>> model.predict(structures[:2]).shape, model.predict_forces(structures[:2]).shape
    ((2,), (6, 3))
    """

    def __init__(
        self,
        descriptor,
        regressor=None,
        *,
        energy_weight=1.0,
        force_weight=1.0,
        energy_weight_scaling=None,
    ):
        self.descriptor = descriptor
        self.regressor = regressor
        self.energy_weight = energy_weight
        self.force_weight = force_weight
        self.energy_weight_scaling = energy_weight_scaling

    def fit(self, X, y=None, sample_weight=None):
        """Fit on the energy and force rows of the structures.

        Parameters
        ----------
        X : list of ase.Atoms
            Training structures, with reference forces attached.
        y : array-like of shape (n_structures,) or None
            Reference energies; ``None`` trains on forces alone.
        sample_weight : array-like of shape (n_structures,), optional
            Weight of each structure; multiplies its energy and force weights.

        Returns
        -------
        self
        """
        structures = check_structures(X, caller="EnergyForceRegressor")
        use_forces = self.force_weight != 0
        if y is None and not use_forces:
            raise ValueError(
                "Nothing to fit: y (energies) is None and force_weight=0. Give "
                "energies, or a positive force_weight to train on forces."
            )
        structure_weight = check_sample_weight(sample_weight, len(structures))
        self.regressor_ = (
            BlockRidge(fit_intercept=False)
            if self.regressor is None
            else clone(self.regressor)
        )
        if use_forces and self.regressor_.get_params().get("fit_intercept", False):
            raise ValueError(
                "The regressor fits an intercept, which would be added to every "
                "force prediction. Use a regressor with fit_intercept=False, e.g. "
                "BlockRidge(fit_intercept=False), and put CompositionFeatures in "
                "the descriptor for the per-element energy offsets."
            )
        self.descriptor_ = clone(self.descriptor).fit(structures)
        if use_forces:
            _check_sum_pooling(self.descriptor_)
        features = self.descriptor_.transform(structures)
        self._columns = getattr(features, "columns", None)
        gradients = forces = index = None
        if use_forces:
            gradients, index = transform_gradients(self.descriptor_, structures)
            forces = np.concatenate(
                [read_forces(atoms, i) for i, atoms in enumerate(structures)]
            )
        rows, targets, weights = energy_force_rows(
            features,
            gradients,
            y,
            forces,
            structure_index=index,
            energy_weight=self.energy_weight * structure_weight,
            force_weight=self.force_weight * structure_weight,
            energy_weight_scaling=self.energy_weight_scaling,
        )
        self.regressor_.fit(rows, targets, sample_weight=weights)
        return self

    def _frame(self, rows):
        if self._columns is None:
            return rows
        import pandas as pd  # the descriptor returned a DataFrame in fit

        return pd.DataFrame(rows, columns=self._columns)

    def _features(self, X):
        check_is_fitted(self)
        return self.descriptor_.transform(
            check_structures(X, caller="EnergyForceRegressor")
        )

    def predict(self, X, return_std=False):
        """Energy of each structure, optionally with its standard deviation.

        Parameters
        ----------
        X : list of ase.Atoms
        return_std : bool, default=False
            Forwarded to the regressor (``BlockRidge``: ``sqrt(scale / PR)``).

        Returns
        -------
        y_pred : ndarray of shape (n_structures,)
        y_std : ndarray of shape (n_structures,)
            Only with ``return_std=True``.
        """
        features = self._features(X)
        if return_std:
            return self.regressor_.predict(features, return_std=True)
        return self.regressor_.predict(features)

    def predict_forces(self, X):
        """Forces of the model, minus the gradient of its energy.

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_atoms_total, 3)
            Atoms of all structures concatenated, in ase order.
        """
        check_is_fitted(self)
        structures = check_structures(X, caller="EnergyForceRegressor")
        gradients, _ = transform_gradients(self.descriptor_, structures)
        # F = -dX/dr . w; predicting at 0 removes any intercept of the model
        rows = self._frame(np.vstack([-gradients, np.zeros(gradients.shape[1])]))
        predictions = self.regressor_.predict(rows)
        return (predictions[:-1] - predictions[-1]).reshape(-1, 3)

    def predict_rigidity(self, X):
        """PR of the energy of each structure (with both kinds of training rows).

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_structures,)
        """
        return self.regressor_.predict_rigidity(self._features(X))

    def local_rigidity(self, X):
        """LPR of every atom, in ase order, structures concatenated.

        Parameters
        ----------
        X : list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_atoms_total,)
        """
        check_is_fitted(self)
        structures = check_structures(X, caller="EnergyForceRegressor")
        X_local, _ = transform_local(self.descriptor_, structures)
        return self.regressor_.local_rigidity(self._frame(X_local))
