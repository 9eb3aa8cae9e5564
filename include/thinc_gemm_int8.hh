// Opt-in int8 float32 gemm for inference: each row of op(A) and each column
// of op(B) is scaled by 127 over its largest magnitude and rounded to an
// integer in [-127, 127] (symmetric, to nearest, ties to even), AVX-512
// VNNI's byte dot-product instruction sums the products exactly in int32,
// and C gets the sums times both scales. One instruction does four times the
// multiply-adds of a float32 FMA; each operand keeps about 8 bits. AMX-INT8
// tiles take the products where the CPU has them, and AVX-VNNI (the same
// instruction on 256-bit vectors) where it has no AVX-512; every kernel
// quantizes with the same float32 steps and sums exactly, so all give the
// same bits.
//
// The instruction multiplies unsigned bytes by signed ones, so op(A) is
// stored shifted by 128 (1..255) and 128 times each column's sum of op(B) is
// taken off again: sum((a + 128) * b) - 128 * sum(b) = sum(a * b).
//
// Layout: k is taken four at a time. A panel of op(B) holds, for each quad of
// k, NR columns of four bytes (32 with AVX-512, 16 with AVX-VNNI); a panel of
// op(A) the same for 6 rows. A quad is one 32-bit lane, which the instruction
// splits in four.
#pragma once
#include <algorithm>
#include <cfloat>
#include <cstdint>
#include <cstring>

#include "thinc_amx.hh"
#include "thinc_isa.hh"
#include "thinc_malloc.hh"
#include "thinc_parallel.hh"

// The kernels need the AVX-VNNI and AMX intrinsics: the compilers thinc_amx.hh
// accepts (gcc 11, clang 12); elsewhere every entry point says "not here" and
// gemm stays float32.
#if defined(THINC_AMX_KERNELS)
#define THINC_INT8_KERNELS 1
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

