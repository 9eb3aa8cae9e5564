// CUDA kernels behind CupyOps, compiled on first use by cupy.RawModule (NVRTC).
//
// Every kernel visits its work items with a grid-stride loop, so any launch size
// is correct, and each output element is written by exactly one thread (no
// atomics, so results do not depend on scheduling). The Python wrappers in
// _custom_kernels.py check every length and index before a launch; the kernels
// trust them. Only plain C++ and CUDA's math functions are used (no headers,
// which NVRTC may lack), which also lets the tests compile this file for the CPU
// with a small emulation header and run each thread in turn.
//
// Exported names are extern "C" NAME_SUFFIX, SUFFIX one of float, double (and
// int32, int64 for pad): _custom_kernels.KERNEL_NAMES lists every one.

__device__ __forceinline__ int first_item() {
    return blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int item_stride() {
    return blockDim.x * gridDim.x;
}

// CUDA's math functions by precision (the float names are the single-precision ones).
__device__ __forceinline__ float exp_of(float x) {
    return expf(x);
}
__device__ __forceinline__ double exp_of(double x) {
    return exp(x);
}
__device__ __forceinline__ float sqrt_of(float x) {
    return sqrtf(x);
}
__device__ __forceinline__ double sqrt_of(double x) {
    return sqrt(x);
}
__device__ __forceinline__ float tanh_of(float x) {
    return tanhf(x);
}
__device__ __forceinline__ double tanh_of(double x) {
    return tanh(x);
}
__device__ __forceinline__ float erfc_of(float x) {
    return erfcf(x);
}
__device__ __forceinline__ double erfc_of(double x) {
    return erfc(x);
}

// ---------------------------------------------------------------------------
// Elementwise activations: the math of Ops' reference methods, with NaN in
// giving NaN out (a compare alone would turn it into 0 or 1).

// clip(v, low, high) as numpy's clip: max first, then min; NaN stays NaN.
template <typename T>
__device__ __forceinline__ T clip_to(T v, T low, T high) {
    v = v < low ? low : v;
    return v > high ? high : v;
}

// A piecewise slope: `slope` where the condition holds, NaN where the saved
// input is NaN, else 0.
template <typename T>
__device__ __forceinline__ T slope_or_nan(bool inside, T slope, T saved) {
    return inside ? slope : (saved != saved ? saved : T(0));
}

// 1 / (1 + e^-x) with x clipped to [-20, 20], as the CPU backend (and thinc
// 8.3) computes the sigmoid; NaN fails both compares and stays NaN.
template <typename T>
__device__ __forceinline__ T sigmoid_of(T x) {
    x = clip_to(x, T(-20), T(20));
    return T(1) / (T(1) + exp_of(-x));
}

template <typename T>
__device__ __forceinline__ T normal_cdf(T x) {
    return T(0.5) * erfc_of(-x * T(0.70710678118654752440));
}

template <typename T>
__device__ __forceinline__ T normal_pdf(T x) {
    return T(0.39894228040143267794) * exp_of(T(-0.5) * x * x);
}

template <typename T>
__device__ __forceinline__ T gelu_approx_inner(T x) {
    return T(0.79788456080286535588) * (x + T(0.044715) * x * x * x);
}

// Past |x| = 10 the second term is below 1e-37, so x is clamped there: 0 * x^2
// must not become 0 * inf = NaN for huge finite x (the CPU kernels do the same).
template <typename T>
__device__ __forceinline__ T gelu_approx_grad(T x) {
    const T t = tanh_of(gelu_approx_inner(x));
    const T xc = clip_to(x, T(-10), T(10));
    const T inner_grad = T(0.79788456080286535588) * (T(1) + T(3) * T(0.044715) * xc * xc);
    return T(0.5) * (T(1) + t) + T(0.5) * xc * (T(1) - t * t) * inner_grad;
}

// x / sqrt(1 + x^2) through x clamped to 1e18, past which it is +-1 in either
// precision and x^2 would overflow (inf / inf = NaN for a finite x).
template <typename T>
__device__ __forceinline__ T dish_ratio(T x) {
    const T clamped = clip_to(x, T(-1e18), T(1e18));
    return clamped / sqrt_of(T(1) + clamped * clamped);
}

template <typename T>
__device__ __forceinline__ T dish_grad(T x) {
    const T r = dish_ratio(x);
    return T(0.5) + r - T(0.5) * r * r * r;
}

// tanh(softplus(x)) = n / (n + 2) with n = e^x (e^x + 2): one exponential, and
// capped at x = 20 where the ratio is 1 in either precision. A NaN x reads
// e^20 here, but multiplies the result, which is then NaN.
template <typename T>
__device__ __forceinline__ T mish_exp(T x) {
    return exp_of(x < T(20) ? x : T(20));
}

template <typename T>
__device__ __forceinline__ T mish_value(T x, T threshold) {
    const T e = mish_exp(x);
    const T n = e * (e + T(2));
    return x >= threshold ? x : x * n / (n + T(2));
}

template <typename T>
__device__ __forceinline__ T mish_grad(T x, T threshold) {
    const T e = mish_exp(x);
    const T n = e * (e + T(2));
    const T denominator = n + T(2);
    const T grad = n / denominator + x * (T(4) * e * (e + T(1))) / (denominator * denominator);
    return x >= threshold ? T(1) : grad;
}

// One row per op: the Ops method's name and its value, from the input x (and
// for backward rows the incoming gradient g); a, b, c, d are the method's float
// parameters in the order of its signature (backprop_clipped_linear gets the
// slope and the input's open interval (low, high) where the slope applies,
// worked out on the host as the reference does). _custom_kernels.py lists the
// same names and parameters; a test checks the two agree.
#define THINC_GPU_FORWARD_OPS(X)                                        \
    X(relu, x <= T(0) ? T(0) : x)                                       \
    X(clipped_linear, clip_to(x* a + b, c, d))                          \
    X(hard_swish, x* clip_to(x* T(0.2) + T(0.5), T(0), T(1)))           \
    X(hard_swish_mobilenet, x*(clip_to(x + T(3), T(0), T(6)) / T(6)))   \
    X(sigmoid, sigmoid_of(x))                                           \
    X(swish, x* sigmoid_of(x))                                          \
    X(gelu, x* normal_cdf(x))                                           \
    X(gelu_approx, T(0.5) * x * (T(1) + tanh_of(gelu_approx_inner(x)))) \
    X(dish, x*(T(0.5) + T(0.5) * dish_ratio(x)))                        \
    X(mish, mish_value(x, a))                                           \
    X(dsigmoid, x*(T(1) - x))                                           \
    X(dtanh, T(1) - x * x)

#define THINC_GPU_BACKWARD_OPS(X)                                                                         \
    X(backprop_relu, g* slope_or_nan(x > T(0), T(1), x))                                                  \
    X(backprop_clipped_linear, (g * a) * slope_or_nan(x > b && x < c, T(1), x))                           \
    X(backprop_hard_swish, g*(x > T(2.5) ? T(1) : (x < T(-2.5) ? T(0) : T(0.4) * x + T(0.5))))            \
    X(backprop_hard_swish_mobilenet, g*(x > T(3) ? T(1) : (x < T(-3) ? T(0) : (T(2) * x + T(3)) / T(6)))) \
    X(backprop_sigmoid, g* x*(T(1) - x))                                                                  \
    X(backprop_gelu, g*(normal_cdf(x) + x * normal_pdf(x)))                                               \
    X(backprop_gelu_approx, g* gelu_approx_grad(x))                                                       \
    X(backprop_dish, g* dish_grad(x))                                                                     \
    X(backprop_mish, g* mish_grad(x, a))

// Output and input may be the same buffer (inplace): each element is read
// before it is written, by the same thread.
#define THINC_FORWARD_KERNEL(NAME, EXPR, TYPE, SUFFIX)                                                  \
    extern "C" __global__ void NAME##_##SUFFIX(TYPE* output, const TYPE* input, TYPE a, TYPE b, TYPE c, \
                                               TYPE d, int n) {                                         \
        typedef TYPE T;                                                                                 \
        (void)a;                                                                                        \
        (void)b;                                                                                        \
        (void)c;                                                                                        \
        (void)d;                                                                                        \
        for (int i = first_item(); i < n; i += item_stride()) {                                         \
            const T x = input[i];                                                                       \
            output[i] = (EXPR);                                                                         \
        }                                                                                               \
    }
