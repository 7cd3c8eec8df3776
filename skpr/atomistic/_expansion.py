"""Per-atom density expansion coefficients in one dense column layout.

:class:`SphericalExpansion` (the real-space neighbour density of SOAP) and
:class:`LodeExpansion` (the long-range potential of LODE) return the
coefficients :math:`c^a_{i,nlm}` of the density of neighbours of species
``a`` around atom ``i`` on radial functions ``n`` and real spherical
harmonics ``(l, m)``.  Columns are ordered by ``(l, a, m, n)``, ``n``
fastest:

- ``l = 0 .. max_angular`` outermost, so each angular channel is one
  contiguous slice of ``n_species * (2 l + 1) * n_radial`` columns (what a
  Clebsch-Gordan product takes), starting at column
  ``n_species * l**2 * n_radial``;
- ``a``: neighbour species in the order of ``species_`` (sorted atomic
  numbers);
- ``m = -l .. l``, then ``n = 0 .. max_radial`` (featomic's own order of a
  block's components and properties).

With ``S`` species, ``N = max_radial + 1`` and ``L = max_angular + 1`` there
are ``S * L**2 * N`` columns.  The central atom's species is not a column
dimension: it is the atom's own ``atoms.numbers`` entry (see
:func:`separate_center_types`).
"""

import numpy as np

from skpr.atomistic._featomic import FeatomicTransformer, Layout
from skpr.atomistic._structures import symbols


class ExpansionTransformer(FeatomicTransformer):
    """Density coefficients in the ``(l, a, m, n)`` layout (not public).

    Subclasses provide ``_calculator()`` (a featomic spherical expansion,
    keys ``(o3_lambda, o3_sigma, center_type, neighbor_type)``, components
    ``o3_mu``, properties ``n``) and the parameters ``max_radial``,
    ``max_angular``, ``species`` and ``pooling``.
    """

    def _layout(self):
        radial = range(self.max_radial + 1)
        blocks = []
        for angular in range(self.max_angular + 1):
            labels = [(m, n) for m in range(-angular, angular + 1) for n in radial]
            blocks += [((angular, a), labels) for a in self.species_.tolist()]
        return Layout(blocks)

    def _column_key(self, key):
        return (key["o3_lambda"], key["neighbor_type"])

    def _block_labels(self, block):
        m = block.components[0].values[:, 0]
        n = block.properties.values[:, 0]
        return np.stack(np.meshgrid(m, n, indexing="ij"), axis=-1).reshape(-1, 2)

    def _feature_name(self, key, labels):
        angular, neighbor = key
        m, n = labels
        return f"l={angular}|{symbols([neighbor])[0]}|m={m}|n={n}"
