/*
 * test_qsearch.c - the searched-scale quantisers (quant/quant_search.h).
 *
 *  - Never worse than the reference: on random, heavy-tailed, constant and all-zero rows, the
 *    weighted squared error (caller's importances, or the default weights) of
 *    hone_quantize_row_search is <= that of hone_quantize_row, block by block, and strictly smaller
 *    in total on random rows (otherwise the search does nothing).
 *  - Round-trip bound (unweighted): dequantise(search(x)) within one step of the block's range per
 *    element (half a step from rounding plus what the scale search may trade).
 *  - On-grid input (dequantised reference blocks) comes back with identical bytes: the property
 *    that makes Q4_1 -> F32 -> Q4_1 reproduce the default model.
 *  - Importance weights move the error to unimportant elements.
 *  - K-quants: with and without importances never worse than the reference (llama-quantize's) block
 *    under the weights, and better in total on random rows.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "harness.h"
#include "quant/quant.h"
#include "quant/quant_search.h"

#define N 512

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static float uni(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((float)(rng >> 40) + 0.5f) / 16777216.0f;
}
static float normal(void) { return sqrtf(-2.0f * logf(uni())) * cosf(6.2831853f * uni()); }

enum { D_NORMAL, D_HEAVY, D_CONST, D_ZERO, D_OFFSET, D_COUNT };
static const char *DNAME[] = {"normal", "heavy-tailed", "constant", "zeros", "offset"};

static void fill(float *x, int d) {
    for (int i = 0; i < N; i++) {
        switch (d) {
        case D_NORMAL: x[i] = 0.02f * normal(); break;
        case D_HEAVY: x[i] = 0.02f * normal() / (0.05f + uni()); break; /* ratio: Cauchy-like tails */
        case D_CONST: x[i] = 0.37f; break;
        case D_ZERO: x[i] = 0.0f; break;
        case D_OFFSET: x[i] = 1.0f + 0.01f * normal(); break;
        }
    }
}

static const hone_type TYPES[] = {HONE_TYPE_Q4_0, HONE_TYPE_Q4_1, HONE_TYPE_Q5_0, HONE_TYPE_Q5_1, HONE_TYPE_Q8_0};

static double sqerr(const float *x, const float *y, const float *w, int b, int e) {
    double s = 0;
    for (int i = b; i < e; i++) s += (w ? w[i] : 1.0) * (double)(x[i] - y[i]) * (double)(x[i] - y[i]);
    return s;
}

static void test_not_worse(void) {
    static float x[N], yr[N], ys[N], w[N];
    static uint8_t qr[N * 2], qs[N * 2];
    for (size_t ti = 0; ti < sizeof TYPES / sizeof TYPES[0]; ti++) {
        const hone_type t = TYPES[ti];
        const char *name = hone_type_get(t)->name;
        for (int d = 0; d < D_COUNT; d++)
            for (int weighted = 0; weighted < 2; weighted++) {
                fill(x, d);
                /* unweighted calls minimise the default weighting: compare under it */
                if (weighted)
                    for (int i = 0; i < N; i++) w[i] = 0.01f + 3.0f * uni() * uni();
                else
                    hone_quant_default_weights(x, N, w);
                const float *wp = w;
                CHECK(hone_quantize_row(t, x, qr, N) == HONE_OK);
                CHECK(hone_quantize_row_search(t, x, qs, N, weighted ? w : NULL) == HONE_OK);
                hone_dequantize_row(t, qr, yr, N);
                hone_dequantize_row(t, qs, ys, N);
                double er = 0, es = 0;
                for (int b = 0; b < N; b += 32) {
                    const double br = sqerr(x, yr, wp, b, b + 32), bs = sqerr(x, ys, wp, b, b + 32);
                    CHECKF(bs <= br * (1 + 1e-6) + 1e-30, "%s %s w%d block %d: search %g > reference %g", name,
                           DNAME[d], weighted, b / 32, bs, br);
                    er += br;
                    es += bs;
                }
                /* 255 levels leave little to gain; 15 or 31 leave a few percent */
                if (d == D_NORMAL || d == D_HEAVY)
                    CHECKF(es < (t == HONE_TYPE_Q8_0 ? 0.995 : 0.97) * er, "%s %s w%d: search error %g not below reference %g", name, DNAME[d],
                           weighted, es, er);
                if (d == D_ZERO) CHECKF(es == 0, "%s zeros: error %g", name, es);
                /* the bound: within one quantisation step of the block (range / levels). Only for plain
                 * squared error: importances may rightly clip an unimportant extreme element further */
                if (weighted) continue;
                const int levels = t == HONE_TYPE_Q8_0 ? 254 : (t == HONE_TYPE_Q5_0 || t == HONE_TYPE_Q5_1) ? 31 : 15;
                for (int b = 0; b < N; b += 32) {
                    float mn = x[b], mx = x[b];
                    for (int i = b; i < b + 32; i++) {
                        mn = fminf(mn, x[i]);
                        mx = fmaxf(mx, x[i]);
                    }
                    const bool sym = t == HONE_TYPE_Q4_0 || t == HONE_TYPE_Q5_0 || t == HONE_TYPE_Q8_0;
                    const float range = sym ? 2 * fmaxf(fabsf(mn), fabsf(mx)) : mx - mn;
                    const float step = range / (float)levels;
                    for (int i = b; i < b + 32; i++)
                        CHECKF(fabsf(ys[i] - x[i]) <= step * 1.01f + 1e-3f * fabsf(x[i]) + 1e-12f,
                               "%s %s w%d: element %d: %g -> %g (step %g)", name, DNAME[d], weighted, i, x[i], ys[i],
                               step);
                }
            }
    }
}

