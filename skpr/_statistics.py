"""Additive sufficient statistics of weighted rows: step one of a primal fit.

A primal fit is three steps: summarize the rows, factor, solve.  Only the
first step reads the rows, and its result can be added up over chunks of rows
(a streaming ``partial_fit``, a map-reduce over workers), so that a fit on
chunks gives the same factor as a fit on all rows at once.

The scatter is kept about the running weighted mean (Chan, Golub and LeVeque,
"Algorithms for computing the sample variance", 1983), not as raw sums: the
raw ``X^T S X - n xbar xbar^T`` cancels when features have a large mean
compared to their spread, the centered scatter does not.
"""

from dataclasses import dataclass

import numpy as np
from scipy import linalg

#: Rows centered and weighted at a time by :meth:`GramStatistics.from_rows`:
#: a buffer that stays in cache, large enough for ``dsyrk`` to run at speed.
ROWS_PER_BLOCK = 2048


@dataclass(frozen=True)
class GramStatistics:
    """Weighted sums of a set of rows, enough for ridge regression.

    With weights ``s_i``, rows ``x_i`` and targets ``y_i``:

    .. math:: W = \\sum_i s_i, \\quad \\bar x = \\frac{1}{W}\\sum_i s_i x_i,
              \\quad \\bar y = \\frac{1}{W}\\sum_i s_i y_i,

    .. math:: C_{xx} = \\sum_i s_i (x_i - \\bar x)(x_i - \\bar x)^\\top, \\quad
              c_{xy} = \\sum_i s_i (x_i - \\bar x)(y_i - \\bar y), \\quad
              c_{yy} = \\sum_i s_i (y_i - \\bar y)^2.

    Without centering (a model without intercept) the means are zero and
    the sums are about the origin.

    Attributes
    ----------
    weight_sum : float
    x_mean : ndarray of shape (n_features,)
    y_mean : float
    xx : ndarray of shape (n_features, n_features)
        ``C_xx``; only the upper triangle is meaningful.
    xy : ndarray of shape (n_features,)
    yy : float
    n_rows : int
        Number of rows with positive weight.
    centered : bool
    """

    weight_sum: float
    x_mean: np.ndarray
    y_mean: float
    xx: np.ndarray
    xy: np.ndarray
    yy: float
    n_rows: int
    centered: bool

    @classmethod
    def from_rows(cls, X, y, sample_weight, *, centered):
        """Statistics of one set of rows.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
        sample_weight : ndarray of shape (n_samples,)
            Non-negative, not all zero; a row of weight zero adds exact zeros.
        centered : bool
            Center about the weighted mean (for a model with intercept).

        Returns
        -------
        GramStatistics

        Notes
        -----
        ``n F^2`` flops, one ``dsyrk`` per block of :data:`ROWS_PER_BLOCK`
        rows, each centered and weighted in a small buffer: no copy of X
        (which is not modified) and no pass over it beyond the means and the
        sums.
        """
        weight_sum = float(sample_weight.sum())
        if centered:
            x_mean = sample_weight @ X / weight_sum
            y_mean = float(sample_weight @ y / weight_sum)
        else:
            x_mean, y_mean = np.zeros(X.shape[1]), 0.0
        n_samples, n_features = X.shape
        unit = not np.any(sample_weight != 1.0)
        xx = np.zeros((n_features, n_features), order="F")
        xy, yy = np.zeros(n_features), 0.0
        buffer = np.empty((min(ROWS_PER_BLOCK, n_samples), n_features))
        for start in range(0, n_samples, ROWS_PER_BLOCK):
            stop = min(start + ROWS_PER_BLOCK, n_samples)
            Xw = np.subtract(X[start:stop], x_mean, out=buffer[: stop - start])
            yw = y[start:stop] - y_mean
            if not unit:
                root_weight = np.sqrt(sample_weight[start:stop])
                Xw *= root_weight[:, None]
                yw *= root_weight
            xx = linalg.blas.dsyrk(1.0, Xw.T, beta=1.0, c=xx, overwrite_c=True)
            xy += Xw.T @ yw
            yy += float(yw @ yw)
        return cls(
            weight_sum=weight_sum,
            x_mean=x_mean,
            y_mean=y_mean,
            xx=xx,
            xy=xy,
            yy=yy,
            n_rows=int(np.count_nonzero(sample_weight)),
            centered=centered,
        )

    @classmethod
    def from_weighted_rows(
        cls, Xw, yw, weight_sum, x_mean, y_mean, n_rows, *, centered
    ):
        """Statistics of rows already centered and weighted (:func:`weighted_rows`).

        Parameters
        ----------
        Xw : ndarray of shape (n_samples, n_features)
            ``sqrt(s) (x - xbar)``, C-ordered.
        yw : ndarray of shape (n_samples,)
        weight_sum : float
        x_mean : ndarray of shape (n_features,)
            Zero for statistics about the origin (no intercept).
        y_mean : float
        n_rows : int
            Number of rows with positive weight.
        centered : bool
            Whether ``x_mean`` and ``y_mean`` are the weighted means (a model
            with intercept) or zero.

        Returns
        -------
        GramStatistics
        """
        XwT = Xw.T
        return cls(
            weight_sum=float(weight_sum),
            x_mean=x_mean,
            y_mean=float(y_mean),
            xx=linalg.blas.dsyrk(1.0, XwT),
            xy=linalg.blas.dgemv(1.0, XwT, yw),
            yy=float(yw @ yw),
            n_rows=int(n_rows),
            centered=centered,
        )

    def merge(self, other):
        """Statistics of the union of the rows of ``self`` and ``other``.

        Parameters
        ----------
        other : GramStatistics
            With the same number of features and the same ``centered``.

        Returns
        -------
        GramStatistics

        Notes
        -----
        With centering, the pairwise update of Chan et al.:
        ``C = C_a + C_b + (W_a W_b / W) d d^T`` with ``d = xbar_b - xbar_a``.
        ``O(F^2)``.
        """
        if self.centered != other.centered or self.xx.shape != other.xx.shape:
            raise ValueError(
                "Statistics can only be merged with statistics of rows with the "
                "same features and the same centering; got "
                f"{self.xx.shape[0]} and {other.xx.shape[0]} features, centered="
                f"{self.centered} and {other.centered}."
            )
        weight_sum = self.weight_sum + other.weight_sum
        xx, xy, yy = self.xx + other.xx, self.xy + other.xy, self.yy + other.yy
        x_mean, y_mean = self.x_mean, self.y_mean
        if self.centered:
            fraction = other.weight_sum / weight_sum
            dx = other.x_mean - self.x_mean
            dy = other.y_mean - self.y_mean
            factor = self.weight_sum * fraction
            xx = xx + factor * np.outer(dx, dx)
            xy = xy + factor * dx * dy
            yy = yy + factor * dy * dy
            x_mean = self.x_mean + fraction * dx
            y_mean = self.y_mean + fraction * dy
        return GramStatistics(
            weight_sum=weight_sum,
            x_mean=x_mean,
            y_mean=float(y_mean),
            xx=xx,
            xy=xy,
            yy=float(yy),
            n_rows=self.n_rows + other.n_rows,
            centered=self.centered,
        )


