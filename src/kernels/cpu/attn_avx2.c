/*
 * attn_avx2.c - AVX2+FMA+F16C attention over the F16 KV cache, bit-identical to op_attention_f16.
 *
 * The scalar reference (ops.c) fixes every summation order: the q.K dot products and the p.V sums
 * follow one of llama.cpp's two orders (GEMM: lane i % 16 takes every sixteenth product; VEC: four
 * groups of sixteen lanes over whole 64-element steps, the rest added in double), the softmax uses
 * the polynomial exp with sixteen-lane partial sums added in double. Each of those is a set of
 * independent float lanes, so it maps onto 8-wide registers without changing a single operation:
 *  - q.K: the sixteen (GEMM) or sixty-four (VEC) lanes are two or eight ymm accumulators fed with
 *    the same fused multiply-adds in the same order, then folded exactly as the reference folds;
 *  - p.V: the reference keeps one accumulator set per output element d and runs down the cache;
 *    here the lanes of all head_dim outputs live in a small table (slot = j % 16 or j % 64, one
 *    row of head_dim floats per slot) and each cached row V_j updates its slot's row with 8-wide
 *    FMAs, which is the same per-element operation sequence, merely for eight d at a time;
 *  - exp: the polynomial evaluated 8-wide with the same fused operations; scaling by 2^n is a
 *    multiply by an exact power of two wherever the result stays normal, and the rare lanes
 *    that would not (tiny probabilities) are recomputed with the scalar expf_poly.
 * F16 conversions (F16C, round to nearest even) are exact and identical to hone_f16_to_f32 /
 * hone_f32_to_f16. Signed zeros are respected: accumulators start as +0 and are only ever fed
 * through FMAs, like the reference's lanes; slots the reference never feeds are read as +0.
 * tests/kernels/test_attention.c compares this kernel with the reference bit for bit.
 */
#include "kernels/cpu/attn_avx2.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>
#include <string.h>

#include "kernels/cpu/exp_avx2.h"
#include "kernels/cpu/ops_internal.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))

enum { MAX_HD = 256 };

static AVX2 inline __m256 load_f16x8(const hone_f16 *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static AVX2 inline __m256 round_f16x8(__m256 v) {
    return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* lanes16_sum of the sixteen lanes lo (0..7) and hi (8..15). */
static AVX2 inline float lanes16_sum_v(__m256 lo, __m256 hi) {
    const __m256 t8 = _mm256_add_ps(hi, lo);
    const __m128 t4 = _mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8));
    const __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4)); /* (t4[0]+t4[2], t4[1]+t4[3]) */
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_movehdup_ps(t2)));
}

/* lanes16_sum across slots for eight outputs at once: a[l] is slot l's row at those outputs. */
static AVX2 inline __m256 lanes16_sum_cols(const __m256 *a) {
    __m256 t8[8], t4[4];
    for (int i = 0; i < 8; i++) t8[i] = _mm256_add_ps(a[i + 8], a[i]);
    for (int i = 0; i < 4; i++) t4[i] = _mm256_add_ps(t8[i + 4], t8[i]);
    return _mm256_add_ps(_mm256_add_ps(t4[0], t4[2]), _mm256_add_ps(t4[1], t4[3]));
}