#define THINC_BACKWARD_KERNEL(NAME, EXPR, TYPE, SUFFIX)                                                \
    extern "C" __global__ void NAME##_##SUFFIX(TYPE* d_input, const TYPE* d_output, const TYPE* saved, \
                                               TYPE a, TYPE b, TYPE c, TYPE d, int n) {                \
        typedef TYPE T;                                                                                \
        (void)a;                                                                                       \
        (void)b;                                                                                       \
        (void)c;                                                                                       \
        (void)d;                                                                                       \
        for (int i = first_item(); i < n; i += item_stride()) {                                        \
            const T g = d_output[i];                                                                   \
            const T x = saved[i];                                                                      \
            d_input[i] = (EXPR);                                                                       \
        }                                                                                              \
    }
#define THINC_FORWARD_FLOAT(NAME, EXPR) THINC_FORWARD_KERNEL(NAME, EXPR, float, float)
#define THINC_FORWARD_DOUBLE(NAME, EXPR) THINC_FORWARD_KERNEL(NAME, EXPR, double, double)
#define THINC_BACKWARD_FLOAT(NAME, EXPR) THINC_BACKWARD_KERNEL(NAME, EXPR, float, float)
#define THINC_BACKWARD_DOUBLE(NAME, EXPR) THINC_BACKWARD_KERNEL(NAME, EXPR, double, double)
THINC_GPU_FORWARD_OPS(THINC_FORWARD_FLOAT)
THINC_GPU_FORWARD_OPS(THINC_FORWARD_DOUBLE)
THINC_GPU_BACKWARD_OPS(THINC_BACKWARD_FLOAT)
THINC_GPU_BACKWARD_OPS(THINC_BACKWARD_DOUBLE)

