"""Fits from additive sufficient statistics: streams of chunks and dask rows.

A primal ridge fit reads its rows only to add up their statistics
(:class:`skpr._statistics.GramStatistics`), so the same model comes from one
``fit``, from any number of :meth:`~StatisticsFit.partial_fit` calls on
chunks, or from a dask array whose chunks are summarized where they live.
Leave-one-out needs the final factor, so that calibration is a second pass
over the rows (:meth:`~StatisticsFit.calibrate_loo`, or chunk by chunk on
dask).  The mixin is :class:`skpr.BlockRidge`'s; it expects the estimator's
``_check_params``, ``_validate_rows``, ``_predict``, ``_quadratic_form`` and
``_set_scales`` and the parameters ``alpha``, ``blocks``, ``solver``,
``fit_intercept`` and ``calibration``.
"""

import warnings

import numpy as np
from scipy import linalg
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from skpr._base import (
    _OPTIONAL_FITTED,
    check_labels,
    check_prior_variance,
    reciprocal,
    with_prior,
)
from skpr._blocks import resolve_alpha, resolve_blocks
from skpr._calibration import leave_one_out
from skpr._dask import (
    aligned,
    any_dask,
    check_rows,
    gram_statistics,
    is_dask_array,
    largest_weight,
    map_chunks,
    per_row_labels,
)
from skpr._linalg import (
    condition_estimate,
    factor_gram,
    quadratic_form,
    warn_if_rounding_dominates,
)
from skpr._statistics import GramStatistics, scaled, weighted_rows
from skpr._validation import check_sample_weight


