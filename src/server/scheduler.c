/*
 * scheduler.c - continuous batching: one thread owns the session and runs
 * forward steps that serve every admitted request at once.
 *
 * Each step carries one token of every sequence that is generating plus
 * chunks of prompts still being evaluated (at most PREFILL_CAP prompt
 * tokens while others are generating, so a long prompt never freezes
 * running streams for long). A request joins at the next step after it is
 * admitted and leaves the step after it finishes; its cells go back at once.
 *
 * Bit-identical replies: hone_decode makes every output independent of the
 * rest of the batch, with one exception - a token alone in its sequence
 * takes the decode attention order. So, exactly like hone_generate: prompt
 * tokens always go in chunks of >= 2 of their sequence (a 1-token remainder
 * is avoided by splitting differently), generated tokens one per step; the
 * n choices of a request share the evaluated prompt (hone_kv_seq_cp) and
 * choice k samples with seed + k. Greedy replies then equal `hone run`'s,
 * whatever else runs and whether the prefix came from the prefix cache.
 *
 * Admission: a request reserves prompt + n * max_tokens cells; it is
 * admitted when the reservations of running requests leave room and enough
 * sequence ids are free, so a running request never runs out of cells.
 * Prefix-cache entries are evicted when their cells or ids are needed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "sample/stop.h"
#include "server/prefix_cache.h"
#include "server/server_internal.h"
#include "tokenizer/tokenizer.h"

#define PREFILL_CAP 128 /* prompt tokens per step while other sequences generate */
#define PIECE_CAP 256

typedef enum { PH_WAIT, PH_PROMPT, PH_DECODE, PH_DONE } phase;

typedef struct {
    int32_t seq;
    phase ph;
    hone_sampler *sampler;
    utf8_stream utf8;
    stop_matcher stop;
    bool stop_ready;
    hone_token next; /* token to decode in the next step */
    int32_t row;     /* batch index of its logits in this step, -1 */
    int32_t n_gen;
    double t_last;
} slot;

typedef struct {
    job *j;
    int32_t n;      /* choices */
    int32_t chunk;  /* prompt tokens in this step */
    int32_t prow;   /* batch index of the last prompt token when it ends this step, -1 */
    slot sl[API_MAX_N];
} rjob;

