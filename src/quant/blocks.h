/*
 * blocks.h - the byte layout of every block format (internal to src/quant and its SIMD variants).
 *
 * Each struct is exactly the GGUF/ggml block: same field order, same size, no padding, little-endian.
 * The static asserts tie the structs to the sizes in core/dtype.c. Halves are stored as raw uint16
 * bits (hone_f16) and converted with core/fp16.h, never through a compiler half type, so the code is
 * portable and the conversion rounds exactly as ggml's does (RNE).
 *
 * Alignment: the legacy and K-quant blocks need 2-byte alignment, Q8_K 4-byte; GGUF tensor data is
 * 32-byte aligned and every row size is a multiple of these, so rows from a file always qualify.
 *
 * Also declares the per-type routines that quant.c dispatches to. `nb` is a count of blocks.
 */
#ifndef HONE_QUANT_BLOCKS_H
#define HONE_QUANT_BLOCKS_H

#include <stdint.h>
#include <string.h>

#include "core/fp16.h"

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef struct {
    hone_f16 d;            /* scale: x = d * (q - 8) */
    uint8_t qs[QK4_0 / 2]; /* element j in the low nibble of byte j, element j+16 in its high nibble */
} block_q4_0;

typedef struct {
    hone_f16 d, m;         /* x = d * q + m */
    uint8_t qs[QK4_1 / 2]; /* nibble layout as Q4_0 */
} block_q4_1;

typedef struct {
    hone_f16 d;            /* x = d * (q - 16) */
    uint8_t qh[4];         /* bit j of this little-endian u32 is bit 4 of element j */
    uint8_t qs[QK5_0 / 2]; /* low 4 bits, nibble layout as Q4_0 */
} block_q5_0;

typedef struct {
    hone_f16 d, m; /* x = d * q + m */
    uint8_t qh[4];
    uint8_t qs[QK5_1 / 2];
} block_q5_1;

typedef struct {
    hone_f16 d; /* x = d * q */
    int8_t qs[QK8_0];
} block_q8_0;

typedef struct {
    hone_f16 d; /* x = d * q */
    hone_f16 s; /* d * sum(q): lets Q4_1/Q5_1 add their min term once per block */
    int8_t qs[QK8_1];
} block_q8_1;

/* K-quants: a 256-element super-block of 16 or 8 sub-blocks, each with a small quantised scale
 * (and min) that the super-block's half-precision d (and dmin) scale. */
typedef struct {
    uint8_t scales[QK_K / 16]; /* low nibble: scale, high nibble: min, per 16 elements */
    uint8_t qs[QK_K / 4];      /* 2-bit quants; see q_kquants.c for the order */
    hone_f16 d, dmin;
} block_q2_K;

typedef struct {
    uint8_t hmask[QK_K / 8]; /* bit 2 of each quant (set means "no -4") */
    uint8_t qs[QK_K / 4];    /* low 2 bits */
    uint8_t scales[12];      /* 16 six-bit scales, biased by 32 */
    hone_f16 d;
} block_q3_K;

typedef struct {
    hone_f16 d, dmin;
    uint8_t scales[K_SCALE_SIZE]; /* 8 six-bit scales + 8 six-bit mins */
    uint8_t qs[QK_K / 2];
} block_q4_K;

typedef struct {
    hone_f16 d, dmin;
    uint8_t scales[K_SCALE_SIZE];
    uint8_t qh[QK_K / 8]; /* bit 4 of each quant */
    uint8_t qs[QK_K / 2];
} block_q5_K;

typedef struct {
    uint8_t ql[QK_K / 2];     /* low 4 bits */
    uint8_t qh[QK_K / 4];     /* high 2 bits */
    int8_t scales[QK_K / 16]; /* signed 8-bit scale per 16 elements */
    hone_f16 d;
} block_q6_K;

/* IQ4_NL: 32 elements, each a 4-bit index into a fixed non-linear table of 16 signed levels
 * (hq_iq4nl_values): x = d * values[q]. Same size as Q4_0 (4.5 bits per weight), but the levels are
 * denser near zero, where most weights lie. Nibble layout as Q4_0. */
#define QK4_NL 32
typedef struct {
    hone_f16 d;
    uint8_t qs[QK4_NL / 2];
} block_iq4_nl;

typedef struct {
    float d; /* a full float: the activation side of every K-quant dot product */
    int8_t qs[QK_K];
    int16_t bsums[QK_K / 16]; /* sum of each 16 quants, for the K-quants' min terms */
} block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K layout");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K layout");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K layout");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl layout");

/* Round to nearest, ties to even, as ggml's K-quant code does: adding 1.5 * 2^23 pushes the
 * fraction bits out of the mantissa, so the FPU's own rounding picks the integer; the low 23 bits
 * then hold it with a bias of 2^22. Exact for |v| < 2^22, and free of undefined behaviour for
 * any input (NaN or huge values give garbage, not a trap). */
