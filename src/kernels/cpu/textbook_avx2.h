/*
 * textbook_avx2.h - AVX2 dot products of hone's textbook types (INT8_*, ASYM*_*, LOG*_*; see
 * quant/quant.h) with Q8_0 activations. x86-64 only; dispatch.c routes these types here at the AVX2
 * and AVX-512 levels.
 */
#ifndef HONE_KERNELS_CPU_TEXTBOOK_AVX2_H
#define HONE_KERNELS_CPU_TEXTBOOK_AVX2_H

#include "kernels/cpu/dispatch.h"

/* The AVX2 kernel for textbook type t, or NULL (another type, or a build without AVX2 kernels).
 * Exactly the bits of the scalar reference (hone_tb_dot_ref) for activation quants in [-127, 127],
 * which every Q8_0 quantiser produces. Only call it on a CPU that kernel_cpu_detected() reports as
 * AVX2 or better. */
hone_vec_dot_fn kernel_vec_dot_textbook_avx2(hone_type t);

/* The tiled AVX2 kernel (hone_gemm_fn: several weight rows x several activation rows) for textbook
 * type t, or NULL. Eight activation rows at a time share the unpacked codes; every element has
 * exactly the bits of the one-row kernel (and so of the reference). */
hone_gemm_fn kernel_gemm_textbook_avx2(hone_type t);

#endif
