// y += alpha * x for the BLAS table's saxpy and daxpy entries. spaCy's parser
// calls saxpy once per feature of every state at every step, on rows of 64 to
// 400 floats: a library call's dispatch (blis looks its context up and checks
// its arguments each time) cost more than the arithmetic, so the loop is ours.
#pragma once
#include <cstdint>

#include "thinc_isa.hh"

namespace thinc_axpy {

typedef int64_t index_t;

THINC_INLINE float fused_multiply_add(float a, float x, float y) {
    return __builtin_fmaf(a, x, y);
}
THINC_INLINE double fused_multiply_add(double a, double x, double y) {
    return __builtin_fma(a, x, y);
}

// One rounding per element (a fused multiply-add) at every level, so the
// bits do not depend on the level; alpha == 0 leaves y alone, NaN in x
// included, as BLAS does. Strides count from the pointers given, as blis's
// own interface has them (negative ones walk backwards from there).
template <typename T>
THINC_INLINE void axpy_body(index_t n, T alpha, const T* x, index_t incx, T* y, index_t incy) {
    if (n <= 0 || alpha == T(0)) return;
    if (incx == 1 && incy == 1) {
        for (index_t i = 0; i < n; ++i) y[i] = fused_multiply_add(alpha, x[i], y[i]);
        return;
    }
    for (index_t i = 0; i < n; ++i) y[i * incy] = fused_multiply_add(alpha, x[i * incx], y[i * incy]);
}

THINC_ISA_VARIANTS(inline void, saxpy,
                   (index_t n, float alpha, const float* x, index_t incx, float* y, index_t incy),
                   axpy_body<float>(n, alpha, x, incx, y, incy))
THINC_ISA_DISPATCH(saxpy)

THINC_ISA_VARIANTS(inline void, daxpy,
                   (index_t n, double alpha, const double* x, index_t incx, double* y, index_t incy),
                   axpy_body<double>(n, alpha, x, incx, y, incy))
THINC_ISA_DISPATCH(daxpy)

}  // namespace thinc_axpy
