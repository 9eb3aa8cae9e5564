// Elementwise activations and their gradients: one row of a table per op.
#pragma once
#include "thinc_math.hh"
#include "thinc_math_avx512.hh"

namespace thinc_kernels {

#if defined(THINC_AVX2_PATH)
namespace avx2 {

// One functor per activation (lambdas would not inherit the target attribute).
// Each takes the op's scalar parameters a, b, c, d like the scalar kernels.
#define THINC_AVX2_FUNCTOR(NAME, ARGUMENTS, ...)                                                            \
    struct NAME {                                                                                           \
        __m256 a, b, c, d;                                                                                  \
        THINC_AVX2_INLINE NAME(float a_, float b_, float c_, float d_)                                      \
            : a(_mm256_set1_ps(a_)), b(_mm256_set1_ps(b_)), c(_mm256_set1_ps(c_)), d(_mm256_set1_ps(d_)) {} \
        THINC_AVX2_INLINE __m256 operator() ARGUMENTS const {                                               \
            __VA_ARGS__                                                                                     \
        }                                                                                                   \
    };
// Forward ops map x; backward ops map the incoming gradient g and the saved x.
#define THINC_AVX2_OP(NAME, ...) THINC_AVX2_FUNCTOR(NAME, (__m256 x), __VA_ARGS__)
#define THINC_AVX2_OP2(NAME, ...) THINC_AVX2_FUNCTOR(NAME, (__m256 g, __m256 x), __VA_ARGS__)

// The piecewise-linear ops: the scalar selects compile to compare chains
// (or branches on the data), min/max and one mask do the same in a few
// instructions. max_ps(lo, v) returns v when v is NaN, so NaN propagates as
// in the scalar clip_value.
THINC_AVX2_INLINE __m256 clip(__m256 v, __m256 low, __m256 high) {
    return _mm256_min_ps(high, _mm256_max_ps(low, v));
}
THINC_AVX2_INLINE __m256 where(__m256 condition, __m256 value) {
    return _mm256_and_ps(condition, value);
}
THINC_AVX2_INLINE __m256 is_nan(__m256 x) {
    return _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
}
// A derivative that is `value` where `condition` holds, 0 elsewhere, and NaN
// where the saved input was NaN (or'ing the NaN lanes keeps their bits).
THINC_AVX2_INLINE __m256 slope_or_nan(__m256 condition, __m256 value, __m256 saved) {
    return _mm256_or_ps(where(condition, value), where(is_nan(saved), saved));
}

// Zero where x <= 0; NaN compares false, so it passes (as x <= 0 ? 0 : x).
THINC_AVX2_OP(Relu, return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ), x);)
THINC_AVX2_OP(ClippedLinear, return clip(_mm256_add_ps(_mm256_mul_ps(x, a), b), c, d);)
THINC_AVX2_OP(HardSwish, {
    __m256 gate = clip(_mm256_add_ps(_mm256_mul_ps(x, constant(0.2f)), constant(0.5f)), _mm256_setzero_ps(),
                       constant(1.0f));
    return _mm256_mul_ps(x, gate);
})
THINC_AVX2_OP(HardSwishMobilenet, {
    // The gate is scaled before it meets x, so x * 6 cannot overflow first.
    __m256 gate = clip(_mm256_add_ps(x, constant(3.0f)), _mm256_setzero_ps(), constant(6.0f));
    return _mm256_mul_ps(x, _mm256_mul_ps(gate, constant(1.0f / 6.0f)));
})
// g times the slope, as the reference's dY * (Y > 0): NaN or inf in g is not masked away.
THINC_AVX2_OP2(ReluBackward, {
    __m256 positive = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
    return _mm256_mul_ps(g, slope_or_nan(positive, constant(1.0f), x));
})
THINC_AVX2_OP2(ReluKBackward, {
    __m256 inside =
        _mm256_and_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ), _mm256_cmp_ps(x, a, _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope_or_nan(inside, constant(1.0f), x));
})
THINC_AVX2_OP2(ClippedLinearBackward, {
    __m256 y = _mm256_add_ps(_mm256_mul_ps(x, a), b);
    __m256 inside = _mm256_and_ps(_mm256_cmp_ps(y, c, _CMP_GT_OQ), _mm256_cmp_ps(y, d, _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope_or_nan(inside, a, y));
})
THINC_AVX2_OP2(HardSwishBackward, {
    __m256 slope = _mm256_add_ps(_mm256_mul_ps(x, constant(0.4f)), constant(0.5f));
    slope = _mm256_blendv_ps(slope, constant(1.0f), _mm256_cmp_ps(x, constant(2.5f), _CMP_GT_OQ));
    slope = _mm256_blendv_ps(slope, _mm256_setzero_ps(), _mm256_cmp_ps(x, constant(-2.5f), _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope);
})
THINC_AVX2_OP2(HardSwishMobilenetBackward, {
    __m256 slope = _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(x, x), constant(3.0f)), constant(1.0f / 6.0f));
    slope = _mm256_blendv_ps(slope, constant(1.0f), _mm256_cmp_ps(x, constant(3.0f), _CMP_GT_OQ));
    slope = _mm256_blendv_ps(slope, _mm256_setzero_ps(), _mm256_cmp_ps(x, constant(-3.0f), _CMP_LT_OQ));
    return _mm256_mul_ps(g, slope);
})
THINC_AVX2_OP2(SigmoidBackward, return _mm256_mul_ps(_mm256_mul_ps(g, x), _mm256_sub_ps(constant(1.0f), x));)

