// CPU kernels behind NumpyOps: elementwise activations, sequence reductions,
// window and gather ops, optimizer steps. Callers (numpy_ops.pyx) validate inputs.
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
// Scalar math written without library calls, so the loops that use it vectorise.

THINC_INLINE float exp_fast(float x) {
    // Range reduction x = n*ln2 + r, then a degree-6 polynomial for e^r
    // (about 1 ulp). Below -88 the clamp gives n = -127, whose 2^n bits are
    // +0: the result is exactly 0 from about -87.7 on, where it would turn
    // subnormal. NaN fails both compares and stays NaN.
    x = x < -88.0f ? -88.0f : (x > 88.0f ? 88.0f : x);
    const float magic = 12582912.0f;  // 1.5 * 2^23 rounds to the nearest integer
    float n = (x * 1.44269504088896341f + magic) - magic;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float result = p * r * r + r + 1.0f;
    int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof(scale));
    return result * scale;
}

THINC_INLINE double exp_fast(double x) { return std::exp(x); }

template <typename T>
THINC_INLINE T tanh_fast(T x) {
    // Written through exp of a non-positive number, so it cannot overflow.
    T magnitude = x < T(0) ? -x : x;
    T e = exp_fast(T(-2) * magnitude);
    T t = (T(1) - e) / (T(1) + e);
    return x < T(0) ? -t : t;
}

THINC_INLINE double tanh_fast(double x) { return std::tanh(x); }

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

THINC_INLINE double normal_cdf(double x) { return 0.5 * std::erfc(-x * 0.70710678118654752); }

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
constexpr float CDF_NUMERATOR[] = {0.3989421969327923f, 0.03523897967139825f, 0.004758951813707014f,
                                   0.0001823603863899359f, 6.3882365127501065e-06f, 2.131378151054575e-08f};
constexpr float CDF_DENOMINATOR[] = {1.0f, 0.254996353738686f, 0.029430756392069192f,
                                     0.0019614794020880004f, 7.768188998320502e-05f, 1.1581664393772728e-06f};
// Phi(x) + x phi(x), gelu's derivative: max error 8.3e-8 in float64.
constexpr float GELU_GRAD_NUMERATOR[] = {0.7978851546204941f,    -0.03197541588754041f, 0.014201244110668816f,
                                         6.864080877220291e-06f, 3.469448195733094e-05f, 1.570943079826255e-07f,
                                         1.379174899285296e-10f};
constexpr float GELU_GRAD_DENOMINATOR[] = {1.0f, 0.2932643059696801f, 0.04053846282522576f,
                                           0.0034478145873829595f, 0.00018660216968822234f,
                                           8.251738488157588e-06f};


template <size_t N>
THINC_INLINE float horner(float v, const float (&coefficients)[N]) {
    float result = coefficients[N - 1];
    for (size_t k = N - 1; k-- > 0;) result = result * v + coefficients[k];
    return result;
}

// The scalar twin of v8::half_plus_odd_rational, so float32 gelu gives the
// same answers (to rounding) at every instruction-set level; NaN propagates.
template <size_t NP, size_t NQ>
THINC_INLINE float half_plus_odd_rational(float x, const float (&numerator)[NP], const float (&denominator)[NQ]) {
    float clamped = x < -GELU_RANGE ? -GELU_RANGE : (x > GELU_RANGE ? GELU_RANGE : x);
    float v = clamped * clamped;
    float result = clamped * horner(v, numerator) / horner(v, denominator) + 0.5f;
    return x <= -GELU_RANGE ? 0.0f : result;
}

// Phi(x) for gelu: the rational fit in float32, the library's erfc in float64.
THINC_INLINE float gelu_cdf(float x) { return half_plus_odd_rational(x, CDF_NUMERATOR, CDF_DENOMINATOR); }
THINC_INLINE double gelu_cdf(double x) { return normal_cdf(x); }

// gelu's derivative; x - x makes it NaN at +-inf, as the reference's inf * 0 is.
THINC_INLINE float gelu_grad(float x) {
    return half_plus_odd_rational(x, GELU_GRAD_NUMERATOR, GELU_GRAD_DENOMINATOR) + (x - x);
}
THINC_INLINE double gelu_grad(double x) { return normal_cdf(x) + x * normal_pdf(x); }

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

static bool cpu_has_avx2_fma() { return thinc_isa::cpu_level() >= thinc_isa::AVX2; }

// The hand-written AVX2 bodies run at the AVX2 level and above.
inline bool use_avx2() { return thinc_isa::active() >= thinc_isa::AVX2; }

namespace v8 {

THINC_AVX2_INLINE __m256 constant(float value) { return _mm256_set1_ps(value); }

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

THINC_AVX2_INLINE __m256 abs(__m256 x) { return _mm256_andnot_ps(constant(-0.0f), x); }

THINC_AVX2_INLINE __m256 sign_of(__m256 x) { return _mm256_and_ps(constant(-0.0f), x); }

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
    __m256 t = _mm256_fnmadd_ps(_mm256_add_ps(e, e), reciprocal(_mm256_add_ps(constant(1.0f), e)), constant(1.0f));
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

// Elements before Y's next 32-byte boundary. numpy's buffers are often only
// 16-byte aligned, so half of the 32-byte stores would straddle two cache
// lines (about 10% slower on memory-bound ops); a masked first step aligns them.
THINC_AVX2_INLINE index_t unaligned_head(const float* Y, index_t n) {
    index_t head = (8 - static_cast<index_t>((reinterpret_cast<uintptr_t>(Y) / sizeof(float)) & 7)) & 7;
    return head < n ? head : 0;
}

// The head and tail go through masked loads and stores, so every element
// takes the same instructions wherever a range starts: results do not depend
// on how a parallel_for split the array. The body loads four vectors a step:
// a step of one left relu (load, max, store) 10-15% slower on one thread
// than the longer clipped_linear on the same data; four put them level.
template <class Op>
THINC_AVX2_INLINE void map(const float* X, float* Y, index_t n, const Op& op) {
    index_t i = unaligned_head(Y, n);
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
    index_t i = unaligned_head(dX, n);
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
        _mm256_maskstore_ps(dX + i, mask, op(_mm256_maskload_ps(G + i, mask), _mm256_maskload_ps(S + i, mask)));
    }
}

// One functor per activation (lambdas would not inherit the target attribute).
// Each takes the op's scalar parameters a, b, c, d like the scalar kernels.
#define THINC_V8_FUNCTOR(NAME, ARGUMENTS, ...)                                      \
    struct NAME {                                                                   \
        __m256 a, b, c, d;                                                          \
        THINC_AVX2_INLINE NAME(float a_, float b_, float c_, float d_)              \
            : a(_mm256_set1_ps(a_)), b(_mm256_set1_ps(b_)), c(_mm256_set1_ps(c_)),  \
              d(_mm256_set1_ps(d_)) {}                                              \
        THINC_AVX2_INLINE __m256 operator() ARGUMENTS const { __VA_ARGS__ }         \
    };
// Forward ops map x; backward ops map the incoming gradient g and the saved x.
#define THINC_V8_OP(NAME, ...) THINC_V8_FUNCTOR(NAME, (__m256 x), __VA_ARGS__)
#define THINC_V8_OP2(NAME, ...) THINC_V8_FUNCTOR(NAME, (__m256 g, __m256 x), __VA_ARGS__)

// The piecewise-linear ops: the scalar selects compile to compare chains
// (or branches on the data), min/max and one mask do the same in a few
// instructions. max_ps(lo, v) returns v when v is NaN, so NaN propagates as
// in the scalar clip_value.
THINC_AVX2_INLINE __m256 clip(__m256 v, __m256 low, __m256 high) {
    return _mm256_min_ps(high, _mm256_max_ps(low, v));
}
THINC_AVX2_INLINE __m256 where(__m256 condition, __m256 value) { return _mm256_and_ps(condition, value); }
THINC_AVX2_INLINE __m256 is_nan(__m256 x) { return _mm256_cmp_ps(x, x, _CMP_UNORD_Q); }
// A derivative that is `value` where `condition` holds, 0 elsewhere, and NaN
// where the saved input was NaN (or'ing the NaN lanes keeps their bits).
THINC_AVX2_INLINE __m256 slope_or_nan(__m256 condition, __m256 value, __m256 saved) {
    return _mm256_or_ps(where(condition, value), where(is_nan(saved), saved));
}

