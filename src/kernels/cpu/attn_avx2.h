/*
 * attn_avx2.h - the AVX2 attention kernel (same contract and same bits as op_attention_f16 in
 * ops.h; see attn_avx2.c). Only call it when op_attention_avx2_available() and the CPU level
 * (kernels/cpu/dispatch.h) is AVX2 or better; other builds forward to the reference.
 */
#ifndef HONE_KERNELS_CPU_ATTN_AVX2_H
#define HONE_KERNELS_CPU_ATTN_AVX2_H

#include <stdbool.h>

#include "kernels/cpu/ops.h"

bool op_attention_avx2_available(void);

void op_attention_f16_avx2(float *out, const float *q, const hone_f16 *k, const hone_f16 *v, int64_t stride,
                           const int32_t *cells, int n, int head_dim, float scale, float *scores,
                           op_f16dot_order order);

/* G <= 4 query heads sharing one KV head: head g's query at q + g * q_stride, its output at
 * out + g * out_stride, each exactly what op_attention_f16_avx2 gives it in `order`; `scores` is
 * scratch for G * n floats. Converts each cached row once for the group (tiled order: head sizes a
 * multiple of 64; lone-token order: head size 64; other shapes go head by head). */
void op_attention_f16_avx2_group(float *out, int64_t out_stride, const float *q, int64_t q_stride, int G,
                                 const hone_f16 *k, const hone_f16 *v, int64_t stride, const int32_t *cells, int n,
                                 int head_dim, float scale, float *scores, op_f16dot_order order);

#endif
