// What every CPU kernel family shares: scalar math written so that loops over it
// vectorise, the work-splitting grains, and the AVX2+FMA float32 math with its
// load/store maps.
#pragma once
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "thinc_isa.hh"
#include "thinc_parallel.hh"

namespace thinc_kernels {

typedef int64_t index_t;

// ---------------------------------------------------------------------------
// Whether `candidate` takes over a running maximum that holds `best`: it is
// larger, or it is the first NaN (then nothing replaces it), so an argmax
// agrees with numpy's and the maximum never hides a NaN. Ties keep the first.
template <typename T>
THINC_INLINE bool replaces_max(T candidate, T best) {
    // Bitwise, not &&: a short-circuit branches on random data and stops the
    // loops around it vectorising (maxout's bias pass ran 15x slower so).
    return static_cast<bool>(static_cast<int>(!(candidate <= best)) & static_cast<int>(best == best));
}

// ---------------------------------------------------------------------------
// Scalar math written without library calls, so the loops that use it vectorise.

THINC_INLINE float exp_fast(float x) {
    // Range reduction x = n*ln2 + r, then a degree-6 polynomial for e^r
    // (about 1 ulp). Below -88 the clamp gives n = -127, whose 2^n bits are
    // +0: the result is exactly 0 from about -87.7 on, where it would turn
    // subnormal. NaN fails both compares and stays NaN.
    x = x < -88.0f ? -88.0f : (x > 88.0f ? 88.0f : x);
    const float magic = 12582912.0f;  // 1.5 * 2^23 rounds to the nearest integer
    float shifted = x * 1.44269504088896341f + magic;
    float n = shifted - magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float result = p * r * r + r + 1.0f;
    // 2^n from n's integer in shifted's low bits, in unsigned arithmetic: for
    // NaN, converting n to int and shifting a negative int would be undefined
    // (the result is NaN whatever scale holds).
    uint32_t shifted_bits;
    std::memcpy(&shifted_bits, &shifted, sizeof(shifted_bits));
    uint32_t bits = (shifted_bits - 0x4B400000u + 127u) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof(scale));
    return result * scale;
}

THINC_INLINE double exp_fast(double x) {
    return std::exp(x);
}

template <typename T>
THINC_INLINE T tanh_fast(T x) {
    // Written through exp of a non-positive number, so it cannot overflow.
    T magnitude = x < T(0) ? -x : x;
    T e = exp_fast(T(-2) * magnitude);
    T t = (T(1) - e) / (T(1) + e);
    return x < T(0) ? -t : t;
}

THINC_INLINE double tanh_fast(double x) {
    return std::tanh(x);
}

template <typename T>
THINC_INLINE T sigmoid_clipped(T x) {
    // Inputs are clipped to [-20, 20], as thinc's sigmoid does.
    x = x < T(-20) ? T(-20) : (x > T(20) ? T(20) : x);
    return T(1) / (T(1) + exp_fast(-x));
}

// Standard normal CDF; the tail is formed as a product (no cancellation), so
// its relative error stays small far into the negative tail.
template <typename T>
THINC_INLINE T normal_cdf(T x) {
    T z = (x < T(0) ? -x : x) * T(0.70710678118654752);
    T t = T(1) / (T(1) + T(0.3275911) * z);
    T poly = t * (T(0.254829592) +
                  t * (T(-0.284496736) + t * (T(1.421413741) + t * (T(-1.453152027) + t * T(1.061405429)))));
    T tail = T(0.5) * poly * exp_fast(-z * z);
    return x < T(0) ? tail : T(1) - tail;
}

THINC_INLINE double normal_cdf(double x) {
    return 0.5 * std::erfc(-x * 0.70710678118654752);
}

template <typename T>
THINC_INLINE T normal_pdf(T x) {
    // Past |x| ~ 13.2 float's exp_fast would return its clamp's floor (~1e-38),
    // which x * pdf scales back up to garbage for huge x: the density is 0 there.
    return sizeof(T) == 4 && x * x > T(174) ? T(0) : T(0.3989422804014327) * exp_fast(T(-0.5) * x * x);
}

// gelu and its gradient as rational functions of x^2, fitted (minimax in
// absolute error, our own fit) on |x| <= GELU_RANGE, past which Phi(x) and
// the gradient are 0 or 1 in float32. Against exp-based erf formulas this
// halves the instruction count and the dependency chain that bounds these
// kernels; the price is absolute rather than relative accuracy in the far
// negative tail (errors below 1e-6 everywhere, as for the erf approximations
// thinc and PyTorch use). One IEEE division keeps results vendor-independent.
constexpr float GELU_RANGE = 5.75f;

