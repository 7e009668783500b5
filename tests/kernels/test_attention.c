/*
 * test_attention.c - the SIMD attention kernels against the scalar reference op_attention_f16,
 * bit for bit (the default model's golden logits depend on every bit of attention's output).
 *
 * Cases: both summation orders; head sizes 16..256 (and ones the fast path hands back to the
 * reference: not a multiple of 16, over 256); context lengths 1..300, covering every boundary of
 * the orders (whole 16- and 64-lane steps, the padded length's 32-cell rounding, the VEC double
 * tail); cells in scrambled order; scores spread wide enough that the softmax underflows (the
 * exp fallback lanes); values with zeros and negative zeros; all-equal rows.
 * Also the AVX2 SwiGLU (same polynomial exp) against op_swiglu, bit for bit, over lengths around the
 * sixteen-element groups and inputs from tiny to far past exp's overflow.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "kernels/cpu/attn_avx2.h"
#include "kernels/cpu/attn_q8.h"
#include "quant/blocks.h"
#include "quant/quant.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/ops_avx2.h"

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float frand(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; }

enum { MAXN = 300, CELLS = 320 };

typedef enum { M_RANDOM, M_WIDE, M_ZEROS, M_EQUAL, M_COUNT } mode;
static const char *MNAME[] = {"random", "wide", "zeros", "equal"};

static bool same_bits(const float *a, const float *b, int n) { return memcmp(a, b, (size_t)n * sizeof(float)) == 0; }

static void run_case(int hd, int n, op_f16dot_order order, mode m) {
    const int kvd = 3 * hd; /* three KV heads per cell, use the middle one */
    hone_f16 *k = malloc(sizeof(hone_f16) * CELLS * kvd), *v = malloc(sizeof(hone_f16) * CELLS * kvd);
    float q[512], ref[512], got[512], sref[CELLS], sgot[CELLS];
    int32_t cells[CELLS];
    const float qs = m == M_WIDE ? 300.0f : 1.0f; /* wide: exp underflows for many cells */
    for (int i = 0; i < CELLS * kvd; i++) {
        float kv = frand(), vv = frand();
        if (m == M_ZEROS) kv = (rnd() & 1) ? 0.0f : -0.0f, vv = (rnd() % 3 == 0) ? -0.0f : vv;
        if (m == M_EQUAL) kv = 0.5f, vv = (rnd() & 1) ? -0.25f : 0.25f;
        k[i] = hone_f32_to_f16(kv);
        v[i] = hone_f32_to_f16(vv);
    }
    for (int d = 0; d < hd; d++) q[d] = frand() * qs * (m == M_WIDE && d % 7 == 0 ? 8.0f : 1.0f);
    /* distinct cells in scrambled order */
    for (int i = 0; i < CELLS; i++) cells[i] = i;
    for (int i = CELLS - 1; i > 0; i--) {
        const int j = (int)(rnd() % (uint32_t)(i + 1));
        const int32_t t = cells[i];
        cells[i] = cells[j], cells[j] = t;
    }
    const float scale = 1.0f / sqrtf((float)hd);
    op_attention_f16(ref, q, k + hd, v + hd, kvd, cells, n, hd, scale, sref, order);
    op_attention_f16_avx2(got, q, k + hd, v + hd, kvd, cells, n, hd, scale, sgot, order);
    CHECKF(same_bits(ref, got, hd), "hd %d n %d order %s mode %s: output differs (d0 %.9g vs %.9g)", hd, n,
           order == OP_F16DOT_GEMM ? "gemm" : "vec", MNAME[m], ref[0], got[0]);
    free(k);
    free(v);
}

/* The Q8_0 cache: the AVX2 p.V step gives the scalar path's bits, and the result is the attention
 * of the dequantised cache (computed here in double from the same quantised q) within a bound. */
