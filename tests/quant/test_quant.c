/*
 * test_quant.c - property tests of every computable block format.
 *
 *  - Round trip: quantise rows of several distributions and sizes, dequantise, and bound the RMS
 *    error relative to the RMS of the input (bounds per type, derived below).
 *  - Dot product: hone_vec_dot(w, quantise(x)) agrees with dequantise(w) . dequantise(quantise(x))
 *    computed in double, within a bound normalised by sum |w_i x_i|.
 *  - Argument checking of hone_quantize_row.
 *  - With HONE_QUANT_DUMP=dir set, writes block bytes and hone's dequantisation (and, for the types
 *    gguf-py can quantise, hone's quantisation of known floats) for tests/quant/check_gguf_py.py.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/dtype.h"
#include "harness.h"
#include "quant/blocks.h"
#include "quant/quant.h"

#define MAX_N (7 * 256)

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static float rnd_uniform(void) { return ((float)rnd_u32() + 0.5f) / 4294967296.0f; } /* (0,1) */

static float rnd_normal(void) {
    const float u = rnd_uniform(), v = rnd_uniform();
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

enum dist { D_NORMAL, D_UNIFORM, D_OUTLIERS, D_ZEROS, D_EQUAL, D_HUGE, D_TINY, D_COUNT };
static const char *DIST_NAME[D_COUNT] = {"normal", "uniform", "outliers", "zeros", "equal", "huge 1e4", "tiny 1e-6"};

static void fill(float *x, int n, enum dist d) {
    for (int i = 0; i < n; i++) {
        switch (d) {
        case D_NORMAL: x[i] = rnd_normal(); break;
        case D_UNIFORM: x[i] = 2.0f * rnd_uniform() - 1.0f; break;
        case D_OUTLIERS: x[i] = rnd_normal() * (rnd_u32() % 97 == 0 ? 50.0f : 1.0f); break;
        case D_ZEROS: x[i] = 0.0f; break;
        case D_EQUAL: x[i] = 0.7f; break;
        case D_HUGE: x[i] = 1e4f * rnd_normal(); break;
        case D_TINY: x[i] = 1e-6f * rnd_normal(); break;
        default: break;
        }
    }
}

/* Relative RMS error bounds, round trip. For a uniform quantiser with step D the error RMS is
 * D/sqrt(12) ~ 0.29 D. Against a normal input of RMS s, the block absmax of 32 samples is ~2.1 s
 * (256 samples: ~2.8 s), so:
 *   Q8_0: D = 2.1s/127  -> 0.5%     bound 1%
 *   Q8_K: D = 2.8s/127  -> 0.6%     bound 1.2%  (float scale, no half rounding)
 *   Q5_0: D = 2.1s/16   -> 3.8%     bound 6%
 *   Q5_1: D = 4.2s/31   -> 3.9%     bound 6%
 *   Q4_0: D = 2.1s/8    -> 7.6%     bound 12%
 *   Q4_1: D = 4.2s/15   -> 8.1%     bound 12%
 *   Q6_K: 6-bit per 16  -> ~2%      bound 4%
 *   Q5_K: 5-bit per 32 with fitted min -> ~3.5%  bound 6%
 *   Q4_K: 4-bit per 32  -> ~7%      bound 10%
 *   Q3_K: 3-bit per 16  -> ~15%     bound 22%
 *   Q2_K: 2-bit per 16 with min -> ~30%  bound 40%
 *   F16: 2^-11 relative -> bound 0.05%; BF16: 2^-8 -> bound 0.3%; F32 exact.
 * Uniform inputs have a smaller absmax/RMS ratio and outliers only concentrate the error in their
 * own blocks, so the normal-input bounds hold for all of them. */
static double rt_bound(hone_type t) {
    switch (t) {
    case HONE_TYPE_F32: return 0.0;
    case HONE_TYPE_F16: return 5e-4;
    case HONE_TYPE_BF16: return 3e-3;
    case HONE_TYPE_Q8_0: case HONE_TYPE_Q8_1: return 0.01;
    case HONE_TYPE_Q8_K: return 0.012;
    case HONE_TYPE_Q5_0: case HONE_TYPE_Q5_1: case HONE_TYPE_Q5_K: return 0.06;
    case HONE_TYPE_Q4_0: case HONE_TYPE_Q4_1: return 0.12;
    case HONE_TYPE_Q6_K: return 0.04;
    case HONE_TYPE_Q4_K: return 0.10;
    case HONE_TYPE_Q3_K: return 0.22;
    case HONE_TYPE_Q2_K: return 0.40;
    default: return 0.0;
    }
}

static const hone_type TYPES[] = {
    HONE_TYPE_F32,  HONE_TYPE_F16,  HONE_TYPE_BF16, HONE_TYPE_Q4_0, HONE_TYPE_Q4_1,
    HONE_TYPE_Q5_0, HONE_TYPE_Q5_1, HONE_TYPE_Q8_0, HONE_TYPE_Q8_1, HONE_TYPE_Q2_K,
    HONE_TYPE_Q3_K, HONE_TYPE_Q4_K, HONE_TYPE_Q5_K, HONE_TYPE_Q6_K, HONE_TYPE_Q8_K,
};
#define N_TYPES (int)(sizeof TYPES / sizeof TYPES[0])

/* Row buffers, big enough for MAX_N elements of any type (F32 is the largest per element). */
static float xs[MAX_N], ys[MAX_N], xd[MAX_N];
static _Alignas(16) uint8_t qbuf[MAX_N * 4], xbuf[MAX_N * 4];

static int row_len(const hone_type_info *ti, int nblocks) {
    /* float types have block size 1; use 32-element "blocks" so sizes match the legacy formats */
    return (int)(ti->block_size == 1 ? 32 : ti->block_size) * nblocks;
}

static void round_trip(void) {
    static const int NBLOCKS[] = {1, 3, 7};
    for (int ti_i = 0; ti_i < N_TYPES; ti_i++) {
        const hone_type t = TYPES[ti_i];
        const hone_type_info *ti = hone_type_get(t);
        double worst = 0.0, worst_out = 0.0;
        for (int d = 0; d < D_COUNT; d++) {
            for (int k = 0; k < 3; k++) {
                const int n = row_len(ti, NBLOCKS[k]);
                fill(xs, n, (enum dist)d);
                memset(qbuf, 0xA5, sizeof qbuf);
                CHECK(hone_quantize_row(t, xs, qbuf, n) == HONE_OK);
                hone_dequantize_row(t, qbuf, ys, n);
                double se = 0, sx = 0, amax = 0;
                int finite = 1;
                for (int i = 0; i < n; i++) {
                    finite &= isfinite(ys[i]);
                    se += ((double)ys[i] - xs[i]) * ((double)ys[i] - xs[i]);
                    sx += (double)xs[i] * xs[i];
                    if (fabs(xs[i]) > amax) amax = fabs(xs[i]);
                }
                CHECKF(finite, "%s %s n=%d: non-finite output", ti->name, DIST_NAME[d], n);
                if (d == D_ZEROS) {
                    CHECKF(se == 0.0, "%s: zeros do not round-trip exactly", ti->name);
                    continue;
                }
                const double rel = sqrt(se / sx);
                if (d == D_TINY && t != HONE_TYPE_F32 && t != HONE_TYPE_BF16 && t != HONE_TYPE_Q8_K) {
                    /* Scales of ~1e-8 are half-precision subnormals (or zero), so the format itself
                     * cannot keep relative accuracy; require only that nothing blows up: every
                     * output stays within a few times the input's magnitude. */
                    double ymax = 0;
                    for (int i = 0; i < n; i++) ymax = fmax(ymax, fabs(ys[i]));
                    CHECKF(ymax <= 4.0 * amax + 1e-7, "%s tiny: output %g vs input absmax %g", ti->name, ymax, amax);
                    continue;
                }
                if (d != D_EQUAL && d != D_OUTLIERS && rel > worst) worst = rel;
                if (d == D_OUTLIERS && rel > worst_out) worst_out = rel;
                /* All-equal rows: exactness limited only by the half-precision scale/min.
                 * Outliers (1 in 97 elements at 50 sigma): a block holding one quantises its other
                 * elements with a step ~20x coarser, and ~1/3 of the 32-blocks (all of the 256-blocks)
                 * hold one, so the error measured against the input RMS (~5 sigma) grows by ~3x;
                 * allow 4x, capped at 0.6 (Q2_K). */
                const double bound = d == D_EQUAL      ? fmax(rt_bound(t), 1e-3)
                                     : d == D_OUTLIERS ? fmin(4.0 * rt_bound(t), 0.6)
                                                       : rt_bound(t);
                CHECKF(rel <= bound, "%s %s n=%d: relative RMS error %.4g > %.4g", ti->name, DIST_NAME[d], n, rel,
                       bound);
            }
        }
        printf("round trip %-5s worst relative RMS error %.4f (bound %.4f), with outliers %.4f\n", ti->name, worst,
               rt_bound(t), worst_out);
    }
}

/* vec_dot(w, quantise(x)) against the double-precision dot product of the dequantised operands. */
static void dot_products(void) {
    static const int NBLOCKS[] = {1, 3, 7};
    for (int ti_i = 0; ti_i < N_TYPES; ti_i++) {
        const hone_type t = TYPES[ti_i];
        const hone_type_info *ti = hone_type_get(t);
        const hone_type vt = ti->vec_dot_type;
        double worst = 0.0;
        for (int d = 0; d < D_COUNT; d++) {
            for (int k = 0; k < 3; k++) {
                const int n = row_len(ti, NBLOCKS[k]);
                fill(xs, n, (enum dist)d);
                CHECK(hone_quantize_row(t, xs, qbuf, n) == HONE_OK);
                hone_dequantize_row(t, qbuf, ys, n);
                fill(xs, n, d == D_ZEROS ? D_NORMAL : (enum dist)d);
                /* A Q8_1 block stores s = d*sum(q) ~ sum(x) as a half, which overflows once a block's
                 * activations sum past 65504 - as in ggml. Keep the "huge" case for Q4_1/Q5_1 at 1e3,
                 * where that cannot happen. */
                if (vt == HONE_TYPE_Q8_1 && d == D_HUGE)
                    for (int i = 0; i < n; i++) xs[i] *= 0.1f;
                CHECK(hone_quantize_row(vt, xs, xbuf, n) == HONE_OK);
                hone_dequantize_row(vt, xbuf, xd, n);
                double ref = 0, mag = 0;
                for (int i = 0; i < n; i++) {
                    ref += (double)ys[i] * xd[i];
                    mag += fabs((double)ys[i] * xd[i]);
                }
                const float got = hone_vec_dot(t, n, qbuf, xbuf);
                CHECKF(isfinite(got), "%s dot %s n=%d: %g", ti->name, DIST_NAME[d], n, got);
                if (d == D_TINY && vt != HONE_TYPE_F32 && vt != HONE_TYPE_BF16 && vt != HONE_TYPE_Q8_K)
                    continue; /* half-precision scales underflow (see round_trip); finiteness is all */
                /* Float accumulation over <= 1792 elements: ~1e-6 relative error. Q4_1/Q5_1 add each
                 * block's min term as m * s with s = d*sum(q) stored as a half from the float d, so
                 * it differs from sum(dequantised x) by up to ~2^-10 relative: allow that per block. */
                double tol = 1e-5 * mag;
                if (t == HONE_TYPE_Q4_1 || t == HONE_TYPE_Q5_1) {
                    const size_t wsz = ti->type_size;
                    for (int b = 0; b < n / 32; b++) {
                        hone_f16 m;
                        memcpy(&m, qbuf + b * wsz + 2, 2); /* Q4_1/Q5_1: d, then m */
                        const block_q8_1 *xb = (const block_q8_1 *)xbuf + b;
                        tol += fabs((double)hone_f16_to_f32(m) * hone_f16_to_f32(xb->s)) / 1024.0;
                    }
                }
                const double err = fabs((double)got - ref);
                if (mag > 0 && err / mag > worst) worst = err / mag;
                CHECKF(err <= tol, "%s dot %s n=%d: got %.9g want %.9g (|err| %.3g, sum|wx| %.3g)", ti->name,
                       DIST_NAME[d], n, got, ref, err, mag);
            }
        }
        printf("vec_dot    %-5s x %-5s worst |err|/sum|wx| %.3g\n", ti->name, hone_type_get(vt)->name, worst);
    }
}

/* Random but valid blocks: random bytes everywhere, with every half/float scale field replaced by
 * a finite value of modest size so that outputs stay comparable. */
static void random_blocks(hone_type t, uint8_t *buf, int nb) {
    const hone_type_info *ti = hone_type_get(t);
    for (size_t i = 0; i < (size_t)nb * ti->type_size; i++) buf[i] = (uint8_t)rnd_u32();
    for (int b = 0; b < nb; b++) {
        uint8_t *p = buf + (size_t)b * ti->type_size;
        hone_f16 h1 = hone_f32_to_f16(rnd_normal() * 0.01f), h2 = hone_f32_to_f16(rnd_normal() * 0.01f);
        switch (t) {
        case HONE_TYPE_Q4_0: ((block_q4_0 *)p)->d = h1; break;
        case HONE_TYPE_Q5_0: ((block_q5_0 *)p)->d = h1; break;
        case HONE_TYPE_Q8_0: ((block_q8_0 *)p)->d = h1; break;
        case HONE_TYPE_Q4_1: ((block_q4_1 *)p)->d = h1; ((block_q4_1 *)p)->m = h2; break;
        case HONE_TYPE_Q5_1: ((block_q5_1 *)p)->d = h1; ((block_q5_1 *)p)->m = h2; break;
        case HONE_TYPE_Q8_1: ((block_q8_1 *)p)->d = h1; ((block_q8_1 *)p)->s = h2; break;
        case HONE_TYPE_Q2_K: ((block_q2_K *)p)->d = h1; ((block_q2_K *)p)->dmin = h2; break;
        case HONE_TYPE_Q3_K: ((block_q3_K *)p)->d = h1; break;
        case HONE_TYPE_Q4_K: ((block_q4_K *)p)->d = h1; ((block_q4_K *)p)->dmin = h2; break;
        case HONE_TYPE_Q5_K: ((block_q5_K *)p)->d = h1; ((block_q5_K *)p)->dmin = h2; break;
        case HONE_TYPE_Q6_K: ((block_q6_K *)p)->d = h1; break;
        case HONE_TYPE_Q8_K: ((block_q8_K *)p)->d = rnd_normal() * 0.01f; break;
        default: break;
        }
    }
}

/* Dot products over random valid weight blocks (every bit pattern of the quants and sub-scales,
 * which quantised data never produces, e.g. Q6_K scale -128 or Q3_K's full 6-bit scale range),
 * against dequantise-then-multiply in double. */
static void random_block_dots(void) {
    static uint8_t wb[7 * 292];
    for (int ti_i = 0; ti_i < N_TYPES; ti_i++) {
        const hone_type t = TYPES[ti_i];
        const hone_type_info *ti = hone_type_get(t);
        if (ti->block_size == 1) continue;
        const hone_type vt = ti->vec_dot_type;
        for (int rep = 0; rep < 20; rep++) {
            const int nb = 1 + rep % 7, n = nb * (int)ti->block_size;
            random_blocks(t, wb, nb);
            hone_dequantize_row(t, wb, ys, n);
            fill(xs, n, D_NORMAL);
            CHECK(hone_quantize_row(vt, xs, xbuf, n) == HONE_OK);
            hone_dequantize_row(vt, xbuf, xd, n);
            double ref = 0, mag = 0, tol_s = 0;
            for (int i = 0; i < n; i++) {
                ref += (double)ys[i] * xd[i];
                mag += fabs((double)ys[i] * xd[i]);
            }
            if (t == HONE_TYPE_Q4_1 || t == HONE_TYPE_Q5_1)
                for (int b = 0; b < nb; b++) {
                    hone_f16 m;
                    memcpy(&m, wb + (size_t)b * ti->type_size + 2, 2);
                    tol_s += fabs((double)hone_f16_to_f32(m) * hone_f16_to_f32(((const block_q8_1 *)xbuf)[b].s)) / 1024.0;
                }
            const float got = hone_vec_dot(t, n, wb, xbuf);
            CHECKF(fabs((double)got - ref) <= 1e-5 * mag + tol_s, "%s random blocks nb=%d: got %.9g want %.9g", ti->name,
                   nb, got, ref);
        }
    }
}

/* The branch-free half conversion used by the F16 row loops equals core/fp16.h's on every input. */
static void f16_conversion(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        const float a = hone_f16_to_f32((hone_f16)h), b = hq_f16_to_f32_nb((hone_f16)h);
        if (hone_f32_bits(a) != hone_f32_bits(b) && !(isnan(a) && isnan(b)) && bad++ < 3)
            CHECKF(0, "f16 0x%04x: %g vs %g", h, a, b);
    }
    CHECK(bad == 0);
}

