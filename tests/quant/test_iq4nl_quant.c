/*
 * test_iq4nl_quant.c - properties of hone's IQ4_NL quantisers (src/quant/q_iq4nl.c, reached through
 * hone_quantize_row and hone_quantize_row_search).
 *
 *  - Round trip: all-zero blocks come back zero; constant blocks within half-precision rounding of
 *    the scale; Gaussian and heavy-tailed rows within an RMS bound (measured 0.075 and 0.09 of the RMS
 *    of the input; bounds 0.09 and 0.11; Q4_0 is allowed 0.12); every element
 *    within the largest half-gap of the table (12 units: 89 -> 113) times the block scale, or,
 *    for elements beyond the end levels, within the clipping the scale search chose (bounded by
 *    the block's extreme element error).
 *  - Blocks that lie on the IQ4_NL grid and use an end level for their largest element come back
 *    exactly.
 *  - With importances, the search's importance-weighted error is below the reference quantiser's
 *    (which weighs by x^2), summed over many blocks.
 *  - Arguments: rows that do not fit the 32-element block are refused.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/quant_search.h"

static uint64_t rng = 0x13198A2E03707344ull;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float frand(void) { return ((float)rnd() + 0.5f) / 4294967296.0f; } /* (0, 1) */

static float gauss(void) { return sqrtf(-2.0f * logf(frand())) * cosf(6.2831853f * frand()); }

enum { N = 576, NB = N / 32 };

static void test_zero_constant(void) {
    float x[N], y[N];
    block_iq4_nl q[NB];
    memset(x, 0, sizeof x);
    CHECK(hone_quantize_row(HONE_TYPE_IQ4_NL, x, q, N) == HONE_OK);
    hone_dequantize_row(HONE_TYPE_IQ4_NL, q, y, N);
    for (int i = 0; i < N; i++) CHECKF(y[i] == 0.0f, "zero row: element %d = %g", i, y[i]);
    static const float cs[] = {1.0f, -3.25f, 1e-3f, 7e3f, -0.015625f};
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        for (int i = 0; i < N; i++) x[i] = cs[k];
        for (int s = 0; s < 2; s++) {
            CHECK((s ? hone_quantize_row_search(HONE_TYPE_IQ4_NL, x, q, N, NULL)
                     : hone_quantize_row(HONE_TYPE_IQ4_NL, x, q, N)) == HONE_OK);
            hone_dequantize_row(HONE_TYPE_IQ4_NL, q, y, N);
            for (int i = 0; i < N; i++)
                /* relative half-precision rounding of d, or its subnormal spacing (2^-24) times the
                 * largest level */
                CHECKF(fabsf(y[i] - cs[k]) <= fabsf(cs[k]) * 0x1p-11f + 0x1p-25f * 127.0f, "constant %g (%s): %g",
                       cs[k], s ? "search" : "reference", y[i]);
        }
    }
}

static void test_round_trip(void) {
    float x[N], y[N], imp[N];
    block_iq4_nl q[NB];
    for (int dist = 0; dist < 2; dist++)
        for (int s = 0; s < 3; s++) {
            double se = 0.0, sx = 0.0;
            for (int rep = 0; rep < 40; rep++) {
                for (int i = 0; i < N; i++) {
                    const float g = gauss();
                    x[i] = dist == 0 ? g : g * g * g; /* heavy-tailed: cube of a Gaussian */
                    imp[i] = 0.1f + frand();
                }
                hone_status st = s == 0   ? hone_quantize_row(HONE_TYPE_IQ4_NL, x, q, N)
                                 : s == 1 ? hone_quantize_row_search(HONE_TYPE_IQ4_NL, x, q, N, NULL)
                                          : hone_quantize_row_search(HONE_TYPE_IQ4_NL, x, q, N, imp);
                CHECK(st == HONE_OK);
                hone_dequantize_row(HONE_TYPE_IQ4_NL, q, y, N);
                for (int b = 0; b < NB; b++) {
                    const float d = hone_f16_to_f32(q[b].d);
                    float amax = 0.0f;
                    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * b + j]));
                    for (int j = 0; j < 32; j++) {
                        const float xi = x[32 * b + j], e = fabsf(y[32 * b + j] - xi);
                        /* inside the table's range: at most half the widest gap (12 d), plus the
                         * rounding of d; beyond it: clipped, which the search accepts only a little
                         * of (at most a third of the block's largest magnitude here) */
                        const bool inside = xi / d >= -127.0f && xi / d <= 113.0f;
                        CHECKF(inside ? e <= 12.0f * fabsf(d) * 1.001f : e <= amax / 3.0f,
                               "dist %d search %d: block %d element %d: %g -> %g (d %g)", dist, s, b, j, xi,
                               y[32 * b + j], d);
                    }
                }
                for (int i = 0; i < N; i++) {
                    se += (double)(y[i] - x[i]) * (y[i] - x[i]);
                    sx += (double)x[i] * x[i];
                }
            }
            const double rel = sqrt(se / sx);
            CHECKF(rel < (dist == 0 ? 0.09 : 0.11), "dist %d search %d: relative RMS error %.4f", dist, s, rel);
        }
}

