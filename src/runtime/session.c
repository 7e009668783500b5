/*
 * session.c - a session: KV cache cells, scratch buffers, thread pool, and
 * hone_decode, which turns a batch of (token, position, sequence) into
 * cache entries and logits.
 *
 * The KV cache is a pool of n_ctx cells shared by all sequences; each
 * sequence maps its positions 0..len-1 to cells. Attention visits a
 * sequence's cells in position order, so which cell a token landed in, and
 * which other sequences share the batch, never changes its result. This is
 * the ground the server's continuous batching stands on.
 *
 * Cells are reference-counted: hone_kv_seq_cp and hone_kv_seq_share_prefix
 * make a sequence point at another's cells instead of copying them. That is
 * safe because a sequence only ever appends cells or drops a suffix, so a
 * cell is never written after its token was decoded; a cell returns to the
 * free stack when the last sequence holding it lets go.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"
#include "model/model.h"
#include "quant/blocks.h"

struct hone_session {
    const hone_model *model;
    hone_session_params p;
    threadpool *pool;
    hone_fwd_state st;
    int32_t *free_cells; /* stack of unused cells */
    int32_t n_free;
    int32_t *cell_refs;  /* [n_ctx]: sequences holding each cell (0 = free) */
    int32_t **seq_cells; /* [n_seq_max][n_ctx]: position -> cell */
    int32_t *seq_len;
    int32_t **seq_tokens; /* [n_seq_max][n_ctx]: token at each cached position */
    hone_fwd_token *toks;   /* [n_batch] */
    int32_t *row_of;        /* [n_batch]: logits row of batch token i, or -1 */
    int32_t *pending;       /* [n_seq_max]: scratch for decode validation */
    float *logits;
    int32_t logits_rows;    /* capacity in rows */
    int32_t last_batch;     /* tokens in the last decode (0 = none yet) */
};

hone_session_params hone_session_default_params(void) {
    hone_session_params p = {.n_ctx = 0, .n_seq_max = 1, .n_batch = 512, .n_threads = 0};
    return p;
}

static void *xcalloc(size_t n, size_t sz, bool *ok) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) *ok = false;
    return p;
}

