/*
 * dot_avx2.c - AVX2+FMA+F16C dot products of weight rows with quantised activations.
 *
 * Compiled for any x86-64: each function carries its own target attribute and is only reached
 * through dispatch.c after the CPU has been checked, so the binary still runs on CPUs without
 * AVX2. Non-x86 builds (and -DHONE_NO_SIMD) compile this file to a table that has no kernels.
 *
 * Results, per type, against the scalar references in src/quant:
 *  - Q4_1 x Q8_1 and Q8_0 x Q8_0 reproduce the references' order exactly (eight float lanes,
 *    lane l taking elements 4l..4l+3 of every block through one fused multiply-add, lanes added
 *    as the x86 horizontal sum does): hone's golden logits depend on these bits.
 *  - Q4_0, Q5_0, Q5_1 and the K-quants give the same bits too, because their references first
 *    form an exact integer sum per block and only then do float arithmetic, one block after
 *    another. The SIMD code forms the same integers in any order it likes (integer sums are
 *    exact) and then evaluates the reference's float expression unchanged. The file is built
 *    with -std=c11, which turns off floating-point contraction, so `a * b + c` is not silently
 *    fused in one place and not in the other.
 *  - F32, F16, BF16 live in float_avx2.c (one row, four rows and a tiled gemm in one shared order);
 *    the references sum in double, so those agree only within a normalised bound.
 *
 * Integer products use _mm256_maddubs_epi16 (unsigned x signed bytes, pairs summed to int16 with
 * saturation). Weight formats put their unsigned quants (at most 63) on the unsigned side, so a pair
 * sum is at most 2*63*128 and never saturates, for any int8 activation including -128; Q8_0 x Q8_0
 * needs activations in [-127, 127], which every Q8 quantiser guarantees (see dot_q8_0). Offsets of signed formats (Q4_0's -8,
 * Q5_0's -16) are subtracted as a second maddubs of the constant, again exact. The K-quants'
 * offsets and mins use the Q8_K block's bsums (per-16 sums of its quants), as their references
 * do for the mins; a Q8_K block always carries bsums consistent with its quants.
 */
#include "kernels/cpu/dot_avx2.h"
#include "kernels/cpu/float_avx2.h"

#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "quant/blocks.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define ALWAYS_INLINE inline __attribute__((always_inline))
/* The one-row kernels stream a weight row from memory (decode): a software prefetch this far ahead
 * of the block being read keeps more lines in flight than the hardware prefetcher alone (measured
 * on F16 decode: +4 % at one thread, up to +20 % at two). */
#define DECODE_PF_BYTES 512
/* The four-row kernels prefetch the next four rows while they read their own. Four rows of a
 * matrix are one contiguous block, so these prefetches form a single linear stream one block
 * ahead, at the pace of the block being read (4 x BS bytes a step, one prefetch per 64 of them; a
 * line asked for twice costs little). Four rows read side by side look to the hardware prefetcher
 * like four short streams, which it follows poorly: with this, decode with the four-row kernels is
 * faster than one row at a time (see matmul.c). Past a matrix's end it asks for lines that are never
 * read, which a prefetch may do. */
#define NEXT4_PREFETCH(next, i, BS)                                                                 \
    do {                                                                                            \
        const char *pf_ = (next) + (size_t)(i) * 4 * (BS);                                          \
        for (size_t k_ = 0; k_ < 4 * (size_t)(BS); k_ += 64) _mm_prefetch(pf_ + k_, _MM_HINT_T0); \
    } while (0)

/* ---- shared pieces ---- */

static AVX2 inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* The 16 nibbles of a 4-bit block as 32 bytes in element order: low nibbles of bytes 0..15 are
 * elements 0..15, high nibbles elements 16..31. */
static AVX2 inline __m256i nibbles32(const uint8_t *qs) {
    const __m128i q = _mm_loadu_si128((const __m128i *)qs);
    const __m128i m4 = _mm_set1_epi8(0xF);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
}

/* Byte j = 0xFF where bit j of the little-endian u32 at p is set, else 0. */
static AVX2 inline __m256i bits32_to_bytes(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    const __m256i spread = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202,
                                              0x0303030303030303);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
}

/* sum over 32 elements of u * y, exact: u unsigned bytes <= 63, y any int8; as 8 int32 partials */
static AVX2 inline __m256i udot32(__m256i u, const int8_t *y) {
    const __m256i p = _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)y));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* sum over 32 elements of (u - off) * y, exact, as 8 int32 partials */
static AVX2 inline __m256i udot32_off(__m256i u, __m256i off, const int8_t *y) {
    const __m256i yy = _mm256_loadu_si256((const __m256i *)y);
    const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(u, yy), _mm256_maddubs_epi16(off, yy));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* sum of u * y over 32 elements weighted per 16: s0 for elements 0..15, s1 for 16..31 */
static AVX2 inline __m256i udot32_scaled(__m256i u, const int8_t *y, int s0, int s1) {
    const __m256i p = _mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)y));
    const __m256i s = _mm256_set_m128i(_mm_set1_epi16((short)s1), _mm_set1_epi16((short)s0));
    return _mm256_madd_epi16(p, s);
}

/* sum_g bsums[g] * w[g] over the 16 groups of a Q8_K block (w as 16 int16) */
static AVX2 inline int bsums_dot(const int16_t *bsums, __m256i w) {
    return hsum_i32(_mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), w));
}

/* ---- Q4_1 x Q8_1 and Q8_0 x Q8_0: the 8-lane order (see the top of src/quant/q_legacy.c) ---- */

/* The x86 horizontal add of eight lanes: fold the upper four onto the lower four, then lanes
 * 0+2 and 1+3, then the two results - the order of lanes8_sum in q_legacy.c. */
static AVX2 ALWAYS_INLINE float lanes8_sum(__m256 acc) {
    float a[8], r[4];
    _mm256_storeu_ps(a, acc);
    for (int i = 0; i < 4; i++) r[i] = a[i + 4] + a[i];
    return (r[0] + r[2]) + (r[1] + r[3]);
}

