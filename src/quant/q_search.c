/*
 * q_search.c - searched-scale quantisers for the 32-element block formats (Q4_0, Q4_1, Q5_0, Q5_1,
 * Q8_0), behind hone_quantize_row_search (quant_search.h).
 *
 * The reference quantisers in q_legacy.c take one scale per block from the extreme element (abs-max
 * or min/max) and round to nearest. That is optimal for the extreme element and usually not for the
 * block: a slightly smaller scale wastes less of the range on one outlier. Here each block tries
 *  1. the reference block itself (so the result is never worse and on-grid input round-trips);
 *  2. a grid of 21 scales that map the extreme element to nmax-1 .. nmax+1 levels in steps of 0.1;
 *  3. after each candidate, the weighted least-squares refit of the scale (and min) for the levels
 *     it chose, re-rounded against the refitted values.
 * Every candidate is scored with the stored half-precision scale/min and the format's own
 * dequantisation, so the error compared is the error a reader will see. Weights are the caller's
 * importances: minimising sum w*(x - x')^2 with w = E[a^2] minimises the expected squared error of
 * the dot product with activations a (cross terms neglected). Without importances the weights are
 * sqrt(sigma^2 + x^2) (hone_quant_default_weights), which keeps the search from clipping large
 * weights (chosen by measured KLD among plain, x^2, |x|+mean|x| and this weighting). With
 * importances the symmetric types also try scales that clip the extreme element (it may sit in a
 * channel that matters little). Also here: the K-quants' and IQ4_NL's entry into their own searches.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "quant/quant_search.h"

#define QB 32 /* elements per legacy block */
#define NSTEP 10 /* candidates nmax + k/10 for k = -NSTEP..NSTEP */

static inline int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static inline float f16_round(float v) { return hone_f16_to_f32(hone_f32_to_f16(v)); }

/* A block in unpacked form: x' = d * L[j] + m (m = 0 for the symmetric types). d and m are the
 * values after the half-precision round trip. */
typedef struct {
    float d, m;
    int L[QB];
} ublock;

/* Levels for a given (d, m) with d, m as stored; returns the weighted squared error. */
static float fit_levels(const float *x, const float *w, int lo, int hi, float d, float m, int *L) {
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    float err = 0.0f;
    for (int j = 0; j < QB; j++) {
        const int l = d != 0.0f ? clampi(hq_nearest_int((x[j] - m) * id), lo, hi) : 0;
        L[j] = l;
        const float diff = (float)l * d + m - x[j];
        err += (w ? w[j] : 1.0f) * diff * diff;
    }
    return err;
}

static float block_error(const float *x, const float *w, const ublock *b) {
    float err = 0.0f;
    for (int j = 0; j < QB; j++) {
        const float diff = (float)b->L[j] * b->d + b->m - x[j];
        err += (w ? w[j] : 1.0f) * diff * diff;
    }
    return err;
}

/* Try (d, m) (rounded to half precision here) and, if better than *best, keep it; then refit d
 * (and m when asym) by weighted least squares on the levels found and try that too. */
static void try_candidate(const float *x, const float *w, int lo, int hi, bool asym, float d, float m,
                          ublock *best, float *best_err) {
    ublock c;
    for (int pass = 0; pass < 2; pass++) {
        c.d = f16_round(d);
        c.m = asym ? f16_round(m) : 0.0f;
        if (!isfinite(c.d) || !isfinite(c.m)) return;
        const float err = fit_levels(x, w, lo, hi, c.d, c.m, c.L);
        if (err < *best_err) {
            *best_err = err;
            *best = c;
        }
        /* least squares for the levels just chosen */
        double sw = 0, sl = 0, sl2 = 0, sx = 0, sxl = 0;
        for (int j = 0; j < QB; j++) {
            const double wj = w ? w[j] : 1.0;
            sw += wj;
            sl += wj * c.L[j];
            sl2 += wj * c.L[j] * c.L[j];
            sx += wj * x[j];
            sxl += wj * x[j] * c.L[j];
        }
        if (asym) {
            const double det = sw * sl2 - sl * sl;
            if (!(det > 0)) return;
            d = (float)((sw * sxl - sx * sl) / det);
            m = (float)((sl2 * sx - sl * sxl) / det);
        } else {
            if (!(sl2 > 0)) return;
            d = (float)(sxl / sl2);
        }
    }
}

