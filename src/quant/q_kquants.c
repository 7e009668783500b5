/*
 * q_kquants.c - the K-quant super-block formats (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) and their activation
 * partner Q8_K: dequantise, dot product, and Q8_K quantisation. The weight quantisers, which search
 * for good scales, live in q_kquants_quantize.c.
 *
 * A super-block holds 256 elements. Element order within it, as ggml defines it:
 *  Q2_K, Q3_K: two halves of 128; in half h, element 32*j + l (j = 0..3, l = 0..31) is bits
 *              2j..2j+1 of qs[32h + l]. Q3_K's third bit is bit (4h + j) of hmask[l]; when clear the
 *              value is lowered by 4. One scale per 16 consecutive elements (e / 16).
 *  Q4_K, Q5_K: four chunks of 64; in chunk c, elements 0..31 are the low nibbles and 32..63 the high
 *              nibbles of qs[32c + l], with scale/min 2c and 2c+1. Q5_K's fifth bit is bit 2c (low)
 *              or 2c+1 (high) of qh[l].
 *  Q6_K:       two halves of 128; in half h, with L = ql + 64h, H = qh + 32h, for l = 0..31:
 *              element l     = low  nibble of L[l]    | bits 0..1 of H[l] << 4
 *              element l+32  = low  nibble of L[l+32] | bits 2..3 of H[l] << 4
 *              element l+64  = high nibble of L[l]    | bits 4..5 of H[l] << 4
 *              element l+96  = high nibble of L[l+32] | bits 6..7 of H[l] << 4, minus 32.
 *
 * Dot products unpack the weight quants of one super-block to int8 (on the stack), take exact
 * integer sums per 16 elements times the integer sub-scale, and only then apply the float scales:
 * sum += d_w * d_x * isum - dmin_w * d_x * sum_g(bsums_g * min_g). This is ggml's scalar reference
 * with its integer part exact; the float rounding differs from ggml only in the order of a few adds.
 */
#include <math.h>

#include "quant/blocks.h"

/* ---- unpack one super-block's weight quants to signed integers (shared by dequant and dot) ---- */

static void unpack_q2_K(const block_q2_K *b, int8_t q[QK_K]) {
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 32; l++) q[128 * h + 32 * j + l] = (int8_t)((b->qs[32 * h + l] >> (2 * j)) & 3);
}

static void unpack_q3_K(const block_q3_K *b, int8_t q[QK_K]) {
    for (int h = 0; h < 2; h++)
        for (int j = 0; j < 4; j++) {
            const uint8_t m = (uint8_t)(1u << (4 * h + j));
            for (int l = 0; l < 32; l++) {
                const int lo = (b->qs[32 * h + l] >> (2 * j)) & 3;
                q[128 * h + 32 * j + l] = (int8_t)(lo - ((b->hmask[l] & m) ? 0 : 4));
            }
        }
}

static void unpack_q4_K(const block_q4_K *b, int8_t q[QK_K]) {
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = (int8_t)(b->qs[32 * c + l] & 0xF);
            q[64 * c + 32 + l] = (int8_t)(b->qs[32 * c + l] >> 4);
        }
}

static void unpack_q5_K(const block_q5_K *b, int8_t q[QK_K]) {
    for (int c = 0; c < 4; c++) {
        const uint8_t m1 = (uint8_t)(1u << (2 * c)), m2 = (uint8_t)(2u << (2 * c));
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = (int8_t)((b->qs[32 * c + l] & 0xF) + ((b->qh[l] & m1) ? 16 : 0));
            q[64 * c + 32 + l] = (int8_t)((b->qs[32 * c + l] >> 4) + ((b->qh[l] & m2) ? 16 : 0));
        }
    }
}

