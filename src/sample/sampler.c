/*
 * sampler.c - the sampler chain: turns one row of logits into a token.
 *
 * The chain, in order (the order of llama.cpp's default chain, minus the
 * samplers hone does not offer: DRY, typical-p, XTC, mirostat):
 *
 *   1. penalties   over the last penalty_last_n accepted tokens, per token
 *                  seen `count` times in that window:
 *                    repeat:   logit > 0 ? logit / repeat_penalty : logit * repeat_penalty
 *                    freq/pres: logit -= count * frequency_penalty + presence_penalty
 *                  They come first because they edit raw logits and every later
 *                  step must see the edited values (a penalised token must also be
 *                  able to fall out of top-k).
 *   2. greedy      when temperature <= 0: argmax, lowest id on ties. Done.
 *   3. top-k       keep the k best (k <= 0: off).
 *   4. top-p       nucleus: the smallest best-first prefix whose probability
 *                  (softmax at temperature 1) reaches p; at least one token.
 *   5. min-p       keep tokens with p >= min_p * p_max, i.e. logit >= max + log(min_p).
 *   6. temperature logits / T. It comes after the filters (as in llama.cpp), so
 *                  T reshapes the distribution among the survivors but does not
 *                  change which tokens survive.
 *   7. softmax + one draw from the seeded generator (rng.h).
 *
 * Both top-p and min-p keep a best-first prefix of the top-k set and the best
 * token survives both, so only the shorter prefix matters; hone uses that to
 * avoid sorting the whole vocabulary: min-p filters in O(n) and only the
 * survivors are sorted for top-p (whose probabilities still use the
 * normaliser over the whole top-k set, so the result equals the plain chain).
 *
 * Defaults are llama.cpp's (common_params_sampling): temperature 0.8, top_k 40,
 * top_p 0.95, min_p 0.05, repeat_penalty 1.0 (off), penalty_last_n 64,
 * frequency 0, presence 0. llama.cpp's default seed (0xFFFFFFFF) means "pick a
 * random seed"; hone's default seed is a fixed 0xFFFFFFFF so that runs repeat
 * unless the caller chooses otherwise. penalty_last_n < 0 means every token
 * accepted since the last reset (llama.cpp's -1 = "whole context").
 *
 * Determinism: the same seed and logits give the same token on every machine:
 * hone's own PRNG, a total order for ranking (logit descending, then id
 * ascending), sums in a fixed order in double precision.
 *
 * Non-finite logits: NaN and -inf tokens are never chosen; +inf is treated
 * as the largest finite float (so several +inf tokens tie). When no token is
 * choosable at all, hone_sampler_sample returns -1 and records a message.
 *
 * Memory: every array (candidates, probabilities, penalty counts and window)
 * is allocated once by hone_sampler_create for n_vocab tokens; sampling does
 * not allocate. A sampler belongs to one thread at a time.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "hone.h"
#include "sample/rng.h"

typedef struct {
    float logit;
    int32_t id;
} cand;

struct hone_sampler {
    hone_sampler_params p;
    int32_t n_vocab;
    bool penalties_on;

    cand *cands;    /* n_vocab */
    double *probs;  /* n_vocab: unnormalised probabilities of the survivors */
    int32_t *count; /* n_vocab: occurrences of each token in the penalty window */

    hone_token *window; /* ring of the last penalty_last_n accepted tokens (if > 0) */
    int32_t window_len, window_pos;

    hone_rng rng;
};

hone_sampler_params hone_sampler_default_params(void) {
    hone_sampler_params p;
    p.temperature = 0.8f;
    p.top_k = 40;
    p.top_p = 0.95f;
    p.min_p = 0.05f;
    p.repeat_penalty = 1.0f;
    p.penalty_last_n = 64;
    p.frequency_penalty = 0.0f;
    p.presence_penalty = 0.0f;
    p.seed = 0xFFFFFFFFu;
    return p;
}

