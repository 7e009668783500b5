/*
 * test_gguf.c - the GGUF reader and writer on well-formed files.
 *
 * Real files: the default model (when present) and every vocab-only GGUF
 * under shared/golden/tokenizer, through both the mmap and the read path.
 * Round trips: files produced by gguf_writer with every value type (nested
 * arrays included), tensors of several types and alignments are read back and
 * compared field by field and byte by byte. Hostile inputs live in
 * test_gguf_hostile.c.
 */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"
#include "formats/gguf.h"
#include "harness.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- the default model ---- */

static void check_model(const char *path, bool use_mmap) {
    gguf_file *f = NULL;
    double t0 = now_ms();
    hone_status st = gguf_open(path, use_mmap, &f);
    double dt = now_ms() - t0;
    CHECKF(st == HONE_OK, "open %s (mmap=%d): %s", path, use_mmap, hone_last_error());
    if (st) return;
    printf("opened the default model (mmap=%d) in %.1f ms\n", use_mmap, dt);
    /* Generous for a loaded machine; a typical open takes a few ms. */
    if (use_mmap) CHECKF(dt < 100.0, "opening took %.1f ms", dt);
    CHECK(gguf_version(f) == 3);
    CHECK(gguf_n_tensors(f) == 272);
    CHECK(gguf_alignment(f) == 32);
    CHECK(gguf_data_offset(f) % 32 == 0);
    CHECK(strcmp(gguf_path(f), path) == 0);

    uint32_t u = 0;
    CHECK(gguf_get_u32(f, "llama.block_count", &u) == HONE_OK && u == 30);
    int64_t i64 = 0;
    CHECK(gguf_get_i64(f, "llama.embedding_length", &i64) == HONE_OK && i64 == 576);
    float eps = 0;
    CHECK(gguf_get_f32(f, "llama.attention.layer_norm_rms_epsilon", &eps) == HONE_OK && eps > 0 && eps < 1e-3f);
    const char *arch = NULL;
    CHECK(gguf_get_str(f, "general.architecture", &arch) == HONE_OK && arch && strcmp(arch, "llama") == 0);
    bool b;
    CHECK(gguf_get_bool(f, "tokenizer.ggml.add_bos_token", &b) == HONE_OK);

    /* Wrong-type and missing keys fail with messages naming the key. */
    CHECK(gguf_get_str(f, "llama.block_count", &arch) == HONE_ERR_FORMAT);
    CHECK(strstr(hone_last_error(), "llama.block_count") != NULL);
    CHECK(gguf_get_u32(f, "no.such.key", &u) == HONE_ERR_NOT_FOUND);
    CHECK(strstr(hone_last_error(), "no.such.key") != NULL);

    gguf_vtype et;
    uint64_t n = 0;
    const void *data = NULL;
    CHECK(gguf_get_arr(f, "tokenizer.ggml.tokens", &et, &n, &data) == HONE_OK);
    CHECK(et == GGUF_TYPE_STRING && n == 49152);
    if (et == GGUF_TYPE_STRING && n == 49152) {
        const gguf_str *tok = data;
        bool ok = true;
        for (uint64_t k = 0; k < n; k++) ok = ok && tok[k].s && tok[k].s[tok[k].len] == '\0';
        CHECK(ok);
    }
    CHECK(gguf_get_arr(f, "tokenizer.ggml.merges", &et, &n, &data) == HONE_OK);
    CHECK(et == GGUF_TYPE_STRING && n == 48900);
    CHECK(gguf_get_arr(f, "tokenizer.ggml.token_type", &et, &n, &data) == HONE_OK);
    CHECK(et == GGUF_TYPE_INT32 && n == 49152);

    const gguf_tensor *t = gguf_find_tensor(f, "token_embd.weight");
    CHECK(t != NULL);
    if (t) {
        CHECK(t->type == HONE_TYPE_Q8_0);
        CHECK(t->n_dims == 2 && t->ne[0] == 576 && t->ne[1] == 49152);
        CHECK(t->nbytes == (size_t)576 / 32 * 34 * 49152);
        CHECK((const char *)t->data == (const char *)t->data); /* pointer inside the file: */
        CHECK(t->offset + gguf_data_offset(f) + t->nbytes <= gguf_file_size(f));
    }
    CHECK(gguf_find_tensor(f, "no.such.tensor") == NULL);
    /* Every tensor is findable by name and lies inside the file. */
    bool all = true;
    for (int64_t k = 0; k < gguf_n_tensors(f); k++) {
        const gguf_tensor *tk = gguf_tensor_at(f, k);
        all = all && gguf_find_tensor(f, tk->name) == tk;
        all = all && gguf_data_offset(f) + tk->offset + tk->nbytes <= gguf_file_size(f);
    }
    CHECK(all);
    CHECK(gguf_tensor_at(f, -1) == NULL && gguf_tensor_at(f, 272) == NULL);
    for (int64_t k = 0; k < gguf_n_kv(f); k++) CHECK(gguf_find_kv(f, gguf_kv_at(f, k)->key) == gguf_kv_at(f, k));
    gguf_close(f);
}

