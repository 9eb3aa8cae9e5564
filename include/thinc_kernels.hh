// CPU kernels behind NumpyOps: elementwise activations, sequence reductions,
// window and gather ops, optimizer steps. Callers (numpy_ops.pyx) validate inputs.
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

// Each exported kernel is compiled for AVX-512, AVX2+FMA and the baseline ISA;
// the loader picks the widest one the CPU has, so wheels stay portable.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(THINC_NO_CLONES)
#define THINC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define THINC_CLONES
#endif

#if defined(__GNUC__)
#define THINC_INLINE inline __attribute__((always_inline))
#else
#define THINC_INLINE inline
#endif

namespace thinc_kernels {

typedef int64_t index_t;

// ---------------------------------------------------------------------------
// Scalar math written without library calls, so the loops that use it vectorise.

THINC_INLINE float exp_fast(float x) {
    // Range reduction x = n*ln2 + r, then a degree-6 polynomial for e^r
    // (about 1 ulp); the clamp keeps 2^n a normal float.
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
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
    return T(0.3989422804014327) * exp_fast(T(-0.5) * x * x);
}

// ---------------------------------------------------------------------------
// Elementwise activations. X and Y may be the same buffer (inplace).

template <typename T>
THINC_INLINE T clip_value(T x, T low, T high) {
    return x < low ? low : (x > high ? high : x);
}

template <typename T>
THINC_INLINE T clipped_linear_grad(T x, T slope, T offset, T low, T high) {
    T y = x * slope + offset;
    return (y > low && y < high) ? slope : T(0);
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
    T grad = n / denominator + x * T(4) * e * (e + T(1)) / (denominator * denominator);
    return x >= threshold ? T(1) : grad;
}

template <typename T>
THINC_INLINE T gelu_approx_inner(T x) {
    return T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
}

template <typename T>
THINC_INLINE T dish_value(T x) {
    T s = std::sqrt(T(1) + x * x);
    return x * (T(0.5) + T(0.5) * x / s);
}

template <typename T>
THINC_INLINE T dish_grad(T x) {
    T s = std::sqrt(T(1) + x * x);
    return T(0.5) + x / s - T(0.5) * x * x * x / (s * s * s);
}

#define THINC_UNARY(NAME, EXPR)                                                 \
    template <typename T>                                                       \
    THINC_INLINE void NAME##_impl(const T* X, T* Y, index_t n, T a, T b, T c, T d) {  \
        (void)a; (void)b; (void)c; (void)d;                                     \
        for (index_t i = 0; i < n; ++i) {                                       \
            T x = X[i];                                                         \
            Y[i] = (EXPR);                                                      \
        }                                                                       \
    }                                                                           \
    THINC_CLONES static void NAME(const float* X, float* Y, index_t n, float a, \
                                  float b, float c, float d) {                  \
        NAME##_impl<float>(X, Y, n, a, b, c, d);                                \
    }                                                                           \
    THINC_CLONES static void NAME(const double* X, double* Y, index_t n,        \
                                  double a, double b, double c, double d) {     \
        NAME##_impl<double>(X, Y, n, a, b, c, d);                               \
    }

// Backward kernels read the upstream gradient G and the saved input or
// output S, writing dX (which may alias G).
#define THINC_BINARY(NAME, EXPR)                                                          \
    template <typename T>                                                                 \
    THINC_INLINE void NAME##_impl(const T* G, const T* S, T* dX, index_t n, T a, T b, T c, T d) { \
        (void)a; (void)b; (void)c; (void)d;                                               \
        for (index_t i = 0; i < n; ++i) {                                                 \
            T g = G[i];                                                                   \
            T x = S[i];                                                                   \
            dX[i] = (EXPR);                                                               \
        }                                                                                 \
    }                                                                                     \
    THINC_CLONES static void NAME(const float* G, const float* S, float* dX, index_t n,   \
                                  float a, float b, float c, float d) {                   \
        NAME##_impl<float>(G, S, dX, n, a, b, c, d);                                      \
    }                                                                                     \
    THINC_CLONES static void NAME(const double* G, const double* S, double* dX,          \
                                  index_t n, double a, double b, double c, double d) {    \
        NAME##_impl<double>(G, S, dX, n, a, b, c, d);                                     \
    }

