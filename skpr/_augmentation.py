"""PR-guided selection of new reference data, and valuation of the training data.

:class:`RigiditySelector` picks candidates greedily for a target set and
:func:`rigidity_valuation` ranks training groups by what the targets would
lose without them; both read the fitted model through the cross forms of
:mod:`skpr._whatif` (low-rank updates, never a refit).
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import Bunch

from skpr._base import reciprocal
from skpr._calibration import row_batches
from skpr._extras import progress
from skpr._linalg import serial_blas
from skpr._whatif import _Model, check_query_kind

#: Objectives of the greedy selection: name -> (function of the rigidities
#: and variances of the targets, +1 to maximize / -1 to minimize).
OBJECTIVES = {
    "mean_rigidity": (lambda rigidity, variance: rigidity.mean(axis=-1), 1.0),
    "sum_log_rigidity": (lambda rigidity, variance: np.log(rigidity).sum(axis=-1), 1.0),
    "mean_variance": (lambda rigidity, variance: variance.mean(axis=-1), -1.0),
    "min_rigidity": (lambda rigidity, variance: rigidity.min(axis=-1), 1.0),
}


# --------------------------------------------------------------------------
# Greedy selection


def _objective(model, function, quadratic):
    """An objective of the targets' quadratic forms, and their rigidities."""
    quadratic = np.maximum(quadratic, 0.0)
    rigidity = model.scale * reciprocal(quadratic)
    return function(rigidity, model.variance(quadratic)), rigidity


def _check_positive(values, n, name, *, allow_zero=False):
    values = np.asarray(values, dtype=float)
    if values.shape != (n,):
        raise ValueError(
            f"{name} must have one value per candidate ({n}), got shape {values.shape}."
        )
    bad = ~np.isfinite(values) | ((values < 0) if allow_zero else (values <= 0))
    if np.any(bad):
        raise ValueError(
            f"{name} must be finite and {'non-negative' if allow_zero else 'positive'}"
            f"; candidate {int(np.flatnonzero(bad)[0])} has {values[bad][0]!r}."
        )
    return values


class _Pool:
    """Candidate groups of rows against targets, under a growing set of picks.

    Keeps ``U = C H^{-1} Q^T`` (rows x targets), ``Dp = C H^{-1} P^T`` (rows x
    picked rows) and each group's ``V = C_g H^{-1} C_g^T``, all under the
    fitted ``H``; the picks enter through ``D (I + D V_PP D)^{-1} D``.
    """

    def __init__(self, model, rows, weights, index, Q, kind, block):
        self.model, self.rows, self.kind, self.block = model, rows, kind, block
        # pool positions are group indices 0 .. n_groups - 1 (np.unique order)
        if np.any(np.diff(index) < 0):  # groups contiguous (a copy only then)
            order = np.argsort(index, kind="stable")
            self.rows, self.weights, index = rows[order], weights[order], index[order]
        else:
            self.weights = weights
        self.n_groups = int(index.max()) + 1
        self.bounds = np.searchsorted(index, np.arange(self.n_groups + 1))
        self.sizes = np.diff(self.bounds)
        regressor = model.regressor
        self.q = model.quadratic(Q, kind)
        if kind == "component":
            self.q = self.q[:, block]
        self.U = model.cross(self.rows, Q, kind, block)
        if np.all(self.sizes == 1):
            self.V = [regressor._quadratic_form(self.rows)[:, None, None]]
            self.by_size = {1: np.arange(self.n_groups)}
        else:
            members = [
                np.arange(self.bounds[g], self.bounds[g + 1])
                for g in range(self.n_groups)
            ]
            grams = []
            for batch in row_batches(self.sizes):
                grams.extend(
                    regressor._group_cross_forms(self.rows, [members[g] for g in batch])
                )
            self.by_size = {}
            for g, size in enumerate(self.sizes):
                self.by_size.setdefault(int(size), []).append(g)
            self.by_size = {k: np.array(v) for k, v in self.by_size.items()}
            self.V = [
                np.stack([grams[g] for g in groups]) for groups in self.by_size.values()
            ]
        self.Dp = np.empty((self.rows.shape[0], 0))
        self.picked_rows = np.empty(0, dtype=int)

    def group_rows(self, g):
        return np.arange(self.bounds[g], self.bounds[g + 1])

    def add(self, g):
        rows = self.group_rows(g)
        rows = rows[self.weights[rows] > 0]
        if rows.size:
            new = self.model.cross(self.rows, self.rows[rows], "rigidity")
            self.Dp = np.hstack([self.Dp, new])
            self.picked_rows = np.concatenate([self.picked_rows, rows])

    def current(self):
        """Target forms under the picks, and the picks' correction terms."""
        if not self.picked_rows.size:
            return self.q.copy(), None
        P = self.picked_rows
        root = np.sqrt(self.weights[P])
        inner = np.eye(P.size) + root[:, None] * self.Dp[P] * root[None, :]
        inverse = root[:, None] * np.linalg.solve(inner, np.diag(root))
        B = self.U[P]  # P H^-1 Q^T, (m, T)
        q = self.q - np.einsum("it,ij,jt->t", B, inverse, B)
        return q, (inverse, B)

    def scores(self, q_now, correction):
        """Target forms after adding each candidate group: (n_groups, T)."""
        out = np.empty((self.n_groups, self.U.shape[1]))
        with serial_blas():
            for (size, groups), V in zip(self.by_size.items(), self.V, strict=True):
                rows = (self.bounds[groups][:, None] + np.arange(size)).ravel()
                U, Vg = self.U[rows], V
                if correction is not None:
                    inverse, B = correction
                    Dp = self.Dp[rows]
                    U = U - Dp @ (inverse @ B)
                    DpI = (Dp @ inverse).reshape(len(groups), size, -1)
                    Dp3 = Dp.reshape(len(groups), size, -1)
                    Vg = Vg - DpI @ np.swapaxes(Dp3, 1, 2)
                root = np.sqrt(self.weights[rows]).reshape(len(groups), size)
                U = U.reshape(len(groups), size, -1) * root[:, :, None]
                if size == 1:
                    change = U[:, 0, :] ** 2 / (1.0 + root**2 * Vg[:, 0, :])
                else:
                    inner = np.eye(size) + root[:, :, None] * Vg * root[:, None, :]
                    change = np.einsum("gkt,gkt->gt", U, np.linalg.solve(inner, U))
                out[groups] = -change
        return q_now[None, :] + out


