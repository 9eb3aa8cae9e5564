// Row-wise kernels: softmax over each row and its gradient; maxout over the
// pieces of each unit.
#pragma once
#include "thinc_math.hh"

namespace thinc_kernels {

#if defined(THINC_AVX2_PATH)
namespace avx2 {

THINC_AVX2_INLINE float horizontal_sum(__m256 v) {
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

THINC_AVX2_INLINE float horizontal_max(__m256 v) {
    __m128 x = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_max_ps(x, _mm_movehl_ps(x, x));
    x = _mm_max_ss(x, _mm_movehdup_ps(x));
    return _mm_cvtss_f32(x);
}

// One row at a time: the row (a few hundred bytes) stays in L1 across the
// max, exp-and-sum and scale passes.
THINC_AVX2 static void softmax_rows(const float* X, float* Y, index_t n_row, index_t n_col,
                                    float inverse_temperature) {
    const index_t full = n_col & ~index_t(7);
    const __m256i mask = tail_mask(n_col - full);
    const __m256 temperature = constant(inverse_temperature);
    for (index_t r = 0; r < n_row; ++r) {
        const float* x = X + r * n_col;
        float* y = Y + r * n_col;
        __m256 best = constant(-INFINITY);
        index_t c = 0;
        for (; c < full; c += 8) best = _mm256_max_ps(best, _mm256_loadu_ps(x + c));
        if (c < n_col)
            best = _mm256_max_ps(best, _mm256_blendv_ps(constant(-INFINITY), _mm256_maskload_ps(x + c, mask),
                                                        _mm256_castsi256_ps(mask)));
        const __m256 shift = constant(horizontal_max(best));
        __m256 total = _mm256_setzero_ps();
        for (c = 0; c < full; c += 8) {
            __m256 e = exp(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + c), shift), temperature));
            _mm256_storeu_ps(y + c, e);
            total = _mm256_add_ps(total, e);
        }
        if (c < n_col) {
            __m256 e = exp(_mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + c, mask), shift), temperature));
            e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
            _mm256_maskstore_ps(y + c, mask, e);
            total = _mm256_add_ps(total, e);
        }
        const __m256 scale = constant(1.0f / horizontal_sum(total));
        for (c = 0; c < full; c += 8) _mm256_storeu_ps(y + c, _mm256_mul_ps(_mm256_loadu_ps(y + c), scale));
        if (c < n_col)
            _mm256_maskstore_ps(y + c, mask, _mm256_mul_ps(_mm256_maskload_ps(y + c, mask), scale));
    }
}

THINC_AVX2 static void backprop_softmax_rows(const float* Y, const float* dY, float* dX, index_t n_row,
                                             index_t n_col, float inverse_temperature) {
    const index_t full = n_col & ~index_t(7);
    const __m256i mask = tail_mask(n_col - full);
    const __m256 temperature = constant(inverse_temperature);
    for (index_t r = 0; r < n_row; ++r) {
        const float* y = Y + r * n_col;
        const float* g = dY + r * n_col;
        float* d = dX + r * n_col;
        // Two accumulators halve the add latency chain of a 96-wide row.
        __m256 dot0 = _mm256_setzero_ps(), dot1 = _mm256_setzero_ps();
        index_t c = 0;
        for (; c + 16 <= full; c += 16) {
            dot0 = _mm256_fmadd_ps(_mm256_loadu_ps(y + c), _mm256_loadu_ps(g + c), dot0);
            dot1 = _mm256_fmadd_ps(_mm256_loadu_ps(y + c + 8), _mm256_loadu_ps(g + c + 8), dot1);
        }
        for (; c < full; c += 8) dot0 = _mm256_fmadd_ps(_mm256_loadu_ps(y + c), _mm256_loadu_ps(g + c), dot0);
        if (c < n_col)
            dot1 = _mm256_fmadd_ps(_mm256_maskload_ps(y + c, mask), _mm256_maskload_ps(g + c, mask), dot1);
        const __m256 dot = constant(horizontal_sum(_mm256_add_ps(dot0, dot1)));
        for (c = 0; c < full; c += 8) {
            __m256 value = _mm256_mul_ps(_mm256_loadu_ps(y + c), _mm256_sub_ps(_mm256_loadu_ps(g + c), dot));
            _mm256_storeu_ps(d + c, _mm256_mul_ps(value, temperature));
        }
        if (c < n_col) {
            __m256 value = _mm256_mul_ps(_mm256_maskload_ps(y + c, mask),
                                         _mm256_sub_ps(_mm256_maskload_ps(g + c, mask), dot));
            _mm256_maskstore_ps(d + c, mask, _mm256_mul_ps(value, temperature));
        }
    }
}

}  // namespace avx2
#endif

