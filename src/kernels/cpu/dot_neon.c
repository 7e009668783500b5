/*
 * dot_neon.c - aarch64 Advanced SIMD (NEON) dot products of weight rows with quantised activations,
 * for the edge build.
 *
 * Everything here is baseline armv8-a, which every aarch64 CPU has, except the few kernels marked
 * SDOT: those use the optional armv8.2 dot-product instruction (vdotq_s32), carry their own target
 * attribute and are only reached through dispatch.c when Linux reports HWCAP_ASIMDDP. Other
 * builds (x86-64, big-endian, -DHONE_NO_SIMD) compile this file to tables with no kernels.
 *
 * Results, per type, against the scalar references in src/quant (the same contract as dot_avx2.c):
 *  - Q4_1 x Q8_1 and Q8_0 x Q8_0 reproduce the references' eight-lane order exactly. Lane l takes
 *    elements 4l..4l+3 of every block; here lanes 0..3 live in one float32x4 accumulator and lanes
 *    4..7 in a second, each updated by vfmaq (one rounding, as the reference's fmaf), and the final
 *    horizontal sum adds lane i + 4 to lane i first, as lanes8_sum does. The integer lane sums are
 *    exact whatever instructions form them: NEON widens products of bytes to 16 bits (vmull_s8)
 *    and adds neighbouring pairs into 32 bits (vpaddlq_s16, vpaddq_s32), or SDOT sums four byte
 *    products per 32-bit lane, which is exactly the lane layout the order needs.
 *  - Q4_0, Q5_0, Q5_1, Q8_1 and the K-quants form an exact integer sum per block (per sub-block
 *    for the K-quants) in any order and then evaluate the reference's float expression unchanged.
 *    The file is built with -std=c11, which turns floating-point contraction off, so `a * b + c`
 *    is not fused here where the reference does not fuse it.
 *  - F32, F16 and BF16 accumulate in float lanes, flushed to a double total every 256 elements
 *    (as dot_avx2.c does); they agree with the references only within the normalised bound of
 *    tests/kernels/test_kernels.c.
 *
 * Byte products are always widened before any sum (vmull_s8 gives 16-bit products, at most 2^14 in
 * magnitude, and every further add is widening or 32-bit), so unlike the x86 maddubs kernels no
 * range of int8 activations or weights can saturate: -128 is fine on either side.
 */
#include "kernels/cpu/dot_neon.h"

#include <stddef.h>

#if defined(__aarch64__) && defined(__AARCH64EL__) && !defined(HONE_NO_SIMD)
#include <arm_neon.h>
#include <math.h>

#include "quant/blocks.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* SDOT kernels need a compiler that can enable the instruction per function: gcc (its arm_neon.h
 * declares vdotq_s32 under a target pragma), or any compiler when the whole build targets it.
 * Older clang declares the intrinsic only in the latter case, so there the dotprod table is empty
 * and the dotprod level runs the NEON kernels. */
#if defined(__ARM_FEATURE_DOTPROD)
#define HAVE_SDOT 1
#define SDOT
#elif defined(__GNUC__) && !defined(__clang__)
#define HAVE_SDOT 1
#define SDOT __attribute__((target("arch=armv8.2-a+dotprod")))
#else
#define HAVE_SDOT 0
#endif

/* ---- shared pieces ---- */

/* A stored half as float through the FPU's conversion, which is exact (subnormals included) and
 * so equal to hone_f16_to_f32 for every finite half. */
static ALWAYS_INLINE float h2f(hone_f16 h) {
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

/* Sum of the 16 products a[i] * y[i] as four 32-bit partial sums (which element lands in which
 * partial does not matter to the callers that use this one). */
static ALWAYS_INLINE int32x4_t dot16(int8x16_t a, int8x16_t y) {
    const int32x4_t s = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(y)));
    return vpadalq_s16(s, vmull_high_s8(a, y));
}

/* Lane l = a[4l]y[4l] + ... + a[4l+3]y[4l+3] for l = 0..3: the lane layout of the eight-lane
 * order (pairs first, then pairs of pairs, all exact). */