// a, b, c, d carry each op's scalar parameters (threshold, slope, ...).
THINC_UNARY(relu_forward, x > T(0) ? x : T(0))
THINC_UNARY(clipped_linear_forward, clip_value(x * a + b, c, d))
THINC_UNARY(hard_swish_forward, x * clip_value(x * T(0.2) + T(0.5), T(0), T(1)))
THINC_UNARY(hard_swish_mobilenet_forward, x * clip_value(x + T(3), T(0), T(6)) * T(1.0 / 6.0))
THINC_UNARY(sigmoid_forward, sigmoid_clipped(x))
THINC_UNARY(swish_forward, x * sigmoid_clipped(x))
THINC_UNARY(gelu_forward, x * normal_cdf(x))
THINC_UNARY(gelu_approx_forward, T(0.5) * x * (T(1) + tanh_fast(gelu_approx_inner(x))))
THINC_UNARY(dish_forward, dish_value(x))
THINC_UNARY(mish_forward, mish_value(x, a))
THINC_UNARY(tanh_forward, tanh_fast(x))
THINC_UNARY(dsigmoid_forward, x * (T(1) - x))
THINC_UNARY(dtanh_forward, T(1) - x * x)

THINC_BINARY(relu_backward, x > T(0) ? g : T(0))
THINC_BINARY(clipped_linear_backward, g * clipped_linear_grad(x, a, b, c, d))
THINC_BINARY(relu_k_backward, (x > T(0) && x < a) ? g : T(0))
THINC_BINARY(hard_swish_backward,
             g * (x > T(2.5) ? T(1) : (x < T(-2.5) ? T(0) : x * T(0.4) + T(0.5))))
THINC_BINARY(hard_swish_mobilenet_backward,
             g * (x > T(3) ? T(1) : (x < T(-3) ? T(0) : (T(2) * x + T(3)) * T(1.0 / 6.0))))
THINC_BINARY(sigmoid_backward, g * x * (T(1) - x))
THINC_BINARY(gelu_backward, g * (normal_cdf(x) + x * normal_pdf(x)))
THINC_BINARY(dish_backward, g * dish_grad(x))
THINC_BINARY(mish_backward, g * mish_grad(x, a))

template <typename T>
THINC_INLINE void gelu_approx_backward_impl(const T* G, const T* X, T* dX, index_t n) {
    for (index_t i = 0; i < n; ++i) {
        T x = X[i];
        T t = tanh_fast(gelu_approx_inner(x));
        T inner_grad = T(0.7978845608028654) * (T(1) + T(3) * T(0.044715) * x * x);
        dX[i] = G[i] * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * inner_grad);
    }
}
THINC_CLONES static void gelu_approx_backward(const float* G, const float* X, float* dX, index_t n) {
    gelu_approx_backward_impl<float>(G, X, dX, n);
}
THINC_CLONES static void gelu_approx_backward(const double* G, const double* X, double* dX, index_t n) {
    gelu_approx_backward_impl<double>(G, X, dX, n);
}

