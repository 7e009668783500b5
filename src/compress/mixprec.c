/*
 * mixprec.c - the --target-bpw planner (see mixprec.h for the method).
 *
 * Measurement uses the engine itself: the input model is loaded once, and for each weight matrix
 * its view (hone_mat) is pointed at a quantised copy for the duration of one probe, then restored;
 * the reference log-probabilities of the unmodified model are kept in memory (n_chunks * (n_ctx/2
 * - 1) rows of n_vocab floats). Cost: one forward pass over the calibration chunks per weight
 * matrix, plus quantising every matrix once per candidate type.
 */
#include "compress/mixprec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/threadpool.h"
#include "model/model.h"
#include "quant/quant.h"
#include "quant/quant_search.h"

#define MAX_CAND 12

typedef struct {
    int64_t item;
    hone_mat *mat;
    int n_cand;
    hone_type cand[MAX_CAND];
    double E[MAX_CAND];
    size_t bytes[MAX_CAND];
    double K;
    int cur;
} tinfo;

/* Every type that fits the rows, in order of size (equal sizes: the K-quant first). Where two have
 * the same size, or a larger one is not more exact, the planner keeps only the better (prune_dominated
 * below), so a tensor is never offered a candidate that costs bits without lowering its error. The
 * legacy types are there for rows of 256 too: the presets use them, and on a model stored on their
 * grid (such as this repository's default, dequantised from Q4_1) they are nearly exact. F16 is the
 * most exact choice (its products also keep the activations in float). */
static int candidates(int64_t nx, hone_type *c) {
    static const hone_type kq[] = {HONE_TYPE_Q2_K, HONE_TYPE_Q3_K, HONE_TYPE_Q4_K, HONE_TYPE_IQ4_NL,
                                   HONE_TYPE_Q4_1, HONE_TYPE_Q5_K, HONE_TYPE_Q5_0, HONE_TYPE_Q5_1,
                                   HONE_TYPE_Q6_K, HONE_TYPE_Q8_0, HONE_TYPE_F16};
    /* IQ4_NL rather than Q4_0: the same size, a lower error on every tensor measured */
    static const hone_type lq[] = {HONE_TYPE_IQ4_NL, HONE_TYPE_Q4_1, HONE_TYPE_Q5_0,
                                   HONE_TYPE_Q5_1,   HONE_TYPE_Q8_0, HONE_TYPE_F16};
    if (nx % 256 == 0) {
        memcpy(c, kq, sizeof kq);
        return (int)(sizeof kq / sizeof kq[0]);
    }
    if (nx % 32 == 0) {
        memcpy(c, lq, sizeof lq);
        return (int)(sizeof lq / sizeof lq[0]);
    }
    c[0] = HONE_TYPE_F16;
    return 1;
}

/* Keep candidate c only if its error is below that of every cheaper or equal-sized candidate kept:
 * the greedy upgrades below then always buy a lower predicted loss with more bytes. The cheapest
 * (the probe's type) always stays first, F16 always last. */
static void prune_dominated(tinfo *t) {
    int n = 0;
    for (int c = 0; c < t->n_cand;) {
        int best = c, e = c; /* the run of equal-sized candidates from c: its lowest error */
        for (; e < t->n_cand && t->bytes[e] == t->bytes[c]; e++)
            if (t->E[e] < t->E[best]) best = e;
        if (c == 0) best = 0; /* the probe measured this one */
        /* F16 stays whatever its weight error: it also keeps the activations in float, which the
         * error does not show (see the spending of leftover bytes below) */
        if (n == 0 || t->E[best] < t->E[n - 1] || t->cand[best] == HONE_TYPE_F16) {
            t->cand[n] = t->cand[best], t->E[n] = t->E[best], t->bytes[n] = t->bytes[best];
            n++;
        }
        c = e;
    }
    t->n_cand = n;
}

static hone_mat *mat_of(hone_model *m, const char *name) {
    if (strcmp(name, "token_embd.weight") == 0) return &m->tok_embd;
    if (strcmp(name, "output.weight") == 0) return &m->output;
    int il;
    char role[64];
    if (sscanf(name, "blk.%d.%63[^.].weight", &il, role) != 2 || il < 0 || il >= m->hp.n_layer) return NULL;
    hone_layer *L = &m->layers[il];
    if (!strcmp(role, "attn_q")) return &L->wq;
    if (!strcmp(role, "attn_k")) return &L->wk;
    if (!strcmp(role, "attn_v")) return &L->wv;
    if (!strcmp(role, "attn_output")) return &L->wo;
    if (!strcmp(role, "ffn_gate")) return &L->w_gate;
    if (!strcmp(role, "ffn_up")) return &L->w_up;
    if (!strcmp(role, "ffn_down")) return &L->w_down;
    return NULL;
}

