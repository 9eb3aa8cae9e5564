# cython: boundscheck=False
"""Hooks for thinc's own tests and benchmarks; not part of the API.

They reach below the Ops boundary on purpose: gemm with strides, alpha and
beta through whichever path cblas chose; the worker pool's hand-over between
jobs; the machine's FMA peak for the benchmark's share-of-peak figures."""
import numpy

from libc.stdint cimport int64_t

from .cblas cimport gemm_f32, gemm_f64


cdef extern from "thinc_testing.hh" namespace "thinc_kernels" nogil:
    double fma_peak_avx2(double seconds)
    double fma_peak_avx512(double seconds)


cdef extern from "thinc_testing.hh" namespace "thinc_parallel" nogil:
    void parallel_initialize "thinc_parallel::initialize"()
    int64_t parallel_back_to_back_failures "thinc_parallel::back_to_back_failures"(int)


def measure_peak_flops(seconds: float = 0.3, level: int = None) -> float:
    """Single-precision flop/s of one core running independent FMAs of the
    widest vectors the instruction-set level has (AVX-512 or AVX2; by default
    the active level of the kernels, see thinc.backends.dispatch); 0.0 where
    the CPU or compiler has neither."""
    from .dispatch import ISA_LEVELS, active_isa

    if level is None:
        level = ISA_LEVELS.index(active_isa())
    cdef double limit = seconds
    cdef double result = 0.0
    with nogil:
        if level >= 2:
            result = fma_peak_avx512(limit)
        elif level == 1:
            result = fma_peak_avx2(limit)
    return result


def pool_back_to_back_failures(int iterations) -> int:
    """Runs pairs of back-to-back parallel jobs of different sizes on a worker
    pool (the pool code every compiled module uses); returns how many pairs
    ran some index other than exactly once."""
    parallel_initialize()
    cdef int64_t failures
    with nogil:
        failures = parallel_back_to_back_failures(iterations)
    return failures


def gemm(bint trans_a, bint trans_b, alpha, A, B, beta, C) -> None:
    """C = alpha * op(A) @ op(B) + beta * C, in place, through the path chosen
    for C's dtype; row strides give lda, ldb and ldc."""
    dtype = getattr(C, "dtype", None)
    if dtype not in (numpy.float32, numpy.float64):
        raise ValueError("C must be a float32 or float64 array")
    itemsize = dtype.itemsize
    for name, array in (("A", A), ("B", B), ("C", C)):
        if not isinstance(array, numpy.ndarray) or array.dtype != dtype or array.ndim != 2:
            raise ValueError(f"{name} must be a 2d {dtype} array")
        if array.size and (array.strides[1] != itemsize or array.strides[0] % itemsize
                           or array.strides[0] < itemsize * array.shape[1]):
            raise ValueError(f"{name} must have contiguous rows (strides {array.strides})")
    if not C.flags.writeable:
        raise ValueError("C must be writeable")
    M, K = (A.shape[1], A.shape[0]) if trans_a else A.shape
    K2, N = (B.shape[1], B.shape[0]) if trans_b else B.shape
    if K != K2 or C.shape != (M, N):
        raise ValueError(f"shapes do not agree: op(A) {(M, K)}, op(B) {(K2, N)}, C {C.shape}")
    cdef Py_ssize_t lda = max(1, A.strides[0] // itemsize), ldb = max(1, B.strides[0] // itemsize)
    cdef Py_ssize_t ldc = max(1, C.strides[0] // itemsize)
    cdef Py_ssize_t a_address = A.__array_interface__["data"][0]
    cdef Py_ssize_t b_address = B.__array_interface__["data"][0]
    cdef Py_ssize_t c_address = C.__array_interface__["data"][0]
    cdef Py_ssize_t m = M, n = N, k = K
    cdef double alpha64 = alpha, beta64 = beta
    if dtype == numpy.float32:
        with nogil:
            gemm_f32(trans_a, trans_b, m, n, k, <float>alpha64, <const float*>a_address, lda,
                     <const float*>b_address, ldb, <float>beta64, <float*>c_address, ldc)
    else:
        with nogil:
            gemm_f64(trans_a, trans_b, m, n, k, alpha64, <const double*>a_address, lda,
                     <const double*>b_address, ldb, beta64, <double*>c_address, ldc)


def sgemm(bint trans_a, bint trans_b, float alpha, A, B, float beta, C) -> None:
    """gemm for float32 only (the float32 kernel tests)."""
    if not isinstance(C, numpy.ndarray) or C.dtype != numpy.float32:
        raise ValueError("C must be a 2d float32 array")
    gemm(trans_a, trans_b, alpha, A, B, beta, C)
