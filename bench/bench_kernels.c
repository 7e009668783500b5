/*
 * bench_kernels.c - throughput of every dispatched dot-product kernel at every CPU level this machine
 * has, in GB/s of weight bytes read, on one thread.
 *
 * Not a test. Two shapes per type: "hot", a 576 x 576 matrix (SmolLM2-135M's attention projection)
 * that stays in the core's L2 cache, so the figure is the kernel's compute speed; and "stream", a
 * matrix of at least 64 MiB of weights read once per pass, so the figure is bounded by memory
 * bandwidth the way decoding is. Activations are one row, quantised once. The best of `reps`
 * passes (thread CPU time) is reported. Types with a four-row kernel get a second line, "-x4".
 * Usage: bench_kernels [reps]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dtype.h"
#include "kernels/cpu/dispatch.h"
#include "quant/quant.h"

/* Thread CPU time, not wall time: the development machine is shared and busy, and CPU time leaves
 * out the time this thread waits for a core (a stolen vCPU may still count). */
static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x243f6a8885a308d3ull;
static float rnd(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return ((float)(rng >> 40) / 16777216.0f) * 2.0f - 1.0f;
}

static volatile float sink;

/* the same with the four-row kernel (rows a multiple of 4 in both shapes) */
static double run4(hone_vec_dot4_fn dot4, const char *w, size_t rb, int64_t rows, int64_t n, const void *x,
                   int reps, int inner) {
    double best = 1e30;
    float o[4];
    for (int r = 0; r < reps; r++) {
        float acc = 0.0f;
        const double t0 = now();
        for (int k = 0; k < inner; k++)
            for (int64_t i = 0; i + 4 <= rows; i += 4) {
                dot4(n, w + (size_t)i * rb, rb, x, o);
                acc += o[0] + o[3];
            }
        const double dt = now() - t0;
        sink = acc;
        if (dt < best) best = dt;
    }
    return (double)rb * (double)(rows & ~(int64_t)3) * inner / best / 1e9;
}

/* best GB/s of rows x dot(n) over reps passes */
static double run(hone_vec_dot_fn dot, const char *w, size_t rb, int64_t rows, int64_t n, const void *x,
                  int reps, int inner) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        float acc = 0.0f;
        const double t0 = now();
        for (int k = 0; k < inner; k++)
            for (int64_t i = 0; i < rows; i++) acc += dot(n, w + (size_t)i * rb, x);
        const double dt = now() - t0;
        sink = acc;
        if (dt < best) best = dt;
    }
    return (double)rb * (double)rows * inner / best / 1e9;
}

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 5;
    static const hone_type types[] = {HONE_TYPE_Q4_1, HONE_TYPE_Q8_0, HONE_TYPE_F16,  HONE_TYPE_Q4_0,
                                      HONE_TYPE_Q5_0, HONE_TYPE_Q5_1, HONE_TYPE_Q2_K, HONE_TYPE_Q3_K,
                                      HONE_TYPE_Q4_K, HONE_TYPE_Q5_K, HONE_TYPE_Q6_K, HONE_TYPE_BF16,
                                      HONE_TYPE_F32};
    const kernel_level top = kernel_cpu_detected();
    printf("# CPU level detected: %s; GB/s of weight bytes, one thread, best of %d\n",
           kernel_cpu_level_name(top), reps);
    printf("%-6s %-7s %10s %10s\n", "type", "level", "hot", "stream");

    enum { HOT = 576, SN = 4096 };
    float *row = malloc(sizeof(float) * SN);
    for (int i = 0; i < SN; i++) row[i] = rnd();
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const hone_type t = types[ti];
        const hone_type vt = hone_type_get((uint32_t)t)->vec_dot_type;
        /* K-quants need rows of a multiple of 256: the hot shape uses 768 for them */
        const int64_t hn = hone_type_get((uint32_t)t)->block_size == 256 ? 768 : HOT;
        const size_t hrb = hone_row_size(t, hn), srb = hone_row_size(t, SN);
        const int64_t srows = ((int64_t)64 << 20) / (int64_t)srb + 1;
        char *hw = malloc(hrb * HOT), *sw = malloc(srb * (size_t)srows);
        void *hx = malloc(hone_row_size(vt, hn)), *sx = malloc(hone_row_size(vt, SN));
        float *tmp = malloc(sizeof(float) * SN);
        if (!hw || !sw || !hx || !sx || !tmp) {
            fprintf(stderr, "bench_kernels: out of memory\n");
            return 1;
        }
        /* quantise a few distinct rows and tile them: quantising 64 MiB of K-quants takes long */
        for (int64_t r = 0; r < HOT; r++) {
            for (int64_t i = 0; i < hn; i++) tmp[i] = rnd();
            hone_quantize_row(t, tmp, hw + (size_t)r * hrb, hn);
        }
        for (int64_t r = 0; r < srows; r++) {
            if (r < 16) {
                for (int i = 0; i < SN; i++) tmp[i] = rnd();
                hone_quantize_row(t, tmp, sw + (size_t)r * srb, SN);
            } else {
                memcpy(sw + (size_t)r * srb, sw + (size_t)(r % 16) * srb, srb);
            }
        }
        hone_quantize_row(vt, row, hx, hn);
        hone_quantize_row(vt, row, sx, SN);
        for (int lvl = KERNEL_CPU_SCALAR; lvl < KERNEL_CPU_LEVEL_COUNT; lvl++) {
            if (!kernel_cpu_has((kernel_level)lvl)) continue;
            if (lvl == KERNEL_CPU_AVX512) continue; /* runs the AVX2 kernels for now */
            const hone_vec_dot_fn dot = kernel_vec_dot_at(t, (kernel_level)lvl);
            const double hot = run(dot, hw, hrb, HOT, hn, hx, reps, 20);
            const double stream = run(dot, sw, srb, srows, SN, sx, reps, 1);
            printf("%-6s %-7s %10.2f %10.2f\n", hone_type_get((uint32_t)t)->name,
                   kernel_cpu_level_name((kernel_level)lvl), hot, stream);
            const hone_vec_dot4_fn dot4 = kernel_vec_dot4_at(t, (kernel_level)lvl);
            if (dot4) {
                char name[32];
                snprintf(name, sizeof name, "%s-x4", kernel_cpu_level_name((kernel_level)lvl));
                printf("%-6s %-7s %10.2f %10.2f\n", hone_type_get((uint32_t)t)->name, name,
                       run4(dot4, hw, hrb, HOT, hn, hx, reps, 20), run4(dot4, sw, srb, srows, SN, sx, reps, 1));
            }
            fflush(stdout);
        }
        free(hw);
        free(sw);
        free(hx);
        free(sx);
        free(tmp);
    }
    free(row);
    return 0;
}
