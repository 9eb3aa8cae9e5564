// Fused layer kernels behind NumpyOps' private layer ops: LayerNorm forward and
// backward in one sweep per row, and Maxout's bias + max over pieces. Callers validate.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "thinc_isa.hh"
#include "thinc_rows.hh"

namespace thinc_norm {

typedef int64_t index_t;

// Rows of maxout's piece gradients written per pass before they are summed
// into db: about 16 KB of them, well inside L1.
constexpr index_t MAXOUT_BACKWARD_CHUNK_BYTES = index_t(1) << 14;

// Eight independent partial sums: the compiler keeps them in one vector register
// without being allowed to reorder a single running sum.
constexpr index_t LANES = 8;

template <typename T>
THINC_INLINE T lane_total(const T* partial) {
    return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
           ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

template <typename T>
THINC_INLINE T row_sum(const T* x, index_t n) {
    T partial[LANES] = {0, 0, 0, 0, 0, 0, 0, 0};
    index_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (index_t k = 0; k < LANES; ++k) partial[k] += x[i + k];
    T total = lane_total(partial);
    for (; i < n; ++i) total += x[i];
    return total;
}

template <typename T>
THINC_INLINE T row_squared_deviation(const T* x, T center, index_t n) {
    T partial[LANES] = {0, 0, 0, 0, 0, 0, 0, 0};
    index_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (index_t k = 0; k < LANES; ++k) {
            T d = x[i + k] - center;
            partial[k] += d * d;
        }
    T total = lane_total(partial);
    for (; i < n; ++i) {
        T d = x[i] - center;
        total += d * d;
    }
    return total;
}

// The row is read from memory once; the mean and the variance passes (two, for
// accuracy when the mean dwarfs the spread) and the output pass re-read it from L1.
template <typename T>
THINC_INLINE void layer_norm_forward_impl(const T* __restrict__ X, const T* __restrict__ G,
                                          const T* __restrict__ b, T* __restrict__ Y, T* __restrict__ mean,
                                          T* __restrict__ inverse_std, index_t rows, index_t cols,
                                          T epsilon) {
    for (index_t r = 0; r < rows; ++r) {
        const T* x = X + r * cols;
        T* y = Y + r * cols;
        T m = cols ? row_sum(x, cols) / static_cast<T>(cols) : T(0);
        T variance = cols ? row_squared_deviation(x, m, cols) / static_cast<T>(cols) : T(0);
        T scale = T(1) / std::sqrt(variance + epsilon);
        for (index_t j = 0; j < cols; ++j) y[j] = ((x[j] - m) * scale) * G[j] + b[j];
        mean[r] = m;
        inverse_std[r] = scale;
    }
}

// Columns [begin, cols) of a row's first backward pass, one at a time, after
// the eight-lane part; and the second pass over [begin, cols). Plain inline,
// not forced: the vector version below (fp-contract off) calls them out of
// line, where the baseline target has no FMA to fuse them into.
template <typename T>
inline void layer_norm_backward_first_tail(const T* dy, const T* x, const T* G, T m, T scale, T* dx, T* dG,
                                           T* db, index_t begin, index_t cols, T& sum, T& projection) {
    for (index_t j = begin; j < cols; ++j) {
        T normalized = (x[j] - m) * scale;
        T d_normalized = dy[j] * G[j];
        dx[j] = d_normalized;
        sum += d_normalized;
        projection += d_normalized * normalized;
        dG[j] += dy[j] * normalized;
        db[j] += dy[j];
    }
}

template <typename T>
inline void layer_norm_backward_second_pass(const T* x, T m, T scale, T d_mean, T d_projection, T* dx,
                                            index_t begin, index_t cols) {
    for (index_t j = begin; j < cols; ++j) {
        T normalized = (x[j] - m) * scale;
        // dx holds the rounded dY * G: recomputing it here could be fused into
        // the subtraction and leave rounding noise where the terms cancel.
        dx[j] = ((dx[j] - d_mean) - normalized * d_projection) * scale;
    }
}

// dG and db are accumulated into (the caller zeroes them); dX is overwritten.
// Both row statistics depend on every entry, hence the two row-wide sums.
template <typename T>
THINC_INLINE void layer_norm_backward_impl(const T* __restrict__ dY, const T* __restrict__ X,
                                           const T* __restrict__ G, const T* __restrict__ mean,
                                           const T* __restrict__ inverse_std, T* __restrict__ dX,
                                           T* __restrict__ dG, T* __restrict__ db, index_t rows,
                                           index_t cols) {
    // The outputs never overlap the inputs (the caller allocates them), and saying
    // so is what lets the compiler vectorize the dG and db updates.
    const T inverse_cols = cols ? T(1) / static_cast<T>(cols) : T(0);
    for (index_t r = 0; r < rows; ++r) {
        const T* dy = dY + r * cols;
        const T* x = X + r * cols;
        T* dx = dX + r * cols;
        const T m = mean[r];
        const T scale = inverse_std[r];
        T sum_partial[LANES] = {0, 0, 0, 0, 0, 0, 0, 0};
        T projection_partial[LANES] = {0, 0, 0, 0, 0, 0, 0, 0};
        index_t j = 0;
        for (; j + LANES <= cols; j += LANES)
            for (index_t k = 0; k < LANES; ++k) {
                T normalized = (x[j + k] - m) * scale;
                T d_normalized = dy[j + k] * G[j + k];
                dx[j + k] = d_normalized;
                sum_partial[k] += d_normalized;
                projection_partial[k] += d_normalized * normalized;
                dG[j + k] += dy[j + k] * normalized;
                db[j + k] += dy[j + k];
            }
        T sum = lane_total(sum_partial);
        T projection = lane_total(projection_partial);
        layer_norm_backward_first_tail(dy, x, G, m, scale, dx, dG, db, j, cols, sum, projection);
        layer_norm_backward_second_pass(x, m, scale, sum * inverse_cols, projection * inverse_cols, dx, 0,
                                        cols);
    }
}

THINC_INLINE void layer_norm_forward_body(const float* X, const float* G, const float* b, float* Y,
                                          float* mean, float* inverse_std, index_t rows, index_t cols,
                                          float epsilon) {
    layer_norm_forward_impl<float>(X, G, b, Y, mean, inverse_std, rows, cols, epsilon);
}
THINC_ISA_VARIANTS(static void, layer_norm_forward,
                   (const float* X, const float* G, const float* b, float* Y, float* mean, float* inverse_std,
                    index_t rows, index_t cols, float epsilon),
                   layer_norm_forward_body(X, G, b, Y, mean, inverse_std, rows, cols, epsilon))
THINC_INLINE void layer_norm_forward_body(const double* X, const double* G, const double* b, double* Y,
                                          double* mean, double* inverse_std, index_t rows, index_t cols,
                                          double epsilon) {
    layer_norm_forward_impl<double>(X, G, b, Y, mean, inverse_std, rows, cols, epsilon);
}
THINC_ISA_VARIANTS(static void, layer_norm_forward,
                   (const double* X, const double* G, const double* b, double* Y, double* mean,
                    double* inverse_std, index_t rows, index_t cols, double epsilon),
                   layer_norm_forward_body(X, G, b, Y, mean, inverse_std, rows, cols, epsilon))
THINC_ISA_DISPATCH(layer_norm_forward)
#if defined(THINC_ISA_X86)
// layer_norm_backward_impl for float32 written out with AVX2 vectors: the
// same operations in the same order (eight partial sums, lane_total's tree,
// no fused multiply-adds), so the same bits. GCC's own vectorisation of the
// eight-lane sums extracted lanes and spilled: 1.1 ns an element.
THINC_TARGET_AVX2 THINC_NO_FP_CONTRACT inline void layer_norm_backward_vectors(
    const float* __restrict__ dY, const float* __restrict__ X, const float* __restrict__ G,
    const float* __restrict__ mean, const float* __restrict__ inverse_std, float* __restrict__ dX,
    float* __restrict__ dG, float* __restrict__ db, index_t rows, index_t cols) {
    static_assert(LANES == 8, "one AVX2 vector holds the eight partial sums");
    const float inverse_cols = cols ? 1.0f / static_cast<float>(cols) : 0.0f;
    const index_t full = cols / LANES * LANES;
    for (index_t r = 0; r < rows; ++r) {
        const float* dy = dY + r * cols;
        const float* x = X + r * cols;
        float* dx = dX + r * cols;
        const float m = mean[r];
        const float scale = inverse_std[r];
        const __m256 center = _mm256_set1_ps(m), factor = _mm256_set1_ps(scale);
        __m256 sums = _mm256_setzero_ps(), projections = _mm256_setzero_ps();
        for (index_t j = 0; j < full; j += LANES) {
            __m256 gradient = _mm256_loadu_ps(dy + j);
            __m256 normalized = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), center), factor);
            __m256 d_normalized = _mm256_mul_ps(gradient, _mm256_loadu_ps(G + j));
            _mm256_storeu_ps(dx + j, d_normalized);
            sums = _mm256_add_ps(sums, d_normalized);
            projections = _mm256_add_ps(projections, _mm256_mul_ps(d_normalized, normalized));
            _mm256_storeu_ps(dG + j,
                             _mm256_add_ps(_mm256_loadu_ps(dG + j), _mm256_mul_ps(gradient, normalized)));
            _mm256_storeu_ps(db + j, _mm256_add_ps(_mm256_loadu_ps(db + j), gradient));
        }
        alignas(32) float sum_partial[LANES], projection_partial[LANES];
        _mm256_store_ps(sum_partial, sums);
        _mm256_store_ps(projection_partial, projections);
        float sum = lane_total(sum_partial);
        float projection = lane_total(projection_partial);
        layer_norm_backward_first_tail(dy, x, G, m, scale, dx, dG, db, full, cols, sum, projection);
        const float d_mean = sum * inverse_cols;
        const float d_projection = projection * inverse_cols;
        const __m256 shift = _mm256_set1_ps(d_mean), tilt = _mm256_set1_ps(d_projection);
        index_t j = 0;
        for (; j < full; j += LANES) {
            __m256 normalized = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + j), center), factor);
            __m256 centered = _mm256_sub_ps(_mm256_loadu_ps(dx + j), shift);
            _mm256_storeu_ps(dx + j,
                             _mm256_mul_ps(_mm256_sub_ps(centered, _mm256_mul_ps(normalized, tilt)), factor));
        }
        layer_norm_backward_second_pass(x, m, scale, d_mean, d_projection, dx, j, cols);
    }
}
#endif

