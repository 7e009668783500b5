/*
 * test_gguf_hostile.c - the GGUF reader against malformed and malicious files.
 *
 * Every file here is generated in memory: a small valid file truncated at
 * every byte, thousands of random bit flips (fixed seed), and one hand-built
 * file per attack (huge counts and lengths, overlapping or out-of-file tensor
 * data, bad alignment, unknown types, bad shapes, bad keys, duplicates, deep
 * nesting). Each must be rejected with HONE_ERR_FORMAT (HONE_ERR_IO for files
 * that cannot be opened) and a message naming the file; none may crash, read
 * out of bounds or leak, which the ASan build checks. Prefixes are copied to
 * exactly-sized heap buffers so ASan sees any read past the end.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/status.h"
#include "formats/gguf.h"
#include "harness.h"

#define NAME "hostile.gguf"

/* ---- a byte-level GGUF builder ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *src, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void u8(buf *b, uint8_t v) { put(b, &v, 1); }
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void str(buf *b, const char *s) {
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void pad(buf *b, size_t align) {
    while (b->n % align) u8(b, 0);
}
static void zeros(buf *b, size_t n) {
    for (size_t i = 0; i < n; i++) u8(b, 0);
}

static void header(buf *b, uint64_t n_tensors, uint64_t n_kv) {
    b->n = 0;
    u32(b, GGUF_MAGIC);
    u32(b, 3);
    u64(b, n_tensors);
    u64(b, n_kv);
}

static void kv_u32(buf *b, const char *key, uint32_t v) {
    str(b, key);
    u32(b, GGUF_TYPE_UINT32);
    u32(b, v);
}

static void tinfo(buf *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, uint64_t off) {
    str(b, name);
    u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) u64(b, (uint64_t)ne[d]);
    u32(b, type);
    u64(b, off);
}

/* ---- expectations ---- */

/* Open a copy of the bytes in an exactly-sized buffer; returns the status. */
static hone_status open_copy(const uint8_t *p, size_t n, gguf_file **out) {
    uint8_t *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, p, n);
    hone_status st = gguf_open_memory(copy, n, NAME, out);
    /* Walk everything a caller might touch, so ASan checks the pointers. */
    if (st == HONE_OK) {
        volatile uint64_t sum = 0;
        for (int64_t i = 0; i < gguf_n_kv(*out); i++) sum += gguf_kv_at(*out, i)->key[0];
        for (int64_t i = 0; i < gguf_n_tensors(*out); i++) {
            const gguf_tensor *t = gguf_tensor_at(*out, i);
            sum += ((const uint8_t *)t->data)[0] + ((const uint8_t *)t->data)[t->nbytes - 1];
        }
        (void)sum;
        gguf_close(*out);
        *out = NULL;
    }
    free(copy);
    return st;
}

/* The bytes in b must be rejected with `code`, and the message must name the
 * file and contain `needle` (when not NULL). */
static void expect_fail_code(const buf *b, hone_status code, const char *needle, const char *what, int line) {
    gguf_file *f = NULL;
    hone_status st = open_copy(b->p, b->n, &f);
    const char *msg = hone_last_error();
    if (getenv("HONE_TEST_VERBOSE")) printf("%-28s -> %s\n", what, msg);
    if (st != code) {
        test_checks++;
        test_fail(__FILE__, line, "%s: status %d, expected %d (%s)", what, st, code, msg);
        return;
    }
    CHECKF(strstr(msg, NAME) != NULL, "line %d: %s: message lacks the file name: '%s'", line, what, msg);
    if (needle) CHECKF(strstr(msg, needle) != NULL, "line %d: %s: message '%s' lacks '%s'", line, what, msg, needle);
}
#define EXPECT_FAIL(b, needle, what) expect_fail_code(b, HONE_ERR_FORMAT, needle, what, __LINE__)

static void expect_ok(const buf *b, const char *what, int line) {
    gguf_file *f = NULL;
    hone_status st = open_copy(b->p, b->n, &f);
    if (st != HONE_OK) {
        test_checks++;
        test_fail(__FILE__, line, "%s: should open: %s", what, hone_last_error());
    }
}
#define EXPECT_OK(b, what) expect_ok(b, what, __LINE__)