static hone_status validate(const hone_sampler_params *p, int32_t n_vocab) {
    const char *w = "hone_sampler_create";
    if (n_vocab <= 0) return hone_err(HONE_ERR_INVALID_ARG, "%s: n_vocab %d must be positive", w, (int)n_vocab);
    if (isnan(p->temperature))
        return hone_err(HONE_ERR_INVALID_ARG, "%s: temperature is NaN (use <= 0 for greedy)", w);
    if (!(p->top_p > 0.0f))
        return hone_err(HONE_ERR_INVALID_ARG, "%s: top_p %g must be in (0, 1] (1 = off)", w, (double)p->top_p);
    if (isnan(p->min_p) || p->min_p > 1.0f)
        return hone_err(HONE_ERR_INVALID_ARG, "%s: min_p %g must be in [0, 1] (0 = off)", w, (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || isinf(p->repeat_penalty))
        return hone_err(HONE_ERR_INVALID_ARG, "%s: repeat_penalty %g must be a positive finite number (1 = off)", w,
                        (double)p->repeat_penalty);
    if (!isfinite(p->frequency_penalty))
        return hone_err(HONE_ERR_INVALID_ARG, "%s: frequency_penalty %g must be finite", w,
                        (double)p->frequency_penalty);
    if (!isfinite(p->presence_penalty))
        return hone_err(HONE_ERR_INVALID_ARG, "%s: presence_penalty %g must be finite", w,
                        (double)p->presence_penalty);
    return HONE_OK;
}

hone_status hone_sampler_create(const hone_sampler_params *params, int32_t n_vocab, hone_sampler **out) {
    if (!out) return hone_err(HONE_ERR_INVALID_ARG, "hone_sampler_create: out is NULL");
    *out = NULL;
    hone_sampler_params p = params ? *params : hone_sampler_default_params();
    hone_status st = validate(&p, n_vocab);
    if (st != HONE_OK) return st;

    hone_sampler *s = calloc(1, sizeof *s);
    if (!s) return hone_err(HONE_ERR_NOMEM, "hone_sampler_create: out of memory");
    s->p = p;
    s->n_vocab = n_vocab;
    s->penalties_on = p.penalty_last_n != 0 &&
                      (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f);
    s->cands = malloc((size_t)n_vocab * sizeof *s->cands);
    s->probs = malloc((size_t)n_vocab * sizeof *s->probs);
    s->count = calloc((size_t)n_vocab, sizeof *s->count);
    if (p.penalty_last_n > 0) s->window = malloc((size_t)p.penalty_last_n * sizeof *s->window);
    if (!s->cands || !s->probs || !s->count || (p.penalty_last_n > 0 && !s->window)) {
        hone_sampler_free(s);
        return hone_err(HONE_ERR_NOMEM, "hone_sampler_create: out of memory for %d-token vocabulary", (int)n_vocab);
    }
    hone_rng_seed(&s->rng, p.seed);
    *out = s;
    return HONE_OK;
}

void hone_sampler_free(hone_sampler *s) {
    if (!s) return;
    free(s->cands);
    free(s->probs);
    free(s->count);
    free(s->window);
    free(s);
}

/* Forget accepted tokens and restart the generator from the seed, so a reset
 * sampler repeats its first run exactly. */
void hone_sampler_reset(hone_sampler *s) {
    if (!s) return;
    memset(s->count, 0, (size_t)s->n_vocab * sizeof *s->count);
    s->window_len = s->window_pos = 0;
    hone_rng_seed(&s->rng, s->p.seed);
}

void hone_sampler_accept(hone_sampler *s, hone_token t) {
    if (!s || t < 0 || t >= s->n_vocab || s->p.penalty_last_n == 0) return;
    if (s->p.penalty_last_n < 0) { /* unbounded window */
        if (s->count[t] < INT32_MAX) s->count[t]++;
        return;
    }
    if (s->window_len == s->p.penalty_last_n)
        s->count[s->window[s->window_pos]]--; /* the oldest token leaves the window */
    else
        s->window_len++;
    s->window[s->window_pos] = t;
    s->count[t]++;
    s->window_pos = (s->window_pos + 1) % s->p.penalty_last_n;
}

/* ---- ranking: logit descending, then id ascending (a total order) ------- */

static inline bool worse(cand a, cand b) { return a.logit < b.logit || (a.logit == b.logit && a.id > b.id); }

/* Sift c[i] down a heap whose root is its worst element. */
static void sift_down(cand *c, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, w;
        if (l >= n) return;
        w = l;
        if (l + 1 < n && worse(c[l + 1], c[l])) w = l + 1;
        if (!worse(c[w], c[i])) return;
        cand t = c[i];
        c[i] = c[w];
        c[w] = t;
        i = w;
    }
}

