/*
 * stop.h - stop-string matching over streamed generated text.
 *
 * Generation produces text a token piece at a time, and a stop string such
 * as "\nUser:" may arrive split over several pieces. The matcher holds back
 * any tail of the text that could still be the start of a stop string, so the
 * caller only ever prints text that can no longer become part of a stop
 * string, and never prints any byte of the stop string itself.
 *
 * Use, once per generated sequence:
 *
 *     stop_matcher m;
 *     stop_matcher_init(&m, stops, n_stops);      // copies the strings
 *     for each piece:
 *         const char *e; size_t n;
 *         bool hit = stop_matcher_push(&m, piece, piece_len, &e, &n);
 *         print(e, n);                               // safe text (before the stop, if hit)
 *         if (hit) break;
 *     if (!hit) { stop_matcher_finish(&m, &e, &n); print(e, n); }   // held-back tail
 *     stop_matcher_free(&m);
 *
 * Earliest match wins: when several stop strings occur, the one starting
 * first in the text ends generation. Empty stop strings are ignored. When
 * pieces and stop strings are valid UTF-8, every emitted span ends on a
 * character boundary (a held tail equals the beginning of a stop string, so
 * it starts on one).
 *
 * Memory: init copies the stop strings and preallocates a buffer that
 * holds ordinary token pieces without further allocation; a push longer than
 * the buffer grows it. If that growth fails, push reports a match (so
 * generation ends rather than printing unchecked text) and
 * stop_matcher_error() returns HONE_ERR_NOMEM. Emitted pointers point into
 * the matcher and stay valid until the next push, finish, reset or free.
 */
#ifndef HONE_SAMPLE_STOP_H
#define HONE_SAMPLE_STOP_H

#include <stdbool.h>
#include <stddef.h>

#include "hone.h"

typedef struct {
    char *pool;         /* the stop strings, copied (owned) */
    const char **stops; /* n pointers into pool */
    size_t *lens;
    size_t n;
    size_t max_len;

    char *buf; /* held-back tail + newest text (owned) */
    size_t len, cap;
    size_t consumed; /* bytes at the front of buf already emitted */
    bool matched;    /* a stop string matched (or buffering failed) */
    bool finished;   /* finish was called */
    hone_status err;
} stop_matcher;

/* stops may be NULL when n == 0. Returns HONE_ERR_NOMEM or HONE_ERR_INVALID_ARG (NULL string). */
hone_status stop_matcher_init(stop_matcher *m, const char *const *stops, size_t n);
void stop_matcher_free(stop_matcher *m);

/* Forget all text, keep the stop strings (to reuse the matcher for a new sequence). */
void stop_matcher_reset(stop_matcher *m);

/*
 * Add newly generated text. Returns true when a stop string has matched
 * (now or before). *emit / *emit_len: text that is now safe to output; on a
 * match, the rest of the text before the stop string. After a match every
 * further push emits nothing and returns true; after finish, false.
 */
bool stop_matcher_push(stop_matcher *m, const char *text, size_t len, const char **emit, size_t *emit_len);

/* End of generation without a match: the held-back tail, which turned out
 * not to be a stop string. Emits nothing after a match. */
void stop_matcher_finish(stop_matcher *m, const char **emit, size_t *emit_len);

/* HONE_OK, or HONE_ERR_NOMEM when a push could not grow the buffer. */
hone_status stop_matcher_error(const stop_matcher *m);

#endif
