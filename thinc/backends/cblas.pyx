# cython: boundscheck=False, wraparound=False, cdivision=True
"""The BLAS table for compiled code, and the one place that decides which
implementation runs gemm, per dtype and size.

Candidates: thinc's own AVX2 kernel (float32), blis, numpy's own BLAS
(OpenBLAS in the wheels, called directly without the GIL) and plain loops
(always right, slow: the last resort). A candidate runs a dtype only after
it has computed a grid of small products exactly right for that dtype on this
machine (checked at first use), so a library kernel that is wrong on this CPU
is never used. THINC_BLAS=thinc|blis|numpy forces the choice for every size;
THINC_SMALL_GEMM sets the size below which products count as small when
nothing is forced: those stay on the calling thread, on blis or on the own
kernel, whichever was measured faster here. gemm_paths() reports the choice."""
import os
import warnings

cimport blis.cy
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from libcpp.memory cimport make_shared

import blis.cy as _blis_module
import numpy

from . import _gemm_cache


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
    bint own_sgemm_here "thinc_gemm::sgemm_on_this_thread"(
        bint trans_a, bint trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const float* bias)
    bint own_sgemm_available "thinc_gemm::available"()
    void own_sgemm_set_single_threaded "thinc_gemm::single_threaded().store"(bint)

cdef extern from "thinc_gemm_bf16.hh" namespace "thinc_gemm_bf16" nogil:
    bint bf16_sgemm "thinc_gemm_bf16::sgemm"(bint trans_a, bint trans_b, int64_t M, int64_t N, int64_t K,
                                            float alpha, const float* A, int64_t lda, const float* B,
                                            int64_t ldb, float beta, float* C, int64_t ldc,
                                            const float* bias)
    bint bf16_available "thinc_gemm_bf16::available"()
    bint bf16_cpu "thinc_gemm_bf16::cpu_has_bf16"()
    bint bf16_takes "thinc_gemm_bf16::takes"(int64_t M)
    int64_t bf16_rows_needed "thinc_gemm_bf16::min_rows"()
    bint bf16_amx "thinc_gemm_bf16::amx::available"()
    void bf16_amx_disable "thinc_amx::disabled(thinc_amx::BF16).store"(bint)

cdef extern from "thinc_gemm_int8.hh" namespace "thinc_gemm_int8" nogil:
    bint int8_sgemm "thinc_gemm_int8::sgemm"(bint trans_a, bint trans_b, int64_t M, int64_t N, int64_t K,
                                            float alpha, const float* A, int64_t lda, const float* B,
                                            int64_t ldb, float beta, float* C, int64_t ldc,
                                            const float* bias)
    bint int8_available "thinc_gemm_int8::available"()
    bint int8_cpu_512 "thinc_gemm_int8::cpu_has_vnni"()
    bint int8_cpu_256 "thinc_gemm_int8::cpu_has_avx_vnni"()
    int int8_vectors "thinc_gemm_int8::vectors"()
    bint int8_takes "thinc_gemm_int8::takes"(int64_t M, int64_t K)
    const int64_t INT8_MIN_ROWS "thinc_gemm_int8::MIN_ROWS"
    const int64_t INT8_MAX_K "thinc_gemm_int8::MAX_K"
    bint int8_amx "thinc_gemm_int8::amx::available"()
    void int8_amx_disable "thinc_amx::disabled(thinc_amx::INT8).store"(bint)

cdef extern from "thinc_gemm_few_rows.hh" namespace "thinc_gemm_few_rows" nogil:
    const int64_t FEW_ROWS "thinc_gemm_few_rows::MAX_ROWS"
    const int64_t FEW_ROWS_MACS "thinc_gemm_few_rows::MAX_MACS"
    const int64_t FEW_ROWS_AVX2 "thinc_gemm_few_rows::MAX_ROWS_AVX2"
    int64_t few_rows_max_b "thinc_gemm_few_rows::max_b_floats"()
    bint few_rows_l3_refeeds "thinc_gemm_few_rows::l3_refeeds_cheaply"()
    bint few_rows_takes "thinc_gemm_few_rows::takes"(int64_t M, int64_t N, int64_t K, bint trans_b)

cdef extern from "thinc_gemm_check.hh" namespace "thinc_gemm_check" nogil:
    ctypedef void (*sgemm_t)(bint, bint, int64_t, int64_t, int64_t, float, const float*, int64_t,
                             const float*, int64_t, float, float*, int64_t) noexcept nogil
    ctypedef void (*dgemm_t)(bint, bint, int64_t, int64_t, int64_t, double, const double*, int64_t,
                             const double*, int64_t, double, double*, int64_t) noexcept nogil
    void loop_sgemm(bint, bint, int64_t, int64_t, int64_t, float, const float*, int64_t,
                    const float*, int64_t, float, float*, int64_t)
    void loop_dgemm(bint, bint, int64_t, int64_t, int64_t, double, const double*, int64_t,
                    const double*, int64_t, double, double*, int64_t)
    int64_t count_wrong_sgemm(sgemm_t gemm, const int64_t* Ms, int64_t nM, const int64_t* Ns,
                              int64_t nN, const int64_t* Ks, int64_t nK, int64_t* first_wrong,
                              int64_t* n_cases)
    int64_t count_wrong_dgemm(dgemm_t gemm, const int64_t* Ms, int64_t nM, const int64_t* Ns,
                              int64_t nN, const int64_t* Ks, int64_t nK, int64_t* first_wrong,
                              int64_t* n_cases)

cdef extern from "thinc_axpy.hh" namespace "thinc_axpy" nogil:
    void own_saxpy "thinc_axpy::saxpy"(int64_t, float, const float*, int64_t, float*, int64_t)
    void own_daxpy "thinc_axpy::daxpy"(int64_t, double, const double*, int64_t, double*, int64_t)

cdef extern from "thinc_isa.hh" namespace "thinc_isa" nogil:
    int isa_active "thinc_isa::active"()
    int isa_cpu_level "thinc_isa::cpu_level"()
    void isa_set_limit "thinc_isa::limit().store"(int)

