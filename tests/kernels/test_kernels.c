/*
 * test_kernels.c - every dispatched dot-product kernel, at every CPU level this machine has, against
 * the scalar reference in src/quant (hone_vec_dot).
 *
 * Block formats must give the reference's bits exactly (Q4_1 and Q8_0 because hone's golden logits
 * depend on them, the others because their SIMD kernels are built to); the float formats F32, F16
 * and BF16 must agree within |a - b| <= 1e-5 * sum_i |w_i x_i| + 1e-30 (F32: with the exact sum,
 * see compare()). Inputs: random rows made by
 * the real quantisers, rows of random bytes (every bit pattern of the quants and sub-scales), and
 * adversarial values - zeros, all-equal blocks, huge magnitudes, one outlier per block, activations
 * at the int8 extremes (+127, -127 and, except for Q8_0 x Q8_0, -128) - over odd block counts.
 *
 * "Every level" means every value of kernel_level that kernel_cpu_has() accepts: scalar, avx2 and
 * avx512 on x86-64, scalar, neon and dotprod on aarch64 (scripts/test_neon.sh runs this test under
 * qemu-aarch64). A level that claims a SIMD kernel table must not silently hand out the scalar
 * kernels for the types it is meant to cover, or the comparisons would test nothing.
 *
 * Also checks HONE_CPU: the test sets HONE_CPU=scalar before the first dispatch call, so the active
 * level must be scalar and matmul must take the scalar kernels; kernel_cpu_set_level then clamps to
 * what the CPU has, within the level's architecture.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/quant_avx2.h"
#include "quant/blocks.h"
#include "quant/quant.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float frand(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; } /* [-1, 1) */

static const hone_type TYPES[] = {
    HONE_TYPE_F32,  HONE_TYPE_F16,  HONE_TYPE_BF16, HONE_TYPE_Q4_0, HONE_TYPE_Q4_1, HONE_TYPE_Q5_0,
    HONE_TYPE_Q5_1, HONE_TYPE_Q8_0, HONE_TYPE_Q8_1, HONE_TYPE_Q2_K, HONE_TYPE_Q3_K, HONE_TYPE_Q4_K,
    HONE_TYPE_Q5_K, HONE_TYPE_Q6_K, HONE_TYPE_Q8_K,
};

static bool is_float_type(hone_type t) {
    return t == HONE_TYPE_F32 || t == HONE_TYPE_F16 || t == HONE_TYPE_BF16;
}

enum { V_RANDOM, V_ZERO, V_EQUAL, V_HUGE, V_OUTLIER, V_TINY, V_COUNT };
static const char *VNAME[] = {"random", "zeros", "all-equal", "huge", "outlier", "tiny"};

static void fill(float *x, int64_t n, int mode) {
    const float c = frand();
    for (int64_t i = 0; i < n; i++) {
        switch (mode) {
        case V_RANDOM: x[i] = frand(); break;
        case V_ZERO: x[i] = 0.0f; break;
        case V_EQUAL: x[i] = c; break;
        case V_HUGE: x[i] = frand() * 3.0e4f; break; /* block scales near the top of the half range */
        case V_OUTLIER: x[i] = (i % 37 == 5) ? 500.0f * frand() : 0.01f * frand(); break;
        case V_TINY: x[i] = frand() * 1e-6f; break; /* half subnormal scales */
        }
    }
}

/* Overwrite every half scale field of a random-bytes weight row with a finite value, so the row is a
 * block a file could hold; the quants and packed sub-scales keep their random bits. */
static void fix_scales(hone_type t, void *row, int64_t nb) {
    char *p = row;
    const hone_type_info *ti = hone_type_get((uint32_t)t);
    for (int64_t i = 0; i < nb; i++, p += ti->type_size) {
        hone_f16 h[2] = {hone_f32_to_f16(frand() * 0.1f), hone_f32_to_f16(frand() * 0.1f)};
        switch (t) {
        case HONE_TYPE_Q4_0: case HONE_TYPE_Q5_0: case HONE_TYPE_Q8_0:
            memcpy(p, h, 2);
            break;
        case HONE_TYPE_Q4_1: case HONE_TYPE_Q5_1: case HONE_TYPE_Q8_1: case HONE_TYPE_Q4_K: case HONE_TYPE_Q5_K:
            memcpy(p, h, 4);
            break;
        case HONE_TYPE_Q2_K: memcpy(p + offsetof(block_q2_K, d), h, 4); break;
        case HONE_TYPE_Q3_K: memcpy(p + offsetof(block_q3_K, d), h, 2); break;
        case HONE_TYPE_Q6_K: memcpy(p + offsetof(block_q6_K, d), h, 2); break;
        case HONE_TYPE_Q8_K: {
            float d = frand() * 0.1f;
            memcpy(p, &d, 4);
            break;
        }
        default: break;
        }
    }
}

