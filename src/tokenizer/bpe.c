/*
 * bpe.c - byte-level BPE (tokenizer.ggml.model = "gpt2").
 *
 * GGUF stores byte-level vocabularies in GPT-2's printable form: each byte is
 * written as one code point (printable ASCII and Latin-1 bytes as
 * themselves, the other 68 bytes as U+0100..U+0143). At load we decode every
 * token and every merge back to the raw bytes they stand for, so a word from
 * the pre-tokeniser is merged directly as bytes: one symbol per byte at the
 * start, then repeatedly the adjacent pair with the lowest merge rank (the
 * leftmost one on a tie) is joined, exactly the order llama.cpp's priority
 * queue produces. Merge ranks and token ids are hash lookups keyed by bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tokenizer/utf8.h"
#include "tokenizer/merge_heap.h"
#include "tokenizer/vocab_internal.h"

/* ---- the byte <-> code point table of byte-level BPE -------------------- */

static bool byte_is_self(unsigned b) {
    return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
}

/* The 68 other bytes map, in increasing order, to U+0100 upwards:
 * 0x00..0x20 (33), 0x7f..0xa0 (34), 0xad (1). */
static uint32_t byte_to_cp(uint8_t b) {
    if (byte_is_self(b)) return b;
    if (b <= 0x20) return 256u + b;
    if (b <= 0xa0) return 256u + 33 + (b - 0x7fu);
    return 256u + 33 + 34; /* 0xad */
}

static int cp_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_self(cp) ? (int)cp : -1;
    if (cp < 256 + 33) return (int)(cp - 256);
    if (cp < 256 + 33 + 34) return (int)(0x7f + cp - (256 + 33));
    if (cp == 256 + 33 + 34) return 0xad;
    return -1;
}

int bpe_byte_symbol(uint8_t b, char *out) {
    return utf8_encode(byte_to_cp(b), out);
}

bool bpe_decode_text(const char *text, size_t len, char *out, size_t *out_len) {
    const uint8_t *u = (const uint8_t *)text;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t adv;
        uint32_t cp = utf8_decode_lax(u + i, len - i, &adv);
        int b = cp == UTF8_BAD ? -1 : cp_to_byte(cp);
        if (b < 0) return false;
        out[o++] = (char)b;
        i += adv;
    }
    *out_len = o;
    return true;
}

/* ---- load ------------------------------------------------------------- */

hone_status bpe_build(hone_vocab *v, const gguf_str *merges, uint64_t n_merges, const char *path) {
    size_t total = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) total += v->text_len[i];
    v->raw_pool = malloc(total + 1);
    if (!v->raw_pool || strtab_init(&v->raw_to_id, (uint32_t)v->n_tokens))
        return hone_err(HONE_ERR_NOMEM, "%s: out of memory for the BPE vocabulary", path);
    size_t at = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        size_t n;
        char *dst = v->raw_pool + at;
        if (!bpe_decode_text(v->text_pool + v->text_off[i], v->text_len[i], dst, &n) || n == 0) continue;
        at += n;
        if (strtab_put(&v->raw_to_id, dst, (uint32_t)n, 0, i, true))
            return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    }

    if (n_merges > INT32_MAX)
        return hone_err(HONE_ERR_FORMAT, "%s: tokenizer.ggml.merges has %llu entries", path,
                        (unsigned long long)n_merges);
    total = 0;
    for (uint64_t i = 0; i < n_merges; i++) total += merges[i].len;
    v->merge_pool = malloc(total + 1);
    if (!v->merge_pool || strtab_init(&v->merge_rank, (uint32_t)n_merges))
        return hone_err(HONE_ERR_NOMEM, "%s: out of memory for %llu merges", path,
                        (unsigned long long)n_merges);
    at = 0;
    for (uint64_t i = 0; i < n_merges; i++) {
        const char *m = merges[i].s;
        size_t len = merges[i].len;
        /* "left right", split at the first space after the first byte. */
        const char *sp = len > 1 ? memchr(m + 1, ' ', len - 1) : NULL;
        if (!sp) continue; /* llama.cpp files it under ("", ""), which never matches */
        size_t nl, nr;
        char *dst = v->merge_pool + at;
        if (!bpe_decode_text(m, (size_t)(sp - m), dst, &nl)) continue;
        if (!bpe_decode_text(sp + 1, len - (size_t)(sp - m) - 1, dst + nl, &nr) || nr == 0) continue;
        at += nl + nr;
        /* The first rank of a repeated merge counts, as with llama.cpp's emplace. */
        if (strtab_put(&v->merge_rank, dst, (uint32_t)(nl + nr), (uint32_t)nl, (int32_t)i, false))
            return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    }
    return HONE_OK;
}

