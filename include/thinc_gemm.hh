// Single-precision gemm for x86-64 CPUs with AVX2 and FMA, so that gemm does
// not depend on which kernels an installed BLAS happens to pick for the CPU.
//
// The classic blocked scheme: op(B) is packed once per call into 16-column
// panels (shared, read-only, by every thread), each thread packs its own
// 6-row panels of op(A), and a 6x16 register tile accumulates k-steps of
// rank-1 updates (12 ymm accumulators, two FMAs per broadcast of A; on
// AVX-512, 12x32 with 24 zmm over two A panels, 6x32 where one is left).
// Where op(A) is a single block of rows, op(B) is instead packed a 32-column
// strip at a time, right before the strip's tiles (packs_per_strip). Work is
// split over rows (or columns when op(A) is short and wide) in chunks claimed
// from the shared pool, so a thread that the host descheduled does not hold
// the others at a barrier mid-product.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "thinc_gemm_few_rows.hh"
#include "thinc_gemm_rows_of_b.hh"
#include "thinc_isa.hh"
#include "thinc_malloc.hh"
#include "thinc_parallel.hh"
#include "thinc_transpose.hh"

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define THINC_GEMM_AVX2 1
#endif

namespace thinc_gemm {

typedef int64_t index_t;

// Register tile: 6 rows x 16 columns = 12 accumulators, plus two vectors of
// B and one broadcast of A: 15 of the 16 ymm registers.
constexpr index_t MR = 6;
constexpr index_t NR = 16;
// A k-block of one B panel (KC x 16 floats, at most 20 KB) stays in L1 while
// it meets every A panel of a row block; a row block of packed A
// (block_rows() x KC) stays in L2.
#ifndef THINC_GEMM_KC_MAX
#define THINC_GEMM_KC_MAX 288
#endif
#ifndef THINC_GEMM_MC
#define THINC_GEMM_MC 144
#endif
constexpr index_t KC_MAX = THINC_GEMM_KC_MAX;
// A product that kernel takes is one k-block here, so both give the same bits.
static_assert(thinc_gemm_rows_of_b::MAX_DEPTH <= KC_MAX, "rows_of_b's products must be one k-block");
// Rows of a block of packed A, multiples of MR: MC at least, MC_MAX at most.
constexpr index_t MC = THINC_GEMM_MC;
constexpr index_t MC_MAX = 288;

// As many rows as keep a block of packed A (rows x KC_MAX floats) within a
// quarter of the core's L2, between MC and MC_MAX: 288 on a 2 MB L2, 222 on
// 1 MB, 144 on 512 KB. Fewer, longer blocks stream op(B) fewer times, and
// a weight gradient's 288-row parts become one block (packs_per_strip): 288 x
// 288 x 4000 ran about 5% faster on a 2 MB L2, 1024^2 level to 3% faster.
inline index_t block_rows() {
    static const index_t rows = [] {
        index_t fit = thinc_gemm_few_rows::l2_bytes() / 4 / (KC_MAX * index_t(sizeof(float))) / MR * MR;
        return std::max(MC, std::min(MC_MAX, fit));
    }();
    return rows;
}
// Columns packed per pass: bounds the packed copy of op(B) to ~8 MB (L3).
constexpr index_t PACKED_B_FLOATS = index_t(2) << 20;
// Source rows that packing fetches ahead of the row it copies.
constexpr index_t PACK_AHEAD = 4;
// Panels of a transposed op(A) that packing fills together (pack_a).
constexpr index_t PACK_GROUP = 8;
// A parallel product whose op(B) packs into at most this many floats gives
// each thread its own packed copy (256 KB: a fraction of one core's L2).
constexpr index_t OWN_B_FLOATS = index_t(1) << 16;
// Products at most this many rows (and at most this many a thread) and this
// deep read op(B) = B in place (reads_b_in_place); past them packing paid for
// itself or broke even. On the Emerald Rapids Xeon, one thread, x 288 @ 96 x
// 288: packing was level at 128 rows, 1.21-1.29x faster from 144 to 256.
constexpr index_t DIRECT_B_MAX_ROWS = 256;
constexpr index_t DIRECT_B_MAX_ROWS_A_THREAD = 128;
constexpr index_t DIRECT_B_MAX_DEPTH = 128;
// Products at most this deep walk C a row of tiles at a time (compute_block).
constexpr index_t SHALLOW_K = 16;
// Below this many multiply-adds a second thread costs more than it saves.
constexpr index_t PARALLEL_MACS = index_t(1) << 19;

// Benchmarks measure one thread's rate by switching the split off.
inline std::atomic<bool>& single_threaded() {
    static std::atomic<bool> value{false};
    return value;
}

// Whether a product is split over the thread pool (the packed and the
// few-rows kernels alike): allowed by the caller and by single_threaded(),
// more than one thread, and at least PARALLEL_MACS multiply-adds
// (THINC_PARALLEL_GRAIN, or a test, lowers that, as for the other kernels).
inline bool worth_splitting(index_t M, index_t N, index_t K, bool allow_threads) {
    if (!allow_threads || single_threaded().load(std::memory_order_relaxed) ||
        thinc_parallel::num_threads() < 2)
        return false;
    double macs = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
    index_t override_macs = thinc_parallel::grain_override().load(std::memory_order_relaxed);
    return macs >= static_cast<double>(override_macs > 0 ? override_macs : PARALLEL_MACS);
}

// Row-major operands as the BLAS interface describes them.
struct Operands {
    bool trans_a, trans_b;
    index_t M, N, K;
    float alpha;
    const float* A;
    index_t lda;
    const float* B;
    index_t ldb;
    float beta;
    float* C;
    index_t ldc;
    // Optional row vector of N floats added to every row of C once (affine's
    // bias), in the epilogue of the first k-block, so no second pass over C.
    const float* bias = nullptr;
};

// K is cut into equal blocks of at most KC_MAX, so no block is a sliver.
inline index_t k_block(index_t K) {
    index_t n_blocks = (K + KC_MAX - 1) / KC_MAX;
    return (K + n_blocks - 1) / n_blocks;
}

#if defined(THINC_GEMM_AVX2)
typedef thinc_malloc::Aligned<float> Buffer;

inline Buffer allocate(index_t n_floats) {
    return thinc_malloc::allocate_aligned<float>(n_floats);
}

#pragma GCC push_options
#pragma GCC target("avx2,fma")

// Eight rows of 8 floats written as eight columns: row k of the result (8
// floats at out + k * out_stride) holds element k of every row, row 0 first.
// A stride below 8 lets each store spill into the next row's slot, which the
// next store overwrites.
inline void store_transposed_8x8(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 r4, __m256 r5, __m256 r6,
                                 __m256 r7, float* out, index_t out_stride) {
    const __m256 rows[8] = {r0, r1, r2, r3, r4, r5, r6, r7};
    __m256 columns[8];
    thinc_transpose::transpose_8x8(rows, columns);
    for (int k = 0; k < 8; ++k) _mm256_storeu_ps(out + k * out_stride, columns[k]);
}

// The same for eight rows of memory, ld floats apart.
inline void transpose_8x8(const float* rows, index_t ld, float* out, index_t out_stride) {
    store_transposed_8x8(_mm256_loadu_ps(rows), _mm256_loadu_ps(rows + ld), _mm256_loadu_ps(rows + 2 * ld),
                         _mm256_loadu_ps(rows + 3 * ld), _mm256_loadu_ps(rows + 4 * ld),
                         _mm256_loadu_ps(rows + 5 * ld), _mm256_loadu_ps(rows + 6 * ld),
                         _mm256_loadu_ps(rows + 7 * ld), out, out_stride);
}

// Six rows of A (k along each row) into one panel, k-major: 8 k at a time
// through an 8x8 register transpose (rows 6 and 7 zero). Each k's 8-float
// store spills 2 zeros into the next k's slot, which the next store
// overwrites; the last spills past the panel, into the next panel (packed
// later) or the buffer's slack.
inline void pack_rows_transposed(const float* rows, index_t lda, index_t kc, float* panel) {
    index_t k = 0;
    const __m256 zero = _mm256_setzero_ps();
    for (; k + 8 <= kc; k += 8) {
        store_transposed_8x8(_mm256_loadu_ps(rows + k), _mm256_loadu_ps(rows + lda + k),
                             _mm256_loadu_ps(rows + 2 * lda + k), _mm256_loadu_ps(rows + 3 * lda + k),
                             _mm256_loadu_ps(rows + 4 * lda + k), _mm256_loadu_ps(rows + 5 * lda + k), zero,
                             zero, panel + k * MR, MR);
    }
    for (; k < kc; ++k)
        for (index_t i = 0; i < MR; ++i) panel[k * MR + i] = rows[i * lda + k];
}

// Packs rows [i0, i0+mc) x k [k0, k0+kc) of op(A) as 6-row panels, each laid
// out k-major (6 consecutive floats per k); rows past the edge are zeros.
inline void pack_a(const Operands& g, index_t i0, index_t mc, index_t k0, index_t kc, float* out) {
    index_t full = mc / MR;  // panels with all six rows
    if (g.trans_a) {
        // op(A) rows are columns of A. Walking A a row at a time keeps reads
        // in address order, which the prefetcher follows; each row deals 6
        // adjacent floats to every panel as one 8-float move (masked moves
        // are slow on AMD): its last 2 floats land in the panel's slot for
        // the next k, written over next row. The block's last row has no
        // next row to mend it (nor, for the last panel, in-bounds floats past
        // the 6 it needs), so it moves exactly 6 (a 16- and an 8-byte move).
        // Panels are filled PACK_GROUP at a time: dealing each row to every
        // panel at once wrote to as many lines, MR * kc floats apart, and
        // where that stride is a multiple of 2 KB (kc = 256: a 1024-deep part
        // of a weight gradient) they all fell into two L1 sets and evicted
        // each other (3x slower than kc = 288).
        for (index_t g0 = 0; g0 < full; g0 += PACK_GROUP) {
            index_t g1 = std::min(full, g0 + PACK_GROUP);
            const float* source = g.A + k0 * g.lda + i0;
            for (index_t k = 0; k < kc; ++k, source += g.lda) {
                // The rows are far apart (lda) and each is read once: fetch ahead.
                for (index_t x = g0 * MR; x < g1 * MR; x += 16)
                    _mm_prefetch(reinterpret_cast<const char*>(source + PACK_AHEAD * g.lda + x), _MM_HINT_T0);
                float* target = out + k * MR;
                if (k + 1 < kc) {
                    // Reading 8 floats from the last panel's 6 reaches at most 2
                    // floats into the next row of A, which exists.
                    for (index_t p = g0; p < g1; ++p)
                        _mm256_storeu_ps(target + p * MR * kc, _mm256_loadu_ps(source + p * MR));
                } else {
                    for (index_t p = g0; p < g1; ++p)
                        std::memcpy(target + p * MR * kc, source + p * MR, MR * sizeof(float));
                }
            }
        }
    } else {
        for (index_t p = 0; p < full; ++p)
            pack_rows_transposed(g.A + (i0 + p * MR) * g.lda + k0, g.lda, kc, out + p * MR * kc);
    }
    index_t rows = mc - full * MR;
    if (rows == 0) return;
    // The last, partial panel: element by element, zeros below the edge.
    float* panel = out + full * MR * kc;
    for (index_t i = 0; i < MR; ++i) {
        for (index_t k = 0; k < kc; ++k) {
            index_t row = i0 + full * MR + i;
            float value = 0.0f;
            if (i < rows) value = g.trans_a ? g.A[(k0 + k) * g.lda + row] : g.A[row * g.lda + k0 + k];
            panel[k * MR + i] = value;
        }
    }
}

// Packs k [k0, k0+kc) x columns [j0, j0+16) of op(B) into one panel (16
// consecutive floats per k); columns past the edge are zeros. Full panels of
// an untransposed B are packed by pack_b, a row of B at a time; only its
// partial last panel comes here.
inline void pack_b_panel(const Operands& g, index_t k0, index_t kc, index_t j0, float* out) {
    index_t cols = std::min(NR, g.N - j0);
    if (!g.trans_b) {
        for (index_t k = 0; k < kc; ++k) {
            const float* source = g.B + (k0 + k) * g.ldb + j0;
            float* target = out + k * NR;
            index_t j = 0;
            for (; j < cols; ++j) target[j] = source[j];
            for (; j < NR; ++j) target[j] = 0.0f;
        }
    } else {
        // op(B) columns are rows of B. A full panel is transposed 8 k by 8
        // rows at a time; the rest (a partial panel, the last k) one float
        // at a time, each row read along k and written strided.
        index_t k_done = 0;
        if (cols == NR) {
            for (; k_done + 8 <= kc; k_done += 8)
                for (index_t half = 0; half < NR; half += 8)
                    transpose_8x8(g.B + (j0 + half) * g.ldb + k0 + k_done, g.ldb, out + k_done * NR + half,
                                  NR);
        }
        for (index_t j = 0; j < NR; ++j) {
            if (j < cols) {
                const float* source = g.B + (j0 + j) * g.ldb + k0;
                for (index_t k = k_done; k < kc; ++k) out[k * NR + j] = source[k];
            } else {
                for (index_t k = k_done; k < kc; ++k) out[k * NR + j] = 0.0f;
            }
        }
    }
}

// C[0:m, 0:n] = alpha * (A panel @ B panel) + beta * C (+ bias[0:n] when
// bias is not null), for m <= 6, n <= 16. beta == 0 never reads C (it may
// hold garbage, NaN included).
inline void micro_kernel(index_t kc, const float* __restrict a, const float* __restrict b, index_t b_step,
                         float* c, index_t ldc, float alpha, float beta, index_t m, index_t n,
                         const float* bias) {
    // The C tile is needed only after the k loop: start fetching it now.
    for (index_t i = 0; i < m; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
    }
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (index_t k = 0; k < kc; ++k) {
        __m256 b0 = _mm256_loadu_ps(b);
        __m256 b1 = _mm256_loadu_ps(b + 8);
        __m256 ai;
        ai = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(ai, b0, c00);
        c01 = _mm256_fmadd_ps(ai, b1, c01);
        ai = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ai, b0, c10);
        c11 = _mm256_fmadd_ps(ai, b1, c11);
        ai = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ai, b0, c20);
        c21 = _mm256_fmadd_ps(ai, b1, c21);
        ai = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ai, b0, c30);
        c31 = _mm256_fmadd_ps(ai, b1, c31);
        ai = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ai, b0, c40);
        c41 = _mm256_fmadd_ps(ai, b1, c41);
        ai = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ai, b0, c50);
        c51 = _mm256_fmadd_ps(ai, b1, c51);
        a += MR;
        b += b_step;
    }
    const __m256 scale = _mm256_set1_ps(alpha);
    __m256 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (m == MR && n == NR) {
        const __m256 keep = _mm256_set1_ps(beta);
        const __m256 bias_low = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
        const __m256 bias_high = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
        for (index_t i = 0; i < MR; ++i) {
            float* row = c + i * ldc;
            __m256 low = _mm256_mul_ps(scale, rows[i][0]);
            __m256 high = _mm256_mul_ps(scale, rows[i][1]);
            if (beta != 0.0f) {
                low = _mm256_fmadd_ps(keep, _mm256_loadu_ps(row), low);
                high = _mm256_fmadd_ps(keep, _mm256_loadu_ps(row + 8), high);
            }
            if (bias) {
                low = _mm256_add_ps(low, bias_low);
                high = _mm256_add_ps(high, bias_high);
            }
            _mm256_storeu_ps(row, low);
            _mm256_storeu_ps(row + 8, high);
        }
        return;
    }
    alignas(32) float tile[MR][NR];
    for (index_t i = 0; i < MR; ++i) {
        _mm256_store_ps(tile[i], _mm256_mul_ps(scale, rows[i][0]));
        _mm256_store_ps(tile[i] + 8, _mm256_mul_ps(scale, rows[i][1]));
    }
    for (index_t i = 0; i < m; ++i) {
        float* row = c + i * ldc;
        if (beta != 0.0f) {
            for (index_t j = 0; j < n; ++j) row[j] = tile[i][j] + beta * row[j];
        } else {
            for (index_t j = 0; j < n; ++j) row[j] = tile[i][j];
        }
        if (bias)
            for (index_t j = 0; j < n; ++j) row[j] += bias[j];
    }
}

