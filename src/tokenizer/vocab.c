/*
 * vocab.c - load a tokenizer from GGUF metadata and run it.
 *
 * Reads tokenizer.ggml.* (model, pre, tokens, scores, token_type, merges,
 * special ids, add_* flags) with the defaults llama.cpp uses when keys are
 * absent, derives the same token attributes (end-of-generation tokens found
 * by their text are made CONTROL), and precomputes every token's output
 * piece. The hone_vocab owns copies of everything it needs; the gguf_file may
 * be closed after vocab_load. Nothing is written after load, so tokenising
 * is re-entrant: each call keeps its buffers in a tok_scratch of its own.
 *
 * Also here: the small string hash table every lookup goes through.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab_internal.h"

/* ---- hash table ---------------------------------------------------------- */

uint32_t strtab_hash(const char *s, size_t len, uint32_t aux) {
    uint32_t h = 2166136261u ^ (aux * 0x9e3779b9u);
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h ^ (h >> 15);
}

hone_status strtab_init(strtab *t, uint32_t expected) {
    memset(t, 0, sizeof *t);
    uint32_t slots = 16;
    while (slots < 2u * expected + 16 && slots < (1u << 31)) slots *= 2;
    t->slot = calloc(slots, sizeof(uint32_t));
    t->cap = expected ? expected : 1;
    t->e = malloc(t->cap * sizeof(strtab_entry));
    t->mask = slots - 1;
    if (!t->slot || !t->e) return HONE_ERR_NOMEM;
    return HONE_OK;
}

void strtab_free(strtab *t) {
    free(t->slot);
    free(t->e);
    memset(t, 0, sizeof *t);
}

static hone_status strtab_rehash(strtab *t) {
    uint32_t slots = (t->mask + 1) * 2;
    uint32_t *ns = calloc(slots, sizeof(uint32_t));
    if (!ns) return HONE_ERR_NOMEM;
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t p = t->e[i].hash & (slots - 1);
        while (ns[p]) p = (p + 1) & (slots - 1);
        ns[p] = i + 1;
    }
    free(t->slot);
    t->slot = ns;
    t->mask = slots - 1;
    return HONE_OK;
}

hone_status strtab_put(strtab *t, const char *key, uint32_t len, uint32_t aux, int32_t val, bool replace) {
    uint32_t h = strtab_hash(key, len, aux);
    uint32_t p = h & t->mask;
    for (uint32_t s; (s = t->slot[p]) != 0; p = (p + 1) & t->mask) {
        strtab_entry *e = &t->e[s - 1];
        if (e->hash == h && e->len == len && e->aux == aux && memcmp(e->key, key, len) == 0) {
            if (replace) e->val = val;
            return HONE_OK;
        }
    }
    if (t->n == t->cap) {
        uint32_t nc = t->cap * 2;
        strtab_entry *ne = realloc(t->e, nc * sizeof *ne);
        if (!ne) return HONE_ERR_NOMEM;
        t->e = ne;
        t->cap = nc;
    }
    t->e[t->n] = (strtab_entry){key, len, aux, h, val};
    t->slot[p] = ++t->n;
    if (2 * t->n > t->mask + 1) return strtab_rehash(t); /* keep the load under 1/2 */
    return HONE_OK;
}

int32_t strtab_get(const strtab *t, const char *key, size_t len, uint32_t aux) {
    if (!t->slot) return -1;
    uint32_t h = strtab_hash(key, len, aux);
    for (uint32_t p = h & t->mask, s; (s = t->slot[p]) != 0; p = (p + 1) & t->mask) {
        const strtab_entry *e = &t->e[s - 1];
        if (e->hash == h && e->len == len && e->aux == aux && memcmp(e->key, key, len) == 0) return e->val;
    }
    return -1;
}

/* ---- scratch ------------------------------------------------------------- */

