/*
 * quant.h - block formats: reference quantise, dequantise and dot product.
 *
 * Bit-compatible with the GGUF/ggml definitions of each type, so any
 * llama.cpp file loads. These are the scalar references every SIMD or CUDA
 * variant is tested against. A matrix-vector product quantises the
 * activations once to the weight type's vec_dot_type (hone_type_get(t)->
 * vec_dot_type: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for the
 * K-quants, the type itself for F32/F16/BF16) and then calls hone_vec_dot per
 * row, accumulating in the same order as ggml's reference so that logits stay
 * close to llama.cpp's.
 */
#ifndef HONE_QUANT_QUANT_H
#define HONE_QUANT_QUANT_H

#include <stdint.h>

#include "core/dtype.h"
#include "hone.h"

/* n: a multiple of the type's block size (callers check). */
void hone_dequantize_row(hone_type t, const void *src, float *dst, int64_t n);

/* Reference quantisation of one row. Supports every computable type:
 * F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K, Q2_K..Q6_K, IQ4_NL (whose reference
 * already searches the block scale: the format has no closed-form rounding; q_iq4nl.c).
 * HONE_ERR_UNSUPPORTED for others, HONE_ERR_INVALID_ARG when n does not
 * fit the block size. */
hone_status hone_quantize_row(hone_type t, const float *src, void *dst, int64_t n);

/* Dot product of n elements: `w` a row of type t, `x` the activations
 * already quantised to vec_dot_type(t). */
float hone_vec_dot(hone_type t, int64_t n, const void *w, const void *x);

/* ---- hone's textbook types (q_textbook.c; layouts in docs/formats.md) ----
 * INT8_*, ASYM8/4/3/2_*, LOG4/3_* (core/dtype.h): blocks of a half-precision header (scale; asym:
 * scale and minimum; log: the group's max |w|) and then, per 32 weights, 32 codes of b bits. The
 * quantisers are the textbook formulas, rounding half away from zero; the CH types take the
 * whole row's range. The dot products with Q8_0 activations form exact int32 sums per 32 weights
 * (the code-weighted sum and, for asym, the plain sum of the activation codes), then evaluate
 *     acc_d += dx * sum_qx;  acc_m += dx * sum_x     (per 32, in order)
 *     total += d * acc_d + m * acc_m                 (per block, in order; m = 0 but int8/log)
 * in float without contraction, so a SIMD kernel that forms the same integers gives these bits. */
typedef enum { HONE_TB_INT8 = 0, HONE_TB_ASYM = 1, HONE_TB_LOG = 2 } hone_tb_kind;

typedef struct {
    hone_tb_kind kind;
    int bits;  /* code width: int8 8; asym 8, 4, 3, 2; log 4, 3 */
    int group; /* weights per scale: 32, 64, 128; 0 = per output channel */
    int block; /* weights per block: the group, or 64 for per channel */
    int hdr;   /* header bytes: 2 (d) or 4 (d, m) */
    int chunk; /* code bytes per 32 weights */
} hone_tb_layout;

/* The layout of a textbook type; NULL for every other type. */
const hone_tb_layout *hone_tb_layout_of(hone_type t);
/* The type of (kind, bits, group: 32, 64, 128 or 0 = per channel), or -1 where there is none. */
int hone_tb_type(hone_tb_kind kind, int bits, int group);
void hone_tb_dequantize_row(hone_type t, const void *src, float *dst, int64_t n);
hone_status hone_tb_quantize_row(hone_type t, const float *src, void *dst, int64_t n);
/* With importances (calibration): each grid (group, or row for CH types) narrowed by the factor in
 * 1, 0.98, ..., 0.5 (ASYM: about the midpoint, from the top or from the bottom) with the least
 * importance-weighted squared error; imp NULL: the textbook grid, as hone_tb_quantize_row. */
hone_status hone_tb_quantize_row_weighted(hone_type t, const float *src, void *dst, int64_t n, const float *imp);
/* Scalar reference dot product for textbook type t (NULL for other types). */
typedef float (*hone_tb_dot_fn)(int64_t n, const void *w, const void *x);
hone_tb_dot_fn hone_tb_dot_ref(hone_type t);

#endif