// Writes m rows of a 32-column tile kept as two zmm halves per row:
// C = alpha * tile + beta * C (+ bias). Masks cover the columns that exist
// (n of them): loads and stores past N never happen, and beta == 0 never
// reads C.
template <int ROWS>
__attribute__((target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl"))) inline void write_wide_rows(
    const __m512 (&left)[ROWS], const __m512 (&right)[ROWS], index_t m, float* c, index_t ldc, float alpha,
    float beta, index_t n, const float* bias) {
    const __m512 scale = _mm512_set1_ps(alpha);
    const __m512 keep = _mm512_set1_ps(beta);
    index_t past = n - NR;
    const __mmask16 left_mask = n >= NR ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1);
    const __mmask16 right_mask =
        past >= NR ? __mmask16(0xFFFF) : (past > 0 ? __mmask16((1u << past) - 1) : __mmask16(0));
    const __m512 bias_left = bias ? _mm512_maskz_loadu_ps(left_mask, bias) : _mm512_setzero_ps();
    const __m512 bias_right = bias ? _mm512_maskz_loadu_ps(right_mask, bias + NR) : _mm512_setzero_ps();
    // Unrolled, so the rows stay in their registers.
#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i) {
        if (i >= m) break;
        float* row = c + i * ldc;
        __m512 low = _mm512_mul_ps(scale, left[i]);
        __m512 high = _mm512_mul_ps(scale, right[i]);
        if (beta != 0.0f) {
            low = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(left_mask, row), low);
            high = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(right_mask, row + NR), high);
        }
        if (bias) {
            low = _mm512_add_ps(low, bias_left);
            high = _mm512_add_ps(high, bias_right);
        }
        _mm512_mask_storeu_ps(row, left_mask, low);
        _mm512_mask_storeu_ps(row + NR, right_mask, high);
    }
}