static ALWAYS_INLINE int32x4_t lane_isums(int8x16_t a, int8x16_t y) {
    const int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(a), vget_low_s8(y)));
    const int32x4_t hi = vpaddlq_s16(vmull_high_s8(a, y));
    return vpaddq_s32(lo, hi);
}

#if HAVE_SDOT
/* The same lane sums with one SDOT instruction. */
static SDOT ALWAYS_INLINE int32x4_t lane_isums_sdot(int8x16_t a, int8x16_t y) {
    return vdotq_s32(vdupq_n_s32(0), a, y);
}
#endif

/* The x86 horizontal add of eight lanes (lo = lanes 0..3, hi = lanes 4..7): lane i + 4 onto lane i,
 * then lanes 0+2 and 1+3, then the two results - lanes8_sum in q_legacy.c. */
static ALWAYS_INLINE float lanes8_sum(float32x4_t lo, float32x4_t hi) {
    const float32x4_t r = vaddq_f32(hi, lo);
    return (vgetq_lane_f32(r, 0) + vgetq_lane_f32(r, 2)) + (vgetq_lane_f32(r, 1) + vgetq_lane_f32(r, 3));
}

/* The 32 quants of a 4-bit block in element order: low nibbles of bytes 0..15 are elements 0..15,
 * high nibbles elements 16..31. */
static ALWAYS_INLINE void nibbles32(const uint8_t *qs, uint8x16_t *lo, uint8x16_t *hi) {
    const uint8x16_t q = vld1q_u8(qs);
    *lo = vandq_u8(q, vdupq_n_u8(0xF));
    *hi = vshrq_n_u8(q, 4);
}

/* 0x10 in byte j where bit j of the little-endian u32 at p is set (Q5's fifth bit), j = 0..31. */
static ALWAYS_INLINE void bit5_32(const uint8_t *p, uint8x16_t *lo, uint8x16_t *hi) {
    static const uint8_t bits[8] = {1, 2, 4, 8, 16, 32, 64, 128};
    const uint8x8_t m = vld1_u8(bits), sixteen = vdup_n_u8(0x10);
    uint8x8_t b[4];
    for (int k = 0; k < 4; k++) b[k] = vand_u8(vtst_u8(vdup_n_u8(p[k]), m), sixteen);
    *lo = vcombine_u8(b[0], b[1]);
    *hi = vcombine_u8(b[2], b[3]);
}

#define S8(u) vreinterpretq_s8_u8(u)

/* ---- Q4_1 x Q8_1 and Q8_0 x Q8_0: the eight-lane order (see the top of src/quant/q_legacy.c) ---- */

/* Four stored halves as floats, lane k from hk. */
static ALWAYS_INLINE float32x4_t halves4(hone_f16 h0, hone_f16 h1, hone_f16 h2, hone_f16 h3) {
    uint16x4_t v = vdup_n_u16(h0);
    v = vset_lane_u16(h1, v, 1);
    v = vset_lane_u16(h2, v, 2);
    v = vset_lane_u16(h3, v, 3);
    return vcvt_f32_f16(vreinterpret_f16_u16(v));
}

/* One block of one row into that row's eight float lanes LO (lanes 0..3) and HI (4..7): the
 * integer lane sums of its quants (A, two int8x16 halves in element order) with the activations
 * (Y0, Y1), times lane K of DD (the row's d_w * d_x), added with one rounding. LANES is lane_isums
 * or lane_isums_sdot. Macros rather than functions taking pointers, so that every row's sums stay
 * in registers in the four-row kernels and the SDOT variant expands inside a function that has
 * the SDOT target. */
#define LANES_FMA(LANES, A0, A1, Y0, Y1, LO, HI, DD, K)                                                      \
    do {                                                                                                      \
        LO = vfmaq_laneq_f32(LO, vcvtq_f32_s32(LANES(A0, Y0)), DD, K);                                        \
        HI = vfmaq_laneq_f32(HI, vcvtq_f32_s32(LANES(A1, Y1)), DD, K);                                        \
    } while (0)

