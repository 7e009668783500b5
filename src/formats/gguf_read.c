/*
 * gguf_read.c - the GGUF v2/v3 reader: parse and validate a whole file.
 *
 * The file is untrusted input. Every count and length is checked against the
 * bytes that remain before anything is allocated, sizes are computed with
 * overflow checks, and any failure returns HONE_ERR_FORMAT with a message
 * naming the file, the key or tensor, the byte offset and what was expected.
 *
 * Ownership: a gguf_file owns its mapping (or malloc'd copy of the file), an
 * arena holding every key, string and array, the kv and tensor tables, and
 * two hash indexes for name lookups. Tensor data pointers point into the
 * mapping. gguf_close releases everything.
 *
 * Layout (all little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv,
 * n_kv x (string key, u32 type, value), n_tensors x (string name, u32 n_dims,
 * n_dims x i64 ne, u32 type, u64 offset), padding to the alignment, data.
 * A string is a u64 length and that many bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "formats/gguf_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader copies packed arrays as they are stored: little-endian hosts only"
#endif

typedef enum { STORE_NONE, STORE_MMAP, STORE_MALLOC } storage;

/* Open-addressing index over names: slot holds item index + 1, 0 = empty. */
typedef struct {
    uint32_t *slots;
    size_t mask;
} name_index;

struct gguf_file {
    char *path;
    const uint8_t *base;
    size_t size;
    storage store;
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    int64_t n_kv, n_tensors;
    gguf_kv *kvs;
    gguf_tensor *tensors;
    name_index kv_index, tensor_index;
    gguf_arena arena;
};

typedef struct {
    gguf_file *f;
    size_t pos;
    char where[160]; /* "key #5 'general.name'", "tensor #3 'blk.0.attn_q.weight'", "header" */
} reader;

/* ---- errors ---- */

static hone_status bad_at(reader *r, size_t at, const char *fmt, ...) HONE_PRINTF(3, 4);
static hone_status bad_at(reader *r, size_t at, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hone_err(HONE_ERR_FORMAT, "%s: %s at offset 0x%zx: %s", r->f->path, r->where, at, msg);
}

static hone_status oom(reader *r) {
    return hone_err(HONE_ERR_NOMEM, "%s: %s: out of memory", r->f->path, r->where);
}

/* Put a (possibly hostile) name into the context, escaped and shortened. */
static void set_where(reader *r, const char *what, int64_t i, const char *name, size_t len) {
    char esc[96];
    size_t o = 0;
    for (size_t k = 0; name && k < len && o + 5 < sizeof esc; k++) {
        unsigned char c = (unsigned char)name[k];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            esc[o++] = (char)c;
        } else {
            snprintf(esc + o, sizeof esc - o, "\\x%02x", c);
            o += 4;
        }
    }
    esc[o] = '\0';
    const char *ell = name && o + 5 >= sizeof esc && len > 0 ? "..." : "";
    if (name)
        snprintf(r->where, sizeof r->where, "%s #%" PRId64 " '%s%s'", what, i, esc, ell);
    else
        snprintf(r->where, sizeof r->where, "%s #%" PRId64, what, i);
}

/* ---- primitive reads ---- */

static size_t left(const reader *r) { return r->f->size - r->pos; }

