/*
 * status.c - the thread-local last-error message behind hone_last_error().
 */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MSG_CAP 1024

static _Thread_local char g_msg[MSG_CAP];

hone_status hone_err(hone_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    return code;
}

hone_status hone_err_prefix(hone_status code, const char *fmt, ...) {
    char prefix[MSG_CAP], old[MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_msg, sizeof old);
    size_t np = strlen(prefix), no = strlen(old);
    if (np > MSG_CAP - 1) np = MSG_CAP - 1;
    if (no > MSG_CAP - 1 - np) no = MSG_CAP - 1 - np;
    memcpy(g_msg, prefix, np);
    memcpy(g_msg + np, old, no);
    g_msg[np + no] = '\0';
    return code;
}

void hone_clear_error(void) { g_msg[0] = '\0'; }

const char *hone_last_error(void) { return g_msg; }

const char *hone_status_str(hone_status s) {
    switch (s) {
    case HONE_OK: return "ok";
    case HONE_ERR_INVALID_ARG: return "invalid argument";
    case HONE_ERR_IO: return "i/o error";
    case HONE_ERR_FORMAT: return "bad file format";
    case HONE_ERR_UNSUPPORTED: return "unsupported";
    case HONE_ERR_NOMEM: return "out of memory";
    case HONE_ERR_NOT_FOUND: return "not found";
    case HONE_ERR_CONTEXT_FULL: return "context full";
    case HONE_ERR_RUNTIME: return "runtime error";
    }
    return "unknown status";
}