// The same product over two adjacent B panels at once (a 6x32 tile, 12 zmm
// accumulators) where AVX-512 is active: twice the work per instruction of
// the 6x16 kernel, from the same packed panels. Each element's k terms are
// added in the same order as there, so both give the same bits.
__attribute__((target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl"))) inline void micro_kernel_wide(
    index_t kc, const float* __restrict a, const float* __restrict b_left, const float* __restrict b_right,
    index_t b_step, float* c, index_t ldc, float alpha, float beta, index_t m, index_t n, const float* bias) {
    for (index_t i = 0; i < m; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 2 * NR - 1), _MM_HINT_T0);
    }
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (index_t k = 0; k < kc; ++k) {
        __m512 b0 = _mm512_loadu_ps(b_left);
        __m512 b1 = _mm512_loadu_ps(b_right);
        __m512 ai;
        ai = _mm512_set1_ps(a[0]);
        c00 = _mm512_fmadd_ps(ai, b0, c00);
        c01 = _mm512_fmadd_ps(ai, b1, c01);
        ai = _mm512_set1_ps(a[1]);
        c10 = _mm512_fmadd_ps(ai, b0, c10);
        c11 = _mm512_fmadd_ps(ai, b1, c11);
        ai = _mm512_set1_ps(a[2]);
        c20 = _mm512_fmadd_ps(ai, b0, c20);
        c21 = _mm512_fmadd_ps(ai, b1, c21);
        ai = _mm512_set1_ps(a[3]);
        c30 = _mm512_fmadd_ps(ai, b0, c30);
        c31 = _mm512_fmadd_ps(ai, b1, c31);
        ai = _mm512_set1_ps(a[4]);
        c40 = _mm512_fmadd_ps(ai, b0, c40);
        c41 = _mm512_fmadd_ps(ai, b1, c41);
        ai = _mm512_set1_ps(a[5]);
        c50 = _mm512_fmadd_ps(ai, b0, c50);
        c51 = _mm512_fmadd_ps(ai, b1, c51);
        a += MR;
        b_left += b_step;
        b_right += b_step;
    }
    const __m512 left[MR] = {c00, c10, c20, c30, c40, c50};
    const __m512 right[MR] = {c01, c11, c21, c31, c41, c51};
    write_wide_rows(left, right, m, c, ldc, alpha, beta, n, bias);
}

