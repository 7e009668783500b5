/*
 * gguf_write.c - the GGUF v3 writer.
 *
 * A gguf_writer collects key/values (deep copies it owns) and tensor
 * descriptions (names it owns, data it only references), then writes the
 * standard layout llama.cpp expects: header, key/values, tensor infos, zero
 * padding to the alignment, and each tensor's data padded to the alignment.
 * Offsets are assigned in insertion order, so the file is also acceptable to
 * readers that insist on contiguous data (llama.cpp does).
 *
 * The file is written to "<path>.tmp.<pid>" in the target directory, fsynced
 * and renamed over `path`, so readers never see a half-written model; on any
 * failure the temporary file is removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "formats/gguf_internal.h"

typedef struct {
    char *name;
    hone_type type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    const void *data;
    size_t nbytes;
} wtensor;

struct gguf_writer {
    gguf_kv *kvs; /* key and value malloc-owned */
    size_t n_kv, cap_kv;
    wtensor *tensors;
    size_t n_tensors, cap_tensors;
};

gguf_writer *gguf_writer_create(void) { return calloc(1, sizeof(gguf_writer)); }

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        gguf_value_free(&w->kvs[i].val);
    }
    for (size_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->kvs);
    free(w->tensors);
    free(w);
}

static hone_status check_name(const char *what, const char *name) {
    if (!name || !*name) return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: empty %s", what);
    size_t len = strlen(name);
    if (len > GGUF_MAX_KEY_LEN)
        return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: %s of %zu bytes is too long", what, len);
    if (!gguf_utf8_valid(name, len))
        return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: %s '%s' is not valid UTF-8", what, name);
    return HONE_OK;
}

/* Takes ownership of *v (moved in; left empty) on success and on failure. */
static hone_status set_value(gguf_writer *w, const char *key, gguf_value *v) {
    hone_status st = check_name("key", key);
    if (st) {
        gguf_value_free(v);
        return st;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) {
            gguf_value_free(&w->kvs[i].val);
            w->kvs[i].val = *v;
            return HONE_OK;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? w->cap_kv * 2 : 16;
        gguf_kv *k = realloc(w->kvs, cap * sizeof *k);
        if (!k) goto oom;
        w->kvs = k;
        w->cap_kv = cap;
    }
    char *dup = strdup(key);
    if (!dup) goto oom;
    w->kvs[w->n_kv].key = dup;
    w->kvs[w->n_kv].val = *v;
    w->n_kv++;
    return HONE_OK;
oom:
    gguf_value_free(v);
    return hone_err(HONE_ERR_NOMEM, "gguf writer: out of memory adding key '%s'", key);
}

hone_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v) {
    gguf_value val = {.type = GGUF_TYPE_UINT32, .u64 = v};
    return set_value(w, key, &val);
}

hone_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v) {
    gguf_value val = {.type = GGUF_TYPE_INT32, .i64 = v};
    return set_value(w, key, &val);
}

hone_status gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v) {
    gguf_value val = {.type = GGUF_TYPE_UINT64, .u64 = v};
    return set_value(w, key, &val);
}

hone_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v) {
    gguf_value val = {.type = GGUF_TYPE_FLOAT32, .f64 = v};
    return set_value(w, key, &val);
}

hone_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v) {
    gguf_value val = {.type = GGUF_TYPE_BOOL, .b = v};
    return set_value(w, key, &val);
}

hone_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v) {
    if (!v) return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: NULL string for key '%s'", key ? key : "");
    gguf_value src = {.type = GGUF_TYPE_STRING, .str = {(char *)v, strlen(v)}}, val;
    hone_status st = gguf_value_copy(&val, &src);
    return st ? st : set_value(w, key, &val);
}

hone_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem_type, const void *data,
                                uint64_t n) {
    if (gguf_scalar_size(elem_type) == 0)
        return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: key '%s': %s is not a scalar element type",
                        key ? key : "", gguf_vtype_name(elem_type));
    if (n && !data) return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: key '%s': NULL data", key ? key : "");
    gguf_value src = {.type = GGUF_TYPE_ARRAY}, val;
    src.arr.elem_type = elem_type;
    src.arr.n = n;
    src.arr.data = (void *)data;
    hone_status st = gguf_value_copy(&val, &src);
    return st ? st : set_value(w, key, &val);
}

hone_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, uint64_t n) {
    if (n && !v) return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: key '%s': NULL strings", key ? key : "");
    if (n > SIZE_MAX / sizeof(gguf_str)) return hone_err(HONE_ERR_NOMEM, "gguf writer: too many strings");
    gguf_str *tmp = malloc((n ? (size_t)n : 1) * sizeof *tmp);
    if (!tmp) return hone_err(HONE_ERR_NOMEM, "gguf writer: out of memory");
    for (uint64_t i = 0; i < n; i++) {
        if (!v[i]) {
            free(tmp);
            return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: key '%s': string %" PRIu64 " is NULL",
                            key ? key : "", i);
        }
        tmp[i].s = (char *)v[i];
        tmp[i].len = strlen(v[i]);
    }
    gguf_value src = {.type = GGUF_TYPE_ARRAY}, val;
    src.arr.elem_type = GGUF_TYPE_STRING;
    src.arr.n = n;
    src.arr.data = tmp;
    hone_status st = gguf_value_copy(&val, &src);
    free(tmp);
    return st ? st : set_value(w, key, &val);
}

