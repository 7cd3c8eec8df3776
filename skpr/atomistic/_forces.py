"""Training rows for energies and forces (paper eqs. 4-6)."""

from numbers import Real

import numpy as np

from skpr._validation import check_structure_index

_SCALINGS = (None, "n_atoms", "n_atoms_squared")


def _as_2d(array, name, n_features=None):
    values = np.asarray(array, dtype=float)
    if values.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (rows x features), got shape {values.shape}."
        )
    if n_features is not None and values.shape[1] != n_features:
        raise ValueError(
            f"{name} has {values.shape[1]} columns but features has {n_features}; "
            "both must come from the same fitted descriptor."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return values


def _check_energies(energies, n_structures):
    """Energies as a new float array of shape (n_structures,), all finite."""
    values = np.array(energies, dtype=float)  # a copy, never a view
    if values.shape != (n_structures,):
        raise ValueError(
            f"energies must have one value per structure, shape "
            f"({n_structures},); got shape {values.shape}."
        )
    missing = np.flatnonzero(~np.isfinite(values))
    if missing.size:
        raise ValueError(
            f"energies contain NaN or infinity for {missing.size} structures "
            f"(first: {missing[:10].tolist()}); every energy is a training "
            "target. Remove those structures, or pass energies=None to train on "
            "forces alone."
        )
    return values


def _check_forces(forces, index):
    """Forces as a new flat float array, atom by atom (x, y, z), all finite.

    Accepts shape (n_atoms_total, 3) or (3 * n_atoms_total,); with exactly
    three atoms a (3, 3) array is read as (n_atoms_total, 3).
    """
    n_atoms = index.size
    try:
        values = np.array(forces, dtype=float)  # a copy, never a view
    except ValueError as error:  # a ragged list of per-structure arrays
        raise ValueError(
            f"forces must be one array of shape ({n_atoms}, 3), the atoms of all "
            f"structures concatenated; got a sequence that is not one array "
            f"({error}). Concatenate per-structure forces with "
            "np.concatenate(forces)."
        ) from error
    if values.shape not in ((n_atoms, 3), (3 * n_atoms,)):
        hint = ""
        if values.shape == (3, n_atoms):
            hint = (
                " It looks transposed, one row per direction: pass forces.T "
                "(shape (n_atoms_total, 3))."
            )
        elif values.ndim == 3 and values.shape[0] * values.shape[1] == n_atoms:
            hint = (
                " It looks like one (n_structures, n_atoms, 3) stack: pass "
                "np.concatenate(forces)."
            )
        raise ValueError(
            f"forces must hold 3 components per atom ({n_atoms} atoms in "
            f"structure_index): shape ({n_atoms}, 3), or ({3 * n_atoms},) flat "
            f"atom by atom (x, y, z); got shape {values.shape}.{hint}"
        )
    values = values.reshape(-1)
    bad = np.flatnonzero(~np.isfinite(values.reshape(n_atoms, 3)).all(axis=1))
    if bad.size:
        structures = np.unique(index[bad])
        raise ValueError(
            f"forces contain NaN or infinity on {bad.size} atoms of structures "
            f"{structures[:10].tolist()}; every force component is a training "
            "target. Remove those structures, or pass forces=None to train on "
            "energies alone."
        )
    return values


def _per_structure(weight, name, n_structures):
    """A weight given as a scalar or one value per structure, checked."""
    if isinstance(weight, Real):
        values = np.full(n_structures, float(weight))
    else:
        values = np.array(weight, dtype=float)
        if values.shape != (n_structures,):
            raise ValueError(
                f"{name} must be a float or one value per structure, shape "
                f"({n_structures},); got shape {values.shape}."
            )
    if not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(
            f"{name} must be finite and non-negative (it is a loss weight); got "
            f"values from {values.min():g} to {values.max():g}."
        )
    return values


def energy_force_rows(
    features,
    gradients,
    energies,
    forces,
    *,
    structure_index=None,
    energy_weight=1.0,
    force_weight=1.0,
    energy_weight_scaling=None,
):
    """Stack energy rows and force rows, with targets and loss weights.

    For a model linear in the pooled features, :math:`E_A = X_A \\cdot w`,
    the loss of paper eqs. 4-5

    .. math:: L(w) = \\tfrac12 \\sum_A \\lambda_{E,A} (E_A - X_A \\cdot w)^2
              + \\tfrac12 \\sum_{a,k} \\lambda_{f,A(a)} (F_{a,k} + \\partial_{a,k}
              X_{A(a)} \\cdot w)^2 + \\tfrac12 \\alpha \\lVert w \\rVert^2

    is an ordinary weighted least-squares loss on the stacked rows

    .. math:: \\begin{bmatrix} X \\\\ -\\partial X \\end{bmatrix} w
              \\approx \\begin{bmatrix} E \\\\ F \\end{bmatrix}, \\qquad
              s = \\begin{bmatrix} \\lambda_E \\\\ \\lambda_f \\end{bmatrix},

    so ``BlockRidge(fit_intercept=False).fit(X, y, sample_weight=s)`` fits
    energies and forces together, and its Hessian is eq. 6 exactly (the model
    is linear): every PR, LPR and CPR it returns accounts for both kinds of
    rows.

    Parameters
    ----------
    features : array-like of shape (n_structures, n_features) or None
        Pooled (summed) features of each structure, e.g. from
        ``descriptor.transform(structures)``.  Needed with ``energies``; when
        given without them (force-only training) only its columns are used.
        A pandas DataFrame keeps its column names in the returned ``X``.
    gradients : array-like of shape (3 * n_atoms_total, n_features) or None
        Position gradients of the pooled features, row ``3 a + k`` for atom
        ``a`` (all structures concatenated) and direction ``k``, e.g. from
        :func:`transform_gradients`.  Needed with ``forces``.
    energies : array-like of shape (n_structures,) or None
        Reference energies, finite; ``None`` for force-only training (force
        matching of coarse-grained models, paper section 6).
    forces : array-like of shape (n_atoms_total, 3) or (3 * n_atoms_total,) or None
        Reference forces in the atom order of ``gradients``, finite: one row
        per atom (all structures concatenated, e.g.
        ``np.concatenate(per_structure_forces)``), or the same flattened atom
        by atom (x, y, z).  A transposed ``(3, n_atoms_total)`` array is
        refused (with exactly three atoms a ``(3, 3)`` array is read as one
        row per atom).  ``None`` for energy-only training.
    structure_index : array-like of int, shape (n_atoms_total,), optional
        The structure of each atom.  Needed with ``forces`` or
        ``energy_weight_scaling``.
    energy_weight : float or array-like of shape (n_structures,), default=1.0
        :math:`\\lambda_E` of each structure, in 1/energy².
    force_weight : float or array-like of shape (n_structures,), default=1.0
        :math:`\\lambda_f` of each structure, applied to each of its force
        components, in (length/energy)².
    energy_weight_scaling : {None, "n_atoms", "n_atoms_squared"}, default=None
        Divide each structure's energy weight by its atom count ``n_A``.
        ``None`` is eq. 5 as written.  ``"n_atoms"`` treats the error of a
        total energy as a sum of ``n_A`` independent atomic errors (variance
        ``n_A sigma_E^2``, GAP's convention), so that large structures do not
        dominate.  ``"n_atoms_squared"`` is the squared error of the energy per
        atom.  Force weights are never scaled: each component is already one
        atomic observation.

    Returns
    -------
    X : ndarray or DataFrame of shape (n_rows, n_features)
        Energy rows first (one per structure, if ``energies`` is given), then
        force rows ``-gradients`` (three per atom, if ``forces`` is given).
    y : ndarray of shape (n_rows,)
        Energies, then forces flattened atom by atom (x, y, z).
    sample_weight : ndarray of shape (n_rows,)

    Raises
    ------
    ValueError
        If an input has the wrong shape (e.g. transposed forces), if
        ``energies``, ``forces``, ``features`` or ``gradients`` hold NaN or
        infinity, or if a weight is negative.

    Notes
    -----
    Fit these rows **without an intercept** (``fit_intercept=False``): an
    intercept would be added to every force prediction too.  The per-element
    energy offsets come from :class:`CompositionFeatures` columns, whose
    gradients are zero.  For ``pooling="mean"`` descriptors the energy rows
    describe the energy per atom and these force rows would need a factor
    ``n_A``; use ``pooling="sum"`` with forces.

    The rows are dense: ``8 (n_structures + 3 n_atoms_total) n_features``
    bytes.  By default the closed-form leave-one-out calibration of
    ``BlockRidge`` leaves out one row at a time and fits one scale for all
    rows; pass ``groups=`` (each structure's energy and force rows together)
    and ``kinds=`` (``"energy"`` / ``"force"``) to ``fit`` to leave out whole
    structures and calibrate energies and forces apart, as
    :class:`EnergyForceRegressor` does.

    References
    ----------
    S. Chong et al., "Prediction rigidities for data-driven chemistry",
    Faraday Discuss. (2024), doi:10.1039/d4fd00101j, eqs. 4-6.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr.atomistic import energy_force_rows
    >>> features = np.array([[2.0, 1.0], [3.0, 0.5]])      # 2 structures
    >>> gradients = np.arange(30.0).reshape(15, 2) / 10    # 2 + 3 atoms
    >>> X, y, sample_weight = energy_force_rows(
    ...     features, gradients, [1.0, 2.0], np.zeros((5, 3)),
    ...     structure_index=[0, 0, 1, 1, 1], force_weight=0.1)
    >>> X.shape, y.shape
    ((17, 2), (17,))
    >>> sample_weight[:4]
    array([1. , 1. , 0.1, 0.1])
    """
    if energies is None and forces is None:
        raise ValueError(
            "energy_force_rows needs energies, forces or both; got neither."
        )
    if energy_weight_scaling not in _SCALINGS:
        raise ValueError(
            f"energy_weight_scaling must be None, 'n_atoms' or 'n_atoms_squared', "
            f"got {energy_weight_scaling!r}."
        )
    columns = getattr(features, "columns", None)
    if features is not None:
        features = _as_2d(features, "features")
    n_features = None if features is None else features.shape[1]
    if gradients is not None:
        gradients = _as_2d(gradients, "gradients", n_features)
        n_features = gradients.shape[1]

    n_structures = None
    if features is not None:
        n_structures = features.shape[0]
    elif energies is not None:
        raise ValueError(
            "energies were given without features; energy rows are the pooled "
            "features of each structure (descriptor.transform(structures))."
        )
    index = None
    if forces is not None or energy_weight_scaling is not None:
        if structure_index is None:
            raise ValueError(
                "structure_index (the structure of each atom, shape "
                "(n_atoms_total,)) is needed with forces or energy_weight_scaling; "
                "transform_gradients returns it."
            )
        index, n_structures = check_structure_index(
            structure_index, np.shape(structure_index)[0], n_structures
        )
    n_atoms = None if index is None else np.bincount(index, minlength=n_structures)

    X_parts, y_parts, weight_parts = [], [], []
    if energies is not None:
        energies = _check_energies(energies, n_structures)
        weights = _per_structure(energy_weight, "energy_weight", n_structures)
        if energy_weight_scaling is not None:
            if np.any(n_atoms == 0):
                raise ValueError(
                    "energy_weight_scaling divides by the atom count, but "
                    f"structures {np.flatnonzero(n_atoms == 0)[:10].tolist()} have "
                    "no atom in structure_index."
                )
            power = 1 if energy_weight_scaling == "n_atoms" else 2
            weights = weights / n_atoms.astype(float) ** power
        X_parts.append(features)
        y_parts.append(energies)
        weight_parts.append(weights)
    if forces is not None:
        if gradients is None:
            raise ValueError(
                "forces were given without gradients; force rows are minus the "
                "position gradients of the pooled features (transform_gradients)."
            )
        if gradients.shape[0] != 3 * index.size:
            raise ValueError(
                f"gradients must have 3 rows per atom: structure_index has "
                f"{index.size} atoms, so {3 * index.size} rows; got "
                f"{gradients.shape[0]}."
            )
        forces = _check_forces(forces, index)
        weights = _per_structure(force_weight, "force_weight", n_structures)
        X_parts.append(gradients)  # negated when copied into X below
        y_parts.append(forces)
        weight_parts.append(np.repeat(weights[index], 3))

    # one output buffer: the force rows are negated into it, not copied twice
    X = np.empty((sum(part.shape[0] for part in X_parts), n_features))
    start = 0
    if energies is not None:
        X[:n_structures] = features
        start = n_structures
    if forces is not None:
        np.negative(gradients, out=X[start:])
    if columns is not None:
        import pandas as pd  # features was a DataFrame, so pandas is installed

        X = pd.DataFrame(X, columns=columns)
    return X, np.concatenate(y_parts), np.concatenate(weight_parts)


#: The six independent components of a symmetric 3 x 3 tensor (Voigt order).
VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def virial_rows(strain_gradients, virials, *, virial_weight=1.0, columns=None):
    """Virial rows, targets and loss weights (paper eq. 5, the stress term).

    A model linear in the pooled features, :math:`E_A = X_A \\cdot w`,
    predicts the virial :math:`W_A = -\\partial E_A / \\partial \\epsilon =
    -(\\partial X_A / \\partial \\epsilon) \\cdot w`; its six independent
    components (Voigt order xx, yy, zz, yz, xz, xy) are six more rows per
    structure, each with the weight :math:`\\lambda_s`.  Stack them under the
    rows of :func:`energy_force_rows`.

    Parameters
    ----------
    strain_gradients : array-like of shape (n_structures, 3, 3, n_features)
        From :func:`transform_strain_gradients`; symmetrized here.
    virials : array-like of shape (n_structures, 3, 3)
        Reference virials (energy), ``-volume * stress`` in ASE's convention;
        symmetrized here.
    virial_weight : float or array-like of shape (n_structures,), default=1.0
        :math:`\\lambda_s` of each structure, per component, in 1/energy².
    columns : None or sequence of str
        Column names for a DataFrame output.

    Returns
    -------
    X : ndarray or DataFrame of shape (6 * n_structures, n_features)
        Structure by structure, six rows each.
    y : ndarray of shape (6 * n_structures,)
    sample_weight : ndarray of shape (6 * n_structures,)
    """
    gradients = np.asarray(strain_gradients, dtype=np.float64)
    virials = np.asarray(virials, dtype=np.float64)
    if gradients.ndim != 4 or gradients.shape[1:3] != (3, 3):
        raise ValueError(
            "strain_gradients must have shape (n_structures, 3, 3, n_features), got "
            f"{gradients.shape}; transform_strain_gradients returns it."
        )
    n_structures = gradients.shape[0]
    if virials.shape != (n_structures, 3, 3):
        raise ValueError(
            f"virials must have shape ({n_structures}, 3, 3), one 3 x 3 virial per "
            f"structure, got {virials.shape}."
        )
    if not np.all(np.isfinite(virials)):
        raise ValueError("virials must be finite.")
    weights = _per_structure(virial_weight, "virial_weight", n_structures)
    rows = np.stack(
        [-(gradients[:, i, j] + gradients[:, j, i]) / 2 for i, j in VOIGT], axis=1
    ).reshape(6 * n_structures, -1)
    targets = np.stack(
        [(virials[:, i, j] + virials[:, j, i]) / 2 for i, j in VOIGT], axis=1
    ).ravel()
    if columns is not None:
        import pandas as pd

        rows = pd.DataFrame(rows, columns=list(columns))
    return rows, targets, np.repeat(weights, 6)


def read_virial(atoms, position):
    """Reference virial of one periodic structure, shape (3, 3), in energy units.

    ``atoms.info["virial"]`` (extended XYZ), else ``-volume * stress`` from the
    calculator results.
    """
    if "virial" in atoms.info:
        return np.array(atoms.info["virial"], dtype=float).reshape(3, 3)
    calc = atoms.calc
    if calc is not None and "stress" in getattr(calc, "results", {}):
        from ase.stress import voigt_6_to_full_3x3_stress

        stress = np.asarray(calc.results["stress"], dtype=float)
        full = voigt_6_to_full_3x3_stress(stress) if stress.shape == (6,) else stress
        return -atoms.get_volume() * full.reshape(3, 3)
    raise ValueError(
        f"Structure {position} ({atoms.get_chemical_formula()}) has no reference "
        "virial: no atoms.info['virial'] and no calculator result 'stress'. Attach "
        "one, or set virial_weight=0."
    )
