/*
 * server.c - the server's life cycle: configuration defaults, start (HTTP
 * first, so /health can say "loading"), attaching the model (session +
 * scheduler thread), draining on SIGTERM and stopping. See server.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"
#include "server/server_internal.h"

server_config server_default_config(void) {
    server_config c;
    memset(&c, 0, sizeof c);
    c.host = "127.0.0.1";
    c.port = 8080;
    c.model_name = "hone";
    c.max_body = 1 << 20;
    c.max_tokens = 4096;
    c.max_seqs = 64;
    c.max_queue = 256;
    c.n_cells = 16384;
    c.n_ctx_seq = 4096;
    c.n_batch = 512;
    c.cache_entries = 8;
    c.timeout_s = 60;
    c.drain_s = 10;
    return c;
}

hone_status server_start(const server_config *cfg, server **out) {
    *out = NULL;
    if (cfg->max_seqs < 1 || cfg->max_queue < 0 || cfg->n_cells < 16 || cfg->n_batch < 2 || cfg->max_tokens < 1 ||
        cfg->max_body < 64)
        return hone_err(HONE_ERR_INVALID_ARG, "server: a limit is out of range (max_seqs %d, kv cells %d, batch %d)",
                        cfg->max_seqs, cfg->n_cells, cfg->n_batch);
    server *srv = calloc(1, sizeof *srv);
    if (!srv) return hone_err(HONE_ERR_NOMEM, "out of memory starting the server");
    srv->cfg = *cfg;
    pthread_mutex_init(&srv->mu, NULL);
    pthread_cond_init(&srv->sched_cv, NULL);
    pthread_cond_init(&srv->idle_cv, NULL);
    srv->m.kv_total = cfg->n_cells;
    hone_status st = http_start(srv);
    if (st) {
        pthread_mutex_destroy(&srv->mu);
        pthread_cond_destroy(&srv->sched_cv);
        pthread_cond_destroy(&srv->idle_cv);
        free(srv);
        return st;
    }
    *out = srv;
    return HONE_OK;
}

int server_port(const server *srv) { return srv->port; }

hone_status server_attach_model(server *srv, const hone_model *model) {
    const int32_t train = hone_model_n_ctx_train(model);
    if (srv->cfg.kv_mem > 0) {
        const size_t per = hone_kv_bytes_per_cell(model, srv->cfg.kv_type);
        if (per == 0)
            return hone_err(HONE_ERR_UNSUPPORTED, "this model's head size does not fit a %s KV cache",
                            srv->cfg.kv_type == HONE_KV_Q8_0 ? "Q8_0" : "F16");
        const int64_t cells = per ? srv->cfg.kv_mem / (int64_t)per : 0;
        if (cells < 16 || cells > (1 << 20))
            return hone_err(HONE_ERR_INVALID_ARG, "--kv-mem %lld bytes gives %lld KV cells of %zu bytes (allowed 16..%d)",
                            (long long)srv->cfg.kv_mem, (long long)cells, per, 1 << 20);
        srv->cfg.n_cells = (int32_t)cells;
        pthread_mutex_lock(&srv->mu);
        srv->m.kv_total = srv->cfg.n_cells;
        pthread_mutex_unlock(&srv->mu);
    }
    srv->model = model; /* read by scheduler_create; HTTP sees it only once sched_running */
    if (train > 0 && srv->cfg.n_ctx_seq > train) srv->cfg.n_ctx_seq = train;
    if (srv->cfg.n_ctx_seq > srv->cfg.n_cells) srv->cfg.n_ctx_seq = srv->cfg.n_cells;
    scheduler *sc;
    hone_status st = scheduler_create(srv, &sc);
    if (st) return st;
    pthread_mutex_lock(&srv->mu);
    srv->sched = sc;
    pthread_mutex_unlock(&srv->mu);
    if (pthread_create(&srv->sched_thread, NULL, scheduler_main, srv) != 0) {
        srv->sched = NULL;
        scheduler_free(sc);
        return hone_err(HONE_ERR_RUNTIME, "cannot start the scheduler thread");
    }
    pthread_mutex_lock(&srv->mu);
    srv->sched_running = true;
    pthread_mutex_unlock(&srv->mu);
    return HONE_OK;
}

void server_drain(server *srv) {
    pthread_mutex_lock(&srv->mu);
    srv->draining = true;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += srv->cfg.drain_s;
    while (srv->sched_running && (srv->n_queued > 0 || srv->n_running > 0))
        if (pthread_cond_timedwait(&srv->idle_cv, &srv->mu, &ts) != 0) break;
    pthread_mutex_unlock(&srv->mu);
}

void server_stop(server *srv) {
    if (!srv) return;
    pthread_mutex_lock(&srv->mu);
    srv->draining = true;
    srv->stopping = true;
    const bool running = srv->sched_running;
    pthread_cond_broadcast(&srv->sched_cv);
    pthread_mutex_unlock(&srv->mu);
    /* the scheduler fails what is left; waiting connections then answer
     * and end, so MHD's connection threads can be joined */
    if (running) pthread_join(srv->sched_thread, NULL);
    /* let connections send what they hold (a stream's last event and the
     * chunked terminator) before MHD closes them; bounded, for slow peers */
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&srv->mu);
        const int32_t open = srv->n_open;
        pthread_mutex_unlock(&srv->mu);
        if (open == 0) break;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    if (srv->mhd) MHD_stop_daemon(srv->mhd);
    pthread_mutex_lock(&srv->mu);
    srv->sched_running = false;
    pthread_mutex_unlock(&srv->mu);
    scheduler_free(srv->sched);
    pthread_mutex_destroy(&srv->mu);
    pthread_cond_destroy(&srv->sched_cv);
    pthread_cond_destroy(&srv->idle_cv);
    free(srv);
}
