/*
 * dot_neon.h - the aarch64 Advanced SIMD dot-product kernels (see dispatch.h for how they are chosen
 * and what they guarantee). Two tables: baseline armv8-a NEON, and the armv8.2 dot product (SDOT)
 * variants of the kernels it speeds up; a type missing from the dotprod table uses the NEON one.
 */
#ifndef HONE_KERNELS_CPU_DOT_NEON_H
#define HONE_KERNELS_CPU_DOT_NEON_H

#include "kernels/cpu/dispatch.h"

/* The NEON kernel for type t, or NULL when there is none (or this is not a little-endian aarch64
 * build). Only call the result on a CPU that kernel_cpu_has(KERNEL_CPU_NEON). */
hone_vec_dot_fn kernel_vec_dot_neon(hone_type t);
hone_vec_dot4_fn kernel_vec_dot4_neon(hone_type t);

/* The SDOT kernel for type t, or NULL; only on a CPU that kernel_cpu_has(KERNEL_CPU_DOTPROD). */
hone_vec_dot_fn kernel_vec_dot_dotprod(hone_type t);
hone_vec_dot4_fn kernel_vec_dot4_dotprod(hone_type t);

#endif
