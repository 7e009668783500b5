/*
 * test_iq4nl.c - IQ4_NL: the format's layout, the dispatched dot product at every CPU level against
 * the scalar reference (bit for bit), and the dot product against the dequantised values.
 *
 * The layout is checked on a hand-built block (the 16-level table and the nibble order decide
 * whether llama.cpp reads hone's files). The SIMD comparison uses rows made by the real quantisers,
 * rows of random bytes (every index and every half-precision scale pattern, NaN/Inf excluded) and
 * adversarial activations (all +127 / -127, zeros, alternating extremes) over odd block counts.
 * The quantiser's own properties are in tests/quant/test_iq4nl_quant.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/cpu/dispatch.h"
#include "quant/blocks.h"
#include "quant/quant.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float frand(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; }

static void test_layout(void) {
    CHECK(hone_type_get(HONE_TYPE_IQ4_NL)->computable);
    CHECK(hone_type_get(HONE_TYPE_IQ4_NL)->vec_dot_type == HONE_TYPE_Q8_0);
    CHECK(hone_row_size(HONE_TYPE_IQ4_NL, 576) == 18 * 18);
    static const int8_t want[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    CHECK(memcmp(hq_iq4nl_values, want, 16) == 0);
    block_iq4_nl b;
    b.d = hone_f32_to_f16(0.5f);
    /* byte j: element j in the low nibble (index j), element j + 16 in the high one (index 15 - j) */
    for (int j = 0; j < 16; j++) b.qs[j] = (uint8_t)(j | ((15 - j) << 4));
    float y[32];
    hone_dequantize_row(HONE_TYPE_IQ4_NL, &b, y, 32);
    for (int j = 0; j < 16; j++) {
        CHECKF(y[j] == 0.5f * want[j], "element %d: %g", j, y[j]);
        CHECKF(y[j + 16] == 0.5f * want[15 - j], "element %d: %g", j + 16, y[j + 16]);
    }
}

/* activations: quantised random floats, or adversarial int8 patterns with random scales */
static void make_acts(block_q8_0 *x, int nb, int mode) {
    float f[32];
    for (int i = 0; i < nb; i++) {
        if (mode == 0) {
            for (int j = 0; j < 32; j++) f[j] = frand() * (i % 3 == 0 ? 100.0f : 1.0f);
            hone_quantize_row(HONE_TYPE_Q8_0, f, &x[i], 32);
            continue;
        }
        x[i].d = hone_f32_to_f16(mode == 4 ? 60000.0f : 0.01f + (float)(rnd() % 1000) * 0.001f);
        for (int j = 0; j < 32; j++) {
            int v = 0;
            switch (mode) {
            case 1: v = 127; break;
            case 2: v = -127; break;
            case 3: v = (j & 1) ? 127 : -127; break;
            case 4: v = (int)(rnd() % 255) - 127; break;
            default: v = 0; break;
            }
            x[i].qs[j] = (int8_t)v;
        }
    }
}

/* weights: the reference quantiser on random data, or random bytes with finite scales */
static void make_weights(block_iq4_nl *w, int nb, int mode) {
    if (mode == 0) {
        float *f = malloc((size_t)nb * 32 * sizeof *f);
        for (int i = 0; i < nb * 32; i++) f[i] = frand() * (i % 97 == 0 ? 8.0f : 1.0f);
        CHECK(hone_quantize_row(HONE_TYPE_IQ4_NL, f, w, (int64_t)nb * 32) == HONE_OK);
        free(f);
        return;
    }
    for (int i = 0; i < nb; i++) {
        hone_f16 h;
        do h = (hone_f16)(rnd() & 0xFFFF);
        while ((h & 0x7C00) == 0x7C00); /* no Inf/NaN scales */
        w[i].d = mode == 2 ? hone_f32_to_f16(65504.0f) : h;
        for (int j = 0; j < 16; j++) w[i].qs[j] = mode == 2 ? 0x00 : (uint8_t)rnd();
    }
}

static void test_levels(void) {
    static const int sizes[] = {1, 2, 3, 7, 18, 48, 33};
    int compared = 0;
    for (int lvl = 0; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
        if (!kernel_cpu_has((kernel_level)lvl)) continue;
        hone_vec_dot_fn f = kernel_vec_dot_at(HONE_TYPE_IQ4_NL, (kernel_level)lvl);
        CHECKF(f != NULL, "no IQ4_NL kernel at %s", kernel_cpu_level_name((kernel_level)lvl));
        if (!f) continue;
#if defined(__x86_64__) && !defined(HONE_NO_SIMD)
        if (lvl == KERNEL_CPU_AVX2 || lvl == KERNEL_CPU_AVX512)
            CHECKF(f != kernel_vec_dot_at(HONE_TYPE_IQ4_NL, KERNEL_CPU_SCALAR), "%s hands out the scalar kernel",
                   kernel_cpu_level_name((kernel_level)lvl));
#endif
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const int nb = sizes[s];
            block_iq4_nl *w = malloc((size_t)nb * sizeof *w);
            block_q8_0 *x = malloc((size_t)nb * sizeof *x);
            for (int wm = 0; wm < 3; wm++)
                for (int am = 0; am < 6; am++)
                    for (int rep = 0; rep < 4; rep++) {
                        make_weights(w, nb, wm);
                        make_acts(x, nb, am);
                        const float ref = hone_vec_dot(HONE_TYPE_IQ4_NL, (int64_t)nb * 32, w, x);
                        const float got = f((int64_t)nb * 32, w, x);
                        CHECKF(memcmp(&ref, &got, sizeof ref) == 0,
                               "%s: %d blocks, weights %d, acts %d: %.9g vs reference %.9g",
                               kernel_cpu_level_name((kernel_level)lvl), nb, wm, am, got, ref);
                        compared++;
                    }
            free(w);
            free(x);
        }
    }
    CHECK(compared > 0);
}

