// Products op(A) @ B^T where op(A) has a few dozen rows: a doc's tokens
// through a layer whose weights are stored one output per row (thinc's W is
// nO x nI, used as B^T). The packed kernel (thinc_gemm.hh) would transpose all
// of B into panels for a handful of row tiles, and the dot-product kernel
// (thinc_gemm_few_rows.hh) pays a horizontal sum per element. Here the roles
// swap, C^T = B @ op(A)^T: op(A)^T, the small operand, is packed k-major as
// up to four vectors of 16 rows, and six rows of B at a time are read where
// they lie, one float per k broadcast each. The 6 x 64 tile of C^T is written
// back transposed. AVX-512 only (the AVX2 level keeps its routing).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "thinc_gemm_few_rows.hh"
#include "thinc_isa.hh"
#include "thinc_malloc.hh"
#include "thinc_parallel.hh"
#include "thinc_transpose.hh"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define THINC_GEMM_ROWS_OF_B_X86 1
#endif

namespace thinc_gemm_rows_of_b {

typedef int64_t index_t;

// Rows of B per tile: 6 x 4 accumulators, 4 vectors of op(A)^T and one
// broadcast fill 29 of the 32 zmm registers.
constexpr index_t B_ROWS = 6;
// Rows of op(A) a product may have: four vectors of 16.
constexpr index_t MAX_ROWS = 64;
// Depth at most: one k-block of the packed kernel (thinc_gemm.hh's KC_MAX),
// whose sums then are this kernel's bit for bit (each element's k terms added
// in order by one FMA each from zero, then alpha * sum, beta * C by one FMA,
// the bias), so that gemm's bits do not depend on which of the two, or how
// many threads, took a product. Deeper products ran up to 1.5x faster here
// (32 x 1024 x 1024), but the packed kernel rounds between its k-blocks.
constexpr index_t MAX_DEPTH = 288;
// Multiply-adds a chunk of a product split over the thread pool holds at least.
constexpr index_t CHUNK_MACS = index_t(1) << 18;

// The products this kernel takes at the active level, after the dot-product
// kernel's share (thinc_gemm_few_rows::takes): op(B) = B^T, at least six
// columns, rows that fill most of the lanes of op(A)^T's vectors (unused
// lanes cost as much as used ones), on one thread. Timed against the packed
// kernel (one thread, M 9-64 x N 64-1024 x K 64-1024), this kernel took
// 0.65-0.9 of its time at 13-16 and 28-32 rows (tok2vec-shaped 32 x 288 x
// 288: 0.77), and at 48 and 64 rows from depth 256; at 20-24 rows (62-75% of
// 32 lanes used) and 40 or 56 rows it was level to 1.2x slower.
// Split over two threads it lost to the packed kernel's column split (48 x
// 288 x 288: 43 against 33 us): op(A)^T, packed by one core, is read by both.
constexpr index_t DEEP_K = 256;
inline bool fills_lanes(index_t M, index_t K) {
    index_t lanes = (M + 15) / 16 * 16;
    if (lanes <= 32) return 5 * M >= 4 * lanes;
    return K >= DEEP_K && 8 * M > 7 * lanes;
}

inline bool takes(index_t M, index_t N, index_t K, bool trans_b, bool split) {
    return trans_b && !split && thinc_isa::active() >= thinc_isa::AVX512 && M >= 1 && M <= MAX_ROWS &&
           N >= B_ROWS && K >= 1 && K <= MAX_DEPTH && fills_lanes(M, K) &&
           !thinc_gemm_few_rows::takes(M, N, K, trans_b);
}

#if defined(THINC_GEMM_ROWS_OF_B_X86)

#define THINC_ROWS_OF_B_TARGET __attribute__((target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl")))

// op(A)^T as K rows of `lanes` floats (rows of op(A) past M are zeros).
THINC_ROWS_OF_B_TARGET inline void pack_a_transposed(bool trans_a, index_t M, index_t K, const float* A,
                                                     index_t lda, index_t lanes, float* out) {
    if (trans_a) {
        // A is K x M already: each k is a row of M floats.
        for (index_t k = 0; k < K; ++k) {
            float* row = out + k * lanes;
            std::copy(A + k * lda, A + k * lda + M, row);
            std::fill(row + M, row + lanes, 0.0f);
        }
        return;
    }
    // Rows of A (along k) become columns, 8 x 8 blocks at a time through
    // registers (a float at a time, each store 256 bytes from the last, took
    // half the product's time); rows past M read as zeros.
    index_t m8 = (M + 7) / 8 * 8;
    for (index_t k = 0; k < K; ++k) std::fill(out + k * lanes + m8, out + (k + 1) * lanes, 0.0f);
    index_t k8 = K / 8 * 8;
    for (index_t i0 = 0; i0 < M; i0 += 8) {
        index_t n = std::min<index_t>(8, M - i0);
        for (index_t k0 = 0; k0 < k8; k0 += 8) {
            __m256 rows[8], columns[8];
#pragma GCC unroll 8
            for (int j = 0; j < 8; ++j)
                rows[j] = j < n ? _mm256_loadu_ps(A + (i0 + j) * lda + k0) : _mm256_setzero_ps();
            thinc_transpose::transpose_8x8(rows, columns);
#pragma GCC unroll 8
            for (int j = 0; j < 8; ++j) _mm256_storeu_ps(out + (k0 + j) * lanes + i0, columns[j]);
        }
        for (index_t k = k8; k < K; ++k)
            for (index_t j = 0; j < 8; ++j) out[k * lanes + i0 + j] = j < n ? A[(i0 + j) * lda + k] : 0.0f;
    }
}

struct Product {
    index_t M, N, K;
    float alpha;
    const float* packed;  // op(A)^T, K x lanes
    index_t lanes;
    index_t kc;  // depth of a k-block
    const float* B;
    index_t ldb;
    float beta;
    float* C;
    index_t ldc;
    const float* bias;
};

// Tiles run a k-block at a time over groups of this many, their sums so far
// kept on the stack between blocks (24 KB at 64 rows): op(A)^T's block is
// read from L2 once per group, and memory does not grow with N.
constexpr index_t GROUP_TILES = 16;

// Rows of a k-block of packed op(A)^T: as many as keep it within 24 KB, so it
// stays in L1 while every six rows of B meet it (the whole of it, K x 64
// floats, ran from L2 at half this kernel's rate); equal blocks, multiples of 8.
inline index_t k_block(index_t K, index_t lanes) {
    index_t most = std::max<index_t>(16, (index_t(24) << 10) / (lanes * index_t(sizeof(float))) / 8 * 8);
    index_t blocks = (K + most - 1) / most;
    return ((K + blocks - 1) / blocks + 7) / 8 * 8;
}

// Writes a 6 x lanes tile of C^T (8 rows of room; rows 6 and 7 ignored) to
// columns [n0, n0 + rows) of C: 8 x 8 blocks transposed in registers, then
// alpha * sum, beta * C by one FMA, the bias, as the few-rows kernels
// finish an element.
THINC_ROWS_OF_B_TARGET inline void finish_tile(const Product& p, const float* tile, index_t n0,
                                               index_t rows) {
    const __mmask8 mask = __mmask8((1u << rows) - 1);
    const __m256 scale = _mm256_set1_ps(p.alpha);
    const __m256 keep = _mm256_set1_ps(p.beta);
    const __m256 bias = p.bias ? _mm256_maskz_loadu_ps(mask, p.bias + n0) : _mm256_setzero_ps();
    for (index_t i0 = 0; i0 < p.M; i0 += 8) {
        __m256 r[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) r[j] = _mm256_load_ps(tile + j * p.lanes + i0);
        // Element i of every row of the block: C's row i0 + i.
        __m256 columns[8];
        thinc_transpose::transpose_8x8(r, columns);
        index_t count = std::min<index_t>(8, p.M - i0);
        for (index_t i = 0; i < count; ++i) {
            float* out = p.C + (i0 + i) * p.ldc + n0;
            __m256 value = _mm256_mul_ps(scale, columns[i]);
            if (p.beta != 0.0f) value = _mm256_fmadd_ps(keep, _mm256_maskz_loadu_ps(mask, out), value);
            if (p.bias) value = _mm256_add_ps(value, bias);
            _mm256_mask_storeu_ps(out, mask, value);
        }
    }
}

// Rows [n0, n0 + rows) of C^T (rows <= 6) over k-block [k0, k0 + kc): each
// element's k terms are added in order, one FMA each, from the sums of the
// earlier k-blocks (kept in `partial`, 6 x lanes floats, between blocks, so
// the blocking does not change the bits); the last block writes C.
template <int VECTORS>
THINC_ROWS_OF_B_TARGET void tile_of_c_transposed(const Product& p, index_t t, index_t k0, float* partial,
                                                 float* tile) {
    constexpr index_t LANES = 16 * VECTORS;
    index_t n0 = t * B_ROWS;
    index_t rows = std::min(B_ROWS, p.N - n0);
    index_t kc = std::min(p.kc, p.K - k0);
    bool first = k0 == 0, last = k0 + kc >= p.K;
    const float* b = p.B + n0 * p.ldb + k0;
    const float* packed = p.packed + k0 * LANES;
    // Rows past the edge read row 0 again; their sums are never stored.
    const float* row[B_ROWS];
#pragma GCC unroll 6
    for (int r = 0; r < B_ROWS; ++r) row[r] = r < rows ? b + r * p.ldb : b;
    __m512 acc[B_ROWS][VECTORS];
#pragma GCC unroll 6
    for (int r = 0; r < B_ROWS; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < VECTORS; ++v)
            acc[r][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(partial + r * LANES + 16 * v);
    for (index_t k = 0; k < kc; ++k) {
        __m512 a[VECTORS];
#pragma GCC unroll 4
        for (int v = 0; v < VECTORS; ++v) a[v] = _mm512_load_ps(packed + k * LANES + 16 * v);
#pragma GCC unroll 6
        for (int r = 0; r < B_ROWS; ++r) {
            // Broadcast from memory: a load, where a broadcast from a
            // register would take the shuffle port that half the FMAs use.
            __m512 broadcast = _mm512_broadcastss_ps(_mm_load_ss(row[r] + k));
#pragma GCC unroll 4
            for (int v = 0; v < VECTORS; ++v) acc[r][v] = _mm512_fmadd_ps(broadcast, a[v], acc[r][v]);
        }
    }
    float* out = last ? tile : partial;
#pragma GCC unroll 6
    for (int r = 0; r < B_ROWS; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < VECTORS; ++v) _mm512_storeu_ps(out + r * LANES + 16 * v, acc[r][v]);
    if (last) finish_tile(p, tile, n0, rows);
}

// Tiles [t0, t1) of six rows of B (C[:, 6t : 6t + 6]), a group of tiles and
// a k-block at a time, so that the block of op(A)^T stays in L1 across them.
THINC_ROWS_OF_B_TARGET inline void run_tiles(const Product& p, index_t t0, index_t t1) {
    // 8 rows: finish_tile reads rows 6 and 7 of each 8 x 8 block (zeros).
    alignas(64) float tile[8 * MAX_ROWS] = {};
    alignas(64) float partial[GROUP_TILES * B_ROWS * MAX_ROWS];
    for (index_t g0 = t0; g0 < t1; g0 += GROUP_TILES) {
        index_t g1 = std::min(t1, g0 + GROUP_TILES);
        for (index_t k0 = 0; k0 < p.K; k0 += p.kc) {
            for (index_t t = g0; t < g1; ++t) {
                float* sums = partial + (t - g0) * B_ROWS * p.lanes;
                switch (p.lanes / 16) {
                    case 1:
                        tile_of_c_transposed<1>(p, t, k0, sums, tile);
                        break;
                    case 2:
                        tile_of_c_transposed<2>(p, t, k0, sums, tile);
                        break;
                    case 3:
                        tile_of_c_transposed<3>(p, t, k0, sums, tile);
                        break;
                    default:
                        tile_of_c_transposed<4>(p, t, k0, sums, tile);
                        break;
                }
            }
        }
    }
}

// C = alpha * op(A) @ B^T + beta * C (+ bias), row-major, for any product of
// 1 to MAX_ROWS rows and 1 to MAX_DEPTH deep, whether or not takes() would
// route it here (the tests reach every shape through this). False, with C
// untouched, where the active level lacks AVX-512 or memory for op(A)^T could
// not be had. With `split` (the tests'), the tiles are shared over the thread
// pool: each element is computed as on one thread, so the bits do not depend
// on it.
inline bool multiply(bool trans_a, index_t M, index_t N, index_t K, float alpha, const float* A, index_t lda,
                     const float* B, index_t ldb, float beta, float* C, index_t ldc, const float* bias,
                     bool split = false) {
    if (M < 1 || M > MAX_ROWS || N < 1 || K < 1 || K > MAX_DEPTH) return false;
    if (thinc_isa::active() < thinc_isa::AVX512) return false;
    index_t lanes = (M + 15) / 16 * 16;
    index_t kc = k_block(K, lanes);
    index_t tiles = (N + B_ROWS - 1) / B_ROWS;
    auto packed = thinc_malloc::allocate_aligned<float>(K * lanes);
    if (!packed) return false;
    pack_a_transposed(trans_a, M, K, A, lda, lanes, packed.get());
    Product p{M, N, K, alpha, packed.get(), lanes, kc, B, ldb, beta, C, ldc, bias};
    auto body = [&](index_t t0, index_t t1) { run_tiles(p, t0, t1); };
    if (split)
        thinc_parallel::parallel_for(tiles, std::max<index_t>(1, CHUNK_MACS / (B_ROWS * lanes * K)), 1, body);
    else
        body(0, tiles);
    return true;
}

#else
inline bool multiply(bool, index_t, index_t, index_t, float, const float*, index_t, const float*, index_t,
                     float, float*, index_t, const float*, bool = false) {
    return false;
}
#endif

// The same for the products that takes() accepts; false, with C untouched,
// for the others.
inline bool sgemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                  index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                  const float* bias, bool split = false) {
    return takes(M, N, K, trans_b, split) &&
           multiply(trans_a, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, split);
}

}  // namespace thinc_gemm_rows_of_b