/* q.K_j in the reference's order (qh already rounded through F16). */
static AVX2 float dot_qk(const float *qh, const hone_f16 *kj, int hd, op_f16dot_order order) {
    if (order == OP_F16DOT_GEMM) { /* hd % 16 == 0 here */
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (int d = 0; d < hd; d += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qh + d), load_f16x8(kj + d), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qh + d + 8), load_f16x8(kj + d + 8), a1);
        }
        return lanes16_sum_v(a0, a1);
    }
    /* VEC: lanes [g][0..15] of group g = 0..3 as ymm a[2g] (lanes 0-7), a[2g+1] (8-15) */
    __m256 a[8];
    for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
    const int np = hd & ~63;
    for (int d = 0; d < np; d += 64)
        for (int i = 0; i < 8; i++)
            a[i] = _mm256_fmadd_ps(_mm256_loadu_ps(qh + d + 8 * i), load_f16x8(kj + d + 8 * i), a[i]);
    /* fold: group0 += group2, group1 += group3, group0 += group1, then the sixteen lanes */
    a[0] = _mm256_add_ps(a[0], a[4]), a[1] = _mm256_add_ps(a[1], a[5]);
    a[2] = _mm256_add_ps(a[2], a[6]), a[3] = _mm256_add_ps(a[3], a[7]);
    a[0] = _mm256_add_ps(a[0], a[2]), a[1] = _mm256_add_ps(a[1], a[3]);
    const float folded = lanes16_sum_v(a[0], a[1]);
    if (np == hd) return folded;
    double tail = folded;
    for (int d = np; d < hd; d++) tail += (double)(qh[d] * hone_f16_to_f32(kj[d]));
    return (float)tail;
}

/* lanes16_sum_v for eight keys at once: t8[i] is key i's (hi + lo). A transpose puts lane l of
 * every key in one register, and the same pairings then run eight-wide: ((l0+l4) + (l2+l6)) +
 * ((l1+l5) + (l3+l7)), the order lanes16_sum_v folds in. */
static AVX2 inline __m256 lanes16_sum_x8(const __m256 *t8) {
    const __m256 a0 = _mm256_unpacklo_ps(t8[0], t8[1]), a1 = _mm256_unpackhi_ps(t8[0], t8[1]);
    const __m256 a2 = _mm256_unpacklo_ps(t8[2], t8[3]), a3 = _mm256_unpackhi_ps(t8[2], t8[3]);
    const __m256 a4 = _mm256_unpacklo_ps(t8[4], t8[5]), a5 = _mm256_unpackhi_ps(t8[4], t8[5]);
    const __m256 a6 = _mm256_unpacklo_ps(t8[6], t8[7]), a7 = _mm256_unpackhi_ps(t8[6], t8[7]);
    const __m256 b0 = _mm256_shuffle_ps(a0, a2, 0x44), b1 = _mm256_shuffle_ps(a0, a2, 0xEE);
    const __m256 b2 = _mm256_shuffle_ps(a1, a3, 0x44), b3 = _mm256_shuffle_ps(a1, a3, 0xEE);
    const __m256 b4 = _mm256_shuffle_ps(a4, a6, 0x44), b5 = _mm256_shuffle_ps(a4, a6, 0xEE);
    const __m256 b6 = _mm256_shuffle_ps(a5, a7, 0x44), b7 = _mm256_shuffle_ps(a5, a7, 0xEE);
    /* lane l of keys 0..7: T[l]; the 128-bit halves hold lanes l and l + 4 */
    const __m256 T0 = _mm256_permute2f128_ps(b0, b4, 0x20), T4 = _mm256_permute2f128_ps(b0, b4, 0x31);
    const __m256 T1 = _mm256_permute2f128_ps(b1, b5, 0x20), T5 = _mm256_permute2f128_ps(b1, b5, 0x31);
    const __m256 T2 = _mm256_permute2f128_ps(b2, b6, 0x20), T6 = _mm256_permute2f128_ps(b2, b6, 0x31);
    const __m256 T3 = _mm256_permute2f128_ps(b3, b7, 0x20), T7 = _mm256_permute2f128_ps(b3, b7, 0x31);
    const __m256 u0 = _mm256_add_ps(T4, T0), u1 = _mm256_add_ps(T5, T1);
    const __m256 u2 = _mm256_add_ps(T6, T2), u3 = _mm256_add_ps(T7, T3);
    return _mm256_add_ps(_mm256_add_ps(u0, u2), _mm256_add_ps(u1, u3));
}

/* The (hi + lo) of key j's sixteen q.K lanes, in `order` (hd % 16 == 0; for VEC also hd % 64 == 0,
 * so there is no double tail). The same operations as dot_qk up to its lanes16_sum_v. */
