/*
 * attn_q8.h - attention over a Q8_0 KV cache (hone_session_params.kv_type = HONE_KV_Q8_0).
 *
 * K_j and V_j (head_dim values of one head at cell j) are head_dim / 32 Q8_0 blocks at
 * k + cells[j] * stride (bytes). The order is hone's own (llama.cpp's Q8_0 cache runs through its
 * flash-attention path, whose order hone does not follow), fixed for every batch and thread count:
 *   q is quantised to Q8_0 like any activation; score_j = dot_q8_0(K_j, q) * scale with the
 *   dispatched Q8_0 dot product (the same bits at every CPU level);
 *   softmax: e_j = expf_poly(score_j - max) summed in double in j order, p_j = e_j * (float)(1 / sum);
 *   out[d] = fmaf(p_j * d_jb, (float)q_jd, out[d]) for j in order (d_jb: the scale of V_j's block b
 *   holding d), from out = +0.
 * The AVX2 path does the last step eight outputs at a time with the same fused operation, so it
 * gives the scalar path's bits (tests/kernels/test_attention.c).
 */
#ifndef HONE_KERNELS_CPU_ATTN_Q8_H
#define HONE_KERNELS_CPU_ATTN_Q8_H

#include <stddef.h>
#include <stdint.h>

/* head_dim a multiple of 32, at most 256; `scores` caller scratch for n floats; simd: use the
 * AVX2 step where compiled in (callers pass whether the active level allows it). */
void op_attention_q8_0(float *out, const float *q, const void *k, const void *v, size_t stride, const int32_t *cells,
                       int n, int head_dim, float scale, float *scores, int simd);

#endif
