/*
 * threadpool.h - a persistent pool of worker threads for one session.
 *
 * threadpool_run(pool, fn, ctx) calls fn(ctx, ith, nth) once on each of the
 * nth threads (the caller is thread 0) and returns when all are done. Work
 * is split by the callee (rows of a matrix, heads of attention); each
 * output element is computed by exactly one thread in a fixed order, so
 * results never depend on the thread count.
 *
 * A decode step runs hundreds of short jobs per token, so starting a job and
 * waiting for it cost about a microsecond: idle workers spin on an atomic job
 * counter for a short while before they sleep (so an idle session does not
 * burn CPU), and a job may be split into phases with threadpool_barrier
 * instead of being several jobs.
 *
 * One thread at a time drives a pool (the session's caller); jobs do not nest.
 */
#ifndef HONE_CORE_THREADPOOL_H
#define HONE_CORE_THREADPOOL_H

#include "hone.h"

typedef struct threadpool threadpool;
typedef void (*threadpool_fn)(void *ctx, int ith, int nth);

/* n_threads <= 0: number of online CPUs. */
hone_status threadpool_create(int n_threads, threadpool **out);
void threadpool_free(threadpool *p);
/* Threads a job runs on (1 for a NULL pool). */
int threadpool_size(const threadpool *p);
/* fn(ctx, ith, nth) on every thread; a NULL pool or a pool of one runs fn(ctx, 0, 1) here. */
void threadpool_run(threadpool *p, threadpool_fn fn, void *ctx);

/* Called by every thread of the running job (all nth of them, the same number of times): returns
 * once all have reached it, and everything written before it by any thread is visible to all after
 * it. A no-op for a NULL pool or a pool of one. Calling it from only some threads deadlocks. */
void threadpool_barrier(threadpool *p);

/* Split [0, n) into nth nearly equal contiguous parts; part ith is [*b, *e). */
static inline void threadpool_split(long n, int ith, int nth, long *b, long *e) {
    long per = n / nth, rem = n % nth;
    *b = ith * per + (ith < rem ? ith : rem);
    *e = *b + per + (ith < rem ? 1 : 0);
}

/* Like threadpool_split, but every boundary except n itself is a multiple of `align` (> 0), so the
 * parts cover whole groups (SIMD widths, quantisation blocks); some parts may be empty. */
static inline void threadpool_split_aligned(long n, long align, int ith, int nth, long *b, long *e) {
    long groups = (n + align - 1) / align, gb, ge;
    threadpool_split(groups, ith, nth, &gb, &ge);
    *b = gb * align < n ? gb * align : n;
    *e = ge * align < n ? ge * align : n;
}

#endif