static void test_on_grid(void) {
    float x[N], y[N];
    block_iq4_nl q[NB];
    for (int rep = 0; rep < 20; rep++) {
        for (int b = 0; b < NB; b++) {
            const float d = hone_f16_to_f32(hone_f32_to_f16(0.001f + 0.01f * frand()));
            for (int j = 0; j < 32; j++) x[32 * b + j] = d * (float)hq_iq4nl_values[1 + rnd() % 14];
            x[32 * b + (int)(rnd() % 32)] = d * (float)hq_iq4nl_values[rnd() % 2 ? 0 : 15];
        }
        for (int s = 0; s < 2; s++) {
            CHECK((s ? hone_quantize_row_search(HONE_TYPE_IQ4_NL, x, q, N, NULL)
                     : hone_quantize_row(HONE_TYPE_IQ4_NL, x, q, N)) == HONE_OK);
            hone_dequantize_row(HONE_TYPE_IQ4_NL, q, y, N);
            int diff = 0;
            for (int i = 0; i < N; i++) diff += y[i] != x[i];
            CHECKF(diff == 0, "rep %d (%s): %d of %d on-grid elements changed", rep, s ? "search" : "reference", diff,
                   N);
        }
    }
}

static void test_importance(void) {
    float x[N], y[N], imp[N];
    block_iq4_nl q[NB];
    double e_ref = 0.0, e_imp = 0.0;
    for (int rep = 0; rep < 50; rep++) {
        for (int i = 0; i < N; i++) {
            x[i] = gauss();
            /* a few channels matter much more, as in real activation statistics */
            imp[i] = rnd() % 16 == 0 ? 50.0f * frand() : 0.05f * frand();
        }
        for (int s = 0; s < 2; s++) {
            CHECK((s ? hone_quantize_row_search(HONE_TYPE_IQ4_NL, x, q, N, imp)
                     : hone_quantize_row(HONE_TYPE_IQ4_NL, x, q, N)) == HONE_OK);
            hone_dequantize_row(HONE_TYPE_IQ4_NL, q, y, N);
            double e = 0.0;
            for (int i = 0; i < N; i++) e += (double)imp[i] * (y[i] - x[i]) * (y[i] - x[i]);
            *(s ? &e_imp : &e_ref) += e;
        }
    }
    CHECKF(e_imp < 0.8 * e_ref, "importance-weighted error %.4g, reference %.4g", e_imp, e_ref);
}

static void test_args(void) {
    float x[40] = {0};
    uint8_t q[64];
    CHECK(hone_quantize_row(HONE_TYPE_IQ4_NL, x, q, 40) == HONE_ERR_INVALID_ARG);
    CHECK(hone_quantize_row_search(HONE_TYPE_IQ4_NL, x, q, 40, NULL) == HONE_ERR_INVALID_ARG);
    CHECK(hone_quant_has_search(HONE_TYPE_IQ4_NL));
}

int main(void) {
    test_zero_constant();
    test_round_trip();
    test_on_grid();
    test_importance();
    test_args();
    return test_finish();
}
