/*
 * server_internal.h - what the parts of the server share: the parsed
 * request, the job that carries it from an HTTP thread to the scheduler and
 * the output back, the metrics, and the server object itself.
 *
 * Threads: libmicrohttpd runs one thread per connection; exactly one
 * scheduler thread owns the hone_session. Everything shared between them
 * (queue, job outputs, flags, metrics) is guarded by server.mu; each job has
 * its own condition variable that the scheduler signals when output arrives.
 * A job is reference-counted (HTTP side + scheduler) and freed by the last
 * one to let go.
 */
#ifndef HONE_SERVER_INTERNAL_H
#define HONE_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hone.h"
#include "server/server.h"

#define HONE_SERVER_VERSION "0.1.0"
#define API_MAX_N 16        /* choices per request */
#define API_MAX_STOP 4      /* stop strings per request (OpenAI's limit) */
#define API_MAX_TOP_LOGPROBS 20
#define API_MAX_MESSAGES 256

/* ---- a parsed request (api_request.c) ---------------------------------- */

typedef enum { API_COMPLETION = 0, API_CHAT = 1 } api_kind;

typedef struct {
    api_kind kind;
    bool stream;
    bool include_usage;     /* stream_options.include_usage */
    /* chat: messages (pointers into `json`); completion: prompt */
    hone_chat_message msgs[API_MAX_MESSAGES];
    size_t n_msgs;
    char *msg_text[API_MAX_MESSAGES]; /* owned copies when content was an array of parts */
    const char *prompt;               /* completion text prompt (NULL when prompt_ids) */
    hone_token *prompt_ids;           /* completion given as token ids (owned) */
    size_t n_prompt_ids;
    bool parse_special; /* control-token text in the prompt becomes tokens */
    int32_t max_tokens; /* 0 = not given */
    int32_t n;
    const char *stop[API_MAX_STOP];
    size_t n_stop;
    bool logprobs;
    int32_t top_logprobs;
    bool seed_given;
    bool ignore_eos; /* extension (as llama-server): end-of-generation tokens are never sampled */
    hone_sampler_params sampling;
    void *json; /* the cJSON tree the pointers above point into (owned) */
} api_request;

typedef struct {
    int status; /* HTTP status */
    char message[256];
    const char *type;  /* "invalid_request_error", ... */
    const char *param; /* offending field or NULL */
    const char *code;  /* machine-readable code or NULL */
} api_error;

/* Parse and validate a request body. On failure fills err (4xx) and returns
 * false; on success the caller owns req and frees it with api_request_free.
 * max_tokens_cap: the server's limit. Never crashes on any input. */
bool api_request_parse(api_kind kind, const char *body, size_t len, int32_t max_tokens_cap, api_request *req,
                       api_error *err);
void api_request_free(api_request *req);
void api_error_set(api_error *err, int status, const char *type, const char *param, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* {"error": {...}} as a malloc'd string. */
char *api_error_json(const api_error *err);

/* /tokenize and /detokenize bodies. */
bool api_tokenize_parse(const char *body, size_t len, char **content, bool *add_special, bool *parse_special,
                        api_error *err);
bool api_detokenize_parse(const char *body, size_t len, hone_token **ids, size_t *n, int32_t n_vocab,
                          api_error *err);

/* ---- a job: one request on its way through the scheduler --------------- */

typedef struct {
    hone_token id;
    float logprob;
    int32_t n_top;
    hone_token top_id[API_MAX_TOP_LOGPROBS];
    float top_lp[API_MAX_TOP_LOGPROBS];
} tok_record;

/* One generated token's contribution to a choice's output: the text it
 * completed (text[start, end)) and, when asked, its log-probabilities. A
 * record with id -1 carries text released at the end of the sequence. */
typedef struct {
    size_t text_end;
    tok_record tok;
} out_record;

typedef struct {
    char *text;
    size_t text_len, text_cap;
    out_record *rec;
    size_t n_rec, rec_cap;
    const char *finish; /* NULL while running: "stop", "length" */
    int32_t n_gen;
} job_choice;

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED } job_state;

