/*
 * blocks.c - shared binding helpers and transformer blocks (see blocks.h).
 */
#include "model/blocks.h"

#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "kernels/cpu/act_quant.h"
#include "kernels/cpu/attn_avx2.h"
#include "kernels/cpu/attn_q8.h"
#include "kernels/cpu/ops_avx2.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/ops.h"
#include "quant/blocks.h"
#include "quant/quant.h"

/* ---- binding ---- */

hone_status blk_key_i32(const hone_model *m, const char *suffix, int64_t def, int32_t *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", m->arch->name, suffix);
    int64_t v;
    hone_status st = gguf_get_i64(m->file, key, &v);
    if (st == HONE_ERR_NOT_FOUND && def >= 0) {
        *out = (int32_t)def;
        return HONE_OK;
    }
    if (st != HONE_OK) return hone_err_prefix(st, "%s: ", gguf_path(m->file));
    if (v < 0 || v > INT32_MAX)
        return hone_err(HONE_ERR_FORMAT, "%s: key '%s' = %lld is out of range", gguf_path(m->file), key, (long long)v);
    *out = (int32_t)v;
    return HONE_OK;
}

hone_status blk_key_f32(const hone_model *m, const char *suffix, float def, bool required, float *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", m->arch->name, suffix);
    hone_status st = gguf_get_f32(m->file, key, out);
    if (st == HONE_ERR_NOT_FOUND && !required) {
        *out = def;
        return HONE_OK;
    }
    if (st != HONE_OK) return hone_err_prefix(st, "%s: ", gguf_path(m->file));
    if (!isfinite(*out)) return hone_err(HONE_ERR_FORMAT, "%s: key '%s' is not finite", gguf_path(m->file), key);
    return HONE_OK;
}

static const gguf_tensor *find_tensor(const hone_model *m, char *name, size_t cap, const char *fmt, int il) {
    snprintf(name, cap, fmt, il);
    return gguf_find_tensor(m->file, name);
}

/* The activation mode of a weight matrix from the file's keys (act_quant.h). A static matrix
 * whose scale key is absent gets scale 0: the model loader refuses that for the matrices the
 * forward pass multiplies (an untied token_embd.weight is only read row by row and needs none). */
static hone_status act_setup(const hone_model *m, const char *name, hone_mat *out) {
    out->act_mode = HONE_ACT_DYNAMIC;
    out->act_scale = 0.0f;
    const gguf_kv *kv = gguf_find_kv(m->file, HONE_ACT_KEY_MODE);
    if (!kv) return HONE_OK;
    const int mode = kv->val.type == GGUF_TYPE_STRING ? act_mode_parse(kv->val.str.s) : -1;
    if (mode < 0)
        return hone_err(HONE_ERR_FORMAT, "%s: key '%s' should be one of the strings int8-dynamic, int8-token, "
                        "int8-static", gguf_path(m->file), HONE_ACT_KEY_MODE);
    if (!act_type_has_mode(out->type)) return HONE_OK; /* float weights: float activations */
    out->act_mode = (uint8_t)mode;
    if (mode != HONE_ACT_STATIC) return HONE_OK;
    char key[200];
    snprintf(key, sizeof key, "%s%s", HONE_ACT_KEY_SCALE_PREFIX, name);
    float s;
    hone_status st = gguf_get_f32(m->file, key, &s);
    if (st == HONE_ERR_NOT_FOUND) return HONE_OK;
    if (st) return hone_err_prefix(st, "%s: ", gguf_path(m->file));
    /* Q8_0/Q8_1 store the scale in half precision: one that rounds to zero would zero the input */
    const hone_type vdt = hone_type_get(out->type)->vec_dot_type;
    if (!isfinite(s) || s <= 0.0f || (vdt != HONE_TYPE_Q8_K && hone_f16_to_f32(hone_f32_to_f16(s)) == 0.0f))
        return hone_err(HONE_ERR_FORMAT, "%s: key '%s' = %g: a static activation scale must be finite, positive "
                        "and representable in half precision", gguf_path(m->file), key, (double)s);
    out->act_scale = s;
    return HONE_OK;
}

