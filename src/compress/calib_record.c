/*
 * calib_record.c - hone calibrate: run a model over text and record, for every weight matrix, the
 * statistics of the activations it multiplies (see calib.h for what is stored).
 *
 * The statistics come from an observing copy of the llama forward pass: the same blocks
 * (model/blocks.h) in the same order as model/llama.c, with the activation rows read at the points
 * where they enter the matrix products: the normed input of attn_q/k/v, the attention output
 * (attn_output's input), the normed input of ffn_gate/up, SwiGLU's output (ffn_down's input) and
 * the final normed rows (the output projection's input, recorded for the scored second half of each
 * chunk only, which keeps the costly vocabulary projection to half the tokens). The model is loaded
 * normally and its architecture pointer swapped for this one before the session is created, so the
 * engine's own session, cache and kernels do the work.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress/calib.h"
#include "core/status.h"
#include "model/blocks.h"
#include "model/model.h"

enum { R_QKV, R_O, R_GU, R_DOWN, R_COUNT };

typedef struct {
    int n;           /* channels */
    double *sum_sq;  /* [n] */
    float *max_abs;  /* [n] */
    uint64_t hist[HONE_CALIB_HIST_BINS];
    uint64_t rows;
} acc;

typedef struct {
    int n_layer;
    acc *layer; /* [n_layer * R_COUNT] */
    acc out;
} accs;

static accs *g_acc; /* the recording in progress (see calib.h: one at a time) */

static void acc_add(acc *a, const float *x, int T) {
    for (int t = 0; t < T; t++, x += a->n) {
        for (int j = 0; j < a->n; j++) {
            const float v = fabsf(x[j]);
            a->sum_sq[j] += (double)v * v;
            if (v > a->max_abs[j]) a->max_abs[j] = v;
            /* log2|a| in half-octave bins from 2^-20; zeros and tiny values in bin 0 */
            int b = v > 0.0f ? (int)floorf((log2f(v) + 20.0f) * 2.0f) : 0;
            b = b < 0 ? 0 : b >= HONE_CALIB_HIST_BINS ? HONE_CALIB_HIST_BINS - 1 : b;
            a->hist[b]++;
        }
        a->rows++;
    }
}

static void observing_forward(const hone_model *m, hone_fwd_state *st, const hone_fwd_token *toks, int T,
                              float *logits) {
    const hone_hparams *hp = &m->hp;
    const int n = hp->n_embd;
    blk_embed(m, st, toks, T);
    for (int il = 0; il < hp->n_layer; il++) {
        const hone_layer *L = &m->layers[il];
        acc *A = &g_acc->layer[il * R_COUNT];
        blk_rmsnorm(st->pool, st->xn, st->x, L->attn_norm, T, n, hp->rms_eps);
        acc_add(&A[R_QKV], st->xn, T);
        const hone_mat *qkv[3] = {&L->wq, &L->wk, &L->wv};
        const float *bias[3] = {L->bq, L->bk, L->bv};
        float *const outs[3] = {st->q, st->kx, st->vx};
        blk_linear(st, 3, qkv, bias, outs, st->xn, T);
        blk_attention(m, st, il, toks, T);
        acc_add(&A[R_O], st->att, T);
        const hone_mat *wo = &L->wo;
        float *const o[1] = {st->tmp};
        blk_linear(st, 1, &wo, NULL, o, st->att, T);
        blk_add(st->pool, st->x, st->tmp, T, n);
        blk_rmsnorm(st->pool, st->xn, st->x, L->ffn_norm, T, n, hp->rms_eps);
        acc_add(&A[R_GU], st->xn, T);
        blk_ffn_swiglu(m, st, L, T); /* leaves SwiGLU's output, ffn_down's input, in st->gate */
        acc_add(&A[R_DOWN], st->gate, T);
    }
    blk_logits(m, st, toks, T, logits);
    int n_out = 0;
    for (int t = 0; t < T; t++) n_out += toks[t].out_row >= 0;
    acc_add(&g_acc->out, st->out_norm, n_out);
}

static const hone_arch observing_llama = {"llama", NULL, observing_forward};

hone_calib_params hone_calib_default_params(void) {
    hone_calib_params p;
    memset(&p, 0, sizeof p);
    p.n_ctx = 512;
    return p;
}

static bool acc_init(acc *a, int n) {
    a->n = n;
    a->sum_sq = calloc((size_t)n, sizeof *a->sum_sq);
    a->max_abs = calloc((size_t)n, sizeof *a->max_abs);
    return a->sum_sq && a->max_abs;
}

static void acc_free(acc *a) {
    free(a->sum_sq);
    free(a->max_abs);
}