THINC_INLINE void layer_norm_backward_body(const float* dY, const float* X, const float* G, const float* mean,
                                           const float* inverse_std, float* dX, float* dG, float* db,
                                           index_t rows, index_t cols) {
#if defined(THINC_ISA_X86)
    if (thinc_isa::active() >= thinc_isa::AVX2)
        return layer_norm_backward_vectors(dY, X, G, mean, inverse_std, dX, dG, db, rows, cols);
#endif
    layer_norm_backward_impl<float>(dY, X, G, mean, inverse_std, dX, dG, db, rows, cols);
}
THINC_ISA_VARIANTS(static void, layer_norm_backward,
                   (const float* dY, const float* X, const float* G, const float* mean,
                    const float* inverse_std, float* dX, float* dG, float* db, index_t rows, index_t cols),
                   layer_norm_backward_body(dY, X, G, mean, inverse_std, dX, dG, db, rows, cols))
THINC_INLINE void layer_norm_backward_body(const double* dY, const double* X, const double* G,
                                           const double* mean, const double* inverse_std, double* dX,
                                           double* dG, double* db, index_t rows, index_t cols) {
    layer_norm_backward_impl<double>(dY, X, G, mean, inverse_std, dX, dG, db, rows, cols);
}
THINC_ISA_VARIANTS(static void, layer_norm_backward,
                   (const double* dY, const double* X, const double* G, const double* mean,
                    const double* inverse_std, double* dX, double* dG, double* db, index_t rows,
                    index_t cols),
                   layer_norm_backward_body(dY, X, G, mean, inverse_std, dX, dG, db, rows, cols))