// ---------------------------------------------------------------------------
// Row-wise softmax and its gradient (rows of width n_col, contiguous).

template <typename T>
THINC_INLINE void softmax_rows_impl(const T* X, T* Y, index_t n_row, index_t n_col, T inverse_temperature) {
    for (index_t r = 0; r < n_row; ++r) {
        const T* x = X + r * n_col;
        T* y = Y + r * n_col;
        T best = x[0];
        for (index_t c = 1; c < n_col; ++c) best = x[c] > best ? x[c] : best;
        T total = 0;
        for (index_t c = 0; c < n_col; ++c) {
            T e = exp_fast((x[c] - best) * inverse_temperature);
            y[c] = e;
            total += e;
        }
        T scale = T(1) / total;
        for (index_t c = 0; c < n_col; ++c) y[c] *= scale;
    }
}
THINC_INLINE void softmax_rows_serial_body(const float* X, float* Y, index_t r, index_t c, float t) {
    softmax_rows_impl<float>(X, Y, r, c, t);
}
THINC_ISA_VARIANTS(static void, softmax_rows_serial,
                   (const float* X, float* Y, index_t r, index_t c, float t),
                   softmax_rows_serial_body(X, Y, r, c, t))
THINC_INLINE void softmax_rows_serial_body(const double* X, double* Y, index_t r, index_t c, double t) {
    softmax_rows_impl<double>(X, Y, r, c, t);
}
THINC_ISA_VARIANTS(static void, softmax_rows_serial,
                   (const double* X, double* Y, index_t r, index_t c, double t),
                   softmax_rows_serial_body(X, Y, r, c, t))
THINC_ISA_DISPATCH(softmax_rows_serial)

// Rows per thread: the grain is counted in elements, as for the activations.
inline index_t row_grain(index_t grain, index_t n_col) {
    return std::max<index_t>(1, grain / std::max<index_t>(1, n_col));
}

template <typename T>
static void softmax_rows(const T* X, T* Y, index_t n_row, index_t n_col, T inverse_temperature) {
    thinc_parallel::parallel_for(n_row, row_grain(GRAIN_COSTLY, n_col), 1, [=](index_t begin, index_t end) {
        const T* x = X + begin * n_col;
        T* y = Y + begin * n_col;
#if defined(THINC_AVX2_PATH)
        if (sizeof(T) == 4 && use_avx2())
            return avx2::softmax_rows(reinterpret_cast<const float*>(x), reinterpret_cast<float*>(y),
                                      end - begin, n_col, float(inverse_temperature));
#endif
        softmax_rows_serial(x, y, end - begin, n_col, inverse_temperature);
    });
}

template <typename T>
THINC_INLINE void backprop_softmax_rows_impl(const T* Y, const T* dY, T* dX, index_t n_row, index_t n_col,
                                             T inverse_temperature) {
    for (index_t r = 0; r < n_row; ++r) {
        const T* y = Y + r * n_col;
        const T* g = dY + r * n_col;
        T* d = dX + r * n_col;
        T dot = 0;
        for (index_t c = 0; c < n_col; ++c) dot += y[c] * g[c];
        for (index_t c = 0; c < n_col; ++c) d[c] = y[c] * (g[c] - dot) * inverse_temperature;
    }
}
THINC_INLINE void backprop_softmax_rows_serial_body(const float* Y, const float* dY, float* dX, index_t r,
                                                    index_t c, float t) {
    backprop_softmax_rows_impl<float>(Y, dY, dX, r, c, t);
}
THINC_ISA_VARIANTS(static void, backprop_softmax_rows_serial,
                   (const float* Y, const float* dY, float* dX, index_t r, index_t c, float t),
                   backprop_softmax_rows_serial_body(Y, dY, dX, r, c, t))
THINC_INLINE void backprop_softmax_rows_serial_body(const double* Y, const double* dY, double* dX, index_t r,
                                                    index_t c, double t) {
    backprop_softmax_rows_impl<double>(Y, dY, dX, r, c, t);
}
THINC_ISA_VARIANTS(static void, backprop_softmax_rows_serial,
                   (const double* Y, const double* dY, double* dX, index_t r, index_t c, double t),
                   backprop_softmax_rows_serial_body(Y, dY, dX, r, c, t))
THINC_ISA_DISPATCH(backprop_softmax_rows_serial)

