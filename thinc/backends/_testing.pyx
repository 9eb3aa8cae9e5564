# cython: boundscheck=False
"""Hooks for thinc's own tests and benchmarks; not part of the API.

They reach below the Ops boundary on purpose: gemm with strides, alpha and
beta through whichever path cblas chose; the worker pool's hand-over between
jobs; the machine's FMA peak for the benchmark's share-of-peak figures."""
import numpy

from libc.stdint cimport int64_t, uint32_t, uint64_t

from .cblas cimport CBlas, daxpy, gemm_f32, gemm_f64, saxpy


cdef extern from "thinc_testing.hh" namespace "thinc_kernels" nogil:
    double fma_peak_avx2(double seconds)
    double fma_peak_avx512(double seconds)
    bint run_scalar_rows_at_avx512 "thinc_kernels::scalar_rows_at_avx512"(
        int op, const float* G, const float* X, const float* Y, float* out, int64_t n)
    bint run_bf16_pack_pairs "thinc_kernels::bf16_pack_pairs"(
        const float* X, int64_t ld, bint k_contiguous, int64_t k0, int64_t depth, int64_t w0,
        int64_t width, int64_t lanes, uint32_t* out)


cdef extern from "thinc_tables.hh" namespace "thinc_kernels" nogil:
    uint32_t remainder_by_magic(uint32_t a, uint64_t magic, uint32_t divisor)


cdef extern from "thinc_gemm_few_rows.hh" namespace "thinc_gemm_few_rows" nogil:
    const int64_t FEW_ROWS_MAX "thinc_gemm_few_rows::MAX_ROWS"
    bint few_rows_multiply "thinc_gemm_few_rows::multiply"(
        bint trans_a, bint trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
        const float* bias, bint split)


cdef extern from "thinc_gemm_rows_of_b.hh" namespace "thinc_gemm_rows_of_b" nogil:
    const int64_t ROWS_OF_B_MAX_ROWS "thinc_gemm_rows_of_b::MAX_ROWS"
    const int64_t ROWS_OF_B_MAX_DEPTH "thinc_gemm_rows_of_b::MAX_DEPTH"
    bint rows_of_b_multiply "thinc_gemm_rows_of_b::multiply"(
        bint trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
        const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias, bint split)
    bint rows_of_b_takes "thinc_gemm_rows_of_b::takes"(int64_t M, int64_t N, int64_t K, bint trans_b,
                                                     bint split)


cdef extern from "thinc_gemm.hh" namespace "thinc_gemm" nogil:
    bint packed_multiply "thinc_gemm::packed_sgemm"(
        bint trans_a, bint trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc)


cdef extern from "thinc_testing.hh" namespace "thinc_parallel" nogil:
    void parallel_initialize "thinc_parallel::initialize"()
    int64_t parallel_back_to_back_failures "thinc_parallel::back_to_back_failures"(int)


SCALAR_ROWS_AT_AVX512 = ("sigmoid", "swish", "backprop_swish")


def scalar_rows_at_avx512(str name, *arrays):
    """gcc's AVX-512 code of the scalar row `name` (one of SCALAR_ROWS_AT_AVX512:
    sigmoid(X), swish(X), backprop_swish(dY, X, Y)) over contiguous float32
    arrays, as it ran before the row's hand-written AVX-512 body; None where the
    build has no AVX-512 code. Only for a CPU with AVX-512 (the caller checks)."""
    cdef int op = SCALAR_ROWS_AT_AVX512.index(name)
    inputs = [numpy.ascontiguousarray(array, dtype="float32") for array in arrays]
    wanted = "three arrays" if op == 2 else "one array"
    if len(inputs) != (3 if op == 2 else 1) or len({array.shape for array in inputs}) != 1:
        raise ValueError(f"{name} takes {wanted} of one shape")
    X = inputs[1] if op == 2 else inputs[0]
    G = inputs[0] if op == 2 else X
    Y = inputs[2] if op == 2 else X
    out = numpy.empty_like(X)
    cdef float[::1] g = G.reshape(-1), x = X.reshape(-1), y = Y.reshape(-1), o = out.reshape(-1)
    cdef int64_t n = x.shape[0]
    if n == 0:
        return out
    if not run_scalar_rows_at_avx512(op, &g[0], &x[0], &y[0], &o[0], n):
        return None
    return out


# What bf16_pack_pairs leaves in the entries the packing does not write.
UNWRITTEN = 0xDEADBEEF


