/*
 * test_stop.c - stop-string matching over streamed text (src/sample/stop.c).
 *
 * Hand-made cases for each rule (split stops, false starts, earliest match,
 * empty list, match at the very start), then a randomised property check
 * against a brute-force model of what must be printed after every piece.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "sample/rng.h"
#include "sample/stop.h"

/* Collects everything the matcher lets through. */
typedef struct {
    char text[16384];
    size_t len;
} sink;

static bool push(stop_matcher *m, sink *o, const char *piece, const char *want_emit) {
    const char *e = NULL;
    size_t n = 99;
    bool hit = stop_matcher_push(m, piece, strlen(piece), &e, &n);
    CHECK(e != NULL);
    if (want_emit)
        CHECKF(n == strlen(want_emit) && memcmp(e, want_emit, n) == 0, "push '%s': emitted '%.*s', want '%s'", piece,
               (int)n, e, want_emit);
    if (o->len + n < sizeof o->text) {
        memcpy(o->text + o->len, e, n);
        o->len += n;
        o->text[o->len] = '\0';
    }
    return hit;
}

static void finish(stop_matcher *m, sink *o, const char *want_emit) {
    const char *e = NULL;
    size_t n = 99;
    stop_matcher_finish(m, &e, &n);
    CHECKF(n == strlen(want_emit) && memcmp(e, want_emit, n) == 0, "finish: emitted '%.*s', want '%s'", (int)n, e,
           want_emit);
    memcpy(o->text + o->len, e, n);
    o->len += n;
    o->text[o->len] = '\0';
}

static void test_split_three_pieces(void) {
    const char *stops[] = {"<|end|>"};
    stop_matcher m;
    CHECK(stop_matcher_init(&m, stops, 1) == HONE_OK);
    sink o = {.len = 0};
    CHECK(!push(&m, &o, "Hello <|", "Hello "));
    CHECK(!push(&m, &o, "en", ""));
    CHECK(push(&m, &o, "d|> ignored", ""));
    CHECK(strcmp(o.text, "Hello ") == 0);
    /* Once matched, further text is swallowed and finish emits nothing. */
    CHECK(push(&m, &o, "more", ""));
    finish(&m, &o, "");
    CHECK(stop_matcher_error(&m) == HONE_OK);
    stop_matcher_free(&m);
}

static void test_false_start(void) {
    const char *stops[] = {"STOP"};
    stop_matcher m;
    CHECK(stop_matcher_init(&m, stops, 1) == HONE_OK);
    sink o = {.len = 0};
    CHECK(!push(&m, &o, "ab ST", "ab "));
    CHECK(!push(&m, &o, "Oy", "STOy")); /* the held "ST" goes out once it cannot be STOP */
    CHECK(!push(&m, &o, "S", ""));
    CHECK(!push(&m, &o, "T", ""));
    finish(&m, &o, "ST"); /* a held prefix at the end is ordinary text */
    CHECK(strcmp(o.text, "ab STOyST") == 0);
    /* After finish, pushes emit nothing and report no match. */
    CHECK(!push(&m, &o, "x", ""));

    /* A prefix that overlaps itself: "aab" in "aaab". */
    const char *s2[] = {"aab"};
    stop_matcher m2;
    CHECK(stop_matcher_init(&m2, s2, 1) == HONE_OK);
    sink o2 = {.len = 0};
    CHECK(!push(&m2, &o2, "a", ""));
    CHECK(!push(&m2, &o2, "a", ""));
    CHECK(!push(&m2, &o2, "a", "a"));
    CHECK(push(&m2, &o2, "b", ""));
    CHECK(strcmp(o2.text, "a") == 0);

    /* Reset reuses the strings for a fresh sequence. */
    stop_matcher_reset(&m2);
    sink o3 = {.len = 0};
    CHECK(push(&m2, &o3, "xaabx", "x"));
    stop_matcher_free(&m2);
    stop_matcher_free(&m);
}

static void test_earliest_wins(void) {
    const char *stops[] = {"world", "lo w", "zzz"};
    stop_matcher m;
    CHECK(stop_matcher_init(&m, stops, 3) == HONE_OK);
    sink o = {.len = 0};
    CHECK(push(&m, &o, "hello world", "hel"));
    stop_matcher_free(&m);

    /* Both complete in one piece: the one that starts first wins even if listed last. */
    const char *s2[] = {"bc", "abcd"};
    CHECK(stop_matcher_init(&m, s2, 2) == HONE_OK);
    sink o2 = {.len = 0};
    CHECK(push(&m, &o2, "xabcd", "x"));
    stop_matcher_reset(&m);
    /* Streamed, "bc" completes first and ends generation before "abcd" could. */
    sink o3 = {.len = 0};
    CHECK(!push(&m, &o3, "xab", "x"));
    CHECK(push(&m, &o3, "c", "a"));
    stop_matcher_free(&m);
}