struct scheduler {
    server *srv;
    hone_session *s;
    const hone_model *m;
    int32_t n_vocab, n_seq_max, n_batch;
    int32_t *free_seq, n_free_seq;
    rjob *run;
    int32_t n_run, cap_run;
    int32_t reserved;
    hone_token *bt;
    int32_t *bpos, *bseq;
    int8_t *blog;
    int32_t *seq_list; /* scratch for the leak check */
    float *masked;     /* [n_vocab]: logits with end tokens removed (ignore_eos) */
    hone_token *eog;   /* the vocabulary's end-of-generation tokens */
    int32_t n_eog;
    prefix_cache pc;
    uint64_t steps;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int32_t get_seq(void *user) {
    scheduler *sc = user;
    return sc->n_free_seq ? sc->free_seq[--sc->n_free_seq] : -1;
}

static void put_seq(void *user, int32_t seq) {
    scheduler *sc = user;
    sc->free_seq[sc->n_free_seq++] = seq;
}

hone_status scheduler_create(server *srv, scheduler **out) {
    const server_config *c = &srv->cfg;
    scheduler *sc = calloc(1, sizeof *sc);
    if (!sc) return hone_err(HONE_ERR_NOMEM, "out of memory creating the scheduler");
    sc->srv = srv;
    sc->m = srv->model;
    sc->n_vocab = hone_model_n_vocab(sc->m);
    sc->n_seq_max = c->max_seqs + c->cache_entries;
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = c->n_cells;
    sp.n_seq_max = sc->n_seq_max;
    sp.n_batch = c->n_batch;
    sp.n_threads = c->n_threads;
    sp.kv_type = c->kv_type;
    hone_status st = hone_session_create(sc->m, &sp, &sc->s);
    if (st) {
        free(sc);
        return st;
    }
    sc->n_batch = c->n_batch < c->n_cells ? c->n_batch : c->n_cells;
    sc->free_seq = calloc((size_t)sc->n_seq_max, sizeof *sc->free_seq);
    sc->seq_list = calloc((size_t)sc->n_seq_max, sizeof *sc->seq_list);
    sc->cap_run = c->max_seqs;
    sc->run = calloc((size_t)sc->cap_run, sizeof *sc->run);
    sc->bt = calloc((size_t)sc->n_batch, sizeof *sc->bt);
    sc->bpos = calloc((size_t)sc->n_batch, sizeof *sc->bpos);
    sc->bseq = calloc((size_t)sc->n_batch, sizeof *sc->bseq);
    sc->blog = calloc((size_t)sc->n_batch, sizeof *sc->blog);
    sc->masked = calloc((size_t)sc->n_vocab, sizeof *sc->masked);
    sc->eog = calloc(64, sizeof *sc->eog);
    for (hone_token t = 0; sc->eog && t < sc->n_vocab && sc->n_eog < 64; t++)
        if (hone_token_is_eog(sc->m, t)) sc->eog[sc->n_eog++] = t;
    if (!sc->masked || !sc->eog || !sc->free_seq || !sc->seq_list || !sc->run || !sc->bt || !sc->bpos || !sc->bseq || !sc->blog ||
        pc_init(&sc->pc, c->cache_entries) != HONE_OK) {
        scheduler_free(sc);
        return hone_err(HONE_ERR_NOMEM, "out of memory creating the scheduler");
    }
    for (int32_t i = 0; i < sc->n_seq_max; i++) sc->free_seq[i] = sc->n_seq_max - 1 - i;
    sc->n_free_seq = sc->n_seq_max;
    *out = sc;
    return HONE_OK;
}

void scheduler_free(scheduler *sc) {
    if (!sc) return;
    pc_free(&sc->pc);
    hone_session_free(sc->s);
    free(sc->free_seq);
    free(sc->seq_list);
    free(sc->masked);
    free(sc->eog);
    free(sc->run);
    free(sc->bt);
    free(sc->bpos);
    free(sc->bseq);
    free(sc->blog);
    free(sc);
}

/* ---- submission (HTTP threads) ----------------------------------------- */

int scheduler_submit(server *srv, job *j, api_error *err) {
    const server_config *c = &srv->cfg;
    const int64_t need = (int64_t)j->n_prompt + (int64_t)j->req.n * j->max_tokens;
    if (j->req.n > c->max_seqs) {
        api_error_set(err, 400, "invalid_request_error", "n", "'n' is %d; this server runs at most %d sequences",
                      j->req.n, c->max_seqs);
        return 400;
    }
    if (need > c->n_cells) {
        api_error_set(err, 400, "invalid_request_error", "max_tokens",
                      "the request needs %lld KV cells (prompt %d + n %d x max_tokens %d) but the server has %d "
                      "(--kv-mem)",
                      (long long)need, j->n_prompt, j->req.n, j->max_tokens, c->n_cells);
        return 400;
    }
    j->reserve = (int32_t)need;
    pthread_mutex_lock(&srv->mu);
    int rc = 0;
    if (srv->draining || srv->stopping) {
        api_error_set(err, 503, "server_error", NULL, "the server is shutting down");
        rc = 503;
    } else if (srv->n_queued >= c->max_queue) {
        api_error_set(err, 429, "rate_limit_error", NULL, "the server is busy: %d requests are waiting; retry later",
                      srv->n_queued);
        rc = 429;
    }
    if (rc) {
        srv->m.requests_rejected++;
        pthread_mutex_unlock(&srv->mu);
        return rc;
    }
    j->refs++;
    j->state = JOB_QUEUED;
    j->id = ++srv->next_id;
    j->next = NULL;
    if (srv->queue_tail) srv->queue_tail->next = j;
    else srv->queue_head = j;
    srv->queue_tail = j;
    srv->n_queued++;
    srv->m.queue_depth = srv->n_queued;
    pthread_cond_signal(&srv->sched_cv);
    pthread_mutex_unlock(&srv->mu);
    return 0;
}

/* ---- output (server.mu held) ------------------------------------------- */

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return false;
    *p = q;
    *cap = c;
    return true;
}

