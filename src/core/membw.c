/*
 * membw.c - streaming-read bandwidth of this machine (see membw.h).
 *
 * Each thread reads its own contiguous slice with wide loads into several
 * independent accumulators, so the loop is limited by memory, not by a
 * dependency chain or the load ports. Passes are separated by barriers and
 * timed by the caller's thread (thread 0) from the start barrier to the end
 * barrier, which includes the slowest thread: what a matrix-vector product
 * split by rows over the same threads would see.
 */
#include "core/membw.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/status.h"

#define PAGE 4096u

struct membw {
    unsigned char *buf;
    size_t bytes;
};

/* 16-byte vectors: SSE2 on x86-64 and NEON on aarch64 are baseline, and two
 * such loads per cycle already exceed any DRAM bandwidth by a wide margin. */
typedef uint64_t v2u64 __attribute__((vector_size(16)));

typedef struct {
    membw *m;
    int n_threads;
    int passes;
    pthread_barrier_t bar;
    /* Workers wait for `go` before the first barrier, so that when starting
     * one of them fails the others can be told to quit instead of waiting on
     * a barrier that would never fill. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go; /* 0 wait, 1 run, -1 quit */
} run_state;

typedef struct {
    run_state *rs;
    int idx;
    uint64_t sink; /* keeps the reads from being optimised away */
} worker;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Slice [*lo, *hi) of thread idx: whole pages, the remainder to the last. */
static void slice(const membw *m, int n, int idx, size_t *lo, size_t *hi) {
    size_t pages = m->bytes / PAGE, per = pages / (size_t)n;
    *lo = (size_t)idx * per * PAGE;
    *hi = idx == n - 1 ? m->bytes : *lo + per * PAGE;
}

/* Eight accumulators = 128 bytes (two cache lines) per iteration. Pattern 1
 * also prefetches 256 bytes ahead in software; pattern 2 reads the two halves
 * of the range side by side (two streams). Which of the three reads fastest
 * differs from machine to machine and from run to run (on the development
 * machine, one core: 18-21 GB/s each), and decode kernels that prefetch in
 * software reach the best of them, so the roofline is the best pass of any. */
#define MEMBW_PATTERNS 3
static uint64_t read_range(const unsigned char *p, size_t n, int pattern) {
    const v2u64 *v = (const v2u64 *)p;
    const size_t nv = n / sizeof(v2u64);
    /* each step reads four vectors at x + i and four at y + i: the next four (one stream), or the
     * same place in the second half (two streams) */
    const size_t half = nv / 2 & ~(size_t)3;
    const v2u64 *x = v, *y = pattern == 2 ? v + half : v + 4;
    const size_t step = pattern == 2 ? 4 : 8, steps = pattern == 2 ? half / 4 : nv / 8;
    v2u64 a0 = {0, 0}, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    size_t i = 0;
    for (size_t k = 0; k < steps; k++, i += step) {
        if (pattern == 1) {
            __builtin_prefetch((const char *)(x + i) + 256, 0, 3);
            __builtin_prefetch((const char *)(x + i) + 320, 0, 3);
        }
        a0 += x[i + 0];
        a1 += x[i + 1];
        a2 += x[i + 2];
        a3 += x[i + 3];
        a4 += y[i + 0];
        a5 += y[i + 1];
        a6 += y[i + 2];
        a7 += y[i + 3];
    }
    for (i = pattern == 2 ? 2 * half : steps * 8; i < nv; i++) a0 += v[i];
    v2u64 s = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
    return s[0] ^ s[1];
}

static void *worker_main(void *arg) {
    worker *w = arg;
    run_state *rs = w->rs;
    size_t lo, hi;
    slice(rs->m, rs->n_threads, w->idx, &lo, &hi);
    pthread_mutex_lock(&rs->mu);
    while (rs->go == 0) pthread_cond_wait(&rs->cv, &rs->mu);
    int go = rs->go;
    pthread_mutex_unlock(&rs->mu);
    if (go < 0) return NULL;
    for (int p = 0; p < rs->passes; p++) {
        pthread_barrier_wait(&rs->bar);
        w->sink += read_range(rs->m->buf + lo, hi - lo, p % MEMBW_PATTERNS);
        pthread_barrier_wait(&rs->bar);
    }
    return NULL;
}

