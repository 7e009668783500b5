/*
 * blocks.h - pieces shared by every architecture: binding tensors and keys
 * with precise errors, and the transformer blocks (linear layers on a batch,
 * causal attention over the KV cache, SwiGLU feed-forward, logits).
 */
#ifndef HONE_MODEL_BLOCKS_H
#define HONE_MODEL_BLOCKS_H

#include "model/model.h"

/* "<arch>.<suffix>" as an integer; missing -> default if def >= 0, else error. */
hone_status blk_key_i32(const hone_model *m, const char *suffix, int64_t def, int32_t *out);
hone_status blk_key_f32(const hone_model *m, const char *suffix, float def, bool required, float *out);

/* A 2-D weight [n_in, n_out] of a computable type; tensor names are
 * printf-style with the layer index. */
hone_status blk_mat(const hone_model *m, hone_mat *out, int64_t n_in, int64_t n_out, const char *fmt, int il);
/* Like blk_mat but absent -> *out zeroed and HONE_OK. */
hone_status blk_mat_opt(const hone_model *m, hone_mat *out, int64_t n_in, int64_t n_out, const char *fmt, int il);
/* A 1-D F32 vector of n elements (norm weights, biases); optional -> NULL when absent. */
hone_status blk_vec(const hone_model *m, const float **out, int64_t n, bool optional, const char *fmt, int il);

/* Embedding rows of the batch tokens into st->x. */
void blk_embed(const hone_model *m, hone_fwd_state *st, const hone_fwd_token *toks, int T);
/* out[t] = rmsnorm(x[t]) * w for T rows of n (rows split over the pool's threads). */
void blk_rmsnorm(threadpool *pool, float *out, const float *x, const float *w, int T, int n, float eps);
/* x[t] += y[t] for T rows of n (rows split over the pool's threads). */
void blk_add(threadpool *pool, float *x, const float *y, int T, int n);
/* outs[i] = mats[i] x (+ bias[i] when non-NULL), quantising x once per
 * distinct activation type. */
void blk_linear(hone_fwd_state *st, int n, const hone_mat *const *mats, const float *const *bias, float *const *outs,
                const float *x, int T);
/* RoPE on st->q and st->kx, store K/V in the cache cells, attention into
 * st->att for every token and head (one parallel job, the phases separated by a barrier). */
void blk_attention(const hone_model *m, hone_fwd_state *st, int il, const hone_fwd_token *toks, int T);
/* x += W_down(silu(W_gate xn) * W_up xn) */
void blk_ffn_swiglu(const hone_model *m, hone_fwd_state *st, const hone_layer *L, int T);
/* One layer for a batch of one token (norm, attention block, feed-forward, residuals) as a single
 * parallel job: the same arithmetic as the general path, with fewer thread hand-offs. Returns false
 * (nothing done) for layers it does not handle; the caller then takes the general path. */
bool blk_decode_layer(const hone_model *m, hone_fwd_state *st, const hone_layer *L, int il, const hone_fwd_token *tok);
/* The same for a batch of T > 1 tokens (prompt chunks, many streams decoding at once): one parallel
 * job per layer with ten barriers instead of nineteen job hand-offs; same bits as the general path.
 * Returns false for layers it does not handle. */
bool blk_batch_layer(const hone_model *m, hone_fwd_state *st, const hone_layer *L, int il, const hone_fwd_token *toks,
                     int T);
/* Final norm + output projection for the tokens that want logits. */
void blk_logits(const hone_model *m, hone_fwd_state *st, const hone_fwd_token *toks, int T, float *logits);

#endif
