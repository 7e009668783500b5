/*
 * q_float.c - the unblocked float formats: F32, F16 and BF16 (block size 1).
 *
 * Conversions go through core/fp16.h (round to nearest even), so a stored half or bfloat16 is
 * bit-identical to what ggml writes. Dot products:
 *   F32  x F32:  float accumulation in index order (the simplest well-defined order; SIMD variants
 *                are compared against it with a normalised bound).
 *   F16  x F16 and BF16 x BF16: each product is exact in float (11- or 8-bit mantissas), and the
 *                products are summed in double, as ggml's scalar reference does (ggml_float), which
 *                is also the order-independent best answer that any SIMD variant approximates.
 */
#include "quant/blocks.h"

/* Half to float without branches, so that row loops vectorise (core/fp16.h's version branches per
 * element). Shift exponent and mantissa into float position and rebias the exponent by 112; then
 * fix the two special exponents with selects: all-ones (inf/NaN) gets a further +112 so it becomes
 * 255, and zero (zero/subnormal) is renormalised by the float subtraction of 2^-14, which is exact.
 * Equal to hone_f16_to_f32 for all 65536 inputs (test_quant checks). */
static inline float f16_to_f32_nb(hone_f16 h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t o = (uint32_t)(h & 0x7fff) << 13;
    const uint32_t exp = o & 0x0f800000u;
    o += (uint32_t)(127 - 15) << 23;
    o += exp == 0x0f800000u ? (uint32_t)(128 - 16) << 23 : 0;
    const float sub = hone_bits_f32(o + (1u << 23)) - hone_bits_f32(113u << 23);
    const uint32_t mag = exp == 0 ? hone_f32_bits(sub) : o;
    return hone_bits_f32(mag | sign);
}

/* Exposed for the exhaustive comparison in tests/quant/test_quant.c. */
float hq_f16_to_f32_nb(hone_f16 h) { return f16_to_f32_nb(h); }

void hq_dequant_f32(const void *src, float *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void hq_dequant_f16(const void *src, float *dst, int64_t n) {
    const hone_f16 *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = f16_to_f32_nb(h[i]);
}

void hq_dequant_bf16(const void *src, float *dst, int64_t n) {
    const hone_bf16 *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = hone_bf16_to_f32(h[i]);
}

void hq_quant_f32(const float *src, void *dst, int64_t n) {
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void hq_quant_f16(const float *src, void *dst, int64_t n) {
    hone_f16 *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = hone_f32_to_f16(src[i]);
}

void hq_quant_bf16(const float *src, void *dst, int64_t n) {
    hone_bf16 *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = hone_f32_to_bf16(src[i]);
}

float hq_dot_f32(int64_t n, const void *w, const void *x) {
    const float *a = w, *b = x;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += a[i] * b[i];
    return sum;
}

float hq_dot_f16(int64_t n, const void *w, const void *x) {
    const hone_f16 *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(f16_to_f32_nb(a[i]) * f16_to_f32_nb(b[i]));
    return (float)sum;
}

float hq_dot_bf16(int64_t n, const void *w, const void *x) {
    const hone_bf16 *a = w, *b = x;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) sum += (double)(hone_bf16_to_f32(a[i]) * hone_bf16_to_f32(b[i]));
    return (float)sum;
}
