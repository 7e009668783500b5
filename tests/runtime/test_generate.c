/*
 * test_generate.c - the generation loop: streaming callback, cached-prefix
 * reuse, stop strings, several sequences, seeds, context limits, and
 * several sessions generating on one model from different threads.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hone.h"

typedef struct {
    char text[16][4096];
    size_t len[16];
} collected;

static bool collect(void *user, int32_t seq, const char *text, size_t len, hone_token t) {
    (void)t;
    collected *c = user;
    if (c->len[seq] + len < sizeof c->text[seq]) {
        memcpy(c->text[seq] + c->len[seq], text, len);
        c->len[seq] += len;
        c->text[seq][c->len[seq]] = '\0';
    }
    return true;
}

static hone_status gen(hone_session *s, const char *prompt, int n, int n_seq, float temp, uint64_t seed,
                       const char *const *stop, size_t n_stop, collected *c, hone_generate_result *r) {
    memset(c, 0, sizeof *c);
    hone_generate_params p = hone_generate_default_params();
    p.max_tokens = n;
    p.n_seq = n_seq;
    p.sampling.temperature = temp;
    p.sampling.seed = seed;
    p.stop = stop;
    p.n_stop = n_stop;
    p.on_piece = collect;
    p.user = c;
    return hone_generate(s, prompt, &p, r);
}

typedef struct {
    const hone_model *m;
    collected out;
    hone_status st;
} thread_arg;

static void *thread_main(void *arg) {
    thread_arg *a = arg;
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = 128;
    sp.n_threads = 1;
    hone_session *s;
    a->st = hone_session_create(a->m, &sp, &s);
    if (a->st) return NULL;
    hone_generate_result r;
    a->st = gen(s, "Once upon a time", 16, 1, 0.0f, 0, NULL, 0, &a->out, &r);
    hone_session_free(s);
    return NULL;
}

int main(void) {
    const char *path = test_model_path();
    if (!path) test_skip("default model not cached (run `hone pull`)");
    hone_model *m;
    if (hone_model_load(path, NULL, &m) != HONE_OK) {
        CHECKF(0, "load: %s", hone_last_error());
        return test_finish();
    }
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = 256;
    sp.n_seq_max = 4;
    sp.n_threads = 2;
    hone_session *s;
    CHECK(hone_session_create(m, &sp, &s) == HONE_OK);
    collected a, b;
    hone_generate_result r;

    /* Greedy, then again (the prompt's cache is reused): same text. */
    CHECK(gen(s, "The capital of France is", 12, 1, 0.0f, 0, NULL, 0, &a, &r) == HONE_OK);
    CHECKF(strncmp(a.text[0], " Paris.", 7) == 0, "greedy text: '%s'", a.text[0]);
    CHECK(r.n_prompt == 5 && r.n_generated[0] == 12 && r.stop[0] == HONE_STOP_LIMIT);
    CHECK(gen(s, "The capital of France is", 12, 1, 0.0f, 0, NULL, 0, &b, &r) == HONE_OK);
    CHECKF(strcmp(a.text[0], b.text[0]) == 0, "rerun with cached prefix: '%s' vs '%s'", a.text[0], b.text[0]);

    /* A stop string: output ends right before it, and says why. */
    const char *stop[] = {" United"};
    CHECK(gen(s, "The capital of France is", 24, 1, 0.0f, 0, stop, 1, &b, &r) == HONE_OK);
    CHECKF(strcmp(b.text[0], " Paris.\n\nThe") == 0, "stopped text: '%s'", b.text[0]);
    CHECK(r.stop[0] == HONE_STOP_STRING);

    /* Several sampled sequences: reproducible by seed, different seeds differ. */
    CHECK(gen(s, "My favourite food is", 16, 3, 0.9f, 42, NULL, 0, &a, &r) == HONE_OK);
    CHECK(gen(s, "My favourite food is", 16, 3, 0.9f, 42, NULL, 0, &b, &r) == HONE_OK);
    for (int k = 0; k < 3; k++) CHECKF(strcmp(a.text[k], b.text[k]) == 0, "seq %d not reproducible", k);
    CHECKF(strcmp(a.text[0], a.text[1]) != 0 || strcmp(a.text[1], a.text[2]) != 0, "3 samples all equal");
    CHECK(gen(s, "My favourite food is", 16, 3, 0.9f, 7, NULL, 0, &b, &r) == HONE_OK);
    CHECKF(strcmp(a.text[0], b.text[0]) != 0 || strcmp(a.text[1], b.text[1]) != 0, "seed has no effect");
    /* sequence 0 of a 3-sequence greedy run equals a 1-sequence greedy run */
    CHECK(gen(s, "The capital of France is", 12, 3, 0.0f, 0, NULL, 0, &b, &r) == HONE_OK);
    CHECK(strncmp(b.text[0], " Paris.", 7) == 0 && strcmp(b.text[0], b.text[2]) == 0);

    /* Limits: n_seq beyond the session, negative max_tokens, zero tokens. */
    CHECK(gen(s, "Hi", 4, 5, 0.0f, 0, NULL, 0, &a, &r) == HONE_ERR_INVALID_ARG);
    CHECK(gen(s, "Hi", -1, 1, 0.0f, 0, NULL, 0, &a, &r) == HONE_ERR_INVALID_ARG);
    CHECK(gen(s, "Hi", 0, 1, 0.0f, 0, NULL, 0, &a, &r) == HONE_OK && r.n_generated[0] == 0 && a.len[0] == 0);
    CHECK(gen(s, "", 4, 1, 0.0f, 0, NULL, 0, &a, &r) == HONE_ERR_INVALID_ARG);
    hone_session_free(s);

    /* A prompt longer than the context is refused with a clear status. */
    sp.n_ctx = 8;
    sp.n_seq_max = 1;
    CHECK(hone_session_create(m, &sp, &s) == HONE_OK);
    hone_status st = gen(s, "one two three four five six seven eight nine ten", 4, 1, 0, 0, NULL, 0, &a, &r);
    CHECKF(st == HONE_ERR_CONTEXT_FULL, "long prompt: status %d (%s)", st, hone_last_error());
    /* Generation running into the end of the context stops cleanly. */
    CHECK(gen(s, "The capital", 100, 1, 0.0f, 0, NULL, 0, &a, &r) == HONE_OK);
    CHECKF(r.n_prompt + r.n_generated[0] <= 9, "generated past the context: %d + %d", r.n_prompt, r.n_generated[0]);
    hone_session_free(s);

    /* Two sessions on one model from two threads give what one gives alone. */
    thread_arg ta[2] = {{m, {{{0}}, {0}}, HONE_OK}, {m, {{{0}}, {0}}, HONE_OK}};
    thread_arg solo = {m, {{{0}}, {0}}, HONE_OK};
    thread_main(&solo);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, thread_main, &ta[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECK(ta[i].st == HONE_OK);
        CHECKF(strcmp(ta[i].out.text[0], solo.out.text[0]) == 0, "thread %d: '%s' vs '%s'", i, ta[i].out.text[0],
               solo.out.text[0]);
    }
    hone_model_free(m);
    return test_finish();
}
