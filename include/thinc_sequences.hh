// Kernels over the rows of consecutive sequences (lengths give each one's rows):
// softmax per sequence, sum/mean/max reductions, seq2col windows.
#pragma once
#include "thinc_math.hh"

namespace thinc_kernels {

// Softmax over the rows of each sequence, column by column; the per-column
// running max and sum live in `work` (2 * n_col), so rows stream in order.
template <typename T>
THINC_INLINE void softmax_sequences_impl(const T* X, T* Y, const index_t* lengths, index_t n_seq,
                                         index_t n_col, T* work) {
    T* best = work;
    T* total = work + n_col;
    for (index_t s = 0; s < n_seq; ++s) {
        index_t length = lengths[s];
        if (length == 0) continue;
        std::memcpy(best, X, sizeof(T) * n_col);
        for (index_t r = 1; r < length; ++r)
            for (index_t c = 0; c < n_col; ++c)
                best[c] = X[r * n_col + c] > best[c] ? X[r * n_col + c] : best[c];
        std::fill(total, total + n_col, T(0));
        for (index_t r = 0; r < length; ++r)
            for (index_t c = 0; c < n_col; ++c) {
                T e = exp_fast(X[r * n_col + c] - best[c]);
                Y[r * n_col + c] = e;
                total[c] += e;
            }
        for (index_t c = 0; c < n_col; ++c) total[c] = T(1) / total[c];
        for (index_t r = 0; r < length; ++r)
            for (index_t c = 0; c < n_col; ++c) Y[r * n_col + c] *= total[c];
        X += length * n_col;
        Y += length * n_col;
    }
}
THINC_INLINE void softmax_sequences_serial_body(const float* X, float* Y, const index_t* L, index_t n,
                                                index_t c, float* w) {
    softmax_sequences_impl<float>(X, Y, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, softmax_sequences_serial,
                   (const float* X, float* Y, const index_t* L, index_t n, index_t c, float* w),
                   softmax_sequences_serial_body(X, Y, L, n, c, w))
THINC_INLINE void softmax_sequences_serial_body(const double* X, double* Y, const index_t* L, index_t n,
                                                index_t c, double* w) {
    softmax_sequences_impl<double>(X, Y, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, softmax_sequences_serial,
                   (const double* X, double* Y, const index_t* L, index_t n, index_t c, double* w),
                   softmax_sequences_serial_body(X, Y, L, n, c, w))
THINC_ISA_DISPATCH(softmax_sequences_serial)

template <typename T>
THINC_INLINE void backprop_softmax_sequences_impl(const T* dY, const T* Y, T* dX, const index_t* lengths,
                                                  index_t n_seq, index_t n_col, T* work) {
    for (index_t s = 0; s < n_seq; ++s) {
        index_t length = lengths[s];
        std::fill(work, work + n_col, T(0));
        for (index_t r = 0; r < length; ++r)
            for (index_t c = 0; c < n_col; ++c) work[c] += Y[r * n_col + c] * dY[r * n_col + c];
        for (index_t r = 0; r < length; ++r)
            for (index_t c = 0; c < n_col; ++c)
                dX[r * n_col + c] = Y[r * n_col + c] * (dY[r * n_col + c] - work[c]);
        dY += length * n_col;
        Y += length * n_col;
        dX += length * n_col;
    }
}
THINC_INLINE void backprop_softmax_sequences_serial_body(const float* dY, const float* Y, float* dX,
                                                         const index_t* L, index_t n, index_t c, float* w) {
    backprop_softmax_sequences_impl<float>(dY, Y, dX, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, backprop_softmax_sequences_serial,
                   (const float* dY, const float* Y, float* dX, const index_t* L, index_t n, index_t c,
                    float* w),
                   backprop_softmax_sequences_serial_body(dY, Y, dX, L, n, c, w))
THINC_INLINE void backprop_softmax_sequences_serial_body(const double* dY, const double* Y, double* dX,
                                                         const index_t* L, index_t n, index_t c, double* w) {
    backprop_softmax_sequences_impl<double>(dY, Y, dX, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, backprop_softmax_sequences_serial,
                   (const double* dY, const double* Y, double* dX, const index_t* L, index_t n, index_t c,
                    double* w),
                   backprop_softmax_sequences_serial_body(dY, Y, dX, L, n, c, w))
THINC_ISA_DISPATCH(backprop_softmax_sequences_serial)

// ---------------------------------------------------------------------------
// Sequence reductions: X holds the rows of consecutive sequences.

template <typename T>
THINC_INLINE void reduce_sum_impl(const T* X, T* out, const index_t* lengths, index_t n_seq, index_t n_col,
                                  bool mean) {
    for (index_t s = 0; s < n_seq; ++s) {
        T* o = out + s * n_col;
        std::fill(o, o + n_col, T(0));
        index_t length = lengths[s];
        for (index_t r = 0; r < length; ++r, X += n_col)
            for (index_t c = 0; c < n_col; ++c) o[c] += X[c];
        if (mean && length > 0) {
            T scale = T(1) / T(length);
            for (index_t c = 0; c < n_col; ++c) o[c] *= scale;
        }
    }
}
THINC_INLINE void reduce_sum_serial_body(const float* X, float* o, const index_t* L, index_t n, index_t c,
                                         bool m) {
    reduce_sum_impl<float>(X, o, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, reduce_sum_serial,
                   (const float* X, float* o, const index_t* L, index_t n, index_t c, bool m),
                   reduce_sum_serial_body(X, o, L, n, c, m))
THINC_INLINE void reduce_sum_serial_body(const double* X, double* o, const index_t* L, index_t n, index_t c,
                                         bool m) {
    reduce_sum_impl<double>(X, o, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, reduce_sum_serial,
                   (const double* X, double* o, const index_t* L, index_t n, index_t c, bool m),
                   reduce_sum_serial_body(X, o, L, n, c, m))
THINC_ISA_DISPATCH(reduce_sum_serial)

template <typename T>
THINC_INLINE void backprop_reduce_sum_impl(const T* d_out, T* dX, const index_t* lengths, index_t n_seq,
                                           index_t n_col, bool mean) {
    for (index_t s = 0; s < n_seq; ++s) {
        const T* g = d_out + s * n_col;
        index_t length = lengths[s];
        T scale = mean ? T(1) / T(length > 0 ? length : 1) : T(1);
        for (index_t r = 0; r < length; ++r, dX += n_col)
            for (index_t c = 0; c < n_col; ++c) dX[c] = g[c] * scale;
    }
}
THINC_INLINE void backprop_reduce_sum_serial_body(const float* g, float* dX, const index_t* L, index_t n,
                                                  index_t c, bool m) {
    backprop_reduce_sum_impl<float>(g, dX, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, backprop_reduce_sum_serial,
                   (const float* g, float* dX, const index_t* L, index_t n, index_t c, bool m),
                   backprop_reduce_sum_serial_body(g, dX, L, n, c, m))
THINC_INLINE void backprop_reduce_sum_serial_body(const double* g, double* dX, const index_t* L, index_t n,
                                                  index_t c, bool m) {
    backprop_reduce_sum_impl<double>(g, dX, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, backprop_reduce_sum_serial,
                   (const double* g, double* dX, const index_t* L, index_t n, index_t c, bool m),
                   backprop_reduce_sum_serial_body(g, dX, L, n, c, m))
THINC_ISA_DISPATCH(backprop_reduce_sum_serial)

// Lengths must all be positive here; `which` records the first maximal row
// (or the first NaN, which then is the maximum: see replaces_max). The plain
// `>` pass vectorises and reports whether it met a NaN; only then does the
// NaN-aware pass rerun the same sequences.
template <typename T, bool NAN_AWARE>
THINC_INLINE bool reduce_max_pass(const T* X, T* out, int32_t* which, const index_t* lengths, index_t n_seq,
                                  index_t n_col) {
    int nan_seen = 0;
    for (index_t s = 0; s < n_seq; ++s) {
        T* o = out + s * n_col;
        int32_t* w = which + s * n_col;
        std::memcpy(o, X, sizeof(T) * n_col);
        std::fill(w, w + n_col, 0);
        for (index_t c = 0; c < n_col; ++c) nan_seen |= o[c] != o[c];
        index_t length = lengths[s];
        for (index_t r = 1; r < length; ++r) {
            const T* x = X + r * n_col;
            for (index_t c = 0; c < n_col; ++c) {
                nan_seen |= x[c] != x[c];
                bool better = NAN_AWARE ? replaces_max(x[c], o[c]) : x[c] > o[c];
                o[c] = better ? x[c] : o[c];
                w[c] = better ? static_cast<int32_t>(r) : w[c];
            }
        }
        X += length * n_col;
    }
    return nan_seen != 0;
}
template <typename T>
THINC_INLINE void reduce_max_impl(const T* X, T* out, int32_t* which, const index_t* lengths, index_t n_seq,
                                  index_t n_col) {
    if (reduce_max_pass<T, false>(X, out, which, lengths, n_seq, n_col))
        reduce_max_pass<T, true>(X, out, which, lengths, n_seq, n_col);
}
THINC_INLINE void reduce_max_serial_body(const float* X, float* o, int32_t* w, const index_t* L, index_t n,
                                         index_t c) {
    reduce_max_impl<float>(X, o, w, L, n, c);
}
THINC_ISA_VARIANTS(static void, reduce_max_serial,
                   (const float* X, float* o, int32_t* w, const index_t* L, index_t n, index_t c),
                   reduce_max_serial_body(X, o, w, L, n, c))
THINC_INLINE void reduce_max_serial_body(const double* X, double* o, int32_t* w, const index_t* L, index_t n,
                                         index_t c) {
    reduce_max_impl<double>(X, o, w, L, n, c);
}
THINC_ISA_VARIANTS(static void, reduce_max_serial,
                   (const double* X, double* o, int32_t* w, const index_t* L, index_t n, index_t c),
                   reduce_max_serial_body(X, o, w, L, n, c))
THINC_ISA_DISPATCH(reduce_max_serial)

// Returns the flat position of the first `which` entry outside its
// sequence, or -1 when all are valid (dX is then complete).
template <typename T>
THINC_INLINE index_t backprop_reduce_max_impl(const T* d_out, const int32_t* which, T* dX,
                                              const index_t* lengths, index_t n_seq, index_t n_col) {
    for (index_t s = 0; s < n_seq; ++s) {
        index_t length = lengths[s];
        const T* g = d_out + s * n_col;
        const int32_t* w = which + s * n_col;
        std::memset(dX, 0, sizeof(T) * length * n_col);
        for (index_t c = 0; c < n_col; ++c) {
            if (w[c] < 0 || w[c] >= length) return s * n_col + c;
            dX[w[c] * n_col + c] = g[c];
        }
        dX += length * n_col;
    }
    return -1;
}
THINC_INLINE index_t backprop_reduce_max_serial_body(const float* g, const int32_t* w, float* dX,
                                                     const index_t* L, index_t n, index_t c) {
    return backprop_reduce_max_impl<float>(g, w, dX, L, n, c);
}
THINC_ISA_VARIANTS(static index_t, backprop_reduce_max_serial,
                   (const float* g, const int32_t* w, float* dX, const index_t* L, index_t n, index_t c),
                   backprop_reduce_max_serial_body(g, w, dX, L, n, c))
THINC_INLINE index_t backprop_reduce_max_serial_body(const double* g, const int32_t* w, double* dX,
                                                     const index_t* L, index_t n, index_t c) {
    return backprop_reduce_max_impl<double>(g, w, dX, L, n, c);
}
THINC_ISA_VARIANTS(static index_t, backprop_reduce_max_serial,
                   (const double* g, const int32_t* w, double* dX, const index_t* L, index_t n, index_t c),
                   backprop_reduce_max_serial_body(g, w, dX, L, n, c))
THINC_ISA_DISPATCH(backprop_reduce_max_serial)

// ---------------------------------------------------------------------------
// seq2col: each row gets its nW left and right neighbours within its sequence
// (zeros past the edges). The neighbours inside the sequence are consecutive
// rows of X, so each output row is one copy (and a zero fill at an edge):
// three 384-byte copies a row instead cost as much again in call overhead.

// Windows of rows [first_row, first_row + n_rows) of one sequence of `length`
// rows, one after another at `out`; the fused Maxout forward builds a block
// of them at a time.
template <typename T>
THINC_INLINE void seq2col_rows(const T* X, index_t length, index_t n_col, index_t nW, index_t first_row,
                               index_t n_rows, T* out) {
    index_t width = (2 * nW + 1) * n_col;
    for (index_t r = first_row; r < first_row + n_rows; ++r, out += width) {
        // Source rows [first, last] exist; `before` window slots precede the
        // sequence and `after` follow it.
        index_t first = std::max<index_t>(0, r - nW), last = std::min<index_t>(length - 1, r + nW);
        index_t before = first - (r - nW), after = (r + nW) - last, inside = last - first + 1;
        if (before > 0) std::memset(out, 0, sizeof(T) * before * n_col);
        std::memcpy(out + before * n_col, X + first * n_col, sizeof(T) * inside * n_col);
        if (after > 0) std::memset(out + (before + inside) * n_col, 0, sizeof(T) * after * n_col);
    }
}

template <typename T>
THINC_INLINE void seq2col_impl(const T* X, T* out, const index_t* lengths, index_t n_seq, index_t n_col,
                               index_t nW) {
    index_t width = (2 * nW + 1) * n_col;
    for (index_t s = 0; s < n_seq; ++s) {
        seq2col_rows(X, lengths[s], n_col, nW, 0, lengths[s], out);
        X += lengths[s] * n_col;
        out += lengths[s] * width;
    }
}
THINC_INLINE void seq2col_serial_body(const float* X, float* o, const index_t* L, index_t n, index_t c,
                                      index_t nW) {
    seq2col_impl<float>(X, o, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, seq2col_serial,
                   (const float* X, float* o, const index_t* L, index_t n, index_t c, index_t nW),
                   seq2col_serial_body(X, o, L, n, c, nW))
THINC_INLINE void seq2col_serial_body(const double* X, double* o, const index_t* L, index_t n, index_t c,
                                      index_t nW) {
    seq2col_impl<double>(X, o, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, seq2col_serial,
                   (const double* X, double* o, const index_t* L, index_t n, index_t c, index_t nW),
                   seq2col_serial_body(X, o, L, n, c, nW))
THINC_ISA_DISPATCH(seq2col_serial)

template <typename T>
THINC_INLINE void backprop_seq2col_impl(const T* dY, T* dX, const index_t* lengths, index_t n_seq,
                                        index_t n_col, index_t nW) {
    index_t width = (2 * nW + 1) * n_col;
    for (index_t s = 0; s < n_seq; ++s) {
        index_t length = lengths[s];
        // Gathering into each target row keeps dX rows hot while dY streams;
        // the centre block (always present) initialises the row, so no memset.
        for (index_t r = 0; r < length; ++r) {
            T* d = dX + r * n_col;
            std::memcpy(d, dY + r * width + nW * n_col, sizeof(T) * n_col);
            for (index_t w = -nW; w <= nW; ++w) {
                index_t source = r - w;
                if (w == 0 || source < 0 || source >= length) continue;
                const T* g = dY + source * width + (w + nW) * n_col;
                for (index_t c = 0; c < n_col; ++c) d[c] += g[c];
            }
        }
        dY += length * width;
        dX += length * n_col;
    }
}
THINC_INLINE void backprop_seq2col_serial_body(const float* g, float* d, const index_t* L, index_t n,
                                               index_t c, index_t nW) {
    backprop_seq2col_impl<float>(g, d, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, backprop_seq2col_serial,
                   (const float* g, float* d, const index_t* L, index_t n, index_t c, index_t nW),
                   backprop_seq2col_serial_body(g, d, L, n, c, nW))
THINC_INLINE void backprop_seq2col_serial_body(const double* g, double* d, const index_t* L, index_t n,
                                               index_t c, index_t nW) {
    backprop_seq2col_impl<double>(g, d, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, backprop_seq2col_serial,
                   (const double* g, double* d, const index_t* L, index_t n, index_t c, index_t nW),
                   backprop_seq2col_serial_body(g, d, L, n, c, nW))
THINC_ISA_DISPATCH(backprop_seq2col_serial)

// ---------------------------------------------------------------------------
// Thread-split entry points for the sequence, optimizer and norm kernels.

// Sequences are split whole over threads; starts[s] is sequence s's first row.
template <class Body>
inline void parallel_sequences(const index_t* lengths, index_t n_seq, index_t n_col, index_t grain,
                               Body&& body) {
    std::vector<index_t> starts(n_seq + 1);
    starts[0] = 0;
    for (index_t s = 0; s < n_seq; ++s) starts[s + 1] = starts[s] + lengths[s];
    index_t elements = starts[n_seq] * std::max<index_t>(1, n_col);
    // The grain is counted in elements, as for the activations.
    index_t sequence_grain = elements > 0 ? std::max<index_t>(1, grain * n_seq / elements) : n_seq + 1;
    if (thinc_parallel::grain_override().load(std::memory_order_relaxed) > 0) sequence_grain = 1;
    thinc_parallel::parallel_for(n_seq, sequence_grain, 1,
                                 [&](index_t begin, index_t end) { body(begin, end, starts[begin]); });
}

template <typename T>
static void softmax_sequences(const T* X, T* Y, const index_t* L, index_t n_seq, index_t n_col, T* work) {
    parallel_sequences(L, n_seq, n_col, GRAIN_COSTLY, [&](index_t begin, index_t end, index_t row) {
        // Each part needs its own running max and sum; the caller's buffer serves the first.
        std::vector<T> own(begin == 0 ? 0 : 2 * n_col);
        softmax_sequences_serial(X + row * n_col, Y + row * n_col, L + begin, end - begin, n_col,
                                 begin == 0 ? work : own.data());
    });
}

template <typename T>
static void backprop_softmax_sequences(const T* dY, const T* Y, T* dX, const index_t* L, index_t n_seq,
                                       index_t n_col, T* work) {
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        std::vector<T> own(begin == 0 ? 0 : n_col);
        backprop_softmax_sequences_serial(dY + row * n_col, Y + row * n_col, dX + row * n_col, L + begin,
                                          end - begin, n_col, begin == 0 ? work : own.data());
    });
}

template <typename T>
static void reduce_sum(const T* X, T* out, const index_t* L, index_t n_seq, index_t n_col, bool mean) {
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        reduce_sum_serial(X + row * n_col, out + begin * n_col, L + begin, end - begin, n_col, mean);
    });
}

template <typename T>
static void backprop_reduce_sum(const T* d_out, T* dX, const index_t* L, index_t n_seq, index_t n_col,
                                bool mean) {
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        backprop_reduce_sum_serial(d_out + begin * n_col, dX + row * n_col, L + begin, end - begin, n_col,
                                   mean);
    });
}

template <typename T>
static void reduce_max(const T* X, T* out, int32_t* which, const index_t* L, index_t n_seq, index_t n_col) {
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        reduce_max_serial(X + row * n_col, out + begin * n_col, which + begin * n_col, L + begin, end - begin,
                          n_col);
    });
}

template <typename T>
static index_t backprop_reduce_max(const T* d_out, const int32_t* which, T* dX, const index_t* L,
                                   index_t n_seq, index_t n_col) {
    std::atomic<index_t> first_bad{-1};
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        index_t bad = backprop_reduce_max_serial(d_out + begin * n_col, which + begin * n_col,
                                                 dX + row * n_col, L + begin, end - begin, n_col);
        if (bad >= 0) record_bad(first_bad, begin * n_col + bad);
    });
    return first_bad.load();
}

template <typename T>
static void seq2col(const T* X, T* out, const index_t* L, index_t n_seq, index_t n_col, index_t nW) {
    index_t width = (2 * nW + 1) * n_col;
    parallel_sequences(L, n_seq, width, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        seq2col_serial(X + row * n_col, out + row * width, L + begin, end - begin, n_col, nW);
    });
}

template <typename T>
static void backprop_seq2col(const T* dY, T* dX, const index_t* L, index_t n_seq, index_t n_col, index_t nW) {
    index_t width = (2 * nW + 1) * n_col;
    parallel_sequences(L, n_seq, width, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        backprop_seq2col_serial(dY + row * width, dX + row * n_col, L + begin, end - begin, n_col, nW);
    });
}

}  // namespace thinc_kernels
