"""A regressor on structures that trains on energy and force rows."""

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, has_fit_parameter

from skpr import BlockKernelRidge, BlockRidge
from skpr._base import RigidityRegressor
from skpr._validation import check_sample_weight
from skpr.atomistic._forces import energy_force_rows, read_virial, virial_rows
from skpr.atomistic._structures import check_structures, read_forces
from skpr.atomistic._union import (
    _parts,
    transform_gradients,
    transform_local,
    transform_strain_gradients,
)

#: What the refusals of a regressor suggest instead.
_LINEAR_REGRESSORS = (
    "Use a model linear in the features: skpr.BlockRidge(fit_intercept=False), "
    "skpr.BlockKernelRidge(kernel='linear'), or a scikit-learn linear model "
    "with coef_ and sample_weight such as Ridge(fit_intercept=False). A "
    "non-linear model of the descriptor needs the chain rule through its "
    "kernel, which EnergyForceRegressor does not do; fit one on energies alone "
    "with make_pipeline(descriptor, BlockKernelRidge(kernel='rbf'))."
)

_WHY_LINEAR = (
    "EnergyForceRegressor needs a regressor linear in the features, E = X . w: "
    "its force rows -dX/dr . w and predict_forces are the same linear function "
    "of the feature gradients, which is wrong for any other model."
)

_INTERCEPT = (
    "The regressor fits an intercept, which would be added to every force "
    "prediction. Use a regressor with fit_intercept=False, e.g. "
    "BlockRidge(fit_intercept=False), and put CompositionFeatures in the "
    "descriptor for the per-element energy offsets."
)


def _check_regressor(regressor, use_forces):
    """Refuse, before any descriptor is computed, what is known to be wrong.

    ``BlockRidge`` is linear; ``BlockKernelRidge`` is linear when every block
    has the string kernel ``"linear"``.  Other regressors are checked after
    their fit by :func:`_check_fitted_linear`.
    """
    name = type(regressor).__name__
    if isinstance(regressor, BlockKernelRidge):
        kernel = regressor.kernel
        kernels = list(kernel) if isinstance(kernel, list | tuple) else [kernel]
        other = [k for k in kernels if not (isinstance(k, str) and k == "linear")]
        if other:
            raise ValueError(
                f"{_WHY_LINEAR} BlockKernelRidge is linear only when every block "
                f"has kernel='linear'; got kernel={kernel!r}. {_LINEAR_REGRESSORS}"
            )
    elif not isinstance(regressor, BlockRidge) and not has_fit_parameter(
        regressor, "sample_weight"
    ):
        raise ValueError(
            f"{name}.fit takes no sample_weight, but the loss weights of the "
            f"energy and force rows are passed as sample_weight. "
            f"{_LINEAR_REGRESSORS}"
        )
    if use_forces and regressor.get_params().get("fit_intercept", False):
        raise ValueError(_INTERCEPT)