/* Data on a type's grid (the dequantisation of a reference block) must come back unchanged. */
static void test_on_grid(void) {
    static float x[N], g[N];
    static uint8_t q0[N * 2], q1[N * 2];
    for (size_t ti = 0; ti < sizeof TYPES / sizeof TYPES[0]; ti++) {
        const hone_type t = TYPES[ti];
        for (int d = 0; d < D_COUNT; d++) {
            fill(x, d);
            hone_quantize_row(t, x, q0, N);
            hone_dequantize_row(t, q0, g, N);
            hone_quantize_row_search(t, g, q1, N, NULL);
            CHECKF(memcmp(q0, q1, hone_row_size(t, N)) == 0, "%s %s: on-grid row not reproduced",
                   hone_type_get(t)->name, DNAME[d]);
        }
    }
}

/* With one element made 1000x more important, its error must shrink. */
static void test_importance(void) {
    static float x[N], y0[N], y1[N], w[N];
    static uint8_t q[N * 2];
    fill(x, D_NORMAL);
    double e0 = 0, e1 = 0;
    for (int i = 0; i < N; i++) w[i] = (i % 32 == 5) ? 1000.0f : 1.0f;
    hone_quantize_row_search(HONE_TYPE_Q4_0, x, q, N, NULL);
    hone_dequantize_row(HONE_TYPE_Q4_0, q, y0, N);
    hone_quantize_row_search(HONE_TYPE_Q4_0, x, q, N, w);
    hone_dequantize_row(HONE_TYPE_Q4_0, q, y1, N);
    for (int i = 5; i < N; i += 32) {
        e0 += (double)(x[i] - y0[i]) * (x[i] - y0[i]);
        e1 += (double)(x[i] - y1[i]) * (x[i] - y1[i]);
    }
    CHECKF(e1 < 0.5 * e0, "important elements: error %g, unweighted %g", e1, e0);
}

/* The K-quants' weights without importances: sqrt(sigma^2 + x^2), sigma^2 twice the mean square of
 * the 256-element super-block. */
static void k_default_weights(const float *x, float *w) {
    for (int b = 0; b < N; b += 256) {
        float s2 = 0.0f;
        for (int i = 0; i < 256; i++) s2 += x[b + i] * x[b + i];
        s2 *= 2.0f / 256.0f;
        for (int i = 0; i < 256; i++) w[b + i] = sqrtf(s2 + x[b + i] * x[b + i]);
    }
}

/* K-quants: with and without importances never worse than the reference block (llama-quantize's)
 * under the weights, and better in total on random rows. */
static void test_kquants(void) {
    static const hone_type K[] = {HONE_TYPE_Q2_K, HONE_TYPE_Q3_K, HONE_TYPE_Q4_K, HONE_TYPE_Q5_K, HONE_TYPE_Q6_K};
    static float x[N], w[N], w0[N], yr[N], ys[N];
    static uint8_t qr[N * 2], qs[N * 2];
    for (size_t k = 0; k < sizeof K / sizeof K[0]; k++) {
        const char *name = hone_type_get(K[k])->name;
        double er = 0, es = 0, er0 = 0, es0 = 0;
        for (int d = 0; d < D_COUNT; d++) {
            fill(x, d);
            for (int i = 0; i < N; i++) w[i] = (i % 7 == 0) ? 20.0f * uni() : 0.05f + uni();
            k_default_weights(x, w0);
            CHECK(hone_quantize_row(K[k], x, qr, N) == HONE_OK);
            hone_dequantize_row(K[k], qr, yr, N);
            CHECK(hone_quantize_row_search(K[k], x, qs, N, NULL) == HONE_OK);
            hone_dequantize_row(K[k], qs, ys, N);
            const double a0 = sqerr(x, yr, w0, 0, N), b0 = sqerr(x, ys, w0, 0, N);
            CHECKF(b0 <= a0 * (1 + 1e-9) + 1e-30, "%s %s: no importances: error %g > reference %g", name, DNAME[d], b0,
                   a0);
            CHECK(hone_quantize_row_search(K[k], x, qs, N, w) == HONE_OK);
            hone_dequantize_row(K[k], qs, ys, N);
            const double a = sqerr(x, yr, w, 0, N), b = sqerr(x, ys, w, 0, N);
            CHECKF(b <= a * (1 + 1e-9) + 1e-30, "%s %s: weighted error %g > reference %g", name, DNAME[d], b, a);
            if (d == D_NORMAL || d == D_HEAVY) {
                er += a, es += b;
                er0 += a0, es0 += b0;
            }
        }
        CHECKF(es < er, "%s: the weighted search never helped (%g vs %g)", name, es, er);
        CHECKF(es0 < er0, "%s: the search without importances never helped (%g vs %g)", name, es0, er0);
    }
}

static void test_args(void) {
    float x[40] = {0};
    uint8_t q[64];
    CHECK(hone_quantize_row_search(HONE_TYPE_Q4_0, x, q, 40, NULL) == HONE_ERR_INVALID_ARG);
    CHECK(hone_quantize_row_search(HONE_TYPE_IQ2_XXS, x, q, 32, NULL) == HONE_ERR_UNSUPPORTED);
    CHECK(hone_quant_has_search(HONE_TYPE_IQ4_NL));
    CHECK(hone_quant_has_search(HONE_TYPE_Q4_1));
    CHECK(!hone_quant_has_search(HONE_TYPE_F16));
}

int main(void) {
    test_not_worse();
    test_on_grid();
    test_importance();
    test_kquants();
    test_args();
    return test_finish();
}