static AVX2 inline __attribute__((always_inline)) __m256 qk_t8(const float *qh, const hone_f16 *kj, int hd, op_f16dot_order order) {
    if (order == OP_F16DOT_GEMM) {
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (int d = 0; d < hd; d += 16) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qh + d), load_f16x8(kj + d), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qh + d + 8), load_f16x8(kj + d + 8), a1);
        }
        return _mm256_add_ps(a1, a0);
    }
    __m256 a[8];
    _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
    for (int d = 0; d < hd; d += 64)
        _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++)
            a[i] = _mm256_fmadd_ps(_mm256_loadu_ps(qh + d + 8 * i), load_f16x8(kj + d + 8 * i), a[i]);
    a[0] = _mm256_add_ps(a[0], a[4]), a[1] = _mm256_add_ps(a[1], a[5]);
    a[2] = _mm256_add_ps(a[2], a[6]), a[3] = _mm256_add_ps(a[3], a[7]);
    a[0] = _mm256_add_ps(a[0], a[2]), a[1] = _mm256_add_ps(a[1], a[3]);
    return _mm256_add_ps(a[1], a[0]);
}

/* Eight outputs of the lone-token (VEC) order from their folded lanes r: stored as they are when every
 * cell went through the lanes, else r in double plus each remaining product (rounded in float), in
 * cell order, as the reference's tail. v points at the eight outputs' column of cell 0. */
static AVX2 void vec_finish(float *out8, __m256 r, const float *scores, const hone_f16 *v, int64_t stride,
                            const int32_t *cells, int n_lane, int n) {
    if (n_lane == n) {
        _mm256_storeu_ps(out8, r);
        return;
    }
    __m256d t0 = _mm256_cvtps_pd(_mm256_castps256_ps128(r)), t1 = _mm256_cvtps_pd(_mm256_extractf128_ps(r, 1));
    for (int jj = n_lane; jj < n; jj++) {
        const __m256 prod = _mm256_mul_ps(_mm256_set1_ps(scores[jj]), load_f16x8(v + (int64_t)cells[jj] * stride));
        t0 = _mm256_add_pd(t0, _mm256_cvtps_pd(_mm256_castps256_ps128(prod)));
        t1 = _mm256_add_pd(t1, _mm256_cvtps_pd(_mm256_extractf128_ps(prod, 1)));
    }
    _mm256_storeu_ps(out8, _mm256_set_m128(_mm256_cvtpd_ps(t1), _mm256_cvtpd_ps(t0)));
}

/* The reference's softmax in place: sixteen exponentials at a time, zero-padded, each group's
 * lanes16_sum added in double; then each probability multiplied by 1 / sum and rounded through F16. */
static AVX2 void softmax_f16(float *scores, int n, float mx) {
    const __m256 vmx = _mm256_set1_ps(mx);
    double sum = 0.0;
    for (int j0 = 0; j0 < n; j0 += 16) {
        __m256 e[2];
        for (int h = 0; h < 2; h++) {
            const int j = j0 + 8 * h, cnt = n - j;
            if (cnt >= 8) {
                e[h] = expf_poly8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmx));
                _mm256_storeu_ps(scores + j, e[h]);
            } else if (cnt > 0) {
                float buf[8] = {0};
                for (int l = 0; l < cnt; l++) buf[l] = expf_poly(scores[j + l] - mx);
                memcpy(scores + j, buf, (size_t)cnt * sizeof(float));
                e[h] = _mm256_loadu_ps(buf);
            } else {
                e[h] = _mm256_setzero_ps();
            }
        }
        sum += lanes16_sum_v(e[0], e[1]);
    }
    const __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    int j = 0;
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(scores + j, round_f16x8(_mm256_mul_ps(_mm256_loadu_ps(scores + j), inv)));
    for (; j < n; j++) scores[j] = hone_f16_to_f32(hone_f32_to_f16(scores[j] * (float)(1.0 / sum)));

}