THINC_ISA_DISPATCH(layer_norm_backward)

// pieces is (rows, nO * nP) straight from the gemm; the bias is added first so
// the winner and its value are exactly those of affine() followed by maxout().
// which may be null when only the values are wanted (inference). NaN_AWARE
// picks replaces_max's rule (a NaN wins); the plain `>` pass, which the
// compiler vectorises, reports whether it met a NaN, and only then is the
// NaN-aware pass run over the same rows (see maxout_bias_impl).
template <typename T, int P, bool NAN_AWARE>
THINC_INLINE bool maxout_bias_fixed(const T* pieces, const T* b, T* best, int32_t* which, index_t rows,
                                    index_t nO) {
    int nan_seen = 0;
    for (index_t r = 0; r < rows; ++r) {
        const T* z = pieces + r * nO * P;
        T* out = best + r * nO;
        int32_t* arg_out = which ? which + r * nO : nullptr;
        for (index_t o = 0; o < nO; ++o) {
            T top = z[o * P] + b[o * P];
            nan_seen |= top != top;
            int32_t arg = 0;
            for (int p = 1; p < P; ++p) {
                T value = z[o * P + p] + b[o * P + p];
                nan_seen |= value != value;
                bool better = NAN_AWARE ? thinc_kernels::replaces_max(value, top) : value > top;
                top = better ? value : top;
                arg = better ? p : arg;
            }
            out[o] = top;
            if (arg_out) arg_out[o] = arg;
        }
    }
    return nan_seen != 0;
}