static void test_default_model(void) {
    const char *path = test_model_path();
    if (!path) {
        printf("default model absent: its checks are skipped\n");
        return;
    }
    check_model(path, true);
    check_model(path, false);
}

/* ---- vocab-only files ---- */

static void test_vocab_files(void) {
    const char *dir = test_shared_path("golden/tokenizer");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    if (!d) {
        printf("no %s: vocab checks skipped\n", dirbuf);
        return;
    }
    int n_files = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf") != 0) continue;
        char path[4096 + 256];
        snprintf(path, sizeof path, "%s/%s", dirbuf, e->d_name);
        for (int mm = 0; mm < 2; mm++) {
            gguf_file *f = NULL;
            hone_status st = gguf_open(path, mm == 1, &f);
            CHECKF(st == HONE_OK, "%s: %s", path, hone_last_error());
            if (st) continue;
            const char *model = NULL;
            CHECKF(gguf_get_str(f, "tokenizer.ggml.model", &model) == HONE_OK, "%s: no tokenizer.ggml.model", path);
            gguf_vtype et;
            uint64_t n = 0;
            CHECKF(gguf_get_arr(f, "tokenizer.ggml.tokens", &et, &n, NULL) == HONE_OK && et == GGUF_TYPE_STRING &&
                       n > 1000,
                   "%s: tokens", path);
            gguf_close(f);
        }
        n_files++;
    }
    closedir(d);
    CHECKF(n_files >= 1, "no vocab files found in %s", dirbuf);
    printf("read %d vocab files\n", n_files);
}

/* ---- round trips through the writer ---- */

static char g_dir[64];

