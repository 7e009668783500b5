/*
 * test_textbook_kernels.c - the dot products of hone's textbook types (INT8_*, ASYM*_*, LOG*_*;
 * quant/quant.h) against their definitions.
 *
 *  - Every level's kernel (kernel_vec_dot_at: scalar, and AVX2 where the CPU has it) gives exactly
 *    the bits of the scalar reference (hone_vec_dot), for all 28 types, on rows made by the real
 *    quantisers (random, heavy-tailed, constant, zero, outlier, tiny and huge weights) and on rows
 *    of random bytes with finite half headers (every code pattern, INT8's -128 included), against
 *    activations from the Q8_0 quantiser and raw Q8_0 blocks at the extremes (+-127, random).
 *  - The kernel's result equals the dot product of the dequantised operands (computed in double)
 *    within (n/32 + 8) 2^-23 sum_j (|w_j| + 2 |m_j|) |x_j|, m_j the block's minimum (asym): the
 *    float steps round, the integer sums are exact.
 *  - A weight row whose dequantised values are small integers times 1 against activations with
 *    d = 1 gives the exact integer dot product (catches an unpacking slip common to both paths).
 *  - The tiled kernel (kernel_gemm_at, AVX2: eight activation rows per pass, the rest one by one)
 *    gives every element the reference's bits, for 1..19 activation rows.
 *  - The dispatch: every textbook type has a scalar kernel, and an AVX2 one at the AVX2 level.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "harness.h"
#include "kernels/cpu/dispatch.h"
#include "quant/quant.h"

#define NMAX 1536

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float uni(void) { return ((float)(rnd() >> 8) + 0.5f) / 16777216.0f; } /* (0, 1) */
static float normal(void) { return sqrtf(-2.0f * logf(uni())) * cosf(6.2831853f * uni()); }

enum { W_NORMAL, W_HEAVY, W_CONST, W_ZERO, W_OUTLIER, W_TINY, W_HUGE, W_RAW, W_COUNT };
static const char *WNAME[W_COUNT] = {"normal", "heavy", "const", "zero", "outlier", "tiny", "huge", "raw"};
enum { X_NORMAL, X_ZERO, X_MAX, X_MIN, X_RAW, X_COUNT };
static const char *XNAME[X_COUNT] = {"normal", "zero", "+127", "-127", "raw"};

static size_t block_bytes(hone_type t) { return hone_type_get((uint32_t)t)->type_size; }

static void make_weights(hone_type t, int mode, int64_t n, uint8_t *row) {
    const hone_tb_layout *L = hone_tb_layout_of(t);
    if (mode == W_RAW) {
        const size_t bytes = hone_row_size(t, n);
        for (size_t i = 0; i < bytes; i++) row[i] = (uint8_t)rnd();
        for (int64_t b = 0; b < n / L->block; b++) {
            uint8_t *p = row + (size_t)b * block_bytes(t);
            for (int h = 0; h < L->hdr; h += 2) {
                const hone_f16 v = hone_f32_to_f16(normal() * 0.05f);
                memcpy(p + h, &v, 2);
            }
        }
        return;
    }
    float x[NMAX];
    const float c = normal();
    for (int64_t j = 0; j < n; j++) {
        switch (mode) {
        case W_NORMAL: x[j] = 0.02f * normal(); break;
        case W_HEAVY: x[j] = 0.02f * normal() / (0.05f + uni()); break;
        case W_CONST: x[j] = c; break;
        case W_ZERO: x[j] = 0.0f; break;
        case W_OUTLIER: x[j] = j % 41 == 3 ? 20.0f * normal() : 0.01f * normal(); break;
        case W_TINY: x[j] = 1e-6f * normal(); break;
        default: x[j] = 100.0f * normal(); break;
        }
    }
    CHECK(hone_quantize_row(t, x, row, n) == HONE_OK);
}

static void make_act(int mode, int64_t n, uint8_t *xq) {
    if (mode == X_NORMAL || mode == X_ZERO) {
        float x[NMAX];
        for (int64_t j = 0; j < n; j++) x[j] = mode == X_ZERO ? 0.0f : normal() * (j % 97 == 7 ? 50.0f : 1.0f);
        CHECK(hone_quantize_row(HONE_TYPE_Q8_0, x, xq, n) == HONE_OK);
        return;
    }
    for (int64_t b = 0; b < n / 32; b++) {
        uint8_t *p = xq + b * 34;
        const hone_f16 d = hone_f32_to_f16(mode == X_RAW ? normal() * 0.1f : 0.03f);
        memcpy(p, &d, 2);
        for (int j = 0; j < 32; j++) {
            int v = mode == X_MAX ? 127 : mode == X_MIN ? -127 : (int)(rnd() % 255) - 127;
            p[2 + j] = (uint8_t)(int8_t)v;
        }
    }
}

