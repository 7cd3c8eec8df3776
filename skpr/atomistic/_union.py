"""Per-atom rows and position gradients of a descriptor or a FeatureUnion of them.

``FeatureUnion`` concatenates the ``transform`` outputs of its parts; these two
functions concatenate their ``transform_local`` and ``transform_gradients``
outputs in the same column order (with the union's ``transformer_weights``),
so that the rows line up with the columns a regressor was fitted on.
"""

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_is_fitted


def _parts(descriptor, method):
    """Fitted leaf transformers of ``descriptor`` with their weights."""
    if isinstance(descriptor, Pipeline):
        steps = [step for _, step in descriptor.steps if step != "passthrough"]
        if len(steps) != 1:
            raise TypeError(
                f"{method} takes one structure transformer or a FeatureUnion of "
                f"them; got a Pipeline of {len(descriptor.steps)} steps. For a "
                "model pipeline [descriptors, regressor], pass model[0]."
            )
        return _parts(steps[0], method)
    if isinstance(descriptor, FeatureUnion):
        check_is_fitted(descriptor)
        weights = descriptor.transformer_weights or {}
        parts = []
        for name, transformer in descriptor.transformer_list:
            if transformer == "drop":
                continue
            if transformer == "passthrough":
                raise TypeError(
                    f"{method}: the FeatureUnion part {name!r} is 'passthrough'; a "
                    "list of structures cannot be passed through as features."
                )
            weight = weights.get(name, 1.0)
            parts += [(t, w * weight) for t, w in _parts(transformer, method)]
        return parts
    if not hasattr(descriptor, method):
        raise TypeError(
            f"{type(descriptor).__name__} has no method {method}; use the "
            "transformers of skpr.atomistic (SoapPowerSpectrum, LodeDescriptor, "
            "SphericalExpansion, LodeExpansion, CompositionFeatures) or a "
            "FeatureUnion of them."
        )
    return [(descriptor, 1.0)]


def _stack(descriptor, X, method):
    parts = _parts(descriptor, method)
    blocks, index = [], None
    for transformer, weight in parts:
        rows, part_index = getattr(transformer, method)(X)
        blocks.append(rows * weight if weight != 1.0 else rows)
        index = part_index if index is None else index
    return np.hstack(blocks), index


def transform_local(descriptor, X):
    """Per-atom rows of a descriptor or of a ``FeatureUnion`` of descriptors.

    The columns are those of ``descriptor.transform(X)``; the pooled rows are
    ``skpr.pool_structures(X_local, structure_index, pooling=pooling)``.  Give the
    rows to :meth:`skpr.BlockRidge.local_rigidity` for the LPR of every atom
    (as a DataFrame with ``descriptor.get_feature_names_out()`` as columns if
    the regressor was fitted on one).

    Parameters
    ----------
    descriptor : fitted transformer or FeatureUnion
        :class:`SoapPowerSpectrum`, :class:`LodeDescriptor`,
        :class:`CompositionFeatures`, a fitted ``FeatureUnion`` of them
        (``transformer_weights`` are applied; ``"drop"`` parts are skipped),
        or a one-step ``Pipeline`` such as ``model[:-1]``.
    X : list of ase.Atoms

    Returns
    -------
    X_local : ndarray of shape (n_atoms_total, n_features)
    structure_index : ndarray of int64, shape (n_atoms_total,)

    Examples
    --------
    >>> from ase.build import molecule
    >>> from sklearn.pipeline import make_union
    >>> from skpr.atomistic import (CompositionFeatures, SoapPowerSpectrum,
    ...                             transform_local)
    >>> structures = [molecule("H2O"), molecule("CH4")]
    >>> union = make_union(SoapPowerSpectrum(cutoff=3.0, max_radial=1, max_angular=1),
    ...                    CompositionFeatures()).fit(structures)
    >>> X_local, structure_index = transform_local(union, structures)
    >>> X_local.shape, structure_index.tolist()
    ((8, 147), [0, 0, 0, 1, 1, 1, 1, 1])
    """
    return _stack(descriptor, X, "transform_local")


def transform_gradients(descriptor, X):
    """Position gradients of the pooled rows of a descriptor or a ``FeatureUnion``.

    Row ``3 a + k`` is the derivative of the pooled row of atom ``a``'s
    structure with respect to coordinate ``k`` of atom ``a`` (atoms of all
    structures concatenated in ase order); see
    :meth:`SoapPowerSpectrum.transform_gradients`.

    Parameters
    ----------
    descriptor : fitted transformer or FeatureUnion
        As in :func:`transform_local`.
    X : list of ase.Atoms

    Returns
    -------
    gradients : ndarray of shape (3 * n_atoms_total, n_features)
        Features per Å.
    structure_index : ndarray of int64, shape (n_atoms_total,)

    Examples
    --------
    >>> from ase.build import molecule
    >>> from sklearn.pipeline import make_union
    >>> from skpr.atomistic import (CompositionFeatures, SoapPowerSpectrum,
    ...                             transform_gradients)
    >>> structures = [molecule("H2O"), molecule("CH4")]
    >>> union = make_union(SoapPowerSpectrum(cutoff=3.0, max_radial=1, max_angular=1),
    ...                    CompositionFeatures()).fit(structures)
    >>> gradients, structure_index = transform_gradients(union, structures)
    >>> gradients.shape
    (24, 147)
    """
    return _stack(descriptor, X, "transform_gradients")


def transform_strain_gradients(descriptor, X):
    """Strain gradients of the pooled rows of a descriptor or a ``FeatureUnion``.

    See :meth:`SoapPowerSpectrum.transform_strain_gradients`; the columns are
    those of ``descriptor.transform(X)`` (``transformer_weights`` applied).

    Parameters
    ----------
    descriptor : fitted transformer or FeatureUnion
    X : list of ase.Atoms
        Periodic structures.

    Returns
    -------
    ndarray of shape (n_structures, 3, 3, n_features)
    """
    parts = _parts(descriptor, "transform_strain_gradients")
    return np.concatenate(
        [t.transform_strain_gradients(X) * w for t, w in parts], axis=-1
    )
