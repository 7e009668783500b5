/*
 * membw.h - measure how fast this machine streams memory into the cores.
 *
 * Token generation on a CPU reads every weight once per token, so its speed
 * is bounded by read bandwidth: tok/s <= GB/s / bytes per token. `hone bench`
 * reports generation speed as a fraction of this roofline, measured here on
 * the machine itself rather than taken from a datasheet.
 *
 * The measurement streams a buffer much larger than the last-level cache
 * (default 512 MiB) with n threads, each reading its own contiguous slice,
 * and keeps the best of several passes (the least disturbed by other
 * processes). Passes take turns between three read patterns (one stream;
 * one stream with software prefetches; two streams), since decode kernels
 * that prefetch reach the best of them (see membw.c). Only reads are timed; the buffer is written once beforehand so
 * every page is resident.
 *
 * Ownership: membw_create allocates the buffer, membw_free releases it. The
 * buffer dominates the process's peak RSS while it exists; callers that also
 * report peak RSS should measure in a child process (as the CLI does).
 */
#ifndef HONE_CORE_MEMBW_H
#define HONE_CORE_MEMBW_H

#include <stddef.h>

#include "hone.h"

#define MEMBW_DEFAULT_BYTES ((size_t)512 << 20)
#define MEMBW_MAX_THREADS 256

typedef struct membw membw;

/* Allocate and touch a buffer of `bytes` (rounded down to a multiple of 4 KiB;
 * at least 1 MiB). */
hone_status membw_create(size_t bytes, membw **out);
void membw_free(membw *m);
size_t membw_bytes(const membw *m);

/* Read the whole buffer `passes` times with n_threads threads (the caller's
 * thread is one of them); *gbps receives the best pass in 1e9 bytes/second. */
hone_status membw_read_gbps(membw *m, int n_threads, int passes, double *gbps);

#endif
