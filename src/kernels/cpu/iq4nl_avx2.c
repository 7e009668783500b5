/*
 * iq4nl_avx2.c - AVX2 dot product of IQ4_NL weights with Q8_0 activations.
 *
 * The 16-entry level table fits one 128-bit register, so one byte shuffle (pshufb) turns 32 4-bit
 * indices into 32 signed levels. The products with the activations are formed with maddubs, which
 * multiplies unsigned by signed bytes: the levels go in as |level| and the activations take the
 * level's sign (psignb). |level| <= 127 and |activation| <= 127, so a pair sum is at most
 * 2 * 127 * 127 = 32258 and never saturates. Each block's integer sum is therefore exact, and the
 * float expression after it is the scalar reference's (src/quant/q_iq4nl.c), block after block: the
 * result has exactly the reference's bits. (An activation of -128, which no Q8_0 quantiser makes,
 * would break the sign trick.) Built for any x86-64 with a target attribute; reached only through
 * dispatch.c after the CPU check. This file is compiled with -std=c11 (no float contraction).
 */
#include "kernels/cpu/iq4nl_avx2.h"

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>

#include "quant/blocks.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))

static AVX2 inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* One block's products as 8 int32 partial sums (exact). */
static AVX2 inline __m256i block_isums(const block_iq4_nl *a, const block_q8_0 *b, __m256i table) {
    /* indices in element order: low nibbles are elements 0..15, high nibbles 16..31 */
    const __m128i m4 = _mm_set1_epi8(0xF);
    const __m128i q = _mm_loadu_si128((const __m128i *)a->qs);
    const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
    const __m256i lv = _mm256_shuffle_epi8(table, idx);
    const __m256i y = _mm256_loadu_si256((const __m256i *)b->qs);
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(lv, lv), _mm256_sign_epi8(y, lv));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static AVX2 float dot_iq4_nl(int64_t n, const void *w, const void *x) {
    const block_iq4_nl *a = w;
    const block_q8_0 *b = x;
    const int64_t nb = n / QK4_NL;
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)hq_iq4nl_values));
    float sum = 0.0f;
    int64_t i = 0;
    /* four blocks at a time: their eight-lane sums reduced together by horizontal adds (integer,
     * exact), then each block's float product and the running sum in the reference's order */
    for (; i + 4 <= nb; i += 4) {
        const __m256i h01 =
            _mm256_hadd_epi32(block_isums(a + i, b + i, table), block_isums(a + i + 1, b + i + 1, table));
        const __m256i h23 =
            _mm256_hadd_epi32(block_isums(a + i + 2, b + i + 2, table), block_isums(a + i + 3, b + i + 3, table));
        const __m256i h = _mm256_hadd_epi32(h01, h23); /* per 128-bit half: blocks 0, 1, 2, 3 */
        const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
        int is[4];
        _mm_storeu_si128((__m128i *)is, s4);
        for (int k = 0; k < 4; k++) sum += _cvtsh_ss(a[i + k].d) * _cvtsh_ss(b[i + k].d) * (float)is[k];
    }
    for (; i < nb; i++) {
        const int isum = hsum_i32(block_isums(a + i, b + i, table));
        sum += _cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d) * (float)isum;
    }
    return sum;
}

/* Weight block decoded once: its levels (for the activations' signs) and their magnitudes. */
typedef struct {
    __m256i lv, mag;
    float d;
} wblock;

static AVX2 inline wblock decode(const block_iq4_nl *a, __m256i table) {
    const __m128i m4 = _mm_set1_epi8(0xF);
    const __m128i q = _mm_loadu_si128((const __m128i *)a->qs);
    const __m256i idx = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
    wblock r;
    r.lv = _mm256_shuffle_epi8(table, idx);
    r.mag = _mm256_sign_epi8(r.lv, r.lv);
    r.d = _cvtsh_ss(a->d);
    return r;
}

static AVX2 inline __m256i wblock_isums(const wblock *wb, const int8_t *y) {
    const __m256i yy = _mm256_loadu_si256((const __m256i *)y);
    return _mm256_madd_epi16(_mm256_maddubs_epi16(wb->mag, _mm256_sign_epi8(yy, wb->lv)), _mm256_set1_epi16(1));
}

/* Prompt batches: each weight row against up to four activation rows at a time, every weight block
 * decoded once for all of them. Per (row, activation row) the integer sums are exact and the float
 * operations are the one-row kernel's, in its order, so every element has its bits. */
static AVX2 void gemm_iq4_nl(int64_t n, const void *w, size_t ws, int nr, const void *x, size_t xs, int nt, float *out,
                             int64_t os) {
    const int64_t nb = n / QK4_NL;
    const __m256i table = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)hq_iq4nl_values));
    for (int r = 0; r < nr; r++) {
        const block_iq4_nl *a = (const block_iq4_nl *)((const char *)w + (size_t)r * ws);
        for (int t0 = 0; t0 < nt; t0 += 4) {
            const int C = nt - t0 < 4 ? nt - t0 : 4;
            const block_q8_0 *b[4];
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            for (int c = 0; c < C; c++) b[c] = (const block_q8_0 *)((const char *)x + (size_t)(t0 + c) * xs);
            int64_t i = 0;
            for (; i + 4 <= nb; i += 4) {
                wblock wb[4];
                for (int k = 0; k < 4; k++) wb[k] = decode(a + i + k, table);
                for (int c = 0; c < C; c++) {
                    const block_q8_0 *y = b[c] + i;
                    const __m256i h01 = _mm256_hadd_epi32(wblock_isums(&wb[0], y[0].qs), wblock_isums(&wb[1], y[1].qs));
                    const __m256i h23 = _mm256_hadd_epi32(wblock_isums(&wb[2], y[2].qs), wblock_isums(&wb[3], y[3].qs));
                    const __m256i h = _mm256_hadd_epi32(h01, h23);
                    int is[4];
                    const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
                    _mm_storeu_si128((__m128i *)is, s4);
                    for (int k = 0; k < 4; k++) acc[c] += wb[k].d * _cvtsh_ss(y[k].d) * (float)is[k];
                }
            }
            for (; i < nb; i++) {
                const wblock wb = decode(a + i, table);
                for (int c = 0; c < C; c++)
                    acc[c] += wb.d * _cvtsh_ss(b[c][i].d) * (float)hsum_i32(wblock_isums(&wb, b[c][i].qs));
            }
            for (int c = 0; c < C; c++) out[(int64_t)(t0 + c) * os + r] = acc[c];
        }
    }
}

hone_vec_dot_fn kernel_vec_dot_iq4nl_avx2(void) { return dot_iq4_nl; }
hone_gemm_fn kernel_gemm_iq4nl_avx2(void) { return gemm_iq4_nl; }

#else

hone_vec_dot_fn kernel_vec_dot_iq4nl_avx2(void) { return NULL; }
hone_gemm_fn kernel_gemm_iq4nl_avx2(void) { return NULL; }

#endif