/* Set the activation quants to int8 extremes (keeping each block's scale), then restore what the
 * format derives from them: Q8_1's s and Q8_K's bsums. pattern 0: +127/-127 alternating; 1: all
 * -128; 2: random bytes. */
static void extreme_acts(hone_type vt, void *row, int64_t n, int pattern, int lowest) {
    int8_t *q = NULL;
    int64_t nb = 0, bs = 0;
    if (vt == HONE_TYPE_Q8_0) { nb = n / QK8_0; bs = 32; }
    else if (vt == HONE_TYPE_Q8_1) { nb = n / QK8_1; bs = 32; }
    else if (vt == HONE_TYPE_Q8_K) { nb = n / QK_K; bs = QK_K; }
    for (int64_t i = 0; i < nb; i++) {
        if (vt == HONE_TYPE_Q8_0) q = ((block_q8_0 *)row)[i].qs;
        else if (vt == HONE_TYPE_Q8_1) q = ((block_q8_1 *)row)[i].qs;
        else q = ((block_q8_K *)row)[i].qs;
        for (int64_t j = 0; j < bs; j++) {
            q[j] = pattern == 0 ? (int8_t)((j & 1) ? -127 : 127) : pattern == 1 ? (int8_t)lowest : (int8_t)rnd();
            if (q[j] < lowest) q[j] = (int8_t)lowest;
        }
        if (vt == HONE_TYPE_Q8_1) {
            block_q8_1 *b = &((block_q8_1 *)row)[i];
            int s = 0;
            for (int j = 0; j < 32; j++) s += b->qs[j];
            b->s = hone_f32_to_f16(hone_f16_to_f32(b->d) * (float)s);
        } else if (vt == HONE_TYPE_Q8_K) {
            block_q8_K *b = &((block_q8_K *)row)[i];
            for (int g = 0; g < 16; g++) {
                int s = 0;
                for (int l = 0; l < 16; l++) s += b->qs[16 * g + l];
                b->bsums[g] = (int16_t)s;
            }
        }
    }
}

/* sum |w_i x_i| from the dequantised rows (the scale of the float kernels' error bound); *exact gets
 * sum w_i x_i in double, exact to far below that bound */
static double abs_dot(hone_type t, hone_type vt, const void *w, const void *x, int64_t n, float *fw, float *fx,
                      double *exact) {
    hone_dequantize_row(t, w, fw, n);
    hone_dequantize_row(vt, x, fx, n);
    double s = 0.0, e = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += fabs((double)fw[i] * (double)fx[i]);
        e += (double)fw[i] * (double)fx[i];
    }
    *exact = e;
    return s;
}

static uint32_t fbits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

enum { MAX_N = 33 * QK_K };
static float xw[MAX_N], xa[MAX_N], fw[MAX_N], fx[MAX_N];
static unsigned char wrow[MAX_N * 4], arow[MAX_N * 4];
static int cases_checked;