static hone_status check_mat(const hone_model *m, const gguf_tensor *t, const char *name, int64_t n_in, int64_t n_out,
                             hone_mat *out) {
    const hone_type_info *ti = hone_type_get(t->type);
    if (t->n_dims != 2 || t->ne[0] != n_in || t->ne[1] != n_out)
        return hone_err(HONE_ERR_FORMAT, "%s: tensor '%s' has shape [%lld, %lld] (%u dims), expected [%lld, %lld]",
                        gguf_path(m->file), name, (long long)t->ne[0], (long long)(t->n_dims > 1 ? t->ne[1] : 1),
                        t->n_dims, (long long)n_in, (long long)n_out);
    if (!ti || !ti->computable || t->type == HONE_TYPE_Q8_1 || t->type == HONE_TYPE_Q8_K)
        return hone_err(HONE_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which hone cannot compute with",
                        gguf_path(m->file), name, ti ? ti->name : "?");
    out->data = t->data;
    out->type = t->type;
    out->n_in = n_in;
    out->n_out = n_out;
    out->row_bytes = hone_row_size(t->type, n_in);
    return act_setup(m, name, out);
}

hone_status blk_mat(const hone_model *m, hone_mat *out, int64_t n_in, int64_t n_out, const char *fmt, int il) {
    char name[128];
    const gguf_tensor *t = find_tensor(m, name, sizeof name, fmt, il);
    if (!t) return hone_err(HONE_ERR_FORMAT, "%s: required tensor '%s' is missing", gguf_path(m->file), name);
    return check_mat(m, t, name, n_in, n_out, out);
}

hone_status blk_mat_opt(const hone_model *m, hone_mat *out, int64_t n_in, int64_t n_out, const char *fmt, int il) {
    char name[128];
    const gguf_tensor *t = find_tensor(m, name, sizeof name, fmt, il);
    memset(out, 0, sizeof *out);
    return t ? check_mat(m, t, name, n_in, n_out, out) : HONE_OK;
}

hone_status blk_vec(const hone_model *m, const float **out, int64_t n, bool optional, const char *fmt, int il) {
    char name[128];
    const gguf_tensor *t = find_tensor(m, name, sizeof name, fmt, il);
    *out = NULL;
    if (!t) {
        if (optional) return HONE_OK;
        return hone_err(HONE_ERR_FORMAT, "%s: required tensor '%s' is missing", gguf_path(m->file), name);
    }
    if (t->type != HONE_TYPE_F32 || t->n_dims != 1 || t->ne[0] != n)
        return hone_err(HONE_ERR_FORMAT, "%s: tensor '%s' should be an F32 vector of %lld, found %s [%lld] (%u dims)",
                        gguf_path(m->file), name, (long long)n, hone_type_get(t->type)->name, (long long)t->ne[0],
                        t->n_dims);
    *out = t->data;
    return HONE_OK;
}

/* ---- blocks ---- */

/* The element-wise steps of a batch run split over tokens (or, for one token, over aligned groups
 * of its elements); each element is computed by the same operations as in a serial loop. */
typedef struct {
    const hone_model *m;
    const hone_fwd_token *toks;
    float *out;
    const float *x, *y, *w;
    int T, n;
    float eps;
} rows_job;

static void embed_worker(void *ctx, int ith, int nth) {
    const rows_job *j = ctx;
    long b, e;
    threadpool_split(j->T, ith, nth, &b, &e);
    for (long t = b; t < e; t++) mat_get_row(&j->m->tok_embd, j->toks[t].token, j->out + t * j->n);
}

void blk_embed(const hone_model *m, hone_fwd_state *st, const hone_fwd_token *toks, int T) {
    rows_job j = {.m = m, .toks = toks, .out = st->x, .T = T, .n = m->hp.n_embd};
    if (T == 1)
        embed_worker(&j, 0, 1);
    else
        threadpool_run(st->pool, embed_worker, &j);
}