hone_status hone_session_create(const hone_model *m, const hone_session_params *params, hone_session **out) {
    if (!m || !out) return hone_err(HONE_ERR_INVALID_ARG, "hone_session_create: model and out are required");
    *out = NULL;
    if (!m->arch) return hone_err(HONE_ERR_INVALID_ARG, "hone_session_create: the model was loaded vocab-only");
    hone_session_params p = params ? *params : hone_session_default_params();
    const hone_hparams *hp = &m->hp;
    if (p.n_ctx <= 0) p.n_ctx = hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096;
    if (p.n_seq_max <= 0) p.n_seq_max = 1;
    if (p.n_batch <= 0) p.n_batch = 512;
    if (p.n_ctx > 1 << 20 || p.n_seq_max > 4096 || p.n_batch > 1 << 16)
        return hone_err(HONE_ERR_INVALID_ARG, "session: n_ctx %d / n_seq_max %d / n_batch %d out of range", p.n_ctx,
                        p.n_seq_max, p.n_batch);
    if (p.n_batch > p.n_ctx) p.n_batch = p.n_ctx;
    if (p.kv_type != HONE_KV_F16 && p.kv_type != HONE_KV_Q8_0)
        return hone_err(HONE_ERR_INVALID_ARG, "session: unknown KV cache type %d", p.kv_type);
    if (hone_kv_bytes_per_cell(m, p.kv_type) == 0)
        return hone_err(HONE_ERR_UNSUPPORTED, "session: a Q8_0 KV cache needs a head size that is a multiple of 32 (this "
                        "model's is %d); use the F16 cache", hp->head_dim);

    hone_session *s = calloc(1, sizeof *s);
    if (!s) return hone_err(HONE_ERR_NOMEM, "out of memory creating session");
    s->model = m;
    s->p = p;
    hone_status st = threadpool_create(p.n_threads, &s->pool);
    if (st) {
        free(s);
        return st;
    }
    s->p.n_threads = threadpool_size(s->pool);

    bool ok = true;
    const int64_t B = p.n_batch, n = hp->n_embd, qd = (int64_t)hp->n_head * hp->head_dim;
    const int64_t kvd = (int64_t)hp->n_head_kv * hp->head_dim;
    int64_t widest = n > hp->n_ff ? n : hp->n_ff;
    if (qd > widest) widest = qd;
    hone_fwd_state *f = &s->st;
    f->pool = s->pool;
    f->n_cells = p.n_ctx;
    f->n_batch = p.n_batch;
    f->kv_type = p.kv_type;
    f->kv_row = hone_kv_bytes_per_cell(m, p.kv_type) / (2u * (size_t)hp->n_layer);
    f->k = xcalloc((size_t)hp->n_layer, sizeof *f->k, &ok);
    f->v = xcalloc((size_t)hp->n_layer, sizeof *f->v, &ok);
    for (int il = 0; ok && il < hp->n_layer; il++) {
        /* calloc of a large block maps zero pages lazily: untouched cells
         * cost no resident memory */
        f->k[il] = xcalloc((size_t)p.n_ctx, f->kv_row, &ok);
        f->v[il] = xcalloc((size_t)p.n_ctx, f->kv_row, &ok);
    }
    f->x = xcalloc((size_t)(B * n), sizeof(float), &ok);
    f->xn = xcalloc((size_t)(B * n), sizeof(float), &ok);
    f->tmp = xcalloc((size_t)(B * n), sizeof(float), &ok);
    f->q = xcalloc((size_t)(B * qd), sizeof(float), &ok);
    f->att = xcalloc((size_t)(B * qd), sizeof(float), &ok);
    f->kx = xcalloc((size_t)(B * kvd), sizeof(float), &ok);
    f->vx = xcalloc((size_t)(B * kvd), sizeof(float), &ok);
    f->gate = xcalloc((size_t)(B * hp->n_ff), sizeof(float), &ok);
    f->up = xcalloc((size_t)(B * hp->n_ff), sizeof(float), &ok);
    /* F32 activations (4 bytes/element) are the widest vec_dot_type */
    f->xq_row = (size_t)widest * sizeof(float);
    f->xq = xcalloc((size_t)B, f->xq_row, &ok);
    /* per thread, scores of up to four heads (grouped heads share a call) */
    f->scores = xcalloc((size_t)s->p.n_threads * (size_t)p.n_ctx * 4, sizeof(float), &ok);
    f->out_norm = xcalloc((size_t)(B * n), sizeof(float), &ok);

    s->free_cells = xcalloc((size_t)p.n_ctx, sizeof(int32_t), &ok);
    s->cell_refs = xcalloc((size_t)p.n_ctx, sizeof(int32_t), &ok);
    s->seq_cells = xcalloc((size_t)p.n_seq_max, sizeof(int32_t *), &ok);
    s->seq_tokens = xcalloc((size_t)p.n_seq_max, sizeof(int32_t *), &ok);
    for (int i = 0; ok && i < p.n_seq_max; i++) {
        s->seq_cells[i] = xcalloc((size_t)p.n_ctx, sizeof(int32_t), &ok);
        s->seq_tokens[i] = xcalloc((size_t)p.n_ctx, sizeof(int32_t), &ok);
    }
    s->seq_len = xcalloc((size_t)p.n_seq_max, sizeof(int32_t), &ok);
    s->pending = xcalloc((size_t)p.n_seq_max, sizeof(int32_t), &ok);
    s->toks = xcalloc((size_t)B, sizeof(hone_fwd_token), &ok);
    s->row_of = xcalloc((size_t)B, sizeof(int32_t), &ok);
    s->logits_rows = p.n_seq_max < B ? p.n_seq_max : (int32_t)B;
    s->logits = xcalloc((size_t)s->logits_rows * (size_t)hp->n_vocab, sizeof(float), &ok);
    if (!ok) {
        hone_session_free(s);
        return hone_err(HONE_ERR_NOMEM, "out of memory creating a session with %d cells", p.n_ctx);
    }
    /* hand out low cells first (pop from the end of the stack) */
    for (int i = 0; i < p.n_ctx; i++) s->free_cells[i] = p.n_ctx - 1 - i;
    s->n_free = p.n_ctx;
    *out = s;
    return HONE_OK;
}

void hone_session_free(hone_session *s) {
    if (!s) return;
    hone_fwd_state *f = &s->st;
    for (int il = 0; il < s->model->hp.n_layer; il++) {
        if (f->k) free(f->k[il]);
        if (f->v) free(f->v[il]);
    }
    free(f->k);
    free(f->v);
    free(f->x);
    free(f->xn);
    free(f->tmp);
    free(f->q);
    free(f->att);
    free(f->kx);
    free(f->vx);
    free(f->gate);
    free(f->up);
    free(f->xq);
    free(f->scores);
    free(f->out_norm);
    for (int i = 0; s->seq_cells && i < s->p.n_seq_max; i++) free(s->seq_cells[i]);
    for (int i = 0; s->seq_tokens && i < s->p.n_seq_max; i++) free(s->seq_tokens[i]);
    free(s->seq_cells);
    free(s->seq_tokens);
    free(s->free_cells);
    free(s->cell_refs);
    free(s->seq_len);
    free(s->pending);
    free(s->toks);
    free(s->row_of);
    free(s->logits);
    threadpool_free(s->pool);
    free(s);
}