// Zero where x <= 0; NaN compares false, so it passes (as x <= 0 ? 0 : x).
THINC_V8_OP(Relu, return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ), x);)
THINC_V8_OP(ClippedLinear, return clip(_mm256_add_ps(_mm256_mul_ps(x, a), b), c, d);)
THINC_V8_OP(HardSwish, {
    __m256 gate = clip(_mm256_add_ps(_mm256_mul_ps(x, constant(0.2f)), constant(0.5f)), _mm256_setzero_ps(),
                       constant(1.0f));
    return _mm256_mul_ps(x, gate);
})
THINC_V8_OP(HardSwishMobilenet, {
    // The gate is scaled before it meets x, so x * 6 cannot overflow first.
    __m256 gate = clip(_mm256_add_ps(x, constant(3.0f)), _mm256_setzero_ps(), constant(6.0f));
    return _mm256_mul_ps(x, _mm256_mul_ps(gate, constant(1.0f / 6.0f)));
})
// g times the slope, as the reference's dY * (Y > 0): NaN or inf in g is not masked away.
THINC_V8_OP2(ReluBackward, {
    __m256 positive = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
    return _mm256_mul_ps(g, slope_or_nan(positive, constant(1.0f), x));
})
THINC_V8_OP2(ReluKBackward, {
    __m256 inside = _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ), _mm256_cmp_ps(x, a, _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope_or_nan(inside, constant(1.0f), x));
})
THINC_V8_OP2(ClippedLinearBackward, {
    __m256 y = _mm256_add_ps(_mm256_mul_ps(x, a), b);
    __m256 inside = _mm256_and_ps(_mm256_cmp_ps(y, c, _CMP_GT_OQ), _mm256_cmp_ps(y, d, _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope_or_nan(inside, a, y));
})
THINC_V8_OP2(HardSwishBackward, {
    __m256 slope = _mm256_add_ps(_mm256_mul_ps(x, constant(0.4f)), constant(0.5f));
    slope = _mm256_blendv_ps(slope, constant(1.0f), _mm256_cmp_ps(x, constant(2.5f), _CMP_GT_OQ));
    slope = _mm256_blendv_ps(slope, _mm256_setzero_ps(), _mm256_cmp_ps(x, constant(-2.5f), _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope);
})
THINC_V8_OP2(HardSwishMobilenetBackward, {
    __m256 slope = _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(x, x), constant(3.0f)), constant(1.0f / 6.0f));
    slope = _mm256_blendv_ps(slope, constant(1.0f), _mm256_cmp_ps(x, constant(3.0f), _CMP_GT_OQ));
    slope = _mm256_blendv_ps(slope, _mm256_setzero_ps(), _mm256_cmp_ps(x, constant(-3.0f), _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope);
})
THINC_V8_OP2(SigmoidBackward, return _mm256_mul_ps(_mm256_mul_ps(g, x), _mm256_sub_ps(constant(1.0f), x));)

THINC_V8_OP(Sigmoid, return sigmoid(x);)
THINC_V8_OP(Swish, return _mm256_mul_ps(x, sigmoid(x));)
THINC_V8_OP(Gelu, return _mm256_mul_ps(x, half_plus_odd_rational(x, CDF_NUMERATOR, CDF_DENOMINATOR));)
THINC_V8_OP(GeluApprox, {
    __m256 t = tanh(gelu_approx_inner(x));
    return _mm256_mul_ps(_mm256_mul_ps(constant(0.5f), x), _mm256_add_ps(constant(1.0f), t));
})
// tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2); a is the threshold
// above which mish is the identity.
THINC_V8_OP(Mish, {
    __m256 e = exp(_mm256_min_ps(x, constant(20.0f)));
    __m256 n = _mm256_mul_ps(e, _mm256_add_ps(e, constant(2.0f)));
    __m256 y = divide(_mm256_mul_ps(x, n), _mm256_add_ps(n, constant(2.0f)));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, a, _CMP_GE_OQ));
})
// x - x is NaN for x = +-inf, where the reference's inf * 0 gives NaN too.
THINC_V8_OP2(GeluBackward, {
    __m256 grad = half_plus_odd_rational(x, GELU_GRAD_NUMERATOR, GELU_GRAD_DENOMINATOR);
    return _mm256_fmadd_ps(g, grad, _mm256_sub_ps(x, x));
})
// Past |x| = 10 the second term is negligible (1 - t^2 < 1e-37), so x is
// clamped there: 0 * x^2 must not become 0 * inf = NaN for huge finite x.
THINC_V8_OP2(GeluApproxBackward, {
    __m256 t = tanh(gelu_approx_inner(x));
    __m256 xc = clip(x, constant(-10.0f), constant(10.0f));
    __m256 inner_grad = _mm256_mul_ps(constant(0.7978845608028654f),
                                      _mm256_fmadd_ps(constant(3.0f * 0.044715f), _mm256_mul_ps(xc, xc), constant(1.0f)));
    __m256 left = _mm256_mul_ps(constant(0.5f), _mm256_add_ps(constant(1.0f), t));
    __m256 right = _mm256_mul_ps(_mm256_mul_ps(constant(0.5f), xc),
                                 _mm256_mul_ps(_mm256_fnmadd_ps(t, t, constant(1.0f)), inner_grad));
    return _mm256_mul_ps(g, _mm256_add_ps(left, right));
})
THINC_V8_OP2(MishBackward, {
    __m256 e = exp(_mm256_min_ps(x, constant(20.0f)));
    __m256 n = _mm256_mul_ps(e, _mm256_add_ps(e, constant(2.0f)));
    __m256 denominator = _mm256_add_ps(n, constant(2.0f));
    // x multiplies last: 4x overflows for x near the float limit, where e is 0.
    __m256 numerator = _mm256_fmadd_ps(n, denominator,
                                       _mm256_mul_ps(x, _mm256_mul_ps(constant(4.0f),
                                                                      _mm256_mul_ps(e, _mm256_add_ps(e, constant(1.0f))))));
    __m256 grad = divide(numerator, _mm256_mul_ps(denominator, denominator));
    return _mm256_mul_ps(g, _mm256_blendv_ps(grad, constant(1.0f), _mm256_cmp_ps(x, a, _CMP_GE_OQ)));
})

// swish's gradient reads the input (for the sigmoid) and the output.
THINC_AVX2_INLINE __m256 swish_grad(__m256 g, __m256 x, __m256 y) {
    __m256 s = sigmoid(x);
    return _mm256_mul_ps(g, _mm256_fmadd_ps(s, _mm256_sub_ps(constant(1.0f), y), y));
}

THINC_AVX2 static void swish_backward(const float* G, const float* X, const float* Y, float* dX, index_t n) {
    index_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dX + i, swish_grad(_mm256_loadu_ps(G + i), _mm256_loadu_ps(X + i), _mm256_loadu_ps(Y + i)));
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        _mm256_maskstore_ps(dX + i, mask, swish_grad(_mm256_maskload_ps(G + i, mask), _mm256_maskload_ps(X + i, mask),
                                                     _mm256_maskload_ps(Y + i, mask)));
    }
}

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
THINC_AVX2 static void softmax_rows(const float* X, float* Y, index_t n_row, index_t n_col, float inverse_temperature) {
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
        if (c < n_col) _mm256_maskstore_ps(y + c, mask, _mm256_mul_ps(_mm256_maskload_ps(y + c, mask), scale));
    }
}

THINC_AVX2 static void backprop_softmax_rows(const float* Y, const float* dY, float* dX, index_t n_row, index_t n_col,
                                             float inverse_temperature) {
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
            __m256 value = _mm256_mul_ps(_mm256_maskload_ps(y + c, mask), _mm256_sub_ps(_mm256_maskload_ps(g + c, mask), dot));
            _mm256_maskstore_ps(d + c, mask, _mm256_mul_ps(value, temperature));
        }
    }
}

}  // namespace v8
#else
static bool cpu_has_avx2_fma() { return false; }
inline bool use_avx2() { return false; }
#endif

// ---------------------------------------------------------------------------
// Elementwise activations. X and Y may be the same buffer (inplace).

template <typename T>
THINC_INLINE T clip_value(T x, T low, T high) {
    return x < low ? low : (x > high ? high : x);
}

// A slope, or NaN where the input is NaN (a compare alone would answer 0).
template <typename T>
THINC_INLINE T slope_or_nan(bool condition, T slope, T saved) {
    return condition ? slope : (saved != saved ? saved : T(0));
}

template <typename T>
THINC_INLINE T clipped_linear_grad(T x, T slope, T offset, T low, T high) {
    T y = x * slope + offset;
    return slope_or_nan(y > low && y < high, slope, y);
}

template <typename T>
THINC_INLINE T mish_value(T x, T threshold) {
    // tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2); e^x is capped
    // where the ratio is already 1 in floating point.
    T e = exp_fast(x < T(20) ? x : T(20));
    T n = e * (e + T(2));
    return x >= threshold ? x : x * n / (n + T(2));
}

template <typename T>
THINC_INLINE T mish_grad(T x, T threshold) {
    T e = exp_fast(x < T(20) ? x : T(20));
    T n = e * (e + T(2));
    T denominator = n + T(2);
    T grad = n / denominator + x * (T(4) * e * (e + T(1))) / (denominator * denominator);
    return x >= threshold ? T(1) : grad;
}

template <typename T>
THINC_INLINE T gelu_approx_inner(T x) {
    return T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
}

// x / sqrt(1 + x^2), through x clamped to 1e18: past it the ratio is +-1 in
// either precision, and x^2 would overflow (inf / inf = NaN for finite x).
template <typename T>
THINC_INLINE T dish_ratio(T x) {
    T clamped = x < T(-1e18) ? T(-1e18) : (x > T(1e18) ? T(1e18) : x);
    return clamped / std::sqrt(T(1) + clamped * clamped);
}

template <typename T>
THINC_INLINE T dish_value(T x) {
    return x * (T(0.5) + T(0.5) * dish_ratio(x));
}

template <typename T>
THINC_INLINE T dish_grad(T x) {
    T r = dish_ratio(x);
    return T(0.5) + r - T(0.5) * r * r * r;
}

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

