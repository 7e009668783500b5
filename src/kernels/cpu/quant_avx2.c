/*
 * quant_avx2.c - AVX2 quantisation of activation rows (to Q8_0, Q8_1 and F16), bit-identical to
 * the references in src/quant (hq_quant_q8_0/q8_1/f16), which every matmul calls once per row.
 *
 * Q8: the block's absolute maximum (a max is exact in any order for non-NaN inputs), d = amax/127
 * and id = 127/amax in scalar exactly as the reference, then x * id rounded to nearest-even by the
 * same 1.5 * 2^23 addition, clamped to [-127, 127] with NaN as 0, eight lanes at a time; the quant
 * sum for Q8_1 is an exact integer sum. F16: the F16C conversion rounds to nearest-even like
 * hone_f32_to_f16 for every finite input and infinity (NaNs keep a NaN, possibly another payload).
 */
#include "kernels/cpu/quant_avx2.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>
#include <math.h>

#include "core/fp16.h"
#include "quant/blocks.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* one block of 32: quants into qs, their sum into *sum; returns d */
static AVX2 inline float q8_block(const float *x, int8_t *qs, int *sum) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], m = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + 8 * k);
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[k]));
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const float amax = _mm_cvtss_f32(h);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const __m256 vid = _mm256_set1_ps(id), magic = _mm256_set1_ps(0x1.8p23f);
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    __m256i q[4];
    for (int k = 0; k < 4; k++) {
        __m256 t = _mm256_mul_ps(v[k], vid);
        t = _mm256_and_ps(t, _mm256_cmp_ps(t, t, _CMP_ORD_Q)); /* NaN -> 0 */
        t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
        t = _mm256_sub_ps(_mm256_add_ps(t, magic), magic);
        q[k] = _mm256_cvttps_epi32(t);
    }
    /* int32 -> int8 in element order: packs interleave 128-bit lanes, a permute restores them */
    const __m256i p01 = _mm256_packs_epi32(q[0], q[1]), p23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i b = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p01, p23), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, b);
    if (sum) {
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        *sum = _mm_cvtsi128_si32(s4);
    }
    return d;
}

static AVX2 void quant_q8_0(const float *x, void *dst, int64_t n) {
    block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, x += QK8_0) b[i].d = hone_f32_to_f16(q8_block(x, b[i].qs, NULL));
}

static AVX2 void quant_q8_1(const float *x, void *dst, int64_t n) {
    block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, x += QK8_1) {
        int sum;
        const float d = q8_block(x, b[i].qs, &sum);
        b[i].d = hone_f32_to_f16(d);
        b[i].s = hone_f32_to_f16((float)sum * d);
    }
}

static AVX2 void quant_f16(const float *x, void *dst, int64_t n) {
    hone_f16 *h = dst;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(h + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) h[i] = hone_f32_to_f16(x[i]);
}

hone_quant_row_fn kernel_quant_row_avx2(hone_type t) {
    switch (t) {
    case HONE_TYPE_Q8_0: return quant_q8_0;
    case HONE_TYPE_Q8_1: return quant_q8_1;
    case HONE_TYPE_F16: return quant_f16;
    default: return NULL;
    }
}

#else

hone_quant_row_fn kernel_quant_row_avx2(hone_type t) {
    (void)t;
    return NULL;
}

#endif
