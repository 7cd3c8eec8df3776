"""Body-ordered invariants of atomic environments, self-interacting or purified."""

from collections.abc import Sequence
from numbers import Integral

import featomic
import numpy as np
import scipy.linalg

from skpr.atomistic import _featomic
from skpr.atomistic._correlations import CorrelationBasis, Neighbors
from skpr.atomistic._featomic import (
    FeatomicTransformer,
    check_integer,
    check_real,
    featomic_system,
)
from skpr.atomistic._structures import symbols

#: Largest correlation order (nu = 4: five-body terms).
MAX_ORDER = 4


class _Monomials(featomic.basis.Monomials):
    """featomic's monomials ``r^(l + 2n)``, orthonormalized without mixing degrees.

    featomic orthonormalizes a radial basis symmetrically (Loewdin), which
    mixes every degree into every function; Gram-Schmidt (the inverse
    Cholesky factor of the same Gram matrix) keeps function ``n`` a
    polynomial of degree ``l + 2n``, so that products of the first functions
    stay in the span of the first functions of a larger basis, which exact
    purification needs.  featomic 0.6.7 also evaluates the slope of ``r^0``
    at ``r = 0`` as ``0 * 0^-1`` (NaN), which its spliner refuses; it is 0.
    """

    def compute_primitive(self, positions, n, *, derivative):
        with np.errstate(divide="ignore", invalid="ignore"):
            values = super().compute_primitive(positions, n, derivative=derivative)
        return np.nan_to_num(values, nan=0.0)

    def _get_orthonormalization_matrix(self):
        cholesky = np.linalg.cholesky(self._get_gram_matrix())
        return scipy.linalg.solve_triangular(cholesky, np.eye(self.size), lower=True)