/* quantise rows of x (nx each) to t into q with importances imp (may be NULL), on the pool */
typedef struct {
    const float *x;
    void *q;
    hone_type t;
    int64_t nx, rows;
    const float *imp;
} qjob;

static void qrows(void *ctx, int ith, int nth) {
    qjob *j = ctx;
    long b, e;
    threadpool_split((long)j->rows, ith, nth, &b, &e);
    const size_t rs = hone_row_size(j->t, j->nx);
    for (long r = b; r < e; r++)
        hone_quantize_row_search(j->t, j->x + (size_t)r * j->nx, (uint8_t *)j->q + (size_t)r * rs, j->nx, j->imp);
}

/* log-softmax rows of the scored positions of every chunk, written to out (or compared with base:
 * returns the mean KLD(base || current)) */
static hone_status run_chunks(hone_session *s, const int32_t *tokens, int n_ctx, int n_chunks, int n_vocab,
                              float *out, const float *base, double *kld) {
    const int first = n_ctx / 2, per = n_ctx - 1 - first;
    int32_t *pos = malloc((size_t)n_ctx * sizeof *pos), *seq = calloc((size_t)n_ctx, sizeof *seq);
    int8_t *want = malloc((size_t)n_ctx);
    hone_status st = HONE_OK;
    double sum = 0.0;
    if (!pos || !seq || !want) {
        st = hone_err(HONE_ERR_NOMEM, "mixed precision: out of memory");
        goto done;
    }
    for (int j = 0; j < n_ctx; j++) {
        pos[j] = j;
        want[j] = j >= first && j < n_ctx - 1;
    }
    for (int c = 0; c < n_chunks && !st; c++) {
        hone_batch b = {n_ctx, tokens + (size_t)c * n_ctx, pos, seq, want};
        if ((st = hone_kv_seq_rm(s, 0, 0, -1)) || (st = hone_decode(s, &b))) break;
        for (int j = first; j < n_ctx - 1; j++) {
            const float *l = hone_get_logits(s, j);
            float mx = l[0];
            for (int i = 1; i < n_vocab; i++) mx = l[i] > mx ? l[i] : mx;
            double z = 0.0;
            for (int i = 0; i < n_vocab; i++) z += expf(l[i] - mx);
            const float lz = mx + (float)log(z);
            const size_t row = ((size_t)c * per + (size_t)(j - first)) * (size_t)n_vocab;
            if (out) {
                for (int i = 0; i < n_vocab; i++) out[row + i] = l[i] - lz;
            } else {
                double k = 0.0;
                for (int i = 0; i < n_vocab; i++) {
                    const float lb = base[row + i];
                    k += (double)expf(lb) * (double)(lb - (l[i] - lz));
                }
                sum += k;
            }
        }
    }
    if (kld) *kld = sum / ((double)n_chunks * per);
done:
    free(pos);
    free(seq);
    free(want);
    return st;
}

