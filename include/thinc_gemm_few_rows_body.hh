// The few-rows kernels, included once per instruction-set level by
// thinc_gemm_few_rows.hh inside that level's namespace and `#pragma GCC
// target` region, where `V` names the level's vector type. Not a header of
// its own: it has no include guard (nor #pragma once) on purpose.

// alpha * sum + beta * C (+ bias): beta == 0 never reads C, which may hold NaN.
// The fused multiply-add is spelled out so that every level rounds alike,
// whatever contraction the compiler would choose.
inline float finish(const Product& p, float sum, index_t i, index_t j) {
    float value = p.alpha * sum;
    if (p.beta != 0.0f) value = std::fma(p.beta, p.C[i * p.ldc + j], value);
    if (p.bias) value += p.bias[j];
    return value;
}

// op(B) = B: R rows of C over COLUMN_VECTORS vectors of columns starting at
// j, B read a row at a time (its rows are contiguous).

template <int R>
void rows_times_b(const Product& p, index_t i0, index_t j) {
    constexpr int CV = V::COLUMN_VECTORS;
    typename V::mask masks[CV];
#pragma GCC unroll 4
    for (int c = 0; c < CV; ++c) {
        index_t left = p.N - j - c * V::WIDTH;
        masks[c] = V::first(left > 0 ? left : 0);
    }
    // Every loop over r and c unrolled in full (R <= 8, CV <= 4): a loop left
    // rolled indexes acc at run time and keeps it in memory (6 rows ran 2x
    // slower than 4 with "unroll 4").
    typename V::vec acc[R][CV];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < CV; ++c) acc[r][c] = V::zero();
    const float* a = p.A + i0 * p.lda;
    for (index_t k = 0; k < p.K; ++k) {
        const float* b_row = p.B + k * p.ldb + j;
        if (k + PREFETCH_ROWS < p.K) {
#pragma GCC unroll 4
            for (int c = 0; c < CV; ++c)
                _mm_prefetch(reinterpret_cast<const char*>(b_row + PREFETCH_ROWS * p.ldb + c * V::WIDTH),
                             _MM_HINT_T0);
        }
        typename V::vec b[CV];
#pragma GCC unroll 4
        for (int c = 0; c < CV; ++c) b[c] = V::load(b_row + c * V::WIDTH, masks[c]);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            typename V::vec ar = V::set1(a[r * p.lda + k]);
#pragma GCC unroll 4
            for (int c = 0; c < CV; ++c) acc[r][c] = V::fmadd(ar, b[c], acc[r][c]);
        }
    }
    const typename V::vec scale = V::set1(p.alpha);
    const typename V::vec keep = V::set1(p.beta);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
        float* row = p.C + (i0 + r) * p.ldc + j;
#pragma GCC unroll 4
        for (int c = 0; c < CV; ++c) {
            typename V::vec value = V::fmadd(scale, acc[r][c], V::zero());
            if (p.beta != 0.0f) value = V::fmadd(keep, V::load(row + c * V::WIDTH, masks[c]), value);
            if (p.bias) {
                typename V::vec bias = V::load(p.bias + j + c * V::WIDTH, masks[c]);
                value = V::fmadd(V::set1(1.0f), bias, value);
            }
            V::store(row + c * V::WIDTH, value, masks[c]);
        }
    }
}

// One element's SPLIT accumulators (k in blocks of 16 floats, SPLIT vectors
// a block) folded to 8 lanes: lane l holds k = l and l + 8 (mod 16) at
// either level.
template <class Level = V>  // a template, so the branch a level lacks is never compiled
__attribute__((always_inline)) inline __m256 eight_lanes(const typename Level::vec (&parts)[Level::SPLIT]) {
    if constexpr (Level::SPLIT == 1) {
        return Level::halves(parts[0]);
    } else {
        return _mm256_add_ps(parts[0], parts[1]);
    }
}

// The sums of four elements' 8 lanes, each added in one fixed tree
// ((l0+l1)+(l2+l3)) + ((l4+l5)+(l6+l7)), so that a sum's bits do not depend on
// the level or on how many elements are reduced together.
__attribute__((always_inline)) inline __m128 four_sums(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
    __m256 pairs = _mm256_hadd_ps(_mm256_hadd_ps(a0, a1), _mm256_hadd_ps(a2, a3));
    return _mm_add_ps(_mm256_castps256_ps128(pairs), _mm256_extractf128_ps(pairs, 1));
}

__attribute__((always_inline)) inline float first_sum(__m256 a) {
    return _mm_cvtss_f32(four_sums(a, a, a, a));
}

// alpha * sums + beta * C (+ bias) for four adjacent elements of one row, in
// the scalar finish's order of rounding.
__attribute__((always_inline)) inline void finish_four(const Product& p, __m128 sums, index_t i, index_t j) {
    float* out = p.C + i * p.ldc + j;
    __m128 value = _mm_mul_ps(_mm_set1_ps(p.alpha), sums);
    if (p.beta != 0.0f) value = _mm_fmadd_ps(_mm_set1_ps(p.beta), _mm_loadu_ps(out), value);
    if (p.bias) value = _mm_add_ps(value, _mm_loadu_ps(p.bias + j));
    _mm_storeu_ps(out, value);
}

