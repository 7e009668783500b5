/*
 * test_quant_known.c - known-answer vectors for the block formats.
 *
 * Hand-built blocks with chosen bytes must dequantise to floats worked out by hand from the GGUF
 * format definition, and chosen inputs must quantise to known bytes. Unlike the round-trip tests,
 * these fail when the bit layout (nibble order, high-bit placement, scale packing) or the rounding
 * rule is wrong even though encode and decode agree with each other.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "quant/blocks.h"
#include "quant/quant.h"

#define H_1 0x3c00    /* half 1.0 */
#define H_0_5 0x3800  /* half 0.5 */
#define H_0_25 0x3400 /* half 0.25 */
#define H_M1 0xbc00   /* half -1.0 */
#define H_2 0x4000    /* half 2.0 */

static void expect_row(const char *what, const float *got, const float *want, int n) {
    int bad = 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i] && bad++ < 4) CHECKF(0, "%s[%d]: got %.9g want %.9g", what, i, got[i], want[i]);
    CHECKF(bad == 0, "%s: %d of %d elements differ", what, bad, n);
}

static void legacy_blocks(void) {
    float y[32], want[32];

    /* Q4_0, d = 0.5: byte j = (15-j) << 4 | j, so element j = (j-8)/2, element j+16 = (7-j)/2 */
    block_q4_0 a = {.d = H_0_5};
    for (int j = 0; j < 16; j++) a.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    for (int j = 0; j < 16; j++) {
        want[j] = (j - 8) * 0.5f;
        want[j + 16] = (7 - j) * 0.5f;
    }
    hone_dequantize_row(HONE_TYPE_Q4_0, &a, y, 32);
    expect_row("q4_0", y, want, 32);

    /* Q4_1, d = 0.5, m = -1, nibbles 0..15 low, 15..0 high */
    block_q4_1 b = {.d = H_0_5, .m = H_M1};
    for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    for (int j = 0; j < 16; j++) {
        want[j] = j * 0.5f - 1.0f;
        want[j + 16] = (15 - j) * 0.5f - 1.0f;
    }
    hone_dequantize_row(HONE_TYPE_Q4_1, &b, y, 32);
    expect_row("q4_1", y, want, 32);

    /* Q5_0, d = 0.25: low nibbles all 1, qh = 0x80000001 as little-endian bytes: bit 0 sets the
     * high bit of element 0, bit 31 that of element 31. */
    block_q5_0 c = {.d = H_0_25, .qh = {0x01, 0x00, 0x00, 0x80}};
    memset(c.qs, 0x11, sizeof c.qs);
    for (int j = 0; j < 32; j++) want[j] = (1 - 16) * 0.25f;
    want[0] = want[31] = (17 - 16) * 0.25f;
    hone_dequantize_row(HONE_TYPE_Q5_0, &c, y, 32);
    expect_row("q5_0", y, want, 32);

    /* Q5_1, d = 1, m = -1: qh byte 2 = 0x02 is bit 17 -> element 17; nibbles: low = j, high = 3 */
    block_q5_1 e = {.d = H_1, .m = H_M1, .qh = {0x00, 0x00, 0x02, 0x00}};
    for (int j = 0; j < 16; j++) e.qs[j] = (uint8_t)(j | (3 << 4));
    for (int j = 0; j < 16; j++) {
        want[j] = j - 1.0f;
        want[j + 16] = 3 - 1.0f;
    }
    want[17] = 3 + 16 - 1.0f;
    hone_dequantize_row(HONE_TYPE_Q5_1, &e, y, 32);
    expect_row("q5_1", y, want, 32);

    /* Q8_0, d = 2: q_j = j - 16 */
    block_q8_0 f = {.d = H_2};
    for (int j = 0; j < 32; j++) {
        f.qs[j] = (int8_t)(j - 16);
        want[j] = (j - 16) * 2.0f;
    }
    hone_dequantize_row(HONE_TYPE_Q8_0, &f, y, 32);
    expect_row("q8_0", y, want, 32);
}