/* ---- a small valid file, produced by the writer ---- */

static char g_dir[64];
static uint8_t *g_valid;
static size_t g_valid_n, g_valid_min; /* shortest prefix that is still valid */

static void make_valid(void) {
    gguf_writer *w = gguf_writer_create();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "llama.block_count", 2);
    gguf_writer_set_f32(w, "llama.rope.freq_base", 10000.0f);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true);
    const char *toks[] = {"<s>", "a", "\xe2\x96\x81" "b"};
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
    int32_t tt[] = {3, 1, 1};
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, tt, 3);
    /* A nested array, so flips and cuts hit the recursive path too. */
    int32_t ints[2] = {1, 2};
    gguf_value inner[2] = {{.type = GGUF_TYPE_ARRAY}, {.type = GGUF_TYPE_ARRAY}};
    inner[0].arr.elem_type = GGUF_TYPE_INT32, inner[0].arr.n = 2, inner[0].arr.data = ints;
    inner[1].arr.elem_type = GGUF_TYPE_INT32, inner[1].arr.n = 0;
    gguf_kv kv = {.key = (char *)"x.nested", .val = {.type = GGUF_TYPE_ARRAY}};
    kv.val.arr.elem_type = GGUF_TYPE_ARRAY, kv.val.arr.n = 2, kv.val.arr.data = inner;
    gguf_writer_copy_kv(w, &kv);
    static uint8_t q8[2 * 34], f32[4 * 4 * 4];
    for (size_t i = 0; i < sizeof q8; i++) q8[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof f32; i++) f32[i] = (uint8_t)(i * 13);
    int64_t ne_q8[2] = {32, 2}, ne_f32[2] = {4, 4};
    gguf_writer_add_tensor(w, "blk.0.q8", HONE_TYPE_Q8_0, 2, ne_q8, q8, sizeof q8);
    /* 64 bytes: a multiple of the alignment, so the file ends with data. */
    gguf_writer_add_tensor(w, "blk.0.f32", HONE_TYPE_F32, 2, ne_f32, f32, sizeof f32);
    char path[128];
    snprintf(path, sizeof path, "%s/valid.gguf", g_dir);
    CHECKF(gguf_writer_write(w, path) == HONE_OK, "write: %s", hone_last_error());
    gguf_writer_free(w);
    g_valid = (uint8_t *)test_read_file(path, &g_valid_n);
    unlink(path);
    gguf_file *f = NULL;
    CHECK(g_valid && gguf_open_memory(g_valid, g_valid_n, NAME, &f) == HONE_OK);
    if (f) {
        const gguf_tensor *t = gguf_find_tensor(f, "blk.0.f32");
        g_valid_min = gguf_data_offset(f) + t->offset + t->nbytes;
        CHECK(g_valid_min == g_valid_n);
        gguf_close(f);
    }
}

/* ---- the attacks ---- */

static void test_truncation(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/cut.gguf", g_dir);
    for (size_t n = 0; n < g_valid_n; n++) {
        gguf_file *f = NULL;
        hone_status st = open_copy(g_valid, n, &f);
        CHECKF(st == HONE_ERR_FORMAT, "prefix %zu: status %d", n, st);
        CHECKF(strstr(hone_last_error(), NAME) != NULL, "prefix %zu: '%s'", n, hone_last_error());
        /* The file path too (mmap and read), every few bytes to keep it quick. */
        if (n % 5 == 0) {
            FILE *fp = fopen(path, "wb");
            fwrite(g_valid, 1, n, fp);
            fclose(fp);
            for (int mm = 0; mm < 2; mm++) {
                st = gguf_open(path, mm == 1, &f);
                CHECKF(st == HONE_ERR_FORMAT && strstr(hone_last_error(), path), "file prefix %zu mmap=%d: %d '%s'",
                       n, mm, st, hone_last_error());
                if (st == HONE_OK) gguf_close(f);
            }
        }
    }
    gguf_file *f = NULL;
    CHECK(open_copy(g_valid, g_valid_n, &f) == HONE_OK);
    unlink(path);
}

