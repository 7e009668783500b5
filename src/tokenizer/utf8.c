/*
 * utf8.c - UTF-8 decode/encode/validate helpers and the streaming
 * detokeniser (see utf8.h for why there is a lenient and a strict decoder).
 *
 * The streaming detokeniser sits between token pieces and a user: a piece may
 * end in the middle of a multi-byte character (byte-level BPE splits emoji
 * across tokens, SentencePiece emits <0xNN> byte tokens one at a time), so it
 * holds back an incomplete tail until the next piece completes it, and turns
 * bytes that can never become valid into U+FFFD, so what it emits is always
 * well-formed UTF-8.
 */
#include "tokenizer/utf8.h"

#include <string.h>

#include "tokenizer/tokenizer.h"

uint32_t utf8_decode_lax(const uint8_t *s, size_t n, size_t *adv) {
    *adv = 1;
    uint8_t c = s[0];
    if (c < 0x80) return c;
    if (!(c & 0x40)) return UTF8_BAD; /* stray continuation byte */
    size_t need;
    uint32_t cp;
    if (!(c & 0x20)) {
        need = 1;
        cp = c & 0x1f;
    } else if (!(c & 0x10)) {
        need = 2;
        cp = c & 0x0f;
    } else if (!(c & 0x08)) {
        need = 3;
        cp = c & 0x07;
    } else {
        return UTF8_BAD;
    }
    if (need >= n) return UTF8_BAD; /* truncated at the end of the text */
    for (size_t i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) return UTF8_BAD;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp > 0x10ffff) return UTF8_BAD;
    *adv = need + 1;
    return cp;
}

int utf8_encode(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | ((cp >> 18) & 0x07));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

int utf8_next_strict(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    int need;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        if (c == 0xe0) lo = 0xa0; /* no overlongs */
        if (c == 0xed) hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f; /* nothing past U+10FFFF */
    } else {
        return -1;
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n) return 0;
        uint8_t b = s[i];
        uint8_t l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xbf;
        if (b < l || b > h) return -i;
    }
    return need + 1;
}

bool utf8_is_valid(const char *s, size_t n) {
    const uint8_t *p = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        int r = utf8_next_strict(p + i, n - i);
        if (r <= 0) return false;
        i += (size_t)r;
    }
    return true;
}

/* ---- streaming detokeniser ---------------------------------------------- */

static const char k_fffd[3] = {(char)0xef, (char)0xbf, (char)0xbd};

void utf8_stream_init(utf8_stream *st) {
    memset(st, 0, sizeof *st);
}

/* Emit the complete sequences of p[0..n) at out + *w; return the byte count
 * of an incomplete tail left over (0..3), which the caller keeps. An
 * ill-formed part becomes U+FFFD only while the output stays within
 * `budget` even if every byte after it turns out valid, so the caller's
 * len + 8 bound always holds (only input with more than four ill-formed parts
 * per piece can lose some of them). */
static size_t emit(const uint8_t *p, size_t n, char *out, size_t *w, size_t budget) {
    size_t i = 0;
    while (i < n) {
        int r = utf8_next_strict(p + i, n - i);
        if (r > 0) {
            memcpy(out + *w, p + i, (size_t)r);
            *w += (size_t)r;
            i += (size_t)r;
        } else if (r < 0) {
            i += (size_t)-r;
            if (*w + 3 + (n - i) <= budget) {
                memcpy(out + *w, k_fffd, 3);
                *w += 3;
            }
        } else {
            return n - i;
        }
    }
    return 0;
}

size_t utf8_stream_push(utf8_stream *st, const char *bytes, size_t len, char *out) {
    const uint8_t *in = (const uint8_t *)bytes;
    const size_t budget = len + 8;
    size_t w = 0;
    if (st->n_pending > 0) {
        /* Complete (or refute) the held prefix with the first new bytes. */
        uint8_t tmp[8];
        size_t np = (size_t)st->n_pending;
        memcpy(tmp, st->pending, np);
        size_t take = len < 4 - np ? len : 4 - np;
        memcpy(tmp + np, in, take);
        int r = utf8_next_strict(tmp, np + take);
        if (r == 0) { /* still incomplete: everything new joins the prefix */
            memcpy(st->pending + np, in, take);
            st->n_pending = (int)(np + take);
            return 0;
        }
        if (r > 0) {
            memcpy(out, tmp, (size_t)r);
            w = (size_t)r;
            in += (size_t)r - np;
            len -= (size_t)r - np;
        } else {
            /* The held bytes were a valid prefix, so the ill-formed part is
             * exactly them (3 bytes out at most, within the 8 spare); the
             * new byte is looked at afresh below. */
            memcpy(out, k_fffd, 3);
            w = 3;
        }
        st->n_pending = 0;
    }
    size_t tail = emit(in, len, out, &w, budget);
    memcpy(st->pending, in + len - tail, tail);
    st->n_pending = (int)tail;
    return w;
}

size_t utf8_stream_flush(utf8_stream *st, char *out) {
    size_t w = 0;
    if (st->n_pending > 0) {
        memcpy(out, k_fffd, 3); /* an incomplete prefix is one ill-formed subpart */
        w = 3;
    }
    st->n_pending = 0;
    return w;
}
