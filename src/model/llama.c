/*
 * llama.c - the llama architecture (Llama 2/3, Mistral, TinyLlama,
 * SmolLM/SmolLM2): pre-norm decoder, grouped-query attention with RoPE,
 * SwiGLU feed-forward, RMSNorm, tied or separate output matrix.
 *
 *   x   = embed(token)
 *   for each layer:
 *     h  = rmsnorm(x) * attn_norm
 *     q, k, v = Wq h, Wk h, Wv h;  rope(q, k, pos)
 *     x += Wo attention(q, K_cache, V_cache)
 *     h  = rmsnorm(x) * ffn_norm
 *     x += W_down (silu(W_gate h) * W_up h)
 *   logits = W_out (rmsnorm(x) * output_norm)
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/status.h"
#include "model/blocks.h"

static hone_status llama_bind(hone_model *m) {
    hone_hparams *hp = &m->hp;
    hone_status st;
    if ((st = blk_key_i32(m, "embedding_length", -1, &hp->n_embd)) ||
        (st = blk_key_i32(m, "block_count", -1, &hp->n_layer)) ||
        (st = blk_key_i32(m, "feed_forward_length", -1, &hp->n_ff)) ||
        (st = blk_key_i32(m, "attention.head_count", -1, &hp->n_head)) ||
        (st = blk_key_i32(m, "attention.head_count_kv", hp->n_head, &hp->n_head_kv)) ||
        (st = blk_key_i32(m, "context_length", 2048, &hp->n_ctx_train)) ||
        (st = blk_key_f32(m, "rope.freq_base", 10000.0f, false, &hp->rope_base)) ||
        (st = blk_key_f32(m, "attention.layer_norm_rms_epsilon", 1e-5f, false, &hp->rms_eps)))
        return st;
    const char *path = gguf_path(m->file);
    if (hp->n_embd <= 0 || hp->n_layer <= 0 || hp->n_ff <= 0 || hp->n_head <= 0 || hp->n_head_kv <= 0 ||
        hp->n_head % hp->n_head_kv != 0 || hp->n_embd % hp->n_head != 0 || hp->n_layer > 4096)
        return hone_err(HONE_ERR_FORMAT,
                        "%s: inconsistent hyper-parameters (embedding %d, layers %d, ff %d, heads %d, kv heads %d)",
                        path, hp->n_embd, hp->n_layer, hp->n_ff, hp->n_head, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    if ((st = blk_key_i32(m, "rope.dimension_count", hp->head_dim, &hp->rope_dim))) return st;
    if (hp->head_dim > HONE_MAX_HEAD_DIM || hp->rope_dim > hp->head_dim || hp->rope_dim % 2)
        return hone_err(HONE_ERR_UNSUPPORTED, "%s: head size %d / rope dimensions %d not supported", path,
                        hp->head_dim, hp->rope_dim);

    const int64_t n = hp->n_embd, kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    const gguf_tensor *emb = gguf_find_tensor(m->file, "token_embd.weight");
    if (!emb || emb->n_dims != 2 || emb->ne[0] != n)
        return hone_err(HONE_ERR_FORMAT, "%s: tensor 'token_embd.weight' missing or not [%lld, n_vocab]", path,
                        (long long)n);
    hp->n_vocab = (int32_t)emb->ne[1];
    if ((st = blk_mat(m, &m->tok_embd, n, hp->n_vocab, "token_embd.weight", 0))) return st;
    if ((st = blk_vec(m, &m->output_norm, n, false, "output_norm.weight", 0))) return st;
    if ((st = blk_mat_opt(m, &m->output, n, hp->n_vocab, "output.weight", 0))) return st;
    if (!m->output.data) m->output = m->tok_embd; /* tied embeddings */

    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return hone_err(HONE_ERR_NOMEM, "out of memory binding %d layers", hp->n_layer);
    for (int il = 0; il < hp->n_layer; il++) {
        hone_layer *L = &m->layers[il];
        if ((st = blk_vec(m, &L->attn_norm, n, false, "blk.%d.attn_norm.weight", il)) ||
            (st = blk_mat(m, &L->wq, n, n, "blk.%d.attn_q.weight", il)) ||
            (st = blk_mat(m, &L->wk, n, kvd, "blk.%d.attn_k.weight", il)) ||
            (st = blk_mat(m, &L->wv, n, kvd, "blk.%d.attn_v.weight", il)) ||
            (st = blk_mat(m, &L->wo, n, n, "blk.%d.attn_output.weight", il)) ||
            (st = blk_vec(m, &L->ffn_norm, n, false, "blk.%d.ffn_norm.weight", il)) ||
            (st = blk_mat(m, &L->w_gate, n, hp->n_ff, "blk.%d.ffn_gate.weight", il)) ||
            (st = blk_mat(m, &L->w_up, n, hp->n_ff, "blk.%d.ffn_up.weight", il)) ||
            (st = blk_mat(m, &L->w_down, hp->n_ff, n, "blk.%d.ffn_down.weight", il)))
            return st;
    }
    return HONE_OK;
}

static void llama_forward(const hone_model *m, hone_fwd_state *st, const hone_fwd_token *toks, int T,
                          float *logits) {
    const hone_hparams *hp = &m->hp;
    const int n = hp->n_embd;
    blk_embed(m, st, toks, T);
    for (int il = 0; il < hp->n_layer; il++) {
        const hone_layer *L = &m->layers[il];
        if (T == 1 && blk_decode_layer(m, st, L, il, toks)) continue;
        if (T > 1 && blk_batch_layer(m, st, L, il, toks, T)) continue;
        blk_rmsnorm(st->pool, st->xn, st->x, L->attn_norm, T, n, hp->rms_eps);
        const hone_mat *qkv[3] = {&L->wq, &L->wk, &L->wv};
        const float *bias[3] = {L->bq, L->bk, L->bv};
        float *const outs[3] = {st->q, st->kx, st->vx};
        blk_linear(st, 3, qkv, bias, outs, st->xn, T);
        blk_attention(m, st, il, toks, T);
        const hone_mat *wo = &L->wo;
        float *const o[1] = {st->tmp};
        blk_linear(st, 1, &wo, NULL, o, st->att, T);
        blk_add(st->pool, st->x, st->tmp, T, n);
        blk_rmsnorm(st->pool, st->xn, st->x, L->ffn_norm, T, n, hp->rms_eps);
        blk_ffn_swiglu(m, st, L, T);
    }
    blk_logits(m, st, toks, T, logits);
}

const hone_arch hone_arch_llama = {"llama", llama_bind, llama_forward};