class BodyOrderFeatures(FeatomicTransformer):
    """Invariants of correlation order 1 to 4 (2- to 5-body), one block per order.

    The order-``nu`` invariants of atom ``i`` are rotation- and
    reflection-invariant contractions of products of ``nu`` one-particle
    functions :math:`\\phi_{anlm}(\\mathbf r_{ij}) = \\delta_{a, a_j}
    R_{nl}(r_{ij}) Y_{lm}(\\hat{\\mathbf r}_{ij})` of its neighbours ``j``
    (featomic's spherical expansion: summed over neighbours for
    ``purify=False``, per pair for ``purify=True``), coupled with featomic's
    Clebsch-Gordan coefficients to total angular momentum 0.  ``purify``
    chooses which neighbour tuples the products run over:

    - ``purify=False`` (self-interacting, as ACE codes and featomic's density
      correlations): products of the density coefficients
      :math:`A_{anlm} = \\sum_j \\phi_{anlm}(\\mathbf r_{ij})`, that is all
      ``nu``-tuples of neighbours, the same neighbour counted several times
      included; an order-``nu`` block then also describes fewer than
      ``nu + 1`` bodies;
    - ``purify=True``: tuples of pairwise distinct neighbours only (by
      Moebius inversion over set partitions), so the order-``nu`` block
      depends on ``nu + 1`` atoms at a time and is exactly zero for a centre
      with fewer than ``nu`` neighbours: a linear model on it is a true
      many-body expansion, its ``nu`` block the ``(nu + 1)``-body term.

    Both forms have the same columns, so comparing them is one parameter.
    Column names start with ``nu1__``, ``nu2__``, ...: with
    ``set_output(transform="pandas")``, ``BlockRidge(blocks="names")`` gives
    each body order its own block, its own ``alpha`` and its own component
    rigidity (paper section 5.1).

    Parameters
    ----------
    cutoff : float, default=4.0
        Radius of the atomic environments, in Å.
    max_order : int, default=4
        Highest correlation order ``nu`` (1 to 4).
    max_radial : int or sequence of int, default=(6, 4, 2, 1)
        Largest radial index per order (one value for all orders, or one per
        order ``1 .. max_order``): the number of invariants grows as
        ``(n_radial * n_angular)^nu``, so higher orders need smaller bases.
    max_angular : int or sequence of int, default=(0, 4, 2, 1)
        Largest angular momentum ``l`` per order (the first order only has
        ``l = 0`` invariants).
    purify : bool, default=True
        ``True``: sums over distinct neighbours only; ``False``:
        self-interacting products of density coefficients.
    radial_basis : {"gto", "monomials"}, default="gto"
        ``"gto"``: featomic's GTO radial functions with a Gaussian density of
        width ``atomic_gaussian_width`` (as SOAP).  ``"monomials"``:
        featomic's monomials :math:`r^{l+2n}`, orthonormalized on the cutoff
        sphere, with a point (Dirac) density, splined by featomic; with
        ``cutoff_width=0`` the one-particle functions are polynomials and
        their products stay in a larger basis of the same kind, so
        :class:`skpr.ACEPurifier` can purify these self-interacting features
        exactly (to the spline accuracy, about 1e-10).
    atomic_gaussian_width : float, default=0.3
        Width of the Gaussian on every neighbour, in Å (``"gto"`` only).
    cutoff_width : float, default=0.5
        Width of the shifted-cosine smoothing at the cutoff, in Å (0 is a hard
        cutoff).
    species : None or list of str or int, default=None
        Elements that get columns; ``None`` learns them at fit.
    pooling : {"sum", "mean"}, default="sum"
        How :meth:`transform` pools the per-atom rows.
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
    n_features_per_order_ : tuple of int
        Columns of each order's block (all central elements).

    See Also
    --------
    skpr.ACEPurifier : purification of precomputed self-interacting features.
    skpr.BlockOrthogonalizer : statistical orthogonalization of blocks.

    Notes
    -----
    Each central element has its own columns (the rows of an atom are zero
    outside its element's columns), ordered by order, then central element,
    then invariant.  The invariants of one sorted multiset of labels
    ``(a, l, n)`` with an even sum of ``l`` are every coupling path of the
    chain ``((l_1 l_2) L_2 l_3) ... -> 0``, symmetrized over positions with
    the same label and orthonormalized; invariant names list the labels.

    Cost: the self-interacting form costs ``O(n_atoms * n_products)`` after
    the expansion, the purified form ``O(n_pairs * n_products * B_nu)``
    with ``B_nu`` (1, 2, 5, 15) set partitions.  There are no position
    gradients (no force rows) yet.

    Examples
    --------
    >>> import numpy as np
    >>> from ase import Atoms
    >>> from skpr.atomistic import BodyOrderFeatures
    >>> trimer = Atoms("Si3", positions=[[0, 0, 0], [2.3, 0, 0], [1.0, 2.0, 0]])
    >>> dimer = trimer[:2]
    >>> features = BodyOrderFeatures(max_order=3, max_radial=2, max_angular=2)
    >>> X = features.fit([trimer]).transform([dimer, trimer])
    >>> features.n_features_per_order_
    (3, 18, 74)
    >>> names = features.get_feature_names_out()
    >>> str(names[3])
    'nu2__Si|Si:l0n0,Si:l0n0#0'
    >>> scale = np.abs(X).max()
    >>> bool(np.abs(X[0, 3:]).max() < 1e-12 * scale)  # a dimer: no 3-, 4-body terms
    True
    """

    def __init__(
        self,
        cutoff=4.0,
        *,
        max_order=4,
        max_radial=(6, 4, 2, 1),
        max_angular=(0, 4, 2, 1),
        purify=True,
        radial_basis="gto",
        atomic_gaussian_width=0.3,
        cutoff_width=0.5,
        species=None,
        pooling="sum",
        progress=False,
        n_jobs=None,
    ):
        self.cutoff = cutoff
        self.max_order = max_order
        self.max_radial = max_radial
        self.max_angular = max_angular
        self.purify = purify
        self.radial_basis = radial_basis
        self.atomic_gaussian_width = atomic_gaussian_width
        self.cutoff_width = cutoff_width
        self.species = species
        self.pooling = pooling
        self.progress = progress
        self.n_jobs = n_jobs

    # -- parameters -------------------------------------------------------

    def _check_params(self):
        super()._check_params()
        check_integer(self.max_order, "max_order", min_val=1, max_val=MAX_ORDER)
        self._per_order(self.max_radial, "max_radial")
        self._per_order(self.max_angular, "max_angular")
        check_real(self.cutoff, "cutoff")
        check_real(self.atomic_gaussian_width, "atomic_gaussian_width")
        check_real(self.cutoff_width, "cutoff_width", include_min=True)
        if self.cutoff_width >= self.cutoff:
            raise ValueError(
                f"cutoff_width ({self.cutoff_width}) must be smaller than cutoff "
                f"({self.cutoff}); it is the width of the smooth region that ends "
                "at the cutoff."
            )
        if not isinstance(self.purify, bool | np.bool_):
            raise ValueError(
                f"purify must be True (sums over distinct neighbours) or False "
                f"(self-interacting products), got {self.purify!r}."
            )
        if self.radial_basis not in ("gto", "monomials"):
            raise ValueError(
                f"radial_basis must be 'gto' or 'monomials', got {self.radial_basis!r}."
            )

    def _per_order(self, value, name):
        """One integer per order ``1 .. max_order`` from ``value``."""
        if isinstance(value, Integral) and not isinstance(value, bool):
            values = [value] * self.max_order
        elif isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
            values = list(value)
            if len(values) < self.max_order:
                raise ValueError(
                    f"{name} has {len(values)} values but max_order is "
                    f"{self.max_order}; give one integer, or one per order "
                    f"1..{self.max_order}."
                )
            values = values[: self.max_order]
        else:
            raise ValueError(
                f"{name} must be a non-negative integer or a sequence of them (one "
                f"per correlation order), got {value!r}."
            )
        for v in values:
            check_integer(v, name)
        return [int(v) for v in values]

    def _hypers(self):
        smoothing = (
            featomic.cutoff.ShiftedCosine(width=float(self.cutoff_width))
            if self.cutoff_width > 0
            else featomic.cutoff.Step()
        )
        cutoff = featomic.cutoff.Cutoff(radius=float(self.cutoff), smoothing=smoothing)
        max_radial = max(self._per_order(self.max_radial, "max_radial"))
        max_angular = max(self._per_order(self.max_angular, "max_angular"))
        if self.radial_basis == "gto":
            return {
                "cutoff": cutoff,
                "density": featomic.density.Gaussian(
                    width=float(self.atomic_gaussian_width), center_atom_weight=0.0
                ),
                "basis": featomic.basis.TensorProduct(
                    max_angular=max_angular,
                    radial=featomic.basis.Gto(
                        max_radial=max_radial, radius=float(self.cutoff)
                    ),
                ),
            }
        basis = featomic.basis.Explicit(
            by_angular={
                ell: _Monomials(
                    angular_channel=ell,
                    max_radial=max_radial,
                    radius=float(self.cutoff),
                )
                for ell in range(max_angular + 1)
            },
            spline_accuracy=1e-11,
        )
        spliner = featomic.splines.SoapSpliner(
            cutoff=cutoff,
            density=featomic.density.DiracDelta(center_atom_weight=0.0),
            basis=basis,
        )
        return spliner.get_hypers()

    def _calculator(self):
        # distinct-neighbour sums need every pair; products of A only the sums
        if self.purify:
            return featomic.SphericalExpansionByPair(**self._hypers())
        return featomic.SphericalExpansion(**self._hypers())

    def _computable_hint(self):
        return "Use a larger atomic_gaussian_width or a smaller max_radial."

    # -- features ---------------------------------------------------------

    def _dimensions(self):
        return (
            max(self._per_order(self.max_radial, "max_radial")) + 1,
            max(self._per_order(self.max_angular, "max_angular")) + 1,
        )

    def _bases(self):
        n_radial, n_angular = self._dimensions()
        n_species = len(self.species_)

        def column(a, ell, m, n):
            return ((a * n_angular**2) + ell * ell + ell + m) * n_radial + n

        names = symbols(self.species_)
        radial = self._per_order(self.max_radial, "max_radial")
        angular = self._per_order(self.max_angular, "max_angular")
        return [
            CorrelationBasis(
                nu, n_species, radial[nu - 1], angular[nu - 1], column, names
            )
            for nu in range(1, self.max_order + 1)
        ]

    def fit(self, X, y=None):
        """Fix the species list and the invariants of every order.

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
        super().fit(X, y)
        self.n_features_per_order_ = tuple(
            len(self.species_) * basis.n_invariants for basis in self._bases()
        )
        return self

    def _feature_names(self):
        centers = symbols(self.species_)
        return [
            f"nu{basis.nu}__{center}|{name}"
            for basis in self._bases()
            for center in centers
            for name in basis.names
        ]

    def _local_features(self, structures):
        bases = self._bases()
        n_species = len(self.species_)
        n_radial, n_angular = self._dimensions()
        n_columns = n_species * n_angular**2 * n_radial
        species_position = {int(z): a for a, z in enumerate(self.species_)}
        counts = np.array([len(atoms) for atoms in structures])
        first_atom = np.concatenate([[0], np.cumsum(counts)])
        n_atoms = int(first_atom[-1])
        numbers = np.concatenate([atoms.numbers for atoms in structures])
        center_slot = np.array([species_position[int(z)] for z in numbers])
        widths = [basis.n_invariants for basis in bases]
        starts = np.concatenate([[0], np.cumsum(np.multiply(widths, n_species))])
        out = np.zeros((n_atoms, int(starts[-1])))
        calculator = self._calculator()
        per_call = _featomic.STRUCTURES_PER_CALL
        for start in self._calls(len(structures)):
            chunk = structures[start : start + per_call]
            lo, hi = first_atom[start], first_atom[start + len(chunk)]
            n_centers = int(hi - lo)
            if self.purify:
                pairs, center = self._pairs(
                    calculator,
                    chunk,
                    first_atom[start:],
                    n_columns,
                    n_radial,
                    n_angular,
                )
                neighbors = Neighbors(pairs, center - lo, n_centers)
            else:
                density = self._density(
                    calculator,
                    chunk,
                    first_atom[start:] - lo,
                    n_columns,
                    n_radial,
                    n_angular,
                )
            for basis, offset, width in zip(bases, starts, widths, strict=False):
                if self.purify:
                    values = basis.purified(neighbors)
                else:
                    values = basis.self_interacting(density)
                rows = np.arange(lo, hi)
                columns = offset + center_slot[lo:hi, None] * width + np.arange(width)
                out[rows[:, None], columns] = values
        return out

    def _density(self, calculator, chunk, first_atom, n_columns, n_radial, n_angular):
        """Summed one-particle coefficients ``A`` (n_centers, n_columns) of a call."""
        tensor = calculator.compute([featomic_system(atoms) for atoms in chunk])
        species_position = {int(z): a for a, z in enumerate(self.species_)}
        density = np.zeros((int(first_atom[len(chunk)]), n_columns))
        for key, block in tensor.items():
            a = species_position[int(key["neighbor_type"])]
            ell = int(key["o3_lambda"])
            samples = block.samples.values
            rows = first_atom[samples[:, 0]] + samples[:, 1]
            columns = _columns(block, a, ell, n_radial, n_angular)
            density[rows[:, None], columns.reshape(-1)] = block.values.reshape(
                len(rows), columns.size
            )
        return density

    def _pairs(self, calculator, chunk, first_atom, n_columns, n_radial, n_angular):
        """One-particle coefficients of every (centre, neighbour) pair of a call.

        Returns ``pairs`` (n_pairs, n_columns), zero outside the neighbour's
        species columns, and ``center`` (global atom index of the centre).
        """
        tensor = calculator.compute([featomic_system(atoms) for atoms in chunk])
        species_position = {int(z): a for a, z in enumerate(self.species_)}
        # every angular block of one (centre type, neighbour type) pair of
        # elements holds the same pairs of atoms, in the same order
        groups = {}
        for key, block in tensor.items():
            types = (int(key["first_atom_type"]), int(key["second_atom_type"]))
            groups.setdefault(types, []).append((int(key["o3_lambda"]), block))
        pieces, centers = [], []
        for (_, neighbor), blocks in groups.items():
            a = species_position[neighbor]
            kept = [(ell, block, _pair_samples(block)) for ell, block in blocks]
            samples = kept[0][2][0]
            piece = np.zeros((len(samples), n_columns))
            for ell, block, (block_samples, keep) in kept:
                if not np.array_equal(block_samples, samples):
                    raise RuntimeError(  # pragma: no cover - a featomic change
                        "featomic returned different pairs for the angular channels "
                        "of one pair of elements; this featomic version is not "
                        "supported, please report it."
                    )
                columns = _columns(block, a, ell, n_radial, n_angular).reshape(-1)
                values = block.values.reshape(len(keep), columns.size)
                if not keep.all():
                    values = values[keep]
                if len(piece) == 0:
                    continue
                if np.array_equal(columns, np.arange(columns[0], columns[-1] + 1)):
                    piece[:, columns[0] : columns[-1] + 1] = values  # contiguous
                else:  # pragma: no cover - featomic orders m and n
                    piece[:, columns] = values
            pieces.append(piece)
            centers.append(first_atom[samples[:, 0]] + samples[:, 1])
        if not pieces:
            return np.zeros((0, n_columns)), np.zeros(0, dtype=np.int64)
        return np.concatenate(pieces), np.concatenate(centers)

    def _pooled_gradients(self, structures):
        raise NotImplementedError(
            "BodyOrderFeatures has no position gradients yet, so it gives no force "
            "rows: train it on energies only, or use SoapPowerSpectrum for models "
            "with forces."
        )


def _pair_samples(block):
    """The samples of a per-pair block without the centre itself, and their mask."""
    samples = block.samples.values
    keep = ~((samples[:, 1] == samples[:, 2]) & np.all(samples[:, 3:] == 0, axis=1))
    return samples[keep], keep


def _columns(block, a, ell, n_radial, n_angular):
    """Dense column of every (m, n) value of one block of neighbour species ``a``."""
    m = block.components[0].values[:, 0]
    n = block.properties.values[:, 0]
    return (a * n_angular**2 + ell * ell + ell + m)[:, None] * n_radial + n
