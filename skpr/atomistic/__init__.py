"""Structures in, rigidities out: descriptors and force rows on ``ase.Atoms``.

This subpackage needs the optional dependencies ASE and featomic
(``pip install ".[atomistic]"``); the core of skpr never imports them.

Transformers take a list of ``ase.Atoms`` as ``X`` (one sample per structure,
so ``Pipeline``, ``cross_validate`` and ``GridSearchCV`` split by structure)
and return one row per structure, with ``transform_local`` (per-atom rows,
for the LPR) and ``transform_gradients`` (position gradients, for force
rows):

- :class:`SoapPowerSpectrum` and :class:`LodeDescriptor`, rotation
  invariants computed by featomic;
- :class:`SphericalExpansion` and :class:`LodeExpansion`, the per-atom
  density coefficients themselves (rotation covariant), from which
  :func:`power_spectrum` and :func:`radial_spectrum` build invariants and
  :func:`separate_center_types` per-element columns;
- :class:`BodyOrderFeatures`, body-ordered invariants (2- to 5-body), one
  block per correlation order, self-interacting or purified;
- :class:`CompositionFeatures`, atom counts per element.

:func:`transform_local` and :func:`transform_gradients` do the same for a
``FeatureUnion`` of them; :func:`energy_force_rows` stacks energy and force
rows with their loss weights (paper eqs. 4-6); :class:`EnergyForceRegressor`
does all of it inside ``fit``.
"""

from skpr._extras import install_command

try:
    import ase  # noqa: F401
    import featomic  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "skpr.atomistic needs the optional dependencies ASE and featomic, which "
        f"are not installed ({error}). Install them with: "
        f"{install_command('atomistic')}"
    ) from error

from skpr._invariants import (
    power_spectrum,
    radial_spectrum,
    separate_center_types,
)
from skpr.atomistic._active import (
    format_enhancement,
    least_rigid_atoms,
    lpr_enhancement,
    plot_lpr_enhancement,
)
from skpr.atomistic._body_order import BodyOrderFeatures
from skpr.atomistic._composition import CompositionFeatures
from skpr.atomistic._constructions import (
    carve_cluster,
    high_symmetry_embedding,
    periodic_embedding,
)
from skpr.atomistic._forces import energy_force_rows, virial_rows
from skpr.atomistic._lode import LodeDescriptor, LodeExpansion
from skpr.atomistic._plotting import plot_atoms
from skpr.atomistic._range_separated import RangeSeparatedLode
from skpr.atomistic._regressor import EnergyForceRegressor
from skpr.atomistic._soap import SoapPowerSpectrum, SphericalExpansion
from skpr.atomistic._union import (
    transform_gradients,
    transform_local,
    transform_strain_gradients,
)

__all__ = [
    "BodyOrderFeatures",
    "CompositionFeatures",
    "EnergyForceRegressor",
    "LodeDescriptor",
    "LodeExpansion",
    "RangeSeparatedLode",
    "SoapPowerSpectrum",
    "SphericalExpansion",
    "carve_cluster",
    "energy_force_rows",
    "format_enhancement",
    "high_symmetry_embedding",
    "least_rigid_atoms",
    "lpr_enhancement",
    "periodic_embedding",
    "plot_atoms",
    "plot_lpr_enhancement",
    "power_spectrum",
    "radial_spectrum",
    "separate_center_types",
    "transform_gradients",
    "transform_local",
    "transform_strain_gradients",
    "virial_rows",
]
