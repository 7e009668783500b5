/*
 * q_kquants_search.c - importance-weighted quantisers for the K-quants Q3_K, Q4_K, Q5_K and Q6_K (one
 * 256-element super-block at a time), used by hone_quantize_row_search with calibration
 * importances (q_search.c keeps whichever of this and the reference block has the lower weighted
 * error, then refits the super-block scales).
 *
 * The reference quantisers (q_kquants_quantize.c) reproduce llama-quantize's choices without an
 * importance matrix: they weigh elements by x^2 or |x| and quantise the sub-block scales by plain
 * rounding of scale / max. Here every step minimises the weighted squared error sum w_i (x_i - y_i)^2:
 *  1. each sub-block searches its scale (and min) over candidates that map the extreme element to
 *     the end levels +- a few tenths of a level, with the weighted least-squares fit for each
 *     candidate's levels;
 *  2. the sub-block scales are themselves quantised (6 bits) by the same search, each weighted by
 *     how much its sub-block's error grows per unit of scale error: for fixed levels L the error is
 *     quadratic in the scale with curvature sum w L^2 (for the mins: sum w);
 *  3. the elements are re-assigned to the nearest level of the scales as stored.
 * The bit layouts are the formats' own (see q_kquants.c for the unpacking this mirrors).
 */
#include <math.h>
#include <string.h>

#include "quant/blocks.h"

#define NS 10 /* asymmetric candidates: end level +- NS tenths */

/* Symmetric candidates: the extreme element mapped to the end level plus `off` levels, off in
 * -1..1 by tenths, then 1.5..12 by halves. Positive offsets clip the extreme element: with
 * importances, a block's largest weight often sits in a channel that matters little, and clipping
 * it buys finer levels for the rest (ffn_down of SmolLM2 at Q3_K: importance-weighted error -55 %
 * with offsets up to 10 levels against +-1). */
#define N_SYM_OFF (21 + 22)
static float sym_off(int k) { return k < 21 ? 0.1f * (float)(k - 10) : 1.0f + 0.5f * (float)(k - 20); }

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Symmetric levels lo..hi (lo < 0 < hi): scale s and levels L (n <= 32) minimising sum w (x - s L)^2
 * over the candidates. Returns s (0 for an all-zero input). */
static float wsym(const float *x, const float *w, int n, int lo, int hi, int *L) {
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    for (int i = 0; i < n; i++) L[i] = 0;
    if (amax < 1e-15f) return 0.0f;
    float best_s = 0.0f, best_err = INFINITY;
    int T[32];
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < N_SYM_OFF; k++) {
            const float lvl = side == 0 ? (float)lo - sym_off(k) : (float)hi + sym_off(k);
            const float id = lvl / max;
            float sxl = 0.0f, sll = 0.0f;
            for (int i = 0; i < n; i++) {
                T[i] = clampi(hq_nearest_int(x[i] * id), lo, hi);
                sxl += w[i] * x[i] * (float)T[i];
                sll += w[i] * (float)(T[i] * T[i]);
            }
            if (!(sll > 0.0f)) continue;
            const float s = sxl / sll;
            /* the levels nearest to the fitted scale, and their error */
            const float is = 1.0f / s;
            float err = 0.0f;
            for (int i = 0; i < n; i++) {
                T[i] = clampi(hq_nearest_int(x[i] * is), lo, hi);
                const float diff = x[i] - s * (float)T[i];
                err += w[i] * diff * diff;
            }
            if (err < best_err) {
                best_err = err;
                best_s = s;
                memcpy(L, T, (size_t)n * sizeof *L);
            }
        }
    return best_s;
}

/* Unsigned levels 0..nmax for non-negative values v (the sub-block scales or mins): returns the
 * multiplier d and levels q minimising sum c (v - d q)^2 over the candidates. */
static float wuns(const float *v, const float *c, int n, int nmax, int *q) {
    float vmax = 0.0f;
    for (int i = 0; i < n; i++) vmax = v[i] > vmax ? v[i] : vmax;
    for (int i = 0; i < n; i++) q[i] = 0;
    if (!(vmax > 0.0f)) return 0.0f;
    float best_d = 0.0f, best_err = INFINITY;
    int T[32];
    for (int k = -NS; k <= NS; k++) {
        const float id = ((float)nmax + 0.1f * (float)k) / vmax;
        float svq = 0.0f, sqq = 0.0f;
        for (int i = 0; i < n; i++) {
            T[i] = clampi(hq_nearest_int(v[i] * id), 0, nmax);
            svq += c[i] * v[i] * (float)T[i];
            sqq += c[i] * (float)(T[i] * T[i]);
        }
        if (!(sqq > 0.0f)) continue;
        const float d = svq / sqq, idd = 1.0f / d;
        float err = 0.0f;
        for (int i = 0; i < n; i++) {
            T[i] = clampi(hq_nearest_int(v[i] * idd), 0, nmax);
            const float diff = v[i] - d * (float)T[i];
            err += c[i] * diff * diff;
        }
        if (err < best_err) {
            best_err = err;
            best_d = d;
            memcpy(q, T, (size_t)n * sizeof *q);
        }
    }
    return best_d;
}