/* Lane l = sum of the products of elements 4l..4l+3, as 8 int32. maddubs forms the pair sums of
 * u * y (exact: u <= 15 here) and a madd with ones adds neighbouring pairs, so with u and y both
 * in element order the lanes come out in the order the float lanes need. */
static AVX2 inline __m256i lane_isums_u(__m256i u, const int8_t *y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, _mm256_loadu_si256((const __m256i *)y)), _mm256_set1_epi16(1));
}

/* One Q4_1 block into a row's running sums. (d, m) and (d, s) are adjacent halves, converted a
 * pair at once: lane 0 of their product is d_w * d_x, and lane 1 of the fused running sum `summs`
 * is fmaf(m, s, summs), block after block. */
static AVX2 ALWAYS_INLINE void q4_1_step(const block_q4_1 *a, const block_q8_1 *b, __m256 *acc, __m128 *summs) {
    uint32_t wdm, xds;
    memcpy(&wdm, &a->d, sizeof wdm);
    memcpy(&xds, &b->d, sizeof xds);
    const __m128 wf = _mm_cvtph_ps(_mm_cvtsi32_si128((int)wdm)), xf = _mm_cvtph_ps(_mm_cvtsi32_si128((int)xds));
    *summs = _mm_fmadd_ps(wf, xf, *summs);
    const __m256 dd = _mm256_broadcastss_ps(_mm_mul_ss(wf, xf));
    const __m256 lanes = _mm256_cvtepi32_ps(lane_isums_u(nibbles32(a->qs), b->qs));
    *acc = _mm256_fmadd_ps(dd, lanes, *acc);
}

static AVX2 ALWAYS_INLINE float q4_1_finish(__m256 acc, __m128 summs) {
    return lanes8_sum(acc) + _mm_cvtss_f32(_mm_shuffle_ps(summs, summs, 1));
}

static AVX2 float dot_q4_1(int64_t n, const void *w, const void *x) {
    const block_q4_1 *a = w;
    const block_q8_1 *b = x;
    const int64_t nb = n / QK4_1;
    __m256 acc = _mm256_setzero_ps();
    __m128 summs = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        _mm_prefetch((const char *)(a + i) + DECODE_PF_BYTES, _MM_HINT_T0);
        q4_1_step(&a[i], &b[i], &acc, &summs);
    }
    return q4_1_finish(acc, summs);
}

/* Four rows at once: each row's sums take exactly the float steps of dot_q4_1 (same bits), but the
 * four dependency chains overlap, the activations are read once, and the per-block scale work is
 * shared: the four rows' (d, m) pairs are converted as one vector of eight halves and multiplied
 * with (d_x, s_x) in one go (lane 2k = d_k * d_x, lane 2k+1 the fused running sum of m_k * s_x,
 * the same operations dot_q4_1 does per row). The nibbles of a block are unpacked from one
 * broadcast load: a variable shift by 0 (low half) or 4 (high half), then a mask. */
static AVX2 ALWAYS_INLINE __m256 q4_1_lanes(const uint8_t *qs, __m256i y, __m256i shift, __m256i m4) {
    const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    const __m256i u = _mm256_and_si256(_mm256_srlv_epi32(q, shift), m4);
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(u, y), _mm256_set1_epi16(1)));
}

static AVX2 ALWAYS_INLINE uint32_t load_u32(const void *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static AVX2 void dot4_q4_1(int64_t n, const void *w, size_t stride, const void *x, float *out) {
    const block_q4_1 *a0 = w, *a1 = (const void *)((const char *)w + stride),
                     *a2 = (const void *)((const char *)w + 2 * stride), *a3 = (const void *)((const char *)w + 3 * stride);
    const block_q8_1 *b = x;
    const int64_t nb = n / QK4_1;
    const __m256i shift = _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4), m4 = _mm256_set1_epi8(0xF);
    const __m256i sel0 = _mm256_set1_epi32(0), sel1 = _mm256_set1_epi32(2), sel2 = _mm256_set1_epi32(4),
                  sel3 = _mm256_set1_epi32(6);
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, summs = c0;
    const char *next = (const char *)w + 4 * stride; /* the next four rows: see NEXT4_PREFETCH */
    for (int64_t i = 0; i < nb; i++) {
        NEXT4_PREFETCH(next, i, sizeof(block_q4_1));
        __m128i dm = _mm_cvtsi32_si128((int)load_u32(&a0[i].d));
        dm = _mm_insert_epi32(dm, (int)load_u32(&a1[i].d), 1);
        dm = _mm_insert_epi32(dm, (int)load_u32(&a2[i].d), 2);
        dm = _mm_insert_epi32(dm, (int)load_u32(&a3[i].d), 3);
        const __m256 wf = _mm256_cvtph_ps(dm); /* d0 m0 d1 m1 d2 m2 d3 m3 */
        const __m128 xf = _mm_cvtph_ps(_mm_cvtsi32_si128((int)load_u32(&b[i].d)));
        const __m256 xf2 = _mm256_castpd_ps(_mm256_broadcastsd_pd(_mm_castps_pd(xf))); /* dx sx dx sx ... */
        summs = _mm256_fmadd_ps(wf, xf2, summs);
        const __m256 dd = _mm256_mul_ps(wf, xf2);
        const __m256i y = _mm256_loadu_si256((const __m256i *)b[i].qs);
        c0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd, sel0), q4_1_lanes(a0[i].qs, y, shift, m4), c0);
        c1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd, sel1), q4_1_lanes(a1[i].qs, y, shift, m4), c1);
        c2 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd, sel2), q4_1_lanes(a2[i].qs, y, shift, m4), c2);
        c3 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(dd, sel3), q4_1_lanes(a3[i].qs, y, shift, m4), c3);
    }
    float sm[8];
    _mm256_storeu_ps(sm, summs);
    out[0] = lanes8_sum(c0) + sm[1];
    out[1] = lanes8_sum(c1) + sm[3];
    out[2] = lanes8_sum(c2) + sm[5];
    out[3] = lanes8_sum(c3) + sm[7];
}

/* Signed x signed bytes: maddubs needs one unsigned side, so take |a| and move a's sign onto y.
 * Exact unless y holds -128 where a < 0 (negating -128 wraps): Q8 activations never hold -128, as
 * both hone's and ggml's quantisers clamp to [-127, 127] (see quant_q8_block in q_legacy.c); with
 * |y| <= 127 a pair sum is at most 2 * 128 * 127 and never saturates, whatever the weight bytes. */