// swish's gradient needs both the input (for the sigmoid) and the output.
template <typename T>
THINC_INLINE void swish_backward_impl(const T* G, const T* X, const T* Y, T* dX, index_t n) {
    for (index_t i = 0; i < n; ++i) {
        T s = sigmoid_clipped(X[i]);
        dX[i] = G[i] * (Y[i] + s * (T(1) - Y[i]));
    }
}
THINC_CLONES static void swish_backward(const float* G, const float* X, const float* Y, float* dX, index_t n) {
    swish_backward_impl<float>(G, X, Y, dX, n);
}
THINC_CLONES static void swish_backward(const double* G, const double* X, const double* Y, double* dX, index_t n) {
    swish_backward_impl<double>(G, X, Y, dX, n);
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
THINC_CLONES static void softmax_rows(const float* X, float* Y, index_t r, index_t c, float t) {
    softmax_rows_impl<float>(X, Y, r, c, t);
}
THINC_CLONES static void softmax_rows(const double* X, double* Y, index_t r, index_t c, double t) {
    softmax_rows_impl<double>(X, Y, r, c, t);
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
THINC_CLONES static void backprop_softmax_rows(const float* Y, const float* dY, float* dX, index_t r,
                                               index_t c, float t) {
    backprop_softmax_rows_impl<float>(Y, dY, dX, r, c, t);
}
THINC_CLONES static void backprop_softmax_rows(const double* Y, const double* dY, double* dX, index_t r,
                                               index_t c, double t) {
    backprop_softmax_rows_impl<double>(Y, dY, dX, r, c, t);
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
THINC_CLONES static void softmax_sequences(const float* X, float* Y, const index_t* L, index_t n, index_t c, float* w) {
    softmax_sequences_impl<float>(X, Y, L, n, c, w);
}
THINC_CLONES static void softmax_sequences(const double* X, double* Y, const index_t* L, index_t n, index_t c, double* w) {
    softmax_sequences_impl<double>(X, Y, L, n, c, w);
}

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
THINC_CLONES static void backprop_softmax_sequences(const float* dY, const float* Y, float* dX, const index_t* L,
                                                    index_t n, index_t c, float* w) {
    backprop_softmax_sequences_impl<float>(dY, Y, dX, L, n, c, w);
}
THINC_CLONES static void backprop_softmax_sequences(const double* dY, const double* Y, double* dX,
                                                    const index_t* L, index_t n, index_t c, double* w) {
    backprop_softmax_sequences_impl<double>(dY, Y, dX, L, n, c, w);
}

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
THINC_CLONES static void reduce_sum(const float* X, float* o, const index_t* L, index_t n, index_t c, bool m) {
    reduce_sum_impl<float>(X, o, L, n, c, m);
}
THINC_CLONES static void reduce_sum(const double* X, double* o, const index_t* L, index_t n, index_t c, bool m) {
    reduce_sum_impl<double>(X, o, L, n, c, m);
}

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
THINC_CLONES static void backprop_reduce_sum(const float* g, float* dX, const index_t* L, index_t n, index_t c, bool m) {
    backprop_reduce_sum_impl<float>(g, dX, L, n, c, m);
}
THINC_CLONES static void backprop_reduce_sum(const double* g, double* dX, const index_t* L, index_t n, index_t c, bool m) {
    backprop_reduce_sum_impl<double>(g, dX, L, n, c, m);
}

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
THINC_CLONES static void reduce_max(const float* X, float* o, int32_t* w, const index_t* L, index_t n, index_t c) {
    reduce_max_impl<float>(X, o, w, L, n, c);
}
THINC_CLONES static void reduce_max(const double* X, double* o, int32_t* w, const index_t* L, index_t n, index_t c) {
    reduce_max_impl<double>(X, o, w, L, n, c);
}

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
static index_t backprop_reduce_max(const float* g, const int32_t* w, float* dX, const index_t* L, index_t n, index_t c) {
    return backprop_reduce_max_impl<float>(g, w, dX, L, n, c);
}
static index_t backprop_reduce_max(const double* g, const int32_t* w, double* dX, const index_t* L, index_t n, index_t c) {
    return backprop_reduce_max_impl<double>(g, w, dX, L, n, c);
}

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
static void seq2col(const float* X, float* o, const index_t* L, index_t n, index_t c, index_t nW) {
    seq2col_impl<float>(X, o, L, n, c, nW);
}
static void seq2col(const double* X, double* o, const index_t* L, index_t n, index_t c, index_t nW) {
    seq2col_impl<double>(X, o, L, n, c, nW);
}

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
THINC_CLONES static void backprop_seq2col(const float* g, float* d, const index_t* L, index_t n, index_t c, index_t nW) {
    backprop_seq2col_impl<float>(g, d, L, n, c, nW);
}
THINC_CLONES static void backprop_seq2col(const double* g, double* d, const index_t* L, index_t n, index_t c, index_t nW) {
    backprop_seq2col_impl<double>(g, d, L, n, c, nW);
}

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
THINC_CLONES static void maxout(const float* X, float* o, int32_t* w, index_t n, index_t P) {
    maxout_impl<float>(X, o, w, n, P);
}
THINC_CLONES static void maxout(const double* X, double* o, int32_t* w, index_t n, index_t P) {
    maxout_impl<double>(X, o, w, n, P);
}

// Returns the position of the first out-of-range piece index, or -1.
template <typename T>
THINC_INLINE index_t backprop_maxout_impl(const T* dY, const int32_t* which, T* dX, index_t n, index_t P) {
    // dX arrives zeroed (calloc'd pages are zero for free), so only the
    // winning pieces are written.
    for (index_t i = 0; i < n; ++i) {
        int32_t w = which[i];
        if (w < 0 || w >= P) return i;
        dX[i * P + w] = dY[i];
    }
    return -1;
}
static index_t backprop_maxout(const float* g, const int32_t* w, float* d, index_t n, index_t P) {
    return backprop_maxout_impl<float>(g, w, d, n, P);
}
static index_t backprop_maxout(const double* g, const int32_t* w, double* d, index_t n, index_t P) {
    return backprop_maxout_impl<double>(g, w, d, n, P);
}

// ---------------------------------------------------------------------------
// Embedding-style table access. Each returns the position of the first index
// outside [0, n_row), or -1; indices are checked as they are used.

template <typename T, typename I>
THINC_INLINE index_t gather_add_impl(const T* table, const I* indices, T* out, index_t n_row, index_t n_col,
                               index_t n_out, index_t n_per) {
    for (index_t i = 0; i < n_out; ++i) {
        T* o = out + i * n_col;
        std::fill(o, o + n_col, T(0));
        for (index_t k = 0; k < n_per; ++k) {
            index_t row = static_cast<index_t>(indices[i * n_per + k]);
            if (row < 0 || row >= n_row) return i * n_per + k;
            const T* t = table + row * n_col;
            for (index_t c = 0; c < n_col; ++c) o[c] += t[c];
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
    THINC_CLONES static index_t gather_add(const T* t, const I* idx, T* o, index_t r, index_t c,      \
                                           index_t n, index_t k) {                                    \
        return gather_add_impl<T, I>(t, idx, o, r, c, n, k);                                          \
    }                                                                                                 \
    THINC_CLONES static index_t scatter_add(T* t, const I* idx, const T* v, index_t r, index_t c,     \
                                            index_t n) {                                              \
        return scatter_add_impl<T, I>(t, idx, v, r, c, n);                                            \
    }
THINC_TABLE_OPS(float, int32_t)
THINC_TABLE_OPS(float, int64_t)
THINC_TABLE_OPS(double, int32_t)
THINC_TABLE_OPS(double, int64_t)

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
THINC_CLONES static void adam(float* w, const float* g, float* m1, float* m2, index_t n, float b1, float b2,
                              float e, float lr, float mr) {
    adam_impl<float>(w, g, m1, m2, n, b1, b2, e, lr, mr);
}
THINC_CLONES static void adam(double* w, const double* g, double* m1, double* m2, index_t n, double b1,
                              double b2, double e, double lr, double mr) {
    adam_impl<double>(w, g, m1, m2, n, b1, b2, e, lr, mr);
}

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
THINC_CLONES static double sum_of_squares(const float* x, index_t n) {
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
THINC_CLONES static double sum_of_squares(const double* x, index_t n) { return sum_of_squares_impl<double>(x, n); }

template <typename T>
THINC_INLINE void scale_inplace_impl(T* x, index_t n, T factor) {
    for (index_t i = 0; i < n; ++i) x[i] *= factor;
}
THINC_CLONES static void scale_inplace(float* x, index_t n, float f) { scale_inplace_impl<float>(x, n, f); }
THINC_CLONES static void scale_inplace(double* x, index_t n, double f) { scale_inplace_impl<double>(x, n, f); }

template <typename T>
THINC_INLINE void update_averages_impl(T* ema, const T* weights, index_t n, T decay) {
    T rate = T(1) - decay;
    for (index_t i = 0; i < n; ++i) ema[i] -= rate * (ema[i] - weights[i]);
}
THINC_CLONES static void update_averages(float* e, const float* w, index_t n, float d) {
    update_averages_impl<float>(e, w, n, d);
}
THINC_CLONES static void update_averages(double* e, const double* w, index_t n, double d) {
    update_averages_impl<double>(e, w, n, d);
}

// Adds a row vector to every row (the bias of affine).
template <typename T>
THINC_INLINE void add_row_impl(T* Y, const T* b, index_t n_row, index_t n_col) {
    for (index_t r = 0; r < n_row; ++r, Y += n_col)
        for (index_t c = 0; c < n_col; ++c) Y[c] += b[c];
}
THINC_CLONES static void add_row(float* Y, const float* b, index_t r, index_t c) { add_row_impl<float>(Y, b, r, c); }
THINC_CLONES static void add_row(double* Y, const double* b, index_t r, index_t c) { add_row_impl<double>(Y, b, r, c); }

// ---------------------------------------------------------------------------
// Peak-throughput probe for the benchmark: independent FMA chains, enough of
// them to cover the FMA latency on two pipes. Returns single-precision flop/s.

#if defined(__GNUC__) && defined(__x86_64__)
__attribute__((target("avx2,fma"))) static double fma_peak_avx2(double seconds) {
    // Twelve named accumulators stay in registers; FMA latency (4-5 cycles)
    // times two pipes needs at least ten independent chains.
    __m256 a0 = _mm256_set1_ps(1.0f), a1 = _mm256_set1_ps(1.1f), a2 = _mm256_set1_ps(1.2f);
    __m256 a3 = _mm256_set1_ps(1.3f), a4 = _mm256_set1_ps(1.4f), a5 = _mm256_set1_ps(1.5f);
    __m256 a6 = _mm256_set1_ps(1.6f), a7 = _mm256_set1_ps(1.7f), a8 = _mm256_set1_ps(1.8f);
    __m256 a9 = _mm256_set1_ps(1.9f), a10 = _mm256_set1_ps(2.0f), a11 = _mm256_set1_ps(2.1f);
    const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    const int64_t block = 1 << 20;
    int64_t iterations = 0;
    auto start = std::chrono::steady_clock::now();
    double elapsed = 0;
    while (elapsed < seconds) {
        for (int64_t i = 0; i < block; ++i) {
            a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
            a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
            a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
            a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
            a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
            a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
        }
        iterations += block;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    __m256 total = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                 _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    total = _mm256_add_ps(total, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    volatile float sink = _mm256_cvtss_f32(total);
    (void)sink;
    return iterations * 12.0 * 8.0 * 2.0 / elapsed;
}
static bool cpu_has_avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#else
static double fma_peak_avx2(double) { return 0.0; }
static bool cpu_has_avx2_fma() { return false; }
#endif

}  // namespace thinc_kernels

namespace thinc_kernels {

// ---------------------------------------------------------------------------
// One LSTM time step for `size` rows. `act` holds each row's pre-activations
// (4 blocks of nO: forget, input, output, candidate) without bias; gates are
// saved interleaved per unit as (nO, 4), matching the reference layout.

THINC_CLONES static void lstm_step_forward(const float* act, const float* bias, const float* cell_prev,
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

// The backward step: d_hidden/d_cell carry the gradient from the next step
// for its first n_next rows (sequences that ended here get none); d_cell is
// overwritten with this step's contribution to the previous cell.
THINC_CLONES static void lstm_step_backward(const float* dY, const float* d_hidden, float* d_cell, index_t n_next,
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

}  // namespace thinc_kernels