/* Asymmetric levels 0..nmax with an offset: x ~ s L - m (m >= 0, as the formats store mins). */
static void wasym(const float *x, const float *w, int n, int nmax, float *s_out, float *m_out, int *L) {
    float mn = x[0], mx = x[0];
    for (int i = 1; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
    }
    if (mn > 0.0f) mn = 0.0f;
    for (int i = 0; i < n; i++) L[i] = 0;
    *s_out = 0.0f;
    *m_out = -mn;
    if (!(mx > mn)) return;
    float best_err = INFINITY;
    int T[32];
    for (int k = -NS; k <= NS; k++) {
        const float is = ((float)nmax + 0.1f * (float)k) / (mx - mn);
        float sw = 0, sl = 0, sll = 0, sx = 0, sxl = 0;
        for (int i = 0; i < n; i++) {
            T[i] = clampi(hq_nearest_int(is * (x[i] - mn)), 0, nmax);
            sw += w[i];
            sl += w[i] * (float)T[i];
            sll += w[i] * (float)(T[i] * T[i]);
            sx += w[i] * x[i];
            sxl += w[i] * x[i] * (float)T[i];
        }
        /* least squares for x ~ s L + b, with b = -m <= 0 */
        float s, b;
        const float det = sw * sll - sl * sl;
        if (det > 0.0f) {
            s = (sw * sxl - sx * sl) / det;
            b = (sll * sx - sl * sxl) / det;
        } else {
            s = sll > 0.0f ? sxl / sll : 0.0f;
            b = 0.0f;
        }
        if (b > 0.0f) {
            b = 0.0f;
            s = sll > 0.0f ? sxl / sll : 0.0f;
        }
        if (!(s > 0.0f) || !isfinite(s) || !isfinite(b)) continue;
        const float iss = 1.0f / s;
        float err = 0.0f;
        for (int i = 0; i < n; i++) {
            T[i] = clampi(hq_nearest_int((x[i] - b) * iss), 0, nmax);
            const float diff = x[i] - s * (float)T[i] - b;
            err += w[i] * diff * diff;
        }
        if (err < best_err) {
            best_err = err;
            *s_out = s;
            *m_out = -b;
            memcpy(L, T, (size_t)n * sizeof *L);
        }
    }
}

static void pack_2bit(const int *L, uint8_t *qs) {
    for (int h = 0; h < 2; h++)
        for (int l = 0; l < 32; l++) {
            const int *s = L + 128 * h + l;
            qs[32 * h + l] = (uint8_t)(s[0] | (s[32] << 2) | (s[64] << 4) | (s[96] << 6));
        }
}

void hq_quant_q3_K_weighted(const float *x, const float *w, void *dst) {
    block_q3_K *y = dst;

    int L[QK_K], qs[16];
    float sc[16], curv[16];
    for (int j = 0; j < 16; j++) {
        sc[j] = wsym(x + 16 * j, w + 16 * j, 16, -4, 3, L + 16 * j);
        curv[j] = 0.0f;
        for (int l = 0; l < 16; l++) curv[j] += w[16 * j + l] * (float)(L[16 * j + l] * L[16 * j + l]);
    }
    /* 6-bit signed sub-scales: the search over -32..31 with curvature weights (a zero curvature,
     * i.e. a sub-block whose elements carry no weight, still needs a sensible scale) */
    for (int j = 0; j < 16; j++) curv[j] += 1e-12f;
    const float d = wsym(sc, curv, 16, -32, 31, qs);
    memset(y->scales, 0, sizeof y->scales);
    for (int j = 0; j < 16; j++) {
        const int l = qs[j] + 32;
        if (j < 8) y->scales[j] = (uint8_t)(l & 0xF);
        else y->scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
        y->scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
    }
    y->d = hone_f32_to_f16(d);
    const float dd = hone_f16_to_f32(y->d);
    for (int j = 0; j < 16; j++) {
        const float s = dd * (float)qs[j];
        for (int l = 0; l < 16; l++)
            L[16 * j + l] = s != 0.0f ? clampi(hq_nearest_int(x[16 * j + l] / s), -4, 3) + 4 : 4;
    }
    memset(y->hmask, 0, sizeof y->hmask);
    int low[QK_K];
    for (int e = 0; e < QK_K; e++) {
        int l = L[e];
        if (l > 3) {
            y->hmask[e % 32] |= (uint8_t)(1u << (e / 32));
            l -= 4;
        }
        low[e] = l;
    }
    pack_2bit(low, y->qs);
}

