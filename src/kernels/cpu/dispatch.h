/*
 * dispatch.h - run-time choice of CPU kernels by instruction-set level.
 *
 * The level is detected once from the CPU (cpuid through the compiler's builtins on x86-64,
 * getauxval's hardware capabilities on aarch64) and may be lowered with the environment variable
 * HONE_CPU=scalar|avx2|avx512|neon|dotprod (for tests and comparisons); asking for more than the
 * CPU has, or for another architecture's level, gives what it has. The library never prints:
 * callers that want to say which kernels run ask kernel_cpu_level() and kernel_cpu_level_name().
 *
 * Levels form one chain per architecture: scalar < avx2 < avx512 on x86-64, scalar < neon <
 * dotprod on aarch64. A CPU only ever has levels of its own chain, so code that walks the levels
 * should ask kernel_cpu_has() for each value rather than count from scalar up to the detected
 * level (on aarch64 that count would pass through the x86 levels).
 *
 * kernel_vec_dot(t) returns the dot product of a weight row of type t with activations already
 * quantised to vec_dot_type(t), for the active level. Every variant is tested against the scalar
 * reference in src/quant (tests/kernels/test_kernels.c); where hone's results must match
 * llama.cpp's bit for bit (Q4_1, Q8_0) and wherever else it was cheap (all block formats) the
 * variants give exactly the reference's bits, for activations as the quantisers make them (Q8
 * quants in [-127, 127], Q8_K bsums that match the quants); the float formats (F32, F16, BF16)
 * agree within a normalised bound.
 *
 * AVX-512 is detected and selectable, but no AVX-512 kernel exists yet (none could be tested on
 * the development machine), so that level runs the AVX2 kernels.
 */
#ifndef HONE_KERNELS_CPU_DISPATCH_H
#define HONE_KERNELS_CPU_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"

typedef enum {
    KERNEL_CPU_SCALAR = 0,  /* portable C: the references in src/quant */
    KERNEL_CPU_AVX2 = 1,    /* x86-64 with AVX2, FMA and F16C */
    KERNEL_CPU_AVX512 = 2,  /* AVX2 plus AVX-512 F/BW/VL (runs the AVX2 kernels for now) */
    KERNEL_CPU_NEON = 3,    /* aarch64 Advanced SIMD, baseline armv8-a */
    KERNEL_CPU_DOTPROD = 4, /* NEON plus the armv8.2 int8 dot product (SDOT) where it helps */
} kernel_level;

#define KERNEL_CPU_LEVEL_COUNT 5

/* Dot product of n elements (a multiple of t's block size): w a row of type t, x activations of
 * type vec_dot_type(t). */
typedef float (*hone_vec_dot_fn)(int64_t n, const void *w, const void *x);

/* Four dot products with the same activations: out[k] = dot(n, w + k * stride, x) for k < 4, each
 * with exactly the bits the single-row kernel of the same level gives. Interleaving four rows lets
 * their chains of dependent float operations overlap and reads the activations once. */
typedef void (*hone_vec_dot4_fn)(int64_t n, const void *w, size_t stride, const void *x, float *out);

/* A block of the matrix product: out[t * out_stride + r] = dot(n, w + r * w_stride, x + t * x_stride)
 * for r < nr, t < nt, each element with exactly the bits the single-row kernel of the same level
 * gives (so a prompt's results do not depend on how it is batched). Tiling several weight rows
 * against several activation rows reuses every load; used for prompt batches. */
typedef void (*hone_gemm_fn)(int64_t n, const void *w, size_t w_stride, int nr, const void *x, size_t x_stride,
                             int nt, float *out, int64_t out_stride);

/* What the CPU supports, ignoring HONE_CPU. */
kernel_level kernel_cpu_detected(void);

/* The active level: detected, lowered by HONE_CPU when set (read once, thread-safe). */
kernel_level kernel_cpu_level(void);

/* Whether this CPU can run the kernels of `level` (scalar: always). */
int kernel_cpu_has(kernel_level level);

/* Force a level (tests, benchmarks); clamped to what the CPU has (a level of another architecture
 * gives the detected one). Returns the level now active. Not meant to race with running kernels. */
kernel_level kernel_cpu_set_level(kernel_level level);

/* "scalar", "avx2", "avx512", "neon", "dotprod". */
const char *kernel_cpu_level_name(kernel_level level);

/* Best dot product for type t at the active level; NULL when t is not computable. */
hone_vec_dot_fn kernel_vec_dot(hone_type t);

/* The four-row kernel for type t at the active level, or NULL where there is none (callers then
 * use kernel_vec_dot row by row). */
hone_vec_dot4_fn kernel_vec_dot4(hone_type t);

/* The four-row kernel to use for a single activation row (decode), or NULL where one row at a time
 * streams faster. Every AVX2 four-row kernel (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, F16,
 * BF16, F32) prefetches the next four rows as one linear stream, which makes it faster than the
 * one-row kernel there too. */
hone_vec_dot4_fn kernel_vec_dot4_decode(hone_type t);

/* The dot product that `level` would use (which may be a lower level's), for tests and benchmarks;
 * the caller makes sure the CPU has that level. NULL when t is not computable. */
hone_vec_dot_fn kernel_vec_dot_at(hone_type t, kernel_level level);
/* The tiled kernel for type t at the active level / at `level`, or NULL where there is none
 * (callers then use the row kernels). */
hone_gemm_fn kernel_gemm(hone_type t);
hone_gemm_fn kernel_gemm_at(hone_type t, kernel_level level);
hone_vec_dot4_fn kernel_vec_dot4_at(hone_type t, kernel_level level);

#endif