static const char *tmp_path(const char *name) {
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", g_dir, name);
    return buf;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

typedef struct {
    const char *name;
    hone_type type;
    uint32_t n_dims;
    int64_t ne[4];
} tspec;

static const tspec TENSORS[] = {
    {"f32.a", HONE_TYPE_F32, 2, {8, 3, 1, 1}},
    {"f16.b", HONE_TYPE_F16, 1, {17, 1, 1, 1}}, /* 34 bytes: exercises padding */
    {"blk.0.q8", HONE_TYPE_Q8_0, 2, {64, 2, 1, 1}},
    {"blk.0.q4k", HONE_TYPE_Q4_K, 3, {256, 1, 2, 1}},
    {"i8.4d", HONE_TYPE_I8, 4, {5, 1, 1, 2}},
    {"iq2.not_computable", HONE_TYPE_IQ2_XXS, 1, {256, 1, 1, 1}},
    {"bf16.c", HONE_TYPE_BF16, 2, {3, 3, 1, 1}},
};
#define N_TENSORS (sizeof TENSORS / sizeof TENSORS[0])

static size_t tensor_bytes(const tspec *t) {
    return hone_row_size(t->type, t->ne[0]) * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
}

static const uint8_t U8S[] = {0, 1, 255};
static const int8_t I8S[] = {-128, 0, 127};
static const uint16_t U16S[] = {0, 65535, 1234};
static const int16_t I16S[] = {-32768, 32767, -1};
static const uint32_t U32S[] = {0, 0xffffffffu, 7};
static const int32_t I32S[] = {INT32_MIN, INT32_MAX, -7};
static const float F32S[] = {1.5f, -0.0f, 3.4e38f};
static const uint8_t BOOLS[] = {1, 0, 1};
static const uint64_t U64S[] = {0, UINT64_MAX, 1ull << 63};
static const int64_t I64S[] = {INT64_MIN, INT64_MAX, -1};
static const double F64S[] = {1e300, -2.5, 0.1};

static const struct {
    gguf_vtype t;
    const void *data;
    size_t elem;
} SCALAR_ARRAYS[] = {
    {GGUF_TYPE_UINT8, U8S, 1},   {GGUF_TYPE_INT8, I8S, 1},     {GGUF_TYPE_UINT16, U16S, 2},
    {GGUF_TYPE_INT16, I16S, 2},  {GGUF_TYPE_UINT32, U32S, 4},  {GGUF_TYPE_INT32, I32S, 4},
    {GGUF_TYPE_FLOAT32, F32S, 4}, {GGUF_TYPE_BOOL, BOOLS, 1},   {GGUF_TYPE_UINT64, U64S, 8},
    {GGUF_TYPE_INT64, I64S, 8},  {GGUF_TYPE_FLOAT64, F64S, 8},
};
#define N_SCALAR_ARRAYS (sizeof SCALAR_ARRAYS / sizeof SCALAR_ARRAYS[0])

/* The odd string: interior NUL, invalid UTF-8, 0xff — strings carry any bytes. */
static const char ODD[] = "a\0b\xff\xc3";
#define ODD_LEN 5

/* [[1, 2, 3], [], [[ "x" ]]] : array of arrays of mixed element types. */
static gguf_value nested_value(gguf_value *outer, gguf_value *inner, gguf_value *deep, int32_t *ints, gguf_str *s) {
    ints[0] = 1, ints[1] = 2, ints[2] = 3;
    s[0].s = (char *)"x";
    s[0].len = 1;
    memset(inner, 0, 3 * sizeof *inner);
    inner[0].type = GGUF_TYPE_ARRAY;
    inner[0].arr.elem_type = GGUF_TYPE_INT32;
    inner[0].arr.n = 3;
    inner[0].arr.data = ints;
    inner[1].type = GGUF_TYPE_ARRAY;
    inner[1].arr.elem_type = GGUF_TYPE_FLOAT32;
    inner[1].arr.n = 0;
    inner[1].arr.data = NULL;
    memset(deep, 0, sizeof *deep);
    deep->type = GGUF_TYPE_ARRAY;
    deep->arr.elem_type = GGUF_TYPE_STRING;
    deep->arr.n = 1;
    deep->arr.data = s;
    inner[2].type = GGUF_TYPE_ARRAY;
    inner[2].arr.elem_type = GGUF_TYPE_ARRAY;
    inner[2].arr.n = 1;
    inner[2].arr.data = deep;
    memset(outer, 0, sizeof *outer);
    outer->type = GGUF_TYPE_ARRAY;
    outer->arr.elem_type = GGUF_TYPE_ARRAY;
    outer->arr.n = 3;
    outer->arr.data = inner;
    return *outer;
}

static gguf_writer *build_writer(uint32_t alignment, uint8_t **tdata) {
    gguf_writer *w = gguf_writer_create();
    CHECK(w != NULL);
    if (!w) return NULL;
    if (alignment) CHECK(gguf_writer_set_u32(w, "general.alignment", alignment) == HONE_OK);
    CHECK(gguf_writer_set_str(w, "general.architecture", "llama") == HONE_OK);
    CHECK(gguf_writer_set_u32(w, "t.u32", 1) == HONE_OK);
    CHECK(gguf_writer_set_u32(w, "t.u32", 0xdeadbeefu) == HONE_OK); /* replaces */
    CHECK(gguf_writer_set_i32(w, "t.i32", -123456) == HONE_OK);
    CHECK(gguf_writer_set_u64(w, "t.u64", (1ull << 60) + 5) == HONE_OK);
    CHECK(gguf_writer_set_f32(w, "t.f32", 3.25f) == HONE_OK);
    CHECK(gguf_writer_set_bool(w, "t.bool", true) == HONE_OK);
    CHECK(gguf_writer_set_str(w, "t.str", "h\xc3\xa9llo") == HONE_OK);
    CHECK(gguf_writer_set_str(w, "t.empty", "") == HONE_OK);
    CHECK(gguf_writer_set_str(w, "t.removed", "gone") == HONE_OK);
    CHECK(gguf_writer_remove_kv(w, "t.removed") == HONE_OK);
    CHECK(gguf_writer_remove_kv(w, "t.removed") == HONE_ERR_NOT_FOUND);
    /* Scalars without a dedicated setter go through copy_kv. */
    gguf_kv kv;
    kv.key = (char *)"s.u8", kv.val = (gguf_value){.type = GGUF_TYPE_UINT8, .u64 = 200};
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);
    kv.key = (char *)"s.i8", kv.val = (gguf_value){.type = GGUF_TYPE_INT8, .i64 = -100};
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);
    kv.key = (char *)"s.u16", kv.val = (gguf_value){.type = GGUF_TYPE_UINT16, .u64 = 60000};
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);
    kv.key = (char *)"s.i16", kv.val = (gguf_value){.type = GGUF_TYPE_INT16, .i64 = -30000};
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);
    kv.key = (char *)"s.i64", kv.val = (gguf_value){.type = GGUF_TYPE_INT64, .i64 = INT64_MIN + 1};
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);
    kv.key = (char *)"s.f64", kv.val = (gguf_value){.type = GGUF_TYPE_FLOAT64, .f64 = -1e-300};
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);
    kv.key = (char *)"s.odd", kv.val = (gguf_value){.type = GGUF_TYPE_STRING, .str = {(char *)ODD, ODD_LEN}};
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);
    for (size_t i = 0; i < N_SCALAR_ARRAYS; i++) {
        char key[32];
        snprintf(key, sizeof key, "a.%s", gguf_vtype_name(SCALAR_ARRAYS[i].t));
        CHECK(gguf_writer_set_arr(w, key, SCALAR_ARRAYS[i].t, SCALAR_ARRAYS[i].data, 3) == HONE_OK);
    }
    CHECK(gguf_writer_set_arr(w, "a.empty", GGUF_TYPE_FLOAT32, NULL, 0) == HONE_OK);
    const char *strs[] = {"alpha", "", "\xe2\x96\x81the"};
    CHECK(gguf_writer_set_arr_str(w, "a.strings", strs, 3) == HONE_OK);
    gguf_value outer, inner[3], deep;
    int32_t ints[3];
    gguf_str s[1];
    kv.key = (char *)"a.nested", kv.val = nested_value(&outer, inner, &deep, ints, s);
    CHECK(gguf_writer_copy_kv(w, &kv) == HONE_OK);

    for (size_t i = 0; i < N_TENSORS; i++) {
        size_t nb = tensor_bytes(&TENSORS[i]);
        tdata[i] = malloc(nb);
        for (size_t k = 0; k < nb; k++) tdata[i][k] = (uint8_t)rnd();
        CHECKF(gguf_writer_add_tensor(w, TENSORS[i].name, TENSORS[i].type, TENSORS[i].n_dims, TENSORS[i].ne,
                                      tdata[i], nb) == HONE_OK,
               "add %s: %s", TENSORS[i].name, hone_last_error());
    }
    return w;
}