hone_status hone_mixprec_plan(const char *in_path, const gguf_file *f, hone_qplan_item *plan, int64_t n_items,
                              const hone_mixprec_params *p, const hone_calib *calib, double *pred_kld) {
    hone_model *m = NULL;
    hone_session *s = NULL;
    threadpool *pool = NULL;
    tinfo *ti = NULL;
    int32_t *tokens = NULL;
    float *base = NULL, *x = NULL;
    void *q[2] = {0}; /* the cheapest candidate (kept for the probe), and the others in turn */
    int nt = 0;
    const int n_ctx = p->n_ctx > 0 ? p->n_ctx : 128, n_chunks = p->n_chunks > 0 ? p->n_chunks : 1;
    hone_model_params mp = hone_model_default_params();
    hone_status st = hone_model_load(in_path, &mp, &m);
    if (st) return st;
    const bool tied = m->output.data == m->tok_embd.data;
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = sp.n_batch = n_ctx;
    sp.n_threads = p->n_threads;
    if ((st = hone_session_create(m, &sp, &s)) || (st = threadpool_create(p->n_threads, &pool))) goto done;
    ti = calloc((size_t)n_items, sizeof *ti);
    int64_t max_el = 0;
    if (!ti) goto oom;
    for (int64_t i = 0; i < n_items; i++) {
        if (!hone_qplan_is_weight_matrix(plan[i].name, plan[i].n_dims)) continue;
        hone_mat *mat = mat_of(m, plan[i].name);
        if (!mat || plan[i].n_dims != 2) continue; /* not used by the forward pass: keep the plan's type */
        tinfo *t = &ti[nt++];
        t->item = i;
        t->mat = mat;
        t->n_cand = candidates(plan[i].ne[0], t->cand);
        const int64_t el = plan[i].ne[0] * plan[i].ne[1];
        if (el > max_el) max_el = el;
        for (int c = 0; c < t->n_cand; c++)
            t->bytes[c] = hone_row_size(t->cand[c], plan[i].ne[0]) * (size_t)plan[i].ne[1];
    }
    /* budget: the target file size minus what the plan does not choose; checked before measuring */
    uint64_t n_params = 0, fixed = gguf_data_offset(f);
    for (int64_t i = 0; i < n_items; i++) {
        uint64_t ne = 1;
        for (uint32_t d = 0; d < plan[i].n_dims; d++) ne *= (uint64_t)plan[i].ne[d];
        n_params += ne;
    }
    bool *chosen = calloc((size_t)n_items, 1);
    if (!chosen) goto oom;
    for (int k = 0; k < nt; k++) chosen[ti[k].item] = true;
    for (int64_t i = 0; i < n_items; i++) {
        if (chosen[i]) continue;
        const hone_type t = plan[i].convert ? plan[i].to : plan[i].from;
        uint64_t rows = 1;
        for (uint32_t d = 1; d < plan[i].n_dims; d++) rows *= (uint64_t)plan[i].ne[d];
        fixed += hone_row_size(t, plan[i].ne[0]) * rows;
        fixed += 32; /* alignment padding, at most */
    }
    free(chosen);
    const bool by_kld = p->max_kld > 0;
    if (!by_kld && !(p->target_bpw > 0)) {
        st = hone_err(HONE_ERR_INVALID_ARG, "mixed precision: give a target (bits per weight or maximum KLD)");
        goto done;
    }
    const double budget = by_kld ? INFINITY : p->target_bpw * (double)n_params / 8.0 - (double)fixed - 32.0 * nt;
    double used = 0.0;
    for (int k = 0; k < nt; k++) used += (double)ti[k].bytes[0];
    if (used > budget) {
        st = hone_err(HONE_ERR_INVALID_ARG, "--target-bpw %.3f is below the smallest mix (%.3f bits per weight)",
                      p->target_bpw, 8.0 * (used + fixed + 32.0 * nt) / (double)n_params);
        goto done;
    }
    const int n_vocab = hone_model_n_vocab(m);
    /* calibration tokens, BOS first in each chunk where the model uses one */
    const size_t cap = p->len + 16;
    size_t n_tok = 0;
    if (!(tokens = malloc(cap * sizeof *tokens))) goto oom;
    if ((st = hone_tokenize(m, p->text, p->len, true, false, tokens, cap, &n_tok))) goto done;
    if (n_tok < (size_t)n_ctx * (size_t)n_chunks) {
        st = hone_err(HONE_ERR_INVALID_ARG, "mixed precision: the calibration text gives %zu tokens, %d needed", n_tok,
                      n_ctx * n_chunks);
        goto done;
    }
    const hone_token bos = hone_token_bos(m);
    hone_token probe[4];
    size_t n_probe = 0;
    if (bos >= 0 && hone_tokenize(m, "", 0, true, false, probe, 4, &n_probe) == HONE_OK && n_probe == 1)
        for (int c = 0; c < n_chunks; c++) tokens[(size_t)c * n_ctx] = bos;
    const int per = n_ctx - 1 - n_ctx / 2;
    if (!(base = malloc((size_t)n_chunks * per * (size_t)n_vocab * sizeof *base))) goto oom;
    if ((st = run_chunks(s, tokens, n_ctx, n_chunks, n_vocab, base, NULL, NULL))) goto done;

    if (!(x = malloc((size_t)max_el * sizeof *x))) goto oom;
    for (int k = 0; k < 2; k++)
        if (!(q[k] = malloc((size_t)max_el * 2 + 4096))) goto oom; /* <= 16 bits per weight */
    for (int k = 0; k < nt; k++) {
        tinfo *t = &ti[k];
        const hone_qplan_item *it = &plan[t->item];
        if (p->progress) p->progress(p->user, k, nt, it->name);
        const int64_t nx = it->ne[0], rows = it->ne[1];
        const hone_mat saved = *t->mat;
        for (int64_t r = 0; r < rows; r++) mat_get_row(&saved, r, x + (size_t)r * nx);
        const float *imp = calib ? hone_calib_importance(calib, it->name, nx) : NULL;
        float *y = malloc((size_t)nx * sizeof *y);
        if (!y) goto oom;
        for (int c = 0; c < t->n_cand; c++) {
            void *qc = q[c > 0];
            qjob j = {x, qc, t->cand[c], nx, rows, imp};
            threadpool_run(pool, qrows, &j);
            const size_t rs = hone_row_size(t->cand[c], nx);
            t->bytes[c] = rs * (size_t)rows;
            double e = 0.0;
            for (int64_t r = 0; r < rows; r++) {
                hone_dequantize_row(t->cand[c], (uint8_t *)qc + (size_t)r * rs, y, nx);
                for (int64_t jj = 0; jj < nx; jj++) {
                    const double d = (double)x[(size_t)r * nx + jj] - y[jj];
                    e += (imp ? imp[jj] : 1.0) * d * d;
                }
            }
            t->E[c] = e;
        }
        free(y);
        /* the probe: this matrix alone at its cheapest candidate */
        t->mat->data = q[0];
        t->mat->type = t->cand[0];
        t->mat->row_bytes = hone_row_size(t->cand[0], nx);
        if (tied && t->mat == &m->tok_embd) m->output = *t->mat;
        st = run_chunks(s, tokens, n_ctx, n_chunks, n_vocab, NULL, base, &t->K);
        *t->mat = saved;
        if (tied && t->mat == &m->tok_embd) m->output = saved;
        if (st) goto done;
        prune_dominated(t);
    }
    if (p->progress) p->progress(p->user, nt, nt, NULL);

    /* predicted loss of tensor t at candidate c */
#define PRED(t, c) ((t)->E[0] > 0 ? (t)->K * (t)->E[c] / (t)->E[0] : 0.0)
    for (;;) {
        if (by_kld) {
            double total = 0.0;
            for (int k = 0; k < nt; k++) total += PRED(&ti[k], ti[k].cur);
            if (total <= p->max_kld) break;
        }
        int bk = -1, bc = -1;
        double best = 0.0;
        for (int k = 0; k < nt; k++) {
            tinfo *t = &ti[k];
            for (int c = t->cur + 1; c < t->n_cand; c++) {
                const double cost = (double)t->bytes[c] - (double)t->bytes[t->cur];
                const double gain = PRED(t, t->cur) - PRED(t, c);
                if (cost <= 0 || used + cost > budget || gain <= 0) continue;
                if (gain / cost > best) {
                    best = gain / cost;
                    bk = k;
                    bc = c;
                }
            }
        }
        if (bk < 0) break;
        used += (double)ti[bk].bytes[bc] - (double)ti[bk].bytes[ti[bk].cur];
        ti[bk].cur = bc;
    }
    /* Budget left once no upgrade is predicted to help: the prediction sees weight error only, so a
     * tensor whose weights are already exact (predicted loss 0) still loses what rounding its
     * activations to int8 costs, which only its most exact candidate (F16: float activations)
     * removes. Spend what is left there, the most sensitive tensors (measured probe KLD per extra
     * byte) first. On a model stored on a quantised grid (the default model, dequantised from
     * Q4_1) the greedy stops at that grid with most of the budget unspent. */
    while (!by_kld) {
        int bk = -1;
        double best = 0.0;
        for (int k = 0; k < nt; k++) {
            tinfo *t = &ti[k];
            const int c = t->n_cand - 1;
            const double cost = (double)t->bytes[c] - (double)t->bytes[t->cur];
            if (c == t->cur || cost <= 0 || used + cost > budget || !(t->K > 0)) continue;
            if (t->K / cost > best) best = t->K / cost, bk = k;
        }
        if (bk < 0) break;
        tinfo *t = &ti[bk];
        used += (double)t->bytes[t->n_cand - 1] - (double)t->bytes[t->cur];
        t->cur = t->n_cand - 1;
    }
    double total = 0.0;
    for (int k = 0; k < nt; k++) {
        tinfo *t = &ti[k];
        hone_qplan_item *it = &plan[t->item];
        it->to = t->cand[t->cur];
        it->convert = it->to != it->from;
        it->fallback = false;
        total += PRED(t, t->cur);
        snprintf(it->note, sizeof it->note, "mixed by measurement");
    }
#undef PRED
    if (pred_kld) *pred_kld = total;
    if (by_kld && total > p->max_kld) {
        st = hone_err(HONE_ERR_INVALID_ARG, "--max-kld %g is below the lowest predicted KLD of any mix (%g)",
                      p->max_kld, total);
        goto done;
    }
    goto done;
oom:
    st = hone_err(HONE_ERR_NOMEM, "mixed precision: out of memory");
done:
    for (int k = 0; k < 2; k++) free(q[k]);
    free(x);
    free(ti);
    free(base);
    free(tokens);
    threadpool_free(pool);
    hone_session_free(s);
    hone_model_free(m);
    return st;
}
