/*
 * bench_gemm.c - throughput of the tiled batch kernels (prompt processing, batched decode) on the
 * shapes of SmolLM2-135M, one thread, in billions of multiply-adds per second.
 *
 * Not a test. For each type with a tiled kernel and each shape (rows x inner length) the weight
 * matrix is multiplied by T activation rows (T = 512: a prompt; T = 16: a 16-stream decode step),
 * through the same entry point matmul uses, with the tokens optionally cut into chunks of TC
 * (the driver's blocking); and T = 16 once more with the weights streaming from memory ("strm": copies
 * of the matrix adding up to 256 MiB), as in a batched decode step. Thread CPU time, best of `reps`:
 * the development machine is shared.
 * Usage: bench_gemm [reps] [TC...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/dtype.h"
#include "kernels/cpu/dispatch.h"
#include "quant/quant.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float rnd(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return ((float)(rng >> 40) / 16777216.0f) * 2.0f - 1.0f;
}

static volatile float sink;

int main(int argc, char **argv) {
    const int reps = argc > 1 ? atoi(argv[1]) : 5;
    int tcs[8] = {0}, ntc = 0;
    for (int i = 2; i < argc && ntc < 8; i++) tcs[ntc++] = atoi(argv[i]);
    if (ntc == 0) tcs[ntc++] = 0;
    static const hone_type types[] = {HONE_TYPE_Q4_1, HONE_TYPE_Q8_0, HONE_TYPE_F16,  HONE_TYPE_F32,
                                      HONE_TYPE_Q4_0, HONE_TYPE_Q5_0, HONE_TYPE_Q5_1, HONE_TYPE_Q4_K,
                                      HONE_TYPE_Q5_K, HONE_TYPE_Q6_K};
    static const int shapes[][2] = {{1536, 576}, {576, 1536}, {576, 576}, {192, 576}};
    static const int Ts[] = {512, 16};
    printf("# CPU level %s; G multiply-adds/s, one thread, best of %d\n", kernel_cpu_level_name(kernel_cpu_level()),
           reps);
    printf("%-5s %5s %5s %4s %5s %8s\n", "type", "rows", "n", "T", "TC", "GMAC/s");
    for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
        const hone_type t = types[ti];
        const hone_gemm_fn gemm = kernel_gemm(t);
        if (!gemm) continue;
        const hone_type vt = hone_type_get((uint32_t)t)->vec_dot_type;
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            const int rows = shapes[si][0], n = shapes[si][1];
            if (n % (int)hone_type_get((uint32_t)t)->block_size != 0) continue; /* K-quants: n = 1536 only */
            const size_t wrb = hone_row_size(t, n), xrb = hone_row_size(vt, n);
            char *w = malloc(wrb * (size_t)rows), *x = malloc(xrb * 512);
            float *tmp = malloc(sizeof(float) * (size_t)n), *out = malloc(sizeof(float) * (size_t)rows * 512);
            if (!w || !x || !tmp || !out) return 1;
            for (int r = 0; r < rows; r++) {
                for (int i = 0; i < n; i++) tmp[i] = rnd();
                hone_quantize_row(t, tmp, w + (size_t)r * wrb, n);
            }
            for (int r = 0; r < 512; r++) {
                for (int i = 0; i < n; i++) tmp[i] = rnd();
                hone_quantize_row(vt, tmp, x + (size_t)r * xrb, n);
            }
            for (size_t k = 0; k < sizeof Ts / sizeof Ts[0]; k++) {
                const int T = Ts[k];
                for (int c = 0; c < ntc; c++) {
                    const int tc = tcs[c] > 0 && tcs[c] < T ? tcs[c] : T;
                    const int inner = T == 16 ? 32 : 1;
                    double best = 1e30;
                    for (int rep = 0; rep < reps; rep++) {
                        const double t0 = now();
                        for (int it = 0; it < inner; it++)
                            for (int t0k = 0; t0k < T; t0k += tc) {
                                const int nt = T - t0k < tc ? T - t0k : tc;
                                gemm(n, w, wrb, rows, x + (size_t)t0k * xrb, xrb, nt, out + (size_t)t0k * rows, rows);
                            }
                        const double dt = now() - t0;
                        sink = out[rows - 1];
                        if (dt < best) best = dt;
                    }
                    printf("%-5s %5d %5d %4d %5d %8.2f\n", hone_type_get((uint32_t)t)->name, rows, n, T, tc,
                           (double)rows * n * T * inner / best / 1e9);
                    fflush(stdout);
                }
            }
            /* T = 16 with the weights streaming from memory, as in a batched decode step: copies
             * of the matrix adding up to 256 MiB, each multiplied once per pass */
            {
                const size_t mb = wrb * (size_t)rows, copies = ((size_t)256 << 20) / mb + 1;
                char *big = malloc(mb * copies);
                if (!big) return 1;
                for (size_t k = 0; k < copies; k++) memcpy(big + k * mb, w, mb);
                double best = 1e30;
                for (int rep = 0; rep < reps; rep++) {
                    const double t0 = now();
                    for (size_t k = 0; k < copies; k++) gemm(n, big + k * mb, wrb, rows, x, xrb, 16, out, rows);
                    const double dt = now() - t0;
                    sink = out[rows - 1];
                    if (dt < best) best = dt;
                }
                printf("%-5s %5d %5d %4d %5s %8.2f\n", hone_type_get((uint32_t)t)->name, rows, n, 16, "strm",
                       (double)rows * n * 16 * (double)copies / best / 1e9);
                free(big);
            }
            free(w), free(x), free(tmp), free(out);
        }
    }
    return 0;
}