static AVX2 ALWAYS_INLINE void q8_0_step(const block_q8_0 *a, const block_q8_0 *b, __m256 *acc) {
    const float dd = _cvtsh_ss(a->d) * _cvtsh_ss(b->d);
    const __m256i qa = _mm256_loadu_si256((const __m256i *)a->qs);
    const __m256i qy = _mm256_loadu_si256((const __m256i *)b->qs);
    const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(qa), _mm256_sign_epi8(qy, qa));
    const __m256 lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
    *acc = _mm256_fmadd_ps(_mm256_set1_ps(dd), lanes, *acc);
}

static AVX2 float dot_q8_0(int64_t n, const void *w, const void *x) {
    const block_q8_0 *a = w;
    const block_q8_0 *b = x;
    const int64_t nb = n / QK8_0;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        _mm_prefetch((const char *)(a + i) + DECODE_PF_BYTES, _MM_HINT_T0);
        q8_0_step(&a[i], &b[i], &acc);
    }
    return lanes8_sum(acc);
}

/* four rows at once, as dot4_q4_1 */
static AVX2 void dot4_q8_0(int64_t n, const void *w, size_t stride, const void *x, float *out) {
    const block_q8_0 *a0 = w, *a1 = (const void *)((const char *)w + stride),
                     *a2 = (const void *)((const char *)w + 2 * stride), *a3 = (const void *)((const char *)w + 3 * stride);
    const block_q8_0 *b = x;
    const int64_t nb = n / QK8_0;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
    const char *next = (const char *)w + 4 * stride;
    for (int64_t i = 0; i < nb; i++) {
        NEXT4_PREFETCH(next, i, sizeof(block_q8_0));
        q8_0_step(&a0[i], &b[i], &c0);
        q8_0_step(&a1[i], &b[i], &c1);
        q8_0_step(&a2[i], &b[i], &c2);
        q8_0_step(&a3[i], &b[i], &c3);
    }
    out[0] = lanes8_sum(c0);
    out[1] = lanes8_sum(c1);
    out[2] = lanes8_sum(c2);
    out[3] = lanes8_sum(c3);
}

/* ---- tiled products for batches (prompt processing, batched decode) ----
 *
 * An R x C tile of weight rows against activation rows (R, C <= 4, constants at each call
 * so the loops unroll): every element takes exactly the float steps of its one-row kernel above
 * (same bits), while each block's weight bytes are unpacked once for C activation rows and each
 * activation block is loaded once for R weight rows. The per-pair scale products are formed as
 * the one-row kernels form them (a float product of the two converted scales; Q4_1's min term
 * by a fused multiply-add per block) and broadcast from memory. */

static AVX2 ALWAYS_INLINE void q8_0_tile(const int R, const int C, int64_t nb, const char *w, size_t ws,
                                         const char *x, size_t xs, float *out, int64_t os, const char *pf) {
    __m256 acc[4][4];
    const __m256i ones = _mm256_set1_epi16(1);
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        if (pf) NEXT4_PREFETCH(pf, i, sizeof(block_q8_0));
        const block_q8_0 *wb[4], *xb[4];
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) wb[r] = (const block_q8_0 *)(w + (size_t)r * ws) + i;
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) xb[c] = (const block_q8_0 *)(x + (size_t)c * xs) + i;
        /* the R weight scales as one vector (a set, not inserts or a gather through memory, which
         * stalls store forwarding); per activation row, its scale times all of them: dd[c][r] is
         * the one-row kernel's float product d_w * d_x, broadcast from memory where it is used
         * (a load, where a shuffle per pair would take a vector pipe) */
        const __m128 dwv = _mm_cvtph_ps(_mm_setr_epi16((short)wb[0]->d, (short)(R > 1 ? wb[1 % R]->d : 0),
                                                       (short)(R > 2 ? wb[2 % R]->d : 0),
                                                       (short)(R > 3 ? wb[3 % R]->d : 0), 0, 0, 0, 0));
        float dd[4][4] __attribute__((aligned(16)));
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)
            _mm_store_ps(dd[c], _mm_mul_ps(dwv, _mm_set1_ps(_cvtsh_ss(xb[c]->d))));
        /* one weight row at a time: its bytes and their absolute values are the only per-row
         * registers, so a 4 x 4 tile of accumulators fits beside them */
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
            const __m256i qa = _mm256_loadu_si256((const __m256i *)wb[r]->qs), ua = _mm256_abs_epi8(qa);
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) {
                const __m256i sy = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)xb[c]->qs), qa);
                const __m256 lanes = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(ua, sy), ones));
                acc[r][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(&dd[c][r]), lanes, acc[r][c]);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) out[(int64_t)c * os + r] = lanes8_sum(acc[r][c]);
}