def _check_fitted_linear(regressor, rows, use_forces):
    """Refuse a fitted regressor whose predictions are not ``X @ coef_ + b``.

    ``BlockRidge`` and ``BlockKernelRidge`` passed :func:`_check_regressor`
    already.  Any other regressor must expose ``coef_`` (one value per
    feature) and predict ``rows @ coef_ + intercept_`` on its training rows,
    which rules out, e.g., a generalized linear model with a log link; with
    force rows its intercept must be zero.  Costs one ``predict`` of the
    training rows.
    """
    if isinstance(regressor, BlockRidge | BlockKernelRidge):
        return
    name = type(regressor).__name__
    values = np.asarray(rows, dtype=float)
    coef = getattr(regressor, "coef_", None)
    if coef is None or np.size(coef) != values.shape[1]:
        found = "no coef_" if coef is None else f"coef_ of shape {np.shape(coef)}"
        raise ValueError(
            f"{_WHY_LINEAR} {name} has {found} after fit (expected one "
            f"coefficient per feature, {values.shape[1]}), so it is not known "
            f"to be linear. {_LINEAR_REGRESSORS}"
        )
    intercept = np.ravel(getattr(regressor, "intercept_", 0.0)).astype(float)
    if intercept.size != 1:
        raise ValueError(
            f"{_WHY_LINEAR} {name} has {intercept.size} intercepts; expected "
            f"one output. {_LINEAR_REGRESSORS}"
        )
    coef = np.ravel(coef).astype(float)
    linear = values @ coef + intercept[0]
    difference = np.abs(np.ravel(regressor.predict(rows)) - linear)
    # rounding of a dot product is bounded by the sum of the absolute terms
    bound = 1e-8 * (np.abs(values) @ np.abs(coef) + abs(intercept[0]))
    if not np.all(difference <= bound + np.finfo(float).tiny):
        raise ValueError(
            f"{_WHY_LINEAR} {name}.predict differs from X @ coef_ + intercept_ "
            f"on the training rows by up to {difference.max():.3g} (a link "
            f"function, as in a generalized linear model?). {_LINEAR_REGRESSORS}"
        )
    if use_forces and intercept[0] != 0:
        raise ValueError(f"{_INTERCEPT} {name} fitted intercept_={intercept[0]:.6g}.")


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
        A model linear in the features, accepting ``sample_weight``, without
        intercept when forces are fitted: :class:`skpr.BlockRidge`,
        :class:`skpr.BlockKernelRidge` with ``kernel="linear"`` for every
        block, or a scikit-learn linear model with ``coef_`` such as
        ``Ridge(fit_intercept=False)``.  ``None`` means
        ``BlockRidge(fit_intercept=False)``.  The rigidities
        (``predict_rigidity``, ``local_rigidity``) need a skpr regressor.
    energy_weight : float, default=1.0
        :math:`\\lambda_E` (1/energy²).
    force_weight : float, default=1.0
        :math:`\\lambda_f` per force component ((length/energy)²); 0 trains on
        energies alone and skips the gradients.
    energy_weight_scaling : {None, "n_atoms", "n_atoms_squared"}, default=None
        See :func:`energy_force_rows`.
    virial_weight : float, default=0.0
        :math:`\\lambda_s` per virial component (1/energy²), paper eq. 5:
        six virial rows per periodic structure from the strain gradients of
        the descriptor (:func:`virial_rows`), with reference virials read from
        ``atoms.info["virial"]`` or the calculator's stress.  0 skips them.
    leave_out : {"structure", "row"}, default="structure"
        What the leave-one-out calibration of a skpr regressor
        (``calibration="loo"``) leaves out: a whole structure (its energy and
        force rows together, in closed form) or one row at a time.  Either
        way energies and forces get their own scale (``kinds``
        ``"energy"`` and ``"force"``).

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

    Force rows are :math:`-\\partial X / \\partial r \\cdot w` and
    :meth:`predict_forces` is :math:`-\\partial E / \\partial r` only for a
    model linear in the features, :math:`E = X \\cdot w`; ``fit`` refuses
    others (a ``BlockKernelRidge`` with a non-"linear" kernel, a regressor
    without ``coef_``, or one whose ``predict`` is not
    ``X @ coef_ + intercept_``), with or without forces.  For a non-linear
    model of energies alone use ``make_pipeline(descriptor, regressor)``.

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
        virial_weight=0.0,
        leave_out="structure",
    ):
        self.descriptor = descriptor
        self.regressor = regressor
        self.energy_weight = energy_weight
        self.force_weight = force_weight
        self.energy_weight_scaling = energy_weight_scaling
        self.virial_weight = virial_weight
        self.leave_out = leave_out

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
        if self.leave_out not in ("structure", "row"):
            raise ValueError(
                f"leave_out must be 'structure' (a structure's energy and force "
                f"rows together) or 'row', got {self.leave_out!r}."
            )
        structure_weight = check_sample_weight(sample_weight, len(structures))
        regressor = (
            BlockRidge(fit_intercept=False)
            if self.regressor is None
            else clone(self.regressor)
        )
        _check_regressor(regressor, use_forces)
        descriptor = clone(self.descriptor).fit(structures)
        if use_forces:
            _check_sum_pooling(descriptor)
        rows, targets, weights, groups, kinds = self._rows(
            descriptor, structures, y, structure_weight
        )
        if isinstance(regressor, RigidityRegressor):
            extra = {"kinds": kinds}
            if self.leave_out == "structure" and regressor.calibration == "loo":
                extra["groups"] = groups
            regressor.fit(rows, targets, sample_weight=weights, **extra)
        else:
            regressor.fit(rows, targets, sample_weight=weights)
        _check_fitted_linear(regressor, rows, use_forces)
        # fitted attributes only once everything passed
        self.descriptor_, self.regressor_ = descriptor, regressor
        self._fits_energies = y is not None
        self._columns = getattr(rows, "columns", None)
        return self

    def _rows(self, descriptor, structures, y, structure_weight, *, references=True):
        """Energy and force rows, targets, weights, structure and kind of each row.

        ``references=False``: the rows a structure would bring, without reading
        reference forces or virials (targets are zeros; ``y`` only says whether
        energy rows are there).
        """
        use_forces = self.force_weight != 0
        features = descriptor.transform(structures)
        gradients = forces = index = None
        if use_forces:
            gradients, index = transform_gradients(descriptor, structures)
            forces = (
                np.concatenate(
                    [read_forces(atoms, i) for i, atoms in enumerate(structures)]
                )
                if references
                else np.zeros((len(index), 3))
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
        parts, kinds = [], []
        if y is not None:
            parts.append(np.arange(len(structures)))
            kinds.append(np.full(len(structures), "energy"))
        if use_forces:
            parts.append(np.repeat(index, 3))
            kinds.append(np.full(3 * len(index), "force"))
        if self.virial_weight != 0:
            virials = (
                np.stack([read_virial(a, i) for i, a in enumerate(structures)])
                if references
                else np.zeros((len(structures), 3, 3))
            )
            more, more_targets, more_weights = virial_rows(
                transform_strain_gradients(descriptor, structures),
                virials,
                virial_weight=self.virial_weight * structure_weight,
                columns=getattr(features, "columns", None),
            )
            rows = _stack_rows(rows, more)
            targets = np.concatenate([targets, more_targets])
            weights = np.concatenate([weights, more_weights])
            parts.append(np.repeat(np.arange(len(structures)), 6))
            kinds.append(np.full(6 * len(structures), "virial"))
        return rows, targets, weights, np.concatenate(parts), np.concatenate(kinds)

    def _design_rows(self, structures, structure_weight):
        """Rows, loss weights and structure of each row that structures would bring."""
        structures = check_structures(structures, caller="EnergyForceRegressor")
        structure_weight = check_sample_weight(structure_weight, len(structures))
        energies = (
            np.zeros(len(structures)) if getattr(self, "_fits_energies", True) else None
        )
        rows, _, weights, groups, _ = self._rows(
            self.descriptor_, structures, energies, structure_weight, references=False
        )
        return rows, weights, groups

    def _query_rows(self, X, kind):
        """The regressor's query rows for the energies (or atoms) of structures."""
        check_is_fitted(self)
        structures = check_structures(X, caller="EnergyForceRegressor")
        if kind == "local":
            X_local, _ = transform_local(self.descriptor_, structures)
            return self._frame(X_local)
        return self.descriptor_.transform(structures)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # X is a list of ase.Atoms, not an array: scikit-learn's checks and
        # tools must not feed it (or expect) a 2-D array
        tags.input_tags.two_d_array = False
        # with force rows the energies are optional (force-only training)
        tags.target_tags.required = self.force_weight == 0
        return tags

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

    def _skpr_regressor(self, what):
        check_is_fitted(self)
        if not isinstance(self.regressor_, RigidityRegressor):
            raise ValueError(
                f"{what} needs a skpr regressor (BlockRidge or BlockKernelRidge); "
                f"this model has {type(self.regressor_).__name__}."
            )
        return self.regressor_

    def _kind(self, kind):
        """The kind's scale where the regressor has one, else all rows'."""
        scales = getattr(self.regressor_, "uncertainty_scales_", None)
        return kind if scales is not None and kind in scales else None

    def predict(self, X, return_std=False):
        """Energy of each structure, optionally with its standard deviation.

        Parameters
        ----------
        X : list of ase.Atoms
        return_std : bool, default=False
            ``sqrt(a_E / PR)`` with the scale ``a_E`` calibrated on energies
            (leave-one-structure-out at fit, or :meth:`calibrate`).

        Returns
        -------
        y_pred : ndarray of shape (n_structures,)
        y_std : ndarray of shape (n_structures,)
            Only with ``return_std=True``.
        """
        features = self._features(X)
        if not return_std:
            return self.regressor_.predict(features)
        if isinstance(self.regressor_, RigidityRegressor):
            return self.regressor_.predict(
                features, return_std=True, kind=self._kind("energy")
            )
        return self.regressor_.predict(features, return_std=True)

    def predict_forces(self, X, return_std=False, return_cov=False):
        """Forces of the model, minus the gradient of its energy.

        With ``return_std`` or ``return_cov``, their uncertainty: a force
        component is the linear functional ``g = -dX/dr`` of the model, with
        variance ``a_F g^T H^{-1} g`` (``a_F`` the scale calibrated on force
        rows); ``return_cov`` gives the 3 x 3 covariance of each atom's force.

        Parameters
        ----------
        X : list of ase.Atoms
        return_std : bool, default=False
        return_cov : bool, default=False

        Returns
        -------
        forces : ndarray of shape (n_atoms_total, 3)
            Atoms of all structures concatenated, in ase order.
        std : ndarray of shape (n_atoms_total, 3)
            Only with ``return_std=True``.
        cov : ndarray of shape (n_atoms_total, 3, 3)
            Only with ``return_cov=True``.
        """
        check_is_fitted(self)
        if return_std and return_cov:
            raise ValueError("Ask for return_std or return_cov, not both.")
        structures = check_structures(X, caller="EnergyForceRegressor")
        gradients, _ = transform_gradients(self.descriptor_, structures)
        # F = -dX/dr . w; predicting at 0 removes any intercept of the model
        rows = self._frame(np.vstack([-gradients, np.zeros(gradients.shape[1])]))
        predictions = self.regressor_.predict(rows)
        forces = (predictions[:-1] - predictions[-1]).reshape(-1, 3)
        if not (return_std or return_cov):
            return forces
        regressor = self._skpr_regressor("The uncertainty of forces")
        force_rows = regressor._validate(self._frame(-gradients))
        scale, _ = regressor._scale_and_noise(self._kind("force"))
        factor = scale / regressor.weight_scale_
        if return_std:
            quadratic = regressor._local_quadratic_form(force_rows)
            return forces, np.sqrt(factor * quadratic).reshape(-1, 3)
        covariance = np.stack(
            [
                regressor._cross_form(force_rows[3 * a : 3 * a + 3], intercept=False)
                for a in range(len(forces))
            ]
        )
        return forces, factor * covariance

    def predict_virials(self, X, return_std=False):
        """Virials of the model, ``-dE/d epsilon``, in Voigt order per structure.

        Parameters
        ----------
        X : list of ase.Atoms
            Periodic structures.
        return_std : bool, default=False
            With the scale calibrated on virial rows (``virial_weight > 0``),
            else the scale of all rows.

        Returns
        -------
        virials : ndarray of shape (n_structures, 6)
            xx, yy, zz, yz, xz, xy.
        std : ndarray of shape (n_structures, 6)
            Only with ``return_std=True``.
        """
        check_is_fitted(self)
        structures = check_structures(X, caller="EnergyForceRegressor")
        strain = transform_strain_gradients(self.descriptor_, structures)
        rows, _, _ = virial_rows(strain, np.zeros((len(structures), 3, 3)))
        frame = self._frame(np.vstack([rows, np.zeros(rows.shape[1])]))
        predictions = self.regressor_.predict(frame)
        virials = (predictions[:-1] - predictions[-1]).reshape(-1, 6)
        if not return_std:
            return virials
        regressor = self._skpr_regressor("The uncertainty of virials")
        scale, _ = regressor._scale_and_noise(self._kind("virial"))
        quadratic = regressor._local_quadratic_form(
            regressor._validate(self._frame(rows))
        )
        std = np.sqrt(scale / regressor.weight_scale_ * quadratic)
        return virials, std.reshape(-1, 6)

    def calibrate(self, X, y=None, sample_weight=None):
        """Refit the scales of energies and forces on held-out structures.

        The energy and force rows of the structures (with the loss weights
        of ``fit``) are the held-out rows of the regressor's
        :meth:`~skpr.BlockRidge.calibrate`, one scale per kind.

        Parameters
        ----------
        X : list of ase.Atoms
            With reference forces attached (when the model has force rows).
        y : array-like of shape (n_structures,) or None
            Reference energies; ``None`` calibrates forces only.
        sample_weight : array-like of shape (n_structures,), optional

        Returns
        -------
        self
        """
        regressor = self._skpr_regressor("calibrate")
        structures = check_structures(X, caller="EnergyForceRegressor")
        structure_weight = check_sample_weight(sample_weight, len(structures))
        rows, targets, weights, _, kinds = self._rows(
            self.descriptor_, structures, y, structure_weight
        )
        regressor.calibrate(rows, targets, sample_weight=weights, kinds=kinds)
        return self

    def component_rigidity(self, X, *, as_frame=False):
        """CPR of each block of the energy of each structure.

        Parameters
        ----------
        X : list of ase.Atoms
        as_frame : bool, default=False
            Return a pandas DataFrame with one column per block, named by the
            regressor's ``block_names_``.

        Returns
        -------
        ndarray or DataFrame of shape (n_structures, n_blocks)
        """
        regressor = self._skpr_regressor("component_rigidity")
        return regressor.component_rigidity(self._features(X), as_frame=as_frame)

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


def _stack_rows(top, bottom):
    """Rows under rows, as arrays or as DataFrames with the same columns."""
    if hasattr(top, "columns"):
        import pandas as pd

        return pd.concat([top, bottom], ignore_index=True)
    return np.vstack([top, bottom])