typedef struct job {
    struct job *next; /* queue link (server.mu) */
    int refs;
    uint64_t id;
    api_request req;
    hone_token *prompt; /* tokenised prompt */
    int32_t n_prompt;
    int32_t max_tokens; /* effective */
    int32_t reserve;    /* KV cells reserved at admission */
    char *prompt_text;  /* formatted prompt (chat template applied) */
    pthread_cond_t cv;
    /* shared, under server.mu */
    job_state state;
    bool cancelled; /* the client went away or the server is stopping */
    api_error err;  /* JOB_FAILED */
    job_choice choice[API_MAX_N];
    int32_t n_cached; /* prompt tokens that came from the prefix cache */
    double t_arrive, t_first, t_done;
    int64_t created; /* unix time of arrival (the "created" field) */
} job;

/* ---- metrics (metrics.c) ----------------------------------------------- */

#define HIST_BUCKETS 14

typedef struct {
    uint64_t count[HIST_BUCKETS + 1]; /* last = +Inf */
    double sum;
    uint64_t n;
} histogram;

typedef struct {
    uint64_t requests_ok, requests_error, requests_cancelled, requests_rejected;
    uint64_t prompt_tokens, generated_tokens, cached_prompt_tokens;
    uint64_t decode_steps, decode_tokens;
    int32_t last_batch;
    int32_t queue_depth, running_jobs, running_seqs;
    int32_t kv_used, kv_total, kv_reserved, kv_cached, kv_leaked;
    int32_t cache_entries;
    histogram ttft, itl, batch;
} metrics;

void histogram_add(histogram *h, double v, const double *bounds);
extern const double METRICS_LATENCY_BOUNDS[HIST_BUCKETS];
extern const double METRICS_BATCH_BOUNDS[HIST_BUCKETS];
/* Prometheus text exposition; malloc'd. */
char *metrics_render(const metrics *m, bool ready);

/* ---- the server -------------------------------------------------------- */

typedef struct scheduler scheduler;

struct server {
    server_config cfg;
    char host_buf[64];
    struct MHD_Daemon *mhd;
    int port;
    const hone_model *model; /* NULL while loading */
    scheduler *sched;
    pthread_t sched_thread;
    bool sched_running;

    pthread_mutex_t mu;
    pthread_cond_t sched_cv; /* wakes the scheduler: new job, cancellation, stop */
    pthread_cond_t idle_cv;  /* signalled when no job is queued or running */
    job *queue_head, *queue_tail;
    int32_t n_queued, n_running;
    int32_t n_open; /* HTTP requests between arrival and completion (incl. sending) */
    bool draining; /* new requests get 503 */
    bool stopping; /* scheduler: cancel everything and exit */
    uint64_t next_id;
    metrics m;
};

/* jobs */
job *job_new(void);
void job_release(server *srv, job *j); /* drop one reference (takes server.mu itself) */

/* scheduler.c: the thread body, and submission from HTTP threads. */
hone_status scheduler_create(server *srv, scheduler **out);
void scheduler_free(scheduler *sc);
void *scheduler_main(void *srv);
/* Queue a job (takes a reference). Returns 0, or an HTTP status (429 queue
 * full, 503 draining, 400 too large for the KV cache) with err filled. */
int scheduler_submit(server *srv, job *j, api_error *err);

/* api_response.c */
char *response_full(const server *srv, const job *j);
/* One SSE "data: ...\n\n" event for choice k's records [r0, r1) (role: first
 * chunk of a chat choice), or its finish chunk when finish != NULL. */
char *response_chunk(const server *srv, const job *j, int k, size_t r0, size_t r1, bool role, const char *finish);
char *response_usage_chunk(const server *srv, const job *j);
char *response_models(const server *srv);

/* http.c */
hone_status http_start(server *srv);

/* web_page.c */
extern const char WEB_PAGE_HTML[];

#endif
