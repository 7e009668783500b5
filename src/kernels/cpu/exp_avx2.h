/*
 * exp_avx2.h - the polynomial exp of ops_internal.h (expf_poly), eight lanes at a time with the same
 * fused operations, hence the same bits; for the AVX2 kernels (include only from x86-64 files built
 * with the AVX2 target attribute on their functions).
 */
#ifndef HONE_KERNELS_CPU_EXP_AVX2_H
#define HONE_KERNELS_CPU_EXP_AVX2_H

#include <immintrin.h>

#include "kernels/cpu/ops_internal.h"

/* expf_poly of eight lanes, bit for bit. */
static inline __attribute__((target("avx2,fma,f16c"))) __m256 expf_poly8(__m256 x) {
    const __m256 shift = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f));
    const __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f));
    const __m256 r = _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f));
    const __m256 j = _mm256_fmadd_ps(_mm256_fmadd_ps(p, u, q), u, r);
    /* 2^n for -125 <= n <= 127: j lies in about [0.7, 1.5], so j * 2^n is a normal float and the
     * product is exact, as ldexpf is. Other lanes (and NaN) go to the scalar routine. */
    const __m256 ok = _mm256_and_ps(_mm256_cmp_ps(n, _mm256_set1_ps(-125.0f), _CMP_GE_OQ),
                                    _mm256_cmp_ps(n, _mm256_set1_ps(127.0f), _CMP_LE_OQ));
    const __m256i ni = _mm256_cvtps_epi32(_mm256_blendv_ps(_mm256_setzero_ps(), n, ok));
    const __m256 pow2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
    __m256 e = _mm256_mul_ps(j, pow2);
    if (_mm256_movemask_ps(ok) != 0xFF) {
        float xs[8], es[8];
        _mm256_storeu_ps(xs, x);
        _mm256_storeu_ps(es, e);
        const int m = _mm256_movemask_ps(ok);
        for (int l = 0; l < 8; l++)
            if (!(m >> l & 1)) es[l] = expf_poly(xs[l]);
        e = _mm256_loadu_ps(es);
    }
    return e;
}

#endif
