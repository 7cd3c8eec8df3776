"""Input checks shared by the estimators and the pooling functions."""

import numpy as np


def check_sample_weight(sample_weight, n_samples, *, allow_all_zero=False):
    """Validate sample weights: finite, non-negative, not all zero.

    A zero weight removes a row from the loss, as in scikit-learn; a negative
    weight would make the Hessian indefinite and is refused.

    Parameters
    ----------
    sample_weight : None, float or array-like of shape (n_samples,)
    n_samples : int
    allow_all_zero : bool, default=False
        Accept weights that are all zero (a chunk of a stream that adds
        nothing).

    Returns
    -------
    ndarray of shape (n_samples,)
        A new float array (the caller's array is never modified).
    """
    if sample_weight is None:
        return np.ones(n_samples)
    weights = np.array(sample_weight, dtype=float)  # a copy, never a view
    if weights.ndim == 0:
        weights = np.full(n_samples, float(weights))
    if weights.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample; "
            f"got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError(
            "sample_weight contains NaN or infinity; weights must be finite."
        )
    if np.any(weights < 0):
        raise ValueError(
            f"sample_weight must be non-negative; got {np.sum(weights < 0)} negative "
            "weights (smallest "
            f"{weights.min():g}). A weight counts a sample (a negative one would "
            "make a loss Hessian indefinite); drop those samples or give them "
            "weight 0."
        )
    if not allow_all_zero and not np.any(weights > 0):
        raise ValueError(
            "sample_weight is zero for every sample, so nothing counts; give "
            "positive weights to the samples that should count."
        )
    return weights


def check_structure_index(structure_index, n_rows, n_structures=None):
    """Validate an integer ``structure_index`` of per-environment rows.

    Parameters
    ----------
    structure_index : array-like of int, shape (n_rows,)
        The structure (0-based) each row belongs to.
    n_rows : int
    n_structures : int or None
        Number of structures; default ``structure_index.max() + 1``.

    Returns
    -------
    structure_index : ndarray of int64, shape (n_rows,)
    n_structures : int
    """
    index = np.asarray(structure_index)
    if index.ndim != 1 or index.shape[0] != n_rows:
        raise ValueError(
            f"structure_index must be a 1-D array with one entry per row ({n_rows} "
            f"rows); got shape {index.shape}."
        )
    if n_rows and not np.issubdtype(index.dtype, np.integer):
        raise ValueError(
            f"structure_index must hold integers (0-based structure numbers); got "
            f"dtype {index.dtype}. Convert it with np.asarray(..., dtype=int)."
        )
    index = index.astype(np.int64)
    if n_rows and index.min() < 0:
        raise ValueError(
            "structure_index must be non-negative (0-based structure numbers)."
        )
    largest = int(index.max()) + 1 if n_rows else 0
    if n_structures is None:
        n_structures = largest
    elif n_structures < largest:
        raise ValueError(
            f"structure_index refers to structure {largest - 1}, but n_structures="
            f"{n_structures}."
        )
    return index, int(n_structures)


def check_bool(value, name):
    """A parameter that must be ``True`` or ``False`` (numpy booleans too)."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_choice(value, name, choices, *, explanation=""):
    """A parameter that must be one of ``choices`` (compared with ``==``)."""
    if not any(value is choice or _equal(value, choice) for choice in choices):
        listed = ", ".join(repr(choice) for choice in choices)
        raise ValueError(
            f"{name} must be one of {listed}, got {value!r}."
            + (f" {explanation}" if explanation else "")
        )
    return value


def _equal(value, choice):
    # strings and None only: an array compared with == would be ambiguous
    return isinstance(value, str) and isinstance(choice, str) and value == choice
