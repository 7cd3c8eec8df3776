"""Rotation invariants built from dense density coefficients.

The functions here take the per-atom coefficients of
:class:`SphericalExpansion` or :class:`LodeExpansion` (columns ordered by
``(l, a, m, n)``, ``n`` fastest), possibly after an operation on the
coefficients themselves, and return per-atom invariant rows.  They are pure
NumPy: no featomic call, no fitted state.
"""

from math import sqrt
from numbers import Integral

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import check_scalar


def _angular_channels(coefficients, *, n_species, max_angular, name):
    """The ``l`` channels of dense coefficients.

    Returns
    -------
    channels : list of ndarray, shape (n_atoms, n_species, 2 l + 1, n_radial)
        Views of ``coefficients``, one per ``l = 0 .. max_angular``.
    n_radial : int
    """
    coefficients = check_array(coefficients, dtype=np.float64, input_name=name)
    check_scalar(n_species, "n_species", Integral, min_val=1)
    check_scalar(max_angular, "max_angular", Integral, min_val=0)
    n_species, max_angular = int(n_species), int(max_angular)
    per_radial = n_species * (max_angular + 1) ** 2
    n_columns = coefficients.shape[1]
    if n_columns % per_radial:
        raise ValueError(
            f"{name} has {n_columns} columns, which is not a multiple of "
            f"n_species * (max_angular + 1)**2 = {per_radial} (n_species="
            f"{n_species}, max_angular={max_angular}). Pass the values of the "
            "expansion that computed the coefficients: n_species=len("
            "expansion.species_), max_angular=expansion.max_angular."
        )
    n_radial = n_columns // per_radial
    channels = []
    for angular in range(max_angular + 1):
        start = n_species * angular**2 * n_radial
        stop = n_species * (angular + 1) ** 2 * n_radial
        channels.append(
            coefficients[:, start:stop].reshape(
                -1, n_species, 2 * angular + 1, n_radial
            )
        )
    return channels, n_radial


