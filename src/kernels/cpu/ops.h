/*
 * ops.h - the element-wise and attention kernels of a transformer layer
 * (scalar reference versions; SIMD variants will sit beside them and be
 * tested against these).
 *
 * Precision follows llama.cpp's CPU path where it matters for matching its
 * logits: sums of squares and softmax denominators in double, the query and
 * the attention probabilities rounded to F16 before meeting the F16 KV cache.
 */
#ifndef HONE_KERNELS_CPU_OPS_H
#define HONE_KERNELS_CPU_OPS_H

#include <stdint.h>

#include "core/fp16.h"

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]   (out may equal x) */
void op_rmsnorm(float *out, const float *x, const float *w, int n, float eps);

/* Rotate adjacent pairs (x[2i], x[2i+1]) of each of n_heads heads of size
 * head_dim by pos * base^(-2i/rope_dim), for 2i < rope_dim ("normal" RoPE,
 * the llama layout of GGUF files). */
void op_rope_norm(float *x, int n_heads, int head_dim, int rope_dim, int32_t pos, float base);

/* out[i] = silu(g[i]) * u[i] */
void op_swiglu(float *out, const float *g, const float *u, int n);

/* x[i] += y[i] */
void op_add(float *x, const float *y, int n);

/*
 * One head of attention for one query over n cached positions:
 * out[d] = sum_j softmax_j(scale * q . K_j) V_j[d], where K_j / V_j start at
 * k + cells[j] * stride (and v + ...), head_dim F16 values each. `scores`
 * is caller scratch for n floats. Positions are visited in the order given,
 * which the caller keeps fixed (position order) so results do not depend on
 * where cells happen to live.
 */
void op_attention_f16(float *out, const float *q, const hone_f16 *k, const hone_f16 *v, int64_t stride,
                      const int32_t *cells, int n, int head_dim, float scale, float *scores);

#endif
