"""Prediction rigidities for scikit-learn.

A prediction rigidity measures how strongly the training loss resists a change
of one prediction: of a whole sample (PR), of one atomic environment (LPR), or
of one additive component of the model (CPR).  See Chong et al., Faraday
Discuss. (2024), doi:10.1039/d4fd00101j.
"""

from skpr._augmentation import RigiditySelector, rigidity_valuation
from skpr._kernel_ridge import BlockKernelRidge
from skpr._local import local_features
from skpr._metrics import (
    binned_rmse_rmv,
    calibration_report,
    error_std_correlation,
    expected_sigma_coverage,
    miscalibration_area,
    negative_log_likelihood,
    nll_scorer,
    sigma_coverage,
)
from skpr._orthogonalization import BlockOrthogonalizer
from skpr._plotting import plot_calibration, plot_parity
from skpr._pooling import pool_structures
from skpr._purification import ACEPurifier
from skpr._range_separation import RangeSeparator
from skpr._ridge import BlockRidge
from skpr._ridge_cv import BlockRidgeCV
from skpr._selection import (
    active_nystroem,
    farthest_point_sampling,
    nystroem_residual,
)
from skpr._whatif import WhatIf, what_if

__version__ = "0.1.0"

__all__ = [
    "ACEPurifier",
    "BlockKernelRidge",
    "BlockOrthogonalizer",
    "BlockRidge",
    "BlockRidgeCV",
    "RangeSeparator",
    "RigiditySelector",
    "WhatIf",
    "active_nystroem",
    "binned_rmse_rmv",
    "calibration_report",
    "error_std_correlation",
    "expected_sigma_coverage",
    "farthest_point_sampling",
    "local_features",
    "miscalibration_area",
    "negative_log_likelihood",
    "nll_scorer",
    "nystroem_residual",
    "plot_calibration",
    "plot_parity",
    "pool_structures",
    "rigidity_valuation",
    "sigma_coverage",
    "what_if",
]