static void rmsnorm_worker(void *ctx, int ith, int nth) {
    const rows_job *j = ctx;
    long b, e;
    threadpool_split(j->T, ith, nth, &b, &e);
    for (long t = b; t < e; t++) op_rmsnorm(j->out + t * j->n, j->x + t * j->n, j->w, j->n, j->eps);
}

void blk_rmsnorm(threadpool *pool, float *out, const float *x, const float *w, int T, int n, float eps) {
    rows_job j = {.out = out, .x = x, .w = w, .T = T, .n = n, .eps = eps};
    /* one row is a microsecond of work: not worth waking the pool */
    if (T == 1)
        rmsnorm_worker(&j, 0, 1);
    else
        threadpool_run(pool, rmsnorm_worker, &j);
}

static void add_worker(void *ctx, int ith, int nth) {
    const rows_job *j = ctx;
    long b, e;
    threadpool_split(j->T, ith, nth, &b, &e);
    for (long t = b; t < e; t++) op_add(j->out + t * j->n, j->y + t * j->n, j->n);
}

void blk_add(threadpool *pool, float *x, const float *y, int T, int n) {
    rows_job j = {.out = x, .y = y, .T = T, .n = n};
    if (T == 1)
        add_worker(&j, 0, 1);
    else
        threadpool_run(pool, add_worker, &j);
}

/* SiLU(g) * u with the AVX2 kernel where the level allows it (same bits as op_swiglu) */
static void swiglu(float *out, const float *g, const float *u, int n) {
    const kernel_level lvl = kernel_cpu_level();
    if (op_swiglu_avx2_available() && (lvl == KERNEL_CPU_AVX2 || lvl == KERNEL_CPU_AVX512))
        op_swiglu_avx2(out, g, u, n);
    else
        op_swiglu(out, g, u, n);
}

/* op_swiglu takes libm's expf for the elements past the last whole group of sixteen in a row and
 * the polynomial for the rest, so a part of one row must start at a multiple of sixteen: then the
 * part holding the row's end also holds its tail, and every element takes the same branch as in a
 * call over the whole row. */
static void swiglu_worker(void *ctx, int ith, int nth) {
    const rows_job *j = ctx;
    long b, e;
    if (j->T == 1) {
        threadpool_split_aligned(j->n, 16, ith, nth, &b, &e);
        if (e > b) swiglu(j->out + b, j->x + b, j->y + b, (int)(e - b));
        return;
    }
    threadpool_split(j->T, ith, nth, &b, &e);
    for (long t = b; t < e; t++) swiglu(j->out + t * j->n, j->x + t * j->n, j->y + t * j->n, j->n);
}

void blk_linear(hone_fwd_state *st, int n, const hone_mat *const *mats, const float *const *bias, float *const *outs,
                const float *x, int T) {
    const hone_mat *quantised_for = NULL;
    for (int i = 0; i < n; i++) {
        const hone_mat *w = mats[i];
        if (!quantised_for || !matmul_same_act(quantised_for, w)) {
            matmul_quantize_act_mat(st->pool, w, x, T, st->xq);
            quantised_for = w;
        }
        matmul(st->pool, w, st->xq, T, outs[i]);
        if (bias && bias[i])
            for (int t = 0; t < T; t++) op_add(outs[i] + (int64_t)t * w->n_out, bias[i], (int)w->n_out);
    }
}

typedef struct {
    const hone_model *m;
    hone_fwd_state *st;
    const hone_fwd_token *toks;
    int T;
    int il;
} attn_job;

/* RoPE and the cache store, one head at a time: unit u of a token is query head u (u < n_head) or
 * key/value head u - n_head. op_rope_norm treats every head alike and independently, so rotating
 * heads one by one gives the bits of rotating the whole row. */
