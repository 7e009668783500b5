/*
 * eval.c - hone eval: perplexity and KL divergence (see eval.h for the protocol).
 *
 * Each chunk is one hone_decode of n_ctx tokens from an empty cache, asking for logits only at the
 * scored positions; a side-by-side reference decodes the same tokens in its own session. Per-token
 * figures are accumulated in double; per-token KLDs are kept for the median and percentiles.
 */
#include "compress/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compress/logits_file.h"
#include "core/status.h"
#include "formats/gguf.h"

hone_eval_params hone_eval_default_params(void) {
    hone_eval_params p;
    memset(&p, 0, sizeof p);
    p.n_ctx = 512;
    return p;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    double nll, nll2, nll_b, nll_b2, nll_nll_b, kld, kld2, dp2, dp4;
    int64_t same_top, count;
    float *kld_values;
} stats;

/* mean and its standard error from a sum and sum of squares (llama-perplexity's formula) */
static void mean_unc(double sum, double sum2, int64_t n, double *mean, double *unc) {
    *mean = n > 0 ? sum / (double)n : 0.0;
    double var = n > 0 ? sum2 / (double)n - *mean * *mean : 0.0;
    *unc = var > 0 && n > 10 ? sqrt(var / (double)(n - 1)) : 0.0;
}

/* max, log-sum-exp and first argmax of a row of logits */
static void row_lse(const float *l, int n, float *max, double *lse, int *imax) {
    float mx = l[0];
    int im = 0;
    for (int i = 1; i < n; i++)
        if (l[i] > mx) {
            mx = l[i];
            im = i;
        }
    double s = 0.0;
    for (int i = 0; i < n; i++) s += expf(l[i] - mx);
    *max = mx;
    *lse = log(s);
    *imax = im;
}

/* One scored token: the model's logits l, the reference as exact logits ref (or NULL) or as a
 * saved row q (scale, min), the actual next token tok. */
static void score(stats *s, int n, const float *l, const float *ref, const uint16_t *q, float qscale, float qmin,
                  int tok) {
    float mx;
    double lse;
    int imax;
    row_lse(l, n, &mx, &lse, &imax);
    const double nll = (double)mx + lse - (double)l[tok];
    s->nll += nll;
    s->nll2 += nll * nll;
    if (!ref && !q) {
        s->count++;
        return;
    }
    const double lz = (double)mx + lse; /* log p_i = l_i - lz */
    double kld = 0.0, nll_b;
    int imax_b = 0;
    if (ref) {
        float rmx;
        double rlse;
        row_lse(ref, n, &rmx, &rlse, &imax_b);
        const double rz = (double)rmx + rlse;
        for (int i = 0; i < n; i++) {
            const double lpb = (double)ref[i] - rz;
            kld += exp(lpb) * (lpb - ((double)l[i] - lz));
        }
        nll_b = rz - (double)ref[tok];
    } else {
        float best = 0.0f;
        for (int i = 0; i < n; i++) {
            const float lpb = qscale * (float)q[i] + qmin;
            if (i == 0 || lpb > best) {
                best = lpb;
                imax_b = i;
            }
            if (lpb > -16.0f) kld += (double)expf(lpb) * ((double)lpb - ((double)l[i] - lz));
        }
        nll_b = -(double)(qscale * (float)q[tok] + qmin);
    }
    s->nll_b += nll_b;
    s->nll_b2 += nll_b * nll_b;
    s->nll_nll_b += nll * nll_b;
    s->kld += kld;
    s->kld2 += kld * kld;
    s->same_top += imax == imax_b;
    const double dp = exp(-nll) - exp(-nll_b);
    s->dp2 += dp * dp;
    s->dp4 += dp * dp * dp * dp;
    s->kld_values[s->count++] = (float)kld;
}

static int cmp_float(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static double percentile(const float *v, int64_t n, double f) {
    if (n <= 0) return 0.0;
    double p = f * (double)(n - 1);
    int64_t i = (int64_t)p;
    p -= (double)i;
    return (1 - p) * v[i] + p * v[i + 1 < n ? i + 1 : n - 1];
}

/* Decode one chunk (BOS in front where the model uses one), logits at [first, n_ctx-1). */
static hone_status decode_chunk(hone_session *s, const int32_t *toks, int n_ctx, int first, bool add_bos,
                                hone_token bos, int32_t *tbuf, int32_t *pos, int32_t *seq, int8_t *want) {
    hone_status st = hone_kv_seq_rm(s, 0, 0, -1);
    if (st) return st;
    for (int j = 0; j < n_ctx; j++) {
        tbuf[j] = j == 0 && add_bos ? bos : toks[j];
        pos[j] = j;
        seq[j] = 0;
        want[j] = j >= first && j < n_ctx - 1;
    }
    hone_batch b = {n_ctx, tbuf, pos, seq, want};
    return hone_decode(s, &b);
}

static hone_status open_model(const char *path, int n_ctx, int n_threads, hone_model **m, hone_session **s) {
    hone_model_params mp = hone_model_default_params();
    hone_status st = hone_model_load(path, &mp, m);
    if (st) return st;
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = n_ctx;
    sp.n_batch = n_ctx;
    sp.n_seq_max = 1;
    sp.n_threads = n_threads;
    return hone_session_create(*m, &sp, s);
}

static void file_size_params(const char *path, hone_eval_result *r) {
    gguf_file *f = NULL;
    if (gguf_open(path, true, &f) != HONE_OK) return;
    r->file_bytes = gguf_file_size(f);
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        uint64_t ne = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) ne *= (uint64_t)t->ne[d];
        r->n_params += ne;
    }
    r->bpw = r->n_params ? 8.0 * (double)r->file_bytes / (double)r->n_params : 0.0;
    gguf_close(f);
}

