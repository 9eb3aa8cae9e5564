// Opt-in reduced-precision float32 gemm for inference: op(A) and op(B) are
// rounded to bfloat16 (to nearest, ties to even) as they are packed, and
// AVX-512 BF16's dot-product instruction multiplies pairs of them, adding
// into float32 sums. Each instruction does twice the multiply-adds of a
// float32 FMA; the products lose the 16 low bits of each operand's mantissa
// (a relative error up to 2^-9 each), the sums keep float32's.
//
// Layout: k is taken two at a time. A panel of op(B) holds, for each pair of
// k, 32 columns of (k, k+1) bf16 pairs; a panel of op(A) the same for 6 rows.
// A pair is one 32-bit lane, which the instruction splits in two.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "thinc_amx.hh"
#include "thinc_isa.hh"
#include "thinc_malloc.hh"
#include "thinc_parallel.hh"

// The kernels need the AVX-512 BF16 and AMX intrinsics: the compilers thinc_amx.hh
// accepts (gcc 11, clang 12); elsewhere every entry point says "not here" and
// gemm stays float32.
#if defined(THINC_AMX_KERNELS)
#define THINC_BF16_KERNELS 1
#endif

namespace thinc_gemm_bf16 {

typedef int64_t index_t;

typedef thinc_malloc::Aligned<uint32_t> Pairs;

inline bool cpu_has_bf16() {
#if defined(THINC_BF16_KERNELS)
    static const bool value = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
                              __builtin_cpu_supports("avx512vl");
    return value;
#else
    return false;
#endif
}

// Runs where the CPU has AVX-512 BF16 and the active level (THINC_ISA) is AVX-512.
inline bool available() {
    return cpu_has_bf16() && thinc_isa::active() >= thinc_isa::AVX512;
}

namespace amx {
// The CPU (and OS) can run bf16 tiles, and no test has turned them off.
inline bool available() {
    return cpu_has_bf16() && thinc_amx::usable(thinc_amx::BF16);
}
}  // namespace amx

// Products with fewer rows in op(A) stay float32: rounding all of op(B) then
// costs more than the bf16 product saves. On AMX tiles one row by 288x288 took
// 5 us in float32 and 20 us in bf16, and bf16 still lost at 13 rows; on the
// AVX-512 BF16 vectors (Zen 5, operands packed 16 x 16 pairs at a time) it
// wins from 12 rows (1.1-1.3x float32 there, 0.8-1.0x at 4-10).
constexpr index_t MIN_ROWS_TILES = 16;
constexpr index_t MIN_ROWS_VECTORS = 12;
inline index_t min_rows() {
    return amx::available() ? MIN_ROWS_TILES : MIN_ROWS_VECTORS;
}
inline bool takes(index_t M) {
    return M >= min_rows();
}

#if defined(THINC_BF16_KERNELS)
#define THINC_BF16_TARGET \
    __attribute__((target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512bf16")))

constexpr index_t MR = 6;    // rows of a tile
constexpr index_t NR = 32;   // columns of a tile (two zmm of float32 sums)
constexpr index_t KC = 256;  // depth of a packed block (even)
constexpr index_t MC = 144;  // rows of a packed block of op(A) (a multiple of MR)
// Columns of op(B) packed at once: at most ~2 MB of bf16 pairs.
constexpr index_t PACKED_B_PAIRS = index_t(1) << 19;
// Below this many multiply-adds the product runs on the calling thread.
constexpr index_t PARALLEL_MACS = index_t(1) << 21;

// Multiply-adds from which a product splits over threads (THINC_PARALLEL_GRAIN,
// or a test, sets it as for the other kernels).
inline double parallel_threshold() {
    index_t override_macs = thinc_parallel::grain_override().load(std::memory_order_relaxed);
    return static_cast<double>(override_macs > 0 ? override_macs : PARALLEL_MACS);
}

// float32 -> bfloat16, to nearest with ties to even; NaN stays NaN (quiet).
inline uint16_t to_bf16(float x) {
    uint32_t bits;
    std::memcpy(&bits, &x, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>(bits >> 16);
}

// Element (k, w) of a matrix view: at base[k * k_step + w * w_step].
struct View {
    const float* base;
    index_t k_step, w_step;
    float at(index_t k, index_t w) const { return base[k * k_step + w * w_step]; }
};

// Sixteen rows of sixteen 32-bit lanes, transposed in registers: row i lane j
// becomes row j lane i (pairs within 128-bit lanes, then 64-bit halves, then
// the 128-bit lanes themselves, four at a time).
THINC_BF16_TARGET inline void transpose_16x16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    // s[4g + q]: 128-bit lane L holds lane 4L + q of rows 4g .. 4g + 3.
    __m512i s[16];
    for (int g = 0; g < 4; ++g) {
        const __m512i* u = t + 4 * g;
        s[4 * g + 0] = _mm512_unpacklo_epi64(u[0], u[2]);
        s[4 * g + 1] = _mm512_unpackhi_epi64(u[0], u[2]);
        s[4 * g + 2] = _mm512_unpacklo_epi64(u[1], u[3]);
        s[4 * g + 3] = _mm512_unpackhi_epi64(u[1], u[3]);
    }
    for (int q = 0; q < 4; ++q) {
        __m512i low01 = _mm512_shuffle_i32x4(s[q], s[4 + q], 0x44);
        __m512i high01 = _mm512_shuffle_i32x4(s[q], s[4 + q], 0xee);
        __m512i low23 = _mm512_shuffle_i32x4(s[8 + q], s[12 + q], 0x44);
        __m512i high23 = _mm512_shuffle_i32x4(s[8 + q], s[12 + q], 0xee);
        r[q] = _mm512_shuffle_i32x4(low01, low23, 0x88);
        r[4 + q] = _mm512_shuffle_i32x4(low01, low23, 0xdd);
        r[8 + q] = _mm512_shuffle_i32x4(high01, high23, 0x88);
        r[12 + q] = _mm512_shuffle_i32x4(high01, high23, 0xdd);
    }
}

// Packs `depth` k (from k0) x `width` w (from w0) of a view into pairs for a
// panel `lanes` wide: out[kp * lanes + w] = (v(2kp, w), v(2kp+1, w)), zero
// past `depth` and `width`. One of the view's steps is 1 (a row-major operand,
// transposed or not): where w is contiguous, 16 columns of two k are rounded
// at once and interleaved; where k is (X @ W.T's both operands), 32 k of each
// of 16 w are rounded at once and the 16 x 16 pairs transposed in registers.
THINC_BF16_TARGET inline void pack_pairs(const View& v, index_t k0, index_t depth, index_t w0, index_t width,
                                         index_t lanes, uint32_t* out) {
    index_t pairs = (depth + 1) / 2;
    if (v.w_step == 1) {
        const __m512i interleave =
            _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                             5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
        for (index_t kp = 0; kp < pairs; ++kp) {
            index_t k = k0 + 2 * kp;
            bool second = 2 * kp + 1 < depth;
            const float* row0 = v.base + k * v.k_step + w0;
            const float* row1 = row0 + v.k_step;
            uint32_t* target = out + kp * lanes;
            for (index_t w = 0; w < lanes; w += 16) {
                __mmask16 mask = thinc_isa::first_of_16(width - w);
                __m512 low = _mm512_maskz_loadu_ps(mask, row0 + w);
                __m512 high = second ? _mm512_maskz_loadu_ps(mask, row1 + w) : _mm512_setzero_ps();
                __m512i both = (__m512i)_mm512_cvtne2ps_pbh(high, low);
                __m512i pairs16 = _mm512_permutexvar_epi16(interleave, both);
                if (lanes - w >= 16) {
                    _mm512_storeu_si512(target + w, pairs16);
                } else {
                    _mm512_mask_storeu_epi32(target + w, thinc_isa::first_of_16(lanes - w), pairs16);
                }
            }
        }
        return;
    }
    for (index_t w = 0; w < lanes; w += 16) {
        index_t rows = std::max<index_t>(0, std::min<index_t>(16, width - w));
        __mmask16 keep = thinc_isa::first_of_16(lanes - w);
        const float* first = v.base + (w0 + w) * v.w_step + k0;
        for (index_t k = 0; k < depth; k += 32) {
            index_t left = std::min<index_t>(32, depth - k);
            __mmask16 mask0 = thinc_isa::first_of_16(left);
            __mmask16 mask1 = thinc_isa::first_of_16(left - 16);
            // Row i: 32 bf16 of w + i in k order, i.e. 16 (k, k+1) pairs.
            __m512i r[16];
            for (index_t i = 0; i < 16; ++i) {
                if (i < rows) {
                    const float* source = first + i * v.w_step + k;
                    __m512 low = _mm512_maskz_loadu_ps(mask0, source);
                    __m512 high = _mm512_maskz_loadu_ps(mask1, source + 16);
                    r[i] = (__m512i)_mm512_cvtne2ps_pbh(high, low);
                } else {
                    r[i] = _mm512_setzero_si512();
                }
            }
            transpose_16x16(r);
            index_t n_pairs = (left + 1) / 2;
            for (index_t t = 0; t < n_pairs; ++t)
                _mm512_mask_storeu_epi32(out + (k / 2 + t) * lanes + w, keep, r[t]);
        }
    }
}

// Writes rows of a 32-column tile of C from its float32 sums: alpha * sums +
// beta * C (+ bias), touching only the n columns that exist, and never
// reading C when beta is 0 (it may hold NaN).
struct RowWriter {
    __m512 scale, keep, bias_left, bias_right;
    __mmask16 left_mask, right_mask;
    bool reads_c, adds_bias;

    THINC_TARGET_AVX512 RowWriter(float alpha, float beta, index_t n, const float* bias)
        : scale(_mm512_set1_ps(alpha)), keep(_mm512_set1_ps(beta)), reads_c(beta != 0.0f), adds_bias(bias) {
        index_t right = n - 16;
        left_mask = thinc_isa::first_of_16(n);
        right_mask = thinc_isa::first_of_16(right);
        bias_left = bias ? _mm512_maskz_loadu_ps(left_mask, bias) : _mm512_setzero_ps();
        bias_right = bias ? _mm512_maskz_loadu_ps(right_mask, bias + 16) : _mm512_setzero_ps();
    }

    THINC_TARGET_AVX512 void write(float* row, __m512 sums_left, __m512 sums_right) const {
        __m512 low = _mm512_mul_ps(scale, sums_left);
        __m512 high = _mm512_mul_ps(scale, sums_right);
        if (reads_c) {
            low = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(left_mask, row), low);
            high = _mm512_fmadd_ps(keep, _mm512_maskz_loadu_ps(right_mask, row + 16), high);
        }
        if (adds_bias) {
            low = _mm512_add_ps(low, bias_left);
            high = _mm512_add_ps(high, bias_right);
        }
        _mm512_mask_storeu_ps(row, left_mask, low);
        _mm512_mask_storeu_ps(row + 16, right_mask, high);
    }
};

// C tile (m <= 6 rows, n <= 32 columns) = alpha * sums + beta * C (+ bias),
// with the sums over `pairs` k pairs of packed A (6 lanes) and B (32 lanes).
THINC_BF16_TARGET inline void micro_kernel(index_t pairs, const uint32_t* a, const uint32_t* b, float* c,
                                           index_t ldc, float alpha, float beta, index_t m, index_t n,
                                           const float* bias) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (index_t kp = 0; kp < pairs; ++kp) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 16);
        __m512bh ai;
        ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[0]));
        c00 = _mm512_dpbf16_ps(c00, ai, b0);
        c01 = _mm512_dpbf16_ps(c01, ai, b1);
        ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[1]));
        c10 = _mm512_dpbf16_ps(c10, ai, b0);
        c11 = _mm512_dpbf16_ps(c11, ai, b1);
        ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[2]));
        c20 = _mm512_dpbf16_ps(c20, ai, b0);
        c21 = _mm512_dpbf16_ps(c21, ai, b1);
        ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[3]));
        c30 = _mm512_dpbf16_ps(c30, ai, b0);
        c31 = _mm512_dpbf16_ps(c31, ai, b1);
        ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[4]));
        c40 = _mm512_dpbf16_ps(c40, ai, b0);
        c41 = _mm512_dpbf16_ps(c41, ai, b1);
        ai = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[5]));
        c50 = _mm512_dpbf16_ps(c50, ai, b0);
        c51 = _mm512_dpbf16_ps(c51, ai, b1);
        a += MR;
        b += NR;
    }
    __m512 rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    RowWriter writer(alpha, beta, n, bias);
    for (index_t i = 0; i < m; ++i) writer.write(c + i * ldc, rows[i][0], rows[i][1]);
}

