/*
 * status.h - internal error reporting.
 *
 * Library functions return a hone_status; on failure they first record a
 * human-readable message (which file, which key/tensor, which offset, what was
 * expected) in a thread-local buffer that hone_last_error() returns. Only the
 * CLI prints messages and chooses exit codes.
 */
#ifndef HONE_CORE_STATUS_H
#define HONE_CORE_STATUS_H

#include "hone.h"

#if defined(__GNUC__)
#define HONE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HONE_PRINTF(a, b)
#endif

/* Record a formatted message for the calling thread and return `code`. */
hone_status hone_err(hone_status code, const char *fmt, ...) HONE_PRINTF(2, 3);

/* Prepend context ("model.gguf: ") to the current thread's message, keep code. */
hone_status hone_err_prefix(hone_status code, const char *fmt, ...) HONE_PRINTF(2, 3);

void hone_clear_error(void);

#endif
