/*
 * test_batch.c - results never depend on what shares a batch.
 *
 * Two different prompts decoded together (one batch holding both, then one
 * token of each per step) give bit-identical logits and the same greedy
 * tokens as each decoded alone; so does a prompt fed in chunks of 3, a
 * session with 1 thread instead of 2, and a sequence living in other KV
 * cells (after another sequence used and freed cells).
 */
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "hone.h"

#define STEPS 12

static const int32_t PA[] = {504, 3575, 282, 4649, 314};              /* "The capital of France is" */
static const int32_t PB[] = {9590, 2030, 253, 744, 28, 253, 1345, 30}; /* arbitrary other prompt */

typedef struct {
    int32_t tok[STEPS];
    float *logits; /* STEPS x n_vocab */
} run;

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static int32_t g_kv = HONE_KV_F16; /* the KV cache type make() asks for */

static hone_session *make(const hone_model *m, int threads, int n_seq, int n_batch) {
    hone_session_params sp = hone_session_default_params();
    sp.kv_type = g_kv;
    sp.n_ctx = 256;
    sp.n_threads = threads;
    sp.n_seq_max = n_seq;
    sp.n_batch = n_batch;
    hone_session *s = NULL;
    CHECKF(hone_session_create(m, &sp, &s) == HONE_OK, "session: %s", hone_last_error());
    return s;
}

/* Decode one prompt alone in sequence `seq` (prompt fed in chunks of `chunk`). */
static void alone(hone_session *s, int seq, const int32_t *p, int n, int chunk, run *r, int nv) {
    int32_t pos[64], sq[64];
    for (int i = 0; i < n; i += chunk) {
        int c = n - i < chunk ? n - i : chunk;
        for (int j = 0; j < c; j++) {
            pos[j] = i + j;
            sq[j] = seq;
        }
        hone_batch b = {c, p + i, pos, sq, NULL};
        CHECKF(hone_decode(s, &b) == HONE_OK, "decode: %s", hone_last_error());
    }
    const float *lg = hone_get_logits(s, (n - 1) % chunk);
    for (int k = 0; k < STEPS; k++) {
        memcpy(r->logits + (size_t)k * nv, lg, (size_t)nv * sizeof(float));
        r->tok[k] = argmax(lg, nv);
        int32_t t = r->tok[k], ps = n + k, q = seq;
        hone_batch b = {1, &t, &ps, &q, NULL};
        CHECK(hone_decode(s, &b) == HONE_OK);
        lg = hone_get_logits(s, 0);
    }
}

static bool same(const run *a, const run *b, int nv) {
    return memcmp(a->tok, b->tok, sizeof a->tok) == 0 &&
           memcmp(a->logits, b->logits, (size_t)STEPS * nv * sizeof(float)) == 0;
}

