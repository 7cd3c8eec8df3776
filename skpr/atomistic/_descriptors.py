"""Featomic descriptors of whole structures: SOAP power spectrum and LODE.

Each transformer takes a list of ``ase.Atoms`` (one sample per structure) and
returns one row per structure, the sum (or mean) of the per-atom rows. It
keeps hyperparameters only: featomic calculators cannot be pickled, so one is
built inside every call. The species list is fixed at fit, so every batch
gets the same columns in the same order, whatever elements it contains.

Featomic returns a block-sparse ``TensorMap`` (one block per key such as
``(center_type, neighbor_1_type, neighbor_2_type)``). The dense layout used
here gives every column block (a key, without the central species when
``separate_center_types=False``) a fixed column range, and every property of
a block a fixed position inside that range; blocks absent from a batch stay
zero.
"""

from numbers import Integral, Real

import numpy as np
from featomic import LodeSphericalExpansion
from featomic import SoapPowerSpectrum as _FeatomicSoapPowerSpectrum
from featomic.clebsch_gordan import PowerSpectrum as _FeatomicPowerSpectrum
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, check_scalar

from skpr import pool_structures
from skpr.atomistic._structures import (
    check_known_species,
    check_structures,
    learn_species,
    structure_index,
    symbols,
)

# Structures per featomic call: bounds the memory of featomic's block-sparse
# position gradients (one (3, n_properties) slab per centre-neighbour pair)
# without changing any result.
_CHUNK_SIZE = 64


class _Layout:
    """Dense column layout of a block-sparse featomic output.

    Parameters
    ----------
    column_keys : list of tuple of int
        One entry per column block, in column order.
    properties : ndarray of int, shape (n_properties, n_property_dims)
        The properties of every block, in the order of the columns.
    """

    def __init__(self, column_keys, properties):
        self.column_keys = list(column_keys)
        self.properties = np.asarray(properties, dtype=np.int64)
        n_properties = self.properties.shape[0]
        self.offsets = {key: i * n_properties for i, key in enumerate(self.column_keys)}
        self._position = {
            tuple(row): j for j, row in enumerate(self.properties.tolist())
        }
        self.n_features = n_properties * len(self.column_keys)

    def columns(self, column_key, block_properties):
        """Column of every property of one block of a featomic output."""
        try:
            positions = [
                self._position[tuple(row)] for row in block_properties.tolist()
            ]
        except KeyError as error:  # pragma: no cover - a featomic layout change
            raise RuntimeError(
                f"featomic returned the property {error.args[0]} that the column "
                "layout of skpr does not know; this featomic version is not "
                "supported, please report it."
            ) from error
        return self.offsets[column_key] + np.asarray(positions, dtype=np.int64)


