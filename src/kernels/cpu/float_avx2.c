/*
 * float_avx2.c - AVX2 products of F32, F16 and BF16 weight rows with activations of the same type:
 * one row (dot), four rows (dot4) and a tiled matrix product for prompt batches (gemm).
 *
 * All three compute each output element in one fixed order, so an element's bits never depend on
 * which kernel produced it, i.e. on the batch size or the row split:
 *   for each chunk of up to 1024 elements (while at least 8 remain): one 8-lane accumulator takes
 *   w[i..i+7] * x[i..i+7] by fused multiply-add, 8 elements at a time; its lanes are summed
 *   (hsum8 below) and added to a double total; the last n % 8 elements are added one by one in
 *   double; the result is the total rounded to float.
 * The scalar references in src/quant sum in double element by element, so these agree with them
 * within a normalised bound (tests/kernels/test_kernels.c), and with one another bit for bit.
 *
 * The gemm walks the batch in tiles of 4 weight rows x 3 activation rows: each 8-element step
 * converts 4 + 3 vectors and does 12 multiply-adds, against 2 conversions per multiply-add in the
 * one-row kernel, which is what makes prompt processing of F16 models compute-bound rather than
 * conversion-bound. Tiles at the edges are smaller instances of the same code.
 */
#include "kernels/cpu/float_avx2.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>

#include "core/fp16.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define ALWAYS_INLINE inline __attribute__((always_inline))
/* Chunks of 1024: each chunk's end costs a horizontal sum and a double add per element of a tile,
 * which with 256-element chunks was a sixth of an F16 prompt's matrix time (measured: pp512
 * +20 % with 1024); float accumulation over 1024 products stays far inside the error bound. */
#define CHUNK 1024
/* Tokens per pass over the weight rows: a block of activations (48 rows of up to 1536 F16 values:
 * 144 KiB) stays in the L2 cache while every row tile sweeps it, and each 4-row weight tile stays
 * in L1 while it meets the block's tokens. Without the blocking either the weights or the whole
 * batch's activations stream from L3 once per tile. */
#define TOK_BLOCK 48
/* Bytes ahead that a one-activation-row product prefetches its weight row (once per 32 elements):
 * measured on F16 decode +4 % at one thread and up to +20 % at two; 2 KiB ahead was worse.
 * The four-row product (decode's kernel for these types) instead prefetches the next four rows
 * while it reads its own: four rows of a matrix are one contiguous block, so the prefetches form a
 * single linear stream one block ahead, where four rows read side by side look to the hardware
 * prefetcher like four short streams it does not follow (measured on SmolLM2's F16 matrices, one
 * thread: 14.4-15.1 ms a token against 19.3 for one row at a time, and 21.7 for four rows with
 * per-row prefetches). */
#define PF_BYTES 512
#define ESZ_f32 4
#define ESZ_f16 2
#define ESZ_bf16 2

static AVX2 ALWAYS_INLINE float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static AVX2 ALWAYS_INLINE __m256 ld_f32(const void *p, int64_t i) { return _mm256_loadu_ps((const float *)p + i); }
static AVX2 ALWAYS_INLINE __m256 ld_f16(const void *p, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const hone_f16 *)p + i)));
}
static AVX2 ALWAYS_INLINE __m256 ld_bf16(const void *p, int64_t i) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const hone_bf16 *)p + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
static AVX2 ALWAYS_INLINE float el_f32(const void *p, int64_t i) { return ((const float *)p)[i]; }
static AVX2 ALWAYS_INLINE float el_f16(const void *p, int64_t i) { return _cvtsh_ss(((const hone_f16 *)p)[i]); }
static AVX2 ALWAYS_INLINE float el_bf16(const void *p, int64_t i) { return hone_bf16_to_f32(((const hone_bf16 *)p)[i]); }

/* An R x C tile: out[c * ostride + r] = w_r . x_c in the order described at the top. R <= 4,
 * C <= 4, both constants at every call site so the loops unroll and the accumulators stay in
 * registers. */