static void unpack_q6_K(const block_q6_K *b, int8_t q[QK_K]) {
    for (int h = 0; h < 2; h++) {
        const uint8_t *L = b->ql + 64 * h, *H = b->qh + 32 * h;
        int8_t *o = q + 128 * h;
        for (int l = 0; l < 32; l++) {
            o[l] = (int8_t)(((L[l] & 0xF) | (((H[l] >> 0) & 3) << 4)) - 32);
            o[l + 32] = (int8_t)(((L[l + 32] & 0xF) | (((H[l] >> 2) & 3) << 4)) - 32);
            o[l + 64] = (int8_t)(((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32);
            o[l + 96] = (int8_t)(((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

/* The 8 scales and 8 mins of a Q4_K/Q5_K block. */
static void unpack_k4_scales(const uint8_t s[K_SCALE_SIZE], uint8_t sc[8], uint8_t mn[8]) {
    for (int j = 0; j < 8; j++) hq_k4_scale_min(j, s, &sc[j], &mn[j]);
}

/* ---- dequantise: the same float expressions as ggml, per sub-block ---- */

void hq_dequant_q2_K(const void *src, float *y, int64_t nb) {
    const block_q2_K *b = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = hone_f16_to_f32(b[i].d), dmin = hone_f16_to_f32(b[i].dmin);
        unpack_q2_K(&b[i], q);
        for (int g = 0; g < QK_K / 16; g++) {
            const float dl = d * (float)(b[i].scales[g] & 0xF), ml = dmin * (float)(b[i].scales[g] >> 4);
            for (int l = 0; l < 16; l++) y[16 * g + l] = dl * (float)q[16 * g + l] - ml;
        }
    }
}

void hq_dequant_q3_K(const void *src, float *y, int64_t nb) {
    const block_q3_K *b = src;
    int8_t q[QK_K], sc[16];
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = hone_f16_to_f32(b[i].d);
        unpack_q3_K(&b[i], q);
        hq_q3k_scales(b[i].scales, sc);
        for (int g = 0; g < QK_K / 16; g++) {
            const float dl = d * (float)sc[g];
            for (int l = 0; l < 16; l++) y[16 * g + l] = dl * (float)q[16 * g + l];
        }
    }
}

void hq_dequant_q4_K(const void *src, float *y, int64_t nb) {
    const block_q4_K *b = src;
    int8_t q[QK_K];
    uint8_t sc[8], mn[8];
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = hone_f16_to_f32(b[i].d), dmin = hone_f16_to_f32(b[i].dmin);
        unpack_q4_K(&b[i], q);
        unpack_k4_scales(b[i].scales, sc, mn);
        for (int g = 0; g < 8; g++) {
            const float dl = d * (float)sc[g], ml = dmin * (float)mn[g];
            for (int l = 0; l < 32; l++) y[32 * g + l] = dl * (float)q[32 * g + l] - ml;
        }
    }
}

void hq_dequant_q5_K(const void *src, float *y, int64_t nb) {
    const block_q5_K *b = src;
    int8_t q[QK_K];
    uint8_t sc[8], mn[8];
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = hone_f16_to_f32(b[i].d), dmin = hone_f16_to_f32(b[i].dmin);
        unpack_q5_K(&b[i], q);
        unpack_k4_scales(b[i].scales, sc, mn);
        for (int g = 0; g < 8; g++) {
            const float dl = d * (float)sc[g], ml = dmin * (float)mn[g];
            for (int l = 0; l < 32; l++) y[32 * g + l] = dl * (float)q[32 * g + l] - ml;
        }
    }
}

void hq_dequant_q6_K(const void *src, float *y, int64_t nb) {
    const block_q6_K *b = src;
    int8_t q[QK_K];
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        const float d = hone_f16_to_f32(b[i].d);
        unpack_q6_K(&b[i], q);
        for (int g = 0; g < QK_K / 16; g++) {
            const float dl = d * (float)b[i].scales[g];
            for (int l = 0; l < 16; l++) y[16 * g + l] = dl * (float)q[16 * g + l];
        }
    }
}

void hq_dequant_q8_K(const void *src, float *y, int64_t nb) {
    const block_q8_K *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK_K)
        for (int j = 0; j < QK_K; j++) y[j] = b[i].d * (float)b[i].qs[j];
}

/* ---- Q8_K quantisation (activations) ---- */

void hq_quant_q8_K(const float *x, void *dst, int64_t nb) {
    block_q8_K *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof b[i]);
            continue;
        }
        /* -127/max rather than -128/max keeps the range symmetric, which ggml needs for its
         * IQ kernels; the element of largest magnitude lands on -127 or +127 */
        const float iscale = -127.0f / max;
        for (int j = 0; j < QK_K; j++) {
            const int v = hq_nearest_int(iscale * x[j]);
            b[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += b[i].qs[16 * g + l];
            b[i].bsums[g] = (int16_t)s;
        }
        b[i].d = 1.0f / iscale;
    }
}