/* Append text and one record to choice k (server.mu held). */
static void append(job *j, int k, const char *text, size_t len, const tok_record *tr) {
    job_choice *c = &j->choice[k];
    if (!grow((void **)&c->text, &c->text_cap, c->text_len + len + 1, 1) ||
        !grow((void **)&c->rec, &c->rec_cap, c->n_rec + 1, sizeof *c->rec)) {
        j->cancelled = true; /* out of memory: give up on this request rather than lose text */
        return;
    }
    memcpy(c->text + c->text_len, text, len);
    c->text_len += len;
    c->text[c->text_len] = '\0';
    c->rec[c->n_rec].text_end = c->text_len;
    c->rec[c->n_rec].tok = *tr;
    c->n_rec++;
}

/* ---- sampling and text ------------------------------------------------- */

static void logprobs_of(const float *lg, int32_t nv, hone_token chosen, int32_t n_top, tok_record *r) {
    float mx = -INFINITY;
    for (int32_t i = 0; i < nv; i++)
        if (lg[i] > mx) mx = lg[i];
    double sum = 0;
    for (int32_t i = 0; i < nv; i++) sum += exp((double)lg[i] - mx);
    const double lse = mx + log(sum);
    r->logprob = (float)(lg[chosen] - lse);
    /* top n_top, best first, lower id first on ties (insertion into a short list) */
    r->n_top = 0;
    for (int32_t i = 0; i < nv && n_top > 0; i++) {
        const float v = lg[i];
        if (r->n_top == n_top && !(v > lg[r->top_id[n_top - 1]])) continue;
        int32_t at = r->n_top < n_top ? r->n_top++ : n_top - 1;
        while (at > 0 && v > lg[r->top_id[at - 1]]) {
            r->top_id[at] = r->top_id[at - 1];
            at--;
        }
        r->top_id[at] = i;
    }
    for (int32_t t = 0; t < r->n_top; t++) r->top_lp[t] = (float)(lg[r->top_id[t]] - lse);
}