THINC_AVX2_OP(Sigmoid, return sigmoid(x);)
THINC_AVX2_OP(Swish, return _mm256_mul_ps(x, sigmoid(x));)
THINC_AVX2_OP(Gelu, return _mm256_mul_ps(x, half_plus_odd_rational(x, CDF_NUMERATOR, CDF_DENOMINATOR));)
THINC_AVX2_OP(GeluApprox, {
    __m256 t = tanh(gelu_approx_inner(x));
    return _mm256_mul_ps(_mm256_mul_ps(constant(0.5f), x), _mm256_add_ps(constant(1.0f), t));
})
// tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2); a is the threshold
// above which mish is the identity.
THINC_AVX2_OP(Mish, {
    __m256 e = exp(_mm256_min_ps(x, constant(20.0f)));
    __m256 n = _mm256_mul_ps(e, _mm256_add_ps(e, constant(2.0f)));
    __m256 y = divide(_mm256_mul_ps(x, n), _mm256_add_ps(n, constant(2.0f)));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, a, _CMP_GE_OQ));
})
// x - x is NaN for x = +-inf, where the reference's inf * 0 gives NaN too.
THINC_AVX2_OP2(GeluBackward, {
    __m256 grad = half_plus_odd_rational(x, GELU_GRAD_NUMERATOR, GELU_GRAD_DENOMINATOR);
    return _mm256_fmadd_ps(g, grad, _mm256_sub_ps(x, x));
})
// Past |x| = 10 the second term is negligible (1 - t^2 < 1e-37), so x is
// clamped there: 0 * x^2 must not become 0 * inf = NaN for huge finite x.
THINC_AVX2_OP2(GeluApproxBackward, {
    __m256 t = tanh(gelu_approx_inner(x));
    __m256 xc = clip(x, constant(-10.0f), constant(10.0f));
    __m256 inner_grad =
        _mm256_mul_ps(constant(0.7978845608028654f),
                      _mm256_fmadd_ps(constant(3.0f * 0.044715f), _mm256_mul_ps(xc, xc), constant(1.0f)));
    __m256 left = _mm256_mul_ps(constant(0.5f), _mm256_add_ps(constant(1.0f), t));
    __m256 right = _mm256_mul_ps(_mm256_mul_ps(constant(0.5f), xc),
                                 _mm256_mul_ps(_mm256_fnmadd_ps(t, t, constant(1.0f)), inner_grad));
    return _mm256_mul_ps(g, _mm256_add_ps(left, right));
})
THINC_AVX2_OP2(MishBackward, {
    __m256 e = exp(_mm256_min_ps(x, constant(20.0f)));
    __m256 n = _mm256_mul_ps(e, _mm256_add_ps(e, constant(2.0f)));
    __m256 denominator = _mm256_add_ps(n, constant(2.0f));
    // x multiplies last: 4x overflows for x near the float limit, where e is 0.
    __m256 numerator = _mm256_fmadd_ps(
        n, denominator,
        _mm256_mul_ps(x, _mm256_mul_ps(constant(4.0f), _mm256_mul_ps(e, _mm256_add_ps(e, constant(1.0f))))));
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
        _mm256_storeu_ps(dX + i,
                         swish_grad(_mm256_loadu_ps(G + i), _mm256_loadu_ps(X + i), _mm256_loadu_ps(Y + i)));
    if (i < n) {
        __m256i mask = tail_mask(n - i);
        _mm256_maskstore_ps(dX + i, mask,
                            swish_grad(_mm256_maskload_ps(G + i, mask), _mm256_maskload_ps(X + i, mask),
                                       _mm256_maskload_ps(Y + i, mask)));
    }
}

}  // namespace avx2
#endif