/* Dequantised dot in double, and the bound on the kernel's distance from it. */
static void dequant_dot(hone_type t, int64_t n, const uint8_t *w, const uint8_t *xq, double *dot, double *bound) {
    const hone_tb_layout *L = hone_tb_layout_of(t);
    float wf[NMAX], xf[NMAX];
    hone_dequantize_row(t, w, wf, n);
    hone_dequantize_row(HONE_TYPE_Q8_0, xq, xf, n);
    double s = 0.0, norm = 0.0;
    for (int64_t j = 0; j < n; j++) {
        float m = 0.0f;
        if (L->kind == HONE_TB_ASYM) {
            hone_f16 h;
            memcpy(&h, w + (size_t)(j / L->block) * block_bytes(t) + 2, 2);
            m = hone_f16_to_f32(h);
        }
        s += (double)wf[j] * (double)xf[j];
        norm += (fabs((double)wf[j]) + 2.0 * fabs((double)m)) * fabs((double)xf[j]);
    }
    *dot = s;
    *bound = (double)(n / 32 + 8) * ldexp(1.0, -23) * norm + 1e-30;
}

static bool same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

static void kernels_match(void) {
    static uint8_t w[NMAX * 2], xq[NMAX / 32 * 34];
    static const int64_t NS[] = {128, 384, 576, 1536};
    int compared_simd = 0;
    for (int ti = HONE_TYPE_INT8_G32; ti <= HONE_TYPE_LOG3_CH; ti++) {
        const hone_type t = (hone_type)ti;
        const char *name = hone_type_get((uint32_t)t)->name;
        const hone_tb_layout *L = hone_tb_layout_of(t);
        CHECKF(L != NULL, "%s: no layout", name);
        if (!L) continue;
        CHECKF(kernel_vec_dot_at(t, KERNEL_CPU_SCALAR) != NULL, "%s: no scalar kernel", name);
        if (kernel_cpu_has(KERNEL_CPU_AVX2))
            CHECKF(kernel_vec_dot_at(t, KERNEL_CPU_AVX2) != kernel_vec_dot_at(t, KERNEL_CPU_SCALAR),
                   "%s: the AVX2 level hands out the scalar kernel", name);
        for (size_t ni = 0; ni < sizeof NS / sizeof NS[0]; ni++) {
            const int64_t n = NS[ni];
            if (n % L->block != 0) continue;
            for (int wm = 0; wm < W_COUNT; wm++)
                for (int xm = 0; xm < X_COUNT; xm++) {
                    make_weights(t, wm, n, w);
                    make_act(xm, n, xq);
                    const float ref = hone_vec_dot(t, n, w, xq);
                    for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
                        if (!kernel_cpu_has((kernel_level)lvl)) continue;
                        const hone_vec_dot_fn f = kernel_vec_dot_at(t, (kernel_level)lvl);
                        if (!f) continue;
                        const float got = f(n, w, xq);
                        CHECKF(same_bits(got, ref), "%s n=%lld w=%s x=%s level %s: %.9g, reference %.9g", name,
                               (long long)n, WNAME[wm], XNAME[xm], kernel_cpu_level_name((kernel_level)lvl), got,
                               ref);
                        compared_simd += lvl != KERNEL_CPU_SCALAR;
                    }
                    double dd, bound;
                    dequant_dot(t, n, w, xq, &dd, &bound);
                    CHECKF(fabs((double)ref - dd) <= bound, "%s n=%lld w=%s x=%s: kernel %.9g, dequantised %.9g (bound %g)",
                           name, (long long)n, WNAME[wm], XNAME[xm], ref, dd, bound);
                }
        }
    }
    if (kernel_cpu_has(KERNEL_CPU_AVX2)) CHECK(compared_simd > 0);
}