static void run_case_q8(int hd, int n, mode m) {
    const int nb = hd / QK8_0, row = 3 * nb; /* three KV heads per cell, use the middle one */
    block_q8_0 *k = malloc(sizeof(block_q8_0) * CELLS * row), *v = malloc(sizeof(block_q8_0) * CELLS * row);
    float q[256], a[256], b[256], tmp[256], sa[CELLS], sb[CELLS];
    double ref[256] = {0}, w[CELLS];
    int32_t cells[CELLS];
    for (int c = 0; c < CELLS; c++)
        for (int h = 0; h < 3; h++) {
            for (int d = 0; d < hd; d++) tmp[d] = m == M_ZEROS ? 0.0f : m == M_EQUAL ? 0.5f : frand() * (m == M_WIDE ? 30 : 1);
            hone_quantize_row(HONE_TYPE_Q8_0, tmp, k + (size_t)c * row + h * nb, hd);
            for (int d = 0; d < hd; d++) tmp[d] = m == M_EQUAL ? 0.25f : frand();
            hone_quantize_row(HONE_TYPE_Q8_0, tmp, v + (size_t)c * row + h * nb, hd);
        }
    for (int d = 0; d < hd; d++) q[d] = frand();
    for (int i = 0; i < CELLS; i++) cells[i] = (i * 7 + 3) % CELLS; /* scrambled, distinct (7 coprime to CELLS) */
    const float scale = 1.0f / sqrtf((float)hd);
    const size_t stride = sizeof(block_q8_0) * (size_t)row;
    op_attention_q8_0(a, q, k + nb, v + nb, stride, cells, n, hd, scale, sa, 0);
    op_attention_q8_0(b, q, k + nb, v + nb, stride, cells, n, hd, scale, sb, 1);
    CHECKF(same_bits(a, b, hd), "q8_0 hd %d n %d mode %s: AVX2 differs from scalar", hd, n, MNAME[m]);
    /* reference in double over the dequantised cache and the Q8_0-rounded query */
    block_q8_0 qq[8];
    float qd[256], kd[256], vd[256];
    hone_quantize_row(HONE_TYPE_Q8_0, q, qq, hd);
    hone_dequantize_row(HONE_TYPE_Q8_0, qq, qd, hd);
    double mx = -1e300, sum = 0;
    for (int j = 0; j < n; j++) {
        hone_dequantize_row(HONE_TYPE_Q8_0, k + (size_t)cells[j] * row + nb, kd, hd);
        double s = 0;
        for (int d = 0; d < hd; d++) s += (double)qd[d] * kd[d];
        w[j] = s * scale;
        if (w[j] > mx) mx = w[j];
    }
    for (int j = 0; j < n; j++) sum += (w[j] = exp(w[j] - mx));
    double vmax = 0;
    for (int j = 0; j < n; j++) {
        hone_dequantize_row(HONE_TYPE_Q8_0, v + (size_t)cells[j] * row + nb, vd, hd);
        for (int d = 0; d < hd; d++) ref[d] += w[j] / sum * vd[d], vmax = fmax(vmax, fabs(vd[d]));
    }
    double err = 0;
    for (int d = 0; d < hd; d++) err = fmax(err, fabs(ref[d] - a[d]));
    CHECKF(err <= 1e-5 * (vmax + 1e-30) + 1e-30, "q8_0 hd %d n %d mode %s: error %.3g vs max |v| %.3g", hd, n, MNAME[m],
           err, vmax);
    free(k);
    free(v);
}