static void q8_quantise(void) {
    /* amax 127 makes d = 1 and id = 127/amax = 1, so the quants are the inputs rounded half to
     * even, as llama.cpp's x86 activation quantiser rounds (2.5 -> 2, -2.5 -> -2, 0.5 -> 0,
     * 1.5 -> 2), which ggml's scalar reference (roundf, ties away from zero) would not give. */
    float x[32] = {127.0f, 2.5f, -2.5f, 0.5f, -0.5f, 1.5f, -1.49f, 0.49f, 100.2f, -126.6f};
    const int8_t want_q[10] = {127, 2, -2, 0, 0, 2, -1, 0, 100, -127};
    block_q8_0 q0;
    block_q8_1 q1;
    CHECK(hone_quantize_row(HONE_TYPE_Q8_0, x, &q0, 32) == HONE_OK);
    CHECK(hone_quantize_row(HONE_TYPE_Q8_1, x, &q1, 32) == HONE_OK);
    CHECKF(q0.d == H_1, "q8_0 d = 0x%04x", q0.d);
    CHECKF(q1.d == H_1, "q8_1 d = 0x%04x", q1.d);
    int sum = 0;
    for (int j = 0; j < 32; j++) {
        const int w = j < 10 ? want_q[j] : 0;
        CHECKF(q0.qs[j] == w, "q8_0 q[%d] = %d want %d", j, q0.qs[j], w);
        CHECKF(q1.qs[j] == w, "q8_1 q[%d] = %d want %d", j, q1.qs[j], w);
        sum += w;
    }
    /* s = d * sum(q) as a half: sum = 127+2-2+0+0+2-1+0+100-127 = 101 */
    CHECK(sum == 101);
    CHECKF(hone_f16_to_f32(q1.s) == 101.0f, "q8_1 s = %g", hone_f16_to_f32(q1.s));

    /* The multiplier is 127/amax, not 1/d: with amax = 31.1875, x * (127/amax) is exactly 1.5 for
     * this x (and rounds to 2), while x * (1/d) is 1.4999999 (and would round to 1). */
    float y[32] = {31.1875f, 0.36835628747940063f};
    CHECK(hone_quantize_row(HONE_TYPE_Q8_0, y, &q0, 32) == HONE_OK);
    CHECK(hone_quantize_row(HONE_TYPE_Q8_1, y, &q1, 32) == HONE_OK);
    CHECKF(q0.qs[0] == 127 && q0.qs[1] == 2, "q8_0 q = %d %d want 127 2", q0.qs[0], q0.qs[1]);
    CHECKF(q1.qs[0] == 127 && q1.qs[1] == 2, "q8_1 q = %d %d want 127 2", q1.qs[0], q1.qs[1]);

    /* Q4_1 quantise: 0..31 scaled by 0.5 around min -1 -> d = 15.5/15, nibbles by truncation of
     * (x - min)/d + 0.5. Check the min and two elements. */
    float z[32];
    for (int j = 0; j < 32; j++) z[j] = -1.0f + (float)j * 0.5f;
    block_q4_1 b;
    CHECK(hone_quantize_row(HONE_TYPE_Q4_1, z, &b, 32) == HONE_OK);
    CHECK(b.m == H_M1);
    CHECK((b.qs[0] & 0xF) == 0);    /* the min maps to 0 */
    CHECK((b.qs[15] >> 4) == 15);   /* element 31, the max, maps to 15 */
    CHECK((b.qs[2] & 0xF) == 1);    /* element 2: 1.0/1.0333 + 0.5 = 1.47 -> 1 */

    /* Q8_K: the element of largest magnitude is -127, so iscale = 1 and d = 1; quants round to
     * nearest even (2.5 -> 2, 3.5 -> 4) and bsums add each 16. */
    float k[256] = {0};
    k[0] = -127.0f;
    k[1] = 2.5f;
    k[2] = 3.5f;
    k[16] = 10.0f;
    k[255] = -1.0f;
    block_q8_K q8k;
    CHECK(hone_quantize_row(HONE_TYPE_Q8_K, k, &q8k, 256) == HONE_OK);
    CHECK(q8k.d == 1.0f);
    CHECK(q8k.qs[0] == -127 && q8k.qs[1] == 2 && q8k.qs[2] == 4 && q8k.qs[16] == 10 && q8k.qs[255] == -1);
    CHECK(q8k.bsums[0] == -127 + 2 + 4);
    CHECK(q8k.bsums[1] == 10 && q8k.bsums[2] == 0 && q8k.bsums[15] == -1);
}

