// Hand-vectorised float32 math for the AVX-512 level: the exp-based
// activations whose 512-bit code from gcc (the scalar rows of
// thinc_elementwise.hh, compiled for this level) lost to PyTorch. gcc turns
// the scalar exp_fast's clamps and its int32 cast into compare-and-blend
// chains; written with min/max and a truncating convert, sigmoid took 9.5
// instead of 16.8 cycles per 16 floats on a Zen 5 (one thread, 384K floats).
//
// Every operation is the one gcc emits for the scalar code at this level,
// FMA contractions and the true division included, so these bodies give the
// same bits as the scalar rows compiled for AVX-512 (tests check it).
#pragma once
#include "thinc_math.hh"

namespace thinc_kernels {

// Where both the run-time ISA levels (thinc_isa.hh) and the hand-written
// vector code (thinc_math.hh) are compiled in.
#if defined(THINC_AVX2_PATH) && defined(THINC_ISA_X86)
#define THINC_AVX512_PATH 1
#define THINC_AVX512_INLINE THINC_INLINE THINC_TARGET_AVX512

namespace avx512 {

THINC_AVX512_INLINE __m512 constant(float value) {
    return _mm512_set1_ps(value);
}

// exp_fast, step for step: the clamp (constants first, so NaN passes), the
// round-to-nearest through 1.5 * 2^23 as an FMA, the two-part ln 2, the
// polynomial, and 2^n built in the exponent bits.
THINC_AVX512_INLINE __m512 exp(__m512 x) {
    x = _mm512_min_ps(constant(88.0f), _mm512_max_ps(constant(-88.0f), x));
    const __m512 magic = constant(12582912.0f);
    __m512 n = _mm512_sub_ps(_mm512_fmadd_ps(x, constant(1.44269504088896341f), magic), magic);
    __m512 r = _mm512_fnmadd_ps(n, constant(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, constant(-2.12194440e-4f), r);
    __m512 p = constant(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, constant(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, constant(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, constant(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, constant(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, constant(5.0000001201e-1f));
    __m512 result = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), constant(1.0f));
    __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(result, _mm512_castsi512_ps(bits));
}

// sigmoid_clipped: the input clipped to [-20, 20], then 1 / (1 + e^-x).
THINC_AVX512_INLINE __m512 sigmoid(__m512 x) {
    x = _mm512_min_ps(constant(20.0f), _mm512_max_ps(constant(-20.0f), x));
    __m512 e = exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(constant(1.0f), _mm512_add_ps(constant(1.0f), e));
}

struct Sigmoid {
    THINC_AVX512_INLINE __m512 operator()(__m512 x) const { return sigmoid(x); }
};
struct Swish {
    THINC_AVX512_INLINE __m512 operator()(__m512 x) const { return _mm512_mul_ps(x, sigmoid(x)); }
};
// g * (y + s (1 - y)), the inner product and sum fused as gcc fuses them.
struct SwishBackward {
    THINC_AVX512_INLINE __m512 operator()(__m512 g, __m512 x, __m512 y) const {
        __m512 s = sigmoid(x);
        return _mm512_mul_ps(g, _mm512_fmadd_ps(s, _mm512_sub_ps(constant(1.0f), y), y));
    }
};

// op over n elements of each input array into out: a masked head up to out's
// 64-byte alignment, four vectors a step, one a step, a masked tail. Every element
// takes the same instructions wherever a range starts, so the results do not
// depend on how a parallel_for split the array.
template <class Op, class... Inputs>
THINC_AVX512_INLINE void map(float* out, index_t n, const Op& op, const Inputs*... inputs) {
    index_t i = unaligned_head(out, n, 16);
    if (i > 0) {
        __mmask16 mask = thinc_isa::first_of_16(i);
        _mm512_mask_storeu_ps(out, mask, op(_mm512_maskz_loadu_ps(mask, inputs)...));
    }
    for (; i + 64 <= n; i += 64) {
        __m512 y0 = op(_mm512_loadu_ps(inputs + i)...);
        __m512 y1 = op(_mm512_loadu_ps(inputs + i + 16)...);
        __m512 y2 = op(_mm512_loadu_ps(inputs + i + 32)...);
        __m512 y3 = op(_mm512_loadu_ps(inputs + i + 48)...);
        _mm512_storeu_ps(out + i, y0);
        _mm512_storeu_ps(out + i + 16, y1);
        _mm512_storeu_ps(out + i + 32, y2);
        _mm512_storeu_ps(out + i + 48, y3);
    }
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, op(_mm512_loadu_ps(inputs + i)...));
    if (i < n) {
        __mmask16 mask = thinc_isa::first_of_16(n - i);
        _mm512_mask_storeu_ps(out + i, mask, op(_mm512_maskz_loadu_ps(mask, inputs + i)...));
    }
}

}  // namespace avx512
#endif

}  // namespace thinc_kernels