// ---------------------------------------------------------------------------
// AMX: a tile instruction multiplies a 16x32 bf16 tile of op(A) by a 32x16 one
// of op(B) (as 16 rows of (k, k+1) pairs), adding into a 16x16 float32 tile:
// 8192 multiply-adds an instruction. A 32x32 block of C is four such tiles.

#define THINC_AMX_TARGET \
    __attribute__((      \
        target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512bf16,amx-tile,amx-bf16")))

namespace amx {

constexpr index_t BLOCK = thinc_amx::BLOCK;  // rows and columns of C per four-tile block
constexpr index_t KT = 32;                   // k per tile step

// Rows [i0, i0 + rows) of op(A), all k (padded with zeros to k_tiles * 32), as
// tiles: [k tile][half][16 rows][32 bf16].
THINC_AMX_TARGET inline void pack_a(const View& a, index_t K, index_t i0, index_t rows, index_t k_tiles,
                                    uint16_t* out) {
    for (index_t r = 0; r < BLOCK; ++r) {
        index_t half = r / 16, within = r % 16;
        for (index_t kt = 0; kt < k_tiles; ++kt) {
            uint16_t* target = out + ((kt * 2 + half) * 16 + within) * KT;
            index_t k = kt * KT, left = r < rows ? std::max<index_t>(0, std::min(KT, K - k)) : 0;
            if (left == 0) {
                _mm512_storeu_si512(target, _mm512_setzero_si512());
            } else if (a.k_step == 1) {
                const float* source = a.base + (i0 + r) * a.w_step + k;
                __mmask16 mask0 = thinc_isa::first_of_16(left);
                __mmask16 mask1 = thinc_isa::first_of_16(left - 16);
                __m512 low = _mm512_maskz_loadu_ps(mask0, source);
                __m512 high = _mm512_maskz_loadu_ps(mask1, source + 16);
                _mm512_storeu_si512(target, (__m512i)_mm512_cvtne2ps_pbh(high, low));
            } else {
                for (index_t t = 0; t < KT; ++t) target[t] = t < left ? to_bf16(a.at(k + t, i0 + r)) : 0;
            }
        }
    }
}

// Columns [j0, j0 + cols) of op(B), all k, as tiles of pairs:
// [32-column block][k tile][half][16 k pairs][16 columns] (32-bit pairs).
THINC_AMX_TARGET inline void pack_b(const View& b, index_t K, index_t j0, index_t cols, index_t k_tiles,
                                    uint32_t* out) {
    index_t n_blocks = (cols + BLOCK - 1) / BLOCK;
    for (index_t block = 0; block < n_blocks; ++block) {
        for (index_t kt = 0; kt < k_tiles; ++kt) {
            index_t k = kt * KT, depth = std::min(KT, K - k);
            for (index_t half = 0; half < 2; ++half) {
                uint32_t* tile = out + ((block * k_tiles + kt) * 2 + half) * 256;
                index_t first = block * BLOCK + half * 16;
                index_t width = std::max<index_t>(0, std::min<index_t>(16, cols - first));
                if (depth < KT) std::memset(tile, 0, 256 * sizeof(uint32_t));
                pack_pairs(b, k, depth, j0 + first, width, 16, tile);
            }
        }
    }
}

// The bf16 product as thinc_amx::run drives it.
struct Tiles {
    const View& a;
    const View& b;
    index_t K;
    float alpha, beta;
    float* C;
    index_t ldc;
    const float* bias;

    THINC_AMX_TARGET void pack_a(index_t i0, index_t rows, index_t k_tiles, uint8_t* out) const {
        amx::pack_a(a, K, i0, rows, k_tiles, reinterpret_cast<uint16_t*>(out));
    }
    THINC_AMX_TARGET void pack_b(index_t j0, index_t cols, index_t k_tiles, uint8_t* out) const {
        amx::pack_b(b, K, j0, cols, k_tiles, reinterpret_cast<uint32_t*>(out));
    }
    THINC_AMX_TARGET static void multiply_four() {
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    // alpha, beta and bias applied as the AVX-512 BF16 kernel applies them.
    THINC_AMX_TARGET void write_block(const uint8_t* sums, index_t i0, index_t m, index_t j,
                                      index_t n) const {
        const float* tiles = reinterpret_cast<const float*>(sums);
        RowWriter writer(alpha, beta, n, bias ? bias + j : nullptr);
        for (index_t r = 0; r < m; ++r) {
            const float* row = tiles + (r / 16) * 2 * 256 + (r % 16) * 16;
            writer.write(C + (i0 + r) * ldc + j, _mm512_loadu_ps(row), _mm512_loadu_ps(row + 256));
        }
    }
};

// The product on tiles; all of K is summed in the tiles before C is written.
THINC_AMX_TARGET inline bool sgemm(const View& a_view, const View& b_view, index_t M, index_t N, index_t K,
                                   float alpha, float beta, float* C, index_t ldc, const float* bias) {
    double macs = double(M) * double(N) * double(K);
    // Tiles do 16x the work of float32 vectors: only far larger products split.
    bool parallel = macs >= 16.0 * parallel_threshold() && thinc_parallel::num_threads() > 1;
    Tiles product{a_view, b_view, K, alpha, beta, C, ldc, bias};
    return thinc_amx::run(product, M, N, (K + KT - 1) / KT, parallel);
}

}  // namespace amx

// C = alpha * op(A) @ op(B) + beta * C (+ bias on every row), row-major, with
// bf16-rounded operands. Returns false, C untouched, where the CPU lacks
// AVX-512 BF16 or memory could not be had. Each element's pairs are summed
// in one order whatever the thread split, so the split changes no bits.
THINC_BF16_TARGET inline bool sgemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
                                    const float* A, index_t lda, const float* B, index_t ldb, float beta,
                                    float* C, index_t ldc, const float* bias) {
    if (M <= 0 || N <= 0) return true;
    if (!available()) return false;
    if (K <= 0 || alpha == 0.0f) return false;  // the caller's float32 path has no product to round
    View a_view{A, trans_a ? lda : 1, trans_a ? 1 : lda};  // op(A)(i, k): w = i
    View b_view{B, trans_b ? 1 : ldb, trans_b ? ldb : 1};  // op(B)(k, j): w = j
    if (amx::available()) return amx::sgemm(a_view, b_view, M, N, K, alpha, beta, C, ldc, bias);
    index_t kc_max = std::min(KC, (K + 1) / 2 * 2);
    index_t pairs_max = kc_max / 2;
    index_t panels_max = std::max<index_t>(1, PACKED_B_PAIRS / (pairs_max * NR));
    index_t nc_max = std::min(panels_max * NR, (N + NR - 1) / NR * NR);
    double macs = double(M) * double(N) * double(K);
    bool parallel = macs >= parallel_threshold() && thinc_parallel::num_threads() > 1;
    int n_slots = parallel ? thinc_parallel::num_threads() : 1;
    index_t a_pairs = pairs_max * MC;
    Pairs packed_b = thinc_malloc::allocate_aligned<uint32_t>(pairs_max * nc_max);
    Pairs packed_a = thinc_malloc::allocate_aligned<uint32_t>(a_pairs * n_slots);
    if (!packed_b || !packed_a) return false;
    for (index_t j0 = 0; j0 < N; j0 += nc_max) {
        index_t nc = std::min(nc_max, N - j0);
        index_t n_panels = (nc + NR - 1) / NR;
        for (index_t k0 = 0; k0 < K; k0 += kc_max) {
            index_t kc = std::min(kc_max, K - k0);
            index_t pairs = (kc + 1) / 2;
            float block_beta = k0 == 0 ? beta : 1.0f;
            bool with_bias = k0 == 0 && bias != nullptr;
            for (index_t p = 0; p < n_panels; ++p)
                pack_pairs(b_view, k0, kc, j0 + p * NR, std::min(NR, nc - p * NR), NR,
                           packed_b.get() + p * pairs * NR);
            index_t n_blocks = (M + MC - 1) / MC;
            auto rows = [&](index_t begin, index_t end) {
                int slot = parallel ? thinc_parallel::this_thread_slot() % n_slots : 0;
                uint32_t* a = packed_a.get() + slot * a_pairs;
                for (index_t block = begin; block < end; ++block) {
                    index_t i0 = block * MC, mc = std::min(MC, M - i0);
                    for (index_t i = 0; i < mc; i += MR)
                        pack_pairs(a_view, k0, kc, i0 + i, std::min(MR, mc - i), MR, a + i * pairs);
                    for (index_t p = 0; p < n_panels; ++p) {
                        index_t j = p * NR;
                        const uint32_t* b = packed_b.get() + p * pairs * NR;
                        for (index_t i = 0; i < mc; i += MR)
                            micro_kernel(pairs, a + i * pairs, b, C + (i0 + i) * ldc + j0 + j, ldc, alpha,
                                         block_beta, std::min(MR, mc - i), std::min(NR, nc - j),
                                         with_bias ? bias + j0 + j : nullptr);
                    }
                }
            };
            if (parallel)
                thinc_parallel::parallel_for(n_blocks, 1, 1, rows);
            else
                rows(0, n_blocks);
        }
    }
    return true;
}
#else
inline bool sgemm(bool, bool, index_t, index_t, index_t, float, const float*, index_t, const float*, index_t,
                  float, float*, index_t, const float*) {
    return false;
}
#endif

}  // namespace thinc_gemm_bf16