bool scratch_reserve(void **p, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 256;
    while (n < need) n *= 2;
    void *q = realloc(*p, n);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

void idvec_push(idvec *iv, int32_t id) {
    if (iv->n == iv->cap) {
        size_t nc = iv->cap ? iv->cap * 2 : 256;
        int32_t *nv = realloc(iv->v, nc * sizeof *nv);
        if (!nv) {
            iv->failed = true;
            return;
        }
        iv->v = nv;
        iv->cap = nc;
    }
    iv->v[iv->n++] = id;
}

void tok_scratch_free(tok_scratch *s) {
    free(s->ids.v);
    pretok_scratch_free(&s->pre);
    free(s->buf);
    free(s->sym);
    free(s->heap);
    free(s->frag);
    free(s->frag2);
    memset(s, 0, sizeof *s);
}

/* ---- load ---------------------------------------------------------------- */

static uint16_t attr_of_type(int32_t type) {
    switch (type) {
    case HONE_TOKTYPE_NORMAL: return ATTR_NORMAL;
    case HONE_TOKTYPE_UNKNOWN: return ATTR_UNKNOWN;
    case HONE_TOKTYPE_CONTROL: return ATTR_CONTROL;
    case HONE_TOKTYPE_USER_DEFINED: return ATTR_USER_DEFINED;
    case HONE_TOKTYPE_UNUSED: return ATTR_UNUSED;
    case HONE_TOKTYPE_BYTE: return ATTR_BYTE;
    default: return ATTR_UNDEFINED;
    }
}

/* An optional token id key: absent keeps *id; out of range is an error. */
static hone_status read_id(const gguf_file *f, const hone_vocab *v, const char *key, int32_t *id) {
    uint32_t x;
    hone_status st = gguf_get_u32(f, key, &x);
    if (st == HONE_ERR_NOT_FOUND) return HONE_OK;
    if (st) return st;
    if (x >= (uint32_t)v->n_tokens)
        return hone_err(HONE_ERR_FORMAT, "%s: key '%s' = %u is not a token id (vocabulary of %d)",
                        gguf_path(f), key, x, v->n_tokens);
    *id = (int32_t)x;
    return HONE_OK;
}

static hone_status read_bool(const gguf_file *f, const char *key, bool *b) {
    hone_status st = gguf_get_bool(f, key, b);
    return st == HONE_ERR_NOT_FOUND ? HONE_OK : st;
}

/* Element i of a numeric array as int64 / double; false for other types. */
static bool arr_int(gguf_vtype t, const void *d, uint64_t i, int64_t *out) {
    switch (t) {
    case GGUF_TYPE_UINT8: *out = ((const uint8_t *)d)[i]; return true;
    case GGUF_TYPE_INT8: *out = ((const int8_t *)d)[i]; return true;
    case GGUF_TYPE_UINT16: *out = ((const uint16_t *)d)[i]; return true;
    case GGUF_TYPE_INT16: *out = ((const int16_t *)d)[i]; return true;
    case GGUF_TYPE_UINT32: *out = ((const uint32_t *)d)[i]; return true;
    case GGUF_TYPE_INT32: *out = ((const int32_t *)d)[i]; return true;
    case GGUF_TYPE_UINT64: *out = (int64_t)((const uint64_t *)d)[i]; return true;
    case GGUF_TYPE_INT64: *out = ((const int64_t *)d)[i]; return true;
    default: return false;
    }
}

static bool name_in(const char *names, const char *s) {
    size_t n = strlen(s);
    for (const char *p = names;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, s, n) == 0) return true;
        if (!bar) return false;
        p = bar + 1;
    }
}

static void mark_control(hone_vocab *v, int32_t id) {
    if (id >= 0) v->attr[id] = (uint16_t)((v->attr[id] & (ATTR_LSTRIP | ATTR_RSTRIP)) | ATTR_CONTROL);
}

static int32_t find_text(const hone_vocab *v, const char *s) {
    return strtab_get(&v->text_to_id, s, strlen(s), 0);
}

