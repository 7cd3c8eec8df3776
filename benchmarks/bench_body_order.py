"""Benchmark ``BodyOrderFeatures`` (body-ordered invariants) against featomic's SOAP.

Two silicon workloads, both with ``cutoff=4.0``:

(a) 1000 pentamers: the 800 pentamers of ``load_silicon_clusters()``
    (``kind == "pentamer"``, counted) plus 200 copies of the first 200 with
    every position displaced by a normal deviate of 0.05 Å
    (``np.random.default_rng(0)``), non-periodic; 5000 atoms, each with at
    most 4 neighbours;
(b) 100 periodic 64-atom diamond cells (``bulk("Si", "diamond", a=5.43,
    cubic=True).repeat(2)``), positions displaced in the same way with
    ``np.random.default_rng(1)``; 6400 atoms with 16 neighbours each.

For each workload one timing run (every repeat runs every candidate, in an
order rotated from one repeat to the next, after one untimed warm-up call of
each; median and minimum wall time) of ``Estimator(...).fit(S).transform(S)``
(pooled rows; ``fit`` learns the species and builds the invariant bases) for:

- the peer: ``SoapPowerSpectrum(cutoff=4.0, max_radial=4, max_angular=4,
  center_atom_weight=0.0)``, featomic's SOAP power spectrum (nu = 2) with the
  density of ``BodyOrderFeatures``' nu = 2 block: ``n <= 4``, ``l <= 4``,
  Gaussian width 0.3 Å, shifted-cosine cutoff width 0.5 Å, no central-atom
  Gaussian;
- featomic's ``SphericalExpansionByPair`` alone with the hyperparameters
  ``BodyOrderFeatures`` uses by default (GTO ``max_radial=6``,
  ``max_angular=4``), called on 64 structures at a time as skpr does: the
  per-pair expansion every purified ``BodyOrderFeatures`` call starts from
  (the self-interacting form starts from featomic's summed
  ``SphericalExpansion`` instead);
- ``BodyOrderFeatures(max_order=k, purify=False)`` (self-interacting) and
  ``BodyOrderFeatures(max_order=k, purify=True)`` (purified) for
  ``k = 1 .. 4`` with the default bases (``max_radial=(6, 4, 2, 1)``,
  ``max_angular=(0, 4, 2, 1)``, so the orders up to 4 have 7, 75, 74 and 20
  invariants); the time of order ``nu`` alone is the difference of
  consecutive ``max_order`` (``max_order=1`` expands the channel ``l = 0``
  only, so the order-2 difference includes the ``l <= 4`` channels of the
  expansion);
- ``BodyOrderFeatures(max_order=2, max_radial=4, max_angular=4,
  purify=False)``: the nu = 2 self-interacting block on exactly the SOAP
  peer's basis.

The ratio column is ``SOAP power spectrum time / this`` (above 1: faster than
the peer).  The first table compares the nu = 2 blocks and the full nu <= 4
with the peer, the second gives the breakdown by order.

Checks (outside the timings, on the per-atom rows of ``transform_local``):

- span: the nu = 2 self-interacting block on the peer's basis and the SOAP
  rows span the same space: least squares of each onto the other, relative
  residual ``||A - B B^+ A||_F / ||A||_F`` below 1e-8 both ways.  This holds
  only on the same radial basis: featomic's GTO widths depend on the number
  of radial functions and featomic orthonormalizes them symmetrically, so the
  5 functions ``n <= 4`` of the default 7-function basis are other functions
  than those of a 5-function basis; the default nu = 2 block lies instead in
  the span of ``SoapPowerSpectrum(max_radial=6, max_angular=4,
  center_atom_weight=0)``, which is checked as well (a central-atom Gaussian
  would add terms linear in the neighbour density: no match either);
- body order (pentamers, purified ``max_order=4``): the order-``nu`` row of
  an atom equals the sum of its order-``nu`` rows in every ``(nu + 1)``-atom
  sub-cluster containing it (the 10 trimers and 5 tetramers of each of the
  first 20 pentamers, for nu = 2, 3), as a sum over distinct neighbours
  must; the self-interacting form fails this by design (shown for contrast);
- every ``max_order=k`` output equals the first columns of ``max_order=4``
  (the blocks of an order do not depend on ``max_order``); finite values.

Memory: in a child process with ``MALLOC_MMAP_THRESHOLD_`` fixed (every large
buffer mapped on its own, so that the kernel's resident peak ``VmHWM``, reset
through ``/proc/self/clear_refs``, sees it; Linux only), ``measure_peak`` of
the purified nu <= 4 ``transform`` of the cells (fitted beforehand) on 64
and on all 100 cells (skpr calls featomic on 64 structures at a time, so the
peak should not grow past 64), of the self-interacting nu <= 4 and of the
SOAP peer, next to the output (pooled and per-atom rows) and featomic's
per-pair expansion of 64 cells.  ``traced`` is NumPy's allocations
(``tracemalloc``), ``resident`` includes featomic's.

Goal: nu = 2 self-interacting within 2x of ``SoapPowerSpectrum``
(``SOAP / this >= 0.5``); purified nu <= 4 within a small factor of
self-interacting nu <= 4; memory a bounded multiple of one featomic call.

Run from the repository root (see benchmarks/README.md for the environment)::

    python benchmarks/bench_body_order.py [--repeats 3] [--n-pentamers 1000]
        [--n-cells 100] [--blas-threads N] [--quick]
"""

