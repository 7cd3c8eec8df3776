"""Benchmark ``RangeSeparatedLode``: spline build, its cache, and 100 water dimers.

Workload: the first 100 dimers of ``load_water_dimers()`` (600 atoms), in a
25 Å box, with ``RangeSeparatedLode``'s defaults (cutoff 2.8 Å, smearing
1 Å, exponent 6, ``max_radial=3``, ``max_angular=2``, GTO radius 4 Å).

(a) Spline of the short-range potential (one build each, no repeats: the
    peer takes minutes):

- the peer: featomic's ``SoapSpliner`` with the same ``SmearedPowerLaw``
  density, basis and step cutoff (adaptive ``scipy.integrate.dblquad`` per
  spline point);
- skpr's ``_QuadratureSpliner`` (the same integrand, a fixed Gauss-Legendre
  rule vectorized over the distances).

  Check: the short-range expansion coefficients of the 100 dimers from both
  splines, largest difference relative to the largest coefficient.

(b) The cache, timed once each in this order: ``fit`` with a set of
    hyperparameters not built before in the process (builds the splines),
    ``fit`` again (from the process cache), ``transform`` of a model
    unpickled in this process after its cache entry was cleared (the splines
    travel with the model).

(c) ``fit(S).transform(S)`` on the dimers, median and minimum over repeats
    (every repeat runs every candidate, order rotated, after one warm-up):
    ``RangeSeparatedLode(separate=True)`` and ``separate=False``; the peer
    ``LodeDescriptor(invariant="power_spectrum")`` with the same potential and
    basis (featomic's LODE x LODE power spectrum, no separation); and
    ``LodeExpansion`` alone (the LODE coefficients both variants start from).
    Checks: the ``separate=False`` rows are the power spectrum of
    ``LodeExpansion`` (skpr's, by a different route than the peer's);
    separated rows of the isolated monomers vanish relative to the
    non-separated ones.

Goal: spline build in seconds, far below the peer's; the separated transform
within 2x of the non-separated one.

Run from the repository root (see benchmarks/README.md)::

    python benchmarks/bench_range_separation.py [--repeats 5] [--quick]
"""

import argparse
import pickle
import time

import featomic
import numpy as np
from _harness import (
    Timing,
    add_common_arguments,
    blas_threads,
    check_text,
    describe_environment,
    print_load_average,
    print_table,
    ratio_note,
    relative_error,
    resolve_repeats,
    run,
)

from skpr.atomistic import (
    LodeDescriptor,
    LodeExpansion,
    RangeSeparatedLode,
    power_spectrum,
)
from skpr.atomistic import _range_separated as separated
from skpr.datasets import load_water_dimers

BOX = 25.0
QUICK = dict(max_radial=1, max_angular=1)


def workload(n):
    data = load_water_dimers()
    dimers = [
        s for s, k in zip(data.structures, data.kind, strict=True) if k == "dimer"
    ]
    monomers = [
        s for s, k in zip(data.structures, data.kind, strict=True) if k != "dimer"
    ]
    model = RangeSeparatedLode(box=BOX)
    return model._boxed(dimers[:n]), model._boxed(monomers[:20])


def spline_table(structures, hypers):
    model = RangeSeparatedLode(**hypers)
    basis = separated._lode_basis(
        model.max_radial, model.max_angular, model.basis_radius
    )
    kwargs = dict(
        cutoff=featomic.cutoff.Cutoff(
            radius=model.cutoff, smoothing=featomic.cutoff.Step()
        ),
        density=featomic.density.SmearedPowerLaw(
            smearing=model.smearing, exponent=model.exponent
        ),
        basis=basis,
    )
    built = {}
    timings = {}
    for name, spliner in (
        ("featomic SoapSpliner (adaptive dblquad)", featomic.splines.SoapSpliner),
        ("skpr _QuadratureSpliner", separated._QuadratureSpliner),
    ):
        start = time.perf_counter()
        built[name] = spliner(**kwargs).get_hypers()
        elapsed = time.perf_counter() - start
        timings[name] = Timing(elapsed, elapsed, None)
    species = [1, 8]
    rows = {}
    for name, spline in built.items():
        expansion = separated._ShortRangeLode(
            spline,
            max_radial=model.max_radial,
            max_angular=model.max_angular,
            species=species,
        )
        rows[name] = expansion.fit(structures).transform_local(structures)[0]
    peer, ours = rows
    error = relative_error(rows[ours], rows[peer])
    print_table(
        "(a) spline of the short-range potential (one build each)",
        timings,
        peers={"featomic": peer},
        checks={
            ours: "short-range coefficients vs featomic's " + check_text(error, 1e-6)
        },
        notes=[ratio_note("featomic / skpr spline build", timings, peer, ours)],
    )


