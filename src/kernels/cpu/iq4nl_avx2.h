/*
 * iq4nl_avx2.h - the AVX2 dot product of IQ4_NL weight rows with Q8_0 activations (x86-64 only;
 * dispatch.c routes IQ4_NL here at the AVX2 and AVX-512 levels, for one row and for prompt batches).
 */
#ifndef HONE_KERNELS_CPU_IQ4NL_AVX2_H
#define HONE_KERNELS_CPU_IQ4NL_AVX2_H

#include "kernels/cpu/dispatch.h"

/* The AVX2 IQ4_NL x Q8_0 kernel, or NULL on builds without it. Exactly the bits of the scalar
 * reference (hq_dot_iq4_nl_q8_0) for activation quants in [-127, 127], which every Q8_0 quantiser
 * produces. Only call it on a CPU that kernel_cpu_detected() reports as AVX2 or better. */
hone_vec_dot_fn kernel_vec_dot_iq4nl_avx2(void);

/* The tiled kernel for prompt batches (hone_gemm_fn): each element has exactly the bits of the
 * one-row kernel. NULL on builds without it. */
hone_gemm_fn kernel_gemm_iq4nl_avx2(void);

#endif
