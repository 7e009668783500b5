/*
 * q_legacy.c - the 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
 *
 * Scalar references, bit-compatible with ggml (the SIMD variants of the dot products, which give
 * the same bits, live in src/kernels/cpu/dot_*.c and are chosen there at run time):
 *  - dequantise exactly as ggml defines each format (same float operations, same order);
 *  - quantise the weight formats with ggml's reference rounding: they truncate (x*id + 8.5) and
 *    friends to an integer;
 *  - Q8_0/Q8_1 are what activations become before every dot product, and the default model is so
 *    sensitive to them (massive activations make some blocks coarse, so one flipped q8 value moves
 *    a log-probability by tenths) that hone follows llama.cpp's x86 activation quantiser bit for
 *    bit, not ggml's scalar reference: id = 127/amax (not 1/d) and round half to even;
 *  - Q4_0/Q5_0/Q5_1 dot products accumulate each block in an exact integer sum, then add
 *    d_w*d_x*sum in float, one block after another, like ggml's scalar code. Q4_1 x Q8_1 and
 *    Q8_0 x Q8_0 (the formats of the default model) instead reproduce the x86 AVX2 kernel's
 *    order: eight float lanes, lane l taking elements 4l..4l+3 of every block through a fused
 *    multiply-add, summed pairwise at the end (see lanes8_sum). Q4_1/Q5_1 add their min term as
 *    m_w * s_x, where the Q8_1 activation block carries s = d * sum(q).
 *
 * Nibble order in all 4- and 5-bit blocks: byte j holds element j (low nibble) and element j+16
 * (high nibble). For Q5, bit j of the little-endian u32 qh is bit 4 of element j (j = 0..31).
 */
#include <math.h>

#include "quant/blocks.h"

/* (int) of t, truncating, clamped to [0, hi] - ggml's MIN(hi, (int8_t)t) for every t ggml's own
 * quantisers can produce, and well defined for the rest (NaN gives 0). */
static inline int trunc_clamp(float t, int hi) {
    if (!(t > 0.0f)) return 0;
    if (t >= (float)hi) return hi;
    return (int)t;
}

/* v rounded to the nearest integer, ties to even (what the x86 kernels' round instruction does in
 * the default rounding mode), as int8. Adding and removing 1.5 * 2^23 leaves the integer part of
 * any |v| < 2^22 rounded to even, exactly, with no libm call; clamping to the int8 range first
 * (Q8 never needs more: |x * id| <= 127 up to rounding) keeps it in range, and NaN becomes 0.
 * Branch-free so the loop can vectorise. */
static inline int8_t round_i8(float v) {
    const float magic = 0x1.8p23f;
    v = v == v ? v : 0.0f;
    v = v < -127.0f ? -127.0f : v;
    v = v > 127.0f ? 127.0f : v;
    return (int8_t)(int)((v + magic) - magic);
}

/* Sum of eight float accumulators in the order of the x86 horizontal add ggml uses after its
 * AVX2 dot kernels: fold the upper four lanes onto the lower four, then lanes 0+2 and 1+3, then
 * the two results. */
static inline float lanes8_sum(const float *a) {
    float r[4];
    for (int i = 0; i < 4; i++) r[i] = a[i + 4] + a[i];
    return (r[0] + r[2]) + (r[1] + r[3]);
}