static void check_nested(const gguf_file *f) {
    gguf_vtype et;
    uint64_t n;
    const void *data;
    CHECK(gguf_get_arr(f, "a.nested", &et, &n, &data) == HONE_OK && et == GGUF_TYPE_ARRAY && n == 3);
    if (et != GGUF_TYPE_ARRAY || n != 3) return;
    const gguf_value *in = data;
    CHECK(in[0].type == GGUF_TYPE_ARRAY && in[0].arr.elem_type == GGUF_TYPE_INT32 && in[0].arr.n == 3);
    CHECK(in[0].arr.n == 3 && memcmp(in[0].arr.data, (int32_t[]){1, 2, 3}, 12) == 0);
    CHECK(in[1].arr.elem_type == GGUF_TYPE_FLOAT32 && in[1].arr.n == 0);
    CHECK(in[2].arr.elem_type == GGUF_TYPE_ARRAY && in[2].arr.n == 1);
    if (in[2].arr.n == 1) {
        const gguf_value *d = in[2].arr.data;
        CHECK(d->arr.elem_type == GGUF_TYPE_STRING && d->arr.n == 1);
        const gguf_str *s = d->arr.data;
        CHECK(d->arr.n == 1 && s[0].len == 1 && strcmp(s[0].s, "x") == 0);
    }
}

