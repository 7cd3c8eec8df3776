"""What-if rigidities, by low-rank updates of the fitted factor.

Rigidities need no targets, so a fitted model can say, before any reference
calculation, what its rigidities would become with rows added (candidate
structures) or removed (training structures).  With the rows ``P`` and their
weights ``S`` the Hessian becomes ``H' = H + P^T S P`` and, by Woodbury, for a
query functional ``g``

.. math:: g^\\top H'^{-1} g = g^\\top H^{-1} g - u^\\top D (\\Sigma + D V D)^{-1}
          D u, \\qquad u = P H^{-1} g, \\quad V = P H^{-1} P^T,

with ``D = |S|^{1/2}`` and ``Sigma = sign(S)``: the fitted factor answers,
nothing is refitted and the model is not changed.  Every quantity is a cross
form ``G H^{-1} Q^T`` of the regressor (:meth:`_query_cross`,
:meth:`_cross_form`, :meth:`_group_cross_forms`), in the normalized units of
its weights, so one code serves ``BlockRidge`` (both routes),
``BlockKernelRidge`` and, through its rows, ``EnergyForceRegressor``.
"""

import sys

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skpr._base import RigidityRegressor, reciprocal
from skpr._linalg import chunks, quadratic_form
from skpr._validation import check_sample_weight

NOT_PD_REMOVAL = (
    "Removing these rows leaves a Hessian that is not positive definite: some "
    "parameters are fixed by the removed rows alone (a leverage of 1). Remove "
    "fewer rows, or increase alpha."
)

#: Query functionals: the PR of a sample, the LPR of an environment, the CPR.
QUERY_KINDS = ("rigidity", "local", "component")


# --------------------------------------------------------------------------
# The model seen as rows of a regressor


class _Model:
    """A fitted skpr regressor, or an EnergyForceRegressor through its rows."""

    def __init__(self, model, what):
        # the core never imports the atomistic layer: an EnergyForceRegressor
        # exists only if its module was imported
        atomistic = sys.modules.get("skpr.atomistic._regressor")
        self.model = model
        if isinstance(model, RigidityRegressor):
            check_is_fitted(model)
            self.regressor, self.structures = model, False
        elif atomistic is not None and isinstance(
            model, atomistic.EnergyForceRegressor
        ):
            self.regressor = model._skpr_regressor(what)
            self.structures = True
        else:
            raise TypeError(
                f"{what} needs a fitted skpr model (BlockRidge, BlockKernelRidge "
                f"or skpr.atomistic.EnergyForceRegressor); got {type(model).__name__}."
            )
        self.scale = float(self.regressor.weight_scale_)

    def rows(self, X, weight, groups, name):
        """Rows, normalized weights and group of each row (samples or structures).

        Returns the rows, their weights in the regressor's normalized units,
        the group index of each row (0 .. n_groups - 1, in the order of the
        input) and the label of each group.
        """
        if self.structures:
            if groups is not None:
                raise ValueError(
                    f"{name}_groups is not used with an EnergyForceRegressor: each "
                    "structure is one group of rows (its energy and force rows)."
                )
            rows, weights, index = self.model._design_rows(X, weight)
            rows = self.regressor._validate(rows)
            labels = np.arange(int(index.max()) + 1 if index.size else 0)
            return rows, weights / self.scale, index, labels
        rows = self.regressor._validate(X)
        weights = check_sample_weight(weight, rows.shape[0])
        if groups is None:
            labels, index = np.arange(rows.shape[0]), np.arange(rows.shape[0])
        else:
            groups = np.asarray(groups)
            if groups.shape != (rows.shape[0],):
                raise ValueError(
                    f"{name}_groups must have one label per row of the {name} "
                    f"({rows.shape[0]}), got shape {groups.shape}."
                )
            labels, index = np.unique(groups, return_inverse=True)
        return rows, weights / self.scale, index, labels

    def queries(self, X, kind):
        check_query_kind(kind)
        if self.structures:
            X = self.model._query_rows(X, kind)
        return self.regressor._validate(X)

    def quadratic(self, Q, kind):
        """``g^T H^{-1} g`` of the queries: (n,) or (n, n_blocks) for CPR."""
        regressor = self.regressor
        if kind == "rigidity":
            return regressor._quadratic_form(Q)
        if kind == "local":
            return regressor._local_quadratic_form(Q)
        return regressor._component_quadratic_form(Q)

    def cross(self, X, Q, kind, block=None):
        return self.regressor._query_cross(X, Q, kind, block)

    def n_blocks(self):
        return len(self.regressor.blocks_)

    def variance(self, quadratic):
        """``a / R`` from normalized quadratic forms (the calibrated scale)."""
        regressor = self.regressor
        # an EnergyForceRegressor's targets are energies (of structures or atoms)
        which = "energy" if self.structures else None
        scales = getattr(regressor, "uncertainty_scales_", None) or {}
        a = scales[which] if which in scales else regressor.uncertainty_scale_
        return a / self.scale * quadratic


