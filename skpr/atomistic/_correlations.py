"""Rotation invariants of density-coefficient products, with or without self-terms.

The order-``nu`` invariants of an environment are linear functionals of the
``nu``-fold tensor product of its one-particle coefficients
:math:`\\phi_{k}(\\mathbf r_{ij})` (``k = (a, l, m, n)``: neighbour species,
angular channel, its component, radial index).  Two tensors differ by which
neighbour tuples they sum over:

- self-interacting (ACE's density trick):
  :math:`\\prod_t A_{k_t}`, :math:`A_k = \\sum_j \\phi_k(\\mathbf r_{ij})`, a sum over
  all ``nu``-tuples of neighbours, repetitions included;
- purified: the same sum over tuples of pairwise distinct neighbours, by
  Moebius inversion over the set partitions :math:`\\pi` of the ``nu``
  positions (DESIGN section 3),

  .. math:: \\sum_{j_1 \\ne \\dots \\ne j_\\nu} \\prod_t \\phi_{k_t}(j_t) =
            \\sum_\\pi \\prod_{b \\in \\pi} (-1)^{|b|-1} (|b|-1)!\\,
            \\sum_j \\prod_{t \\in b} \\phi_{k_t}(j).

Both are contracted with the same couplings: for every multiset of labels
``(a, l, n)`` whose ``l`` add up to an even number (so that the invariant
does not change sign under reflection), the couplings of featomic's
Clebsch-Gordan coefficients along the chain ``((l_1 l_2) L_2 l_3) L_3 ...``
to total angular momentum 0, over every intermediate ``L`` (which spans all
rotation invariants of the product), symmetrized over the positions that
carry the same label and orthonormalized by an SVD (which removes the
linear dependencies).  The purified tensor is the self-interacting one with
the repeated-neighbour terms removed, so a purified order-``nu`` invariant
is exactly zero for a centre with fewer than ``nu`` neighbours.
"""

import functools
import itertools
import math

import numpy as np
from scipy import sparse

#: Entries of one ``(n_pairs, columns)`` temporary of the purified route; the
#: columns of the product tensor are processed in chunks of this many
#: entries, which bounds memory without changing any result.
CHUNK_ENTRIES = 2**20


@functools.lru_cache(maxsize=8)
def _clebsch_gordan(lambda_max):
    """featomic's real Clebsch-Gordan coefficients, ``{(l1, l2, L): array}``."""
    from featomic.clebsch_gordan import calculate_cg_coefficients

    tensor = calculate_cg_coefficients(
        lambda_max, "python-dense", "numpy", np.float64, "cpu"
    )
    return {
        tuple(int(v) for v in key.values): tensor.block(key).values[0, ..., 0]
        for key in tensor.keys
    }


def _couplings(angular):
    """Every invariant coupling of ``V_l1 x ... x V_lnu``, shape (n_paths, D)."""
    cg = _clebsch_gordan(max(1, sum(angular)))
    paths = [(angular[0], np.eye(2 * angular[0] + 1))]  # (L, tensor[..., M])
    for position, l_next in enumerate(angular[1:], start=1):
        remaining = sum(angular[position + 1 :])
        grown = []
        for total, tensor in paths:
            for new in range(abs(total - l_next), total + l_next + 1):
                if new > remaining:  # cannot come back to L = 0
                    continue
                coefficients = cg[(total, l_next, new)]
                grown.append(
                    (new, np.tensordot(tensor, coefficients, axes=([-1], [0])))
                )
        paths = grown
    vectors = [tensor.reshape(-1) for total, tensor in paths if total == 0]
    size = math.prod(2 * ell + 1 for ell in angular)
    return np.array(vectors).reshape(-1, size)