// Phi(x), the standard normal CDF: max error 1.3e-8 in float64, ~1e-7 in float32.
constexpr float CDF_NUMERATOR[] = {0.3989421969327923f,    0.03523897967139825f,    0.004758951813707014f,
                                   0.0001823603863899359f, 6.3882365127501065e-06f, 2.131378151054575e-08f};
constexpr float CDF_DENOMINATOR[] = {1.0f,
                                     0.254996353738686f,
                                     0.029430756392069192f,
                                     0.0019614794020880004f,
                                     7.768188998320502e-05f,
                                     1.1581664393772728e-06f};
// Phi(x) + x phi(x), gelu's derivative: max error 8.3e-8 in float64.
constexpr float GELU_GRAD_NUMERATOR[] = {
    0.7978851546204941f,    -0.03197541588754041f,  0.014201244110668816f, 6.864080877220291e-06f,
    3.469448195733094e-05f, 1.570943079826255e-07f, 1.379174899285296e-10f};
constexpr float GELU_GRAD_DENOMINATOR[] = {1.0f,
                                           0.2932643059696801f,
                                           0.04053846282522576f,
                                           0.0034478145873829595f,
                                           0.00018660216968822234f,
                                           8.251738488157588e-06f};

template <size_t N>
THINC_INLINE float horner(float v, const float (&coefficients)[N]) {
    float result = coefficients[N - 1];
    for (size_t k = N - 1; k-- > 0;) result = result * v + coefficients[k];
    return result;
}

// The scalar twin of avx2::half_plus_odd_rational, so float32 gelu gives the
// same answers (to rounding) at every instruction-set level; NaN propagates.
template <size_t NP, size_t NQ>
THINC_INLINE float half_plus_odd_rational(float x, const float (&numerator)[NP],
                                          const float (&denominator)[NQ]) {
    float clamped = x < -GELU_RANGE ? -GELU_RANGE : (x > GELU_RANGE ? GELU_RANGE : x);
    float v = clamped * clamped;
    float result = clamped * horner(v, numerator) / horner(v, denominator) + 0.5f;
    return x <= -GELU_RANGE ? 0.0f : result;
}

// Phi(x) for gelu: the rational fit in float32, the library's erfc in float64.
THINC_INLINE float gelu_cdf(float x) {
    return half_plus_odd_rational(x, CDF_NUMERATOR, CDF_DENOMINATOR);
}
THINC_INLINE double gelu_cdf(double x) {
    return normal_cdf(x);
}

// gelu's derivative; x - x makes it NaN at +-inf, as the reference's inf * 0 is.
THINC_INLINE float gelu_grad(float x) {
    return half_plus_odd_rational(x, GELU_GRAD_NUMERATOR, GELU_GRAD_DENOMINATOR) + (x - x);
}
THINC_INLINE double gelu_grad(double x) {
    return normal_cdf(x) + x * normal_pdf(x);
}

// ---------------------------------------------------------------------------
// How every family splits work over threads.

// Elements per part below which splitting an array costs more than it
// saves (waking a worker costs a few microseconds). Measured on 2 Zen 3
// vCPUs, quiet, 4000 x 96 float32 inputs: splitting into 32K-element parts
// ran relu 1.5x, backprop_softmax 1.7x, gather_add 1.8x, sigmoid 1.9x
// faster than one thread. On a machine whose CPUs are all busy the split
// loses instead (0.7-0.9x): a preempted worker holds its part. Splits fall
// on 16-float (64-byte) boundaries, so threads never share a cache line of
// the output.
constexpr index_t GRAIN_CHEAP = index_t(1) << 15;
constexpr index_t GRAIN_COSTLY = index_t(1) << 13;
constexpr index_t SPLIT_ALIGN = 16;

// Keeps the smallest bad position any part saw, as a serial pass would report.
inline void record_bad(std::atomic<index_t>& first_bad, index_t bad) {
    index_t current = first_bad.load(std::memory_order_relaxed);
    while ((current < 0 || bad < current) &&
           !first_bad.compare_exchange_weak(current, bad, std::memory_order_relaxed)) {
    }
}