def check_query_kind(kind):
    if kind not in QUERY_KINDS:
        raise ValueError(
            f"kind must be one of {QUERY_KINDS} (the PR, the LPR of environments, "
            f"or the CPR of each block), got {kind!r}."
        )


def _signed_inverse(weights, cross):
    """``D (Sigma + D V D)^{-1} D`` for rows of weights ``s`` and ``V = P H^-1 P^T``.

    Checks that ``H + P^T S P`` stays positive definite: by Sylvester's law of
    inertia, ``Sigma + D V D`` must have as many negative eigenvalues as there
    are removed rows.
    """
    root = np.sqrt(np.abs(weights))
    signs = np.sign(weights)
    inner = np.diag(signs) + root[:, None] * cross * root[None, :]
    values, vectors = np.linalg.eigh(inner)
    n_removed = int(np.count_nonzero(signs < 0))
    # the eigenvalues are >= 1 for additions and one minus the leverages for
    # removals: a tolerance absolute near 1, widened by the rounding of large
    # entries
    tolerance = max(
        1e-10, 100 * values.size * np.finfo(float).eps * np.abs(values).max()
    )
    if np.count_nonzero(values < -tolerance) != n_removed or np.any(
        np.abs(values) <= tolerance
    ):
        raise ValueError(NOT_PD_REMOVAL)
    return (root[:, None] * vectors / values) @ (vectors.T * root[None, :])


# --------------------------------------------------------------------------
# What if