static AVX2 ALWAYS_INLINE void q4_1_tile(const int R, const int C, int64_t nb, const char *w, size_t ws,
                                         const char *x, size_t xs, float *out, int64_t os, const char *pf) {
    __m256 acc[4][4], summs[4];
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
        summs[r] = _mm256_setzero_ps();
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    }
    for (int64_t i = 0; i < nb; i++) {
        if (pf) NEXT4_PREFETCH(pf, i, sizeof(block_q4_1));
        const block_q4_1 *wb[4];
        const block_q8_1 *xb[4];
        float dd[4][8] __attribute__((aligned(32))); /* lane 2c: d_r * d_c */
        /* the C activations' (d, s) pairs as one vector dx0 sx0 dx1 sx1 ...; per row, its (d, m)
         * pair repeated times that vector: even lanes d_r * d_c, odd lanes fused into the row's
         * running sums of m_r * s_c */
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) xb[c] = (const block_q8_1 *)(x + (size_t)c * xs) + i;
        const __m256 xv = _mm256_cvtph_ps(_mm_setr_epi32((int)load_u32(&xb[0]->d), C > 1 ? (int)load_u32(&xb[1 % C]->d) : 0,
                                                         C > 2 ? (int)load_u32(&xb[2 % C]->d) : 0,
                                                         C > 3 ? (int)load_u32(&xb[3 % C]->d) : 0));
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
            wb[r] = (const block_q4_1 *)(w + (size_t)r * ws) + i;
            const __m256 wv = _mm256_cvtph_ps(_mm_set1_epi32((int)load_u32(&wb[r]->d)));
            summs[r] = _mm256_fmadd_ps(wv, xv, summs[r]);
            _mm256_store_ps(dd[r], _mm256_mul_ps(wv, xv));
        }
        /* one weight row at a time: its unpacked nibbles are the only per-row register, so a
         * 4 x 4 tile of accumulators fits beside it (the activations come from L1) */
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
            const __m256i q = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)wb[r]->qs));
            const __m256i u = _mm256_and_si256(_mm256_srlv_epi32(q, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                                               _mm256_set1_epi8(0xF));
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) {
                const __m256 lanes = _mm256_cvtepi32_ps(lane_isums_u(u, xb[c]->qs));
                acc[r][c] = _mm256_fmadd_ps(_mm256_broadcast_ss(&dd[r][2 * c]), lanes, acc[r][c]);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
        float sm[8];
        _mm256_storeu_ps(sm, summs[r]);
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) out[(int64_t)c * os + r] = lanes8_sum(acc[r][c]) + sm[2 * c + 1];
    }
}

/* Tiles of up to 4 weight rows x 4 activation rows, edges smaller: TILE(R, C, ...) with both
 * constants, so its loops unroll. Measured here against 4 x 2 and 2 x 4 tiles: 4 x 4 about 10 %
 * faster for Q8_0 and Q4_1, although its sixteen accumulators do not all fit in registers. */
#define TILE_CASE(TILE, RR, CC) \
    case RR * 8 + CC: TILE(RR, CC, nb, wr, ws, xt, xs, o, os, pf); break
#define TILED_GEMM(NAME, TILE, QK)                                                                              \
    static AVX2 void NAME(int64_t n, const void *w, size_t ws, int nr, const void *x, size_t xs, int nt,        \
                          float *out, int64_t os) {                                                             \
        const int64_t nb = n / QK;                                                                              \
        for (int r = 0; r < nr; r += 4) {                                                                       \
            const int R = nr - r < 4 ? nr - r : 4;                                                              \
            const char *wr = (const char *)w + (size_t)r * ws;                                                  \
            for (int t = 0; t < nt; t += 4) {                                                                   \
                const int C = nt - t < 4 ? nt - t : 4;                                                          \
                const char *xt = (const char *)x + (size_t)t * xs;                                              \
                float *o = out + (int64_t)t * os + r;                                                           \
                /* the first pass over a row tile also prefetches the next one (see NEXT4_PREFETCH):            \
                 * in a decode batch the weights stream from memory once per step */                            \
                const char *pf = t == 0 && r + 4 < nr ? wr + 4 * ws : NULL;                                     \
                switch (R * 8 + C) {                                                                            \
                    TILE_CASE(TILE, 4, 4); TILE_CASE(TILE, 4, 3); TILE_CASE(TILE, 4, 2); TILE_CASE(TILE, 4, 1); \
                    TILE_CASE(TILE, 3, 4); TILE_CASE(TILE, 3, 3); TILE_CASE(TILE, 3, 2); TILE_CASE(TILE, 3, 1); \
                    TILE_CASE(TILE, 2, 4); TILE_CASE(TILE, 2, 3); TILE_CASE(TILE, 2, 2); TILE_CASE(TILE, 2, 1); \
                    TILE_CASE(TILE, 1, 4); TILE_CASE(TILE, 1, 3); TILE_CASE(TILE, 1, 2);                        \
                default: TILE(1, 1, nb, wr, ws, xt, xs, o, os, pf); break;                                      \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }
TILED_GEMM(gemm_q8_0, q8_0_tile, QK8_0)
TILED_GEMM(gemm_q4_1, q4_1_tile, QK4_1)
#undef TILED_GEMM
#undef TILE_CASE

/* ---- Q4_0, Q5_0, Q5_1: exact integer sum per block, then the reference's float expression ---- */

static AVX2 float dot_q4_0(int64_t n, const void *w, const void *x) {
    const block_q4_0 *a = w;
    const block_q8_0 *b = x;
    const int64_t nb = n / QK4_0;
    const __m256i off = _mm256_set1_epi8(8);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const int isum = hsum_i32(udot32_off(nibbles32(a[i].qs), off, b[i].qs));
        sum += _cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d) * (float)isum;
    }
    return sum;
}

static AVX2 inline __m256i q5_quants(const uint8_t *qs, const uint8_t *qh) {
    return _mm256_or_si256(nibbles32(qs), _mm256_and_si256(bits32_to_bytes(qh), _mm256_set1_epi8(0x10)));
}

static AVX2 float dot_q5_0(int64_t n, const void *w, const void *x) {
    const block_q5_0 *a = w;
    const block_q8_0 *b = x;
    const int64_t nb = n / QK5_0;
    const __m256i off = _mm256_set1_epi8(16);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const int isum = hsum_i32(udot32_off(q5_quants(a[i].qs, a[i].qh), off, b[i].qs));
        sum += _cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d) * (float)isum;
    }
    return sum;
}

static AVX2 float dot_q5_1(int64_t n, const void *w, const void *x) {
    const block_q5_1 *a = w;
    const block_q8_1 *b = x;
    const int64_t nb = n / QK5_1;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const int isum = hsum_i32(udot32(q5_quants(a[i].qs, a[i].qh), b[i].qs));
        sum += _cvtsh_ss(a[i].d) * _cvtsh_ss(b[i].d) * (float)isum + _cvtsh_ss(a[i].m) * _cvtsh_ss(b[i].s);
    }
    return sum;
}

