/*
 * metrics.c - GET /metrics: the server's counters in Prometheus' text format.
 *
 * The scheduler updates the metrics struct under server.mu; rendering takes
 * a copy under the same lock, so one scrape is a consistent snapshot.
 * Latencies are histograms (time to first token, time between tokens of a
 * stream); KV use is reported in cells, and kv_leaked (cells used by no
 * live sequence) must always be 0 - the load test checks it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server_internal.h"

const double METRICS_LATENCY_BOUNDS[HIST_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15,
                                                     0.25,  0.5,  1,     2.5,  5,     10,  30};
const double METRICS_BATCH_BOUNDS[HIST_BUCKETS] = {1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 256, 512};

void histogram_add(histogram *h, double v, const double *bounds) {
    int b = 0;
    while (b < HIST_BUCKETS && v > bounds[b]) b++;
    h->count[b]++;
    h->sum += v;
    h->n++;
}

typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} outbuf;

static void out(outbuf *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void out(outbuf *o, const char *fmt, ...) {
    if (o->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(o->p + o->n, o->cap - o->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            o->oom = true;
            return;
        }
        if ((size_t)k < o->cap - o->n) {
            o->n += (size_t)k;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)k;
        char *p = realloc(o->p, cap);
        if (!p) {
            o->oom = true;
            return;
        }
        o->p = p;
        o->cap = cap;
    }
}

static void metric(outbuf *o, const char *name, const char *type, const char *help, double v) {
    out(o, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static void hist(outbuf *o, const char *name, const char *help, const histogram *h, const double *bounds) {
    out(o, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        cum += h->count[b];
        out(o, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[b], (unsigned long long)cum);
    }
    cum += h->count[HIST_BUCKETS];
    out(o, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.17g\n%s_count %llu\n", name, (unsigned long long)cum, name, h->sum,
        name, (unsigned long long)h->n);
}

static double rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    long size = 0, res = 0;
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
    fclose(f);
    return (double)res * (double)sysconf(_SC_PAGESIZE);
}

char *metrics_render(const metrics *m, bool ready) {
    outbuf o = {malloc(8192), 0, 8192, false};
    if (!o.p) return NULL;
    o.p[0] = '\0';
    metric(&o, "hone_ready", "gauge", "1 once the model is loaded", ready);
    out(&o, "# HELP hone_requests_total Completion requests by outcome\n# TYPE hone_requests_total counter\n");
    out(&o, "hone_requests_total{outcome=\"ok\"} %llu\n", (unsigned long long)m->requests_ok);
    out(&o, "hone_requests_total{outcome=\"error\"} %llu\n", (unsigned long long)m->requests_error);
    out(&o, "hone_requests_total{outcome=\"cancelled\"} %llu\n", (unsigned long long)m->requests_cancelled);
    out(&o, "hone_requests_total{outcome=\"rejected\"} %llu\n", (unsigned long long)m->requests_rejected);
    metric(&o, "hone_prompt_tokens_total", "counter", "Prompt tokens of admitted requests", (double)m->prompt_tokens);
    metric(&o, "hone_prompt_tokens_cached_total", "counter", "Prompt tokens served from the prefix cache",
           (double)m->cached_prompt_tokens);
    metric(&o, "hone_generated_tokens_total", "counter", "Generated tokens", (double)m->generated_tokens);
    metric(&o, "hone_decode_steps_total", "counter", "Forward steps (hone_decode calls)", (double)m->decode_steps);
    metric(&o, "hone_decode_tokens_total", "counter", "Tokens evaluated by forward steps", (double)m->decode_tokens);
    metric(&o, "hone_batch_size", "gauge", "Tokens in the last forward step", m->last_batch);
    metric(&o, "hone_queue_depth", "gauge", "Requests waiting for admission", m->queue_depth);
    metric(&o, "hone_running_requests", "gauge", "Requests being processed", m->running_jobs);
    metric(&o, "hone_running_sequences", "gauge", "Sequences being processed", m->running_seqs);
    metric(&o, "hone_kv_cells_used", "gauge", "KV cells held by any sequence", m->kv_used);
    metric(&o, "hone_kv_cells_total", "gauge", "KV cells in the pool", m->kv_total);
    metric(&o, "hone_kv_cells_reserved", "gauge", "KV cells reserved by running requests", m->kv_reserved);
    metric(&o, "hone_kv_cells_prefix_cache", "gauge", "KV cells held by prefix-cache entries", m->kv_cached);
    metric(&o, "hone_kv_cells_leaked", "gauge", "KV cells held by no live sequence (must be 0)", m->kv_leaked);
    metric(&o, "hone_prefix_cache_entries", "gauge", "Prompts kept for prefix reuse", m->cache_entries);
    hist(&o, "hone_time_to_first_token_seconds", "Time from arrival to the first generated token", &m->ttft,
         METRICS_LATENCY_BOUNDS);
    hist(&o, "hone_inter_token_seconds", "Time between consecutive tokens of a sequence", &m->itl,
         METRICS_LATENCY_BOUNDS);
    hist(&o, "hone_batch_tokens", "Tokens per forward step", &m->batch, METRICS_BATCH_BOUNDS);
    metric(&o, "process_resident_memory_bytes", "gauge", "Resident memory", rss_bytes());
    if (o.oom) {
        free(o.p);
        return NULL;
    }
    return o.p;
}
