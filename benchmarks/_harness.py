"""What the benchmark scripts share: the header, the timing protocol, the tables.

Not a benchmark itself; the scripts next to it import it (they run with their
own folder first on ``sys.path``).

- :func:`describe_environment` prints the library versions, the cores, the
  load average and, through threadpoolctl, every BLAS in the process with the
  kernel it runs (numpy and scipy each bundle their own OpenBLAS).
- :func:`run` times candidates: every repeat runs every candidate, in an
  order rotated from one repeat to the next, and keeps the median and the
  minimum wall time (``time.perf_counter``) and the last output (for the
  agreement checks).
- :func:`print_table` prints a markdown table of those timings, with the
  speed-up against one or more peers and a check column.
- :func:`measure_peak` runs a function and reports its peak of traced
  allocations (``tracemalloc``) and its peak growth of the resident set.
"""

import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg  # loads scipy's BLAS, so that threadpoolctl lists it
import sklearn

import skpr

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # threadpoolctl comes with scikit-learn; just in case
    threadpool_info = threadpool_limits = None

MIB = 2.0**20


def add_common_arguments(parser, *, repeats=5):
    """``--repeats`` and ``--quick``, the flags every script has."""
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help=f"timed repeats of every candidate (default {repeats}, 2 with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes, a few seconds: only checks that the script runs",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit every BLAS to this many threads (threadpoolctl); default: all",
    )
    parser.set_defaults(default_repeats=repeats)


def blas_threads(args):
    """A context that limits the BLAS threads to ``--blas-threads``, if given."""
    if args.blas_threads is None or threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(args.blas_threads, user_api="blas")


def resolve_repeats(args):
    if args.repeats is not None:
        return args.repeats
    return 2 if args.quick else args.default_repeats


def describe_environment():
    """Print what decides the timings: versions, cores, load, BLAS kernels."""
    print(
        f"skpr {skpr.__version__}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}, Python {sys.version.split()[0]}"
    )
    cpus = os.cpu_count()
    load = os.getloadavg()
    print(
        f"os.cpu_count() = {cpus}, load average (1, 5, 15 min): "
        + " ".join(f"{value:.2f}" for value in load)
    )
    if load[0] > 0.5 * (cpus or 1):
        print(
            "WARNING: the machine is busy (1-min load above half the cores): "
            "timings are not meaningful; rerun on a quiet machine."
        )
    openblas = {
        name: value for name, value in os.environ.items() if name.startswith("OPENBLAS")
    }
    print(
        "OPENBLAS_* environment: "
        + (", ".join(f"{k}={v}" for k, v in sorted(openblas.items())) or "none")
    )
    if threadpool_info is None:
        print("threadpoolctl is not installed: BLAS kernels unknown")
        return
    # threadpoolctl lists the libraries loaded so far (both BLAS are, above)
    print("| library | API | threads | kernel (architecture) | file |")
    print("|---|---|---|---|---|")
    for pool in threadpool_info():
        print(
            f"| {pool.get('prefix', '')} {pool.get('version') or ''} "
            f"| {pool['user_api']}/{pool['internal_api']} | {pool['num_threads']} "
            f"| {pool.get('architecture', '-')} "
            f"| {os.path.basename(pool['filepath'])} |"
        )


def print_load_average(when="at the end"):
    """Other processes distort the timings; the load average shows them."""
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"\nload average {when} (1, 5, 15 min): {load}")


@dataclass
class Timing:
    median: float
    best: float
    output: Any


def run(candidates, repeats, *, warm=False):
    """Time every candidate; all of them run in every repeat.

    Parameters
    ----------
    candidates : dict of str to callable
        Functions without arguments; what they return is kept as ``output``.
    repeats : int
        Timed calls of each candidate.
    warm : bool, default=False
        ``False`` ("cold"): one untimed warm-up call of every candidate
        first, then each timed call right after another candidate's.
        ``True`` ("warm"): each timed call right after an untimed call of the
        same candidate (the steady state of repeated calls; this doubles the
        run time).

    Returns
    -------
    dict of str to Timing
    """
    outputs = {} if warm else {name: f() for name, f in candidates.items()}
    times = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            if warm:
                candidates[name]()
            start = time.perf_counter()
            outputs[name] = candidates[name]()
            times[name].append(time.perf_counter() - start)
    return {
        name: Timing(statistics.median(t), min(t), outputs[name])
        for name, t in times.items()
    }


