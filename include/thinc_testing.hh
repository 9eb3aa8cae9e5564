// Probes for thinc's tests and benchmarks, not kernels (thinc/backends/_testing.pyx
// is their only user): the machine's float32 FMA peak, a check of the worker
// pool's hand-over between jobs, and gcc's own AVX-512 code of the rows that
// have hand-written AVX-512 bodies.
#pragma once
#include "thinc_elementwise.hh"
#include "thinc_gemm_bf16.hh"
#include "thinc_math.hh"
#include "thinc_parallel.hh"

namespace thinc_kernels {

// ---------------------------------------------------------------------------
// Peak-throughput probe for the benchmark: independent FMA chains, enough of
// them to cover the FMA latency on two pipes. Returns single-precision flop/s.

#if defined(__GNUC__) && defined(__x86_64__)
// Twelve named accumulators stay in registers; FMA latency (4-5 cycles) times
// two pipes needs at least ten independent chains. One body for each width.
#define THINC_FMA_PEAK(NAME, TARGET, V, SET1, FMA, ADD, FIRST, LANES)                                  \
    __attribute__((target(TARGET))) static double NAME(double seconds) {                               \
        V a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f), a4 = SET1(1.4f);         \
        V a5 = SET1(1.5f), a6 = SET1(1.6f), a7 = SET1(1.7f), a8 = SET1(1.8f), a9 = SET1(1.9f);         \
        V a10 = SET1(2.0f), a11 = SET1(2.1f);                                                          \
        const V m = SET1(0.999999f), c = SET1(1e-7f);                                                  \
        const int64_t block = 1 << 20;                                                                 \
        int64_t iterations = 0;                                                                        \
        auto start = std::chrono::steady_clock::now();                                                 \
        double elapsed = 0;                                                                            \
        while (elapsed < seconds) {                                                                    \
            for (int64_t i = 0; i < block; ++i) {                                                      \
                a0 = FMA(a0, m, c);                                                                    \
                a1 = FMA(a1, m, c);                                                                    \
                a2 = FMA(a2, m, c);                                                                    \
                a3 = FMA(a3, m, c);                                                                    \
                a4 = FMA(a4, m, c);                                                                    \
                a5 = FMA(a5, m, c);                                                                    \
                a6 = FMA(a6, m, c);                                                                    \
                a7 = FMA(a7, m, c);                                                                    \
                a8 = FMA(a8, m, c);                                                                    \
                a9 = FMA(a9, m, c);                                                                    \
                a10 = FMA(a10, m, c);                                                                  \
                a11 = FMA(a11, m, c);                                                                  \
            }                                                                                          \
            iterations += block;                                                                       \
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); \
        }                                                                                              \
        V total = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                   \
        total = ADD(total, ADD(ADD(a8, a9), ADD(a10, a11)));                                           \
        volatile float sink = FIRST(total);                                                            \
        (void)sink;                                                                                    \
        return iterations * 12.0 * LANES * 2.0 / elapsed;                                              \
    }
THINC_FMA_PEAK(fma_peak_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
               _mm256_cvtss_f32, 8)
THINC_FMA_PEAK(fma_peak_avx512, "avx2,fma,avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
               _mm512_cvtss_f32, 16)
#else
static double fma_peak_avx2(double) {
    return 0.0;
}
static double fma_peak_avx512(double) {
    return 0.0;
}
#endif

// gcc's AVX-512 code of the sigmoid and swish rows and of swish's gradient
// (which ran there before their hand-written bodies), so the tests can hold
// those bodies to the same bits. `op`: 0 sigmoid, 1 swish (both of X), 2
// swish's gradient (of G, X, Y). False where the build has no AVX-512 code;
// the caller checks that the CPU has AVX-512.
inline bool scalar_rows_at_avx512(int op, const float* G, const float* X, const float* Y, float* out,
                                  index_t n) {
#if defined(THINC_ISA_X86)
    switch (op) {
        case 0:
            forward_avx512<sigmoid_row, float>(X, out, n, 0.0f, 0.0f, 0.0f, 0.0f);
            return true;
        case 1:
            forward_avx512<swish_row, float>(X, out, n, 0.0f, 0.0f, 0.0f, 0.0f);
            return true;
        case 2:
            swish_backward_serial_avx512(G, X, Y, out, n);
            return true;
    }
#endif
    (void)G, (void)X, (void)Y, (void)out, (void)n;
    return false;
}

// The bf16 gemm's packing of one panel (thinc_gemm_bf16::pack_pairs), so the
// tests can hold it to its layout. X is (w, k) row-major where k_contiguous
// (both operands of X @ W.T), else (k, w); `ld` its row stride. False where the
// build or the CPU has no AVX-512 BF16.
inline bool bf16_pack_pairs(const float* X, index_t ld, bool k_contiguous, index_t k0, index_t depth,
                            index_t w0, index_t width, index_t lanes, uint32_t* out) {
#if defined(THINC_BF16_KERNELS)
    if (!thinc_gemm_bf16::cpu_has_bf16()) return false;
    thinc_gemm_bf16::View view{X, k_contiguous ? 1 : ld, k_contiguous ? ld : 1};
    thinc_gemm_bf16::pack_pairs(view, k0, depth, w0, width, lanes, out);
    return true;
#else
    (void)X, (void)ld, (void)k_contiguous, (void)k0, (void)depth, (void)w0, (void)width, (void)lanes,
        (void)out;
    return false;
#endif
}

}  // namespace thinc_kernels

namespace thinc_parallel {

// Self-test for the tests: pairs of back-to-back jobs of different sizes (a
// worker still leaving the first must not claim chunks of the second before it
// is published). Returns the number of pairs in which some index was not run
// exactly once.
inline index_t back_to_back_failures(int iterations) {
    index_t failures = 0;
    std::vector<int> first(8), second(64);
    for (int iteration = 0; iteration < iterations; ++iteration) {
        std::fill(first.begin(), first.end(), 0);
        std::fill(second.begin(), second.end(), 0);
        parallel_for(8, 4, 1, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) first[i] += 1;
        });
        parallel_for(64, 4, 1, [&](index_t begin, index_t end) {
            for (index_t i = begin; i < end; ++i) second[i] += 1;
        });
        bool ok = std::all_of(first.begin(), first.end(), [](int count) { return count == 1; }) &&
                  std::all_of(second.begin(), second.end(), [](int count) { return count == 1; });
        failures += ok ? 0 : 1;
    }
    return failures;
}

}  // namespace thinc_parallel