static void rope_store(const attn_job *j, int ith, int nth) {
    const hone_hparams *hp = &j->m->hp;
    const int hd = hp->head_dim, qdim = hp->n_head * hd, kvdim = hp->n_head_kv * hd;
    const int units = hp->n_head + hp->n_head_kv;
    long b, e;
    threadpool_split((long)j->T * units, ith, nth, &b, &e);
    for (long i = b; i < e; i++) {
        const int t = (int)(i / units), u = (int)(i % units);
        const int32_t pos = j->toks[t].pos;
        if (u < hp->n_head) {
            op_rope_norm(j->st->q + (int64_t)t * qdim + u * hd, 1, hd, hp->rope_dim, pos, hp->rope_base);
            continue;
        }
        const int off = (u - hp->n_head) * hd;
        float *k = j->st->kx + (int64_t)t * kvdim + off;
        const float *v = j->st->vx + (int64_t)t * kvdim + off;
        op_rope_norm(k, 1, hd, hp->rope_dim, pos, hp->rope_base);
        const size_t cell = (size_t)j->toks[t].cell * j->st->kv_row;
        if (j->st->kv_type == HONE_KV_Q8_0) { /* the head's own blocks (head_dim % 32 == 0) */
            const size_t hoff = (size_t)(off / QK8_0) * sizeof(block_q8_0);
            hone_quantize_row(HONE_TYPE_Q8_0, k, (char *)j->st->k[j->il] + cell + hoff, hd);
            hone_quantize_row(HONE_TYPE_Q8_0, v, (char *)j->st->v[j->il] + cell + hoff, hd);
            continue;
        }
        hone_f16 *kc = (hone_f16 *)((char *)j->st->k[j->il] + cell) + off;
        hone_f16 *vc = (hone_f16 *)((char *)j->st->v[j->il] + cell) + off;
        for (int d = 0; d < hd; d++) {
            kc[d] = hone_f32_to_f16(k[d]);
            vc[d] = hone_f32_to_f16(v[d]);
        }
    }
}

/* Tokens a and b of one batch belong to the same sequence: the later one's context holds the
 * earlier one's cell at the earlier one's position (cells are never shared between sequences). */
static bool same_sequence(const hone_fwd_token *a, const hone_fwd_token *b) {
    const hone_fwd_token *lo = a->pos <= b->pos ? a : b, *hi = lo == a ? b : a;
    return hi->ctx_cells[lo->pos] == lo->cell;
}

/* llama.cpp multiplies the attention matrices of a batch of several tokens with a tiled kernel
 * and a lone token's with a vector dot, which sum in different orders; the default model's logits
 * depend on the difference, so hone follows it (see ops.c). The choice is made per sequence - the
 * tiled order when this batch holds another token of the same sequence - so that a token's result
 * never depends on what other sequences share the batch: it is the one llama.cpp gives when the
 * sequence's tokens come alone in batches of the same sizes. */
static op_f16dot_order attn_order(const hone_fwd_token *toks, int T, int t) {
    for (int u = 0; u < T; u++)
        if (u != t && same_sequence(&toks[u], &toks[t])) return OP_F16DOT_GEMM;
    return OP_F16DOT_VEC;
}