template <typename T>
static void backprop_softmax_rows(const T* Y, const T* dY, T* dX, index_t n_row, index_t n_col,
                                  T inverse_temperature) {
    thinc_parallel::parallel_for(n_row, row_grain(GRAIN_CHEAP, n_col), 1, [=](index_t begin, index_t end) {
        index_t offset = begin * n_col;
#if defined(THINC_AVX2_PATH)
        if (sizeof(T) == 4 && use_avx2())
            return avx2::backprop_softmax_rows(
                reinterpret_cast<const float*>(Y + offset), reinterpret_cast<const float*>(dY + offset),
                reinterpret_cast<float*>(dX + offset), end - begin, n_col, float(inverse_temperature));
#endif
        backprop_softmax_rows_serial(Y + offset, dY + offset, dX + offset, end - begin, n_col,
                                     inverse_temperature);
    });
}

// ---------------------------------------------------------------------------
// Maxout over the last axis of (B, O, P); a NaN piece wins (replaces_max).

// The plain `>` pass vectorises and reports whether it met a NaN; only then
// does the NaN-aware pass (replaces_max) rerun the same units.
template <typename T, int P, bool NAN_AWARE>
THINC_INLINE bool maxout_fixed(const T* X, T* out, int32_t* which, index_t n) {
    int nan_seen = 0;
    for (index_t i = 0; i < n; ++i) {
        const T* x = X + i * P;
        T best = x[0];
        nan_seen |= best != best;
        int32_t arg = 0;
        for (int p = 1; p < P; ++p) {
            nan_seen |= x[p] != x[p];
            bool better = NAN_AWARE ? replaces_max(x[p], best) : x[p] > best;
            best = better ? x[p] : best;
            arg = better ? p : arg;
        }
        out[i] = best;
        which[i] = arg;
    }
    return nan_seen != 0;
}

template <typename T, int P>
THINC_INLINE void maxout_pieces(const T* X, T* out, int32_t* which, index_t n) {
    if (maxout_fixed<T, P, false>(X, out, which, n)) maxout_fixed<T, P, true>(X, out, which, n);
}

template <typename T>
THINC_INLINE void maxout_impl(const T* X, T* out, int32_t* which, index_t n, index_t P) {
    // The common piece counts get a fixed trip count the compiler can unroll.
    if (P == 2) return maxout_pieces<T, 2>(X, out, which, n);
    if (P == 3) return maxout_pieces<T, 3>(X, out, which, n);
    if (P == 4) return maxout_pieces<T, 4>(X, out, which, n);
    for (index_t i = 0; i < n; ++i) {
        const T* x = X + i * P;
        T best = x[0];
        int32_t arg = 0;
        for (index_t p = 1; p < P; ++p) {
            if (replaces_max(x[p], best)) {
                best = x[p];
                arg = static_cast<int32_t>(p);
            }
        }
        out[i] = best;
        which[i] = arg;
    }
}
THINC_INLINE void maxout_serial_body(const float* X, float* o, int32_t* w, index_t n, index_t P) {
    maxout_impl<float>(X, o, w, n, P);
}
THINC_ISA_VARIANTS(static void, maxout_serial, (const float* X, float* o, int32_t* w, index_t n, index_t P),
                   maxout_serial_body(X, o, w, n, P))
THINC_INLINE void maxout_serial_body(const double* X, double* o, int32_t* w, index_t n, index_t P) {
    maxout_impl<double>(X, o, w, n, P);
}
THINC_ISA_VARIANTS(static void, maxout_serial, (const double* X, double* o, int32_t* w, index_t n, index_t P),
                   maxout_serial_body(X, o, w, n, P))
THINC_ISA_DISPATCH(maxout_serial)
template <typename T>
static void maxout(const T* X, T* out, int32_t* which, index_t n, index_t P) {
    thinc_parallel::parallel_for(n, std::max<index_t>(1, GRAIN_CHEAP / P), SPLIT_ALIGN,
                                 [=](index_t begin, index_t end) {
                                     maxout_serial(X + begin * P, out + begin, which + begin, end - begin, P);
                                 });
}

// The position of the first piece index outside [0, P), or -1. A
// branch-free scan first (it vectorises); the position only when needed.
inline index_t first_bad_piece(const int32_t* which, index_t n, index_t P) {
    uint32_t limit = static_cast<uint32_t>(P), bad = 0;
    for (index_t i = 0; i < n; ++i) bad |= static_cast<uint32_t>(which[i]) >= limit;
    if (!bad) return -1;
    for (index_t i = 0; i < n; ++i)
        if (static_cast<uint32_t>(which[i]) >= limit) return i;
    return -1;
}

// Every one of the P outputs is written once (so dX needs no zeroing pass),
// through bit masks: a branch on the random winner would mispredict on most
// rows, and g * 0 would turn an infinite gradient into NaN.
template <typename T, int FIXED_P>
THINC_INLINE void backprop_maxout_fill(const T* dY, const int32_t* which, T* dX, index_t n, index_t P) {
    typedef typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type Bits;
    if (FIXED_P > 0) P = FIXED_P;
    for (index_t i = 0; i < n; ++i) {
        Bits g;
        std::memcpy(&g, dY + i, sizeof(T));
        for (index_t p = 0; p < P; ++p) {
            Bits value = g & (Bits(0) - Bits(which[i] == p));
            std::memcpy(dX + i * P + p, &value, sizeof(T));
        }
    }
}

