/*
 * stop.c - stop-string matching over streamed text (see stop.h).
 *
 * The buffer holds the tail kept back by earlier pushes followed by the new
 * text. That tail never contains a whole stop string (it would have matched
 * already), so searching the buffer from its start finds exactly the new
 * matches. Stop strings are short, so plain searches are enough: per push the
 * cost is O(buffer * stops * longest stop) at worst.
 */
#include "sample/stop.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

/* Room for the longest possible held tail plus a few ordinary token pieces. */
#define STOP_SPARE 256

hone_status stop_matcher_init(stop_matcher *m, const char *const *stops, size_t n) {
    if (!m) return hone_err(HONE_ERR_INVALID_ARG, "stop_matcher_init: matcher is NULL");
    memset(m, 0, sizeof *m);
    if (n > 0 && !stops) return hone_err(HONE_ERR_INVALID_ARG, "stop_matcher_init: %zu stop strings but NULL array", n);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!stops[i]) return hone_err(HONE_ERR_INVALID_ARG, "stop_matcher_init: stop string %zu is NULL", i);
        total += strlen(stops[i]) + 1;
    }
    m->pool = malloc(total ? total : 1);
    m->stops = malloc((n ? n : 1) * sizeof *m->stops);
    m->lens = malloc((n ? n : 1) * sizeof *m->lens);
    if (!m->pool || !m->stops || !m->lens) goto nomem;
    char *w = m->pool;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(stops[i]);
        if (l == 0) continue; /* an empty stop would end every generation at once */
        memcpy(w, stops[i], l + 1);
        m->stops[m->n] = w;
        m->lens[m->n] = l;
        m->n++;
        if (l > m->max_len) m->max_len = l;
        w += l + 1;
    }
    m->cap = 2 * m->max_len + STOP_SPARE;
    m->buf = malloc(m->cap);
    if (!m->buf) goto nomem;
    return HONE_OK;
nomem:
    stop_matcher_free(m);
    return hone_err(HONE_ERR_NOMEM, "stop_matcher_init: out of memory for %zu stop strings", n);
}

void stop_matcher_free(stop_matcher *m) {
    if (!m) return;
    free(m->pool);
    free(m->stops);
    free(m->lens);
    free(m->buf);
    memset(m, 0, sizeof *m);
}

void stop_matcher_reset(stop_matcher *m) {
    if (!m) return;
    m->len = m->consumed = 0;
    m->matched = m->finished = false;
    m->err = HONE_OK;
}

hone_status stop_matcher_error(const stop_matcher *m) { return m ? m->err : HONE_ERR_INVALID_ARG; }

/* Length of the longest tail of buf[0..len) that is a proper beginning of some stop string. */
static size_t held_tail(const stop_matcher *m) {
    size_t best = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t h = m->lens[i] - 1;
        if (h > m->len) h = m->len;
        for (; h > best; h--) {
            if (memcmp(m->buf + m->len - h, m->stops[i], h) == 0) {
                best = h;
                break;
            }
        }
    }
    return best;
}

bool stop_matcher_push(stop_matcher *m, const char *text, size_t len, const char **emit, size_t *emit_len) {
    *emit = "";
    *emit_len = 0;
    if (m->matched || m->finished) return m->matched;

    /* Drop what the last push emitted, then append. */
    if (m->consumed) {
        memmove(m->buf, m->buf + m->consumed, m->len - m->consumed);
        m->len -= m->consumed;
        m->consumed = 0;
    }
    if (len > m->cap - m->len) {
        size_t want = m->len + len;
        if (want < 2 * m->cap) want = 2 * m->cap;
        char *nb = realloc(m->buf, want);
        if (!nb) {
            m->err = hone_err(HONE_ERR_NOMEM, "stop_matcher_push: out of memory buffering %zu bytes", len);
            m->matched = true;
            return true;
        }
        m->buf = nb;
        m->cap = want;
    }
    if (len) memcpy(m->buf + m->len, text, len);
    m->len += len;

    /* Earliest match of any stop string. */
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < m->n; i++) {
        const char *hit = memmem(m->buf, m->len, m->stops[i], m->lens[i]);
        if (hit && (size_t)(hit - m->buf) < at) at = (size_t)(hit - m->buf);
    }
    if (at != SIZE_MAX) {
        *emit = m->buf;
        *emit_len = at;
        m->len = at;
        m->consumed = at;
        m->matched = true;
        return true;
    }

    size_t safe = m->len - held_tail(m);
    *emit = m->buf;
    *emit_len = safe;
    m->consumed = safe;
    return false;
}

void stop_matcher_finish(stop_matcher *m, const char **emit, size_t *emit_len) {
    *emit = "";
    *emit_len = 0;
    if (m->matched || m->finished) return;
    m->finished = true;
    *emit = m->buf + m->consumed;
    *emit_len = m->len - m->consumed;
    m->consumed = m->len;
}
