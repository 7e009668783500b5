/*
 * test_act_quant.c - the token and static activation quantisers (kernels/cpu/act_quant.h) and
 * products through matmul with a matrix's act_mode set.
 *
 * Rows: random, heavy-tailed (a few outliers hundreds of times the rest), all zero, constant,
 * over every activation type (Q8_0, Q8_1, Q8_K). Checked: every block carries the row's scale
 * (token: max|x| / 127 as stored; static: the given scale as stored), codes are x / d rounded
 * (within one step), static codes saturate at +-127, Q8_1's s = d * sum(q), Q8_K's bsums; the
 * product through matmul (one token and a batch of seven, on a pool of three threads) equals a
 * double-precision product of the dequantised weights and the dequantised activations, within a
 * bound normalised by sum |w| |x|; a row quantised alone gives the bytes it gets inside a batch.
 * The AVX2 path (act_quant_avx2.c, taken by act_quantize_row on AVX2 CPUs) gives the scalar
 * reference's bytes on those rows and on adversarial ones (NaN, infinities, huge and subnormal
 * values, exact rounding ties, -0, the row's peak at each position near either end).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/fp16.h"
#include "harness.h"
#include "kernels/cpu/act_quant.h"
#include "kernels/cpu/act_quant_avx2.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/matmul.h"
#include "quant/blocks.h"
#include "quant/quant.h"

#define N 768 /* three Q8_K blocks, 24 Q8_0 blocks */
#define N_OUT 40
#define T_MAX 7

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float frand(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; } /* [-1, 1) */

enum { R_RANDOM, R_HEAVY, R_ZERO, R_CONST, R_COUNT };
static const char *const row_names[R_COUNT] = {"random", "heavy-tailed", "zero", "constant"};

static void make_row(int kind, float *x, int n) {
    const float c = 0.37f + frand();
    for (int i = 0; i < n; i++) {
        switch (kind) {
        case R_RANDOM: x[i] = 2.0f * frand(); break;
        case R_HEAVY: x[i] = (i % 97 == 11) ? 300.0f * frand() : 0.5f * frand() * frand(); break;
        case R_ZERO: x[i] = 0.0f; break;
        default: x[i] = c; break;
        }
    }
}

static float amax_of(const float *x, int n) {
    float a = 0.0f;
    for (int i = 0; i < n; i++) a = fabsf(x[i]) > a ? fabsf(x[i]) : a;
    return a;
}

/* The scale a row's blocks should carry, as the format stores it. */
static float expected_scale(hone_type vdt, int mode, float scale, const float *x) {
    const float d = mode == HONE_ACT_STATIC ? scale : amax_of(x, N) / 127.0f;
    return vdt == HONE_TYPE_Q8_K ? d : hone_f16_to_f32(hone_f32_to_f16(d));
}

/* Block i's scale and codes of a quantised row, whatever the layout. */
static float block_view(hone_type vdt, const void *xq, int i, const int8_t **qs, int *bs) {
    if (vdt == HONE_TYPE_Q8_0) {
        const block_q8_0 *b = (const block_q8_0 *)xq + i;
        *qs = b->qs, *bs = QK8_0;
        return hone_f16_to_f32(b->d);
    }
    if (vdt == HONE_TYPE_Q8_1) {
        const block_q8_1 *b = (const block_q8_1 *)xq + i;
        *qs = b->qs, *bs = QK8_1;
        return hone_f16_to_f32(b->d);
    }
    const block_q8_K *b = (const block_q8_K *)xq + i;
    *qs = b->qs, *bs = QK_K;
    return b->d;
}

