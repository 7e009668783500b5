/*
 * test_threadpool.c - the session thread pool: every thread index runs once per job, barriers
 * separate phases, split sums do not depend on the thread count, thousands of back-to-back jobs,
 * workers that fell asleep wake up, and create/free in a loop (run under ASan for leaks).
 */
#include "core/threadpool.h"
#include "harness.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAX_T 9

typedef struct {
    atomic_int calls[MAX_T];
    atomic_int bad_nth;
    int want_nth;
} count_job;

static void count_fn(void *ctx, int ith, int nth) {
    count_job *j = ctx;
    if (nth != j->want_nth || ith < 0 || ith >= nth) {
        atomic_fetch_add(&j->bad_nth, 1);
        return;
    }
    atomic_fetch_add(&j->calls[ith], 1);
}

/* A sum over [0, n) the way hone's kernels split work: fixed groups of 64 elements, each summed
 * by whichever thread owns it (parts are aligned to whole groups), then the group sums added in
 * order; the bits must not depend on the thread count. */
typedef struct {
    const float *x;
    long n;
    float *group_sums; /* one per group of 64 */
} sum_job;

static void sum_fn(void *ctx, int ith, int nth) {
    sum_job *j = ctx;
    long b, e;
    threadpool_split_aligned(j->n, 64, ith, nth, &b, &e);
    for (long g0 = b; g0 < e; g0 += 64) {
        float s = 0.0f;
        for (long i = g0; i < g0 + 64 && i < e; i++) s += j->x[i];
        j->group_sums[g0 / 64] = s;
    }
}

static float split_sum(threadpool *p, const float *x, long n, float *groups) {
    sum_job j = {x, n, groups};
    threadpool_run(p, sum_fn, &j);
    float s = 0.0f;
    for (long g = 0; g < (n + 63) / 64; g++) s += groups[g];
    return s;
}

/* Phases separated by barriers: in phase k every thread writes its slot, then after the barrier
 * reads every other thread's slot of phase k; a missing barrier shows up as a stale value. */
typedef struct {
    threadpool *p;
    int phases;
    int slot[MAX_T];
    atomic_int errors;
} phase_job;

static void phase_fn(void *ctx, int ith, int nth) {
    phase_job *j = ctx;
    for (int k = 1; k <= j->phases; k++) {
        j->slot[ith] = k * 1000 + ith;
        threadpool_barrier(j->p);
        for (int i = 0; i < nth; i++)
            if (j->slot[i] != k * 1000 + i) atomic_fetch_add(&j->errors, 1);
        threadpool_barrier(j->p); /* nobody overwrites a slot before all have read it */
    }
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void check_pool(int n) {
    threadpool *p = NULL;
    CHECKF(threadpool_create(n, &p) == HONE_OK && p, "create %d", n);
    if (!p) return;
    CHECK(threadpool_size(p) == n);

    /* every index exactly once per job, over many back-to-back jobs */
    count_job cj;
    memset(&cj, 0, sizeof cj);
    cj.want_nth = n;
    /* fewer rounds where the pool outnumbers this machine's two cores (each wait may then sleep) */
    const bool small = n <= 2;
    const int jobs = small ? 20000 : 1000;
    for (int r = 0; r < jobs; r++) threadpool_run(p, count_fn, &cj);
    CHECKF(atomic_load(&cj.bad_nth) == 0, "n=%d: wrong ith/nth", n);
    for (int i = 0; i < n; i++)
        CHECKF(atomic_load(&cj.calls[i]) == jobs, "n=%d: thread %d ran %d of %d jobs", n, i,
               atomic_load(&cj.calls[i]), jobs);

    /* workers that went to sleep (spin budget long past) still take the next job */
    for (int r = 0; r < 3; r++) {
        sleep_ms(5);
        memset(&cj, 0, sizeof cj);
        cj.want_nth = n;
        threadpool_run(p, count_fn, &cj);
        for (int i = 0; i < n; i++) CHECKF(atomic_load(&cj.calls[i]) == 1, "n=%d after sleep: thread %d", n, i);
    }

    /* barriers */
    phase_job pj;
    memset(&pj, 0, sizeof pj);
    pj.p = p;
    pj.phases = small ? 500 : 50;
    for (int r = 0; r < (small ? 20 : 4); r++) threadpool_run(p, phase_fn, &pj);
    CHECKF(atomic_load(&pj.errors) == 0, "n=%d: %d barrier violations", n, atomic_load(&pj.errors));
    /* a barrier whose waiters fell asleep */
    pj.phases = 2;
    sleep_ms(2);
    threadpool_run(p, phase_fn, &pj);
    CHECKF(atomic_load(&pj.errors) == 0, "n=%d: barrier after sleep", n);

    threadpool_free(p);
}

int main(void) {
    /* the split covers [0, n) exactly, in order, for awkward sizes */
    for (int nth = 1; nth <= 7; nth++)
        for (long n = 0; n < 200; n += 13) {
            long next = 0;
            for (int i = 0; i < nth; i++) {
                long b, e;
                threadpool_split(n, i, nth, &b, &e);
                CHECK(b == next && e >= b);
                next = e;
            }
            CHECK(next == n);
            next = 0;
            for (int i = 0; i < nth; i++) {
                long b, e;
                threadpool_split_aligned(n, 16, i, nth, &b, &e);
                CHECKF(b == next && e >= b && (b % 16 == 0 || b == n), "aligned n=%ld nth=%d i=%d", n, nth, i);
                next = e;
            }
            CHECK(next == n);
        }

    /* NULL pool and a pool of one run the job inline; barriers are no-ops */
    count_job cj;
    memset(&cj, 0, sizeof cj);
    cj.want_nth = 1;
    threadpool_run(NULL, count_fn, &cj);
    CHECK(atomic_load(&cj.calls[0]) == 1 && atomic_load(&cj.bad_nth) == 0);
    threadpool_barrier(NULL);
    CHECK(threadpool_size(NULL) == 1);

    for (int n = 1; n <= 4; n++) check_pool(n);
    check_pool(MAX_T); /* more threads than this machine has cores */

    /* split sums: same bits for every thread count */
    enum { N = 100003 };
    static float x[N], groups[(N + 63) / 64];
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((int32_t)s) * 1e-6f;
    }
    float ref = split_sum(NULL, x, N, groups);
    for (int n = 1; n <= 5; n++) {
        threadpool *p = NULL;
        if (threadpool_create(n, &p) != HONE_OK) {
            CHECK(0);
            continue;
        }
        for (int r = 0; r < 20; r++) {
            float v = split_sum(p, x, N, groups);
            CHECKF(memcmp(&v, &ref, sizeof v) == 0, "n=%d: sum %.9g != %.9g", n, v, ref);
        }
        threadpool_free(p);
    }

    /* create/free in a loop, with and without a job in between (ASan reports leaks) */
    for (int r = 0; r < 200; r++) {
        threadpool *p = NULL;
        CHECK(threadpool_create(1 + r % 4, &p) == HONE_OK);
        if (r % 2) {
            memset(&cj, 0, sizeof cj);
            cj.want_nth = 1 + r % 4;
            threadpool_run(p, count_fn, &cj);
            CHECK(atomic_load(&cj.calls[cj.want_nth - 1]) == 1);
        }
        threadpool_free(p);
    }
    threadpool *p = NULL;
    CHECK(threadpool_create(300, &p) != HONE_OK && p == NULL);
    return test_finish();
}
