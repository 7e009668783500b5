/*
 * model.h - a loaded model: hyper-parameters, weights (views into the
 * mmapped GGUF), vocabulary, and the architecture that runs it.
 *
 * An architecture (llama.c, later qwen2.c, gemma3.c) is a small file that
 * says which tensors and keys it needs (bind) and how a layer is computed
 * (forward), built from the shared blocks in blocks.h and the kernels.
 */
#ifndef HONE_MODEL_MODEL_H
#define HONE_MODEL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/fp16.h"
#include "core/threadpool.h"
#include "formats/gguf.h"
#include "hone.h"
#include "kernels/cpu/matmul.h"
#include "tokenizer/tokenizer.h"

#define HONE_MAX_HEAD_DIM 512

typedef struct {
    int32_t n_vocab;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_ff;
    int32_t n_ctx_train;
    int32_t rope_dim;
    float rope_base;
    float rms_eps;
} hone_hparams;

typedef struct {
    const float *attn_norm;
    hone_mat wq, wk, wv, wo;
    const float *bq, *bk, *bv; /* optional biases (NULL for llama) */
    const float *ffn_norm;
    hone_mat w_gate, w_up, w_down;
} hone_layer;

typedef struct hone_arch hone_arch;

struct hone_model {
    gguf_file *file;
    hone_vocab *vocab;
    const hone_arch *arch;
    hone_hparams hp;
    hone_mat tok_embd;
    const float *output_norm;
    hone_mat output; /* = tok_embd when tied */
    hone_layer *layers;
    const char *chat_template; /* from metadata, NULL if absent (owned by file) */
    char desc[128];
};

/*
 * The state one forward pass works on: the session owns it, the model
 * reads and writes through it. KV cache: per layer, n_cells rows of
 * n_head_kv * head_dim values for K and for V, as F16 values or (kv_type
 * HONE_KV_Q8_0) as Q8_0 blocks of 32, each head its own blocks; a row is
 * kv_row bytes.
 */
typedef struct {
    threadpool *pool;
    int32_t n_cells;
    int32_t kv_type;
    size_t kv_row;
    void **k; /* [n_layer] */
    void **v;
    /* scratch, each sized for n_batch tokens */
    int32_t n_batch;
    float *x, *xn, *q, *kx, *vx, *att, *tmp, *gate, *up;
    void *xq;       /* quantised activations: n_batch rows of xq_row bytes */
    size_t xq_row;  /* room for one row of any layer input in any vec_dot_type */
    float *scores;  /* per thread: 4 * n_cells floats */
    float *out_norm; /* rows of the final norm for tokens that want logits */
} hone_fwd_state;

/* One token of a batch as the forward pass sees it: its cache cell, and the
 * cells of its sequence at positions 0..pos (in position order). */
typedef struct {
    int32_t token;
    int32_t pos;
    int32_t cell;
    const int32_t *ctx_cells; /* pos + 1 entries, the last one == cell */
    int32_t out_row;          /* row in `logits`, or -1 */
} hone_fwd_token;

struct hone_arch {
    const char *name; /* general.architecture */
    /* read hyper-parameters and bind tensors; errors name key/tensor */
    hone_status (*bind)(hone_model *m);
    /* run T tokens, write logits rows (n_vocab each) for those with out_row >= 0 */
    void (*forward)(const hone_model *m, hone_fwd_state *st, const hone_fwd_token *toks, int T, float *logits);
};

const hone_arch *hone_arch_find(const char *name);

#endif