static uint64_t g_rng = 12345;
static uint32_t rnd(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)g_rng;
}

static void test_bit_flips(void) {
    uint8_t *m = malloc(g_valid_n);
    int n_ok = 0, n_bad = 0;
    for (int v = 0; v < 6000; v++) {
        memcpy(m, g_valid, g_valid_n);
        int flips = 1 + (int)(rnd() % 4);
        bool in_version = false;
        for (int k = 0; k < flips; k++) {
            size_t at = rnd() % g_valid_n;
            /* Aim half the flips at the metadata, where they matter most. */
            if (v % 2 == 0) at = rnd() % (g_valid_n - 128);
            if (v % 7 == 0) m[at] = (uint8_t)rnd(); /* whole-byte garbage */
            else m[at] ^= (uint8_t)(1u << (rnd() % 8));
            in_version |= at >= 4 && at < 8;
        }
        gguf_file *f = NULL;
        hone_status st = open_copy(m, g_valid_n, &f);
        if (st == HONE_OK) {
            n_ok++;
            continue;
        }
        n_bad++;
        bool code_ok = st == HONE_ERR_FORMAT || (in_version && st == HONE_ERR_UNSUPPORTED);
        CHECKF(code_ok, "variant %d: status %d (%s)", v, st, hone_last_error());
        CHECKF(strstr(hone_last_error(), NAME) != NULL, "variant %d: '%s'", v, hone_last_error());
    }
    printf("bit flips: %d variants opened, %d rejected\n", n_ok, n_bad);
    CHECK(n_bad > 1000);
    free(m);
}

static void test_header(void) {
    buf b = {0};
    header(&b, 0, 0);
    EXPECT_OK(&b, "empty v3 file");
    b.p[0] = 'X';
    EXPECT_FAIL(&b, "magic", "bad magic");
    header(&b, 0, 0);
    b.p[4] = 1;
    expect_fail_code(&b, HONE_ERR_UNSUPPORTED, "version 1", "v1", __LINE__);
    b.p[4] = 4;
    EXPECT_FAIL(&b, "version 4", "v4");
    header(&b, 0, 0);
    b.p[4] = 0, b.p[7] = 3; /* version written big-endian */
    expect_fail_code(&b, HONE_ERR_UNSUPPORTED, "big-endian", "big-endian", __LINE__);
    buf e = {0};
    EXPECT_FAIL(&e, "truncated", "empty buffer");

    uint64_t huge[] = {1ull << 63, UINT64_MAX, (1ull << 63) - 1, 1ull << 32, 1000};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        header(&b, huge[i], 0);
        EXPECT_FAIL(&b, "tensor count", "huge n_tensors");
        header(&b, 0, huge[i]);
        EXPECT_FAIL(&b, "key/value count", "huge n_kv");
        header(&b, huge[i], huge[i]);
        EXPECT_FAIL(&b, "count", "huge both");
    }
    free(b.p);
}

