/*
 * cmd_info.c - `hone info`: describe a GGUF file without loading a model.
 *
 * Reads the file with the GGUF reader directly (formats/gguf.h), so it works
 * on any valid GGUF, including vocab-only files and architectures hone cannot
 * run. Prints the header, every metadata key (long strings and arrays are
 * shortened unless --full), a tensor table and totals: parameter count, bits
 * per weight, and a per-type breakdown. --json gives the same as one JSON
 * object (cJSON) for scripts.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "formats/gguf.h"

static const char *CMD = "info";

#define STR_SHOW 64    /* bytes of a string shown without --full */
#define ARR_SHOW_STR 5 /* array items shown without --full */
#define ARR_SHOW_NUM 8

/* Bytes one packed element of a scalar array takes in gguf_value.arr.data. */
static size_t elem_size(gguf_vtype t) {
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
    case GGUF_TYPE_STRING: return sizeof(gguf_str);
    case GGUF_TYPE_ARRAY: return sizeof(gguf_value);
    default: return 0;
    }
}

/* A packed array element widened into a gguf_value, so scalars print the
 * same way wherever they occur. */
static gguf_value elem_at(gguf_vtype t, const void *data, uint64_t i) {
    const char *p = (const char *)data + i * elem_size(t);
    gguf_value v;
    memset(&v, 0, sizeof v);
    v.type = t;
    switch (t) {
    case GGUF_TYPE_UINT8: v.u64 = *(const uint8_t *)p; break;
    case GGUF_TYPE_INT8: v.i64 = *(const int8_t *)p; break;
    case GGUF_TYPE_BOOL: v.b = *(const uint8_t *)p != 0; break;
    case GGUF_TYPE_UINT16: v.u64 = *(const uint16_t *)p; break;
    case GGUF_TYPE_INT16: v.i64 = *(const int16_t *)p; break;
    case GGUF_TYPE_UINT32: v.u64 = *(const uint32_t *)p; break;
    case GGUF_TYPE_INT32: v.i64 = *(const int32_t *)p; break;
    case GGUF_TYPE_FLOAT32: v.f64 = *(const float *)p; break;
    case GGUF_TYPE_UINT64: v.u64 = *(const uint64_t *)p; break;
    case GGUF_TYPE_INT64: v.i64 = *(const int64_t *)p; break;
    case GGUF_TYPE_FLOAT64: v.f64 = *(const double *)p; break;
    case GGUF_TYPE_STRING: v.str = *(const gguf_str *)p; break;
    case GGUF_TYPE_ARRAY: v = *(const gguf_value *)p; break;
    default: break;
    }
    return v;
}

/* Print a string quoted, escaping control bytes so one key stays on one
 * line; stops after `max` bytes (at a UTF-8 boundary) when max > 0. */
static void print_str(FILE *out, const gguf_str *s, size_t max) {
    size_t n = s->len;
    bool cut = max > 0 && n > max;
    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s->s[n] & 0xC0) == 0x80) n--; /* don't split a code point */
    }
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s->s[i];
        if (c == '\n') fputs("\\n", out);
        else if (c == '\t') fputs("\\t", out);
        else if (c == '\r') fputs("\\r", out);
        else if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) fprintf(out, "\\x%02x", c);
        else fputc(c, out);
    }
    fputc('"', out);
    if (cut) fprintf(out, "... (%" PRIu64 " bytes)", s->len);
}

static void print_value(FILE *out, const gguf_value *v, bool full, int depth);

static void print_array(FILE *out, const gguf_value *v, bool full, int depth) {
    gguf_vtype et = v->arr.elem_type;
    uint64_t n = v->arr.n;
    const char *tn = et == GGUF_TYPE_ARRAY ? "array" : gguf_vtype_name(et);
    fprintf(out, "[%" PRIu64 " %s%s]", n, tn, n == 1 ? "" : "s");
    uint64_t show = et == GGUF_TYPE_STRING || et == GGUF_TYPE_ARRAY ? ARR_SHOW_STR : ARR_SHOW_NUM;
    if (full || show > n) show = n;
    if (show == 0 || depth > 2) return;
    fputc(' ', out);
    for (uint64_t i = 0; i < show; i++) {
        gguf_value e = elem_at(et, v->arr.data, i);
        if (i) fputs(", ", out);
        print_value(out, &e, full, depth + 1);
    }
    if (show < n) fputs(", ...", out);
}

static void print_value(FILE *out, const gguf_value *v, bool full, int depth) {
    switch (v->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        fprintf(out, "%" PRIu64, v->u64);
        break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        fprintf(out, "%" PRId64, v->i64);
        break;
    case GGUF_TYPE_FLOAT32: fprintf(out, "%.7g", v->f64); break;
    case GGUF_TYPE_FLOAT64: fprintf(out, "%.17g", v->f64); break;
    case GGUF_TYPE_BOOL: fputs(v->b ? "true" : "false", out); break;
    case GGUF_TYPE_STRING: print_str(out, &v->str, full ? 0 : STR_SHOW); break;
    case GGUF_TYPE_ARRAY: print_array(out, v, full, depth); break;
    default: fputs("?", out); break;
    }
}

