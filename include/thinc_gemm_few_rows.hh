// Products with only a few rows in op(A): one doc's tokens through a layer,
// the parser's batch of one state. The packed kernel (thinc_gemm.hh) copies
// op(B) into panels before it multiplies, and with so few rows to reuse each
// panel that copy costs as much as the product. These kernels read A and B
// where they lie: rows of B as vectors when op(B) = B, dot products along
// rows of B when op(B) = B^T.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <utility>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "thinc_isa.hh"
#include "thinc_parallel.hh"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define THINC_GEMM_FEW_ROWS_X86 1
#endif

namespace thinc_gemm_few_rows {

typedef int64_t index_t;

// At most this many rows of op(A) take these kernels: timed on tok2vec- and
// parser-shaped products (K 64-1024, N 120-4096), they beat blis and the
// packed kernel up to 32 rows, and the packed kernel's panel reuse wins beyond.
// At the AVX2 level the packed kernel's 6x16 tile catches up sooner: op(B) = B
// of 64 columns or more takes these kernels up to 16 rows there (20-32 rows x
// 288-4096 columns ran up to 1.4x slower than packed; below 64 columns they
// still win, 24 columns 1.1-1.6x).
constexpr index_t MAX_ROWS = 32;
constexpr index_t MAX_ROWS_AVX2 = 16;
constexpr index_t WIDE_COLUMNS_AVX2 = 64;
// With op(B) = B, a product of more than MAX_MACS goes to the packed kernel
// when B is larger than three quarters of this core's L2 (max_b_floats):
// every group of six rows reads all of B again, from L3 then (on a 2 MB L2,
// 24 rows x 1024 x 512 ran 1.1x slower than packing, 32 x 1024 x 384 1.4x
// faster). AMD's AVX-512 cores are the exception (l3_refeeds_cheaply below).
constexpr index_t MAX_MACS = index_t(1) << 22;
// With op(B) = B^T the packed kernel's transposing pack pays from a few rows
// on; the dot products keep narrow products and, the deeper K, the more rows
// (few-rows / packed time over M 1-16 x N 24-1024 x K 16-384, one thread):
// - AVX-512: all rows below 32 columns, and below 64 columns at depth 64 or
//   more; otherwise up to 3 rows, 4 from depth 32, 8 from 64, 12 from 256
//   (6 x 288 x 32: 1.5x slower than packed, 8 x 288 x 256: 1.6x faster).
// - AVX2: up to 16 rows below 16 columns; otherwise 2 rows, 3 from depth 96,
//   4 below 64 columns (6 x 64 x 64: 2.4x slower than packed).
constexpr index_t DOT_NARROW_COLUMNS = 64;
constexpr index_t DOT_DEEP_K = 256;
inline index_t dot_rows(index_t N, index_t K, bool wide) {
    if (wide) {
        if (N < 32 || (N < DOT_NARROW_COLUMNS && K >= 64)) return MAX_ROWS;
        index_t rows = K < 32 ? 3 : K < 64 ? 4 : K < DOT_DEEP_K ? 8 : 12;
        return N < DOT_NARROW_COLUMNS ? std::max<index_t>(rows, 8) : rows;
    }
    if (N < 16) return MAX_ROWS_AVX2;
    if (N < DOT_NARROW_COLUMNS) return 4;
    return K >= 96 ? 3 : 2;
}
// Bytes of one core's L2 as the OS reports it (1 MB where it does not: some
// VMs, aarch64); the packed kernel sizes its blocks of A by it too.
inline index_t l2_bytes() {
    static const index_t bytes = [] {
        long l2 = 0;
#if defined(_SC_LEVEL2_CACHE_SIZE)
        l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
        return static_cast<index_t>(l2 > 0 ? l2 : 1L << 20);
    }();
    return bytes;
}
inline index_t max_b_floats() {
    return l2_bytes() / 4 * 3 / static_cast<index_t>(sizeof(float));
}

// Whether reading B from L3 again for every six rows costs less than packing
// it: on AMD's AVX-512 cores (Zen 4: 1 MB L2, a fast L3 per core complex) the
// AVX-512 op(B) = B kernel beat the packed one at every size tried past L2
// (one thread, 8-32 rows x 1024-4096 x 512-1024: 1.05-1.85x faster; 16 x 1024
// x 288, the parser's step, 1.3x), where Intel's mesh L3 made 24 x 1024 x 512
// 1.1x slower. (Zen 4's AVX2 kernel, with half the registers, lost there.)
inline bool l3_refeeds_cheaply() {
#if defined(THINC_GEMM_FEW_ROWS_X86)
    static const bool amd = [] {
        __builtin_cpu_init();
        return __builtin_cpu_is("amd") != 0;
    }();
    return amd;
#else
    return false;
#endif
}

// The products these kernels take at the active level: the one rule for
// sgemm below and for the routing in cblas.pyx, which must not hand others to
// thinc_gemm::sgemm.
inline bool takes(index_t M, index_t N, index_t K, bool trans_b) {
    if (M < 1 || M > MAX_ROWS || N < 1 || K < 1) return false;
    bool wide = thinc_isa::active() >= thinc_isa::AVX512;
    if (trans_b) return M <= dot_rows(N, K, wide);
    if (!wide && M > MAX_ROWS_AVX2 && N >= WIDE_COLUMNS_AVX2) return false;
    return M * N * K <= MAX_MACS || N * K <= max_b_floats() || (wide && l3_refeeds_cheaply());
}
// Rows of op(A) handled together by the dot-product kernel (op(B) = B^T).
constexpr int ROW_GROUP = 4;
// Rows of B fetched ahead of the one multiplied (op(B) = B). Where ldb is a
// multiple of 4 KB, every row lands in the same few L1 sets and the hardware
// prefetcher, which stays within a page, does not follow: the parser's
// 16 x 384 @ 384 x 1024 ran 137 -> 93 us with it.
constexpr index_t PREFETCH_ROWS = 8;
// Multiply-adds a chunk of a product split over the thread pool holds at least.
constexpr index_t CHUNK_MACS = index_t(1) << 18;

#if defined(THINC_GEMM_FEW_ROWS_X86)

struct Product {
    index_t M, N, K;
    float alpha;
    const float* A;  // op(A), rows contiguous: M x K with row stride lda
    index_t lda;
    const float* B;
    index_t ldb;
    bool trans_b;
    float beta;
    float* C;
    index_t ldc;
    const float* bias;  // N floats added to every row, or null
};

// Each level's vector type and kernels, compiled for that level only, so that
// the AVX2 kernels hold no AVX-512 instruction.
#pragma GCC push_options
#pragma GCC target("avx2,fma")
namespace avx2 {
// The level's vector of floats, with masked access to the first n lanes so
// that no load or store passes the end of a row.
struct V {
    typedef __m256 vec;
    typedef __m256i mask;
    static constexpr index_t WIDTH = 8;
    static constexpr int COLUMN_VECTORS = 2;
    // Rows of C a tile of the op(B) = B kernel holds: 12 accumulators, two
    // vectors of B and a broadcast of A in the 16 ymm registers.
    static constexpr int TIMES_B_ROWS = 6;
    // Two vectors per 16 floats of k (see avx512::V::SPLIT), so one B row
    // per tile keeps the accumulators within the 16 ymm registers.
    static constexpr int B_ROWS = 1;
    static constexpr int SPLIT = 2;
    static mask first(index_t n) {
        const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        int count = n >= WIDTH ? int(WIDTH) : int(n);
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), lanes);
    }
    static vec zero() { return _mm256_setzero_ps(); }
    static vec set1(float x) { return _mm256_set1_ps(x); }
    static vec load(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
    static void store(float* p, vec v, mask m) { _mm256_maskstore_ps(p, m, v); }
    static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
};

#include "thinc_gemm_few_rows_body.hh"
}  // namespace avx2
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl")
namespace avx512 {
struct V {
    typedef __m512 vec;
    typedef __mmask16 mask;
    static constexpr index_t WIDTH = 16;
    // Vectors of B columns per tile in the op(B) = B kernel.
    static constexpr int COLUMN_VECTORS = 4;
    // Rows of C a tile of the op(B) = B kernel holds: 24 accumulators (29 of
    // the 32 zmm registers), so that B, read again from L2 at every pass down
    // the rows, is read fewer times: 4 -> 6 rows ran 10-25% faster at 6-32
    // rows (parser- and tok2vec-shaped B), at both levels.
    static constexpr int TIMES_B_ROWS = 6;
    // Rows of B per tile in the op(B) = B^T kernel.
    static constexpr int B_ROWS = 4;
    // Vectors per 16 floats of k in the dot products: every level sums k in
    // the same 16 lanes and reduces them alike, for the same bits.
    static constexpr int SPLIT = 1;
    static mask first(index_t n) { return n >= WIDTH ? mask(0xFFFF) : mask((1u << n) - 1); }
    static vec zero() { return _mm512_setzero_ps(); }
    static vec set1(float x) { return _mm512_set1_ps(x); }
    static vec load(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static void store(float* p, vec v, mask m) { _mm512_mask_storeu_ps(p, m, v); }
    static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
    // The two 8-lane halves added: lane l holds lanes l and l + 8.
    static __m256 halves(vec v) {
        return _mm256_add_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
    }
};

#include "thinc_gemm_few_rows_body.hh"
}  // namespace avx512
#pragma GCC pop_options

// C = alpha * op(A) @ op(B) + beta * C (+ bias), row-major, for any product
// of 1 to MAX_ROWS rows, whether or not takes() would route it here (the tests
// reach every shape through this). False, with C untouched, where the active
// level lacks AVX2 or memory for op(A)'s copy could not be had. With `split`
// (the caller's decision, thinc_gemm's worth_splitting), the product is
// divided by columns over the thread pool: each element is computed as on
// one thread, so the bits do not depend on it.
inline bool multiply(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                     index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                     const float* bias, bool split = false) {
    if (M < 1 || M > MAX_ROWS || N < 1 || K < 1) return false;
    int level = thinc_isa::active();
    if (level < thinc_isa::AVX2) return false;
    Product p{M, N, K, alpha, A, lda, B, ldb, trans_b, beta, C, ldc, bias};
    // op(A) = A^T has its rows strided by lda: copy them out (M x K, small).
    float* rows = nullptr;
    if (trans_a) {
        rows = static_cast<float*>(std::malloc(static_cast<size_t>(M * K) * sizeof(float)));
        if (rows == nullptr) return false;
        for (index_t k = 0; k < K; ++k)
            for (index_t i = 0; i < M; ++i) rows[i * K + k] = A[k * lda + i];
        p.A = rows;
        p.lda = K;
    }
    const bool wide = level >= thinc_isa::AVX512;
    index_t unit = wide ? avx512::column_unit(p) : avx2::column_unit(p);
    auto columns = [&](index_t u0, index_t u1) {
        index_t j_end = std::min(N, u1 * unit);
        if (wide)
            avx512::run_columns(p, u0 * unit, j_end);
        else
            avx2::run_columns(p, u0 * unit, j_end);
    };
    index_t units = (N + unit - 1) / unit;
    if (split)
        thinc_parallel::parallel_for(units, std::max<index_t>(1, CHUNK_MACS / (M * K * unit)), 1, columns);
    else
        columns(0, units);
    std::free(rows);
    return true;
}

#else
inline bool multiply(bool, bool, index_t, index_t, index_t, float, const float*, index_t, const float*,
                     index_t, float, float*, index_t, const float*, bool = false) {
    return false;
}
#endif

// The same for the products that takes() accepts; false, with C untouched,
// for the others, which the caller sends to the packed kernel.
inline bool sgemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                  index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                  const float* bias, bool split = false) {
    return takes(M, N, K, trans_b) &&
           multiply(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, split);
}

}  // namespace thinc_gemm_few_rows