hone_status hone_eval_run(const char *model_path, const char *text, size_t len, const hone_eval_params *p,
                          hone_eval_result *r) {
    if (!model_path || !p || !r) return hone_err(HONE_ERR_INVALID_ARG, "hone_eval_run: bad arguments");
    memset(r, 0, sizeof *r);
    if (p->n_ctx < 8) return hone_err(HONE_ERR_INVALID_ARG, "eval: context of %d tokens is too small", p->n_ctx);
    if (p->ref_path && p->ref_logits)
        return hone_err(HONE_ERR_INVALID_ARG, "eval: give a reference model or reference logits, not both");
    if (!text && !p->ref_logits) return hone_err(HONE_ERR_INVALID_ARG, "eval: no text to evaluate");
    hone_model *m = NULL, *rm = NULL;
    hone_session *s = NULL, *rs = NULL;
    hone_logits_file in, out;
    memset(&in, 0, sizeof in);
    memset(&out, 0, sizeof out);
    bool writing = false;
    int32_t *tokens = NULL, *tbuf = NULL, *pos = NULL, *seq = NULL;
    int8_t *want = NULL;
    float *refrow = NULL;
    stats S;
    memset(&S, 0, sizeof S);
    const int n_ctx = p->n_ctx, first = n_ctx / 2;
    int64_t n_tok = 0;

    hone_status st = open_model(model_path, n_ctx, p->n_threads, &m, &s);
    if (st) goto done;
    const int n_vocab = hone_model_n_vocab(m);
    r->n_vocab = n_vocab;
    file_size_params(model_path, r);
    if (p->ref_path) {
        if ((st = open_model(p->ref_path, n_ctx, p->n_threads, &rm, &rs))) goto done;
        if (hone_model_n_vocab(rm) != n_vocab) {
            st = hone_err(HONE_ERR_INVALID_ARG, "eval: %s has %d vocabulary entries, %s has %d", p->ref_path,
                          hone_model_n_vocab(rm), model_path, n_vocab);
            goto done;
        }
        if (!(refrow = malloc((size_t)n_vocab * sizeof *refrow))) goto oom;
    }
    /* does the model put BOS in front? (tokenising nothing shows it) */
    const hone_token bos = hone_token_bos(m);
    hone_token probe[4];
    size_t n_probe = 0;
    r->add_bos = bos >= 0 && hone_tokenize(m, "", 0, true, false, probe, 4, &n_probe) == HONE_OK && n_probe == 1 &&
                 probe[0] == bos;

    if (p->ref_logits) {
        if ((st = hone_logits_open(&in, p->ref_logits))) goto done;
        if (in.n_vocab != n_vocab || in.n_ctx != n_ctx) {
            st = hone_err(HONE_ERR_INVALID_ARG, "%s: saved with n_ctx %d and %d vocabulary entries; this run has "
                                                "n_ctx %d and %d (pass -c %d)",
                          p->ref_logits, in.n_ctx, in.n_vocab, n_ctx, n_vocab, in.n_ctx);
            goto done;
        }
        n_tok = (int64_t)in.n_chunk * n_ctx;
        tokens = in.tokens; /* owned by `in`; rows are read in order, so fewer chunks are a prefix */
    } else {
        const size_t cap = len + 16;
        if (!(tokens = malloc(cap * sizeof *tokens))) goto oom;
        size_t n = 0;
        if ((st = hone_tokenize(m, text, len, true, false, tokens, cap, &n))) goto done;
        n_tok = (int64_t)n;
    }
    r->n_text_tokens = n_tok;
    if (!p->ref_logits && n_tok < 2 * (int64_t)n_ctx) {
        st = hone_err(HONE_ERR_INVALID_ARG, "eval: the text gives %lld tokens; at least %d (two chunks of %d) are "
                                            "needed", (long long)n_tok, 2 * n_ctx, n_ctx);
        goto done;
    }
    int n_chunk = (int)(n_tok / n_ctx);
    if (p->n_chunks > 0 && p->n_chunks < n_chunk) n_chunk = p->n_chunks;
    r->n_ctx = n_ctx;
    r->n_chunks = n_chunk;
    const int per_chunk = n_ctx - 1 - first;
    r->has_ref = p->ref_path || p->ref_logits;
    tbuf = malloc((size_t)n_ctx * sizeof *tbuf);
    pos = malloc((size_t)n_ctx * sizeof *pos);
    seq = malloc((size_t)n_ctx * sizeof *seq);
    want = malloc((size_t)n_ctx);
    S.kld_values = malloc((size_t)n_chunk * (size_t)per_chunk * sizeof(float) + 1);
    if (!tbuf || !pos || !seq || !want || !S.kld_values) goto oom;
    if (p->save_logits) {
        if ((st = hone_logits_create(&out, p->save_logits, n_ctx, n_vocab, n_chunk, tokens))) goto done;
        writing = true;
    }

    double t_model = 0.0;
    for (int c = 0; c < n_chunk; c++) {
        if (p->progress) p->progress(p->user, c, n_chunk, "chunks");
        const int32_t *ct = tokens + (size_t)c * n_ctx;
        const double t0 = now_s();
        if ((st = decode_chunk(s, ct, n_ctx, first, r->add_bos, bos, tbuf, pos, seq, want))) goto done;
        t_model += now_s() - t0;
        if (rs && (st = decode_chunk(rs, ct, n_ctx, first, r->add_bos, bos, tbuf, pos, seq, want))) goto done;
        for (int j = first; j < n_ctx - 1; j++) {
            const float *l = hone_get_logits(s, j);
            if (!l) {
                st = hone_err(HONE_ERR_RUNTIME, "eval: no logits for position %d", j);
                goto done;
            }
            if (writing && (st = hone_logits_write_row(&out, l))) goto done;
            const float *ref = NULL;
            float qs = 0.0f, qm = 0.0f;
            if (rs) {
                /* the session's logits stay valid until its next decode */
                memcpy(refrow, hone_get_logits(rs, j), (size_t)n_vocab * sizeof *refrow);
                ref = refrow;
            } else if (p->ref_logits && (st = hone_logits_read_row(&in, &qs, &qm))) {
                goto done;
            }
            score(&S, n_vocab, l, ref, p->ref_logits ? in.row + 4 : NULL, qs, qm, ct[j + 1]);
        }
    }
    if (p->progress) p->progress(p->user, n_chunk, n_chunk, "chunks");
    r->count = S.count;
    r->seconds = t_model;
    r->tok_per_s = t_model > 0 ? (double)n_chunk * n_ctx / t_model : 0.0;
    double lp, lpu;
    mean_unc(S.nll, S.nll2, S.count, &lp, &lpu);
    r->ppl = exp(lp);
    r->ppl_unc = r->ppl * lpu;
    if (r->has_ref) {
        double lb, lbu;
        mean_unc(S.nll_b, S.nll_b2, S.count, &lb, &lbu);
        r->ref_ppl = exp(lb);
        r->ref_ppl_unc = r->ref_ppl * lbu;
        const double n = (double)S.count;
        const double cov = S.count >= 10 ? (S.nll_nll_b / n - (S.nll / n) * (S.nll_b / n)) / (n - 1) : 0.0;
        const double lr = lp - lb, var = lpu * lpu + lbu * lbu - 2.0 * cov;
        r->ppl_ratio = exp(lr);
        r->ppl_ratio_unc = r->ppl_ratio * (var > 0 ? sqrt(var) : 0.0);
        mean_unc(S.kld, S.kld2, S.count, &r->kld_mean, &r->kld_unc);
        double mse, mse_unc;
        mean_unc(S.dp2, S.dp4, S.count, &mse, &mse_unc);
        r->rms_dp = sqrt(mse);
        r->rms_dp_unc = mse > 0 ? 0.5 / r->rms_dp * mse_unc : 0.0;
        r->top1 = S.count ? (double)S.same_top / (double)S.count : 0.0;
        r->top1_unc = S.count > 1 ? sqrt(r->top1 * (1 - r->top1) / (double)(S.count - 1)) : 0.0;
        qsort(S.kld_values, (size_t)S.count, sizeof(float), cmp_float);
        const int64_t k = S.count;
        r->kld_median = k % 2 ? S.kld_values[k / 2] : 0.5 * (S.kld_values[k / 2] + S.kld_values[k / 2 - 1]);
        r->kld_p99 = percentile(S.kld_values, k, 0.99);
        r->kld_p999 = percentile(S.kld_values, k, 0.999);
        r->kld_max = S.kld_values[k - 1];
    }
    goto done;
oom:
    st = hone_err(HONE_ERR_NOMEM, "eval: out of memory");
done:
    if (writing) st = hone_logits_finish(&out, st);
    if (p->ref_logits) hone_logits_close(&in);
    else free(tokens);
    free(tbuf);
    free(pos);
    free(seq);
    free(want);
    free(refrow);
    free(S.kld_values);
    hone_session_free(rs);
    hone_model_free(rm);
    hone_session_free(s);
    hone_model_free(m);
    return st;
}