/* Search one symmetric block with levels lo..hi (lo < 0 < hi, |lo| >= hi); `ref` holds the
 * reference quantiser's block, already unpacked. */
static void search_sym(const float *x, const float *w, int lo, int hi, bool wide, ublock *best) {
    /* with 255 levels a tenth of a level moves little, and a symmetric range needs one side */
    const int nstep = hi >= 127 ? 4 : NSTEP;
    const bool both_sides = -lo != hi;
    float best_err = block_error(x, w, best);
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < QB; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    if (amax == 0.0f || best_err == 0.0f) return;
    for (int k = -nstep; k <= nstep; k++) {
        /* the extreme element on the negative side (which may have one level more) ... */
        try_candidate(x, w, lo, hi, false, max / -((float)-lo + 0.1f * (float)k), 0.0f, best, &best_err);
        /* ... and on the positive side */
        if (both_sides) try_candidate(x, w, lo, hi, false, max / ((float)hi + 0.1f * (float)k), 0.0f, best, &best_err);
    }
    /* With calibration importances, also scales that clip the extreme element by up to 3/4 of the
     * range in half levels: its channel may matter little, and the other elements gain finer levels
     * (measured on the importance-weighted error; docs/quantize.md). */
    if (wide && hi < 127)
        for (float off = 1.5f; off <= 0.75f * (float)hi; off += 0.5f) {
            try_candidate(x, w, lo, hi, false, max / -((float)-lo + off), 0.0f, best, &best_err);
            if (both_sides) try_candidate(x, w, lo, hi, false, max / ((float)hi + off), 0.0f, best, &best_err);
        }
}

static void search_asym(const float *x, const float *w, int hi, ublock *best) {
    float best_err = block_error(x, w, best);
    float mn = x[0], mx = x[0];
    for (int j = 1; j < QB; j++) {
        mn = x[j] < mn ? x[j] : mn;
        mx = x[j] > mx ? x[j] : mx;
    }
    if (mx == mn || best_err == 0.0f) return;
    for (int k = -NSTEP; k <= NSTEP; k++)
        try_candidate(x, w, 0, hi, true, (mx - mn) / ((float)hi + 0.1f * (float)k), mn, best, &best_err);
}

/* ---- unpack the reference block / pack the result, per format ---- */

static void search_q4_0(const float *x, const float *w, bool wide, block_q4_0 *b) {
    hq_quant_q4_0(x, b, 1);
    ublock u = {hone_f16_to_f32(b->d), 0.0f, {0}};
    for (int j = 0; j < QB / 2; j++) {
        u.L[j] = (b->qs[j] & 0xF) - 8;
        u.L[j + QB / 2] = (b->qs[j] >> 4) - 8;
    }
    search_sym(x, w, -8, 7, wide, &u);
    b->d = hone_f32_to_f16(u.d);
    for (int j = 0; j < QB / 2; j++) b->qs[j] = (uint8_t)((u.L[j] + 8) | ((u.L[j + QB / 2] + 8) << 4));
}

static void search_q4_1(const float *x, const float *w, block_q4_1 *b) {
    hq_quant_q4_1(x, b, 1);
    ublock u = {hone_f16_to_f32(b->d), hone_f16_to_f32(b->m), {0}};
    for (int j = 0; j < QB / 2; j++) {
        u.L[j] = b->qs[j] & 0xF;
        u.L[j + QB / 2] = b->qs[j] >> 4;
    }
    search_asym(x, w, 15, &u);
    b->d = hone_f32_to_f16(u.d);
    b->m = hone_f32_to_f16(u.m);
    for (int j = 0; j < QB / 2; j++) b->qs[j] = (uint8_t)(u.L[j] | (u.L[j + QB / 2] << 4));
}