/* Tiles for Q4_0, Q5_0 and Q5_1: up to 4 weight rows x 2 activation rows, eight (row, token) pairs.
 * Each pair's block sum is formed exactly as the one-row kernel forms it (the same integer, whatever
 * the order), the eight sums are gathered into one vector by a tree of horizontal adds (exact), and
 * the reference's float expression then runs once per block for all eight pairs as vector
 * multiplies and adds, lane by lane the scalar steps of the one-row kernel (no fused multiply-add:
 * `sum += dw * dx * (float)isum [+ mw * sx]`). Q4_0's and Q5_0's offsets are taken off on the
 * activation side once per token and block (maddubs of the offset), as the one-row kernel does per
 * pair. Kind: 0 Q4_0, 1 Q5_0, 2 Q5_1. */
static AVX2 ALWAYS_INLINE __m256i hsum_8x8(const __m256i v[8]) {
    const __m256i a = _mm256_hadd_epi32(v[0], v[1]), b = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i c = _mm256_hadd_epi32(v[4], v[5]), d = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d); /* low half: v0..v3 partial */
    return _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20), _mm256_permute2x128_si256(ab, cd, 0x31));
}

static AVX2 ALWAYS_INLINE void leg_tile(const int kind, const int R, const int C, int64_t nb, const char *w,
                                        size_t ws, const char *x, size_t xs, float *out, int64_t os, const char *pf) {
    const size_t wbs = kind == 0 ? sizeof(block_q4_0) : kind == 1 ? sizeof(block_q5_0) : sizeof(block_q5_1);
    const size_t xbs = kind == 2 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    const __m256i ones = _mm256_set1_epi16(1), off = _mm256_set1_epi8(kind == 0 ? 8 : 16);
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        if (pf) NEXT4_PREFETCH(pf, i, wbs);
        const char *xb[2];
        __m256i y[2], offy[2];
        float dx[2] = {0, 0}, sx[2] = {0, 0};
        uint16_t dwh[4] = {0, 0, 0, 0}, mwh[4] = {0, 0, 0, 0};
        _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) {
            xb[c] = x + (size_t)c * xs + (size_t)i * xbs;
            if (kind == 2) {
                const block_q8_1 *b = (const block_q8_1 *)xb[c];
                y[c] = _mm256_loadu_si256((const __m256i *)b->qs);
                dx[c] = _cvtsh_ss(b->d), sx[c] = _cvtsh_ss(b->s);
            } else {
                const block_q8_0 *b = (const block_q8_0 *)xb[c];
                y[c] = _mm256_loadu_si256((const __m256i *)b->qs);
                offy[c] = _mm256_maddubs_epi16(off, y[c]);
                dx[c] = _cvtsh_ss(b->d);
            }
        }
        __m256i v[8];
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
            if (r >= R) {
                v[r] = v[4 + r] = _mm256_setzero_si256();
                continue;
            }
            const char *wb = w + (size_t)r * ws + (size_t)i * wbs;
            __m256i u;
            if (kind == 0) {
                const block_q4_0 *a = (const block_q4_0 *)wb;
                u = nibbles32(a->qs), dwh[r] = a->d;
            } else if (kind == 1) {
                const block_q5_0 *a = (const block_q5_0 *)wb;
                u = q5_quants(a->qs, a->qh), dwh[r] = a->d;
            } else {
                const block_q5_1 *a = (const block_q5_1 *)wb;
                u = q5_quants(a->qs, a->qh), dwh[r] = a->d, mwh[r] = a->m;
            }
            _Pragma("GCC unroll 2") for (int c = 0; c < 2; c++) {
                if (c >= C) {
                    v[4 * c + r] = _mm256_setzero_si256();
                    continue;
                }
                __m256i p = _mm256_maddubs_epi16(u, y[c]);
                if (kind != 2) p = _mm256_sub_epi16(p, offy[c]);
                v[4 * c + r] = _mm256_madd_epi16(p, ones);
            }
        }
        /* lane 4c + r: pair (r, c) */
        const __m256 isum = _mm256_cvtepi32_ps(hsum_8x8(v));
        const __m128 dw4 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)dwh));
        const __m256 dd = _mm256_mul_ps(_mm256_set_m128(dw4, dw4), _mm256_set_m128(_mm_set1_ps(dx[1]), _mm_set1_ps(dx[0])));
        __m256 t = _mm256_mul_ps(dd, isum);
        if (kind == 2) {
            const __m128 mw4 = _mm_cvtph_ps(_mm_loadl_epi64((const __m128i *)mwh));
            t = _mm256_add_ps(t, _mm256_mul_ps(_mm256_set_m128(mw4, mw4),
                                               _mm256_set_m128(_mm_set1_ps(sx[1]), _mm_set1_ps(sx[0]))));
        }
        sum = _mm256_add_ps(sum, t);
    }
    float s[8];
    _mm256_storeu_ps(s, sum);
    _Pragma("GCC unroll 2") for (int c = 0; c < C; c++)
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) out[(int64_t)c * os + r] = s[4 * c + r];
}

/* hone_vec_dot4_fn (one activation row, four weight rows; prefetches the next four) and
 * hone_gemm_fn (tiles of 4 rows x 2 tokens, edges smaller) for each kind */