/* Q4_K (nmax 15) and Q5_K (nmax 31): 8 sub-blocks of 32, 6-bit scales and mins. */
static void k4_weighted(const float *x, const float *w, int nmax, hone_f16 *d_out, hone_f16 *dmin_out,
                        uint8_t scales[K_SCALE_SIZE], int L[QK_K]) {
    float s[8], m[8], cs[8], cm[8];
    int qs[8], qm[8];
    for (int j = 0; j < 8; j++) {
        wasym(x + 32 * j, w + 32 * j, 32, nmax, &s[j], &m[j], L + 32 * j);
        cs[j] = 1e-12f;
        cm[j] = 1e-12f;
        for (int l = 0; l < 32; l++) {
            cs[j] += w[32 * j + l] * (float)(L[32 * j + l] * L[32 * j + l]);
            cm[j] += w[32 * j + l];
        }
    }
    const float d = wuns(s, cs, 8, 63, qs), dmin = wuns(m, cm, 8, 63, qm);
    for (int j = 0; j < 4; j++) {
        scales[j] = (uint8_t)qs[j];
        scales[j + 4] = (uint8_t)qm[j];
    }
    for (int j = 4; j < 8; j++) {
        scales[j + 4] = (uint8_t)((qs[j] & 0xF) | ((qm[j] & 0xF) << 4));
        scales[j - 4] |= (uint8_t)((qs[j] >> 4) << 6);
        scales[j] |= (uint8_t)((qm[j] >> 4) << 6);
    }
    *d_out = hone_f32_to_f16(d);
    *dmin_out = hone_f32_to_f16(dmin);
    const float dd = hone_f16_to_f32(*d_out), dm = hone_f16_to_f32(*dmin_out);
    for (int j = 0; j < 8; j++) {
        const float sj = dd * (float)qs[j], mj = dm * (float)qm[j];
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = sj != 0.0f ? clampi(hq_nearest_int((x[32 * j + l] + mj) / sj), 0, nmax) : 0;
    }
}

void hq_quant_q4_K_weighted(const float *x, const float *w, void *dst) {
    block_q4_K *y = dst;
    int L[QK_K];
    k4_weighted(x, w, 15, &y->d, &y->dmin, y->scales, L);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) y->qs[32 * c + l] = (uint8_t)(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
}

void hq_quant_q5_K_weighted(const float *x, const float *w, void *dst) {
    block_q5_K *y = dst;
    int L[QK_K];
    k4_weighted(x, w, 31, &y->d, &y->dmin, y->scales, L);
    memset(y->qh, 0, sizeof y->qh);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            const int a = L[64 * c + l], b = L[64 * c + 32 + l];
            y->qs[32 * c + l] = (uint8_t)((a & 0xF) | ((b & 0xF) << 4));
            if (a > 15) y->qh[l] |= (uint8_t)(1u << (2 * c));
            if (b > 15) y->qh[l] |= (uint8_t)(2u << (2 * c));
        }
}

/* Q6_K: 16 sub-blocks of 16, levels -32..31, signed 8-bit sub-scales. */
void hq_quant_q6_K_weighted(const float *x, const float *w, void *dst) {
    block_q6_K *y = dst;
    int L[QK_K], qs[16];
    float sc[16], curv[16];
    for (int j = 0; j < 16; j++) {
        sc[j] = wsym(x + 16 * j, w + 16 * j, 16, -32, 31, L + 16 * j);
        curv[j] = 1e-12f;
        for (int l = 0; l < 16; l++) curv[j] += w[16 * j + l] * (float)(L[16 * j + l] * L[16 * j + l]);
    }
    const float d = wsym(sc, curv, 16, -128, 127, qs);
    for (int j = 0; j < 16; j++) y->scales[j] = (int8_t)qs[j];
    y->d = hone_f32_to_f16(d);
    const float dd = hone_f16_to_f32(y->d);
    for (int j = 0; j < 16; j++) {
        const float s = dd * (float)qs[j];
        for (int l = 0; l < 16; l++)
            L[16 * j + l] = (s != 0.0f ? clampi(hq_nearest_int(x[16 * j + l] / s), -32, 31) : 0) + 32;
    }
    for (int h = 0; h < 2; h++) {
        const int *q = L + 128 * h;
        for (int l = 0; l < 32; l++) {
            y->ql[64 * h + l] = (uint8_t)((q[l] & 0xF) | ((q[l + 64] & 0xF) << 4));
            y->ql[64 * h + l + 32] = (uint8_t)((q[l + 32] & 0xF) | ((q[l + 96] & 0xF) << 4));
            y->qh[32 * h + l] =
                (uint8_t)((q[l] >> 4) | ((q[l + 32] >> 4) << 2) | ((q[l + 64] >> 4) << 4) | ((q[l + 96] >> 4) << 6));
        }
    }
}
