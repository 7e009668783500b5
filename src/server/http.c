/*
 * http.c - the HTTP side of `hone serve`, on libmicrohttpd.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION): a handler may
 * block while its request is generated, and a streamed response's content
 * callback blocks until the scheduler has new tokens for it. Keep-alive and
 * chunked transfer come from MHD. While it waits, a connection polls its
 * socket; when the client has gone, the job is cancelled and the scheduler
 * frees its KV cells at the next step.
 *
 * Routing, authentication (--api-key, Bearer), the body-size limit and
 * turning a parsed request into a job (chat template, tokenisation, limits)
 * live here; parsing is api_request.c, the JSON out api_response.c.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/status.h"
#include "server/server_internal.h"

#define WAIT_SLICE_NS 50000000L /* how often a waiting connection checks its socket */

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- jobs ---------------------------------------------------------------- */

job *job_new(void) {
    job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &a);
    pthread_condattr_destroy(&a);
    j->refs = 1;
    j->t_arrive = mono_s();
    j->created = (int64_t)time(NULL);
    return j;
}

void job_release(server *srv, job *j) {
    if (!j) return;
    pthread_mutex_lock(&srv->mu);
    const bool last = --j->refs == 0;
    pthread_mutex_unlock(&srv->mu);
    if (!last) return;
    for (int k = 0; k < API_MAX_N; k++) {
        free(j->choice[k].text);
        free(j->choice[k].rec);
    }
    api_request_free(&j->req);
    free(j->prompt);
    free(j->prompt_text);
    pthread_cond_destroy(&j->cv);
    free(j);
}

/* Wait on j->cv for one slice (server.mu held). */
static void wait_slice(job *j, pthread_mutex_t *mu) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += WAIT_SLICE_NS;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&j->cv, mu, &ts);
}

