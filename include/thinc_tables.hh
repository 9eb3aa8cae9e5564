// Table access by index (embedding rows): gather_add, scatter_add; and hashing ids.
#pragma once
#include "thinc_math.hh"

namespace thinc_kernels {

// ---------------------------------------------------------------------------
// Embedding-style table access. Each returns the position of the first index
// outside [0, n_row), or -1; indices are checked as they are used.

template <typename T, typename I>
THINC_INLINE index_t gather_add_impl(const T* __restrict table, const I* __restrict indices,
                                     T* __restrict out, index_t n_row, index_t n_col, index_t n_out,
                                     index_t n_per) {
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
            for (index_t k = 0; k < n_per; ++k)
                sum += table[static_cast<index_t>(row_indices[k]) * n_col + c];
            o[c] = sum;
        }
    }
    return -1;
}

template <typename T, typename I>
THINC_INLINE index_t scatter_add_impl(T* table, const I* indices, const T* values, index_t n_row,
                                      index_t n_col, index_t n_index) {
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

#define THINC_TABLE_OPS(T, I)                                                                        \
    THINC_ISA_VARIANTS(static index_t, gather_add_serial,                                            \
                       (const T* t, const I* idx, T* o, index_t r, index_t c, index_t n, index_t k), \
                       gather_add_impl<T, I>(t, idx, o, r, c, n, k))                                 \
    THINC_ISA_VARIANTS(static index_t, scatter_add,                                                  \
                       (T * t, const I* idx, const T* v, index_t r, index_t c, index_t n),           \
                       scatter_add_impl<T, I>(t, idx, v, r, c, n))
THINC_TABLE_OPS(float, int32_t)
THINC_TABLE_OPS(float, int64_t)
THINC_TABLE_OPS(double, int32_t)
THINC_TABLE_OPS(double, int64_t)
THINC_ISA_DISPATCH(gather_add_serial)
// scatter_add runs its AVX2 code at the AVX-512 level too: numpy's buffers are
// rarely 64-byte aligned, and then every 512-bit read-modify-write of a table
// row spans two cache lines. On a Zen 5, one thread, 16000 rows of 96 floats
// into 5000: the AVX2 code was 6-19% faster at numpy's usual offsets, level
// where both arrays were aligned.
template <typename... Args>
THINC_INLINE index_t scatter_add(Args... args) {
#if defined(THINC_ISA_X86)
    if (thinc_isa::active() >= thinc_isa::AVX2) return scatter_add_avx2(args...);
#endif
    return scatter_add_scalar(args...);
}

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
THINC_AVX2 static void gather_add_rows_avx2(const float* table, const I* indices, float* out, index_t n_out,
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
THINC_AVX2 static void gather_add_avx2(const float* table, const I* indices, float* out, index_t n_col,
                                       index_t n_out, index_t n_per) {
    const index_t full = n_col & ~index_t(7);
    const __m256i mask = avx2::tail_mask(n_col - full);
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
                a = _mm256_add_ps(a,
                                  _mm256_loadu_ps(table + static_cast<index_t>(row_indices[k]) * n_col + c));
            _mm256_storeu_ps(o + c, a);
        }
        if (c < n_col) {
            __m256 a = _mm256_setzero_ps();
            for (index_t k = 0; k < n_per; ++k)
                a = _mm256_add_ps(
                    a, _mm256_maskload_ps(table + static_cast<index_t>(row_indices[k]) * n_col + c, mask));
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
static index_t gather_add(const T* table, const I* indices, T* out, index_t n_row, index_t n_col,
                          index_t n_out, index_t n_per) {
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
                    case 96:
                        gather_add_rows_avx2<12>(t, idx, o, n, n_per);
                        break;
                    case 64:
                        gather_add_rows_avx2<8>(t, idx, o, n, n_per);
                        break;
                    case 32:
                        gather_add_rows_avx2<4>(t, idx, o, n, n_per);
                        break;
                    default:
                        gather_add_avx2(t, idx, o, n_col, n, n_per);
                }
            }
        } else
#endif
            bad = gather_add_serial(table, indices + begin * n_per, out + begin * n_col, n_row, n_col,
                                    end - begin, n_per);
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
        for (index_t i = begin; i < end; ++i)
            hash(ids + i, static_cast<int>(sizeof(uint64_t)), seed, out + 4 * i);
    });
}

// a % divisor without a division (Lemire, Kaser and Kurz's multiply-shift
// remainder; exact for every 32-bit a and divisor > 0): `magic` is
// UINT64_MAX / divisor + 1, wrapping to 0 for divisor 1, which still gives 0.
inline uint32_t remainder_by_magic(uint32_t a, uint64_t magic, uint32_t divisor) {
    uint64_t low_bits = magic * a;
    return static_cast<uint32_t>((static_cast<unsigned __int128>(low_bits) * divisor) >> 64);
}

// HashEmbed's rows: each id's four hash keys modulo the table's n_rows (> 0).
static void hash_rows(hash128_function hash, const uint64_t* ids, index_t n, uint32_t seed, uint32_t n_rows,
                      uint32_t* rows) {
    const uint64_t magic = UINT64_MAX / n_rows + 1;
    thinc_parallel::parallel_for(n, 2048, 4, [&](index_t begin, index_t end) {
        for (index_t i = begin; i < end; ++i) {
            hash(ids + i, static_cast<int>(sizeof(uint64_t)), seed, rows + 4 * i);
            for (index_t k = 4 * i; k < 4 * i + 4; ++k) rows[k] = remainder_by_magic(rows[k], magic, n_rows);
        }
    });
}

}  // namespace thinc_kernels
