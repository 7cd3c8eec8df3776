"""Pool per-environment rows into per-structure rows."""

import numpy as np
from scipy import sparse
from sklearn.utils import check_array

from skpr._validation import check_structure_index


def pool_structures(X_local, structure_index, *, pooling="sum", n_structures=None):
    """Sum or average per-environment rows over the structures they belong to.

    A model that is linear in per-environment features and predicts a
    structure's property as the sum of environment contributions is a linear
    model on the summed features; fit it on the pooled rows and ask
    :meth:`BlockRidge.local_rigidity` about the original per-environment rows.

    .. math:: X_{A} = \\sum_{j \\in A} x_j \\quad\\text{or}\\quad
              X_{A} = \\frac{1}{n_A} \\sum_{j \\in A} x_j

    Parameters
    ----------
    X_local : array-like of shape (n_environments, n_features)
        Per-environment features (e.g. per-atom descriptors).
    structure_index : array-like of int, shape (n_environments,)
        The structure (0-based) each environment belongs to.
    pooling : {"sum", "mean"}, default="sum"
        ``"sum"`` for extensive targets such as total energies; ``"mean"`` for
        intensive ones (the per-structure prediction is then the mean of the
        environment contributions).
    n_structures : int, optional
        Number of structures (default ``max(structure_index) + 1``); a
        structure with no environment gets a row of zeros with ``pooling="sum"``
        and is an error with ``pooling="mean"``.

    Returns
    -------
    ndarray of shape (n_structures, n_features)

    Notes
    -----
    One sparse-dense product, ``O(n_environments * n_features)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import pool_structures
    >>> X_local = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 4.0]])
    >>> pool_structures(X_local, [0, 0, 1])
    array([[3., 1.],
           [0., 4.]])
    >>> pool_structures(X_local, [0, 0, 1], pooling="mean")
    array([[1.5, 0.5],
           [0. , 4. ]])
    """
    X_local = check_array(X_local, dtype=np.float64, ensure_min_samples=0)
    index, n_structures = check_structure_index(
        structure_index, X_local.shape[0], n_structures
    )
    if pooling not in ("sum", "mean"):
        raise ValueError(
            f"pooling must be 'sum' (extensive targets) or 'mean' (intensive "
            f"targets), got {pooling!r}."
        )
    n_rows = X_local.shape[0]
    weights = np.ones(n_rows)
    if pooling == "mean":
        counts = np.bincount(index, minlength=n_structures)
        if np.any(counts == 0):
            raise ValueError(
                f"Structures {np.flatnonzero(counts == 0)[:10].tolist()} have no "
                "environment, so their mean is undefined. Remove them or pass the "
                "right n_structures."
            )
        weights = 1.0 / counts[index]
    summation = sparse.csr_array(
        (weights, (index, np.arange(n_rows))), shape=(n_structures, n_rows)
    )
    return np.asarray(summation @ X_local)