/* The first of `texts` present in the vocab (NULL-terminated list). */
static int32_t find_first(const hone_vocab *v, const char *const *texts) {
    for (; *texts; texts++) {
        int32_t id = find_text(v, *texts);
        if (id >= 0) return id;
    }
    return -1;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static void eog_add(hone_vocab *v, int32_t id) {
    if (id < 0) return;
    for (int32_t i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id) return;
    v->eog[v->n_eog++] = id;
}

/* End-of-turn / end-of-generation tokens. llama.cpp finds them by text when
 * the metadata does not name them, and forces them to CONTROL. */
static void find_end_tokens(hone_vocab *v) {
    static const char *const eot_texts[] = {"<|eot_id|>",
                                            "<|im_end|>",
                                            "<|end|>",
                                            "<end_of_turn>",
                                            "<|endoftext|>",
                                            "<EOT>",
                                            "<\xef\xbd\x9c"
                                            "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                                            NULL};
    static const char *const eom_texts[] = {"<|eom_id|>", NULL};
    static const char *const fim_pre[] = {"<|fim_prefix|>", "<fim-prefix>",
                                          "<\xef\xbd\x9c"
                                          "fim\xe2\x96\x81"
                                          "begin\xef\xbd\x9c>",
                                          "<PRE>", NULL};
    static const char *const fim_suf[] = {"<|fim_suffix|>", "<fim-suffix>",
                                          "<\xef\xbd\x9c"
                                          "fim\xe2\x96\x81"
                                          "hole\xef\xbd\x9c>",
                                          "<SUF>", NULL};
    static const char *const fim_mid[] = {"<|fim_middle|>", "<fim-middle>",
                                          "<\xef\xbd\x9c"
                                          "fim\xe2\x96\x81"
                                          "end\xef\xbd\x9c>",
                                          "<MID>", NULL};
    static const char *const fim_pad[] = {"<|fim_pad|>", "<fim-pad>", "<PAD>", NULL};
    static const char *const fim_rep[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", NULL};
    static const char *const fim_sep[] = {"<|file_sep|>", NULL};
    static const char *const eog_texts[] = {"<|eot_id|>",    "<|im_end|>", "<|end|>", "<end_of_turn>",
                                            "<|endoftext|>", "<|eom_id|>", "<EOT>",   NULL};
    struct {
        int32_t *id;
        const char *const *texts;
    } detect[] = {{&v->eot, eot_texts},   {&v->eom, eom_texts},   {&v->fim_pre, fim_pre},
                  {&v->fim_suf, fim_suf}, {&v->fim_mid, fim_mid}, {&v->fim_pad, fim_pad},
                  {&v->fim_rep, fim_rep}, {&v->fim_sep, fim_sep}};
    for (size_t i = 0; i < sizeof detect / sizeof detect[0]; i++) {
        if (*detect[i].id >= 0) continue;
        *detect[i].id = find_first(v, detect[i].texts);
        mark_control(v, *detect[i].id);
    }
    v->n_eog = 0;
    eog_add(v, v->fim_pad);
    eog_add(v, v->fim_rep);
    eog_add(v, v->fim_sep);
    for (const char *const *t = eog_texts; *t; t++) {
        int32_t id = find_text(v, *t);
        eog_add(v, id);
        mark_control(v, id);
    }
    eog_add(v, v->eos);
    eog_add(v, v->eot);
    eog_add(v, v->eom);
    qsort(v->eog, (size_t)v->n_eog, sizeof(int32_t), cmp_i32);
}

typedef struct {
    uint32_t len;
    int32_t id;
} len_id;

static int cmp_special(const void *a, const void *b) {
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static hone_status build_special_list(hone_vocab *v) {
    len_id *tmp = malloc((size_t)v->n_tokens * sizeof *tmp);
    v->special = malloc((size_t)v->n_tokens * sizeof(int32_t));
    if (!tmp || !v->special) {
        free(tmp);
        return HONE_ERR_NOMEM;
    }
    int32_t n = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->attr[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN))
            tmp[n++] = (len_id){v->text_len[i], i};
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_special);
    for (int32_t i = 0; i < n; i++) v->special[i] = tmp[i].id;
    v->n_special = n;
    free(tmp);
    return HONE_OK;
}

/* Per-model strip flags llama.cpp sets from the model/tokenizer name. */
static void set_strip_flags(hone_vocab *v, const gguf_file *f, const char *pre) {
    if (pre && (strstr(pre, "jina-v2-de") || strstr(pre, "jina-v2-es") || strstr(pre, "jina-v2-code"))) {
        int32_t id = find_text(v, "<mask>");
        if (id >= 0) v->attr[id] |= ATTR_LSTRIP;
        return;
    }
    const char *name = NULL;
    if (gguf_get_str(f, "general.name", &name) || !name) return;
    char low[256];
    size_t n = strlen(name);
    if (n >= sizeof low) n = sizeof low - 1;
    for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)name[i]);
    low[n] = 0;
    if (!strstr(low, "phi-3") && !strstr(low, "phi3")) return;
    for (int32_t i = 0; i < v->n_special; i++) v->attr[v->special[i]] |= ATTR_RSTRIP;
    int32_t id = find_text(v, "</s>");
    if (id >= 0) v->attr[id] |= ATTR_RSTRIP;
    static const char *const keep[] = {"<unk>", "<s>", "<|endoftext|>"};
    for (size_t i = 0; i < 3; i++) {
        id = find_text(v, keep[i]);
        if (id >= 0) v->attr[id] &= (uint16_t)~ATTR_RSTRIP;
    }
}