static void emit(server *srv, job *j, int k, const char *text, size_t len, const tok_record *tr) {
    if (!tr && len == 0) return;
    tok_record none = {.id = -1};
    pthread_mutex_lock(&srv->mu);
    append(j, k, text, len, tr ? tr : &none);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* End of a sequence that did not stop on a stop string: release the bytes
 * the UTF-8 assembler and the stop matcher held back. */
static void flush(server *srv, job *j, int k, slot *sl) {
    char buf[16];
    const size_t m = utf8_stream_flush(&sl->utf8, buf);
    const char *o;
    size_t n;
    if (stop_matcher_push(&sl->stop, buf, m, &o, &n)) {
        emit(srv, j, k, o, n, NULL);
        return;
    }
    emit(srv, j, k, o, n, NULL);
    stop_matcher_finish(&sl->stop, &o, &n);
    emit(srv, j, k, o, n, NULL);
}

static void finish_slot(scheduler *sc, rjob *r, int k, const char *reason) {
    slot *sl = &r->sl[k];
    server *srv = sc->srv;
    sl->ph = PH_DONE;
    hone_kv_seq_rm(sc->s, sl->seq, 0, -1);
    put_seq(sc, sl->seq);
    sl->seq = -1;
    pthread_mutex_lock(&srv->mu);
    r->j->choice[k].finish = reason;
    r->j->choice[k].n_gen = sl->n_gen;
    pthread_cond_broadcast(&r->j->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* Sample choice k's next token from logits, emit its text, decide whether
 * the sequence goes on. Mirrors hone_generate's loop body. */
static void step_slot(scheduler *sc, rjob *r, int k, const float *lg, double now) {
    server *srv = sc->srv;
    job *j = r->j;
    slot *sl = &r->sl[k];
    if (j->req.ignore_eos) {
        memcpy(sc->masked, lg, (size_t)sc->n_vocab * sizeof *lg);
        for (int32_t i = 0; i < sc->n_eog; i++) sc->masked[sc->eog[i]] = -INFINITY;
        lg = sc->masked;
    }
    const hone_token t = hone_sampler_sample(sl->sampler, lg);
    if (t < 0) {
        finish_slot(sc, r, k, "error");
        return;
    }
    hone_sampler_accept(sl->sampler, t);
    sl->n_gen++;
    tok_record tr = {.id = t};
    if (j->req.logprobs) logprobs_of(lg, sc->n_vocab, t, j->req.top_logprobs, &tr);

    pthread_mutex_lock(&srv->mu);
    srv->m.generated_tokens++;
    if (sl->n_gen == 1) {
        if (k == 0) {
            j->t_first = now;
            histogram_add(&srv->m.ttft, now - j->t_arrive, METRICS_LATENCY_BOUNDS);
        }
    } else {
        histogram_add(&srv->m.itl, now - sl->t_last, METRICS_LATENCY_BOUNDS);
    }
    pthread_mutex_unlock(&srv->mu);
    sl->t_last = now;

    if (hone_token_is_eog(sc->m, t)) {
        emit(srv, j, k, "", 0, &tr);
        flush(srv, j, k, sl);
        finish_slot(sc, r, k, "stop");
        return;
    }
    char piece[PIECE_CAP], buf[PIECE_CAP + 16];
    int32_t n = hone_token_to_piece(sc->m, t, false, piece, sizeof piece);
    if (n < 0) n = 0;
    const size_t m = utf8_stream_push(&sl->utf8, piece, (size_t)n, buf);
    const char *o;
    size_t ol;
    if (stop_matcher_push(&sl->stop, buf, m, &o, &ol)) {
        emit(srv, j, k, o, ol, &tr);
        finish_slot(sc, r, k, "stop");
        return;
    }
    emit(srv, j, k, o, ol, &tr);
    if (sl->n_gen >= j->max_tokens) {
        flush(srv, j, k, sl);
        finish_slot(sc, r, k, "length");
        return;
    }
    sl->next = t;
    sl->ph = PH_DECODE;
}

/* ---- admission and retirement ------------------------------------------ */

static void log_job(const server *srv, const job *j, const char *outcome) {
    if (srv->cfg.quiet) return;
    int32_t gen = 0;
    for (int k = 0; k < j->req.n; k++) gen += j->choice[k].n_gen;
    fprintf(stderr, "hone serve: #%llu %s %s prompt=%d cached=%d gen=%d ttft=%.3fs total=%.3fs finish=%s\n",
            (unsigned long long)j->id, j->req.kind == API_CHAT ? "chat" : "completion", outcome, j->n_prompt,
            j->n_cached, gen, j->t_first > 0 ? j->t_first - j->t_arrive : 0.0, now_s() - j->t_arrive,
            j->choice[0].finish ? j->choice[0].finish : "-");
}

/* A running job leaves: free what its slots still hold (server.mu NOT held). */
static void retire(scheduler *sc, int32_t idx, bool cancelled) {
    rjob *r = &sc->run[idx];
    server *srv = sc->srv;
    for (int k = 0; k < r->n; k++) {
        slot *sl = &r->sl[k];
        if (sl->seq >= 0) {
            hone_kv_seq_rm(sc->s, sl->seq, 0, -1);
            put_seq(sc, sl->seq);
            sl->seq = -1;
        }
        hone_sampler_free(sl->sampler);
        sl->sampler = NULL;
        if (sl->stop_ready) stop_matcher_free(&sl->stop);
        sl->stop_ready = false;
    }
    sc->reserved -= r->j->reserve;
    job *j = r->j;
    pthread_mutex_lock(&srv->mu);
    if (j->state == JOB_RUNNING) j->state = JOB_DONE;
    j->t_done = now_s();
    srv->n_running--;
    if (cancelled) srv->m.requests_cancelled++;
    else if (j->state == JOB_FAILED) srv->m.requests_error++;
    else srv->m.requests_ok++;
    log_job(srv, j, cancelled ? "cancelled" : j->state == JOB_FAILED ? "failed" : "ok");
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&srv->mu);
    job_release(srv, j);
    sc->run[idx] = sc->run[--sc->n_run];
}

/* Set up a queued job's slots (server.mu NOT held). Returns false when its
 * samplers cannot be created (the job is failed). */
static bool start_job(scheduler *sc, job *j) {
    rjob *r = &sc->run[sc->n_run];
    memset(r, 0, sizeof *r);
    r->j = j;
    r->n = j->req.n;
    r->prow = -1;
    bool ok = true;
    for (int k = 0; k < r->n; k++) {
        slot *sl = &r->sl[k];
        sl->seq = get_seq(sc); /* admission checked there are enough */
        sl->row = -1;
        sl->ph = k == 0 ? PH_PROMPT : PH_WAIT;
        hone_sampler_params p = j->req.sampling;
        p.seed = j->req.sampling.seed + (uint64_t)k;
        if (hone_sampler_create(&p, sc->n_vocab, &sl->sampler) != HONE_OK) ok = false;
        else
            for (int32_t i = 0; i < j->n_prompt; i++) hone_sampler_accept(sl->sampler, j->prompt[i]);
        utf8_stream_init(&sl->utf8);
        if (stop_matcher_init(&sl->stop, j->req.stop, j->req.n_stop) == HONE_OK) sl->stop_ready = true;
        else ok = false;
    }
    sc->reserved += j->reserve;
    sc->n_run++;
    int32_t keep = 0;
    const int32_t src = pc_lookup(&sc->pc, j->prompt, j->n_prompt, &keep);
    if (src >= 0 && keep > 0 && hone_kv_seq_share_prefix(sc->s, src, r->sl[0].seq, keep) == HONE_OK)
        j->n_cached = keep;
    pthread_mutex_lock(&sc->srv->mu);
    sc->srv->m.prompt_tokens += (uint64_t)j->n_prompt;
    sc->srv->m.cached_prompt_tokens += (uint64_t)j->n_cached;
    if (!ok) {
        j->state = JOB_FAILED;
        api_error_set(&j->err, 500, "server_error", NULL, "out of memory starting the request");
    }
    pthread_mutex_unlock(&sc->srv->mu);
    return ok;
}

/* Move queued jobs into the running set while cells and ids allow
 * (server.mu held on entry and exit; released while a job is set up). */
static void admit(scheduler *sc) {
    server *srv = sc->srv;
    while (srv->queue_head && sc->n_run < sc->cap_run && !srv->stopping) {
        job *j = srv->queue_head;
        if (!j->cancelled) {
            if (sc->reserved + j->reserve > hone_kv_cells_total(sc->s)) break;
            while (sc->n_free_seq < j->req.n) {
                const int32_t seq = pc_evict(&sc->pc, sc->s);
                if (seq < 0) break;
                put_seq(sc, seq);
            }
            if (sc->n_free_seq < j->req.n) break;
        }
        srv->queue_head = j->next;
        if (!srv->queue_head) srv->queue_tail = NULL;
        srv->n_queued--;
        if (j->cancelled) { /* the client left while waiting */
            j->state = JOB_DONE;
            srv->m.requests_cancelled++;
            pthread_cond_broadcast(&j->cv);
            pthread_mutex_unlock(&srv->mu);
            job_release(srv, j);
            pthread_mutex_lock(&srv->mu);
            continue;
        }
        srv->n_running++;
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&srv->mu);
        start_job(sc, j);
        pthread_mutex_lock(&srv->mu);
    }
}

/* ---- one forward step --------------------------------------------------- */

static int32_t build_batch(scheduler *sc) {
    int32_t n = 0, n_decode = 0;
    for (int32_t i = 0; i < sc->n_run; i++) {
        rjob *r = &sc->run[i];
        r->chunk = 0;
        r->prow = -1;
        for (int k = 0; k < r->n; k++) {
            slot *sl = &r->sl[k];
            sl->row = -1;
            if (sl->ph != PH_DECODE) continue;
            sc->bt[n] = sl->next;
            sc->bpos[n] = hone_kv_seq_len(sc->s, sl->seq);
            sc->bseq[n] = sl->seq;
            sc->blog[n] = 1;
            sl->row = n++;
            n_decode++;
        }
    }
    int32_t budget = sc->n_batch - n;
    if (n_decode > 0 && budget > PREFILL_CAP) budget = PREFILL_CAP;
    for (int32_t i = 0; i < sc->n_run && budget >= 1; i++) {
        rjob *r = &sc->run[i];
        slot *s0 = &r->sl[0];
        if (s0->ph != PH_PROMPT || r->j->state != JOB_RUNNING) continue;
        const int32_t past = hone_kv_seq_len(sc->s, s0->seq), rest = r->j->n_prompt - past;
        int32_t c = rest < budget ? rest : budget;
        if (c < rest && rest - c == 1) c--; /* never leave a one-token tail */
        if (c < 2 && rest >= 2) continue;   /* no room for a multi-token chunk this step */
        for (int32_t t = 0; t < c; t++) {
            sc->bt[n] = r->j->prompt[past + t];
            sc->bpos[n] = past + t;
            sc->bseq[n] = s0->seq;
            sc->blog[n] = 0;
            n++;
        }
        r->chunk = c;
        if (c == rest) {
            sc->blog[n - 1] = 1;
            r->prow = n - 1;
        }
        budget -= c;
    }
    return n;
}

static void update_kv_metrics(scheduler *sc, bool leak_check) {
    server *srv = sc->srv;
    int32_t nc = pc_seqs(&sc->pc, sc->seq_list);
    const int32_t cached = hone_kv_cells_held(sc->s, sc->seq_list, nc);
    int32_t leaked = -1;
    if (leak_check) {
        int32_t n = nc;
        for (int32_t i = 0; i < sc->n_run; i++)
            for (int k = 0; k < sc->run[i].n; k++)
                if (sc->run[i].sl[k].seq >= 0) sc->seq_list[n++] = sc->run[i].sl[k].seq;
        leaked = hone_kv_cells_used(sc->s) - hone_kv_cells_held(sc->s, sc->seq_list, n);
    }
    int32_t seqs = 0;
    for (int32_t i = 0; i < sc->n_run; i++)
        for (int k = 0; k < sc->run[i].n; k++) seqs += sc->run[i].sl[k].ph != PH_DONE;
    pthread_mutex_lock(&srv->mu);
    srv->m.kv_used = hone_kv_cells_used(sc->s);
    srv->m.kv_total = hone_kv_cells_total(sc->s);
    srv->m.kv_reserved = sc->reserved;
    srv->m.kv_cached = cached;
    if (leaked >= 0) srv->m.kv_leaked = leaked;
    srv->m.cache_entries = sc->pc.n;
    srv->m.running_jobs = srv->n_running;
    srv->m.running_seqs = seqs;
    srv->m.queue_depth = srv->n_queued;
    pthread_mutex_unlock(&srv->mu);
}

static void fail_running(scheduler *sc, int status, const char *msg) {
    server *srv = sc->srv;
    for (int32_t i = 0; i < sc->n_run; i++) {
        pthread_mutex_lock(&srv->mu);
        job *j = sc->run[i].j;
        if (j->state == JOB_RUNNING) {
            j->state = JOB_FAILED;
            api_error_set(&j->err, status, "server_error", NULL, "%s", msg);
        }
        pthread_mutex_unlock(&srv->mu);
    }
    while (sc->n_run) retire(sc, sc->n_run - 1, false);
}

static void process_step(scheduler *sc) {
    const double now = now_s();
    for (int32_t i = 0; i < sc->n_run; i++) {
        rjob *r = &sc->run[i];
        if (r->chunk > 0 && r->prow >= 0) {
            /* the prompt is complete: every choice samples from its last logits */
            const float *lg = hone_get_logits(sc->s, r->prow);
            pc_insert(&sc->pc, sc->s, r->sl[0].seq, r->j->prompt, r->j->n_prompt, get_seq, sc, put_seq);
            for (int k = 1; k < r->n; k++) hone_kv_seq_cp(sc->s, r->sl[0].seq, r->sl[k].seq);
            for (int k = 0; k < r->n && lg; k++) step_slot(sc, r, k, lg, now);
            continue;
        }
        for (int k = 0; k < r->n; k++) {
            slot *sl = &r->sl[k];
            if (sl->ph == PH_DECODE && sl->row >= 0) {
                const float *lg = hone_get_logits(sc->s, sl->row);
                if (lg) step_slot(sc, r, k, lg, now);
            }
        }
    }
}

void *scheduler_main(void *arg) {
    server *srv = arg;
    scheduler *sc = srv->sched;
    pthread_mutex_lock(&srv->mu);
    for (;;) {
        /* cancellations, finished jobs, shutdown */
        bool stop = srv->stopping;
        for (int32_t i = 0; i < sc->n_run;) {
            rjob *r = &sc->run[i];
            bool done = r->j->state == JOB_FAILED || r->j->cancelled || stop;
            if (!done) {
                done = true;
                for (int k = 0; k < r->n; k++) done = done && r->sl[k].ph == PH_DONE;
            }
            if (!done) {
                i++;
                continue;
            }
            const bool cancelled = r->j->cancelled || (stop && r->j->state == JOB_RUNNING);
            if (stop && r->j->state == JOB_RUNNING) {
                r->j->state = JOB_FAILED;
                api_error_set(&r->j->err, 503, "server_error", NULL, "the server is shutting down");
            }
            pthread_mutex_unlock(&srv->mu);
            retire(sc, i, cancelled);
            pthread_mutex_lock(&srv->mu);
        }
        if (stop) {
            while (srv->queue_head) {
                job *j = srv->queue_head;
                srv->queue_head = j->next;
                srv->n_queued--;
                j->state = JOB_FAILED;
                api_error_set(&j->err, 503, "server_error", NULL, "the server is shutting down");
                pthread_cond_broadcast(&j->cv);
                pthread_mutex_unlock(&srv->mu);
                job_release(srv, j);
                pthread_mutex_lock(&srv->mu);
            }
            srv->queue_tail = NULL;
            break;
        }
        admit(sc);
        pthread_mutex_unlock(&srv->mu);
        if (sc->n_run == 0) {
            update_kv_metrics(sc, true);
            pthread_mutex_lock(&srv->mu);
            pthread_cond_broadcast(&srv->idle_cv);
            while (!srv->stopping && !srv->queue_head) pthread_cond_wait(&srv->sched_cv, &srv->mu);
            continue;
        }
        const int32_t n = build_batch(sc);
        if (n == 0) { /* nothing can run (should not happen): do not spin */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 10000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_mutex_lock(&srv->mu);
            pthread_cond_timedwait(&srv->sched_cv, &srv->mu, &ts);
            continue;
        }
        {
            /* cells: prefix-cache entries give theirs up first */
            while (hone_kv_cells_total(sc->s) - hone_kv_cells_used(sc->s) < n) {
                const int32_t seq = pc_evict(&sc->pc, sc->s);
                if (seq < 0) break;
                put_seq(sc, seq);
            }
            hone_batch b = {n, sc->bt, sc->bpos, sc->bseq, sc->blog};
            if (hone_decode(sc->s, &b) != HONE_OK) {
                fprintf(stderr, "hone serve: decode failed: %s\n", hone_last_error());
                fail_running(sc, 500, hone_last_error());
            } else {
                process_step(sc);
                sc->steps++;
                pthread_mutex_lock(&srv->mu);
                srv->m.decode_steps++;
                srv->m.decode_tokens += (uint64_t)n;
                srv->m.last_batch = n;
                histogram_add(&srv->m.batch, n, METRICS_BATCH_BOUNDS);
                pthread_mutex_unlock(&srv->mu);
            }
        }
        update_kv_metrics(sc, sc->steps % 64 == 0);
        pthread_mutex_lock(&srv->mu);
    }
    pthread_mutex_unlock(&srv->mu);
    update_kv_metrics(sc, true);
    return NULL;
}