/* one comparison of every level's kernel with the reference on (wrow, arow) */
static void compare(hone_type t, int64_t n, const char *what) {
    const hone_type vt = hone_type_get((uint32_t)t)->vec_dot_type;
    const float ref = hone_vec_dot(t, n, wrow, arow);
    double exact;
    const double bound = 1e-5 * abs_dot(t, vt, wrow, arow, n, fw, fx, &exact) + 1e-30;
    /* F32's reference adds in float in index order, so its own error grows like n * 2^-24 and can
     * exceed the bound on long all-equal rows; there the SIMD kernel (float lanes, double total)
     * is checked against the exact sum. F16/BF16 references sum exact products in double. */
    const double target = t == HONE_TYPE_F32 ? exact : (double)ref;
    for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
        if (!kernel_cpu_has((kernel_level)lvl)) continue;
        const hone_vec_dot_fn f = kernel_vec_dot_at(t, (kernel_level)lvl);
        CHECKF(f != NULL, "%s: no kernel at level %s", hone_type_get((uint32_t)t)->name,
               kernel_cpu_level_name((kernel_level)lvl));
        if (!f) continue;
        const float got = f(n, wrow, arow);
        if (is_float_type(t) && lvl != KERNEL_CPU_SCALAR) {
            CHECKF(fabs((double)got - target) <= bound, "%s %s n=%lld level %s: %.9g vs reference %.9g (bound %g)",
                   hone_type_get((uint32_t)t)->name, what, (long long)n, kernel_cpu_level_name((kernel_level)lvl),
                   got, target, bound);
        } else {
            CHECKF(fbits(got) == fbits(ref), "%s %s n=%lld level %s: %.9g (0x%08x) vs reference %.9g (0x%08x)",
                   hone_type_get((uint32_t)t)->name, what, (long long)n, kernel_cpu_level_name((kernel_level)lvl),
                   got, fbits(got), ref, fbits(ref));
        }
        cases_checked++;
    }
}

static void test_type(hone_type t) {
    const hone_type_info *ti = hone_type_get((uint32_t)t);
    const hone_type vt = ti->vec_dot_type;
    static const int64_t nbs[] = {1, 3, 7, 33};
    static const int64_t float_ns[] = {1, 7, 31, 32, 33, 255, 256, 1023, 1024, 1025, 4103};
    const int n_sizes = is_float_type(t) ? 11 : 4;
    for (int si = 0; si < n_sizes; si++) {
        const int64_t n = is_float_type(t) ? float_ns[si] : nbs[si] * ti->block_size;
        if (n > MAX_N) continue;
        char what[64];
        /* values from the real quantisers, every pairing of weight and activation modes */
        for (int mw = 0; mw < V_COUNT; mw++)
            for (int mx = 0; mx < V_COUNT; mx++) {
                fill(xw, n, mw);
                fill(xa, n, mx);
                CHECK(hone_quantize_row(t, xw, wrow, n) == HONE_OK);
                CHECK(hone_quantize_row(vt, xa, arow, n) == HONE_OK);
                snprintf(what, sizeof what, "w %s / x %s", VNAME[mw], VNAME[mx]);
                compare(t, n, what);
            }
        if (is_float_type(t)) continue;
        /* random bytes in the weight quants and sub-scales, against normal and extreme activations */
        for (int rep = 0; rep < 8; rep++) {
            const size_t wb = hone_row_size(t, n);
            for (size_t i = 0; i < wb; i++) wrow[i] = (unsigned char)rnd();
            fix_scales(t, wrow, n / ti->block_size);
            fill(xa, n, rep % 2 ? V_HUGE : V_RANDOM);
            CHECK(hone_quantize_row(vt, xa, arow, n) == HONE_OK);
            compare(t, n, "w random bytes / x random");
            for (int pat = 0; pat < 3; pat++) {
                /* Q8_0 x Q8_0's kernel needs activations in [-127, 127], which every Q8 quantiser
                 * guarantees (see dot_avx2.c); the other kernels take any int8 */
                extreme_acts(vt, arow, n, pat, t == HONE_TYPE_Q8_0 ? -127 : -128);
                snprintf(what, sizeof what, "w random bytes / x int8 extremes %d", pat);
                compare(t, n, what);
            }
        }
    }
}

/* The four-row kernels against the one-row kernel of their level and the reference, row by row:
 * four different rows (quantised values, random bytes) against one activation row. */
