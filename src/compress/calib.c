/*
 * calib.c - reading calibration statistics (see calib.h); recording them is calib_record.c.
 */
#include "compress/calib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

struct hone_calib {
    gguf_file *f;
    char *path;
};

hone_status hone_calib_load(const char *path, hone_calib **out) {
    *out = NULL;
    hone_calib *c = calloc(1, sizeof *c);
    if (!c) return hone_err(HONE_ERR_NOMEM, "out of memory");
    hone_status st = gguf_open(path, true, &c->f);
    if (st) {
        free(c);
        return st;
    }
    uint32_t version = 0;
    if (gguf_get_u32(c->f, "hone.calib.version", &version) != HONE_OK || version != 1) {
        gguf_close(c->f);
        free(c);
        return hone_err(HONE_ERR_FORMAT, "%s: not a hone calibration file (no hone.calib.version 1; make one with "
                                         "hone calibrate)", path);
    }
    c->path = strdup(path);
    *out = c;
    return HONE_OK;
}

void hone_calib_free(hone_calib *c) {
    if (!c) return;
    gguf_close(c->f);
    free(c->path);
    free(c);
}

static uint32_t arch_u32(const gguf_file *f, const char *key) {
    const char *arch = "llama";
    gguf_get_str(f, "general.architecture", &arch);
    char k[160];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    uint32_t v = 0;
    gguf_get_u32(f, k, &v);
    return v;
}

hone_status hone_calib_check_model(const hone_calib *c, const gguf_file *f) {
    static const char *keys[] = {"block_count", "embedding_length"};
    for (int i = 0; i < 2; i++) {
        char k[96];
        snprintf(k, sizeof k, "hone.calib.%s", keys[i]);
        uint32_t want = 0;
        gguf_get_u32(c->f, k, &want);
        const uint32_t have = arch_u32(f, keys[i]);
        if (want != have)
            return hone_err(HONE_ERR_INVALID_ARG,
                            "%s: calibration statistics of another model (%s %u, the model has %u)", c->path, keys[i],
                            want, have);
    }
    /* every statistic must belong to a weight of this model with the same row length */
    for (int64_t i = 0; i < gguf_n_tensors(c->f); i++) {
        const gguf_tensor *t = gguf_tensor_at(c->f, i);
        const char *suffix = strstr(t->name, ".in_sqr");
        if (!suffix || suffix[7] != '\0') continue;
        char wname[256];
        snprintf(wname, sizeof wname, "%.*s", (int)(suffix - t->name), t->name);
        const gguf_tensor *wt = gguf_find_tensor(f, wname);
        if (!wt || wt->ne[0] != t->ne[0])
            return hone_err(HONE_ERR_INVALID_ARG, "%s: calibration statistics of another model ('%s' %s)", c->path,
                            wname, wt ? "has another row length" : "is not in the model");
    }
    return HONE_OK;
}

/* The F32 [nx] statistic `<name>.<what>`, or NULL when absent or of another shape. */
static const float *channel_stat(const hone_calib *c, const char *name, const char *what, int64_t nx) {
    char k[300];
    snprintf(k, sizeof k, "%s.%s", name, what);
    const gguf_tensor *t = gguf_find_tensor(c->f, k);
    if (!t || t->type != HONE_TYPE_F32 || t->ne[0] != nx || t->n_dims != 1) return NULL;
    return t->data;
}

const float *hone_calib_importance(const hone_calib *c, const char *name, int64_t nx) {
    return channel_stat(c, name, "in_sqr", nx);
}

const float *hone_calib_in_max(const hone_calib *c, const char *name, int64_t nx) {
    return channel_stat(c, name, "in_max", nx);
}

uint64_t hone_calib_n_tokens(const hone_calib *c) {
    int64_t n = 0;
    gguf_get_i64(c->f, "hone.calib.n_tokens", &n);
    return (uint64_t)n;
}