// Two 6-row panels of A against the same two B panels: a 12x32 tile, 24
// of the 32 zmm registers as accumulators. Per k it loads the B vectors once
// for 24 FMAs instead of 12, and a tile's set-up and write of C are spread
// over twice the work: on the Emerald Rapids Xeon, one thread, products of 48
// to 100 rows (48 x 384 @ 384 x 1024, 64 x 64 @ 64 x 2000, 100 x 288 @
// 288 x 288^T) ran 4-11% faster, 1024^2 level. The rows of `a_lower` are
// rows 6-11 (zeros past the edge, as packed); every element's k terms are
// added in the same order as the 6x16 and 6x32 tiles add them, so all three
// give the same bits.
__attribute__((target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl"))) inline void micro_kernel_tall(
    index_t kc, const float* __restrict a_upper, const float* __restrict a_lower,
    const float* __restrict b_left, const float* __restrict b_right, index_t b_step, float* c, index_t ldc,
    float alpha, float beta, index_t m, index_t n, const float* bias) {
    constexpr int ROWS = 2 * MR;
    for (index_t i = 0; i < m; ++i) {
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 2 * NR - 1), _MM_HINT_T0);
    }
    __m512 left[ROWS], right[ROWS];
#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i) {
        left[i] = _mm512_setzero_ps();
        right[i] = _mm512_setzero_ps();
    }
#pragma GCC unroll 2
    for (index_t k = 0; k < kc; ++k) {
        __m512 b0 = _mm512_loadu_ps(b_left);
        __m512 b1 = _mm512_loadu_ps(b_right);
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            __m512 ai = _mm512_set1_ps(a_upper[i]);
            left[i] = _mm512_fmadd_ps(ai, b0, left[i]);
            right[i] = _mm512_fmadd_ps(ai, b1, right[i]);
        }
#pragma GCC unroll 6
        for (int i = 0; i < MR; ++i) {
            __m512 ai = _mm512_set1_ps(a_lower[i]);
            left[MR + i] = _mm512_fmadd_ps(ai, b0, left[MR + i]);
            right[MR + i] = _mm512_fmadd_ps(ai, b1, right[MR + i]);
        }
        a_upper += MR;
        a_lower += MR;
        b_left += b_step;
        b_right += b_step;
    }
    write_wide_rows(left, right, m, c, ldc, alpha, beta, n, bias);
}

// Panels [p0, p1) of the column block at j0, k [k0, k0+kc) (one k-block),
// panel p at out + (p - p0) * NR * kc.
inline void pack_b_block(const Operands& g, index_t j0, index_t k0, index_t kc, index_t p0, index_t p1,
                         float* out) {
    index_t p = p0;
    if (!g.trans_b) {
        // Full panels are filled a row of B at a time: reads go in address
        // order, which the prefetcher follows (panel by panel, each row was a
        // separate cache line), 16 floats to each panel.
        index_t full_end = std::min(p1, (g.N - j0) / NR);
        if (full_end > p0) {
            const float* source = g.B + k0 * g.ldb + j0;
            for (index_t k = 0; k < kc; ++k, source += g.ldb) {
                for (index_t x = p0 * NR; x < full_end * NR; x += 16)
                    _mm_prefetch(reinterpret_cast<const char*>(source + PACK_AHEAD * g.ldb + x), _MM_HINT_T0);
                float* target = out + k * NR;
                for (index_t q = p0; q < full_end; ++q) {
                    float* panel = target + (q - p0) * NR * kc;
                    _mm256_storeu_ps(panel, _mm256_loadu_ps(source + q * NR));
                    _mm256_storeu_ps(panel + 8, _mm256_loadu_ps(source + q * NR + 8));
                }
            }
            p = full_end;
        }
    }
    for (; p < p1; ++p) pack_b_panel(g, k0, kc, j0 + p * NR, out + (p - p0) * NR * kc);
}

// Panels [p0, p1) of every k-block of the column block at j0 (nc columns):
// k-block k0 starts at out + k0 * nc_padded, its panel p p * NR * kc further.
inline void pack_b(const Operands& g, index_t j0, index_t nc, index_t p0, index_t p1, float* out) {
    index_t kc_max = k_block(g.K);
    index_t nc_padded = (nc + NR - 1) / NR * NR;
    for (index_t k0 = 0; k0 < g.K; k0 += kc_max) {
        index_t kc = std::min(kc_max, g.K - k0);
        pack_b_block(g, j0, k0, kc, p0, p1, out + k0 * nc_padded + p0 * NR * kc);
    }
}

