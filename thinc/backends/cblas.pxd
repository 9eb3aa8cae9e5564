# The BLAS function table that compiled modules (thinc's and spaCy's) cimport.
# Binary interface fixed by thinc 8.3: pointer typedefs, an opaque struct, a
# class holding one shared_ptr, and free accessor functions (no vtable).
from libcpp.memory cimport shared_ptr

ctypedef void (*sgemm_ptr)(bint transA, bint transB, int M, int N, int K,
                           float alpha, const float* A, int lda, const float* B,
                           int ldb, float beta, float* C, int ldc) noexcept nogil

ctypedef void (*saxpy_ptr)(int N, float alpha, const float* X, int incX,
                           float* Y, int incY) noexcept nogil

ctypedef void (*daxpy_ptr)(int N, double alpha, const double* X, int incX,
                           double* Y, int incY) noexcept nogil

# Opaque on purpose: users see only the accessors, so fields may be added.
cdef struct BlasFuncs


cdef class CBlas:
    cdef shared_ptr[BlasFuncs] ptr


cdef daxpy_ptr daxpy(CBlas cblas) noexcept nogil
cdef saxpy_ptr saxpy(CBlas cblas) noexcept nogil
cdef sgemm_ptr sgemm(CBlas cblas) noexcept nogil
cdef void set_daxpy(CBlas cblas, daxpy_ptr daxpy) noexcept nogil
cdef void set_saxpy(CBlas cblas, saxpy_ptr saxpy) noexcept nogil
cdef void set_sgemm(CBlas cblas, sgemm_ptr sgemm) noexcept nogil

# Row-major gemm through whichever BLAS this process chose at import
# (C = alpha * op(A) @ op(B) + beta * C); used by NumpyOps directly.
cdef void gemm_f32(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   float alpha, const float* A, Py_ssize_t lda, const float* B,
                   Py_ssize_t ldb, float beta, float* C, Py_ssize_t ldc) noexcept nogil
cdef void gemm_f64(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                   double alpha, const double* A, Py_ssize_t lda, const double* B,
                   Py_ssize_t ldb, double beta, double* C, Py_ssize_t ldc) noexcept nogil
# C = A @ op(B) as gemm_f32 computes it, for an A whose rows may overlap
# (lda < K: a window of rows read in place); False, and C untouched, where
# gemm_f32 would not run thinc's own kernel: the caller then copies A.
cdef bint gemm_f32_rows_overlapping(bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                                    const float* A, Py_ssize_t lda, const float* B, Py_ssize_t ldb,
                                    float* C, Py_ssize_t ldc) noexcept nogil
# C = op(A) @ op(B) + bias (a row of N values added to every row of C).
cdef void affine_f32(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     const float* A, Py_ssize_t lda, const float* B, Py_ssize_t ldb,
                     const float* bias, float* C, Py_ssize_t ldc) noexcept nogil
cdef void affine_f64(bint transA, bint transB, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                     const double* A, Py_ssize_t lda, const double* B, Py_ssize_t ldb,
                     const double* bias, double* C, Py_ssize_t ldc) noexcept nogil