/* Move the k best of c[0..n) into c[0..k) (in heap order). O(n log k), no allocation. */
static void select_top_k(cand *c, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;) sift_down(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (worse(c[0], c[i])) {
            c[0] = c[i];
            sift_down(c, k, 0);
        }
    }
}

/* Heapsort best-first; in place, deterministic, no allocation (glibc qsort may malloc). */
static void sort_best_first(cand *c, size_t n) {
    if (n < 2) return;
    for (size_t i = n / 2; i-- > 0;) sift_down(c, n, i);
    for (size_t end = n - 1; end > 0; end--) {
        cand t = c[0]; /* the worst left goes to the back */
        c[0] = c[end];
        c[end] = t;
        sift_down(c, end, 0);
    }
}

hone_token hone_sampler_sample(hone_sampler *s, const float *logits) {
    if (!s || !logits) {
        hone_err(HONE_ERR_INVALID_ARG, "hone_sampler_sample: %s is NULL", s ? "logits" : "sampler");
        return -1;
    }
    const hone_sampler_params *p = &s->p;
    cand *c = s->cands;
    size_t n = 0;
    cand best = {-INFINITY, -1};

    /* 1. penalties, while gathering the choosable candidates. */
    for (int32_t id = 0; id < s->n_vocab; id++) {
        float l = logits[id];
        if (s->penalties_on && s->count[id] > 0) {
            int32_t k = s->count[id];
            l = l > 0.0f ? l / p->repeat_penalty : l * p->repeat_penalty;
            l -= (float)k * p->frequency_penalty + p->presence_penalty;
        }
        if (isnan(l) || l == -INFINITY) continue;
        if (l == INFINITY) l = FLT_MAX;
        c[n].logit = l;
        c[n].id = id;
        if (best.id < 0 || l > best.logit) best = c[n]; /* strict: the lowest id keeps a tie */
        n++;
    }
    if (n == 0) {
        hone_err(HONE_ERR_INVALID_ARG, "hone_sampler_sample: no token has a usable logit (all NaN or -inf)");
        return -1;
    }

    /* 2. greedy. */
    if (p->temperature <= 0.0f) return best.id;

    /* 3. top-k. */
    if (p->top_k > 0 && (size_t)p->top_k < n) {
        select_top_k(c, n, (size_t)p->top_k);
        n = (size_t)p->top_k;
    }

    const double max = best.logit; /* the best token survives every filter */
    double z = 0.0;                 /* top-p's normaliser over the whole top-k set */
    if (p->top_p < 1.0f)
        for (size_t i = 0; i < n; i++) z += exp((double)c[i].logit - max);

    /* 5. min-p, applied before sorting for speed; see the header for why the result is unchanged. */
    if (p->min_p > 0.0f) {
        const double thr = max + log((double)p->min_p);
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
            if ((double)c[i].logit >= thr) c[j++] = c[i];
        n = j;
    }

    /* 4. top-p over the (min-p filtered) best-first prefix. */
    if (p->top_p < 1.0f) {
        sort_best_first(c, n);
        double cum = 0.0;
        for (size_t i = 0; i < n; i++) {
            cum += exp((double)c[i].logit - max) / z;
            if (cum >= (double)p->top_p) {
                n = i + 1;
                break;
            }
        }
    }

    /* 6-7. temperature, softmax, draw. */
    const double t = p->temperature;
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        s->probs[i] = exp(((double)c[i].logit - max) / t);
        sum += s->probs[i];
    }
    const double u = hone_rng_double(&s->rng) * sum;
    double cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += s->probs[i];
        if (u < cum) return c[i].id;
    }
    return c[0].id; /* unreachable: cum ends equal to sum > u */
}
