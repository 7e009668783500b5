/*
 * q_iq4nl.c - IQ4_NL (ggml type 20): 32-element blocks of 4-bit indices into a fixed table of 16
 * non-linear levels, one half-precision scale per block (18 bytes, 4.5 bits per weight).
 *
 * Scalar references for the format (dequantise, dot against Q8_0 activations) and its quantisers.
 * The level table is part of the format (it is what makes a file readable by llama.cpp), so it is
 * reproduced exactly; the code is hone's own.
 *
 * Dot product order: an exact integer sum per block (table value x activation quant), then
 * `sum += d_w * d_x * (float)isum`, block after block, as hone's Q4_0 reference does. Integer sums
 * can be formed in any order, so SIMD variants (src/kernels/cpu/iq4nl_avx2.c) give exactly these bits.
 *
 * Quantisation: the levels are not evenly spaced, so there is no closed-form rounding; for a given
 * scale d each element simply takes the nearest level of x/d, and the work is in choosing d. Each
 * block tries scales that map its extreme element near either end of the table (the table is
 * asymmetric: -127 .. 113), and for each: nearest levels, the weighted least-squares d for those
 * levels, rounded to half precision as stored, nearest levels again for the stored d, and the
 * weighted error of that. The best candidate is then polished by repeating the refit while it
 * helps and by trying the neighbouring half-precision values of d. Errors are always measured with
 * the stored d, so the comparison is between what a reader will see.
 */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "quant/blocks.h"

const int8_t hq_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

/* Nearest level of a scaled value v (ties to the upper level). The midpoints between neighbouring
 * levels are all multiples of 0.5, so the index depends only on floor(2v): one table lookup,
 * exact, no search. NEAR_OFF centres the table; values beyond it clamp to the end levels. */
#define NEAR_OFF 256
static uint8_t near_lut[2 * NEAR_OFF];
static pthread_once_t near_once = PTHREAD_ONCE_INIT;

static void near_init(void) {
    for (int t = -NEAR_OFF; t < NEAR_OFF; t++) {
        /* index = number of midpoints m with 2v >= 2m; floor(2v) >= 2m is the same test since 2m is
         * an integer */
        int idx = 0;
        for (int k = 0; k < 15; k++)
            if (t >= hq_iq4nl_values[k] + hq_iq4nl_values[k + 1]) idx++;
        near_lut[t + NEAR_OFF] = (uint8_t)idx;
    }
}

static inline int nearest_level(float v) {
    float t = floorf(2.0f * v);
    t = t < (float)-NEAR_OFF ? (float)-NEAR_OFF : t;
    t = t > (float)(NEAR_OFF - 1) ? (float)(NEAR_OFF - 1) : t;
    t = t == t ? t : 0.0f; /* NaN */
    return near_lut[(int)t + NEAR_OFF];
}

void hq_dequant_iq4_nl(const void *src, float *y, int64_t nb) {
    const block_iq4_nl *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK4_NL) {
        const float d = hone_f16_to_f32(b[i].d);
        for (int j = 0; j < QK4_NL / 2; j++) {
            y[j] = d * (float)hq_iq4nl_values[b[i].qs[j] & 0xF];
            y[j + QK4_NL / 2] = d * (float)hq_iq4nl_values[b[i].qs[j] >> 4];
        }
    }
}

float hq_dot_iq4_nl_q8_0(int64_t nb, const void *w, const void *x) {
    const block_iq4_nl *a = w;
    const block_q8_0 *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int isum = 0;
        for (int j = 0; j < QK4_NL / 2; j++) {
            isum += hq_iq4nl_values[a[i].qs[j] & 0xF] * b[i].qs[j];
            isum += hq_iq4nl_values[a[i].qs[j] >> 4] * b[i].qs[j + QK4_NL / 2];
        }
        sum += hone_f16_to_f32(a[i].d) * hone_f16_to_f32(b[i].d) * (float)isum;
    }
    return sum;
}

/* ---- quantisation ---- */

#define QB QK4_NL
/* Candidates: the extreme element mapped to an end level moved by k * step units of the table,
 * |k| <= ntry. With importances the optimum often clips the block's largest element (when its
 * channel matters little) by tens of units, so that search is wide and coarse (the refit and the
 * polish find the exact scale): on SmolLM2's attn_q/ffn_gate/attn_v with calibration, +-48 units in
 * steps of 4 lowers the importance-weighted error by 10-25 % against +-10 in steps of 1, and steps of
 * 1, 2 or 3 over the same range are no better. Without importances (weights x^2 or sqrt(sigma^2 +
 * x^2)) large elements are what the weights favour, so the narrow range serves. */
#define NTRY_NARROW 10
#define NTRY_WIDE 12
#define STEP_WIDE 4.0f