// One pass over a column block [j0, j0+nc) of C whose op(B) is packed in
// `packed_b` (per k-block, panels of kc x 16): rows [r0, r1) and, within the
// block, columns [c0, c1) (multiples of 16 but for the block's end).
// With `strip_panels` (room for two panels of a k-block), op(B) is not
// packed beforehand: each strip packs its panels there just before its tiles
// run (see packs_per_strip). With `whole_a`, the range lies in one row block
// and packed_a already holds all of op(A), every k-block (pack_whole_a's
// layout); otherwise each block of rows is packed there as it comes.
inline void compute_block(const Operands& g, const float* packed_b, index_t j0, index_t nc, index_t r0,
                          index_t r1, index_t c0, index_t c1, index_t mc_block, float* packed_a,
                          bool direct_b, float* strip_panels = nullptr, bool whole_a = false) {
    index_t kc_max = k_block(g.K);
    index_t nc_padded = (nc + NR - 1) / NR * NR;
    // Two panels at a time on AVX-512 (THINC_ISA can hold it to AVX2).
    const bool wide = thinc_isa::active() >= thinc_isa::AVX512;
    for (index_t i0 = r0; i0 < r1; i0 += mc_block) {
        index_t mc = std::min(mc_block, r1 - i0);
        for (index_t k0 = 0; k0 < g.K; k0 += kc_max) {
            index_t kc = std::min(kc_max, g.K - k0);
            float beta = k0 == 0 ? g.beta : 1.0f;
            float* a_block = whole_a ? packed_a + k0 * ((g.M + MR - 1) / MR * MR) + i0 * kc : packed_a;
            if (!whole_a) pack_a(g, i0, mc, k0, kc, a_block);
            // (No packed_b at all when strips pack their own panels.)
            const float* b_block = strip_panels ? nullptr : packed_b + k0 * nc_padded;
            // With direct_b, tiles whose columns all exist read rows of B in
            // place; only the block's last two panels were packed.
            const float* b_rows = direct_b ? g.B + k0 * g.ldb + j0 : nullptr;
            // The tile of C at rows [i, i + MR) and columns from j: 32 columns on
            // AVX-512 while more than 16 remain, else 16 or what is left (the
            // count it returns); op(B) from b_panel, or rows of B in place where
            // the tile's columns all exist and direct_b holds. A 32-column tile
            // with `tall` (its second panel of A has rows) is 12x32: rows
            // [i, i + 2 MR).
            auto run_tile = [&](index_t j, index_t i, const float* b_panel, bool tall = false) -> index_t {
                const float* bias = (k0 == 0 && g.bias) ? g.bias + j0 + j : nullptr;
                index_t left = std::min(c1, nc) - j;  // columns of this range still to do
                float* c = g.C + (i0 + i) * g.ldc + j0 + j;
                if (wide && left > NR) {
                    index_t n = std::min(2 * NR, left);
                    bool in_place = direct_b && n == 2 * NR;
                    const float* b_left = in_place ? b_rows + j : b_panel;
                    const float* b_right = in_place ? b_rows + j + NR : b_panel + NR * kc;
                    index_t b_step = in_place ? g.ldb : NR;
                    if (tall)
                        micro_kernel_tall(kc, a_block + i * kc, a_block + (i + MR) * kc, b_left, b_right,
                                          b_step, c, g.ldc, g.alpha, beta, std::min(2 * MR, mc - i), n, bias);
                    else
                        micro_kernel_wide(kc, a_block + i * kc, b_left, b_right, b_step, c, g.ldc, g.alpha,
                                          beta, std::min(MR, mc - i), n, bias);
                    return 2 * NR;
                }
                index_t n = std::min(NR, nc - j);
                bool in_place = direct_b && n == NR;
                micro_kernel(kc, a_block + i * kc, in_place ? b_rows + j : b_panel, in_place ? g.ldb : NR, c,
                             g.ldc, g.alpha, beta, std::min(MR, mc - i), n, bias);
                return NR;
            };
            // Row tiles [i_begin, i_end) (multiples of MR) of the column strip
            // at j; returns the columns it covered (as run_tile's).
            auto strip = [&](index_t j, index_t i_begin, index_t i_end) -> index_t {
                index_t left = std::min(c1, nc) - j;  // columns of this range still to do
                index_t width = (wide && left > NR) ? 2 * NR : NR;
                const float* b_panel = strip_panels;
                if (strip_panels) {
                    index_t first = j / NR;
                    pack_b_block(g, j0, k0, kc, first, first + width / NR, strip_panels);
                } else {
                    b_panel = b_block + j * kc;
                }
                // Rows of op(B) = B lie ldb apart, each in its own page, where
                // the hardware prefetcher does not follow: while this strip's
                // tiles run, fetch the next strip's lines into L2, a share of
                // its rows before each tile.
                index_t next = j + width;
                index_t next_columns =
                    strip_panels && !g.trans_b ? std::min(2 * NR, std::min(c1, nc) - next) : 0;
                index_t tiles = (i_end - i_begin + MR - 1) / MR;
                index_t share = (kc + tiles - 1) / tiles;  // rows of the next strip per tile
                for (index_t i = i_begin; i < i_end;) {
                    // Two panels of A at once where the strip is 32 wide and
                    // the second panel has rows.
                    index_t rows = (width == 2 * NR && i + MR < i_end) ? 2 * MR : MR;
                    if (next_columns > 0) {
                        index_t k_begin = std::min(kc, (i - i_begin) / MR * share);
                        index_t k_end = std::min(kc, k_begin + rows / MR * share);
                        const float* row = g.B + (k0 + k_begin) * g.ldb + j0 + next;
                        for (index_t k = k_begin; k < k_end; ++k, row += g.ldb) {
                            _mm_prefetch(reinterpret_cast<const char*>(row), _MM_HINT_T1);
                            _mm_prefetch(reinterpret_cast<const char*>(row + next_columns - 1), _MM_HINT_T1);
                        }
                    }
                    run_tile(j, i, b_panel, rows == 2 * MR);
                    i += rows;
                }
                return width;
            };
            if (kc <= SHALLOW_K && !strip_panels) {
                // Writing C is most of a shallow product's work: a row of
                // tiles at a time, so that each row of C is written in address
                // order (down a column of tiles, rows ldc apart, lines of a
                // 4 KB stride all compete for one L1 set). Tile by tile, without
                // strip's set-up for a column of tiles, which cost 14% of
                // 384 x 16 @ 16 x 1024 (shallow products pack no strips).
                for (index_t i = 0; i < mc; i += MR)
                    for (index_t j = c0; j < c1;) j += run_tile(j, i, b_block + j * kc);
            } else {
                // Down each column of tiles: its B panels stay in L1 for
                // every row of the block.
                for (index_t j = c0; j < c1;) j += strip(j, 0, mc);
            }
        }
    }
}

// Columns of op(B) packed per pass for a product `depth` deep: as many whole
// panels as PACKED_B_FLOATS holds (at least one), and no more than N needs.
inline index_t column_block(index_t depth, index_t N) {
    index_t columns = std::max(NR, PACKED_B_FLOATS / std::max<index_t>(depth, 1) / NR * NR);
    return std::min(columns, (N + NR - 1) / NR * NR);
}

// Scratch for packed A (and, for a small op(B), a thread's own copy of it),
// one per thread that can be inside a parallel region at once; a chunk
// borrows a free one for its duration, its own thread's slot when free, so a
// thread reuses the memory it wrote last (a buffer that another core wrote
// costs a transfer between caches for every line written again).
class ScratchSlots {
  public:
    // Each slot has 16 floats of slack for the packing's 2-float spill.
    ScratchSlots(int n_slots, index_t floats_each) : n_slots_(n_slots), floats_each_(floats_each + 16) {
        storage_ = allocate(static_cast<index_t>(n_slots) * floats_each_);
        for (auto& column : packed_columns_) column = -1;
        for (auto& held : holds_a_) held = false;
    }
    bool ok() const { return static_cast<bool>(storage_); }
    int acquire() {
        int home = thinc_parallel::this_thread_slot() % n_slots_;
        for (;;) {
            uint32_t used = used_.load(std::memory_order_relaxed);
            int slot = (used & (1u << home)) == 0 ? home : __builtin_ctz(~used);
            if (slot >= n_slots_) {
                thinc_parallel::cpu_relax();  // cannot happen: more chunks live than threads
                continue;
            }
            if (used_.compare_exchange_weak(used, used | (1u << slot), std::memory_order_acquire))
                return slot;
        }
    }
    void release(int slot) { used_.fetch_and(~(1u << slot), std::memory_order_release); }
    float* get(int slot) { return storage_.get() + slot * floats_each_; }
    // The first column of op(B) whose block the slot's own copy holds (-1:
    // none yet); read and written only by the slot's holder.
    index_t& packed_columns(int slot) { return packed_columns_[slot]; }
    // Whether the slot's packed A holds all of op(A), every k-block
    // (pack_whole_a), for the next chunk of a column split that gets the slot.
    bool& holds_a(int slot) { return holds_a_[slot]; }

  private:
    int n_slots_;
    index_t floats_each_;
    Buffer storage_;
    std::atomic<uint32_t> used_{0};
    index_t packed_columns_[thinc_parallel::MAX_THREADS];
    bool holds_a_[thinc_parallel::MAX_THREADS];
};

