/*
 * generate.c - hone_generate: prompt in, streamed text out.
 *
 * The loop the CLI (and simple embedders) use: tokenise, reuse whatever
 * prefix of the prompt sequence 0 already has cached, evaluate the rest in
 * chunks of n_batch, copy the prompt's cache to the other sequences, then
 * decode all live sequences together one token each per step. Output text
 * passes a UTF-8 stream (no split characters) and a stop-string matcher
 * (nothing of a stop string is ever emitted) before the callback sees it.
 * Allocation happens once per call, never per token.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "model/model.h"
#include "runtime/session.h"
#include "sample/stop.h"

#define MAX_SEQ 16
#define PIECE_CAP 256

hone_generate_params hone_generate_default_params(void) {
    hone_generate_params p;
    memset(&p, 0, sizeof p);
    p.max_tokens = 128;
    p.n_seq = 1;
    p.add_special = true;
    p.sampling = hone_sampler_default_params();
    return p;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct {
    hone_sampler *sampler;
    utf8_stream utf8;
    stop_matcher stop;
    bool stop_ready;
    bool live;
    int32_t n_gen;
    hone_stop_reason reason;
} seq_state;

/* Send text to the caller; returns false when the caller wants to stop.
 * Every generated token gets exactly one call (its text may be empty: a
 * partial character, text held back by the stop matcher, an end token);
 * text released at the end of a sequence comes with t = -1. */
static bool emit(const hone_generate_params *p, int32_t seq, const char *text, size_t len, hone_token t) {
    if (!p->on_piece || (t < 0 && len == 0)) return true;
    return p->on_piece(p->user, seq, text, len, t);
}

/* A new token's bytes through UTF-8 assembly and stop matching. Returns
 * false when the sequence must end (stop string or caller). */
static bool push_token(const hone_generate_params *p, seq_state *ss, int32_t seq, const char *bytes, size_t n,
                       hone_token t) {
    char buf[PIECE_CAP + 16];
    const size_t m = utf8_stream_push(&ss->utf8, bytes, n, buf);
    const char *out;
    size_t out_len;
    if (stop_matcher_push(&ss->stop, buf, m, &out, &out_len)) {
        emit(p, seq, out, out_len, t);
        ss->reason = HONE_STOP_STRING;
        return false;
    }
    if (!emit(p, seq, out, out_len, t)) {
        ss->reason = HONE_STOP_CALLER;
        return false;
    }
    return true;
}

/* End of a sequence that did not stop on a stop string: release the bytes
 * held by the UTF-8 assembler and the stop matcher. */
static void flush(const hone_generate_params *p, seq_state *ss, int32_t seq) {
    char buf[16];
    const size_t m = utf8_stream_flush(&ss->utf8, buf);
    const char *out;
    size_t out_len;
    if (stop_matcher_push(&ss->stop, buf, m, &out, &out_len)) {
        emit(p, seq, out, out_len, -1);
        ss->reason = HONE_STOP_STRING;
        return;
    }
    emit(p, seq, out, out_len, -1);
    stop_matcher_finish(&ss->stop, &out, &out_len);
    emit(p, seq, out, out_len, -1);
}

