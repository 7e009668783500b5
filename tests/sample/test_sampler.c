/*
 * test_sampler.c - the sampler chain (src/sample/sampler.c) and its PRNG.
 *
 * Every filter is checked on crafted logits whose surviving set is known in
 * advance, observed through many draws (a token that survives must appear,
 * one that was cut must never appear). Penalties are checked through greedy
 * choices whose outcome flips exactly at the penalised value. All seeds are
 * fixed, so every run of this test sees the same draws.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hone.h"
#include "sample/rng.h"

/* Params with every filter off, so a test turns on just what it checks. */
static hone_sampler_params plain(float temperature) {
    hone_sampler_params p = hone_sampler_default_params();
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = 1.0f;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.seed = 1234;
    return p;
}

static hone_sampler *make(const hone_sampler_params *p, int32_t n_vocab) {
    hone_sampler *s = NULL;
    hone_status st = hone_sampler_create(p, n_vocab, &s);
    CHECKF(st == HONE_OK && s, "create failed: %s", hone_last_error());
    return s;
}

/* Draw `n` tokens and count them into hist[0..n_vocab); returns false on an out-of-range token. */
static bool draw(hone_sampler *s, const float *logits, int32_t n_vocab, int n, int *hist) {
    memset(hist, 0, (size_t)n_vocab * sizeof *hist);
    for (int i = 0; i < n; i++) {
        hone_token t = hone_sampler_sample(s, logits);
        if (t < 0 || t >= n_vocab) return false;
        hist[t]++;
    }
    return true;
}

static void logits_from_probs(const double *p, int n, float *out) {
    for (int i = 0; i < n; i++) out[i] = (float)log(p[i]);
}

static void test_rng(void) {
    /* Published reference outputs of splitmix64 (seed 0) and xoshiro256** (state 1,2,3,4). */
    uint64_t x = 0;
    CHECK(hone_splitmix64(&x) == 0xE220A8397B1DCDAFull);
    CHECK(hone_splitmix64(&x) == 0x6E789E6AA1B965F4ull);
    hone_rng r = {{1, 2, 3, 4}};
    CHECK(hone_rng_next(&r) == 11520u);
    CHECK(hone_rng_next(&r) == 0u);
    CHECK(hone_rng_next(&r) == 1509978240u);
    CHECK(hone_rng_next(&r) == 1215971899390074240ull);
    hone_rng_seed(&r, 42);
    for (int i = 0; i < 1000; i++) {
        double d = hone_rng_double(&r);
        CHECK(d >= 0.0 && d < 1.0);
    }
}