/* Parameter count, bytes and tensor count per hone_type. */
typedef struct {
    int64_t tensors[HONE_TYPE_COUNT];
    uint64_t params[HONE_TYPE_COUNT];
    uint64_t bytes[HONE_TYPE_COUNT];
    uint64_t total_params, total_bytes;
} totals;

static void count(const gguf_file *f, totals *t) {
    memset(t, 0, sizeof *t);
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *g = gguf_tensor_at(f, i);
        uint64_t ne = 1;
        for (uint32_t d = 0; d < g->n_dims; d++) ne *= (uint64_t)g->ne[d];
        unsigned ty = (unsigned)g->type < HONE_TYPE_COUNT ? (unsigned)g->type : 0;
        t->tensors[ty]++;
        t->params[ty] += ne;
        t->bytes[ty] += g->nbytes;
        t->total_params += ne;
        t->total_bytes += g->nbytes;
    }
}

static const char *type_name(hone_type t) {
    const hone_type_info *ti = hone_type_get((uint32_t)t);
    return ti && ti->name ? ti->name : "?";
}

static void shape_str(const gguf_tensor *g, char *buf, size_t cap) {
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t d = 0; d < g->n_dims && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%" PRId64, d ? " x " : "", g->ne[d]);
}

static void print_text(const gguf_file *f, bool full) {
    totals t;
    count(f, &t);
    size_t size = gguf_file_size(f);
    printf("file        %s\n", gguf_path(f));
    printf("size        %zu bytes (%.2f MiB)\n", size, (double)size / (1024.0 * 1024.0));
    printf("gguf        version %u, alignment %u, tensor data at offset %" PRIu64 "\n", gguf_version(f),
           gguf_alignment(f), gguf_data_offset(f));
    printf("\nmetadata    %" PRId64 " keys\n", gguf_n_kv(f));
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        char tn[32];
        if (kv->val.type == GGUF_TYPE_ARRAY)
            snprintf(tn, sizeof tn, "[%s]",
                     kv->val.arr.elem_type == GGUF_TYPE_ARRAY ? "array" : gguf_vtype_name(kv->val.arr.elem_type));
        else
            snprintf(tn, sizeof tn, "%s", gguf_vtype_name(kv->val.type));
        printf("  %-40s %-9s ", kv->key, tn);
        print_value(stdout, &kv->val, full, 0);
        putchar('\n');
    }
    printf("\ntensors     %" PRId64 "\n", gguf_n_tensors(f));
    printf("  %-36s %-7s %-22s %12s\n", "name", "type", "shape", "bytes");
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *g = gguf_tensor_at(f, i);
        char shape[96];
        shape_str(g, shape, sizeof shape);
        printf("  %-36s %-7s %-22s %12zu\n", g->name, type_name(g->type), shape, g->nbytes);
    }
    printf("\ntotals\n");
    printf("  parameters    %" PRIu64 " (%.1fM)\n", t.total_params, (double)t.total_params / 1e6);
    printf("  tensor bytes  %" PRIu64 " (%.2f MiB)\n", t.total_bytes, (double)t.total_bytes / (1024.0 * 1024.0));
    printf("  bits/weight   %.3f\n", t.total_params ? 8.0 * (double)t.total_bytes / (double)t.total_params : 0.0);
    for (int ty = 0; ty < HONE_TYPE_COUNT; ty++) {
        if (!t.tensors[ty]) continue;
        printf("  %-13s %" PRId64 " tensors, %" PRIu64 " parameters, %" PRIu64 " bytes\n", type_name((hone_type)ty),
               t.tensors[ty], t.params[ty], t.bytes[ty]);
    }
}

/* ---- JSON -------------------------------------------------------------- */

/* cJSON takes C strings, so a metadata string with an interior NUL (legal in
 * GGUF, unseen in practice) is cut there. */
static cJSON *json_string(const gguf_str *s) { return cJSON_CreateString(s->s ? s->s : ""); }

static cJSON *json_u64(uint64_t v) {
    /* Doubles hold integers exactly only up to 2^53; bigger ones go as text. */
    if (v <= (1ull << 53)) return cJSON_CreateNumber((double)v);
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateString(buf);
}

static cJSON *json_i64(int64_t v) {
    if (v <= (1ll << 53) && v >= -(1ll << 53)) return cJSON_CreateNumber((double)v);
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return cJSON_CreateString(buf);
}

static cJSON *json_value(const gguf_value *v, bool full);

static cJSON *json_items(const gguf_value *v, bool full, bool *truncated) {
    uint64_t n = v->arr.n;
    gguf_vtype et = v->arr.elem_type;
    uint64_t show = et == GGUF_TYPE_STRING || et == GGUF_TYPE_ARRAY ? ARR_SHOW_STR : ARR_SHOW_NUM;
    if (full || show > n) show = n;
    *truncated = show < n;
    cJSON *a = cJSON_CreateArray();
    for (uint64_t i = 0; a && i < show; i++) {
        gguf_value e = elem_at(et, v->arr.data, i);
        cJSON_AddItemToArray(a, json_value(&e, full));
    }
    return a;
}