static void attn_worker(void *ctx, int ith, int nth) {
    attn_job *j = ctx;
    rope_store(j, ith, nth);
    /* All K/V of the batch are stored before any query reads the cache, so a
     * token sees the earlier tokens of its sequence in the same batch. */
    threadpool_barrier(j->st->pool);
    const hone_hparams *hp = &j->m->hp;
    const int hd = hp->head_dim, qdim = hp->n_head * hd, kvdim = hp->n_head_kv * hd;
    const int group = hp->n_head / hp->n_head_kv;
    const float scale = 1.0f / sqrtf((float)hd);
    float *scores = j->st->scores + (int64_t)ith * j->st->n_cells * 4; /* room for four heads' scores */
    /* the SIMD kernel gives the reference's bits, so the level never changes a result */
    const kernel_level lvl = kernel_cpu_level();
    const bool simd = op_attention_avx2_available() && (lvl == KERNEL_CPU_AVX2 || lvl == KERNEL_CPU_AVX512);
    /* A token's cost grows with its position, so a prompt's tokens are dealt out round-robin (a
     * contiguous split would give the last thread the longest contexts); a lone token's heads are
     * split between the threads. Which thread computes an output never changes it. */
    const long n_items = (long)j->T * hp->n_head;
    const long step = j->T >= nth ? nth : 1;
    long b = 0, e = n_items;
    if (j->T < nth) threadpool_split(n_items, ith, nth, &b, &e);
    for (long t0 = j->T >= nth ? ith : 0; t0 < j->T; t0 += step) {
        const int t = (int)t0;
        const op_f16dot_order order = attn_order(j->toks, j->T, t);
        /* a token's heads that share a KV head in one call (when each thread has whole tokens):
         * each cached row is converted once for the group (same bits per head as one call each) */
        if (simd && j->st->kv_type == HONE_KV_F16 && j->T >= nth && group > 1) {
            for (int h0 = 0; h0 < hp->n_head; h0 += group)
                for (int h = h0; h < h0 + group; h += 4) {
                    const int G = h0 + group - h < 4 ? h0 + group - h : 4;
                    op_attention_f16_avx2_group(j->st->att + (int64_t)t * qdim + h * hd, hd,
                                                j->st->q + (int64_t)t * qdim + h * hd, hd, G,
                                                (const hone_f16 *)j->st->k[j->il] + (h / group) * hd,
                                                (const hone_f16 *)j->st->v[j->il] + (h / group) * hd, kvdim,
                                                j->toks[t].ctx_cells, j->toks[t].pos + 1, hd, scale, scores, order);
                }
            continue;
        }
        for (int h = 0; h < hp->n_head; h++) {
            const long i = (long)t * hp->n_head + h;
            if (i < b || i >= e) continue;
            const int hk = h / group;
            if (j->st->kv_type == HONE_KV_Q8_0) {
                const size_t hoff = (size_t)hk * (size_t)(hd / QK8_0) * sizeof(block_q8_0);
                op_attention_q8_0(j->st->att + (int64_t)t * qdim + h * hd, j->st->q + (int64_t)t * qdim + h * hd,
                                  (const char *)j->st->k[j->il] + hoff, (const char *)j->st->v[j->il] + hoff,
                                  j->st->kv_row, j->toks[t].ctx_cells, j->toks[t].pos + 1, hd, scale, scores, simd);
                continue;
            }
            (simd ? op_attention_f16_avx2 : op_attention_f16)(
                j->st->att + (int64_t)t * qdim + h * hd, j->st->q + (int64_t)t * qdim + h * hd,
                (const hone_f16 *)j->st->k[j->il] + hk * hd, (const hone_f16 *)j->st->v[j->il] + hk * hd, kvdim,
                j->toks[t].ctx_cells, j->toks[t].pos + 1, hd, scale, scores, order);
        }
    }
}

void blk_attention(const hone_model *m, hone_fwd_state *st, int il, const hone_fwd_token *toks, int T) {
    attn_job j = {m, st, toks, T, il};
    threadpool_run(st->pool, attn_worker, &j);
}

void blk_ffn_swiglu(const hone_model *m, hone_fwd_state *st, const hone_layer *L, int T) {
    const int n_ff = m->hp.n_ff, n = m->hp.n_embd;
    const hone_mat *gu[2] = {&L->w_gate, &L->w_up};
    float *const outs[2] = {st->gate, st->up};
    blk_linear(st, 2, gu, NULL, outs, st->xn, T);
    rows_job sj = {.out = st->gate, .x = st->gate, .y = st->up, .T = T, .n = n_ff};
    threadpool_run(st->pool, swiglu_worker, &sj);
    const hone_mat *down = &L->w_down;
    float *const o[1] = {st->tmp};
    blk_linear(st, 1, &down, NULL, o, st->gate, T);
    blk_add(st->pool, st->x, st->tmp, T, n);
}

