"""The long-range (LODE) potential: its coefficients and its invariants.

:class:`LodeExpansion` and :class:`LodeDescriptor` share the hyperparameters
of the smeared ``1/r^p`` potential and its GTO basis, and the requirements
on the structures (periodic, with at least one k-vector inside the
reciprocal-space cutoff).
"""

import math

import numpy as np
from ase.geometry import minkowski_reduce
from featomic import LodeSphericalExpansion
from featomic.clebsch_gordan import PowerSpectrum as _FeatomicPowerSpectrum

from skpr.atomistic._expansion import ExpansionTransformer
from skpr.atomistic._featomic import (
    FeatomicTransformer,
    Layout,
    check_integer,
    check_real,
)
from skpr.atomistic._structures import symbols

# featomic: "LODE is only implemented for potential_exponent < 10"
_MAX_EXPONENT = 9

_COMPUTABLE_HINT = (
    "Its splines fail for a small smearing or a large basis_radius, and the GTO "
    "overlap matrix becomes singular for a large max_radial: use a larger "
    "smearing, a smaller basis_radius or a smaller max_radial."
)


def shortest_reciprocal_vector(cell):
    """Length of the shortest non-zero vector of the reciprocal lattice, in 1/Å.

    The reciprocal basis ``2 pi (cell^{-1})^T`` is Minkowski reduced, so its
    first vector is the shortest lattice vector.  Featomic's LODE sums over
    the reciprocal vectors with ``|k| < k_cutoff`` (``k = 0`` excluded), so
    it has none when this length is not below ``k_cutoff``.

    Parameters
    ----------
    cell : ndarray of shape (3, 3)
        Cell vectors as rows, non-singular.

    Returns
    -------
    float
    """
    reciprocal = 2 * math.pi * np.linalg.inv(np.asarray(cell, dtype=float)).T
    reduced, _ = minkowski_reduce(reciprocal)
    return float(np.linalg.norm(reduced, axis=1).min())


class _LodePotential:
    """Hyperparameters and input checks of LODE, shared by both classes."""

    def _check_params(self):
        super()._check_params()
        check_integer(self.max_radial, "max_radial")
        check_integer(self.max_angular, "max_angular")
        check_real(self.smearing, "smearing")
        check_real(self.basis_radius, "basis_radius")
        check_integer(self.exponent, "exponent", min_val=1, max_val=_MAX_EXPONENT)
        if self.k_cutoff is not None:
            check_real(self.k_cutoff, "k_cutoff")

    def _k_cutoff(self):
        """Featomic's reciprocal-space cutoff: given, or ``1.2 pi / smearing``."""
        if self.k_cutoff is None:
            return 1.2 * math.pi / float(self.smearing)
        return float(self.k_cutoff)

    def _check_input(self, structures):
        super()._check_input(structures)
        name = type(self).__name__
        k_cutoff = self._k_cutoff()
        for i, atoms in enumerate(structures):
            formula = atoms.get_chemical_formula()
            if not (np.all(atoms.pbc) and abs(atoms.cell.volume) > 0):
                raise ValueError(
                    f"{name} needs periodic structures (pbc=True in all "
                    f"three directions and a cell), but structure {i} "
                    f"({formula}) has pbc={atoms.pbc.tolist()} "
                    f"and cell volume {atoms.cell.volume:g}. For a molecule, choose "
                    "a box explicitly, e.g. atoms.center(vacuum=10.0); atoms.pbc = "
                    "True (its periodic images then enter the potential)."
                )
            shortest = shortest_reciprocal_vector(atoms.cell.array)
            if not shortest < k_cutoff:
                source = "1.2 pi / smearing" if self.k_cutoff is None else "k_cutoff"
                raise ValueError(
                    f"{name} finds no k-vectors for structure {i} ({formula}): "
                    f"its shortest reciprocal lattice vector is {shortest:.4g} "
                    f"1/Å, not below the cutoff {k_cutoff:.4g} 1/Å ({source}), "
                    "so the potential has no Fourier component. Use a k_cutoff "
                    f"above {shortest:.4g}, a smaller smearing (k_cutoff defaults "
                    "to 1.2 pi / smearing) or a larger cell."
                )

    def _computable_hint(self):
        return _COMPUTABLE_HINT

    def _expansion(self, max_angular):
        return LodeSphericalExpansion(
            k_cutoff=None if self.k_cutoff is None else float(self.k_cutoff),
            density={
                "type": "SmearedPowerLaw",
                "smearing": float(self.smearing),
                "exponent": int(self.exponent),
            },
            basis={
                "type": "TensorProduct",
                "max_angular": int(max_angular),
                "radial": {
                    "type": "Gto",
                    "max_radial": int(self.max_radial),
                    "radius": float(self.basis_radius),
                },
            },
        )