/* The element of largest magnitude (first one on ties), with its sign. */
static inline float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static inline void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = x[0], hi = x[0];
    for (int j = 1; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

static inline uint32_t load_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void store_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* ---- dequantise ---- */

void hq_dequant_q4_0(const void *src, float *y, int64_t nb) {
    const block_q4_0 *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK4_0) {
        const float d = hone_f16_to_f32(b[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[j] = (float)((b[i].qs[j] & 0xF) - 8) * d;
            y[j + QK4_0 / 2] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void hq_dequant_q4_1(const void *src, float *y, int64_t nb) {
    const block_q4_1 *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK4_1) {
        const float d = hone_f16_to_f32(b[i].d), m = hone_f16_to_f32(b[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            y[j] = (float)(b[i].qs[j] & 0xF) * d + m;
            y[j + QK4_1 / 2] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

void hq_dequant_q5_0(const void *src, float *y, int64_t nb) {
    const block_q5_0 *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK5_0) {
        const float d = hone_f16_to_f32(b[i].d);
        const uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int lo = (b[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int hi = (b[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)(lo - 16) * d;
            y[j + QK5_0 / 2] = (float)(hi - 16) * d;
        }
    }
}

void hq_dequant_q5_1(const void *src, float *y, int64_t nb) {
    const block_q5_1 *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK5_1) {
        const float d = hone_f16_to_f32(b[i].d), m = hone_f16_to_f32(b[i].m);
        const uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int lo = (b[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int hi = (b[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)lo * d + m;
            y[j + QK5_1 / 2] = (float)hi * d + m;
        }
    }
}

void hq_dequant_q8_0(const void *src, float *y, int64_t nb) {
    const block_q8_0 *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK8_0) {
        const float d = hone_f16_to_f32(b[i].d);
        for (int j = 0; j < QK8_0; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

void hq_dequant_q8_1(const void *src, float *y, int64_t nb) {
    const block_q8_1 *b = src;
    for (int64_t i = 0; i < nb; i++, y += QK8_1) {
        const float d = hone_f16_to_f32(b[i].d);
        for (int j = 0; j < QK8_1; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

/* ---- quantise ---- */

void hq_quant_q4_0(const float *x, void *dst, int64_t nb) {
    block_q4_0 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK4_0) {
        /* The largest-magnitude element maps to -8 exactly, which uses the one extra negative
         * level of the signed 4-bit range. */
        const float d = signed_absmax(x, QK4_0) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = hone_f32_to_f16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            const int lo = trunc_clamp(x[j] * id + 8.5f, 15);
            const int hi = trunc_clamp(x[j + QK4_0 / 2] * id + 8.5f, 15);
            b[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

void hq_quant_q4_1(const float *x, void *dst, int64_t nb) {
    block_q4_1 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK4_1) {
        float mn, mx;
        min_max(x, QK4_1, &mn, &mx);
        const float d = (mx - mn) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = hone_f32_to_f16(d);
        b[i].m = hone_f32_to_f16(mn);
        for (int j = 0; j < QK4_1 / 2; j++) {
            const int lo = trunc_clamp((x[j] - mn) * id + 0.5f, 15);
            const int hi = trunc_clamp((x[j + QK4_1 / 2] - mn) * id + 0.5f, 15);
            b[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

void hq_quant_q5_0(const float *x, void *dst, int64_t nb) {
    block_q5_0 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK5_0) {
        const float d = signed_absmax(x, QK5_0) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = hone_f32_to_f16(d);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int lo = trunc_clamp(x[j] * id + 16.5f, 31);
            const int hi = trunc_clamp(x[j + QK5_0 / 2] * id + 16.5f, 31);
            b[i].qs[j] = (uint8_t)((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= (uint32_t)(lo >> 4) << j;
            qh |= (uint32_t)(hi >> 4) << (j + QK5_0 / 2);
        }
        store_u32(b[i].qh, qh);
    }
}

void hq_quant_q5_1(const float *x, void *dst, int64_t nb) {
    block_q5_1 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK5_1) {
        float mn, mx;
        min_max(x, QK5_1, &mn, &mx);
        const float d = (mx - mn) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = hone_f32_to_f16(d);
        b[i].m = hone_f32_to_f16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int lo = trunc_clamp((x[j] - mn) * id + 0.5f, 31);
            const int hi = trunc_clamp((x[j + QK5_1 / 2] - mn) * id + 0.5f, 31);
            b[i].qs[j] = (uint8_t)((lo & 0xF) | ((hi & 0xF) << 4));
            qh |= (uint32_t)(lo >> 4) << j;
            qh |= (uint32_t)(hi >> 4) << (j + QK5_1 / 2);
        }
        store_u32(b[i].qh, qh);
    }
}

/* Shared by Q8_0 and Q8_1: d = amax/127 is stored, but the quants are x * (127/amax) rounded
 * half to even, as llama.cpp's x86 activation quantiser computes them (its scalar reference uses
 * 1/d and rounds ties away from zero; the two differ in the last bit of id and so, rarely, in q -
 * and the default model notices). Returns the block scale; the quants' sum goes to *sum. */
static inline float quant_q8_block(const float *x, int8_t *qs, int *sum) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int s = 0;
    for (int j = 0; j < 32; j++) {
        qs[j] = round_i8(x[j] * id);
        s += qs[j];
    }
    *sum = s;
    return d;
}

void hq_quant_q8_0(const float *x, void *dst, int64_t nb) {
    block_q8_0 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK8_0) {
        int sum;
        b[i].d = hone_f32_to_f16(quant_q8_block(x, b[i].qs, &sum));
    }
}

void hq_quant_q8_1(const float *x, void *dst, int64_t nb) {
    block_q8_1 *b = dst;
    for (int64_t i = 0; i < nb; i++, x += QK8_1) {
        int sum;
        const float d = quant_q8_block(x, b[i].qs, &sum);
        b[i].d = hone_f32_to_f16(d);
        b[i].s = hone_f32_to_f16((float)sum * d); /* from the float d, not its half, as ggml does */
    }
}

/* ---- dot products: weights (left) x quantised activations (right) ---- */

float hq_dot_q4_0_q8_0(int64_t nb, const void *w, const void *x) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int isum = 0;
        for (int j = 0; j < QK4_0 / 2; j++) {
            isum += ((a[i].qs[j] & 0xF) - 8) * b[i].qs[j];
            isum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + QK4_0 / 2];
        }
        sum += hone_f16_to_f32(a[i].d) * hone_f16_to_f32(b[i].d) * (float)isum;
    }
    return sum;
}

float hq_dot_q5_0_q8_0(int64_t nb, const void *w, const void *x) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const uint32_t qh = load_u32(a[i].qh);
        int isum = 0;
        for (int j = 0; j < QK5_0 / 2; j++) {
            const int lo = (a[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int hi = (a[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            isum += (lo - 16) * b[i].qs[j] + (hi - 16) * b[i].qs[j + QK5_0 / 2];
        }
        sum += hone_f16_to_f32(a[i].d) * hone_f16_to_f32(b[i].d) * (float)isum;
    }
    return sum;
}

float hq_dot_q5_1_q8_1(int64_t nb, const void *w, const void *x) {
    const block_q5_1 *a = w;
    const block_q8_1 *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const uint32_t qh = load_u32(a[i].qh);
        int isum = 0;
        for (int j = 0; j < QK5_1 / 2; j++) {
            const int lo = (a[i].qs[j] & 0xF) | (int)(((qh >> j) & 1) << 4);
            const int hi = (a[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            isum += lo * b[i].qs[j] + hi * b[i].qs[j + QK5_1 / 2];
        }
        sum += hone_f16_to_f32(a[i].d) * hone_f16_to_f32(b[i].d) * (float)isum
               + hone_f16_to_f32(a[i].m) * hone_f16_to_f32(b[i].s);
    }
    return sum;
}

float hq_dot_q4_1_q8_1(int64_t nb, const void *w, const void *x) {
    const block_q4_1 *a = w;
    const block_q8_1 *b = x;
    /* sum_j (d q_j + m) x_j = d * dx * isum + m * (dx * sum q8_j) = ... + m * s. The first term
     * goes to eight lanes (lane l: elements 4l..4l+3 of each block, scaled by d*dx in one fused
     * multiply-add), the min terms to a separate fused running sum, as in ggml's AVX2 kernel. */
    float lane[8] = {0};
    float summs = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const float dd = hone_f16_to_f32(a[i].d) * hone_f16_to_f32(b[i].d);
        summs = fmaf(hone_f16_to_f32(a[i].m), hone_f16_to_f32(b[i].s), summs);
        int prod[QK4_1]; /* element j < 16: low nibble of byte j; j >= 16: high nibble of byte j-16 */
        for (int j = 0; j < QK4_1 / 2; j++) {
            prod[j] = (a[i].qs[j] & 0xF) * b[i].qs[j];
            prod[j + QK4_1 / 2] = (a[i].qs[j] >> 4) * b[i].qs[j + QK4_1 / 2];
        }
        for (int l = 0; l < 8; l++) {
            const int isum = prod[4 * l] + prod[4 * l + 1] + prod[4 * l + 2] + prod[4 * l + 3];
            lane[l] = fmaf(dd, (float)isum, lane[l]);
        }
    }
    return lanes8_sum(lane) + summs;
}

float hq_dot_q8_0_q8_0(int64_t nb, const void *w, const void *x) {
    const block_q8_0 *a = w;
    const block_q8_0 *b = x;
    /* eight lanes, lane l taking elements 4l..4l+3 of each block (ggml's AVX2 order; see top) */
    float lane[8] = {0};
    for (int64_t i = 0; i < nb; i++) {
        const float dd = hone_f16_to_f32(a[i].d) * hone_f16_to_f32(b[i].d);
        int prod[QK8_0];
        for (int j = 0; j < QK8_0; j++) prod[j] = a[i].qs[j] * b[i].qs[j];
        for (int l = 0; l < 8; l++) {
            const int isum = prod[4 * l] + prod[4 * l + 1] + prod[4 * l + 2] + prod[4 * l + 3];
            lane[l] = fmaf(dd, (float)isum, lane[l]);
        }
    }
    return lanes8_sum(lane);
}

/* Not a weight format in practice (ggml has no such kernel), but computable in the type table. */
float hq_dot_q8_1_q8_1(int64_t nb, const void *w, const void *x) {
    const block_q8_1 *a = w;
    const block_q8_1 *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int isum = 0;
        for (int j = 0; j < QK8_1; j++) isum += a[i].qs[j] * b[i].qs[j];
        sum += hone_f16_to_f32(a[i].d) * hone_f16_to_f32(b[i].d) * (float)isum;
    }
    return sum;
}
