/*
 * dispatch.c - CPU level detection, the HONE_CPU override, and the per-type kernel tables.
 *
 * The scalar table wraps the references in src/quant (which take block counts) in the common
 * element-count signature; dot_avx2.c supplies the AVX2 table and dot_neon.c the NEON and dotprod
 * tables, where a type without a kernel at one level falls back to the level below it in its
 * chain (dotprod -> neon -> scalar, avx512 -> avx2 -> scalar). Detection runs once
 * (pthread_once); afterwards the level is one relaxed atomic load, and matmul looks its kernel up
 * once per call, not per row.
 */
#include "kernels/cpu/dispatch.h"
#include "hone.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__) && defined(__linux__) && !defined(HONE_NO_SIMD)
#include <sys/auxv.h>
#endif

#include "kernels/cpu/dot_avx2.h"
#include "kernels/cpu/dot_neon.h"
#include "kernels/cpu/float_avx2.h"
#include "kernels/cpu/textbook_avx2.h"
#include "kernels/cpu/iq4nl_avx2.h"
#include "quant/blocks.h"
#include "quant/quant.h"

static float dot_f32(int64_t n, const void *w, const void *x) { return hq_dot_f32(n, w, x); }
static float dot_f16(int64_t n, const void *w, const void *x) { return hq_dot_f16(n, w, x); }
static float dot_bf16(int64_t n, const void *w, const void *x) { return hq_dot_bf16(n, w, x); }
static float dot_q4_0(int64_t n, const void *w, const void *x) { return hq_dot_q4_0_q8_0(n / QK4_0, w, x); }
static float dot_q4_1(int64_t n, const void *w, const void *x) { return hq_dot_q4_1_q8_1(n / QK4_1, w, x); }
static float dot_q5_0(int64_t n, const void *w, const void *x) { return hq_dot_q5_0_q8_0(n / QK5_0, w, x); }
static float dot_q5_1(int64_t n, const void *w, const void *x) { return hq_dot_q5_1_q8_1(n / QK5_1, w, x); }
static float dot_q8_0(int64_t n, const void *w, const void *x) { return hq_dot_q8_0_q8_0(n / QK8_0, w, x); }
static float dot_q8_1(int64_t n, const void *w, const void *x) { return hq_dot_q8_1_q8_1(n / QK8_1, w, x); }
static float dot_q2_K(int64_t n, const void *w, const void *x) { return hq_dot_q2_K_q8_K(n / QK_K, w, x); }
static float dot_q3_K(int64_t n, const void *w, const void *x) { return hq_dot_q3_K_q8_K(n / QK_K, w, x); }
static float dot_q4_K(int64_t n, const void *w, const void *x) { return hq_dot_q4_K_q8_K(n / QK_K, w, x); }
static float dot_q5_K(int64_t n, const void *w, const void *x) { return hq_dot_q5_K_q8_K(n / QK_K, w, x); }
static float dot_q6_K(int64_t n, const void *w, const void *x) { return hq_dot_q6_K_q8_K(n / QK_K, w, x); }
static float dot_q8_K(int64_t n, const void *w, const void *x) { return hq_dot_q8_K_q8_K(n / QK_K, w, x); }
static float dot_iq4_nl(int64_t n, const void *w, const void *x) { return hq_dot_iq4_nl_q8_0(n / QK4_NL, w, x); }

static hone_vec_dot_fn scalar_dot(hone_type t) {
    switch (t) {
    case HONE_TYPE_F32: return dot_f32;
    case HONE_TYPE_F16: return dot_f16;
    case HONE_TYPE_BF16: return dot_bf16;
    case HONE_TYPE_Q4_0: return dot_q4_0;
    case HONE_TYPE_Q4_1: return dot_q4_1;
    case HONE_TYPE_Q5_0: return dot_q5_0;
    case HONE_TYPE_Q5_1: return dot_q5_1;
    case HONE_TYPE_Q8_0: return dot_q8_0;
    case HONE_TYPE_Q8_1: return dot_q8_1;
    case HONE_TYPE_Q2_K: return dot_q2_K;
    case HONE_TYPE_Q3_K: return dot_q3_K;
    case HONE_TYPE_Q4_K: return dot_q4_K;
    case HONE_TYPE_Q5_K: return dot_q5_K;
    case HONE_TYPE_Q6_K: return dot_q6_K;
    case HONE_TYPE_Q8_K: return dot_q8_K;
    case HONE_TYPE_IQ4_NL: return dot_iq4_nl;
    default: return hone_tb_dot_ref(t); /* hone's textbook types (q_textbook.c); NULL for the rest */
    }
}