// ---------------------------------------------------------------------------
// Elementwise activations. X and Y may be the same buffer (inplace).

template <typename T>
THINC_INLINE T clip_value(T x, T low, T high) {
    // As numpy's clip, minimum(maximum(x, low), high): high wins when the bounds
    // cross, and NaN passes both compares.
    T raised = x < low ? low : x;
    return raised > high ? high : raised;
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

// 1 + x / sqrt(1 + x^2). For x < 0 the sum cancels (1 - 0.99995 at x = -100
// keeps three digits of float32): there it is 1 / (s (s - x)), as s^2 - x^2 =
// 1, with s = sqrt(1 + x^2), which is -x past -1e18 (x^2 would overflow).
template <typename T>
THINC_INLINE T dish_one_plus_ratio(T x) {
    T s = x < T(-1e18) ? -x : std::sqrt(T(1) + x * x);
    T negative = (T(1) / s) / (s - x);
    return x < T(0) ? negative : T(1) + dish_ratio(x);
}

template <typename T>
THINC_INLINE T dish_value(T x) {
    return T(0.5) * x * dish_one_plus_ratio(x);
}

// 0.5 + r - r^3 / 2 with r = dish_ratio(x), as (1 + r)(1 + r - r^2) / 2 with
// 1 + r taken without cancelling: every digit kept for large negative x.
template <typename T>
THINC_INLINE T dish_grad(T x) {
    T r = dish_ratio(x);
    T q = dish_one_plus_ratio(x);
    return T(0.5) * q * (q - r * r);
}

// x is clamped to +-10 in the second term, negligible there (see the AVX2 body).
template <typename T>
THINC_INLINE T gelu_approx_grad(T x) {
    T t = tanh_fast(gelu_approx_inner(x));
    T xc = clip_value(x, T(-10), T(10));
    T inner_grad = T(0.7978845608028654) * (T(1) + T(3) * T(0.044715) * xc * xc);
    return T(0.5) * (T(1) + t) + T(0.5) * xc * (T(1) - t * t) * inner_grad;
}

// The elementwise ops, one row each: the Ops method's name, the scalar
// expression (forward rows read x; backward rows read the incoming gradient g
// and the saved input or output x; a, b, c, d are the method's float
// parameters in the order of its signature), the AVX2 float32 functor built
// from them (None: gcc's vectorisation of the scalar row is fast enough),
// and the elements per thread below which splitting costs more than it saves.
// NumpyOps gets one method per row (thinc/backends/kernels/elementwise.pxi);
// ARCHITECTURE.md shows how to add a row.
// clang-format off
#define THINC_FORWARD_OPS(X)                                                                    \
    X(relu, x <= T(0) ? T(0) : x, Relu(a, b, c, d), GRAIN_CHEAP)                                \
    X(relu_k, clip_value(x * T(1) + T(0), T(0), a), ClippedLinear(1.f, 0.f, 0.f, a), GRAIN_CHEAP) \
    X(clipped_linear, clip_value(x * a + b, c, d), ClippedLinear(a, b, c, d), GRAIN_CHEAP)      \
    X(hard_sigmoid, clip_value(x * T(0.2) + T(0.5), T(0), T(1)),                                \
      ClippedLinear(0.2f, 0.5f, 0.f, 1.f), GRAIN_CHEAP)                                         \
    X(hard_tanh, clip_value(x * T(1) + T(0), T(-1), T(1)), ClippedLinear(1.f, 0.f, -1.f, 1.f),  \
      GRAIN_CHEAP)                                                                              \
    X(hard_swish, x * clip_value(x * T(0.2) + T(0.5), T(0), T(1)), HardSwish(a, b, c, d),       \
      GRAIN_CHEAP)                                                                              \
    X(hard_swish_mobilenet, x * (clip_value(x + T(3), T(0), T(6)) * T(1.0 / 6.0)),              \
      HardSwishMobilenet(a, b, c, d), GRAIN_CHEAP)                                              \
    X(sigmoid, sigmoid_clipped(x), Sigmoid(a, b, c, d), GRAIN_COSTLY)                           \
    X(swish, x * sigmoid_clipped(x), Swish(a, b, c, d), GRAIN_COSTLY)                           \
    X(gelu, x * gelu_cdf(x), Gelu(a, b, c, d), GRAIN_COSTLY)                                    \
    X(gelu_approx, T(0.5) * x * (T(1) + tanh_fast(gelu_approx_inner(x))),                       \
      GeluApprox(a, b, c, d), GRAIN_COSTLY)                                                     \
    X(dish, dish_value(x), None(), GRAIN_COSTLY)                                                \
    X(mish, mish_value(x, a), Mish(a, b, c, d), GRAIN_COSTLY)                                   \
    X(dsigmoid, x * (T(1) - x), None(), GRAIN_CHEAP)                                            \
    X(dtanh, T(1) - x * x, None(), GRAIN_CHEAP)

#define THINC_BACKWARD_OPS(X)                                                                   \
    X(backprop_relu, g * slope_or_nan(x > T(0), T(1), x), ReluBackward(a, b, c, d), GRAIN_CHEAP) \
    X(backprop_relu_k, g * slope_or_nan(x > T(0) && x < a, T(1), x), ReluKBackward(a, b, c, d), \
      GRAIN_CHEAP)                                                                              \
    X(backprop_clipped_linear, g * clipped_linear_grad(x, a, b, c, d),                          \
      ClippedLinearBackward(a, b, c, d), GRAIN_CHEAP)                                           \
    X(backprop_hard_sigmoid, g * clipped_linear_grad(x, T(0.2), T(0.5), T(0), T(1)),            \
      ClippedLinearBackward(0.2f, 0.5f, 0.f, 1.f), GRAIN_CHEAP)                                 \
    X(backprop_hard_tanh, g * clipped_linear_grad(x, T(1), T(0), T(-1), T(1)),                  \
      ClippedLinearBackward(1.f, 0.f, -1.f, 1.f), GRAIN_CHEAP)                                  \
    X(backprop_hard_swish, g * (x > T(2.5) ? T(1) : (x < T(-2.5) ? T(0) : x * T(0.4) + T(0.5))), \
      HardSwishBackward(a, b, c, d), GRAIN_CHEAP)                                               \
    X(backprop_hard_swish_mobilenet,                                                            \
      g * (x > T(3) ? T(1) : (x < T(-3) ? T(0) : (T(2) * x + T(3)) * T(1.0 / 6.0))),            \
      HardSwishMobilenetBackward(a, b, c, d), GRAIN_CHEAP)                                      \
    X(backprop_sigmoid, g * x * (T(1) - x), SigmoidBackward(a, b, c, d), GRAIN_CHEAP)           \
    X(backprop_gelu, g * gelu_grad(x), GeluBackward(a, b, c, d), GRAIN_COSTLY)                  \
    X(backprop_gelu_approx, g * gelu_approx_grad(x), GeluApproxBackward(a, b, c, d), GRAIN_COSTLY) \
    X(backprop_dish, g * dish_grad(x), None(), GRAIN_COSTLY)                                    \
    X(backprop_mish, g * mish_grad(x, a), MishBackward(a, b, c, d), GRAIN_COSTLY)
// clang-format on

// --- What the table generates -------------------------------------------------
// Per row, a struct with the scalar expression, the grain and (where the CPU
// path exists) the AVX2 functor; then one kernel template per direction with
// its ISA variants, and run_forward/run_backward that dispatch on the row code.

#if defined(THINC_AVX2_PATH)
namespace avx2 {
// Marks a row without a hand-written AVX2 body.
struct None {
    THINC_AVX2_INLINE None() {}
};
}  // namespace avx2
#define THINC_ROW_AVX2(FUNCTOR)                                                         \
    THINC_AVX2_INLINE static auto avx2_op(float a, float b, float c, float d) {         \
        (void)a;                                                                        \
        (void)b;                                                                        \
        (void)c;                                                                        \
        (void)d;                                                                        \
        return avx2::FUNCTOR;                                                           \
    }                                                                                   \
    static constexpr bool has_avx2() {                                                  \
        return !std::is_same<decltype(avx2_op(0.f, 0.f, 0.f, 0.f)), avx2::None>::value; \
    }
#else
#define THINC_ROW_AVX2(FUNCTOR)        \
    static constexpr bool has_avx2() { \
        return false;                  \
    }
#endif

#define THINC_FORWARD_ROW(NAME, EXPR, FUNCTOR, GRAIN)          \
    struct NAME##_row {                                        \
        template <typename T>                                  \
        THINC_INLINE static T apply(T x, T a, T b, T c, T d) { \
            (void)a;                                           \
            (void)b;                                           \
            (void)c;                                           \
            (void)d;                                           \
            return (EXPR);                                     \
        }                                                      \
        static constexpr index_t grain = GRAIN;                \
        THINC_ROW_AVX2(FUNCTOR)                                \
    };