hone_status hone_decode(hone_session *s, const hone_batch *b) {
    if (!s || !b || !b->token || !b->pos || !b->seq_id)
        return hone_err(HONE_ERR_INVALID_ARG, "hone_decode: batch arrays token, pos and seq_id are required");
    const int T = b->n_tokens;
    const hone_model *m = s->model;
    if (T <= 0 || T > s->p.n_batch)
        return hone_err(HONE_ERR_INVALID_ARG, "hone_decode: batch of %d tokens (allowed 1..%d)", T, s->p.n_batch);

    /* Validate everything before touching the cache, so a bad batch changes nothing. */
    memset(s->pending, 0, sizeof(int32_t) * (size_t)s->p.n_seq_max);
    int n_out = 0;
    for (int i = 0; i < T; i++) {
        const int32_t tok = b->token[i], sq = b->seq_id[i];
        if (tok < 0 || tok >= m->hp.n_vocab)
            return hone_err(HONE_ERR_INVALID_ARG, "hone_decode: token %d at batch index %d is outside the vocabulary (%d)",
                            tok, i, m->hp.n_vocab);
        if (sq < 0 || sq >= s->p.n_seq_max)
            return hone_err(HONE_ERR_INVALID_ARG, "hone_decode: sequence id %d at batch index %d (allowed 0..%d)", sq, i,
                            s->p.n_seq_max - 1);
        const int32_t want = s->seq_len[sq] + s->pending[sq];
        if (b->pos[i] != want)
            return hone_err(HONE_ERR_INVALID_ARG,
                            "hone_decode: batch index %d has position %d but sequence %d continues at %d", i, b->pos[i],
                            sq, want);
        s->pending[sq]++;
        const bool wants = b->logits ? b->logits[i] != 0 : i == T - 1;
        if (wants) n_out++;
    }
    if (T > s->n_free)
        return hone_err(HONE_ERR_CONTEXT_FULL, "context full: %d new tokens but only %d of %d KV cells are free", T,
                        s->n_free, s->p.n_ctx);
    if (n_out > s->logits_rows) {
        /* rare: a caller asking for many logits rows (perplexity); grow once */
        float *nl = realloc(s->logits, (size_t)n_out * (size_t)m->hp.n_vocab * sizeof(float));
        if (!nl) return hone_err(HONE_ERR_NOMEM, "out of memory for %d rows of logits", n_out);
        s->logits = nl;
        s->logits_rows = n_out;
    }

    int row = 0;
    for (int i = 0; i < T; i++) {
        const int32_t sq = b->seq_id[i], pos = b->pos[i];
        const int32_t cell = s->free_cells[--s->n_free];
        s->cell_refs[cell] = 1;
        s->seq_cells[sq][pos] = cell;
        s->seq_tokens[sq][pos] = b->token[i];
        s->seq_len[sq] = pos + 1;
        const bool wants = b->logits ? b->logits[i] != 0 : i == T - 1;
        s->row_of[i] = wants ? row++ : -1;
        s->toks[i] = (hone_fwd_token){b->token[i], pos, cell, s->seq_cells[sq], s->row_of[i]};
    }
    m->arch->forward(m, &s->st, s->toks, T, s->logits);
    s->last_batch = T;
    return HONE_OK;
}

const float *hone_get_logits(hone_session *s, int32_t i) {
    if (!s || i < 0 || i >= s->last_batch || s->row_of[i] < 0) return NULL;
    return s->logits + (size_t)s->row_of[i] * (size_t)s->model->hp.n_vocab;
}

static hone_status check_seq(const hone_session *s, int32_t seq) {
    if (seq < 0 || seq >= s->p.n_seq_max)
        return hone_err(HONE_ERR_INVALID_ARG, "sequence id %d (allowed 0..%d)", seq, s->p.n_seq_max - 1);
    return HONE_OK;
}

hone_status hone_kv_seq_rm(hone_session *s, int32_t seq, int32_t p0, int32_t p1) {
    hone_status st = check_seq(s, seq);
    if (st) return st;
    const int32_t len = s->seq_len[seq];
    if (p1 < 0 || p1 > len) p1 = len;
    if (p0 < 0) p0 = 0;
    if (p0 >= p1) return HONE_OK;
    /* Only a suffix can go: positions after a hole would keep attending to
     * K/V computed with the removed tokens in front of them. */
    if (p1 != len)
        return hone_err(HONE_ERR_UNSUPPORTED, "hone_kv_seq_rm: can only drop a suffix [p0, end) of a sequence");
    for (int32_t p = p0; p < p1; p++) {
        const int32_t cell = s->seq_cells[seq][p];
        if (--s->cell_refs[cell] == 0) s->free_cells[s->n_free++] = cell;
    }
    s->seq_len[seq] = p0;
    return HONE_OK;
}

