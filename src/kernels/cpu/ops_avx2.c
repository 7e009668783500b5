/*
 * ops_avx2.c - AVX2 versions of element-wise kernels of ops.c, with the reference's bits.
 *
 * op_swiglu_avx2: SiLU(g) * u with the polynomial exp on whole groups of sixteen (eight lanes at a
 * time, exp_avx2.h) and libm's expf on the rest, exactly as op_swiglu; IEEE division and products
 * round the same in a vector lane as in a scalar.
 */
#include "kernels/cpu/ops_avx2.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include "kernels/cpu/exp_avx2.h"

__attribute__((target("avx2,fma,f16c"))) void op_swiglu_avx2(float *out, const float *g, const float *u, int n) {
    const int nv = n & ~15;
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    int i = 0;
    for (; i < nv; i += 8) {
        const __m256 gv = _mm256_loadu_ps(g + i);
        const __m256 e = expf_poly8(_mm256_sub_ps(zero, gv));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(one, e)), _mm256_loadu_ps(u + i)));
    }
    for (; i < n; i++) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

bool op_swiglu_avx2_available(void) { return true; }

#else

void op_swiglu_avx2(float *out, const float *g, const float *u, int n) { op_swiglu(out, g, u, n); }

bool op_swiglu_avx2_available(void) { return false; }

#endif