/* Nearest levels of x/d (d as stored, nonzero) and the weighted error of that block. */
static float assign(const float *x, const float *w, float d, uint8_t *L) {
    const float id = 1.0f / d;
    float err = 0.0f;
    for (int j = 0; j < QB; j++) {
        const int l = nearest_level(x[j] * id);
        L[j] = (uint8_t)l;
        const float diff = x[j] - d * (float)hq_iq4nl_values[l];
        err += w[j] * diff * diff;
    }
    return err;
}

/* Weighted least-squares scale for fixed levels (0 when undefined). */
static float refit(const float *x, const float *w, const uint8_t *L) {
    float sqx = 0.0f, sqq = 0.0f;
    for (int j = 0; j < QB; j++) {
        const float q = (float)hq_iq4nl_values[L[j]];
        sqx += w[j] * q * x[j];
        sqq += w[j] * q * q;
    }
    return sqq > 0.0f ? sqx / sqq : 0.0f;
}

static inline float f16_round(float v) { return hone_f16_to_f32(hone_f32_to_f16(v)); }

typedef struct {
    float d, err;
    uint8_t L[QB];
} cand;

/* Try stored scale d: keep it in *best when its error is lower. Returns the error (or INFINITY). */
static float try_d(const float *x, const float *w, float d, cand *best) {
    if (!(d != 0.0f) || !isfinite(d)) return INFINITY;
    uint8_t L[QB];
    const float err = assign(x, w, d, L);
    if (err < best->err) {
        best->err = err;
        best->d = d;
        memcpy(best->L, L, QB);
    }
    return err;
}

static void quant_block(const float *x, const float *w, int ntry, float step, block_iq4_nl *out) {
    float wsum = 0.0f, w2[QB];
    for (int j = 0; j < QB; j++) wsum += w[j];
    if (!(wsum > 0.0f)) { /* no element matters (dead channels): fit the values themselves */
        for (int j = 0; j < QB; j++) w2[j] = x[j] * x[j];
        w = w2;
    }
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QB; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    cand best = {0.0f, INFINITY, {0}};
    if (amax >= 1e-15f) {
        uint8_t L[QB];
        const float ends[2] = {(float)hq_iq4nl_values[0], (float)hq_iq4nl_values[15]};
        for (int e = 0; e < 2; e++)
            for (int k = -ntry; k <= ntry; k++) {
                /* the extreme element at end level e, moved k * step units inwards or outwards */
                const float lvl = e == 0 ? ends[0] + step * (float)k : ends[1] - step * (float)k;
                const float id = lvl / max;
                for (int j = 0; j < QB; j++) L[j] = (uint8_t)nearest_level(x[j] * id);
                try_d(x, w, f16_round(refit(x, w, L)), &best);
            }
        if (isfinite(best.err)) {
            /* polish: refit for the chosen levels while that helps ... */
            for (int it = 0; it < 4; it++) {
                const float prev = best.err;
                try_d(x, w, f16_round(refit(x, w, best.L)), &best);
                if (!(best.err < prev)) break;
            }
            /* ... then the neighbouring half-precision scales */
            const hone_f16 h = hone_f32_to_f16(best.d);
            for (int s = -2; s <= 2; s++) {
                if (s == 0) continue;
                const int v = (int)h + s;
                if (v < 0 || v > 0xFFFF) continue;
                try_d(x, w, hone_f16_to_f32((hone_f16)v), &best);
            }
        }
    }
    if (!isfinite(best.err)) { /* all zero (or all weights zero and nothing fitted): d = 0 */
        best.d = 0.0f;
        memset(best.L, 8, QB); /* level 1, the one nearest zero, as ggml writes such blocks */
    }
    out->d = hone_f32_to_f16(best.d);
    for (int j = 0; j < QB / 2; j++) out->qs[j] = (uint8_t)(best.L[j] | (best.L[j + QB / 2] << 4));
}

static void ensure_lut(void) { pthread_once(&near_once, near_init); }

void hq_quant_iq4_nl(const float *src, void *dst, int64_t nb) {
    ensure_lut();
    block_iq4_nl *b = dst;
    float w[QB];
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * QB;
        for (int j = 0; j < QB; j++) w[j] = x[j] * x[j];
        quant_block(x, w, NTRY_NARROW, 1.0f, &b[i]);
    }
}

void hq_quant_iq4_nl_search(const float *src, void *dst, int64_t nb, const float *imp, int wide) {
    ensure_lut();
    block_iq4_nl *b = dst;
    for (int64_t i = 0; i < nb; i++)
        quant_block(src + i * QB, imp + i * QB, wide ? NTRY_WIDE : NTRY_NARROW, wide ? STEP_WIDE : 1.0f, &b[i]);
}