#define TILE42_KERNELS(NAME, TILE, KIND, QK)                                                                    \
    static AVX2 void dot4_##NAME(int64_t n, const void *w, size_t stride, const void *x, float *out) {          \
        TILE(KIND, 4, 1, n / QK, w, stride, x, 0, out, 1, (const char *)w + 4 * stride);                        \
    }                                                                                                           \
    static AVX2 void gemm_##NAME(int64_t n, const void *w, size_t ws, int nr, const void *x, size_t xs, int nt, \
                                 float *out, int64_t os) {                                                      \
        const int64_t nb = n / QK;                                                                              \
        for (int r = 0; r < nr; r += 4) {                                                                       \
            const int R = nr - r < 4 ? nr - r : 4;                                                              \
            const char *wr = (const char *)w + (size_t)r * ws;                                                  \
            for (int t = 0; t < nt; t += 2) {                                                                   \
                const int C = nt - t < 2 ? 1 : 2;                                                               \
                const char *xt = (const char *)x + (size_t)t * xs;                                              \
                float *o = out + (int64_t)t * os + r;                                                           \
                const char *pf = t == 0 && r + 4 < nr ? wr + 4 * ws : NULL;                                     \
                switch (R * 2 + C - 1) {                                                                        \
                case 4 * 2 + 1: TILE(KIND, 4, 2, nb, wr, ws, xt, xs, o, os, pf); break;                         \
                case 4 * 2 + 0: TILE(KIND, 4, 1, nb, wr, ws, xt, xs, o, os, pf); break;                         \
                case 3 * 2 + 1: TILE(KIND, 3, 2, nb, wr, ws, xt, xs, o, os, pf); break;                         \
                case 3 * 2 + 0: TILE(KIND, 3, 1, nb, wr, ws, xt, xs, o, os, pf); break;                         \
                case 2 * 2 + 1: TILE(KIND, 2, 2, nb, wr, ws, xt, xs, o, os, pf); break;                         \
                case 2 * 2 + 0: TILE(KIND, 2, 1, nb, wr, ws, xt, xs, o, os, pf); break;                         \
                case 1 * 2 + 1: TILE(KIND, 1, 2, nb, wr, ws, xt, xs, o, os, pf); break;                         \
                default: TILE(KIND, 1, 1, nb, wr, ws, xt, xs, o, os, pf); break;                                \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
    }
TILE42_KERNELS(q4_0, leg_tile, 0, QK4_0)
TILE42_KERNELS(q5_0, leg_tile, 1, QK5_0)
TILE42_KERNELS(q5_1, leg_tile, 2, QK5_1)

/* ---- K-quants x Q8_K (element orders: see the top of src/quant/q_kquants.c) ---- */

static AVX2 float dot_q2_K(int64_t n, const void *w, const void *x) {
    const block_q2_K *a = w;
    const block_q8_K *b = x;
    const int64_t nb = n / QK_K;
    const __m256i m3 = _mm256_set1_epi8(3);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        const __m128i sc8 = _mm_loadu_si128((const __m128i *)a[i].scales);
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc8, 4), _mm_set1_epi8(0xF)));
        const int summs = bsums_dot(b[i].bsums, mins);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));
            for (int j = 0; j < 4; j++) {
                const int g = 8 * h + 2 * j;
                const __m256i u = _mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3);
                acc = _mm256_add_epi32(acc, udot32_scaled(u, b[i].qs + 128 * h + 32 * j, a[i].scales[g] & 0xF,
                                                          a[i].scales[g + 1] & 0xF));
            }
        }
        const int isum = hsum_i32(acc);
        const float dall = b[i].d * _cvtsh_ss(a[i].d);
        const float dmin = b[i].d * _cvtsh_ss(a[i].dmin);
        sum += dall * (float)isum - dmin * (float)summs;
    }
    return sum;
}

static AVX2 float dot_q3_K(int64_t n, const void *w, const void *x) {
    const block_q3_K *a = w;
    const block_q8_K *b = x;
    const int64_t nb = n / QK_K;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        int8_t sc[16];
        hq_q3k_scales(a[i].scales, sc);
        /* value = low2 - 4 + 4 * hbit: sum (low2 + 4 * hbit) * y, minus 4 * sum_g sc_g * bsum_g */
        const int offs = bsums_dot(b[i].bsums, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc)));
        const __m256i hm = _mm256_loadu_si256((const __m256i *)a[i].hmask);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * h));
            for (int j = 0; j < 4; j++) {
                const int g = 8 * h + 2 * j;
                const __m256i bit = _mm256_set1_epi8((char)(1u << (4 * h + j)));
                const __m256i hb = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
                const __m256i u = _mm256_add_epi8(_mm256_and_si256(_mm256_srli_epi16(q, 2 * j), m3),
                                                  _mm256_and_si256(hb, four));
                acc = _mm256_add_epi32(acc, udot32_scaled(u, b[i].qs + 128 * h + 32 * j, sc[g], sc[g + 1]));
            }
        }
        const int isum = hsum_i32(acc) - 4 * offs;
        sum += _cvtsh_ss(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}

/* The 12 scale bytes of a Q4_K/Q5_K block as three words: the first four scales and mins are the low
 * 6 bits of words 0 and 1; the last four take their low 4 bits from the nibbles of word 2 and their
 * top 2 bits from the spare top bits of words 0 (scales) and 1 (mins) - hq_k4_scale_min's layout,
 * four at a time. sc: the 8 scales as bytes; the 8 mins as int32 lanes. */
static AVX2 ALWAYS_INLINE __m256i k4_scales_mins(const uint8_t *sm, uint8_t sc[8]) {
    uint32_t wd[3], scw[2], mnw[2];
    memcpy(wd, sm, sizeof wd);
    scw[0] = wd[0] & 0x3f3f3f3fu;
    mnw[0] = wd[1] & 0x3f3f3f3fu;
    scw[1] = (wd[2] & 0x0f0f0f0fu) | (((wd[0] >> 6) & 0x03030303u) << 4);
    mnw[1] = ((wd[2] >> 4) & 0x0f0f0f0fu) | (((wd[1] >> 6) & 0x03030303u) << 4);
    memcpy(sc, scw, 8);
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)mnw));
}

/* Q4_K / Q5_K quants of chunk c (64 elements) as two vectors of 32 unsigned bytes: lo for elements
 * 64c..64c+31, hi for the next 32; qh (Q5_K) adds the fifth bits */
static AVX2 ALWAYS_INLINE void k4_chunk(const uint8_t *qs, const uint8_t *qh, int c, __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
    *lo = _mm256_and_si256(q, m4), *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    if (qh) {
        const __m256i hq = _mm256_loadu_si256((const __m256i *)qh), sixteen = _mm256_set1_epi8(16);
        const __m256i b1 = _mm256_set1_epi8((char)(1u << (2 * c))), b2 = _mm256_set1_epi8((char)(2u << (2 * c)));
        *lo = _mm256_or_si256(*lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hq, b1), b1), sixteen));
        *hi = _mm256_or_si256(*hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hq, b2), b2), sixteen));
    }
}