static void check_read_back(const gguf_file *f, uint32_t alignment, uint8_t **tdata) {
    uint32_t a = alignment ? alignment : 32;
    CHECK(gguf_version(f) == 3);
    CHECK(gguf_alignment(f) == a);
    CHECK(gguf_data_offset(f) % a == 0);
    /* kvs: 8 set + 7 copied + 11 arrays + empty + strings + nested (+ alignment) */
    CHECKF(gguf_n_kv(f) == 29 + (alignment ? 1 : 0), "n_kv %lld", (long long)gguf_n_kv(f));
    /* Insertion order is kept, with a replaced key in its first place. */
    CHECK(strcmp(gguf_kv_at(f, alignment ? 2 : 1)->key, "t.u32") == 0);
    uint32_t u;
    int64_t i;
    float x;
    bool b;
    const char *str;
    CHECK(gguf_get_u32(f, "t.u32", &u) == HONE_OK && u == 0xdeadbeefu);
    CHECK(gguf_get_i64(f, "t.i32", &i) == HONE_OK && i == -123456);
    CHECK(gguf_get_u32(f, "t.i32", &u) == HONE_ERR_FORMAT); /* negative does not fit */
    CHECK(gguf_get_i64(f, "t.u64", &i) == HONE_OK && i == (int64_t)((1ull << 60) + 5));
    CHECK(gguf_get_u32(f, "t.u64", &u) == HONE_ERR_FORMAT);
    CHECK(gguf_get_f32(f, "t.f32", &x) == HONE_OK && x == 3.25f);
    CHECK(gguf_get_bool(f, "t.bool", &b) == HONE_OK && b);
    CHECK(gguf_get_str(f, "t.str", &str) == HONE_OK && strcmp(str, "h\xc3\xa9llo") == 0);
    CHECK(gguf_get_str(f, "t.empty", &str) == HONE_OK && str[0] == '\0');
    CHECK(gguf_find_kv(f, "t.removed") == NULL);
    const gguf_kv *kv;
    CHECK((kv = gguf_find_kv(f, "s.u8")) && kv->val.type == GGUF_TYPE_UINT8 && kv->val.u64 == 200);
    CHECK((kv = gguf_find_kv(f, "s.i8")) && kv->val.type == GGUF_TYPE_INT8 && kv->val.i64 == -100);
    CHECK((kv = gguf_find_kv(f, "s.u16")) && kv->val.type == GGUF_TYPE_UINT16 && kv->val.u64 == 60000);
    CHECK((kv = gguf_find_kv(f, "s.i16")) && kv->val.type == GGUF_TYPE_INT16 && kv->val.i64 == -30000);
    CHECK((kv = gguf_find_kv(f, "s.i64")) && kv->val.type == GGUF_TYPE_INT64 && kv->val.i64 == INT64_MIN + 1);
    CHECK((kv = gguf_find_kv(f, "s.f64")) && kv->val.type == GGUF_TYPE_FLOAT64 && kv->val.f64 == -1e-300);
    CHECK(gguf_get_f32(f, "s.f64", &x) == HONE_OK && x == -0.0f);
    CHECK((kv = gguf_find_kv(f, "s.odd")) && kv->val.type == GGUF_TYPE_STRING && kv->val.str.len == ODD_LEN &&
          memcmp(kv->val.str.s, ODD, ODD_LEN + 1) == 0);
    for (size_t k = 0; k < N_SCALAR_ARRAYS; k++) {
        char key[32];
        snprintf(key, sizeof key, "a.%s", gguf_vtype_name(SCALAR_ARRAYS[k].t));
        gguf_vtype et;
        uint64_t n;
        const void *data;
        CHECKF(gguf_get_arr(f, key, &et, &n, &data) == HONE_OK && et == SCALAR_ARRAYS[k].t && n == 3 &&
                   memcmp(data, SCALAR_ARRAYS[k].data, 3 * SCALAR_ARRAYS[k].elem) == 0,
               "array %s", key);
    }
    gguf_vtype et;
    uint64_t n;
    const void *data;
    CHECK(gguf_get_arr(f, "a.empty", &et, &n, &data) == HONE_OK && et == GGUF_TYPE_FLOAT32 && n == 0);
    CHECK(gguf_get_arr(f, "a.strings", &et, &n, &data) == HONE_OK && et == GGUF_TYPE_STRING && n == 3);
    if (n == 3 && et == GGUF_TYPE_STRING) {
        const gguf_str *s = data;
        CHECK(strcmp(s[0].s, "alpha") == 0 && s[1].len == 0 && s[1].s[0] == '\0');
        CHECK(strcmp(s[2].s, "\xe2\x96\x81the") == 0 && s[2].len == 6);
    }
    check_nested(f);

    CHECK(gguf_n_tensors(f) == (int64_t)N_TENSORS);
    uint64_t expect_off = 0;
    for (size_t k = 0; k < N_TENSORS; k++) {
        const gguf_tensor *t = gguf_find_tensor(f, TENSORS[k].name);
        CHECKF(t != NULL, "tensor %s missing", TENSORS[k].name);
        if (!t) continue;
        CHECK(t == gguf_tensor_at(f, (int64_t)k));
        CHECK(t->type == TENSORS[k].type && t->n_dims == TENSORS[k].n_dims);
        CHECK(memcmp(t->ne, TENSORS[k].ne, sizeof t->ne) == 0);
        CHECK(t->nbytes == tensor_bytes(&TENSORS[k]));
        /* Contiguous, each padded to the alignment: what llama.cpp demands. */
        CHECKF(t->offset == expect_off, "%s offset %llu, expected %llu", t->name, (unsigned long long)t->offset,
               (unsigned long long)expect_off);
        expect_off += (t->nbytes + a - 1) / a * a;
        CHECK(memcmp(t->data, tdata[k], t->nbytes) == 0);
    }
    CHECK(gguf_file_size(f) == gguf_data_offset(f) + expect_off);
}