template <typename T, int P>
THINC_INLINE void maxout_bias_pieces(const T* pieces, const T* b, T* best, int32_t* which, index_t rows,
                                     index_t nO) {
    if (maxout_bias_fixed<T, P, false>(pieces, b, best, which, rows, nO))
        maxout_bias_fixed<T, P, true>(pieces, b, best, which, rows, nO);
}

template <typename T>
THINC_INLINE void maxout_bias_impl(const T* pieces, const T* b, T* best, int32_t* which, index_t rows,
                                   index_t nO, index_t nP) {
    // The common piece counts get a fixed trip count the compiler can unroll.
    if (nP == 2) return maxout_bias_pieces<T, 2>(pieces, b, best, which, rows, nO);
    if (nP == 3) return maxout_bias_pieces<T, 3>(pieces, b, best, which, rows, nO);
    if (nP == 4) return maxout_bias_pieces<T, 4>(pieces, b, best, which, rows, nO);
    for (index_t r = 0; r < rows; ++r) {
        const T* z = pieces + r * nO * nP;
        for (index_t o = 0; o < nO; ++o) {
            T top = z[o * nP] + b[o * nP];
            int32_t arg = 0;
            for (index_t p = 1; p < nP; ++p) {
                T value = z[o * nP + p] + b[o * nP + p];
                if (thinc_kernels::replaces_max(value, top)) {
                    top = value;
                    arg = static_cast<int32_t>(p);
                }
            }
            best[r * nO + o] = top;
            if (which) which[r * nO + o] = arg;
        }
    }
}

#if defined(THINC_ISA_X86)
// One piece of 16 units from the P vectors that hold them (see maxout_bias_wide).
template <int P>
THINC_TARGET_AVX512 THINC_INLINE __m512 maxout_piece(const __m512* sums, __m512i low, __m512i high,
                                                     __mmask16 upper) {
    __m512 value = _mm512_permutex2var_ps(sums[0], low, sums[1]);
    if (P == 3) value = _mm512_mask_permutexvar_ps(value, upper, high, sums[2 % P]);
    if (P == 4)
        value = _mm512_mask_mov_ps(value, upper, _mm512_permutex2var_ps(sums[2 % P], high, sums[3 % P]));
    return value;
}