#define Q4_1_ROW(LANES, A, Y0, Y1, LO, HI, DD, K)                                                             \
    do {                                                                                                      \
        uint8x16_t u0_, u1_;                                                                                  \
        nibbles32((A)->qs, &u0_, &u1_);                                                                       \
        LANES_FMA(LANES, S8(u0_), S8(u1_), Y0, Y1, LO, HI, DD, K);                                            \
    } while (0)

#define Q8_0_ROW(LANES, A, Y0, Y1, LO, HI, DD, K)                                                             \
    LANES_FMA(LANES, vld1q_s8((A)->qs), vld1q_s8((A)->qs + 16), Y0, Y1, LO, HI, DD, K)

/* One-row and four-row kernels. A Q4_1 row keeps a second, fused running sum of its min terms
 * m_w * s_x (the reference's fmaf). The four-row kernel takes each row through exactly the
 * operations of the one-row kernel (same bits; lane k of its vectors dd and summs is row k's
 * scalar), but four independent chains of fused multiply-adds overlap in the pipeline, the scales
 * of four rows convert at once and each activation block is loaded once. */
#define ROWS4(W, STRIDE, T)                                                                                   \
    const T *a0 = (W), *a1 = (const void *)((const char *)(W) + (STRIDE)),                                    \
            *a2 = (const void *)((const char *)(W) + 2 * (STRIDE)),                                           \
            *a3 = (const void *)((const char *)(W) + 3 * (STRIDE))

#define Q4_1_KERNELS(NAME, ATTR, LANES)                                                                       \
    static ATTR float dot_##NAME(int64_t n, const void *w, const void *x) {                                   \
        const block_q4_1 *a = w;                                                                              \
        const block_q8_1 *b = x;                                                                              \
        float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;                                                          \
        float summs = 0.0f;                                                                                   \
        for (int64_t i = 0; i < n / QK4_1; i++) {                                                             \
            const float32x4_t dd = vdupq_n_f32(h2f(a[i].d) * h2f(b[i].d));                                    \
            summs = fmaf(h2f(a[i].m), h2f(b[i].s), summs);                                                    \
            Q4_1_ROW(LANES, &a[i], vld1q_s8(b[i].qs), vld1q_s8(b[i].qs + 16), lo, hi, dd, 0);                 \
        }                                                                                                     \
        return lanes8_sum(lo, hi) + summs;                                                                    \
    }                                                                                                         \
    static ATTR void dot4_##NAME(int64_t n, const void *w, size_t stride, const void *x, float *out) {        \
        ROWS4(w, stride, block_q4_1);                                                                         \
        const block_q8_1 *b = x;                                                                              \
        float32x4_t l0 = vdupq_n_f32(0.0f), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;    \
        float32x4_t summs = vdupq_n_f32(0.0f);                                                                \
        for (int64_t i = 0; i < n / QK4_1; i++) {                                                             \
            const float32x4_t dd = vmulq_n_f32(halves4(a0[i].d, a1[i].d, a2[i].d, a3[i].d), h2f(b[i].d));     \
            summs = vfmaq_n_f32(summs, halves4(a0[i].m, a1[i].m, a2[i].m, a3[i].m), h2f(b[i].s));             \
            const int8x16_t y0 = vld1q_s8(b[i].qs), y1 = vld1q_s8(b[i].qs + 16);                              \
            Q4_1_ROW(LANES, &a0[i], y0, y1, l0, h0, dd, 0);                                                   \
            Q4_1_ROW(LANES, &a1[i], y0, y1, l1, h1, dd, 1);                                                   \
            Q4_1_ROW(LANES, &a2[i], y0, y1, l2, h2, dd, 2);                                                   \
            Q4_1_ROW(LANES, &a3[i], y0, y1, l3, h3, dd, 3);                                                   \
        }                                                                                                     \
        out[0] = lanes8_sum(l0, h0) + vgetq_lane_f32(summs, 0);                                               \
        out[1] = lanes8_sum(l1, h1) + vgetq_lane_f32(summs, 1);                                               \
        out[2] = lanes8_sum(l2, h2) + vgetq_lane_f32(summs, 2);                                               \
        out[3] = lanes8_sum(l3, h3) + vgetq_lane_f32(summs, 3);                                               \
    }

