// Gradient increments: dst += src where src is any strided view of dst's
// shape (a transposed weight gradient, say). numpy buffers such a view
// through a copy before adding; here the loops follow src's memory order.
#pragma once
#include <cstdint>

namespace thinc_kernels {

// Axes are given outermost first; the last one is the innermost loop.
// Strides are in elements and may be zero or negative.
template <class T>
void add_strided(T* dst, const T* src, int ndim, const int64_t* shape, const int64_t* dst_strides,
                 const int64_t* src_strides) {
    if (ndim <= 0) {
        *dst += *src;
        return;
    }
    const int64_t n = shape[ndim - 1];
    const int64_t ds = dst_strides[ndim - 1], ss = src_strides[ndim - 1];
    int64_t index[64] = {0};  // of the outer axes; numpy has at most 64
    for (;;) {
        if (ds == 1 && ss == 1) {
            for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
        } else {
            for (int64_t i = 0; i < n; ++i) dst[i * ds] += src[i * ss];
        }
        // Next outer index, carrying from the innermost outer axis.
        int axis = ndim - 2;
        for (; axis >= 0; --axis) {
            dst += dst_strides[axis];
            src += src_strides[axis];
            if (++index[axis] < shape[axis]) break;
            dst -= dst_strides[axis] * shape[axis];
            src -= src_strides[axis] * shape[axis];
            index[axis] = 0;
        }
        if (axis < 0) return;
    }
}

}  // namespace thinc_kernels