// Sixteen units at a time on AVX-512 for 2 to 4 pieces: the P vectors that
// hold their pieces (bias added in place, both interleaved alike) are
// deinterleaved by permutes, piece p of unit o being element o * P + p. The
// compiler's own vectorisation of maxout_bias_fixed deinterleaves the pieces
// and the bias apart, twice the permutes: 455 x 96 x 3 without winners took
// 23 us there, 12 us here (with winners both are bound by the L2 stores).
// Same comparisons, so the same values and winners; a NaN anywhere sends the
// block to the NaN-aware pass, as there. The units past the last 16 go to
// maxout_bias_pieces.
template <int P>
THINC_TARGET_AVX512 void maxout_bias_wide(const float* pieces, const float* b, float* best, int32_t* which,
                                          index_t rows, index_t nO) {
    static_assert(P >= 2 && P <= 4, "two to four pieces");
    // For piece p and unit lane o: element o * P + p of the 16 * P, taken
    // from the first pair of vectors (low) or from the rest (high, where
    // `upper` has the lane).
    __m512i low[P], high[P];
    __mmask16 upper[P];
    for (int p = 0; p < P; ++p) {
        alignas(64) int32_t low_index[16], high_index[16];
        upper[p] = 0;
        for (int o = 0; o < 16; ++o) {
            int element = o * P + p;
            low_index[o] = element & 31;
            high_index[o] = (element - 32) & 31;
            if (element >= 32) upper[p] = static_cast<__mmask16>(upper[p] | (1u << o));
        }
        low[p] = _mm512_load_si512(low_index);
        high[p] = _mm512_load_si512(high_index);
    }
    const index_t full = nO / 16 * 16;
    __mmask16 nan_seen = 0;
    for (index_t r = 0; r < rows; ++r) {
        const float* z = pieces + r * nO * P;
        float* out = best + r * nO;
        int32_t* arg_out = which ? which + r * nO : nullptr;
        for (index_t o = 0; o < full; o += 16) {
            __m512 sums[P];
            for (int k = 0; k < P; ++k) {
                sums[k] =
                    _mm512_add_ps(_mm512_loadu_ps(z + o * P + 16 * k), _mm512_loadu_ps(b + o * P + 16 * k));
                nan_seen =
                    static_cast<__mmask16>(nan_seen | _mm512_cmp_ps_mask(sums[k], sums[k], _CMP_UNORD_Q));
            }
            __m512 top = maxout_piece<P>(sums, low[0], high[0], upper[0]);
            __m512i arg = _mm512_setzero_si512();
            for (int p = 1; p < P; ++p) {
                __m512 value = maxout_piece<P>(sums, low[p], high[p], upper[p]);
                __mmask16 better = _mm512_cmp_ps_mask(value, top, _CMP_GT_OQ);
                top = _mm512_mask_mov_ps(top, better, value);
                arg = _mm512_mask_mov_epi32(arg, better, _mm512_set1_epi32(p));
            }
            _mm512_storeu_ps(out + o, top);
            if (arg_out) _mm512_storeu_si512(arg_out + o, arg);
        }
    }
    if (nan_seen) {
        maxout_bias_fixed<float, P, true>(pieces, b, best, which, rows, nO);
        return;
    }
    if (full == nO) return;
    // The remaining units of every row, as a (rows, nO - full) block with row strides.
    for (index_t r = 0; r < rows; ++r)
        maxout_bias_pieces<float, P>(pieces + r * nO * P + full * P, b + full * P, best + r * nO + full,
                                     which ? which + r * nO + full : nullptr, 1, nO - full);
}
#endif

THINC_INLINE void maxout_bias_body(const float* pieces, const float* b, float* best, int32_t* which,
                                   index_t rows, index_t nO, index_t nP) {
#if defined(THINC_ISA_X86)
    if (nO >= 16 && thinc_isa::active() >= thinc_isa::AVX512) {
        if (nP == 2) return maxout_bias_wide<2>(pieces, b, best, which, rows, nO);
        if (nP == 3) return maxout_bias_wide<3>(pieces, b, best, which, rows, nO);
        if (nP == 4) return maxout_bias_wide<4>(pieces, b, best, which, rows, nO);
    }
#endif
    maxout_bias_impl<float>(pieces, b, best, which, rows, nO, nP);
}
THINC_ISA_VARIANTS(static void, maxout_bias,
                   (const float* pieces, const float* b, float* best, int32_t* which, index_t rows,
                    index_t nO, index_t nP),
                   maxout_bias_body(pieces, b, best, which, rows, nO, nP))