AVX2 void op_attention_f16_avx2(float *out, const float *q, const hone_f16 *k, const hone_f16 *v, int64_t stride,
                                const int32_t *cells, int n, int head_dim, float scale, float *scores,
                                op_f16dot_order order) {
    const int hd = head_dim;
    if (hd % 16 != 0 || hd > MAX_HD || n <= 0) { /* shapes the fast path does not cover */
        op_attention_f16(out, q, k, v, stride, cells, n, hd, scale, scores, order);
        return;
    }
    float qh[MAX_HD];
    for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(qh + d, round_f16x8(_mm256_loadu_ps(q + d)));

    /* scores and their maximum (hd % 16 == 0, so q.K takes `order` as given) */
    float mx = -INFINITY;
    int j8 = 0;
    /* eight keys at a time: eight independent chains of fused multiply-adds instead of one, and
     * the final folds done eight-wide; every score still takes dot_qk's operations */
    if (order == OP_F16DOT_GEMM || hd % 64 == 0) {
        const __m256 vscale = _mm256_set1_ps(scale);
        for (; j8 + 8 <= n; j8 += 8) {
            __m256 t8[8];
            _Pragma("GCC unroll 8") for (int i = 0; i < 8; i++) t8[i] = qk_t8(qh, k + (int64_t)cells[j8 + i] * stride, hd, order);
            _mm256_storeu_ps(scores + j8, _mm256_mul_ps(lanes16_sum_x8(t8), vscale));
        }
        for (int j = 0; j < j8; j++)
            if (scores[j] > mx) mx = scores[j];
    }
    for (int j = j8; j < n; j++) {
        const float s = dot_qk(qh, k + (int64_t)cells[j] * stride, hd, order) * scale;
        scores[j] = s;
        if (s > mx) mx = s;
    }

    softmax_f16(scores, n, mx);

    /* p.V: slot rows of hd floats. GEMM: slot j % 16 for every j. VEC: slot j % 64 for j < np, where
     * np is the last whole 64-step of the padded length; j >= np is added in double afterwards. */
    const int n_pad = (n + 31) & ~31;
    const int nslot = order == OP_F16DOT_GEMM ? 16 : 64;
    const int n_lane = order == OP_F16DOT_GEMM ? n : (n < (n_pad & ~63) ? n : (n_pad & ~63));
    const int nd8 = hd / 8;
    if (order == OP_F16DOT_VEC) {
        /* Eight outputs at a time, the 64 slots never leave registers: slots l, l + 16, l + 32 and
         * l + 48 run side by side down the cache (each still in increasing j, from +0) and are
         * folded at once as the reference folds them, (l + (l+32)) + ((l+16) + (l+48)); then the
         * sixteen lanes. A lone token's attention (every decode step) thus neither stores nor
         * reloads a 64-slot table. */
        for (int c = 0; c < nd8; c++) {
            __m256 u[16];
            for (int l = 0; l < 16; l++) {
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                for (int jj = l; jj < n_lane; jj += 64) {
                    const hone_f16 *vj = v + 8 * c;
                    a0 = _mm256_fmadd_ps(_mm256_set1_ps(scores[jj]), load_f16x8(vj + (int64_t)cells[jj] * stride), a0);
                    if (jj + 16 < n_lane)
                        a1 = _mm256_fmadd_ps(_mm256_set1_ps(scores[jj + 16]),
                                             load_f16x8(vj + (int64_t)cells[jj + 16] * stride), a1);
                    if (jj + 32 < n_lane)
                        a2 = _mm256_fmadd_ps(_mm256_set1_ps(scores[jj + 32]),
                                             load_f16x8(vj + (int64_t)cells[jj + 32] * stride), a2);
                    if (jj + 48 < n_lane)
                        a3 = _mm256_fmadd_ps(_mm256_set1_ps(scores[jj + 48]),
                                             load_f16x8(vj + (int64_t)cells[jj + 48] * stride), a3);
                }
                u[l] = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
            }
            vec_finish(out + 8 * c, lanes16_sum_cols(u), scores, v + 8 * c, stride, cells, n_lane, n);
        }
        return;
    }
    /* GEMM order from here on: sixteen slot rows of hd floats */
    float acc[16 * MAX_HD] __attribute__((aligned(32)));
    /* Slot by slot (head sizes a multiple of 64): a slot's cells j = s, s + nslot, ... update its row
     * in increasing j, as in the reference, with the row's 64-float pieces held in registers for
     * the whole run (lanes start at +0 like the reference's) and stored once, rather than loaded
     * and stored per cell. Other head sizes go cell by cell. */
    const int used = n_lane < nslot ? n_lane : nslot;
    if (hd % 64 == 0) {
        for (int s = 0; s < used; s++)
            for (int c0 = 0; c0 < nd8; c0 += 8) {
                __m256 r0 = _mm256_setzero_ps(), r1 = r0, r2 = r0, r3 = r0, r4 = r0, r5 = r0, r6 = r0, r7 = r0;
                for (int jj = s; jj < n_lane; jj += nslot) {
                    const hone_f16 *vj = v + (int64_t)cells[jj] * stride + 8 * c0;
                    const __m256 p = _mm256_set1_ps(scores[jj]);
                    r0 = _mm256_fmadd_ps(p, load_f16x8(vj), r0);
                    r1 = _mm256_fmadd_ps(p, load_f16x8(vj + 8), r1);
                    r2 = _mm256_fmadd_ps(p, load_f16x8(vj + 16), r2);
                    r3 = _mm256_fmadd_ps(p, load_f16x8(vj + 24), r3);
                    r4 = _mm256_fmadd_ps(p, load_f16x8(vj + 32), r4);
                    r5 = _mm256_fmadd_ps(p, load_f16x8(vj + 40), r5);
                    r6 = _mm256_fmadd_ps(p, load_f16x8(vj + 48), r6);
                    r7 = _mm256_fmadd_ps(p, load_f16x8(vj + 56), r7);
                }
                float *row = acc + (size_t)s * hd + 8 * c0;
                _mm256_store_ps(row, r0), _mm256_store_ps(row + 8, r1), _mm256_store_ps(row + 16, r2);
                _mm256_store_ps(row + 24, r3), _mm256_store_ps(row + 32, r4), _mm256_store_ps(row + 40, r5);
                _mm256_store_ps(row + 48, r6), _mm256_store_ps(row + 56, r7);
            }
    } else {
        for (int jj = 0; jj < n_lane; jj++) {
            float *row = acc + (size_t)(jj & (nslot - 1)) * hd;
            const hone_f16 *vj = v + (int64_t)cells[jj] * stride;
            const __m256 p = _mm256_set1_ps(scores[jj]);
            if (jj < nslot) /* first visit: the lane starts at +0, as the reference's does */
                for (int c = 0; c < nd8; c++)
                    _mm256_store_ps(row + 8 * c, _mm256_fmadd_ps(p, load_f16x8(vj + 8 * c), _mm256_setzero_ps()));
            else
                for (int c = 0; c < nd8; c++)
                    _mm256_store_ps(row + 8 * c,
                                    _mm256_fmadd_ps(p, load_f16x8(vj + 8 * c), _mm256_load_ps(row + 8 * c)));
        }
    }
    for (int c = 0; c < nd8; c++) {
        __m256 lane[16];
        for (int s = 0; s < 16; s++)
            lane[s] = s < n_lane ? _mm256_load_ps(acc + (size_t)s * hd + 8 * c) : _mm256_setzero_ps();
        _mm256_storeu_ps(out + 8 * c, lanes16_sum_cols(lane));
    }
}