/* The piece of one token (special = true), appended to *pool. */
static bool append(char **pool, size_t *n, size_t *cap, const char *s, size_t len) {
    if (!scratch_reserve((void **)pool, cap, *n + len + 1)) return false;
    memcpy(*pool + *n, s, len);
    *n += len;
    return true;
}

static bool make_piece(const hone_vocab *v, int32_t id, char **pool, size_t *n, size_t *cap) {
    const char *t = v->text_pool + v->text_off[id];
    size_t len = v->text_len[id];
    uint16_t a = v->attr[id];
    if (a & (ATTR_UNKNOWN | ATTR_CONTROL | ATTR_USER_DEFINED)) return append(pool, n, cap, t, len);
    if (v->kind == VOCAB_SPM) {
        if (a & ATTR_NORMAL) {
            for (size_t i = 0; i < len; i++) {
                bool sp = i + 2 < len && memcmp(t + i, "\xe2\x96\x81", 3) == 0;
                if (!append(pool, n, cap, sp ? " " : t + i, 1)) return false;
                if (sp) i += 2;
            }
            return true;
        }
        if (a & ATTR_BYTE) { /* "<0xNN>": the hex digits at 3..4, as far as they go */
            unsigned val = 0;
            for (size_t i = 3; i < 5 && i < len && isxdigit((unsigned char)t[i]); i++)
                val = val * 16 + (unsigned)(isdigit((unsigned char)t[i])
                                                ? t[i] - '0'
                                                : (tolower((unsigned char)t[i]) - 'a' + 10));
            char b = (char)val;
            return append(pool, n, cap, &b, 1);
        }
        return true;
    }
    if (!(a & ATTR_NORMAL)) return true;
    const uint8_t *u = (const uint8_t *)t;
    for (size_t i = 0; i < len;) {
        size_t adv;
        uint32_t cp = utf8_decode_lax(u + i, len - i, &adv);
        char raw;
        size_t one;
        if (cp != UTF8_BAD && bpe_decode_text(t + i, adv, &raw, &one)) {
            if (!append(pool, n, cap, &raw, 1)) return false;
        } else {
            /* Not one of the 256 byte symbols: llama.cpp writes a marker
             * with the character's bytes and the whole token text. */
            char enc[4], hex[32];
            int k = utf8_encode(cp == UTF8_BAD ? UTF8_REPLACEMENT : cp, enc);
            size_t hn = 0;
            for (int j = 0; j < k; j++)
                hn += (size_t)snprintf(hex + hn, sizeof hex - hn, "%02x", (uint8_t)enc[j]);
            if (!append(pool, n, cap, "[UNK_BYTE_0x", 12) || !append(pool, n, cap, hex, hn) ||
                !append(pool, n, cap, t, len) || !append(pool, n, cap, "]", 1))
                return false;
        }
        i += adv;
    }
    return true;
}

static hone_status build_pieces(hone_vocab *v) {
    size_t n = 0, cap = 0;
    char *pool = NULL;
    v->piece_off = malloc((size_t)v->n_tokens * sizeof(uint32_t));
    v->piece_len = malloc((size_t)v->n_tokens * sizeof(uint32_t));
    if (!v->piece_off || !v->piece_len) return HONE_ERR_NOMEM;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        size_t start = n;
        if (!make_piece(v, i, &pool, &n, &cap) || n > UINT32_MAX) {
            free(pool);
            return HONE_ERR_NOMEM;
        }
        v->piece_off[i] = (uint32_t)start;
        v->piece_len[i] = (uint32_t)(n - start);
    }
    v->piece_pool = pool ? pool : calloc(1, 1);
    return v->piece_pool ? HONE_OK : HONE_ERR_NOMEM;
}