// Rows per block of packed A: a multiple of MR, and blocks of equal size, so
// no block is a sliver that streams all of op(B) for one row of tiles, and a
// parallel product has a block count the threads share evenly. At most
// block_rows() on one thread; a parallel product's blocks stay at MC rows at
// most, so that products of 145 to 288 rows still split into blocks for the
// threads (one 256-row block left 256 x 96 @ 96 x 288 on one thread: 47 ->
// 83 us).
inline index_t row_block(index_t M, index_t threads) {
    index_t most = threads > 1 ? MC : block_rows();
    index_t n_blocks = (M + most - 1) / most;
    // A narrow product (op(A) no taller than a block, but at least as tall
    // as op(B) is wide, so rows are split) gets a block per thread.
    if (threads > 1 && n_blocks < threads) n_blocks = std::min(threads, (M + MR - 1) / MR);
    if (threads > 1 && n_blocks > 1) {
        // The pool cuts the blocks into at most CHUNKS_PER_THREAD chunks per
        // thread; a block count that divides evenly gives chunks of equal work.
        index_t max_chunks = threads * thinc_parallel::CHUNKS_PER_THREAD;
        index_t multiple = n_blocks > max_chunks ? max_chunks : threads;
        n_blocks = (n_blocks + multiple - 1) / multiple * multiple;
    }
    index_t rows = (M + n_blocks - 1) / n_blocks;
    return std::min(most, (rows + MR - 1) / MR * MR);
}

// Deep products with a small C (a weight gradient: d.T @ X over a batch) have
// too few row blocks to share well, so K is cut instead: part 0 accumulates
// into C itself, each other part into its own buffer, and the buffers are
// added in part order at the end. The parts depend on the shape alone, never
// on the thread count (nor on the L2 size: the limit is MC, not
// block_rows()), so one thread and many give bit-identical results.
constexpr index_t SPLIT_K_PARTS = 4;
constexpr index_t SPLIT_K_MAX_C = index_t(1) << 18;  // floats of C

inline bool use_split_k(const Operands& g) {
    return g.K >= 4 * KC_MAX && g.M <= 2 * MC && g.M * g.N <= SPLIT_K_MAX_C;
}

// The pool gives each thread a contiguous share of the parts first (two
// threads: parts 0-1 and 2-3), so the remainder's extra k-blocks go to the
// halves in turn (parts 0, 2, 1, 3): 14 blocks split 4-3-4-3, 7 a thread, where
// 4-4-3-3 left one thread 8 and the other 6 with nothing to take over.
static_assert(SPLIT_K_PARTS == 4, "split_k_rank interleaves two halves of four parts");
inline index_t split_k_rank(index_t p) {
    return (p % 2) * 2 + p / 2;
}
inline index_t split_k_size(index_t n_kblocks, index_t p) {
    return n_kblocks / SPLIT_K_PARTS + (split_k_rank(p) < n_kblocks % SPLIT_K_PARTS ? 1 : 0);
}

// k-blocks [first, last) of part p.
inline void split_k_part(index_t n_kblocks, index_t p, index_t& first, index_t& last) {
    first = 0;
    for (index_t q = 0; q < p; ++q) first += split_k_size(n_kblocks, q);
    last = first + split_k_size(n_kblocks, p);
}

// Where op(B) = B is read in place (direct_b), only the last two panels of a
// column block are packed: the tiles that reach past N use them.
inline index_t first_packed_panel(bool direct_b, index_t first, index_t n_panels) {
    return direct_b ? std::max(first, n_panels - 2) : first;
}

// Whether op(B) is packed a strip at a time, each strip's panels just before
// its tiles run (compute_block's strip_panels), instead of a column block at a
// time: where op(A) is one block of rows, every panel meets all its rows
// right after it is packed, so the panels can stay in L1 instead of going to
// L2 or memory and back (a 48 x 384 @ 384 x 1024 product: 360 -> 280 us).
// Shallow products walk C a row of tiles at a time, which would repack.
inline bool packs_per_strip(const Operands& g, bool direct_b) {
    return !direct_b && g.M <= block_rows() && k_block(g.K) > SHALLOW_K;
}
// Room for the two panels of one k-block that a strip packs.
constexpr index_t STRIP_FLOATS = 2 * NR * KC_MAX;
// The most floats of op(A) a column split packs whole per slot (all its
// k-blocks): as much as one full block of packed A, 288 x 288.
constexpr index_t WHOLE_A_MAX_FLOATS = MC_MAX * KC_MAX;

// The one-thread product: pack each column block of op(B), then run every row
// block of op(A) against it (or, with strip_panels, let compute_block pack
// a strip at a time there).
inline void serial_product(const Operands& g, index_t nc_max, float* packed_b, float* packed_a,
                           bool direct_b = false, float* strip_panels = nullptr) {
    for (index_t j0 = 0; j0 < g.N; j0 += nc_max) {
        index_t nc = std::min(nc_max, g.N - j0);
        index_t n_panels = (nc + NR - 1) / NR;
        if (!strip_panels) pack_b(g, j0, nc, first_packed_panel(direct_b, 0, n_panels), n_panels, packed_b);
        compute_block(g, packed_b, j0, nc, 0, g.M, 0, nc, row_block(g.M, 1), packed_a, direct_b,
                      strip_panels);
    }
}

inline bool sgemm_split_k(const Operands& g, bool parallel) {
    index_t kc = k_block(g.K);
    index_t n_kblocks = (g.K + kc - 1) / kc;
    index_t part_k = (n_kblocks + SPLIT_K_PARTS - 1) / SPLIT_K_PARTS * kc;
    index_t nc_max = column_block(part_k, g.N);
    index_t c_floats = g.M * g.N;
    Buffer partials = allocate((SPLIT_K_PARTS - 1) * c_floats);
    int n_slots = parallel ? thinc_parallel::num_threads() : 1;
    index_t packed_b_floats = (part_k * nc_max + 15) / 16 * 16;
    ScratchSlots scratch(n_slots, packed_b_floats + row_block(g.M, 1) * kc);
    if (!partials || !scratch.ok()) return false;
    auto run_part = [&](index_t p) {
        index_t first, last;
        split_k_part(n_kblocks, p, first, last);
        index_t k0 = first * kc, k1 = std::min(g.K, last * kc);
        Operands part = g;
        part.K = k1 - k0;
        part.A = g.trans_a ? g.A + k0 * g.lda : g.A + k0;
        part.B = g.trans_b ? g.B + k0 : g.B + k0 * g.ldb;
        if (p > 0) {
            part.alpha = 1.0f;
            part.beta = 0.0f;
            part.C = partials.get() + (p - 1) * c_floats;
            part.ldc = g.N;
            part.bias = nullptr;
        }
        int slot = scratch.acquire();
        float* buffers = scratch.get(slot);
        // The packed op(B) room holds a strip's two panels as well.
        float* strip_panels = packs_per_strip(part, false) ? buffers : nullptr;
        serial_product(part, nc_max, buffers, buffers + packed_b_floats, false, strip_panels);
        scratch.release(slot);
    };
    if (parallel) {
        thinc_parallel::parallel_for(SPLIT_K_PARTS, 1, 1, [&](index_t begin, index_t end) {
            for (index_t p = begin; p < end; ++p) run_part(p);
        });
    } else {
        for (index_t p = 0; p < SPLIT_K_PARTS; ++p) run_part(p);
    }
    // C += alpha * (((part 1) + part 2) + part 3), row by row.
    const float* sums = partials.get();
    auto reduce = [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            float* row = g.C + i * g.ldc;
            for (index_t j = 0; j < g.N; ++j) {
                float total = sums[i * g.N + j];
                for (index_t p = 1; p < SPLIT_K_PARTS - 1; ++p) total += sums[p * c_floats + i * g.N + j];
                row[j] += g.alpha * total;
            }
        }
    };
    if (parallel)
        thinc_parallel::parallel_for(g.M, 16, 1, reduce);
    else
        reduce(0, g.M);
    return true;
}

