/*
 * dot_avx2.h - the AVX2+FMA+F16C dot-product kernels (x86-64 only; see dispatch.h for how they are
 * chosen and what they guarantee).
 */
#ifndef HONE_KERNELS_CPU_DOT_AVX2_H
#define HONE_KERNELS_CPU_DOT_AVX2_H

#include "kernels/cpu/dispatch.h"

/* The AVX2 kernel for type t, or NULL when there is none (or this is not an x86-64 build). Only
 * call the result on a CPU that kernel_cpu_detected() reports as AVX2 or better. */
hone_vec_dot_fn kernel_vec_dot_avx2(hone_type t);

/* The four-row AVX2 kernel for type t, or NULL. */
hone_vec_dot4_fn kernel_vec_dot4_avx2(hone_type t);

/* The tiled AVX2 kernel for type t (block formats here, float formats from float_avx2.c), or NULL. */
hone_gemm_fn kernel_gemm_avx2(hone_type t);

#endif