import argparse
import itertools
import json
import sys

import ase.build
import featomic
import numpy as np
from _harness import (
    MIB,
    add_common_arguments,
    blas_threads,
    check_text,
    describe_environment,
    measure_peak,
    print_load_average,
    print_table,
    ratio_note,
    relative_error,
    resolve_repeats,
    run,
    run_child,
)

from skpr.atomistic import BodyOrderFeatures, SoapPowerSpectrum
from skpr.datasets import load_silicon_clusters

CUTOFF = 4.0
#: the peer: the density and basis of BodyOrderFeatures' nu = 2 block
SOAP = dict(cutoff=CUTOFF, max_radial=4, max_angular=4, center_atom_weight=0.0)
#: the same on BodyOrderFeatures' default 7-function GTO basis (checks only)
SOAP_WIDE = dict(SOAP, max_radial=6)
MATCHED = dict(max_radial=4, max_angular=4)
RATTLE = 0.05  # Å, standard deviation of the displacements
N_PENTAMERS = 800  # in load_silicon_clusters()
#: structures per featomic call in skpr.atomistic (reference rows only)
FEATOMIC_FRAMES = 64
SUBCLUSTER_PENTAMERS = 20
SPAN_TOL = 1e-8
QUICK_SIZES = (50, 2)  # pentamers, cells

PEER = "SoapPowerSpectrum (featomic, n<=4, l<=4)"
BY_PAIR = "featomic SphericalExpansionByPair alone (n<=6, l<=4)"
MATCHED_NAME = (
    "BodyOrderFeatures(max_order=2, max_radial=4, max_angular=4, purify=False)"
)


def name(order, purify):
    return f"BodyOrderFeatures(max_order={order}, purify={purify})"


# ------------------------------------------------------------ workloads


def rattled(atoms, rng):
    atoms = atoms.copy()
    atoms.positions += rng.normal(scale=RATTLE, size=atoms.positions.shape)
    return atoms


