/*
 * server.h - `hone serve`: an OpenAI-compatible HTTP server over one model
 * with continuous batching. This is what tools/hone/cmd_serve.c sees.
 *
 * Life cycle: server_start() opens the listening socket at once (GET /health
 * answers 503 "loading" until a model is attached), server_attach_model()
 * creates the session and the scheduler thread that owns it, server_drain()
 * turns new requests away and waits for the running ones, server_stop()
 * ends everything and frees the server. The model belongs to the caller and
 * must outlive the server.
 *
 * Inside (see server_internal.h): http.c (libmicrohttpd, one thread per
 * connection), api_request.c (JSON -> validated request), api_response.c
 * (response JSON), scheduler.c (continuous batching over hone_decode),
 * prefix_cache.c (shared KV prefixes), metrics.c (Prometheus text).
 */
#ifndef HONE_SERVER_H
#define HONE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "hone.h"

typedef struct {
    const char *host;       /* listen address (default 127.0.0.1) */
    int port;               /* 0 = any free port (see server_port) */
    const char *api_key;    /* NULL: no authentication */
    const char *model_name; /* the id /v1/models reports */
    int64_t max_body;       /* largest request body in bytes */
    int32_t max_tokens;     /* largest max_tokens a request may ask for */
    int32_t max_seqs;       /* sequences decoding at once (n > 1 requests use n) */
    int32_t max_queue;      /* requests waiting for admission before 429 */
    int64_t kv_mem;         /* KV cache bytes; > 0 sets n_cells from the model's cell size */
    int32_t n_cells;        /* KV cells (when kv_mem is 0) */
    int32_t kv_type;        /* hone_kv_type of the cache */
    int32_t n_ctx_seq;      /* longest sequence (prompt + generation) */
    int32_t n_batch;        /* most tokens per forward step */
    int32_t n_threads;      /* 0 = all CPUs */
    int32_t cache_entries;  /* prompts kept for prefix reuse (0 = off) */
    int32_t timeout_s;      /* idle connection timeout */
    int32_t drain_s;        /* seconds server_drain waits before cancelling */
    bool quiet;             /* no per-request log lines */
} server_config;

typedef struct server server;

server_config server_default_config(void);
/* Start listening; *out receives the server. Errors: hone_status + message. */
hone_status server_start(const server_config *cfg, server **out);
/* Port actually bound (useful with port 0). */
int server_port(const server *srv);
/* Create the session and the scheduler; /health turns 200. */
hone_status server_attach_model(server *srv, const hone_model *model);
/* Refuse new requests (503) and wait up to drain_s for running ones, then
 * cancel what is left (streams get an error event and end cleanly). */
void server_drain(server *srv);
void server_stop(server *srv);

#endif