#define Q8_0_KERNELS(NAME, ATTR, LANES)                                                                       \
    static ATTR float dot_##NAME(int64_t n, const void *w, const void *x) {                                   \
        const block_q8_0 *a = w, *b = x;                                                                      \
        float32x4_t lo = vdupq_n_f32(0.0f), hi = lo;                                                          \
        for (int64_t i = 0; i < n / QK8_0; i++) {                                                             \
            const float32x4_t dd = vdupq_n_f32(h2f(a[i].d) * h2f(b[i].d));                                    \
            Q8_0_ROW(LANES, &a[i], vld1q_s8(b[i].qs), vld1q_s8(b[i].qs + 16), lo, hi, dd, 0);                 \
        }                                                                                                     \
        return lanes8_sum(lo, hi);                                                                            \
    }                                                                                                         \
    static ATTR void dot4_##NAME(int64_t n, const void *w, size_t stride, const void *x, float *out) {        \
        ROWS4(w, stride, block_q8_0);                                                                         \
        const block_q8_0 *b = x;                                                                              \
        float32x4_t l0 = vdupq_n_f32(0.0f), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;    \
        for (int64_t i = 0; i < n / QK8_0; i++) {                                                             \
            const float32x4_t dd = vmulq_n_f32(halves4(a0[i].d, a1[i].d, a2[i].d, a3[i].d), h2f(b[i].d));     \
            const int8x16_t y0 = vld1q_s8(b[i].qs), y1 = vld1q_s8(b[i].qs + 16);                              \
            Q8_0_ROW(LANES, &a0[i], y0, y1, l0, h0, dd, 0);                                                   \
            Q8_0_ROW(LANES, &a1[i], y0, y1, l1, h1, dd, 1);                                                   \
            Q8_0_ROW(LANES, &a2[i], y0, y1, l2, h2, dd, 2);                                                   \
            Q8_0_ROW(LANES, &a3[i], y0, y1, l3, h3, dd, 3);                                                   \
        }                                                                                                     \
        out[0] = lanes8_sum(l0, h0);                                                                          \
        out[1] = lanes8_sum(l1, h1);                                                                          \
        out[2] = lanes8_sum(l2, h2);                                                                          \
        out[3] = lanes8_sum(l3, h3);                                                                          \
    }

Q4_1_KERNELS(q4_1, , lane_isums)
Q8_0_KERNELS(q8_0, , lane_isums)
#if HAVE_SDOT
Q4_1_KERNELS(q4_1_sdot, SDOT, lane_isums_sdot)
Q8_0_KERNELS(q8_0_sdot, SDOT, lane_isums_sdot)
#endif

/* ---- Q4_0, Q5_0, Q5_1, Q8_1: exact integer sum per block, then the reference's float expression ---- */

/* sum over a 32-element block of a[j] * y[j], a given as two halves of 16 */
static ALWAYS_INLINE int32_t block_isum(int8x16_t a0, int8x16_t a1, const int8_t *y) {
    return vaddvq_s32(vaddq_s32(dot16(a0, vld1q_s8(y)), dot16(a1, vld1q_s8(y + 16))));
}

static float dot_q4_0(int64_t n, const void *w, const void *x) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    const int8x16_t eight = vdupq_n_s8(8);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK4_0; i++) {
        uint8x16_t u0, u1;
        nibbles32(a[i].qs, &u0, &u1);
        const int isum = block_isum(vsubq_s8(S8(u0), eight), vsubq_s8(S8(u1), eight), b[i].qs);
        sum += h2f(a[i].d) * h2f(b[i].d) * (float)isum;
    }
    return sum;
}