kernel_level kernel_cpu_detected(void) {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
    /* __builtin_cpu_supports reads what libgcc's constructor found with cpuid, including whether
     * the OS saves the wide registers (xgetbv), so a level reported here is usable. */
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return KERNEL_CPU_SCALAR;
#ifndef __clang__ /* clang's builtin does not know "f16c"; every CPU with AVX2 and FMA has it */
    if (!__builtin_cpu_supports("f16c")) return KERNEL_CPU_SCALAR;
#endif
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return KERNEL_CPU_AVX512;
    return KERNEL_CPU_AVX2;
#elif defined(__aarch64__) && defined(__linux__) && !defined(HONE_NO_SIMD)
    /* Advanced SIMD is part of every Linux-capable armv8-a core, but the kernel says so through
     * HWCAP_ASIMD, and the optional armv8.2 SDOT through HWCAP_ASIMDDP. The bits are spelled out
     * as the arm64 ABI fixes them, for C libraries whose headers predate them. */
    const unsigned long hw = getauxval(AT_HWCAP);
    const unsigned long asimd = 1ul << 1, asimddp = 1ul << 20;
    if (!(hw & asimd)) return KERNEL_CPU_SCALAR;
    return (hw & asimddp) ? KERNEL_CPU_DOTPROD : KERNEL_CPU_NEON;
#else
    return KERNEL_CPU_SCALAR;
#endif
}

int kernel_cpu_has(kernel_level level) {
    const kernel_level hw = kernel_cpu_detected();
    switch (level) {
    case KERNEL_CPU_SCALAR: return 1;
    case KERNEL_CPU_AVX2: return hw == KERNEL_CPU_AVX2 || hw == KERNEL_CPU_AVX512;
    case KERNEL_CPU_AVX512: return hw == KERNEL_CPU_AVX512;
    case KERNEL_CPU_NEON: return hw == KERNEL_CPU_NEON || hw == KERNEL_CPU_DOTPROD;
    case KERNEL_CPU_DOTPROD: return hw == KERNEL_CPU_DOTPROD;
    }
    return 0;
}

/* The level that a request for `want` gets: `want` itself where the CPU has it, else the best
 * level the CPU has below it in the same chain, else (another architecture's level, or an
 * unknown value) the detected level. */
static kernel_level clamp_level(kernel_level want) {
    const kernel_level hw = kernel_cpu_detected();
    if (kernel_cpu_has(want)) return want;
    if (want == KERNEL_CPU_AVX512 && kernel_cpu_has(KERNEL_CPU_AVX2)) return KERNEL_CPU_AVX2;
    if (want == KERNEL_CPU_DOTPROD && kernel_cpu_has(KERNEL_CPU_NEON)) return KERNEL_CPU_NEON;
    return hw;
}

static atomic_int active_level = -1;
static pthread_once_t level_once = PTHREAD_ONCE_INIT;

static void level_init(void) {
    kernel_level lvl = kernel_cpu_detected();
    const char *env = getenv("HONE_CPU");
    if (env && *env) {
        /* an unknown name leaves the detected level: the override is a testing aid, and a typo
         * should not silently make everything slow */
        kernel_level want = lvl;
        if (strcmp(env, "scalar") == 0) want = KERNEL_CPU_SCALAR;
        else if (strcmp(env, "avx2") == 0) want = KERNEL_CPU_AVX2;
        else if (strcmp(env, "avx512") == 0) want = KERNEL_CPU_AVX512;
        else if (strcmp(env, "neon") == 0) want = KERNEL_CPU_NEON;
        else if (strcmp(env, "dotprod") == 0) want = KERNEL_CPU_DOTPROD;
        lvl = clamp_level(want);
    }
    int expected = -1;
    atomic_compare_exchange_strong(&active_level, &expected, (int)lvl);
}

