# cython: boundscheck=False, wraparound=False, cdivision=True
"""The BLAS table for compiled code, and the one-time choice of which BLAS runs gemm.

float32 products run on thinc's own AVX2 kernel (include/thinc_gemm.hh) where
the CPU has AVX2 and FMA but not AVX-512 and blis has no kernels tuned for it;
otherwise, and for float64, blis is used where it has tuned kernels for this
CPU, else numpy's own optimized BLAS (OpenBLAS in the wheels), called directly
without the GIL. THINC_BLAS=thinc|blis|numpy forces a choice."""
import os
import warnings

cimport blis.cy
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from libcpp.memory cimport make_shared

import blis.cy as _blis_module
import numpy


cdef extern from "thinc_blas.hh" namespace "thinc_blas" nogil:
    enum:
        ROW_MAJOR
        NO_TRANS
        TRANS
    ctypedef void (*sgemm_lp64_t)(int, int, int, int, int, int, float, const float*, int,
                                  const float*, int, float, float*, int)
    ctypedef void (*dgemm_lp64_t)(int, int, int, int, int, int, double, const double*, int,
                                  const double*, int, double, double*, int)
    ctypedef void (*sgemm_ilp64_t)(int, int, int, int64_t, int64_t, int64_t, float,
                                   const float*, int64_t, const float*, int64_t, float,
                                   float*, int64_t)
    ctypedef void (*dgemm_ilp64_t)(int, int, int, int64_t, int64_t, int64_t, double,
                                   const double*, int64_t, const double*, int64_t, double,
                                   double*, int64_t)
    ctypedef int (*arch_query_id_t)()
    ctypedef const char* (*arch_string_t)(int)
    ctypedef char* (*corename_t)()
    void* find_loaded_symbol(const char* library_path, const char* name)

cdef extern from "thinc_gemm.hh" namespace "thinc_gemm" nogil:
    bint own_sgemm "thinc_gemm::sgemm"(bint trans_a, bint trans_b, int64_t M, int64_t N, int64_t K,
                                       float alpha, const float* A, int64_t lda, const float* B,
                                       int64_t ldb, float beta, float* C, int64_t ldc,
                                       const float* bias)
    bint own_sgemm_available "thinc_gemm::available"()
    bint cpu_has_avx512 "thinc_gemm::cpu_has_avx512"()
    void own_sgemm_set_single_threaded "thinc_gemm::single_threaded().store"(bint)

cdef extern from "thinc_parallel.hh" namespace "thinc_parallel" nogil:
    void parallel_initialize "thinc_parallel::initialize"()
    int64_t parallel_back_to_back_failures "thinc_parallel::back_to_back_failures"(int)

ctypedef int (*get_threads_t)() noexcept nogil
ctypedef void (*set_threads_t)(int) noexcept nogil


cdef struct BlasFuncs:
    daxpy_ptr daxpy
    saxpy_ptr saxpy
    sgemm_ptr sgemm


# Which implementation gemm_f32/gemm_f64 call; set once by _choose_backend().
cdef enum Backend:
    USE_BLIS = 0
    USE_CBLAS_LP64 = 1
    USE_CBLAS_ILP64 = 2

cdef Backend _backend = USE_BLIS
# float32 products go to thinc's own AVX2 kernel (include/thinc_gemm.hh) first.
cdef bint _own_sgemm = False
cdef sgemm_lp64_t _sgemm_lp64 = NULL
cdef dgemm_lp64_t _dgemm_lp64 = NULL
cdef sgemm_ilp64_t _sgemm_ilp64 = NULL
cdef dgemm_ilp64_t _dgemm_ilp64 = NULL


cdef void blis_sgemm(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     float alpha, const float* A, Py_ssize_t lda, const float* B,
                     Py_ssize_t ldb, float beta, float* C, Py_ssize_t ldc) noexcept nogil:
    blis.cy.gemm(
        blis.cy.TRANSPOSE if transA else blis.cy.NO_TRANSPOSE,
        blis.cy.TRANSPOSE if transB else blis.cy.NO_TRANSPOSE,
        M, N, K, alpha, <float*>A, lda, 1, <float*>B, ldb, 1, beta, C, ldc, 1)