/* The dot product is the sum of dequantised weight times dequantised activation, up to float
 * rounding: each block's integer sum is exact, so only the per-block products and the running sum
 * round (bound: a few ulps of the sum of magnitudes). */
static void test_dot_vs_dequant(void) {
    enum { NB = 18 };
    block_iq4_nl w[NB];
    block_q8_0 x[NB];
    float fw[NB * 32], fx[NB * 32];
    for (int rep = 0; rep < 50; rep++) {
        make_weights(w, NB, rep % 2 == 0 ? 0 : 1);
        make_acts(x, NB, 0);
        if (rep % 2) /* random-byte scales can be huge or subnormal: keep them moderate here */
            for (int i = 0; i < NB; i++) w[i].d = hone_f32_to_f16(0.001f * (float)(1 + rnd() % 100));
        hone_dequantize_row(HONE_TYPE_IQ4_NL, w, fw, NB * 32);
        hone_dequantize_row(HONE_TYPE_Q8_0, x, fx, NB * 32);
        double exact = 0.0, mag = 0.0;
        for (int i = 0; i < NB * 32; i++) {
            exact += (double)fw[i] * fx[i];
            mag += fabs((double)fw[i] * fx[i]);
        }
        const float got = hone_vec_dot(HONE_TYPE_IQ4_NL, NB * 32, w, x);
        CHECKF(fabs(got - exact) <= 2e-6 * mag + 1e-30, "rep %d: dot %.9g vs dequantised %.9g (mag %g)", rep, got,
               exact, mag);
    }
}

/* The tiled kernel (prompt batches), where a level has one: every element bit-identical to the
 * one-row kernel of that level, for odd tile shapes and block counts. */
static void test_gemm(void) {
    int tested = 0;
    for (int lvl = 0; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
        if (!kernel_cpu_has((kernel_level)lvl)) continue;
        const hone_gemm_fn g = kernel_gemm_at(HONE_TYPE_IQ4_NL, (kernel_level)lvl);
        const hone_vec_dot_fn dot = kernel_vec_dot_at(HONE_TYPE_IQ4_NL, (kernel_level)lvl);
        if (!g) continue;
        static const int nbs[] = {1, 5, 18};
        for (size_t s = 0; s < sizeof nbs / sizeof nbs[0]; s++) {
            const int nb = nbs[s], nr = 7, nt = 9;
            block_iq4_nl *w = malloc((size_t)nb * nr * sizeof *w);
            block_q8_0 *x = malloc((size_t)nb * nt * sizeof *x);
            float out[9 * 7];
            make_weights(w, nb * nr, 0);
            for (int t = 0; t < nt; t++) make_acts(x + (size_t)t * nb, nb, t % 5);
            for (int r0 = 0; r0 < 2; r0++)
                for (int t0 = 0; t0 < 2; t0++) {
                    const int R = nr - r0, T = nt - t0 * 4;
                    g((int64_t)nb * 32, w + (size_t)r0 * nb, (size_t)nb * sizeof *w, R, x + (size_t)t0 * 4 * nb,
                      (size_t)nb * sizeof *x, T, out, R);
                    int bad = 0;
                    for (int t = 0; t < T; t++)
                        for (int r = 0; r < R; r++) {
                            const float want =
                                dot((int64_t)nb * 32, w + (size_t)(r0 + r) * nb, x + (size_t)(t0 * 4 + t) * nb);
                            bad += memcmp(&want, &out[t * R + r], sizeof want) != 0;
                        }
                    CHECKF(bad == 0, "%s gemm, %d blocks, %d x %d: %d elements differ from the one-row kernel",
                           kernel_cpu_level_name((kernel_level)lvl), nb, R, T, bad);
                    tested++;
                }
            free(w);
            free(x);
        }
    }
#if defined(__x86_64__) && !defined(HONE_NO_SIMD)
    if (kernel_cpu_has(KERNEL_CPU_AVX2)) CHECK(tested > 0);
#endif
}

int main(void) {
    test_layout();
    test_levels();
    test_gemm();
    test_dot_vs_dequant();
    return test_finish();
}