cdef extern from "thinc_parallel.hh" namespace "thinc_parallel" nogil:
    void parallel_initialize "thinc_parallel::initialize"()
    void parallel_set_grain_override "thinc_parallel::set_grain_override"(int64_t)
    int parallel_num_threads "thinc_parallel::num_threads"()
    int parallel_requested_threads "thinc_parallel::requested_threads"()

ctypedef int (*get_threads_t)() noexcept nogil
ctypedef void (*set_threads_t)(int) noexcept nogil


cdef struct BlasFuncs:
    daxpy_ptr daxpy
    saxpy_ptr saxpy
    sgemm_ptr sgemm


# ---------------------------------------------------------------------------
# The candidates, each with the one signature that the routing below calls.

cdef sgemm_lp64_t _sgemm_lp64 = NULL
cdef dgemm_lp64_t _dgemm_lp64 = NULL
cdef sgemm_ilp64_t _sgemm_ilp64 = NULL
cdef dgemm_ilp64_t _dgemm_ilp64 = NULL
# What own_path_sgemm hands a product to when the kernel declines it (a K too
# deep to pack, no memory for the packed copies, or no AVX2 at this ISA level).
cdef sgemm_t _own_fallback = loop_sgemm


cdef void own_path_sgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                         float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                         float beta, float* C, int64_t ldc) noexcept nogil:
    if not own_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL):
        _own_fallback(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


# The path of small products when the own kernel runs them: never split over
# the thread pool (see MEASURED_SHAPES).
cdef void own_path_sgemm_here(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                              float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                              float beta, float* C, int64_t ldc) noexcept nogil:
    if not own_sgemm_here(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL):
        _own_fallback(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef void blis_sgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                     float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                     float beta, float* C, int64_t ldc) noexcept nogil:
    blis.cy.gemm(
        blis.cy.TRANSPOSE if transA else blis.cy.NO_TRANSPOSE,
        blis.cy.TRANSPOSE if transB else blis.cy.NO_TRANSPOSE,
        M, N, K, alpha, <float*>A, lda, 1, <float*>B, ldb, 1, beta, C, ldc, 1)


cdef void blis_dgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                     double alpha, const double* A, int64_t lda, const double* B, int64_t ldb,
                     double beta, double* C, int64_t ldc) noexcept nogil:
    blis.cy.gemm(
        blis.cy.TRANSPOSE if transA else blis.cy.NO_TRANSPOSE,
        blis.cy.TRANSPOSE if transB else blis.cy.NO_TRANSPOSE,
        M, N, K, alpha, <double*>A, lda, 1, <double*>B, ldb, 1, beta, C, ldc, 1)


cdef inline bint fits_int(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb,
                          int64_t ldc) noexcept nogil:
    # A 32-bit-int BLAS cannot describe larger matrices; the plain loops take those.
    cdef int64_t limit = 2147483647
    return M <= limit and N <= limit and K <= limit and lda <= limit and ldb <= limit and ldc <= limit


cdef void numpy_lp64_sgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                           float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                           float beta, float* C, int64_t ldc) noexcept nogil:
    if fits_int(M, N, K, lda, ldb, ldc):
        _sgemm_lp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                    <int>M, <int>N, <int>K, alpha, A, <int>lda, B, <int>ldb, beta, C, <int>ldc)
    else:
        loop_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef void numpy_lp64_dgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                           double alpha, const double* A, int64_t lda, const double* B, int64_t ldb,
                           double beta, double* C, int64_t ldc) noexcept nogil:
    if fits_int(M, N, K, lda, ldb, ldc):
        _dgemm_lp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                    <int>M, <int>N, <int>K, alpha, A, <int>lda, B, <int>ldb, beta, C, <int>ldc)
    else:
        loop_dgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef void numpy_ilp64_sgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                            float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                            float beta, float* C, int64_t ldc) noexcept nogil:
    _sgemm_ilp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                 M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef void numpy_ilp64_dgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                            double alpha, const double* A, int64_t lda, const double* B, int64_t ldb,
                            double beta, double* C, int64_t ldc) noexcept nogil:
    _dgemm_ilp64(ROW_MAJOR, TRANS if transA else NO_TRANS, TRANS if transB else NO_TRANS,
                 M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


# ---------------------------------------------------------------------------
# The routing: set by _decide() at first use, and again after a setting changes.

cdef bint _decided = False
# Products with a few rows in op(A) (one doc, one parser state) take thinc's
# own unpacked kernels whatever the size rule says, unless a BLAS is forced.
cdef bint _few_rows_own = False
# Opt-in (THINC_GEMM_PRECISION): float32 products round their operands to
# bfloat16 and sum in float32 (AMX or AVX-512 BF16), or quantize them to int8
# and sum in int32 (AMX, AVX-512 VNNI or AVX-VNNI).
cdef enum Reduced:
    REDUCED_NONE, REDUCED_BF16, REDUCED_INT8
cdef Reduced _reduced = REDUCED_NONE
cdef int64_t _small_gemm = 1 << 21
cdef sgemm_t _sgemm_small = loop_sgemm
cdef sgemm_t _sgemm_large = loop_sgemm
cdef dgemm_t _dgemm_small = loop_dgemm
cdef dgemm_t _dgemm_large = loop_dgemm


cdef void decide_with_gil() noexcept nogil:
    global _decided
    with gil:
        try:
            _decide()
        except BaseException as error:  # never leave gemm without a path
            warnings.warn(f"gemm falls back to plain loops: choosing a BLAS failed ({error!r})")
            _route_everything_to_loops()


cdef inline bint reduced_takes(Py_ssize_t M, Py_ssize_t K) noexcept nogil:
    # Whether the opt-in reduced precision would be asked for this product.
    if _reduced == REDUCED_BF16:
        return bf16_takes(M)
    return _reduced == REDUCED_INT8 and int8_takes(M, K)


cdef inline bint reduced_sgemm(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N,
                               Py_ssize_t K, float alpha, const float* A, Py_ssize_t lda,
                               const float* B, Py_ssize_t ldb, float beta, float* C,
                               Py_ssize_t ldc, const float* bias) noexcept nogil:
    # True where the opt-in reduced precision ran the product; where it
    # declines (inf or NaN for int8, no memory), C is untouched and float32 runs.
    if not reduced_takes(M, K):
        return False
    if _reduced == REDUCED_BF16:
        return bf16_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias)
    return int8_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias)