// swish's gradient reads the input (for the sigmoid) and the output Y.
template <typename T>
__device__ void backprop_swish_impl(T* dX, const T* dY, const T* X, const T* Y, int n) {
    for (int i = first_item(); i < n; i += item_stride()) {
        const T y = Y[i];
        dX[i] = dY[i] * (y + sigmoid_of(X[i]) * (T(1) - y));
    }
}

// One Adam step in place, in the reference's order of operations.
template <typename T>
__device__ void adam_impl(T* weights, const T* gradient, T* mom1, T* mom2, T beta1, T beta2, T eps,
                          T learn_rate, T mod_rate, int n) {
    for (int i = first_item(); i < n; i += item_stride()) {
        const T g = gradient[i];
        const T m = mom1[i] * beta1 + g * (T(1) - beta1);
        const T v = mom2[i] * beta2 + g * g * (T(1) - beta2);
        mom1[i] = m;
        mom2[i] = v;
        weights[i] -= learn_rate * (m / (mod_rate * sqrt_of(v) + eps));
    }
}

// ---------------------------------------------------------------------------
// Sequences.

// output (B, nF, I) gets, for row b and window slot w, input row b + w - nW when that
// row lies in the same sequence as b ([seq_starts[b], seq_ends[b])), else zero.
template <typename T>
__device__ void seq2col_impl(T* output, const T* X, const int* seq_starts, const int* seq_ends, int nW, int B,
                             int I) {
    const int nF = 2 * nW + 1;
    const int total = B * nF * I;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int i = idx % I;
        const int w = (idx / I) % nF;
        const int b = idx / (I * nF);
        const int source = b + w - nW;
        output[idx] = (source >= seq_starts[b] && source < seq_ends[b]) ? X[source * I + i] : T(0);
    }
}

// The transpose of seq2col: dX[b, i] sums dY[b', w, i] over every (b', w) that read row b.
template <typename T>
__device__ void backprop_seq2col_impl(T* dX, const T* dY, const int* seq_starts, const int* seq_ends, int nW,
                                      int B, int I) {
    const int nF = 2 * nW + 1;
    const int total = B * I;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int i = idx % I;
        const int b = idx / I;
        T sum = T(0);
        for (int w = 0; w < nF; ++w) {
            const int reader = b - w + nW;
            if (reader >= seq_starts[b] && reader < seq_ends[b]) {
                sum += dY[(reader * nF + w) * I + i];
            }
        }
        dX[idx] = sum;
    }
}