def cache_table(structures, hypers):
    # a basis radius no other table uses: the first fit builds the splines
    fresh = dict(hypers, basis_radius=3.9)
    model = RangeSeparatedLode(**fresh)
    steps = {}
    start = time.perf_counter()
    model.fit(structures)
    steps["fit, splines built"] = time.perf_counter() - start
    start = time.perf_counter()
    RangeSeparatedLode(**fresh).fit(structures)
    steps["fit again, process cache"] = time.perf_counter() - start
    expected = model.transform(structures)
    blob = pickle.dumps(model)
    separated.short_range_hypers.cache_clear()
    start = time.perf_counter()
    again = pickle.loads(blob)
    rows = again.transform(structures)
    steps["unpickle + transform, cache cleared"] = time.perf_counter() - start
    start = time.perf_counter()
    model.transform(structures)
    steps["transform (reference)"] = time.perf_counter() - start
    timings = {name: Timing(t, t, None) for name, t in steps.items()}
    same = "identical rows" if np.array_equal(rows, expected) else "ROWS DIFFER"
    print_table(
        f"(b) the spline cache (pickled model {len(blob) / 1e3:.0f} kB)",
        timings,
        peers={"built": "fit, splines built"},
        checks={"unpickle + transform, cache cleared": same},
    )


def transform_table(structures, monomers, hypers, repeats):
    model = RangeSeparatedLode(**hypers)
    lode = dict(
        smearing=model.smearing,
        exponent=model.exponent,
        max_radial=model.max_radial,
        max_angular=model.max_angular,
        basis_radius=model.basis_radius,
    )
    peer = "LodeDescriptor(invariant='power_spectrum') (featomic)"
    names = {
        peer: LodeDescriptor(invariant="power_spectrum", **lode),
        "RangeSeparatedLode(separate=True)": RangeSeparatedLode(**hypers),
        "RangeSeparatedLode(separate=False)": RangeSeparatedLode(
            **hypers, separate=False
        ),
        "LodeExpansion alone": LodeExpansion(**lode),
    }
    timings = run(
        {
            n: (lambda e=e: e.fit(structures).transform(structures))
            for n, e in names.items()
        },
        repeats,
    )
    # checks outside the timings
    together = RangeSeparatedLode(**hypers, separate=False, separate_center_types=False)
    rows, _ = together.fit(structures).transform_local(structures)
    coefficients, _ = LodeExpansion(**lode).fit(structures).transform_local(structures)
    want = power_spectrum(coefficients, n_species=2, max_angular=model.max_angular)
    sep = RangeSeparatedLode(**hypers).fit(monomers).transform(monomers)
    full = (
        RangeSeparatedLode(**hypers, separate=False).fit(monomers).transform(monomers)
    )
    ratio = np.abs(sep).max() / np.abs(full).max()
    checks = {
        "RangeSeparatedLode(separate=False)": "= power spectrum of LodeExpansion "
        + check_text(relative_error(rows, want), 1e-12),
        "RangeSeparatedLode(separate=True)": "isolated monomers: max |separated| / "
        f"max |not separated| = {ratio:.1e}",
    }
    print_table(
        f"(c) fit + transform, {len(structures)} water dimers",
        timings,
        peers={"LODE PS": peer},
        checks=checks,
        notes=[
            ratio_note(
                "separated / not separated",
                timings,
                "RangeSeparatedLode(separate=True)",
                "RangeSeparatedLode(separate=False)",
                goal="<= 2",
            )
        ],
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=5)
    args = parser.parse_args()
    with blas_threads(args):
        describe_environment()
        repeats = resolve_repeats(args)
        structures, monomers = workload(10 if args.quick else 100)
        hypers = QUICK if args.quick else {}
        spline_table(structures, hypers)
        cache_table(structures, hypers)
        transform_table(structures, monomers, hypers, repeats)
        print_load_average()


if __name__ == "__main__":
    main()
