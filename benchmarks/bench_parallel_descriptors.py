"""Benchmark ``n_jobs`` on the featomic descriptors: parts in processes vs serial.

On 300 structures (the 100 bundled ethanol frames, 9 atoms each, three
times), for ``SoapPowerSpectrum`` and
``BodyOrderFeatures``, each view (``transform``, ``transform_local``,
``transform_gradients``) computed with ``n_jobs=None`` (the peer: one process,
featomic called on runs of 64 structures) and ``n_jobs=2`` (joblib's loky
processes, each computing a run of whole calls).  Check: the rows are equal
to the bit.  The worker processes are started by the warm-up call and reused
after it (loky keeps them); the first call, with their start-up, is timed
apart, once.

Goal: none fixed; on 2 cores, ``n_jobs=2`` is faster where the featomic
calls dominate (the gradients, the body orders), and the start-up of the
workers is paid once per session.

Run from the repository root::

    python benchmarks/bench_parallel_descriptors.py [--repeats 3] [--quick]
"""

import argparse
import time

import numpy as np
from _harness import (
    add_common_arguments,
    describe_environment,
    print_load_average,
    print_table,
    resolve_repeats,
    run,
)
from joblib.externals.loky import get_reusable_executor

from skpr.atomistic import BodyOrderFeatures, SoapPowerSpectrum
from skpr.datasets import load_ethanol

DESCRIPTORS = {
    "SoapPowerSpectrum(n=5, l=4)": (
        lambda: SoapPowerSpectrum(cutoff=4.5, max_radial=5, max_angular=4),
        ("transform", "transform_local", "transform_gradients"),
    ),
    "BodyOrderFeatures(3 orders)": (
        lambda: BodyOrderFeatures(
            cutoff=4.0, max_order=3, max_radial=(3, 2, 2), max_angular=(0, 2, 2)
        ),
        ("transform", "transform_local"),
    ),
}


def first(output):
    """The row array of a view (transform_gradients returns a tuple)."""
    return output[0] if isinstance(output, tuple) else output


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    args = parser.parse_args()
    repeats = resolve_repeats(args)
    n_frames = 64 * 2 if args.quick else 300
    describe_environment()
    # the 100 bundled frames, repeated: the timings do not depend on which
    structures = list(load_ethanol().structures)
    frames = (structures * -(-n_frames // len(structures)))[:n_frames]
    print(f"\n{len(frames)} ethanol frames, featomic called on runs of 64")
    for name, (make, methods) in DESCRIPTORS.items():
        serial = make().fit(frames)
        parallel = make().set_params(n_jobs=2).fit(frames)
        for method in methods:
            get_reusable_executor().shutdown(wait=True)  # cold workers
            start = time.perf_counter()
            getattr(parallel, method)(frames)
            cold = time.perf_counter() - start
            timings = run(
                {
                    "n_jobs=None": lambda d=serial, m=method: getattr(d, m)(frames),
                    "n_jobs=2": lambda d=parallel, m=method: getattr(d, m)(frames),
                },
                repeats,
            )
            reference = first(timings["n_jobs=None"].output)
            equal = np.array_equal(first(timings["n_jobs=2"].output), reference)
            print_table(
                f"{name}.{method}: rows {reference.shape}",
                timings,
                peers={"serial": "n_jobs=None"},
                checks={"n_jobs=2": "bit-identical" if equal else "DIFFERENT"},
                notes=[
                    f"first n_jobs=2 call, starting the workers: {cold:.2f} s",
                ],
            )
    print_load_average()


if __name__ == "__main__":
    main()
