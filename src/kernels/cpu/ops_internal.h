/*
 * ops_internal.h - pieces of the scalar reference kernels that their SIMD variants share: the
 * polynomial exp and the sixteen-lane horizontal sum (see ops.c for why these exact forms).
 */
#ifndef HONE_KERNELS_CPU_OPS_INTERNAL_H
#define HONE_KERNELS_CPU_OPS_INTERNAL_H

#include <math.h>

/* exp(x) as ggml's AVX-512 kernels compute it (an Arm optimized-routines polynomial): x = n ln2 + b
 * with n rounded to an integer by the 1.5*2^23 trick, a degree-5 polynomial in b, scaled by 2^n.
 * Inputs whose n exceeds 192 in magnitude give 0 or infinity; -inf gives 0. */
static inline __attribute__((always_inline)) float expf_poly(float x) {
    const float shift = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, shift);
    const float n = z - shift;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, fmaf(0x1.ffffecp-1f, b, 1.0f));
    return ldexpf(j, (int)n);
}

/* Sum of sixteen lanes in the order of the x86 16-lane horizontal add: upper eight onto lower
 * eight, then upper four onto lower four, then lanes 0+2 and 1+3, then those two. */
static inline float lanes16_sum(const float *a) {
    float t8[8], t4[4];
    for (int i = 0; i < 8; i++) t8[i] = a[i + 8] + a[i];
    for (int i = 0; i < 4; i++) t4[i] = t8[i + 4] + t8[i];
    return (t4[0] + t4[2]) + (t4[1] + t4[3]);
}

#endif
