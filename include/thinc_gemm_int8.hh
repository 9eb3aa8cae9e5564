// Opt-in int8 float32 gemm for inference: each row of op(A) and each column
// of op(B) is scaled by 127 over its largest magnitude and rounded to an
// integer in [-127, 127] (symmetric, to nearest, ties to even), AVX-512
// VNNI's byte dot-product instruction sums the products exactly in int32,
// and C gets the sums times both scales. One instruction does four times the
// multiply-adds of a float32 FMA; each operand keeps about 8 bits.
//
// The instruction multiplies unsigned bytes by signed ones, so op(A) is
// stored shifted by 128 (1..255) and 128 times each column's sum of op(B) is
// taken off again: sum((a + 128) * b) - 128 * sum(b) = sum(a * b).
//
// Layout: k is taken four at a time. A panel of op(B) holds, for each quad of
// k, 32 columns of four bytes; a panel of op(A) the same for 6 rows. A quad
// is one 32-bit lane, which the instruction splits in four.
#pragma once
#include <algorithm>
#include <atomic>
#include <cfloat>
#include <cstdint>
#include <cstring>

#include "thinc_amx.hh"
#include "thinc_isa.hh"
#include "thinc_malloc.hh"
#include "thinc_parallel.hh"

// The kernel needs a compiler with the AVX-512 VNNI intrinsics (gcc 9,
// clang 9); elsewhere every entry point says "not here" and gemm stays float32.
#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 9) || \
                            (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 9))
#define THINC_INT8_KERNELS 1
#include <immintrin.h>
#endif