def print_table(title, timings, *, peers, checks=None, notes=()):
    """A markdown table of timings, speed-ups against peers and checks.

    Parameters
    ----------
    title : str
    timings : dict of str to Timing
    peers : dict of str to str
        Column label to the name of the candidate it compares with; the
        column shows ``peer time / this time`` for the median and, in
        brackets, for the minimum (above 1: faster than the peer).
    checks : dict of str to str, optional
        Text of the check column, by candidate name.
    notes : sequence of str
        Lines printed under the table (goals, ratios of interest).
    """
    checks = checks or {}
    print(f"\n### {title}\n")
    header = ["candidate", "median [s]", "min [s]"]
    header += [f"{label} / this" for label in peers] + ["check"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for name, timing in timings.items():
        cells = [name, f"{timing.median:.4f}", f"{timing.best:.4f}"]
        for peer in peers.values():
            if peer == name:
                cells.append("(peer)")
            else:
                reference = timings[peer]
                cells.append(
                    f"{reference.median / timing.median:.2f}x "
                    f"({reference.best / timing.best:.2f}x)"
                )
        cells.append(checks.get(name, ""))
        print("| " + " | ".join(cells) + " |")
    for note in notes:
        print(f"\n{note}")


def ratio_note(label, timings, numerator, denominator, goal=None):
    """``label: median r (min r)`` for ``numerator / denominator`` times."""
    median = timings[numerator].median / timings[denominator].median
    best = timings[numerator].best / timings[denominator].best
    text = f"- {label}: median {median:.2f}x, min {best:.2f}x"
    if goal is not None:
        text += f" (goal: {goal})"
    return text


def timed(function, repeats=1):
    """``(last result, median wall time)`` of ``repeats`` calls of ``function``."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return result, float(np.median(times))


def coverage_fractions(error, std):
    """Fractions of ``|error|`` within 1, 2 and 3 ``std``."""
    error, std = np.abs(np.asarray(error)), np.asarray(std)
    return [float(np.mean(error <= k * std)) for k in (1, 2, 3)]


def relative_error(value, reference):
    """``max |value - reference| / max |reference|``."""
    value, reference = np.asarray(value), np.asarray(reference)
    return float(np.max(np.abs(value - reference)) / np.max(np.abs(reference)))


def check_text(error, tol):
    return f"{error:.1e} {'OK' if error <= tol else 'MISMATCH'} (tol {tol:.0e})"


# ------------------------------------------------------------------ memory


def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def peak_resident():
    """Peak resident size of this process in bytes (``VmHWM``, or ``ru_maxrss``).

    ``VmHWM`` belongs to the process image, so it starts afresh after
    ``exec``; ``ru_maxrss`` (the fallback off Linux) keeps the peak of the
    parent at ``fork``.
    """
    try:
        return _status("VmHWM")
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _reset_resident_peak():
    """Set ``VmHWM := VmRSS`` (Linux); ``False`` where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        _status("VmHWM")
    except (OSError, KeyError):
        return False
    return True


def measure_peak(function):
    """Run ``function``: its result, traced peak and resident peak growth.

    Returns
    -------
    result
    traced : int
        Peak bytes of allocations traced by ``tracemalloc`` during the call
        above those live at its start (numpy reports its data buffers).
    resident : int
        Peak resident size during the call above the resident size at its
        start: ``VmHWM`` reset through ``/proc/self/clear_refs`` on Linux,
        else the growth of ``ru_maxrss`` (a lower bound, since the process
        may have peaked higher before).
    method : str
        How ``resident`` was measured.
    """
    linux = _reset_resident_peak()
    if linux:
        before = _status("VmRSS")
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    result = function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    if linux:
        resident, method = _status("VmHWM") - before, "VmHWM"
    else:
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        resident, method = after - before, "ru_maxrss"
    return result, peak - start, resident, method


def run_child(script, arguments, *, env=None):
    """Run ``python script *arguments``; the JSON object on its last line."""
    child = subprocess.run(
        [sys.executable, script, *arguments],
        env=None if env is None else dict(os.environ, **env),
        capture_output=True,
        text=True,
    )
    if child.returncode != 0:
        sys.exit(f"the child process {arguments} failed:\n{child.stderr}")
    return json.loads(child.stdout.strip().splitlines()[-1])