static void kquant_blocks(void) {
    float y[256], want[256];

    /* Q4_K with hand-packed 6-bit scales/mins:
     *   bytes 0..3 low 6 bits = scales 0..3 = 1,2,3,4; bytes 4..7 low 6 bits = mins 0..3 = 5,6,7,8;
     *   bytes 8..11 = (min_j low nibble << 4) | scale_j low nibble for j = 4..7;
     *   top 2 bits of byte 0 (01) are scale 4's bits 4..5, top 2 of byte 4 (10) min 4's bits 4..5.
     * So scale 4 = 1 | 16 = 17, min 4 = 2 | 32 = 34, scale/min 5 = 3/4, 6 = 5/6, 7 = 7/8. */
    const uint8_t sc[8] = {1, 2, 3, 4, 17, 3, 5, 7}, mn[8] = {5, 6, 7, 8, 34, 4, 6, 8};
    block_q4_K k4 = {.d = H_1, .dmin = H_0_5,
                     .scales = {0x41, 0x02, 0x03, 0x04, 0x85, 0x06, 0x07, 0x08, 0x21, 0x43, 0x65, 0x87}};
    for (int b = 0; b < 128; b++) k4.qs[b] = (uint8_t)((b % 16) | ((15 - b % 16) << 4));
    for (int e = 0; e < 256; e++) {
        const int c = e / 64, r = e % 64, sub = 2 * c + (r >= 32);
        const int byte = k4.qs[32 * c + r % 32];
        const int q = r < 32 ? (byte & 0xF) : (byte >> 4);
        want[e] = 1.0f * sc[sub] * q - 0.5f * mn[sub];
    }
    hone_dequantize_row(HONE_TYPE_Q4_K, &k4, y, 256);
    expect_row("q4_K", y, want, 256);
    /* spot checks written out in full: element 0 = 1*0 - 0.5*5; element 32 (high nibble of byte 0,
     * sub-block 1) = 2*15 - 0.5*6; element 130 (chunk 2, sub-block 4, low nibble of byte 66 = 2)
     * = 17*2 - 0.5*34 */
    CHECK(y[0] == -2.5f && y[32] == 27.0f && y[130] == 17.0f);

    /* Q6_K: all ql = 0x21 (low nibble 1, high nibble 2), all qh = 0b11100100 (2-bit fields 0,1,2,3
     * for the four 32-element quarters of each half), scales[g] = g - 8, d = 0.5.
     * quarter 0: q = 1 | 0<<4 = 1; quarter 1: 1 | 1<<4 = 17; quarter 2: 2 | 2<<4 = 34;
     * quarter 3: 2 | 3<<4 = 50; all minus 32. */
    block_q6_K k6 = {.d = H_0_5};
    memset(k6.ql, 0x21, sizeof k6.ql);
    memset(k6.qh, 0xE4, sizeof k6.qh);
    for (int g = 0; g < 16; g++) k6.scales[g] = (int8_t)(g - 8);
    const int quarter_q[4] = {1 - 32, 17 - 32, 34 - 32, 50 - 32};
    for (int e = 0; e < 256; e++) want[e] = 0.5f * (float)(e / 16 - 8) * (float)quarter_q[(e % 128) / 32];
    hone_dequantize_row(HONE_TYPE_Q6_K, &k6, y, 256);
    expect_row("q6_K", y, want, 256);

    /* Q2_K: scales[g] = (g%4) << 4 | (g+1)&15 (min, scale), d = 1, dmin = 0.5; qs byte = 0b11100100
     * gives 2-bit value j for shift 2j, i.e. element e has q = (e % 128) / 32. */
    block_q2_K k2 = {.d = H_1, .dmin = H_0_5};
    for (int g = 0; g < 16; g++) k2.scales[g] = (uint8_t)(((g % 4) << 4) | ((g + 1) & 15));
    memset(k2.qs, 0xE4, sizeof k2.qs);
    for (int e = 0; e < 256; e++) {
        const int g = e / 16;
        want[e] = (float)((g + 1) & 15) * (float)((e % 128) / 32) - 0.5f * (float)(g % 4);
    }
    hone_dequantize_row(HONE_TYPE_Q2_K, &k2, y, 256);
    expect_row("q2_K", y, want, 256);

    /* Q3_K: scale bytes 0..7 = 0x21 (low nibbles: scale j (j<8) = 1, scale j+8 = 2), bytes 8..11 =
     * 0x00 except byte 8 = 0b00000010 (bits 4..5 of scale 0 = 2, i.e. +32) -> scales minus 32:
     * scale 0 = 1 + 32 - 32 = 1, scales 1..7 = 1 - 32 = -31, scales 8..15 = 2 - 32 = -30.
     * qs all 0x1B = 0b00011011: 2-bit fields 3,2,1,0; hmask all 0x0F: the high bit is set (no -4)
     * for the four quarters of the first half, clear for the second. d = 0.25. */
    block_q3_K k3 = {.d = H_0_25};
    memset(k3.scales, 0x21, 8);
    k3.scales[8] = 0x02;
    memset(k3.qs, 0x1B, sizeof k3.qs);
    memset(k3.hmask, 0x0F, sizeof k3.hmask);
    for (int e = 0; e < 256; e++) {
        const int g = e / 16, half = e / 128, quarter = (e % 128) / 32;
        const int s = g == 0 ? 1 : g < 8 ? -31 : -30;
        const int q = (3 - quarter) - (half == 0 ? 0 : 4);
        want[e] = 0.25f * (float)s * (float)q;
    }
    hone_dequantize_row(HONE_TYPE_Q3_K, &k3, y, 256);
    expect_row("q3_K", y, want, 256);

    /* Q5_K: scales as the Q4_K block; qs all 0x00; qh all 0xAA: the high-nibble (odd) sub-blocks
     * get +16, the low ones not. d = 1, dmin = 0.5. */
    block_q5_K k5 = {.d = H_1, .dmin = H_0_5};
    memcpy(k5.scales, k4.scales, 12);
    memset(k5.qh, 0xAA, sizeof k5.qh);
    for (int e = 0; e < 256; e++) {
        const int sub = e / 32;
        want[e] = 1.0f * sc[sub] * (float)(sub % 2 ? 16 : 0) - 0.5f * mn[sub];
    }
    hone_dequantize_row(HONE_TYPE_Q5_K, &k5, y, 256);
    expect_row("q5_K", y, want, 256);
}

static void float_types(void) {
    const uint16_t h[4] = {0x3c00, 0xc000, 0x0001, 0x7bff}; /* 1, -2, smallest subnormal, 65504 */
    const float hw[4] = {1.0f, -2.0f, 5.9604645e-08f, 65504.0f};
    float y[4];
    hone_dequantize_row(HONE_TYPE_F16, h, y, 4);
    expect_row("f16", y, hw, 4);
    const uint16_t bf[2] = {0x3f80, 0xc0a0}; /* 1, -5 */
    const float bw[2] = {1.0f, -5.0f};
    hone_dequantize_row(HONE_TYPE_BF16, bf, y, 2);
    expect_row("bf16", y, bw, 2);
    /* F16 dot: 1*1 + (-2)*(-2) + 65504*1 (exact in double, then rounded once) */
    const uint16_t a[3] = {0x3c00, 0xc000, 0x7bff}, b[3] = {0x3c00, 0xc000, 0x3c00};
    CHECK(hone_vec_dot(HONE_TYPE_F16, 3, a, b) == 65509.0f);
}

int main(void) {
    legacy_blocks();
    q8_quantise();
    kquant_blocks();
    float_types();
    return test_finish();
}