static void test_strings_and_arrays(void) {
    buf b = {0};
    /* Key length 2^63 and 2^64-1. */
    header(&b, 0, 1);
    u64(&b, 1ull << 63);
    zeros(&b, 40);
    EXPECT_FAIL(&b, "key length 9223372036854775808 exceeds the 40 bytes left", "huge key length");
    header(&b, 0, 1);
    u64(&b, UINT64_MAX);
    zeros(&b, 40);
    EXPECT_FAIL(&b, "exceeds", "key length 2^64-1");
    /* String value length INT64_MAX: the message of the spec. */
    header(&b, 0, 1);
    str(&b, "k");
    u32(&b, GGUF_TYPE_STRING);
    u64(&b, INT64_MAX);
    zeros(&b, 120);
    EXPECT_FAIL(&b, "key #0 'k' at offset 0x25: string length 9223372036854775807 exceeds the 120 bytes left",
                "huge string");
    /* Array lengths 2^63 / 2^61 (the byte count would wrap) / 2^63 strings / arrays. */
    uint32_t ets[] = {GGUF_TYPE_UINT8, GGUF_TYPE_UINT64, GGUF_TYPE_STRING, GGUF_TYPE_ARRAY, GGUF_TYPE_BOOL};
    uint64_t ns[] = {1ull << 63, 1ull << 61, UINT64_MAX, 1000};
    for (size_t i = 0; i < 5; i++) {
        for (size_t j = 0; j < 4; j++) {
            header(&b, 0, 1);
            str(&b, "arr");
            u32(&b, GGUF_TYPE_ARRAY);
            u32(&b, ets[i]);
            u64(&b, ns[j]);
            zeros(&b, 64);
            EXPECT_FAIL(&b, "array length", "huge array");
        }
    }
    /* A string array whose 2nd string is too long. */
    header(&b, 0, 1);
    str(&b, "arr");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, GGUF_TYPE_STRING);
    u64(&b, 2);
    str(&b, "ok");
    u64(&b, 1000);
    zeros(&b, 8);
    EXPECT_FAIL(&b, "string length 1000", "long array string");
    /* Unknown value type, unknown array element type. */
    uint32_t bad_types[] = {GGUF_TYPE_COUNT, 100, UINT32_MAX};
    for (size_t i = 0; i < 3; i++) {
        header(&b, 0, 1);
        str(&b, "k");
        u32(&b, bad_types[i]);
        zeros(&b, 16);
        EXPECT_FAIL(&b, "unknown value type", "unknown value type");
        header(&b, 0, 1);
        str(&b, "k");
        u32(&b, GGUF_TYPE_ARRAY);
        u32(&b, bad_types[i]);
        u64(&b, 1);
        zeros(&b, 16);
        EXPECT_FAIL(&b, "unknown array element type", "unknown element type");
    }
    /* Bools other than 0/1. */
    header(&b, 0, 1);
    str(&b, "k");
    u32(&b, GGUF_TYPE_BOOL);
    u8(&b, 2);
    EXPECT_FAIL(&b, "bool", "bool 2");
    header(&b, 0, 1);
    str(&b, "k");
    u32(&b, GGUF_TYPE_ARRAY);
    u32(&b, GGUF_TYPE_BOOL);
    u64(&b, 3);
    u8(&b, 0), u8(&b, 1), u8(&b, 0xff);
    EXPECT_FAIL(&b, "bool element 2", "bool array");
    /* Nesting: 8 levels are accepted, 9 and 10000 are not (no stack overflow). */
    int depths[] = {8, 9, 10000};
    for (size_t i = 0; i < 3; i++) {
        header(&b, 0, 1);
        str(&b, "deep");
        u32(&b, GGUF_TYPE_ARRAY);
        for (int d = 1; d < depths[i]; d++) {
            u32(&b, GGUF_TYPE_ARRAY);
            u64(&b, 1);
        }
        u32(&b, GGUF_TYPE_UINT8);
        u64(&b, 1);
        u8(&b, 42);
        if (depths[i] <= 8) EXPECT_OK(&b, "8-deep array");
        else EXPECT_FAIL(&b, "nested deeper", "too deep");
    }
    free(b.p);
}

static void test_keys(void) {
    buf b = {0};
    const char *bad[] = {"", "\xff", "a\xc0\x80", "\xed\xa0\x80", "ab\xe2\x82", "\xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        header(&b, 0, 1);
        kv_u32(&b, bad[i], 1);
        EXPECT_FAIL(&b, i == 0 ? "empty key" : "UTF-8", "bad key");
    }
    header(&b, 0, 1); /* NUL inside a key */
    u64(&b, 3);
    put(&b, "a\0b", 3);
    u32(&b, GGUF_TYPE_UINT32);
    u32(&b, 1);
    EXPECT_FAIL(&b, "UTF-8", "NUL in key");
    header(&b, 0, 1); /* valid multi-byte UTF-8 is fine */
    kv_u32(&b, "cl\xc3\xa9.\xf0\x9f\x98\x80", 1);
    EXPECT_OK(&b, "utf-8 key");
    header(&b, 0, 3);
    kv_u32(&b, "a", 1);
    kv_u32(&b, "b", 1);
    kv_u32(&b, "a", 2);
    EXPECT_FAIL(&b, "duplicate key (also key #0)", "duplicate key");
    free(b.p);
}