class RigiditySelector(BaseEstimator):
    """Greedy PR-guided choice of the next reference calculations.

    From a pool of candidates (rows, groups of rows, or structures), pick
    ``n_select`` one after the other, each the candidate that most improves
    ``objective`` on the target set once added to the training set, folding
    each pick in before the next (paper section 4.1).  Everything comes from
    the fitted factor by low-rank updates (see :func:`what_if`): no
    candidate's reference value is needed, no refit is made, and the
    estimator is not changed.

    Parameters
    ----------
    estimator : BlockRidge, BlockKernelRidge or EnergyForceRegressor
        Fitted (it is used as it is, never refitted).
    n_select : int, default=10
        Number of candidates to pick.
    objective : {"mean_rigidity", "sum_log_rigidity", "mean_variance", \
"min_rigidity"}, default="mean_rigidity"
        What the picks improve on the targets: the mean PR (the paper's), the
        sum of log PR (a balance across targets), the mean calibrated
        variance ``a / R`` (minimized), or the smallest PR (the worst target).
    target : {"rigidity", "local", "component"}, default="rigidity"
        The rigidity of the targets: PR of target samples (structures), LPR of
        target environments (atoms), or the CPR of block ``block``.
    block : int, default=0
        The block of ``target="component"``.
    cost : None, array-like of shape (n_candidates,) or callable, default=None
        With a cost, each pick maximizes the improvement per unit cost (e.g.
        ``cost=lambda atoms: len(atoms) ** 3``, the scaling of a DFT
        calculation).  A callable is called on each candidate (a structure, or
        the rows of a group).
    progress : bool, default=False
        A progress bar over the picks (needs tqdm, the extra
        ``progress``).

    Attributes
    ----------
    selected_ : ndarray of shape (n_select,)
        Positions in the pool of the picked candidates (structures, rows, or
        groups in the sorted order of ``pool_groups``), in the order picked.
    selected_groups_ : ndarray of shape (n_select,)
        The labels of the picks (``pool_groups`` values; positions otherwise).
    objective_ : ndarray of shape (n_select + 1,)
        The objective before any pick, then after each.
    target_rigidity_ : ndarray of shape (n_select + 1, n_targets)
        The targets' rigidity before any pick, then after each.
    gain_ : ndarray of shape (n_select,)
        The improvement of each pick (per unit cost with ``cost``).

    Notes
    -----
    Cost per pick: one pass over the pool's rows, ``O(F (T + m))`` per row
    for ``T`` targets and ``m`` picked rows, after one ``O(F^2)`` per row at
    the start (the candidates' own quadratic forms).  The paper's scripts
    instead refit the model for every candidate at every step.

    Every candidate is scored at every pick.  None of the objectives has
    diminishing returns in general (adding a row can raise the gain of
    another), so lazy evaluation, which skips candidates by their stale
    gains, would not be exact here.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import BlockRidge, RigiditySelector
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(40, 5)), rng.normal(size=40)
    >>> model = BlockRidge(alpha=1.0).fit(X, y)
    >>> pool, targets = rng.normal(size=(100, 5)), rng.normal(size=(10, 5)) + 2
    >>> selector = RigiditySelector(model, n_select=3).fit(pool, targets)
    >>> selector.selected_.shape, bool(np.all(np.diff(selector.objective_) > 0))
    ((3,), True)
    """

    def __init__(
        self,
        estimator,
        n_select=10,
        *,
        objective="mean_rigidity",
        target="rigidity",
        block=0,
        cost=None,
        progress=False,
    ):
        self.estimator = estimator
        self.n_select = n_select
        self.objective = objective
        self.target = target
        self.block = block
        self.cost = cost
        self.progress = progress

    def fit(self, X_pool, X_target, *, pool_weight=None, pool_groups=None):
        """Pick the candidates.

        Parameters
        ----------
        X_pool : array-like of shape (n_rows, n_features), or list of ase.Atoms
            The candidates; rows with the same ``pool_groups`` label form one
            candidate (e.g. a structure's energy and force rows).
        X_target : array-like, or list of ase.Atoms
            The targets, as the estimator's ``predict_rigidity`` (or
            ``local_rigidity`` with ``target="local"``) takes them.
        pool_weight : array-like, optional
            ``sample_weight`` of the candidate rows (structures) once added.
        pool_groups : array-like of shape (n_rows,), optional
            One label per row; candidates are the distinct labels.

        Returns
        -------
        self
        """
        if self.objective not in OBJECTIVES:
            raise ValueError(
                f"objective must be one of {sorted(OBJECTIVES)}, got "
                f"{self.objective!r}."
            )
        check_query_kind(self.target)
        if not isinstance(self.n_select, numbers.Integral) or self.n_select < 1:
            raise ValueError(
                f"n_select must be a positive integer, got {self.n_select!r}."
            )
        model = _Model(self.estimator, "RigiditySelector")
        if _is_empty(X_pool):
            raise ValueError(
                "The candidate pool is empty: give at least one candidate."
            )
        rows, weights, index, labels = model.rows(
            X_pool, pool_weight, pool_groups, "pool"
        )
        n_candidates = labels.size
        if self.n_select > n_candidates:
            raise ValueError(
                f"n_select={self.n_select} is more than the {n_candidates} "
                "candidates of the pool; pick at most as many as there are."
            )
        block = None
        if self.target == "component":
            block = _check_block(self.block, model)
        Q = model.queries(X_target, self.target)
        if Q.shape[0] == 0:
            raise ValueError("X_target is empty: give at least one target.")
        cost = self._costs(X_pool, rows, index, n_candidates)
        function, sign = OBJECTIVES[self.objective]

        def evaluate(quadratic):
            return _objective(model, function, quadratic)

        pool = _Pool(model, rows, weights, index, Q, self.target, block)
        available = np.ones(n_candidates, dtype=bool)
        current_q, correction = pool.current()
        value, rigidity = evaluate(current_q)
        objective, rigidities, selected, gains = [value], [rigidity], [], []
        steps = range(self.n_select)
        if self.progress:
            steps = progress(steps, "RigiditySelector")
        for _ in steps:
            after, _ = evaluate(pool.scores(current_q, correction))
            gain = sign * (after - value) / cost
            gain[~available] = -np.inf
            pick = int(np.argmax(gain))
            available[pick] = False
            pool.add(pick)
            current_q, correction = pool.current()
            value, rigidity = evaluate(current_q)
            selected.append(pick)
            gains.append(float(gain[pick]))
            objective.append(value)
            rigidities.append(rigidity)
        self.selected_ = np.array(selected, dtype=int)
        self.selected_groups_ = labels[self.selected_]
        self.objective_ = np.array(objective, dtype=float)
        self.target_rigidity_ = np.array(rigidities)
        self.gain_ = np.array(gains)
        return self

    def _costs(self, X_pool, rows, index, n_candidates):
        if self.cost is None:
            return np.ones(n_candidates)
        if callable(self.cost):
            if isinstance(X_pool, list | tuple):
                values = [self.cost(candidate) for candidate in X_pool]
            else:
                order = np.argsort(index, kind="stable")
                bounds = np.searchsorted(index[order], np.arange(n_candidates + 1))
                values = [
                    self.cost(rows[order[bounds[g] : bounds[g + 1]]])
                    for g in range(n_candidates)
                ]
            return _check_positive(values, n_candidates, "cost")
        return _check_positive(self.cost, n_candidates, "cost")


