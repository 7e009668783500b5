/*
 * fuzz_gguf.c - libFuzzer target for the GGUF reader.
 *
 * Feeds arbitrary bytes to gguf_open_memory and, when they parse, touches
 * every key, value and tensor byte range the reader hands out, so ASan sees
 * any pointer that escapes the input. Build with HONE_FUZZ=ON (clang); seeds
 * are in fuzz/corpus/gguf, and bench/fuzz_gguf.sh runs it.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "formats/gguf.h"

static uint64_t walk_value(const gguf_value *v, int depth) {
    uint64_t h = (uint64_t)v->type;
    if (v->type == GGUF_TYPE_STRING) return h + v->str.len + (unsigned char)v->str.s[v->str.len];
    if (v->type != GGUF_TYPE_ARRAY || depth > 64) return h + v->u64;
    h += v->arr.n;
    if (v->arr.elem_type == GGUF_TYPE_STRING) {
        const gguf_str *s = v->arr.data;
        for (uint64_t i = 0; i < v->arr.n; i++) h += s[i].len + (unsigned char)s[i].s[s[i].len];
    } else if (v->arr.elem_type == GGUF_TYPE_ARRAY) {
        const gguf_value *e = v->arr.data;
        for (uint64_t i = 0; i < v->arr.n; i++) h += walk_value(&e[i], depth + 1);
    } else if (v->arr.n > 0) {
        const unsigned char *p = v->arr.data;
        h += p[0] + p[v->arr.n - 1]; /* first and last byte of the packed array */
    }
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_file *f = NULL;
    if (gguf_open_memory(data, size, "fuzz.gguf", &f) != HONE_OK) return 0;
    volatile uint64_t h = 0;
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        const gguf_kv *kv = gguf_kv_at(f, i);
        h += strlen(kv->key) + walk_value(&kv->val, 0);
        h += gguf_find_kv(f, kv->key) == kv;
    }
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        const uint8_t *p = t->data;
        h += p[0] + p[t->nbytes - 1] + (uint64_t)t->ne[0] + t->type;
        h += gguf_find_tensor(f, t->name) == t;
    }
    uint32_t u;
    const char *s;
    if (gguf_get_u32(f, "general.alignment", &u) == HONE_OK) h += u;
    if (gguf_get_str(f, "general.architecture", &s) == HONE_OK) h += strlen(s);
    (void)h;
    gguf_close(f);
    return 0;
}