// Per-sequence sum (or mean) of the rows [starts[b], starts[b] + lengths[b]).
template <typename T>
__device__ void reduce_sum_impl(T* output, const T* X, const int* starts, const int* lengths, int B, int O,
                                int divide) {
    const int total = B * O;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int o = idx % O;
        const int b = idx / O;
        const int length = lengths[b];
        const T* rows = X + starts[b] * O + o;
        T sum = T(0);
        for (int t = 0; t < length; ++t) {
            sum += rows[t * O];
        }
        output[idx] = (divide && length > 0) ? sum / T(length) : sum;
    }
}

// Per-sequence maximum and its row within the sequence; lengths are checked > 0.
// A NaN wins, as in numpy's max and argmax.
template <typename T>
__device__ void reduce_max_impl(T* maxes, int* which, const T* X, const int* starts, const int* lengths,
                                int B, int O) {
    const int total = B * O;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int o = idx % O;
        const int b = idx / O;
        const int length = lengths[b];
        const T* rows = X + starts[b] * O + o;
        T top = rows[0];
        int arg = 0;
        for (int t = 1; t < length && top == top; ++t) {
            const T value = rows[t * O];
            if (value > top || value != value) {
                top = value;
                arg = t;
            }
        }
        maxes[idx] = top;
        which[idx] = arg;
    }
}

// The sequence that owns row t: the first b with ends[b] > t (ends are the
// running totals of the lengths, so zero-length sequences are skipped).
__device__ __forceinline__ int owning_sequence(const int* ends, int B, int t) {
    int low = 0;
    int high = B - 1;
    while (low < high) {
        const int middle = low + (high - low) / 2;
        if (ends[middle] > t) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    return low;
}

// dX (T_rows, O): each row gets its sequence's gradient row (divided by the
// sequence's length for the mean).
template <typename T>
__device__ void backprop_reduce_sum_impl(T* dX, const T* d_reduced, const int* ends, const int* lengths,
                                         int B, int T_rows, int O, int divide) {
    const int total = T_rows * O;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int o = idx % O;
        const int b = owning_sequence(ends, B, idx / O);
        const T value = d_reduced[b * O + o];
        dX[idx] = divide ? value / T(lengths[b]) : value;
    }
}

// dX (T_rows, O): the gradient where the row held its sequence's maximum, else 0.
template <typename T>
__device__ void backprop_reduce_max_impl(T* dX, const T* d_maxes, const int* which, const int* ends,
                                         const int* lengths, int B, int T_rows, int O) {
    const int total = T_rows * O;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int o = idx % O;
        const int t = idx / O;
        const int b = owning_sequence(ends, B, t);
        const int row_in_sequence = t - (ends[b] - lengths[b]);
        dX[idx] = which[b * O + o] == row_in_sequence ? d_maxes[b * O + o] : T(0);
    }
}

// ---------------------------------------------------------------------------
// Maxout and tables.

// best[b, o] = max_p (X[b, o, p] + bias[o, p]); which[b, o] = the first p reaching
// it (a NaN wins, as in numpy's argmax). bias is null for plain maxout.
template <typename T>
__device__ void maxout_impl(T* best, int* which, const T* X, const T* bias, int B, int O, int P) {
    const int total = B * O;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const T* pieces = X + idx * P;
        const T* offsets = bias ? bias + (idx % O) * P : 0;
        T top = offsets ? pieces[0] + offsets[0] : pieces[0];
        int arg = 0;
        for (int p = 1; p < P && top == top; ++p) {
            const T value = offsets ? pieces[p] + offsets[p] : pieces[p];
            if (value > top || value != value) {
                top = value;
                arg = p;
            }
        }
        best[idx] = top;
        which[idx] = arg;
    }
}

// dX (B, O, P): dY[b, o] at the piece that won, zero at the others.
template <typename T>
__device__ void backprop_maxout_impl(T* dX, const T* dY, const int* which, int B, int O, int P) {
    const int total = B * O * P;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int p = idx % P;
        const int unit = idx / P;
        dX[idx] = which[unit] == p ? dY[unit] : T(0);
    }
}

// output[b, o] = sum_k table[indices[b, k], o]; indices are checked in range.
template <typename T>
__device__ void gather_add_impl(T* output, const T* table, const int* indices, int B, int K, int O) {
    const int total = B * O;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int o = idx % O;
        const int b = idx / O;
        T sum = T(0);
        for (int k = 0; k < K; ++k) {
            sum += table[indices[b * K + k] * O + o];
        }
        output[idx] = sum;
    }
}