static void test_dot4(hone_type t) {
    const hone_type_info *ti = hone_type_get((uint32_t)t);
    const hone_type vt = ti->vec_dot_type;
    static const int64_t nbs[] = {1, 3, 7, 33};
    for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
        const hone_vec_dot4_fn f4 = kernel_vec_dot4_at(t, (kernel_level)lvl);
        if (!f4 || !kernel_cpu_has((kernel_level)lvl)) continue;
        const hone_vec_dot_fn f1 = kernel_vec_dot_at(t, (kernel_level)lvl);
        for (int si = 0; si < 4; si++)
            for (int mode = 0; mode < V_COUNT + 1; mode++) {
                const int64_t n = nbs[si] * ti->block_size;
                const size_t rb = hone_row_size(t, n);
                if (4 * rb > sizeof wrow || n > MAX_N) continue;
                for (int k = 0; k < 4; k++) {
                    if (mode < V_COUNT) {
                        fill(xw, n, (mode + k) % V_COUNT);
                        CHECK(hone_quantize_row(t, xw, wrow + k * rb, n) == HONE_OK);
                    } else {
                        for (size_t i = 0; i < rb; i++) wrow[k * rb + i] = (unsigned char)rnd();
                        fix_scales(t, wrow + k * rb, n / ti->block_size);
                    }
                }
                fill(xa, n, mode % V_COUNT);
                CHECK(hone_quantize_row(vt, xa, arow, n) == HONE_OK);
                float out[4];
                f4(n, wrow, rb, arow, out);
                for (int k = 0; k < 4; k++) {
                    const float one = f1(n, wrow + k * rb, arow), ref = hone_vec_dot(t, n, wrow + k * rb, arow);
                    /* float formats: the one-row kernel's bits (compare() bounds it against the reference) */
                    const bool ref_ok = is_float_type(t) || fbits(one) == fbits(ref);
                    CHECKF(fbits(out[k]) == fbits(one) && ref_ok,
                           "%s four-row kernel at %s, n=%lld mode %d row %d: %.9g, one-row %.9g, reference %.9g",
                           ti->name, kernel_cpu_level_name((kernel_level)lvl), (long long)n, mode, k, out[k], one,
                           ref);
                }
                cases_checked++;
            }
    }
}

/* The tiled kernels against the one-row kernel of their level, bit for bit, over tile edges
 * (row and token counts around the tile sizes) and lengths around the 8-element steps and the
 * float formats' 1024-element chunks. */
static void test_gemm(hone_type t) {
    const hone_type_info *ti = hone_type_get((uint32_t)t);
    const hone_type vt = ti->vec_dot_type;
    static const int64_t ns[] = {1, 7, 8, 9, 255, 256, 257, 576, 1023, 1024, 1025, 2056};
    enum { NR = 8, NT = 9 };
    for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
        const hone_gemm_fn g = kernel_gemm_at(t, (kernel_level)lvl);
        if (!g || !kernel_cpu_has((kernel_level)lvl)) continue;
        const hone_vec_dot_fn f1 = kernel_vec_dot_at(t, (kernel_level)lvl);
        for (size_t si = 0; si < sizeof ns / sizeof ns[0]; si++) {
            const int64_t n = ns[si] * ti->block_size;
            const size_t rb = hone_row_size(t, n), xb = hone_row_size(vt, n);
            unsigned char *w = malloc(rb * NR), *x = malloc(xb * NT);
            float *buf = malloc(sizeof(float) * (size_t)n), out[NT * NR];
            for (int r = 0; r < NR; r++) {
                fill(buf, n, r % V_COUNT);
                CHECK(hone_quantize_row(t, buf, w + r * rb, n) == HONE_OK);
            }
            for (int c = 0; c < NT; c++) {
                fill(buf, n, (c + 1) % V_COUNT);
                CHECK(hone_quantize_row(vt, buf, x + c * xb, n) == HONE_OK);
            }
            for (int nr = 1; nr <= NR; nr++)
                for (int nt = 1; nt <= NT; nt++) {
                    memset(out, 0xAB, sizeof out);
                    g(n, w, rb, nr, x, xb, nt, out, NR);
                    int bad = 0;
                    for (int c = 0; c < nt; c++)
                        for (int r = 0; r < nr; r++)
                            bad += fbits(out[c * NR + r]) != fbits(f1(n, w + r * rb, x + c * xb));
                    CHECKF(bad == 0, "%s gemm at %s, n=%lld, %d x %d: %d elements differ from the one-row kernel",
                           ti->name, kernel_cpu_level_name((kernel_level)lvl), (long long)n, nr, nt, bad);
                    cases_checked++;
                }
            free(w);
            free(x);
            free(buf);
        }
    }
}

/* The AVX2 activation quantisers against hone_quantize_row, byte for byte, on every fill mode
 * (zeros, all-equal, huge, tiny, outliers) and on values at exact rounding ties. */