/* Q4_K and Q5_K share scales, mins and float step; q5 adds the fifth bits from qh. */
static AVX2 inline float k4_block(const block_q8_K *by, const uint8_t *sm, hone_f16 d, hone_f16 dmin,
                                  const uint8_t *qs, const uint8_t *qh) {
    uint8_t sc[8];
    const __m256i mins = k4_scales_mins(sm, sc);
    /* bsums groups 2g and 2g+1 belong to sub-block g: pair them, then weight by the mins */
    const __m256i pairs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)by->bsums), _mm256_set1_epi16(1));
    const int summs = hsum_i32(_mm256_mullo_epi32(pairs, mins));
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < 4; c++) {
        __m256i lo, hi;
        k4_chunk(qs, qh, c, &lo, &hi);
        const __m256i plo = _mm256_madd_epi16(
            _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(by->qs + 64 * c))),
            _mm256_set1_epi16((short)sc[2 * c]));
        const __m256i phi = _mm256_madd_epi16(
            _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(by->qs + 64 * c + 32))),
            _mm256_set1_epi16((short)sc[2 * c + 1]));
        acc = _mm256_add_epi32(acc, _mm256_add_epi32(plo, phi));
    }
    const int isum = hsum_i32(acc);
    const float df = _cvtsh_ss(d) * by->d;
    const float dm = _cvtsh_ss(dmin) * by->d;
    return df * (float)isum - dm * (float)summs;
}

static AVX2 float dot_q4_K(int64_t n, const void *w, const void *x) {
    const block_q4_K *a = w;
    const block_q8_K *b = x;
    const int64_t nb = n / QK_K;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) sum += k4_block(&b[i], a[i].scales, a[i].d, a[i].dmin, a[i].qs, NULL);
    return sum;
}

static AVX2 float dot_q5_K(int64_t n, const void *w, const void *x) {
    const block_q5_K *a = w;
    const block_q8_K *b = x;
    const int64_t nb = n / QK_K;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) sum += k4_block(&b[i], a[i].scales, a[i].d, a[i].dmin, a[i].qs, a[i].qh);
    return sum;
}

/* Q6_K quants of half h (128 elements) as four vectors of 32 unsigned bytes u = low4 | high2 << 4 */
static AVX2 ALWAYS_INLINE void q6_half(const block_q6_K *a, int h, __m256i u[4]) {
    const __m256i m4 = _mm256_set1_epi8(0xF), m3 = _mm256_set1_epi8(3), m30 = _mm256_set1_epi8(0x30);
    const __m256i l0 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h));
    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(a->ql + 64 * h + 32));
    const __m256i hh = _mm256_loadu_si256((const __m256i *)(a->qh + 32 * h));
    u[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(hh, m3), 4));
    u[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(hh, 2), m30));
    u[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(hh, m30));
    u[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(hh, 2), m30));
}

static AVX2 float dot_q6_K(int64_t n, const void *w, const void *x) {
    const block_q6_K *a = w;
    const block_q8_K *b = x;
    const int64_t nb = n / QK_K;
    float sum = 0.0f;
    for (int64_t i = 0; i < nb; i++) {
        /* value = u - 32 with u = low4 | high2 << 4 in 0..63: sum u * y, minus 32 * sum_g sc_g * bsum_g */
        const int offs =
            bsums_dot(b[i].bsums, _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[i].scales)));
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i u[4];
            q6_half(&a[i], h, u);
            for (int k = 0; k < 4; k++) {
                const int g = 8 * h + 2 * k;
                acc = _mm256_add_epi32(
                    acc, udot32_scaled(u[k], b[i].qs + 128 * h + 32 * k, a[i].scales[g], a[i].scales[g + 1]));
            }
        }
        const int isum = hsum_i32(acc) - 32 * offs;
        sum += _cvtsh_ss(a[i].d) * b[i].d * (float)isum;
    }
    return sum;
}

/* Tiles for Q4_K, Q5_K and Q6_K, as leg_tile: 4 weight rows x 2 activation rows, each pair's exact
 * integer block sums (the quants', and the mins' or the offsets' through the Q8_K bsums) formed as the
 * one-row kernels form them, gathered by hsum_8x8, then the reference's float expression lane by
 * lane; each chunk of weight quants is unpacked once for both activation rows. Kind: 4 Q4_K, 5 Q5_K,
 * 6 Q6_K. */