static void check_row(hone_type vdt, int mode, float scale, int kind) {
    float x[N];
    _Alignas(64) char xq[N * 2];
    make_row(kind, x, N);
    act_quantize_row_scalar(vdt, mode, scale, x, xq, N);
    const float d = expected_scale(vdt, mode, scale, x);
    const int bsz = (int)hone_type_get(vdt)->block_size;
    int n_bad_scale = 0, n_bad_code = 0, n_sat = 0, n_over = 0, n_bad_sum = 0;
    for (int i = 0; i < N / bsz; i++) {
        const int8_t *qs;
        int bs;
        const float bd = block_view(vdt, xq, i, &qs, &bs);
        n_bad_scale += bd != d;
        int sum = 0;
        for (int j = 0; j < bs; j++) {
            const float v = x[i * bs + j];
            const int q = qs[j];
            sum += q;
            n_over += q < -127 || q > 127;
            float want = d > 0.0f ? v / d : 0.0f;
            if (want > 127.0f || want < -127.0f) {
                n_sat += q != (want > 0 ? 127 : -127); /* clipping, not wrapping */
                continue;
            }
            n_bad_code += fabsf((float)q - want) > 1.0f;
        }
        if (vdt == HONE_TYPE_Q8_1) {
            const block_q8_1 *b = (const block_q8_1 *)xq + i;
            n_bad_sum += fabsf(hone_f16_to_f32(b->s) - d * (float)sum) > 1e-3f * fabsf(d * (float)sum) + 1e-30f;
        }
        if (vdt == HONE_TYPE_Q8_K) {
            const block_q8_K *b = (const block_q8_K *)xq + i;
            for (int g = 0; g < QK_K / 16; g++) {
                int s = 0;
                for (int l = 0; l < 16; l++) s += qs[16 * g + l];
                n_bad_sum += b->bsums[g] != s;
            }
        }
    }
    const char *what = hone_type_get(vdt)->name;
    CHECKF(n_bad_scale == 0, "%s %s %s: %d blocks without the row scale %g", what, act_mode_name(mode),
           row_names[kind], n_bad_scale, (double)d);
    CHECKF(n_bad_code == 0, "%s %s %s: %d codes more than one step from x/d", what, act_mode_name(mode),
           row_names[kind], n_bad_code);
    CHECKF(n_sat == 0 && n_over == 0, "%s %s %s: %d codes not saturated, %d outside +-127", what,
           act_mode_name(mode), row_names[kind], n_sat, n_over);
    CHECKF(n_bad_sum == 0, "%s %s %s: %d wrong block sums", what, act_mode_name(mode), row_names[kind], n_bad_sum);
}

/* The dispatched (AVX2 where the CPU has it) quantiser against the scalar reference, byte for byte. */
static int simd_rows;
static void check_simd(hone_type vdt, int mode, float scale, const float *x) {
    _Alignas(64) char a[N * 2], b[N * 2];
    memset(a, 0x5A, sizeof a);
    memset(b, 0xA5, sizeof b);
    act_quantize_row(vdt, mode, scale, x, a, N);
    act_quantize_row_scalar(vdt, mode, scale, x, b, N);
    const size_t bytes = hone_row_size(vdt, N);
    CHECKF(memcmp(a, b, bytes) == 0, "%s %s: the SIMD row differs from the scalar reference",
           hone_type_get(vdt)->name, act_mode_name(mode));
    simd_rows++;
}

static void check_simd_all(void) {
    const kernel_level lvl = kernel_cpu_level();
    if (!act_avx2_built() || (lvl != KERNEL_CPU_AVX2 && lvl != KERNEL_CPU_AVX512)) {
        printf("no AVX2 level here: act_quantize_row is the scalar code (SIMD comparison not run)\n");
        return;
    }
    const hone_type vdts[3] = {HONE_TYPE_Q8_0, HONE_TYPE_Q8_1, HONE_TYPE_Q8_K};
    float x[N];
    for (int rep = 0; rep < 40; rep++) {
        const int kind = rep % 6;
        if (kind < R_COUNT) {
            make_row(kind, x, N);
        } else if (kind == 4) { /* adversarial values */
            static const float special[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 1e-40f, -0.0f, 0.0f, 65504.0f};
            make_row(R_RANDOM, x, N);
            for (int i = 0; i < N; i += 1 + (int)(rnd() % 23)) x[i] = special[rnd() % 9];
        } else { /* exact ties of x / d: halves of the static scale 0.5 */
            for (int i = 0; i < N; i++) x[i] = 0.25f * (float)((int)(rnd() % 512) - 256);
        }
        for (int v = 0; v < 3; v++) {
            check_simd(vdts[v], HONE_ACT_TOKEN, 0.0f, x);
            check_simd(vdts[v], HONE_ACT_STATIC, 0.5f, x);
            check_simd(vdts[v], HONE_ACT_STATIC, 0.013f, x);
        }
    }
    /* the row's peak at every position of the first and last 32 (the max's loop and its tail) */
    for (int k = 0; k < 64; k++) {
        make_row(R_RANDOM, x, N);
        x[k < 32 ? k : N - 64 + k] = k % 2 ? -40.0f : 40.0f;
        for (int v = 0; v < 3; v++) check_simd(vdts[v], HONE_ACT_TOKEN, 0.0f, x);
    }
    CHECK(simd_rows == 40 * 9 + 64 * 3);
}