// Elements before Y's next boundary of `lanes` floats (a power of two), 0
// where n is smaller. numpy's buffers are often only 16-byte aligned, so half
// of the 32-byte stores would straddle two cache lines (about 10% slower on
// memory-bound ops), and every 64-byte one; a masked first step aligns them.
inline index_t unaligned_head(const float* Y, index_t n, index_t lanes) {
    index_t offset = static_cast<index_t>(reinterpret_cast<uintptr_t>(Y) / sizeof(float)) & (lanes - 1);
    index_t head = (lanes - offset) & (lanes - 1);
    return head < n ? head : 0;
}

// ---------------------------------------------------------------------------
// Hand-vectorised float32 math for AVX2+FMA. gcc does vectorise the scalar
// versions above, but their NaN-exact clamps and selects become chains of
// compares and blends that cost several times the arithmetic; min/max and
// one blend per select keep the transcendental kernels near one cycle per
// element. Chosen at run time, so the build stays portable.

#if defined(__GNUC__) && defined(__x86_64__) && !defined(THINC_NO_AVX2_PATH)
#define THINC_AVX2_PATH 1
#define THINC_AVX2 __attribute__((target("avx2,fma")))
#define THINC_AVX2_INLINE inline __attribute__((always_inline, target("avx2,fma")))

inline bool cpu_has_avx2_fma() {
    return thinc_isa::cpu_level() >= thinc_isa::AVX2;
}

// The hand-written AVX2 bodies run at the AVX2 level and above.
inline bool use_avx2() {
    return thinc_isa::active() >= thinc_isa::AVX2;
}

