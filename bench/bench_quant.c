/*
 * bench_quant.c - throughput of the scalar reference dequantise, dot product and quantise, per type.
 *
 * Not a test. Quantises a 4096 x 1024 matrix of normal values to each type, then times
 * hone_dequantize_row and hone_vec_dot over all rows (a matrix-vector product's worth of work) and
 * reports GB/s of weight bytes read; quantise is timed on the activation row (M elements/s).
 * Usage: bench_quant [reps]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/dtype.h"
#include "quant/quant.h"

#define COLS 4096
#define ROWS 1024

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static float rnd_normal(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    const float u = ((float)(rng >> 40) + 0.5f) / 16777216.0f;
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    const float v = ((float)(rng >> 40) + 0.5f) / 16777216.0f;
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 3;
    static const hone_type types[] = {HONE_TYPE_F32,  HONE_TYPE_F16,  HONE_TYPE_BF16, HONE_TYPE_Q4_0,
                                      HONE_TYPE_Q4_1, HONE_TYPE_Q5_0, HONE_TYPE_Q5_1, HONE_TYPE_Q8_0,
                                      HONE_TYPE_Q2_K, HONE_TYPE_Q3_K, HONE_TYPE_Q4_K, HONE_TYPE_Q5_K,
                                      HONE_TYPE_Q6_K};
    float *src = malloc(sizeof(float) * COLS * ROWS), *row = malloc(sizeof(float) * COLS);
    uint8_t *w = malloc((size_t)COLS * ROWS * 4), *xq = malloc((size_t)COLS * 4);
    if (!src || !row || !w || !xq) return 1;
    for (size_t i = 0; i < (size_t)COLS * ROWS; i++) src[i] = rnd_normal();
    for (int i = 0; i < COLS; i++) row[i] = rnd_normal();
    printf("%-5s %10s %10s %12s\n", "type", "dequant", "vec_dot", "quant(x)");
    printf("%-5s %10s %10s %12s\n", "", "GB/s", "GB/s", "Melem/s");
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const hone_type t = types[k];
        const hone_type vt = hone_type_get(t)->vec_dot_type;
        const size_t rs = hone_row_size(t, COLS);
        for (int r = 0; r < ROWS; r++) hone_quantize_row(t, src + (size_t)r * COLS, w + r * rs, COLS);
        hone_quantize_row(vt, row, xq, COLS);
        double best_d = 1e9, best_v = 1e9, best_q = 1e9;
        volatile float sink = 0;
        for (int rep = 0; rep < reps; rep++) {
            double t0 = now();
            for (int r = 0; r < ROWS; r++) hone_dequantize_row(t, w + r * rs, row, COLS);
            double t1 = now();
            float acc = 0;
            for (int r = 0; r < ROWS; r++) acc += hone_vec_dot(t, COLS, w + r * rs, xq);
            double t2 = now();
            for (int r = 0; r < 64; r++) hone_quantize_row(vt, src + (size_t)r * COLS, xq, COLS);
            double t3 = now();
            sink += acc;
            if (t1 - t0 < best_d) best_d = t1 - t0;
            if (t2 - t1 < best_v) best_v = t2 - t1;
            if (t3 - t2 < best_q) best_q = t3 - t2;
        }
        hone_quantize_row(vt, row, xq, COLS);
        const double bytes = (double)rs * ROWS;
        printf("%-5s %10.2f %10.2f %12.1f\n", hone_type_get(t)->name, bytes / best_d * 1e-9, bytes / best_v * 1e-9,
               64.0 * COLS / best_q * 1e-6);
        (void)sink;
    }
    free(src);
    free(row);
    free(w);
    free(xq);
    return 0;
}