static void test_defaults_and_validation(void) {
    hone_sampler_params d = hone_sampler_default_params();
    CHECK(d.temperature == 0.8f && d.top_k == 40 && d.top_p == 0.95f && d.min_p == 0.05f);
    CHECK(d.repeat_penalty == 1.0f && d.penalty_last_n == 64);
    CHECK(d.frequency_penalty == 0.0f && d.presence_penalty == 0.0f);

    hone_sampler *s = (hone_sampler *)1;
    hone_sampler_params p = d;
    p.temperature = NAN;
    CHECK(hone_sampler_create(&p, 10, &s) == HONE_ERR_INVALID_ARG && s == NULL);
    CHECK(strstr(hone_last_error(), "temperature") != NULL);
    p = d;
    p.top_p = 0.0f;
    CHECK(hone_sampler_create(&p, 10, &s) == HONE_ERR_INVALID_ARG);
    CHECK(strstr(hone_last_error(), "top_p") != NULL);
    p.top_p = NAN;
    CHECK(hone_sampler_create(&p, 10, &s) == HONE_ERR_INVALID_ARG);
    p = d;
    p.min_p = NAN;
    CHECK(hone_sampler_create(&p, 10, &s) == HONE_ERR_INVALID_ARG);
    p = d;
    p.repeat_penalty = 0.0f;
    CHECK(hone_sampler_create(&p, 10, &s) == HONE_ERR_INVALID_ARG);
    p = d;
    p.frequency_penalty = INFINITY;
    CHECK(hone_sampler_create(&p, 10, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_sampler_create(&d, 0, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_sampler_create(&d, 10, NULL) == HONE_ERR_INVALID_ARG);

    /* Negative top_k means off: every token of a flat distribution still appears. */
    p = plain(1.0f);
    p.top_k = -5;
    s = make(&p, 8);
    float flat[8] = {0};
    int hist[8];
    CHECK(draw(s, flat, 8, 2000, hist));
    for (int i = 0; i < 8; i++) CHECKF(hist[i] > 0, "token %d never drawn with top_k off", i);
    hone_sampler_free(s);
    hone_sampler_free(NULL);
}

static void test_greedy(void) {
    const float logits[6] = {1.0f, 3.0f, 2.0f, 3.0f, -5.0f, 2.5f};
    float temps[3] = {0.0f, -1.0f, -0.0f};
    for (int i = 0; i < 3; i++) {
        hone_sampler_params p = hone_sampler_default_params();
        p.temperature = temps[i];
        hone_sampler *s = make(&p, 6);
        for (int k = 0; k < 10; k++) CHECK(hone_sampler_sample(s, logits) == 1); /* tie 1/3: lowest id */
        hone_sampler_free(s);
    }
    /* top_k = 1 is greedy at any temperature, ties included. */
    float hot[4] = {0.5f, 1.0f, 5.0f, 100.0f};
    for (int i = 0; i < 4; i++) {
        hone_sampler_params p = plain(hot[i]);
        p.top_k = 1;
        hone_sampler *s = make(&p, 6);
        for (int k = 0; k < 200; k++) CHECK(hone_sampler_sample(s, logits) == 1);
        hone_sampler_free(s);
    }
}

static void test_seeds(void) {
    enum { V = 100, N = 64 };
    float logits[V];
    for (int i = 0; i < V; i++) logits[i] = (float)(i % 7) * 0.1f;
    hone_sampler_params p = plain(1.0f);
    hone_token a[N], b[N], c[N];
    hone_sampler *s1 = make(&p, V), *s2 = make(&p, V);
    p.seed = 1235;
    hone_sampler *s3 = make(&p, V);
    for (int i = 0; i < N; i++) {
        a[i] = hone_sampler_sample(s1, logits);
        b[i] = hone_sampler_sample(s2, logits);
        c[i] = hone_sampler_sample(s3, logits);
    }
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    /* Reset restarts the generator: the same sequence again. */
    hone_sampler_reset(s1);
    for (int i = 0; i < N; i++) b[i] = hone_sampler_sample(s1, logits);
    CHECK(memcmp(a, b, sizeof a) == 0);
    hone_sampler_free(s1);
    hone_sampler_free(s2);
    hone_sampler_free(s3);
}

static void test_distribution(void) {
    enum { V = 5, N = 20000 };
    const float logits[V] = {0.0f, 1.0f, 2.0f, -1.0f, 0.5f};
    double z = 0, expect[V];
    for (int i = 0; i < V; i++) z += exp(logits[i]);
    for (int i = 0; i < V; i++) expect[i] = N * exp(logits[i]) / z;
    hone_sampler_params p = plain(1.0f);
    hone_sampler *s = make(&p, V);
    int hist[V];
    CHECK(draw(s, logits, V, N, hist));
    double chi2 = 0;
    for (int i = 0; i < V; i++) chi2 += (hist[i] - expect[i]) * (hist[i] - expect[i]) / expect[i];
    /* 4 degrees of freedom: P(chi2 > 18.47) = 0.001 for a correct sampler. */
    CHECKF(chi2 < 18.47, "chi-square %.2f over softmax", chi2);
    hone_sampler_free(s);

    /* Temperature 2 flattens: the same test against softmax(logits / 2). */
    p = plain(2.0f);
    s = make(&p, V);
    z = 0;
    for (int i = 0; i < V; i++) z += exp(logits[i] / 2);
    CHECK(draw(s, logits, V, N, hist));
    chi2 = 0;
    for (int i = 0; i < V; i++) {
        double e = N * exp(logits[i] / 2) / z;
        chi2 += (hist[i] - e) * (hist[i] - e) / e;
    }
    CHECKF(chi2 < 18.47, "chi-square %.2f at temperature 2", chi2);
    hone_sampler_free(s);
}

/* Draw many times; check that exactly the tokens in `keep` (a bit mask) appear. */
static void check_survivors(const hone_sampler_params *p, const float *logits, int v, unsigned keep,
                            const char *what) {
    hone_sampler *s = make(p, v);
    int hist[16];
    CHECK(draw(s, logits, v, 4000, hist));
    for (int i = 0; i < v; i++) {
        bool want = (keep >> i) & 1u;
        CHECKF(want ? hist[i] > 0 : hist[i] == 0, "%s: token %d drawn %d times, expected %s", what, i, hist[i],
               want ? "some" : "none");
    }
    hone_sampler_free(s);
}

static void test_top_p_min_p(void) {
    float l[5];
    const double probs[4] = {0.5, 0.3, 0.15, 0.05};
    logits_from_probs(probs, 4, l);
    hone_sampler_params p = plain(1.0f);
    p.top_p = 0.75f; /* 0.5 < 0.75 <= 0.8: tokens 0, 1 */
    check_survivors(&p, l, 4, 0x3, "top_p 0.75");
    p.top_p = 0.85f; /* 0.8 < 0.85 <= 0.95: tokens 0..2 */
    check_survivors(&p, l, 4, 0x7, "top_p 0.85");
    p.top_p = 0.1f; /* at least one token */
    check_survivors(&p, l, 4, 0x1, "top_p 0.1");
    p.temperature = 5.0f; /* temperature comes after the filters: it does not change the set */
    p.top_p = 0.75f;
    check_survivors(&p, l, 4, 0x3, "top_p 0.75 at temperature 5");

    /* min-p 0.3 of p_max 0.4 = 0.12: keeps 0.4, 0.3, 0.15 (ids 0, 1, 4). */
    const double probs2[5] = {0.4, 0.3, 0.1, 0.05, 0.15};
    logits_from_probs(probs2, 5, l);
    p = plain(1.0f);
    p.min_p = 0.3f;
    check_survivors(&p, l, 5, 0x13, "min_p 0.3");
    p.min_p = 1.0f;
    check_survivors(&p, l, 5, 0x1, "min_p 1");

    /* Both: the shorter prefix wins, and top-p's probabilities are over the
     * whole set, not renormalised over min-p's survivors: with {0.5, 0.2, 0.1,
     * 0.1, 0.1}, min_p 0.3 keeps {0, 1}; top_p 0.65 needs 0.5 + 0.2 so keeps
     * both (renormalised, 0.5/0.7 alone would reach 0.65). */
    const double probs3[5] = {0.5, 0.2, 0.1, 0.1, 0.1};
    logits_from_probs(probs3, 5, l);
    p = plain(1.0f);
    p.min_p = 0.3f;
    p.top_p = 0.65f;
    check_survivors(&p, l, 5, 0x3, "top_p 0.65 + min_p 0.3");
    p.min_p = 0.1f; /* keeps all five; top-p cuts to {0, 1} */
    check_survivors(&p, l, 5, 0x3, "top_p 0.65 + min_p 0.1");
    p.top_p = 0.85f; /* needs four of the five; of the three tied 0.1s the highest id is cut */
    p.min_p = 0.0f;
    check_survivors(&p, l, 5, 0xF, "top_p 0.85 ties by id");
}

static void test_top_k_large_vocab(void) {
    enum { V = 50000, K = 40 };
    float *l = malloc(V * sizeof *l);
    int *hist = malloc(V * sizeof *hist);
    hone_rng r;
    hone_rng_seed(&r, 7);
    for (int i = 0; i < V; i++) l[i] = (float)(hone_rng_double(&r) * 10.0);
    /* The K-th largest logit, by brute force. */
    float *sorted = malloc(V * sizeof *sorted);
    memcpy(sorted, l, V * sizeof *sorted);
    for (int i = 0; i < K; i++) { /* partial selection sort: fine for K = 40 */
        int m = i;
        for (int j = i + 1; j < V; j++)
            if (sorted[j] > sorted[m]) m = j;
        float t = sorted[i];
        sorted[i] = sorted[m];
        sorted[m] = t;
    }
    const float kth = sorted[K - 1];
    hone_sampler_params p = plain(3.0f); /* hot, so that many of the K get drawn */
    p.top_k = K;
    hone_sampler *s = make(&p, V);
    memset(hist, 0, V * sizeof *hist);
    int distinct = 0;
    bool ok = true;
    for (int i = 0; i < 4000; i++) {
        hone_token t = hone_sampler_sample(s, l);
        if (t < 0 || t >= V || l[t] < kth) {
            ok = false;
            break;
        }
        if (hist[t]++ == 0) distinct++;
    }
    CHECKF(ok, "a token outside the top %d was drawn", K);
    CHECKF(distinct > K / 2, "only %d distinct tokens of the top %d drawn", distinct, K);
    hone_sampler_free(s);
    /* The default chain on a large vocabulary: just a valid token, repeatably. */
    hone_sampler_params d = hone_sampler_default_params();
    hone_sampler *a = make(&d, V), *b = make(&d, V);
    for (int i = 0; i < 50; i++) {
        hone_token ta = hone_sampler_sample(a, l), tb = hone_sampler_sample(b, l);
        CHECK(ta == tb && ta >= 0 && l[ta] >= kth);
    }
    hone_sampler_free(a);
    hone_sampler_free(b);
    free(sorted);
    free(hist);
    free(l);
}

static hone_token greedy_after(const hone_sampler_params *p, const float *l, int v, const hone_token *acc,
                               int n_acc) {
    hone_sampler *s = make(p, v);
    for (int i = 0; i < n_acc; i++) hone_sampler_accept(s, acc[i]);
    hone_token t = hone_sampler_sample(s, l);
    hone_sampler_free(s);
    return t;
}

static void test_penalties(void) {
    hone_sampler_params p = plain(0.0f);
    p.repeat_penalty = 2.0f;
    const hone_token zero[1] = {0}, zz[2] = {0, 0};

    /* Positive logit divided: 2.0 -> 1.0 sits between 0.999 and 1.001. */
    float a[3] = {2.0f, 0.999f, 0.5f};
    CHECK(greedy_after(&p, a, 3, zero, 1) == 0);
    a[1] = 1.001f;
    CHECK(greedy_after(&p, a, 3, zero, 1) == 1);
    CHECK(greedy_after(&p, a, 3, NULL, 0) == 0);
    /* Repeat penalty does not stack with count. */
    a[1] = 0.999f;
    CHECK(greedy_after(&p, a, 3, zz, 2) == 0);
    /* Negative logit multiplied: -1 -> -2 sits between -1.999 and -2.001. */
    float b[2] = {-1.0f, -2.001f};
    CHECK(greedy_after(&p, b, 2, zero, 1) == 0);
    b[1] = -1.999f;
    CHECK(greedy_after(&p, b, 2, zero, 1) == 1);
    /* Unpenalised tokens keep their logits: token 1 (1.5) beats halved 0 (1.0), then 2 (1.2) beats halved 1. */
    float c[3] = {2.0f, 1.5f, 1.2f};
    const hone_token h01[2] = {0, 1};
    CHECK(greedy_after(&p, c, 3, zero, 1) == 1);
    CHECK(greedy_after(&p, c, 3, h01, 2) == 2);

    /* Frequency: 3.0 - count * 0.5. */
    p = plain(0.0f);
    p.frequency_penalty = 0.5f;
    float f[2] = {3.0f, 2.2f};
    CHECK(greedy_after(&p, f, 2, zero, 1) == 0); /* 2.5 > 2.2 */
    CHECK(greedy_after(&p, f, 2, zz, 2) == 1);   /* 2.0 < 2.2 */
    /* Presence: 3.0 - 0.5 once, whatever the count. */
    p = plain(0.0f);
    p.presence_penalty = 0.5f;
    float g[2] = {3.0f, 2.4f};
    CHECK(greedy_after(&p, g, 2, zz, 2) == 0); /* 2.5 > 2.4 */
    g[1] = 2.6f;
    CHECK(greedy_after(&p, g, 2, zero, 1) == 1);
    /* Negative presence rewards a seen token. */
    p.presence_penalty = -1.0f;
    float h[2] = {1.0f, 1.5f};
    CHECK(greedy_after(&p, h, 2, zero, 1) == 0);

    /* The window: with penalty_last_n 2, token 0 leaves after two newer tokens. */
    p = plain(0.0f);
    p.repeat_penalty = 2.0f;
    p.penalty_last_n = 2;
    float w[3] = {2.0f, 1.5f, 0.0f};
    const hone_token seq2[2] = {0, 2}, seq3[3] = {0, 2, 2};
    CHECK(greedy_after(&p, w, 3, seq2, 2) == 1);
    CHECK(greedy_after(&p, w, 3, seq3, 3) == 0);
    /* penalty_last_n 0: off. */
    p.penalty_last_n = 0;
    CHECK(greedy_after(&p, w, 3, zero, 1) == 0);
    /* penalty_last_n < 0: every accepted token counts. */
    p.penalty_last_n = -1;
    hone_token many[100];
    many[0] = 0;
    for (int i = 1; i < 100; i++) many[i] = 2;
    CHECK(greedy_after(&p, w, 3, many, 100) == 1);

    /* Reset forgets; out-of-range accepts are ignored. */
    p.penalty_last_n = 64;
    hone_sampler *s = make(&p, 3);
    hone_sampler_accept(s, 0);
    hone_sampler_accept(s, -1);
    hone_sampler_accept(s, 3);
    CHECK(hone_sampler_sample(s, w) == 1);
    hone_sampler_reset(s);
    CHECK(hone_sampler_sample(s, w) == 0);
    hone_sampler_free(s);

    /* Penalties come before top-k: a penalised best token falls out of top_k = 1 at any temperature. */
    p = plain(1.0f);
    p.repeat_penalty = 2.0f;
    p.top_k = 1;
    s = make(&p, 3);
    hone_sampler_accept(s, 0);
    for (int i = 0; i < 50; i++) CHECK(hone_sampler_sample(s, w) == 1);
    hone_sampler_free(s);
}

static void test_non_finite(void) {
    const float l[5] = {NAN, -INFINITY, 1.0f, -INFINITY, NAN};
    hone_sampler_params p = plain(0.0f);
    hone_sampler *s = make(&p, 5);
    CHECK(hone_sampler_sample(s, l) == 2);
    hone_sampler_free(s);
    p = plain(1.0f);
    check_survivors(&p, l, 5, 0x4, "NaN and -inf never drawn");
    p = hone_sampler_default_params();
    check_survivors(&p, l, 5, 0x4, "NaN and -inf never drawn (default chain)");

    /* +inf: the +inf tokens tie, lowest id for greedy, only they are drawn otherwise. */
    const float inf[5] = {0.0f, INFINITY, 5.0f, INFINITY, -FLT_MAX};
    p = plain(0.0f);
    s = make(&p, 5);
    CHECK(hone_sampler_sample(s, inf) == 1);
    hone_sampler_free(s);
    p = plain(1.0f);
    check_survivors(&p, inf, 5, 0xA, "+inf");
    p.top_p = 0.9f;
    p.min_p = 0.05f;
    check_survivors(&p, inf, 5, 0xA, "+inf with top-p");

    /* Nothing usable: -1 and a message, no crash. */
    const float none[3] = {NAN, -INFINITY, NAN};
    p = hone_sampler_default_params();
    s = make(&p, 3);
    CHECK(hone_sampler_sample(s, none) == -1);
    CHECK(strstr(hone_last_error(), "usable") != NULL);
    CHECK(hone_sampler_sample(s, NULL) == -1);
    CHECK(hone_sampler_sample(NULL, none) == -1);
    hone_sampler_free(s);

    /* Penalties on a huge logit do not produce NaN. */
    p = plain(0.0f);
    p.repeat_penalty = 0.5f; /* < 1 rewards: FLT_MAX / 0.5 overflows to inf */
    p.frequency_penalty = -1.0f;
    const float big[2] = {FLT_MAX, 1.0f};
    s = make(&p, 2);
    hone_sampler_accept(s, 0);
    CHECK(hone_sampler_sample(s, big) == 0);
    hone_sampler_free(s);
}

int main(void) {
    test_rng();
    test_defaults_and_validation();
    test_greedy();
    test_seeds();
    test_distribution();
    test_top_p_min_p();
    test_top_k_large_vocab();
    test_penalties();
    test_non_finite();
    return test_finish();
}
