"""The real-space neighbour density: its coefficients and its SOAP power spectrum.

:class:`SphericalExpansion` and :class:`SoapPowerSpectrum` share the
hyperparameters of the density (cutoff, Gaussian width, GTO basis); the
power spectrum is computed by featomic's own ``SoapPowerSpectrum``, not from
the coefficients, so the two are independent computations of the same
invariants (see :func:`power_spectrum`).
"""

import featomic

from skpr.atomistic._expansion import ExpansionTransformer
from skpr.atomistic._featomic import (
    FeatomicTransformer,
    Layout,
    check_integer,
    check_real,
)
from skpr.atomistic._structures import symbols

_COMPUTABLE_HINT = (
    "The radial integral fails for a narrow atomic_gaussian_width over a long "
    "cutoff, and the GTO overlap matrix becomes singular for a large "
    "max_radial: use a larger atomic_gaussian_width, a smaller cutoff or a "
    "smaller max_radial."
)


class _SoapDensity:
    """Hyperparameters of the real-space density, shared by both classes."""

    def _check_params(self):
        super()._check_params()
        check_integer(self.max_radial, "max_radial")
        check_integer(self.max_angular, "max_angular")
        check_real(self.cutoff, "cutoff")
        check_real(self.atomic_gaussian_width, "atomic_gaussian_width")
        check_real(self.cutoff_width, "cutoff_width", include_min=True)
        check_real(self.center_atom_weight, "center_atom_weight", include_min=True)
        if self.cutoff_width >= self.cutoff:
            raise ValueError(
                f"cutoff_width ({self.cutoff_width}) must be smaller than cutoff "
                f"({self.cutoff}); it is the width of the smooth region that ends "
                "at the cutoff."
            )

    def _computable_hint(self):
        return _COMPUTABLE_HINT

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