static hone_status need(reader *r, size_t n, const char *what) {
    if (left(r) < n)
        return bad_at(r, r->pos, "file truncated: %s needs %zu bytes, %zu left", what, n, left(r));
    return HONE_OK;
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static hone_status rd_u32(reader *r, uint32_t *v, const char *what) {
    hone_status st = need(r, 4, what);
    if (st) return st;
    *v = le32(r->f->base + r->pos);
    r->pos += 4;
    return HONE_OK;
}

static hone_status rd_u64(reader *r, uint64_t *v, const char *what) {
    hone_status st = need(r, 8, what);
    if (st) return st;
    *v = le64(r->f->base + r->pos);
    r->pos += 8;
    return HONE_OK;
}

/* A string's bytes, validated against the bytes left; points into the file. */
static hone_status rd_span(reader *r, const char **s, uint64_t *len, const char *what) {
    size_t at = r->pos;
    hone_status st = rd_u64(r, len, what);
    if (st) return st;
    if (*len > left(r))
        return bad_at(r, at, "%s length %" PRIu64 " exceeds the %zu bytes left", what, *len, left(r));
    *s = (const char *)r->f->base + r->pos;
    r->pos += (size_t)*len;
    return HONE_OK;
}

static hone_status rd_str(reader *r, gguf_str *out, const char *what) {
    const char *s;
    uint64_t len;
    hone_status st = rd_span(r, &s, &len, what);
    if (st) return st;
    char *d = gguf_arena_alloc(&r->f->arena, (size_t)len + 1, 1);
    if (!d) return oom(r);
    memcpy(d, s, (size_t)len);
    d[len] = '\0';
    out->s = d;
    out->len = len;
    return HONE_OK;
}

/* ---- name index ---- */

static uint64_t hash_name(const char *s, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

static bool index_init(name_index *ix, int64_t n) {
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    ix->slots = calloc(cap, sizeof *ix->slots);
    ix->mask = cap - 1;
    return ix->slots != NULL;
}

/* Find `name` among names[] via the index; returns the item index or -1.
 * With insert_as >= 0, inserts that index when absent. */
static int64_t index_lookup(const name_index *ix, const char *const *names, size_t stride, const char *name,
                            int64_t insert_as) {
    if (!ix->slots) return -1;
    size_t len = strlen(name);
    size_t i = (size_t)hash_name(name, len) & ix->mask;
    for (;;) {
        uint32_t s = ix->slots[i];
        if (s == 0) {
            if (insert_as >= 0) ix->slots[i] = (uint32_t)insert_as + 1;
            return -1;
        }
        const char *other = *(const char *const *)((const char *)names + (size_t)(s - 1) * stride);
        if (strcmp(other, name) == 0) return s - 1;
        i = (i + 1) & ix->mask;
    }
}

/* ---- values ---- */

static hone_status rd_value(reader *r, gguf_vtype type, int depth, gguf_value *out);

static hone_status rd_scalar(reader *r, gguf_vtype type, gguf_value *out) {
    size_t at = r->pos;
    size_t n = gguf_scalar_size(type);
    hone_status st = need(r, n, gguf_vtype_name(type));
    if (st) return st;
    const uint8_t *p = r->f->base + r->pos;
    r->pos += n;
    out->type = type;
    switch (type) {
    case GGUF_TYPE_UINT8: out->u64 = p[0]; break;
    case GGUF_TYPE_INT8: out->i64 = (int8_t)p[0]; break;
    case GGUF_TYPE_UINT16: out->u64 = (uint16_t)(p[0] | p[1] << 8); break;
    case GGUF_TYPE_INT16: out->i64 = (int16_t)(uint16_t)(p[0] | p[1] << 8); break;
    case GGUF_TYPE_UINT32: out->u64 = le32(p); break;
    case GGUF_TYPE_INT32: out->i64 = (int32_t)le32(p); break;
    case GGUF_TYPE_UINT64: out->u64 = le64(p); break;
    case GGUF_TYPE_INT64: out->i64 = (int64_t)le64(p); break;
    case GGUF_TYPE_FLOAT32: {
        uint32_t b = le32(p);
        float x;
        memcpy(&x, &b, 4);
        out->f64 = x;
        break;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t b = le64(p);
        memcpy(&out->f64, &b, 8);
        break;
    }
    case GGUF_TYPE_BOOL:
        if (p[0] > 1) return bad_at(r, at, "bool value %u is neither 0 nor 1", p[0]);
        out->b = p[0] != 0;
        break;
    default: return bad_at(r, at, "internal: %d is not a scalar type", (int)type);
    }
    return HONE_OK;
}

static hone_status rd_array(reader *r, int depth, gguf_value *out) {
    size_t at = r->pos;
    uint32_t et;
    uint64_t n;
    hone_status st = rd_u32(r, &et, "array element type");
    if (st) return st;
    if (et >= GGUF_TYPE_COUNT) return bad_at(r, at, "unknown array element type %" PRIu32, et);
    if (et == GGUF_TYPE_ARRAY && depth + 1 >= GGUF_MAX_DEPTH)
        return bad_at(r, at, "arrays nested deeper than %d levels", GGUF_MAX_DEPTH);
    size_t at_n = r->pos;
    st = rd_u64(r, &n, "array length");
    if (st) return st;
    size_t min = gguf_min_size((gguf_vtype)et);
    if (n > left(r) / min) {
        if (n > UINT64_MAX / min)
            return bad_at(r, at_n, "array length %" PRIu64 " of %s exceeds the %zu bytes left", n,
                          gguf_vtype_name((gguf_vtype)et), left(r));
        return bad_at(r, at_n, "array length %" PRIu64 " of %s needs at least %" PRIu64 " bytes, %zu left", n,
                      gguf_vtype_name((gguf_vtype)et), n * min, left(r));
    }
    out->type = GGUF_TYPE_ARRAY;
    out->arr.elem_type = (gguf_vtype)et;
    out->arr.n = 0;
    out->arr.data = NULL;
    gguf_arena *ar = &r->f->arena;
    /* n <= bytes left, so n * 32 cannot overflow size_t on 64-bit hosts. */
    if (et == GGUF_TYPE_STRING) {
        gguf_str *v = gguf_arena_alloc(ar, (size_t)n * sizeof *v, 16);
        if (!v) return oom(r);
        out->arr.data = v;
        for (uint64_t i = 0; i < n; i++) {
            st = rd_str(r, &v[i], "string");
            if (st) return st;
        }
    } else if (et == GGUF_TYPE_ARRAY) {
        gguf_value *v = gguf_arena_alloc(ar, (size_t)n * sizeof *v, 16);
        if (!v) return oom(r);
        memset(v, 0, (size_t)n * sizeof *v);
        out->arr.data = v;
        for (uint64_t i = 0; i < n; i++) {
            st = rd_value(r, GGUF_TYPE_ARRAY, depth + 1, &v[i]);
            if (st) return st;
        }
    } else {
        size_t bytes = (size_t)n * min;
        uint8_t *v = gguf_arena_alloc(ar, bytes, 16);
        if (!v) return oom(r);
        memcpy(v, r->f->base + r->pos, bytes);
        if (et == GGUF_TYPE_BOOL) {
            for (size_t i = 0; i < bytes; i++)
                if (v[i] > 1) return bad_at(r, r->pos + i, "bool element %zu is %u, neither 0 nor 1", i, v[i]);
        }
        r->pos += bytes;
        out->arr.data = v;
    }
    out->arr.n = n;
    return HONE_OK;
}

static hone_status rd_value(reader *r, gguf_vtype type, int depth, gguf_value *out) {
    if (type == GGUF_TYPE_STRING) {
        out->type = GGUF_TYPE_STRING;
        return rd_str(r, &out->str, "string");
    }
    if (type == GGUF_TYPE_ARRAY) return rd_array(r, depth, out);
    return rd_scalar(r, type, out);
}

/* Key or tensor name: non-empty, bounded, valid UTF-8, no NULs. */
static hone_status rd_name(reader *r, const char *what, const char *label, int64_t i, char **out) {
    size_t at = r->pos;
    const char *s;
    uint64_t len;
    hone_status st = rd_span(r, &s, &len, what);
    if (st) return st;
    if (len == 0) return bad_at(r, at, "empty %s", what);
    if (len > GGUF_MAX_KEY_LEN)
        return bad_at(r, at, "%s length %" PRIu64 " exceeds %d", what, len, GGUF_MAX_KEY_LEN);
    set_where(r, label, i, s, (size_t)len);
    if (!gguf_utf8_valid(s, (size_t)len)) return bad_at(r, at + 8, "%s is not valid UTF-8 (or has a NUL)", what);
    char *d = gguf_arena_alloc(&r->f->arena, (size_t)len + 1, 1);
    if (!d) return oom(r);
    memcpy(d, s, (size_t)len);
    d[len] = '\0';
    *out = d;
    return HONE_OK;
}

/* ---- sections ---- */

static hone_status rd_header(reader *r, uint64_t *n_tensors, uint64_t *n_kv) {
    gguf_file *f = r->f;
    snprintf(r->where, sizeof r->where, "header");
    uint32_t magic, version;
    hone_status st = rd_u32(r, &magic, "magic");
    if (st) return st;
    if (magic != GGUF_MAGIC)
        return bad_at(r, 0, "bad magic %02x %02x %02x %02x, expected \"GGUF\"", f->base[0], f->base[1], f->base[2],
                      f->base[3]);
    st = rd_u32(r, &version, "version");
    if (st) return st;
    if (version == 2 || version == 3) {
        f->version = version;
    } else {
        uint32_t sw = __builtin_bswap32(version);
        if (sw >= 1 && sw <= 3)
            return hone_err(HONE_ERR_UNSUPPORTED, "%s: big-endian GGUF (version %u byte-swapped) is not supported",
                            f->path, sw);
        if (version == 1)
            return hone_err(HONE_ERR_UNSUPPORTED, "%s: GGUF version 1 is not supported (convert to v3)", f->path);
        return bad_at(r, 4, "GGUF version %" PRIu32 " is not supported (expected 2 or 3)", version);
    }
    size_t at = r->pos;
    st = rd_u64(r, n_tensors, "tensor count");
    if (!st) st = rd_u64(r, n_kv, "key/value count");
    if (st) return st;
    /* Smallest possible entries: a kv is a 1-byte key and a 1-byte value,
     * a tensor info a 1-byte name and one dimension. */
    const size_t kv_min = 8 + 1 + 4 + 1, ti_min = 8 + 1 + 4 + 8 + 4 + 8;
    if (*n_tensors > left(r) / ti_min)
        return bad_at(r, at, "tensor count %" PRIu64 " cannot fit in the %zu bytes left", *n_tensors, left(r));
    if (*n_kv > left(r) / kv_min)
        return bad_at(r, at + 8, "key/value count %" PRIu64 " cannot fit in the %zu bytes left", *n_kv, left(r));
    if (*n_tensors * ti_min + *n_kv * kv_min > left(r) || *n_tensors >= UINT32_MAX || *n_kv >= UINT32_MAX)
        return bad_at(r, at, "%" PRIu64 " tensors and %" PRIu64 " keys cannot fit in the %zu bytes left", *n_tensors,
                      *n_kv, left(r));
    return HONE_OK;
}

static hone_status rd_kvs(reader *r, uint64_t n_kv) {
    gguf_file *f = r->f;
    f->kvs = calloc(n_kv ? n_kv : 1, sizeof *f->kvs);
    if (!f->kvs || !index_init(&f->kv_index, (int64_t)n_kv)) return oom(r);
    for (uint64_t i = 0; i < n_kv; i++) {
        gguf_kv *kv = &f->kvs[i];
        set_where(r, "key", (int64_t)i, NULL, 0);
        size_t at = r->pos;
        hone_status st = rd_name(r, "key", "key", (int64_t)i, &kv->key);
        if (st) return st;
        int64_t dup = index_lookup(&f->kv_index, (const char *const *)&f->kvs[0].key, sizeof *kv, kv->key,
                                   (int64_t)i);
        if (dup >= 0) return bad_at(r, at, "duplicate key (also key #%" PRId64 ")", dup);
        size_t at_t = r->pos;
        uint32_t type;
        st = rd_u32(r, &type, "value type");
        if (st) return st;
        if (type >= GGUF_TYPE_COUNT) return bad_at(r, at_t, "unknown value type %" PRIu32, type);
        st = rd_value(r, (gguf_vtype)type, 0, &kv->val);
        if (st) return st;
        f->n_kv = (int64_t)i + 1;
    }
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    const gguf_kv *al = gguf_find_kv(f, "general.alignment");
    if (al) {
        if (al->val.type != GGUF_TYPE_UINT32)
            return hone_err(HONE_ERR_FORMAT, "%s: key 'general.alignment' is a %s, expected uint32", f->path,
                            gguf_vtype_name(al->val.type));
        uint64_t a = al->val.u64;
        if (a == 0 || (a & (a - 1)) != 0)
            return hone_err(HONE_ERR_FORMAT, "%s: general.alignment %" PRIu64 " is not a power of two", f->path, a);
        f->alignment = (uint32_t)a;
    }
    return HONE_OK;
}

static hone_status rd_tensor_infos(reader *r, uint64_t n) {
    gguf_file *f = r->f;
    f->tensors = calloc(n ? n : 1, sizeof *f->tensors);
    if (!f->tensors || !index_init(&f->tensor_index, (int64_t)n)) return oom(r);
    for (uint64_t i = 0; i < n; i++) {
        gguf_tensor *t = &f->tensors[i];
        set_where(r, "tensor", (int64_t)i, NULL, 0);
        size_t at = r->pos;
        hone_status st = rd_name(r, "tensor name", "tensor", (int64_t)i, &t->name);
        if (st) return st;
        int64_t dup = index_lookup(&f->tensor_index, (const char *const *)&f->tensors[0].name, sizeof *t,
                                   t->name, (int64_t)i);
        if (dup >= 0) return bad_at(r, at, "duplicate tensor name (also tensor #%" PRId64 ")", dup);
        at = r->pos;
        st = rd_u32(r, &t->n_dims, "n_dims");
        if (st) return st;
        if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
            return bad_at(r, at, "n_dims %" PRIu32 " is outside 1..%d", t->n_dims, GGUF_MAX_DIMS);
        int64_t nel = 1;
        for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
            t->ne[d] = 1;
            if (d >= t->n_dims) continue;
            at = r->pos;
            uint64_t v;
            st = rd_u64(r, &v, "dimension");
            if (st) return st;
            if (v == 0 || v > INT64_MAX) return bad_at(r, at, "dimension %u is %" PRId64 ", must be positive", d,
                                                       (int64_t)v);
            t->ne[d] = (int64_t)v;
            if (nel > INT64_MAX / t->ne[d]) return bad_at(r, at, "element count overflows at dimension %u", d);
            nel *= t->ne[d];
        }
        at = r->pos;
        uint32_t type;
        st = rd_u32(r, &type, "tensor type");
        if (st) return st;
        const hone_type_info *ti = hone_type_get(type);
        if (!ti) return bad_at(r, at, "unknown tensor type id %" PRIu32, type);
        t->type = (hone_type)type;
        if (t->ne[0] % ti->block_size != 0)
            return bad_at(r, at, "row length %" PRId64 " is not a multiple of the %s block size %u", t->ne[0],
                          ti->name, ti->block_size);
        /* bytes = (ne0 / block) * type_size * rows; each product checked. */
        uint64_t row = (uint64_t)(t->ne[0] / ti->block_size), rows = (uint64_t)(nel / t->ne[0]);
        if (row > SIZE_MAX / ti->type_size || row * ti->type_size > SIZE_MAX / rows)
            return bad_at(r, at, "tensor size overflows");
        t->nbytes = (size_t)(row * ti->type_size * rows);
        at = r->pos;
        st = rd_u64(r, &t->offset, "data offset");
        if (st) return st;
        if (t->offset % f->alignment != 0)
            return bad_at(r, at, "data offset 0x%" PRIx64 " is not a multiple of the alignment %u", t->offset,
                          f->alignment);
        f->n_tensors = (int64_t)i + 1;
    }
    return HONE_OK;
}

typedef struct {
    uint64_t begin, end;
    int64_t i;
} span;

static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static hone_status check_data(reader *r) {
    gguf_file *f = r->f;
    uint64_t pos = r->pos, a = f->alignment;
    /* The data section starts at the next multiple of the alignment. A file
     * without tensors may end before it. */
    if (pos > UINT64_MAX - (a - 1)) return hone_err(HONE_ERR_FORMAT, "%s: data section offset overflows", f->path);
    f->data_offset = (pos + a - 1) / a * a;
    if (f->n_tensors == 0) return HONE_OK;
    span *sp = malloc((size_t)f->n_tensors * sizeof *sp);
    if (!sp) return oom(r);
    hone_status st = HONE_OK;
    for (int64_t i = 0; i < f->n_tensors; i++) {
        gguf_tensor *t = &f->tensors[i];
        uint64_t begin = f->data_offset + t->offset, end;
        if (t->offset > f->size || begin > f->size || t->nbytes > f->size - begin) {
            if (t->offset > f->size)
                st = hone_err(HONE_ERR_FORMAT,
                              "%s: tensor '%s': data offset 0x%" PRIx64 " (after the data section start 0x%" PRIx64
                              ") lies beyond the file (size 0x%zx)",
                              f->path, t->name, t->offset, f->data_offset, f->size);
            else if (t->nbytes > UINT64_MAX - begin)
                st = hone_err(HONE_ERR_FORMAT, "%s: tensor '%s': %zu bytes of data at 0x%" PRIx64
                              " end beyond the file (size 0x%zx)", f->path, t->name, t->nbytes, begin, f->size);
            else
                st = hone_err(HONE_ERR_FORMAT,
                              "%s: tensor '%s': data [0x%" PRIx64 ", 0x%" PRIx64 ") ends beyond the file (size 0x%zx)",
                              f->path, t->name, begin, begin + t->nbytes, f->size);
            goto out;
        }
        end = begin + t->nbytes;
        t->data = f->base + begin;
        sp[i] = (span){begin, end, i};
    }
    qsort(sp, (size_t)f->n_tensors, sizeof *sp, span_cmp);
    for (int64_t i = 1; i < f->n_tensors; i++) {
        if (sp[i].begin < sp[i - 1].end) {
            st = hone_err(HONE_ERR_FORMAT,
                          "%s: tensor '%s': data [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps tensor '%s' [0x%" PRIx64
                          ", 0x%" PRIx64 ")",
                          f->path, f->tensors[sp[i].i].name, sp[i].begin, sp[i].end, f->tensors[sp[i - 1].i].name,
                          sp[i - 1].begin, sp[i - 1].end);
            goto out;
        }
    }
out:
    free(sp);
    return st;
}

/* ---- open / close ---- */

static hone_status parse(gguf_file *f) {
    reader r = {.f = f, .pos = 0};
    uint64_t n_tensors, n_kv;
    hone_status st = rd_header(&r, &n_tensors, &n_kv);
    if (!st) st = rd_kvs(&r, n_kv);
    if (!st) st = rd_tensor_infos(&r, n_tensors);
    if (!st) st = check_data(&r);
    return st;
}

static gguf_file *new_file(const char *name) {
    gguf_file *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->path = strdup(name ? name : "(memory)");
    if (!f->path) {
        free(f);
        return NULL;
    }
    return f;
}

hone_status gguf_open_memory(const void *buf, size_t size, const char *name, gguf_file **out) {
    *out = NULL;
    if (!buf && size) return hone_err(HONE_ERR_INVALID_ARG, "gguf_open_memory: NULL buffer");
    gguf_file *f = new_file(name);
    if (!f) return hone_err(HONE_ERR_NOMEM, "%s: out of memory", name ? name : "(memory)");
    static const uint8_t empty[1];
    f->base = buf ? buf : empty;
    f->size = size;
    f->store = STORE_NONE;
    hone_status st = parse(f);
    if (st) {
        gguf_close(f);
        return st;
    }
    *out = f;
    return HONE_OK;
}

hone_status gguf_open(const char *path, bool use_mmap, gguf_file **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return hone_err(HONE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return hone_err(HONE_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return hone_err(HONE_ERR_IO, "%s: not a regular file", path);
    }
    gguf_file *f = new_file(path);
    if (!f) {
        close(fd);
        return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    }
    static const uint8_t empty[1];
    f->base = empty;
    f->size = (size_t)sb.st_size;
    hone_status st = HONE_OK;
    if (f->size == 0) {
        /* Nothing to map; the parser reports the missing magic. */
    } else if (use_mmap) {
        void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            st = hone_err(HONE_ERR_IO, "%s: mmap of %zu bytes failed: %s", path, f->size, strerror(errno));
        } else {
            f->base = m;
            f->store = STORE_MMAP;
        }
    } else {
        /* 64-byte aligned so tensor data is as aligned as in a mapping. */
        void *m = NULL;
        if (posix_memalign(&m, 64, f->size) != 0) {
            st = hone_err(HONE_ERR_NOMEM, "%s: cannot allocate %zu bytes to read the file", path, f->size);
        } else {
            f->base = m;
            f->store = STORE_MALLOC;
            size_t got = 0;
            while (got < f->size) {
                ssize_t k = pread(fd, (uint8_t *)m + got, f->size - got, (off_t)got);
                if (k < 0 && errno == EINTR) continue;
                if (k <= 0) {
                    st = hone_err(HONE_ERR_IO, "%s: read failed at offset 0x%zx: %s", path, got,
                                  k < 0 ? strerror(errno) : "unexpected end of file");
                    break;
                }
                got += (size_t)k;
            }
        }
    }
    close(fd);
    if (!st) st = parse(f);
    if (st) {
        gguf_close(f);
        return st;
    }
    *out = f;
    return HONE_OK;
}

void gguf_close(gguf_file *f) {
    if (!f) return;
    if (f->store == STORE_MMAP) munmap((void *)f->base, f->size);
    if (f->store == STORE_MALLOC) free((void *)f->base);
    gguf_arena_free(&f->arena);
    free(f->kvs);
    free(f->tensors);
    free(f->kv_index.slots);
    free(f->tensor_index.slots);
    free(f->path);
    free(f);
}

/* ---- accessors ---- */

uint32_t gguf_version(const gguf_file *f) { return f->version; }
const char *gguf_path(const gguf_file *f) { return f->path; }
size_t gguf_file_size(const gguf_file *f) { return f->size; }
uint32_t gguf_alignment(const gguf_file *f) { return f->alignment; }
uint64_t gguf_data_offset(const gguf_file *f) { return f->data_offset; }
int64_t gguf_n_kv(const gguf_file *f) { return f->n_kv; }
int64_t gguf_n_tensors(const gguf_file *f) { return f->n_tensors; }

const gguf_kv *gguf_kv_at(const gguf_file *f, int64_t i) {
    return i >= 0 && i < f->n_kv ? &f->kvs[i] : NULL;
}

const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i) {
    return i >= 0 && i < f->n_tensors ? &f->tensors[i] : NULL;
}

const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key) {
    if (!key || f->n_kv == 0) return NULL;
    int64_t i = index_lookup(&f->kv_index, (const char *const *)&f->kvs[0].key, sizeof(gguf_kv), key, -1);
    return i >= 0 ? &f->kvs[i] : NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name) {
    if (!name || f->n_tensors == 0) return NULL;
    int64_t i = index_lookup(&f->tensor_index, (const char *const *)&f->tensors[0].name, sizeof(gguf_tensor), name,
                             -1);
    return i >= 0 ? &f->tensors[i] : NULL;
}