static void arguments(void) {
    float x[64] = {0};
    uint8_t out[512];
    CHECK(hone_quantize_row(HONE_TYPE_Q4_0, x, out, 33) == HONE_ERR_INVALID_ARG);
    CHECK(hone_quantize_row(HONE_TYPE_Q4_K, x, out, 64) == HONE_ERR_INVALID_ARG);
    CHECK(hone_quantize_row(HONE_TYPE_IQ2_XXS, x, out, 256) == HONE_ERR_UNSUPPORTED);
    CHECK(hone_quantize_row((hone_type)4, x, out, 32) == HONE_ERR_UNSUPPORTED);
    CHECK(hone_quantize_row(HONE_TYPE_Q8_0, x, out, 0) == HONE_OK);
    /* Q8_1 of zeros: d = s = 0, all quants 0 */
    CHECK(hone_quantize_row(HONE_TYPE_Q8_1, x, out, 32) == HONE_OK);
    int nz = 0;
    for (int i = 0; i < 36; i++) nz += out[i] != 0;
    CHECK(nz == 0);
}

static int write_file(const char *dir, const char *name, const char *ext, const void *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    const int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

/* For tests/quant/check_gguf_py.py: <NAME>.blocks (random valid blocks) + <NAME>.deq (hone's
 * dequantisation, f32), and <NAME>.src (normal floats) + <NAME>.quant (hone's quantisation). */
static void dump(const char *dir) {
    const int nb = 64;
    for (int ti_i = 0; ti_i < N_TYPES; ti_i++) {
        const hone_type t = TYPES[ti_i];
        const hone_type_info *ti = hone_type_get(t);
        if (ti->block_size == 1 && t != HONE_TYPE_BF16 && t != HONE_TYPE_F16) continue;
        const int n = MAX_N / (int)ti->block_size * (int)ti->block_size; /* 1792 = 56 x 32 = 7 x 256 */
        const int nblk = ti->block_size == 1 ? 256 : nb * (int)ti->block_size;
        static uint8_t blocks[64 * 292];
        static float deq[64 * 256];
        if (ti->block_size == 1) {
            /* half/bfloat16: random finite bit patterns */
            for (int i = 0; i < nblk; i++) {
                uint16_t h;
                do h = (uint16_t)rnd_u32();
                while ((t == HONE_TYPE_F16 && (h & 0x7c00) == 0x7c00) || (t == HONE_TYPE_BF16 && (h & 0x7f80) == 0x7f80));
                memcpy(blocks + 2 * i, &h, 2);
            }
        } else {
            random_blocks(t, blocks, nb);
        }
        hone_dequantize_row(t, blocks, deq, nblk);
        CHECK(write_file(dir, ti->name, "blocks", blocks, hone_row_size(t, nblk)));
        CHECK(write_file(dir, ti->name, "deq", deq, sizeof(float) * (size_t)nblk));
        /* Quantisation of a row mixing normal values, a few outliers and an all-zero block. */
        fill(xs, n, D_OUTLIERS);
        for (int i = 0; i < (int)ti->block_size && ti->block_size > 1; i++) xs[i] = 0.0f;
        CHECK(hone_quantize_row(t, xs, qbuf, n) == HONE_OK);
        CHECK(write_file(dir, ti->name, "src", xs, sizeof(float) * (size_t)n));
        CHECK(write_file(dir, ti->name, "quant", qbuf, hone_row_size(t, n)));
    }
    printf("dumped blocks to %s\n", dir);
}

int main(void) {
    arguments();
    f16_conversion();
    round_trip();
    dot_products();
    random_block_dots();
    const char *dir = getenv("HONE_QUANT_DUMP");
    if (dir && *dir) dump(dir);
    return test_finish();
}