class StatisticsFit:
    """``partial_fit``, ``calibrate_loo`` and the dask ``fit`` of a primal ridge."""

    @available_if(lambda self: self._streams)
    def partial_fit(self, X, y, sample_weight=None):
        """Add a chunk of training rows; the model is then that of all chunks.

        Keeps the additive sufficient statistics of the rows seen so far
        (weighted means, the centered ``X^T S X``, ``X^T S y``; memory
        ``O(F^2)`` whatever the number of rows) and refactors the ``F x F``
        Hessian after each chunk, so that coefficients, PR, LPR and CPR equal
        those of one :meth:`fit` on the concatenated chunks, in any order.
        Always the normal equations (``solver_ = "cholesky"``): a streaming
        fit has no rows left for the dual or QR routes, so the method exists
        only with ``solver="auto"`` or ``"cholesky"``.

        The uncertainty scale is 1 after ``partial_fit``: calibrate it on
        held-out data with :meth:`calibrate`, or on the training rows by
        closed-form leave-one-out with :meth:`calibrate_loo` and a second pass
        over the same chunks.  A call after :meth:`fit` starts a new stream.
        A chunk whose weights are all zero adds nothing (after the first).
        The statistics do not depend on ``alpha`` or ``blocks``, so a
        ``set_params`` of either between chunks applies to all rows seen;
        ``fit_intercept`` cannot change within a stream.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            The same features (and feature names) in every chunk.
        y : array-like of shape (n_rows,)
        sample_weight : array-like of shape (n_rows,), optional

        Returns
        -------
        self

        Examples
        --------
        >>> import numpy as np
        >>> from skpr import BlockRidge
        >>> rng = np.random.default_rng(0)
        >>> X, y = rng.normal(size=(100, 3)), rng.normal(size=100)
        >>> stream = BlockRidge(alpha=0.1)
        >>> for rows in np.array_split(np.arange(100), 4):
        ...     stream = stream.partial_fit(X[rows], y[rows])
        >>> bool(np.allclose(stream.coef_, BlockRidge(alpha=0.1).fit(X, y).coef_))
        True
        """
        first = getattr(self, "_stream", None) is None
        self._check_params()
        if not first and self._stream.centered != self.fit_intercept:
            raise ValueError(
                f"fit_intercept changed to {self.fit_intercept} during the stream, "
                f"whose earlier chunks were added with {self._stream.centered}; "
                "call fit, or start a new estimator, to stream with the new value."
            )
        # after the first chunk, a chunk of zero weights adds nothing
        if any_dask(X, y, sample_weight):
            X, y, sample_weight = self._dask_rows(X, y, sample_weight, reset=first)
            largest = largest_weight(sample_weight, allow_all_zero=not first)
        else:
            X, y = self._validate_rows(X, y, reset=first)
            sample_weight = check_sample_weight(
                sample_weight, X.shape[0], allow_all_zero=not first
            )
            largest = float(sample_weight.max(initial=0.0))
        if first:
            self._start_statistics(X.shape[1])
            self.weight_scale_ = 0.0
        else:  # blocks and alpha act on the statistics: set_params applies
            self._resolve_blocks(X.shape[1])
        if largest > 0:
            # one weight scale for the stream, its largest weight (as in fit)
            scale = max(self.weight_scale_, largest)
            chunk = self._statistics(X, y, sample_weight, scale)
            if not first:
                chunk = scaled(self._stream, self.weight_scale_ / scale).merge(chunk)
            self._stream, self.weight_scale_ = chunk, scale
        self._solve_statistics(self._stream)
        return self

    def _start_statistics(self, n_features):
        """Clear what an earlier fit left and resolve blocks and alpha."""
        for name in _OPTIONAL_FITTED + ("support_",):
            self.__dict__.pop(name, None)
        self._resolve_blocks(n_features)

    def _resolve_blocks(self, n_features):
        self.blocks_, self.block_names_ = resolve_blocks(
            self.blocks, n_features, getattr(self, "feature_names_in_", None)
        )
        self.alpha_, self._statistics_alpha = resolve_alpha(
            self.alpha, self.blocks_, self.block_names_
        )

    def _statistics(self, X, y, sample_weight, scale):
        """Statistics of rows (numpy or dask) with weights divided by ``scale``."""
        if is_dask_array(X):
            return gram_statistics(
                X, y, sample_weight, scale=scale, centered=self.fit_intercept
            )
        return GramStatistics.from_rows(
            X, y, sample_weight / scale, centered=self.fit_intercept
        )

    def _dask_rows(self, X, y, sample_weight, *, reset):
        """Validated dask rows, target and weights (nothing is computed)."""
        import dask.array as da

        caller = type(self).__name__
        if not is_dask_array(X):  # rows in memory, dask targets or weights
            X = validate_data(self, X, reset=reset, dtype=np.float64)
            X = check_rows(da.from_array(X), None, caller)
        elif reset:
            X = check_rows(X, None, caller)
            self.n_features_in_ = X.shape[1]
            self.__dict__.pop("feature_names_in_", None)
        else:
            X = check_rows(X, self.n_features_in_, caller)
            if getattr(self, "feature_names_in_", None) is not None:
                warnings.warn(
                    f"X does not have valid feature names, but {caller} was "
                    "fitted with feature names; a dask array carries none, so "
                    "its columns are taken in the order of feature_names_in_.",
                    UserWarning,
                    stacklevel=3,
                )
        return X, aligned(y, X, "y"), aligned(sample_weight, X, "sample_weight")

    def _fit_dask(self, X, y, sample_weight, *, groups, kinds, prior_variance):
        """``fit`` on dask arrays: statistics by map-reduce, LOO chunk by chunk."""
        self._check_params()
        if not self._streams:
            raise TypeError(
                f"{type(self).__name__}(solver={self.solver!r}) needs its training "
                "rows in memory, but X is a dask array. Use solver='auto' or "
                "'cholesky' (the normal equations, added up chunk by chunk), or "
                "pass X.compute()."
            )
        if groups is not None:
            raise ValueError(
                "groups with a dask X: leave-one-group-out needs the rows of each "
                "group together; fit with calibration=None and call calibrate on "
                "held-out rows, or pass numpy arrays."
            )
        self.__dict__.pop("_stream", None)
        X, y, sample_weight = self._dask_rows(X, y, sample_weight, reset=True)
        kinds = per_row_labels(kinds, X.shape[0], "kinds")
        prior_variance = per_row_labels(prior_variance, X.shape[0], "prior_variance")
        self._start_statistics(X.shape[1])
        self.weight_scale_ = largest_weight(sample_weight)
        statistics = self._statistics(X, y, sample_weight, self.weight_scale_)
        if statistics is None:
            raise ValueError(
                "sample_weight is zero for every sample, so nothing counts; give "
                "positive weights to the rows to fit."
            )
        if self.calibration == "loo" and statistics.n_rows < 2:
            raise ValueError(
                "calibration='loo' needs at least 2 samples with positive weight; "
                f"got {statistics.n_rows}. Use calibration=None, or fit on more data."
            )
        self._solve_statistics(statistics)
        if self.calibration == "loo":
            scale = self.weight_scale_

            def rows(x, t, w):
                return self._chunk_leave_one_out(x, t, w, scale)

            residual, rigidity, weight = map_chunks(X, y, sample_weight, rows)
            self.loo_residual_, self.loo_rigidity_ = residual, rigidity
            self._set_scales(
                residual,
                with_prior(rigidity, check_prior_variance(prior_variance, len(weight))),
                weight,
                kinds,
            )
        return self

    @property
    def _streams(self):
        # partial_fit exists only with the normal equations
        return self.solver in ("auto", "cholesky")

    def _solve_statistics(self, statistics):
        self._alpha_diag = self._statistics_alpha / self.weight_scale_
        self._weight_sum = statistics.weight_sum
        self.sample_weight_sum_ = self._weight_sum * self.weight_scale_
        self.X_offset_, self._y_offset = statistics.x_mean, statistics.y_mean
        factor = factor_gram(statistics.xx, self._alpha_diag)
        warn_if_rounding_dominates(condition_estimate(factor), stacklevel=4)
        self.solver_ = "cholesky"
        self.cholesky_ = factor
        self.coef_ = linalg.cho_solve((factor, False), statistics.xy)
        self.intercept_ = float(self._y_offset - self.X_offset_ @ self.coef_)
        # a calibration of the rows before is not one of the rows now
        for name in _OPTIONAL_FITTED:
            self.__dict__.pop(name, None)
        self.uncertainty_scale_, self.noise_ = 1.0, 0.0

    @available_if(lambda self: self._streams)
    def calibrate_loo(self, chunks, *, kinds=None):
        """Closed-form leave-one-out calibration over the chunks of a stream.

        A second pass over the training rows given to :meth:`partial_fit`
        (the same rows, in any chunking and order): each row's leave-one-out
        residual and rigidity come from the final factor, and the scale (and,
        with ``fit_noise=True``, the noise) are then fitted by maximum
        likelihood, as :meth:`fit` does with ``calibration="loo"``.  Memory:
        two numbers per row.

        Parameters
        ----------
        chunks : iterable of tuples ``(X, y)`` or ``(X, y, sample_weight)``
            The training rows; a generator is read once.
        kinds : None, array-like of shape (n_rows,) or callable, default=None
            The kind label of each row, for one scale per kind
            (:attr:`uncertainty_scales_`): labels of all rows in the order of
            the chunks, or ``kinds(i, X)`` giving those of chunk ``i``.

        Returns
        -------
        self
        """
        check_is_fitted(self, "cholesky_")
        if getattr(self, "_stream", None) is None:
            raise ValueError(
                "calibrate_loo is the second pass of a partial_fit stream, but this "
                f"{type(self).__name__} was fitted by fit. Use fit(X, y, "
                "calibration='loo') (dask arrays too), or calibrate on held-out rows."
            )
        residuals, rigidities, weights, labels = [], [], [], []
        for i, chunk in enumerate(chunks):
            X, y, *rest = chunk
            X, y = self._validate_rows(X, y, reset=False)
            sample_weight = check_sample_weight(
                rest[0] if rest else None, X.shape[0], allow_all_zero=True
            )
            residual, rigidity, weight = self._chunk_leave_one_out(
                X, y, sample_weight, self.weight_scale_
            )
            residuals.append(residual)
            rigidities.append(rigidity)
            weights.append(weight)
            if callable(kinds):
                labels.append(check_labels(kinds(i, X), X.shape[0], f"kinds(i={i}, X)"))
        if not residuals:
            raise ValueError("calibrate_loo got no chunks; pass the training rows.")
        weight = np.concatenate(weights)
        n_rows = int(np.count_nonzero(weight))
        if n_rows != self._stream.n_rows:
            raise ValueError(
                f"calibrate_loo got {n_rows} rows with positive weight, but the "
                f"stream was fitted on {self._stream.n_rows}; pass the same "
                "training rows (in any chunking and order) with their weights."
            )
        if n_rows < 2:
            raise ValueError(
                "leave-one-out calibration needs at least 2 samples with positive "
                f"weight; got {n_rows}. Calibrate on held-out rows instead."
            )
        if callable(kinds):
            kinds = np.concatenate(labels)
        elif kinds is not None:
            kinds = check_labels(kinds, weight.shape[0], "kinds")
        self.loo_residual_ = np.concatenate(residuals)
        self.loo_rigidity_ = np.concatenate(rigidities)
        self._set_scales(self.loo_residual_, self.loo_rigidity_, weight, kinds)
        return self

    def _chunk_leave_one_out(self, X, y, sample_weight, scale):
        """LOO residual, rigidity (user's units) and normalized weight of rows.

        Training rows of a model fitted from statistics (``partial_fit``, a
        dask fit), whose weights are divided by ``scale``: each row's leverage
        comes from the final factor, so that chunks are independent.
        """
        sample_weight = sample_weight / scale
        Xw, _ = weighted_rows(X, y, sample_weight, self.X_offset_, self._y_offset)
        leverage = quadratic_form(self.cholesky_, Xw)
        if self.fit_intercept:
            leverage = leverage + sample_weight / self._weight_sum
        rigidity = np.full(X.shape[0], np.nan)
        zero = sample_weight == 0
        if np.any(zero):
            rigidity[zero] = reciprocal(self._quadratic_form(X[zero]))
        residual, rigidity = leave_one_out(
            y - self._predict(X), leverage, 1.0 - leverage, sample_weight, rigidity
        )
        return residual, rigidity * scale, sample_weight