hone_status membw_create(size_t bytes, membw **out) {
    *out = NULL;
    bytes -= bytes % PAGE;
    if (bytes < ((size_t)1 << 20))
        return hone_err(HONE_ERR_INVALID_ARG, "membw: buffer of %zu bytes is below the 1 MiB minimum", bytes);
    membw *m = calloc(1, sizeof *m);
    if (!m) return hone_err(HONE_ERR_NOMEM, "membw: out of memory");
    m->buf = aligned_alloc(PAGE, bytes);
    if (!m->buf) {
        free(m);
        return hone_err(HONE_ERR_NOMEM, "membw: cannot allocate a %zu MiB buffer", bytes >> 20);
    }
    /* Write every page so the timed passes measure DRAM, not page faults
     * (and not the shared zero page an untouched mapping would read). */
    memset(m->buf, 0x5a, bytes);
    m->bytes = bytes;
    *out = m;
    return HONE_OK;
}

void membw_free(membw *m) {
    if (!m) return;
    free(m->buf);
    free(m);
}

size_t membw_bytes(const membw *m) { return m->bytes; }

hone_status membw_read_gbps(membw *m, int n_threads, int passes, double *gbps) {
    *gbps = 0;
    if (n_threads < 1 || n_threads > MEMBW_MAX_THREADS)
        return hone_err(HONE_ERR_INVALID_ARG, "membw: thread count %d outside [1, %d]", n_threads,
                        MEMBW_MAX_THREADS);
    if (passes < 1) return hone_err(HONE_ERR_INVALID_ARG, "membw: pass count %d is below 1", passes);
    if ((size_t)n_threads * PAGE > m->bytes)
        return hone_err(HONE_ERR_INVALID_ARG, "membw: %d threads need at least %d pages", n_threads, n_threads);

    run_state rs = {.m = m, .n_threads = n_threads, .passes = passes};
    if (pthread_barrier_init(&rs.bar, NULL, (unsigned)n_threads) != 0)
        return hone_err(HONE_ERR_RUNTIME, "membw: pthread_barrier_init failed");
    worker *ws = calloc((size_t)n_threads, sizeof *ws);
    pthread_t *tids = calloc((size_t)n_threads, sizeof *tids);
    if (!ws || !tids) {
        free(ws);
        free(tids);
        pthread_barrier_destroy(&rs.bar);
        return hone_err(HONE_ERR_NOMEM, "membw: out of memory");
    }
    pthread_mutex_init(&rs.mu, NULL);
    pthread_cond_init(&rs.cv, NULL);
    for (int i = 0; i < n_threads; i++) {
        ws[i].rs = &rs;
        ws[i].idx = i;
    }
    int started = 1;
    while (started < n_threads && pthread_create(&tids[started], NULL, worker_main, &ws[started]) == 0) started++;
    hone_status st = HONE_OK;
    if (started < n_threads)
        st = hone_err(HONE_ERR_RUNTIME, "membw: could not start thread %d of %d", started + 1, n_threads);
    pthread_mutex_lock(&rs.mu);
    rs.go = st == HONE_OK ? 1 : -1;
    pthread_cond_broadcast(&rs.cv);
    pthread_mutex_unlock(&rs.mu);

    double best = 0;
    if (st == HONE_OK) {
        size_t lo, hi;
        slice(m, n_threads, 0, &lo, &hi);
        for (int p = 0; p < passes; p++) {
            pthread_barrier_wait(&rs.bar);
            double t0 = now_s();
            ws[0].sink += read_range(m->buf + lo, hi - lo, p % MEMBW_PATTERNS);
            pthread_barrier_wait(&rs.bar);
            double dt = now_s() - t0;
            if (dt > 0 && (double)m->bytes / dt > best) best = (double)m->bytes / dt;
        }
    }
    for (int i = 1; i < started; i++) pthread_join(tids[i], NULL);
    /* Publish the sinks through a volatile so the reads count as used. */
    volatile uint64_t sink = 0;
    for (int i = 0; i < n_threads; i++) sink += ws[i].sink;
    (void)sink;
    free(ws);
    free(tids);
    pthread_cond_destroy(&rs.cv);
    pthread_mutex_destroy(&rs.mu);
    pthread_barrier_destroy(&rs.bar);
    *gbps = best * 1e-9;
    return st;
}
