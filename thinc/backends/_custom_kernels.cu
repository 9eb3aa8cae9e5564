// CUDA kernels behind CupyOps, compiled on first use by cupy.RawModule (NVRTC).
//
// Every kernel visits its work items with a grid-stride loop, so any launch size
// is correct, and each output element is written by exactly one thread (no atomics).
// Only plain C++ is used (no <cstdint>, which NVRTC may lack), which also lets the
// tests compile this file for the CPU with a small emulation header.

__device__ __forceinline__ int first_item() {
    return blockIdx.x * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int item_stride() {
    return blockDim.x * gridDim.x;
}

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

// best[b, o] = max_p X[b, o, p]; which[b, o] = the first p reaching it.
template <typename T>
__device__ void maxout_impl(T* best, int* which, const T* X, int B, int O, int P) {
    const int total = B * O;
    for (int idx = first_item(); idx < total; idx += item_stride()) {
        const T* pieces = X + idx * P;
        T top = pieces[0];
        int arg = 0;
        for (int p = 1; p < P; ++p) {
            if (pieces[p] > top) {
                top = pieces[p];
                arg = p;
            }
        }
        best[idx] = top;
        which[idx] = arg;
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
        for (int t = 1; t < length; ++t) {
            if (rows[t * O] > top) {
                top = rows[t * O];
                arg = t;
            }
        }
        maxes[idx] = top;
        which[idx] = arg;
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

__device__ __forceinline__ unsigned long long final_mix64(unsigned long long k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

#define THINC_FLOAT_KERNELS(T, SUFFIX)                                                                   \
    extern "C" __global__ void seq2col_##SUFFIX(T* output, const T* X, const int* seq_starts,            \
                                                const int* seq_ends, int nW, int B, int I) {             \
        seq2col_impl<T>(output, X, seq_starts, seq_ends, nW, B, I);                                      \
    }                                                                                                    \
    extern "C" __global__ void backprop_seq2col_##SUFFIX(T* dX, const T* dY, const int* seq_starts,      \
                                                         const int* seq_ends, int nW, int B, int I) {    \
        backprop_seq2col_impl<T>(dX, dY, seq_starts, seq_ends, nW, B, I);                                \
    }                                                                                                    \
    extern "C" __global__ void maxout_##SUFFIX(T* best, int* which, const T* X, int B, int O, int P) {   \
        maxout_impl<T>(best, which, X, B, O, P);                                                         \
    }                                                                                                    \
    extern "C" __global__ void reduce_sum_##SUFFIX(T* output, const T* X, const int* starts,             \
                                                   const int* lengths, int B, int O, int divide) {       \
        reduce_sum_impl<T>(output, X, starts, lengths, B, O, divide);                                    \
    }                                                                                                    \
    extern "C" __global__ void reduce_max_##SUFFIX(T* maxes, int* which, const T* X, const int* starts,  \
                                                   const int* lengths, int B, int O) {                   \
        reduce_max_impl<T>(maxes, which, X, starts, lengths, B, O);                                      \
    }                                                                                                    \
    extern "C" __global__ void gather_add_##SUFFIX(T* output, const T* table, const int* indices, int B, \
                                                   int K, int O) {                                       \
        gather_add_impl<T>(output, table, indices, B, K, O);                                             \
    }

THINC_FLOAT_KERNELS(float, float)
THINC_FLOAT_KERNELS(double, double)

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