/* G query heads that share one KV head (grouped-query attention), tiled order: every head gets
 * exactly op_attention_f16_avx2's operations, but each cached K and V row is converted from F16
 * once for all G heads instead of once per head. Head sizes a multiple of 64 up to 256, G <= 4;
 * anything else goes head by head. */
static AVX2 inline __attribute__((always_inline)) void group_impl(const int G, float *out, int64_t out_stride,
                                                                  const float *q, int64_t q_stride, const hone_f16 *k,
                                                                  const hone_f16 *v, int64_t stride,
                                                                  const int32_t *cells, int n, int hd, float scale,
                                                                  float *scores) {
    float qh[4][MAX_HD];
    for (int g = 0; g < G; g++)
        for (int d = 0; d < hd; d += 8) _mm256_storeu_ps(qh[g] + d, round_f16x8(_mm256_loadu_ps(q + g * q_stride + d)));

    /* scores: eight keys at a time; per key and 64-wide piece, the K values are converted once and
     * feed every head's two lane accumulators in dot_qk's order */
    const __m256 vscale = _mm256_set1_ps(scale);
    int j8 = 0;
    for (; j8 + 8 <= n; j8 += 8) {
        __m256 t8[4][8];
        for (int i = 0; i < 8; i++) {
            const hone_f16 *kj = k + (int64_t)cells[j8 + i] * stride;
            __m256 a[4][2];
            _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) a[g][0] = a[g][1] = _mm256_setzero_ps();
            for (int d0 = 0; d0 < hd; d0 += 64) {
                __m256 kv[8];
                _Pragma("GCC unroll 8") for (int m = 0; m < 8; m++) kv[m] = load_f16x8(kj + d0 + 8 * m);
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
                    _Pragma("GCC unroll 4") for (int m = 0; m < 8; m += 2) {
                        a[g][0] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[g] + d0 + 8 * m), kv[m], a[g][0]);
                        a[g][1] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[g] + d0 + 8 * m + 8), kv[m + 1], a[g][1]);
                    }
            }
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) t8[g][i] = _mm256_add_ps(a[g][1], a[g][0]);
        }
        for (int g = 0; g < G; g++) _mm256_storeu_ps(scores + (int64_t)g * n + j8, _mm256_mul_ps(lanes16_sum_x8(t8[g]), vscale));
    }
    for (int g = 0; g < G; g++) {
        float *sc = scores + (int64_t)g * n;
        for (int j = j8; j < n; j++) sc[j] = dot_qk(qh[g], k + (int64_t)cells[j] * stride, hd, OP_F16DOT_GEMM) * scale;
        float mx = -INFINITY;
        for (int j = 0; j < n; j++)
            if (sc[j] > mx) mx = sc[j];
        softmax_f16(sc, n, mx);
    }

    /* p.V, slot by slot (slot j % 16) and sixteen outputs at a time: each V piece is converted once
     * and updates every head's chains, in increasing j from +0 as in the reference */
    static _Thread_local float acc[4][16 * MAX_HD] __attribute__((aligned(32)));
    const int used = n < 16 ? n : 16;
    for (int s = 0; s < used; s++)
        for (int d0 = 0; d0 < hd; d0 += 16) {
            __m256 r[4][2];
            _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) r[g][0] = r[g][1] = _mm256_setzero_ps();
            for (int jj = s; jj < n; jj += 16) {
                const hone_f16 *vj = v + (int64_t)cells[jj] * stride + d0;
                const __m256 v0 = load_f16x8(vj), v1 = load_f16x8(vj + 8);
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                    const __m256 p = _mm256_broadcast_ss(scores + (int64_t)g * n + jj);
                    r[g][0] = _mm256_fmadd_ps(p, v0, r[g][0]);
                    r[g][1] = _mm256_fmadd_ps(p, v1, r[g][1]);
                }
            }
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                _mm256_store_ps(acc[g] + (size_t)s * hd + d0, r[g][0]);
                _mm256_store_ps(acc[g] + (size_t)s * hd + d0 + 8, r[g][1]);
            }
        }
    for (int g = 0; g < G; g++)
        for (int c = 0; c < hd / 8; c++) {
            __m256 lane[16];
            for (int s = 0; s < 16; s++)
                lane[s] = s < used ? _mm256_load_ps(acc[g] + (size_t)s * hd + 8 * c) : _mm256_setzero_ps();
            _mm256_storeu_ps(out + g * out_stride + 8 * c, lanes16_sum_cols(lane));
        }
}