/* a Q5 block's unsigned quants (0..31) in element order */
static ALWAYS_INLINE void q5_quants(const uint8_t *qs, const uint8_t *qh, uint8x16_t *q0, uint8x16_t *q1) {
    uint8x16_t h0, h1;
    nibbles32(qs, q0, q1);
    bit5_32(qh, &h0, &h1);
    *q0 = vorrq_u8(*q0, h0);
    *q1 = vorrq_u8(*q1, h1);
}

static float dot_q5_0(int64_t n, const void *w, const void *x) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    const int8x16_t sixteen = vdupq_n_s8(16);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK5_0; i++) {
        uint8x16_t u0, u1;
        q5_quants(a[i].qs, a[i].qh, &u0, &u1);
        const int isum = block_isum(vsubq_s8(S8(u0), sixteen), vsubq_s8(S8(u1), sixteen), b[i].qs);
        sum += h2f(a[i].d) * h2f(b[i].d) * (float)isum;
    }
    return sum;
}

static float dot_q5_1(int64_t n, const void *w, const void *x) {
    const block_q5_1 *a = w;
    const block_q8_1 *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK5_1; i++) {
        uint8x16_t u0, u1;
        q5_quants(a[i].qs, a[i].qh, &u0, &u1);
        const int isum = block_isum(S8(u0), S8(u1), b[i].qs);
        sum += h2f(a[i].d) * h2f(b[i].d) * (float)isum + h2f(a[i].m) * h2f(b[i].s);
    }
    return sum;
}

static float dot_q8_1(int64_t n, const void *w, const void *x) {
    const block_q8_1 *a = w;
    const block_q8_1 *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK8_1; i++) {
        const int isum = block_isum(vld1q_s8(a[i].qs), vld1q_s8(a[i].qs + 16), b[i].qs);
        sum += h2f(a[i].d) * h2f(b[i].d) * (float)isum;
    }
    return sum;
}

/* ---- K-quants x Q8_K (element orders: see the top of src/quant/q_kquants.c) ---- */

/* acc += sc * sum(a[j] * y[j]) over 16 elements */
static ALWAYS_INLINE int32x4_t scaled16(int32x4_t acc, int8x16_t a, const int8_t *y, int sc) {
    return vmlaq_n_s32(acc, dot16(a, vld1q_s8(y)), sc);
}

static float dot_q2_K(int64_t n, const void *w, const void *x) {
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    const uint8x16_t m3 = vdupq_n_u8(3);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32_t summs = 0;
        for (int g = 0; g < 16; g++) summs += b[i].bsums[g] * (a[i].scales[g] >> 4);
        int32x4_t acc = vdupq_n_s32(0);
        for (int h = 0; h < 2; h++) {
            const uint8x16_t q0 = vld1q_u8(a[i].qs + 32 * h), q1 = vld1q_u8(a[i].qs + 32 * h + 16);
            const int8_t *y = b[i].qs + 128 * h;
            for (int j = 0; j < 4; j++, y += 32) {
                /* vshlq by a negative count shifts right */
                const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * j));
                const int g = 8 * h + 2 * j;
                acc = scaled16(acc, S8(vandq_u8(vshlq_u8(q0, shift), m3)), y, a[i].scales[g] & 0xF);
                acc = scaled16(acc, S8(vandq_u8(vshlq_u8(q1, shift), m3)), y + 16, a[i].scales[g + 1] & 0xF);
            }
        }
        const int32_t isum = vaddvq_s32(acc);
        const float dall = b[i].d * h2f(a[i].d);
        const float dmin = b[i].d * h2f(a[i].dmin);
        sum += dall * (float)isum - dmin * (float)summs;
    }
    return sum;
}