#define THINC_BACKWARD_ROW(NAME, EXPR, FUNCTOR, GRAIN)              \
    struct NAME##_row {                                             \
        template <typename T>                                       \
        THINC_INLINE static T apply(T g, T x, T a, T b, T c, T d) { \
            (void)a;                                                \
            (void)b;                                                \
            (void)c;                                                \
            (void)d;                                                \
            return (EXPR);                                          \
        }                                                           \
        static constexpr index_t grain = GRAIN;                     \
        THINC_ROW_AVX2(FUNCTOR)                                     \
    };
THINC_FORWARD_OPS(THINC_FORWARD_ROW)
THINC_BACKWARD_OPS(THINC_BACKWARD_ROW)

// The row codes, in table order: NumpyOps looks them up by name.
#define THINC_ROW_CODE(NAME, EXPR, FUNCTOR, GRAIN) NAME,
#define THINC_ROW_NAME(NAME, EXPR, FUNCTOR, GRAIN) #NAME,
enum class Forward : int { THINC_FORWARD_OPS(THINC_ROW_CODE) count };
enum class Backward : int { THINC_BACKWARD_OPS(THINC_ROW_CODE) count };
inline int forward_count() {
    return int(Forward::count);
}
inline int backward_count() {
    return int(Backward::count);
}
inline const char* forward_name(int code) {
    static const char* const names[] = {THINC_FORWARD_OPS(THINC_ROW_NAME)};
    return code >= 0 && code < forward_count() ? names[code] : "";
}
inline const char* backward_name(int code) {
    static const char* const names[] = {THINC_BACKWARD_OPS(THINC_ROW_NAME)};
    return code >= 0 && code < backward_count() ? names[code] : "";
}