def power_spectrum(coefficients, coefficients_2=None, *, n_species, max_angular):
    """Power spectrum of each atom from its density coefficients.

    With one expansion (SOAP from :class:`SphericalExpansion`, or LODE x LODE
    from :class:`LodeExpansion`), for neighbour species ``a <= b``:

    .. math:: p_i^{ab}(l, n_1, n_2) = c_{ab}\\, \\frac{(-1)^l}{\\sqrt{2l+1}}
              \\sum_{m=-l}^{l} c^a_{i,n_1 l m}\\, c^b_{i,n_2 l m},
              \\qquad c_{ab} = \\sqrt 2 \\text{ if } a \\ne b, \\text{ else } 1,

    the normalization of featomic's ``SoapPowerSpectrum``, so that
    ``power_spectrum(SphericalExpansion().transform_local(X)[0], ...)`` equals
    ``SoapPowerSpectrum(separate_center_types=False).transform_local(X)[0]``
    (the :math:`\\sqrt 2` accounts for the pair ``(b, a)`` left out).  With a
    second expansion ``coefficients_2`` (:math:`d`), every ordered pair
    ``(a, b)`` and no :math:`\\sqrt 2`:
    :math:`\\frac{(-1)^l}{\\sqrt{2l+1}} \\sum_m c^a_{i,n_1 l m} d^b_{i,n_2 l m}`
    (e.g. SOAP x LODE, as featomic's ``clebsch_gordan.PowerSpectrum`` of two
    calculators).

    Parameters
    ----------
    coefficients : array-like of shape (n_atoms, n_coefficients)
        Per-atom coefficients in the ``(l, a, m, n)`` layout of
        :class:`SphericalExpansion`, ``n_coefficients = n_species *
        (max_angular + 1)**2 * n_radial``.
    coefficients_2 : None or array-like of shape (n_atoms, n_coefficients_2)
        Coefficients of a second expansion of the same atoms, with the same
        species and ``max_angular``; its number of radial functions
        ``n_radial_2`` may differ.
    n_species : int
        Number of neighbour species (``len(expansion.species_)``).
    max_angular : int
        Largest ``l`` of the expansion (``expansion.max_angular``).

    Returns
    -------
    ndarray of shape (n_atoms, n_pairs * (max_angular + 1) * n_radial * n_radial_2)
        Columns ordered by ``(pair, l, n_1, n_2)``, ``n_2`` fastest; the pairs
        are ``(a, b)`` with ``a <= b`` in species order
        (``n_pairs = n_species (n_species + 1) / 2``) for one expansion, all
        ordered pairs (``n_pairs = n_species**2``) for two.  The columns of
        ``SoapPowerSpectrum(separate_center_types=False)``.

    Raises
    ------
    ValueError
        If the number of columns does not fit ``n_species`` and
        ``max_angular``, or the two expansions have different rows.

    See Also
    --------
    separate_center_types : per-element columns, as in
        ``SoapPowerSpectrum(separate_center_types=True)``.
    radial_spectrum : the ``l = 0`` invariants.

    Notes
    -----
    Each ``l`` channel turns under a rotation with an orthogonal Wigner
    matrix acting on ``m``, which the sum over ``m`` cancels.  Cost
    ``O(n_atoms * n_pairs * (max_angular + 1)**2 * n_radial * n_radial_2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from ase.build import molecule
    >>> from skpr.atomistic import (SoapPowerSpectrum, SphericalExpansion,
    ...                             power_spectrum)
    >>> structures = [molecule("H2O"), molecule("CH4")]
    >>> hypers = dict(cutoff=3.0, max_radial=2, max_angular=2)
    >>> expansion = SphericalExpansion(**hypers).fit(structures)
    >>> coefficients, structure_index = expansion.transform_local(structures)
    >>> X_local = power_spectrum(coefficients, n_species=3, max_angular=2)
    >>> X_local.shape  # 6 species pairs x 3 l x 3 n_1 x 3 n_2
    (8, 162)
    >>> soap = SoapPowerSpectrum(**hypers, separate_center_types=False)
    >>> soap_local, _ = soap.fit(structures).transform_local(structures)
    >>> bool(np.allclose(X_local, soap_local, rtol=1e-12, atol=1e-14))
    True
    """
    channels, n_radial = _angular_channels(
        coefficients,
        n_species=n_species,
        max_angular=max_angular,
        name="coefficients",
    )
    if coefficients_2 is None:
        channels_2, n_radial_2 = channels, n_radial
        first, second = np.triu_indices(int(n_species))
        scale = np.where(first == second, 1.0, sqrt(2.0))
    else:
        channels_2, n_radial_2 = _angular_channels(
            coefficients_2,
            n_species=n_species,
            max_angular=max_angular,
            name="coefficients_2",
        )
        if channels_2[0].shape[0] != channels[0].shape[0]:
            raise ValueError(
                f"coefficients has {channels[0].shape[0]} rows but coefficients_2 "
                f"has {channels_2[0].shape[0]}; give both expansions of the same "
                "atoms."
            )
        first, second = (
            index.ravel() for index in np.indices((int(n_species), int(n_species)))
        )
        scale = np.ones(first.size)
    n_atoms = channels[0].shape[0]
    out = np.empty((n_atoms, first.size, len(channels), n_radial, n_radial_2))
    for angular, (left, right) in enumerate(zip(channels, channels_2, strict=True)):
        factor = (-1) ** angular / sqrt(2 * angular + 1)
        out[:, :, angular] = np.einsum(
            "ipmx,ipmy->ipxy", left[:, first], right[:, second]
        ) * (factor * scale[:, None, None])
    return out.reshape(n_atoms, -1)


