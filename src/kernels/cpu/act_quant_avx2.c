/*
 * act_quant_avx2.c - AVX2 row maximum and int8 codes for the token/static activation modes (see
 * act_quant_avx2.h). The maximum is exact in any order once NaNs are left out (max(|x|, m) keeps m
 * when |x| is NaN, like the scalar comparison); the codes use the scalar code's operations lane by
 * lane: one multiplication by the same id, NaN to 0, clamp, the 1.5 * 2^23 rounding addition.
 */
#include "kernels/cpu/act_quant_avx2.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

bool act_avx2_built(void) { return true; }

AVX2 float act_amax_avx2(const float *x, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), m0);
        m1 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i + 8)), m1);
    }
    for (; i + 8 <= n; i += 8) m0 = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), m0);
    const __m256 m = _mm256_max_ps(m0, m1);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

AVX2 void act_codes_avx2(const float *x, float id, int8_t *q, int64_t n) {
    const __m256 vid = _mm256_set1_ps(id), magic = _mm256_set1_ps(0x1.8p23f);
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t i = 0; i + 32 <= n; i += 32) {
        __m256i c[4];
        for (int k = 0; k < 4; k++) {
            __m256 t = _mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * k), vid);
            t = _mm256_and_ps(t, _mm256_cmp_ps(t, t, _CMP_ORD_Q)); /* NaN -> 0 */
            t = _mm256_min_ps(_mm256_max_ps(t, lo), hi);
            t = _mm256_sub_ps(_mm256_add_ps(t, magic), magic);
            c[k] = _mm256_cvttps_epi32(t);
        }
        /* int32 -> int8 in element order: the packs interleave 128-bit lanes, the permute undoes it */
        const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(c[0], c[1]), _mm256_packs_epi32(c[2], c[3]));
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(p, order));
    }
}

#else

bool act_avx2_built(void) { return false; }
float act_amax_avx2(const float *x, int64_t n) {
    (void)x, (void)n;
    return 0.0f;
}
void act_codes_avx2(const float *x, float id, int8_t *q, int64_t n) { (void)x, (void)id, (void)q, (void)n; }

#endif