static AVX2 ALWAYS_INLINE void kq_tile(const int kind, const int R, const int C, int64_t nb, const char *w,
                                       size_t ws, const char *x, size_t xs, float *out, int64_t os, const char *pf) {
    const size_t wbs = kind == 4 ? sizeof(block_q4_K) : kind == 5 ? sizeof(block_q5_K) : sizeof(block_q6_K);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        if (pf) NEXT4_PREFETCH(pf, i, wbs);
        const block_q8_K *yb[2] = {NULL, NULL};
        float dx[2] = {0, 0}, dw[4] = {0, 0, 0, 0}, dmw[4] = {0, 0, 0, 0};
        _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) {
            yb[c] = (const block_q8_K *)(x + (size_t)c * xs) + i;
            dx[c] = yb[c]->d;
        }
        /* lane group 4c + r: pair (r, c)'s quant sum, and its min sum (Q4_K, Q5_K) or offset sum (Q6_K) */
        __m256i acc[8], aux[8];
        _Pragma("GCC unroll 8") for (int k = 0; k < 8; k++) acc[k] = aux[k] = _mm256_setzero_si256();
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) {
            const char *wb = w + (size_t)r * ws + (size_t)i * wbs;
            if (kind == 6) {
                const block_q6_K *a = (const block_q6_K *)wb;
                const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales));
                dw[r] = _cvtsh_ss(a->d);
                _Pragma("GCC unroll 2") for (int c = 0; c < C; c++)
                    aux[4 * c + r] = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb[c]->bsums), sc16);
                for (int h = 0; h < 2; h++) {
                    __m256i u[4];
                    q6_half(a, h, u);
                    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {
                        const int g = 8 * h + 2 * k;
                        _Pragma("GCC unroll 2") for (int c = 0; c < C; c++)
                            acc[4 * c + r] = _mm256_add_epi32(
                                acc[4 * c + r], udot32_scaled(u[k], yb[c]->qs + 128 * h + 32 * k, a->scales[g], a->scales[g + 1]));
                    }
                }
            } else {
                const uint8_t *sm, *qs, *qh = NULL;
                if (kind == 4) {
                    const block_q4_K *a = (const block_q4_K *)wb;
                    sm = a->scales, qs = a->qs, dw[r] = _cvtsh_ss(a->d), dmw[r] = _cvtsh_ss(a->dmin);
                } else {
                    const block_q5_K *a = (const block_q5_K *)wb;
                    sm = a->scales, qs = a->qs, qh = a->qh, dw[r] = _cvtsh_ss(a->d), dmw[r] = _cvtsh_ss(a->dmin);
                }
                uint8_t sc[8];
                const __m256i mins = k4_scales_mins(sm, sc);
                _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) aux[4 * c + r] = _mm256_mullo_epi32(
                    _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb[c]->bsums), ones), mins);
                for (int ch = 0; ch < 4; ch++) {
                    __m256i lo, hi;
                    k4_chunk(qs, qh, ch, &lo, &hi);
                    const __m256i slo = _mm256_set1_epi16((short)sc[2 * ch]), shi = _mm256_set1_epi16((short)sc[2 * ch + 1]);
                    _Pragma("GCC unroll 2") for (int c = 0; c < C; c++) {
                        const __m256i plo = _mm256_madd_epi16(
                            _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(yb[c]->qs + 64 * ch))), slo);
                        const __m256i phi = _mm256_madd_epi16(
                            _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(yb[c]->qs + 64 * ch + 32))), shi);
                        acc[4 * c + r] = _mm256_add_epi32(acc[4 * c + r], _mm256_add_epi32(plo, phi));
                    }
                }
            }
        }
        const __m256i isum = hsum_8x8(acc), asum = hsum_8x8(aux);
        const __m256 dw8 = _mm256_set_m128(_mm_loadu_ps(dw), _mm_loadu_ps(dw));
        const __m256 dx8 = _mm256_set_m128(_mm_set1_ps(dx[1]), _mm_set1_ps(dx[0]));
        __m256 t;
        if (kind == 6) { /* (d_w * d_x) * (float)(isum - 32 * offs) */
            const __m256i q = _mm256_sub_epi32(isum, _mm256_slli_epi32(asum, 5));
            t = _mm256_mul_ps(_mm256_mul_ps(dw8, dx8), _mm256_cvtepi32_ps(q));
        } else { /* df * (float)isum - dm * (float)summs */
            const __m256 dm8 = _mm256_set_m128(_mm_loadu_ps(dmw), _mm_loadu_ps(dmw));
            t = _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(dw8, dx8), _mm256_cvtepi32_ps(isum)),
                              _mm256_mul_ps(_mm256_mul_ps(dm8, dx8), _mm256_cvtepi32_ps(asum)));
        }
        sum = _mm256_add_ps(sum, t);
    }
    float s[8];
    _mm256_storeu_ps(s, sum);
    _Pragma("GCC unroll 2") for (int c = 0; c < C; c++)
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++) out[(int64_t)c * os + r] = s[4 * c + r];
}
TILE42_KERNELS(q4_K, kq_tile, 4, QK_K)
TILE42_KERNELS(q5_K, kq_tile, 5, QK_K)
TILE42_KERNELS(q6_K, kq_tile, 6, QK_K)
#undef TILE42_KERNELS

hone_gemm_fn kernel_gemm_avx2(hone_type t) {
    switch (t) {
    case HONE_TYPE_Q4_1: return gemm_q4_1;
    case HONE_TYPE_Q8_0: return gemm_q8_0;
    case HONE_TYPE_Q4_0: return gemm_q4_0;
    case HONE_TYPE_Q5_0: return gemm_q5_0;
    case HONE_TYPE_Q5_1: return gemm_q5_1;
    case HONE_TYPE_Q4_K: return gemm_q4_K;
    case HONE_TYPE_Q5_K: return gemm_q5_K;
    case HONE_TYPE_Q6_K: return gemm_q6_K;
    default: return kernel_float_gemm_avx2(t);
    }
}

hone_vec_dot_fn kernel_vec_dot_avx2(hone_type t) {
    switch (t) {
    case HONE_TYPE_F32:
    case HONE_TYPE_F16:
    case HONE_TYPE_BF16: return kernel_float_dot_avx2(t); /* float_avx2.c */
    case HONE_TYPE_Q4_0: return dot_q4_0;
    case HONE_TYPE_Q4_1: return dot_q4_1;
    case HONE_TYPE_Q5_0: return dot_q5_0;
    case HONE_TYPE_Q5_1: return dot_q5_1;
    case HONE_TYPE_Q8_0: return dot_q8_0;
    case HONE_TYPE_Q2_K: return dot_q2_K;
    case HONE_TYPE_Q3_K: return dot_q3_K;
    case HONE_TYPE_Q4_K: return dot_q4_K;
    case HONE_TYPE_Q5_K: return dot_q5_K;
    case HONE_TYPE_Q6_K: return dot_q6_K;
    default: return NULL; /* Q8_1, Q8_K as weights: no file stores them; the scalar kernel serves */
    }
}

hone_vec_dot4_fn kernel_vec_dot4_avx2(hone_type t) {
    switch (t) {
    case HONE_TYPE_Q4_1: return dot4_q4_1;
    case HONE_TYPE_Q8_0: return dot4_q8_0;
    case HONE_TYPE_Q4_0: return dot4_q4_0;
    case HONE_TYPE_Q5_0: return dot4_q5_0;
    case HONE_TYPE_Q5_1: return dot4_q5_1;
    case HONE_TYPE_Q4_K: return dot4_q4_K;
    case HONE_TYPE_Q5_K: return dot4_q5_K;
    case HONE_TYPE_Q6_K: return dot4_q6_K;
    case HONE_TYPE_F32:
    case HONE_TYPE_F16:
    case HONE_TYPE_BF16: return kernel_float_dot4_avx2(t);
    default: return NULL;
    }
}

#else

hone_vec_dot_fn kernel_vec_dot_avx2(hone_type t) {
    (void)t;
    return NULL;
}

hone_vec_dot4_fn kernel_vec_dot4_avx2(hone_type t) {
    (void)t;
    return NULL;
}

hone_gemm_fn kernel_gemm_avx2(hone_type t) {
    (void)t;
    return NULL;
}

#endif