template <class Row, typename T>
THINC_INLINE void forward_loop(const T* X, T* Y, index_t n, T a, T b, T c, T d) {
    for (index_t i = 0; i < n; ++i) Y[i] = Row::apply(X[i], a, b, c, d);
}
template <class Row, typename T>
THINC_INLINE void backward_loop(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) {
    for (index_t i = 0; i < n; ++i) dX[i] = Row::apply(G[i], S[i], a, b, c, d);
}

// The scalar loop compiled once per ISA level (gcc vectorises it for each).
#if defined(THINC_ISA_X86)
template <class Row, typename T>
THINC_TARGET_AVX512 void forward_avx512(const T* X, T* Y, index_t n, T a, T b, T c, T d) {
    forward_loop<Row, T>(X, Y, n, a, b, c, d);
}
template <class Row, typename T>
THINC_TARGET_AVX2 void forward_avx2(const T* X, T* Y, index_t n, T a, T b, T c, T d) {
    forward_loop<Row, T>(X, Y, n, a, b, c, d);
}
template <class Row, typename T>
THINC_TARGET_AVX512 void backward_avx512(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) {
    backward_loop<Row, T>(G, S, dX, n, a, b, c, d);
}
template <class Row, typename T>
THINC_TARGET_AVX2 void backward_avx2(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) {
    backward_loop<Row, T>(G, S, dX, n, a, b, c, d);
}
#endif
template <class Row, typename T>
void forward_scalar(const T* X, T* Y, index_t n, T a, T b, T c, T d) {
    forward_loop<Row, T>(X, Y, n, a, b, c, d);
}
template <class Row, typename T>
void backward_scalar(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) {
    backward_loop<Row, T>(G, S, dX, n, a, b, c, d);
}
template <class Row, typename T>
THINC_INLINE void forward_levels(const T* X, T* Y, index_t n, T a, T b, T c, T d) {
#if defined(THINC_ISA_X86)
    switch (thinc_isa::active()) {
        case thinc_isa::AVX512:
            return forward_avx512<Row, T>(X, Y, n, a, b, c, d);
        case thinc_isa::AVX2:
            return forward_avx2<Row, T>(X, Y, n, a, b, c, d);
    }
#endif
    forward_scalar<Row, T>(X, Y, n, a, b, c, d);
}
template <class Row, typename T>
THINC_INLINE void backward_levels(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) {
#if defined(THINC_ISA_X86)
    switch (thinc_isa::active()) {
        case thinc_isa::AVX512:
            return backward_avx512<Row, T>(G, S, dX, n, a, b, c, d);
        case thinc_isa::AVX2:
            return backward_avx2<Row, T>(G, S, dX, n, a, b, c, d);
    }
#endif
    backward_scalar<Row, T>(G, S, dX, n, a, b, c, d);
}

