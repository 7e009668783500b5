/*
 * ops_avx2.h - AVX2 variants of the element-wise kernels in ops.h (same contract, same bits). Only
 * call them when *_available() and the CPU level (dispatch.h) is AVX2 or AVX-512.
 */
#ifndef HONE_KERNELS_CPU_OPS_AVX2_H
#define HONE_KERNELS_CPU_OPS_AVX2_H

#include <stdbool.h>

#include "kernels/cpu/ops.h"

bool op_swiglu_avx2_available(void);
void op_swiglu_avx2(float *out, const float *g, const float *u, int n);

#endif
