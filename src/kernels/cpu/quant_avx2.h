/*
 * quant_avx2.h - AVX2 quantisation of activation rows, bit-identical to hone_quantize_row (see
 * quant_avx2.c). NULL for types without one (or on other builds); only call on an AVX2 CPU.
 */
#ifndef HONE_KERNELS_CPU_QUANT_AVX2_H
#define HONE_KERNELS_CPU_QUANT_AVX2_H

#include <stdint.h>

#include "core/dtype.h"

/* Quantise n floats (a multiple of the type's block size) into dst. */
typedef void (*hone_quant_row_fn)(const float *x, void *dst, int64_t n);

hone_quant_row_fn kernel_quant_row_avx2(hone_type t);

#endif
