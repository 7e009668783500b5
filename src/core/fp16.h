/*
 * fp16.h - IEEE half and bfloat16 <-> float conversions (scalar, exact).
 *
 * Round-to-nearest-even on the way down, as the F16C instructions and
 * ggml's reference do, so that stored halves are bit-identical.
 */
#ifndef HONE_CORE_FP16_H
#define HONE_CORE_FP16_H

#include <stdint.h>
#include <string.h>

typedef uint16_t hone_f16;
typedef uint16_t hone_bf16;

static inline uint32_t hone_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float hone_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static inline float hone_f16_to_f32(hone_f16 h) {
    const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0) {
        if (man == 0) return hone_bits_f32(sign);
        /* subnormal: value = man * 2^-24 */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (exp == 31) return hone_bits_f32(sign | 0x7f800000u | (man << 13));
    return hone_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

static inline hone_f16 hone_f32_to_f16(float f) {
    uint32_t x = hone_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) /* inf or nan */
        return (hone_f16)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0));
    if (ax >= 0x477ff000u) return (hone_f16)(sign | 0x7c00); /* overflow -> inf */
    if (ax < 0x38800000u) {
        /* result is subnormal or zero: scale so that rounding happens at the
         * half's least significant bit, using float addition (RNE). */
        float v = hone_bits_f32(ax) + 0.5f;
        return (hone_f16)(sign | (hone_f32_bits(v) - 0x3f000000u));
    }
    uint32_t mant_odd = (ax >> 13) & 1;
    ax += ((uint32_t)(15 - 127) << 23) + 0xfff + mant_odd;
    return (hone_f16)(sign | (ax >> 13));
}

static inline float hone_bf16_to_f32(hone_bf16 h) { return hone_bits_f32((uint32_t)h << 16); }

static inline hone_bf16 hone_f32_to_bf16(float f) {
    uint32_t u = hone_f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (hone_bf16)((u >> 16) | 64); /* quiet nan */
    return (hone_bf16)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

#endif