/* True when the peer has closed the connection (or it broke). */
static bool client_gone(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return false;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return false;
    return (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

static void cancel_job(server *srv, job *j) {
    pthread_mutex_lock(&srv->mu);
    if (j->state == JOB_QUEUED || j->state == JOB_RUNNING) {
        j->cancelled = true;
        pthread_cond_signal(&srv->sched_cv);
    }
    pthread_mutex_unlock(&srv->mu);
}

/* ---- responses ----------------------------------------------------------- */

typedef struct {
    char *body;
    size_t len;
    bool too_large;
    bool started;
} conn_ctx;

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *type, char *body,
                                const char *retry_after) {
    if (!body) {
        body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
        status = 500;
        if (!body) return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, char *json) {
    return send_buf(c, status, "application/json", json, NULL);
}

static enum MHD_Result send_error(server *srv, struct MHD_Connection *c, const char *method, const char *url,
                                  const api_error *e) {
    if (!srv->cfg.quiet)
        fprintf(stderr, "hone serve: %s %s %d %s\n", method, url, e->status, e->message);
    const char *retry = e->status == 429 || e->status == 503 ? "1" : NULL;
    return send_buf(c, (unsigned)e->status, "application/json", api_error_json(e), retry);
}

/* ---- streaming ----------------------------------------------------------- */

typedef struct {
    server *srv;
    job *j;
    struct MHD_Connection *conn;
    size_t sent[API_MAX_N]; /* records already sent per choice */
    bool role_sent[API_MAX_N], finish_sent[API_MAX_N];
    bool done_sent;
    char *pend;             /* formatted events not yet handed to MHD */
    size_t pend_len, pend_off, pend_cap;
} stream_ctx;

static bool pend_add(stream_ctx *s, char *ev) {
    if (!ev) return false;
    const size_t n = strlen(ev);
    if (s->pend_len + n > s->pend_cap) {
        size_t cap = s->pend_cap ? s->pend_cap : 4096;
        while (cap < s->pend_len + n) cap *= 2;
        char *p = realloc(s->pend, cap);
        if (!p) {
            free(ev);
            return false;
        }
        s->pend = p;
        s->pend_cap = cap;
    }
    memcpy(s->pend + s->pend_len, ev, n);
    s->pend_len += n;
    free(ev);
    return true;
}

/* Format whatever the scheduler produced since the last call (server.mu held). */
static bool stream_collect(stream_ctx *s) {
    job *j = s->j;
    if (j->state == JOB_FAILED) {
        char *e = api_error_json(&j->err);
        if (!e) return false;
        const size_t n = strlen(e);
        char *ev = malloc(n + 10);
        if (ev) snprintf(ev, n + 10, "data: %s\n\n", e);
        free(e);
        s->done_sent = true;
        return pend_add(s, ev);
    }
    bool all_done = true;
    for (int k = 0; k < j->req.n; k++) {
        const job_choice *c = &j->choice[k];
        /* one event per token record keeps logprobs aligned with the text;
         * records without text and without logprobs are skipped */
        while (s->sent[k] < c->n_rec) {
            const size_t r = s->sent[k]++;
            const size_t t0 = r > 0 ? c->rec[r - 1].text_end : 0;
            const bool has_lp = j->req.logprobs && c->rec[r].tok.id >= 0;
            if (c->rec[r].text_end == t0 && !has_lp && s->role_sent[k]) continue;
            if (!pend_add(s, response_chunk(s->srv, j, k, r, r + 1, !s->role_sent[k], NULL))) return false;
            s->role_sent[k] = true;
        }
        if (c->finish && !s->finish_sent[k]) {
            if (!s->role_sent[k] && !pend_add(s, response_chunk(s->srv, j, k, 0, 0, true, NULL))) return false;
            s->role_sent[k] = true;
            if (!pend_add(s, response_chunk(s->srv, j, k, 0, 0, false, c->finish))) return false;
            s->finish_sent[k] = true;
        }
        all_done = all_done && s->finish_sent[k];
    }
    if (all_done && j->state == JOB_DONE && !j->cancelled) {
        if (j->req.include_usage && !pend_add(s, response_usage_chunk(s->srv, j))) return false;
        if (!pend_add(s, strdup("data: [DONE]\n\n"))) return false;
        s->done_sent = true;
    }
    return true;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream_ctx *s = cls;
    server *srv = s->srv;
    for (;;) {
        if (s->pend_off < s->pend_len) {
            size_t n = s->pend_len - s->pend_off;
            if (n > max) n = max;
            memcpy(buf, s->pend + s->pend_off, n);
            s->pend_off += n;
            if (s->pend_off == s->pend_len) s->pend_off = s->pend_len = 0;
            return (ssize_t)n;
        }
        if (s->done_sent) return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&srv->mu);
        bool ok = stream_collect(s);
        if (ok && s->pend_len == 0 && !s->done_sent) {
            if (s->j->cancelled && s->j->state != JOB_QUEUED && s->j->state != JOB_RUNNING) ok = false;
            else wait_slice(s->j, &srv->mu);
        }
        pthread_mutex_unlock(&srv->mu);
        if (!ok) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->pend_len == 0 && client_gone(s->conn)) {
            cancel_job(srv, s->j);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void stream_free(void *cls) {
    stream_ctx *s = cls;
    cancel_job(s->srv, s->j); /* no-op when it finished */
    job_release(s->srv, s->j);
    free(s->pend);
    free(s);
}

/* ---- building a job ------------------------------------------------------ */

static char *apply_template(server *srv, api_request *r, api_error *err) {
    size_t cap = 256, need = 0;
    for (size_t i = 0; i < r->n_msgs; i++) cap += strlen(r->msgs[i].content) + 64;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *buf = malloc(cap);
        if (!buf) break;
        hone_status st = hone_chat_apply(srv->model, r->msgs, r->n_msgs, true, buf, cap, &need);
        if (st == HONE_OK) return buf;
        free(buf);
        if (st == HONE_ERR_INVALID_ARG && need + 1 > cap) {
            cap = need + 1;
            continue;
        }
        api_error_set(err, st == HONE_ERR_UNSUPPORTED ? 400 : 500, "invalid_request_error", "messages", "%s",
                      hone_last_error());
        return NULL;
    }
    api_error_set(err, 500, "server_error", NULL, "out of memory applying the chat template");
    return NULL;
}

/* Tokenise the prompt exactly as `hone run` does: the chat template's text
 * with add_special and parse_special (`hone run --chat`), a completion
 * prompt with add_special and parse_special as asked (`hone run --special`). */
static bool prepare_job(server *srv, job *j, api_error *err) {
    api_request *r = &j->req;
    const server_config *cfg = &srv->cfg;
    const int32_t n_vocab = hone_model_n_vocab(srv->model);
    if (r->kind == API_COMPLETION && r->prompt_ids) {
        for (size_t i = 0; i < r->n_prompt_ids; i++)
            if (r->prompt_ids[i] >= n_vocab) {
                api_error_set(err, 400, "invalid_request_error", "prompt", "prompt[%zu] = %d is not a token id (0..%d)",
                              i, r->prompt_ids[i], n_vocab - 1);
                return false;
            }
        j->prompt = malloc((r->n_prompt_ids + 1) * sizeof *j->prompt);
        if (!j->prompt) goto oom;
        memcpy(j->prompt, r->prompt_ids, r->n_prompt_ids * sizeof *j->prompt);
        j->n_prompt = (int32_t)r->n_prompt_ids;
    } else {
        bool special = r->parse_special;
        const char *text = r->prompt;
        if (r->kind == API_CHAT) {
            if (!(j->prompt_text = apply_template(srv, r, err))) return false;
            text = j->prompt_text;
            special = true; /* the template's role markers must become control tokens */
        }
        const size_t len = strlen(text), cap = len + 8;
        j->prompt = malloc(cap * sizeof *j->prompt);
        if (!j->prompt) goto oom;
        size_t n = 0;
        if (hone_tokenize(srv->model, text, len, true, special, j->prompt, cap, &n) != HONE_OK) {
            api_error_set(err, 400, "invalid_request_error", "prompt", "cannot tokenise the prompt: %s",
                          hone_last_error());
            return false;
        }
        j->n_prompt = (int32_t)n;
    }
    if (j->n_prompt == 0) {
        api_error_set(err, 400, "invalid_request_error", r->kind == API_CHAT ? "messages" : "prompt",
                      "the prompt is empty (no tokens)");
        return false;
    }
    if (j->n_prompt >= cfg->n_ctx_seq) {
        api_error_set(err, 400, "invalid_request_error", r->kind == API_CHAT ? "messages" : "prompt",
                      "the prompt has %d tokens; this server's context holds %d (prompt + completion)", j->n_prompt,
                      cfg->n_ctx_seq);
        err->code = "context_length_exceeded";
        return false;
    }
    /* max_tokens: as asked, else the server's cap; never past the context */
    const int32_t room = cfg->n_ctx_seq - j->n_prompt;
    j->max_tokens = r->max_tokens > 0 ? r->max_tokens : cfg->max_tokens;
    if (j->max_tokens > room) j->max_tokens = room;
    if (r->max_tokens == 0) {
        const int32_t fit = (cfg->n_cells - j->n_prompt) / r->n;
        if (j->max_tokens > fit && fit > 0) j->max_tokens = fit;
    }
    if (!r->seed_given) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        r->sampling.seed = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)j;
    }
    return true;
oom:
    api_error_set(err, 500, "server_error", NULL, "out of memory");
    return false;
}