cdef inline sgemm_t sgemm_path(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K) noexcept nogil:
    # Where a float32 product of this size goes once the reduced-precision and
    # few-rows rules have passed it by: the small or the large products' path.
    return _sgemm_small if M * N * K < _small_gemm else _sgemm_large


cdef void gemm_f32(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   float alpha, const float* A, Py_ssize_t lda, const float* B,
                   Py_ssize_t ldb, float beta, float* C, Py_ssize_t ldc) noexcept nogil:
    if M <= 0 or N <= 0:
        return
    if not _decided:
        decide_with_gil()
    if _reduced and reduced_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc,
                                  NULL):
        return
    if _few_rows_own and few_rows_takes(M, N, K, transB):
        if own_sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL):
            return
    sgemm_path(M, N, K)(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef bint gemm_f32_rows_overlapping(bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                    const float* A, Py_ssize_t lda, const float* B, Py_ssize_t ldb,
                                    float* C, Py_ssize_t ldc) noexcept nogil:
    # A BLAS rejects lda < K, so only thinc's own kernel, which reads each row
    # of A at any stride, may take A's overlapping rows; and only where
    # gemm_f32 would have given it this product, so the bits are gemm_f32's.
    if M <= 0 or N <= 0:
        return True
    if not _decided:
        decide_with_gil()
    if _reduced and reduced_takes(M, K):
        return False
    if _few_rows_own and few_rows_takes(M, N, K, transB):
        if own_sgemm(False, transB, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, ldc, NULL):
            return True
    cdef sgemm_t path = sgemm_path(M, N, K)
    if path == own_path_sgemm:
        return own_sgemm(False, transB, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, ldc, NULL)
    if path == own_path_sgemm_here:
        return own_sgemm_here(False, transB, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, ldc, NULL)
    return False


cdef void gemm_f64(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   double alpha, const double* A, Py_ssize_t lda, const double* B,
                   Py_ssize_t ldb, double beta, double* C, Py_ssize_t ldc) noexcept nogil:
    if M <= 0 or N <= 0:
        return
    if not _decided:
        decide_with_gil()
    if M * N * K < _small_gemm:
        _dgemm_small(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
    else:
        _dgemm_large(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


ctypedef fused real_t:
    float
    double


cdef inline void fill_rows(real_t* C, const real_t* bias, Py_ssize_t M, Py_ssize_t N,
                           Py_ssize_t ldc) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(M):
        memcpy(C + i * ldc, bias, N * sizeof(real_t))


# C = op(A) @ op(B) + bias, bias broadcast over the rows. thinc's own kernel
# adds the bias as it stores each tile; any other path gets C filled with the
# bias first and accumulates onto it (beta = 1), still one pass fewer than
# adding it after the product.
cdef void affine_f32(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     const float* A, Py_ssize_t lda, const float* B, Py_ssize_t ldb,
                     const float* bias, float* C, Py_ssize_t ldc) noexcept nogil:
    if M <= 0 or N <= 0:
        return
    if not _decided:
        decide_with_gil()
    if _reduced and reduced_sgemm(transA, transB, M, N, K, 1.0, A, lda, B, ldb, 0.0, C, ldc,
                                  bias):
        return
    cdef sgemm_t path = sgemm_path(M, N, K)
    cdef bint few_rows = _few_rows_own and few_rows_takes(M, N, K, transB)
    if (path == own_path_sgemm or few_rows) and own_sgemm(transA, transB, M, N, K, 1.0, A, lda,
                                                          B, ldb, 0.0, C, ldc, bias):
        return
    if path == own_path_sgemm_here and own_sgemm_here(transA, transB, M, N, K, 1.0, A, lda,
                                                      B, ldb, 0.0, C, ldc, bias):
        return
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
    own_saxpy(N, alpha, X, incX, Y, incY)


cdef void table_daxpy(int N, double alpha, const double* X, int incX,
                      double* Y, int incY) noexcept nogil:
    own_daxpy(N, alpha, X, incX, Y, incY)


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


# ---------------------------------------------------------------------------
# Deciding. Everything below runs with the GIL, at first use or after a
# setting changed.

BLAS_CHOICES = ("thinc", "blis", "numpy")
_PATH_NAMES = {"thinc": "thinc's own kernel", "blis": "blis", "numpy": "numpy's BLAS",
               "loop": "plain loops"}
# Forced by configure_gemm(); None means "read the environment".
_blas_override = None
_small_gemm_override = None
_precision_override = None
PRECISIONS = ("float32", "bf16", "int8")
# (candidate, dtype) -> (wrong shapes, first wrong shape or None); the grid is
# run once per process for each pair that is ever considered.
_verdicts = {}
# What the last decision chose and refused, for gemm_paths().
_report = {}
_warned = set()


def _environment_blas() -> str:
    forced = os.environ.get("THINC_BLAS", "").strip().lower()
    if forced and forced not in BLAS_CHOICES:
        _warn_once(f"THINC_BLAS={forced!r} is not one of thinc, blis, numpy; "
                   f"choosing the gemm implementation as if it were unset")
        return ""
    return forced


def _environment_precision() -> str:
    text = os.environ.get("THINC_GEMM_PRECISION", "").strip().lower()
    if not text:
        return "float32"
    if text not in PRECISIONS:
        _warn_once(f"THINC_GEMM_PRECISION={text!r} is not one of {', '.join(PRECISIONS)}; "
                   f"gemm stays float32")
        return "float32"
    return text


def _environment_small_gemm() -> int:
    text = os.environ.get("THINC_SMALL_GEMM", "").strip()
    if not text:
        return 1 << 21
    try:
        value = int(text)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        _warn_once(f"THINC_SMALL_GEMM={text!r} is not a non-negative integer; using {1 << 21}")
        return 1 << 21


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, stacklevel=3)


def _find_numpy_blas() -> str:
    """Points the numpy candidate at numpy's cblas symbols; '' where there are none."""
    global _sgemm_lp64, _dgemm_lp64, _sgemm_ilp64, _dgemm_ilp64
    core = _numpy_core_path()
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
            return f"{sname.decode().replace('sgemm', 'gemm')}{kernel}"
    lp64_names = [(b"scipy_cblas_sgemm", b"scipy_cblas_dgemm")]
    if "64" not in _numpy_blas_description():
        lp64_names.append((b"cblas_sgemm", b"cblas_dgemm"))
    for sname, dname in lp64_names:
        _sgemm_lp64 = <sgemm_lp64_t>find_loaded_symbol(core, sname)
        _dgemm_lp64 = <dgemm_lp64_t>find_loaded_symbol(core, dname)
        if _sgemm_lp64 != NULL and _dgemm_lp64 != NULL:
            return f"{sname.decode().replace('sgemm', 'gemm')}{kernel}"
    return ""


cdef sgemm_t _sgemm_of(str candidate, bint small=False):
    if candidate == "thinc":
        return own_path_sgemm_here if small else own_path_sgemm
    if candidate == "blis":
        return blis_sgemm
    if candidate == "numpy":
        return numpy_ilp64_sgemm if _sgemm_ilp64 != NULL else numpy_lp64_sgemm
    return loop_sgemm


cdef dgemm_t _dgemm_of(str candidate):
    if candidate == "blis":
        return blis_dgemm
    if candidate == "numpy":
        return numpy_ilp64_dgemm if _dgemm_ilp64 != NULL else numpy_lp64_dgemm
    return loop_dgemm


# The check every candidate passes before it runs a dtype: all shapes up to
# 17 (one past the widest tile edge of the common kernels) at a few depths.
CHECK_SIDES = tuple(range(1, 18))
CHECK_DEPTHS = (1, 2, 3, 8, 17)


def _verdict(candidate: str, dtype: str):
    """(wrong shapes, first wrong (M, N, K, trans_a, trans_b) or None) of the
    candidate over the check grid, run once per process."""
    key = (candidate, dtype)
    if key not in _verdicts:
        wrong, _, first = _count_wrong(candidate, dtype, CHECK_SIDES, CHECK_SIDES, CHECK_DEPTHS)
        _verdicts[key] = (wrong, first)
    return _verdicts[key]


cdef void routed_sgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                       float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                       float beta, float* C, int64_t ldc) noexcept nogil:
    gemm_f32(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


cdef void routed_dgemm(bint transA, bint transB, int64_t M, int64_t N, int64_t K,
                       double alpha, const double* A, int64_t lda, const double* B, int64_t ldb,
                       double beta, double* C, int64_t ldc) noexcept nogil:
    gemm_f64(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)


def _count_wrong(str candidate, str dtype, Ms, Ns, Ks):
    """(wrong cases, cases, first wrong or None) of one candidate ("routed":
    whatever gemm_f32/gemm_f64 choose now) over the grid Ms x Ns x Ks, all
    transposes; see count_wrong_products in include/thinc_gemm_check.hh."""
    cdef int64_t[::1] m_values = numpy.ascontiguousarray(Ms, dtype="int64")
    cdef int64_t[::1] n_values = numpy.ascontiguousarray(Ns, dtype="int64")
    cdef int64_t[::1] k_values = numpy.ascontiguousarray(Ks, dtype="int64")
    if min(m_values.shape[0], n_values.shape[0], k_values.shape[0]) == 0:
        raise ValueError("the grid needs at least one M, one N and one K")
    if min(numpy.min(m_values), numpy.min(n_values)) < 1 or numpy.min(k_values) < 0:
        raise ValueError("grid sides must be positive (K may be 0)")
    cdef int64_t[::1] first = numpy.zeros(5, dtype="int64")
    cdef int64_t wrong = 0, cases = 0
    cdef sgemm_t sgemm
    cdef dgemm_t dgemm
    if dtype == "float32":
        sgemm = routed_sgemm if candidate == "routed" else _sgemm_of(candidate)
        with nogil:
            wrong = count_wrong_sgemm(sgemm, &m_values[0], m_values.shape[0], &n_values[0],
                                      n_values.shape[0], &k_values[0], k_values.shape[0],
                                      &first[0], &cases)
    elif dtype == "float64":
        dgemm = routed_dgemm if candidate == "routed" else _dgemm_of(candidate)
        with nogil:
            wrong = count_wrong_dgemm(dgemm, &m_values[0], m_values.shape[0], &n_values[0],
                                      n_values.shape[0], &k_values[0], k_values.shape[0],
                                      &first[0], &cases)
    else:
        raise ValueError(f"dtype must be float32 or float64, not {dtype!r}")
    return wrong, cases, (tuple(int(v) for v in first) if wrong else None)


def _describe(candidate: str, numpy_blas: str) -> str:
    if candidate == "blis":
        return f"blis ({blis_arch()} kernels)"
    if candidate == "numpy":
        return f"numpy's BLAS ({numpy_blas})"
    return _PATH_NAMES[candidate]


def _preferred_order(dtype: str, forced: str, numpy_blas: str):
    """Candidates for large products, most wanted first; plain loops last."""
    own = own_sgemm_available() and dtype == "float32"
    if forced == "thinc":
        return (["thinc"] if own else []) + ["loop"]
    if forced:
        return [forced, "loop"]
    tuned_blis = blis_arch() not in ("generic", "unknown")
    libraries = ["blis", "numpy"] if tuned_blis or not numpy_blas else ["numpy", "blis"]
    if not numpy_blas:
        libraries.remove("numpy")
    # The own kernel first where it runs at the CPU's full width (AVX-512
    # where the CPU has it), or where blis has no kernels tuned for the CPU;
    # a library replaces the rule's choice only when measured clearly faster.
    # (A Zen 4's OpenBLAS timed 100-200 GFLOP/s from run to run against a
    # steady 190-200 for the own kernel: first place must not go to the noise.)
    if own and (isa_active() == isa_cpu_level() or not tuned_blis):
        return ["thinc"] + libraries + ["loop"]
    return libraries + (["thinc"] if own else []) + ["loop"]


def _first_right(candidates, dtype: str, refused: list) -> str:
    for candidate in candidates:
        if candidate == "loop":
            return candidate
        wrong, first = _verdict(candidate, dtype)
        if not wrong:
            return candidate
        refused.append((candidate, wrong, first))
    return "loop"


def _decide() -> None:
    """Chooses the path of each dtype and size class, checking each candidate
    before it is trusted; sets the routing that gemm_f32/gemm_f64 read."""
    global _decided, _small_gemm, _own_fallback, _few_rows_own, _reduced
    global _sgemm_small, _sgemm_large, _dgemm_small, _dgemm_large
    forced = _blas_override if _blas_override is not None else _environment_blas()
    precision = _precision_override if _precision_override is not None else _environment_precision()
    small_gemm = (_small_gemm_override if _small_gemm_override is not None
                  else _environment_small_gemm())
    numpy_blas = _find_numpy_blas()
    if forced == "numpy" and not numpy_blas:
        _warn_once("THINC_BLAS=numpy: numpy has no BLAS that thinc can call here; "
                   "gemm runs on plain loops")
    # Forced, the one choice runs every size.
    small_gemm = 0 if forced else small_gemm
    report = {"forced": forced or None, "small_gemm": small_gemm}
    tuned_blis = blis_arch() not in ("generic", "unknown")
    chosen = {}
    for dtype in ("float32", "float64"):
        refused = []
        candidates = _preferred_order(dtype, forced, numpy_blas)
        if forced == "numpy" and not numpy_blas:
            candidates = ["loop"]
        large = _first_right(candidates, dtype, refused)
        # Small products stay on the calling thread: blis runs them there
        # (OpenBLAS would wake its pool), unless something is forced.
        small = large
        if not forced and large != "thinc":
            # blis's generic kernels run float64 at a third of OpenBLAS's
            # rate on one thread (Zen 3: 12-14 against 30-40 GFLOP/s at
            # 16-128 rows); float32's small products are timed below.
            on_thread = ["blis"] if dtype == "float32" or tuned_blis else []
            small = _first_right(on_thread + [large], dtype, refused)
        if not forced and dtype == "float32":
            right = [c for c in candidates if c != "loop" and not _verdict(c, dtype)[0]]
            over = _over_thread_budget(right, large)
            if over:
                right.remove("numpy")
                report["not_timed"] = over
            measured = _measured_choice(right, {"large": large, "small": small}, numpy_blas)
            if measured is not None:
                large, small = measured["large"], measured["small"]
                report["measured"] = measured["report"]
        for candidate, wrong, first in refused:
            if forced == candidate:
                _warn_once(f"THINC_BLAS={forced}: {_describe(candidate, numpy_blas)} computed "
                           f"{wrong} small {dtype} products wrong on this machine (first: "
                           f"M, N, K, trans_a, trans_b = {first}); {dtype} gemm uses "
                           f"{_describe(large, numpy_blas)} instead")
        chosen[dtype] = (small, large)
        where = " on the calling thread" if _small_here(forced, small) else ""
        report[dtype] = {
            "small": _describe(small, numpy_blas) + where,
            "large": _describe(large, numpy_blas),
            "refused": {_describe(c, numpy_blas): {"wrong_shapes": w, "first": f}
                        for c, w, f in refused},
        }
    # The own kernel hands back what it cannot take to the next right library.
    fallback = _first_right([c for c in _preferred_order("float32", "", numpy_blas)
                             if c != "thinc"], "float32", [])
    _own_fallback = _sgemm_of(fallback)
    _sgemm_small = _sgemm_of(chosen["float32"][0], small=_small_here(forced, chosen["float32"][0]))
    _sgemm_large = _sgemm_of(chosen["float32"][1])
    _dgemm_small = _dgemm_of(chosen["float64"][0])
    _dgemm_large = _dgemm_of(chosen["float64"][1])
    _small_gemm = small_gemm
    _few_rows_own = (not forced and own_sgemm_available()
                     and not _verdict("thinc", "float32")[0])
    if _few_rows_own:
        report["few_rows"] = (f"thinc's own unpacked kernel for float32 products with at most "
                              f"{FEW_ROWS} rows in op(A), {FEW_ROWS_AVX2} at the AVX2 level from 64 columns "
                              f"(op(B) = B: {FEW_ROWS_MACS} multiply-adds or "
                              f"{few_rows_max_b()} floats of B at most"
                              f"{', any size on this AMD CPU at AVX-512' if few_rows_l3_refeeds() else ''}"
                              f"; op(B) = B^T, "
                              f"AVX-512: any rows below 32 columns or below 64 columns at "
                              f"depth 64+, else 3 rows, 4 at depth 32+, 8 at 64+, 12 at "
                              f"256+; AVX2: {FEW_ROWS_AVX2} rows below 16 columns, 4 below "
                              f"64, else 2 rows, 3 at depth 96+); where thinc's own kernel "
                              f"runs on one thread, op(B) = B^T products up to 288 deep that "
                              f"the dot products leave, with 13-16 or 26-32 rows (43-48 or "
                              f"57-64 at depth 256+) and 6+ columns, take a kernel that packs "
                              f"op(A)^T and broadcasts rows of B in place (AVX-512; the packed "
                              f"kernel's bits)")
    else:
        # The key is always there, so that the report has one shape on every machine.
        report["few_rows"] = (
            "none: THINC_BLAS forces the gemm library" if forced
            else "none: thinc's own kernel does not run here (no AVX2/FMA at the active level)"
            if not own_sgemm_available()
            else "none: thinc's own kernel computed small products wrong here")
    _reduced, report["precision"] = _reduced_precision(precision)
    _report.clear()
    _report.update(report)
    _decided = True


def _reduced_precision(precision: str) -> tuple:
    """The opt-in reduced precision that runs here for the setting, and its
    line in the report; a setting this CPU cannot honour warns once."""
    if precision == "float32":
        return REDUCED_NONE, "float32"
    runs = bf16_available() if precision == "bf16" else int8_available()
    if not runs:
        if precision == "bf16":
            why = ("this CPU has no AVX-512 BF16" if not bf16_cpu()
                   else "THINC_ISA holds the kernels below AVX-512")
        elif not (int8_cpu_512() or int8_cpu_256()):
            why = "this CPU has neither AVX-512 VNNI nor AVX-VNNI"
        else:
            why = (f"THINC_ISA holds the kernels below "
                   f"{'AVX2' if int8_cpu_256() else 'AVX-512'}, which its VNNI needs")
        _warn_once(f"THINC_GEMM_PRECISION={precision}: {why}; float32 gemm stays float32")
        return REDUCED_NONE, "float32"
    if precision == "bf16":
        return REDUCED_BF16, (f"bf16: float32 products of {bf16_rows_needed()} rows or more round "
                              f"their operands to bfloat16 and sum in float32 "
                              f"({'AMX tiles' if bf16_amx() else 'AVX-512 BF16'})")
    return REDUCED_INT8, (f"int8: float32 products of {INT8_MIN_ROWS} rows or more, at most "
                          f"{INT8_MAX_K} deep, quantize each row of op(A) and column of op(B) "
                          f"to int8 (scale: largest magnitude / 127) and sum in int32 "
                          f"({_int8_kernels()}); "
                          f"products with inf or NaN stay float32")


def _int8_kernels() -> str:
    if int8_vectors() != 2:
        return "AVX-VNNI"
    return "AMX tiles, op(A) = A; else AVX-512 VNNI" if int8_amx() else "AVX-512 VNNI"


# float32's path is chosen by timing the candidates on this machine, once:
# the choice is kept in a cache file (THINC_GEMM_CACHE names it; "0" turns
# measuring off and leaves the rule above), so every later process, and so
# every run's bits, uses the same one. The large shapes are thinc's and
# spaCy's typical large products: a tok2vec batch and its weight gradient.
# The small ones are a short batch through a tok2vec layer and a parser-sized
# hidden layer; small products stay on the calling thread (blis, or the own
# kernel told not to split): timed back to back they would favour a kernel
# that splits over threads, but between a layer's Python steps (an LSTM's
# time steps, say) waking the pool costs more than it saves, so only those
# two are timed for them.
MEASURED_SHAPES = {
    "large": ((2048, 288, 288, False, True), (288, 288, 2048, True, False)),
    "small": ((64, 288, 96, False, True), (128, 64, 96, False, False)),
}
SMALL_CANDIDATES = ("blis", "thinc")
# Seconds of quiet after numpy's BLAS ran, before anything else is timed:
# OpenBLAS's threads spin for a while after its last call (~2^28 cycles) and
# would take CPUs from the next candidate.
IDLE_BEFORE_TIMING = 0.15
# Each candidate's best over this many rounds, the candidates taking turns
# within a round: load that comes and goes while the choice is made (another
# process starting, a neighbour on the host) then slows every candidate, not
# whichever happened to be timed during it. Timed one after the other, a
# two-thread own kernel once came out at 94 GFLOP/s against OpenBLAS's 147 on
# a Zen 3 whose quiet rates are 173 and 170, and OpenBLAS was chosen.
MEASURE_ROUNDS = 3
# Another candidate replaces the rule's choice only when at least this much
# faster, so that timing noise does not decide.
MEASURE_MARGIN = 1.15
# Part of the cache key: entries timed the older way (each candidate once, in
# turn) are timed again.
MEASURE_METHOD = f"interleaved best of {MEASURE_ROUNDS}"


def _time_sgemm(str candidate, shape, bint small=False, double budget=0.03) -> float:
    """Seconds per call of one candidate on one shape: the best of up to five
    batches of about 2 ms, within about `budget` seconds (a slow candidate
    gets fewer)."""
    import time

    cdef int64_t M = shape[0], N = shape[1], K = shape[2]
    cdef bint trans_a = shape[3], trans_b = shape[4]
    rng = numpy.random.default_rng(0)
    cdef float[:, ::1] a = rng.standard_normal((K, M) if trans_a else (M, K)).astype("float32")
    cdef float[:, ::1] b = rng.standard_normal((N, K) if trans_b else (K, N)).astype("float32")
    cdef float[:, ::1] c = numpy.zeros((M, N), dtype="float32")
    cdef sgemm_t gemm = _sgemm_of(candidate, small)
    cdef int64_t lda = a.shape[1], ldb = b.shape[1]
    cdef int repeat, reps
    started = time.perf_counter()
    gemm(trans_a, trans_b, M, N, K, 1.0, &a[0, 0], lda, &b[0, 0], ldb, 0.0, &c[0, 0], N)
    best = time.perf_counter() - started
    reps = max(1, min(1000, int(0.002 / max(best, 1e-7))))
    spent = best
    for _ in range(5):
        if spent > budget:
            break
        started = time.perf_counter()
        with nogil:
            for repeat in range(reps):
                gemm(trans_a, trans_b, M, N, K, 1.0, &a[0, 0], lda, &b[0, 0], ldb, 0.0, &c[0, 0], N)
        elapsed = time.perf_counter() - started
        spent += elapsed
        best = min(best, elapsed / reps)
    return best


def _time_in_turns(timed, shapes, bint small) -> dict:
    """Seconds per pass over `shapes` for each candidate: its best of
    MEASURE_ROUNDS rounds in which the candidates take turns (numpy's BLAS
    last, so that one quiet spell after it covers the next round's start)."""
    import time

    order = sorted(timed, key=lambda name: name == "numpy")
    best = {name: float("inf") for name in order}
    for round_index in range(MEASURE_ROUNDS):
        # numpy's BLAS may have run just before: the caller's, or this loop's.
        if round_index == 0 or "numpy" in order:
            time.sleep(IDLE_BEFORE_TIMING)
        for name in order:
            seconds = sum(_time_sgemm(name, shape, small, 0.01) for shape in shapes)
            best[name] = min(best[name], seconds)
    return best


def _choose(seconds: dict, rule: str) -> str:
    """The rule's candidate, unless another one is more than MEASURE_MARGIN
    faster (or the rule's was not timed): then the fastest."""
    fastest = min(seconds, key=seconds.get)
    if rule not in seconds or seconds[rule] > MEASURE_MARGIN * seconds[fastest]:
        return fastest
    return rule


def _confirmed(seconds: dict, rule: str, shapes, bint small) -> dict:
    """`seconds` where the rule's candidate wins or ties; where another one
    beats it by more than the margin, both are timed again and keep their
    best, so that one unlucky spell of the rule's candidate cannot hand the
    choice over (on a quiet Zen 3 the own kernel and OpenBLAS timed 83 and 85,
    70 and 66, 81 and 86 GFLOP/s at one thread, and once 67 and 79)."""
    challenger = _choose(seconds, rule)
    if rule not in seconds or challenger == rule:
        return seconds
    again = _time_in_turns([rule, challenger], shapes, small)
    return {name: min(value, again.get(name, value)) for name, value in seconds.items()}


def _measured_choice(candidates, by_rule, numpy_blas):
    """{"large": ..., "small": ..., "report": ...} for float32 from the cache
    or from timing the candidates now; None where measuring is off, there is
    nothing to choose between, or no cache can be written."""
    import json
    import time

    path = _gemm_cache.cache_path()
    if path is None or len(candidates) < 2:
        return None
    key = json.dumps({
        "cpu": _gemm_cache.cpu_name(), "isa": isa_active(), "candidates": sorted(candidates),
        "blis": blis_arch(), "numpy_blas": numpy_blas, "numpy_threads": numpy_blas_threads(),
        "threads": parallel_num_threads(), "sizes": sorted(MEASURED_SHAPES),
        "method": MEASURE_METHOD,
    }, sort_keys=True)
    # One process times at a time (Ray's or multiprocessing's workers start
    # together: timed at once, each would see half the machine); the others
    # wait, then read what it stored.
    with _gemm_cache.exclusive(path):
        cache = _gemm_cache.load(path)
        entry = cache.get(key)
        stored = isinstance(entry, dict) and all(entry.get(size) in candidates
                                                 for size in ("large", "small"))
        if stored and not _gemm_cache.retime_due(entry, time.time()):
            return {"large": entry["large"], "small": entry["small"],
                    "report": {**entry.get("report", {}), "from": f"cache {path}"}}
        before = _gemm_cache.sample_cpu()
        seconds = {}
        for size, shapes in MEASURED_SHAPES.items():
            small = size == "small"
            timed = [c for c in candidates if not small or c in SMALL_CANDIDATES or c == by_rule[size]]
            seconds[size] = _confirmed(_time_in_turns(timed, shapes, small), by_rule[size], shapes, small)
        share = _gemm_cache.others_share(before, _gemm_cache.sample_cpu())
        # A busy timing is timed again later: each candidate keeps its best.
        timings = 1
        if stored:
            seconds = _gemm_cache.best_seconds(entry.get("seconds"), seconds)
            timings += entry["timings"] if isinstance(entry.get("timings"), int) else 0
        choice = {}
        rates = {}
        for size, shapes in MEASURED_SHAPES.items():
            flops = sum(2.0 * s[0] * s[1] * s[2] for s in shapes)
            rates[size] = {_describe(c, numpy_blas): float(f"{flops / t / 1e9:.4g}")
                           for c, t in seconds[size].items()}
            choice[size] = _choose(seconds[size], by_rule[size])
            if stored:
                choice[size] = _gemm_cache.kept_choice(entry[size], choice[size], seconds[size])
        busy = share is not None and share > _gemm_cache.BUSY_SHARE
        report = {"gflops": rates, "shapes": {k: [list(s) for s in v] for k, v in MEASURED_SHAPES.items()},
                  "others_share": None if share is None else round(share, 3), "timings": timings}
        if busy and timings < _gemm_cache.MAX_TIMINGS:
            report["busy"] = (f"other processes used {share:.0%} of this process's CPUs during "
                              f"the timing: a later process times again, each candidate keeping "
                              f"its best (timing {timings} of at most {_gemm_cache.MAX_TIMINGS})")
        cache[key] = {"large": choice["large"], "small": choice["small"], "report": report,
                      "seconds": seconds, "busy": busy, "timings": timings, "timed_at": time.time()}
        if not _gemm_cache.store(path, cache):
            return None  # no cache: every process would measure, and might choose differently
    return {"large": choice["large"], "small": choice["small"], "report": {**report, "from": "measured now"}}


def _over_thread_budget(candidates, rule_choice: str):
    """Why numpy's BLAS is left out of the float32 timing, or None (see
    _thread_budget_note), from this process's settings."""
    return _thread_budget_note(candidates, rule_choice, parallel_requested_threads(),
                               numpy_blas_threads(), parallel_num_threads())


def _thread_budget_note(candidates, rule_choice: str, asked: int, numpy_threads: int,
                        own_threads: int):
    """Why numpy's BLAS is left out of the float32 timing, or None. Its
    OpenBLAS runs its own thread count (OPENBLAS_NUM_THREADS); where that is
    more than THINC_NUM_THREADS (`asked`, as the pool reads it: 0 where unset or
    not a positive integer) allows thinc's pool, timing would pit
    its threads against fewer of ours, and winning would put thinc's products
    on more cores than the user allowed (THINC_NUM_THREADS=1 beside OpenBLAS's
    default of one per CPU). Only a count the user asked for is a budget: the
    pool's own default stops at 8 threads, where OpenBLAS may rightly run one
    per CPU. numpy's BLAS still runs where the rule picks it (no other good
    candidate on the CPU) and where THINC_BLAS=numpy forces it."""
    if "numpy" not in candidates or rule_choice == "numpy" or len(candidates) < 2:
        return None
    if asked <= 0 or numpy_threads <= own_threads:
        return None
    return (f"numpy's BLAS: its {numpy_threads} threads (OPENBLAS_NUM_THREADS) are more than "
            f"thinc's {own_threads} (THINC_NUM_THREADS)")


def _small_here(forced: str, small: str) -> bool:
    """Whether small products run the own kernel kept off the thread pool
    (a forced choice runs every size as the large ones do)."""
    return not forced and small == "thinc"


def _route_everything_to_loops() -> None:
    global _decided, _sgemm_small, _sgemm_large, _dgemm_small, _dgemm_large, _few_rows_own, _reduced
    _few_rows_own = False
    _reduced = REDUCED_NONE
    _sgemm_small = _sgemm_large = loop_sgemm
    _dgemm_small = _dgemm_large = loop_dgemm
    _report.clear()
    _report.update({"forced": None, "small_gemm": 0, "precision": "float32",
                    "float32": {"small": "plain loops", "large": "plain loops", "refused": {}},
                    "float64": {"small": "plain loops", "large": "plain loops", "refused": {}}})
    _decided = True


def configure_gemm(blas=..., small_gemm=..., precision=...) -> None:
    """Forces the gemm choice for this process (tests and benchmarks): blas is
    one of "thinc", "blis", "numpy", "" (choose as if THINC_BLAS were unset) or
    None (read THINC_BLAS again); small_gemm is the size (multiply-adds) below
    which products count as small, or None (read THINC_SMALL_GEMM); precision
    is "float32", "bf16" (where the CPU has AVX-512 BF16), "int8" (where it
    has AVX-512 VNNI or AVX-VNNI) or None (read THINC_GEMM_PRECISION)."""
    global _blas_override, _small_gemm_override, _precision_override, _decided
    if precision is not ...:
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS} or None, not {precision!r}")
        _precision_override = precision
    if blas is not ...:
        if blas is not None and blas not in BLAS_CHOICES + ("",):
            raise ValueError(f"blas must be one of {BLAS_CHOICES}, '' or None, not {blas!r}")
        _blas_override = blas
    if small_gemm is not ...:
        if small_gemm is not None and (not isinstance(small_gemm, int) or small_gemm < 0):
            raise ValueError(f"small_gemm must be a non-negative int or None, not {small_gemm!r}")
        _small_gemm_override = small_gemm
    _decided = False


def gemm_paths() -> dict:
    """What gemm runs for each dtype: {"float32": {"small": ..., "large": ...,
    "refused": {...}}, "float64": ..., "forced": ..., "small_gemm": ...}."""
    if not _decided:
        _decide()
    return {key: (dict(value) if isinstance(value, dict) else value) for key, value in _report.items()}


def gemm_description() -> str:
    """One line naming what gemm runs on, per dtype."""
    paths = gemm_paths()
    parts = []
    for dtype in ("float32", "float64"):
        entry = paths[dtype]
        text = f"{dtype}: {entry['large']}"
        if entry["small"] != entry["large"]:
            text += f" (below {paths['small_gemm']} multiply-adds: {entry['small']})"
        parts.append(text)
    precision = paths.get("precision", "float32")
    if precision.startswith("bf16"):
        parts.append("operands rounded to bfloat16")
    elif precision.startswith("int8"):
        parts.append("operands quantized to int8")
    return "; ".join(parts)


# ---------------------------------------------------------------------------
# Instruction-set level and thread split of this module's kernels (thinc's
# gemm); numpy_ops has the same pair for its own kernels, and
# thinc.backends.dispatch sets both.

def _set_isa_limit(int level) -> None:
    global _decided
    isa_set_limit(level)
    _decided = False  # the own kernel may have come or gone


def _set_grain_override(int64_t grain) -> None:
    parallel_set_grain_override(grain)


def own_sgemm_is_available() -> bool:
    """Whether thinc's own float32 gemm kernel can run (AVX2 and FMA, at the
    active instruction-set level)."""
    return own_sgemm_available()


def _use_bf16_tiles(enabled: bool) -> None:
    """Testing hook: with enabled False, bf16 products run on the AVX-512 BF16
    kernel even where the CPU has AMX tiles."""
    global _decided
    bf16_amx_disable(not enabled)
    _decided = False  # the report names the kernel


def bf16_tiles_available() -> bool:
    """Whether bf16 products can run on AMX tiles here (CPU and OS)."""
    return bf16_amx()


def _few_rows_l3_refeeds() -> bool:
    """Whether the few-rows kernels take op(B) = B of any size at the AVX-512
    level on this CPU (AMD: B read again from L3 costs less than packing it)."""
    return few_rows_l3_refeeds()


def _few_rows_takes(int64_t M, int64_t N, int64_t K, bint trans_b) -> bool:
    """Whether a float32 product of this shape goes to the few-rows kernels
    (when thinc's own kernel is in use): for tests."""
    return few_rows_takes(M, N, K, trans_b)


def bf16_min_rows() -> int:
    """Products with fewer rows in op(A) stay float32 under THINC_GEMM_PRECISION=bf16
    (16 on AMX tiles, 12 on AVX-512 BF16 vectors)."""
    return bf16_rows_needed()


def bf16_available_here() -> bool:
    """Whether THINC_GEMM_PRECISION=bf16 takes effect here (AVX-512 BF16 at the active level)."""
    return bf16_available()


def int8_limits() -> tuple:
    """(fewest rows of op(A), deepest K) of the products THINC_GEMM_PRECISION=int8 quantizes."""
    return INT8_MIN_ROWS, INT8_MAX_K


def _use_int8_tiles(enabled: bool) -> None:
    """Testing hook: with enabled False, int8 products run on the AVX-512 VNNI
    kernel even where the CPU has AMX-INT8 tiles."""
    global _decided
    int8_amx_disable(not enabled)
    _decided = False  # the report names the kernel


def int8_tiles_available() -> bool:
    """Whether int8 products can run on AMX tiles here (CPU and OS)."""
    return int8_amx()


def int8_vector_kernels() -> tuple:
    """The int8 vector kernels this CPU can run, each at the level it needs:
    "avx512-vnni" (AVX-512), "avx-vnni" (AVX2; tests force it with THINC_ISA)."""
    kernels = []
    if int8_cpu_512() and isa_cpu_level() >= 2:
        kernels.append("avx512-vnni")
    if int8_cpu_256() and isa_cpu_level() >= 1:
        kernels.append("avx-vnni")
    return tuple(kernels)


def int8_available_here() -> bool:
    """Whether THINC_GEMM_PRECISION=int8 takes effect here (AVX-512 VNNI at the
    AVX-512 level, or AVX-VNNI at AVX2 or above)."""
    return int8_available()


def _use_own_sgemm(enabled: bool, single_threaded: bool = False) -> bool:
    """Testing and benchmark hook: forces float32 gemm onto thinc's own kernel
    (enabled) or back to the unforced choice; returns whether it was forced."""
    previous = _blas_override == "thinc"
    configure_gemm(blas="thinc" if enabled and own_sgemm_available() else None)
    own_sgemm_set_single_threaded(single_threaded)
    return previous


parallel_initialize()