static void test_quant_rows(void) {
    static const hone_type types[] = {HONE_TYPE_Q8_0, HONE_TYPE_Q8_1, HONE_TYPE_F16};
    if (!kernel_cpu_has(KERNEL_CPU_AVX2)) return;
    enum { N = 1024 };
    static float x[N];
    static unsigned char ref[N * 4], got[N * 4];
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const hone_type t = types[ti];
        const hone_quant_row_fn f = kernel_quant_row_avx2(t);
        CHECKF(f != NULL, "no AVX2 quantiser for %s", hone_type_get((uint32_t)t)->name);
        if (!f) continue;
        for (int mode = 0; mode <= V_COUNT; mode++)
            for (int64_t n = 32; n <= N; n += 32 * 7) {
                if (mode < V_COUNT) {
                    fill(x, n, mode);
                } else { /* ties: multiples of amax / 254 round half to even */
                    for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 255) - 127) * 0.5f;
                }
                const size_t rb = hone_row_size(t, n);
                memset(ref, 0x5A, rb);
                memset(got, 0xA5, rb);
                CHECK(hone_quantize_row(t, x, ref, n) == HONE_OK);
                f(x, got, n);
                CHECKF(memcmp(ref, got, rb) == 0, "%s AVX2 quantiser differs, mode %d n %lld",
                       hone_type_get((uint32_t)t)->name, mode, (long long)n);
                cases_checked++;
            }
    }
}

/* matmul at the active level equals the reference per element, for T = 1 and T = 3 */
static void test_matmul(threadpool *pool, hone_type t) {
    enum { N_IN = 512, N_OUT = 37, T = 3 };
    static float w[N_OUT * N_IN], x[T * N_IN], out[T * N_OUT];
    static unsigned char wq[N_OUT * N_IN * 4], xq[T * N_IN * 4];
    for (int i = 0; i < N_OUT * N_IN; i++) w[i] = frand();
    for (int i = 0; i < T * N_IN; i++) x[i] = frand() * 3.0f;
    const size_t rb = hone_row_size(t, N_IN);
    for (int r = 0; r < N_OUT; r++) CHECK(hone_quantize_row(t, w + r * N_IN, wq + r * rb, N_IN) == HONE_OK);
    const hone_mat m = {wq, t, N_IN, N_OUT, rb, 0, 0.0f};
    CHECK(matmul_act_bytes(t, N_IN, T) <= sizeof xq);
    matmul_quantize_act(pool, t, x, N_IN, T, xq);
    matmul(pool, &m, xq, T, out);
    /* every element is the one-row kernel's result, whether it came from a four-row kernel (rows
     * 0..35 of each thread's share) or the one-row tail (37 is not a multiple of 4) */
    const hone_vec_dot_fn f = kernel_vec_dot(t);
    const size_t xr = matmul_act_bytes(t, N_IN, 1);
    int bad = 0;
    for (int tt = 0; tt < T; tt++)
        for (int r = 0; r < N_OUT; r++)
            if (fbits(out[tt * N_OUT + r]) != fbits(f(N_IN, wq + r * rb, xq + tt * xr))) bad++;
    if (!is_float_type(t))
        for (int tt = 0; tt < T; tt++)
            for (int r = 0; r < N_OUT; r++)
                if (fbits(out[tt * N_OUT + r]) != fbits(hone_vec_dot(t, N_IN, wq + r * rb, xq + tt * xr))) bad++;
    CHECKF(bad == 0, "matmul %s at level %s: %d elements differ from the kernel or the reference", hone_type_get((uint32_t)t)->name,
           kernel_cpu_level_name(kernel_cpu_level()), bad);
}

/* The SIMD levels this CPU has hand out their own kernels, not the scalar fallback, for every type
 * they cover (AVX2: all but the activation-only Q8_1 and Q8_K; NEON: all), and the four-row kernels
 * of the default model's types. */