#if defined(THINC_AVX2_PATH)
#define THINC_V8_UNARY(NAME, OP)                                                                    \
    THINC_AVX2 static void NAME##_v8(const float* X, float* Y, index_t n, float a, float b, float c, \
                                     float d) {                                                     \
        v8::map(X, Y, n, v8::OP(a, b, c, d));                                                       \
    }                                                                                               \
    static bool NAME##_vectorised(const float* X, float* Y, index_t n, float a, float b, float c,   \
                                  float d) {                                                        \
        if (!use_avx2()) return false;                                                              \
        NAME##_v8(X, Y, n, a, b, c, d);                                                             \
        return true;                                                                                \
    }
#define THINC_V8_BINARY(NAME, OP)                                                                   \
    THINC_AVX2 static void NAME##_v8(const float* G, const float* S, float* dX, index_t n, float a, \
                                     float b, float c, float d) {                                   \
        v8::map2(G, S, dX, n, v8::OP(a, b, c, d));                                                  \
    }                                                                                               \
    static bool NAME##_vectorised(const float* G, const float* S, float* dX, index_t n, float a,    \
                                  float b, float c, float d) {                                      \
        if (!use_avx2()) return false;                                                              \
        NAME##_v8(G, S, dX, n, a, b, c, d);                                                         \
        return true;                                                                                \
    }
#else
#define THINC_V8_UNARY(NAME, OP)                                                                    \
    static bool NAME##_vectorised(const float*, float*, index_t, float, float, float, float) {      \
        return false;                                                                               \
    }
#define THINC_V8_BINARY(NAME, OP)                                                                   \
    static bool NAME##_vectorised(const float*, const float*, float*, index_t, float, float, float, \
                                  float) {                                                          \
        return false;                                                                               \
    }
#endif
// Ops without a hand-vectorised float32 body (gcc's own vectorisation of the
// scalar expression is fast enough for them).
#define THINC_NO_V8_UNARY(NAME)                                                                     \
    static bool NAME##_vectorised(const float*, float*, index_t, float, float, float, float) {      \
        return false;                                                                               \
    }
#define THINC_NO_V8_BINARY(NAME)                                                                    \
    static bool NAME##_vectorised(const float*, const float*, float*, index_t, float, float, float, \
                                  float) {                                                          \
        return false;                                                                               \
    }