static void test_empty_and_start(void) {
    stop_matcher m;
    CHECK(stop_matcher_init(&m, NULL, 0) == HONE_OK);
    sink o = {.len = 0};
    CHECK(!push(&m, &o, "anything <|im_end|>", "anything <|im_end|>"));
    CHECK(!push(&m, &o, "", ""));
    finish(&m, &o, "");
    stop_matcher_free(&m);

    /* Empty strings in the list are ignored. */
    const char *s1[] = {"", "Z"};
    CHECK(stop_matcher_init(&m, s1, 2) == HONE_OK);
    sink o1 = {.len = 0};
    CHECK(!push(&m, &o1, "abc", "abc"));
    CHECK(push(&m, &o1, "dZe", "d"));
    stop_matcher_free(&m);

    /* A stop at the very start, whole or in pieces. */
    const char *s2[] = {"</s>"};
    CHECK(stop_matcher_init(&m, s2, 1) == HONE_OK);
    sink o2 = {.len = 0};
    CHECK(push(&m, &o2, "</s>", ""));
    CHECK(o2.len == 0);
    stop_matcher_reset(&m);
    CHECK(!push(&m, &o2, "<", ""));
    CHECK(!push(&m, &o2, "/s", ""));
    CHECK(push(&m, &o2, ">", ""));
    CHECK(o2.len == 0);
    stop_matcher_free(&m);

    /* NULL inside the list is refused. */
    const char *bad[] = {"a", NULL};
    CHECK(stop_matcher_init(&m, bad, 2) == HONE_ERR_INVALID_ARG);
}

static void test_long_push(void) {
    const char *stops[] = {"\nUser:"};
    stop_matcher m;
    CHECK(stop_matcher_init(&m, stops, 1) == HONE_OK);
    static char big[12000];
    memset(big, 'x', 10000);
    memcpy(big + 10000, "\nUser: hi", 10);
    const char *e;
    size_t n;
    CHECK(!stop_matcher_push(&m, big, 9999, &e, &n) && n == 9999);
    CHECK(stop_matcher_push(&m, big + 9999, strlen(big + 9999), &e, &n) && n == 1 && e[0] == 'x');
    stop_matcher_free(&m);
}

/* Brute-force model: longest tail of t[0..len) that is a proper beginning of a stop. */
static size_t model_hold(const char *t, size_t len, const char *const *stops, size_t ns) {
    size_t best = 0;
    for (size_t i = 0; i < ns; i++)
        for (size_t h = 1; h < strlen(stops[i]) && h <= len; h++)
            if (h > best && memcmp(t + len - h, stops[i], h) == 0) best = h;
    return best;
}

static void test_random(void) {
    /* No stop is inside another, so "first to complete" and "starts first" agree. */
    const char *stops[] = {"abc", "cab", "bb"};
    const size_t ns = 3;
    hone_rng r;
    hone_rng_seed(&r, 99);
    for (int iter = 0; iter < 2000; iter++) {
        char text[64];
        size_t tl = 1 + hone_rng_next(&r) % 40;
        for (size_t i = 0; i < tl; i++) text[i] = "abcd"[hone_rng_next(&r) % 4];
        text[tl] = '\0';
        size_t first = tl;
        for (size_t i = 0; i < ns; i++) {
            const char *hit = strstr(text, stops[i]);
            if (hit && (size_t)(hit - text) < first) first = (size_t)(hit - text);
        }
        stop_matcher m;
        CHECK(stop_matcher_init(&m, stops, ns) == HONE_OK);
        char out[64];
        size_t ol = 0, pos = 0;
        bool hit = false;
        while (pos < tl && !hit) {
            size_t pl = 1 + hone_rng_next(&r) % 4;
            if (pl > tl - pos) pl = tl - pos;
            const char *e;
            size_t n;
            hit = stop_matcher_push(&m, text + pos, pl, &e, &n);
            memcpy(out + ol, e, n);
            ol += n;
            pos += pl;
            /* Without a match, exactly the text that cannot start a stop has gone out. */
            if (!hit && ol != pos - model_hold(text, pos, stops, ns)) {
                CHECKF(false, "'%s' after %zu bytes: emitted %zu", text, pos, ol);
                break;
            }
        }
        if (!hit) {
            const char *e;
            size_t n;
            stop_matcher_finish(&m, &e, &n);
            memcpy(out + ol, e, n);
            ol += n;
        }
        CHECKF(hit == (first < tl), "'%s': match %d", text, hit);
        CHECKF(ol == first && memcmp(out, text, first) == 0, "'%s': output '%.*s'", text, (int)ol, out);
        stop_matcher_free(&m);
    }
}

int main(void) {
    test_split_three_pieces();
    test_false_start();
    test_earliest_wins();
    test_empty_and_start();
    test_long_push();
    test_random();
    return test_finish();
}
