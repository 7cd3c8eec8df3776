"""Long-range LODE invariants without the atoms a short-range block already sees.

The LODE coefficients of the full potential, minus those of the potential of
the atoms within ``cutoff`` (a real-space expansion of the same smeared
``1/r^p`` density on the same basis, with a step cutoff), are the long-range
coefficients; invariants are built from them afterwards
(:mod:`skpr._range_separation` says why not from the invariants).

The real-space part needs featomic's ``SoapSpliner``, which integrates the
radial integral of a custom density with ``scipy.integrate.dblquad`` at
every spline point (minutes per set of hyperparameters here).
:class:`_QuadratureSpliner` computes the same integral with a fixed
Gauss-Legendre product rule, vectorized over the distances (about a second);
the splines are cached per set of hyperparameters and kept on the fitted
estimator, so that a fitted model pickles with them.
"""

import functools

import featomic
import numpy as np
import scipy.special

from skpr._invariants import separate_center_types
from skpr._range_separation import INVARIANTS, invariant_names, long_range_invariants
from skpr.atomistic._expansion import ExpansionTransformer
from skpr.atomistic._featomic import FeatomicTransformer, check_real
from skpr.atomistic._lode import LodeExpansion, _LodePotential
from skpr.atomistic._structures import symbols

#: Gauss-Legendre nodes of the radial integral: in r over the integration
#: radius of the basis, and in u = cos(angle).
_R_NODES, _U_NODES = 128, 64


class _QuadratureSpliner(featomic.splines.SoapSpliner):
    """featomic's ``SoapSpliner`` with the custom-density radial integral by quadrature.

    The integrand is featomic's own (its radial basis ``compute_primitive``,
    its density ``compute``, the Legendre polynomial of ``l``); only the
    integration changes, from an adaptive ``dblquad`` per distance to one
    product rule for all distances at once.
    """

    def _ri_custom_density(self, radial, angular, distances, derivative):
        basis = self.basis.radial_basis(angular)
        x, wx = np.polynomial.legendre.leggauss(_R_NODES)
        half = basis.integration_radius / 2
        r = half * (x + 1)
        weight_r = (
            half * wx * r**2 * basis.compute_primitive(r, radial, derivative=False)
        )
        u, wu = np.polynomial.legendre.leggauss(_U_NODES)
        weight_u = wu * scipy.special.eval_legendre(angular, u)
        d = np.asarray(distances, dtype=np.float64)[:, None, None]
        rr = r[None, :, None]
        argument = np.sqrt(rr**2 + d**2 - 2 * rr * d * u[None, None, :])
        values = self.density.compute(argument.ravel(), derivative=derivative)
        values = values.reshape(argument.shape)
        if derivative:
            values = values * (d - u * rr) / argument
        return 2 * np.pi * np.einsum("i,j,dij->d", weight_r, weight_u, values)


def _lode_basis(max_radial, max_angular, basis_radius):
    return featomic.basis.TensorProduct(
        max_angular=int(max_angular),
        radial=featomic.basis.Gto(
            max_radial=int(max_radial), radius=float(basis_radius)
        ),
    )


@functools.lru_cache(maxsize=16)
def short_range_hypers(
    cutoff, smearing, exponent, max_radial, max_angular, basis_radius
):
    """Hypers of featomic's ``SphericalExpansion`` for the atoms within ``cutoff``.

    The smeared ``1/r^p`` density of LODE (central atom included, as in
    ``LodeSphericalExpansion``), its GTO basis, a step cutoff; splined once
    per set of arguments (cached).

    Returns
    -------
    dict
        Keyword arguments of ``featomic.SphericalExpansion``.
    """
    spliner = _QuadratureSpliner(
        cutoff=featomic.cutoff.Cutoff(
            radius=float(cutoff), smoothing=featomic.cutoff.Step()
        ),
        density=featomic.density.SmearedPowerLaw(
            smearing=float(smearing), exponent=int(exponent)
        ),
        basis=_lode_basis(max_radial, max_angular, basis_radius),
    )
    return spliner.get_hypers()


class _ShortRangeLode(ExpansionTransformer):
    """Real-space expansion from given spline hypers, in the LODE column layout."""

    def __init__(self, hypers, *, max_radial, max_angular, species, pooling="sum"):
        self.hypers = hypers
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.species = species
        self.pooling = pooling

    def _calculator(self):
        return featomic.SphericalExpansion(**self.hypers)