def _check_block(block, model):
    n_blocks = model.n_blocks()
    if not isinstance(block, numbers.Integral) or not 0 <= block < n_blocks:
        raise ValueError(
            f"block={block!r} is not a block of the model, which has {n_blocks} "
            f"block(s): give an integer from 0 to {n_blocks - 1}."
        )
    return int(block)


def _is_empty(X):
    try:
        return len(X) == 0
    except TypeError:  # not a sequence: validation says what is wrong
        return False


# --------------------------------------------------------------------------
# Data valuation


def rigidity_valuation(
    model,
    X_train,
    X_target,
    *,
    sample_weight=None,
    groups=None,
    objective="mean_rigidity",
    target="rigidity",
    block=0,
):
    """What each training structure (group of rows) is worth to the targets.

    For every group of training rows, the objective the targets would have
    without it (a downdate of the fitted factor, no refit), and the loss:
    ``objective(all) - objective(without g)`` (reversed for
    ``"mean_variance"``, so that a larger value always means the group
    matters more).  Groups whose loss is near zero are redundant for these
    targets.

    Parameters
    ----------
    model : BlockRidge, BlockKernelRidge or EnergyForceRegressor
        Fitted on ``X_train``.
    X_train : array-like of shape (n_rows, n_features), or list of ase.Atoms
        The training data of the fit, with its ``sample_weight``.
    X_target : array-like, or list of ase.Atoms
    sample_weight : array-like, optional
        The weights ``X_train`` had in ``fit``.
    groups : array-like of shape (n_rows,), optional
        Rows with the same label are one training structure (arrays only).
    objective : str, default="mean_rigidity"
        As in :class:`RigiditySelector`.
    target : {"rigidity", "local", "component"}, default="rigidity"
        As in :class:`RigiditySelector`.
    block : int, default=0
        The block of ``target="component"``.

    Returns
    -------
    sklearn.utils.Bunch
        ``groups`` (labels), ``value`` (the loss, one per group),
        ``objective`` (with every group), ``objective_without`` (one per
        group) and ``ranking`` (group positions, most valuable first).

    Raises
    ------
    ValueError
        If removing a group leaves the Hessian singular (the group alone fixes
        some parameters).
    """
    if objective not in OBJECTIVES:
        raise ValueError(
            f"objective must be one of {sorted(OBJECTIVES)}, got {objective!r}."
        )
    adapter = _Model(model, "rigidity_valuation")
    rows, weights, index, labels = adapter.rows(X_train, sample_weight, groups, "train")
    Q = adapter.queries(X_target, target)
    check_query_kind(target)
    if target == "component":
        _check_block(block, adapter)
    else:
        block = None
    pool = _Pool(adapter, rows, -weights, index, Q, target, block)
    function, sign = OBJECTIVES[objective]
    q = pool.q
    without = np.empty((labels.size, q.size))
    with serial_blas():
        for (size, members), V in zip(pool.by_size.items(), pool.V, strict=True):
            positions = (pool.bounds[members][:, None] + np.arange(size)).ravel()
            root = np.sqrt(np.abs(pool.weights[positions])).reshape(len(members), size)
            U = pool.U[positions].reshape(len(members), size, -1) * root[:, :, None]
            inner = np.eye(size) - root[:, :, None] * V * root[:, None, :]
            values = np.linalg.eigvalsh(inner)
            # eigenvalues of I - D V D are one minus the group's leverages
            singular = values.min(axis=1) <= 1e-10
            if np.any(singular):
                label = labels[int(members[np.flatnonzero(singular)[0]])]
                label = label.item() if isinstance(label, np.generic) else label
                raise ValueError(
                    f"Removing the training group {label!r} leaves a Hessian "
                    "that is not positive definite (a leverage of 1): some "
                    "parameters are fixed by its rows alone. Increase alpha."
                )
            without[members] = q + np.einsum(
                "gkt,gkt->gt", U, np.linalg.solve(inner, U)
            )

    def evaluate(quadratic):
        return _objective(adapter, function, quadratic)[0]

    full = float(evaluate(q))
    objective_without = evaluate(without)
    value = sign * (full - objective_without)
    return Bunch(
        groups=labels,
        value=value,
        objective=full,
        objective_without=objective_without,
        ranking=np.argsort(-value, kind="stable"),
    )