static void round_trip(uint32_t alignment) {
    uint8_t *tdata[N_TENSORS] = {0};
    gguf_writer *w = build_writer(alignment, tdata);
    if (!w) return;
    char name[64];
    snprintf(name, sizeof name, "rt_%u.gguf", alignment);
    char path[300];
    snprintf(path, sizeof path, "%s", tmp_path(name));
    CHECKF(gguf_writer_write(w, path) == HONE_OK, "write %s: %s", path, hone_last_error());
    /* No temporary file is left behind. */
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
    gguf_writer_free(w);
    for (int mm = 0; mm < 2; mm++) {
        gguf_file *f = NULL;
        hone_status st = gguf_open(path, mm == 1, &f);
        CHECKF(st == HONE_OK, "read back %s: %s", path, hone_last_error());
        if (st) continue;
        check_read_back(f, alignment, tdata);
        /* Copy every kv and tensor into a second writer: same file again. */
        if (mm == 1) {
            gguf_writer *w2 = gguf_writer_create();
            for (int64_t k = 0; k < gguf_n_kv(f); k++) CHECK(gguf_writer_copy_kv(w2, gguf_kv_at(f, k)) == HONE_OK);
            for (int64_t k = 0; k < gguf_n_tensors(f); k++) {
                const gguf_tensor *t = gguf_tensor_at(f, k);
                CHECK(gguf_writer_add_tensor(w2, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes) == HONE_OK);
            }
            const char *p2 = tmp_path("copy.gguf");
            char p2c[300];
            snprintf(p2c, sizeof p2c, "%s", p2);
            CHECK(gguf_writer_write(w2, p2c) == HONE_OK);
            gguf_writer_free(w2);
            size_t n1 = 0, n2 = 0;
            char *b1 = test_read_file(path, &n1), *b2 = test_read_file(p2c, &n2);
            CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
            /* A v2 file differs only in the version field. */
            if (b1 && n1 > 8) {
                b1[4] = 2;
                gguf_file *f2 = NULL;
                CHECK(gguf_open_memory(b1, n1, "v2.gguf", &f2) == HONE_OK);
                if (f2) CHECK(gguf_version(f2) == 2 && gguf_n_tensors(f2) == (int64_t)N_TENSORS);
                gguf_close(f2);
            }
            free(b1);
            free(b2);
            unlink(p2c);
        }
        gguf_close(f);
    }
    if (getenv("HONE_KEEP_GGUF")) printf("kept %s\n", path); else unlink(path);
    for (size_t k = 0; k < N_TENSORS; k++) free(tdata[k]);
}