static uint32_t load_qh(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* 5-bit levels 0..31 into the low-nibble array and the 32 high bits. */
static void pack5(const int *q, uint8_t *qs, uint8_t *qh_bytes) {
    uint32_t qh = 0;
    for (int j = 0; j < QB / 2; j++) {
        qs[j] = (uint8_t)((q[j] & 0xF) | ((q[j + QB / 2] & 0xF) << 4));
        qh |= (uint32_t)(q[j] >> 4) << j;
        qh |= (uint32_t)(q[j + QB / 2] >> 4) << (j + QB / 2);
    }
    for (int k = 0; k < 4; k++) qh_bytes[k] = (uint8_t)(qh >> (8 * k));
}

static void unpack5(const uint8_t *qs, const uint8_t *qh_bytes, int *q) {
    const uint32_t qh = load_qh(qh_bytes);
    for (int j = 0; j < QB / 2; j++) {
        q[j] = (qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
        q[j + QB / 2] = (qs[j] >> 4) | (int)(((qh >> (j + QB / 2)) & 1) << 4);
    }
}

static void search_q5_0(const float *x, const float *w, bool wide, block_q5_0 *b) {
    hq_quant_q5_0(x, b, 1);
    ublock u = {hone_f16_to_f32(b->d), 0.0f, {0}};
    unpack5(b->qs, b->qh, u.L);
    for (int j = 0; j < QB; j++) u.L[j] -= 16;
    search_sym(x, w, -16, 15, wide, &u);
    b->d = hone_f32_to_f16(u.d);
    int q[QB];
    for (int j = 0; j < QB; j++) q[j] = u.L[j] + 16;
    pack5(q, b->qs, b->qh);
}

static void search_q5_1(const float *x, const float *w, block_q5_1 *b) {
    hq_quant_q5_1(x, b, 1);
    ublock u = {hone_f16_to_f32(b->d), hone_f16_to_f32(b->m), {0}};
    unpack5(b->qs, b->qh, u.L);
    search_asym(x, w, 31, &u);
    b->d = hone_f32_to_f16(u.d);
    b->m = hone_f32_to_f16(u.m);
    pack5(u.L, b->qs, b->qh);
}

static void search_q8_0(const float *x, const float *w, bool wide, block_q8_0 *b) {
    hq_quant_q8_0(x, b, 1);
    ublock u = {hone_f16_to_f32(b->d), 0.0f, {0}};
    for (int j = 0; j < QB; j++) u.L[j] = b->qs[j];
    /* -128 stays unused, as in the reference: the activation side of the x86 kernels negates
     * weights with a sign instruction, and -(-128) does not fit in a byte */
    search_sym(x, w, -127, 127, wide, &u);
    b->d = hone_f32_to_f16(u.d);
    for (int j = 0; j < QB; j++) b->qs[j] = (int8_t)u.L[j];
}

void hone_quant_default_weights(const float *x, int64_t n, float *w) {
    double s2 = 0.0;
    for (int64_t j = 0; j < n; j++) s2 += (double)x[j] * x[j];
    const float sigma2 = n > 0 ? (float)(s2 / (double)n) : 0.0f;
    for (int64_t j = 0; j < n; j++) w[j] = sqrtf(sigma2 + x[j] * x[j]);
}

/* ---- K-quants with importances ----
 *
 * The reference K-quant search already picks every sub-block's scale and min; what it cannot know is
 * which elements matter. With importances, an importance-weighted quantiser (q_kquants_search.c)
 * competes with the reference block, and then the super-block's half-precision d (and dmin) are
 * refitted by weighted least squares with the levels and sub-scales kept. Every K format dequantises linearly
 * in d and dmin (x = d * a_i + dmin * c_i), so a_i and c_i come from dequantising copies of the block
 * with (d, dmin) = (1, 0) and (0, 1): no per-format unpacking. The refit replaces the reference only
 * when the weighted error drops. */

static void k_fields(hone_type t, void *blk, hone_f16 **d, hone_f16 **dmin) {
    *dmin = NULL;
    switch (t) {
    case HONE_TYPE_Q2_K: *d = &((block_q2_K *)blk)->d; *dmin = &((block_q2_K *)blk)->dmin; break;
    case HONE_TYPE_Q3_K: *d = &((block_q3_K *)blk)->d; break;
    case HONE_TYPE_Q4_K: *d = &((block_q4_K *)blk)->d; *dmin = &((block_q4_K *)blk)->dmin; break;
    case HONE_TYPE_Q5_K: *d = &((block_q5_K *)blk)->d; *dmin = &((block_q5_K *)blk)->dmin; break;
    case HONE_TYPE_Q6_K: *d = &((block_q6_K *)blk)->d; break;
    default: *d = NULL; break;
    }
}

static double k_error(hone_type t, const void *blk, const float *x, const float *w, float *y) {
    hone_dequantize_row(t, blk, y, QK_K);
    double e = 0.0;
    for (int i = 0; i < QK_K; i++) e += (double)w[i] * (double)(y[i] - x[i]) * (double)(y[i] - x[i]);
    return e;
}

static void refit_k(hone_type t, size_t bsize, const float *x, const float *w, uint8_t *blk) {
    uint8_t tmp[512];
    float a[QK_K], c[QK_K], y[QK_K];
    hone_f16 *d, *dm, *td, *tdm;
    k_fields(t, blk, &d, &dm);
    memcpy(tmp, blk, bsize);
    k_fields(t, tmp, &td, &tdm);
    *td = hone_f32_to_f16(1.0f);
    if (tdm) *tdm = hone_f32_to_f16(0.0f);
    hone_dequantize_row(t, tmp, a, QK_K);
    for (int i = 0; i < QK_K; i++) c[i] = 0.0f;
    if (tdm) {
        *td = hone_f32_to_f16(0.0f);
        *tdm = hone_f32_to_f16(1.0f);
        hone_dequantize_row(t, tmp, c, QK_K);
    }
    double saa = 0, sac = 0, scc = 0, sax = 0, scx = 0;
    for (int i = 0; i < QK_K; i++) {
        saa += (double)w[i] * a[i] * a[i];
        sac += (double)w[i] * a[i] * c[i];
        scc += (double)w[i] * c[i] * c[i];
        sax += (double)w[i] * a[i] * x[i];
        scx += (double)w[i] * c[i] * x[i];
    }
    double nd, ndm = 0.0;
    if (tdm) {
        const double det = saa * scc - sac * sac;
        if (!(det > 0)) return;
        nd = (sax * scc - scx * sac) / det;
        ndm = (saa * scx - sac * sax) / det;
    } else {
        if (!(saa > 0)) return;
        nd = sax / saa;
    }
    if (!isfinite(nd) || !isfinite(ndm)) return;
    memcpy(tmp, blk, bsize);
    *td = hone_f32_to_f16((float)nd);
    if (tdm) *tdm = hone_f32_to_f16((float)ndm);
    if (k_error(t, tmp, x, w, y) < k_error(t, blk, x, w, y)) memcpy(blk, tmp, bsize);
}

/* One K-quant super-block: the weighted quantiser (q_kquants_search.c) competes with the reference
 * block on the weighted error, then the super-block scales are refitted. Weights: the importance
 * (1 without calibration) times sqrt(sigma^2 + x^2) (sigma^2: twice the block's mean square), as
 * llama.cpp weighs its importance matrix for the K-quants. Without calibration this still pays:
 * Q6_K's ffn_down, judged by the calibration importances it never saw, -7.5 % error, and the whole
 * Q6_K file's KLD at 40 x 512 0.009490 -> 0.008901 (llama-quantize: 0.009462). Q2_K has no
 * weighted quantiser (no preset puts it on this model's tensors); it gets the refit only. */
static void kquant_weighted(hone_type t, size_t bsize, const float *x, const float *imp, uint8_t *blk) {
    float w[QK_K], y[QK_K];
    float s2 = 0.0f;
    for (int i = 0; i < QK_K; i++) s2 += x[i] * x[i];
    s2 *= 2.0f / QK_K;
    for (int i = 0; i < QK_K; i++) w[i] = (imp ? imp[i] : 1.0f) * sqrtf(s2 + x[i] * x[i]);
    if (t != HONE_TYPE_Q2_K) {
        uint8_t tmp[512];
        if (t == HONE_TYPE_Q3_K) hq_quant_q3_K_weighted(x, w, tmp);
        else if (t == HONE_TYPE_Q4_K) hq_quant_q4_K_weighted(x, w, tmp);
        else if (t == HONE_TYPE_Q5_K) hq_quant_q5_K_weighted(x, w, tmp);
        else hq_quant_q6_K_weighted(x, w, tmp);
        if (k_error(t, tmp, x, w, y) < k_error(t, blk, x, w, y)) memcpy(blk, tmp, bsize);
    }
    refit_k(t, bsize, x, w, blk);
}

static bool is_kquant(hone_type t) {
    return t == HONE_TYPE_Q2_K || t == HONE_TYPE_Q3_K || t == HONE_TYPE_Q4_K || t == HONE_TYPE_Q5_K ||
           t == HONE_TYPE_Q6_K;
}

bool hone_quant_has_search(hone_type t) {
    switch (t) {
    case HONE_TYPE_Q4_0:
    case HONE_TYPE_Q4_1:
    case HONE_TYPE_Q5_0:
    case HONE_TYPE_Q5_1:
    case HONE_TYPE_Q8_0:
    case HONE_TYPE_IQ4_NL: return true;
    default: return false;
    }
}

hone_status hone_quantize_row_search(hone_type t, const float *src, void *dst, int64_t n, const float *imp) {
    if (is_kquant(t)) {
        hone_status st = hone_quantize_row(t, src, dst, n);
        if (st) return st;
        const size_t bs = hone_type_get((uint32_t)t)->type_size;
        for (int64_t b = 0; b < n / QK_K; b++)
            kquant_weighted(t, bs, src + b * QK_K, imp ? imp + b * QK_K : NULL, (uint8_t *)dst + (size_t)b * bs);
        return HONE_OK;
    }
    /* textbook types: the formula's grid without importances, a clipping search with them */
    if (imp && hone_tb_layout_of(t)) return hone_tb_quantize_row_weighted(t, src, dst, n, imp);
    if (!hone_quant_has_search(t)) return hone_quantize_row(t, src, dst, n);
    if (n < 0 || n % QB != 0)
        return hone_err(HONE_ERR_INVALID_ARG, "quantize: row of %lld elements is not a multiple of %s's block size %d",
                        (long long)n, hone_type_get((uint32_t)t)->name, QB);
    const int64_t nb = n / QB;
    /* Without importances, weigh element j by sqrt(sigma^2 + x_j^2) (sigma^2: the row's mean square):
     * plain squared error lets the search clip the largest weights, which the model's output is
     * most sensitive to (measured KLD of Q4_0 on 6 x 256 tokens: 0.348 with plain squared error,
     * 0.303 for round to nearest, 0.299 with this weighting; docs/quantize.md). */
    float stackbuf[1024];
    float *wbuf = NULL;
    const bool calibrated = imp != NULL;
    if (!imp) {
        wbuf = n <= 1024 ? stackbuf : malloc((size_t)n * sizeof *wbuf);
        if (!wbuf) return hone_err(HONE_ERR_NOMEM, "quantize: out of memory");
        hone_quant_default_weights(src, n, wbuf);
        imp = wbuf;
    }
    if (t == HONE_TYPE_IQ4_NL) {
        /* its search lives with the format (q_iq4nl.c); with calibration the importances alone
         * weigh the error (Q2_K preset + calib, 40 x 512: KLD 0.2564 against 0.2609 for importance x
         * sqrt(sigma^2 + x^2)), and the scale candidates reach further (see q_iq4nl.c) */
        hq_quant_iq4_nl_search(src, dst, nb, imp, calibrated);
        if (wbuf != stackbuf) free(wbuf);
        return HONE_OK;
    }
    for (int64_t i = 0; i < nb; i++) {
        const float *x = src + i * QB, *w = imp ? imp + i * QB : NULL;
        switch (t) {
        case HONE_TYPE_Q4_0: search_q4_0(x, w, calibrated, (block_q4_0 *)dst + i); break;
        case HONE_TYPE_Q4_1: search_q4_1(x, w, (block_q4_1 *)dst + i); break;
        case HONE_TYPE_Q5_0: search_q5_0(x, w, calibrated, (block_q5_0 *)dst + i); break;
        case HONE_TYPE_Q5_1: search_q5_1(x, w, (block_q5_1 *)dst + i); break;
        case HONE_TYPE_Q8_0: search_q8_0(x, w, calibrated, (block_q8_0 *)dst + i); break;
        default: break;
        }
    }
    if (wbuf != stackbuf) free(wbuf);
    return HONE_OK;
}