/* ---- one decode step of a layer as one parallel job ----
 *
 * For one token the layer's steps are a few microseconds each, so the cost of starting a job and
 * waiting for it (nine jobs per layer on the general path) is a visible part of a token. Here the
 * whole layer is one job whose phases are separated by barriers; the serial steps (norm and
 * activation quantisation, a few hundred elements) run on thread 0 between two barriers. Every
 * element is computed by the same calls as on the general path: the matrix products run on
 * row ranges of the weights (a view of rows [b, e) is the same matrix for those rows), the
 * residual adds and SwiGLU on the rows a thread has just produced. */

typedef struct {
    const hone_model *m;
    hone_fwd_state *st;
    const hone_layer *L;
    const hone_fwd_token *tok;
    attn_job attn;
} layer_job;

/* out[r] = w[r] . xq (+ bias[r]) for this thread's rows of w; parts are aligned to four rows for
 * the multi-row kernels (or to `align` when the caller needs more). Returns the part. */
static void rows_matmul(const hone_mat *w, const float *bias, const void *xq, float *out, long align, int ith,
                        int nth, long *b, long *e) {
    threadpool_split_aligned(w->n_out, align, ith, nth, b, e);
    if (*e <= *b) return;
    matmul_rows(w, xq, 1, out, *b, *e);
    if (bias) op_add(out + *b, bias + *b, (int)(*e - *b));
}

static void norm_quantize(const hone_model *m, hone_fwd_state *st, float *xn, void *xq, const float *w,
                          const hone_mat *mat) {
    const int n = m->hp.n_embd;
    op_rmsnorm(xn, st->x, w, n, m->hp.rms_eps);
    matmul_quantize_act_mat(NULL, mat, xn, 1, xq);
}

/* The activation rows a thread quantises into: its own when the session's scratch (sized for
 * n_batch tokens, of which a decode step uses one) has a row per thread, so that every thread
 * quantises the whole input itself - the same calls, hence the same bits - instead of waiting at
 * a barrier for thread 0 to do it; else the shared row, filled by thread 0 between barriers. */
typedef struct {
    float *xn;
    void *xq;
    bool own;
} act_rows;

static act_rows thread_rows(const hone_model *m, hone_fwd_state *st, int ith, int nth) {
    if (st->n_batch < nth) return (act_rows){st->xn, st->xq, false};
    return (act_rows){st->xn + (int64_t)ith * m->hp.n_embd, (char *)st->xq + (size_t)ith * st->xq_row, true};
}

static void decode_layer_worker(void *ctx, int ith, int nth) {
    layer_job *j = ctx;
    const hone_layer *L = j->L;
    hone_fwd_state *st = j->st;
    threadpool *pool = st->pool;
    const act_rows ar = thread_rows(j->m, st, ith, nth);
    void *const xq = ar.xq;
    long b, e;
/* run `stmt` on every thread into its own rows, or on thread 0 into the shared ones and wait */
#define EACH_OR_SERIAL(stmt)                   \
    do {                                       \
        if (ar.own) {                          \
            stmt;                              \
        } else {                               \
            if (ith == 0) stmt;                \
            threadpool_barrier(pool);          \
        }                                      \
    } while (0)

    EACH_OR_SERIAL(norm_quantize(j->m, st, ar.xn, xq, L->attn_norm, &L->wq));
    rows_matmul(&L->wq, L->bq, xq, st->q, 4, ith, nth, &b, &e);
    rows_matmul(&L->wk, L->bk, xq, st->kx, 4, ith, nth, &b, &e);
    rows_matmul(&L->wv, L->bv, xq, st->vx, 4, ith, nth, &b, &e);
    threadpool_barrier(pool);
    attn_worker(&j->attn, ith, nth); /* RoPE + store, barrier, attention */
    threadpool_barrier(pool);
    EACH_OR_SERIAL(matmul_quantize_act_mat(NULL, &L->wo, st->att, 1, xq));
    rows_matmul(&L->wo, NULL, xq, st->tmp, 4, ith, nth, &b, &e);
    if (e > b) op_add(st->x + b, st->tmp + b, (int)(e - b));
    threadpool_barrier(pool);
    EACH_OR_SERIAL(norm_quantize(j->m, st, ar.xn, xq, L->ffn_norm, &L->w_gate));
    /* sixteen-aligned parts: see swiglu_worker */
    rows_matmul(&L->w_gate, NULL, xq, st->gate, 16, ith, nth, &b, &e);
    rows_matmul(&L->w_up, NULL, xq, st->up, 16, ith, nth, &b, &e);
    if (e > b) swiglu(st->gate + b, st->gate + b, st->up + b, (int)(e - b));
    threadpool_barrier(pool);
    EACH_OR_SERIAL(matmul_quantize_act_mat(NULL, &L->w_down, st->gate, 1, xq));
    rows_matmul(&L->w_down, NULL, xq, st->tmp, 4, ith, nth, &b, &e);
    if (e > b) op_add(st->x + b, st->tmp + b, (int)(e - b));
#undef EACH_OR_SERIAL
}

