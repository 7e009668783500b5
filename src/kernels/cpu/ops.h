/*
 * ops.h - the element-wise and attention kernels of a transformer layer
 * (scalar reference versions; SIMD variants will sit beside them and be
 * tested against these).
 *
 * The arithmetic reproduces llama.cpp's x86 CPU build bit for bit (summation
 * orders, its polynomial exp, F16 rounding of the query and the attention
 * probabilities), because the default model is sensitive to the last bit of
 * its activations; ops.c says why and how.
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

/* Which of llama.cpp's two accumulation orders the attention dot products follow: GEMM for the
 * tokens of a batch of several (its tiled matrix multiply), VEC for a batch of one token (its
 * vector dot). The default model's logits depend on the difference (see ops.c), so a token's
 * result here depends on whether it came alone or in a batch, exactly as in llama.cpp. */
typedef enum { OP_F16DOT_VEC, OP_F16DOT_GEMM } op_f16dot_order;

/*
 * One head of attention for one query over n cached positions:
 * out[d] = sum_j softmax_j(scale * q . K_j) V_j[d], where K_j / V_j start at
 * k + cells[j] * stride (and v + ...), head_dim F16 values each. `scores`
 * is caller scratch for n floats. Positions are visited in the order given,
 * which the caller keeps fixed (position order) so results do not depend on
 * where cells happen to live.
 */
void op_attention_f16(float *out, const float *q, const hone_f16 *k, const hone_f16 *v, int64_t stride,
                      const int32_t *cells, int n, int head_dim, float scale, float *scores, op_f16dot_order order);

#endif