/* Scalars become plain JSON values; arrays {"elem_type","n","items","truncated"}. */
static cJSON *json_value(const gguf_value *v, bool full) {
    switch (v->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        return json_u64(v->u64);
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        return json_i64(v->i64);
    case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64: return cJSON_CreateNumber(v->f64);
    case GGUF_TYPE_BOOL: return cJSON_CreateBool(v->b);
    case GGUF_TYPE_STRING: return json_string(&v->str);
    case GGUF_TYPE_ARRAY: {
        cJSON *o = cJSON_CreateObject();
        bool truncated;
        cJSON_AddStringToObject(o, "elem_type",
                                v->arr.elem_type == GGUF_TYPE_ARRAY ? "array" : gguf_vtype_name(v->arr.elem_type));
        cJSON_AddItemToObject(o, "n", json_u64(v->arr.n));
        cJSON_AddItemToObject(o, "items", json_items(v, full, &truncated));
        cJSON_AddBoolToObject(o, "truncated", truncated);
        return o;
    }
    default: return cJSON_CreateNull();
    }
}

static int print_json(const gguf_file *f, bool full) {
    totals t;
    count(f, &t);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "path", gguf_path(f));
    cJSON_AddItemToObject(root, "size", json_u64(gguf_file_size(f)));
    cJSON_AddNumberToObject(root, "version", gguf_version(f));
    cJSON_AddNumberToObject(root, "alignment", gguf_alignment(f));
    cJSON_AddItemToObject(root, "data_offset", json_u64(gguf_data_offset(f)));

    cJSON *md = cJSON_AddArrayToObject(root, "metadata");
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "key", kv->key);
        cJSON_AddStringToObject(e, "type", kv->val.type == GGUF_TYPE_ARRAY ? "array" : gguf_vtype_name(kv->val.type));
        cJSON_AddItemToObject(e, "value", json_value(&kv->val, full));
        cJSON_AddItemToArray(md, e);
    }

    cJSON *ts = cJSON_AddArrayToObject(root, "tensors");
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *g = gguf_tensor_at(f, i);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", g->name);
        cJSON_AddStringToObject(e, "type", type_name(g->type));
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (uint32_t d = 0; d < g->n_dims; d++) cJSON_AddItemToArray(shape, json_i64(g->ne[d]));
        cJSON_AddItemToObject(e, "offset", json_u64(g->offset));
        cJSON_AddItemToObject(e, "bytes", json_u64(g->nbytes));
        cJSON_AddItemToArray(ts, e);
    }

    cJSON *tot = cJSON_AddObjectToObject(root, "totals");
    cJSON_AddNumberToObject(tot, "tensors", (double)gguf_n_tensors(f));
    cJSON_AddItemToObject(tot, "parameters", json_u64(t.total_params));
    cJSON_AddItemToObject(tot, "bytes", json_u64(t.total_bytes));
    cJSON_AddNumberToObject(tot, "bits_per_weight",
                            t.total_params ? 8.0 * (double)t.total_bytes / (double)t.total_params : 0.0);
    cJSON *types = cJSON_AddObjectToObject(tot, "types");
    for (int ty = 0; ty < HONE_TYPE_COUNT; ty++) {
        if (!t.tensors[ty]) continue;
        cJSON *e = cJSON_AddObjectToObject(types, type_name((hone_type)ty));
        cJSON_AddNumberToObject(e, "tensors", (double)t.tensors[ty]);
        cJSON_AddItemToObject(e, "parameters", json_u64(t.params[ty]));
        cJSON_AddItemToObject(e, "bytes", json_u64(t.bytes[ty]));
    }

    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) return cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory formatting JSON");
    puts(s);
    cJSON_free(s);
    return CLI_EXIT_OK;
}

int cmd_info(int argc, char **argv) {
    const char *model = NULL;
    bool json = false, full = false;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model, 0, 0, "FILE", "GGUF file (default: the cached default model)"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL, "print one JSON object instead of text"},
        {"full", 0, CLI_FLAG, &full, 0, 0, NULL, "show whole strings and arrays"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {CMD, "[options] [MODEL]",
                           "Describe a GGUF file: header, metadata, tensors (name, type, shape, bytes) and totals\n"
                           "(parameter count, bits per weight, tensors per type). Works on any valid GGUF file.",
                           opts, 1};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if (n_pos && model) return cli_error(CMD, CLI_EXIT_USAGE, "give the model either as -m FILE or as MODEL, not both");
    if (n_pos) model = pos[0];

    char path[4096];
    if ((rc = cli_model_path(CMD, model, path, sizeof path))) return rc;
    gguf_file *f = NULL;
    hone_status st = gguf_open(path, true, &f);
    if (st != HONE_OK) return cli_load_error(CMD, path, st);
    if (json) {
        rc = print_json(f, full);
    } else {
        print_text(f, full);
        rc = CLI_EXIT_OK;
    }
    gguf_close(f);
    if (fflush(stdout) != 0 && rc == 0) rc = cli_error(CMD, CLI_EXIT_RUNTIME, "writing output failed");
    return rc;
}