class LodeExpansion(_LodePotential, ExpansionTransformer):
    """Coefficients of the LODE potential around every atom of periodic structures.

    Around every atom ``i``, the potential generated by all atoms of species
    ``a`` and their periodic images (a smeared ``1/r^p`` density, summed in
    reciprocal space), expanded on GTO radial functions of radius
    ``basis_radius`` and real spherical harmonics (featomic's
    ``LodeSphericalExpansion``; Grisafi and Ceriotti, J. Chem. Phys. 151,
    204105, 2019):

    .. math:: V^a_{i,nlm} = \\int V^a(\\mathbf r_i + \\mathbf r)\\,
              R_{nl}(r)\\, Y_{lm}(\\hat{\\mathbf r})\\, d\\mathbf r.

    Same column layout as :class:`SphericalExpansion`, so the two can be
    combined coefficient by coefficient (e.g. to remove the short-range part
    of the potential) before invariants are built with
    :func:`power_spectrum` (``LodeDescriptor(invariant="power_spectrum")``)
    or :func:`radial_spectrum` (``LodeDescriptor(invariant="radial")``).

    Parameters
    ----------
    smearing : float, default=1.0
        Gaussian smearing of the atomic potentials, in Å.
    exponent : int, default=1
        ``p`` of the ``1/r^p`` potential, 1 to 9.
    max_radial : int, default=4
        Largest radial index (``max_radial + 1`` GTO radial functions).
    max_angular : int, default=3
        Largest angular momentum ``l``.
    basis_radius : float, default=5.0
        Radius of the GTO radial basis, in Å.
    k_cutoff : float or None, default=None
        Reciprocal-space cutoff in 1/Å; ``None`` is featomic's default
        ``1.2 pi / smearing``.
    species : None or list of str or int, default=None
        Neighbour elements that get columns; ``None`` learns them at fit.
    pooling : {"sum", "mean"}, default="sum"
        How :meth:`transform` pools the per-atom coefficients.
    progress : bool, default=False
        A progress bar (tqdm, the extra ``progress``) over the calls to
        featomic, one per 64 structures, in ``transform``,
        ``transform_local`` and the gradients.
    n_jobs : int or None, default=None
        Parts of the structures computed in parallel by joblib (processes),
        each a run of whole featomic calls of 64 structures, so that the
        numbers are those of a serial run.  ``None`` is 1 unless inside a
        ``joblib.parallel_config`` context (``backend="dask"`` sends the parts
        to a dask cluster); ``-1`` uses all cores.

    Attributes
    ----------
    species_ : ndarray of int64, shape (n_species,)

    Raises
    ------
    ValueError
        For a structure that is not periodic in all three directions, or whose
        reciprocal lattice has no vector inside ``k_cutoff``.

    See Also
    --------
    LodeDescriptor : the invariants, computed by featomic.
    power_spectrum, radial_spectrum : invariants of the coefficients.

    Notes
    -----
    Columns are ordered by ``(l, a, m, n)`` with ``n`` fastest, as in
    :class:`SphericalExpansion`: ``S L^2 N`` columns with ``S`` species,
    ``N = max_radial + 1``, ``L = max_angular + 1``.  For ``exponent=1`` the
    ``l = 0`` channel carries a per-species offset from the neutralizing
    background that depends on the cell volume (see :class:`LodeDescriptor`).

    Cost: ``O(n_atoms * n_k-vectors * S N L^2)``.

    Examples
    --------
    >>> from ase.build import bulk
    >>> from skpr.atomistic import LodeExpansion
    >>> salt = [bulk("NaCl", "rocksalt", a=5.6)]
    >>> lode = LodeExpansion(max_radial=2, max_angular=1).fit(salt)
    >>> coefficients, structure_index = lode.transform_local(salt)
    >>> coefficients.shape  # 2 atoms; 2 species x 4 (l, m) x 3 n
    (2, 24)
    >>> str(lode.get_feature_names_out()[6])
    'l=1|Na|m=-1|n=0'
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
        species=None,
        pooling="sum",
        progress=False,
        n_jobs=None,
    ):
        self.smearing = smearing
        self.exponent = exponent
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.basis_radius = basis_radius
        self.k_cutoff = k_cutoff
        self.species = species
        self.pooling = pooling
        self.progress = progress
        self.n_jobs = n_jobs

    def _calculator(self):
        return self._expansion(self.max_angular)


class LodeDescriptor(_LodePotential, FeatomicTransformer):
    """Long-distance equivariant (LODE) invariants of each periodic structure.

    LODE (Grisafi and Ceriotti, J. Chem. Phys. 151, 204105, 2019) expands,
    around every atom ``i``, the potential generated by all atoms of species
    ``a`` (a smeared ``1/r^p`` density, summed in reciprocal space over the
    periodic images) on GTO radial functions and spherical harmonics,
    :math:`V^a_{i,nlm}` (:class:`LodeExpansion`).  Two rotation invariants
    are offered:

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
        dispersion-like interactions (featomic supports 1 to 9).
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
    progress : bool, default=False
        A progress bar (tqdm, the extra ``progress``) over the calls to
        featomic, one per 64 structures, in ``transform``,
        ``transform_local`` and the gradients.
    n_jobs : int or None, default=None
        Parts of the structures computed in parallel by joblib (processes),
        each a run of whole featomic calls of 64 structures, so that the
        numbers are those of a serial run.  ``None`` is 1 unless inside a
        ``joblib.parallel_config`` context (``backend="dask"`` sends the parts
        to a dask cluster); ``-1`` uses all cores.

    Attributes
    ----------
    species_ : ndarray of int64, shape (n_species,)

    Raises
    ------
    ValueError
        At fit or transform, for a structure that is not periodic in all
        three directions (featomic's LODE is defined with Ewald sums over a
        periodic cell), or whose reciprocal lattice has no vector shorter
        than the reciprocal-space cutoff (a cell much smaller than the
        smearing).  At fit, for hyperparameters featomic cannot compute with.

    Notes
    -----
    Molecules are refused rather than boxed silently: in a box the potential
    includes the periodic images, which is a modelling choice.  To make it,
    give each molecule a large cell, e.g. ``atoms.center(vacuum=10.0);
    atoms.pbc = True``.  Left-handed cells (negative determinant) are given
    to featomic as the negated cell, which spans the same lattice.

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
        progress=False,
        n_jobs=None,
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
        self.progress = progress
        self.n_jobs = n_jobs

    def _check_params(self):
        if self.invariant not in ("radial", "power_spectrum"):
            raise ValueError(
                f"invariant must be 'radial' (the l=0 channel) or 'power_spectrum' "
                f"(LODE x LODE), got {self.invariant!r}."
            )
        super()._check_params()

    def _calculator(self):
        if self.invariant == "radial":
            return self._expansion(0)
        species = getattr(self, "species_", None)
        return _FeatomicPowerSpectrum(
            self._expansion(self.max_angular),
            neighbor_types=None if species is None else species.tolist(),
        )

    def _layout(self):
        species = self.species_.tolist()
        radial = range(self.max_radial + 1)
        if self.invariant == "radial":
            if self.separate_center_types:
                keys = [(c, a) for c in species for a in species]
            else:
                keys = [(a,) for a in species]
            return Layout([(key, [(n,) for n in radial]) for key in keys])
        keys = [(c,) for c in species] if self.separate_center_types else [()]
        properties = [
            (angular, a, n1, b, n2)
            for angular in range(self.max_angular + 1)
            for a in species
            for n1 in radial
            for b in species
            for n2 in radial
        ]
        return Layout([(key, properties) for key in keys])

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

    def _feature_name(self, key, labels):
        center = symbols(key)
        if self.invariant == "radial":
            return "|".join([*center, f"n={labels[0]}"])
        angular, a, n1, b, n2 = labels
        pair = ",".join(symbols([a, b]))
        return "|".join([*center, pair, f"l={angular}", f"n={n1},{n2}"])
