// The int8 vector kernels, included once per level by thinc_gemm_int8.hh
// inside that level's namespace and `#pragma GCC target` region, where `V`
// names the level's vectors. Not a header of its own: it has no include guard
// (nor #pragma once) on purpose.

constexpr index_t NR = 2 * V::WIDTH;  // columns of a tile: two vectors of int32 sums

// out[w] = the largest |v(k, w)| over all k, for w in [0, width). False where
// any element is inf or NaN: a scale cannot represent them, so the caller's
// float32 path runs instead. Magnitudes are compared as their bit patterns
// (non-negative int32s in the order of the floats; inf and NaN above every
// finite one).
inline bool max_magnitudes(const View& v, index_t K, index_t width, float* out) {
    const typename V::ivec magnitude = V::iset1(0x7fffffff);
    if (v.k_step == 1) {
        for (index_t w = 0; w < width; ++w) {
            const float* source = v.base + w * v.w_step;
            typename V::ivec largest = V::izero();
            for (index_t k = 0; k < K; k += V::WIDTH)
                largest = V::imax(largest, V::iand(V::iload(source + k, V::first(K - k)), magnitude));
            int32_t top = V::hmax(largest);
            if (top >= int32_t(FIRST_SPECIAL)) return false;
            std::memcpy(out + w, &top, 4);
        }
        return true;
    }
    for (index_t w = 0; w < width; w += V::WIDTH) {
        typename V::mask mask = V::first(width - w);
        typename V::ivec largest = V::izero();
        for (index_t k = 0; k < K; ++k)
            largest = V::imax(largest, V::iand(V::iload(v.base + k * v.k_step + w, mask), magnitude));
        if (V::any_above(largest, int32_t(FIRST_SPECIAL) - 1, mask)) return false;
        V::istore(out + w, largest, mask);
    }
    return true;
}

// Quantizes `width` w (from w0) x all K of a view into a panel `lanes` wide:
// out[q * lanes + w] holds rint(v(4q + t, w) * inverse[w]) + offset in byte t;
// past K and past `width` the bytes hold `offset` (the value 0). With `sums`,
// sums[w] = the sum over k of the rounded values (before the offset).
inline void pack_quads(const View& v, const float* inverse, index_t K, index_t w0, index_t width,
                       index_t lanes, int offset, uint32_t* out, int32_t* sums) {
    index_t quads = (K + 3) / 4;
    const typename V::ivec shift = V::iset1(offset);
    if (v.k_step == 1) {
        const uint32_t pad = uint32_t(offset & 0xff) * 0x01010101u;
        for (index_t w = 0; w < lanes; ++w) {
            if (w >= width) {
                for (index_t q = 0; q < quads; ++q) out[q * lanes + w] = pad;
                if (sums) sums[w] = 0;
                continue;
            }
            const float* source = v.base + (w0 + w) * v.w_step;
            typename V::vec inv = V::set1(inverse[w0 + w]);
            typename V::ivec total = V::izero();
            for (index_t k = 0; k < K; k += V::WIDTH) {
                typename V::ivec rounded = V::round(V::mul(V::load(source + k, V::first(K - k)), inv));
                total = V::iadd(total, rounded);
                V::store_quads(V::iadd(rounded, shift), out + (k / 4) * lanes + w, lanes,
                               std::min<index_t>(V::WIDTH / 4, quads - k / 4));
            }
            if (sums) sums[w] = V::hsum(total);
        }
        return;
    }
    const typename V::ivec low_byte = V::iset1(0xff);
    for (index_t w = 0; w < lanes; w += V::WIDTH) {
        typename V::mask mask = V::first(width - w);
        typename V::mask store_mask = V::first(lanes - w);
        typename V::vec inv = V::load(inverse + w0 + w, mask);
        typename V::ivec total = V::izero();
        for (index_t q = 0; q < quads; ++q) {
            typename V::ivec packed = V::izero();
            for (index_t t = 0; t < 4; ++t) {
                index_t k = 4 * q + t;
                typename V::ivec rounded = V::izero();
                if (k < K) {
                    rounded = V::round(V::mul(V::load(v.base + k * v.k_step + w0 + w, mask), inv));
                    total = V::iadd(total, rounded);
                }
                packed = V::ior(packed, V::shl(V::iand(V::iadd(rounded, shift), low_byte), int(8 * t)));
            }
            V::istore(out + q * lanes + w, packed, store_mask);
        }
        if (sums) V::istore(sums + w, total, store_mask);
    }
}