static enum MHD_Result handle_generate(server *srv, struct MHD_Connection *c, api_kind kind, const char *method,
                                       const char *url, conn_ctx *cc) {
    api_error err = {0};
    job *j = job_new();
    if (!j) return send_json(c, 500, NULL);
    if (!api_request_parse(kind, cc->body, cc->len, srv->cfg.max_tokens, &j->req, &err) ||
        !prepare_job(srv, j, &err)) {
        job_release(srv, j);
        pthread_mutex_lock(&srv->mu);
        srv->m.requests_error++;
        pthread_mutex_unlock(&srv->mu);
        return send_error(srv, c, method, url, &err);
    }
    if (scheduler_submit(srv, j, &err)) {
        job_release(srv, j);
        return send_error(srv, c, method, url, &err);
    }
    if (j->req.stream) {
        stream_ctx *s = calloc(1, sizeof *s);
        struct MHD_Response *r = s ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s,
                                                                       stream_free)
                                   : NULL;
        if (!r) {
            free(s);
            cancel_job(srv, j);
            job_release(srv, j);
            return MHD_NO;
        }
        s->srv = srv;
        s->j = j; /* the stream now owns this reference */
        s->conn = c;
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
        enum MHD_Result ret = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    /* not streamed: wait for the whole reply, watching for the client leaving */
    pthread_mutex_lock(&srv->mu);
    bool gone = false;
    while (j->state == JOB_QUEUED || j->state == JOB_RUNNING) {
        wait_slice(j, &srv->mu);
        if (j->state != JOB_QUEUED && j->state != JOB_RUNNING) break;
        pthread_mutex_unlock(&srv->mu);
        gone = client_gone(c);
        pthread_mutex_lock(&srv->mu);
        if (gone) {
            j->cancelled = true;
            pthread_cond_signal(&srv->sched_cv);
            break;
        }
    }
    char *body = NULL;
    api_error jerr = j->err;
    const bool failed = j->state == JOB_FAILED;
    if (!gone && !failed) body = response_full(srv, j);
    pthread_mutex_unlock(&srv->mu);
    job_release(srv, j);
    if (gone) return MHD_NO;
    if (failed) return send_error(srv, c, method, url, &jerr);
    return send_json(c, 200, body);
}