kernel_level kernel_cpu_level(void) {
    int l = atomic_load_explicit(&active_level, memory_order_relaxed);
    if (l >= 0) return (kernel_level)l;
    pthread_once(&level_once, level_init);
    return (kernel_level)atomic_load(&active_level);
}

kernel_level kernel_cpu_set_level(kernel_level level) {
    pthread_once(&level_once, level_init); /* so a later first use cannot overwrite the choice */
    level = clamp_level(level);
    atomic_store(&active_level, (int)level);
    return level;
}

const char *kernel_cpu_level_name(kernel_level level) {
    switch (level) {
    case KERNEL_CPU_SCALAR: return "scalar";
    case KERNEL_CPU_AVX2: return "avx2";
    case KERNEL_CPU_AVX512: return "avx512";
    case KERNEL_CPU_NEON: return "neon";
    case KERNEL_CPU_DOTPROD: return "dotprod";
    }
    return "unknown";
}

hone_vec_dot_fn kernel_vec_dot_at(hone_type t, kernel_level level) {
    hone_vec_dot_fn f = NULL;
    switch (level) {
    case KERNEL_CPU_AVX2:
    case KERNEL_CPU_AVX512:
        /* AVX-512 runs the AVX2 kernels; IQ4_NL's lives in its own file (iq4nl_avx2.c) */
        f = t == HONE_TYPE_IQ4_NL ? kernel_vec_dot_iq4nl_avx2() : kernel_vec_dot_avx2(t);
        if (!f) f = kernel_vec_dot_textbook_avx2(t); /* hone's textbook types (textbook_avx2.c) */
        break;
    case KERNEL_CPU_DOTPROD: f = kernel_vec_dot_dotprod(t);
    /* fall through - types without a dotprod kernel take the NEON one */
    case KERNEL_CPU_NEON: f = f ? f : kernel_vec_dot_neon(t); break;
    case KERNEL_CPU_SCALAR: break;
    }
    return f ? f : scalar_dot(t);
}

hone_vec_dot_fn kernel_vec_dot(hone_type t) { return kernel_vec_dot_at(t, kernel_cpu_level()); }

/* The scalar level has no four-row kernels: the references are one row at a time. */
hone_vec_dot4_fn kernel_vec_dot4_at(hone_type t, kernel_level level) {
    hone_vec_dot4_fn f = NULL;
    switch (level) {
    case KERNEL_CPU_AVX2:
    case KERNEL_CPU_AVX512: f = kernel_vec_dot4_avx2(t); break;
    case KERNEL_CPU_DOTPROD: f = kernel_vec_dot4_dotprod(t);
    /* fall through */
    case KERNEL_CPU_NEON: f = f ? f : kernel_vec_dot4_neon(t); break;
    case KERNEL_CPU_SCALAR: break;
    }
    return f;
}

hone_vec_dot4_fn kernel_vec_dot4(hone_type t) { return kernel_vec_dot4_at(t, kernel_cpu_level()); }

/* Only the x86 four-row kernels prefetch for streaming (dot_avx2.c, float_avx2.c); the NEON ones
 * are untested for it on hardware, so decode there stays one row at a time. */
hone_vec_dot4_fn kernel_vec_dot4_decode(hone_type t) {
    const kernel_level level = kernel_cpu_level();
    return level == KERNEL_CPU_AVX2 || level == KERNEL_CPU_AVX512 ? kernel_vec_dot4_at(t, level) : NULL;
}

hone_gemm_fn kernel_gemm_at(hone_type t, kernel_level level) {
    switch (level) {
    case KERNEL_CPU_AVX2:
    case KERNEL_CPU_AVX512: {
        if (t == HONE_TYPE_IQ4_NL) return kernel_gemm_iq4nl_avx2(); /* iq4nl_avx2.c */
        const hone_gemm_fn g = kernel_gemm_avx2(t);
        return g ? g : kernel_gemm_textbook_avx2(t); /* hone's textbook types (textbook_avx2.c) */
    }
    default: return NULL;
    }
}

hone_gemm_fn kernel_gemm(hone_type t) { return kernel_gemm_at(t, kernel_cpu_level()); }

const char *hone_cpu_backend(void) { return kernel_cpu_level_name(kernel_cpu_level()); }
