/*
 * threadpool.h - a persistent pool of worker threads for one session.
 *
 * threadpool_run(pool, fn, ctx) calls fn(ctx, ith, nth) once on each of the
 * nth threads (the caller is thread 0) and returns when all are done. Work
 * is split by the callee (rows of a matrix, heads of attention); each
 * output element is computed by exactly one thread in a fixed order, so
 * results never depend on the thread count.
 */
#ifndef HONE_CORE_THREADPOOL_H
#define HONE_CORE_THREADPOOL_H

#include "hone.h"

typedef struct threadpool threadpool;
typedef void (*threadpool_fn)(void *ctx, int ith, int nth);

/* n_threads <= 0: number of online CPUs. */
hone_status threadpool_create(int n_threads, threadpool **out);
void threadpool_free(threadpool *p);
int threadpool_size(const threadpool *p);
void threadpool_run(threadpool *p, threadpool_fn fn, void *ctx);

/* Split [0, n) into nth nearly equal contiguous parts; part ith is [*b, *e). */
static inline void threadpool_split(long n, int ith, int nth, long *b, long *e) {
    long per = n / nth, rem = n % nth;
    *b = ith * per + (ith < rem ? ith : rem);
    *e = *b + per + (ith < rem ? 1 : 0);
}

#endif
