/*
 * attn_q8.c - attention over a Q8_0 KV cache: the order is described in attn_q8.h.
 *
 * Storing K and V as Q8_0 halves the cache next to F16 (34 bytes per 32 values), which lets a
 * server hold nearly twice the tokens in the same --kv-mem. q.K reuses the Q8_0 dot product the
 * matrix kernels use (exact integer sums per block, one fused multiply-add per block), so only
 * the p.V step needed a kernel of its own.
 */
#include "kernels/cpu/attn_q8.h"

#include <math.h>

#include "core/fp16.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/ops_internal.h"
#include "quant/blocks.h"
#include "quant/quant.h"

enum { MAX_BLOCKS = 256 / QK8_0 };

/* out[i] = fmaf(s, (float)q[i], out[i]) for the 32 values of a block */
static void axpy_q8(float *out, float s, const int8_t *q) {
    for (int i = 0; i < QK8_0; i++) out[i] = fmaf(s, (float)q[i], out[i]);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>

/* the same eight lanes at a time: int8 -> int32 -> float is exact, and one vfmadd per lane is
 * fmaf's single rounding */
__attribute__((target("avx2,fma"))) static void axpy_q8_avx2(float *out, float s, const int8_t *q) {
    const __m256 vs = _mm256_set1_ps(s);
    for (int i = 0; i < QK8_0; i += 8) {
        const __m256 qf = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q + i))));
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(vs, qf, _mm256_loadu_ps(out + i)));
    }
}
#define HAVE_AXPY_AVX2 1
#else
#define HAVE_AXPY_AVX2 0
#endif

void op_attention_q8_0(float *out, const float *q, const void *k, const void *v, size_t stride, const int32_t *cells,
                       int n, int head_dim, float scale, float *scores, int simd) {
    const int nb = head_dim / QK8_0;
    block_q8_0 qq[MAX_BLOCKS];
    hone_quantize_row(HONE_TYPE_Q8_0, q, qq, head_dim);
    const hone_vec_dot_fn dot = kernel_vec_dot(HONE_TYPE_Q8_0);
    const char *kb = k, *vb = v;

    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        const float s = dot(head_dim, kb + (size_t)cells[j] * stride, qq) * scale;
        scores[j] = s;
        if (s > mx) mx = s;
    }
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
        const float e = expf_poly(scores[j] - mx);
        scores[j] = e;
        sum += e;
    }
    const float inv = (float)(1.0 / sum);

    void (*axpy)(float *, float, const int8_t *) = axpy_q8;
#if HAVE_AXPY_AVX2
    if (simd) axpy = axpy_q8_avx2;
#else
    (void)simd;
#endif
    for (int d = 0; d < head_dim; d++) out[d] = 0.0f;
    for (int j = 0; j < n; j++) {
        const float p = scores[j] * inv;
        const block_q8_0 *blk = (const block_q8_0 *)(vb + (size_t)cells[j] * stride);
        for (int b = 0; b < nb; b++) axpy(out + b * QK8_0, p * hone_f16_to_f32(blk[b].d), blk[b].qs);
    }
}