/* Static scale small enough that the heavy-tailed row's outliers (and much of the random row)
 * saturate: at least one code must sit at each end. */
static void check_static_clips(hone_type vdt) {
    float x[N];
    _Alignas(64) char xq[N * 2];
    make_row(R_RANDOM, x, N);
    x[5] = 1000.0f, x[300] = -1000.0f;
    act_quantize_row(vdt, HONE_ACT_STATIC, 0.004f, x, xq, N);
    const int bsz = (int)hone_type_get(vdt)->block_size;
    int hi = 0, lo = 0;
    for (int i = 0; i < N / bsz; i++) {
        const int8_t *qs;
        int bs;
        block_view(vdt, xq, i, &qs, &bs);
        for (int j = 0; j < bs; j++) hi += qs[j] == 127, lo += qs[j] == -127;
    }
    CHECKF(hi > 1 && lo > 1, "%s static: expected saturated codes at both ends, got %d at +127, %d at -127",
           hone_type_get(vdt)->name, hi, lo);
}

/* matmul with the mode set vs the dequantised operands multiplied in double. */
static void check_matmul(threadpool *pool, hone_type wt, int mode) {
    static float w[N_OUT * N], x[T_MAX * N], wd[N], xd[N], out[T_MAX * N_OUT], out1[N_OUT];
    static _Alignas(64) char wq[N_OUT * N * 2], xq[T_MAX * N * 2], xq1[N * 2];
    const hone_type vdt = hone_type_get(wt)->vec_dot_type;
    const size_t rb = hone_row_size(wt, N), xr = hone_row_size(vdt, N);
    for (int i = 0; i < N_OUT * N; i++) w[i] = frand();
    for (int t = 0; t < T_MAX; t++) make_row(t % 2 ? R_HEAVY : R_RANDOM, x + t * N, N);
    for (int r = 0; r < N_OUT; r++) CHECK(hone_quantize_row(wt, w + r * N, wq + r * rb, N) == HONE_OK);
    hone_mat m = {wq, wt, N, N_OUT, rb, (uint8_t)mode, mode == HONE_ACT_STATIC ? 0.05f : 0.0f};
    matmul_quantize_act_mat(pool, &m, x, T_MAX, xq);
    matmul(pool, &m, xq, T_MAX, out);
    double worst = 0.0;
    for (int t = 0; t < T_MAX; t++) {
        hone_dequantize_row(vdt, xq + t * xr, xd, N);
        for (int r = 0; r < N_OUT; r++) {
            hone_dequantize_row(wt, wq + r * rb, wd, N);
            double ref = 0.0, norm = 0.0, wmax = 0.0;
            for (int j = 0; j < N; j++) {
                ref += (double)wd[j] * xd[j];
                norm += fabs((double)xd[j]);
                wmax = fabs((double)wd[j]) > wmax ? fabs((double)wd[j]) : wmax;
            }
            /* the kernels' float sums, and Q4_1/Q5_1's min term through the half-precision s */
            const double err = fabs(out[t * N_OUT + r] - ref) / (norm * wmax + 1e-30);
            worst = err > worst ? err : worst;
        }
    }
    CHECKF(worst < 2e-3, "%s x %s %s: matmul off the dequantised product by %.3g (normalised)",
           hone_type_get(wt)->name, hone_type_get(vdt)->name, act_mode_name(mode), worst);
    /* batch invariance: the last row alone, on the calling thread, gives the same bytes and outputs */
    matmul_quantize_act_mat(NULL, &m, x + (T_MAX - 1) * N, 1, xq1);
    CHECKF(memcmp(xq1, xq + (T_MAX - 1) * xr, xr) == 0, "%s %s: a row quantised alone differs from its batch copy",
           hone_type_get(wt)->name, act_mode_name(mode));
    matmul(pool, &m, xq1, 1, out1);
    CHECKF(memcmp(out1, out + (T_MAX - 1) * N_OUT, sizeof out1) == 0, "%s %s: a lone token's outputs differ from "
           "its outputs in a batch of %d", hone_type_get(wt)->name, act_mode_name(mode), T_MAX);
}