def scaled(statistics, factor):
    """The statistics of the same rows with every weight multiplied by ``factor``.

    Sums scale with the weights, means do not: ``O(F^2)``.
    """
    return GramStatistics(
        weight_sum=statistics.weight_sum * factor,
        x_mean=statistics.x_mean,
        y_mean=statistics.y_mean,
        xx=statistics.xx * factor,
        xy=statistics.xy * factor,
        yy=statistics.yy * factor,
        n_rows=statistics.n_rows,
        centered=statistics.centered,
    )


def weighted_rows(X, y, sample_weight, x_mean, y_mean):
    """Rows centered and multiplied by ``sqrt(s)``: ``sqrt(s) (x - xbar)``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    sample_weight : ndarray of shape (n_samples,)
    x_mean : ndarray of shape (n_features,)
    y_mean : float

    Returns
    -------
    Xw : ndarray of shape (n_samples, n_features)
        A new C-ordered array (X is not modified); its transpose is Fortran
        ordered, which BLAS reads as it is.
    yw : ndarray of shape (n_samples,)
    """
    Xw = np.subtract(X, x_mean, order="C")
    yw = y - y_mean
    if np.any(sample_weight != 1.0):
        root_weight = np.sqrt(sample_weight)
        Xw *= root_weight[:, None]
        yw = yw * root_weight
    return Xw, yw