static float dot_q3_K(int64_t n, const void *w, const void *x) {
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    const uint8x16_t m3 = vdupq_n_u8(3), four = vdupq_n_u8(4);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t sc[16];
        hq_q3k_scales(a[i].scales, sc);
        const uint8x16_t hm0 = vld1q_u8(a[i].hmask), hm1 = vld1q_u8(a[i].hmask + 16);
        int32x4_t acc = vdupq_n_s32(0);
        for (int h = 0; h < 2; h++) {
            const uint8x16_t q0 = vld1q_u8(a[i].qs + 32 * h), q1 = vld1q_u8(a[i].qs + 32 * h + 16);
            const int8_t *y = b[i].qs + 128 * h;
            for (int j = 0; j < 4; j++, y += 32) {
                const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * j));
                const uint8x16_t bit = vdupq_n_u8((uint8_t)(1u << (4 * h + j)));
                /* low 2 bits, plus 4 where the high bit is set, minus 4: -4..3 */
                const uint8x16_t u0 =
                    vorrq_u8(vandq_u8(vshlq_u8(q0, shift), m3), vandq_u8(vtstq_u8(hm0, bit), four));
                const uint8x16_t u1 =
                    vorrq_u8(vandq_u8(vshlq_u8(q1, shift), m3), vandq_u8(vtstq_u8(hm1, bit), four));
                const int g = 8 * h + 2 * j;
                acc = scaled16(acc, vsubq_s8(S8(u0), S8(four)), y, sc[g]);
                acc = scaled16(acc, vsubq_s8(S8(u1), S8(four)), y + 16, sc[g + 1]);
            }
        }
        const int32_t isum = vaddvq_s32(acc);
        sum += h2f(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}

/* One Q4_K or Q5_K super-block (the same 6-bit scales and mins); qh is NULL for Q4_K. Returns the
 * reference's d * isum - dmin * summs. */
static ALWAYS_INLINE float k4_block(const block_q8_K *by, const uint8_t *scales, hone_f16 d16, hone_f16 dmin16,
                                    const uint8_t *qs, const uint8_t *qh) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; j++) hq_k4_scale_min(j, scales, &sc[j], &mn[j]);
    int32_t summs = 0;
    for (int j = 0; j < 8; j++) summs += (by->bsums[2 * j] + by->bsums[2 * j + 1]) * mn[j];
    const uint8x16_t m4 = vdupq_n_u8(0xF), sixteen = vdupq_n_u8(16);
    const uint8x16_t h0 = qh ? vld1q_u8(qh) : vdupq_n_u8(0), h1 = qh ? vld1q_u8(qh + 16) : vdupq_n_u8(0);
    int32x4_t acc = vdupq_n_s32(0);
    for (int c = 0; c < 4; c++) {
        const uint8x16_t q0 = vld1q_u8(qs + 32 * c), q1 = vld1q_u8(qs + 32 * c + 16);
        uint8x16_t lo0 = vandq_u8(q0, m4), lo1 = vandq_u8(q1, m4);
        uint8x16_t hi0 = vshrq_n_u8(q0, 4), hi1 = vshrq_n_u8(q1, 4);
        if (qh) {
            const uint8x16_t b1 = vdupq_n_u8((uint8_t)(1u << (2 * c)));
            const uint8x16_t b2 = vdupq_n_u8((uint8_t)(2u << (2 * c)));
            lo0 = vorrq_u8(lo0, vandq_u8(vtstq_u8(h0, b1), sixteen));
            lo1 = vorrq_u8(lo1, vandq_u8(vtstq_u8(h1, b1), sixteen));
            hi0 = vorrq_u8(hi0, vandq_u8(vtstq_u8(h0, b2), sixteen));
            hi1 = vorrq_u8(hi1, vandq_u8(vtstq_u8(h1, b2), sixteen));
        }
        const int8_t *y = by->qs + 64 * c;
        const int32x4_t plo = vaddq_s32(dot16(S8(lo0), vld1q_s8(y)), dot16(S8(lo1), vld1q_s8(y + 16)));
        const int32x4_t phi = vaddq_s32(dot16(S8(hi0), vld1q_s8(y + 32)), dot16(S8(hi1), vld1q_s8(y + 48)));
        acc = vmlaq_n_s32(vmlaq_n_s32(acc, plo, sc[2 * c]), phi, sc[2 * c + 1]);
    }
    const int32_t isum = vaddvq_s32(acc);
    const float d = h2f(d16) * by->d;
    const float dmin = h2f(dmin16) * by->d;
    return d * (float)isum - dmin * (float)summs;
}

