"""Per-block kernels: the matrix ``k(X, Y)`` and the diagonal ``k(x, x)``.

:class:`BlockKernelRidge` sees every kernel through the interface of
:mod:`sklearn.gaussian_process.kernels`: ``kernel(X, Y=None)`` returns the
matrix and ``kernel.diag(X)`` the diagonal.  Kernel objects of that module are
used as they are; the strings of :func:`sklearn.metrics.pairwise.kernel_metrics`
and user callables are wrapped here.  Rigidities need ``k(x, x)`` for every
query, so the common strings have it in closed form and everything else goes
through a chunked evaluation of the matrix.
"""

import inspect
from collections.abc import Mapping

import numpy as np
from sklearn.base import clone
from sklearn.gaussian_process.kernels import Kernel
from sklearn.metrics.pairwise import kernel_metrics

#: Rows per chunk when a diagonal has to come from kernel matrices: the fallback
#: evaluates ``n * DIAG_CHUNK`` kernel values instead of ``n``.
DIAG_CHUNK = 128

SPARSE_ROUTE = (
    "For local (atom-centred) non-linear kernels use the sparse route: map the "
    "per-environment rows through sklearn.kernel_approximation.Nystroem fitted "
    "on chosen active environments (e.g. skpr.farthest_point_sampling), sum them "
    "per structure with skpr.pool_structures, fit skpr.BlockRidge, and call "
    "BlockRidge.local_rigidity on the Nystroem features of the environments."
)


def _squared_norms(X):
    return np.einsum("ij,ij->i", X, X)


def _gamma(params, X):
    gamma = params.get("gamma")
    return 1.0 / X.shape[1] if gamma is None else gamma


def _polynomial_diag(X, params):
    base = _gamma(params, X) * _squared_norms(X) + params.get("coef0", 1)
    return base ** params.get("degree", 3)


def _sigmoid_diag(X, params):
    return np.tanh(_gamma(params, X) * _squared_norms(X) + params.get("coef0", 1))


def _cosine_diag(X, params):
    # cosine_similarity normalizes rows and leaves a zero row at zero
    return (_squared_norms(X) > 0).astype(float)


#: k(x, x) in closed form, with the defaults of sklearn.metrics.pairwise
#: (gamma=None means 1 / n_features of the block).
_CLOSED_FORM_DIAG = {
    "linear": lambda X, params: _squared_norms(X),
    "rbf": lambda X, params: np.ones(X.shape[0]),
    "laplacian": lambda X, params: np.ones(X.shape[0]),
    "polynomial": _polynomial_diag,
    "poly": _polynomial_diag,
    "sigmoid": _sigmoid_diag,
    "cosine": _cosine_diag,
}


def chunked_diag(kernel, X):
    """``k(x_i, x_i)`` from kernel matrices of chunks of rows.

    Parameters
    ----------
    kernel : callable
        ``kernel(X, Y)`` returning the ``(len(X), len(Y))`` matrix.
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples,)

    Notes
    -----
    ``n * DIAG_CHUNK`` kernel evaluations and ``DIAG_CHUNK**2`` doubles of
    memory: correct for any kernel, without the ``n^2`` of the full matrix.
    """
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], DIAG_CHUNK):
        rows = X[start : start + DIAG_CHUNK]
        out[start : start + DIAG_CHUNK] = np.diagonal(kernel(rows, rows))
    return out


class PairwiseKernel:
    """A string kernel of :func:`sklearn.metrics.pairwise.kernel_metrics`.

    Parameters
    ----------
    name : str
        Key of ``kernel_metrics()``, e.g. ``"rbf"``.
    params : dict
        Keyword arguments of that kernel function (e.g. ``gamma``).
    """

    def __init__(self, name, params):
        self.name = name
        self.params = params

    def __call__(self, X, Y=None):
        return kernel_metrics()[self.name](X, Y, **self.params)

    def diag(self, X):
        closed_form = _CLOSED_FORM_DIAG.get(self.name)
        if closed_form is None:
            return chunked_diag(self, X)
        return closed_form(X, self.params)

    def __repr__(self):
        return f"PairwiseKernel({self.name!r}, {self.params!r})"


class CallableKernel:
    """A user callable ``kernel(X, Y, **params)`` returning the kernel matrix.

    Parameters
    ----------
    function : callable
    params : dict
    """

    def __init__(self, function, params):
        self.function = function
        self.params = params

    def __call__(self, X, Y=None):
        Y = X if Y is None else Y
        matrix = np.asarray(self.function(X, Y, **self.params), dtype=float)
        if matrix.shape != (X.shape[0], Y.shape[0]):
            raise ValueError(
                f"A callable kernel is called as kernel(X, Y, **kernel_params) on "
                f"whole arrays and must return the kernel matrix of shape "
                f"(len(X), len(Y)) = {(X.shape[0], Y.shape[0])}; "
                f"{_describe(self.function)} returned shape {matrix.shape}. Unlike "
                "sklearn.kernel_ridge.KernelRidge, the callable is not called on "
                "pairs of rows; e.g. sklearn.metrics.pairwise.rbf_kernel has the "
                "right signature."
            )
        return matrix

    def diag(self, X):
        return chunked_diag(self, X)

    def __repr__(self):
        return f"CallableKernel({_describe(self.function)}, {self.params!r})"