#if defined(THINC_AVX2_PATH)
template <class Row>
THINC_AVX2 void forward_avx2_map(const float* X, float* Y, index_t n, float a, float b, float c, float d) {
    if constexpr (Row::has_avx2()) avx2::map(X, Y, n, Row::avx2_op(a, b, c, d));
}
template <class Row>
THINC_AVX2 void backward_avx2_map(const float* G, const float* S, float* dX, index_t n, float a, float b,
                                  float c, float d) {
    if constexpr (Row::has_avx2()) avx2::map2(G, S, dX, n, Row::avx2_op(a, b, c, d));
}
#endif

// The hand-written AVX2 bodies run at the AVX2 level only: at AVX-512, gcc's
// 512-bit vectorisation of the scalar rows measured as fast on the memory-bound
// rows and 9-12% faster on sigmoid, swish and gelu (one thread, 384K floats).
inline bool hand_written_avx2() {
    return thinc_isa::active() == thinc_isa::AVX2;
}

// Rows with a hand-written AVX-512 body (thinc_math_avx512.hh, the same bits
// as gcc's code of the scalar row at that level, in about half the cycles on
// a Zen 5); the other rows run gcc's code at AVX-512.
template <class Row>
struct avx512_body {
    static constexpr bool exists = false;
};
#if defined(THINC_AVX512_PATH)
template <>
struct avx512_body<sigmoid_row> {
    static constexpr bool exists = true;
    using Op = avx512::Sigmoid;
};
template <>
struct avx512_body<swish_row> {
    static constexpr bool exists = true;
    using Op = avx512::Swish;
};
template <class Row>
THINC_TARGET_AVX512 void forward_avx512_body(const float* X, float* Y, index_t n) {
    avx512::map(Y, n, typename avx512_body<Row>::Op(), X);
}
#endif
inline bool hand_written_avx512() {
    return thinc_isa::active() == thinc_isa::AVX512;
}