def _symmetrized_basis(labels):
    """Orthonormal invariant functionals of one sorted multiset of labels."""
    angular = [label[1] for label in labels]
    vectors = _couplings(angular)
    if len(vectors) == 0:
        return vectors
    dims = [2 * ell + 1 for ell in angular]
    nu = len(labels)
    # positions with the same label are interchangeable in the product
    swaps = [
        perm
        for perm in itertools.permutations(range(nu))
        if all(labels[p] == labels[q] for p, q in enumerate(perm))
    ]
    tensors = vectors.reshape(-1, *dims)
    symmetric = sum(
        np.transpose(tensors, (0, *(1 + p for p in perm))) for perm in swaps
    )
    symmetric = symmetric.reshape(len(vectors), -1)
    _, values, rows = np.linalg.svd(symmetric, full_matrices=False)
    if values.size == 0 or values[0] == 0:
        return rows[:0]
    return rows[values > 1e-10 * values[0]]


class CorrelationBasis:
    """The invariants of one correlation order, as index arrays and a sparse map.

    Parameters
    ----------
    nu : int
        Correlation order (number of neighbours in a product).
    n_species, max_radial, max_angular : int
        One-particle labels ``(a, l, n)`` with ``a < n_species``,
        ``l <= max_angular``, ``n <= max_radial``.
    column : callable
        ``column(a, l, m, n)``: the column of that one-particle coefficient.

    Attributes
    ----------
    indices : ndarray of int64, shape (n_products, nu)
        Columns of the one-particle coefficients multiplied in each product.
    coupling : scipy.sparse.csr_matrix, shape (n_products, n_invariants)
        Invariant ``q`` is ``sum_p coupling[p, q] * product_p``.
    names : list of str
        One name per invariant.
    """

    def __init__(self, nu, n_species, max_radial, max_angular, column, species_names):
        one_particle = [
            (a, ell, n)
            for a in range(n_species)
            for ell in range(max_angular + 1)
            for n in range(max_radial + 1)
        ]
        indices, rows, cols, values, names = [], [], [], [], []
        n_products = n_invariants = 0
        for labels in itertools.combinations_with_replacement(one_particle, nu):
            if sum(label[1] for label in labels) % 2:
                continue  # a pseudoscalar: changes sign under reflection
            basis = _symmetrized_basis(labels)
            if len(basis) == 0:
                continue
            components = itertools.product(
                *(range(-ell, ell + 1) for _, ell, _ in labels)
            )
            block = [
                [
                    column(a, ell, m, n)
                    for (a, ell, n), m in zip(labels, ms, strict=True)
                ]
                for ms in components
            ]
            indices += block
            product, invariant = np.nonzero(np.abs(basis.T) > 1e-14)
            rows.append(n_products + product)
            cols.append(n_invariants + invariant)
            values.append(basis.T[product, invariant])
            text = ",".join(f"{species_names[a]}:l{ell}n{n}" for a, ell, n in labels)
            names += [f"{text}#{q}" for q in range(len(basis))]
            n_products += len(block)
            n_invariants += len(basis)
        self.nu = nu
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1, nu)
        self.coupling = sparse.csr_matrix(
            (
                np.concatenate(values) if values else np.zeros(0),
                (
                    np.concatenate(rows) if rows else np.zeros(0, int),
                    np.concatenate(cols) if cols else np.zeros(0, int),
                ),
            ),
            shape=(n_products, n_invariants),
        )
        self.names = names

    @property
    def n_invariants(self):
        return self.coupling.shape[1]

    def self_interacting(self, density):
        """Invariants of products of the summed coefficients ``A`` (n_centers, K)."""
        out = np.zeros((density.shape[0], self.n_invariants))
        for part in _column_chunks(len(self.indices), density.shape[0]):
            product = np.prod(density[:, self.indices[part]], axis=2)
            out += np.asarray(product @ self.coupling[part])
        return out

    def purified(self, neighbors):
        """Invariants of sums over distinct neighbours only.

        The power sums :math:`S_b` of blocks with one position are the
        density ``A``; those of larger blocks are computed once per distinct
        (sorted) tuple of columns, which many products share.

        Parameters
        ----------
        neighbors : Neighbors
            The one-particle coefficients of every (centre, neighbour) pair.
        """
        pairs_t, n_pairs, n_centers = (
            neighbors.pairs_t,
            neighbors.n_pairs,
            neighbors.n_centers,
        )
        density = neighbors.sums(pairs_t)
        power_sums = {}  # block size -> (n_centers, n_tuples)
        for size, tuples in self._shared_tuples()[0].items():
            table = np.zeros((n_centers, len(tuples)))
            for part in _column_chunks(len(tuples), max(n_pairs, 1)):
                product = pairs_t[tuples[part, 0]]
                for t in range(1, size):
                    product *= pairs_t[tuples[part, t]]
                table[:, part] = neighbors.sums(product)
            power_sums[size] = table
        lookup = self._shared_tuples()[1]
        out = np.zeros((n_centers, self.n_invariants))
        for part in _column_chunks(len(self.indices), n_centers * self.nu):
            single = density[:, self.indices[part]]  # (n_centers, chunk, nu)
            distinct = np.zeros(single.shape[:2])
            for partition, weight in _weighted_partitions(self.nu):
                term = np.full(distinct.shape, float(weight))
                for b in partition:
                    if len(b) == 1:
                        term *= single[:, :, b[0]]
                    else:
                        term *= power_sums[len(b)][:, lookup[b][part]]
                distinct += term
            out += np.asarray(distinct @ self.coupling[part])
        return out

    def _shared_tuples(self):
        """Distinct sorted column tuples of every block size >= 2, and where
        each product's block ``b`` finds its tuple (cached)."""
        if getattr(self, "_tuples", None) is None:
            blocks = {
                b
                for partition, _ in _weighted_partitions(self.nu)
                for b in partition
                if len(b) > 1
            }
            tuples, lookup = {}, {}
            for size in sorted({len(b) for b in blocks}):
                of_size = [b for b in sorted(blocks) if len(b) == size]
                columns = [np.sort(self.indices[:, list(b)], axis=1) for b in of_size]
                unique, inverse = np.unique(
                    np.concatenate(columns), axis=0, return_inverse=True
                )
                tuples[size] = unique
                inverse = inverse.reshape(len(of_size), -1)
                lookup.update(zip(of_size, inverse, strict=True))
            self._tuples = (tuples, lookup)
        return self._tuples


