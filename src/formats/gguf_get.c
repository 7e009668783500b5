/*
 * gguf_get.c - typed getters over an opened GGUF file's metadata.
 *
 * Files disagree on integer widths for the same key (a context length may be
 * u32 in one converter and u64 or i32 in another), so integer getters accept
 * any integer type whose value fits, and fail with a message naming the key,
 * the expected and the found type otherwise.
 */
#include <inttypes.h>

#include "core/status.h"
#include "formats/gguf_internal.h"

static bool is_unsigned(gguf_vtype t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_UINT64;
}

static bool is_signed(gguf_vtype t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}

static hone_status find(const gguf_file *f, const char *key, const gguf_kv **kv) {
    *kv = gguf_find_kv(f, key);
    if (!*kv) return hone_err(HONE_ERR_NOT_FOUND, "%s: key '%s' not found", gguf_path(f), key);
    return HONE_OK;
}

static hone_status wrong(const gguf_file *f, const gguf_kv *kv, const char *expected) {
    return hone_err(HONE_ERR_FORMAT, "%s: key '%s' is a %s, expected %s", gguf_path(f), kv->key,
                    gguf_vtype_name(kv->val.type), expected);
}

/* Integer value as a sign flag + magnitude pair, so every range check is exact. */
static bool get_int(const gguf_value *v, bool *neg, uint64_t *mag) {
    if (is_unsigned(v->type)) {
        *neg = false;
        *mag = v->u64;
        return true;
    }
    if (is_signed(v->type)) {
        *neg = v->i64 < 0;
        *mag = *neg ? (uint64_t)0 - (uint64_t)v->i64 : (uint64_t)v->i64;
        return true;
    }
    return false;
}

hone_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out) {
    const gguf_kv *kv;
    hone_status st = find(f, key, &kv);
    if (st) return st;
    bool neg;
    uint64_t mag;
    if (!get_int(&kv->val, &neg, &mag)) return wrong(f, kv, "an integer");
    if (neg || mag > UINT32_MAX)
        return hone_err(HONE_ERR_FORMAT, "%s: key '%s' = %s%" PRIu64 " does not fit in uint32", gguf_path(f), key,
                        neg ? "-" : "", mag);
    *out = (uint32_t)mag;
    return HONE_OK;
}

hone_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out) {
    const gguf_kv *kv;
    hone_status st = find(f, key, &kv);
    if (st) return st;
    bool neg;
    uint64_t mag;
    if (!get_int(&kv->val, &neg, &mag)) return wrong(f, kv, "an integer");
    if (!neg && mag > INT64_MAX)
        return hone_err(HONE_ERR_FORMAT, "%s: key '%s' = %" PRIu64 " does not fit in int64", gguf_path(f), key, mag);
    *out = neg ? kv->val.i64 : (int64_t)mag;
    return HONE_OK;
}

hone_status gguf_get_f32(const gguf_file *f, const char *key, float *out) {
    const gguf_kv *kv;
    hone_status st = find(f, key, &kv);
    if (st) return st;
    if (kv->val.type != GGUF_TYPE_FLOAT32 && kv->val.type != GGUF_TYPE_FLOAT64) return wrong(f, kv, "a float");
    *out = (float)kv->val.f64;
    return HONE_OK;
}

hone_status gguf_get_bool(const gguf_file *f, const char *key, bool *out) {
    const gguf_kv *kv;
    hone_status st = find(f, key, &kv);
    if (st) return st;
    if (kv->val.type != GGUF_TYPE_BOOL) return wrong(f, kv, "bool");
    *out = kv->val.b;
    return HONE_OK;
}

hone_status gguf_get_str(const gguf_file *f, const char *key, const char **out) {
    const gguf_kv *kv;
    hone_status st = find(f, key, &kv);
    if (st) return st;
    if (kv->val.type != GGUF_TYPE_STRING) return wrong(f, kv, "string");
    *out = kv->val.str.s;
    return HONE_OK;
}

hone_status gguf_get_arr(const gguf_file *f, const char *key, gguf_vtype *elem_type, uint64_t *n,
                         const void **data) {
    const gguf_kv *kv;
    hone_status st = find(f, key, &kv);
    if (st) return st;
    if (kv->val.type != GGUF_TYPE_ARRAY) return wrong(f, kv, "array");
    if (elem_type) *elem_type = kv->val.arr.elem_type;
    if (n) *n = kv->val.arr.n;
    if (data) *data = kv->val.arr.data;
    return HONE_OK;
}
