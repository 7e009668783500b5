/*
 * test_kquant_search.c - the importance-weighted K-quant quantisers (src/quant/q_kquants_search.c)
 * and their use by hone_quantize_row_search with importances.
 *
 *  - Each weighted quantiser on its own writes a valid block of its format: dequantised, a Gaussian
 *    super-block comes back within the format's RMS bound (the bounds of tests/quant/test_quant.c),
 *    so the bit packing (levels, high bits, 6- and 8-bit scales) is right.
 *  - With flat importances it is about as good as the reference quantiser (within 15 % of its
 *    squared error) and with skewed importances (a few channels 1000x more important, as real
 *    activation statistics are) clearly better on the weighted error (< 0.7x, summed).
 *  - hone_quantize_row_search never does worse than the reference on the weighted error of any
 *    super-block (the reference competes), for every K-quant.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/quant_search.h"

static uint64_t rng = 0xA4093822299F31D0ull;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float frand(void) { return ((float)rnd() + 0.5f) / 4294967296.0f; }

static float gauss(void) { return sqrtf(-2.0f * logf(frand())) * cosf(6.2831853f * frand()); }

typedef void (*wq_fn)(const float *x, const float *w, void *dst);

static const struct {
    hone_type t;
    wq_fn fn;
    double bound; /* relative RMS error on Gaussian data */
} K[] = {
    {HONE_TYPE_Q3_K, hq_quant_q3_K_weighted, 0.22},
    {HONE_TYPE_Q4_K, hq_quant_q4_K_weighted, 0.10},
    {HONE_TYPE_Q5_K, hq_quant_q5_K_weighted, 0.06},
    {HONE_TYPE_Q6_K, hq_quant_q6_K_weighted, 0.04},
};

static double werr(const float *x, const float *y, const float *w, int n) {
    double e = 0.0;
    for (int i = 0; i < n; i++) e += (double)w[i] * (double)(y[i] - x[i]) * (double)(y[i] - x[i]);
    return e;
}

static void test_weighted(void) {
    float x[QK_K], y[QK_K], w[QK_K], flat[QK_K];
    uint8_t blk[512], ref[512];
    for (int i = 0; i < QK_K; i++) flat[i] = 1.0f;
    for (size_t k = 0; k < sizeof K / sizeof K[0]; k++) {
        const char *name = hone_type_get(K[k].t)->name;
        double se = 0, sx = 0, e_flat = 0, e_ref_flat = 0, e_skew = 0, e_ref_skew = 0;
        for (int rep = 0; rep < 64; rep++) {
            for (int i = 0; i < QK_K; i++) {
                x[i] = gauss() * (rep % 4 == 0 ? 0.001f : 1.0f);
                w[i] = rnd() % 12 == 0 ? 1000.0f * frand() : frand();
            }
            /* flat importances */
            K[k].fn(x, flat, blk);
            hone_dequantize_row(K[k].t, blk, y, QK_K);
            for (int i = 0; i < QK_K; i++) {
                se += (double)(y[i] - x[i]) * (y[i] - x[i]);
                sx += (double)x[i] * x[i];
            }
            const double scale = 1.0 / (rep % 4 == 0 ? 1e-6 : 1.0); /* weigh tiny blocks like the rest */
            e_flat += scale * werr(x, y, flat, QK_K);
            hone_quantize_row(K[k].t, x, ref, QK_K);
            hone_dequantize_row(K[k].t, ref, y, QK_K);
            e_ref_flat += scale * werr(x, y, flat, QK_K);
            /* skewed importances */
            K[k].fn(x, w, blk);
            hone_dequantize_row(K[k].t, blk, y, QK_K);
            e_skew += scale * werr(x, y, w, QK_K);
            hone_dequantize_row(K[k].t, ref, y, QK_K);
            e_ref_skew += scale * werr(x, y, w, QK_K);
        }
        const double rel = sqrt(se / sx);
        CHECKF(rel < K[k].bound, "%s weighted: relative RMS error %.4f (bound %.2f)", name, rel, K[k].bound);
        CHECKF(e_flat < 1.15 * e_ref_flat, "%s weighted, flat importances: %.4g vs reference %.4g", name, e_flat,
               e_ref_flat);
        CHECKF(e_skew < 0.7 * e_ref_skew, "%s weighted, skewed importances: %.4g vs reference %.4g", name, e_skew,
               e_ref_skew);
    }
}

static void test_row_search(void) {
    enum { N = 3 * QK_K };
    static const hone_type T[] = {HONE_TYPE_Q2_K, HONE_TYPE_Q3_K, HONE_TYPE_Q4_K, HONE_TYPE_Q5_K, HONE_TYPE_Q6_K};
    float x[N], y[N], w[N];
    uint8_t q[N * 2];
    for (size_t k = 0; k < sizeof T / sizeof T[0]; k++)
        for (int rep = 0; rep < 16; rep++) {
            for (int i = 0; i < N; i++) {
                const float g = gauss();
                x[i] = rep % 2 ? g * g * g : g;
                w[i] = rnd() % 8 == 0 ? 100.0f * frand() : 0.01f + frand();
            }
            CHECK(hone_quantize_row_search(T[k], x, q, N, w) == HONE_OK);
            const size_t bs = hone_type_get(T[k])->type_size;
            float yr[QK_K];
            uint8_t r[512];
            for (int b = 0; b < N / QK_K; b++) {
                hone_dequantize_row(T[k], q + b * bs, y, QK_K);
                hone_quantize_row(T[k], x + b * QK_K, r, QK_K);
                hone_dequantize_row(T[k], r, yr, QK_K);
                /* the search weighs by w * sqrt(sigma^2 + x^2), so compare on that measure */
                float s2 = 0.0f, ww[QK_K];
                for (int i = 0; i < QK_K; i++) s2 += x[b * QK_K + i] * x[b * QK_K + i];
                s2 *= 2.0f / QK_K;
                for (int i = 0; i < QK_K; i++) ww[i] = w[b * QK_K + i] * sqrtf(s2 + x[b * QK_K + i] * x[b * QK_K + i]);
                const double es = werr(x + b * QK_K, y, ww, QK_K), er = werr(x + b * QK_K, yr, ww, QK_K);
                CHECKF(es <= er * (1.0 + 1e-6), "%s rep %d block %d: search %.6g worse than reference %.6g",
                       hone_type_get(T[k])->name, rep, b, es, er);
            }
        }
}

int main(void) {
    test_weighted();
    test_row_search();
    return test_finish();
}