class WhatIf:
    """Rigidities of a fitted model as if rows were added or removed.

    Made by :func:`what_if`; holds the low-rank correction of the fitted
    factor, never a new fit.  The fitted model is only read.

    Attributes
    ----------
    n_rows_added_, n_rows_removed_ : int
        Rows of positive weight added and removed.
    """

    def __init__(self, model, rows, weights):
        self._model = model
        keep = weights != 0
        rows, weights = rows[keep], weights[keep]
        self.n_rows_added_ = int(np.count_nonzero(weights > 0))
        self.n_rows_removed_ = int(np.count_nonzero(weights < 0))
        # the same row added (or removed) several times: one row, summed weight
        rows, inverse = np.unique(rows, axis=0, return_inverse=True)
        weights = np.bincount(inverse.reshape(-1), weights, minlength=rows.shape[0])
        keep = weights != 0
        self._rows, self._weights = rows[keep], weights[keep]
        self._factor = None
        if not self._rows.shape[0]:
            return
        regressor = model.regressor
        if getattr(regressor, "solver_", "dual") != "dual":
            # primal: a backward-stable update of the factor itself; removals
            # first pass the leverage (inertia) check of the Woodbury form
            if np.any(self._weights < 0):
                _signed_inverse(self._weights, regressor._cross_form(self._rows))
            try:
                self._factor = regressor._updated_factor(self._rows, self._weights)
            except np.linalg.LinAlgError as error:
                raise ValueError(NOT_PD_REMOVAL) from error
        else:
            cross = regressor._cross_form(self._rows)
            self._inverse = _signed_inverse(self._weights, cross)

    def _quadratic(self, X, kind):
        model = self._model
        Q = model.queries(X, kind)
        if self._factor is not None:
            return self._factored(Q, kind)
        quadratic = np.array(model.quadratic(Q, kind), dtype=float)
        if not self._rows.shape[0]:
            return quadratic
        blocks = range(model.n_blocks()) if kind == "component" else [None]
        for b in blocks:
            u = model.cross(self._rows, Q, kind, b)  # (k, n)
            change = np.einsum("in,ij,jn->n", u, self._inverse, u)
            if b is None:
                quadratic -= change
            else:
                quadratic[:, b] -= change
        return np.maximum(quadratic, 0.0)

    def _factored(self, Q, kind):
        regressor = self._model.regressor
        blocks = range(self._model.n_blocks()) if kind == "component" else [None]
        out = np.empty((Q.shape[0], len(blocks)))
        for column, b in enumerate(blocks):
            for rows in chunks(Q.shape[0]):
                functional = regressor._functional_rows(Q[rows], kind, b)
                out[rows, column] = quadratic_form(self._factor, functional)
        return out if kind == "component" else out[:, 0]

    def _rigidity(self, quadratic):
        return self._model.scale * reciprocal(quadratic)

    def predict_rigidity(self, X):
        """PR of each sample (each structure's energy) after the change.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._rigidity(self._quadratic(X, "rigidity"))

    def local_rigidity(self, X_local):
        """LPR of each environment (each atom of the structures) after the change.

        Parameters
        ----------
        X_local : array-like of shape (n_environments, n_features), or list of
            ase.Atoms

        Returns
        -------
        ndarray of shape (n_environments,)
        """
        return self._rigidity(self._quadratic(X_local, "local"))

    def component_rigidity(self, X):
        """CPR of each block after the change.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_samples, n_blocks)
        """
        return self._rigidity(self._quadratic(X, "component"))

    def predict_std(self, X):
        """``sqrt(a / R')``: the std with the model's calibrated scale ``a``.

        The scale is not refitted: a what-if query knows no new targets.  For an
        EnergyForceRegressor it is the energy scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or list of ase.Atoms

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return np.sqrt(self._model.variance(self._quadratic(X, "rigidity")))


def what_if(model, add=None, *, add_weight=None, remove=None, remove_weight=None):
    """Rigidities as if rows were added to, or removed from, the training set.

    ``what_if(model, add=X_new).predict_rigidity(X_query)`` is the PR that
    ``model`` refitted with the rows ``X_new`` added would give, from the
    fitted factor by a low-rank (Woodbury) update: no refit, and ``model`` is
    not changed.  Removing rows is the same update with negative weights.
    Targets are never needed.

    Parameters
    ----------
    model : BlockRidge, BlockKernelRidge or skpr.atomistic.EnergyForceRegressor
        Fitted.
    add : array-like of shape (n_rows, n_features), or list of ase.Atoms
        Rows (or candidate structures: each brings its energy row and its
        force and virial rows with the model's loss weights) to add.
    add_weight : array-like of shape (n_rows,) or (n_structures,), optional
        Their ``sample_weight`` (default 1), in the units of ``fit``.
    remove : array-like or list of ase.Atoms, optional
        Training rows (structures) to remove, with the weights they had in
        ``fit`` (``remove_weight``, default 1).
    remove_weight : array-like, optional

    Returns
    -------
    WhatIf
        With ``predict_rigidity``, ``local_rigidity``, ``component_rigidity``
        and ``predict_std``, each taking what the model's own method takes.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import BlockRidge, what_if
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(30, 4)), rng.normal(size=30)
    >>> model = BlockRidge(alpha=1.0).fit(X, y)
    >>> x_new = rng.normal(size=(1, 4))
    >>> before = model.predict_rigidity(x_new)
    >>> after = what_if(model, add=x_new).predict_rigidity(x_new)
    >>> bool(np.isclose(after[0], before[0] + 1))  # the +s rule (paper App. B)
    True
    """
    adapter = _Model(model, "what_if")
    parts, weights = [], []
    for X, weight, sign, name in (
        (add, add_weight, 1.0, "add"),
        (remove, remove_weight, -1.0, "remove"),
    ):
        if X is None:
            if weight is not None:
                raise ValueError(f"{name}_weight was given without {name}.")
            continue
        rows, w, _, _ = adapter.rows(X, weight, None, name)
        parts.append(rows)
        weights.append(sign * w)
    if not parts:
        n_features = adapter.regressor.n_features_in_
        return WhatIf(adapter, np.empty((0, n_features)), np.empty(0))
    return WhatIf(adapter, np.vstack(parts), np.concatenate(weights))