/* The three tensors of one weight's statistics; their data lives in `store` until written. */
static hone_status add_stats(gguf_writer *w, const char *wname, const acc *a, float **store, int *ns) {
    float *sq = malloc((size_t)a->n * sizeof *sq), *mx = malloc((size_t)a->n * sizeof *mx);
    float *h = malloc(HONE_CALIB_HIST_BINS * sizeof *h);
    store[(*ns)++] = sq;
    store[(*ns)++] = mx;
    store[(*ns)++] = h;
    if (!sq || !mx || !h) return hone_err(HONE_ERR_NOMEM, "calibrate: out of memory");
    for (int j = 0; j < a->n; j++) {
        sq[j] = a->rows ? (float)(a->sum_sq[j] / (double)a->rows) : 0.0f;
        mx[j] = a->max_abs[j];
    }
    for (int b = 0; b < HONE_CALIB_HIST_BINS; b++) h[b] = (float)a->hist[b];
    char name[300];
    const int64_t ne[1] = {a->n}, nh[1] = {HONE_CALIB_HIST_BINS};
    hone_status st;
    snprintf(name, sizeof name, "%s.in_sqr", wname);
    if ((st = gguf_writer_add_tensor(w, name, HONE_TYPE_F32, 1, ne, sq, (size_t)a->n * 4))) return st;
    snprintf(name, sizeof name, "%s.in_max", wname);
    if ((st = gguf_writer_add_tensor(w, name, HONE_TYPE_F32, 1, ne, mx, (size_t)a->n * 4))) return st;
    snprintf(name, sizeof name, "%s.in_hist", wname);
    return gguf_writer_add_tensor(w, name, HONE_TYPE_F32, 1, nh, h, HONE_CALIB_HIST_BINS * 4);
}

static hone_status write_stats(const hone_model *m, const accs *A, const char *path, uint64_t n_tokens) {
    gguf_writer *w = gguf_writer_create();
    const int n_store = (A->n_layer * 7 + 1) * 3;
    float **store = calloc((size_t)n_store, sizeof *store);
    int ns = 0;
    hone_status st = HONE_OK;
    if (!w || !store) {
        st = hone_err(HONE_ERR_NOMEM, "calibrate: out of memory");
        goto done;
    }
    const char *name = "";
    gguf_get_str(m->file, "general.name", &name);
    if ((st = gguf_writer_set_str(w, "general.architecture", "hone-calib")) ||
        (st = gguf_writer_set_u32(w, "hone.calib.version", 1)) ||
        (st = gguf_writer_set_str(w, "hone.calib.model_name", name)) ||
        (st = gguf_writer_set_u32(w, "hone.calib.block_count", (uint32_t)m->hp.n_layer)) ||
        (st = gguf_writer_set_u32(w, "hone.calib.embedding_length", (uint32_t)m->hp.n_embd)) ||
        (st = gguf_writer_set_u32(w, "hone.calib.vocab_size", (uint32_t)m->hp.n_vocab)) ||
        (st = gguf_writer_set_u64(w, "hone.calib.n_tokens", n_tokens)) ||
        (st = gguf_writer_set_f32(w, "hone.calib.hist_log2_min", -20.0f)) ||
        (st = gguf_writer_set_f32(w, "hone.calib.hist_log2_step", 0.5f)))
        goto done;
    static const char *roles[R_COUNT][3] = {
        {"attn_q", "attn_k", "attn_v"}, {"attn_output", NULL, NULL}, {"ffn_gate", "ffn_up", NULL}, {"ffn_down", NULL, NULL}};
    for (int il = 0; il < A->n_layer; il++)
        for (int r = 0; r < R_COUNT; r++)
            for (int k = 0; k < 3 && roles[r][k]; k++) {
                char wname[128];
                snprintf(wname, sizeof wname, "blk.%d.%s.weight", il, roles[r][k]);
                if ((st = add_stats(w, wname, &A->layer[il * R_COUNT + r], store, &ns))) goto done;
            }
    const bool tied = gguf_find_tensor(m->file, "output.weight") == NULL;
    if ((st = add_stats(w, tied ? "token_embd.weight" : "output.weight", &A->out, store, &ns))) goto done;
    st = gguf_writer_write(w, path);
done:
    for (int i = 0; i < ns; i++) free(store[i]);
    free(store);
    gguf_writer_free(w);
    return st;
}