/* Token texts into one pool; empty entries get llama.cpp's "[EMPTY_i]". */
static hone_status load_texts(hone_vocab *v, const gguf_str *toks, const char *path) {
    size_t total = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) total += (toks[i].len ? toks[i].len : 24) + 1;
    if (total > UINT32_MAX)
        return hone_err(HONE_ERR_FORMAT, "%s: tokenizer.ggml.tokens: texts too large", path);
    v->text_pool = malloc(total);
    v->text_off = malloc((size_t)v->n_tokens * sizeof(uint32_t));
    v->text_len = malloc((size_t)v->n_tokens * sizeof(uint32_t));
    if (!v->text_pool || !v->text_off || !v->text_len || strtab_init(&v->text_to_id, (uint32_t)v->n_tokens))
        return hone_err(HONE_ERR_NOMEM, "%s: out of memory for %d tokens", path, v->n_tokens);
    size_t at = 0;
    for (int32_t i = 0; i < v->n_tokens; i++) {
        char *dst = v->text_pool + at;
        size_t len = toks[i].len;
        if (len)
            memcpy(dst, toks[i].s, len);
        else
            len = (size_t)snprintf(dst, 24, "[EMPTY_%d]", i);
        dst[len] = 0;
        v->text_off[i] = (uint32_t)at;
        v->text_len[i] = (uint32_t)len;
        at += len + 1;
        if (strtab_put(&v->text_to_id, dst, (uint32_t)len, 0, i, true))
            return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    }
    return HONE_OK;
}

/* scores and token_type, both optional, one entry per token. */
static hone_status load_scores_types(hone_vocab *v, const gguf_file *f) {
    const char *path = gguf_path(f);
    v->scores = calloc((size_t)v->n_tokens, sizeof(float));
    v->types = malloc((size_t)v->n_tokens * sizeof(int32_t));
    v->attr = malloc((size_t)v->n_tokens * sizeof(uint16_t));
    if (!v->scores || !v->types || !v->attr) return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    gguf_vtype et;
    uint64_t n;
    const void *d;
    hone_status st = gguf_get_arr(f, "tokenizer.ggml.scores", &et, &n, &d);
    if (st == HONE_OK) {
        if (n != (uint64_t)v->n_tokens || (et != GGUF_TYPE_FLOAT32 && et != GGUF_TYPE_FLOAT64))
            return hone_err(HONE_ERR_FORMAT,
                            "%s: tokenizer.ggml.scores: %llu values of type %s, expected %d floats", path,
                            (unsigned long long)n, gguf_vtype_name(et), v->n_tokens);
        for (int32_t i = 0; i < v->n_tokens; i++)
            v->scores[i] = et == GGUF_TYPE_FLOAT32 ? ((const float *)d)[i] : (float)((const double *)d)[i];
    } else if (st != HONE_ERR_NOT_FOUND) {
        return st;
    }
    for (int32_t i = 0; i < v->n_tokens; i++) v->types[i] = HONE_TOKTYPE_NORMAL;
    st = gguf_get_arr(f, "tokenizer.ggml.token_type", &et, &n, &d);
    if (st == HONE_OK) {
        int64_t x;
        if (n != (uint64_t)v->n_tokens || !arr_int(et, d, 0, &x))
            return hone_err(HONE_ERR_FORMAT,
                            "%s: tokenizer.ggml.token_type: %llu values of type %s, expected %d integers",
                            path, (unsigned long long)n, gguf_vtype_name(et), v->n_tokens);
        for (int32_t i = 0; i < v->n_tokens; i++) {
            arr_int(et, d, (uint64_t)i, &x);
            v->types[i] = x < 0 || x > 6 ? HONE_TOKTYPE_UNDEFINED : (int32_t)x;
        }
    } else if (st != HONE_ERR_NOT_FOUND) {
        return st;
    }
    for (int32_t i = 0; i < v->n_tokens; i++) v->attr[i] = attr_of_type(v->types[i]);
    return HONE_OK;
}

