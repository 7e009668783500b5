/*
 * threadpool.c - persistent workers that spin, then sleep, between jobs.
 *
 * A job is announced by bumping an atomic counter (`job`); workers spin on
 * it, run their share, and count themselves out on `pending`; the caller
 * runs share 0 and spins until `pending` is zero. In a decode step a job is
 * a few microseconds of work, so waking a sleeping thread through the
 * kernel (tens of microseconds) for each would cost as much as the work.
 *
 * Spinning forever would keep an idle session's cores busy, so every wait
 * spins for at most SPIN_NS and then sleeps on the
 * pool's condition variable. Whoever changes a word that others may wait on checks
 * `sleepers` after the change and only then takes the mutex to wake them;
 * a waiter registers in `sleepers` under the mutex before its last look at
 * the word. Both sides use sequentially consistent atomics, so either the
 * waiter sees the change or the changer sees the waiter (no lost wake-up),
 * and the fast path never makes a system call.
 */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield" ::: "memory")
#else
#define cpu_relax() ((void)0)
#endif

#include "core/status.h"

/* How long a waiter spins before it sleeps: much longer than the serial gaps between the jobs of
 * one token (a norm, a quantisation: microseconds), short enough that an idle pool goes quiet at
 * once. Between tokens (sampling, output) workers may fall asleep: one wake-up a token.
 *
 * Spinning only pays while the thread being waited for is running. A pool with more threads than
 * the CPUs it may run on does not spin at all (spin_max 0). An earlier version also halved the
 * budget after every wait that ended in sleep; the sleeps between tokens then drove it to nothing
 * and every hand-off inside a token became a futex wake-up: on an idle two-core machine decoding
 * at 2 threads ran at 16-28 tok/s with it and 61-65 tok/s without (1 thread: 37-43). */
#define SPIN_NS 50000L

/* Words written by different threads live on their own cache lines. */
struct threadpool {
    alignas(64) atomic_uint job;     /* bumped once per job (and to stop) */
    alignas(64) atomic_uint pending; /* workers still running the current job */
    alignas(64) atomic_uint bar_count; /* threads arrived at the current barrier */
    alignas(64) atomic_uint bar_gen;   /* bumped when a barrier opens */
    alignas(64) atomic_uint sleepers;  /* threads asleep (or about to sleep) on cv */
    alignas(64) threadpool_fn fn;      /* the current job, published by the `job` bump */
    void *ctx;
    atomic_bool stop;
    int n;
    long spin_max; /* SPIN_NS, or 0 when the pool outnumbers its CPUs */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t *threads;
    struct worker_arg *args;
};

struct worker_arg {
    threadpool *p;
    int ith;
};

static long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* CPUs this process may run on (its affinity mask), else the online count. */
static int usable_cpus(void) {
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 ? (int)c : 1;
}

/* Return once *word != seen: spin first (see SPIN_NS), then sleep. */
static void wait_change(threadpool *p, atomic_uint *word, unsigned seen) {
    if (atomic_load(word) != seen) return;
    const long budget = p->spin_max;
    long deadline = 0;
    for (unsigned i = 1;; i++) {
        cpu_relax();
        if (atomic_load_explicit(word, memory_order_acquire) != seen) return;
        if ((i & 31) == 0) { /* the clock is read now and then: it costs more than a pause */
            long t = now_ns();
            if (!deadline)
                deadline = t + budget;
            else if (t >= deadline)
                break;
        }
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (atomic_load(word) == seen) pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
}

/* After changing a word others may wait on (with a seq_cst store or read-modify-write). */
static void wake_sleepers(threadpool *p) {
    if (atomic_load(&p->sleepers) == 0) return;
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void *worker(void *arg) {
    const struct worker_arg *wa = arg;
    threadpool *p = wa->p;
    const int ith = wa->ith;
    unsigned seen = 0;
    for (;;) {
        wait_change(p, &p->job, seen);
        seen = atomic_load(&p->job);
        if (atomic_load(&p->stop)) return NULL;
        p->fn(p->ctx, ith, p->n);
        if (atomic_fetch_sub(&p->pending, 1) == 1) wake_sleepers(p);
    }
}

static void stop_workers(threadpool *p, int started) {
    atomic_store(&p->stop, true);
    atomic_fetch_add(&p->job, 1);
    wake_sleepers(p);
    for (int i = 1; i < started; i++) pthread_join(p->threads[i], NULL);
}

hone_status threadpool_create(int n_threads, threadpool **out) {
    *out = NULL;
    if (n_threads <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = c > 0 ? (int)c : 1;
    }
    if (n_threads > 256) return hone_err(HONE_ERR_INVALID_ARG, "thread count %d is more than 256", n_threads);
    threadpool *p = aligned_alloc(alignof(threadpool), sizeof *p);
    if (!p) return hone_err(HONE_ERR_NOMEM, "out of memory creating thread pool");
    memset(p, 0, sizeof *p);
    atomic_init(&p->job, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_gen, 0);
    atomic_init(&p->sleepers, 0);
    atomic_init(&p->stop, false);
    p->n = n_threads;
    p->spin_max = n_threads <= usable_cpus() ? SPIN_NS : 0;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    p->args = calloc((size_t)n_threads, sizeof *p->args);
    if (!p->threads || !p->args) {
        p->n = 1;
        threadpool_free(p);
        return hone_err(HONE_ERR_NOMEM, "out of memory creating thread pool");
    }
    for (int i = 1; i < n_threads; i++) {
        p->args[i] = (struct worker_arg){p, i};
        if (pthread_create(&p->threads[i], NULL, worker, &p->args[i]) != 0) {
            stop_workers(p, i); /* threads 1..i-1 exist */
            p->n = 1;
            threadpool_free(p);
            return hone_err(HONE_ERR_RUNTIME, "cannot start worker thread %d of %d", i, n_threads);
        }
    }
    *out = p;
    return HONE_OK;
}

void threadpool_free(threadpool *p) {
    if (!p) return;
    if (p->n > 1) stop_workers(p, p->n);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p->args);
    free(p);
}

int threadpool_size(const threadpool *p) { return p ? p->n : 1; }

void threadpool_run(threadpool *p, threadpool_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, (unsigned)(p->n - 1));
    atomic_fetch_add(&p->job, 1); /* publishes fn, ctx and pending */
    wake_sleepers(p);

    fn(ctx, 0, p->n);

    for (unsigned left; (left = atomic_load(&p->pending)) != 0;) wait_change(p, &p->pending, left);
}

void threadpool_barrier(threadpool *p) {
    if (!p || p->n == 1) return;
    /* The barrier cannot open before this thread arrives, so the generation read here is the
     * one this arrival belongs to. */
    const unsigned gen = atomic_load(&p->bar_gen);
    if (atomic_fetch_add(&p->bar_count, 1) == (unsigned)p->n - 1) {
        atomic_store(&p->bar_count, 0); /* before opening: nobody can arrive at the next one yet */
        atomic_fetch_add(&p->bar_gen, 1);
        wake_sleepers(p);
    } else {
        wait_change(p, &p->bar_gen, gen);
    }
}