def bf16_pack_pairs(X, bint k_contiguous, int64_t k0, int64_t depth, int64_t w0, int64_t width,
                    int64_t lanes):
    """The bf16 gemm's packing of one panel of the float32 matrix X: rows
    k0 .. k0 + depth of k (X's columns where k_contiguous, else its rows) and
    w0 .. w0 + width of w, as (depth + 1) // 2 rows of `lanes` uint32 pairs, and
    then `lanes` more entries past the panel, holding UNWRITTEN unless the
    packing wrote outside it. None where the build or CPU has no AVX-512 BF16."""
    cdef float[:, ::1] x = numpy.ascontiguousarray(X, dtype="float32")
    n_k, n_w = (x.shape[1], x.shape[0]) if k_contiguous else (x.shape[0], x.shape[1])
    if not (0 <= k0 and k0 + depth <= n_k and 0 <= w0 and 0 <= width
            and w0 + width <= n_w and width <= lanes and lanes > 0 and depth > 0):
        raise ValueError(f"panel k {k0}+{depth}, w {w0}+{width} of {lanes} lanes "
                         f"is not inside {n_k} k x {n_w} w")
    pairs = (depth + 1) // 2
    out = numpy.full(((pairs + 1) * lanes,), UNWRITTEN, dtype="uint32")
    cdef uint32_t[::1] o = out
    if not run_bf16_pack_pairs(&x[0, 0], x.shape[1], k_contiguous, k0, depth, w0, width, lanes, &o[0]):
        return None
    return out.reshape(pairs + 1, lanes)


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