/* ---- tokenise ----------------------------------------------------------- */

static void try_pair(const hone_vocab *v, const char *w, const merge_sym *sym, int32_t l, int32_t r,
                     merge_pair *h, size_t *nh) {
    if (l < 0 || r < 0) return;
    int32_t rank =
        strtab_get(&v->merge_rank, w + sym[l].start, (size_t)(sym[l].n + sym[r].n), (uint32_t)sym[l].n);
    if (rank < 0) return;
    merge_pair p = {(double)rank, l, r, sym[l].n + sym[r].n}; /* lower rank first */
    merge_heap_push(h, nh, p);
}

/* Ids for a symbol that is not a token: llama.cpp looks up each byte of its
 * byte-level spelling as a one-byte token text and drops what is absent. */
static void emit_unknown(const hone_vocab *v, idvec *out, const char *w, int32_t n) {
    for (int32_t i = 0; i < n; i++) {
        char sym[4];
        int k = bpe_byte_symbol((uint8_t)w[i], sym);
        for (int j = 0; j < k; j++) {
            int32_t id = strtab_get(&v->text_to_id, sym + j, 1, 0);
            if (id >= 0) idvec_push(out, id);
        }
    }
}

static hone_status bpe_word(const hone_vocab *v, tok_scratch *s, const char *w, size_t n) {
    if (v->ignore_merges) {
        int32_t id = strtab_get(&v->raw_to_id, w, n, 0);
        if (id >= 0) {
            idvec_push(&s->ids, id);
            return HONE_OK;
        }
    }
    if (n > INT32_MAX / 4) return hone_err(HONE_ERR_INVALID_ARG, "bpe: word of %zu bytes is too long", n);
    if (!scratch_reserve(&s->sym, &s->sym_cap, n * sizeof(merge_sym)) ||
        !scratch_reserve(&s->heap, &s->heap_cap, 3 * n * sizeof(merge_pair)))
        return hone_err(HONE_ERR_NOMEM, "bpe: out of memory for a word of %zu bytes", n);
    merge_sym *sym = s->sym;
    merge_pair *h = s->heap;
    size_t nh = 0;
    for (int32_t i = 0; i < (int32_t)n; i++) {
        sym[i].start = i;
        sym[i].n = 1;
        sym[i].prev = i - 1;
        sym[i].next = i + 1 < (int32_t)n ? i + 1 : -1;
    }
    for (int32_t i = 1; i < (int32_t)n; i++) try_pair(v, w, sym, i - 1, i, h, &nh);
    while (nh > 0) {
        merge_pair p = merge_heap_pop(h, &nh);
        merge_sym *l = &sym[p.left], *r = &sym[p.right];
        /* Stale if either side has changed since the pair was queued. */
        if (l->n == 0 || r->n == 0 || l->next != p.right || l->n + r->n != p.size) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = p.left;
        try_pair(v, w, sym, l->prev, p.left, h, &nh);
        try_pair(v, w, sym, p.left, l->next, h, &nh);
    }
    for (int32_t i = 0; i >= 0; i = sym[i].next) {
        int32_t id = strtab_get(&v->raw_to_id, w + sym[i].start, (size_t)sym[i].n, 0);
        if (id >= 0)
            idvec_push(&s->ids, id);
        else
            emit_unknown(v, &s->ids, w + sym[i].start, sym[i].n);
    }
    return HONE_OK;
}

hone_status bpe_tokenize(const hone_vocab *v, tok_scratch *s, const char *text, size_t len) {
    const char *norm;
    const uint32_t *b;
    size_t nw;
    hone_status st = pretok_split(v->pre, &s->pre, text, len, &norm, &b, &nw);
    if (st) return st;
    for (size_t i = 0; i < nw; i++) {
        st = bpe_word(v, s, norm + b[i], b[i + 1] - b[i]);
        if (st) return st;
    }
    return s->ids.failed ? hone_err(HONE_ERR_NOMEM, "bpe: out of memory for the token list") : HONE_OK;
}