/* ---- dot products with Q8_K activations ---- */

/* sum over 16-element groups of scale[g] * sum(q8 * q) */
static inline int32_t grouped_isum16(const int8_t *q, const int8_t *q8, const int8_t *scale) {
    int32_t isum = 0;
    for (int g = 0; g < QK_K / 16; g++) {
        int32_t s = 0;
        for (int l = 0; l < 16; l++) s += q[16 * g + l] * q8[16 * g + l];
        isum += scale[g] * s;
    }
    return isum;
}

static inline int32_t grouped_isum32(const int8_t *q, const int8_t *q8, const uint8_t *scale) {
    int32_t isum = 0;
    for (int g = 0; g < QK_K / 32; g++) {
        int32_t s = 0;
        for (int l = 0; l < 32; l++) s += q[32 * g + l] * q8[32 * g + l];
        isum += scale[g] * s;
    }
    return isum;
}

float hq_dot_q2_K_q8_K(int64_t nb, const void *w, const void *x) {
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    int8_t q[QK_K], sc[16];
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        unpack_q2_K(&a[i], q);
        int32_t summs = 0;
        for (int g = 0; g < 16; g++) {
            sc[g] = (int8_t)(a[i].scales[g] & 0xF);
            summs += b[i].bsums[g] * (a[i].scales[g] >> 4);
        }
        const int32_t isum = grouped_isum16(q, b[i].qs, sc);
        const float dall = b[i].d * hone_f16_to_f32(a[i].d);
        const float dmin = b[i].d * hone_f16_to_f32(a[i].dmin);
        sum += dall * (float)isum - dmin * (float)summs;
    }
    return sum;
}

float hq_dot_q3_K_q8_K(int64_t nb, const void *w, const void *x) {
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    int8_t q[QK_K], sc[16];
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        unpack_q3_K(&a[i], q);
        hq_q3k_scales(a[i].scales, sc);
        const int32_t isum = grouped_isum16(q, b[i].qs, sc);
        sum += hone_f16_to_f32(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}

/* One 256-element block of Q4_K or Q5_K (the same 6-bit scale/min packing)
 * against Q8_K: integer sums per 32-group, then d * isum - dmin * sum(min *
 * bsums) in float. `q` holds the block's unpacked unsigned quants. */
static float k4_block(const int8_t *q, const uint8_t *scales, hone_f16 d16, hone_f16 dmin16, const block_q8_K *b) {
    uint8_t sc[8], mn[8];
    unpack_k4_scales(scales, sc, mn);
    int32_t summs = 0;
    for (int g = 0; g < 16; g++) summs += b->bsums[g] * mn[g / 2];
    const int32_t isum = grouped_isum32(q, b->qs, sc);
    const float d = hone_f16_to_f32(d16) * b->d;
    const float dmin = hone_f16_to_f32(dmin16) * b->d;
    return d * (float)isum - dmin * (float)summs;
}

float hq_dot_q4_K_q8_K(int64_t nb, const void *w, const void *x) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    int8_t q[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        unpack_q4_K(&a[i], q);
        sum += k4_block(q, a[i].scales, a[i].d, a[i].dmin, &b[i]);
    }
    return sum;
}

float hq_dot_q5_K_q8_K(int64_t nb, const void *w, const void *x) {
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    int8_t q[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        unpack_q5_K(&a[i], q);
        sum += k4_block(q, a[i].scales, a[i].d, a[i].dmin, &b[i]);
    }
    return sum;
}

float hq_dot_q6_K_q8_K(int64_t nb, const void *w, const void *x) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    int8_t q[QK_K];
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        unpack_q6_K(&a[i], q);
        const int32_t isum = grouped_isum16(q, b[i].qs, a[i].scales);
        sum += hone_f16_to_f32(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}

float hq_dot_q8_K_q8_K(int64_t nb, const void *w, const void *x) {
    const block_q8_K *a = w;
    const block_q8_K *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int32_t isum = 0;
        for (int j = 0; j < QK_K; j++) isum += a[i].qs[j] * b[i].qs[j];
        sum += a[i].d * b[i].d * (float)isum;
    }
    return sum;
}