hone_status gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv) {
    if (!kv) return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: NULL key/value");
    gguf_value val;
    hone_status st = gguf_value_copy(&val, &kv->val);
    return st ? st : set_value(w, kv->key, &val);
}

hone_status gguf_writer_remove_kv(gguf_writer *w, const char *key) {
    for (size_t i = 0; key && i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, key) == 0) {
            free(w->kvs[i].key);
            gguf_value_free(&w->kvs[i].val);
            memmove(&w->kvs[i], &w->kvs[i + 1], (w->n_kv - i - 1) * sizeof *w->kvs);
            w->n_kv--;
            return HONE_OK;
        }
    }
    return hone_err(HONE_ERR_NOT_FOUND, "gguf writer: no key '%s' to remove", key ? key : "");
}

hone_status gguf_writer_add_tensor(gguf_writer *w, const char *name, hone_type type, uint32_t n_dims,
                                   const int64_t *ne, const void *data, size_t nbytes) {
    hone_status st = check_name("tensor name", name);
    if (st) return st;
    for (size_t i = 0; i < w->n_tensors; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: duplicate tensor '%s'", name);
    const hone_type_info *ti = hone_type_get((uint32_t)type);
    if (!ti) return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: tensor '%s': unknown type %d", name, (int)type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS || !ne)
        return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: tensor '%s': n_dims %u outside 1..%d", name, n_dims,
                        GGUF_MAX_DIMS);
    wtensor t = {.type = type, .n_dims = n_dims, .data = data, .nbytes = nbytes};
    int64_t rows = 1;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] <= 0)
            return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: tensor '%s': dimension %u is %" PRId64, name, d,
                            t.ne[d]);
        if (d > 0) {
            if (rows > INT64_MAX / t.ne[d] || rows * t.ne[d] > INT64_MAX / t.ne[0])
                return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: tensor '%s': element count overflows", name);
            rows *= t.ne[d];
        }
    }
    size_t row = hone_row_size(type, t.ne[0]);
    if (row == 0)
        return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: tensor '%s': row length %" PRId64
                        " is not a multiple of the %s block size %u", name, t.ne[0], ti->name, ti->block_size);
    if ((uint64_t)rows > SIZE_MAX / row || row * (size_t)rows != nbytes)
        return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: tensor '%s': %zu bytes given, shape and type need %zu",
                        name, nbytes, (uint64_t)rows > SIZE_MAX / row ? SIZE_MAX : row * (size_t)rows);
    if (!data) return hone_err(HONE_ERR_INVALID_ARG, "gguf writer: tensor '%s': NULL data", name);
    if (w->n_tensors == w->cap_tensors) {
        size_t cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
        wtensor *n = realloc(w->tensors, cap * sizeof *n);
        if (!n) return hone_err(HONE_ERR_NOMEM, "gguf writer: out of memory");
        w->tensors = n;
        w->cap_tensors = cap;
    }
    t.name = strdup(name);
    if (!t.name) return hone_err(HONE_ERR_NOMEM, "gguf writer: out of memory");
    w->tensors[w->n_tensors++] = t;
    return HONE_OK;
}

/* ---- serialisation ---- */

/* Buffered output to a file descriptor; the first error sticks. */
typedef struct {
    int fd;
    const char *path;
    uint8_t buf[1 << 16];
    size_t n;
    uint64_t written; /* bytes handed to out_* so far (file offset) */
    hone_status st;
} out;

static void out_raw(out *o, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n > 0 && o->st == HONE_OK) {
        ssize_t k = write(o->fd, b, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            o->st = hone_err(HONE_ERR_IO, "%s: write failed: %s", o->path, k < 0 ? strerror(errno) : "no progress");
            return;
        }
        b += k;
        n -= (size_t)k;
    }
}

static void out_flush(out *o) {
    out_raw(o, o->buf, o->n);
    o->n = 0;
}

static void out_bytes(out *o, const void *p, size_t n) {
    o->written += n;
    if (n > sizeof o->buf / 2) { /* tensor data: skip the copy */
        out_flush(o);
        out_raw(o, p, n);
        return;
    }
    if (o->n + n > sizeof o->buf) out_flush(o);
    memcpy(o->buf + o->n, p, n);
    o->n += n;
}

static void out_u32(out *o, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    out_bytes(o, b, 4);
}

static void out_u64(out *o, uint64_t v) {
    out_u32(o, (uint32_t)v);
    out_u32(o, (uint32_t)(v >> 32));
}

static void out_str(out *o, const char *s, uint64_t len) {
    out_u64(o, len);
    out_bytes(o, s, (size_t)len);
}

static void out_pad(out *o, uint64_t align) {
    static const uint8_t zeros[256];
    uint64_t pad = (align - o->written % align) % align;
    while (pad > 0) {
        size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        out_bytes(o, zeros, k);
        pad -= k;
    }
}