def _operands(bint trans_a, bint trans_b, A, B, C) -> tuple:
    """(M, N, K, lda, ldb, ldc) of a product on 2d arrays of C's dtype with
    contiguous rows, after checking that they agree."""
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
    return (M, N, K, max(1, A.strides[0] // itemsize), max(1, B.strides[0] // itemsize),
            max(1, C.strides[0] // itemsize))


def gemm(bint trans_a, bint trans_b, alpha, A, B, beta, C) -> None:
    """C = alpha * op(A) @ op(B) + beta * C, in place, through the path chosen
    for C's dtype; row strides give lda, ldb and ldc."""
    M, N, K, lda_, ldb_, ldc_ = _operands(trans_a, trans_b, A, B, C)
    dtype = C.dtype
    cdef Py_ssize_t lda = lda_, ldb = ldb_, ldc = ldc_
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


# The kernels _one_kernel reaches.
cdef enum:
    FEW_ROWS = 0
    PACKED = 1
    ROWS_OF_B = 2


def few_rows_sgemm(bint trans_a, bint trans_b, float alpha, A, B, float beta, C) -> bool:
    """The few-rows kernels (include/thinc_gemm_few_rows.hh) at the active
    level on any float32 product of 1 to 32 rows, whichever path the routing
    would choose for it; False where they cannot run (no AVX2)."""
    return _one_kernel(FEW_ROWS, trans_a, trans_b, alpha, A, B, beta, C)


def packed_sgemm(bint trans_a, bint trans_b, float alpha, A, B, float beta, C) -> bool:
    """The packed kernel (include/thinc_gemm.hh) at the active level on any
    float32 product, even one the few-rows kernels would take; False where it
    cannot run (no AVX2, or K too deep to pack)."""
    return _one_kernel(PACKED, trans_a, trans_b, alpha, A, B, beta, C)


def rows_of_b_sgemm(bint trans_a, float alpha, A, B, float beta, C, bias=None,
                    bint split=False) -> bool:
    """C = alpha * op(A) @ B.T + beta * C (+ bias) through the kernel that
    broadcasts rows of B against packed op(A)^T (include/thinc_gemm_rows_of_b.hh),
    on any product of 1 to 64 rows and depth 1 to 288, whichever path the
    routing would choose for it; `split` shares it over the worker pool. False
    where it cannot run (the active level has no AVX-512)."""
    return _one_kernel(ROWS_OF_B, trans_a, True, alpha, A, B, beta, C, bias, split)


def rows_of_b_takes_product(int64_t M, int64_t N, int64_t K, bint trans_b, bint split=False) -> bool:
    """Whether gemm routes a float32 product to that kernel at the active level."""
    return rows_of_b_takes(M, N, K, trans_b, split)


def _one_kernel(int kind, bint trans_a, bint trans_b, float alpha, A, B, float beta, C,
                bias=None, bint split=False) -> bool:
    if not isinstance(C, numpy.ndarray) or C.dtype != numpy.float32:
        raise ValueError("C must be a 2d float32 array")
    M, N, K, lda_, ldb_, ldc_ = _operands(trans_a, trans_b, A, B, C)
    if kind == FEW_ROWS and not (1 <= M <= FEW_ROWS_MAX and N >= 1 and K >= 1):
        raise ValueError(f"the few-rows kernels take 1 to {FEW_ROWS_MAX} rows, N and K >= 1")
    if kind == PACKED and min(M, N, K) < 1:
        raise ValueError("the packed kernel takes M, N and K >= 1")
    if kind == ROWS_OF_B and not (1 <= M <= ROWS_OF_B_MAX_ROWS and N >= 1
                                  and 1 <= K <= ROWS_OF_B_MAX_DEPTH):
        raise ValueError(f"the kernel takes 1 to {ROWS_OF_B_MAX_ROWS} rows, 1 to "
                         f"{ROWS_OF_B_MAX_DEPTH} deep, N >= 1")
    cdef Py_ssize_t bias_address = 0
    if bias is not None:
        if (not isinstance(bias, numpy.ndarray) or bias.dtype != numpy.float32
                or bias.shape != (N,) or not bias.flags.c_contiguous):
            raise ValueError(f"bias must be a contiguous float32 array of shape ({N},)")
        bias_address = bias.__array_interface__["data"][0]
    cdef int64_t m = M, n = N, k = K, lda = lda_, ldb = ldb_, ldc = ldc_
    cdef Py_ssize_t a_address = A.__array_interface__["data"][0]
    cdef Py_ssize_t b_address = B.__array_interface__["data"][0]
    cdef Py_ssize_t c_address = C.__array_interface__["data"][0]
    cdef bint done
    with nogil:
        if kind == FEW_ROWS:
            done = few_rows_multiply(trans_a, trans_b, m, n, k, alpha, <const float*>a_address, lda,
                                     <const float*>b_address, ldb, beta, <float*>c_address, ldc,
                                     <const float*>bias_address, split)
        elif kind == PACKED:
            done = packed_multiply(trans_a, trans_b, m, n, k, alpha, <const float*>a_address, lda,
                                   <const float*>b_address, ldb, beta, <float*>c_address, ldc)
        else:
            done = rows_of_b_multiply(trans_a, m, n, k, alpha, <const float*>a_address, lda,
                                      <const float*>b_address, ldb, beta, <float*>c_address, ldc,
                                      <const float*>bias_address, split)
    return done


def sgemm(bint trans_a, bint trans_b, float alpha, A, B, float beta, C) -> None:
    """gemm for float32 only (the float32 kernel tests)."""
    if not isinstance(C, numpy.ndarray) or C.dtype != numpy.float32:
        raise ValueError("C must be a 2d float32 array")
    gemm(trans_a, trans_b, alpha, A, B, beta, C)


def table_axpy(alpha, X, Y, int n, int inc_x=1, int inc_y=1, int x_start=0, int y_start=0) -> None:
    """Y[y_start + i * inc_y] += alpha * X[x_start + i * inc_x] for i < n, in
    place, through a fresh CBlas table's saxpy or daxpy (by Y's dtype), as
    compiled code that cimports the table calls it."""
    dtype = getattr(Y, "dtype", None)
    if dtype not in (numpy.float32, numpy.float64):
        raise ValueError("Y must be a float32 or float64 array")
    for name, array in (("X", X), ("Y", Y)):
        if not isinstance(array, numpy.ndarray) or array.dtype != dtype or array.ndim != 1:
            raise ValueError(f"{name} must be a 1d {dtype} array")
        if not array.flags.c_contiguous:
            raise ValueError(f"{name} must be contiguous")
    if not Y.flags.writeable:
        raise ValueError("Y must be writeable")
    for name, array, start, inc in (("X", X, x_start, inc_x), ("Y", Y, y_start, inc_y)):
        if n > 0 and not (0 <= start < len(array) and 0 <= start + (n - 1) * inc < len(array)):
            raise ValueError(f"{name}: {n} elements {inc} apart from {start} leave its {len(array)}")
    cdef CBlas table = CBlas()
    cdef Py_ssize_t x_address = X.__array_interface__["data"][0] + x_start * dtype.itemsize
    cdef Py_ssize_t y_address = Y.__array_interface__["data"][0] + y_start * dtype.itemsize
    cdef double alpha64 = alpha
    if dtype == numpy.float32:
        with nogil:
            saxpy(table)(n, <float>alpha64, <const float*>x_address, inc_x, <float*>y_address, inc_y)
    else:
        with nogil:
            daxpy(table)(n, alpha64, <const double*>x_address, inc_x, <double*>y_address, inc_y)


def remainders_by_magic(const uint32_t[::1] values, uint32_t divisor, uint32_t[::1] out):
    """HashEmbed's row remainder (hash_rows) of each value by divisor (> 0)."""
    cdef Py_ssize_t i
    cdef uint64_t magic = (<uint64_t>0xFFFFFFFFFFFFFFFF) // divisor + 1
    for i in range(values.shape[0]):
        out[i] = remainder_by_magic(values[i], magic, divisor)