class RangeSeparatedLode(_LodePotential, FeatomicTransformer):
    """LODE invariants of the potential of the atoms beyond a short-range cutoff.

    Around every atom ``i``, the LODE coefficients of the potential of all
    atoms (:class:`LodeExpansion`) minus those of the atoms within
    ``cutoff`` (the same smeared ``1/r^p`` density on the same basis,
    expanded in real space with a step cutoff),

    .. math:: V^{\\mathrm{LR}}_{i,anlm} = V_{i,anlm} - V^{r < r_c}_{i,anlm},

    then invariants of these coefficients: the power spectrum
    (:func:`power_spectrum`) or the ``l = 0`` channel
    (:func:`radial_spectrum`).  Next to a short-range descriptor with the
    same cutoff (``SoapPowerSpectrum(cutoff=...)``) the two blocks see
    disjoint sets of atoms, so their contributions can be told apart (paper
    section 5.2); ``separate=False`` keeps the full potential, with the same
    columns, the double-counting variant.  Combine with SOAP in a
    :class:`~sklearn.pipeline.FeatureUnion` named ``("sr", ...)`` and
    ``("lr", ...)``: the ``sr__`` / ``lr__`` prefixes make
    ``BlockRidge(blocks="names")`` give each range its own block.

    Parameters
    ----------
    cutoff : float, default=2.8
        Short-range cutoff ``r_c`` in Å: atoms closer than this to the centre
        are removed from the potential.
    separate : bool, default=True
        Subtract the short-range part; ``False`` gives the invariants of the
        full LODE potential.
    invariant : {"power_spectrum", "radial"}, default="power_spectrum"
    smearing : float, default=1.0
        Gaussian smearing of the atomic potentials, in Å.
    exponent : int, default=6
        ``p`` of the ``1/r^p`` potential (1 to 9).  With ``p = 1`` the
        ``l = 0`` channel carries the box-dependent offset of the Ewald
        background (see :class:`LodeDescriptor`), so the long-range block of
        an isolated molecule is not zero; with ``p >= 4`` the periodic images
        of a boxed molecule fall off fast enough that it is.
    max_radial : int, default=3
        Largest radial index of the GTO basis.
    max_angular : int, default=2
        Largest angular momentum of the expansion.
    basis_radius : float, default=4.0
        Radius of the GTO radial basis, in Å.
    k_cutoff : float or None, default=None
        Reciprocal-space cutoff in 1/Å; ``None`` is featomic's default
        ``1.2 pi / smearing``.  The separation is exact only to the accuracy
        of the reciprocal-space sum: raise it (e.g. to ``2 pi / smearing``)
        to make the long-range block of an isolated molecule smaller still.
    box : float or None, default=None
        Side in Å of the cubic box given to each non-periodic structure (a
        centred copy; the input is not changed).  ``None`` refuses
        non-periodic structures, as :class:`LodeDescriptor` does.
    species : None or list of str or int, default=None
        Elements that get columns; ``None`` learns them at fit.
    separate_center_types : bool, default=True
        Give each central element its own columns.
    pooling : {"sum", "mean"}, default="sum"
        ``"sum"`` for extensive targets (total energies; needed for force
        rows), ``"mean"`` for intensive ones.
    progress : bool, default=False
        Progress bars (tqdm, the extra ``progress``) over the calls to
        featomic, one per 64 structures, of the full and the short-range
        expansions.
    n_jobs : int or None, default=None
        Parts of the structures computed in parallel by joblib (processes),
        each a run of whole featomic calls of 64 structures, so that the
        numbers are those of a serial run.  ``None`` is 1 unless inside a
        ``joblib.parallel_config`` context (``backend="dask"`` sends the parts
        to a dask cluster); ``-1`` uses all cores.

    Attributes
    ----------
    species_ : ndarray of int64, shape (n_species,)
    short_range_hypers_ : dict
        The splined real-space expansion of the short-range potential
        (featomic ``SphericalExpansion`` hypers), built at fit (about a
        second, once per set of hyperparameters in a process); it pickles
        with the model.

    See Also
    --------
    skpr.RangeSeparator : the same on precomputed coefficient arrays.
    LodeDescriptor : LODE invariants of the full potential.

    Notes
    -----
    Position gradients are not offered (no force rows).  Cost: that of
    :class:`LodeExpansion` plus a real-space expansion within ``cutoff``.

    Examples
    --------
    >>> from ase.build import molecule
    >>> from skpr.atomistic import RangeSeparatedLode
    >>> water = [molecule("H2O")]  # every atom within 2.8 Å of the others
    >>> lode = RangeSeparatedLode(max_radial=1, max_angular=1, box=20.0)
    >>> X = lode.fit(water).transform(water)
    >>> X.shape  # 2 centre elements x 3 pairs x 2 l x 2 n1 x 2 n2
    (1, 48)
    >>> full = lode.set_params(separate=False).transform(water)
    >>> bool(abs(X).max() < 1e-6 * abs(full).max())
    True
    """

    def __init__(
        self,
        cutoff=2.8,
        *,
        separate=True,
        invariant="power_spectrum",
        smearing=1.0,
        exponent=6,
        max_radial=3,
        max_angular=2,
        basis_radius=4.0,
        k_cutoff=None,
        box=None,
        species=None,
        separate_center_types=True,
        pooling="sum",
        progress=False,
        n_jobs=None,
    ):
        self.cutoff = cutoff
        self.separate = separate
        self.invariant = invariant
        self.smearing = smearing
        self.exponent = exponent
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.basis_radius = basis_radius
        self.k_cutoff = k_cutoff
        self.box = box
        self.species = species
        self.separate_center_types = separate_center_types
        self.pooling = pooling
        self.progress = progress
        self.n_jobs = n_jobs

    def _check_params(self):
        super()._check_params()
        check_real(self.cutoff, "cutoff")
        if self.box is not None:
            check_real(self.box, "box")
        if self.invariant not in INVARIANTS:
            raise ValueError(
                f"invariant must be one of {INVARIANTS}, got {self.invariant!r}."
            )
        if not isinstance(self.separate, bool | np.bool_):
            raise ValueError(f"separate must be True or False, got {self.separate!r}.")

    def _boxed(self, structures):
        if self.box is None:
            return structures
        out = []
        for atoms in structures:
            if np.asarray(atoms.pbc).any():
                out.append(atoms)
                continue
            extent = np.ptp(atoms.positions, axis=0).max() if len(atoms) else 0.0
            if extent >= self.box:
                raise ValueError(
                    f"{type(self).__name__}: structure {atoms.get_chemical_formula()} "
                    f"spans {extent:.2f} Å, more than box={self.box} Å. Use a "
                    "larger box."
                )
            copy = atoms.copy()
            copy.calc = None
            copy.cell = np.eye(3) * float(self.box)
            copy.center()
            copy.pbc = True
            out.append(copy)
        return out

    def _check_input(self, structures):
        if self.box is None:
            for i, atoms in enumerate(structures):
                if not np.asarray(atoms.pbc).any():
                    raise ValueError(
                        f"{type(self).__name__} needs periodic structures for LODE, "
                        f"but structure {i} ({atoms.get_chemical_formula()}) is not "
                        "periodic. Pass box=25.0 (or another side in Å, larger than "
                        "the molecule plus its long-range reach) to put each "
                        "non-periodic structure in a cubic box; its periodic images "
                        "then enter the potential."
                    )
        super()._check_input(self._boxed(structures))

    def _check_computable(self):
        self._full(None)._check_computable()
        self.short_range_hypers_ = self._short_range_hypers()
        self._short_range_key = self._spline_key()

    def _spline_key(self):
        return (
            float(self.cutoff),
            float(self.smearing),
            int(self.exponent),
            int(self.max_radial),
            int(self.max_angular),
            float(self.basis_radius),
        )

    def _short_range_hypers(self):
        """The splines of the current hypers: kept from fit, or from the cache."""
        if getattr(self, "_short_range_key", None) == self._spline_key():
            return self.short_range_hypers_
        return short_range_hypers(*self._spline_key())

    def _full(self, species):
        return LodeExpansion(
            self.smearing,
            exponent=self.exponent,
            max_radial=self.max_radial,
            max_angular=self.max_angular,
            basis_radius=self.basis_radius,
            k_cutoff=self.k_cutoff,
            species=species,
            progress=self.progress,
        )

    def _local_features(self, structures):
        structures = self._boxed(structures)
        species = self.species_.tolist()
        full, _ = self._full(species).fit(structures).transform_local(structures)
        if self.separate:
            short = _ShortRangeLode(
                self._short_range_hypers(),
                max_radial=self.max_radial,
                max_angular=self.max_angular,
                species=species,
            )
            short.progress = self.progress
            short, _ = short.fit(structures).transform_local(structures)
        else:
            short = np.zeros_like(full)
        rows = long_range_invariants(
            full,
            short,
            separate=bool(self.separate),
            invariant=self.invariant,
            n_species=len(species),
            max_angular=self.max_angular,
        )
        if not self.separate_center_types:
            return rows
        numbers = np.concatenate([atoms.numbers for atoms in structures])
        return separate_center_types(rows, numbers, species=self.species_)

    def _feature_names(self):
        names = invariant_names(
            self.invariant,
            symbols(self.species_),
            self.max_angular,
            self.max_radial + 1,
        )
        if not self.separate_center_types:
            return names
        return [
            f"{center}|{name}" for center in symbols(self.species_) for name in names
        ]

    def _pooled_gradients(self, structures):
        raise NotImplementedError(
            "RangeSeparatedLode has no position gradients yet, so it gives no force "
            "rows: train it on energies only, or use LodeDescriptor for models "
            "with forces."
        )