cdef void blis_dgemm(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     double alpha, const double* A, Py_ssize_t lda, const double* B,
                     Py_ssize_t ldb, double beta, double* C, Py_ssize_t ldc) noexcept nogil:
    blis.cy.gemm(
        blis.cy.TRANSPOSE if transA else blis.cy.NO_TRANSPOSE,
        blis.cy.TRANSPOSE if transB else blis.cy.NO_TRANSPOSE,
        M, N, K, alpha, <double*>A, lda, 1, <double*>B, ldb, 1, beta, C, ldc, 1)


# Below this many multiply-adds a product is too small to share between
# threads; OpenBLAS would still wake its pool, which costs more than the work
# (badly so on a busy machine), so blis runs it on the calling thread.
# Measured on a 2-vCPU Zen 3 VM: blis's generic kernels are 3-5x slower than
# single-threaded OpenBLAS even here (64x288 @ 288x96: 0.35 vs 0.11 ms), but
# two-threaded OpenBLAS on a busy machine took 0.75 ms, so the safe choice stays.
cdef Py_ssize_t SMALL_GEMM = 1 << 21


cdef inline bint fits_int(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, Py_ssize_t lda,
                          Py_ssize_t ldb, Py_ssize_t ldc) noexcept nogil:
    # A 32-bit-int BLAS cannot describe larger matrices; blis takes those.
    cdef Py_ssize_t limit = 2147483647
    return M <= limit and N <= limit and K <= limit and lda <= limit and ldb <= limit and ldc <= limit


cdef void gemm_f32(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   float alpha, const float* A, Py_ssize_t lda, const float* B,
                   Py_ssize_t ldb, float beta, float* C, Py_ssize_t ldc) noexcept nogil:
    if M <= 0 or N <= 0:
        return
    if _own_sgemm and own_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL):
        return
    if M * N * K < SMALL_GEMM:
        blis_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    elif _backend == USE_CBLAS_ILP64:
        _sgemm_ilp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                     M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    elif _backend == USE_CBLAS_LP64 and fits_int(M, N, K, lda, ldb, ldc):
        _sgemm_lp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                    <int>M, <int>N, <int>K, alpha, A, <int>lda, B, <int>ldb, beta, C, <int>ldc)
    else:
        blis_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef void gemm_f64(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   double alpha, const double* A, Py_ssize_t lda, const double* B,
                   Py_ssize_t ldb, double beta, double* C, Py_ssize_t ldc) noexcept nogil:
    if M <= 0 or N <= 0:
        return
    if M * N * K < SMALL_GEMM:
        blis_dgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    elif _backend == USE_CBLAS_ILP64:
        _dgemm_ilp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                     M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    elif _backend == USE_CBLAS_LP64 and fits_int(M, N, K, lda, ldb, ldc):
        _dgemm_lp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                    <int>M, <int>N, <int>K, alpha, A, <int>lda, B, <int>ldb, beta, C, <int>ldc)
    else:
        blis_dgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


ctypedef fused real_t:
    float
    double


cdef inline void fill_rows(real_t* C, const real_t* bias, Py_ssize_t M, Py_ssize_t N,
                           Py_ssize_t ldc) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(M):
        memcpy(C + i * ldc, bias, N * sizeof(real_t))


# C = op(A) @ op(B) + bias, bias broadcast over the rows. thinc's own kernel
# adds the bias as it stores each tile; any other BLAS gets C filled with the
# bias first and accumulates onto it (beta = 1), still one pass fewer than
# adding it after the product.
cdef void affine_f32(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     const float* A, Py_ssize_t lda, const float* B, Py_ssize_t ldb,
                     const float* bias, float* C, Py_ssize_t ldc) noexcept nogil:
    if M <= 0 or N <= 0:
        return
    if not (_own_sgemm and own_sgemm(transA, transB, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, ldc, bias)):
        fill_rows(C, bias, M, N, ldc)
        gemm_f32(transA, transB, M, N, K, 1.0, A, lda, B, ldb, 1.0, C, ldc)


cdef void affine_f64(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     const double* A, Py_ssize_t lda, const double* B, Py_ssize_t ldb,
                     const double* bias, double* C, Py_ssize_t ldc) noexcept nogil:
    if M > 0 and N > 0:
        fill_rows(C, bias, M, N, ldc)
        gemm_f64(transA, transB, M, N, K, 1.0, A, lda, B, ldb, 1.0, C, ldc)