static hone_status load(hone_vocab *v, const gguf_file *f) {
    const char *path = gguf_path(f);
    const char *model = NULL, *pre = NULL;
    hone_status st = gguf_get_str(f, "tokenizer.ggml.model", &model);
    if (st) return st;
    if (strcmp(model, "llama") == 0)
        v->kind = VOCAB_SPM;
    else if (strcmp(model, "gpt2") == 0)
        v->kind = VOCAB_BPE;
    else
        return hone_err(HONE_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model '%s' is not supported (llama, gpt2)",
                        path, model);
    st = gguf_get_str(f, "tokenizer.ggml.pre", &pre);
    if (st && st != HONE_ERR_NOT_FOUND) return st;
    if (st) pre = NULL;

    gguf_vtype et;
    uint64_t n;
    const void *d;
    st = gguf_get_arr(f, "tokenizer.ggml.tokens", &et, &n, &d);
    if (st) return st;
    if (et != GGUF_TYPE_STRING || n == 0 || n > INT32_MAX)
        return hone_err(HONE_ERR_FORMAT,
                        "%s: tokenizer.ggml.tokens: %llu values of type %s, expected 1..2^31 strings", path,
                        (unsigned long long)n, gguf_vtype_name(et));
    v->n_tokens = (int32_t)n;
    if ((st = load_texts(v, d, path)) || (st = load_scores_types(v, f))) return st;

    /* Defaults, as llama.cpp sets them per model type and pre-tokeniser. */
    v->eot = v->eom = v->pad = -1;
    v->fim_pre = v->fim_suf = v->fim_mid = v->fim_pad = v->fim_rep = v->fim_sep = -1;
    int32_t sep = -1, mask = -1, cls = -1;
    if (v->kind == VOCAB_SPM) {
        v->bos = 1, v->eos = 2, v->unk = 0;
        v->add_bos = true, v->add_eos = false, v->add_space_prefix = true, v->clean_spaces = false;
        snprintf(v->pre_name, sizeof v->pre_name, "%s", "");
        v->pre_known = true;
    } else {
        v->bos = 11, v->eos = 11, v->unk = -1;
        v->add_bos = false, v->add_eos = false, v->add_space_prefix = false, v->clean_spaces = true;
        st = pretok_create(pre, &v->pre, &v->pre_known);
        if (st) return hone_err_prefix(st, "%s: ", path);
        snprintf(v->pre_name, sizeof v->pre_name, "%s", pretok_set_name(v->pre));
        /* llama.cpp's per-`pre` flags (unknown values behave like "default"). */
        static const char *const no_clean = "deepseek-llm|deepseek-coder|deepseek-v3|command-r|qwen2|"
                                            "deepseek-r1-qwen|poro-chat|viking|tekken|smollm|chameleon";
        static const char *const bos_and_whole_words = "llama3|llama-v3|llama-bpe|falcon3|tekken";
        if (pre && name_in(no_clean, pre)) v->clean_spaces = false;
        if (pre && name_in(bos_and_whole_words, pre)) v->ignore_merges = true, v->add_bos = true;
        if (pre && !strcmp(pre, "chameleon")) v->add_bos = true;
        if (pre && !strcmp(pre, "chatglm-bpe")) v->bos = -1;
    }
    if (v->bos >= v->n_tokens) v->bos = -1;
    if (v->eos >= v->n_tokens) v->eos = -1;
    if (v->unk >= v->n_tokens) v->unk = -1;
    if ((st = read_bool(f, "tokenizer.ggml.add_space_prefix", &v->add_space_prefix))) return st;

    if (v->kind == VOCAB_BPE) {
        st = gguf_get_arr(f, "tokenizer.ggml.merges", &et, &n, &d);
        if (st) return st;
        if (et != GGUF_TYPE_STRING)
            return hone_err(HONE_ERR_FORMAT, "%s: tokenizer.ggml.merges is an array of %s, expected strings",
                            path, gguf_vtype_name(et));
        if ((st = bpe_build(v, d, n, path))) return st;
    } else {
        char name[8];
        for (int b = 0; b < 256; b++) {
            snprintf(name, sizeof name, "<0x%02X>", b);
            int32_t id = find_text(v, name);
            if (id < 0) {
                name[0] = (char)b;
                id = strtab_get(&v->text_to_id, name, 1, 0);
            }
            v->byte_token[b] = id;
        }
    }

    struct {
        const char *key;
        int32_t *id;
    } ids[] = {
        {"tokenizer.ggml.bos_token_id", &v->bos},         {"tokenizer.ggml.eos_token_id", &v->eos},
        {"tokenizer.ggml.eot_token_id", &v->eot},         {"tokenizer.ggml.eom_token_id", &v->eom},
        {"tokenizer.ggml.unknown_token_id", &v->unk},     {"tokenizer.ggml.seperator_token_id", &sep},
        {"tokenizer.ggml.padding_token_id", &v->pad},     {"tokenizer.ggml.cls_token_id", &cls},
        {"tokenizer.ggml.mask_token_id", &mask},          {"tokenizer.ggml.fim_pre_token_id", &v->fim_pre},
        {"tokenizer.ggml.fim_suf_token_id", &v->fim_suf}, {"tokenizer.ggml.fim_mid_token_id", &v->fim_mid},
        {"tokenizer.ggml.fim_pad_token_id", &v->fim_pad}, {"tokenizer.ggml.fim_rep_token_id", &v->fim_rep},
        {"tokenizer.ggml.fim_sep_token_id", &v->fim_sep}, {"tokenizer.ggml.prefix_token_id", &v->fim_pre},
        {"tokenizer.ggml.suffix_token_id", &v->fim_suf},  {"tokenizer.ggml.middle_token_id", &v->fim_mid}};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if ((st = read_id(f, v, ids[i].key, ids[i].id))) return st;
    if ((st = read_bool(f, "tokenizer.ggml.add_bos_token", &v->add_bos))) return st;
    if ((st = read_bool(f, "tokenizer.ggml.add_eos_token", &v->add_eos))) return st;

    v->eog = malloc(((size_t)v->n_tokens + 16) * sizeof(int32_t));
    if (!v->eog) return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    find_end_tokens(v);
    if (build_special_list(v) || build_pieces(v)) return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    set_strip_flags(v, f, pre);
    return HONE_OK;
}