#if defined(THINC_AVX2_PATH)
// Eight rows give P whole output vectors; output lane j of vector k holds
// row (8k + j) / P, piece (8k + j) % P, so one permute of the gradients and
// one of the winners, a compare and an and produce it.
THINC_AVX2 static void backprop_maxout_avx2(const float* dY, const int32_t* which, float* dX, index_t n,
                                            index_t P) {
    __m256i rows[8], pieces[8];
    for (index_t k = 0; k < P; ++k) {
        alignas(32) int32_t row[8], piece[8];
        for (int j = 0; j < 8; ++j) {
            row[j] = static_cast<int32_t>((8 * k + j) / P);
            piece[j] = static_cast<int32_t>((8 * k + j) % P);
        }
        rows[k] = _mm256_load_si256(reinterpret_cast<const __m256i*>(row));
        pieces[k] = _mm256_load_si256(reinterpret_cast<const __m256i*>(piece));
    }
    index_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(dY + i);
        __m256i w = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(which + i));
        float* d = dX + i * P;
        for (index_t k = 0; k < P; ++k) {
            __m256i winner = _mm256_cmpeq_epi32(_mm256_permutevar8x32_epi32(w, rows[k]), pieces[k]);
            __m256 value = _mm256_and_ps(_mm256_permutevar8x32_ps(g, rows[k]), _mm256_castsi256_ps(winner));
            _mm256_storeu_ps(d + 8 * k, value);
        }
    }
    backprop_maxout_fill<float, 0>(dY + i, which + i, dX + i * P, n - i, P);
}
#endif

// The fill alone, for winners already checked to lie in [0, P).
template <typename T>
THINC_INLINE void backprop_maxout_checked(const T* dY, const int32_t* which, T* dX, index_t n, index_t P) {
#if defined(THINC_AVX2_PATH)
    if (sizeof(T) == 4 && P <= 8 && use_avx2()) {
        backprop_maxout_avx2(reinterpret_cast<const float*>(dY), which, reinterpret_cast<float*>(dX), n, P);
        return;
    }
#endif
    if (P == 2)
        backprop_maxout_fill<T, 2>(dY, which, dX, n, P);
    else if (P == 3)
        backprop_maxout_fill<T, 3>(dY, which, dX, n, P);
    else if (P == 4)
        backprop_maxout_fill<T, 4>(dY, which, dX, n, P);
    else
        backprop_maxout_fill<T, 0>(dY, which, dX, n, P);
}

// Returns the position of the first out-of-range piece index (dX is then
// unwritten), or -1.
template <typename T>
THINC_INLINE index_t backprop_maxout_any(const T* dY, const int32_t* which, T* dX, index_t n, index_t P) {
    index_t bad = first_bad_piece(which, n, P);
    if (bad >= 0) return bad;
    backprop_maxout_checked(dY, which, dX, n, P);
    return -1;
}
THINC_INLINE index_t backprop_maxout_serial_body(const float* g, const int32_t* w, float* d, index_t n,
                                                 index_t P) {
    return backprop_maxout_any<float>(g, w, d, n, P);
}
THINC_ISA_VARIANTS(static index_t, backprop_maxout_serial,
                   (const float* g, const int32_t* w, float* d, index_t n, index_t P),
                   backprop_maxout_serial_body(g, w, d, n, P))
THINC_INLINE index_t backprop_maxout_serial_body(const double* g, const int32_t* w, double* d, index_t n,
                                                 index_t P) {
    return backprop_maxout_any<double>(g, w, d, n, P);
}
THINC_ISA_VARIANTS(static index_t, backprop_maxout_serial,
                   (const double* g, const int32_t* w, double* d, index_t n, index_t P),
                   backprop_maxout_serial_body(g, w, d, n, P))
THINC_ISA_DISPATCH(backprop_maxout_serial)

template <typename T>
static index_t backprop_maxout(const T* dY, const int32_t* which, T* dX, index_t n, index_t P) {
    std::atomic<index_t> first_bad{-1};
    thinc_parallel::parallel_for(
        n, std::max<index_t>(1, GRAIN_CHEAP / P), SPLIT_ALIGN, [&](index_t begin, index_t end) {
            index_t bad = backprop_maxout_serial(dY + begin, which + begin, dX + begin * P, end - begin, P);
            if (bad >= 0) record_bad(first_bad, begin + bad);
        });
    return first_bad.load();
}

}  // namespace thinc_kernels