def _describe(kernel):
    if isinstance(kernel, str | Kernel):
        return repr(kernel)
    return getattr(kernel, "__qualname__", type(kernel).__name__)


def _per_block(value, n_blocks, names, what, scalar_types):
    """``value`` repeated over the blocks, or checked to have one per block."""
    if isinstance(value, scalar_types) or value is None:
        return [value] * n_blocks
    if not isinstance(value, list | tuple):
        return None
    if len(value) != n_blocks:
        raise ValueError(
            f"{what} has {len(value)} entries but there are {n_blocks} blocks "
            f"{list(names)}. Give one {what} for all blocks, or a list with one "
            "per block."
        )
    return list(value)


def _check_params(kernel, params, name):
    """Keyword arguments of a string kernel, checked against its signature."""
    function = kernel_metrics()[kernel]
    allowed = [p for p in inspect.signature(function).parameters if p not in ("X", "Y")]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"kernel {kernel!r} of block {name!r} takes the parameters {allowed}, "
            f"but kernel_params gives {unknown}. Remove them, or give kernel_params "
            "as a list with one dict per block."
        )
    return dict(params)


def resolve_kernels(kernel, kernel_params, names):
    """One kernel object per block from the ``kernel`` and ``kernel_params``.

    Parameters
    ----------
    kernel : str, callable, Kernel, or list of those
        One kernel for every block, or one per block.  Strings are the keys of
        :func:`sklearn.metrics.pairwise.kernel_metrics`; a callable is called
        as ``kernel(X, Y, **params)`` and returns the kernel matrix;
        :mod:`sklearn.gaussian_process.kernels` objects are cloned and used
        with the hyperparameters they have.
    kernel_params : None, dict, or list of (None or dict)
        Keyword arguments of the kernel functions, for every block or one
        entry per block.  Kernel objects take theirs in their constructor.
    names : tuple of str
        Block names, for the error messages.

    Returns
    -------
    tuple of kernel objects
        Each has ``__call__(X, Y=None)`` and ``diag(X)``.
    """
    n_blocks = len(names)
    kernels = _per_block(kernel, n_blocks, names, "kernel", (str, Kernel))
    if kernels is None:
        kernels = [kernel] * n_blocks  # a single callable
    params_list = _per_block(kernel_params, n_blocks, names, "kernel_params", Mapping)
    if params_list is None:
        raise ValueError(
            f"kernel_params must be None, a dict, or a list with one dict (or "
            f"None) per block; got {type(kernel_params).__name__}."
        )
    resolved = []
    for kernel_b, params, name in zip(kernels, params_list, names, strict=True):
        params = {} if params is None else params
        if not isinstance(params, Mapping):
            raise ValueError(
                f"kernel_params of block {name!r} must be a dict or None, got "
                f"{type(params).__name__}."
            )
        if isinstance(kernel_b, Kernel):
            if params:
                raise ValueError(
                    f"The kernel of block {name!r} is the object {kernel_b!r}, "
                    f"which takes its parameters in its constructor; kernel_params "
                    f"gives {sorted(params)}. Set them on the kernel object and "
                    "leave kernel_params empty for this block."
                )
            resolved.append(clone(kernel_b))
        elif isinstance(kernel_b, str):
            if kernel_b not in kernel_metrics():
                hint = (
                    " 'precomputed' is not supported: rigidities need k(x, x) and "
                    "per-block kernels of the features, so pass the features."
                    if kernel_b == "precomputed"
                    else ""
                )
                raise ValueError(
                    f"Unknown kernel {kernel_b!r} for block {name!r}. Use one of "
                    f"{sorted(kernel_metrics())}, a callable kernel(X, Y) returning "
                    "the kernel matrix, or a sklearn.gaussian_process.kernels "
                    f"object.{hint}"
                )
            resolved.append(
                PairwiseKernel(kernel_b, _check_params(kernel_b, params, name))
            )
        elif callable(kernel_b):
            resolved.append(CallableKernel(kernel_b, dict(params)))
        else:
            raise ValueError(
                f"The kernel of block {name!r} must be a string, a callable or a "
                f"sklearn.gaussian_process.kernels object; got "
                f"{type(kernel_b).__name__}."
            )
    return tuple(resolved)


def is_linear(kernel):
    """Whether ``kernel`` (from :func:`resolve_kernels`) is the string "linear"."""
    return isinstance(kernel, PairwiseKernel) and kernel.name == "linear"


def describe(kernel):
    """A short name of a resolved kernel for messages."""
    if isinstance(kernel, PairwiseKernel):
        return repr(kernel.name)
    if isinstance(kernel, CallableKernel):
        return _describe(kernel.function)
    return repr(kernel)