#define THINC_UNARY(NAME, EXPR, GRAIN)                                                         \
    template <typename T>                                                                      \
    THINC_INLINE void NAME##_impl(const T* X, T* Y, index_t n, T a, T b, T c, T d) {           \
        (void)a; (void)b; (void)c; (void)d;                                                    \
        for (index_t i = 0; i < n; ++i) {                                                      \
            T x = X[i];                                                                        \
            Y[i] = (EXPR);                                                                     \
        }                                                                                      \
    }                                                                                          \
    THINC_ISA_VARIANTS(static void, NAME##_serial,                                             \
                       (const float* X, float* Y, index_t n, float a, float b, float c, float d), \
                       NAME##_impl<float>(X, Y, n, a, b, c, d))                                \
    THINC_ISA_VARIANTS(static void, NAME##_serial,                                             \
                       (const double* X, double* Y, index_t n, double a, double b, double c,   \
                        double d),                                                             \
                       NAME##_impl<double>(X, Y, n, a, b, c, d))                               \
    THINC_ISA_DISPATCH(NAME##_serial)                                                          \
    static void NAME(const float* X, float* Y, index_t n, float a, float b, float c, float d) { \
        thinc_parallel::parallel_for(n, GRAIN, SPLIT_ALIGN, [=](index_t begin, index_t end) {  \
            if (!NAME##_vectorised(X + begin, Y + begin, end - begin, a, b, c, d))             \
                NAME##_serial(X + begin, Y + begin, end - begin, a, b, c, d);                  \
        });                                                                                    \
    }                                                                                          \
    static void NAME(const double* X, double* Y, index_t n, double a, double b, double c,      \
                     double d) {                                                               \
        thinc_parallel::parallel_for(n, GRAIN, SPLIT_ALIGN / 2, [=](index_t begin, index_t end) { \
            NAME##_serial(X + begin, Y + begin, end - begin, a, b, c, d);                      \
        });                                                                                    \
    }

// Backward kernels read the upstream gradient G and the saved input or
// output S, writing dX (which may alias G).
#define THINC_BINARY(NAME, EXPR, GRAIN)                                                          \
    template <typename T>                                                                        \
    THINC_INLINE void NAME##_impl(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) { \
        (void)a; (void)b; (void)c; (void)d;                                                      \
        for (index_t i = 0; i < n; ++i) {                                                        \
            T g = G[i];                                                                          \
            T x = S[i];                                                                          \
            dX[i] = (EXPR);                                                                      \
        }                                                                                        \
    }                                                                                            \
    THINC_ISA_VARIANTS(static void, NAME##_serial,                                               \
                       (const float* G, const float* S, float* dX, index_t n, float a, float b,  \
                        float c, float d),                                                       \
                       NAME##_impl<float>(G, S, dX, n, a, b, c, d))                              \
    THINC_ISA_VARIANTS(static void, NAME##_serial,                                               \
                       (const double* G, const double* S, double* dX, index_t n, double a,       \
                        double b, double c, double d),                                           \
                       NAME##_impl<double>(G, S, dX, n, a, b, c, d))                             \
    THINC_ISA_DISPATCH(NAME##_serial)                                                            \
    static void NAME(const float* G, const float* S, float* dX, index_t n, float a, float b,     \
                     float c, float d) {                                                         \
        thinc_parallel::parallel_for(n, GRAIN, SPLIT_ALIGN, [=](index_t begin, index_t end) {    \
            if (!NAME##_vectorised(G + begin, S + begin, dX + begin, end - begin, a, b, c, d))   \
                NAME##_serial(G + begin, S + begin, dX + begin, end - begin, a, b, c, d);        \
        });                                                                                      \
    }                                                                                            \
    static void NAME(const double* G, const double* S, double* dX, index_t n, double a,          \
                     double b, double c, double d) {                                             \
        thinc_parallel::parallel_for(n, GRAIN, SPLIT_ALIGN / 2, [=](index_t begin, index_t end) { \
            NAME##_serial(G + begin, S + begin, dX + begin, end - begin, a, b, c, d);            \
        });                                                                                      \
    }

// a, b, c, d carry each op's scalar parameters (threshold, slope, ...).
THINC_V8_UNARY(relu_forward, Relu)
THINC_V8_UNARY(clipped_linear_forward, ClippedLinear)
THINC_V8_UNARY(hard_swish_forward, HardSwish)
THINC_V8_UNARY(hard_swish_mobilenet_forward, HardSwishMobilenet)
THINC_V8_UNARY(sigmoid_forward, Sigmoid)
THINC_V8_UNARY(swish_forward, Swish)
THINC_V8_UNARY(gelu_forward, Gelu)
THINC_V8_UNARY(gelu_approx_forward, GeluApprox)
THINC_NO_V8_UNARY(dish_forward)
THINC_V8_UNARY(mish_forward, Mish)
THINC_NO_V8_UNARY(dsigmoid_forward)
THINC_NO_V8_UNARY(dtanh_forward)

THINC_UNARY(relu_forward, x <= T(0) ? T(0) : x, GRAIN_CHEAP)
THINC_UNARY(clipped_linear_forward, clip_value(x * a + b, c, d), GRAIN_CHEAP)
THINC_UNARY(hard_swish_forward, x * clip_value(x * T(0.2) + T(0.5), T(0), T(1)), GRAIN_CHEAP)
THINC_UNARY(hard_swish_mobilenet_forward, x * (clip_value(x + T(3), T(0), T(6)) * T(1.0 / 6.0)), GRAIN_CHEAP)
THINC_UNARY(sigmoid_forward, sigmoid_clipped(x), GRAIN_COSTLY)
THINC_UNARY(swish_forward, x * sigmoid_clipped(x), GRAIN_COSTLY)
THINC_UNARY(gelu_forward, x * gelu_cdf(x), GRAIN_COSTLY)
THINC_UNARY(gelu_approx_forward, T(0.5) * x * (T(1) + tanh_fast(gelu_approx_inner(x))), GRAIN_COSTLY)
THINC_UNARY(dish_forward, dish_value(x), GRAIN_COSTLY)
THINC_UNARY(mish_forward, mish_value(x, a), GRAIN_COSTLY)
THINC_UNARY(dsigmoid_forward, x * (T(1) - x), GRAIN_CHEAP)
THINC_UNARY(dtanh_forward, T(1) - x * x, GRAIN_CHEAP)

THINC_V8_BINARY(relu_backward, ReluBackward)
THINC_V8_BINARY(clipped_linear_backward, ClippedLinearBackward)
THINC_V8_BINARY(relu_k_backward, ReluKBackward)
THINC_V8_BINARY(hard_swish_backward, HardSwishBackward)
THINC_V8_BINARY(hard_swish_mobilenet_backward, HardSwishMobilenetBackward)
THINC_V8_BINARY(sigmoid_backward, SigmoidBackward)
THINC_V8_BINARY(gelu_backward, GeluBackward)
THINC_V8_BINARY(gelu_approx_backward_op, GeluApproxBackward)
THINC_NO_V8_BINARY(dish_backward)
THINC_V8_BINARY(mish_backward, MishBackward)

THINC_BINARY(relu_backward, g * slope_or_nan(x > T(0), T(1), x), GRAIN_CHEAP)
THINC_BINARY(clipped_linear_backward, g * clipped_linear_grad(x, a, b, c, d), GRAIN_CHEAP)
THINC_BINARY(relu_k_backward, g * slope_or_nan(x > T(0) && x < a, T(1), x), GRAIN_CHEAP)
THINC_BINARY(hard_swish_backward,
             g * (x > T(2.5) ? T(1) : (x < T(-2.5) ? T(0) : x * T(0.4) + T(0.5))), GRAIN_CHEAP)
THINC_BINARY(hard_swish_mobilenet_backward,
             g * (x > T(3) ? T(1) : (x < T(-3) ? T(0) : (T(2) * x + T(3)) * T(1.0 / 6.0))), GRAIN_CHEAP)
THINC_BINARY(sigmoid_backward, g * x * (T(1) - x), GRAIN_CHEAP)
THINC_BINARY(gelu_backward, g * gelu_grad(x), GRAIN_COSTLY)
THINC_BINARY(dish_backward, g * dish_grad(x), GRAIN_COSTLY)
THINC_BINARY(mish_backward, g * mish_grad(x, a), GRAIN_COSTLY)

// x is clamped to +-10 in the second term, negligible there (see the v8 body).
template <typename T>
THINC_INLINE T gelu_approx_grad(T x) {
    T t = tanh_fast(gelu_approx_inner(x));
    T xc = clip_value(x, T(-10), T(10));
    T inner_grad = T(0.7978845608028654) * (T(1) + T(3) * T(0.044715) * xc * xc);
    return T(0.5) * (T(1) + t) + T(0.5) * xc * (T(1) - t * t) * inner_grad;
}
THINC_BINARY(gelu_approx_backward_op, g * gelu_approx_grad(x), GRAIN_COSTLY)

template <typename T>
static void gelu_approx_backward(const T* G, const T* X, T* dX, index_t n) {
    gelu_approx_backward_op(G, X, dX, n, T(0), T(0), T(0), T(0));
}

// swish's gradient needs both the input (for the sigmoid) and the output.
template <typename T>
THINC_INLINE void swish_backward_impl(const T* G, const T* X, const T* Y, T* dX, index_t n) {
    for (index_t i = 0; i < n; ++i) {
        T s = sigmoid_clipped(X[i]);
        dX[i] = G[i] * (Y[i] + s * (T(1) - Y[i]));
    }
}
THINC_INLINE void swish_backward_serial_body(const float* G, const float* X, const float* Y, float* dX, index_t n) {
    swish_backward_impl<float>(G, X, Y, dX, n);
}
THINC_ISA_VARIANTS(static void, swish_backward_serial, (const float* G, const float* X, const float* Y, float* dX, index_t n), swish_backward_serial_body(G, X, Y, dX, n))
THINC_INLINE void swish_backward_serial_body(const double* G, const double* X, const double* Y, double* dX,
                                               index_t n) {
    swish_backward_impl<double>(G, X, Y, dX, n);
}
THINC_ISA_VARIANTS(static void, swish_backward_serial, (const double* G, const double* X, const double* Y, double* dX, index_t n), swish_backward_serial_body(G, X, Y, dX, n))
THINC_ISA_DISPATCH(swish_backward_serial)
static void swish_backward(const float* G, const float* X, const float* Y, float* dX, index_t n) {
    thinc_parallel::parallel_for(n, GRAIN_COSTLY, SPLIT_ALIGN, [=](index_t begin, index_t end) {
#if defined(THINC_AVX2_PATH)
        if (use_avx2()) return v8::swish_backward(G + begin, X + begin, Y + begin, dX + begin, end - begin);
#endif
        swish_backward_serial(G + begin, X + begin, Y + begin, dX + begin, end - begin);
    });
}
static void swish_backward(const double* G, const double* X, const double* Y, double* dX, index_t n) {
    thinc_parallel::parallel_for(n, GRAIN_COSTLY, SPLIT_ALIGN / 2, [=](index_t begin, index_t end) {
        swish_backward_serial(G + begin, X + begin, Y + begin, dX + begin, end - begin);
    });
}

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
THINC_ISA_VARIANTS(static void, softmax_rows_serial, (const float* X, float* Y, index_t r, index_t c, float t), softmax_rows_serial_body(X, Y, r, c, t))
THINC_INLINE void softmax_rows_serial_body(const double* X, double* Y, index_t r, index_t c, double t) {
    softmax_rows_impl<double>(X, Y, r, c, t);
}
THINC_ISA_VARIANTS(static void, softmax_rows_serial, (const double* X, double* Y, index_t r, index_t c, double t), softmax_rows_serial_body(X, Y, r, c, t))
THINC_ISA_DISPATCH(softmax_rows_serial)

// Rows per thread: the grain is counted in elements, as for the activations.
inline index_t row_grain(index_t grain, index_t n_col) { return std::max<index_t>(1, grain / std::max<index_t>(1, n_col)); }

template <typename T>
static void softmax_rows(const T* X, T* Y, index_t n_row, index_t n_col, T inverse_temperature) {
    thinc_parallel::parallel_for(n_row, row_grain(GRAIN_COSTLY, n_col), 1, [=](index_t begin, index_t end) {
        const T* x = X + begin * n_col;
        T* y = Y + begin * n_col;
#if defined(THINC_AVX2_PATH)
        if (sizeof(T) == 4 && use_avx2())
            return v8::softmax_rows(reinterpret_cast<const float*>(x), reinterpret_cast<float*>(y), end - begin,
                                    n_col, float(inverse_temperature));
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
THINC_ISA_VARIANTS(static void, backprop_softmax_rows_serial, (const float* Y, const float* dY, float* dX, index_t r, index_t c, float t), backprop_softmax_rows_serial_body(Y, dY, dX, r, c, t))
THINC_INLINE void backprop_softmax_rows_serial_body(const double* Y, const double* dY, double* dX, index_t r,
                                                      index_t c, double t) {
    backprop_softmax_rows_impl<double>(Y, dY, dX, r, c, t);
}
THINC_ISA_VARIANTS(static void, backprop_softmax_rows_serial, (const double* Y, const double* dY, double* dX, index_t r, index_t c, double t), backprop_softmax_rows_serial_body(Y, dY, dX, r, c, t))
THINC_ISA_DISPATCH(backprop_softmax_rows_serial)

template <typename T>
static void backprop_softmax_rows(const T* Y, const T* dY, T* dX, index_t n_row, index_t n_col,
                                  T inverse_temperature) {
    thinc_parallel::parallel_for(n_row, row_grain(GRAIN_CHEAP, n_col), 1, [=](index_t begin, index_t end) {
        index_t offset = begin * n_col;
#if defined(THINC_AVX2_PATH)
        if (sizeof(T) == 4 && use_avx2())
            return v8::backprop_softmax_rows(reinterpret_cast<const float*>(Y + offset),
                                             reinterpret_cast<const float*>(dY + offset),
                                             reinterpret_cast<float*>(dX + offset), end - begin, n_col,
                                             float(inverse_temperature));
#endif
        backprop_softmax_rows_serial(Y + offset, dY + offset, dX + offset, end - begin, n_col, inverse_temperature);
    });
}

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
            for (index_t c = 0; c < n_col; ++c) best[c] = X[r * n_col + c] > best[c] ? X[r * n_col + c] : best[c];
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
THINC_INLINE void softmax_sequences_serial_body(const float* X, float* Y, const index_t* L, index_t n, index_t c, float* w) {
    softmax_sequences_impl<float>(X, Y, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, softmax_sequences_serial, (const float* X, float* Y, const index_t* L, index_t n, index_t c, float* w), softmax_sequences_serial_body(X, Y, L, n, c, w))
THINC_INLINE void softmax_sequences_serial_body(const double* X, double* Y, const index_t* L, index_t n, index_t c, double* w) {
    softmax_sequences_impl<double>(X, Y, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, softmax_sequences_serial, (const double* X, double* Y, const index_t* L, index_t n, index_t c, double* w), softmax_sequences_serial_body(X, Y, L, n, c, w))
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
THINC_INLINE void backprop_softmax_sequences_serial_body(const float* dY, const float* Y, float* dX, const index_t* L,
                                                    index_t n, index_t c, float* w) {
    backprop_softmax_sequences_impl<float>(dY, Y, dX, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, backprop_softmax_sequences_serial, (const float* dY, const float* Y, float* dX, const index_t* L, index_t n, index_t c, float* w), backprop_softmax_sequences_serial_body(dY, Y, dX, L, n, c, w))
THINC_INLINE void backprop_softmax_sequences_serial_body(const double* dY, const double* Y, double* dX,
                                                    const index_t* L, index_t n, index_t c, double* w) {
    backprop_softmax_sequences_impl<double>(dY, Y, dX, L, n, c, w);
}
THINC_ISA_VARIANTS(static void, backprop_softmax_sequences_serial, (const double* dY, const double* Y, double* dX, const index_t* L, index_t n, index_t c, double* w), backprop_softmax_sequences_serial_body(dY, Y, dX, L, n, c, w))
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
THINC_INLINE void reduce_sum_serial_body(const float* X, float* o, const index_t* L, index_t n, index_t c, bool m) {
    reduce_sum_impl<float>(X, o, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, reduce_sum_serial, (const float* X, float* o, const index_t* L, index_t n, index_t c, bool m), reduce_sum_serial_body(X, o, L, n, c, m))
THINC_INLINE void reduce_sum_serial_body(const double* X, double* o, const index_t* L, index_t n, index_t c, bool m) {
    reduce_sum_impl<double>(X, o, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, reduce_sum_serial, (const double* X, double* o, const index_t* L, index_t n, index_t c, bool m), reduce_sum_serial_body(X, o, L, n, c, m))
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
THINC_INLINE void backprop_reduce_sum_serial_body(const float* g, float* dX, const index_t* L, index_t n, index_t c, bool m) {
    backprop_reduce_sum_impl<float>(g, dX, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, backprop_reduce_sum_serial, (const float* g, float* dX, const index_t* L, index_t n, index_t c, bool m), backprop_reduce_sum_serial_body(g, dX, L, n, c, m))
THINC_INLINE void backprop_reduce_sum_serial_body(const double* g, double* dX, const index_t* L, index_t n, index_t c, bool m) {
    backprop_reduce_sum_impl<double>(g, dX, L, n, c, m);
}
THINC_ISA_VARIANTS(static void, backprop_reduce_sum_serial, (const double* g, double* dX, const index_t* L, index_t n, index_t c, bool m), backprop_reduce_sum_serial_body(g, dX, L, n, c, m))
THINC_ISA_DISPATCH(backprop_reduce_sum_serial)

// Lengths must all be positive here; `which` records the first maximal row.
template <typename T>
THINC_INLINE void reduce_max_impl(const T* X, T* out, int32_t* which, const index_t* lengths, index_t n_seq,
                            index_t n_col) {
    for (index_t s = 0; s < n_seq; ++s) {
        T* o = out + s * n_col;
        int32_t* w = which + s * n_col;
        std::memcpy(o, X, sizeof(T) * n_col);
        std::fill(w, w + n_col, 0);
        index_t length = lengths[s];
        for (index_t r = 1; r < length; ++r) {
            const T* x = X + r * n_col;
            for (index_t c = 0; c < n_col; ++c) {
                bool better = x[c] > o[c];
                o[c] = better ? x[c] : o[c];
                w[c] = better ? static_cast<int32_t>(r) : w[c];
            }
        }
        X += length * n_col;
    }
}
THINC_INLINE void reduce_max_serial_body(const float* X, float* o, int32_t* w, const index_t* L, index_t n, index_t c) {
    reduce_max_impl<float>(X, o, w, L, n, c);
}
THINC_ISA_VARIANTS(static void, reduce_max_serial, (const float* X, float* o, int32_t* w, const index_t* L, index_t n, index_t c), reduce_max_serial_body(X, o, w, L, n, c))
THINC_INLINE void reduce_max_serial_body(const double* X, double* o, int32_t* w, const index_t* L, index_t n, index_t c) {
    reduce_max_impl<double>(X, o, w, L, n, c);
}
THINC_ISA_VARIANTS(static void, reduce_max_serial, (const double* X, double* o, int32_t* w, const index_t* L, index_t n, index_t c), reduce_max_serial_body(X, o, w, L, n, c))
THINC_ISA_DISPATCH(reduce_max_serial)

// Returns the flat position of the first `which` entry outside its
// sequence, or -1 when all are valid (dX is then complete).
template <typename T>
THINC_INLINE index_t backprop_reduce_max_impl(const T* d_out, const int32_t* which, T* dX, const index_t* lengths,
                                        index_t n_seq, index_t n_col) {
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
THINC_INLINE index_t backprop_reduce_max_serial_body(const float* g, const int32_t* w, float* dX, const index_t* L, index_t n, index_t c) {
    return backprop_reduce_max_impl<float>(g, w, dX, L, n, c);
}
THINC_ISA_VARIANTS(static index_t, backprop_reduce_max_serial, (const float* g, const int32_t* w, float* dX, const index_t* L, index_t n, index_t c), backprop_reduce_max_serial_body(g, w, dX, L, n, c))
THINC_INLINE index_t backprop_reduce_max_serial_body(const double* g, const int32_t* w, double* dX, const index_t* L, index_t n, index_t c) {
    return backprop_reduce_max_impl<double>(g, w, dX, L, n, c);
}
THINC_ISA_VARIANTS(static index_t, backprop_reduce_max_serial, (const double* g, const int32_t* w, double* dX, const index_t* L, index_t n, index_t c), backprop_reduce_max_serial_body(g, w, dX, L, n, c))
THINC_ISA_DISPATCH(backprop_reduce_max_serial)

// ---------------------------------------------------------------------------
// seq2col: each row gets its nW left and right neighbours within its sequence
// (zeros past the edges); whole rows are copied, so it is memcpy-bound.

template <typename T>
THINC_INLINE void seq2col_impl(const T* X, T* out, const index_t* lengths, index_t n_seq, index_t n_col, index_t nW) {
    index_t width = (2 * nW + 1) * n_col;
    for (index_t s = 0; s < n_seq; ++s) {
        index_t length = lengths[s];
        for (index_t r = 0; r < length; ++r) {
            T* o = out + r * width;
            for (index_t w = -nW; w <= nW; ++w, o += n_col) {
                index_t source = r + w;
                if (source < 0 || source >= length)
                    std::memset(o, 0, sizeof(T) * n_col);
                else
                    std::memcpy(o, X + source * n_col, sizeof(T) * n_col);
            }
        }
        X += length * n_col;
        out += length * width;
    }
}
THINC_INLINE void seq2col_serial_body(const float* X, float* o, const index_t* L, index_t n, index_t c, index_t nW) {
    seq2col_impl<float>(X, o, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, seq2col_serial, (const float* X, float* o, const index_t* L, index_t n, index_t c, index_t nW), seq2col_serial_body(X, o, L, n, c, nW))
THINC_INLINE void seq2col_serial_body(const double* X, double* o, const index_t* L, index_t n, index_t c, index_t nW) {
    seq2col_impl<double>(X, o, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, seq2col_serial, (const double* X, double* o, const index_t* L, index_t n, index_t c, index_t nW), seq2col_serial_body(X, o, L, n, c, nW))
THINC_ISA_DISPATCH(seq2col_serial)

template <typename T>
THINC_INLINE void backprop_seq2col_impl(const T* dY, T* dX, const index_t* lengths, index_t n_seq, index_t n_col,
                                  index_t nW) {
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
THINC_INLINE void backprop_seq2col_serial_body(const float* g, float* d, const index_t* L, index_t n, index_t c, index_t nW) {
    backprop_seq2col_impl<float>(g, d, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, backprop_seq2col_serial, (const float* g, float* d, const index_t* L, index_t n, index_t c, index_t nW), backprop_seq2col_serial_body(g, d, L, n, c, nW))
THINC_INLINE void backprop_seq2col_serial_body(const double* g, double* d, const index_t* L, index_t n, index_t c, index_t nW) {
    backprop_seq2col_impl<double>(g, d, L, n, c, nW);
}
THINC_ISA_VARIANTS(static void, backprop_seq2col_serial, (const double* g, double* d, const index_t* L, index_t n, index_t c, index_t nW), backprop_seq2col_serial_body(g, d, L, n, c, nW))
THINC_ISA_DISPATCH(backprop_seq2col_serial)

// ---------------------------------------------------------------------------
// Maxout over the last axis of (B, O, P).

template <typename T, int P>
THINC_INLINE void maxout_fixed(const T* X, T* out, int32_t* which, index_t n) {
    for (index_t i = 0; i < n; ++i) {
        const T* x = X + i * P;
        T best = x[0];
        int32_t arg = 0;
        for (int p = 1; p < P; ++p) {
            bool better = x[p] > best;
            best = better ? x[p] : best;
            arg = better ? p : arg;
        }
        out[i] = best;
        which[i] = arg;
    }
}

template <typename T>
THINC_INLINE void maxout_impl(const T* X, T* out, int32_t* which, index_t n, index_t P) {
    // The common piece counts get a fixed trip count the compiler can unroll.
    if (P == 2) return maxout_fixed<T, 2>(X, out, which, n);
    if (P == 3) return maxout_fixed<T, 3>(X, out, which, n);
    if (P == 4) return maxout_fixed<T, 4>(X, out, which, n);
    for (index_t i = 0; i < n; ++i) {
        const T* x = X + i * P;
        T best = x[0];
        int32_t arg = 0;
        for (index_t p = 1; p < P; ++p) {
            if (x[p] > best) {
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
THINC_ISA_VARIANTS(static void, maxout_serial, (const float* X, float* o, int32_t* w, index_t n, index_t P), maxout_serial_body(X, o, w, n, P))
THINC_INLINE void maxout_serial_body(const double* X, double* o, int32_t* w, index_t n, index_t P) {
    maxout_impl<double>(X, o, w, n, P);
}
THINC_ISA_VARIANTS(static void, maxout_serial, (const double* X, double* o, int32_t* w, index_t n, index_t P), maxout_serial_body(X, o, w, n, P))
THINC_ISA_DISPATCH(maxout_serial)
template <typename T>
static void maxout(const T* X, T* out, int32_t* which, index_t n, index_t P) {
    thinc_parallel::parallel_for(n, std::max<index_t>(1, GRAIN_CHEAP / P), SPLIT_ALIGN, [=](index_t begin, index_t end) {
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
THINC_AVX2 static void backprop_maxout_v8(const float* dY, const int32_t* which, float* dX, index_t n, index_t P) {
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

// Returns the position of the first out-of-range piece index (dX is then
// unwritten), or -1.
template <typename T>
THINC_INLINE index_t backprop_maxout_any(const T* dY, const int32_t* which, T* dX, index_t n, index_t P) {
    index_t bad = first_bad_piece(which, n, P);
    if (bad >= 0) return bad;
#if defined(THINC_AVX2_PATH)
    if (sizeof(T) == 4 && P <= 8 && use_avx2()) {
        backprop_maxout_v8(reinterpret_cast<const float*>(dY), which, reinterpret_cast<float*>(dX), n, P);
        return -1;
    }
#endif
    if (P == 2) backprop_maxout_fill<T, 2>(dY, which, dX, n, P);
    else if (P == 3) backprop_maxout_fill<T, 3>(dY, which, dX, n, P);
    else if (P == 4) backprop_maxout_fill<T, 4>(dY, which, dX, n, P);
    else backprop_maxout_fill<T, 0>(dY, which, dX, n, P);
    return -1;
}
THINC_INLINE index_t backprop_maxout_serial_body(const float* g, const int32_t* w, float* d, index_t n, index_t P) {
    return backprop_maxout_any<float>(g, w, d, n, P);
}
THINC_ISA_VARIANTS(static index_t, backprop_maxout_serial, (const float* g, const int32_t* w, float* d, index_t n, index_t P), backprop_maxout_serial_body(g, w, d, n, P))
THINC_INLINE index_t backprop_maxout_serial_body(const double* g, const int32_t* w, double* d, index_t n,
                                                   index_t P) {
    return backprop_maxout_any<double>(g, w, d, n, P);
}
THINC_ISA_VARIANTS(static index_t, backprop_maxout_serial, (const double* g, const int32_t* w, double* d, index_t n, index_t P), backprop_maxout_serial_body(g, w, d, n, P))
THINC_ISA_DISPATCH(backprop_maxout_serial)

// Keeps the smallest bad position any part saw, as a serial pass would report.
inline void record_bad(std::atomic<index_t>& first_bad, index_t bad) {
    index_t current = first_bad.load(std::memory_order_relaxed);
    while ((current < 0 || bad < current) &&
           !first_bad.compare_exchange_weak(current, bad, std::memory_order_relaxed)) {
    }
}

template <typename T>
static index_t backprop_maxout(const T* dY, const int32_t* which, T* dX, index_t n, index_t P) {
    std::atomic<index_t> first_bad{-1};
    thinc_parallel::parallel_for(n, std::max<index_t>(1, GRAIN_CHEAP / P), SPLIT_ALIGN, [&](index_t begin, index_t end) {
        index_t bad = backprop_maxout_serial(dY + begin, which + begin, dX + begin * P, end - begin, P);
        if (bad >= 0) record_bad(first_bad, begin + bad);
    });
    return first_bad.load();
}

// ---------------------------------------------------------------------------
// Embedding-style table access. Each returns the position of the first index
// outside [0, n_row), or -1; indices are checked as they are used.

template <typename T, typename I>
THINC_INLINE index_t gather_add_impl(const T* __restrict table, const I* __restrict indices, T* __restrict out,
                                     index_t n_row, index_t n_col, index_t n_out, index_t n_per) {
    for (index_t i = 0; i < n_out; ++i) {
        const I* row_indices = indices + i * n_per;
        for (index_t k = 0; k < n_per; ++k) {
            index_t row = static_cast<index_t>(row_indices[k]);
            if (row < 0 || row >= n_row) return i * n_per + k;
        }
        T* o = out + i * n_col;
        // Column blocks of 32 stay in registers while every gathered row is
        // added, so each output row is written once and never re-read.
        index_t c = 0;
        for (; c + 32 <= n_col; c += 32) {
            T sum[32] = {};
            for (index_t k = 0; k < n_per; ++k) {
                const T* t = table + static_cast<index_t>(row_indices[k]) * n_col + c;
                for (int j = 0; j < 32; ++j) sum[j] += t[j];
            }
            for (int j = 0; j < 32; ++j) o[c + j] = sum[j];
        }
        for (; c < n_col; ++c) {
            T sum = 0;
            for (index_t k = 0; k < n_per; ++k) sum += table[static_cast<index_t>(row_indices[k]) * n_col + c];
            o[c] = sum;
        }
    }
    return -1;
}

template <typename T, typename I>
THINC_INLINE index_t scatter_add_impl(T* table, const I* indices, const T* values, index_t n_row, index_t n_col,
                                index_t n_index) {
    for (index_t i = 0; i < n_index; ++i) {
        index_t row = static_cast<index_t>(indices[i]);
        // Negative rows count from the end as in numpy: spaCy's parser sends -1 for its padding row.
        if (row < 0) row += n_row;
        if (row < 0 || row >= n_row) return i;
        T* t = table + row * n_col;
        const T* v = values + i * n_col;
        for (index_t c = 0; c < n_col; ++c) t[c] += v[c];
    }
    return -1;
}

#define THINC_TABLE_OPS(T, I)                                                                         \
    THINC_ISA_VARIANTS(static index_t, gather_add_serial,                                            \
                       (const T* t, const I* idx, T* o, index_t r, index_t c, index_t n, index_t k),  \
                       gather_add_impl<T, I>(t, idx, o, r, c, n, k))                                  \
    THINC_ISA_VARIANTS(static index_t, scatter_add,                                                  \
                       (T* t, const I* idx, const T* v, index_t r, index_t c, index_t n),             \
                       scatter_add_impl<T, I>(t, idx, v, r, c, n))
THINC_TABLE_OPS(float, int32_t)
THINC_TABLE_OPS(float, int64_t)
THINC_TABLE_OPS(double, int32_t)
THINC_TABLE_OPS(double, int64_t)
THINC_ISA_DISPATCH(gather_add_serial)
THINC_ISA_DISPATCH(scatter_add)

#if defined(THINC_AVX2_PATH)
// Indices already checked. Random table rows mostly come from L2/L3, so both
// kernels below prefetch the next output's rows while adding this one's.
template <typename I>
THINC_AVX2_INLINE void prefetch_gathered_rows(const float* table, const I* row_indices, index_t n_per,
                                              index_t n_col) {
    for (index_t k = 0; k < n_per; ++k) {
        const char* row = reinterpret_cast<const char*>(table + static_cast<index_t>(row_indices[k]) * n_col);
        for (index_t byte = 0; byte < n_col * 4; byte += 64) _mm_prefetch(row + byte, _MM_HINT_T0);
    }
}

// Rows of at most 12 full vectors (96 floats, spaCy's width): every column
// of the output stays in a register while each gathered row is streamed
// through once, front to back, as the prefetcher likes it.
template <int NV, typename I>
THINC_AVX2 static void gather_add_rows_v8(const float* table, const I* indices, float* out, index_t n_out,
                                          index_t n_per) {
    constexpr index_t n_col = NV * 8;
    for (index_t i = 0; i < n_out; ++i) {
        const I* row_indices = indices + i * n_per;
        if (i + 1 < n_out) prefetch_gathered_rows(table, row_indices + n_per, n_per, n_col);
        __m256 sum[NV];
        for (int v = 0; v < NV; ++v) sum[v] = _mm256_setzero_ps();
        for (index_t k = 0; k < n_per; ++k) {
            const float* t = table + static_cast<index_t>(row_indices[k]) * n_col;
            for (int v = 0; v < NV; ++v) sum[v] = _mm256_add_ps(sum[v], _mm256_loadu_ps(t + 8 * v));
        }
        float* o = out + i * n_col;
        for (int v = 0; v < NV; ++v) _mm256_storeu_ps(o + 8 * v, sum[v]);
    }
}

// Any width: four accumulators (32 columns) stay in registers while every
// gathered row is added, then 8-column and masked tail steps.
template <typename I>
THINC_AVX2 static void gather_add_v8(const float* table, const I* indices, float* out, index_t n_col, index_t n_out,
                                     index_t n_per) {
    const index_t full = n_col & ~index_t(7);
    const __m256i mask = v8::tail_mask(n_col - full);
    for (index_t i = 0; i < n_out; ++i) {
        const I* row_indices = indices + i * n_per;
        if (i + 1 < n_out) prefetch_gathered_rows(table, row_indices + n_per, n_per, n_col);
        float* o = out + i * n_col;
        index_t c = 0;
        for (; c + 32 <= full; c += 32) {
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (index_t k = 0; k < n_per; ++k) {
                const float* t = table + static_cast<index_t>(row_indices[k]) * n_col + c;
                a0 = _mm256_add_ps(a0, _mm256_loadu_ps(t));
                a1 = _mm256_add_ps(a1, _mm256_loadu_ps(t + 8));
                a2 = _mm256_add_ps(a2, _mm256_loadu_ps(t + 16));
                a3 = _mm256_add_ps(a3, _mm256_loadu_ps(t + 24));
            }
            _mm256_storeu_ps(o + c, a0);
            _mm256_storeu_ps(o + c + 8, a1);
            _mm256_storeu_ps(o + c + 16, a2);
            _mm256_storeu_ps(o + c + 24, a3);
        }
        for (; c < full; c += 8) {
            __m256 a = _mm256_setzero_ps();
            for (index_t k = 0; k < n_per; ++k)
                a = _mm256_add_ps(a, _mm256_loadu_ps(table + static_cast<index_t>(row_indices[k]) * n_col + c));
            _mm256_storeu_ps(o + c, a);
        }
        if (c < n_col) {
            __m256 a = _mm256_setzero_ps();
            for (index_t k = 0; k < n_per; ++k)
                a = _mm256_add_ps(a, _mm256_maskload_ps(table + static_cast<index_t>(row_indices[k]) * n_col + c, mask));
            _mm256_maskstore_ps(o + c, mask, a);
        }
    }
}
#endif

template <typename I>
inline index_t first_bad_row(const I* indices, index_t n, index_t n_row) {
    for (index_t i = 0; i < n; ++i) {
        index_t row = static_cast<index_t>(indices[i]);
        if (row < 0 || row >= n_row) return i;
    }
    return -1;
}

// Output rows are independent, so they split over threads without races.
template <typename T, typename I>
static index_t gather_add(const T* table, const I* indices, T* out, index_t n_row, index_t n_col, index_t n_out,
                          index_t n_per) {
    std::atomic<index_t> first_bad{-1};
    index_t grain = std::max<index_t>(1, GRAIN_CHEAP / std::max<index_t>(1, n_col * n_per));
    thinc_parallel::parallel_for(n_out, grain, 1, [&](index_t begin, index_t end) {
        index_t bad;
#if defined(THINC_AVX2_PATH)
        if (sizeof(T) == 4 && use_avx2()) {
            bad = first_bad_row(indices + begin * n_per, (end - begin) * n_per, n_row);
            if (bad < 0) {
                const float* t = reinterpret_cast<const float*>(table);
                const I* idx = indices + begin * n_per;
                float* o = reinterpret_cast<float*>(out + begin * n_col);
                index_t n = end - begin;
                switch (n_col) {
                    case 96: gather_add_rows_v8<12>(t, idx, o, n, n_per); break;
                    case 64: gather_add_rows_v8<8>(t, idx, o, n, n_per); break;
                    case 32: gather_add_rows_v8<4>(t, idx, o, n, n_per); break;
                    default: gather_add_v8(t, idx, o, n_col, n, n_per);
                }
            }
        } else
#endif
            bad = gather_add_serial(table, indices + begin * n_per, out + begin * n_col, n_row, n_col, end - begin,
                                    n_per);
        if (bad >= 0) record_bad(first_bad, begin * n_per + bad);
    });
    return first_bad.load();
}

// MurmurHash3 x64-128 of each 8-byte id through the murmurhash package's
// function (passed in, so keys stay bit-identical to thinc 8.3's); ids are
// independent, so they split over threads.
typedef void (*hash128_function)(const void* key, int length, uint32_t seed, void* out);

static void hash_ids(hash128_function hash, const uint64_t* ids, index_t n, uint32_t seed, uint32_t* out) {
    thinc_parallel::parallel_for(n, 2048, 4, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) hash(ids + i, static_cast<int>(sizeof(uint64_t)), seed, out + 4 * i);
    });
}

// ---------------------------------------------------------------------------
// Optimizer steps, fused so each array is read and written once.

template <typename T>
THINC_INLINE void adam_impl(T* weights, const T* gradient, T* mom1, T* mom2, index_t n, T beta1, T beta2, T eps,
                      T learn_rate, T mod_rate) {
    for (index_t i = 0; i < n; ++i) {
        T g = gradient[i];
        T m1 = mom1[i] * beta1 + g * (T(1) - beta1);
        T m2 = mom2[i] * beta2 + g * g * (T(1) - beta2);
        mom1[i] = m1;
        mom2[i] = m2;
        weights[i] -= learn_rate * (m1 / (mod_rate * std::sqrt(m2) + eps));
    }
}
THINC_INLINE void adam_serial_body(float* w, const float* g, float* m1, float* m2, index_t n, float b1, float b2,
                              float e, float lr, float mr) {
    adam_impl<float>(w, g, m1, m2, n, b1, b2, e, lr, mr);
}
THINC_ISA_VARIANTS(static void, adam_serial, (float* w, const float* g, float* m1, float* m2, index_t n, float b1, float b2, float e, float lr, float mr), adam_serial_body(w, g, m1, m2, n, b1, b2, e, lr, mr))
THINC_INLINE void adam_serial_body(double* w, const double* g, double* m1, double* m2, index_t n, double b1,
                              double b2, double e, double lr, double mr) {
    adam_impl<double>(w, g, m1, m2, n, b1, b2, e, lr, mr);
}
THINC_ISA_VARIANTS(static void, adam_serial, (double* w, const double* g, double* m1, double* m2, index_t n, double b1, double b2, double e, double lr, double mr), adam_serial_body(w, g, m1, m2, n, b1, b2, e, lr, mr))
THINC_ISA_DISPATCH(adam_serial)

template <typename T>
THINC_INLINE double sum_of_squares_impl(const T* x, index_t n) {
    // Eight partial sums let the reduction vectorise without -ffast-math.
    double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    index_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k) partial[k] += static_cast<double>(x[i + k]) * x[i + k];
    double total = 0;
    for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
    for (int k = 0; k < 8; ++k) total += partial[k];
    return total;
}
THINC_INLINE double sum_of_squares_serial_body(const float* x, index_t n) {
    // Sixteen float partial sums fill two AVX registers without conversions;
    // each partial adds at most n/16 terms, so float precision suffices.
    float partial[16] = {0};
    index_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; ++k) partial[k] += x[i + k] * x[i + k];
    double total = 0;
    for (; i < n; ++i) total += static_cast<double>(x[i]) * x[i];
    for (int k = 0; k < 16; ++k) total += partial[k];
    return total;
}
THINC_ISA_VARIANTS(static double, sum_of_squares_serial, (const float* x, index_t n), sum_of_squares_serial_body(x, n))
THINC_INLINE double sum_of_squares_serial_body(const double* x, index_t n) { return sum_of_squares_impl<double>(x, n); }
THINC_ISA_VARIANTS(static double, sum_of_squares_serial, (const double* x, index_t n), sum_of_squares_serial_body(x, n))
THINC_ISA_DISPATCH(sum_of_squares_serial)

template <typename T>
THINC_INLINE void scale_inplace_impl(T* x, index_t n, T factor) {
    for (index_t i = 0; i < n; ++i) x[i] *= factor;
}
THINC_INLINE void scale_inplace_serial_body(float* x, index_t n, float f) { scale_inplace_impl<float>(x, n, f); }
THINC_ISA_VARIANTS(static void, scale_inplace_serial, (float* x, index_t n, float f), scale_inplace_serial_body(x, n, f))
THINC_INLINE void scale_inplace_serial_body(double* x, index_t n, double f) { scale_inplace_impl<double>(x, n, f); }
THINC_ISA_VARIANTS(static void, scale_inplace_serial, (double* x, index_t n, double f), scale_inplace_serial_body(x, n, f))
THINC_ISA_DISPATCH(scale_inplace_serial)

template <typename T>
THINC_INLINE void update_averages_impl(T* ema, const T* weights, index_t n, T decay) {
    T rate = T(1) - decay;
    for (index_t i = 0; i < n; ++i) ema[i] -= rate * (ema[i] - weights[i]);
}
THINC_INLINE void update_averages_serial_body(float* e, const float* w, index_t n, float d) {
    update_averages_impl<float>(e, w, n, d);
}
THINC_ISA_VARIANTS(static void, update_averages_serial, (float* e, const float* w, index_t n, float d), update_averages_serial_body(e, w, n, d))
THINC_INLINE void update_averages_serial_body(double* e, const double* w, index_t n, double d) {
    update_averages_impl<double>(e, w, n, d);
}
THINC_ISA_VARIANTS(static void, update_averages_serial, (double* e, const double* w, index_t n, double d), update_averages_serial_body(e, w, n, d))
THINC_ISA_DISPATCH(update_averages_serial)

// ---------------------------------------------------------------------------
// Thread-split entry points for the sequence, optimizer and norm kernels.

// Sequences are split whole over threads; starts[s] is sequence s's first row.
template <class Body>
inline void parallel_sequences(const index_t* lengths, index_t n_seq, index_t n_col, index_t grain, Body&& body) {
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
static void backprop_reduce_sum(const T* d_out, T* dX, const index_t* L, index_t n_seq, index_t n_col, bool mean) {
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        backprop_reduce_sum_serial(d_out + begin * n_col, dX + row * n_col, L + begin, end - begin, n_col, mean);
    });
}

template <typename T>
static void reduce_max(const T* X, T* out, int32_t* which, const index_t* L, index_t n_seq, index_t n_col) {
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        reduce_max_serial(X + row * n_col, out + begin * n_col, which + begin * n_col, L + begin, end - begin, n_col);
    });
}

template <typename T>
static index_t backprop_reduce_max(const T* d_out, const int32_t* which, T* dX, const index_t* L, index_t n_seq,
                                   index_t n_col) {
    std::atomic<index_t> first_bad{-1};
    parallel_sequences(L, n_seq, n_col, GRAIN_CHEAP, [&](index_t begin, index_t end, index_t row) {
        index_t bad = backprop_reduce_max_serial(d_out + begin * n_col, which + begin * n_col, dX + row * n_col,
                                                 L + begin, end - begin, n_col);
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

template <typename T>
static void adam(T* weights, const T* gradient, T* mom1, T* mom2, index_t n, double beta1, double beta2, double eps,
                 double learn_rate, double mod_rate) {
    thinc_parallel::parallel_for(n, GRAIN_CHEAP, SPLIT_ALIGN, [=](index_t begin, index_t end) {
        adam_serial(weights + begin, gradient + begin, mom1 + begin, mom2 + begin, end - begin, T(beta1), T(beta2),
                    T(eps), T(learn_rate), T(mod_rate));
    });
}

template <typename T>
static void update_averages(T* ema, const T* weights, index_t n, double decay) {
    thinc_parallel::parallel_for(n, GRAIN_CHEAP, SPLIT_ALIGN, [=](index_t begin, index_t end) {
        update_averages_serial(ema + begin, weights + begin, end - begin, T(decay));
    });
}

template <typename T>
static void scale_inplace(T* x, index_t n, T factor) {
    thinc_parallel::parallel_for(n, GRAIN_CHEAP, SPLIT_ALIGN,
                                 [=](index_t begin, index_t end) { scale_inplace_serial(x + begin, end - begin, factor); });
}

// The sum is taken over fixed blocks whose partial sums are added in order,
// so it is the same number however many threads computed the blocks. It can
// differ in the last bits from a single left-to-right pass.
constexpr index_t NORM_BLOCK = index_t(1) << 15;

template <typename T>
static double sum_of_squares(const T* x, index_t n) {
    index_t n_blocks = (n + NORM_BLOCK - 1) / NORM_BLOCK;
    if (n_blocks <= 1) return sum_of_squares_serial(x, n);
    std::vector<double> partial(n_blocks);
    thinc_parallel::parallel_for(n_blocks, 1, 1,
                                 [&](index_t begin, index_t end) {
                                     for (index_t b = begin; b < end; ++b) {
                                         index_t start = b * NORM_BLOCK;
                                         partial[b] = sum_of_squares_serial(x + start, std::min(NORM_BLOCK, n - start));
                                     }
                                 });
    double total = 0;
    for (double value : partial) total += value;
    return total;
}

// ---------------------------------------------------------------------------
// Peak-throughput probe for the benchmark: independent FMA chains, enough of
// them to cover the FMA latency on two pipes. Returns single-precision flop/s.

#if defined(__GNUC__) && defined(__x86_64__)
// Twelve named accumulators stay in registers; FMA latency (4-5 cycles) times
// two pipes needs at least ten independent chains. One body for each width.
#define THINC_FMA_PEAK(NAME, TARGET, V, SET1, FMA, ADD, FIRST, LANES)                                  \
    __attribute__((target(TARGET))) static double NAME(double seconds) {                              \
        V a0 = SET1(1.0f), a1 = SET1(1.1f), a2 = SET1(1.2f), a3 = SET1(1.3f), a4 = SET1(1.4f);          \
        V a5 = SET1(1.5f), a6 = SET1(1.6f), a7 = SET1(1.7f), a8 = SET1(1.8f), a9 = SET1(1.9f);          \
        V a10 = SET1(2.0f), a11 = SET1(2.1f);                                                         \
        const V m = SET1(0.999999f), c = SET1(1e-7f);                                                 \
        const int64_t block = 1 << 20;                                                                \
        int64_t iterations = 0;                                                                       \
        auto start = std::chrono::steady_clock::now();                                                \
        double elapsed = 0;                                                                           \
        while (elapsed < seconds) {                                                                   \
            for (int64_t i = 0; i < block; ++i) {                                                     \
                a0 = FMA(a0, m, c); a1 = FMA(a1, m, c); a2 = FMA(a2, m, c); a3 = FMA(a3, m, c);       \
                a4 = FMA(a4, m, c); a5 = FMA(a5, m, c); a6 = FMA(a6, m, c); a7 = FMA(a7, m, c);       \
                a8 = FMA(a8, m, c); a9 = FMA(a9, m, c); a10 = FMA(a10, m, c); a11 = FMA(a11, m, c);   \
            }                                                                                         \
            iterations += block;                                                                      \
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); \
        }                                                                                             \
        V total = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(a4, a5), ADD(a6, a7)));                  \
        total = ADD(total, ADD(ADD(a8, a9), ADD(a10, a11)));                                          \
        volatile float sink = FIRST(total);                                                           \
        (void)sink;                                                                                   \
        return iterations * 12.0 * LANES * 2.0 / elapsed;                                             \
    }
THINC_FMA_PEAK(fma_peak_avx2, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
               _mm256_cvtss_f32, 8)
THINC_FMA_PEAK(fma_peak_avx512, "avx2,fma,avx512f", __m512, _mm512_set1_ps, _mm512_fmadd_ps,
               _mm512_add_ps, _mm512_cvtss_f32, 16)
#else
static double fma_peak_avx2(double) { return 0.0; }
static double fma_peak_avx512(double) { return 0.0; }
#endif

}  // namespace thinc_kernels

namespace thinc_kernels {

// ---------------------------------------------------------------------------
// One LSTM time step for `size` rows. `act` holds each row's pre-activations
// (4 blocks of nO: forget, input, output, candidate) without bias; gates are
// saved interleaved per unit as (nO, 4), matching the reference layout.

THINC_INLINE void lstm_step_forward_body(const float* act, const float* bias, const float* cell_prev,
                                           float* gates, float* cells, float* Y, index_t size, index_t nO) {
    for (index_t r = 0; r < size; ++r) {
        const float* a = act + r * 4 * nO;
        float* g = gates + r * 4 * nO;
        // The row's inputs and outputs never overlap; saying so lets gcc vectorise.
#pragma GCC ivdep
        for (index_t o = 0; o < nO; ++o) {
            float forget = sigmoid_clipped(a[o] + bias[o]);
            float input = sigmoid_clipped(a[nO + o] + bias[nO + o]);
            float output = sigmoid_clipped(a[2 * nO + o] + bias[2 * nO + o]);
            float candidate = tanh_fast(a[3 * nO + o] + bias[3 * nO + o]);
            float cell = forget * cell_prev[r * nO + o] + input * candidate;
            cells[r * nO + o] = cell;
            Y[r * nO + o] = output * tanh_fast(cell);
            g[4 * o] = forget;
            g[4 * o + 1] = input;
            g[4 * o + 2] = output;
            g[4 * o + 3] = candidate;
        }
    }
}
THINC_ISA_VARIANTS(static void, lstm_step_forward, (const float* act, const float* bias, const float* cell_prev, float* gates, float* cells, float* Y, index_t size, index_t nO), lstm_step_forward_body(act, bias, cell_prev, gates, cells, Y, size, nO))
THINC_ISA_DISPATCH(lstm_step_forward)

// The backward step: d_hidden/d_cell carry the gradient from the next step
// for its first n_next rows (sequences that ended here get none); d_cell is
// overwritten with this step's contribution to the previous cell.
THINC_INLINE void lstm_step_backward_body(const float* dY, const float* d_hidden, float* d_cell, index_t n_next,
                                            const float* gates, const float* cells, const float* cell_before,
                                            float* d_act, index_t size, index_t nO) {
    for (index_t r = 0; r < size; ++r) {
        const float* g = gates + r * 4 * nO;
        float* d = d_act + r * 4 * nO;
        bool carried = r < n_next;
#pragma GCC ivdep
        for (index_t o = 0; o < nO; ++o) {
            float forget = g[4 * o], input = g[4 * o + 1], output = g[4 * o + 2], candidate = g[4 * o + 3];
            float dh = dY[r * nO + o] + (carried ? d_hidden[r * nO + o] : 0.0f);
            float tanh_cell = tanh_fast(cells[r * nO + o]);
            float dc = (carried ? d_cell[r * nO + o] : 0.0f) + dh * output * (1.0f - tanh_cell * tanh_cell);
            d[o] = dc * cell_before[r * nO + o] * forget * (1.0f - forget);
            d[nO + o] = dc * candidate * input * (1.0f - input);
            d[2 * nO + o] = dh * tanh_cell * output * (1.0f - output);
            d[3 * nO + o] = dc * input * (1.0f - candidate * candidate);
            d_cell[r * nO + o] = dc * forget;
        }
    }
}
THINC_ISA_VARIANTS(static void, lstm_step_backward, (const float* dY, const float* d_hidden, float* d_cell, index_t n_next, const float* gates, const float* cells, const float* cell_before, float* d_act, index_t size, index_t nO), lstm_step_backward_body(dY, d_hidden, d_cell, n_next, gates, cells, cell_before, d_act, size, nO))
THINC_ISA_DISPATCH(lstm_step_backward)

}  // namespace thinc_kernels