static float dot_q4_K(int64_t n, const void *w, const void *x) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++)
        sum += k4_block(&b[i], a[i].scales, a[i].d, a[i].dmin, a[i].qs, NULL);
    return sum;
}

static float dot_q5_K(int64_t n, const void *w, const void *x) {
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++)
        sum += k4_block(&b[i], a[i].scales, a[i].d, a[i].dmin, a[i].qs, a[i].qh);
    return sum;
}

static float dot_q6_K(int64_t n, const void *w, const void *x) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    const uint8x16_t m4 = vdupq_n_u8(0xF), m3 = vdupq_n_u8(3);
    const int8x16_t off = vdupq_n_s8(32);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32x4_t acc = vdupq_n_s32(0);
        for (int h = 0; h < 2; h++) {
            const uint8_t *L = a[i].ql + 64 * h, *H = a[i].qh + 32 * h;
            const int8_t *y = b[i].qs + 128 * h;
            const int8_t *sc = a[i].scales + 8 * h;
            for (int half = 0; half < 2; half++) { /* l = 16 * half .. 16 * half + 15 */
                const uint8x16_t l0 = vld1q_u8(L + 16 * half), l1 = vld1q_u8(L + 32 + 16 * half);
                const uint8x16_t hh = vld1q_u8(H + 16 * half);
                /* elements l, l + 32, l + 64, l + 96: four nibbles with two high bits each, minus 32 */
                const uint8x16_t u[4] = {
                    vorrq_u8(vandq_u8(l0, m4), vshlq_n_u8(vandq_u8(hh, m3), 4)),
                    vorrq_u8(vandq_u8(l1, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hh, 2), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l0, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(hh, 4), m3), 4)),
                    vorrq_u8(vshrq_n_u8(l1, 4), vshlq_n_u8(vshrq_n_u8(hh, 6), 4)),
                };
                for (int k = 0; k < 4; k++) /* element 32k + 16 half + t is group 2k + half */
                    acc = scaled16(acc, vsubq_s8(S8(u[k]), off), y + 32 * k + 16 * half, sc[2 * k + half]);
            }
        }
        const int32_t isum = vaddvq_s32(acc);
        sum += h2f(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}

static float dot_q8_K(int64_t n, const void *w, const void *x) {
    const block_q8_K *a = w;
    const block_q8_K *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32x4_t acc = vdupq_n_s32(0);
        for (int j = 0; j < QK_K; j += 16)
            acc = vaddq_s32(acc, dot16(vld1q_s8(a[i].qs + j), vld1q_s8(b[i].qs + j)));
        sum += a[i].d * b[i].d * (float)vaddvq_s32(acc);
    }
    return sum;
}

/* ---- float formats: float lanes, a double total every CHUNK elements ---- */

#define CHUNK 256

static ALWAYS_INLINE float32x4_t load_f32x4(const float *p) { return vld1q_f32(p); }
static ALWAYS_INLINE float32x4_t load_f16x4(const hone_f16 *p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}
static ALWAYS_INLINE float32x4_t load_bf16x4(const hone_bf16 *p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

/* Four accumulators of four lanes per chunk of CHUNK elements, each chunk's sum added in double,
 * the tail element by element in double (the products exact in float for F16/BF16). */
#define FLOAT_DOT_BODY(T, LOAD4, TO_F32)                                                                      \
    const T *a = w, *b = x;                                                                                   \
    double total = 0.0;                                                                                       \
    int64_t i = 0;                                                                                            \
    while (n - i >= 16) {                                                                                     \
        const int64_t end = i + CHUNK < n ? i + CHUNK : n;                                                    \
        float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;                                        \
        for (; i + 16 <= end; i += 16) {                                                                      \
            s0 = vfmaq_f32(s0, LOAD4(a + i), LOAD4(b + i));                                                   \
            s1 = vfmaq_f32(s1, LOAD4(a + i + 4), LOAD4(b + i + 4));                                           \
            s2 = vfmaq_f32(s2, LOAD4(a + i + 8), LOAD4(b + i + 8));                                           \
            s3 = vfmaq_f32(s3, LOAD4(a + i + 12), LOAD4(b + i + 12));                                         \
        }                                                                                                     \
        total += (double)vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));                         \
    }                                                                                                         \
    for (; i < n; i++) total += TO_F32(a[i], b[i]);                                                           \
    return (float)total