static enum MHD_Result handle_tokenize(server *srv, struct MHD_Connection *c, const char *method, const char *url,
                                       conn_ctx *cc) {
    api_error err = {0};
    char *content = NULL;
    bool add_special, parse_special;
    if (!api_tokenize_parse(cc->body, cc->len, &content, &add_special, &parse_special, &err))
        return send_error(srv, c, method, url, &err);
    const size_t len = strlen(content), cap = len + 8;
    hone_token *ids = malloc(cap * sizeof *ids);
    size_t n = 0;
    if (!ids || hone_tokenize(srv->model, content, len, add_special, parse_special, ids, cap, &n) != HONE_OK) {
        free(ids);
        free(content);
        api_error_set(&err, 400, "invalid_request_error", "content", "cannot tokenise: %s", hone_last_error());
        return send_error(srv, c, method, url, &err);
    }
    cJSON *root = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(root, "tokens");
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    free(ids);
    free(content);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return send_json(c, 200, s);
}

static enum MHD_Result handle_detokenize(server *srv, struct MHD_Connection *c, const char *method, const char *url,
                                         conn_ctx *cc) {
    api_error err = {0};
    hone_token *ids = NULL;
    size_t n = 0;
    if (!api_detokenize_parse(cc->body, cc->len, &ids, &n, hone_model_n_vocab(srv->model), &err))
        return send_error(srv, c, method, url, &err);
    size_t cap = 64 + n * 16, len = 0;
    char *text = malloc(cap);
    for (size_t i = 0; text && i < n; i++) {
        int32_t k = hone_token_to_piece(srv->model, ids[i], false, text + len, cap - len);
        if (k < 0) {
            cap = cap * 2 + (size_t)-k;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                text = NULL;
                break;
            }
            text = t;
            i--;
            continue;
        }
        len += (size_t)k;
    }
    free(ids);
    if (!text) return send_json(c, 500, NULL);
    text[len < cap ? len : cap - 1] = '\0';
    cJSON *root = cJSON_CreateObject();
    /* pieces may hold invalid UTF-8 only for broken id sequences; cJSON copies bytes as they are */
    cJSON_AddStringToObject(root, "content", text);
    free(text);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return send_json(c, 200, s);
}