/* ---- a whole layer for a batch of several tokens, in one pool run ----
 *
 * The same steps as the general path (blk_rmsnorm, blk_linear, blk_attention, ...), with the
 * same kernels on the same rows, so the same bits; but where the general path wakes the pool and
 * waits at its end for every step (nineteen times a layer), here the threads meet at ten
 * barriers: token-wise steps (norm and quantise) split the batch's tokens, matrix steps split the
 * weight rows and finish their element-wise follow-ups (bias, residual add, SwiGLU) on their own
 * rows. Batched decoding of many streams spends its time in short steps, where the waking and
 * waiting was a large share. */

/* norm (when w) and quantisation of this thread's share of the batch's rows */
static void batch_norm_quantize(const layer_job *j, const float *x, const float *w, const hone_mat *mat, int ith,
                                int nth) {
    const int64_t n = mat->n_in;
    hone_fwd_state *st = j->st;
    long tb, te;
    threadpool_split(j->attn.T, ith, nth, &tb, &te);
    if (te <= tb) return;
    const float *src = x;
    if (w) {
        for (long t = tb; t < te; t++) op_rmsnorm(st->xn + t * n, x + t * n, w, (int)n, j->m->hp.rms_eps);
        src = st->xn;
    }
    const size_t row = matmul_act_bytes(mat->type, n, 1);
    matmul_quantize_act_mat(NULL, mat, src + tb * n, (int)(te - tb), (char *)st->xq + (size_t)tb * row);
}

/* rows [b, e) of w for all T tokens, plus bias */
static void batch_rows(const hone_mat *w, const float *bias, const void *xq, float *out, int T, long align, int ith,
                       int nth, long *b, long *e) {
    threadpool_split_aligned(w->n_out, align, ith, nth, b, e);
    if (*e <= *b) return;
    matmul_rows(w, xq, T, out, *b, *e);
    if (bias)
        for (int t = 0; t < T; t++) op_add(out + (int64_t)t * w->n_out + *b, bias + *b, (int)(*e - *b));
}