/* Rows whose weights are exact small integers: d = 1 (and m = 0), built byte by byte. */
static void exact_integers(void) {
    static uint8_t w[NMAX * 2], xq[NMAX / 32 * 34];
    for (int ti = HONE_TYPE_INT8_G32; ti <= HONE_TYPE_LOG3_CH; ti++) {
        const hone_type t = (hone_type)ti;
        const hone_tb_layout *L = hone_tb_layout_of(t);
        const int64_t n = 256;
        float x[256], wv[256];
        /* weights: integers the scheme represents exactly with d = 1 (log: with s = 4 or 64) */
        const int levels = (1 << L->bits) - 1;
        for (int j = 0; j < n; j++) {
            if (L->kind == HONE_TB_INT8) wv[j] = (float)((int)(rnd() % 255) - 127);
            else if (L->kind == HONE_TB_ASYM) wv[j] = (float)(rnd() % (unsigned)(levels + 1));
            else wv[j] = (float)((rnd() & 1 ? -1 : 1) * (1 << (rnd() % (L->bits == 4 ? 7 : 3))));
        }
        /* pin the grid: the extremes in every block (LOG stores s = max|w|: unit s 2^-6 or 2^-2 = 1) */
        const float hi = L->kind == HONE_TB_INT8 ? 127.0f : L->kind == HONE_TB_ASYM ? (float)levels : L->bits == 4 ? 64.0f : 4.0f;
        for (int b = 0; b < n; b += L->block) {
            wv[b] = hi;
            if (L->kind == HONE_TB_ASYM) wv[b + 1] = 0.0f;
        }
        CHECK(hone_quantize_row(t, wv, w, n) == HONE_OK);
        float back[256];
        hone_dequantize_row(t, w, back, n);
        bool representable = true;
        for (int j = 0; j < n; j++) {
            representable &= back[j] == wv[j];
            x[j] = (float)((int)(rnd() % 255) - 127);
        }
        CHECKF(representable, "%s: integer weights do not round-trip exactly", hone_type_get((uint32_t)t)->name);
        /* activations with d = 1 exactly: raw blocks */
        for (int b = 0; b < n / 32; b++) {
            const hone_f16 one = hone_f32_to_f16(1.0f);
            memcpy(xq + b * 34, &one, 2);
            for (int j = 0; j < 32; j++) xq[b * 34 + 2 + j] = (uint8_t)(int8_t)(int)x[b * 32 + j];
        }
        int64_t want = 0;
        for (int j = 0; j < n; j++) want += (int64_t)wv[j] * (int64_t)x[j];
        for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
            if (!kernel_cpu_has((kernel_level)lvl)) continue;
            const float got = kernel_vec_dot_at(t, (kernel_level)lvl)(n, w, xq);
            CHECKF(got == (float)want, "%s level %s: %.9g, exact %lld", hone_type_get((uint32_t)t)->name,
                   kernel_cpu_level_name((kernel_level)lvl), got, (long long)want);
        }
    }
}

/* The tiled kernel: nr weight rows x nt activation rows, every element the one-row reference's bits. */
static void gemm_match(void) {
    enum { NR = 3, NT = 19, NX = 384 };
    static uint8_t w[NR * NX * 2], xq[NT * NX / 32 * 34];
    static float out[NT * NR];
    int checked = 0;
    for (int ti = HONE_TYPE_INT8_G32; ti <= HONE_TYPE_LOG3_CH; ti++) {
        const hone_type t = (hone_type)ti;
        const size_t wrow = hone_row_size(t, NX), xrow = hone_row_size(HONE_TYPE_Q8_0, NX);
        for (int r = 0; r < NR; r++) make_weights(t, (r + ti) % W_COUNT, NX, w + r * wrow);
        for (int k = 0; k < NT; k++) make_act(k % X_COUNT, NX, xq + k * xrow);
        for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
            if (!kernel_cpu_has((kernel_level)lvl)) continue;
            const hone_gemm_fn g = kernel_gemm_at(t, (kernel_level)lvl);
            if (lvl == KERNEL_CPU_AVX2)
                CHECKF(g != NULL, "%s: no tiled kernel at avx2", hone_type_get((uint32_t)t)->name);
            if (!g) continue;
            for (int nt = 1; nt <= NT; nt += 6) {
                for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) out[i] = NAN;
                g(NX, w, wrow, NR, xq, xrow, nt, out, NR);
                for (int k = 0; k < nt; k++)
                    for (int r = 0; r < NR; r++) {
                        const float ref = hone_vec_dot(t, NX, w + r * wrow, xq + k * xrow);
                        CHECKF(same_bits(out[k * NR + r], ref), "%s gemm nt=%d [%d][%d]: %.9g, reference %.9g",
                               hone_type_get((uint32_t)t)->name, nt, k, r, out[k * NR + r], ref);
                        checked++;
                    }
            }
        }
    }
    if (kernel_cpu_has(KERNEL_CPU_AVX2)) CHECK(checked > 0);
}

int main(void) {
    kernels_match();
    gemm_match();
    exact_integers();
    return test_finish();
}