#define F32_TAIL(p, q) ((double)(p) * (double)(q))
#define F16_TAIL(p, q) ((double)(h2f(p) * h2f(q)))
#define BF16_TAIL(p, q) ((double)(hone_bf16_to_f32(p) * hone_bf16_to_f32(q)))

static float dot_f32(int64_t n, const void *w, const void *x) {
    FLOAT_DOT_BODY(float, load_f32x4, F32_TAIL);
}

static float dot_f16(int64_t n, const void *w, const void *x) {
    FLOAT_DOT_BODY(hone_f16, load_f16x4, F16_TAIL);
}

static float dot_bf16(int64_t n, const void *w, const void *x) {
    FLOAT_DOT_BODY(hone_bf16, load_bf16x4, BF16_TAIL);
}

hone_vec_dot_fn kernel_vec_dot_neon(hone_type t) {
    switch (t) {
    case HONE_TYPE_F32: return dot_f32;
    case HONE_TYPE_F16: return dot_f16;
    case HONE_TYPE_BF16: return dot_bf16;
    case HONE_TYPE_Q4_0: return dot_q4_0;
    case HONE_TYPE_Q4_1: return dot_q4_1;
    case HONE_TYPE_Q5_0: return dot_q5_0;
    case HONE_TYPE_Q5_1: return dot_q5_1;
    case HONE_TYPE_Q8_0: return dot_q8_0;
    case HONE_TYPE_Q8_1: return dot_q8_1;
    case HONE_TYPE_Q2_K: return dot_q2_K;
    case HONE_TYPE_Q3_K: return dot_q3_K;
    case HONE_TYPE_Q4_K: return dot_q4_K;
    case HONE_TYPE_Q5_K: return dot_q5_K;
    case HONE_TYPE_Q6_K: return dot_q6_K;
    case HONE_TYPE_Q8_K: return dot_q8_K;
    default: return NULL;
    }
}

hone_vec_dot4_fn kernel_vec_dot4_neon(hone_type t) {
    switch (t) {
    case HONE_TYPE_Q4_1: return dot4_q4_1;
    case HONE_TYPE_Q8_0: return dot4_q8_0;
    default: return NULL;
    }
}

hone_vec_dot_fn kernel_vec_dot_dotprod(hone_type t) {
    switch (t) {
#if HAVE_SDOT
    case HONE_TYPE_Q4_1: return dot_q4_1_sdot;
    case HONE_TYPE_Q8_0: return dot_q8_0_sdot;
#endif
    default: return NULL;
    }
}

hone_vec_dot4_fn kernel_vec_dot4_dotprod(hone_type t) {
    switch (t) {
#if HAVE_SDOT
    case HONE_TYPE_Q4_1: return dot4_q4_1_sdot;
    case HONE_TYPE_Q8_0: return dot4_q8_0_sdot;
#endif
    default: return NULL;
    }
}

#else

hone_vec_dot_fn kernel_vec_dot_neon(hone_type t) {
    (void)t;
    return NULL;
}

hone_vec_dot4_fn kernel_vec_dot4_neon(hone_type t) {
    (void)t;
    return NULL;
}

hone_vec_dot_fn kernel_vec_dot_dotprod(hone_type t) {
    (void)t;
    return NULL;
}

hone_vec_dot4_fn kernel_vec_dot4_dotprod(hone_type t) {
    (void)t;
    return NULL;
}

#endif