static inline int hq_nearest_int(float v) {
    float t = v + 12582912.0f;
    int32_t i;
    memcpy(&i, &t, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

/* Extract 6-bit scale and min number j (0..7) of a Q4_K/Q5_K 12-byte scale array: the first four
 * pairs sit in the low 6 bits of bytes 0..3 / 4..7; the last four take their low 4 bits from the
 * nibbles of bytes 8..11 and their top 2 bits from the spare top bits of bytes 0..7. */
static inline void hq_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *mn = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Unpack Q3_K's 16 six-bit scales (stored as 4 low bits in bytes 0..7, 2 high bits in 8..11),
 * minus their bias of 32. */
static inline void hq_q3k_scales(const uint8_t *s, int8_t out[16]) {
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
        int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* Per-type routines (nb = number of blocks). Dequantise and dot never fail; quantise cannot fail
 * once quant.c has checked n. */
void hq_dequant_f32(const void *src, float *dst, int64_t n);
void hq_dequant_f16(const void *src, float *dst, int64_t n);
void hq_dequant_bf16(const void *src, float *dst, int64_t n);
void hq_quant_f32(const float *src, void *dst, int64_t n);
void hq_quant_f16(const float *src, void *dst, int64_t n);
void hq_quant_bf16(const float *src, void *dst, int64_t n);
float hq_f16_to_f32_nb(hone_f16 h); /* branch-free twin of hone_f16_to_f32 */
float hq_dot_f32(int64_t n, const void *w, const void *x);
float hq_dot_f16(int64_t n, const void *w, const void *x);
float hq_dot_bf16(int64_t n, const void *w, const void *x);

void hq_dequant_q4_0(const void *src, float *dst, int64_t nb);
void hq_dequant_q4_1(const void *src, float *dst, int64_t nb);
void hq_dequant_q5_0(const void *src, float *dst, int64_t nb);
void hq_dequant_q5_1(const void *src, float *dst, int64_t nb);
void hq_dequant_q8_0(const void *src, float *dst, int64_t nb);
void hq_dequant_q8_1(const void *src, float *dst, int64_t nb);
void hq_quant_q4_0(const float *src, void *dst, int64_t nb);
void hq_quant_q4_1(const float *src, void *dst, int64_t nb);
void hq_quant_q5_0(const float *src, void *dst, int64_t nb);
void hq_quant_q5_1(const float *src, void *dst, int64_t nb);
void hq_quant_q8_0(const float *src, void *dst, int64_t nb);
void hq_quant_q8_1(const float *src, void *dst, int64_t nb);
float hq_dot_q4_0_q8_0(int64_t nb, const void *w, const void *x);
float hq_dot_q4_1_q8_1(int64_t nb, const void *w, const void *x);
float hq_dot_q5_0_q8_0(int64_t nb, const void *w, const void *x);
float hq_dot_q5_1_q8_1(int64_t nb, const void *w, const void *x);
float hq_dot_q8_0_q8_0(int64_t nb, const void *w, const void *x);
float hq_dot_q8_1_q8_1(int64_t nb, const void *w, const void *x);

void hq_dequant_q2_K(const void *src, float *dst, int64_t nb);
void hq_dequant_q3_K(const void *src, float *dst, int64_t nb);
void hq_dequant_q4_K(const void *src, float *dst, int64_t nb);
void hq_dequant_q5_K(const void *src, float *dst, int64_t nb);
void hq_dequant_q6_K(const void *src, float *dst, int64_t nb);
void hq_dequant_q8_K(const void *src, float *dst, int64_t nb);
void hq_quant_q2_K(const float *src, void *dst, int64_t nb);
void hq_quant_q3_K(const float *src, void *dst, int64_t nb);
void hq_quant_q4_K(const float *src, void *dst, int64_t nb);
void hq_quant_q5_K(const float *src, void *dst, int64_t nb);
void hq_quant_q6_K(const float *src, void *dst, int64_t nb);
void hq_quant_q8_K(const float *src, void *dst, int64_t nb);
float hq_dot_q2_K_q8_K(int64_t nb, const void *w, const void *x);
float hq_dot_q3_K_q8_K(int64_t nb, const void *w, const void *x);
float hq_dot_q4_K_q8_K(int64_t nb, const void *w, const void *x);
float hq_dot_q5_K_q8_K(int64_t nb, const void *w, const void *x);
float hq_dot_q6_K_q8_K(int64_t nb, const void *w, const void *x);
float hq_dot_q8_K_q8_K(int64_t nb, const void *w, const void *x);

/* IQ4_NL (q_iq4nl.c). The reference quantiser searches the block scale with weights x^2; the
 * importance-weighted search is hq_quant_iq4_nl_search (imp: 32 * nb weights >= 0; wide: search
 * scales that clip the extreme element further, for calibration importances). */
extern const int8_t hq_iq4nl_values[16];
void hq_dequant_iq4_nl(const void *src, float *dst, int64_t nb);
void hq_quant_iq4_nl(const float *src, void *dst, int64_t nb);
void hq_quant_iq4_nl_search(const float *src, void *dst, int64_t nb, const float *imp, int wide);
float hq_dot_iq4_nl_q8_0(int64_t nb, const void *w, const void *x);

/* Importance-weighted K-quant quantisers, one super-block (q_kquants_search.c): w holds 256 weights
 * >= 0; they minimise sum w (x - dequant)^2 instead of reproducing llama-quantize's reference. */
void hq_quant_q3_K_weighted(const float *x, const float *w, void *dst);
void hq_quant_q4_K_weighted(const float *x, const float *w, void *dst);
void hq_quant_q5_K_weighted(const float *x, const float *w, void *dst);
void hq_quant_q6_K_weighted(const float *x, const float *w, void *dst);

#endif
