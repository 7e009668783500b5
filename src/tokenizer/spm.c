/*
 * spm.c - SentencePiece-style tokenisation (tokenizer.ggml.model = "llama").
 *
 * Spaces are written as U+2581 ("▁"); the text is cut into one symbol per
 * UTF-8 character (by lead byte only, as llama.cpp does, so broken input is
 * never rejected), then the adjacent pair whose concatenation is the vocab
 * entry with the highest score is merged, repeatedly (leftmost pair on a
 * tie). A final symbol that is not a vocab entry is emitted byte by byte as
 * <0xNN> tokens, which is what makes any input representable.
 *
 * The leading space (add_space_prefix) and the handling of special-token
 * fragments are done by the caller (vocab.c).
 */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tokenizer/utf8.h"
#include "tokenizer/merge_heap.h"
#include "tokenizer/vocab_internal.h"

static void try_pair(const hone_vocab *v, const char *w, const merge_sym *sym, int32_t l, int32_t r,
                     merge_pair *h, size_t *nh) {
    if (l < 0 || r < 0) return;
    int32_t id = strtab_get(&v->text_to_id, w + sym[l].start, (size_t)(sym[l].n + sym[r].n), 0);
    if (id < 0) return;
    merge_pair p = {-(double)v->scores[id], l, r, sym[l].n + sym[r].n}; /* higher score first */
    merge_heap_push(h, nh, p);
}

/* Merge one fragment whose spaces are already escaped. */
static hone_status spm_run(const hone_vocab *v, tok_scratch *s, const char *w, size_t n) {
    if (!scratch_reserve(&s->sym, &s->sym_cap, n * sizeof(merge_sym)) ||
        !scratch_reserve(&s->heap, &s->heap_cap, 3 * n * sizeof(merge_pair)))
        return hone_err(HONE_ERR_NOMEM, "spm: out of memory for %zu bytes of text", n);
    merge_sym *sym = s->sym;
    merge_pair *h = s->heap;
    size_t nh = 0;
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t cl = utf8_lead_len((uint8_t)w[off]);
        if (cl > n - off) cl = n - off;
        sym[ns].start = (int32_t)off;
        sym[ns].n = (int32_t)cl;
        sym[ns].prev = ns - 1;
        off += cl;
        sym[ns].next = off == n ? -1 : ns + 1;
        ns++;
    }
    for (int32_t i = 1; i < ns; i++) try_pair(v, w, sym, i - 1, i, h, &nh);
    while (nh > 0) {
        merge_pair p = merge_heap_pop(h, &nh);
        merge_sym *l = &sym[p.left], *r = &sym[p.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != p.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        try_pair(v, w, sym, l->prev, p.left, h, &nh);
        try_pair(v, w, sym, p.left, l->next, h, &nh);
    }
    for (int32_t i = 0; ns > 0 && i >= 0; i = sym[i].next) {
        int32_t id = strtab_get(&v->text_to_id, w + sym[i].start, (size_t)sym[i].n, 0);
        if (id >= 0) {
            idvec_push(&s->ids, id);
            continue;
        }
        for (int32_t j = 0; j < sym[i].n; j++) {
            int32_t b = v->byte_token[(uint8_t)w[sym[i].start + j]];
            /* llama.cpp throws when a byte has no token; we fall back to
             * <unk> when there is one and drop the byte otherwise. */
            if (b < 0) b = v->unk;
            if (b >= 0) idvec_push(&s->ids, b);
        }
    }
    return HONE_OK;
}

hone_status spm_tokenize(const hone_vocab *v, tok_scratch *s, const char *text, size_t len,
                         bool prefix_space) {
    /* Escaping turns each space (1 byte) into 3 bytes. */
    if (len > (SIZE_MAX - 3) / 3 || len > INT32_MAX / 4)
        return hone_err(HONE_ERR_INVALID_ARG, "spm: text of %zu bytes is too long", len);
    if (!scratch_reserve((void **)&s->buf, &s->buf_cap, 3 * len + 4))
        return hone_err(HONE_ERR_NOMEM, "spm: out of memory for %zu bytes of text", len);
    size_t n = 0;
    if (prefix_space) {
        memcpy(s->buf, "\xe2\x96\x81", 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s->buf + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            s->buf[n++] = text[i];
        }
    }
    hone_status st = spm_run(v, s, s->buf, n);
    if (st) return st;
    return s->ids.failed ? hone_err(HONE_ERR_NOMEM, "spm: out of memory for the token list") : HONE_OK;
}