// One row over n elements, split over threads in parts of at least Row::grain;
// float32 takes the hand-written AVX2 body where the row has one and the level is AVX2.
template <class Row, typename T>
void forward(const T* X, T* Y, index_t n, T a, T b, T c, T d) {
    constexpr index_t align = std::is_same<T, float>::value ? SPLIT_ALIGN : SPLIT_ALIGN / 2;
    thinc_parallel::parallel_for(n, Row::grain, align, [=](index_t begin, index_t end) {
#if defined(THINC_AVX512_PATH)
        if constexpr (std::is_same<T, float>::value && avx512_body<Row>::exists) {
            if (hand_written_avx512()) return forward_avx512_body<Row>(X + begin, Y + begin, end - begin);
        }
#endif
#if defined(THINC_AVX2_PATH)
        if constexpr (std::is_same<T, float>::value && Row::has_avx2()) {
            if (hand_written_avx2())
                return forward_avx2_map<Row>(X + begin, Y + begin, end - begin, a, b, c, d);
        }
#endif
        forward_levels<Row, T>(X + begin, Y + begin, end - begin, a, b, c, d);
    });
}
template <class Row, typename T>
void backward(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) {
    constexpr index_t align = std::is_same<T, float>::value ? SPLIT_ALIGN : SPLIT_ALIGN / 2;
    thinc_parallel::parallel_for(n, Row::grain, align, [=](index_t begin, index_t end) {
#if defined(THINC_AVX2_PATH)
        if constexpr (std::is_same<T, float>::value && Row::has_avx2()) {
            if (hand_written_avx2())
                return backward_avx2_map<Row>(G + begin, S + begin, dX + begin, end - begin, a, b, c, d);
        }
#endif
        backward_levels<Row, T>(G + begin, S + begin, dX + begin, end - begin, a, b, c, d);
    });
}

// The entry points NumpyOps calls: row `code` of the forward or backward table.
#define THINC_FORWARD_CASE(NAME, EXPR, FUNCTOR, GRAIN) \
    case Forward::NAME:                                \
        return forward<NAME##_row, T>(X, Y, n, a, b, c, d);
#define THINC_BACKWARD_CASE(NAME, EXPR, FUNCTOR, GRAIN) \
    case Backward::NAME:                                \
        return backward<NAME##_row, T>(G, S, dX, n, a, b, c, d);