// Writes rows of an NR-column tile of C from its int32 sums:
// float(sums - shift_sums) * column_scale * row_scale + beta * C (+ bias),
// touching only the n columns that exist, never reading C when beta is 0.
struct RowWriter {
    typename V::ivec shift_left, shift_right;
    typename V::vec column_left, column_right, keep, bias_left, bias_right;
    typename V::mask left_mask, right_mask;
    bool reads_c, adds_bias;

    RowWriter(const int32_t* shift_sums, const float* column_scale, float beta, index_t n, const float* bias)
        : keep(V::set1(beta)),
          left_mask(V::first(n)),
          right_mask(V::first(n - V::WIDTH)),
          reads_c(beta != 0.0f),
          adds_bias(bias) {
        shift_left = V::iload(shift_sums, left_mask);
        shift_right = V::iload(shift_sums + V::WIDTH, right_mask);
        column_left = V::load(column_scale, left_mask);
        column_right = V::load(column_scale + V::WIDTH, right_mask);
        bias_left = bias ? V::load(bias, left_mask) : V::zero();
        bias_right = bias ? V::load(bias + V::WIDTH, right_mask) : V::zero();
    }

    void write(float* row, float row_scale, typename V::ivec sums_left, typename V::ivec sums_right) const {
        typename V::vec scale = V::set1(row_scale);
        typename V::vec low = V::to_float(V::isub(sums_left, shift_left));
        typename V::vec high = V::to_float(V::isub(sums_right, shift_right));
        low = V::mul(V::mul(low, column_left), scale);
        high = V::mul(V::mul(high, column_right), scale);
        // Each step rounds on its own (GCC would fuse the scaling into the
        // bias add), so every kernel and the documented arithmetic agree bit
        // for bit; a barrier rather than fp-contract=off, which would keep
        // this function from being inlined.
        V::rounded(low);
        V::rounded(high);
        if (reads_c) {
            low = V::fmadd(keep, V::load(row, left_mask), low);
            high = V::fmadd(keep, V::load(row + V::WIDTH, right_mask), high);
        }
        if (adds_bias) {
            low = V::add(low, bias_left);
            high = V::add(high, bias_right);
        }
        V::store(row, low, left_mask);
        V::store(row + V::WIDTH, high, right_mask);
    }
};

// The int32 sums of a tile (m <= 6 rows, NR columns) over `quads` k quads of
// packed A (6 lanes, shifted bytes) and B (NR lanes, signed bytes), written
// to C through `writer`.
inline void micro_kernel(index_t quads, const uint32_t* a, const uint32_t* b, float* c, index_t ldc,
                         const RowWriter& writer, const float* row_scale, index_t m) {
    // Every loop over the rows unrolled in full, so that the sums stay in
    // registers (an index known only at run time would keep them in memory).
    typename V::ivec sums[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) sums[r][0] = sums[r][1] = V::izero();
#pragma GCC unroll 4
    for (index_t q = 0; q < quads; ++q) {
        typename V::ivec b0 = V::iload_full(b);
        typename V::ivec b1 = V::iload_full(b + V::WIDTH);
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
            typename V::ivec ar = V::iset1(static_cast<int32_t>(a[r]));
            sums[r][0] = V::dot(sums[r][0], ar, b0);
            sums[r][1] = V::dot(sums[r][1], ar, b1);
        }
        a += MR;
        b += NR;
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r)
        if (r < m) writer.write(c + r * ldc, row_scale[r], sums[r][0], sums[r][1]);
}

// Rows [0, mc) of a packed block of op(A) against one packed panel of op(B):
// C's rows from `c` on, columns [0, n) of the panel's NR.
inline void run_panel(index_t quads, const uint32_t* a, index_t mc, const uint32_t* b,
                      const int32_t* shift_sums, const float* column_scale, float beta, index_t n,
                      const float* bias, const float* row_scale, float* c, index_t ldc) {
    RowWriter writer(shift_sums, column_scale, beta, n, bias);
    for (index_t i = 0; i < mc; i += MR)
        micro_kernel(quads, a + i * quads, b, c + i * ldc, ldc, writer, row_scale + i, std::min(MR, mc - i));
}
