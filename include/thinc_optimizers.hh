// Optimizer steps, fused so that each array is read and written once.
#pragma once
#include "thinc_math.hh"

namespace thinc_kernels {

// ---------------------------------------------------------------------------
// Optimizer steps, fused so each array is read and written once.

// `consumed`, when not null, is the gradient's own writable memory (it may be
// `gradient` itself): it is zeroed as it is read, which spares the caller a
// separate pass to hand the gradient back consumed.
template <typename T>
THINC_INLINE void adam_impl(T* weights, const T* gradient, T* mom1, T* mom2, index_t n, T beta1, T beta2,
                            T eps, T learn_rate, T mod_rate, T* consumed) {
    auto step = [&](index_t i, T g) {
        T m1 = mom1[i] * beta1 + g * (T(1) - beta1);
        T m2 = mom2[i] * beta2 + g * g * (T(1) - beta2);
        mom1[i] = m1;
        mom2[i] = m2;
        weights[i] -= learn_rate * (m1 / (mod_rate * std::sqrt(m2) + eps));
    };
    if (consumed != nullptr) {
        // Zeroed after its step, so an array passed as both the gradient and
        // another operand ends as it would after a separate zeroing pass.
        for (index_t i = 0; i < n; ++i) {
            step(i, gradient[i]);
            consumed[i] = T(0);
        }
    } else {
        for (index_t i = 0; i < n; ++i) step(i, gradient[i]);
    }
}
THINC_INLINE void adam_serial_body(float* w, const float* g, float* m1, float* m2, index_t n, float b1,
                                   float b2, float e, float lr, float mr, float* c) {
    adam_impl<float>(w, g, m1, m2, n, b1, b2, e, lr, mr, c);
}
THINC_ISA_VARIANTS(static void, adam_serial,
                   (float* w, const float* g, float* m1, float* m2, index_t n, float b1, float b2, float e,
                    float lr, float mr, float* c),
                   adam_serial_body(w, g, m1, m2, n, b1, b2, e, lr, mr, c))
THINC_INLINE void adam_serial_body(double* w, const double* g, double* m1, double* m2, index_t n, double b1,
                                   double b2, double e, double lr, double mr, double* c) {
    adam_impl<double>(w, g, m1, m2, n, b1, b2, e, lr, mr, c);
}
THINC_ISA_VARIANTS(static void, adam_serial,
                   (double* w, const double* g, double* m1, double* m2, index_t n, double b1, double b2,
                    double e, double lr, double mr, double* c),
                   adam_serial_body(w, g, m1, m2, n, b1, b2, e, lr, mr, c))
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
THINC_ISA_VARIANTS(static double, sum_of_squares_serial, (const float* x, index_t n),
                   sum_of_squares_serial_body(x, n))
THINC_INLINE double sum_of_squares_serial_body(const double* x, index_t n) {
    return sum_of_squares_impl<double>(x, n);
}
THINC_ISA_VARIANTS(static double, sum_of_squares_serial, (const double* x, index_t n),
                   sum_of_squares_serial_body(x, n))
THINC_ISA_DISPATCH(sum_of_squares_serial)

template <typename T>
THINC_INLINE void scale_inplace_impl(T* x, index_t n, T factor) {
    for (index_t i = 0; i < n; ++i) x[i] *= factor;
}
THINC_INLINE void scale_inplace_serial_body(float* x, index_t n, float f) {
    scale_inplace_impl<float>(x, n, f);
}
THINC_ISA_VARIANTS(static void, scale_inplace_serial, (float* x, index_t n, float f),
                   scale_inplace_serial_body(x, n, f))
THINC_INLINE void scale_inplace_serial_body(double* x, index_t n, double f) {
    scale_inplace_impl<double>(x, n, f);
}
THINC_ISA_VARIANTS(static void, scale_inplace_serial, (double* x, index_t n, double f),
                   scale_inplace_serial_body(x, n, f))
THINC_ISA_DISPATCH(scale_inplace_serial)

template <typename T>
THINC_INLINE void update_averages_impl(T* ema, const T* weights, index_t n, T decay) {
    T rate = T(1) - decay;
    for (index_t i = 0; i < n; ++i) ema[i] -= rate * (ema[i] - weights[i]);
}
THINC_INLINE void update_averages_serial_body(float* e, const float* w, index_t n, float d) {
    update_averages_impl<float>(e, w, n, d);
}
THINC_ISA_VARIANTS(static void, update_averages_serial, (float* e, const float* w, index_t n, float d),
                   update_averages_serial_body(e, w, n, d))
THINC_INLINE void update_averages_serial_body(double* e, const double* w, index_t n, double d) {
    update_averages_impl<double>(e, w, n, d);
}
THINC_ISA_VARIANTS(static void, update_averages_serial, (double* e, const double* w, index_t n, double d),
                   update_averages_serial_body(e, w, n, d))
THINC_ISA_DISPATCH(update_averages_serial)

template <typename T>
static void adam(T* weights, const T* gradient, T* mom1, T* mom2, index_t n, double beta1, double beta2,
                 double eps, double learn_rate, double mod_rate, T* consumed = nullptr) {
    thinc_parallel::parallel_for(n, GRAIN_CHEAP, SPLIT_ALIGN, [=](index_t begin, index_t end) {
        adam_serial(weights + begin, gradient + begin, mom1 + begin, mom2 + begin, end - begin, T(beta1),
                    T(beta2), T(eps), T(learn_rate), T(mod_rate), consumed ? consumed + begin : nullptr);
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
    thinc_parallel::parallel_for(n, GRAIN_CHEAP, SPLIT_ALIGN, [=](index_t begin, index_t end) {
        scale_inplace_serial(x + begin, end - begin, factor);
    });
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
    thinc_parallel::parallel_for(n_blocks, 1, 1, [&](index_t begin, index_t end) {
        for (index_t b = begin; b < end; ++b) {
            index_t start = b * NORM_BLOCK;
            partial[b] = sum_of_squares_serial(x + start, std::min(NORM_BLOCK, n - start));
        }
    });
    double total = 0;
    for (double value : partial) total += value;
    return total;
}

}  // namespace thinc_kernels