// Whether a column split shares its column units (pairs of panels on
// AVX-512) out by rows as well: where the units do not divide evenly among
// the threads and are few enough that the odd one out costs more than a
// thread's share of repacking the units cut in two (a 32-column strip of
// op(B), on one end of each thread's run).
constexpr index_t BALANCED_MAX_UNITS_PER_THREAD = 16;
inline bool balances_by_rows(index_t units, index_t threads) {
    return threads > 1 && units % threads != 0 && units <= BALANCED_MAX_UNITS_PER_THREAD * threads;
}

// All of op(A), every k-block, as compute_block's whole_a layout has it:
// k-block k0 at k0 x (rows rounded up to MR).
inline void pack_whole_a(const Operands& g, float* packed_a) {
    index_t kc_max = k_block(g.K);
    index_t rows = (g.M + MR - 1) / MR * MR;
    for (index_t k0 = 0; k0 < g.K; k0 += kc_max)
        pack_a(g, 0, g.M, k0, std::min(kc_max, g.K - k0), packed_a + k0 * rows);
}

// Whether op(B) = B is read in place by the micro-kernels instead of packed:
// rows of B are already the 16-float vectors a panel holds, only ldb apart,
// and with few rows of A to share it, packing all of B costs more than the
// strided reads (64x64 @ 64x2000 spent a third of its time packing).
// The rows a tile reads lie ldb apart: where that stride is a multiple of a
// large power of two they fall into few L1 sets and evict each other (1024
// floats apart, all into one), so B is packed then.
inline bool reads_b_in_place(const Operands& g, index_t threads) {
    if (g.trans_b || g.M > DIRECT_B_MAX_ROWS || g.M > DIRECT_B_MAX_ROWS_A_THREAD * threads ||
        g.K > DIRECT_B_MAX_DEPTH)
        return false;
    index_t sets = 64;  // of 64-byte lines: 4 KB of addresses cover them all
    if (g.ldb % 16 == 0) {
        // 64 / gcd(stride in lines, 64) sets are reached.
        for (index_t lines = g.ldb / 16; lines % 2 == 0 && sets > 1; lines /= 2) sets /= 2;
    }
    // Two lines of B a k-step, within 8 ways of the sets they reach.
    return sets * 8 >= 2 * g.K;
}

