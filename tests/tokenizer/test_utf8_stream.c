/*
 * test_utf8_stream.c - the streaming detokeniser only ever emits well-formed
 * UTF-8: a character split across pieces comes out whole once its last byte
 * arrives, bytes that cannot become valid come out as U+FFFD (one per maximal
 * ill-formed subpart, the Unicode-recommended practice) as far as the
 * len + 8 output bound allows, and whatever is held at the end is flushed as
 * U+FFFD.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

#define FFFD "\xef\xbf\xbd"

/* Push each chunk (NULL-terminated list of byte strings), then flush; the
 * concatenated output must equal `want`, and every output must be valid. */
static void expect(const char *what, const char *const *chunks, const char *want) {
    utf8_stream st;
    utf8_stream_init(&st);
    char out[1024], buf[256];
    size_t n = 0;
    for (const char *const *c = chunks; *c; c++) {
        size_t len = strlen(*c);
        size_t k = utf8_stream_push(&st, *c, len, buf);
        CHECKF(k <= len + 8, "%s: push wrote %zu bytes for %zu", what, k, len);
        CHECKF(utf8_is_valid(buf, k), "%s: push emitted invalid UTF-8", what);
        memcpy(out + n, buf, k);
        n += k;
    }
    size_t k = utf8_stream_flush(&st, buf);
    CHECKF(k <= 3, "%s: flush wrote %zu bytes", what, k);
    memcpy(out + n, buf, k);
    n += k;
    CHECKF(n == strlen(want) && memcmp(out, want, n) == 0, "%s: got \"%.*s\" (%zu bytes), want \"%s\"", what,
           (int)n, out, n, want);
}

static void test_fixed_cases(void) {
    /* An emoji (4 bytes) fed one byte at a time: nothing until the last. */
    utf8_stream st;
    utf8_stream_init(&st);
    const char *llama = "\xf0\x9f\xa6\x99";
    char buf[64];
    for (int i = 0; i < 3; i++) CHECK(utf8_stream_push(&st, llama + i, 1, buf) == 0);
    CHECK(utf8_stream_push(&st, llama + 3, 1, buf) == 4 && memcmp(buf, llama, 4) == 0);
    CHECK(utf8_stream_flush(&st, buf) == 0);

    expect("ascii", (const char *[]){"Hello", ", ", "world", NULL}, "Hello, world");
    expect("split 2+2", (const char *[]){"a\xf0\x9f", "\xa6\x99z", NULL}, "a\xf0\x9f\xa6\x99z");
    expect("split 1+1+1 euro", (const char *[]){"\xe2", "\x82", "\xac", NULL}, "\xe2\x82\xac");
    expect("zwj family", (const char *[]){"\xf0\x9f\x91\xa8\xe2", "\x80\x8d\xf0\x9f", "\x91\xa9", NULL},
           "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9");
    expect("0xff", (const char *[]){"a\xff", "b", NULL}, "a" FFFD "b");
    expect("lone continuation", (const char *[]){"\x80\x80", NULL}, FFFD FFFD);
    expect("broken by ascii", (const char *[]){"\xc3", "A", NULL}, FFFD "A");
    expect("broken 3-byte by ascii", (const char *[]){"\xe2\x82", "x", NULL}, FFFD "x");
    expect("truncated at end", (const char *[]){"ok\xe2\x82", NULL}, "ok" FFFD);
    expect("truncated 4-byte at end", (const char *[]){"\xf0\x9f", "\xa6", NULL}, FFFD);
    expect("overlong /", (const char *[]){"\xc0\xaf", NULL}, FFFD FFFD);
    expect("overlong 3-byte", (const char *[]){"\xe0\x80\xaf", NULL}, FFFD FFFD FFFD);
    expect("surrogate", (const char *[]){"\xed\xa0\x80", NULL}, FFFD FFFD FFFD);
    expect("past U+10FFFF", (const char *[]){"\xf4\x90\x80\x80", NULL}, FFFD FFFD FFFD FFFD);
    expect("F5 lead", (const char *[]){"\xf5", NULL}, FFFD);
    expect("NUL passes", (const char *[]){"a", "", "b", NULL}, "ab");
    expect("empty", (const char *[]){NULL}, "");

    /* Twenty bad bytes in one piece: output stays within len + 8, is valid,
     * and is nothing but replacement characters (9 fit). */
    {
        char bad[20], out[64];
        memset(bad, 0xff, sizeof bad);
        utf8_stream_init(&st);
        size_t k = utf8_stream_push(&st, bad, sizeof bad, out);
        CHECK(k <= sizeof bad + 8 && k % 3 == 0 && k >= 12 && utf8_is_valid(out, k));
        for (size_t i = 0; i < k; i += 3) CHECK(memcmp(out + i, FFFD, 3) == 0);
    }

    /* A NUL byte is a valid character and must pass through. */
    utf8_stream_init(&st);
    CHECK(utf8_stream_push(&st, "\0x", 2, buf) == 2 && buf[0] == 0 && buf[1] == 'x');
}