class Neighbors:
    """One-particle coefficients of the pairs of a batch, sorted by centre.

    Parameters
    ----------
    pairs : ndarray of shape (n_pairs, K)
        One-particle coefficients of every (centre, neighbour) pair.
    center : ndarray of int64, shape (n_pairs,)
        The centre (row of the output) of each pair.
    n_centers : int
    """

    def __init__(self, pairs, center, n_centers):
        # transposed and sorted by centre: a tuple of columns gathers
        # contiguous rows, and a sum over neighbours is one reduceat
        order = np.argsort(center, kind="stable")
        self.pairs_t = np.ascontiguousarray(pairs[order].T)
        self.n_pairs = len(pairs)
        self.n_centers = n_centers
        self._centers, self._starts = np.unique(center[order], return_index=True)

    def sums(self, values_t):
        """Sums over the neighbours of each centre: (n, n_pairs) -> (n_centers, n)."""
        out = np.zeros((self.n_centers, len(values_t)))
        if self.n_pairs:
            out[self._centers] = np.add.reduceat(values_t, self._starts, axis=1).T
        return out


def _column_chunks(n_columns, n_rows):
    step = max(1, CHUNK_ENTRIES // max(1, n_rows))
    return [slice(start, start + step) for start in range(0, n_columns, step)]


@functools.lru_cache(maxsize=8)
def _weighted_partitions(nu):
    """Set partitions of ``range(nu)`` with their Moebius weights."""
    result = []
    for partition in _set_partitions(list(range(nu))):
        weight = math.prod(
            (-1) ** (len(b) - 1) * math.factorial(len(b) - 1) for b in partition
        )
        result.append((tuple(tuple(b) for b in partition), weight))
    return tuple(result)


def _set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for partition in _set_partitions(rest):
        yield [[first], *partition]
        for i in range(len(partition)):
            yield [*partition[:i], [first, *partition[i]], *partition[i + 1 :]]