/* Grouped heads (tiled order): G heads sharing one KV head, each bit for bit the reference's. */
static void run_case_group(int hd, int n, int G, mode m, op_f16dot_order order) {
    const int kvd = 2 * hd;
    hone_f16 *k = malloc(sizeof(hone_f16) * CELLS * kvd), *v = malloc(sizeof(hone_f16) * CELLS * kvd);
    static float q[4 * 512], ref[4 * 512], got[4 * 512], sref[CELLS], sgot[4 * CELLS];
    int32_t cells[CELLS];
    for (int i = 0; i < CELLS * kvd; i++) {
        float kv = frand() * (m == M_WIDE ? 40.0f : 1.0f), vv = frand();
        if (m == M_ZEROS) kv = (rnd() & 1) ? 0.0f : -0.0f, vv = (rnd() % 3 == 0) ? -0.0f : vv;
        if (m == M_EQUAL) kv = 0.5f, vv = 0.25f;
        k[i] = hone_f32_to_f16(kv);
        v[i] = hone_f32_to_f16(vv);
    }
    for (int i = 0; i < 4 * 512; i++) q[i] = frand();
    for (int i = 0; i < CELLS; i++) cells[i] = (i * 11 + 5) % CELLS;
    const float scale = 1.0f / sqrtf((float)hd);
    for (int g = 0; g < G; g++)
        op_attention_f16(ref + g * 512, q + g * 300, k + hd, v + hd, kvd, cells, n, hd, scale, sref, order);
    op_attention_f16_avx2_group(got, 512, q, 300, G, k + hd, v + hd, kvd, cells, n, hd, scale, sgot, order);
    for (int g = 0; g < G; g++)
        CHECKF(same_bits(ref + g * 512, got + g * 512, hd), "group hd %d n %d G %d head %d mode %s order %s differs", hd, n, G,
               g, MNAME[m], order == OP_F16DOT_GEMM ? "gemm" : "vec");
    free(k);
    free(v);
}

static void test_swiglu(void) {
    static float g[1100], u[1100], ref[1100], got[1100];
    static const float scales[] = {1e-3f, 1.0f, 10.0f, 100.0f, 1000.0f};
    for (int n = 1; n <= 1100; n += (n < 40 ? 1 : 97))
        for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
            for (int i = 0; i < n; i++) g[i] = frand() * scales[k], u[i] = frand();
            if (n > 3) g[1] = -0.0f, g[2] = 0.0f;
            op_swiglu(ref, g, u, n);
            op_swiglu_avx2(got, g, u, n);
            CHECKF(same_bits(ref, got, n), "swiglu n %d scale %g differs", n, scales[k]);
        }
}

int main(void) {
    if (!op_attention_avx2_available() || kernel_cpu_detected() < KERNEL_CPU_AVX2)
    {
        test_skip("no AVX2 attention on this build/CPU");
        return 77;
    }
    static const int HD[] = {16, 32, 48, 64, 80, 96, 128, 256, 24, 264};
    static const int NS[] = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 63, 64, 65, 95, 96, 97, 127, 128, 129, 191, 192, 193, 255, 256, 257, 300};
    for (size_t h = 0; h < sizeof HD / sizeof HD[0]; h++)
        for (size_t i = 0; i < sizeof NS / sizeof NS[0]; i++)
            for (int o = 0; o < 2; o++)
                for (int m = 0; m < M_COUNT; m++) run_case(HD[h], NS[i], o ? OP_F16DOT_GEMM : OP_F16DOT_VEC, (mode)m);
    static const int GHD[] = {64, 128, 192, 256, 32, 80};
    for (size_t h = 0; h < sizeof GHD / sizeof GHD[0]; h++)
        for (size_t i = 0; i < sizeof NS / sizeof NS[0]; i++)
            for (int G = 1; G <= 4; G++)
                for (int o = 0; o < 2; o++)
                    run_case_group(GHD[h], NS[i], G, (mode)((i + G + o) % M_COUNT), o ? OP_F16DOT_GEMM : OP_F16DOT_VEC);
    for (int hd = 32; hd <= 256; hd *= 2)
        for (size_t i = 0; i < sizeof NS / sizeof NS[0]; i++)
            for (int m = 0; m < M_COUNT; m++) run_case_q8(hd, NS[i], (mode)m);
    if (op_swiglu_avx2_available()) test_swiglu();
    return test_finish();
}