/* The lone-token (VEC) order for G <= 3 heads sharing one KV head, head size 64: each K and V
 * piece is converted once for the group; every head gets op_attention_f16_avx2's operations. */
static AVX2 inline __attribute__((always_inline)) void vec_group_impl(const int G, float *out, int64_t out_stride,
                                                                      const float *q, int64_t q_stride,
                                                                      const hone_f16 *k, const hone_f16 *v,
                                                                      int64_t stride, const int32_t *cells, int n,
                                                                      float scale, float *scores) {
    enum { HD = 64 };
    float qh[3][HD];
    for (int g = 0; g < G; g++)
        for (int d = 0; d < HD; d += 8) _mm256_storeu_ps(qh[g] + d, round_f16x8(_mm256_loadu_ps(q + g * q_stride + d)));
    const __m256 vscale = _mm256_set1_ps(scale);
    int j8 = 0;
    for (; j8 + 8 <= n; j8 += 8) {
        __m256 t8[3][8];
        for (int i = 0; i < 8; i++) {
            const hone_f16 *kj = k + (int64_t)cells[j8 + i] * stride;
            __m256 kv[8];
            _Pragma("GCC unroll 8") for (int m = 0; m < 8; m++) kv[m] = load_f16x8(kj + 8 * m);
            _Pragma("GCC unroll 3") for (int g = 0; g < G; g++) {
                __m256 a[8];
                _Pragma("GCC unroll 8") for (int m = 0; m < 8; m++)
                    a[m] = _mm256_fmadd_ps(_mm256_loadu_ps(qh[g] + 8 * m), kv[m], _mm256_setzero_ps());
                a[0] = _mm256_add_ps(a[0], a[4]), a[1] = _mm256_add_ps(a[1], a[5]);
                a[2] = _mm256_add_ps(a[2], a[6]), a[3] = _mm256_add_ps(a[3], a[7]);
                a[0] = _mm256_add_ps(a[0], a[2]), a[1] = _mm256_add_ps(a[1], a[3]);
                t8[g][i] = _mm256_add_ps(a[1], a[0]);
            }
        }
        for (int g = 0; g < G; g++) _mm256_storeu_ps(scores + (int64_t)g * n + j8, _mm256_mul_ps(lanes16_sum_x8(t8[g]), vscale));
    }
    for (int g = 0; g < G; g++) {
        float *sc = scores + (int64_t)g * n;
        for (int j = j8; j < n; j++) sc[j] = dot_qk(qh[g], k + (int64_t)cells[j] * stride, HD, OP_F16DOT_VEC) * scale;
        float mx = -INFINITY;
        for (int j = 0; j < n; j++)
            if (sc[j] > mx) mx = sc[j];
        softmax_f16(sc, n, mx);
    }
    /* p.V as op_attention_f16_avx2's VEC path: slots l, l+16, l+32, l+48 side by side, folded at
     * once, here for every head of the group from one converted V piece */
    const int n_pad = (n + 31) & ~31;
    const int n_lane = n < (n_pad & ~63) ? n : (n_pad & ~63);
    for (int c = 0; c < HD / 8; c++) {
        __m256 u[3][16];
        for (int l = 0; l < 16; l++) {
            __m256 a[3][4];
            _Pragma("GCC unroll 3") for (int g = 0; g < 3; g++) a[g][0] = a[g][1] = a[g][2] = a[g][3] = _mm256_setzero_ps();
            for (int jj = l; jj < n_lane; jj += 64)
                _Pragma("GCC unroll 4") for (int o = 0; o < 4; o++) {
                    const int j = jj + 16 * o;
                    if (j >= n_lane) break;
                    const __m256 vv = load_f16x8(v + (int64_t)cells[j] * stride + 8 * c);
                    _Pragma("GCC unroll 3") for (int g = 0; g < G; g++)
                        a[g][o] = _mm256_fmadd_ps(_mm256_broadcast_ss(scores + (int64_t)g * n + j), vv, a[g][o]);
                }
            _Pragma("GCC unroll 3") for (int g = 0; g < G; g++)
                u[g][l] = _mm256_add_ps(_mm256_add_ps(a[g][0], a[g][2]), _mm256_add_ps(a[g][1], a[g][3]));
        }
        for (int g = 0; g < G; g++)
            vec_finish(out + g * out_stride + 8 * c, lanes16_sum_cols(u[g]), scores + (int64_t)g * n, v + 8 * c, stride,
                       cells, n_lane, n);
    }
}