static void test_alignment_key(void) {
    buf b = {0};
    uint32_t bad[] = {0, 3, 48, 0x80000001u};
    for (size_t i = 0; i < 4; i++) {
        header(&b, 0, 1);
        kv_u32(&b, "general.alignment", bad[i]);
        EXPECT_FAIL(&b, "power of two", "bad alignment value");
    }
    header(&b, 0, 1);
    str(&b, "general.alignment");
    u32(&b, GGUF_TYPE_UINT64);
    u64(&b, 32);
    EXPECT_FAIL(&b, "expected uint32", "alignment as u64");
    header(&b, 0, 1);
    str(&b, "general.alignment");
    u32(&b, GGUF_TYPE_STRING);
    str(&b, "32");
    EXPECT_FAIL(&b, "expected uint32", "alignment as string");
    /* 2^31 is a power of two: a tensor-less file with it is acceptable. */
    header(&b, 0, 1);
    kv_u32(&b, "general.alignment", 0x80000000u);
    EXPECT_OK(&b, "alignment 2^31");
    free(b.p);
}

/* One tensor (or two) over 64 bytes of data at alignment 32. */
static void one_tensor(buf *b, uint32_t n_dims, const int64_t *ne, uint32_t type, uint64_t off, size_t data) {
    header(b, 1, 0);
    tinfo(b, "blk.3.attn_q.weight", n_dims, ne, type, off);
    pad(b, 32);
    zeros(b, data);
}