class _FeatomicDescriptor(TransformerMixin, BaseEstimator):
    """Shared machinery of the featomic transformers (not public).

    Subclasses provide ``_calculator()``, ``_column_key(key)`` (the column
    block of a featomic key, or None to skip the block), ``_layout(species)``
    and ``_feature_name(column_key, property)``.
    """

    def _check_params(self):
        if self.pooling not in ("sum", "mean"):
            raise ValueError(
                f"pooling must be 'sum' (extensive targets such as total energies) "
                f"or 'mean' (intensive targets), got {self.pooling!r}."
            )

    def _check_input(self, structures):
        """Extra checks of the structures (hook for subclasses)."""

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
        self._calculator()  # featomic checks the hyperparameters here
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
        X_local, _ = self._compute(structures, local=True, gradients=False)
        return pool_structures(
            X_local,
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
        X_local, _ = self._compute(structures, local=True, gradients=False)
        return X_local, structure_index(structures)

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

        Notes
        -----
        Featomic stores one ``(3, n_properties)`` gradient per pair of a
        central atom and a neighbour within the cutoff; these are summed over
        the central atoms of each structure, in chunks of structures, so the
        memory peak is the output plus the gradients of one chunk.
        """
        structures = self._validated(X)
        _, gradients = self._compute(structures, local=False, gradients=True)
        return gradients.reshape(-1, gradients.shape[-1]), structure_index(structures)

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
        layout = self._layout(self.species_)
        names = [
            self._feature_name(key, tuple(prop))
            for key in layout.column_keys
            for prop in layout.properties.tolist()
        ]
        return np.asarray(names, dtype=object)

    def _compute(self, structures, *, local, gradients):
        """Per-atom rows and/or pooled position gradients.

        Returns
        -------
        X_local : ndarray of shape (n_atoms_total, n_features) or None
            Only with ``local=True``.
        pooled_gradients : ndarray of shape (n_atoms_total, 3, n_features) or None
            Only with ``gradients=True``.
        """
        layout = self._layout(self.species_)
        counts = np.array([len(atoms) for atoms in structures])
        first_atom = np.concatenate([[0], np.cumsum(counts)])
        n_atoms = int(first_atom[-1])
        X_local = np.zeros((n_atoms, layout.n_features)) if local else None
        pooled = np.zeros((n_atoms, 3, layout.n_features)) if gradients else None
        calculator = self._calculator()
        for start in range(0, len(structures), _CHUNK_SIZE):
            # one chunk's TensorMap at a time: it is freed when _fill returns
            self._fill(
                calculator,
                structures[start : start + _CHUNK_SIZE],
                layout,
                first_atom[start:],
                counts[start:],
                X_local,
                pooled,
            )
        return X_local, pooled

    def _fill(self, calculator, chunk, layout, first_atom, counts, X_local, pooled):
        """Write one chunk's per-atom rows and pooled gradients into the outputs."""
        tensor = calculator.compute(
            chunk, gradients=None if pooled is None else ["positions"]
        )
        # featomic numbers the systems of each call from 0
        offsets = first_atom[: len(chunk)]
        for key, block in tensor.items():
            column_key = self._column_key(
                dict(zip(tensor.keys.names, key.values.tolist(), strict=True))
            )
            if column_key is None:
                continue
            columns = layout.columns(column_key, block.properties.values)
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


def _check_hypers(estimator, integers=(), positives=(), non_negatives=()):
    for name in integers:
        check_scalar(getattr(estimator, name), name, Integral, min_val=0)
    for name in positives:
        check_scalar(
            getattr(estimator, name),
            name,
            Real,
            min_val=0.0,
            include_boundaries="neither",
        )
    for name in non_negatives:
        check_scalar(getattr(estimator, name), name, Real, min_val=0.0)


class SoapPowerSpectrum(_FeatomicDescriptor):
    """SOAP power spectrum of each structure, summed (or averaged) over its atoms.

    The rotation-invariant three-body descriptor of every atomic environment
    (Bartók, Kondor and Csányi, Phys. Rev. B 87, 184115, 2013), computed by
    featomic, then pooled per structure:

    .. math:: X_A = \\sum_{i \\in A} p_i, \\qquad
              p_i^{ab}(l, n_1, n_2) = c_{ab} \\frac{(-1)^l}{\\sqrt{2l+1}}\\,
              \\sum_m \\rho^{a}_{i, n_1 l m}\\, \\rho^{b}_{i, n_2 l m}

    where :math:`\\rho^a_{i,nlm}` is the expansion of the Gaussian-smeared
    density of neighbours of species ``a`` around atom ``i``, and
    :math:`c_{ab} = \\sqrt 2` for ``a != b`` (featomic keeps only ``a <= b``),
    1 otherwise.  A linear model on ``X_A`` is a sum of atomic energies
    linear in ``p_i``, so :meth:`transform_local` gives the rows of its local
    prediction rigidity.

    Parameters
    ----------
    cutoff : float, default=5.0
        Radius of the atomic environments, in Å.
    max_radial : int, default=6
        Largest radial index (``max_radial + 1`` GTO radial functions).
    max_angular : int, default=4
        Largest angular momentum ``l``.
    atomic_gaussian_width : float, default=0.3
        Width of the Gaussian placed on every atom, in Å.
    cutoff_width : float, default=0.5
        Width of the shifted-cosine smoothing at the cutoff, in Å (0 is a hard
        cutoff, whose features and forces jump when an atom crosses it).
    center_atom_weight : float, default=1.0
        Weight of the central atom's own Gaussian in its density.
    species : None or list of str or int, default=None
        Elements that get columns.  ``None`` learns them at fit from the
        training structures; structures with another element are then
        refused at transform.
    separate_center_types : bool, default=True
        ``True``: each central element has its own columns (a separate linear
        model per element).  ``False``: all elements share them (fewer
        features; add :class:`CompositionFeatures` for per-element offsets).
    pooling : {"sum", "mean"}, default="sum"
        ``"sum"`` for extensive targets (total energies; needed for force
        rows), ``"mean"`` for intensive ones.

    Attributes
    ----------
    species_ : ndarray of int64, shape (n_species,)
        Sorted atomic numbers that have columns.

    See Also
    --------
    LodeDescriptor : long-range (LODE) invariants.
    CompositionFeatures : atom counts per element.
    energy_force_rows : training rows with forces from :meth:`transform_gradients`.

    Notes
    -----
    With ``S`` species, ``N = max_radial + 1`` and ``L = max_angular + 1`` there
    are ``S (S + 1) / 2 * L * N^2`` features per central element (times ``S``
    with ``separate_center_types=True``).  For same-species neighbour pairs
    featomic keeps both ``(n_1, n_2)`` and ``(n_2, n_1)``, which are equal; a
    ridge model handles the duplicate columns exactly.

    Cost: ``O(n_atoms * n_neighbours * N L^2 S)`` for the expansion plus
    ``O(n_atoms * n_features)``; position gradients add one
    ``3 x n_features`` slab per pair of atoms within the cutoff.

    Examples
    --------
    >>> from ase.build import molecule
    >>> from skpr.atomistic import SoapPowerSpectrum
    >>> soap = SoapPowerSpectrum(cutoff=3.0, max_radial=2, max_angular=2)
    >>> soap.fit([molecule("H2O"), molecule("CH4")]).species_
    array([1, 6, 8])
    >>> soap.transform([molecule("H2O")]).shape
    (1, 486)
    >>> str(soap.get_feature_names_out()[0])
    'H|H,H|l=0|n=0,0'
    """

    def __init__(
        self,
        cutoff=5.0,
        *,
        max_radial=6,
        max_angular=4,
        atomic_gaussian_width=0.3,
        cutoff_width=0.5,
        center_atom_weight=1.0,
        species=None,
        separate_center_types=True,
        pooling="sum",
    ):
        self.cutoff = cutoff
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.atomic_gaussian_width = atomic_gaussian_width
        self.cutoff_width = cutoff_width
        self.center_atom_weight = center_atom_weight
        self.species = species
        self.separate_center_types = separate_center_types
        self.pooling = pooling

    def _check_params(self):
        super()._check_params()
        _check_hypers(
            self,
            integers=("max_radial", "max_angular"),
            positives=("cutoff", "atomic_gaussian_width"),
            non_negatives=("cutoff_width", "center_atom_weight"),
        )
        if self.cutoff_width >= self.cutoff:
            raise ValueError(
                f"cutoff_width ({self.cutoff_width}) must be smaller than cutoff "
                f"({self.cutoff}); it is the width of the smooth region that ends "
                "at the cutoff."
            )

    def _hypers(self):
        return {
            "cutoff": {
                "radius": float(self.cutoff),
                "smoothing": {
                    "type": "ShiftedCosine",
                    "width": float(self.cutoff_width),
                }
                if self.cutoff_width > 0
                else {"type": "Step"},
            },
            "density": {
                "type": "Gaussian",
                "width": float(self.atomic_gaussian_width),
                "center_atom_weight": float(self.center_atom_weight),
            },
            "basis": {
                "type": "TensorProduct",
                "max_angular": int(self.max_angular),
                "radial": {"type": "Gto", "max_radial": int(self.max_radial)},
            },
        }

    def _calculator(self):
        return _FeatomicSoapPowerSpectrum(**self._hypers())

    def _layout(self, species):
        species = species.tolist()
        pairs = [(a, b) for i, a in enumerate(species) for b in species[i:]]
        if self.separate_center_types:
            keys = [(c, a, b) for c in species for a, b in pairs]
        else:
            keys = pairs
        n = range(self.max_radial + 1)
        properties = [
            (angular, n1, n2)
            for angular in range(self.max_angular + 1)
            for n1 in n
            for n2 in n
        ]
        return _Layout(keys, properties)

    def _column_key(self, key):
        pair = (key["neighbor_1_type"], key["neighbor_2_type"])
        return (key["center_type"], *pair) if self.separate_center_types else pair

    def _feature_name(self, column_key, prop):
        *center, a, b = symbols(column_key)
        angular, n1, n2 = prop
        return "|".join([*center, f"{a},{b}", f"l={angular}", f"n={n1},{n2}"])


class LodeDescriptor(_FeatomicDescriptor):
    """Long-distance equivariant (LODE) invariants of each periodic structure.

    LODE (Grisafi and Ceriotti, J. Chem. Phys. 151, 204105, 2019) expands,
    around every atom ``i``, the potential generated by all atoms of species
    ``a`` (a smeared ``1/r^p`` density, summed in reciprocal space over the
    periodic images) on GTO radial functions and spherical harmonics,
    :math:`V^a_{i,nlm}`.  Two rotation invariants are offered:

    ``invariant="radial"`` (default): the ``l = 0`` channel,

    .. math:: x_i^a(n) = V^a_{i, n00},

    the spherically averaged potential of each species, the LODE invariant of
    body order two.  A linear model on it is a learned, species-resolved
    ``1/r^p`` interaction (point-charge electrostatics for ``p = 1``).

    ``invariant="power_spectrum"``: the LODE x LODE power spectrum

    .. math:: x_i^{ab}(l, n_1, n_2) = \\frac{(-1)^l}{\\sqrt{2l+1}}
              \\sum_m V^a_{i,n_1 l m} V^b_{i,n_2 l m},

    from :class:`featomic.clebsch_gordan.PowerSpectrum` (three-body, many
    more features).

    Rows are pooled per structure as in :class:`SoapPowerSpectrum`.

    Parameters
    ----------
    smearing : float, default=1.0
        Gaussian smearing of the atomic potentials, in Å (removes the
        singularity at ``r = 0``; sets the reciprocal-space cutoff).
    exponent : int, default=1
        ``p`` of the ``1/r^p`` potential: 1 for Coulomb-like, 6 for
        dispersion-like interactions.
    max_radial : int, default=4
        Largest radial index (``max_radial + 1`` GTO radial functions).
    max_angular : int, default=3
        Largest angular momentum; used by ``invariant="power_spectrum"`` only
        (``"radial"`` computes the ``l = 0`` channel alone).
    basis_radius : float, default=5.0
        Radius of the GTO radial basis, in Å: how far from the atom the
        potential is resolved.
    k_cutoff : float or None, default=None
        Reciprocal-space cutoff in 1/Å; ``None`` is featomic's default
        ``1.2 pi / smearing``.
    invariant : {"radial", "power_spectrum"}, default="radial"
        Which rotation invariant to build (see above).
    species : None or list of str or int, default=None
        Elements that get columns; ``None`` learns them at fit.
    separate_center_types : bool, default=True
        Give each central element its own columns.
    pooling : {"sum", "mean"}, default="sum"
        Sum (extensive targets) or mean (intensive) over the atoms.

    Attributes
    ----------
    species_ : ndarray of int64, shape (n_species,)

    Raises
    ------
    ValueError
        At fit or transform, for a structure that is not periodic in all
        three directions: featomic's LODE is defined with Ewald sums over a
        periodic cell.

    Notes
    -----
    Molecules are refused rather than boxed silently: in a box the potential
    includes the periodic images, which is a modelling choice.  To make it,
    give each molecule a large cell, e.g. ``atoms.center(vacuum=10.0);
    atoms.pbc = True``.

    For ``exponent=1`` the ``l = 0`` channel of each species carries an
    offset from the neutralizing background of the Ewald sum, which depends
    on the cell volume; it cancels in combinations of species channels that
    are charge neutral.  Exponents of 2 and more have no such offset.

    Featomic's LODE supports position gradients (not strain), so
    :meth:`transform_gradients` gives force rows but there are no stress rows.
    Cost: ``O(n_atoms * n_k-vectors * S N L^2)`` with
    ``n_k-vectors ~ volume / smearing^3``.

    Examples
    --------
    >>> from ase.build import bulk
    >>> from skpr.atomistic import LodeDescriptor
    >>> lode = LodeDescriptor(smearing=1.0, max_radial=3)
    >>> lode.fit([bulk("NaCl", "rocksalt", a=5.6)]).species_
    array([11, 17])
    >>> lode.transform([bulk("NaCl", "rocksalt", a=5.7)]).shape
    (1, 16)
    >>> str(lode.get_feature_names_out()[0])
    'Na|Na|n=0'
    """

    def __init__(
        self,
        smearing=1.0,
        *,
        exponent=1,
        max_radial=4,
        max_angular=3,
        basis_radius=5.0,
        k_cutoff=None,
        invariant="radial",
        species=None,
        separate_center_types=True,
        pooling="sum",
    ):
        self.smearing = smearing
        self.exponent = exponent
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.basis_radius = basis_radius
        self.k_cutoff = k_cutoff
        self.invariant = invariant
        self.species = species
        self.separate_center_types = separate_center_types
        self.pooling = pooling

    def _check_params(self):
        super()._check_params()
        if self.invariant not in ("radial", "power_spectrum"):
            raise ValueError(
                f"invariant must be 'radial' (the l=0 channel) or 'power_spectrum' "
                f"(LODE x LODE), got {self.invariant!r}."
            )
        _check_hypers(
            self,
            integers=("max_radial", "max_angular"),
            positives=("smearing", "basis_radius"),
        )
        check_scalar(self.exponent, "exponent", Integral, min_val=1)
        if self.k_cutoff is not None:
            _check_hypers(self, positives=("k_cutoff",))

    def _check_input(self, structures):
        for i, atoms in enumerate(structures):
            if not (np.all(atoms.pbc) and abs(atoms.cell.volume) > 0):
                raise ValueError(
                    f"LodeDescriptor needs periodic structures (pbc=True in all "
                    f"three directions and a cell), but structure {i} "
                    f"({atoms.get_chemical_formula()}) has pbc={atoms.pbc.tolist()} "
                    f"and cell volume {atoms.cell.volume:g}. For a molecule, choose "
                    "a box explicitly, e.g. atoms.center(vacuum=10.0); atoms.pbc = "
                    "True (its periodic images then enter the potential)."
                )

    def _expansion(self):
        max_angular = 0 if self.invariant == "radial" else int(self.max_angular)
        return LodeSphericalExpansion(
            k_cutoff=None if self.k_cutoff is None else float(self.k_cutoff),
            density={
                "type": "SmearedPowerLaw",
                "smearing": float(self.smearing),
                "exponent": int(self.exponent),
            },
            basis={
                "type": "TensorProduct",
                "max_angular": max_angular,
                "radial": {
                    "type": "Gto",
                    "max_radial": int(self.max_radial),
                    "radius": float(self.basis_radius),
                },
            },
        )

    def _calculator(self):
        if self.invariant == "radial":
            return self._expansion()
        species = getattr(self, "species_", None)
        return _FeatomicPowerSpectrum(
            self._expansion(),
            neighbor_types=None if species is None else species.tolist(),
        )

    def _layout(self, species):
        species = species.tolist()
        n = range(self.max_radial + 1)
        if self.invariant == "radial":
            if self.separate_center_types:
                keys = [(c, a) for c in species for a in species]
            else:
                keys = [(a,) for a in species]
            return _Layout(keys, [(n1,) for n1 in n])
        keys = [(c,) for c in species] if self.separate_center_types else [()]
        properties = [
            (angular, a, n1, b, n2)
            for angular in range(self.max_angular + 1)
            for a in species
            for n1 in n
            for b in species
            for n2 in n
        ]
        return _Layout(keys, properties)

    def _column_key(self, key):
        if self.invariant == "radial":
            if key["o3_lambda"] != 0:
                return None
            neighbor = (key["neighbor_type"],)
            return (
                (key["center_type"], *neighbor)
                if self.separate_center_types
                else neighbor
            )
        return (key["center_type"],) if self.separate_center_types else ()

    def _feature_name(self, column_key, prop):
        center = symbols(column_key)
        if self.invariant == "radial":
            return "|".join([*center, f"n={prop[0]}"])
        angular, a, n1, b, n2 = prop
        pair = ",".join(symbols([a, b]))
        return "|".join([*center, pair, f"l={angular}", f"n={n1},{n2}"])