#define FLOAT_TILE(SUF)                                                                                          \
    static AVX2 ALWAYS_INLINE void tile_from_##SUF(const int R, const int C, int64_t n, const char *w,           \
                                                   size_t ws, const char *x, size_t xs, float *out,              \
                                                   int64_t ostride, int64_t i, double init) {                    \
        double total[4][4];                                                                                      \
        for (int r = 0; r < 4; r++)                                                                              \
            for (int c = 0; c < 4; c++) total[r][c] = init;                                                      \
        while (n - i >= 8) {                                                                                     \
            const int64_t end = i + CHUNK < n ? i + CHUNK : n;                                                   \
            __m256 s[4][4];                                                                                      \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                  \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) s[r][c] = _mm256_setzero_ps();                   \
            for (; i + 8 <= end; i += 8) {                                                                       \
                /* the shorter side is loaded first and held: with the 12 sums that keeps a                      \
                 * 4 x 3 or 3 x 4 tile within the 16 registers */                                                \
                /* one activation row: the weights stream from memory (decode); prefetch ahead.                  \
                 * Four rows (contiguous in the matrix) prefetch the next four, as one linear stream,            \
                 * at the pace they read their own: see PF_BYTES */                                              \
                if (C == 1 && R == 4 && (i & 31) == 0)                                                           \
                    _Pragma("GCC unroll 8") for (int k = 0; k < 32 * ESZ_##SUF * 4 / 64; k++)                    \
                        _mm_prefetch(w + 4 * ws + 4 * (size_t)i * ESZ_##SUF + 64 * k, _MM_HINT_T0);              \
                else if (C == 1 && (i & 31) == 0)                                                                \
                    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                          \
                        _mm_prefetch(w + (size_t)r * ws + (size_t)i * ESZ_##SUF + PF_BYTES, _MM_HINT_T0);        \
                if (R <= C) {                                                                                    \
                    __m256 wv[4];                                                                                \
                    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) wv[r] = ld_##SUF(w + (size_t)r * ws, i); \
                    _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) {                                        \
                        const __m256 xv = ld_##SUF(x + (size_t)c * xs, i);                                       \
                        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) s[r][c] =                            \
                            _mm256_fmadd_ps(wv[r], xv, s[r][c]);                                                 \
                    }                                                                                            \
                } else {                                                                                         \
                    __m256 xv[4];                                                                                \
                    _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) xv[c] = ld_##SUF(x + (size_t)c * xs, i); \
                    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {                                        \
                        const __m256 wv = ld_##SUF(w + (size_t)r * ws, i);                                       \
                        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) s[r][c] =                            \
                            _mm256_fmadd_ps(wv, xv[c], s[r][c]);                                                 \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                                  \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) total[r][c] += hsum8(s[r][c]);                   \
        }                                                                                                        \
        for (int r = 0; r < R; r++)                                                                              \
            for (int c = 0; c < C; c++) {                                                                        \
                double t = total[r][c];                                                                          \
                for (int64_t j = i; j < n; j++)                                                                  \
                    t += (double)(el_##SUF(w + (size_t)r * ws, j) * el_##SUF(x + (size_t)c * xs, j));            \
                out[(int64_t)c * ostride + r] = (float)t;                                                        \
            }                                                                                                    \
    }                                                                                                            \
    static AVX2 ALWAYS_INLINE void tile_##SUF(const int R, const int C, int64_t n, const char *w, size_t ws,     \
                                              const char *x, size_t xs, float *out, int64_t ostride) {           \
        tile_from_##SUF(R, C, n, w, ws, x, xs, out, ostride, 0, 0.0);                                            \
    }                                                                                                            \
    static AVX2 float dot_##SUF(int64_t n, const void *w, const void *x) {                                       \
        float o;                                                                                                 \
        tile_##SUF(1, 1, n, w, 0, x, 0, &o, 1);                                                                  \
        return o;                                                                                                \
    }                                                                                                            \
    static AVX2 void dot4_##SUF(int64_t n, const void *w, size_t stride, const void *x, float *out) {            \
        tile_##SUF(4, 1, n, w, stride, x, 0, out, 1);                                                            \
    }                                                                                                            \
    static AVX2 void gemm_##SUF(int64_t n, const void *w, size_t ws, int nr, const void *x, size_t xs,           \
                                int nt, float *out, int64_t ostride) {                                           \
        for (int t0 = 0; t0 < nt; t0 += TOK_BLOCK) {                                                             \
            const int tn = nt - t0 < TOK_BLOCK ? nt - t0 : TOK_BLOCK;                                            \
            for (int r = 0; r < nr; r += 4) {                                                                    \
                const int R = nr - r < 4 ? nr - r : 4;                                                           \
                const char *wr = (const char *)w + (size_t)r * ws;                                               \
                for (int t = t0; t < t0 + tn; t += 3) {                                                          \
                    const int C = t0 + tn - t < 3 ? t0 + tn - t : 3;                                             \
                    const char *xt = (const char *)x + (size_t)t * xs;                                           \
                    float *o = out + (int64_t)t * ostride + r;                                                   \
                    switch (R * 4 + C) {                                                                         \
                    case 4 * 4 + 3: tile_##SUF(4, 3, n, wr, ws, xt, xs, o, ostride); break;                      \
                    case 4 * 4 + 2: tile_##SUF(4, 2, n, wr, ws, xt, xs, o, ostride); break;                      \
                    case 4 * 4 + 1: tile_##SUF(4, 1, n, wr, ws, xt, xs, o, ostride); break;                      \
                    case 3 * 4 + 3: tile_##SUF(3, 3, n, wr, ws, xt, xs, o, ostride); break;                      \
                    case 2 * 4 + 3: tile_##SUF(2, 3, n, wr, ws, xt, xs, o, ostride); break;                      \
                    case 1 * 4 + 3: tile_##SUF(1, 3, n, wr, ws, xt, xs, o, ostride); break;                      \
                    default: /* the last corner: fewer than 4 rows and 3 tokens */                               \
                        for (int c = 0; c < C; c++)                                                              \
                            for (int rr = 0; rr < R; rr++)                                                       \
                                tile_##SUF(1, 1, n, wr + (size_t)rr * ws, 0, xt + (size_t)c * xs, 0,             \
                                           o + (int64_t)c * ostride + rr, 1);                                    \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }

FLOAT_TILE(f32)
FLOAT_TILE(f16)
FLOAT_TILE(bf16)

hone_vec_dot_fn kernel_float_dot_avx2(hone_type t) {
    switch (t) {
    case HONE_TYPE_F32: return dot_f32;
    case HONE_TYPE_F16: return dot_f16;
    case HONE_TYPE_BF16: return dot_bf16;
    default: return NULL;
    }
}

hone_vec_dot4_fn kernel_float_dot4_avx2(hone_type t) {
    switch (t) {
    case HONE_TYPE_F32: return dot4_f32;
    case HONE_TYPE_F16: return dot4_f16;
    case HONE_TYPE_BF16: return dot4_bf16;
    default: return NULL;
    }
}

hone_gemm_fn kernel_float_gemm_avx2(hone_type t) {
    switch (t) {
    case HONE_TYPE_F32: return gemm_f32;
    case HONE_TYPE_F16: return gemm_f16;
    case HONE_TYPE_BF16: return gemm_bf16;
    default: return NULL;
    }
}

#else

hone_vec_dot_fn kernel_float_dot_avx2(hone_type t) {
    (void)t;
    return NULL;
}
hone_vec_dot4_fn kernel_float_dot4_avx2(hone_type t) {
    (void)t;
    return NULL;
}
hone_gemm_fn kernel_float_gemm_avx2(hone_type t) {
    (void)t;
    return NULL;
}

#endif