namespace thinc_gemm_int8 {

typedef int64_t index_t;

inline bool cpu_has_vnni() {
#if defined(THINC_INT8_KERNELS)
    static const bool value = __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
                              __builtin_cpu_supports("avx512vl");
    return value;
#else
    return false;
#endif
}

// Products with fewer rows in op(A) stay float32: quantizing all of op(B)
// costs as much as the product then (one thread, x 96 @ 96 x 288: 0.89x of
// float32 at 16 rows, level at 32, 1.26x at 48; x 288 @ 288 x 288 likewise).
constexpr index_t MIN_ROWS = 32;
// |sum((a + 128) * b)| <= K * 255 * 127 must stay inside int32.
constexpr index_t MAX_K = index_t(1) << 16;
inline bool takes(index_t M, index_t K) {
    return M >= MIN_ROWS && K <= MAX_K;
}

// Runs where the CPU has AVX-512 VNNI and the active level (THINC_ISA) is AVX-512.
inline bool available() {
    return cpu_has_vnni() && thinc_isa::active() >= thinc_isa::AVX512;
}

#if defined(THINC_INT8_KERNELS)
#define THINC_INT8_TARGET \
    __attribute__((target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512vnni")))

constexpr index_t MR = 6;   // rows of a tile
constexpr index_t NR = 32;  // columns of a tile (two zmm of int32 sums)
// Bytes of op(B) packed at once, and of a block of op(A) per thread: all of
// K is summed before C is written, so blocks are narrower where K is deep.
constexpr index_t PACKED_B_BYTES = index_t(1) << 20;
constexpr index_t PACKED_A_BYTES = index_t(1) << 18;
constexpr index_t MC_MAX = 144;
// Below this many multiply-adds the product runs on the calling thread.
constexpr index_t PARALLEL_MACS = index_t(1) << 21;

inline double parallel_threshold() {
    index_t override_macs = thinc_parallel::grain_override().load(std::memory_order_relaxed);
    return static_cast<double>(override_macs > 0 ? override_macs : PARALLEL_MACS);
}

// Element (k, w) of a matrix view: at base[k * k_step + w * w_step]; one of
// the steps is 1 (a row-major operand, transposed or not).
struct View {
    const float* base;
    index_t k_step, w_step;
};

inline __mmask16 first_lanes(index_t count) {
    return count >= 16 ? __mmask16(0xffff) : (count > 0 ? __mmask16((1u << count) - 1) : __mmask16(0));
}

// out[w] = the largest |v(k, w)| over all k, for w in [0, width). False where
// any element is inf or NaN: a scale cannot represent them, so the caller's
// float32 path runs instead. Magnitudes are compared as their bit patterns
// (monotonic for non-negative floats; inf and NaN sort above every finite).
THINC_INT8_TARGET inline bool max_magnitudes(const View& v, index_t K, index_t width, float* out) {
    const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
    const uint32_t first_special = 0x7f800000u;
    if (v.k_step == 1) {
        for (index_t w = 0; w < width; ++w) {
            const float* source = v.base + w * v.w_step;
            __m512i largest = _mm512_setzero_si512();
            for (index_t k = 0; k < K; k += 16) {
                __m512i bits = _mm512_maskz_loadu_epi32(first_lanes(K - k), source + k);
                largest = _mm512_max_epu32(largest, _mm512_and_si512(bits, magnitude));
            }
            uint32_t top = _mm512_reduce_max_epu32(largest);
            if (top >= first_special) return false;
            std::memcpy(out + w, &top, 4);
        }
        return true;
    }
    for (index_t w = 0; w < width; w += 16) {
        __mmask16 mask = first_lanes(width - w);
        __m512i largest = _mm512_setzero_si512();
        for (index_t k = 0; k < K; ++k) {
            __m512i bits = _mm512_maskz_loadu_epi32(mask, v.base + k * v.k_step + w);
            largest = _mm512_max_epu32(largest, _mm512_and_si512(bits, magnitude));
        }
        if (_mm512_cmpge_epu32_mask(largest, _mm512_set1_epi32(int(first_special)))) return false;
        _mm512_mask_storeu_epi32(out + w, mask, largest);
    }
    return true;
}

// For each w: inverse[w] = 127 / largest (0 for an all-zero row or column) and
// scale[w] = factor * largest / 127. False where 127 / largest overflows
// (every magnitude subnormal): float32 runs such products.
inline bool scales_from(const float* largest, index_t width, float factor, float* inverse, float* scale) {
    for (index_t w = 0; w < width; ++w) {
        float top = largest[w];
        if (top == 0.0f) {
            inverse[w] = 0.0f;
            scale[w] = 0.0f;
            continue;
        }
        float inv = 127.0f / top;
        if (!(inv <= FLT_MAX)) return false;
        inverse[w] = inv;
        scale[w] = factor * (top / 127.0f);
    }
    return true;
}

// Quantizes `width` w (from w0) x all K of a view into a panel `lanes` wide:
// out[q * lanes + w] holds rint(v(4q + t, w) * inverse[w]) + offset in byte t;
// past K and past `width` the bytes hold `offset` (the value 0). With `sums`,
// sums[w] = the sum over k of the rounded values (before the offset).
THINC_INT8_TARGET inline void pack_quads(const View& v, const float* inverse, index_t K, index_t w0,
                                         index_t width, index_t lanes, int offset, uint32_t* out,
                                         int32_t* sums) {
    index_t quads = (K + 3) / 4;
    const __m512i shift = _mm512_set1_epi32(offset);
    if (v.k_step == 1) {
        const uint32_t pad = uint32_t(offset & 0xff) * 0x01010101u;
        for (index_t w = 0; w < lanes; ++w) {
            if (w >= width) {
                for (index_t q = 0; q < quads; ++q) out[q * lanes + w] = pad;
                if (sums) sums[w] = 0;
                continue;
            }
            const float* source = v.base + (w0 + w) * v.w_step;
            __m512 inv = _mm512_set1_ps(inverse[w0 + w]);
            __m512i total = _mm512_setzero_si512();
            for (index_t k = 0; k < K; k += 16) {
                __m512 x = _mm512_maskz_loadu_ps(first_lanes(K - k), source + k);
                __m512i rounded = _mm512_cvtps_epi32(_mm512_mul_ps(x, inv));
                total = _mm512_add_epi32(total, rounded);
                __m128i bytes = _mm512_cvtepi32_epi8(_mm512_add_epi32(rounded, shift));
                uint32_t* target = out + (k / 4) * lanes + w;
                index_t n_quads = quads - k / 4;
                target[0] = uint32_t(_mm_cvtsi128_si32(bytes));
                if (n_quads > 1) target[lanes] = uint32_t(_mm_extract_epi32(bytes, 1));
                if (n_quads > 2) target[2 * lanes] = uint32_t(_mm_extract_epi32(bytes, 2));
                if (n_quads > 3) target[3 * lanes] = uint32_t(_mm_extract_epi32(bytes, 3));
            }
            if (sums) sums[w] = _mm512_reduce_add_epi32(total);
        }
        return;
    }
    const __m512i low_byte = _mm512_set1_epi32(0xff);
    for (index_t w = 0; w < lanes; w += 16) {
        __mmask16 mask = first_lanes(width - w);
        __mmask16 store_mask = first_lanes(lanes - w);
        __m512 inv = _mm512_maskz_loadu_ps(mask, inverse + w0 + w);
        __m512i total = _mm512_setzero_si512();
        for (index_t q = 0; q < quads; ++q) {
            __m512i packed = _mm512_setzero_si512();
            for (index_t t = 0; t < 4; ++t) {
                index_t k = 4 * q + t;
                __m512i rounded = _mm512_setzero_si512();
                if (k < K) {
                    __m512 x = _mm512_maskz_loadu_ps(mask, v.base + k * v.k_step + w0 + w);
                    rounded = _mm512_cvtps_epi32(_mm512_mul_ps(x, inv));
                    total = _mm512_add_epi32(total, rounded);
                }
                __m512i byte = _mm512_and_si512(_mm512_add_epi32(rounded, shift), low_byte);
                packed = _mm512_or_si512(packed, _mm512_slli_epi32(byte, unsigned(8 * t)));
            }
            _mm512_mask_storeu_epi32(out + q * lanes + w, store_mask, packed);
        }
        if (sums) _mm512_mask_storeu_epi32(sums + w, store_mask, total);
    }
}

// Writes rows of a 32-column tile of C from its int32 sums:
// float(sums - shift_sums) * column_scale * row_scale + beta * C (+ bias),
// touching only the n columns that exist, never reading C when beta is 0.
struct RowWriter {
    __m512i shift_left, shift_right;
    __m512 column_left, column_right, keep, bias_left, bias_right;
    __mmask16 left_mask, right_mask;
    bool reads_c, adds_bias;

    THINC_INT8_TARGET RowWriter(const int32_t* shift_sums, const float* column_scale, float beta, index_t n,
                                const float* bias)
        : keep(_mm512_set1_ps(beta)),
          left_mask(first_lanes(n)),
          right_mask(first_lanes(n - 16)),
          reads_c(beta != 0.0f),
          adds_bias(bias) {
        shift_left = _mm512_maskz_loadu_epi32(left_mask, shift_sums);
        shift_right = _mm512_maskz_loadu_epi32(right_mask, shift_sums + 16);
        column_left = _mm512_maskz_loadu_ps(left_mask, column_scale);
        column_right = _mm512_maskz_loadu_ps(right_mask, column_scale + 16);
        bias_left = bias ? _mm512_maskz_loadu_ps(left_mask, bias) : _mm512_setzero_ps();
        bias_right = bias ? _mm512_maskz_loadu_ps(right_mask, bias + 16) : _mm512_setzero_ps();
    }

    // Each step rounds on its own (GCC would fuse the bias add into the
    // scaling), so every kernel and the documented arithmetic agree bit for bit.
    THINC_INT8_TARGET THINC_NO_FP_CONTRACT void write(float* row, float row_scale, __m512i sums_left,
                                                      __m512i sums_right) const {
        __m512 scale = _mm512_set1_ps(row_scale);
        __m512 low = _mm512_cvtepi32_ps(_mm512_sub_epi32(sums_left, shift_left));
        __m512 high = _mm512_cvtepi32_ps(_mm512_sub_epi32(sums_right, shift_right));
        low = _mm512_mul_ps(_mm512_mul_ps(low, column_left), scale);
        high = _mm512_mul_ps(_mm512_mul_ps(high, column_right), scale);
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

// The int32 sums of a tile (m <= 6 rows, 32 columns) over `quads` k quads of
// packed A (6 lanes, shifted bytes) and B (32 lanes, signed bytes), written
// to C through `writer`.
THINC_INT8_TARGET inline void micro_kernel(index_t quads, const uint32_t* a, const uint32_t* b, float* c,
                                           index_t ldc, const RowWriter& writer, const float* row_scale,
                                           index_t m) {
    __m512i c00 = _mm512_setzero_si512(), c01 = _mm512_setzero_si512();
    __m512i c10 = _mm512_setzero_si512(), c11 = _mm512_setzero_si512();
    __m512i c20 = _mm512_setzero_si512(), c21 = _mm512_setzero_si512();
    __m512i c30 = _mm512_setzero_si512(), c31 = _mm512_setzero_si512();
    __m512i c40 = _mm512_setzero_si512(), c41 = _mm512_setzero_si512();
    __m512i c50 = _mm512_setzero_si512(), c51 = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (index_t q = 0; q < quads; ++q) {
        __m512i b0 = _mm512_loadu_si512(b);
        __m512i b1 = _mm512_loadu_si512(b + 16);
        __m512i ai;
        ai = _mm512_set1_epi32(static_cast<int>(a[0]));
        c00 = _mm512_dpbusd_epi32(c00, ai, b0);
        c01 = _mm512_dpbusd_epi32(c01, ai, b1);
        ai = _mm512_set1_epi32(static_cast<int>(a[1]));
        c10 = _mm512_dpbusd_epi32(c10, ai, b0);
        c11 = _mm512_dpbusd_epi32(c11, ai, b1);
        ai = _mm512_set1_epi32(static_cast<int>(a[2]));
        c20 = _mm512_dpbusd_epi32(c20, ai, b0);
        c21 = _mm512_dpbusd_epi32(c21, ai, b1);
        ai = _mm512_set1_epi32(static_cast<int>(a[3]));
        c30 = _mm512_dpbusd_epi32(c30, ai, b0);
        c31 = _mm512_dpbusd_epi32(c31, ai, b1);
        ai = _mm512_set1_epi32(static_cast<int>(a[4]));
        c40 = _mm512_dpbusd_epi32(c40, ai, b0);
        c41 = _mm512_dpbusd_epi32(c41, ai, b1);
        ai = _mm512_set1_epi32(static_cast<int>(a[5]));
        c50 = _mm512_dpbusd_epi32(c50, ai, b0);
        c51 = _mm512_dpbusd_epi32(c51, ai, b1);
        a += MR;
        b += NR;
    }
    __m512i rows[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (index_t i = 0; i < m; ++i) writer.write(c + i * ldc, row_scale[i], rows[i][0], rows[i][1]);
}

// The product on AVX-512 VNNI vectors, from the operands' inverses and
// scales (column_scale includes alpha).
THINC_INT8_TARGET inline bool vector_sgemm(const View& a_view, const View& b_view, index_t M, index_t N,
                                           index_t K, const float* row_inverse, const float* row_scale,
                                           const float* column_inverse, const float* column_scale, float beta,
                                           float* C, index_t ldc, const float* bias) {
    index_t quads = (K + 3) / 4;
    index_t panel_bytes = quads * 4;
    index_t nc_max = std::max(NR, PACKED_B_BYTES / (panel_bytes * NR) * NR);
    nc_max = std::min(nc_max, (N + NR - 1) / NR * NR);
    index_t mc_max = std::max(MR, std::min(MC_MAX, PACKED_A_BYTES / panel_bytes / MR * MR));
    double macs = double(M) * double(N) * double(K);
    bool parallel = macs >= parallel_threshold() && thinc_parallel::num_threads() > 1;
    int n_slots = parallel ? thinc_parallel::num_threads() : 1;
    index_t a_quads = quads * mc_max;
    thinc_malloc::Aligned<uint32_t> packed_b = thinc_malloc::allocate_aligned<uint32_t>(quads * nc_max);
    thinc_malloc::Aligned<int32_t> shift_sums = thinc_malloc::allocate_aligned<int32_t>(nc_max);
    thinc_malloc::Aligned<uint32_t> packed_a = thinc_malloc::allocate_aligned<uint32_t>(a_quads * n_slots);
    if (!packed_b || !shift_sums || !packed_a) return false;
    for (index_t j0 = 0; j0 < N; j0 += nc_max) {
        index_t nc = std::min(nc_max, N - j0);
        index_t n_panels = (nc + NR - 1) / NR;
        for (index_t p = 0; p < n_panels; ++p)
            pack_quads(b_view, column_inverse, K, j0 + p * NR, std::min(NR, nc - p * NR), NR, 0,
                       packed_b.get() + p * quads * NR, shift_sums.get() + p * NR);
        for (index_t j = 0; j < nc; ++j) shift_sums.get()[j] *= 128;
        index_t n_blocks = (M + mc_max - 1) / mc_max;
        auto rows = [&](index_t begin, index_t end) {
            int slot = parallel ? thinc_parallel::this_thread_slot() % n_slots : 0;
            uint32_t* a = packed_a.get() + slot * a_quads;
            for (index_t block = begin; block < end; ++block) {
                index_t i0 = block * mc_max, mc = std::min(mc_max, M - i0);
                for (index_t i = 0; i < mc; i += MR)
                    pack_quads(a_view, row_inverse, K, i0 + i, std::min(MR, mc - i), MR, 128, a + i * quads,
                               nullptr);
                for (index_t p = 0; p < n_panels; ++p) {
                    index_t j = p * NR;
                    RowWriter writer(shift_sums.get() + j, column_scale + j0 + j, beta, std::min(NR, nc - j),
                                     bias ? bias + j0 + j : nullptr);
                    const uint32_t* b = packed_b.get() + p * quads * NR;
                    for (index_t i = 0; i < mc; i += MR)
                        micro_kernel(quads, a + i * quads, b, C + (i0 + i) * ldc + j0 + j, ldc, writer,
                                     row_scale + i0 + i, std::min(MR, mc - i));
                }
            }
        };
        if (parallel)
            thinc_parallel::parallel_for(n_blocks, 1, 1, rows);
        else
            rows(0, n_blocks);
    }
    return true;
}

// ---------------------------------------------------------------------------
// AMX: a tile instruction multiplies a 16x64 int8 tile of op(A) by a 64x16
// one of op(B) (as 16 rows of k quads), adding into a 16x16 int32 tile:
// 16,384 multiply-adds an instruction. It takes signed bytes on both sides,
// so no shift. A 32x32 block of C is four such tiles.

namespace amx {

#if defined(THINC_AMX_KERNELS)
#define THINC_INT8_AMX_TARGET                                                              \
    __attribute__((                                                                        \
        target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512vnni,amx-tile," \
               "amx-int8")))

constexpr index_t BLOCK = thinc_amx::BLOCK;  // rows and columns of C per four-tile block
constexpr index_t KT = 64;                   // k per tile step

// Tests force the VNNI kernel on machines that have AMX.
inline std::atomic<bool>& disabled() {
    static std::atomic<bool> value{false};
    return value;
}

inline bool available() {
    return cpu_has_vnni() && thinc_amx::ready(thinc_amx::INT8) && !disabled().load(std::memory_order_relaxed);
}

// Rows [i0, i0 + rows) of op(A), k contiguous, quantized (no shift) into
// tiles [k tile][half][16 rows][64 bytes], zero past K and past `rows`.
THINC_INT8_AMX_TARGET inline void pack_a(const View& a, const float* inverse, index_t K, index_t i0,
                                         index_t rows, index_t k_tiles, int8_t* out) {
    for (index_t r = 0; r < BLOCK; ++r) {
        index_t half = r / 16, within = r % 16;
        const float* source = a.base + (i0 + r) * a.w_step;
        __m512 inv = _mm512_set1_ps(r < rows ? inverse[i0 + r] : 0.0f);
        for (index_t kt = 0; kt < k_tiles; ++kt) {
            int8_t* target = out + ((kt * 2 + half) * 16 + within) * KT;
            for (index_t c = 0; c < KT; c += 16) {
                index_t k = kt * KT + c;
                __mmask16 mask = r < rows ? first_lanes(K - k) : __mmask16(0);
                __m512 x = _mm512_maskz_loadu_ps(mask, source + k);
                _mm_storeu_si128(reinterpret_cast<__m128i*>(target + c),
                                 _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(x, inv))));
            }
        }
    }
}

// Columns [j0, j0 + cols) of op(B), quantized, as tiles of quads:
// [32-column block][k tile][half][16 k quads][16 columns].
THINC_INT8_AMX_TARGET inline void pack_b(const View& b, const float* inverse, index_t K, index_t j0,
                                         index_t cols, index_t k_tiles, uint32_t* out) {
    index_t n_blocks = (cols + BLOCK - 1) / BLOCK;
    for (index_t block = 0; block < n_blocks; ++block) {
        for (index_t kt = 0; kt < k_tiles; ++kt) {
            index_t k = kt * KT, depth = std::min(KT, K - k);
            View rows_from_k{b.base + k * b.k_step, b.k_step, b.w_step};
            for (index_t half = 0; half < 2; ++half) {
                uint32_t* tile = out + ((block * k_tiles + kt) * 2 + half) * 256;
                index_t first = block * BLOCK + half * 16;
                index_t width = std::max<index_t>(0, std::min<index_t>(16, cols - first));
                if (depth < KT) std::memset(tile, 0, 256 * sizeof(uint32_t));
                pack_quads(rows_from_k, inverse, depth, j0 + first, width, 16, 0, tile, nullptr);
            }
        }
    }
}

// The int8 product as thinc_amx::run drives it.
struct Tiles {
    const View& a;
    const View& b;
    index_t K;
    const float *row_inverse, *row_scale, *column_inverse, *column_scale;
    float beta;
    float* C;
    index_t ldc;
    const float* bias;

    THINC_INT8_AMX_TARGET void pack_a(index_t i0, index_t rows, index_t k_tiles, uint8_t* out) const {
        amx::pack_a(a, row_inverse, K, i0, rows, k_tiles, reinterpret_cast<int8_t*>(out));
    }
    THINC_INT8_AMX_TARGET void pack_b(index_t j0, index_t cols, index_t k_tiles, uint8_t* out) const {
        amx::pack_b(b, column_inverse, K, j0, cols, k_tiles, reinterpret_cast<uint32_t*>(out));
    }
    THINC_INT8_AMX_TARGET static void multiply_four() {
        _tile_dpbssd(0, 4, 6);
        _tile_dpbssd(1, 4, 7);
        _tile_dpbssd(2, 5, 6);
        _tile_dpbssd(3, 5, 7);
    }
    THINC_INT8_AMX_TARGET void write_block(const uint8_t* sums, index_t i0, index_t m, index_t j,
                                           index_t n) const {
        static const int32_t no_shift[BLOCK] = {};
        const int32_t* tiles = reinterpret_cast<const int32_t*>(sums);
        RowWriter writer(no_shift, column_scale + j, beta, n, bias ? bias + j : nullptr);
        for (index_t r = 0; r < m; ++r) {
            const int32_t* row = tiles + (r / 16) * 2 * 256 + (r % 16) * 16;
            writer.write(C + (i0 + r) * ldc + j, row_scale[i0 + r], _mm512_loadu_si512(row),
                         _mm512_loadu_si512(row + 256));
        }
    }
};

// The product on tiles, for op(A) with k contiguous; all of K is summed in
// the tiles before C is written.
THINC_INT8_AMX_TARGET inline bool sgemm(const View& a_view, const View& b_view, index_t M, index_t N,
                                        index_t K, const float* row_inverse, const float* row_scale,
                                        const float* column_inverse, const float* column_scale, float beta,
                                        float* C, index_t ldc, const float* bias) {
    double macs = double(M) * double(N) * double(K);
    // Tiles do 16x the work of float32 vectors: only far larger products split.
    bool parallel = macs >= 16.0 * parallel_threshold() && thinc_parallel::num_threads() > 1;
    Tiles product{a_view,       b_view, K, row_inverse, row_scale, column_inverse,
                  column_scale, beta,   C, ldc,         bias};
    return thinc_amx::run(product, M, N, (K + KT - 1) / KT, parallel);
}
#else
inline bool available() {
    return false;
}
inline std::atomic<bool>& disabled() {
    static std::atomic<bool> value{false};
    return value;
}
#endif

}  // namespace amx

// C = alpha * op(A) @ op(B) + beta * C (+ bias on every row), row-major, with
// int8-quantized operands: on AMX tiles where the CPU has AMX-INT8 and op(A)
// is k-contiguous, else on AVX-512 VNNI vectors. Returns false, C untouched,
// where the CPU lacks AVX-512 VNNI, K is past MAX_K, an operand holds inf or
// NaN (or only subnormal magnitudes in a row or column), or memory could not
// be had. Every element's sum is exact, so neither the kernel, the thread
// split nor the blocking changes a bit.
THINC_INT8_TARGET inline bool sgemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha,
                                    const float* A, index_t lda, const float* B, index_t ldb, float beta,
                                    float* C, index_t ldc, const float* bias) {
    if (M <= 0 || N <= 0) return true;
    if (!available()) return false;
    if (K <= 0 || K > MAX_K || alpha == 0.0f) return false;  // nothing to quantize, or sums past int32
    View a_view{A, trans_a ? lda : 1, trans_a ? 1 : lda};    // op(A)(i, k): w = i
    View b_view{B, trans_b ? 1 : ldb, trans_b ? ldb : 1};    // op(B)(k, j): w = j
    // Per row of op(A) and column of op(B): largest magnitude, inverse, scale.
    thinc_malloc::Aligned<float> row_values = thinc_malloc::allocate_aligned<float>(3 * M);
    thinc_malloc::Aligned<float> column_values = thinc_malloc::allocate_aligned<float>(3 * N);
    if (!row_values || !column_values) return false;
    float* row_inverse = row_values.get() + M;
    float* row_scale = row_values.get() + 2 * M;
    float* column_inverse = column_values.get() + N;
    float* column_scale = column_values.get() + 2 * N;
    if (!max_magnitudes(a_view, K, M, row_values.get()) || !max_magnitudes(b_view, K, N, column_values.get()))
        return false;
    if (!scales_from(row_values.get(), M, 1.0f, row_inverse, row_scale) ||
        !scales_from(column_values.get(), N, alpha, column_inverse, column_scale))
        return false;
    if (!trans_a && amx::available())
        return amx::sgemm(a_view, b_view, M, N, K, row_inverse, row_scale, column_inverse, column_scale, beta,
                          C, ldc, bias);
    return vector_sgemm(a_view, b_view, M, N, K, row_inverse, row_scale, column_inverse, column_scale, beta,
                        C, ldc, bias);
}
#else
namespace amx {
inline bool available() {
    return false;
}
inline std::atomic<bool>& disabled() {
    static std::atomic<bool> value{false};
    return value;
}
}  // namespace amx
inline bool sgemm(bool, bool, index_t, index_t, index_t, float, const float*, index_t, const float*, index_t,
                  float, float*, index_t, const float*) {
    return false;
}
#endif

}  // namespace thinc_gemm_int8