AVX2 void op_attention_f16_avx2_group(float *out, int64_t out_stride, const float *q, int64_t q_stride, int G,
                                      const hone_f16 *k, const hone_f16 *v, int64_t stride, const int32_t *cells, int n,
                                      int head_dim, float scale, float *scores, op_f16dot_order order) {
    const int hd = head_dim;
    if (order == OP_F16DOT_VEC && hd == 64 && n > 0 && G >= 1) {
        for (int g0 = 0; g0 < G; g0 += 3) { /* three heads at a time fit the registers */
            const int gn = G - g0 < 3 ? G - g0 : 3;
            float *o = out + g0 * out_stride;
            const float *qq = q + g0 * q_stride;
            switch (gn) {
            case 1: vec_group_impl(1, o, out_stride, qq, q_stride, k, v, stride, cells, n, scale, scores); break;
            case 2: vec_group_impl(2, o, out_stride, qq, q_stride, k, v, stride, cells, n, scale, scores); break;
            default: vec_group_impl(3, o, out_stride, qq, q_stride, k, v, stride, cells, n, scale, scores); break;
            }
        }
        return;
    }
    if (order != OP_F16DOT_GEMM || hd % 64 != 0 || hd > MAX_HD || G < 1 || G > 4 || n <= 0) {
        for (int g = 0; g < G; g++)
            op_attention_f16_avx2(out + g * out_stride, q + g * q_stride, k, v, stride, cells, n, hd, scale,
                                  scores + (int64_t)g * n, order);
        return;
    }
    /* G a constant in each instance, so the per-head loops unroll and stay in registers */
    switch (G) {
    case 1: group_impl(1, out, out_stride, q, q_stride, k, v, stride, cells, n, hd, scale, scores); break;
    case 2: group_impl(2, out, out_stride, q, q_stride, k, v, stride, cells, n, hd, scale, scores); break;
    case 3: group_impl(3, out, out_stride, q, q_stride, k, v, stride, cells, n, hd, scale, scores); break;
    default: group_impl(4, out, out_stride, q, q_stride, k, v, stride, cells, n, hd, scale, scores); break;
    }
}

bool op_attention_avx2_available(void) { return true; }

#else

bool op_attention_avx2_available(void) { return false; }

void op_attention_f16_avx2_group(float *out, int64_t out_stride, const float *q, int64_t q_stride, int G,
                                 const hone_f16 *k, const hone_f16 *v, int64_t stride, const int32_t *cells, int n,
                                 int head_dim, float scale, float *scores, op_f16dot_order order) {
    for (int g = 0; g < G; g++)
        op_attention_f16(out + g * out_stride, q + g * q_stride, k, v, stride, cells, n, head_dim, scale,
                         scores + (int64_t)g * n, order);
}

void op_attention_f16_avx2(float *out, const float *q, const hone_f16 *k, const hone_f16 *v, int64_t stride,
                           const int32_t *cells, int n, int head_dim, float scale, float *scores,
                           op_f16dot_order order) {
    op_attention_f16(out, q, k, v, stride, cells, n, head_dim, scale, scores, order);
}

#endif