int main(void) {
    const char *path = test_model_path();
    if (!path) test_skip("default model not cached (run `hone pull`)");
    hone_model *m;
    if (hone_model_load(path, NULL, &m) != HONE_OK) {
        CHECKF(0, "load: %s", hone_last_error());
        return test_finish();
    }
    const int nv = hone_model_n_vocab(m);
    run ra, rb, ra1, ra_chunk, ra_moved, ta, tb;
    run *all[] = {&ra, &rb, &ra1, &ra_chunk, &ra_moved, &ta, &tb};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) all[i]->logits = malloc((size_t)STEPS * nv * sizeof(float));
    const int na = sizeof PA / sizeof *PA, nb = sizeof PB / sizeof *PB;

    hone_session *s = make(m, 2, 2, 64);
    alone(s, 0, PA, na, 64, &ra, nv);
    hone_kv_seq_rm(s, 0, 0, -1);
    alone(s, 1, PB, nb, 64, &rb, nv);
    /* A again while B still holds its cells: A lands in other cells. */
    alone(s, 0, PA, na, 64, &ra_moved, nv);
    CHECKF(same(&ra, &ra_moved, nv), "A in other KV cells differs");
    hone_session_free(s);

    s = make(m, 1, 1, 64);
    alone(s, 0, PA, na, 64, &ra1, nv);
    CHECKF(same(&ra, &ra1, nv), "1 thread differs from 2 threads");
    hone_session_free(s);

    s = make(m, 2, 1, 3);
    alone(s, 0, PA, na, 3, &ra_chunk, nv);
    CHECKF(same(&ra, &ra_chunk, nv), "prompt in chunks of 3 differs");
    hone_session_free(s);

    /* Both prompts in one batch, then both sequences stepped together. */
    s = make(m, 2, 2, 64);
    int32_t tok[64], pos[64], sq[64];
    int8_t want[64] = {0};
    int n = 0;
    for (int i = 0; i < nb; i++, n++) tok[n] = PB[i], pos[n] = i, sq[n] = 1;
    for (int i = 0; i < na; i++, n++) tok[n] = PA[i], pos[n] = i, sq[n] = 0;
    want[nb - 1] = want[n - 1] = 1;
    hone_batch b = {n, tok, pos, sq, want};
    CHECK(hone_decode(s, &b) == HONE_OK);
    const float *la = hone_get_logits(s, n - 1), *lb = hone_get_logits(s, nb - 1);
    CHECK(hone_get_logits(s, 0) == NULL);
    for (int k = 0; k < STEPS && la && lb; k++) {
        memcpy(ta.logits + (size_t)k * nv, la, (size_t)nv * sizeof(float));
        memcpy(tb.logits + (size_t)k * nv, lb, (size_t)nv * sizeof(float));
        ta.tok[k] = argmax(la, nv);
        tb.tok[k] = argmax(lb, nv);
        int32_t t2[2] = {ta.tok[k], tb.tok[k]}, p2[2] = {na + k, nb + k}, s2[2] = {0, 1};
        hone_batch b2 = {2, t2, p2, s2, NULL};
        int8_t w2[2] = {1, 1};
        b2.logits = w2;
        CHECK(hone_decode(s, &b2) == HONE_OK);
        la = hone_get_logits(s, 0);
        lb = hone_get_logits(s, 1);
    }
    CHECKF(same(&ra, &ta, nv), "A batched with B differs from A alone");
    CHECKF(same(&rb, &tb, nv), "B batched with A differs from B alone");
    CHECK(hone_kv_seq_len(s, 0) == na + STEPS && hone_kv_seq_len(s, 1) == nb + STEPS);

    /* A bad batch is rejected and changes nothing. */
    int32_t bad_t = 1, bad_p = 99, bad_s = 0;
    hone_batch bad = {1, &bad_t, &bad_p, &bad_s, NULL};
    CHECK(hone_decode(s, &bad) == HONE_ERR_INVALID_ARG);
    bad_p = na + STEPS;
    bad_t = nv;
    CHECK(hone_decode(s, &bad) == HONE_ERR_INVALID_ARG);
    bad_t = 1;
    bad_s = 7;
    CHECK(hone_decode(s, &bad) == HONE_ERR_INVALID_ARG);
    CHECK(hone_kv_seq_len(s, 0) == na + STEPS);
    /* Only suffixes can be dropped. */
    CHECK(hone_kv_seq_rm(s, 0, 1, 3) == HONE_ERR_UNSUPPORTED);
    hone_session_free(s);

    /* The Q8_0 cache has one order for batches and lone tokens: the prompt in one batch or in
     * chunks of 3, on 1 or 2 threads, beside another sequence or alone, gives the same bits; and
     * it stays close to the F16 cache (same first token, logits within a small distance). */
    g_kv = HONE_KV_Q8_0;
    run q8, q8c, q8b;
    q8.logits = malloc((size_t)STEPS * nv * sizeof(float));
    q8c.logits = malloc((size_t)STEPS * nv * sizeof(float));
    q8b.logits = malloc((size_t)STEPS * nv * sizeof(float));
    s = make(m, 2, 2, 64);
    alone(s, 0, PA, na, 64, &q8, nv);
    hone_session_free(s);
    s = make(m, 1, 1, 3);
    alone(s, 0, PA, na, 3, &q8c, nv);
    hone_session_free(s);
    CHECKF(same(&q8, &q8c, nv), "Q8_0 cache: prompt in chunks of 3 on 1 thread differs from one batch on 2");
    s = make(m, 2, 2, 64);
    alone(s, 1, PB, nb, 64, &q8b, nv); /* B holds cells; A then lands elsewhere */
    alone(s, 0, PA, na, 64, &q8b, nv);
    hone_session_free(s);
    CHECKF(same(&q8, &q8b, nv), "Q8_0 cache: A after B differs from A alone");
    CHECKF(q8.tok[0] == ra.tok[0], "Q8_0 cache: first token %d, F16 cache %d", q8.tok[0], ra.tok[0]);
    double dmax = 0, lmax = 0;
    for (int i = 0; i < nv; i++) {
        dmax = fmax(dmax, fabs((double)q8.logits[i] - ra.logits[i]));
        lmax = fmax(lmax, fabs((double)ra.logits[i]));
    }
    /* KL(F16 || Q8_0) of the first next-token distribution */
    double mf = -1e300, mq = -1e300, zf = 0, zq = 0, kl = 0;
    for (int i = 0; i < nv; i++) mf = fmax(mf, ra.logits[i]), mq = fmax(mq, q8.logits[i]);
    for (int i = 0; i < nv; i++) zf += exp(ra.logits[i] - mf), zq += exp(q8.logits[i] - mq);
    for (int i = 0; i < nv; i++) {
        const double lpf = ra.logits[i] - mf - log(zf), lpq = q8.logits[i] - mq - log(zq);
        kl += exp(lpf) * (lpf - lpq);
    }
    CHECKF(dmax > 0 && kl < 0.01, "Q8_0 cache: first distribution KL %.3g from F16's (max logit difference %.3g of %.3g)",
           kl, dmax, lmax);
    fprintf(stderr, "Q8_0 cache vs F16: KL %.3g, max logit difference %.3g\n", kl, dmax);
    free(q8.logits), free(q8c.logits), free(q8b.logits);

    for (size_t i = 0; i < sizeof all / sizeof *all; i++) free(all[i]->logits);
    hone_model_free(m);
    return test_finish();
}