def pentamers(n):
    """The bundled pentamers, then rattled copies: 800 + 200 for ``n=1000``."""
    clusters = load_silicon_clusters()
    found = [
        atoms
        for atoms, kind in zip(clusters.structures, clusters.kind, strict=True)
        if kind == "pentamer"
    ]
    if len(found) != N_PENTAMERS or {len(atoms) for atoms in found} != {5}:
        sys.exit(f"expected {N_PENTAMERS} 5-atom pentamers, found {len(found)}")
    n_original = min(N_PENTAMERS, n - n // 5)
    rng = np.random.default_rng(0)
    copies = [rattled(found[i % n_original], rng) for i in range(n - n_original)]
    return found[:n_original] + copies


def diamond_cells(n):
    cell = ase.build.bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    assert len(cell) == 64 and cell.pbc.all()
    rng = np.random.default_rng(1)
    return [rattled(cell, rng) for _ in range(n)]


def by_pair_calculator():
    """featomic's per-pair expansion with BodyOrderFeatures' default hypers."""
    return featomic.SphericalExpansionByPair(
        cutoff={
            "radius": CUTOFF,
            "smoothing": {"type": "ShiftedCosine", "width": 0.5},
        },
        density={"type": "Gaussian", "width": 0.3, "center_atom_weight": 0.0},
        basis={
            "type": "TensorProduct",
            "max_angular": 4,
            "radial": {"type": "Gto", "max_radial": 6, "radius": CUTOFF},
        },
    )


def expansion_by_pair(structures):
    """The featomic calls of one BodyOrderFeatures transform; number of pairs."""
    calculator = by_pair_calculator()
    n_pairs = 0
    for start in range(0, len(structures), FEATOMIC_FRAMES):
        tensor = calculator.compute(structures[start : start + FEATOMIC_FRAMES])
        n_pairs += count_pairs(tensor)
    return n_pairs


def count_pairs(tensor):
    """Pairs of atoms in a per-pair expansion (its l = 1 blocks)."""
    # the l = 0 blocks also hold the centre itself (pair i-i, no cell shift)
    return sum(
        len(block.samples) for key, block in tensor.items() if key["o3_lambda"] == 1
    )


# ------------------------------------------------------------ checks


def span_residual(A, B):
    """``||A - B B^+ A|| / ||A||``: how far the columns of A are from span B."""
    coef, *_ = np.linalg.lstsq(B, A, rcond=None)
    return float(np.linalg.norm(A - B @ coef) / np.linalg.norm(A))


def nu2_block(estimator, structures):
    rows, _ = estimator.fit(structures).transform_local(structures)
    return rows[:, estimator.n_features_per_order_[0] :]


def span_checks(structures):
    """Check texts of the nu = 2 self-interacting candidates against SOAP rows."""
    soap, _ = SoapPowerSpectrum(**SOAP).fit(structures).transform_local(structures)
    wide, _ = SoapPowerSpectrum(**SOAP_WIDE).fit(structures).transform_local(structures)
    matched = nu2_block(
        BodyOrderFeatures(max_order=2, purify=False, **MATCHED), structures
    )
    default = nu2_block(BodyOrderFeatures(max_order=2, purify=False), structures)
    both = max(span_residual(matched, soap), span_residual(soap, matched))
    return {
        MATCHED_NAME: "span(nu2) = span(SOAP rows), residual both ways "
        + check_text(both, SPAN_TOL),
        name(2, False): "nu2 in span(SOAP n<=6, l<=4) "
        + check_text(span_residual(default, wide), SPAN_TOL)
        + f"; vs SOAP n<=4: {span_residual(default, soap):.1e} (other GTOs)",
    }


def subcluster_errors(structures, purify):
    """Order-nu rows against their sums over (nu + 1)-atom sub-clusters."""
    estimator = BodyOrderFeatures(max_order=4, purify=purify).fit(structures)
    starts = np.concatenate([[0], np.cumsum(estimator.n_features_per_order_)])
    structures = structures[:SUBCLUSTER_PENTAMERS]
    full, _ = estimator.transform_local(structures)
    first_atom = np.concatenate([[0], np.cumsum([len(a) for a in structures])])
    errors = {}
    for nu in (2, 3):
        pieces, targets = [], []
        for s, atoms in enumerate(structures):
            for subset in itertools.combinations(range(len(atoms)), nu + 1):
                pieces.append(atoms[list(subset)])
                targets.append(first_atom[s] + np.array(subset))
        local, _ = estimator.transform_local(pieces)
        total = np.zeros_like(full)
        np.add.at(total, np.concatenate(targets), local)
        block = slice(starts[nu - 1], starts[nu])
        errors[nu] = relative_error(total[:, block], full[:, block])
    return errors


def consistency_checks(timings):
    """Finite outputs; every max_order = first columns of max_order=4."""
    checks = {}
    for purify in (False, True):
        full = timings[name(4, purify)].output
        for order in (1, 2, 3):
            out = timings[name(order, purify)].output
            error = relative_error(out, full[:, : out.shape[1]])
            checks[name(order, purify)] = "= first columns of max_order=4 " + (
                check_text(error, 1e-12)
            )
    for label, timing in timings.items():
        if isinstance(timing.output, np.ndarray):
            finite = "finite" if np.isfinite(timing.output).all() else "NOT FINITE"
            text = f"{timing.output.shape[1]} columns, {finite}"
            checks[label] = text + ("; " + checks[label] if label in checks else "")
    return checks


# ------------------------------------------------------------ timings


def candidates(structures):
    def fitted(estimator):
        return lambda: estimator.fit(structures).transform(structures)

    table = {
        PEER: fitted(SoapPowerSpectrum(**SOAP)),
        BY_PAIR: lambda: expansion_by_pair(structures),
        MATCHED_NAME: fitted(BodyOrderFeatures(max_order=2, purify=False, **MATCHED)),
    }
    for purify in (False, True):
        for order in (1, 2, 3, 4):
            table[name(order, purify)] = fitted(
                BodyOrderFeatures(max_order=order, purify=purify)
            )
    return table


def time_tables(title, structures, repeats, *, subclusters):
    n_atoms = sum(len(atoms) for atoms in structures)
    print(f"\n## {title}: {len(structures)} structures, {n_atoms} atoms")
    timings = run(candidates(structures), repeats)
    checks = consistency_checks(timings)
    checks[BY_PAIR] = f"{timings[BY_PAIR].output} pairs (without the centres)"
    for label, text in span_checks(structures).items():
        checks[label] += "; " + text
    if subclusters:
        for purify in (True, False):
            errors = subcluster_errors(structures, purify)
            if purify:
                text = "; sub-cluster sums (first 20): " + ", ".join(
                    f"nu{nu} " + check_text(error, 1e-10)
                    for nu, error in errors.items()
                )
            else:  # the self-terms make it fail, by design
                text = "; not a body-order expansion, sub-cluster sums differ by " + (
                    ", ".join(f"nu{nu} {error:.1e}" for nu, error in errors.items())
                )
            checks[name(4, purify)] += text
    peers = {"SOAP": PEER}

    first = [
        PEER,
        BY_PAIR,
        MATCHED_NAME,
        name(2, False),
        name(2, True),
        name(4, False),
        name(4, True),
    ]
    print_table(
        "nu = 2 and the full nu <= 4 against the SOAP power spectrum (fit + transform)",
        {label: timings[label] for label in first},
        peers=peers,
        checks=checks,
        notes=[
            ratio_note(
                "SOAP power spectrum / nu <= 2 self-interacting",
                timings,
                PEER,
                name(2, False),
                goal=">= 0.5",
            ),
            ratio_note(
                "SOAP power spectrum / nu <= 2 self-interacting, matched basis",
                timings,
                PEER,
                MATCHED_NAME,
                goal=">= 0.5",
            ),
            ratio_note(
                "purified / self-interacting, nu <= 4",
                timings,
                name(4, True),
                name(4, False),
                goal="a small factor",
            ),
            ratio_note(
                "featomic per-pair expansion / purified nu <= 4 "
                "(share of the expansion)",
                timings,
                BY_PAIR,
                name(4, True),
            ),
        ],
    )

    second = [PEER] + [name(k, p) for p in (False, True) for k in (1, 2, 3, 4)]
    notes = []
    for purify in (False, True):
        medians = [timings[name(k, purify)].median for k in (1, 2, 3, 4)]
        steps = [medians[0]] + list(np.diff(medians))
        notes.append(
            f"- {'purified' if purify else 'self-interacting'}: median time of "
            "order nu alone (max_order=nu minus max_order=nu-1; order 1 "
            "includes the l = 0 expansion, order 2 its l <= 4 channels): "
            + ", ".join(f"nu{k} {t:.3f} s" for k, t in enumerate(steps, 1))
        )
    factors = [
        timings[name(k, True)].median / timings[name(k, False)].median
        for k in (1, 2, 3, 4)
    ]
    notes.append(
        "- purified / self-interacting (median) by max_order: "
        + ", ".join(f"{k}: {f:.2f}x" for k, f in enumerate(factors, 1))
    )
    print_table(
        "By order: max_order = 1 .. 4 (fit + transform)",
        {label: timings[label] for label in second},
        peers=peers,
        checks=checks,
        notes=notes,
    )


# ------------------------------------------------------------ memory


def memory_child(n_cells):
    """Run in a child process; print the memory table of the cells as JSON."""
    structures = diamond_cells(n_cells)
    purified = BodyOrderFeatures(max_order=4, purify=True).fit(structures)
    self_interacting = BodyOrderFeatures(max_order=4, purify=False).fit(structures)
    soap = SoapPowerSpectrum(**SOAP).fit(structures)
    n_features = sum(purified.n_features_per_order_)
    frames = min(FEATOMIC_FRAMES, n_cells)
    tensor = by_pair_calculator().compute(structures[:frames])
    expansion = sum(block.values.nbytes for block in tensor.blocks())
    n_pairs = count_pairs(tensor)
    del tensor
    n_atoms = sum(len(atoms) for atoms in structures)
    table = {
        f"pooled output of transform ({n_cells} x {n_features})": (
            8 * n_cells * n_features,
            None,
        ),
        f"per-atom rows ({n_atoms} x {n_features})": (8 * n_atoms * n_features, None),
        f"featomic per-pair expansion of {frames} cells ({n_pairs} pairs)": (
            expansion,
            None,
        ),
    }
    for size in sorted({frames, n_cells}):
        _, traced, resident, _ = measure_peak(
            lambda s=size: purified.transform(structures[:s])
        )
        table[f"peak of transform, purified nu <= 4, {size} cells"] = (
            traced,
            resident,
        )
    for label, estimator in (
        ("self-interacting nu <= 4", self_interacting),
        ("SoapPowerSpectrum peer", soap),
    ):
        _, traced, resident, _ = measure_peak(
            lambda e=estimator: e.transform(structures)
        )
        table[f"peak of transform, {label}, {n_cells} cells"] = (traced, resident)
    print(json.dumps(table))


def memory_table(n_cells, blas_threads):
    threads = [] if blas_threads is None else ["--blas-threads", str(blas_threads)]
    table = run_child(
        __file__,
        ["--memory-child", f"--n-cells={n_cells}", *threads],
        env={"MALLOC_MMAP_THRESHOLD_": "65536"},
    )
    print("\n### Memory of the cells (peaks above the start of each call)\n")
    print("| array or step | size or traced peak [MiB] | resident peak [MiB] |")
    print("|---|---|---|")
    for label, (size, resident) in table.items():
        shown = "-" if resident is None else f"{resident / MIB:.1f}"
        print(f"| {label} | {size / MIB:.1f} | {shown} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument(
        "--n-pentamers", type=int, default=None, help="default 1000 (50 with --quick)"
    )
    parser.add_argument(
        "--n-cells", type=int, default=None, help="default 100 (2 with --quick)"
    )
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    quick_pentamers, quick_cells = QUICK_SIZES
    n_pentamers = args.n_pentamers or (quick_pentamers if args.quick else 1000)
    n_cells = args.n_cells or (quick_cells if args.quick else 100)
    with blas_threads(args):
        if args.memory_child:
            memory_child(n_cells)
            return
        describe_environment()
        repeats = resolve_repeats(args)
        time_tables(
            "(a) silicon pentamers (non-periodic)",
            pentamers(n_pentamers),
            repeats,
            subclusters=True,
        )
        time_tables(
            "(b) rattled 64-atom diamond silicon cells (periodic)",
            diamond_cells(n_cells),
            repeats,
            subclusters=False,
        )
        if sys.platform.startswith("linux"):
            memory_table(n_cells, args.blas_threads)
        print_load_average()


if __name__ == "__main__":
    main()