hone_status hone_calibrate(const char *model_path, const char *text, size_t len, const hone_calib_params *p,
                           const char *out_path, uint64_t *n_tokens) {
    if (!model_path || !text || !p || !out_path) return hone_err(HONE_ERR_INVALID_ARG, "hone_calibrate: bad arguments");
    if (p->n_ctx < 8) return hone_err(HONE_ERR_INVALID_ARG, "calibrate: context of %d tokens is too small", p->n_ctx);
    if (g_acc) return hone_err(HONE_ERR_RUNTIME, "calibrate: a recording is already running in this process");
    hone_model *m = NULL;
    hone_session *s = NULL;
    int32_t *tokens = NULL, *tb = NULL, *pos = NULL, *seq = NULL;
    int8_t *want = NULL;
    accs A;
    memset(&A, 0, sizeof A);
    hone_model_params mp = hone_model_default_params();
    hone_status st = hone_model_load(model_path, &mp, &m);
    if (st) return st;
    if (strcmp(m->arch->name, "llama") != 0) {
        st = hone_err(HONE_ERR_UNSUPPORTED, "%s: calibration supports the llama architecture, not %s", model_path,
                      m->arch->name);
        goto done;
    }
    m->arch = &observing_llama;
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = sp.n_batch = p->n_ctx;
    sp.n_threads = p->n_threads;
    if ((st = hone_session_create(m, &sp, &s))) goto done;
    A.n_layer = m->hp.n_layer;
    A.layer = calloc((size_t)A.n_layer * R_COUNT, sizeof *A.layer);
    if (!A.layer) goto oom;
    for (int il = 0; il < A.n_layer; il++) {
        acc *L = &A.layer[il * R_COUNT];
        if (!acc_init(&L[R_QKV], m->hp.n_embd) || !acc_init(&L[R_O], m->hp.n_head * m->hp.head_dim) ||
            !acc_init(&L[R_GU], m->hp.n_embd) || !acc_init(&L[R_DOWN], m->hp.n_ff))
            goto oom;
    }
    if (!acc_init(&A.out, m->hp.n_embd)) goto oom;
    const size_t cap = len + 16;
    size_t n_tok = 0;
    tokens = malloc(cap * sizeof *tokens);
    if (!tokens) goto oom;
    if ((st = hone_tokenize(m, text, len, true, false, tokens, cap, &n_tok))) goto done;
    int n_chunk = (int)(n_tok / (size_t)p->n_ctx);
    if (p->n_chunks > 0 && p->n_chunks < n_chunk) n_chunk = p->n_chunks;
    if (n_chunk < 1) {
        st = hone_err(HONE_ERR_INVALID_ARG, "calibrate: the text gives %zu tokens, less than one chunk of %d", n_tok,
                      p->n_ctx);
        goto done;
    }
    const hone_token bos = hone_token_bos(m);
    hone_token probe[4];
    size_t n_probe = 0;
    const bool add_bos = bos >= 0 && hone_tokenize(m, "", 0, true, false, probe, 4, &n_probe) == HONE_OK &&
                         n_probe == 1 && probe[0] == bos;
    const int n = p->n_ctx;
    tb = malloc((size_t)n * sizeof *tb);
    pos = malloc((size_t)n * sizeof *pos);
    seq = malloc((size_t)n * sizeof *seq);
    want = malloc((size_t)n);
    if (!tb || !pos || !seq || !want) goto oom;
    g_acc = &A;
    for (int c = 0; c < n_chunk && !st; c++) {
        if (p->progress) p->progress(p->user, c, n_chunk, "chunks");
        for (int j = 0; j < n; j++) {
            tb[j] = j == 0 && add_bos ? bos : tokens[(size_t)c * n + j];
            pos[j] = j;
            seq[j] = 0;
            want[j] = j >= n / 2;
        }
        hone_batch b = {n, tb, pos, seq, want};
        if (!(st = hone_kv_seq_rm(s, 0, 0, -1))) st = hone_decode(s, &b);
    }
    g_acc = NULL;
    if (st) goto done;
    if (p->progress) p->progress(p->user, n_chunk, n_chunk, "chunks");
    if (n_tokens) *n_tokens = (uint64_t)n_chunk * (uint64_t)n;
    st = write_stats(m, &A, out_path, (uint64_t)n_chunk * (uint64_t)n);
    goto done;
oom:
    st = hone_err(HONE_ERR_NOMEM, "calibrate: out of memory");
done:
    g_acc = NULL;
    if (A.layer)
        for (int i = 0; i < A.n_layer * R_COUNT; i++) acc_free(&A.layer[i]);
    free(A.layer);
    acc_free(&A.out);
    free(tokens);
    free(tb);
    free(pos);
    free(seq);
    free(want);
    hone_session_free(s);
    hone_model_free(m);
    return st;
}