hone_status hone_generate(hone_session *s, const char *prompt, const hone_generate_params *params,
                          hone_generate_result *res) {
    if (!s || !prompt) return hone_err(HONE_ERR_INVALID_ARG, "hone_generate: session and prompt are required");
    hone_generate_params p = params ? *params : hone_generate_default_params();
    const hone_model *m = session_model(s);
    const hone_session_params *sp = session_params(s);
    const int32_t n_vocab = m->hp.n_vocab;
    if (p.n_seq <= 0) p.n_seq = 1;
    if (p.n_seq > MAX_SEQ || p.n_seq > sp->n_seq_max)
        return hone_err(HONE_ERR_INVALID_ARG, "hone_generate: n_seq %d exceeds the session's %d sequences (max %d)",
                        p.n_seq, sp->n_seq_max, MAX_SEQ);
    if (p.max_tokens < 0) return hone_err(HONE_ERR_INVALID_ARG, "hone_generate: max_tokens %d < 0", p.max_tokens);

    hone_generate_result r;
    memset(&r, 0, sizeof r);
    hone_status st = HONE_OK;
    size_t len = strlen(prompt), n_prompt = 0;
    size_t cap = len + 8;
    hone_token *toks = malloc(cap * sizeof *toks);
    float *first = malloc((size_t)n_vocab * sizeof *first);
    hone_token *bt = malloc(MAX_SEQ * sizeof *bt);
    int32_t *bpos = malloc(MAX_SEQ * sizeof *bpos), *bseq = malloc(MAX_SEQ * sizeof *bseq);
    seq_state *ss = calloc(MAX_SEQ, sizeof *ss);
    int32_t *cpos = NULL, *cseq = NULL; /* positions / sequence ids of a prompt chunk */
    if (!toks || !first || !bt || !bpos || !bseq || !ss) {
        st = hone_err(HONE_ERR_NOMEM, "out of memory starting generation");
        goto done;
    }
    if ((st = hone_tokenize(m, prompt, len, p.add_special, p.parse_special, toks, cap, &n_prompt))) goto done;
    if (n_prompt == 0) {
        st = hone_err(HONE_ERR_INVALID_ARG, "hone_generate: the prompt is empty (no tokens)");
        goto done;
    }
    r.n_prompt = (int32_t)n_prompt;
    if ((int64_t)n_prompt + 1 > sp->n_ctx) {
        st = hone_err(HONE_ERR_CONTEXT_FULL, "prompt of %zu tokens does not fit the context of %d", n_prompt, sp->n_ctx);
        goto done;
    }

    /* Reuse the cached prefix of sequence 0. A token evaluated alone takes
     * a different attention order from one evaluated with others of its
     * sequence (as in llama.cpp, whose bits hone reproduces), so prompt
     * tokens are never evaluated alone unless the prompt is one token:
     * re-evaluate at least the last two, and never leave a one-token chunk.
     * The output is then the same whether the prefix came from the cache. */
    const double t0 = now_s();
    const int32_t min_eval = n_prompt >= 2 ? 2 : 1;
    int32_t keep = 0, cached = hone_kv_seq_len(s, 0);
    const int32_t *old = session_seq_tokens(s, 0);
    while (keep < cached && keep < (int32_t)n_prompt - min_eval && old[keep] == toks[keep]) keep++;
    hone_kv_seq_rm(s, 0, keep, -1);
    for (int k = 1; k < p.n_seq; k++) hone_kv_seq_rm(s, k, 0, -1);
    int32_t last_n = 0; /* size of the last prompt chunk */
    const size_t chunk_cap = n_prompt < (size_t)sp->n_batch ? n_prompt : (size_t)sp->n_batch;
    cpos = malloc(chunk_cap * sizeof *cpos);
    cseq = calloc(chunk_cap, sizeof *cseq); /* all sequence 0 */
    if (!cpos || !cseq) {
        st = hone_err(HONE_ERR_NOMEM, "out of memory evaluating the prompt");
        goto done;
    }
    for (int32_t i = keep; i < (int32_t)n_prompt;) {
        int32_t n = (int32_t)n_prompt - i;
        if (n > sp->n_batch) n = sp->n_batch;
        if (n < (int32_t)n_prompt - i && (int32_t)n_prompt - i - n == 1 && n > 2) n--; /* no 1-token tail */
        for (int32_t j = 0; j < n; j++) cpos[j] = i + j;
        hone_batch b = {n, toks + i, cpos, cseq, NULL}; /* NULL logits: last token only */
        if ((st = hone_decode(s, &b))) goto done;
        i += n;
        last_n = n;
    }
    {
        /* logits of the last prompt token: the last decode's only output row */
        const float *lg = hone_get_logits(s, last_n - 1);
        if (!lg) {
            st = hone_err(HONE_ERR_RUNTIME, "internal: no logits for the last prompt token");
            goto done;
        }
        memcpy(first, lg, (size_t)n_vocab * sizeof *first);
    }
    for (int k = 1; k < p.n_seq; k++)
        if ((st = hone_kv_seq_cp(s, 0, k))) goto done;
    r.prompt_seconds = now_s() - t0;

    for (int k = 0; k < p.n_seq; k++) {
        hone_sampler_params sp_k = p.sampling;
        sp_k.seed = p.sampling.seed + (uint64_t)k;
        if ((st = hone_sampler_create(&sp_k, n_vocab, &ss[k].sampler))) goto done;
        for (size_t i = 0; i < n_prompt; i++) hone_sampler_accept(ss[k].sampler, toks[i]);
        utf8_stream_init(&ss[k].utf8);
        if ((st = stop_matcher_init(&ss[k].stop, p.stop, p.n_stop))) goto done;
        ss[k].stop_ready = true;
        ss[k].live = p.max_tokens > 0;
        ss[k].reason = HONE_STOP_LIMIT;
    }

    const double t1 = now_s();
    int32_t row_of_seq[MAX_SEQ];
    bool have_logits = false;
    for (;;) {
        int nb = 0;
        for (int k = 0; k < p.n_seq; k++) {
            seq_state *q = &ss[k];
            if (!q->live) continue;
            const float *lg = have_logits ? hone_get_logits(s, row_of_seq[k]) : first;
            const hone_token t = hone_sampler_sample(q->sampler, lg);
            if (t < 0) {
                st = hone_err(HONE_ERR_RUNTIME, "sequence %d: the model produced no finite logits", k);
                goto done;
            }
            hone_sampler_accept(q->sampler, t);
            q->n_gen++;
            if (hone_token_is_eog(m, t)) {
                q->reason = HONE_STOP_EOS;
                q->live = false;
                emit(&p, k, "", 0, t);
                flush(&p, q, k);
                continue;
            }
            char piece[PIECE_CAP];
            int32_t n = hone_token_to_piece(m, t, false, piece, sizeof piece);
            if (n < 0) n = 0; /* a piece longer than PIECE_CAP bytes does not exist in real vocabularies */
            if (!push_token(&p, q, k, piece, (size_t)n, t)) {
                q->live = false;
                continue;
            }
            const int32_t pos = hone_kv_seq_len(s, k);
            if (q->n_gen >= p.max_tokens || pos + 1 > sp->n_ctx) {
                q->live = false;
                flush(&p, q, k);
                continue;
            }
            bt[nb] = t;
            bpos[nb] = pos;
            bseq[nb] = k;
            row_of_seq[k] = nb;
            nb++;
        }
        if (nb == 0) break;
        hone_batch b = {nb, bt, bpos, bseq, NULL};
        int8_t want[MAX_SEQ];
        memset(want, 1, sizeof want);
        b.logits = want;
        if ((st = hone_decode(s, &b))) {
            if (st != HONE_ERR_CONTEXT_FULL) goto done;
            /* out of cells: end every live sequence at its length limit */
            st = HONE_OK;
            for (int k = 0; k < p.n_seq; k++)
                if (ss[k].live) {
                    ss[k].live = false;
                    flush(&p, &ss[k], k);
                }
            break;
        }
        have_logits = true;
    }
    r.gen_seconds = now_s() - t1;
    for (int k = 0; k < p.n_seq; k++) {
        r.n_generated[k] = ss[k].n_gen;
        r.stop[k] = ss[k].reason;
    }

done:
    for (int k = 0; ss && k < MAX_SEQ; k++) {
        hone_sampler_free(ss[k].sampler);
        if (ss[k].stop_ready) stop_matcher_free(&ss[k].stop);
    }
    free(ss);
    free(toks);
    free(first);
    free(bt);
    free(bpos);
    free(bseq);
    free(cpos);
    free(cseq);
    if (res) *res = r;
    return st;
}