static unsigned rng_state = 12345;
static unsigned rnd(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 16;
}

/* Valid text cut at every possible place into random chunks comes back
 * unchanged; random bytes always come out as valid UTF-8. */
static void test_random(void) {
    const char *text = "Za\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87 \xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\xa6\x99 "
                       "\xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87 "
                       "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d \xea\xb0\x80\xeb\x82\x98 e\xcc\x81";
    size_t len = strlen(text);
    for (int trial = 0; trial < 300; trial++) {
        utf8_stream st;
        utf8_stream_init(&st);
        char out[512], buf[256];
        size_t n = 0;
        for (size_t i = 0; i < len;) {
            size_t k = 1 + rnd() % 5;
            if (k > len - i) k = len - i;
            size_t w = utf8_stream_push(&st, text + i, k, buf);
            CHECK(utf8_is_valid(buf, w));
            memcpy(out + n, buf, w);
            n += w;
            i += k;
        }
        n += utf8_stream_flush(&st, out + n);
        CHECKF(n == len && memcmp(out, text, len) == 0, "trial %d: valid text changed", trial);
    }
    for (int trial = 0; trial < 300; trial++) {
        utf8_stream st;
        utf8_stream_init(&st);
        char in[64], buf[64 + 8];
        size_t total_in = 0, total_out = 0;
        for (int piece = 0; piece < 8; piece++) {
            size_t k = rnd() % 8;
            for (size_t j = 0; j < k; j++) {
                unsigned r = rnd() % 4;
                in[j] = (char)(r == 0   ? 0x80 + rnd() % 64
                               : r == 1 ? 0xc0 + rnd() % 64
                               : r == 2 ? rnd() % 128
                                        : rnd() % 256);
            }
            size_t w = utf8_stream_push(&st, in, k, buf);
            CHECK(w <= k + 8);
            CHECK(utf8_is_valid(buf, w));
            total_in += k;
            total_out += w;
        }
        size_t w = utf8_stream_flush(&st, buf);
        CHECK(utf8_is_valid(buf, w));
        total_out += w;
        CHECK(total_out <= total_in + 8 * 9);
    }
}

/* Pieces of real tokens: byte-level BPE splits an emoji over several
 * tokens; the stream must give it back whole. */
static void test_token_pieces(void) {
    gguf_file *f = NULL;
    hone_vocab *v = NULL;
    if (gguf_open(test_shared_path("golden/tokenizer/ggml-vocab-gpt-2.gguf"), true, &f) ||
        vocab_load(f, &v)) {
        CHECKF(0, "gpt-2 vocab: %s", hone_last_error());
        if (f) gguf_close(f);
        return;
    }
    const char *text = "\xf0\x9f\xa6\x99\xf0\x9f\xa6\x99 llamas \xe2\x9c\x85";
    int32_t ids[64];
    size_t n = 0;
    CHECK(vocab_tokenize(v, text, strlen(text), false, false, ids, 64, &n) == HONE_OK);
    utf8_stream st;
    utf8_stream_init(&st);
    char out[256], piece[64], buf[64 + 8];
    size_t w = 0;
    int partial = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t k = vocab_token_to_piece(v, ids[i], false, piece, sizeof piece);
        CHECK(k >= 0);
        if (k < 0) break;
        if (!utf8_is_valid(piece, (size_t)k)) partial++;
        size_t e = utf8_stream_push(&st, piece, (size_t)k, buf);
        CHECK(utf8_is_valid(buf, e));
        memcpy(out + w, buf, e);
        w += e;
    }
    CHECK(utf8_stream_flush(&st, out + w) == 0);
    CHECKF(partial > 0, "expected some pieces to be partial characters");
    CHECK(w == strlen(text) && memcmp(out, text, w) == 0);
    vocab_free(v);
    gguf_close(f);
}

int main(void) {
    test_fixed_cases();
    test_random();
    test_token_pieces();
    return test_finish();
}
