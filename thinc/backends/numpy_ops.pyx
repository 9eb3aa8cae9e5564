# cython: boundscheck=False, wraparound=False, cdivision=True, infer_types=True
"""NumpyOps: the CPU backend, the reference Ops with its hot ops compiled.

Each override checks its inputs in Python, then runs a nogil C++ kernel."""
import numpy

from .cblas cimport CBlas, gemm_f32, gemm_f64

from . import cblas as _cblas_module
from ..config import registry
from .ops import Ops


def _check_gemm_operand(array, name: str):
    if not isinstance(array, numpy.ndarray):
        raise TypeError(f"gemm expects numpy arrays, but '{name}' is {type(array).__name__}")
    if array.ndim != 2:
        raise ValueError(
            f"gemm expects 2-dimensional arrays, but '{name}' has {array.ndim} dimension(s)"
        )


class NumpyOps(Ops):
    """The CPU backend: numpy arrays, with compiled kernels for the hot ops."""

    name = "numpy"
    xp = numpy
    # The BLAS chosen at import for gemm ("blis (...)" or "numpy's BLAS (...)").
    blas_backend: str = _cblas_module.BLAS_BACKEND

    def __init__(self, device_type: str = "cpu", device_id: int = -1, *, use_blis: bool = True) -> None:
        super().__init__(device_type, device_id)
        self.use_blis = use_blis

    def cblas(self) -> CBlas:
        """The table of BLAS functions for compiled callers (spaCy's parser)."""
        return CBlas()

    def gemm(self, x, y, out=None, trans1: bool = False, trans2: bool = False):
        """Matrix product op(x) @ op(y), written into ``out`` when given."""
        _check_gemm_operand(x, "x")
        _check_gemm_operand(y, "y")
        if x.dtype != y.dtype or x.dtype not in (numpy.float32, numpy.float64):
            raise ValueError(
                f"gemm expects two float32 or two float64 arrays, but got "
                f"x.dtype={x.dtype} and y.dtype={y.dtype}"
            )
        M, K = (x.shape[1], x.shape[0]) if trans1 else (x.shape[0], x.shape[1])
        K2, N = (y.shape[1], y.shape[0]) if trans2 else (y.shape[0], y.shape[1])
        if K != K2:
            raise ValueError(
                f"gemm shape mismatch: op(x) is {(M, K)} but op(y) is {(K2, N)} "
                f"(x.shape={x.shape}, y.shape={y.shape}, trans1={trans1}, trans2={trans2})"
            )
        if out is not None:
            if not isinstance(out, numpy.ndarray) or out.shape != (M, N) or out.dtype != x.dtype:
                raise ValueError(
                    f"gemm 'out' must be a {x.dtype} array of shape {(M, N)}, but got "
                    f"{getattr(out, 'dtype', type(out).__name__)} {getattr(out, 'shape', '')}"
                )
        if not self.use_blis:
            result = numpy.dot(x.T if trans1 else x, y.T if trans2 else y)
            if out is None:
                return result
            out[...] = result
            return out
        x = numpy.ascontiguousarray(x)
        y = numpy.ascontiguousarray(y)
        target = out if out is not None and out.flags.c_contiguous and out.flags.writeable else None
        if target is None:
            target = numpy.empty((M, N), dtype=x.dtype)
        if K == 0:
            target.fill(0)
        elif x.dtype == numpy.float32:
            _gemm_float(x, y, target, trans1, trans2, M, N, K)
        else:
            _gemm_double(x, y, target, trans1, trans2, M, N, K)
        if out is not None and target is not out:
            out[...] = target
            return out
        return target

    def affine(self, X, W, b):
        """X @ W.T + b, the Linear layer's forward pass."""
        Y = self.gemm(X, W, trans2=True)
        Y += b
        return Y


def _gemm_float(const float[:, ::1] x, const float[:, ::1] y, float[:, ::1] out,
                bint trans1, bint trans2, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K):
    with nogil:
        gemm_f32(trans1, trans2, M, N, K, 1.0, &x[0, 0], x.shape[1], &y[0, 0], y.shape[1],
                 0.0, &out[0, 0], N)


def _gemm_double(const double[:, ::1] x, const double[:, ::1] y, double[:, ::1] out,
                 bint trans1, bint trans2, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K):
    with nogil:
        gemm_f64(trans1, trans2, M, N, K, 1.0, &x[0, 0], x.shape[1], &y[0, 0], y.shape[1],
                 0.0, &out[0, 0], N)