template <int R, int BR, std::size_t... E>
__attribute__((always_inline)) inline void sum_and_store(const Product& p,
                                                         const typename V::vec (&acc)[R][BR][V::SPLIT],
                                                         index_t i0, index_t j, std::index_sequence<E...>) {
    if constexpr (BR == 4) {
        // E runs over the rows here: four columns reduced together per row.
        (finish_four(p,
                     four_sums(eight_lanes(acc[E][0]), eight_lanes(acc[E][1]), eight_lanes(acc[E][2]),
                               eight_lanes(acc[E][3])),
                     i0 + E, j),
         ...);
    } else {
        static_assert(BR == 1, "tiles of B are 1 or 4 rows");
        // The same tree as above, so a column's bits do not depend on its tile.
        ((p.C[(i0 + E) * p.ldc + j] = finish(p, first_sum(eight_lanes(acc[E][0])), i0 + E, j)), ...);
    }
}

// op(B) = B^T: R rows of C by BR columns from j, each element a dot product of
// a row of A with a row of B (both contiguous), k 16 floats at a time.
template <int R, int BR>
void rows_dot_rows(const Product& p, index_t i0, index_t j) {
    constexpr int S = V::SPLIT;
    typename V::vec acc[R][BR][S];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int c = 0; c < BR; ++c)
#pragma GCC unroll 2
            for (int s = 0; s < S; ++s) acc[r][c][s] = V::zero();
    const float* a = p.A + i0 * p.lda;
    const float* b = p.B + j * p.ldb;
    for (index_t k = 0; k < p.K; k += V::WIDTH * S) {
#pragma GCC unroll 2
        for (int s = 0; s < S; ++s) {
            index_t k_s = k + s * V::WIDTH;
            index_t left = p.K - k_s;
            typename V::mask m = V::first(left > 0 ? left : 0);
            typename V::vec bv[BR];
#pragma GCC unroll 4
            for (int c = 0; c < BR; ++c) bv[c] = V::load(b + c * p.ldb + k_s, m);
#pragma GCC unroll 4
            for (int r = 0; r < R; ++r) {
                typename V::vec av = V::load(a + r * p.lda + k_s, m);
#pragma GCC unroll 4
                for (int c = 0; c < BR; ++c) acc[r][c][s] = V::fmadd(av, bv[c], acc[r][c][s]);
            }
        }
    }
    // One statement per element, indices known at compile time (a loop here
    // that gcc left rolled kept acc in memory, stored at every k step).
    sum_and_store<R, BR>(p, acc, i0, j, std::make_index_sequence<R>());
}

// The last p.M - i (< G) rows as one group.
template <template <int> class Tile, int R>
__attribute__((always_inline)) inline void rest_of_the_rows(const Product& p, index_t i, index_t j) {
    if constexpr (R > 0) {
        if (p.M - i == R)
            Tile<R>::run(p, i, j);
        else
            rest_of_the_rows<Tile, R - 1>(p, i, j);
    }
}

// Every row group of C against one tile of columns: the tile's part of B is
// read from memory once and then from L1 for the other groups. `Tile` is a
// template of the group's row count (1 to G).
template <template <int> class Tile, int G>
void down_the_rows(const Product& p, index_t j) {
    index_t i = 0;
    for (; i + G <= p.M; i += G) Tile<G>::run(p, i, j);
    rest_of_the_rows<Tile, G - 1>(p, i, j);
}

template <int R>
struct TimesB {
    static void run(const Product& p, index_t i0, index_t j) { rows_times_b<R>(p, i0, j); }
};
template <int R>
struct DotRowsOfB {
    static void run(const Product& p, index_t i0, index_t j) { rows_dot_rows<R, V::B_ROWS>(p, i0, j); }
};
template <int R>
struct DotOneRowOfB {
    static void run(const Product& p, index_t i0, index_t j) { rows_dot_rows<R, 1>(p, i0, j); }
};

// Columns a unit of work spans: one tile of the op(B) = B kernel, or one
// group of B rows of the dot-product kernel.
inline index_t column_unit(const Product& p) {
    return p.trans_b ? V::B_ROWS : V::WIDTH * V::COLUMN_VECTORS;
}

// Columns [j_begin, j_end) of C, j_begin a multiple of column_unit(p): every
// element is computed alike however the columns are divided.
inline void run_columns(const Product& p, index_t j_begin, index_t j_end) {
    if (!p.trans_b) {
        for (index_t j = j_begin; j < j_end; j += V::WIDTH * V::COLUMN_VECTORS)
            down_the_rows<TimesB, V::TIMES_B_ROWS>(p, j);
        return;
    }
    index_t j = j_begin;
    for (; j + V::B_ROWS <= j_end; j += V::B_ROWS) down_the_rows<DotRowsOfB, ROW_GROUP>(p, j);
    for (; j < j_end; ++j) down_the_rows<DotOneRowOfB, ROW_GROUP>(p, j);
}