/* ---- routing ------------------------------------------------------------- */

static bool authorized(server *srv, struct MHD_Connection *c) {
    const char *key = srv->cfg.api_key;
    if (!key || !*key) return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0) return false;
    h += 7;
    const size_t a = strlen(h), b = strlen(key);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a; i++) diff |= (unsigned char)h[i] ^ (unsigned char)key[i % (b ? b : 1)];
    return diff == 0;
}

static bool is(const char *url, const char *a, const char *b) {
    return strcmp(url, a) == 0 || (b && strcmp(url, b) == 0);
}

static enum MHD_Result route(server *srv, struct MHD_Connection *c, const char *url, const char *method,
                             conn_ctx *cc) {
    api_error err = {0};
    const bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, post = strcmp(method, "POST") == 0;
    if (strcmp(method, "OPTIONS") == 0) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
        MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        enum MHD_Result ret = MHD_queue_response(c, 204, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (is(url, "/", "/index.html")) {
        if (!get) goto wrong_method;
        return send_buf(c, 200, "text/html; charset=utf-8", strdup(WEB_PAGE_HTML), NULL);
    }
    pthread_mutex_lock(&srv->mu);
    const bool ready = srv->model != NULL && srv->sched_running;
    pthread_mutex_unlock(&srv->mu);
    if (is(url, "/health", "/v1/health")) {
        if (!get) goto wrong_method;
        return send_buf(c, ready ? 200 : 503, "application/json",
                        strdup(ready ? "{\"status\":\"ok\"}" : "{\"status\":\"loading\"}"), ready ? NULL : "1");
    }
    if (cc->too_large) {
        api_error_set(&err, 413, "invalid_request_error", NULL, "the request body exceeds %lld bytes",
                      (long long)srv->cfg.max_body);
        return send_error(srv, c, method, url, &err);
    }
    if (!authorized(srv, c)) {
        api_error_set(&err, 401, "invalid_request_error", NULL, "invalid or missing API key (Authorization: Bearer KEY)");
        err.code = "invalid_api_key";
        return send_error(srv, c, method, url, &err);
    }
    if (is(url, "/metrics", NULL)) {
        if (!get) goto wrong_method;
        pthread_mutex_lock(&srv->mu);
        metrics snap = srv->m;
        pthread_mutex_unlock(&srv->mu);
        return send_buf(c, 200, "text/plain; version=0.0.4", metrics_render(&snap, ready), NULL);
    }
    const bool known = is(url, "/v1/models", "/models") || is(url, "/v1/completions", "/completions") ||
                       is(url, "/v1/chat/completions", "/chat/completions") || is(url, "/tokenize", NULL) ||
                       is(url, "/detokenize", NULL);
    if (!known) {
        api_error_set(&err, 404, "invalid_request_error", NULL, "no such endpoint: %s %.200s", method, url);
        err.code = "not_found";
        return send_error(srv, c, method, url, &err);
    }
    if (!ready) {
        api_error_set(&err, 503, "server_error", NULL, "the model is still loading");
        return send_error(srv, c, method, url, &err);
    }
    if (is(url, "/v1/models", "/models")) {
        if (!get) goto wrong_method;
        return send_json(c, 200, response_models(srv));
    }
    if (!post) goto wrong_method;
    if (is(url, "/v1/completions", "/completions")) return handle_generate(srv, c, API_COMPLETION, method, url, cc);
    if (is(url, "/v1/chat/completions", "/chat/completions")) return handle_generate(srv, c, API_CHAT, method, url, cc);
    if (is(url, "/tokenize", NULL)) return handle_tokenize(srv, c, method, url, cc);
    return handle_detokenize(srv, c, method, url, cc);
wrong_method:
    api_error_set(&err, 405, "invalid_request_error", NULL, "method %s is not allowed on %.200s", method, url);
    return send_error(srv, c, method, url, &err);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    server *srv = cls;
    conn_ctx *cc = *con_cls;
    if (!cc) {
        cc = calloc(1, sizeof *cc);
        if (!cc) return MHD_NO;
        *con_cls = cc;
        pthread_mutex_lock(&srv->mu);
        srv->n_open++;
        pthread_mutex_unlock(&srv->mu);
        return MHD_YES;
    }
    if (*upload_size) {
        if (!cc->too_large) {
            if ((int64_t)(cc->len + *upload_size) > srv->cfg.max_body) {
                cc->too_large = true;
                free(cc->body);
                cc->body = NULL;
                cc->len = 0;
            } else {
                char *b = realloc(cc->body, cc->len + *upload_size + 1);
                if (!b) return MHD_NO;
                memcpy(b + cc->len, upload, *upload_size);
                cc->body = b;
                cc->len += *upload_size;
                b[cc->len] = '\0';
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (cc->started) return MHD_NO;
    cc->started = true;
    return route(srv, c, url, method, cc);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)c;
    (void)toe;
    server *srv = cls;
    conn_ctx *cc = *con_cls;
    if (!cc) return;
    pthread_mutex_lock(&srv->mu);
    srv->n_open--;
    pthread_mutex_unlock(&srv->mu);
    free(cc->body);
    free(cc);
    *con_cls = NULL;
}

/* The listening address: an IPv4 or IPv6 literal or a host name (resolved, first answer taken);
 * "localhost" means the IPv4 loopback, as it did before names were resolved. */
static hone_status listen_addr(const char *host, int port, struct sockaddr_storage *out, socklen_t *len) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    const int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res)
        return hone_err(HONE_ERR_INVALID_ARG, "--host '%s' is not an address this machine can listen on (%s)", host,
                        rc ? gai_strerror(rc) : "no address");
    memset(out, 0, sizeof *out);
    memcpy(out, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    if (out->ss_family == AF_INET)
        ((struct sockaddr_in *)out)->sin_port = htons((uint16_t)port);
    else if (out->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)out)->sin6_port = htons((uint16_t)port);
    else
        return hone_err(HONE_ERR_INVALID_ARG, "--host '%s': neither an IPv4 nor an IPv6 address", host);
    return HONE_OK;
}

hone_status http_start(server *srv) {
    struct sockaddr_storage addr;
    socklen_t addr_len = 0;
    const char *host = srv->cfg.host && *srv->cfg.host ? srv->cfg.host : "127.0.0.1";
    hone_status st = listen_addr(host, srv->cfg.port, &addr, &addr_len);
    if (st) return st;
    const unsigned v6 = addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0;
    const unsigned conn_limit = (unsigned)(srv->cfg.max_queue + srv->cfg.max_seqs + 64);
    srv->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | v6,
                                0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT,
                                (unsigned)srv->cfg.timeout_s, MHD_OPTION_CONNECTION_LIMIT, conn_limit,
                                MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u, MHD_OPTION_END);
    if (!srv->mhd) return hone_err(HONE_ERR_IO, "cannot listen on %s:%d (port in use?)", host, srv->cfg.port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_LISTEN_FD);
    srv->port = srv->cfg.port;
    if (di) {
        struct sockaddr_storage got;
        socklen_t gl = sizeof got;
        if (getsockname(di->listen_fd, (struct sockaddr *)&got, &gl) == 0)
            srv->port = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                                         : ((struct sockaddr_in *)&got)->sin_port);
    }
    return HONE_OK;
}