hone_status vocab_load(const gguf_file *f, hone_vocab **out) {
    if (!f || !out) return hone_err(HONE_ERR_INVALID_ARG, "vocab_load: NULL argument");
    *out = NULL;
    hone_vocab *v = calloc(1, sizeof *v);
    if (!v) return hone_err(HONE_ERR_NOMEM, "vocab_load: out of memory");
    hone_status st = load(v, f);
    if (st) {
        vocab_free(v);
        return st;
    }
    *out = v;
    return HONE_OK;
}

void vocab_free(hone_vocab *v) {
    if (!v) return;
    free(v->text_pool);
    free(v->text_off);
    free(v->text_len);
    free(v->scores);
    free(v->types);
    free(v->attr);
    strtab_free(&v->text_to_id);
    free(v->piece_pool);
    free(v->piece_off);
    free(v->piece_len);
    free(v->eog);
    free(v->special);
    free(v->raw_pool);
    strtab_free(&v->raw_to_id);
    free(v->merge_pool);
    strtab_free(&v->merge_rank);
    pretok_free(v->pre);
    free(v);
}

/* ---- queries ------------------------------------------------------------- */

int32_t vocab_n_tokens(const hone_vocab *v) {
    return v->n_tokens;
}
int32_t vocab_bos(const hone_vocab *v) {
    return v->bos;
}
int32_t vocab_eos(const hone_vocab *v) {
    return v->eos;
}
int32_t vocab_eot(const hone_vocab *v) {
    return v->eot;
}
int32_t vocab_unk(const hone_vocab *v) {
    return v->unk;
}
int32_t vocab_pad(const hone_vocab *v) {
    return v->pad;
}
bool vocab_add_bos(const hone_vocab *v) {
    return v->add_bos && v->bos >= 0;
}
bool vocab_add_eos(const hone_vocab *v) {
    return v->add_eos && v->eos >= 0;
}
const char *vocab_model(const hone_vocab *v) {
    return v->kind == VOCAB_SPM ? "llama" : "gpt2";
}
const char *vocab_pre_set(const hone_vocab *v) {
    return v->pre_name;
}
bool vocab_pre_known(const hone_vocab *v) {
    return v->pre_known;
}

bool vocab_is_eog(const hone_vocab *v, int32_t id) {
    if (id < 0) return false;
    return bsearch(&id, v->eog, (size_t)v->n_eog, sizeof(int32_t), cmp_i32) != NULL;
}

int32_t vocab_token_type(const hone_vocab *v, int32_t id) {
    if (id < 0 || id >= v->n_tokens) return -1;
    uint16_t a = v->attr[id];
    if (a & ATTR_CONTROL) return HONE_TOKTYPE_CONTROL; /* includes tokens promoted for ending generation */
    return v->types[id];
}

const char *vocab_token_text(const hone_vocab *v, int32_t id) {
    if (id < 0 || id >= v->n_tokens) return NULL;
    return v->text_pool + v->text_off[id];
}

int32_t vocab_find(const hone_vocab *v, const char *text) {
    return text ? find_text(v, text) : -1;
}

int32_t vocab_token_to_piece(const hone_vocab *v, int32_t id, bool special, char *buf, size_t cap) {
    if (id < 0 || id >= v->n_tokens) return 0;
    if (!special && (v->attr[id] & (ATTR_UNKNOWN | ATTR_CONTROL))) return 0;
    uint32_t n = v->piece_len[id];
    if (n > INT32_MAX) return INT32_MIN + 1;
    if (cap < n) return -(int32_t)n;
    memcpy(buf, v->piece_pool + v->piece_off[id], n);
    return (int32_t)n;
}

/* ---- tokenise / detokenise ----------------------------------------------- */

