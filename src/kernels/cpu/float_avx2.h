/*
 * float_avx2.h - the AVX2 kernels for F32/F16/BF16 weights (see float_avx2.c for their common
 * summation order). NULL on builds without them; only call on a CPU with AVX2, FMA and F16C.
 */
#ifndef HONE_KERNELS_CPU_FLOAT_AVX2_H
#define HONE_KERNELS_CPU_FLOAT_AVX2_H

#include "kernels/cpu/dispatch.h"

hone_vec_dot_fn kernel_float_dot_avx2(hone_type t);
hone_vec_dot4_fn kernel_float_dot4_avx2(hone_type t);
hone_gemm_fn kernel_float_gemm_avx2(hone_type t);

#endif