static void test_tables(void) {
    for (int lvl = KERNEL_CPU_AVX2; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
        if (!kernel_cpu_has((kernel_level)lvl)) continue;
        const char *name = kernel_cpu_level_name((kernel_level)lvl);
        for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) {
            const hone_type t = TYPES[i];
            const bool x86 = lvl == KERNEL_CPU_AVX2 || lvl == KERNEL_CPU_AVX512;
            if (x86 && (t == HONE_TYPE_Q8_1 || t == HONE_TYPE_Q8_K)) continue;
            CHECKF(kernel_vec_dot_at(t, (kernel_level)lvl) != kernel_vec_dot_at(t, KERNEL_CPU_SCALAR),
                   "%s: level %s has no kernel of its own", hone_type_get((uint32_t)t)->name, name);
        }
        CHECKF(kernel_vec_dot4_at(HONE_TYPE_Q4_1, (kernel_level)lvl) != NULL, "Q4_1: no four-row kernel at %s", name);
        CHECKF(kernel_vec_dot4_at(HONE_TYPE_Q8_0, (kernel_level)lvl) != NULL, "Q8_0: no four-row kernel at %s", name);
    }
}

/* kernel_cpu_set_level for every level value: what the CPU has is granted, a higher level of the
 * same architecture gives the best the CPU has below it, another architecture's level gives the
 * detected one. Leaves the detected level active. */
static void test_set_level(void) {
    const kernel_level hw = kernel_cpu_detected();
    CHECK(kernel_cpu_has(KERNEL_CPU_SCALAR) && kernel_cpu_has(hw));
    for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
        kernel_level want = (kernel_level)lvl;
        if (!kernel_cpu_has(want)) {
            if (want == KERNEL_CPU_AVX512 && kernel_cpu_has(KERNEL_CPU_AVX2)) want = KERNEL_CPU_AVX2;
            else if (want == KERNEL_CPU_DOTPROD && kernel_cpu_has(KERNEL_CPU_NEON)) want = KERNEL_CPU_NEON;
            else want = hw;
        }
        const kernel_level got = kernel_cpu_set_level((kernel_level)lvl);
        CHECKF(got == want && kernel_cpu_level() == want, "set_level(%s) gave %s, expected %s",
               kernel_cpu_level_name((kernel_level)lvl), kernel_cpu_level_name(got), kernel_cpu_level_name(want));
    }
    /* asking for the most of any architecture gives what this CPU has */
    CHECK(kernel_cpu_set_level(KERNEL_CPU_AVX512) == hw && kernel_cpu_level() == hw);
    CHECK(kernel_cpu_set_level(KERNEL_CPU_DOTPROD) == hw && kernel_cpu_level() == hw);
}

int main(void) {
    /* HONE_CPU is read at the first dispatch call, which is this one */
    setenv("HONE_CPU", "scalar", 1);
    CHECKF(kernel_cpu_level() == KERNEL_CPU_SCALAR, "HONE_CPU=scalar gave level %s",
           kernel_cpu_level_name(kernel_cpu_level()));
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        CHECKF(kernel_vec_dot(TYPES[i]) == kernel_vec_dot_at(TYPES[i], KERNEL_CPU_SCALAR),
               "%s: HONE_CPU=scalar does not select the scalar kernel", hone_type_get((uint32_t)TYPES[i])->name);
    CHECK(kernel_vec_dot(HONE_TYPE_IQ2_XXS) == NULL);

    printf("CPU level detected: %s; levels tested:", kernel_cpu_level_name(kernel_cpu_detected()));
    for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++)
        if (kernel_cpu_has((kernel_level)lvl)) printf(" %s", kernel_cpu_level_name((kernel_level)lvl));
    printf("\n");
    test_tables();
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) {
        test_type(TYPES[i]);
        test_dot4(TYPES[i]);
        test_gemm(TYPES[i]);
    }
    test_quant_rows();
    CHECK(kernel_vec_dot4_at(HONE_TYPE_Q4_1, KERNEL_CPU_SCALAR) == NULL);
    printf("%d kernel comparisons\n", cases_checked);

    threadpool *pool = NULL;
    CHECK(threadpool_create(2, &pool) == HONE_OK);
    if (pool) {
        for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
            if (!kernel_cpu_has((kernel_level)lvl)) continue;
            CHECK(kernel_cpu_set_level((kernel_level)lvl) == (kernel_level)lvl);
            for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
                if (TYPES[i] != HONE_TYPE_Q8_K && TYPES[i] != HONE_TYPE_Q8_1) test_matmul(pool, TYPES[i]);
        }
        threadpool_free(pool);
    }
    test_set_level();
    return test_finish();
}
