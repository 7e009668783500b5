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
 * F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K, Q2_K..Q6_K.
 * HONE_ERR_UNSUPPORTED for others, HONE_ERR_INVALID_ARG when n does not
 * fit the block size. */
hone_status hone_quantize_row(hone_type t, const float *src, void *dst, int64_t n);

/* Dot product of n elements: `w` a row of type t, `x` the activations
 * already quantised to vec_dot_type(t). */
float hone_vec_dot(hone_type t, int64_t n, const void *w, const void *x);

#endif
