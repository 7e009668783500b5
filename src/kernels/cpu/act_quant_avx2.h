/*
 * act_quant_avx2.h - AVX2 pieces of the token and static activation quantisers (act_quant.c):
 * the row's absolute maximum and the codes of a run of values against one scale, bit-identical
 * to act_quant.c's scalar code. NULL-free API: act_avx2_built() says whether this build has them;
 * only call them on a CPU with AVX2 (kernel_cpu_level() >= KERNEL_CPU_AVX2).
 */
#ifndef HONE_KERNELS_CPU_ACT_QUANT_AVX2_H
#define HONE_KERNELS_CPU_ACT_QUANT_AVX2_H

#include <stdbool.h>
#include <stdint.h>

bool act_avx2_built(void);
/* max |x_i| over n values (n % 8 == 0); NaNs are ignored, as by the scalar loop */
float act_amax_avx2(const float *x, int64_t n);
/* q_i = x_i * id rounded half to even, clamped to [-127, 127], NaN as 0 (n % 32 == 0) */
void act_codes_avx2(const float *x, float id, int8_t *q, int64_t n);

#endif