def radial_spectrum(coefficients, *, n_species, max_angular):
    """The ``l = 0`` channel of each atom's density coefficients.

    .. math:: x_i^a(n) = c^a_{i, n 0 0}

    the invariant of body order two: for :class:`SphericalExpansion`
    coefficients, featomic's ``SoapRadialSpectrum`` with the same radial
    basis; for :class:`LodeExpansion` coefficients, the columns of
    ``LodeDescriptor(invariant="radial", separate_center_types=False)``.

    Parameters
    ----------
    coefficients : array-like of shape (n_atoms, n_coefficients)
        Per-atom coefficients in the ``(l, a, m, n)`` layout of
        :class:`SphericalExpansion`, ``n_coefficients = n_species *
        (max_angular + 1)**2 * n_radial``.
    n_species : int
        Number of neighbour species (``len(expansion.species_)``).
    max_angular : int
        Largest ``l`` of the expansion (``expansion.max_angular``).

    Returns
    -------
    ndarray of shape (n_atoms, n_species * n_radial)
        Columns ordered by ``(a, n)``, ``n`` fastest (a copy: the first
        ``n_species * n_radial`` columns of ``coefficients``).

    See Also
    --------
    power_spectrum : the three-body invariants.
    separate_center_types : per-element columns.

    Notes
    -----
    :math:`Y_{00}` is constant, so the ``l = 0`` coefficient is unchanged by
    rotations.  Cost ``O(n_atoms * n_species * n_radial)``.

    Examples
    --------
    >>> from ase.build import bulk
    >>> from skpr.atomistic import LodeExpansion, radial_spectrum
    >>> salt = [bulk("NaCl", "rocksalt", a=5.6)]
    >>> lode = LodeExpansion(max_radial=2, max_angular=2).fit(salt)
    >>> coefficients, _ = lode.transform_local(salt)
    >>> radial_spectrum(coefficients, n_species=2, max_angular=2).shape
    (2, 6)
    """
    channels, _ = _angular_channels(
        coefficients,
        n_species=n_species,
        max_angular=max_angular,
        name="coefficients",
    )
    return channels[0].reshape(channels[0].shape[0], -1).copy()


def separate_center_types(X_local, center_types, *, species):
    """Give every central element its own copy of the columns.

    Row ``i`` of the result is zero except in the column block of atom
    ``i``'s element, which holds ``X_local[i]``: a linear model on these
    columns is a separate model per central element.  This is the layout of
    ``separate_center_types=True`` in :class:`SoapPowerSpectrum` and
    :class:`LodeDescriptor`.

    Parameters
    ----------
    X_local : array-like of shape (n_atoms, n_features)
        Per-atom rows, e.g. from :func:`power_spectrum`.
    center_types : array-like of int, shape (n_atoms,)
        Atomic number of each atom, e.g. ``np.concatenate([atoms.numbers
        for atoms in structures])``.
    species : array-like of int, shape (n_species,)
        Atomic numbers in the order of the column blocks, e.g. the fitted
        ``species_`` of the expansion.

    Returns
    -------
    ndarray of shape (n_atoms, n_species * n_features)
        Column block ``s`` (columns ``s * n_features`` to
        ``(s + 1) * n_features``) belongs to ``species[s]``.

    Raises
    ------
    ValueError
        If ``center_types`` does not have one entry per row, or holds an
        element missing from ``species``.

    Notes
    -----
    Cost ``O(n_atoms * n_species * n_features)`` (the output).

    Examples
    --------
    >>> import numpy as np
    >>> from skpr.atomistic import separate_center_types
    >>> separate_center_types(np.array([[1.0, 2.0], [3.0, 4.0]]), [8, 1],
    ...                       species=[1, 8])
    array([[0., 0., 1., 2.],
           [3., 4., 0., 0.]])
    """
    X_local = check_array(X_local, dtype=np.float64, input_name="X_local")
    center_types = np.asarray(center_types)
    species = np.asarray(species)
    if center_types.shape != (X_local.shape[0],):
        raise ValueError(
            f"center_types must hold one atomic number per row of X_local "
            f"({X_local.shape[0]}), got shape {center_types.shape}."
        )
    if species.ndim != 1 or not species.size or np.unique(species).size != species.size:
        raise ValueError(
            f"species must be a non-empty 1-D array of distinct atomic numbers, got "
            f"{species.tolist()}."
        )
    order = np.argsort(species)
    found = np.searchsorted(species[order], center_types).clip(max=species.size - 1)
    blocks = order[found]
    unknown = np.unique(center_types[species[blocks] != center_types])
    if unknown.size:
        raise ValueError(
            f"center_types holds atomic numbers {unknown.tolist()} that are not in "
            f"species {species.tolist()}; pass the species list of the expansion "
            "(expansion.species_)."
        )
    n_atoms, n_features = X_local.shape
    out = np.zeros((n_atoms, species.size, n_features))
    out[np.arange(n_atoms), blocks] = X_local
    return out.reshape(n_atoms, -1)