template <typename T>
void run_forward_row(int code, const T* X, T* Y, index_t n, T a, T b, T c, T d) {
    switch (Forward(code)) {
        THINC_FORWARD_OPS(THINC_FORWARD_CASE)
        case Forward::count:
            break;
    }
}
template <typename T>
void run_backward_row(int code, const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) {
    switch (Backward(code)) {
        THINC_BACKWARD_OPS(THINC_BACKWARD_CASE)
        case Backward::count:
            break;
    }
}

// Plain overloads, so the parameters convert to the array's precision.
inline void run_forward(int code, const float* X, float* Y, index_t n, float a, float b, float c, float d) {
    run_forward_row<float>(code, X, Y, n, a, b, c, d);
}
inline void run_forward(int code, const double* X, double* Y, index_t n, double a, double b, double c,
                        double d) {
    run_forward_row<double>(code, X, Y, n, a, b, c, d);
}
inline void run_backward(int code, const float* G, const float* S, float* dX, index_t n, float a, float b,
                         float c, float d) {
    run_backward_row<float>(code, G, S, dX, n, a, b, c, d);
}
inline void run_backward(int code, const double* G, const double* S, double* dX, index_t n, double a,
                         double b, double c, double d) {
    run_backward_row<double>(code, G, S, dX, n, a, b, c, d);
}

// swish's gradient needs both the input (for the sigmoid) and the output.
template <typename T>
THINC_INLINE void swish_backward_impl(const T* G, const T* X, const T* Y, T* dX, index_t n) {
    for (index_t i = 0; i < n; ++i) {
        T s = sigmoid_clipped(X[i]);
        dX[i] = G[i] * (Y[i] + s * (T(1) - Y[i]));
    }
}
THINC_INLINE void swish_backward_serial_body(const float* G, const float* X, const float* Y, float* dX,
                                             index_t n) {
    swish_backward_impl<float>(G, X, Y, dX, n);
}
THINC_ISA_VARIANTS(static void, swish_backward_serial,
                   (const float* G, const float* X, const float* Y, float* dX, index_t n),
                   swish_backward_serial_body(G, X, Y, dX, n))
THINC_INLINE void swish_backward_serial_body(const double* G, const double* X, const double* Y, double* dX,
                                             index_t n) {
    swish_backward_impl<double>(G, X, Y, dX, n);
}
THINC_ISA_VARIANTS(static void, swish_backward_serial,
                   (const double* G, const double* X, const double* Y, double* dX, index_t n),
                   swish_backward_serial_body(G, X, Y, dX, n))
THINC_ISA_DISPATCH(swish_backward_serial)
#if defined(THINC_AVX512_PATH)
THINC_TARGET_AVX512 static void swish_backward_avx512(const float* G, const float* X, const float* Y,
                                                      float* dX, index_t n) {
    avx512::map(dX, n, avx512::SwishBackward(), G, X, Y);
}
#endif
static void swish_backward(const float* G, const float* X, const float* Y, float* dX, index_t n) {
    thinc_parallel::parallel_for(n, GRAIN_COSTLY, SPLIT_ALIGN, [=](index_t begin, index_t end) {
#if defined(THINC_AVX512_PATH)
        if (hand_written_avx512())
            return swish_backward_avx512(G + begin, X + begin, Y + begin, dX + begin, end - begin);
#endif
#if defined(THINC_AVX2_PATH)
        if (hand_written_avx2())
            return avx2::swish_backward(G + begin, X + begin, Y + begin, dX + begin, end - begin);
#endif
        swish_backward_serial(G + begin, X + begin, Y + begin, dX + begin, end - begin);
    });
}
static void swish_backward(const double* G, const double* X, const double* Y, double* dX, index_t n) {
    thinc_parallel::parallel_for(n, GRAIN_COSTLY, SPLIT_ALIGN / 2, [=](index_t begin, index_t end) {
        swish_backward_serial(G + begin, X + begin, Y + begin, dX + begin, end - begin);
    });
}

}  // namespace thinc_kernels