inline bool cpu_has_avx_vnni() {
#if defined(THINC_INT8_KERNELS)
    static const bool value =
        __builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
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

// The vectors int8 runs on at the active level (THINC_ISA): AVX-512 VNNI at
// AVX-512, else AVX-VNNI at AVX2 or above, else none (float32 stays).
enum Vectors : int { NO_VNNI = 0, AVX_VNNI = 1, AVX512_VNNI = 2 };
inline Vectors vectors() {
    int level = thinc_isa::active();
    if (cpu_has_vnni() && level >= thinc_isa::AVX512) return AVX512_VNNI;
    if (cpu_has_avx_vnni() && level >= thinc_isa::AVX2) return AVX_VNNI;
    return NO_VNNI;
}

inline bool available() {
    return vectors() != NO_VNNI;
}

namespace amx {
// The CPU (and OS) can run int8 tiles, and no test has turned them off.
inline bool available() {
    return cpu_has_vnni() && thinc_amx::usable(thinc_amx::INT8);
}
}  // namespace amx

#if defined(THINC_INT8_KERNELS)
constexpr index_t MR = 6;  // rows of a tile (its columns: two vectors, V::WIDTH each)
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

constexpr uint32_t FIRST_SPECIAL = 0x7f800000u;  // bits of inf; NaN's sort above

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

// Each level's vectors and kernels, compiled for that level only, so that
// the AVX-VNNI kernels hold no AVX-512 instruction.
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512vnni")
namespace avx512 {
// 16 lanes, masks of the first n; int32 lanes and their VNNI dot product.
struct V {
    typedef __m512 vec;
    typedef __m512i ivec;
    typedef __mmask16 mask;
    static constexpr index_t WIDTH = 16;
    static mask first(index_t n) { return thinc_isa::first_of_16(n); }
    static vec zero() { return _mm512_setzero_ps(); }
    static vec set1(float x) { return _mm512_set1_ps(x); }
    static vec load(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
    static void store(float* p, vec v, mask m) { _mm512_mask_storeu_ps(p, m, v); }
    static vec mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
    static vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
    static vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
    // The compiler sees x change here, so it cannot fuse what made x into
    // what uses it.
    static void rounded(vec& x) { __asm__("" : "+v"(x)); }
    static ivec izero() { return _mm512_setzero_si512(); }
    static ivec iset1(int32_t x) { return _mm512_set1_epi32(x); }
    static ivec iload(const void* p, mask m) { return _mm512_maskz_loadu_epi32(m, p); }
    static ivec iload_full(const uint32_t* p) { return _mm512_loadu_si512(p); }
    static void istore(void* p, ivec v, mask m) { _mm512_mask_storeu_epi32(p, m, v); }
    static ivec iadd(ivec a, ivec b) { return _mm512_add_epi32(a, b); }
    static ivec isub(ivec a, ivec b) { return _mm512_sub_epi32(a, b); }
    static ivec iand(ivec a, ivec b) { return _mm512_and_si512(a, b); }
    static ivec ior(ivec a, ivec b) { return _mm512_or_si512(a, b); }
    static ivec imax(ivec a, ivec b) { return _mm512_max_epi32(a, b); }
    static ivec shl(ivec a, int bits) { return _mm512_sllv_epi32(a, _mm512_set1_epi32(bits)); }
    static ivec round(vec x) { return _mm512_cvtps_epi32(x); }  // to nearest, ties to even
    static vec to_float(ivec x) { return _mm512_cvtepi32_ps(x); }
    static int32_t hmax(ivec x) { return _mm512_reduce_max_epi32(x); }
    static int32_t hsum(ivec x) { return _mm512_reduce_add_epi32(x); }
    static bool any_above(ivec x, int32_t limit, mask m) {
        return _mm512_mask_cmpgt_epi32_mask(m, x, _mm512_set1_epi32(limit)) != 0;
    }
    static ivec dot(ivec sums, ivec unsigned_bytes, ivec signed_bytes) {
        return _mm512_dpbusd_epi32(sums, unsigned_bytes, signed_bytes);
    }
    // The low byte of each lane, in lane order, as up to four quads:
    // target[0], target[stride], ...
    static void store_quads(ivec x, uint32_t* target, index_t stride, index_t count) {
        __m128i bytes = _mm512_cvtepi32_epi8(x);
        target[0] = uint32_t(_mm_cvtsi128_si32(bytes));
        if (count > 1) target[stride] = uint32_t(_mm_extract_epi32(bytes, 1));
        if (count > 2) target[2 * stride] = uint32_t(_mm_extract_epi32(bytes, 2));
        if (count > 3) target[3 * stride] = uint32_t(_mm_extract_epi32(bytes, 3));
    }
};
#include "thinc_gemm_int8_body.hh"
}  // namespace avx512
#pragma GCC pop_options

// AVX-VNNI: the same instruction on 256-bit vectors, for CPUs without AVX-512
// (Alder Lake and later client cores).
#pragma GCC push_options
#pragma GCC target("avx2,fma,avxvnni")
namespace avx_vnni {
struct V {
    typedef __m256 vec;
    typedef __m256i ivec;
    typedef __m256i mask;
    static constexpr index_t WIDTH = 8;
    static mask first(index_t n) {
        int lanes = int(std::max<index_t>(0, std::min<index_t>(WIDTH, n)));
        return _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    }
    static vec zero() { return _mm256_setzero_ps(); }
    static vec set1(float x) { return _mm256_set1_ps(x); }
    static vec load(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
    static void store(float* p, vec v, mask m) { _mm256_maskstore_ps(p, m, v); }
    static vec mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
    static vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
    static vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
    static void rounded(vec& x) { __asm__("" : "+x"(x)); }
    static ivec izero() { return _mm256_setzero_si256(); }
    static ivec iset1(int32_t x) { return _mm256_set1_epi32(x); }
    static ivec iload(const void* p, mask m) { return _mm256_maskload_epi32(static_cast<const int*>(p), m); }
    static ivec iload_full(const uint32_t* p) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    }
    static void istore(void* p, ivec v, mask m) { _mm256_maskstore_epi32(static_cast<int*>(p), m, v); }
    static ivec iadd(ivec a, ivec b) { return _mm256_add_epi32(a, b); }
    static ivec isub(ivec a, ivec b) { return _mm256_sub_epi32(a, b); }
    static ivec iand(ivec a, ivec b) { return _mm256_and_si256(a, b); }
    static ivec ior(ivec a, ivec b) { return _mm256_or_si256(a, b); }
    static ivec imax(ivec a, ivec b) { return _mm256_max_epi32(a, b); }
    static ivec shl(ivec a, int bits) { return _mm256_sllv_epi32(a, _mm256_set1_epi32(bits)); }
    static ivec round(vec x) { return _mm256_cvtps_epi32(x); }  // to nearest, ties to even
    static vec to_float(ivec x) { return _mm256_cvtepi32_ps(x); }
    static int32_t hmax(ivec x) {
        __m128i half = _mm_max_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
        half = _mm_max_epi32(half, _mm_shuffle_epi32(half, 0x4e));
        return _mm_cvtsi128_si32(_mm_max_epi32(half, _mm_shuffle_epi32(half, 0xb1)));
    }
    static int32_t hsum(ivec x) {
        __m128i half = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
        half = _mm_add_epi32(half, _mm_shuffle_epi32(half, 0x4e));
        return _mm_cvtsi128_si32(_mm_add_epi32(half, _mm_shuffle_epi32(half, 0xb1)));
    }
    static bool any_above(ivec x, int32_t limit, mask m) {
        return !_mm256_testz_si256(_mm256_cmpgt_epi32(x, _mm256_set1_epi32(limit)), m);
    }
    static ivec dot(ivec sums, ivec unsigned_bytes, ivec signed_bytes) {
        return _mm256_dpbusd_avx_epi32(sums, unsigned_bytes, signed_bytes);
    }
    // As avx512::V::store_quads, for up to two quads (one per 128-bit half).
    static void store_quads(ivec x, uint32_t* target, index_t stride, index_t count) {
        const __m256i low_bytes =
            _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1,
                             -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
        __m256i bytes = _mm256_shuffle_epi8(x, low_bytes);
        target[0] = uint32_t(_mm256_extract_epi32(bytes, 0));
        if (count > 1) target[stride] = uint32_t(_mm256_extract_epi32(bytes, 4));
    }
};
#include "thinc_gemm_int8_body.hh"
}  // namespace avx_vnni
#pragma GCC pop_options

// The product on VNNI vectors (AVX-512 where WIDE, else AVX-VNNI), from the
// operands' inverses and scales (column_scale includes alpha).
template <bool WIDE>
inline bool vector_sgemm(const View& a_view, const View& b_view, index_t M, index_t N, index_t K,
                         const float* row_inverse, const float* row_scale, const float* column_inverse,
                         const float* column_scale, float beta, float* C, index_t ldc, const float* bias) {
    constexpr index_t nr = WIDE ? avx512::NR : avx_vnni::NR;
    constexpr auto pack = WIDE ? avx512::pack_quads : avx_vnni::pack_quads;
    constexpr auto run_panel = WIDE ? avx512::run_panel : avx_vnni::run_panel;
    index_t quads = (K + 3) / 4;
    index_t panel_bytes = quads * 4;
    index_t nc_max = std::max(nr, PACKED_B_BYTES / (panel_bytes * nr) * nr);
    nc_max = std::min(nc_max, (N + nr - 1) / nr * nr);
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
        index_t n_panels = (nc + nr - 1) / nr;
        for (index_t p = 0; p < n_panels; ++p)
            pack(b_view, column_inverse, K, j0 + p * nr, std::min(nr, nc - p * nr), nr, 0,
                 packed_b.get() + p * quads * nr, shift_sums.get() + p * nr);
        for (index_t j = 0; j < nc; ++j) shift_sums.get()[j] *= 128;
        index_t n_blocks = (M + mc_max - 1) / mc_max;
        auto rows = [&](index_t begin, index_t end) {
            int slot = parallel ? thinc_parallel::this_thread_slot() % n_slots : 0;
            uint32_t* a = packed_a.get() + slot * a_quads;
            for (index_t block = begin; block < end; ++block) {
                index_t i0 = block * mc_max, mc = std::min(mc_max, M - i0);
                for (index_t i = 0; i < mc; i += MR)
                    pack(a_view, row_inverse, K, i0 + i, std::min(MR, mc - i), MR, 128, a + i * quads,
                         nullptr);
                for (index_t p = 0; p < n_panels; ++p) {
                    index_t j = p * nr;
                    run_panel(quads, a, mc, packed_b.get() + p * quads * nr, shift_sums.get() + j,
                              column_scale + j0 + j, beta, std::min(nr, nc - j),
                              bias ? bias + j0 + j : nullptr, row_scale + i0, C + i0 * ldc + j0 + j, ldc);
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

#define THINC_INT8_AMX_TARGET                                                              \
    __attribute__((                                                                        \
        target("avx2,fma,avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx512vnni,amx-tile," \
               "amx-int8")))

constexpr index_t BLOCK = thinc_amx::BLOCK;  // rows and columns of C per four-tile block
constexpr index_t KT = 64;                   // k per tile step

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
                __mmask16 mask = r < rows ? avx512::V::first(K - k) : __mmask16(0);
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
                avx512::pack_quads(rows_from_k, inverse, depth, j0 + first, width, 16, 0, tile, nullptr);
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
        avx512::RowWriter writer(no_shift, column_scale + j, beta, n, bias ? bias + j : nullptr);
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

}  // namespace amx

// C = alpha * op(A) @ op(B) + beta * C (+ bias on every row), row-major, with
// int8-quantized operands: on AMX tiles where the CPU has AMX-INT8, the
// level is AVX-512 and op(A) is k-contiguous, else on VNNI vectors. Returns
// false, C untouched, where no VNNI runs at the active level, K is past
// MAX_K, an operand holds inf or NaN (or only subnormal magnitudes in a row
// or column), or memory could not be had. Every element's sum is exact, so
// neither the kernel, the thread split nor the blocking changes a bit.
inline bool sgemm(bool trans_a, bool trans_b, index_t M, index_t N, index_t K, float alpha, const float* A,
                  index_t lda, const float* B, index_t ldb, float beta, float* C, index_t ldc,
                  const float* bias) {
    if (M <= 0 || N <= 0) return true;
    Vectors kind = vectors();
    if (kind == NO_VNNI) return false;
    if (K <= 0 || K > MAX_K || alpha == 0.0f) return false;  // nothing to quantize, or sums past int32
    bool wide = kind == AVX512_VNNI;
    View a_view{A, trans_a ? lda : 1, trans_a ? 1 : lda};  // op(A)(i, k): w = i
    View b_view{B, trans_b ? 1 : ldb, trans_b ? ldb : 1};  // op(B)(k, j): w = j
    // Per row of op(A) and column of op(B): largest magnitude, inverse, scale.
    thinc_malloc::Aligned<float> row_values = thinc_malloc::allocate_aligned<float>(3 * M);
    thinc_malloc::Aligned<float> column_values = thinc_malloc::allocate_aligned<float>(3 * N);
    if (!row_values || !column_values) return false;
    float* row_inverse = row_values.get() + M;
    float* row_scale = row_values.get() + 2 * M;
    float* column_inverse = column_values.get() + N;
    float* column_scale = column_values.get() + 2 * N;
    auto largest = wide ? avx512::max_magnitudes : avx_vnni::max_magnitudes;
    if (!largest(a_view, K, M, row_values.get()) || !largest(b_view, K, N, column_values.get())) return false;
    if (!scales_from(row_values.get(), M, 1.0f, row_inverse, row_scale) ||
        !scales_from(column_values.get(), N, alpha, column_inverse, column_scale))
        return false;
    if (wide && !trans_a && amx::available())
        return amx::sgemm(a_view, b_view, M, N, K, row_inverse, row_scale, column_inverse, column_scale, beta,
                          C, ldc, bias);
    if (wide)
        return vector_sgemm<true>(a_view, b_view, M, N, K, row_inverse, row_scale, column_inverse,
                                  column_scale, beta, C, ldc, bias);
    return vector_sgemm<false>(a_view, b_view, M, N, K, row_inverse, row_scale, column_inverse, column_scale,
                               beta, C, ldc, bias);
}
#else
inline bool sgemm(bool, bool, index_t, index_t, index_t, float, const float*, index_t, const float*, index_t,
                  float, float*, index_t, const float*) {
    return false;
}
#endif

}  // namespace thinc_gemm_int8