// output (B, L, F): row t of sequence b (its own buffer, sources[b]) where t
// is below its length, zeros after.
template <typename T>
__device__ void pad_impl(T* output, const unsigned long long* sources, const int* lengths, int B, int L,
                         int F) {
    const int total = B * L * F;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int f = idx % F;
        const int t = (idx / F) % L;
        const int b = idx / (F * L);
        const T* source = reinterpret_cast<const T*>(sources[b]);
        output[idx] = t < lengths[b] ? source[t * F + f] : T(0);
    }
}

// ---------------------------------------------------------------------------
// Layer norm, in passes that each give one thread independent work: per-row
// statistics, then elementwise outputs, and for the parameter gradients
// per-column partial sums over chunks of rows, which the host adds up (so the
// result does not depend on the launch).

// mean[r] and inverse_std[r] = (variance + eps)^-1/2 of row r, in two passes
// over the row as the reference computes them (no cancellation).
template <typename T>
__device__ void layer_norm_stats_impl(T* mean, T* inverse_std, const T* X, T eps, int N, int W) {
    for (int r = first_item(); r < N; r += item_stride()) {
        const T* row = X + r * W;
        T sum = T(0);
        for (int c = 0; c < W; ++c) sum += row[c];
        const T row_mean = W ? sum / T(W) : T(0);
        T squares = T(0);
        for (int c = 0; c < W; ++c) {
            const T centered = row[c] - row_mean;
            squares += centered * centered;
        }
        const T variance = W ? squares / T(W) : T(0);
        mean[r] = row_mean;
        inverse_std[r] = T(1) / sqrt_of(variance + eps);
    }
}

// Y = (X - mean) * inverse_std * G + b.
template <typename T>
__device__ void layer_norm_apply_impl(T* Y, const T* X, const T* mean, const T* inverse_std, const T* G,
                                      const T* bias, int N, int W) {
    const int total = N * W;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int c = idx % W;
        const int r = idx / W;
        Y[idx] = (X[idx] - mean[r]) * inverse_std[r] * G[c] + bias[c];
    }
}

// Per row, the means of d_normalized = dY * G and of d_normalized * normalized.
template <typename T>
__device__ void layer_norm_row_means_impl(T* d_mean, T* projection, const T* dY, const T* X, const T* G,
                                          const T* mean, const T* inverse_std, int N, int W) {
    for (int r = first_item(); r < N; r += item_stride()) {
        const T* d_row = dY + r * W;
        const T* row = X + r * W;
        const T row_mean = mean[r];
        const T scale = inverse_std[r];
        T d_sum = T(0);
        T product_sum = T(0);
        for (int c = 0; c < W; ++c) {
            const T d_normalized = d_row[c] * G[c];
            d_sum += d_normalized;
            product_sum += d_normalized * ((row[c] - row_mean) * scale);
        }
        d_mean[r] = d_sum / T(W);
        projection[r] = product_sum / T(W);
    }
}

// dX = (d_normalized - mean(d_normalized) - normalized * projection) * inverse_std.
template <typename T>
__device__ void layer_norm_backward_apply_impl(T* dX, const T* dY, const T* X, const T* G, const T* mean,
                                               const T* inverse_std, const T* d_mean, const T* projection,
                                               int N, int W) {
    const int total = N * W;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int c = idx % W;
        const int r = idx / W;
        const T normalized = (X[idx] - mean[r]) * inverse_std[r];
        const T centered = dY[idx] * G[c] - d_mean[r];
        dX[idx] = (centered - normalized * projection[r]) * inverse_std[r];
    }
}