namespace avx2 {

THINC_AVX2_INLINE __m256 constant(float value) {
    return _mm256_set1_ps(value);
}

// The same range reduction, polynomial and clamp as the scalar exp_fast (so
// exactly 0 far below, and NaN in gives NaN out: min/max return their second
// operand when either is NaN, so the constant goes first).
THINC_AVX2_INLINE __m256 exp(__m256 x) {
    x = _mm256_min_ps(constant(88.0f), _mm256_max_ps(constant(-88.0f), x));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, constant(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, constant(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, constant(-2.12194440e-4f), r);
    __m256 p = constant(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, constant(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, constant(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, constant(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, constant(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, constant(5.0000001201e-1f));
    __m256 result = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), constant(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(result, _mm256_castsi256_ps(bits));
}

// 1/d from the 12-bit hardware estimate and one Newton step (about 1 ulp
// off): a full-width vdivps would be the slowest instruction in every kernel.
THINC_AVX2_INLINE __m256 reciprocal(__m256 d) {
    __m256 r = _mm256_rcp_ps(d);
    return _mm256_fmadd_ps(r, _mm256_fnmadd_ps(d, r, constant(1.0f)), r);
}

THINC_AVX2_INLINE __m256 divide(__m256 numerator, __m256 denominator) {
    return _mm256_mul_ps(numerator, reciprocal(denominator));
}

THINC_AVX2_INLINE __m256 abs(__m256 x) {
    return _mm256_andnot_ps(constant(-0.0f), x);
}

THINC_AVX2_INLINE __m256 sign_of(__m256 x) {
    return _mm256_and_ps(constant(-0.0f), x);
}

THINC_AVX2_INLINE __m256 sigmoid(__m256 x) {
    // Constants first, so a NaN input passes the clamp (see exp).
    x = _mm256_min_ps(constant(20.0f), _mm256_max_ps(constant(-20.0f), x));
    __m256 e = exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
    return reciprocal(_mm256_add_ps(constant(1.0f), e));
}

// Through e^(-2|x|), which cannot overflow; the sign is put back by xor.
THINC_AVX2_INLINE __m256 tanh(__m256 x) {
    __m256 e = exp(_mm256_mul_ps(constant(-2.0f), abs(x)));
    // 1 - 2e/(1 + e) rather than (1 - e)/(1 + e): the reciprocal's last-bit
    // error then scales with e and vanishes where tanh saturates to +-1.
    __m256 t =
        _mm256_fnmadd_ps(_mm256_add_ps(e, e), reciprocal(_mm256_add_ps(constant(1.0f), e)), constant(1.0f));
    return _mm256_xor_ps(t, sign_of(x));
}

template <size_t N>
THINC_AVX2_INLINE __m256 horner(__m256 v, const float (&coefficients)[N]) {
    __m256 result = constant(coefficients[N - 1]);
    for (size_t k = N - 1; k-- > 0;) result = _mm256_fmadd_ps(result, v, constant(coefficients[k]));
    return result;
}

// 1/2 + x P(x^2) / Q(x^2) on the clamped input; exactly 0 at or below
// -GELU_RANGE, so x * Phi(x) there is -0 (NaN for -inf, as in the reference).
template <size_t NP, size_t NQ>
THINC_AVX2_INLINE __m256 half_plus_odd_rational(__m256 x, const float (&numerator)[NP],
                                                const float (&denominator)[NQ]) {
    __m256 clamped = _mm256_min_ps(constant(GELU_RANGE), _mm256_max_ps(constant(-GELU_RANGE), x));
    __m256 v = _mm256_mul_ps(clamped, clamped);
    __m256 ratio = _mm256_div_ps(_mm256_mul_ps(clamped, horner(v, numerator)), horner(v, denominator));
    __m256 result = _mm256_add_ps(ratio, constant(0.5f));
    return _mm256_andnot_ps(_mm256_cmp_ps(x, constant(-GELU_RANGE), _CMP_LE_OQ), result);
}

THINC_AVX2_INLINE __m256 gelu_approx_inner(__m256 x) {
    __m256 cube = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
    return _mm256_mul_ps(constant(0.7978845608028654f), _mm256_fmadd_ps(constant(0.044715f), cube, x));
}

// Lanes [0, remaining) set, for loading and storing the last partial vector.
THINC_AVX2_INLINE __m256i tail_mask(index_t remaining) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(remaining)),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The head and tail go through masked loads and stores, so every element
// takes the same instructions wherever a range starts: results do not depend
// on how a parallel_for split the array. The body loads four vectors a step:
// a step of one left relu (load, max, store) 10-15% slower on one thread
// than the longer clipped_linear on the same data; four put them level.
template <class Op>
THINC_AVX2_INLINE void map(const float* X, float* Y, index_t n, const Op& op) {
    index_t i = unaligned_head(Y, n, 8);
    if (i > 0) {
        __m256i mask = tail_mask(i);
        _mm256_maskstore_ps(Y, mask, op(_mm256_maskload_ps(X, mask)));
    }
    for (; i + 32 <= n; i += 32) {
        __m256 x0 = _mm256_loadu_ps(X + i), x1 = _mm256_loadu_ps(X + i + 8);
        __m256 x2 = _mm256_loadu_ps(X + i + 16), x3 = _mm256_loadu_ps(X + i + 24);
        _mm256_storeu_ps(Y + i, op(x0));
        _mm256_storeu_ps(Y + i + 8, op(x1));
        _mm256_storeu_ps(Y + i + 16, op(x2));
        _mm256_storeu_ps(Y + i + 24, op(x3));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(Y + i, op(_mm256_loadu_ps(X + i)));
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        _mm256_maskstore_ps(Y + i, mask, op(_mm256_maskload_ps(X + i, mask)));
    }
}

template <class Op>
THINC_AVX2_INLINE void map2(const float* G, const float* S, float* dX, index_t n, const Op& op) {
    index_t i = unaligned_head(dX, n, 8);
    if (i > 0) {
        __m256i mask = tail_mask(i);
        _mm256_maskstore_ps(dX, mask, op(_mm256_maskload_ps(G, mask), _mm256_maskload_ps(S, mask)));
    }
    for (; i + 32 <= n; i += 32) {
        __m256 g0 = _mm256_loadu_ps(G + i), g1 = _mm256_loadu_ps(G + i + 8);
        __m256 g2 = _mm256_loadu_ps(G + i + 16), g3 = _mm256_loadu_ps(G + i + 24);
        __m256 s0 = _mm256_loadu_ps(S + i), s1 = _mm256_loadu_ps(S + i + 8);
        __m256 s2 = _mm256_loadu_ps(S + i + 16), s3 = _mm256_loadu_ps(S + i + 24);
        _mm256_storeu_ps(dX + i, op(g0, s0));
        _mm256_storeu_ps(dX + i + 8, op(g1, s1));
        _mm256_storeu_ps(dX + i + 16, op(g2, s2));
        _mm256_storeu_ps(dX + i + 24, op(g3, s3));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dX + i, op(_mm256_loadu_ps(G + i), _mm256_loadu_ps(S + i)));
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        _mm256_maskstore_ps(dX + i, mask,
                            op(_mm256_maskload_ps(G + i, mask), _mm256_maskload_ps(S + i, mask)));
    }
}

}  // namespace avx2
#else
inline bool cpu_has_avx2_fma() {
    return false;
}
inline bool use_avx2() {
    return false;
}
#endif

}  // namespace thinc_kernels