THINC_INLINE void maxout_bias_body(const double* pieces, const double* b, double* best, int32_t* which,
                                   index_t rows, index_t nO, index_t nP) {
    maxout_bias_impl<double>(pieces, b, best, which, rows, nO, nP);
}
THINC_ISA_VARIANTS(static void, maxout_bias,
                   (const double* pieces, const double* b, double* best, int32_t* which, index_t rows,
                    index_t nO, index_t nP),
                   maxout_bias_body(pieces, b, best, which, rows, nO, nP))
THINC_ISA_DISPATCH(maxout_bias)

// Maxout's backward up to the two gemms: the dense gradient of the pieces, every
// entry written (so it needs no zeroed allocation), and the bias gradient added
// into db. Returns the position of the first out-of-range winner (nothing
// written then), or -1. The winners are checked once, up front; the pieces
// come from the public backprop_maxout's branch-free fill (a branch on the
// random winner mispredicted on most units: 9 ns a unit), a chunk of rows at a
// time, whose column sums then go into db while the chunk is still in L1. The
// zeros that the losing pieces add leave every sum's bits as adding the
// winners alone would (db starts from +0.0).
template <typename T>
THINC_INLINE index_t maxout_backward_pieces_impl(const T* __restrict__ d_best,
                                                 const int32_t* __restrict__ which, T* __restrict__ d_pieces,
                                                 T* __restrict__ db, index_t rows, index_t nO, index_t nP) {
    const index_t width = nO * nP;
    index_t bad = thinc_kernels::first_bad_piece(which, rows * nO, nP);
    if (bad >= 0) return bad;
    // No pieces (nO = 0; nP = 0 with units left a winner out of range above):
    // nothing to write, and the chunk size below would divide by zero.
    if (width == 0) return -1;
    const index_t chunk = std::max<index_t>(1, MAXOUT_BACKWARD_CHUNK_BYTES / (width * index_t(sizeof(T))));
    for (index_t start = 0; start < rows; start += chunk) {
        const index_t size = std::min(chunk, rows - start);
        thinc_kernels::backprop_maxout_checked<T>(d_best + start * nO, which + start * nO,
                                                  d_pieces + start * width, size * nO, nP);
        for (index_t r = start; r < start + size; ++r) {
            const T* row = d_pieces + r * width;
            for (index_t j = 0; j < width; ++j) db[j] += row[j];
        }
    }
    return -1;
}

THINC_INLINE index_t maxout_backward_pieces_body(const float* d_best, const int32_t* which, float* d_pieces,
                                                 float* db, index_t rows, index_t nO, index_t nP) {
    return maxout_backward_pieces_impl<float>(d_best, which, d_pieces, db, rows, nO, nP);
}
THINC_ISA_VARIANTS(static index_t, maxout_backward_pieces,
                   (const float* d_best, const int32_t* which, float* d_pieces, float* db, index_t rows,
                    index_t nO, index_t nP),
                   maxout_backward_pieces_body(d_best, which, d_pieces, db, rows, nO, nP))
THINC_INLINE index_t maxout_backward_pieces_body(const double* d_best, const int32_t* which, double* d_pieces,
                                                 double* db, index_t rows, index_t nO, index_t nP) {
    return maxout_backward_pieces_impl<double>(d_best, which, d_pieces, db, rows, nO, nP);
}
THINC_ISA_VARIANTS(static index_t, maxout_backward_pieces,
                   (const double* d_best, const int32_t* which, double* d_pieces, double* db, index_t rows,
                    index_t nO, index_t nP),
                   maxout_backward_pieces_body(d_best, which, d_pieces, db, rows, nO, nP))
THINC_ISA_DISPATCH(maxout_backward_pieces)

}  // namespace thinc_norm
