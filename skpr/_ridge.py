"""Ridge regression with feature blocks and prediction rigidities."""

import itertools
import warnings

import numpy as np
from scipy import linalg

from skpr._base import (
    RigidityRegressor,
    reciprocal,
)
from skpr._blocks import resolve_alpha, resolve_blocks
from skpr._calibration import leave_one_out
from skpr._dual import dual_leave_one_out, dual_quadratic_form
from skpr._linalg import (
    COND_QR_SWITCH,
    LEVERAGE_DIRECT,
    block_quadratic_form,
    cholesky_upper,
    chunks,
    condition_estimate,
    cross_form,
    factor_gram,
    factor_rows_qr,
    quadratic_form,
    serial_blas,
    warn_if_rounding_dominates,
    whiten,
)
from skpr._statistics import GramStatistics, weighted_rows
from skpr._streaming import StatisticsFit
from skpr._updates import update_factor
from skpr._validation import check_bool, check_choice

_SOLVERS = ("auto", "cholesky", "qr", "dual")


class BlockRidge(StatisticsFit, RigidityRegressor):
    """Ridge regression with one regularization per feature block, and its rigidities.

    Minimizes

    .. math:: L(w, c) = \\tfrac12 \\sum_i s_i (y_i - x_i \\cdot w - c)^2
              + \\tfrac12 \\sum_b \\alpha_b \\lVert w_b \\rVert^2

    and keeps one factorization of its Hessian ``H = X^T S X + Lambda`` (on
    weighted-centered ``X`` when an intercept is fitted).  Every rigidity is
    then a quadratic form with that factor: PR (:meth:`predict_rigidity`),
    LPR (:meth:`local_rigidity`), CPR (:meth:`component_rigidity`), and the
    calibrated standard deviation ``sqrt(uncertainty_scale_ / PR)`` of
    :meth:`predict`.

    Parameters
    ----------
    alpha : float, sequence of float, or dict, default=1.0
        Regularization, as in :class:`sklearn.linear_model.Ridge`: one value
        for all blocks, one per block in column order, or a dict mapping block
        names to values.  Must be positive.
    blocks : None, list of int, or "names", default=None
        ``None``: all features form one block.  A list: the size of each
        block, in column order.  ``"names"``: one block per ``name__`` prefix
        of the column names of X (the output of ``FeatureUnion`` or
        ``ColumnTransformer`` with pandas output).
    fit_intercept : bool, default=True
        Fit an unregularized intercept.  It enters the PR (as ``g = [x, 1]``)
        but not the LPR or CPR.
    calibration : {"loo", None}, default="loo"
        ``"loo"``: fit :attr:`uncertainty_scale_` by maximum likelihood on the
        closed-form leave-one-out residuals (no refits).  ``None``: scale 1
        until :meth:`calibrate` is called with held-out data.
    fit_noise : bool, default=False
        Also fit a noise variance ``noise_`` next to the scale, by maximum
        likelihood of ``var = scale / R + noise`` on the leave-one-out (or
        held-out, :meth:`calibrate`) residuals.  ``predict(return_std=True)``
        still gives the uncertainty of the prediction, ``scale / R``;
        ``observation=True`` adds the noise (a new measurement).  ``False``
        is the paper's ``var = scale / R``.
    solver : {"auto", "cholesky", "qr", "dual"}, default="auto"
        How the Hessian is factored.  ``"cholesky"`` forms the normal
        equations (``F x F``); ``"qr"`` factors ``[sqrt(S) X; sqrt(Lambda)]``
        without squaring its condition number (about twice the cost);
        ``"dual"`` factors the ``n x n`` matrix
        ``A = S^{-1} + X Lambda^{-1} X^T`` (Woodbury), the cheaper one when
        there are fewer samples than features (SOAP, ACE).  ``"auto"`` takes
        the dual when the samples with positive weight are fewer than the
        features, else Cholesky, switching to QR when the normal equations
        would lose more than half of the digits.  All give the same numbers.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    solver_ : str
        ``"cholesky"``, ``"qr"`` or ``"dual"``, the factorization used.
    cholesky_ : ndarray
        Upper-triangular factor with a positive diagonal: for
        ``solver_ in ("cholesky", "qr")`` of the Hessian, shape
        ``(n_features, n_features)``; for ``solver_ == "dual"`` of ``A``,
        shape ``(n_support, n_support)``.  Both are of the matrices built with
        the normalized weights ``s / weight_scale_`` and regularization
        ``alpha_ / weight_scale_`` (the same matrices for unit weights).
    support_ : ndarray of int, shape (n_support,)
        Training rows with positive weight (only ``solver_ == "dual"``).
    weight_scale_ : float
        ``max(sample_weight)``, by which weights and alpha are normalized
        inside the fit (1 for unit weights).
    blocks_ : tuple of slice
        Column range of each block.
    block_names_ : tuple of str
    alpha_ : ndarray of shape (n_blocks,)
        Regularization of each block.
    X_offset_ : ndarray of shape (n_features,)
        Weighted mean of the training rows (zero without intercept).
    sample_weight_sum_ : float
        ``sum(s)``, the rigidity of the intercept alone.
    uncertainty_scale_ : float
        ``a`` in ``var(x) = a / R(x)``.
    noise_ : float
        ``nu`` in ``var = a / R + nu`` (0 unless ``fit_noise=True``).
    uncertainty_scales_, noises_ : dict
        Scale and noise of each kind of row, when ``kinds`` was given to
        ``fit`` (with ``calibration="loo"``) or to :meth:`calibrate`.
    loo_residual_, loo_rigidity_ : ndarray of shape (n_samples,)
        Leave-one-out (with ``groups``: leave-one-group-out) residuals and
        rigidities of the training rows (only with ``calibration="loo"``).
        A row of zeros without intercept has an infinite rigidity and is
        left out of the scale.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X had column names.

    Notes
    -----
    Primal routes: fit ``O(n F^2 + F^3)`` (``X^T S X``, one Cholesky, and
    one triangular solve for the leave-one-out leverages); queries ``O(F^2)``
    per row, ``B`` times that for the CPR of ``B`` blocks.  Dual route: fit
    ``O(n^2 F + n^3)``, queries ``O(n F + n^2)`` per row.

    Leave-one-out values are exact near interpolation (leverages near 1,
    which arise when ``n <= F`` and alpha is small): whenever
    ``n_support <= n_features`` they come from the dual identities
    ``1 - h_i = P_ii / s_i`` and ``r_i^loo = (P y)_i / P_ii``
    (:func:`skpr._dual.dual_leave_one_out`), whatever the solver of the
    coefficients.  With more rows than features a leverage within ``1e-6``
    of 1 loses digits, and a warning says so.

    The dual route's PR of a query inside the span of the training rows
    loses about ``eps * (x^T Lambda^{-1} x) / q(x)`` in relative accuracy, as
    a Gaussian process does; the primal routes do not.

    References
    ----------
    S. Chong et al., "Prediction rigidities for data-driven chemistry",
    Faraday Discuss. (2024), doi:10.1039/d4fd00101j, eqs. 1-3 and Table 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skpr import BlockRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 4))
    >>> y = X @ [1.0, -2.0, 0.5, 0.0] + 0.1 * rng.normal(size=50)
    >>> model = BlockRidge(alpha=[1e-2, 1.0], blocks=[2, 2]).fit(X, y)
    >>> y_pred, y_std = model.predict(X[:3], return_std=True)
    >>> model.component_rigidity(X[:3]).shape
    (3, 2)
    >>> bool(np.allclose(model.predict_components(X).sum(1) + model.intercept_,
    ...                  model.predict(X)))
    True

    With more features than samples the dual route gives the same numbers:

    >>> X_wide = rng.normal(size=(20, 300))
    >>> y_wide = X_wide[:, 0] + 0.1 * rng.normal(size=20)
    >>> wide = BlockRidge(alpha=0.1).fit(X_wide, y_wide)
    >>> primal = BlockRidge(alpha=0.1, solver="cholesky").fit(X_wide, y_wide)
    >>> wide.solver_, bool(np.allclose(wide.predict_rigidity(X_wide[:5]),
    ...                                primal.predict_rigidity(X_wide[:5])))
    ('dual', True)
    """

    def __init__(
        self,
        alpha=1.0,
        *,
        blocks=None,
        fit_intercept=True,
        calibration="loo",
        fit_noise=False,
        solver="auto",
    ):
        self.alpha = alpha
        self.blocks = blocks
        self.fit_intercept = fit_intercept
        self.calibration = calibration
        self.fit_noise = fit_noise
        self.solver = solver

    def _check_params(self):
        check_bool(self.fit_intercept, "fit_intercept")
        check_bool(self.fit_noise, "fit_noise")
        self._check_calibration()
        check_choice(
            self.solver,
            "solver",
            _SOLVERS,
            explanation="'auto' picks 'dual' for fewer samples than features and "
            "'cholesky' (or 'qr' when ill-conditioned) otherwise.",
        )

    # ------------------------------------------------------------------ fit

    def _fit(self, X, y, sample_weight):
        self.__dict__.pop("support_", None)
        self.__dict__.pop("_stream", None)
        self.blocks_, self.block_names_ = resolve_blocks(
            self.blocks, X.shape[1], getattr(self, "feature_names_in_", None)
        )
        self.alpha_, alpha_diag = resolve_alpha(
            self.alpha, self.blocks_, self.block_names_
        )
        # normalized with the weights (see RigidityRegressor)
        self._alpha_diag = alpha_diag / self.weight_scale_
        n_support = int(np.count_nonzero(sample_weight))
        self._weight_sum = float(sample_weight.sum())
        self.sample_weight_sum_ = self._weight_sum * self.weight_scale_
        solver = self.solver
        if solver == "dual" or (solver == "auto" and n_support < X.shape[1]):
            self.X_offset_, self._y_offset = self._offsets(X, y, sample_weight)
            try:
                system = self._dual_system(X, y, sample_weight)
            except np.linalg.LinAlgError:
                if solver == "dual":
                    raise
                system = None
            # PR of rows in the span of the data is k - u^T A^-1 u, which loses
            # about eps * max(s k) in relative accuracy: beyond half the digits
            # auto leaves for QR, like the normal equations (the same loss)
            interpolation = (
                np.inf
                if system is None
                else float(np.max(sample_weight[system[0]] * np.diag(system[2])))
            )
            if solver == "dual" or interpolation <= COND_QR_SWITCH:
                warn_if_rounding_dominates(interpolation, stacklevel=4)
                self._fit_dual(y, sample_weight, *system)
            else:
                self._fit_primal(X, y, sample_weight, "qr")
        else:
            self._fit_primal(X, y, sample_weight, solver)
        self.intercept_ = float(self._y_offset - self.X_offset_ @ self.coef_)

    def _offsets(self, X, y, sample_weight):
        if self.fit_intercept:
            return (
                sample_weight @ X / self._weight_sum,
                float(sample_weight @ y / self._weight_sum),
            )
        return np.zeros(X.shape[1]), 0.0

    def _fit_primal(self, X, y, sample_weight, solver):
        # summarize the rows, factor, solve: only the first step reads rows
        self.X_offset_, self._y_offset = self._offsets(X, y, sample_weight)
        Xw, yw = weighted_rows(X, y, sample_weight, self.X_offset_, self._y_offset)
        # the leave-one-out pass needs the same rows: computed once
        if self.calibration == "loo":
            self._loo_rows = Xw
        factor = None
        if solver in ("auto", "cholesky"):
            statistics = GramStatistics.from_weighted_rows(
                Xw,
                yw,
                self._weight_sum,
                self.X_offset_,
                self._y_offset,
                int(np.count_nonzero(sample_weight)),
                centered=self.fit_intercept,
            )
            try:
                factor = factor_gram(statistics.xx, self._alpha_diag)
            except np.linalg.LinAlgError:
                if solver == "cholesky":
                    raise
            condition = np.inf if factor is None else condition_estimate(factor)
            if factor is not None and (
                solver == "cholesky" or condition <= COND_QR_SWITCH
            ):
                warn_if_rounding_dominates(condition, stacklevel=5)
                self.solver_ = "cholesky"
                self.cholesky_ = factor
                self.coef_ = linalg.cho_solve((factor, False), statistics.xy)
                return
        self.cholesky_, self.coef_ = factor_rows_qr(Xw, yw, self._alpha_diag)
        warn_if_rounding_dominates(condition_estimate(self.cholesky_), stacklevel=5)
        self.solver_ = "qr"

    def _dual_system(self, X, y, sample_weight):
        """``A = S^{-1} + Xc Lambda^{-1} Xc^T`` on the rows with positive weight.

        Returns
        -------
        support : ndarray of int, shape (n_support,)
        rows : ndarray of shape (n_support, n_features)
            The centered support rows.
        kernel : ndarray of shape (n_support, n_support)
            ``Xc Lambda^{-1} Xc^T`` (full, symmetric).
        factor : ndarray of shape (n_support, n_support)
            Upper Cholesky factor of ``A``.
        """
        support = np.flatnonzero(sample_weight > 0)
        rows = np.subtract(X[support], self.X_offset_, order="C")
        scaled = rows / np.sqrt(self._alpha_diag)
        # C-ordered rows: their transpose is Fortran, A^T A = rows rows^T
        kernel = linalg.blas.dsyrk(1.0, scaled.T, trans=1)
        del scaled
        kernel = np.triu(kernel) + np.triu(kernel, 1).T
        system = np.array(kernel, order="F")
        system[np.diag_indices_from(system)] += 1.0 / sample_weight[support]
        factor = cholesky_upper(system, what="A = S^-1 + X Lambda^-1 X^T")
        return support, rows, kernel, factor

    def _fit_dual(self, y, sample_weight, support, rows, kernel, factor):
        # kept until the leave-one-out pass, which needs it with an intercept
        self._loo_kernel = kernel if self.fit_intercept else None
        self.support_ = support
        self.cholesky_ = factor
        self._support_rows = rows
        dual_coef = linalg.cho_solve((factor, False), y[support] - self._y_offset)
        self.coef_ = (rows.T @ dual_coef) / self._alpha_diag
        self.solver_ = "dual"
        if self.calibration != "loo":
            del self._loo_kernel

    # ------------------------------------------------------ leave-one-out

    def _leave_one_out(self, X, y, sample_weight):
        rows = self.__dict__.pop("_loo_rows", None)  # primal: sqrt(s) (x - xbar)
        residual = y - self._predict(X)
        positive = sample_weight > 0
        leverage = np.zeros(X.shape[0])
        complement = np.ones(X.shape[0])
        rigidity = np.full(X.shape[0], np.nan)
        if not positive.all():
            rigidity[~positive] = reciprocal(self._quadratic_form(X[~positive]))
        weight = sample_weight[positive]
        if self.solver_ == "dual" or np.count_nonzero(positive) <= X.shape[1]:
            # exact near interpolation, whatever the solver of the coefficients
            if self.solver_ == "dual":
                factor, kernel = self.cholesky_, self.__dict__.pop("_loo_kernel")
            else:
                _, _, kernel, factor = self._dual_system(X, y, sample_weight)
                if not self.fit_intercept:
                    kernel = None
            loo_residual, loo_complement = dual_leave_one_out(
                factor, y[positive] - self._y_offset, weight, kernel=kernel
            )
            complement[positive] = loo_complement
            residual[positive] = loo_residual * loo_complement
            lever = 1.0 - loo_complement
            # h = 1 - (1 - h) cancels when h is tiny: take s q directly there
            weak = lever < LEVERAGE_DIRECT
            if np.any(weak):
                weak_rows = np.flatnonzero(positive)[weak]
                lever[weak] = weight[weak] * self._quadratic_form(X[weak_rows])
            leverage[positive] = lever
        else:
            if not positive.all():
                rows = rows[positive]
            lever = quadratic_form(self.cholesky_, rows)
            if self.fit_intercept:
                lever += weight / self._weight_sum
            leverage[positive] = lever
            complement[positive] = 1.0 - lever
            close = complement[positive] < LEVERAGE_DIRECT
            if np.any(close):
                warnings.warn(
                    f"{np.count_nonzero(close)} training rows have a leverage "
                    "within 1e-6 of 1, so their leave-one-out residuals and "
                    "rigidities lose digits in the primal factor. "
                    "solver='dual' computes them exactly.",
                    linalg.LinAlgWarning,
                    stacklevel=4,
                )
        return leave_one_out(residual, leverage, complement, sample_weight, rigidity)

    # -------------------------------------------------------------- queries

    def _predict(self, X):
        out = np.empty(X.shape[0])
        for rows in chunks(X.shape[0]):
            out[rows] = linalg.blas.dgemv(1.0, X[rows].T, self.coef_, trans=1)
        return out + self.intercept_

    def _predict_components(self, X):
        return np.stack([X[:, b] @ self.coef_[b] for b in self.blocks_], axis=1)

    def _dual_forms(self, X, block, *, centered):
        """``g^T H^{-1} g`` in the dual for ``g`` = rows of X in ``block``."""
        inverse_alpha = 1.0 / self._alpha_diag[block]
        support_rows = self._support_rows[:, block]
        out = np.empty(X.shape[0])
        for rows in chunks(X.shape[0]):
            g = X[rows, block]
            if centered:
                g = g - self.X_offset_[block]
            scaled = g * inverse_alpha
            out[rows] = dual_quadratic_form(
                self.cholesky_,
                support_rows @ scaled.T,
                np.einsum("ij,ij->i", g, scaled),
            )
        return out

    def _quadratic_form(self, X):
        # g = [x, 1]; in the centered parameters H = diag(H_c, sum(s)).
        if self.solver_ == "dual":
            quadratic = self._dual_forms(X, slice(None), centered=True)
        else:
            quadratic = quadratic_form(self.cholesky_, X, offset=self.X_offset_)
        if self.fit_intercept:
            quadratic += 1.0 / self._weight_sum
        return quadratic

    def _cross_form(self, Xa, Xb=None, *, intercept=True):
        """``G_a H^{-1} G_b^T`` for ``g = [x, 1]`` (``intercept``) or ``g = x``."""
        Xb = Xa if Xb is None else Xb
        if self.solver_ == "dual":
            centered = intercept and self.fit_intercept
            ga, gb = (g - self.X_offset_ if centered else g for g in (Xa, Xb))
            inverse_alpha = 1.0 / self._alpha_diag
            ua = whiten(self.cholesky_, (self._support_rows @ (ga * inverse_alpha).T).T)
            ub = (
                ua
                if Xb is Xa
                else whiten(
                    self.cholesky_, (self._support_rows @ (gb * inverse_alpha).T).T
                )
            )
            out = (ga * inverse_alpha) @ gb.T - ua.T @ ub
        elif Xb is Xa:
            z = whiten(self.cholesky_, Xa - self.X_offset_ if intercept else Xa)
            out = z.T @ z
        else:
            offset = self.X_offset_ if intercept else None
            out = cross_form(self.cholesky_, Xa, Xb, offset=offset)
        if intercept and self.fit_intercept:
            out += 1.0 / self._weight_sum
        return out

    def _inverse_hessian_times(self, V):
        """``H_c^{-1} V^T`` (shape ``(F, n)``) for rows ``V`` in centred parameters."""
        if self.solver_ != "dual":
            return linalg.cho_solve((self.cholesky_, False), V.T)
        scaled = V / self._alpha_diag  # Woodbury through the support rows
        solved = linalg.cho_solve(
            (self.cholesky_, False), self._support_rows @ scaled.T
        )
        return scaled.T - (self._support_rows.T @ solved) / self._alpha_diag[:, None]

    def _functional_rows(self, Q, kind="rigidity", block=None):
        """Query functionals in the parameters of :meth:`_updated_factor`.

        Centred parameters with the intercept last: ``[q - mean, 1]`` (PR),
        ``[q, 0]`` (LPR), ``[q_b, 0]`` (CPR of block ``b``); without an
        intercept, ``q``, ``q`` and ``q_b``.
        """
        if kind == "rigidity":
            rows = Q - self.X_offset_
        elif kind == "local":
            rows = np.array(Q, dtype=float)
        else:
            rows = np.zeros_like(Q, dtype=float)
            rows[:, self.blocks_[block]] = Q[:, self.blocks_[block]]
        if not self.fit_intercept:
            return rows
        last = np.full((rows.shape[0], 1), 1.0 if kind == "rigidity" else 0.0)
        return np.hstack([rows, last])

    def _updated_factor(self, rows, weights):
        """Cholesky factor of the Hessian with ``rows`` added (removed: ``s < 0``).

        Primal route only: the fitted factor, with the intercept's
        ``sqrt(sum s)`` appended as a last diagonal entry, updated by
        :func:`skpr._updates.update_factor` (a QR update, backward stable, so
        that even the same rows added many times keep their digits).
        """
        factor = self.cholesky_
        if self.fit_intercept:
            n = factor.shape[0]
            augmented = np.zeros((n + 1, n + 1))
            augmented[:n, :n] = factor
            augmented[n, n] = np.sqrt(self._weight_sum)
            factor = augmented
        return update_factor(factor, self._functional_rows(rows), weights)

    def _query_cross(self, X, Q, kind="rigidity", block=None):
        """``G H^{-1} Q^T``: training-like rows ``g = [x, 1]`` against queries.

        ``kind`` is the query's functional: ``"rigidity"`` (``[q, 1]``, the
        PR), ``"local"`` (``[q, 0]``, the LPR) or ``"component"`` (``q`` in
        ``block`` only, the CPR).  The side of ``Q`` is solved, so that many
        rows ``X`` against few queries cost ``F`` per entry.
        """
        if kind == "rigidity":
            rows = Q - self.X_offset_
        else:
            rows = np.zeros_like(Q) if kind == "component" else np.array(Q)
            if kind == "component":
                rows[:, self.blocks_[block]] = Q[:, self.blocks_[block]]
        solved = self._inverse_hessian_times(rows)
        out = np.empty((X.shape[0], Q.shape[0]))
        for chunk in chunks(X.shape[0]):
            out[chunk] = (X[chunk] - self.X_offset_) @ solved
        if kind == "rigidity" and self.fit_intercept:
            out += 1.0 / self._weight_sum
        return out

    def _group_cross_forms(self, X, batch):
        if self.solver_ == "dual":
            return super()._group_cross_forms(X, batch)
        # one whitening of the batch's rows; each group's Gram from its slice
        rows = np.concatenate(batch)
        z = whiten(self.cholesky_, X[rows] - self.X_offset_).T  # (rows, F)
        constant = 1.0 / self._weight_sum if self.fit_intercept else 0.0
        out, start = [], 0
        with serial_blas():
            for size, run in itertools.groupby(len(r) for r in batch):
                count = len(list(run))
                # a run of equal-sized groups: one stacked product
                stack = z[start : start + count * size].reshape(count, size, -1)
                out.extend(stack @ np.swapaxes(stack, 1, 2) + constant)
                start += count * size
        return out

    def _combination_form(self, X, coefficients):
        # linear in x: combine the rows first, so that a difference of nearly
        # equal rows (a finite difference) keeps its digits
        matrix = self._combination_matrix(coefficients, X.shape[0])
        totals = matrix.sum(axis=1)
        rows = matrix @ X
        if self.fit_intercept:
            rows -= totals[:, None] * self.X_offset_
        quadratic = self._local_quadratic_form(rows)
        if self.fit_intercept:
            quadratic += totals**2 / self._weight_sum
        return quadratic

    def _local_quadratic_form(self, X_local):
        if self.solver_ == "dual":
            return self._dual_forms(X_local, slice(None), centered=False)
        return quadratic_form(self.cholesky_, X_local)

    def _component_quadratic_form(self, X):
        if self.solver_ == "dual":
            return np.stack(
                [self._dual_forms(X, b, centered=False) for b in self.blocks_], axis=1
            )
        return block_quadratic_form(self.cholesky_, X, self.blocks_)