static void out_scalar(out *o, gguf_vtype t, const gguf_value *v) {
    switch (t) {
    case GGUF_TYPE_UINT8:
    case GGUF_TYPE_INT8: {
        uint8_t b = (uint8_t)v->u64;
        out_bytes(o, &b, 1);
        break;
    }
    case GGUF_TYPE_BOOL: {
        uint8_t b = v->b ? 1 : 0;
        out_bytes(o, &b, 1);
        break;
    }
    case GGUF_TYPE_UINT16:
    case GGUF_TYPE_INT16: {
        uint8_t b[2] = {(uint8_t)v->u64, (uint8_t)(v->u64 >> 8)};
        out_bytes(o, b, 2);
        break;
    }
    case GGUF_TYPE_UINT32:
    case GGUF_TYPE_INT32: out_u32(o, (uint32_t)v->u64); break;
    case GGUF_TYPE_UINT64:
    case GGUF_TYPE_INT64: out_u64(o, v->u64); break;
    case GGUF_TYPE_FLOAT32: {
        float x = (float)v->f64;
        uint32_t b;
        memcpy(&b, &x, 4);
        out_u32(o, b);
        break;
    }
    case GGUF_TYPE_FLOAT64: {
        uint64_t b;
        memcpy(&b, &v->f64, 8);
        out_u64(o, b);
        break;
    }
    default: break;
    }
}

static void out_value(out *o, const gguf_value *v) {
    if (v->type == GGUF_TYPE_STRING) {
        out_str(o, v->str.s, v->str.len);
    } else if (v->type == GGUF_TYPE_ARRAY) {
        out_u32(o, (uint32_t)v->arr.elem_type);
        out_u64(o, v->arr.n);
        if (v->arr.elem_type == GGUF_TYPE_STRING) {
            const gguf_str *s = v->arr.data;
            for (uint64_t i = 0; i < v->arr.n; i++) out_str(o, s[i].s, s[i].len);
        } else if (v->arr.elem_type == GGUF_TYPE_ARRAY) {
            const gguf_value *e = v->arr.data;
            for (uint64_t i = 0; i < v->arr.n; i++) out_value(o, &e[i]);
        } else {
            /* Packed little-endian elements, as stored in memory on LE hosts. */
            out_bytes(o, v->arr.data, (size_t)v->arr.n * gguf_scalar_size(v->arr.elem_type));
        }
    } else {
        out_scalar(o, v->type, v);
    }
}

static hone_status write_all(const gguf_writer *w, out *o, uint32_t align) {
    out_u32(o, GGUF_MAGIC);
    out_u32(o, 3);
    out_u64(o, w->n_tensors);
    out_u64(o, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        const gguf_kv *kv = &w->kvs[i];
        out_str(o, kv->key, strlen(kv->key));
        out_u32(o, (uint32_t)kv->val.type);
        out_value(o, &kv->val);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_tensors; i++) {
        const wtensor *t = &w->tensors[i];
        out_str(o, t->name, strlen(t->name));
        out_u32(o, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) out_u64(o, (uint64_t)t->ne[d]);
        out_u32(o, (uint32_t)t->type);
        out_u64(o, offset);
        offset += (t->nbytes + align - 1) / align * align;
    }
    out_pad(o, align);
    for (size_t i = 0; i < w->n_tensors; i++) {
        out_bytes(o, w->tensors[i].data, w->tensors[i].nbytes);
        out_pad(o, align);
    }
    out_flush(o);
    return o->st;
}

/* Make the rename itself durable; best effort (some filesystems refuse). */
static void sync_dir(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n >= sizeof dir) return;
    if (slash && n == 0) n = 1; /* "/file" */
    memcpy(dir, slash ? path : ".", slash ? n : 1);
    dir[slash ? n : 1] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

hone_status gguf_writer_write(gguf_writer *w, const char *path) {
    uint32_t align = GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kvs[i].key, "general.alignment") != 0) continue;
        const gguf_value *v = &w->kvs[i].val;
        if (v->type != GGUF_TYPE_UINT32 || v->u64 == 0 || (v->u64 & (v->u64 - 1)) != 0)
            return hone_err(HONE_ERR_INVALID_ARG, "%s: general.alignment must be a uint32 power of two", path);
        align = (uint32_t)v->u64;
    }
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) return hone_err(HONE_ERR_INVALID_ARG, "%s: path too long", path);
    out *o = malloc(sizeof *o);
    if (!o) return hone_err(HONE_ERR_NOMEM, "%s: out of memory", path);
    *o = (out){.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), .path = tmp};
    if (o->fd < 0) {
        hone_status st = hone_err(HONE_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        free(o);
        return st;
    }
    hone_status st = write_all(w, o, align);
    if (!st && fsync(o->fd) != 0) st = hone_err(HONE_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(o->fd) != 0 && !st) st = hone_err(HONE_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = hone_err(HONE_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    if (st) unlink(tmp);
    else sync_dir(path);
    free(o);
    return st;
}