// Partial column sums of dY * normalized (dG) and of dY (db) over rows
// [k * chunk, (k + 1) * chunk): one (k, c) item per thread, adjacent threads on
// adjacent columns so the reads coalesce.
template <typename T>
__device__ void layer_norm_column_sums_impl(T* partial_dG, T* partial_db, const T* dY, const T* X,
                                            const T* mean, const T* inverse_std, int N, int W, int chunk) {
    const int n_chunks = (N + chunk - 1) / chunk;
    const int total = n_chunks * W;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const int c = idx % W;
        const int k = idx / W;
        const int end = (k + 1) * chunk < N ? (k + 1) * chunk : N;
        T dG = T(0);
        T db = T(0);
        for (int r = k * chunk; r < end; ++r) {
            const T g = dY[r * W + c];
            dG += g * ((X[r * W + c] - mean[r]) * inverse_std[r]);
            db += g;
        }
        partial_dG[idx] = dG;
        partial_db[idx] = db;
    }
}

__device__ __forceinline__ unsigned long long final_mix64(unsigned long long k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

#define THINC_FLOAT_KERNELS(T, SUFFIX)                                                                      \
    extern "C" __global__ void seq2col_##SUFFIX(T* output, const T* X, const int* seq_starts,               \
                                                const int* seq_ends, int nW, int B, int I) {                \
        seq2col_impl<T>(output, X, seq_starts, seq_ends, nW, B, I);                                         \
    }                                                                                                       \
    extern "C" __global__ void backprop_seq2col_##SUFFIX(T* dX, const T* dY, const int* seq_starts,         \
                                                         const int* seq_ends, int nW, int B, int I) {       \
        backprop_seq2col_impl<T>(dX, dY, seq_starts, seq_ends, nW, B, I);                                   \
    }                                                                                                       \
    extern "C" __global__ void maxout_##SUFFIX(T* best, int* which, const T* X, int B, int O, int P) {      \
        maxout_impl<T>(best, which, X, 0, B, O, P);                                                         \
    }                                                                                                       \
    extern "C" __global__ void maxout_bias_##SUFFIX(T* best, int* which, const T* X, const T* bias, int B,  \
                                                    int O, int P) {                                         \
        maxout_impl<T>(best, which, X, bias, B, O, P);                                                      \
    }                                                                                                       \
    extern "C" __global__ void backprop_maxout_##SUFFIX(T* dX, const T* dY, const int* which, int B, int O, \
                                                        int P) {                                            \
        backprop_maxout_impl<T>(dX, dY, which, B, O, P);                                                    \
    }                                                                                                       \
    extern "C" __global__ void reduce_sum_##SUFFIX(T* output, const T* X, const int* starts,                \
                                                   const int* lengths, int B, int O, int divide) {          \
        reduce_sum_impl<T>(output, X, starts, lengths, B, O, divide);                                       \
    }                                                                                                       \
    extern "C" __global__ void reduce_max_##SUFFIX(T* maxes, int* which, const T* X, const int* starts,     \
                                                   const int* lengths, int B, int O) {                      \
        reduce_max_impl<T>(maxes, which, X, starts, lengths, B, O);                                         \
    }                                                                                                       \
    extern "C" __global__ void backprop_reduce_sum_##SUFFIX(T* dX, const T* d_reduced, const int* ends,     \
                                                            const int* lengths, int B, int T_rows, int O,   \
                                                            int divide) {                                   \
        backprop_reduce_sum_impl<T>(dX, d_reduced, ends, lengths, B, T_rows, O, divide);                    \
    }                                                                                                       \
    extern "C" __global__ void backprop_reduce_max_##SUFFIX(T* dX, const T* d_maxes, const int* which,      \
                                                            const int* ends, const int* lengths, int B,     \
                                                            int T_rows, int O) {                            \
        backprop_reduce_max_impl<T>(dX, d_maxes, which, ends, lengths, B, T_rows, O);                       \
    }                                                                                                       \
    extern "C" __global__ void gather_add_##SUFFIX(T* output, const T* table, const int* indices, int B,    \
                                                   int K, int O) {                                          \
        gather_add_impl<T>(output, table, indices, B, K, O);                                                \
    }                                                                                                       \
    extern "C" __global__ void backprop_swish_##SUFFIX(T* dX, const T* dY, const T* X, const T* Y, int n) { \
        backprop_swish_impl<T>(dX, dY, X, Y, n);                                                            \
    }                                                                                                       \
    extern "C" __global__ void adam_##SUFFIX(T* weights, const T* gradient, T* mom1, T* mom2, T beta1,      \
                                             T beta2, T eps, T learn_rate, T mod_rate, int n) {             \
        adam_impl<T>(weights, gradient, mom1, mom2, beta1, beta2, eps, learn_rate, mod_rate, n);            \
    }                                                                                                       \
    extern "C" __global__ void layer_norm_stats_##SUFFIX(T* mean, T* inverse_std, const T* X, T eps, int N, \
                                                         int W) {                                           \
        layer_norm_stats_impl<T>(mean, inverse_std, X, eps, N, W);                                          \
    }                                                                                                       \
    extern "C" __global__ void layer_norm_apply_##SUFFIX(                                                   \
        T* Y, const T* X, const T* mean, const T* inverse_std, const T* G, const T* bias, int N, int W) {   \
        layer_norm_apply_impl<T>(Y, X, mean, inverse_std, G, bias, N, W);                                   \
    }                                                                                                       \
    extern "C" __global__ void layer_norm_row_means_##SUFFIX(T* d_mean, T* projection, const T* dY,         \
                                                             const T* X, const T* G, const T* mean,         \
                                                             const T* inverse_std, int N, int W) {          \
        layer_norm_row_means_impl<T>(d_mean, projection, dY, X, G, mean, inverse_std, N, W);                \
    }                                                                                                       \
    extern "C" __global__ void layer_norm_backward_apply_##SUFFIX(                                          \
        T* dX, const T* dY, const T* X, const T* G, const T* mean, const T* inverse_std, const T* d_mean,   \
        const T* projection, int N, int W) {                                                                \
        layer_norm_backward_apply_impl<T>(dX, dY, X, G, mean, inverse_std, d_mean, projection, N, W);       \
    }                                                                                                       \
    extern "C" __global__ void layer_norm_column_sums_##SUFFIX(                                             \
        T* partial_dG, T* partial_db, const T* dY, const T* X, const T* mean, const T* inverse_std, int N,  \
        int W, int chunk) {                                                                                 \
        layer_norm_column_sums_impl<T>(partial_dG, partial_db, dY, X, mean, inverse_std, N, W, chunk);      \
    }                                                                                                       \
    extern "C" __global__ void pad_##SUFFIX(T* output, const unsigned long long* sources,                   \
                                            const int* lengths, int B, int L, int F) {                      \
        pad_impl<T>(output, sources, lengths, B, L, F);                                                     \
    }

