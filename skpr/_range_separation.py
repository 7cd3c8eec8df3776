"""Range separation of a short-range block and a long-range (LODE) block.

A LODE expansion around atom ``i`` sees every atom, the neighbours within
the short-range cutoff included, so a model on [SOAP | LODE] counts the near
atoms twice and cannot tell its two blocks apart.  The long-range part of
the potential is the full potential minus the potential of the atoms within
the cutoff; both are linear in the atom density, so the subtraction is done
on the expansion **coefficients**,

.. math:: V^{\\mathrm{LR}}_{nlm} = V_{nlm} - V^{\\mathrm{SR}}_{nlm},

and the invariants are built afterwards.  Subtracting invariants instead is
wrong: a power spectrum is quadratic, and

.. math:: \\mathrm{PS}(V - V^{\\mathrm{SR}}) = \\mathrm{PS}(V)
          - \\mathrm{PS}(V, V^{\\mathrm{SR}}) - \\mathrm{PS}(V^{\\mathrm{SR}}, V)
          + \\mathrm{PS}(V^{\\mathrm{SR}}),

not ``PS(V) - PS(V^SR)``.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, check_scalar, validate_data

from skpr._invariants import power_spectrum, radial_spectrum
from skpr._orthogonalization import _input_names

INVARIANTS = ("power_spectrum", "radial")


def invariant_names(invariant, species, max_angular, n_radial):
    """Names of the invariant columns, in the order of :mod:`skpr._invariants`.

    Parameters
    ----------
    invariant : {"power_spectrum", "radial"}
    species : list of str
        Names of the neighbour species, in column order.
    max_angular, n_radial : int

    Returns
    -------
    list of str
    """
    if invariant == "radial":
        return [f"{a}|n={n}" for a in species for n in range(n_radial)]
    first, second = np.triu_indices(len(species))
    return [
        f"{species[a]}|{species[b]}|l={ell}|n1={n1}|n2={n2}"
        for a, b in zip(first, second, strict=True)
        for ell in range(max_angular + 1)
        for n1 in range(n_radial)
        for n2 in range(n_radial)
    ]


def long_range_invariants(full, short, *, separate, invariant, n_species, max_angular):
    """Invariants of ``full - short`` (``separate``) or of ``full`` alone.

    Parameters
    ----------
    full, short : ndarray of shape (n_atoms, n_coefficients)
        LODE coefficients of all atoms, and of the atoms within the
        short-range cutoff, in the ``(l, a, m, n)`` layout of
        :class:`skpr.atomistic.LodeExpansion`.
    separate : bool
    invariant : {"power_spectrum", "radial"}
    n_species, max_angular : int

    Returns
    -------
    ndarray of shape (n_atoms, n_invariants)
    """
    coefficients = full - short if separate else full
    if invariant == "radial":
        return radial_spectrum(
            coefficients, n_species=n_species, max_angular=max_angular
        )
    return power_spectrum(coefficients, n_species=n_species, max_angular=max_angular)


class RangeSeparator(TransformerMixin, BaseEstimator):
    """Short-range block plus invariants of the long-range LODE coefficients.

    Input columns, per atomic environment (the columns of
    ``transform_local`` of each part, side by side)::

        [ short-range block | LODE coefficients V | short-range LODE coefficients V_SR ]

    ``V`` and ``V_SR`` are expansions of the same potential on the same
    basis (species, ``max_angular``, ``max_radial``, radius), in the
    ``(l, a, m, n)`` layout of :class:`skpr.atomistic.LodeExpansion`;
    ``V_SR`` is that of the atoms within the short-range cutoff only
    (featomic's ``SoapSpliner`` with the LODE density and a step cutoff, as
    :class:`skpr.atomistic.RangeSeparatedLode` computes it).  The output is::

        [ short-range block (sr__) | invariants of V - V_SR (lr__) ]

    The subtraction is on the coefficients, before the invariants are built
    (see the module notes: subtracting power spectra would be wrong).
    ``separate=False`` gives the invariants of ``V`` itself with the same
    columns, the double-counting variant, so the comparison is one
    parameter.

    Parameters
    ----------
    n_short_range : int
        Number of columns of the short-range block (e.g. SOAP), first.
    n_species : int
        Neighbour species of the LODE expansions.
    max_angular : int
        Largest ``l`` of the LODE expansions.
    max_radial : int
        Largest radial index of the LODE expansions (``max_radial + 1``
        radial functions).
    invariant : {"power_spectrum", "radial"}, default="power_spectrum"
        The long-range invariants: the power spectrum of the coefficients
        (:func:`skpr.atomistic.power_spectrum`), or their ``l = 0`` channel
        (:func:`skpr.atomistic.radial_spectrum`).
    separate : bool, default=True
        Subtract ``V_SR`` before the invariants; ``False`` ignores it.
    species : None or list of str, default=None
        Names of the species for the output column names; ``None`` uses
        ``a0, a1, ...``.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when ``X`` has column names.
    n_coefficients_ : int
        Columns of each LODE part.

    See Also
    --------
    skpr.atomistic.RangeSeparatedLode : the same from ``ase.Atoms``, with
        featomic computing both expansions.

    Notes
    -----
    Cost of ``transform``: that of the power spectrum,
    ``O(n_rows * n_species^2 * (max_angular + 1)^2 * n_radial^2)``.
    Nothing is learnt from the data at ``fit``: it checks the layout.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import RangeSeparator
    >>> rng = np.random.default_rng(0)
    >>> full = rng.normal(size=(5, 8))  # 2 species, l <= 1, one radial function
    >>> X = np.hstack([rng.normal(size=(5, 3)), full, full])
    >>> separator = RangeSeparator(3, n_species=2, max_angular=1, max_radial=0)
    >>> out = separator.fit_transform(X)  # every atom within the cutoff
    >>> out.shape, bool(np.all(out[:, 3:] == 0))
    ((5, 9), True)
    >>> [str(name) for name in separator.get_feature_names_out()[3:5]]
    ['lr__a0|a0|l=0|n1=0|n2=0', 'lr__a0|a0|l=1|n1=0|n2=0']
    """

    def __init__(
        self,
        n_short_range,
        *,
        n_species,
        max_angular,
        max_radial,
        invariant="power_spectrum",
        separate=True,
        species=None,
    ):
        self.n_short_range = n_short_range
        self.n_species = n_species
        self.max_angular = max_angular
        self.max_radial = max_radial
        self.invariant = invariant
        self.separate = separate
        self.species = species

    def _check_params(self):
        check_scalar(self.n_short_range, "n_short_range", Integral, min_val=0)
        check_scalar(self.n_species, "n_species", Integral, min_val=1)
        check_scalar(self.max_angular, "max_angular", Integral, min_val=0)
        check_scalar(self.max_radial, "max_radial", Integral, min_val=0)
        if self.invariant not in INVARIANTS:
            raise ValueError(
                f"invariant must be one of {INVARIANTS}, got {self.invariant!r}."
            )
        if not isinstance(self.separate, bool | np.bool_):
            raise ValueError(f"separate must be True or False, got {self.separate!r}.")
        if self.species is not None and len(self.species) != self.n_species:
            raise ValueError(
                f"species names {list(self.species)!r} do not match "
                f"n_species={self.n_species}: give one name per species."
            )

    def _n_coefficients(self):
        return self.n_species * (self.max_angular + 1) ** 2 * (self.max_radial + 1)

    def _check_layout(self, n_features):
        k = self._n_coefficients()
        expected = self.n_short_range + 2 * k
        if n_features == expected:
            return
        hint = ""
        rest = n_features - self.n_short_range
        if rest > 0 and rest % 2 == 0 and rest // 2 != k:
            hint = (
                f" The two LODE parts would have {rest // 2} columns each: check "
                "n_species, max_angular and max_radial against the expansions."
            )
        elif rest > 0 and rest % 2 == 1:
            hint = (
                " The LODE and short-range LODE parts cannot have the same number "
                "of columns: they must be expansions on the same basis."
            )
        raise ValueError(
            f"X has {n_features} columns, but [short-range block "
            f"({self.n_short_range}) | LODE coefficients ({k}) | short-range LODE "
            f"coefficients ({k})] needs {expected}: n_species={self.n_species} x "
            f"(max_angular + 1)^2={(self.max_angular + 1) ** 2} x "
            f"(max_radial + 1)={self.max_radial + 1} per LODE part.{hint}"
        )

    def fit(self, X, y=None):
        """Check the column layout.

        Parameters
        ----------
        X : array-like of shape (n_environments, n_features)
        y : None
            Ignored.

        Returns
        -------
        self
        """
        self._check_params()
        X = validate_data(self, X, dtype=np.float64)
        self._check_layout(X.shape[1])
        self.n_coefficients_ = self._n_coefficients()
        return self

    def transform(self, X):
        """Short-range block, then the long-range invariants.

        Parameters
        ----------
        X : array-like of shape (n_environments, n_features)

        Returns
        -------
        ndarray of shape (n_environments, n_short_range + n_invariants)
        """
        check_is_fitted(self, "n_coefficients_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        s, k = self.n_short_range, self.n_coefficients_
        long_range = long_range_invariants(
            X[:, s : s + k],
            X[:, s + k :],
            separate=bool(self.separate),
            invariant=self.invariant,
            n_species=self.n_species,
            max_angular=self.max_angular,
        )
        return np.hstack([X[:, :s], long_range])

    def get_feature_names_out(self, input_features=None):
        """``sr__`` + the short-range input names, then ``lr__`` invariant names.

        Parameters
        ----------
        input_features : None or array-like of str

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "n_coefficients_")
        names = _input_names(self, input_features)[: self.n_short_range]
        short = [n if str(n).startswith("sr__") else f"sr__{n}" for n in names]
        species = self.species or [f"a{a}" for a in range(self.n_species)]
        long = invariant_names(
            self.invariant, list(species), self.max_angular, self.max_radial + 1
        )
        return np.array(short + [f"lr__{n}" for n in long], dtype=object)
