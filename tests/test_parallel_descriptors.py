"""n_jobs on the featomic descriptors: the numbers of a serial run, to the bit."""

import numpy as np
import pytest

pytest.importorskip("ase")
pytest.importorskip("featomic")

import joblib  # noqa: E402
from ase.build import bulk, molecule  # noqa: E402
from numpy.testing import assert_array_equal  # noqa: E402

from skpr.atomistic import (  # noqa: E402
    BodyOrderFeatures,
    LodeDescriptor,
    LodeExpansion,
    RangeSeparatedLode,
    SoapPowerSpectrum,
    SphericalExpansion,
    _featomic,
)
from skpr.datasets import load_ethanol  # noqa: E402


def salt(seed):
    atoms = bulk("NaCl", "rocksalt", a=5.6, cubic=True)
    atoms.rattle(0.1, seed=seed)
    return atoms


def water(seed):
    atoms = molecule("H2O")
    atoms.rattle(0.05, seed=seed)
    return atoms


DESCRIPTORS = {
    "soap": (lambda: SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2), "e"),
    # periodic: the strain gradients (virial rows) too
    "soap-periodic": (
        lambda: SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2),
        "s",
    ),
    "spherical-expansion": (
        lambda: SphericalExpansion(cutoff=3.5, max_radial=2, max_angular=2),
        "e",
    ),
    "lode": (lambda: LodeDescriptor(max_radial=2, max_angular=2), "s"),
    "lode-expansion": (lambda: LodeExpansion(max_radial=2, max_angular=2), "s"),
    "range-separated-lode": (
        lambda: RangeSeparatedLode(
            max_radial=2, max_angular=2, basis_radius=3.0, box=20.0
        ),
        "w",
    ),
    "body-order": (
        lambda: BodyOrderFeatures(
            cutoff=4.0, max_order=3, max_radial=(2, 1, 1), max_angular=(0, 2, 1)
        ),
        "e",
    ),
}


@pytest.fixture
def parts(monkeypatch):
    """The number of parts of every joblib run the descriptors make."""
    from skpr.atomistic import _base

    runs = []

    class Recorded(joblib.Parallel):
        def __call__(self, tasks):
            tasks = list(tasks)
            runs.append(len(tasks))
            return super().__call__(tasks)

    monkeypatch.setattr(_base, "Parallel", Recorded)
    return runs


def views(descriptor, structures, kind):
    out = [descriptor.transform(structures), descriptor.transform_local(structures)]
    # the two without position gradients
    if not isinstance(descriptor, BodyOrderFeatures | RangeSeparatedLode):
        out.append(descriptor.transform_gradients(structures))
    # featomic's LODE has no strain gradients
    if kind == "s" and isinstance(descriptor, SoapPowerSpectrum):
        out.append(descriptor.transform_strain_gradients(structures))
    return [
        part for view in out for part in (view if isinstance(view, tuple) else [view])
    ]


@pytest.mark.parametrize("name", list(DESCRIPTORS))
def test_parts_in_parallel_give_the_serial_numbers(name, monkeypatch, parts):
    make, kind = DESCRIPTORS[name]
    if kind == "e":
        structures = list(load_ethanol().structures[:7])
    elif kind == "s":
        structures = [salt(seed) for seed in range(7)]
    else:
        structures = [water(seed) for seed in range(7)]
    # calls of 2 structures: 7 structures are 4 calls, in up to 4 parts
    monkeypatch.setattr(_featomic, "STRUCTURES_PER_CALL", 2)
    serial = make().fit(structures)
    expected = views(serial, structures, kind)
    parallel = make().set_params(n_jobs=2).fit(structures)
    # threads: the patched call size holds in every worker
    assert parts == []  # the serial run made none
    with joblib.parallel_config(backend="threading"):
        got = views(parallel, structures, kind)
    assert len(parts) >= 2 and min(parts) >= 2  # each view ran in parts
    for want, have in zip(expected, got, strict=True):
        assert_array_equal(have, want)


def test_worker_processes_give_the_serial_numbers(parts):
    structures = list(load_ethanol().structures[:100]) * 2  # 4 calls of 64
    soap = SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2).fit(structures)
    expected = soap.transform(structures), soap.transform_gradients(structures)[0]
    soap.set_params(n_jobs=2)  # joblib's default backend: processes
    assert_array_equal(soap.transform(structures), expected[0])
    assert_array_equal(soap.transform_gradients(structures)[0], expected[1])
    assert parts == [4, 4]  # two runs of 4 parts, one call of 64 each


def test_a_dask_cluster_computes_the_parts(monkeypatch):
    distributed = pytest.importorskip("distributed")
    structures = [salt(seed) for seed in range(5)]
    lode = LodeDescriptor(max_radial=2, max_angular=2).fit(structures)
    expected = lode.transform(structures)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        joblib.parallel_config(backend="dask"),
    ):
        # in-process workers share the patched call size: five parts
        monkeypatch.setattr(_featomic, "STRUCTURES_PER_CALL", 1)
        with distributed.get_task_stream(client) as tasks:
            got = lode.set_params(n_jobs=-1).transform(structures)
        assert len(tasks.data) >= 5
    assert_array_equal(got, expected)


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_bad_n_jobs_is_refused(n_jobs):
    soap = SoapPowerSpectrum(cutoff=3.5, max_radial=2, max_angular=2, n_jobs=n_jobs)
    with pytest.raises(ValueError, match="n_jobs must be None, a positive integer"):
        soap.fit([molecule("H2O")])


def test_parallel_rows_keep_the_order_of_the_structures(monkeypatch):
    structures = [water(seed) for seed in range(6)] + [molecule("CH4")] * 3
    soap = SoapPowerSpectrum(cutoff=3.0, max_radial=2, max_angular=2).fit(structures)
    one_by_one = np.vstack([soap.transform([atoms]) for atoms in structures])
    soap.set_params(n_jobs=3)
    monkeypatch.setattr(_featomic, "STRUCTURES_PER_CALL", 2)
    with joblib.parallel_config(backend="threading"):
        rows = soap.transform(structures)
    np.testing.assert_allclose(rows, one_by_one, rtol=0, atol=1e-14)