static void test_writer_rejects(void) {
    gguf_writer *w = gguf_writer_create();
    float data[64] = {0};
    int64_t ne[4] = {64, 1, 1, 1};
    CHECK(gguf_writer_set_u32(w, "", 1) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_set_u32(w, "bad\xff", 1) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_set_arr(w, "k", GGUF_TYPE_STRING, data, 1) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_tensor(w, "t", HONE_TYPE_F32, 1, ne, data, sizeof data / 2) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_tensor(w, "t", HONE_TYPE_F32, 0, ne, data, sizeof data) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_tensor(w, "t", HONE_TYPE_F32, 5, ne, data, sizeof data) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_tensor(w, "t", (hone_type)4, 1, ne, data, sizeof data) == HONE_ERR_INVALID_ARG);
    int64_t odd[4] = {33, 1, 1, 1}, neg[4] = {64, -1, 1, 1};
    CHECK(gguf_writer_add_tensor(w, "t", HONE_TYPE_Q8_0, 1, odd, data, 34) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_tensor(w, "t", HONE_TYPE_F32, 2, neg, data, sizeof data) == HONE_ERR_INVALID_ARG);
    CHECK(gguf_writer_add_tensor(w, "t", HONE_TYPE_F32, 1, ne, data, sizeof data) == HONE_OK);
    CHECK(gguf_writer_add_tensor(w, "t", HONE_TYPE_F32, 1, ne, data, sizeof data) == HONE_ERR_INVALID_ARG);
    /* Unwritable target: an I/O error naming the path, and no temporary file. */
    CHECK(gguf_writer_write(w, "/nonexistent-dir/x.gguf") == HONE_ERR_IO);
    CHECK(strstr(hone_last_error(), "/nonexistent-dir/x.gguf") != NULL);
    CHECK(gguf_writer_set_u32(w, "general.alignment", 48) == HONE_OK);
    CHECK(gguf_writer_write(w, tmp_path("bad_align.gguf")) == HONE_ERR_INVALID_ARG);
    CHECK(access(tmp_path("bad_align.gguf"), F_OK) != 0);
    gguf_writer_free(w);
}

/* An empty writer still makes a valid file: the 24-byte header padded to 32. */
static void test_empty_file(void) {
    gguf_writer *w = gguf_writer_create();
    const char *p = tmp_path("empty.gguf");
    char path[300];
    snprintf(path, sizeof path, "%s", p);
    CHECK(gguf_writer_write(w, path) == HONE_OK);
    gguf_writer_free(w);
    gguf_file *f = NULL;
    CHECK(gguf_open(path, true, &f) == HONE_OK);
    if (f) CHECK(gguf_n_kv(f) == 0 && gguf_n_tensors(f) == 0 && gguf_file_size(f) == 32);
    gguf_close(f);
    unlink(path);
}

/* Rewriting the default model through the writer reproduces llama.cpp's file
 * byte for byte: the strongest check that the layout is the standard one. */
static void test_model_rewrite(void) {
    const char *model = test_model_path();
    if (!model) return;
    gguf_file *f = NULL;
    if (gguf_open(model, true, &f) != HONE_OK) return; /* reported by test_default_model */
    gguf_writer *w = gguf_writer_create();
    for (int64_t k = 0; k < gguf_n_kv(f); k++) CHECK(gguf_writer_copy_kv(w, gguf_kv_at(f, k)) == HONE_OK);
    for (int64_t k = 0; k < gguf_n_tensors(f); k++) {
        const gguf_tensor *t = gguf_tensor_at(f, k);
        CHECK(gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes) == HONE_OK);
    }
    char path[300];
    snprintf(path, sizeof path, "%s", tmp_path("model_copy.gguf"));
    CHECKF(gguf_writer_write(w, path) == HONE_OK, "%s", hone_last_error());
    gguf_writer_free(w);
    size_t n1 = 0, n2 = 0;
    char *b1 = test_read_file(model, &n1), *b2 = test_read_file(path, &n2);
    CHECKF(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0, "rewritten model differs (%zu vs %zu bytes)", n2, n1);
    free(b1);
    free(b2);
    unlink(path);
    gguf_close(f);
}

static void test_round_trips(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/hone_gguf_XXXXXX");
    if (!mkdtemp(g_dir)) {
        CHECKF(0, "mkdtemp failed");
        return;
    }
    round_trip(0);
    round_trip(1);
    round_trip(64);
    round_trip(4096);
    test_writer_rejects();
    test_empty_file();
    test_model_rewrite();
    rmdir(g_dir);
}

int main(void) {
    test_default_model();
    test_vocab_files();
    test_round_trips();
    return test_finish();
}
