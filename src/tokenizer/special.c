/*
 * special.c - split input text on the strings of special tokens.
 *
 * Before any tokeniser sees the text, occurrences of special-token strings
 * are cut out and become those tokens directly. As in llama.cpp, the special
 * tokens are tried one at a time, longest text first, each over every piece
 * of text still unclaimed; CONTROL and UNKNOWN tokens take part only when the
 * caller asks for parse_special (user input must not be able to forge
 * "<|im_end|>"), USER_DEFINED tokens always do. Tokens flagged LSTRIP/RSTRIP
 * also swallow the ASCII whitespace to their left/right.
 *
 * The result is a list of fragments in s->frag, 3 words each:
 * (FRAG_TEXT, offset, length) or (FRAG_TOKEN, id, 0).
 */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tokenizer/vocab_internal.h"

enum { FRAG_TEXT = 0, FRAG_TOKEN = 1 };

static bool ascii_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool push(uint32_t **a, size_t *n, size_t *cap, uint32_t kind, uint32_t x, uint32_t y) {
    if (!scratch_reserve((void **)a, cap, (*n + 3) * sizeof(uint32_t))) return false;
    (*a)[(*n)++] = kind;
    (*a)[(*n)++] = x;
    (*a)[(*n)++] = y;
    return true;
}

hone_status special_partition(const hone_vocab *v, tok_scratch *s, const char *text, size_t len,
                              bool parse_special) {
    if (len > UINT32_MAX)
        return hone_err(HONE_ERR_INVALID_ARG, "tokenize: text of %zu bytes is too long", len);
    s->frag_n = 0;
    if (len == 0) return HONE_OK;
    if (!push(&s->frag, &s->frag_n, &s->frag_cap, FRAG_TEXT, 0, (uint32_t)len)) goto oom;

    for (int32_t k = 0; k < v->n_special; k++) {
        int32_t id = v->special[k];
        uint16_t attr = v->attr[id];
        if (!parse_special && (attr & (ATTR_CONTROL | ATTR_UNKNOWN))) continue;
        const char *t = v->text_pool + v->text_off[id];
        size_t tl = v->text_len[id];
        if (!memmem(text, len, t, tl)) continue; /* cheap common case: not in the text at all */

        size_t nd = 0;
        for (size_t f = 0; f < s->frag_n; f += 3) {
            uint32_t kind = s->frag[f], off = s->frag[f + 1], flen = s->frag[f + 2];
            if (kind == FRAG_TOKEN) {
                if (!push(&s->frag2, &nd, &s->frag2_cap, kind, off, flen)) goto oom;
                continue;
            }
            while (flen > 0) {
                const char *m = memmem(text + off, flen, t, tl);
                if (!m) {
                    if (!push(&s->frag2, &nd, &s->frag2_cap, FRAG_TEXT, off, flen)) goto oom;
                    break;
                }
                uint32_t mo = (uint32_t)(m - text);
                uint32_t left = mo - off;
                if (attr & ATTR_LSTRIP)
                    while (left > 0 && ascii_space(text[off + left - 1])) left--;
                if (left > 0 && !push(&s->frag2, &nd, &s->frag2_cap, FRAG_TEXT, off, left)) goto oom;
                if (!push(&s->frag2, &nd, &s->frag2_cap, FRAG_TOKEN, (uint32_t)id, 0)) goto oom;
                uint32_t end = off + flen;
                off = mo + (uint32_t)tl;
                if (attr & ATTR_RSTRIP)
                    while (off < end && ascii_space(text[off])) off++;
                flen = end - off;
            }
        }
        uint32_t *tmp = s->frag;
        size_t tcap = s->frag_cap;
        s->frag = s->frag2;
        s->frag_cap = s->frag2_cap;
        s->frag2 = tmp;
        s->frag2_cap = tcap;
        s->frag_n = nd;
    }
    return HONE_OK;
oom:
    return hone_err(HONE_ERR_NOMEM, "tokenize: out of memory splitting special tokens");
}