# The table's default entries: plain C signatures over the chosen gemm.
cdef void table_sgemm(bint transA, bint transB, int M, int N, int K,
                      float alpha, const float* A, int lda, const float* B,
                      int ldb, float beta, float* C, int ldc) noexcept nogil:
    gemm_f32(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef void table_saxpy(int N, float alpha, const float* X, int incX,
                      float* Y, int incY) noexcept nogil:
    blis.cy.axpyv(blis.cy.NO_CONJUGATE, N, alpha, <float*>X, incX, Y, incY)


cdef void table_daxpy(int N, double alpha, const double* X, int incX,
                      double* Y, int incY) noexcept nogil:
    blis.cy.axpyv(blis.cy.NO_CONJUGATE, N, alpha, <double*>X, incX, Y, incY)


cdef class CBlas:
    """A table of BLAS functions that compiled code reaches through the
    accessor functions below; the entries can be swapped for other kernels."""

    def __init__(self):
        self.ptr = make_shared[BlasFuncs]()
        self.ptr.get().sgemm = table_sgemm
        self.ptr.get().saxpy = table_saxpy
        self.ptr.get().daxpy = table_daxpy


cdef daxpy_ptr daxpy(CBlas cblas) noexcept nogil:
    return cblas.ptr.get().daxpy


cdef saxpy_ptr saxpy(CBlas cblas) noexcept nogil:
    return cblas.ptr.get().saxpy


cdef sgemm_ptr sgemm(CBlas cblas) noexcept nogil:
    return cblas.ptr.get().sgemm


cdef void set_daxpy(CBlas cblas, daxpy_ptr daxpy) noexcept nogil:
    cblas.ptr.get().daxpy = daxpy


cdef void set_saxpy(CBlas cblas, saxpy_ptr saxpy) noexcept nogil:
    cblas.ptr.get().saxpy = saxpy


cdef void set_sgemm(CBlas cblas, sgemm_ptr sgemm) noexcept nogil:
    cblas.ptr.get().sgemm = sgemm


def blis_arch() -> str:
    """The kernel set blis picked for this CPU ("generic" when it has none)."""
    cdef bytes path = os.fsencode(_blis_module.__file__)
    cdef arch_query_id_t query = <arch_query_id_t>find_loaded_symbol(path, b"bli_arch_query_id")
    cdef arch_string_t name = <arch_string_t>find_loaded_symbol(path, b"bli_arch_string")
    if query == NULL or name == NULL:
        return "unknown"
    return name(query()).decode("ascii", "replace")


def _numpy_core_path() -> bytes:
    try:
        from numpy._core import _multiarray_umath
    except ImportError:  # numpy 1.x
        from numpy.core import _multiarray_umath
    return os.fsencode(_multiarray_umath.__file__)


def _numpy_blas_description() -> str:
    try:
        blas = numpy.__config__.CONFIG["Build Dependencies"]["blas"]
        return f"{blas.get('name', '')} {blas.get('openblas configuration', '')}"
    except (AttributeError, KeyError, TypeError):
        return ""


# OpenBLAS's thread-count entry points under the names numpy's wheels use.
_THREAD_SYMBOLS = (
    (b"scipy_openblas_get_num_threads64_", b"scipy_openblas_set_num_threads64_"),
    (b"openblas_get_num_threads64_", b"openblas_set_num_threads64_"),
    (b"openblas_get_num_threads", b"openblas_set_num_threads"),
)


def numpy_blas_threads() -> int:
    """Threads numpy's OpenBLAS runs gemm on (0 where it cannot be asked)."""
    core = _numpy_core_path()
    cdef get_threads_t getter
    for get_name, _ in _THREAD_SYMBOLS:
        getter = <get_threads_t>find_loaded_symbol(core, get_name)
        if getter != NULL:
            return getter()
    return 0


def set_numpy_blas_threads(n_threads: int) -> bool:
    """Sets numpy's OpenBLAS thread count (for benchmarks); False where the
    library offers no way to."""
    if n_threads < 1:
        raise ValueError(f"set_numpy_blas_threads needs a positive count, got {n_threads}")
    core = _numpy_core_path()
    cdef set_threads_t setter
    for _, set_name in _THREAD_SYMBOLS:
        setter = <set_threads_t>find_loaded_symbol(core, set_name)
        if setter != NULL:
            setter(n_threads)
            return True
    return False


cdef bint _gemm_is_correct():
    # A cheap guard against a mis-declared library: a 3x4 @ 4x5 product
    # (both transposes) must match numpy before the library is trusted.
    rng = numpy.random.default_rng(0)
    cdef float[:, ::1] a = rng.uniform(-1, 1, (3, 4)).astype("float32")
    cdef float[:, ::1] b = rng.uniform(-1, 1, (4, 5)).astype("float32")
    cdef float[:, ::1] at = numpy.ascontiguousarray(numpy.asarray(a).T)
    cdef float[:, ::1] c = numpy.zeros((3, 5), dtype="float32")
    cdef double[:, ::1] a64 = numpy.asarray(a, dtype="float64")
    cdef double[:, ::1] b64t = numpy.ascontiguousarray(numpy.asarray(b, dtype="float64").T)
    cdef double[:, ::1] c64 = numpy.zeros((3, 5), dtype="float64")
    expected = numpy.asarray(a, dtype="float64") @ numpy.asarray(b, dtype="float64")
    gemm_f32(True, False, 3, 5, 4, 1.0, &at[0, 0], 3, &b[0, 0], 5, 0.0, &c[0, 0], 5)
    gemm_f64(False, True, 3, 5, 4, 1.0, &a64[0, 0], 4, &b64t[0, 0], 4, 0.0, &c64[0, 0], 5)
    return (numpy.allclose(numpy.asarray(c), expected, atol=1e-5)
            and numpy.allclose(numpy.asarray(c64), expected, atol=1e-12))


def _sgemm_for_tests(bint trans_a, bint trans_b, float alpha, A, B, float beta, C) -> None:
    """Testing hook: C = alpha * op(A) @ op(B) + beta * C, in place, through the
    float32 path chosen at import; row strides give lda, ldb and ldc."""
    for name, array in (("A", A), ("B", B), ("C", C)):
        if not isinstance(array, numpy.ndarray) or array.dtype != numpy.float32 or array.ndim != 2:
            raise ValueError(f"{name} must be a 2d float32 array")
        if array.size and (array.strides[1] != 4 or array.strides[0] % 4
                           or array.strides[0] < 4 * array.shape[1]):
            raise ValueError(f"{name} must have contiguous rows (strides {array.strides})")
    if not C.flags.writeable:
        raise ValueError("C must be writeable")
    M, K = (A.shape[1], A.shape[0]) if trans_a else A.shape
    K2, N = (B.shape[1], B.shape[0]) if trans_b else B.shape
    if K != K2 or C.shape != (M, N):
        raise ValueError(f"shapes do not agree: op(A) {(M, K)}, op(B) {(K2, N)}, C {C.shape}")
    cdef Py_ssize_t lda = max(1, A.strides[0] // 4), ldb = max(1, B.strides[0] // 4)
    cdef Py_ssize_t ldc = max(1, C.strides[0] // 4)
    cdef Py_ssize_t a_address = A.__array_interface__["data"][0]
    cdef Py_ssize_t b_address = B.__array_interface__["data"][0]
    cdef Py_ssize_t c_address = C.__array_interface__["data"][0]
    cdef Py_ssize_t m = M, n = N, k = K
    with nogil:
        gemm_f32(trans_a, trans_b, m, n, k, alpha, <const float*>a_address, lda,
                 <const float*>b_address, ldb, beta, <float*>c_address, ldc)


def _choose_backend() -> str:
    global SMALL_GEMM, _own_sgemm
    small_gemm = SMALL_GEMM
    SMALL_GEMM = 0  # so the correctness check reaches the library itself
    try:
        forced = _forced_choice()
        library = _choose_library(forced)
        _own_sgemm = _prefer_own_sgemm(library, forced)
        if _own_sgemm and not _gemm_is_correct():
            _own_sgemm = False
    finally:
        SMALL_GEMM = small_gemm
    if _own_sgemm:
        return f"thinc's AVX2 kernel (float32; float64 through {library})"
    return library


def _pool_back_to_back_failures(int iterations) -> int:
    """Testing hook: runs pairs of back-to-back parallel jobs on this module's
    worker pool (the one gemm uses); returns how many pairs went wrong."""
    cdef int64_t failures
    with nogil:
        failures = parallel_back_to_back_failures(iterations)
    return failures


def own_sgemm_is_available() -> bool:
    """Whether this CPU can run thinc's own float32 gemm kernel (AVX2 and FMA)."""
    return own_sgemm_available()


def _use_own_sgemm(enabled: bool, single_threaded: bool = False) -> bool:
    """Testing and benchmark hook: routes float32 gemm to thinc's own kernel
    (where the CPU has it) or back to the library; returns the previous setting."""
    global _own_sgemm
    previous = _own_sgemm
    _own_sgemm = bool(enabled) and own_sgemm_available()
    own_sgemm_set_single_threaded(single_threaded)
    return previous


def _forced_choice() -> str:
    """THINC_BLAS, lower-cased; '' when unset or not a known choice (warned)."""
    forced = os.environ.get("THINC_BLAS", "").strip().lower()
    if forced not in ("", "thinc", "blis", "numpy"):
        warnings.warn(f"THINC_BLAS={forced!r} is not one of thinc, blis, numpy; "
                      f"choosing the gemm implementation as if it were unset")
        return ""
    return forced


def _prefer_own_sgemm(library: str, forced: str) -> bool:
    # thinc's kernel is AVX2: where the CPU has AVX-512, a library whose
    # kernels use it (blis's or OpenBLAS's for that CPU) has twice the width;
    # where blis has kernels tuned for this CPU they are used as they are.
    if not own_sgemm_available():
        return False
    if forced:
        return forced == "thinc"
    if library.startswith("blis") and not library.startswith("blis (generic"):
        return False
    return not cpu_has_avx512()


def _choose_library(forced: str) -> str:
    global _backend, _sgemm_lp64, _dgemm_lp64, _sgemm_ilp64, _dgemm_ilp64
    _backend = USE_BLIS
    arch = blis_arch()
    blis_name = f"blis ({arch} kernels)"
    if forced == "blis" or (not forced and arch not in ("generic", "unknown")):
        return blis_name
    core = _numpy_core_path()
    description = _numpy_blas_description()
    corename = <corename_t>find_loaded_symbol(core, b"scipy_openblas_get_corename64_")
    if corename == NULL:
        corename = <corename_t>find_loaded_symbol(core, b"openblas_get_corename64_")
    if corename == NULL:
        corename = <corename_t>find_loaded_symbol(core, b"openblas_get_corename")
    kernel = f", {corename().decode('ascii', 'replace')} kernels" if corename != NULL else ""
    # Symbol names tell the integer width: a "64_" suffix marks 64-bit ints.
    for sname, dname in ((b"scipy_cblas_sgemm64_", b"scipy_cblas_dgemm64_"),
                         (b"cblas_sgemm64_", b"cblas_dgemm64_")):
        _sgemm_ilp64 = <sgemm_ilp64_t>find_loaded_symbol(core, sname)
        _dgemm_ilp64 = <dgemm_ilp64_t>find_loaded_symbol(core, dname)
        if _sgemm_ilp64 != NULL and _dgemm_ilp64 != NULL:
            _backend = USE_CBLAS_ILP64
            if _gemm_is_correct():
                return f"numpy's BLAS ({sname.decode()}{kernel})"
    lp64_names = [(b"scipy_cblas_sgemm", b"scipy_cblas_dgemm")]
    if "64" not in description:
        lp64_names.append((b"cblas_sgemm", b"cblas_dgemm"))
    for sname, dname in lp64_names:
        _sgemm_lp64 = <sgemm_lp64_t>find_loaded_symbol(core, sname)
        _dgemm_lp64 = <dgemm_lp64_t>find_loaded_symbol(core, dname)
        if _sgemm_lp64 != NULL and _dgemm_lp64 != NULL:
            _backend = USE_CBLAS_LP64
            if _gemm_is_correct():
                return f"numpy's BLAS ({sname.decode()}{kernel})"
    _backend = USE_BLIS
    return blis_name


parallel_initialize()
# Human-readable name of the gemm implementation chosen for this process.
BLAS_BACKEND: str = _choose_backend()