static void batch_layer_worker(void *ctx, int ith, int nth) {
    layer_job *j = ctx;
    const hone_layer *L = j->L;
    hone_fwd_state *st = j->st;
    threadpool *pool = st->pool;
    const int T = j->attn.T, n = j->m->hp.n_embd, n_ff = j->m->hp.n_ff;
    long b, e;

    batch_norm_quantize(j, st->x, L->attn_norm, &L->wq, ith, nth);
    threadpool_barrier(pool);
    batch_rows(&L->wq, L->bq, st->xq, st->q, T, 4, ith, nth, &b, &e);
    batch_rows(&L->wk, L->bk, st->xq, st->kx, T, 4, ith, nth, &b, &e);
    batch_rows(&L->wv, L->bv, st->xq, st->vx, T, 4, ith, nth, &b, &e);
    threadpool_barrier(pool);
    attn_worker(&j->attn, ith, nth); /* RoPE + store, barrier, attention */
    threadpool_barrier(pool);
    batch_norm_quantize(j, st->att, NULL, &L->wo, ith, nth);
    threadpool_barrier(pool);
    batch_rows(&L->wo, NULL, st->xq, st->tmp, T, 4, ith, nth, &b, &e);
    for (int t = 0; e > b && t < T; t++) op_add(st->x + (int64_t)t * n + b, st->tmp + (int64_t)t * n + b, (int)(e - b));
    threadpool_barrier(pool);
    batch_norm_quantize(j, st->x, L->ffn_norm, &L->w_gate, ith, nth);
    threadpool_barrier(pool);
    /* sixteen-aligned parts: see swiglu_worker */
    batch_rows(&L->w_gate, NULL, st->xq, st->gate, T, 16, ith, nth, &b, &e);
    batch_rows(&L->w_up, NULL, st->xq, st->up, T, 16, ith, nth, &b, &e);
    for (int t = 0; e > b && t < T; t++)
        swiglu(st->gate + (int64_t)t * n_ff + b, st->gate + (int64_t)t * n_ff + b, st->up + (int64_t)t * n_ff + b,
               (int)(e - b));
    threadpool_barrier(pool);
    batch_norm_quantize(j, st->gate, NULL, &L->w_down, ith, nth);
    threadpool_barrier(pool);
    batch_rows(&L->w_down, NULL, st->xq, st->tmp, T, 4, ith, nth, &b, &e);
    for (int t = 0; e > b && t < T; t++) op_add(st->x + (int64_t)t * n + b, st->tmp + (int64_t)t * n + b, (int)(e - b));
}

/* Q, K and V (gate and up) can share one quantised input: same activation type, mode and scale */
static bool shared_inputs(const hone_layer *L) {
    return matmul_same_act(&L->wq, &L->wk) && matmul_same_act(&L->wq, &L->wv) && matmul_same_act(&L->w_gate, &L->w_up);
}

bool blk_decode_layer(const hone_model *m, hone_fwd_state *st, const hone_layer *L, int il,
                      const hone_fwd_token *tok) {
    /* one quantised copy of the input serves Q, K and V (and gate and up) only when they share an
     * activation type; otherwise the general path quantises once per type */
    if (!shared_inputs(L) || L->w_gate.n_out != L->w_up.n_out) return false;
    layer_job j = {m, st, L, tok, {m, st, tok, 1, il}};
    threadpool_run(st->pool, decode_layer_worker, &j);
    return true;
}

bool blk_batch_layer(const hone_model *m, hone_fwd_state *st, const hone_layer *L, int il, const hone_fwd_token *toks,
                     int T) {
    /* the steps share one quantised input per group, and biases only on Q, K, V, like the decode
     * layer; other shapes take the general path */
    if (!shared_inputs(L) || L->w_gate.n_out != L->w_up.n_out || L->wo.n_out != m->hp.n_embd ||
        L->w_down.n_out != m->hp.n_embd)
        return false;
    layer_job j = {m, st, L, toks, {m, st, toks, T, il}};
    threadpool_run(st->pool, batch_layer_worker, &j);
    return true;
}

void blk_logits(const hone_model *m, hone_fwd_state *st, const hone_fwd_token *toks, int T, float *logits) {
    const int n = m->hp.n_embd;
    int n_out = 0;
    /* Gather the rows that want logits (in batch order = out_row order). */
    for (int t = 0; t < T; t++) {
        if (toks[t].out_row < 0) continue;
        op_rmsnorm(st->out_norm + (int64_t)toks[t].out_row * n, st->x + (int64_t)t * n, m->output_norm, n,
                   m->hp.rms_eps);
        n_out++;
    }
    if (n_out == 0) return;
    const hone_mat *w = &m->output;
    float *const o[1] = {logits};
    blk_linear(st, 1, &w, NULL, o, st->out_norm, n_out);
}