class SphericalExpansion(_SoapDensity, ExpansionTransformer):
    """Coefficients of the neighbour density of every atom (SOAP's expansion).

    Around every atom ``i``, the density of neighbours of species ``a``
    within the cutoff, each a Gaussian of width ``atomic_gaussian_width``
    smoothly switched off at the cutoff, expanded on GTO radial functions
    and real spherical harmonics (featomic's ``SphericalExpansion``):

    .. math:: c^a_{i,nlm} = \\sum_{j \\in a,\\ r_{ij} < r_c} f_c(r_{ij})
              \\int g(\\mathbf r - \\mathbf r_{ij})\\, R_{nl}(r)\\,
              Y_{lm}(\\hat{\\mathbf r})\\, d\\mathbf r.

    The coefficients are rotation covariant (each ``l`` channel turns with
    the Wigner matrix of order ``l``), not invariant: build invariants from
    the per-atom rows of :meth:`transform_local` with :func:`power_spectrum`
    (which equals :class:`SoapPowerSpectrum`) or :func:`radial_spectrum`,
    after any operation on the coefficients themselves (such as removing the
    short-range part of a LODE density).  :meth:`transform` sums them per
    structure, :meth:`transform_gradients` differentiates that sum.

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
        cutoff).
    center_atom_weight : float, default=1.0
        Weight of the central atom's own Gaussian in its density.
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
        Sorted atomic numbers that have columns.

    See Also
    --------
    power_spectrum, radial_spectrum : invariants of the coefficients.
    LodeExpansion : the same layout for the LODE potential.

    Notes
    -----
    Columns are ordered by ``(l, a, m, n)`` with ``n`` fastest, ``a`` the
    neighbour species in the order of ``species_``: with ``S`` species,
    ``N = max_radial + 1`` and ``L = max_angular + 1`` there are
    ``S L^2 N`` columns, and the ``l`` channel is the slice starting at
    column ``S l^2 N`` of length ``S (2 l + 1) N``.  The central atom's
    species is not a column; use :func:`separate_center_types` on the
    invariants for per-element columns.  Featomic's real spherical
    harmonics order ``m = -1, 0, 1`` as ``y, z, x``.

    Cost: ``O(n_atoms * n_neighbours * N L^2)``.

    Examples
    --------
    >>> from ase.build import molecule
    >>> from skpr.atomistic import SphericalExpansion
    >>> structures = [molecule("H2O"), molecule("CH4")]
    >>> expansion = SphericalExpansion(cutoff=3.0, max_radial=2, max_angular=2)
    >>> coefficients, structure_index = expansion.fit(structures).transform_local(
    ...     structures
    ... )
    >>> coefficients.shape  # 3 species x 9 (l, m) x 3 n
    (8, 81)
    >>> [str(name) for name in expansion.get_feature_names_out()[[0, 9, 10]]]
    ['l=0|H|m=0|n=0', 'l=1|H|m=-1|n=0', 'l=1|H|m=-1|n=1']
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
        pooling="sum",
        progress=False,
        n_jobs=None,
    ):
        self.cutoff = cutoff
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.atomic_gaussian_width = atomic_gaussian_width
        self.cutoff_width = cutoff_width
        self.center_atom_weight = center_atom_weight
        self.species = species
        self.pooling = pooling
        self.progress = progress
        self.n_jobs = n_jobs

    def _calculator(self):
        return featomic.SphericalExpansion(**self._hypers())


class SoapPowerSpectrum(_SoapDensity, FeatomicTransformer):
    """SOAP power spectrum of each structure, summed (or averaged) over its atoms.

    The rotation-invariant three-body descriptor of every atomic environment
    (Bartók, Kondor and Csányi, Phys. Rev. B 87, 184115, 2013), computed by
    featomic, then pooled per structure:

    .. math:: X_A = \\sum_{i \\in A} p_i, \\qquad
              p_i^{ab}(l, n_1, n_2) = c_{ab} \\frac{(-1)^l}{\\sqrt{2l+1}}\\,
              \\sum_m \\rho^{a}_{i, n_1 l m}\\, \\rho^{b}_{i, n_2 l m}

    where :math:`\\rho^a_{i,nlm}` is the expansion of the Gaussian-smeared
    density of neighbours of species ``a`` around atom ``i``
    (:class:`SphericalExpansion`), and :math:`c_{ab} = \\sqrt 2` for
    ``a != b`` (featomic keeps only ``a <= b``), 1 otherwise.  A linear model
    on ``X_A`` is a sum of atomic energies linear in ``p_i``, so
    :meth:`transform_local` gives the rows of its local prediction rigidity.

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
        Sorted atomic numbers that have columns.

    Raises
    ------
    ValueError
        At fit, for hyperparameters featomic cannot compute with (NaN or
        infinite values, a radial integral that fails).

    See Also
    --------
    LodeDescriptor : long-range (LODE) invariants.
    CompositionFeatures : atom counts per element.
    SphericalExpansion, power_spectrum : the same invariants from the
        coefficients.
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
        progress=False,
        n_jobs=None,
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
        self.progress = progress
        self.n_jobs = n_jobs

    def _calculator(self):
        return featomic.SoapPowerSpectrum(**self._hypers())

    def _layout(self):
        species = self.species_.tolist()
        pairs = [(a, b) for i, a in enumerate(species) for b in species[i:]]
        if self.separate_center_types:
            keys = [(c, a, b) for c in species for a, b in pairs]
        else:
            keys = pairs
        radial = range(self.max_radial + 1)
        properties = [
            (angular, n1, n2)
            for angular in range(self.max_angular + 1)
            for n1 in radial
            for n2 in radial
        ]
        return Layout([(key, properties) for key in keys])

    def _column_key(self, key):
        pair = (key["neighbor_1_type"], key["neighbor_2_type"])
        return (key["center_type"], *pair) if self.separate_center_types else pair

    def _feature_name(self, key, labels):
        *center, a, b = symbols(key)
        angular, n1, n2 = labels
        return "|".join([*center, f"{a},{b}", f"l={angular}", f"n={n1},{n2}"])
