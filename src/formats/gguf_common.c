/*
 * gguf_common.c - pieces of the GGUF format shared by reader and writer:
 * value type sizes and names, UTF-8 validation, the metadata arena, and deep
 * copies of values (see gguf_internal.h).
 */
#include "formats/gguf_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/status.h"

size_t gguf_scalar_size(gguf_vtype t) {
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8:
    case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32:
    case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64:
    case GGUF_TYPE_FLOAT64: return 8;
    default: return 0;
    }
}

size_t gguf_min_size(gguf_vtype t) {
    if (t == GGUF_TYPE_STRING) return 8;     /* length, no bytes */
    if (t == GGUF_TYPE_ARRAY) return 4 + 8;  /* element type + count, no elements */
    return gguf_scalar_size(t);
}

const char *gguf_vtype_name(gguf_vtype t) {
    static const char *const names[GGUF_TYPE_COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64",
    };
    return (unsigned)t < GGUF_TYPE_COUNT ? names[t] : "unknown";
}

bool gguf_utf8_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c == 0) return false;
        if (c < 0x80) { i++; continue; }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (len - i < n) return false;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n;
    }
    return true;
}

/* ---- arena ---- */

struct gguf_arena_block {
    gguf_arena_block *next;
    size_t used, cap;
    size_t pad_; /* keeps data[] 16-byte aligned on LP64 */
    unsigned char data[];
};

/* Blocks of this size serve the many small strings of a vocabulary; anything
 * bigger than a quarter of it gets a block of its own so little is wasted. */
#define ARENA_BLOCK 65536

void *gguf_arena_alloc(gguf_arena *a, size_t n, size_t align) {
    static _Alignas(16) unsigned char empty[16];
    if (n == 0) return empty;
    gguf_arena_block *b = a->head;
    if (b) {
        size_t at = (b->used + align - 1) & ~(align - 1);
        if (at <= b->cap && b->cap - at >= n) {
            b->used = at + n;
            return b->data + at;
        }
    }
    if (n > ARENA_BLOCK / 4) {
        if (n > SIZE_MAX - sizeof(gguf_arena_block)) return NULL;
        gguf_arena_block *big = malloc(sizeof(gguf_arena_block) + n);
        if (!big) return NULL;
        big->used = big->cap = n;
        /* Behind the current block, which keeps serving small requests. */
        if (b) {
            big->next = b->next;
            b->next = big;
        } else {
            big->next = NULL;
            a->head = big;
        }
        return big->data;
    }
    gguf_arena_block *nb = malloc(sizeof(gguf_arena_block) + ARENA_BLOCK);
    if (!nb) return NULL;
    nb->cap = ARENA_BLOCK;
    nb->used = n;
    nb->next = b;
    a->head = nb;
    return nb->data;
}

void gguf_arena_free(gguf_arena *a) {
    gguf_arena_block *b = a->head;
    while (b) {
        gguf_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* ---- malloc-owned values (writer) ---- */

void gguf_value_free(gguf_value *v) {
    if (v->type == GGUF_TYPE_STRING) {
        free(v->str.s);
    } else if (v->type == GGUF_TYPE_ARRAY) {
        if (v->arr.elem_type == GGUF_TYPE_STRING) {
            gguf_str *s = v->arr.data;
            for (uint64_t i = 0; s && i < v->arr.n; i++) free(s[i].s);
        } else if (v->arr.elem_type == GGUF_TYPE_ARRAY) {
            gguf_value *e = v->arr.data;
            for (uint64_t i = 0; e && i < v->arr.n; i++) gguf_value_free(&e[i]);
        }
        free(v->arr.data);
    }
    memset(v, 0, sizeof *v);
    v->type = GGUF_TYPE_UINT8;
}

static char *dup_bytes(const char *s, uint64_t len) {
    if (len >= SIZE_MAX) return NULL;
    char *d = malloc((size_t)len + 1);
    if (!d) return NULL;
    if (len) memcpy(d, s, (size_t)len);
    d[len] = '\0';
    return d;
}

static hone_status copy_at(gguf_value *dst, const gguf_value *src, int depth) {
    memset(dst, 0, sizeof *dst);
    dst->type = src->type;
    if (src->type == GGUF_TYPE_STRING) {
        dst->str.s = dup_bytes(src->str.s ? src->str.s : "", src->str.len);
        if (!dst->str.s) goto oom;
        dst->str.len = src->str.len;
        return HONE_OK;
    }
    if (src->type != GGUF_TYPE_ARRAY) {
        if ((unsigned)src->type >= GGUF_TYPE_COUNT)
            return hone_err(HONE_ERR_INVALID_ARG, "gguf: value of unknown type %d", (int)src->type);
        *dst = *src;
        return HONE_OK;
    }
    if (depth >= GGUF_MAX_DEPTH)
        return hone_err(HONE_ERR_INVALID_ARG, "gguf: arrays nested deeper than %d", GGUF_MAX_DEPTH);
    gguf_vtype et = src->arr.elem_type;
    uint64_t n = src->arr.n;
    size_t esz = et == GGUF_TYPE_STRING ? sizeof(gguf_str)
                 : et == GGUF_TYPE_ARRAY ? sizeof(gguf_value) : gguf_scalar_size(et);
    if (esz == 0) return hone_err(HONE_ERR_INVALID_ARG, "gguf: array of unknown element type %d", (int)et);
    if (n > SIZE_MAX / esz) goto oom;
    dst->arr.elem_type = et;
    dst->arr.data = calloc(n ? (size_t)n : 1, esz);
    if (!dst->arr.data) goto oom;
    if (et == GGUF_TYPE_STRING) {
        const gguf_str *s = src->arr.data;
        gguf_str *d = dst->arr.data;
        for (uint64_t i = 0; i < n; i++, dst->arr.n++) {
            d[i].s = dup_bytes(s[i].s ? s[i].s : "", s[i].len);
            if (!d[i].s) goto oom;
            d[i].len = s[i].len;
        }
    } else if (et == GGUF_TYPE_ARRAY) {
        const gguf_value *s = src->arr.data;
        gguf_value *d = dst->arr.data;
        for (uint64_t i = 0; i < n; i++) {
            if (s[i].type != GGUF_TYPE_ARRAY) {
                gguf_value_free(dst);
                return hone_err(HONE_ERR_INVALID_ARG, "gguf: element %llu of an array of arrays is a %s",
                                (unsigned long long)i, gguf_vtype_name(s[i].type));
            }
            hone_status st = copy_at(&d[i], &s[i], depth + 1);
            if (st != HONE_OK) {
                gguf_value_free(dst);
                return st;
            }
            dst->arr.n++;
        }
    } else {
        if (n) memcpy(dst->arr.data, src->arr.data, (size_t)n * esz);
        dst->arr.n = n;
    }
    return HONE_OK;
oom:
    gguf_value_free(dst);
    return hone_err(HONE_ERR_NOMEM, "gguf: out of memory copying a value");
}

hone_status gguf_value_copy(gguf_value *dst, const gguf_value *src) { return copy_at(dst, src, 0); }