static hone_status tokenize_into(const hone_vocab *v, tok_scratch *s, const char *text, size_t len,
                                 bool add_special, bool parse_special) {
    hone_status st = special_partition(v, s, text, len, parse_special);
    if (st) return st;
    if (add_special && v->add_bos && v->bos >= 0) idvec_push(&s->ids, v->bos);
    bool prev_special = true; /* SPM: a space prefix starts the text and follows each special token */
    /* frag is re-read from s each step: the tokenisers do not touch it. */
    for (size_t f = 0; f < s->frag_n; f += 3) {
        if (s->frag[f] == 1) {
            idvec_push(&s->ids, (int32_t)s->frag[f + 1]);
            prev_special = true;
            continue;
        }
        const char *t = text + s->frag[f + 1];
        size_t n = s->frag[f + 2];
        if (v->kind == VOCAB_SPM)
            st = spm_tokenize(v, s, t, n, v->add_space_prefix && prev_special);
        else
            st = bpe_tokenize(v, s, t, n);
        if (st) return st;
        prev_special = false;
    }
    if (add_special && v->add_eos && v->eos >= 0) idvec_push(&s->ids, v->eos);
    return s->ids.failed ? hone_err(HONE_ERR_NOMEM, "tokenize: out of memory for the token list") : HONE_OK;
}

hone_status vocab_tokenize(const hone_vocab *v, const char *text, size_t len, bool add_special,
                           bool parse_special, int32_t *out, size_t cap, size_t *n_out) {
    if (n_out) *n_out = 0;
    if (!v || !n_out || (!text && len) || (!out && cap))
        return hone_err(HONE_ERR_INVALID_ARG, "vocab_tokenize: NULL argument");
    tok_scratch s = {0};
    hone_status st = tokenize_into(v, &s, text ? text : "", len, add_special, parse_special);
    if (st == HONE_OK) {
        *n_out = s.ids.n;
        size_t k = s.ids.n < cap ? s.ids.n : cap;
        if (k) memcpy(out, s.ids.v, k * sizeof(int32_t));
        if (s.ids.n > cap)
            st = hone_err(HONE_ERR_INVALID_ARG, "vocab_tokenize: %zu tokens do not fit in %zu", s.ids.n, cap);
    }
    tok_scratch_free(&s);
    return st;
}

/* llama.cpp's clean-up of tokenisation spaces: " ?" " !" " ." " ," lose the
 * space, " ' " loses both, " 's" " 'm" " 're" " 've" lose the space. */
static size_t clean_spaces(char *t, size_t n) {
    size_t w = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = t[i];
        if (t[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) w--;
        t[w++] = x;
    }
    n = w;
    w = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = t[i];
        if (x == '\'' && i + 1 < n && t[i - 1] == ' ' && t[i + 1] == ' ') {
            w--;
            t[++i] = 0; /* the following space goes too */
        }
        t[w++] = x;
    }
    n = w;
    w = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = t[i];
        if (t[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = t[i + 1];
            if (x1 == 's' || x1 == 'm')
                w--;
            else if (i + 2 < n && ((x1 == 'r' && t[i + 2] == 'e') || (x1 == 'v' && t[i + 2] == 'e')))
                w--;
        }
        t[w++] = x;
    }
    return w;
}

int64_t vocab_detokenize(const hone_vocab *v, const int32_t *ids, size_t n, bool remove_special,
                         bool unparse_special, char *buf, size_t cap) {
    bool strip_space = v->add_space_prefix;
    if (remove_special && v->add_bos && n > 0 && ids[0] == v->bos) {
        strip_space = false;
        ids++, n--;
    }
    if (remove_special && v->add_eos && n > 0 && ids[n - 1] == v->eos) n--;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        bool strip = strip_space;
        strip_space = false; /* only ever the first token, even one that prints nothing */
        if (id < 0 || id >= v->n_tokens) continue;
        if (!unparse_special && (v->attr[id] & (ATTR_UNKNOWN | ATTR_CONTROL))) continue;
        const char *p = v->piece_pool + v->piece_off[id];
        size_t len = v->piece_len[id];
        if (strip && len > 0 && p[0] == ' ') p++, len--;
        if (len > 0 && total + len <= cap) memcpy(buf + total, p, len);
        total += len;
    }
    if (total > cap) return -(int64_t)total;
    if (v->clean_spaces) total = clean_spaces(buf, total);
    return (int64_t)total;
}