// Everything is allocated before C is first written, so a false return (no
// memory) leaves C untouched for the caller's fallback.
inline bool sgemm_avx2(const Operands& g, bool allow_threads) {
    // Even one 16-column panel of so deep a product would be a large copy
    // (a long dot product, say): the library handles those unpacked.
    if (g.K * NR > PACKED_B_FLOATS) return false;
    index_t nc_max = column_block(g.K, g.N);
    index_t kc = k_block(g.K);
    bool parallel = worth_splitting(g.M, g.N, g.K, allow_threads);
    if (use_split_k(g)) return sgemm_split_k(g, parallel);
    index_t threads = parallel ? thinc_parallel::num_threads() : 1;
    bool direct_b = reads_b_in_place(g, threads);
    // Rows are split, a whole row block per unit, when op(A) spans more than
    // one parallel block (MC rows, whatever the L2: 256 x 96 @ 96 x 288 ran
    // 47 us so, 56 split by columns); a shorter op(A) is packed whole (once
    // per slot where it is small: whole_a below) and the columns are split,
    // so each B panel still meets every row of A once it is in L1.
    bool split_rows = g.M > MC || g.M >= nc_max;
    // A small op(B) split by rows is packed by each thread into its own slot:
    // a few microseconds of copying from L2, where a shared copy that one
    // core wrote and the other reads moved every line between the cores
    // (a 256x96 @ 96x288 product ran no faster on two threads than on one).
    index_t padded_columns = (std::min(nc_max, g.N) + NR - 1) / NR * NR;
    bool own_b = parallel && split_rows && !direct_b && nc_max >= g.N && g.K * padded_columns <= OWN_B_FLOATS;
    index_t own_b_floats = own_b ? (g.K * padded_columns + 15) / 16 * 16 : 0;
    // The one-thread product and the column split pack op(B) a strip at a
    // time where they can, each chunk into its own slot, after its packed A.
    bool per_strip = packs_per_strip(g, direct_b) && !(parallel && split_rows);
    Buffer packed_b = (own_b || per_strip) ? Buffer() : allocate(g.K * nc_max);
    // Packed A: a serial (or column-split) product's block; a parallel row
    // block is never larger (at most MC rows, and at least as many blocks).
    // A column split packs op(A) whole, every k-block, where it is small:
    // each slot packs it once and its later chunks reuse it (8 chunks each
    // packing a 48 x 384 op(A) again: see whole_a_floats).
    index_t a_floats = row_block(g.M, 1) * kc;
    index_t whole_a_floats = (g.M + MR - 1) / MR * MR * g.K;
    bool whole_a = parallel && !split_rows && whole_a_floats <= WHOLE_A_MAX_FLOATS;
    if (whole_a) a_floats = std::max(a_floats, whole_a_floats);
    ScratchSlots scratch(static_cast<int>(threads), own_b_floats + a_floats + (per_strip ? STRIP_FLOATS : 0));
    if ((!own_b && !per_strip && !packed_b) || !scratch.ok()) return false;
    float* b = packed_b.get();
    if (!parallel) {
        float* packed_a = scratch.get(0);
        serial_product(g, nc_max, b, packed_a, direct_b, per_strip ? packed_a + a_floats : nullptr);
        return true;
    }
    for (index_t j0 = 0; j0 < g.N; j0 += nc_max) {
        index_t nc = std::min(nc_max, g.N - j0);
        index_t n_panels = (nc + NR - 1) / NR;
        if (split_rows) {
            if (direct_b) {
                pack_b(g, j0, nc, first_packed_panel(true, 0, n_panels), n_panels, b);
            } else if (!own_b) {
                thinc_parallel::parallel_for(
                    n_panels, std::max<index_t>(1, (index_t(1) << 14) / (g.K * NR)), 1,
                    [&](index_t begin, index_t end) { pack_b(g, j0, nc, begin, end, b); });
            }
            index_t mc_block = row_block(g.M, threads);
            index_t n_blocks = (g.M + mc_block - 1) / mc_block;
            thinc_parallel::parallel_for(n_blocks, 1, 1, [&](index_t begin, index_t end) {
                int slot = scratch.acquire();
                float* buffers = scratch.get(slot);
                const float* panels = b;
                if (own_b) {
                    if (scratch.packed_columns(slot) != j0) {
                        pack_b(g, j0, nc, 0, n_panels, buffers);
                        scratch.packed_columns(slot) = j0;
                    }
                    panels = buffers;
                }
                compute_block(g, panels, j0, nc, begin * mc_block, std::min(g.M, end * mc_block), 0, nc,
                              mc_block, buffers + own_b_floats, direct_b);
                scratch.release(slot);
            });
        } else {
            // Each chunk packs the panels it multiplies (up front, or a strip at
            // a time with per_strip), so they never leave its core. A small
            // op(A) is packed whole by the first chunk on each slot and reused
            // by the next (8 chunks each packing a 100 x 288 op(A) took a
            // third of the product's time).
            // On AVX-512 chunks hold whole pairs of panels: a chunk's odd
            // panel would run on the 6x16 tile at half the width (100 x 288 @
            // 288 x 288^T in chunks of 2 or 3 panels spent 40% of its time there).
            index_t pair = thinc_isa::active() >= thinc_isa::AVX512 ? 2 : 1;
            index_t units = (n_panels + pair - 1) / pair;
            auto run_columns = [&](index_t begin, index_t end, index_t row_begin, index_t row_end,
                                   float* packed_a) {
                index_t first = first_packed_panel(direct_b, begin, n_panels);
                if (!per_strip && first < end) pack_b(g, j0, nc, first, end, b);
                compute_block(g, b, j0, nc, row_begin, row_end, begin * NR, std::min(nc, end * NR),
                              row_block(g.M, 1), packed_a, direct_b,
                              per_strip ? packed_a + a_floats : nullptr, whole_a);
            };
            // A free slot, holding all of op(A) where it is small: packed by
            // the first chunk on the slot, the next ones reuse it.
            auto take_slot = [&]() {
                int slot = scratch.acquire();
                if (whole_a && !scratch.holds_a(slot)) {
                    pack_whole_a(g, scratch.get(slot));
                    scratch.holds_a(slot) = true;
                }
                return slot;
            };
            if (balances_by_rows(units, threads)) {
                // Too few column units to share evenly (9 pairs on two threads
                // ran as 5 and 4): each unit is cut into `threads` row parts
                // and each thread takes an equal run of them, column-major, so
                // at most the units at the ends of a run are shared by rows.
                // Row parts start at multiples of MR: every tile, and so every
                // element's bits, is the same as without the cut.
                index_t tiles = (g.M + MR - 1) / MR;
                auto row_start = [&](index_t part) { return std::min(g.M, part * tiles / threads * MR); };
                thinc_parallel::parallel_for(units * threads, units, 1, [&](index_t begin, index_t end) {
                    int slot = take_slot();
                    float* packed_a = scratch.get(slot);
                    index_t u = begin;
                    while (u < end) {
                        index_t unit = u / threads, part = u % threads;
                        if (part == 0 && end - u >= threads) {
                            // Whole units: as many as follow, in one pass.
                            index_t last = (end - u) / threads + unit;
                            run_columns(unit * pair, std::min(n_panels, last * pair), 0, g.M, packed_a);
                            u += (last - unit) * threads;
                        } else {
                            index_t parts = std::min(threads - part, end - u);
                            index_t rows_begin = row_start(part), rows_end = row_start(part + parts);
                            if (rows_end > rows_begin)
                                run_columns(unit * pair, std::min(n_panels, (unit + 1) * pair), rows_begin,
                                            rows_end, packed_a);
                            u += parts;
                        }
                    }
                    scratch.release(slot);
                });
            } else {
                index_t grain = std::max<index_t>(1, PARALLEL_MACS / (NR * g.M * g.K));
                thinc_parallel::parallel_for(n_panels, grain, pair, [&](index_t begin, index_t end) {
                    int slot = take_slot();
                    run_columns(begin, end, 0, g.M, scratch.get(slot));
                    scratch.release(slot);
                });
            }
        }
    }
    return true;
}

#pragma GCC pop_options

// The kernel runs where the active instruction-set level (THINC_ISA) has AVX2.
inline bool available() {
    return thinc_isa::active() >= thinc_isa::AVX2;
}
#else
inline bool sgemm_avx2(const Operands&, bool) {
    return false;
}
inline bool available() {
    return false;
}
#endif

// C = alpha * op(A) @ op(B) + beta * C, row-major. Returns false, with C
// untouched, when the CPU lacks AVX2/FMA, K is too deep to pack, or memory for
// the packed copies could not be had; the caller then uses another BLAS.
// With a non-null `bias` (N floats), bias is added to every row of C as well.
// allow_threads = false keeps the product on the calling thread.
inline bool sgemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                  index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                  const float* bias = nullptr, bool allow_threads = true) {
    if (M <= 0 || N <= 0) return true;
    if (K <= 0 || alpha == 0.0f) {
        // No product to add: C = beta * C (never reading C when beta is 0) + bias.
        for (index_t i = 0; i < M; ++i) {
            float* row = C + i * ldc;
            if (beta == 0.0f)
                std::fill(row, row + N, 0.0f);
            else if (beta != 1.0f)
                for (index_t j = 0; j < N; ++j) row[j] *= beta;
            if (bias)
                for (index_t j = 0; j < N; ++j) row[j] += bias[j];
        }
        return true;
    }
    if (!available()) return false;
    bool split = worth_splitting(M, N, K, allow_threads);
    if (thinc_gemm_few_rows::sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias,
                                   split))
        return true;
    if (thinc_gemm_rows_of_b::sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias,
                                    split))
        return true;
    Operands g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias};
    return sgemm_avx2(g, allow_threads);
}

// The packed kernel alone, whatever the few-rows rule says: for the tests,
// which check it on every shape at every level.
inline bool packed_sgemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
                         const float* A, index_t lda, const float* B, index_t ldb, float beta, float* C,
                         index_t ldc) {
    if (M <= 0 || N <= 0 || K <= 0 || !available()) return false;
    Operands g{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nullptr};
    return sgemm_avx2(g, true);
}

// The same product, never split over the pool: for small products between
// a layer's Python steps, where waking the workers costs what they save.
inline bool sgemm_on_this_thread(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
                                 const float* A, index_t lda, const float* B, index_t ldb, float beta,
                                 float* C, index_t ldc, const float* bias) {
    return sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, false);
}

}  // namespace thinc_gemm