THINC_FLOAT_KERNELS(float, float)
THINC_FLOAT_KERNELS(double, double)

// pad also copies integer sequences (token ids).
extern "C" __global__ void pad_int32(int* output, const unsigned long long* sources, const int* lengths,
                                     int B, int L, int F) {
    pad_impl<int>(output, sources, lengths, B, L, F);
}
extern "C" __global__ void pad_int64(long long* output, const unsigned long long* sources, const int* lengths,
                                     int B, int L, int F) {
    pad_impl<long long>(output, sources, lengths, B, L, F);
}

// MurmurHash3_x64_128 of each 8-byte id (little-endian, as the CPU backend hashes
// it), written out as four 32-bit words: low and high halves of h1, then of h2.
// An 8-byte key has no 16-byte body block, so only the tail step mixes it into h1.
extern "C" __global__ void hash_data(unsigned int* output, const unsigned long long* ids, unsigned int seed,
                                     int N) {
    const unsigned long long c1 = 0x87c37b91114253d5ull;
    const unsigned long long c2 = 0x4cf5ad432745937full;
    const unsigned long long key_length = 8ull;
    for (int idx = first_item(); idx < N; idx += item_stride()) {
        unsigned long long k1 = ids[idx];
        unsigned long long h1 = seed;
        unsigned long long h2 = seed;

        k1 *= c1;
        k1 = (k1 << 31) | (k1 >> 33);
        k1 *= c2;
        h1 ^= k1;

        h1 ^= key_length;
        h2 ^= key_length;
        h1 += h2;
        h2 += h1;
        h1 = final_mix64(h1);
        h2 = final_mix64(h2);
        h1 += h2;
        h2 += h1;

        output[idx * 4 + 0] = (unsigned int)(h1 & 0xffffffffull);
        output[idx * 4 + 1] = (unsigned int)(h1 >> 32);
        output[idx * 4 + 2] = (unsigned int)(h2 & 0xffffffffull);
        output[idx * 4 + 3] = (unsigned int)(h2 >> 32);
    }
}