/* The mode really changes the activations (else the product checks above could pass with the
 * mode ignored): a heavy-tailed row's token-mode codes differ from its per-block codes. */
static void check_modes_differ(void) {
    float x[N];
    _Alignas(64) char a[N * 2], b[N * 2];
    make_row(R_HEAVY, x, N);
    hone_mat m = {NULL, HONE_TYPE_Q4_0, N, 1, 0, HONE_ACT_TOKEN, 0.0f};
    matmul_quantize_act_mat(NULL, &m, x, 1, a);
    matmul_quantize_act(NULL, HONE_TYPE_Q4_0, x, N, 1, b);
    CHECK(memcmp(a, b, hone_row_size(HONE_TYPE_Q8_0, N)) != 0);
    /* float weights have no int8 activations: the mode is ignored */
    hone_mat f = {NULL, HONE_TYPE_F16, N, 1, 0, HONE_ACT_STATIC, 0.01f};
    matmul_quantize_act_mat(NULL, &f, x, 1, a);
    matmul_quantize_act(NULL, HONE_TYPE_F16, x, N, 1, b);
    CHECK(memcmp(a, b, hone_row_size(HONE_TYPE_F16, N)) == 0);
    /* which matrices may share a quantised input */
    hone_mat q = {NULL, HONE_TYPE_Q4_0, N, 1, 0, HONE_ACT_STATIC, 0.5f}, k = q, v = q, g = f;
    CHECK(matmul_same_act(&q, &k));
    k.act_scale = 0.25f;
    CHECK(!matmul_same_act(&q, &k));
    v.act_mode = HONE_ACT_TOKEN;
    CHECK(!matmul_same_act(&q, &v));
    g.act_mode = HONE_ACT_DYNAMIC;
    CHECK(matmul_same_act(&f, &g));
    CHECK(!act_type_has_mode(HONE_TYPE_F32) && !act_type_has_mode(HONE_TYPE_BF16) && act_type_has_mode(HONE_TYPE_Q6_K));
}

int main(void) {
    for (int mode = 0; mode < 3; mode++) CHECK(act_mode_parse(act_mode_name(mode)) == mode);
    CHECK(act_mode_parse("int8") == -1 && act_mode_parse(NULL) == -1 && act_mode_name(3) == NULL);

    const hone_type vdts[3] = {HONE_TYPE_Q8_0, HONE_TYPE_Q8_1, HONE_TYPE_Q8_K};
    for (int v = 0; v < 3; v++) {
        for (int kind = 0; kind < R_COUNT; kind++) {
            check_row(vdts[v], HONE_ACT_TOKEN, 0.0f, kind);
            check_row(vdts[v], HONE_ACT_STATIC, 0.02f, kind);
            check_row(vdts[v], HONE_ACT_STATIC, 3.0f, kind);
        }
        check_static_clips(vdts[v]);
    }

    threadpool *pool = NULL;
    CHECK(threadpool_create(3, &pool) == HONE_OK);
    const hone_type wts[] = {HONE_TYPE_Q4_0, HONE_TYPE_Q4_1, HONE_TYPE_Q5_0, HONE_TYPE_Q5_1,  HONE_TYPE_Q8_0,
                             HONE_TYPE_Q2_K, HONE_TYPE_Q3_K, HONE_TYPE_Q4_K, HONE_TYPE_Q5_K,  HONE_TYPE_Q6_K,
                             HONE_TYPE_IQ4_NL, HONE_TYPE_INT8_CH, HONE_TYPE_ASYM4_G64, HONE_TYPE_LOG4_G32};
    for (size_t i = 0; pool && i < sizeof wts / sizeof *wts; i++)
        for (int mode = 0; mode < 3; mode++) check_matmul(pool, wts[i], mode);
    threadpool_free(pool);
    check_modes_differ();
    check_simd_all();
    return test_finish();
}