static void test_tensors(void) {
    buf b = {0};
    int64_t ne16[4] = {16, 1, 1, 1};
    one_tensor(&b, 1, ne16, HONE_TYPE_F32, 0, 64);
    EXPECT_OK(&b, "one f32 tensor");
    /* n_dims 0 and 5 */
    one_tensor(&b, 0, ne16, HONE_TYPE_F32, 0, 64);
    EXPECT_FAIL(&b, "n_dims 0", "n_dims 0");
    int64_t ne5[5] = {16, 1, 1, 1, 1};
    one_tensor(&b, 5, ne5, HONE_TYPE_F32, 0, 64);
    EXPECT_FAIL(&b, "n_dims 5", "n_dims 5");
    /* Zero, negative and overflowing dimensions */
    int64_t dims[][2] = {{0, 1}, {16, 0}, {-16, 1}, {16, -1}, {INT64_MIN, 1}, {1ll << 32, 1ll << 32},
                         {INT64_MAX, 2}};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        int64_t ne[2] = {dims[i][0], dims[i][1]};
        one_tensor(&b, 2, ne, HONE_TYPE_F32, 0, 64);
        EXPECT_FAIL(&b, "blk.3.attn_q.weight", "bad dims");
    }
    /* 2^62 F32 elements: counts fit, the byte size does not (or exceeds the file). */
    int64_t big[2] = {1ll << 31, 1ll << 31};
    one_tensor(&b, 2, big, HONE_TYPE_F32, 0, 64);
    EXPECT_FAIL(&b, "blk.3.attn_q.weight", "huge tensor");
    /* Unknown type ids name the tensor and the id; IQ2_XXS is known (allowed). */
    uint32_t unknown[] = {4, 5, 31, 36, 1000, UINT32_MAX};
    for (size_t i = 0; i < 6; i++) {
        char needle[64];
        snprintf(needle, sizeof needle, "unknown tensor type id %" PRIu32, unknown[i]);
        one_tensor(&b, 1, ne16, unknown[i], 0, 64);
        EXPECT_FAIL(&b, needle, "unknown type");
        EXPECT_FAIL(&b, "tensor #0 'blk.3.attn_q.weight'", "unknown type names the tensor");
    }
    int64_t ne256[1] = {256};
    one_tensor(&b, 1, ne256, HONE_TYPE_IQ2_XXS, 0, 66);
    EXPECT_OK(&b, "IQ2_XXS tensor");
    /* Row length not a multiple of the block size */
    int64_t ne33[1] = {33};
    one_tensor(&b, 1, ne33, HONE_TYPE_Q8_0, 0, 64);
    EXPECT_FAIL(&b, "not a multiple of the Q8_0 block size 32", "row not multiple");
    /* Misaligned offset */
    one_tensor(&b, 1, ne16, HONE_TYPE_F32, 4, 128);
    EXPECT_FAIL(&b, "not a multiple of the alignment", "misaligned");
    /* Data past the end of the file; offset near 2^64 (wraps) */
    one_tensor(&b, 1, ne16, HONE_TYPE_F32, 0, 63);
    EXPECT_FAIL(&b, "ends beyond the file", "data past EOF");
    one_tensor(&b, 1, ne16, HONE_TYPE_F32, 64, 64);
    EXPECT_FAIL(&b, "ends beyond the file", "offset past EOF");
    one_tensor(&b, 1, ne16, HONE_TYPE_F32, UINT64_MAX - 31, 64);
    EXPECT_FAIL(&b, "beyond the file", "offset wraps");
    /* Overlapping tensors; duplicate names */
    header(&b, 2, 0);
    tinfo(&b, "a", 1, ne16, HONE_TYPE_F32, 32);
    tinfo(&b, "b", 1, ne16, HONE_TYPE_F32, 0);
    pad(&b, 32);
    zeros(&b, 128);
    EXPECT_FAIL(&b, "overlaps", "overlap");
    header(&b, 2, 0);
    tinfo(&b, "a", 1, ne16, HONE_TYPE_F32, 0);
    tinfo(&b, "b", 1, ne16, HONE_TYPE_F32, 0);
    pad(&b, 32);
    zeros(&b, 128);
    EXPECT_FAIL(&b, "overlaps", "same offset");
    header(&b, 2, 0);
    tinfo(&b, "a", 1, ne16, HONE_TYPE_F32, 0);
    tinfo(&b, "a", 1, ne16, HONE_TYPE_F32, 64);
    pad(&b, 32);
    zeros(&b, 128);
    EXPECT_FAIL(&b, "duplicate tensor name", "duplicate tensor");
    /* Out of order but disjoint is fine. */
    header(&b, 2, 0);
    tinfo(&b, "a", 1, ne16, HONE_TYPE_F32, 64);
    tinfo(&b, "b", 1, ne16, HONE_TYPE_F32, 0);
    pad(&b, 32);
    zeros(&b, 128);
    EXPECT_OK(&b, "out of order tensors");
    /* Non-UTF-8 and empty tensor names */
    header(&b, 1, 0);
    tinfo(&b, "bad\xff", 1, ne16, HONE_TYPE_F32, 0);
    pad(&b, 32);
    zeros(&b, 64);
    EXPECT_FAIL(&b, "UTF-8", "bad tensor name");
    header(&b, 1, 0);
    tinfo(&b, "", 1, ne16, HONE_TYPE_F32, 0);
    pad(&b, 32);
    zeros(&b, 64);
    EXPECT_FAIL(&b, "empty tensor name", "empty tensor name");
    free(b.p);
}

static void test_files(void) {
    gguf_file *f = NULL;
    char path[128];
    snprintf(path, sizeof path, "%s/missing.gguf", g_dir);
    CHECK(gguf_open(path, true, &f) == HONE_ERR_IO && f == NULL);
    CHECK(strstr(hone_last_error(), path) != NULL);
    CHECK(gguf_open(g_dir, true, &f) == HONE_ERR_IO); /* a directory */
    CHECK(strstr(hone_last_error(), g_dir) != NULL);
    snprintf(path, sizeof path, "%s/empty.gguf", g_dir);
    FILE *fp = fopen(path, "wb");
    fclose(fp);
    for (int mm = 0; mm < 2; mm++) {
        CHECK(gguf_open(path, mm == 1, &f) == HONE_ERR_FORMAT);
        CHECK(strstr(hone_last_error(), path) != NULL);
    }
    unlink(path);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/hone_gguf_hostile_XXXXXX");
    if (!mkdtemp(g_dir)) {
        CHECKF(0, "mkdtemp");
        return test_finish();
    }
    make_valid();
    if (g_valid) {
        test_truncation();
        test_bit_flips();
    }
    test_header();
    test_strings_and_arrays();
    test_keys();
    test_alignment_key();
    test_tensors();
    test_files();
    free(g_valid);
    rmdir(g_dir);
    return test_finish();
}