hone_status hone_kv_seq_share_prefix(hone_session *s, int32_t src, int32_t dst, int32_t n) {
    hone_status st;
    if (!s) return hone_err(HONE_ERR_INVALID_ARG, "hone_kv_seq_share_prefix: session is required");
    if ((st = check_seq(s, src)) || (st = check_seq(s, dst))) return st;
    if (src == dst) return hone_err(HONE_ERR_INVALID_ARG, "hone_kv_seq_share_prefix: src and dst are both %d", src);
    if (s->seq_len[dst] != 0)
        return hone_err(HONE_ERR_INVALID_ARG, "hone_kv_seq_share_prefix: sequence %d is not empty", dst);
    if (n < 0 || n > s->seq_len[src])
        return hone_err(HONE_ERR_INVALID_ARG, "hone_kv_seq_share_prefix: %d positions asked, sequence %d has %d", n,
                        src, s->seq_len[src]);
    for (int32_t p = 0; p < n; p++) {
        const int32_t cell = s->seq_cells[src][p];
        s->cell_refs[cell]++;
        s->seq_cells[dst][p] = cell;
        s->seq_tokens[dst][p] = s->seq_tokens[src][p];
    }
    s->seq_len[dst] = n;
    return HONE_OK;
}

hone_status hone_kv_seq_cp(hone_session *s, int32_t src, int32_t dst) {
    hone_status st;
    if (!s) return hone_err(HONE_ERR_INVALID_ARG, "hone_kv_seq_cp: session is required");
    if ((st = check_seq(s, src)) || (st = check_seq(s, dst))) return st;
    if (src == dst) return HONE_OK;
    return hone_kv_seq_share_prefix(s, src, dst, s->seq_len[src]);
}

int32_t hone_kv_cells_used(const hone_session *s) { return s ? s->p.n_ctx - s->n_free : 0; }

int32_t hone_kv_cells_held(const hone_session *s, const int32_t *seqs, int32_t n_seqs) {
    if (!s || (!seqs && n_seqs > 0)) return -1;
    /* a leak check, not a hot path: one scratch mark per cell */
    unsigned char *mark = calloc((size_t)s->p.n_ctx, 1);
    if (!mark) return -1;
    int32_t n = 0;
    for (int32_t i = 0; i < n_seqs; i++) {
        const int32_t q = seqs[i];
        if (q < 0 || q >= s->p.n_seq_max) continue;
        for (int32_t p = 0; p < s->seq_len[q]; p++) {
            const int32_t cell = s->seq_cells[q][p];
            if (!mark[cell]) {
                mark[cell] = 1;
                n++;
            }
        }
    }
    free(mark);
    return n;
}
int32_t hone_kv_cells_total(const hone_session *s) { return s ? s->p.n_ctx : 0; }

size_t hone_kv_bytes_per_cell(const hone_model *m, int32_t kv_type) {
    if (!m) return 0;
    /* K and V, every layer; Q8_0 blocks never straddle two heads */
    const size_t per_layer_kv = (size_t)m->hp.n_head_kv * (size_t)m->hp.head_dim;
    if (kv_type == HONE_KV_Q8_0) {
        if (m->hp.head_dim % QK8_0 != 0) return 0;
        return (size_t)m->hp.n_layer * 2u * hone_row_size(HONE_TYPE_Q8_0, (int64_t)per_layer_kv);
    }
    if (kv_type != HONE_KV_F16) return 0;
    return (size_t)m->hp.n_layer * 2u * per_layer_kv * sizeof(hone_f16);
}

int hone_kv_type_from_name(const char *name) {
    if (!name) return -1;
    if (strcasecmp(name, "f16") == 0) return HONE_KV_F16;
    if (strcasecmp(name, "q8_0") == 0) return HONE_KV_Q8_0;
    return -1;
}

int32_t hone_kv_seq_len(const hone_session *s, int32_t seq) {
    if (!s || seq < 0 || seq >= s->p.n_seq_max) return 0;
    return s->seq_len[seq];
}

const int32_t *session_seq_tokens(const hone_session *s, int32_t seq) { return s->seq_tokens[seq]; }
const hone_model *session_model(const hone_session *s) { return s->model; }
const hone_session_params *session_params(const hone_session *s) { return &s->p; }
