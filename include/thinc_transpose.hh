// An 8 x 8 block of floats transposed in AVX registers, for the kernels that
// pack or write a matrix across its rows.
#pragma once
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

namespace thinc_transpose {

// columns[i] holds element i of every row, row 0 first: in-lane unpacks and
// shuffles, then the 128-bit halves exchanged.
__attribute__((target("avx2,fma"), always_inline)) inline void transpose_8x8(const __m256 (&rows)[8],
                                                                             __m256 (&columns)[8]) {
    __m256 t0 = _mm256_unpacklo_ps(rows[0], rows[1]), t1 = _mm256_unpackhi_ps(rows[0], rows[1]);
    __m256 t2 = _mm256_unpacklo_ps(rows[2], rows[3]), t3 = _mm256_unpackhi_ps(rows[2], rows[3]);
    __m256 t4 = _mm256_unpacklo_ps(rows[4], rows[5]), t5 = _mm256_unpackhi_ps(rows[4], rows[5]);
    __m256 t6 = _mm256_unpacklo_ps(rows[6], rows[7]), t7 = _mm256_unpackhi_ps(rows[6], rows[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    columns[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    columns[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    columns[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    columns[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    columns[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    columns[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    columns[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    columns[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

}  // namespace thinc_transpose
#endif
