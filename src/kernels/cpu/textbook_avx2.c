/*
 * textbook_avx2.c - AVX2 dot products of hone's textbook types with Q8_0 activations.
 *
 * Same contract as dot_avx2.c: each function carries its own target attribute and is reached only
 * through dispatch.c after the CPU has been checked; non-x86 builds (and -DHONE_NO_SIMD) compile
 * this file to a lookup that has no kernels.
 *
 * Bits: the scalar reference (q_textbook.c) forms, per 32 weights, the exact integer sums
 * sum(v_j * qx_j) and (asym only) sum(qx_j), then does float arithmetic in a fixed order. This
 * file forms the same integers with SIMD (any order: integer sums are exact) and then evaluates
 * the reference's float expressions unchanged, one 32-weight chunk after another; the file is
 * built with -std=c11, so `a * b + c` is not contracted into a fused multiply-add here or there.
 *
 * Integer products use _mm256_maddubs_epi16 (unsigned x signed bytes, pairs summed to int16 with
 * saturation), arranged so that no pair can saturate for activation quants in [-127, 127]:
 *  - ASYM4/3/2: codes (<= 15) on the unsigned side: |pair| <= 2 * 15 * 128.
 *  - INT8 (codes in [-127, 127]) and LOG (table values in [-64, 64]): the sign of the weight moves
 *    to the activation (_mm256_sign_epi8) and |weight| is the unsigned side: |pair| <= 2*127*127.
 *  - ASYM8 (codes 0..255, which would saturate): code - 128 in [-128, 127] by flipping the top
 *    bit, signed as above (|pair| <= 2 * 128 * 127 = 32512), and 128 * sum(qx) added back.
 *
 * Unpacking, per 32 weights (layouts in q_textbook.c): 4-bit codes are the two nibbles of 16
 * bytes; the 2-bit plane is one 64-bit broadcast shifted right by 0, 2, 4, 6 in the four 64-bit
 * lanes and masked, which puts element j in byte j; the 3-bit high plane is 32 bits expanded to
 * bytes with a shuffle and compare. LOG codes become their integers with one pshufb.
 *
 * Speed: the reference's one horizontal sum per 32 weights is the cost these types pay for exact
 * bits. The one-row kernel (decode) reduces four chunks' sums together and forms their four
 * products dx * (float)sum in one vector; the tiled kernel (prompt batches) runs eight tokens in the
 * eight float lanes, unpacks each weight chunk once for all of them, and takes the activation
 * scales and code sums, which do not depend on the weight row, from a per-tile table.
 */
#include "kernels/cpu/textbook_avx2.h"

#include <stdbool.h>
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(HONE_NO_SIMD)
#include <immintrin.h>
#include <string.h>

#include "quant/quant.h"

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define ALWAYS_INLINE inline __attribute__((always_inline))

static AVX2 ALWAYS_INLINE float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return _cvtsh_ss(h); /* exact, like every half -> float conversion */
}

/* Four halves at p, p + stride, p + 2 stride, p + 3 stride as floats (exact). */
static AVX2 ALWAYS_INLINE __m128 halves4(const uint8_t *p, size_t stride) {
    uint16_t h[4];
    for (int i = 0; i < 4; i++) memcpy(&h[i], p + (size_t)i * stride, 2);
    return _mm_cvtph_ps(_mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3], 0, 0, 0, 0));
}

/* The (d, min) headers of four asym blocks at p, p + stride, ... as two float vectors (exact). */
static AVX2 ALWAYS_INLINE void dm4(const uint8_t *p, size_t stride, __m128 *d, __m128 *m) {
    uint32_t h[4];
    for (int i = 0; i < 4; i++) memcpy(&h[i], p + (size_t)i * stride, 4);
    const __m256 f = _mm256_cvtph_ps(_mm_setr_epi32((int)h[0], (int)h[1], (int)h[2], (int)h[3]));
    const __m128 lo = _mm256_castps256_ps128(f), hi = _mm256_extractf128_ps(f, 1); /* d0 m0 d1 m1 | d2 m2 d3 m3 */
    *d = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    *m = _mm_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
}

/* Lane i of v. */
static AVX2 ALWAYS_INLINE float lane(__m128 v, int i) {
    switch (i) {
    case 0: return _mm_cvtss_f32(v);
    case 1: return _mm_cvtss_f32(_mm_movehdup_ps(v));
    case 2: return _mm_cvtss_f32(_mm_movehl_ps(v, v));
    default: return _mm_cvtss_f32(_mm_shuffle_ps(v, v, 3));
    }
}

/* Byte j = 0xFF where bit j of the little-endian u32 at p is set, else 0. */
static AVX2 ALWAYS_INLINE __m256i bits32_to_bytes(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    const __m256i spread = _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202,
                                              0x0303030303030303);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
}

/* The 2-bit plane of 8 bytes as 32 bytes in element order. */
static AVX2 ALWAYS_INLINE __m256i plane2(const uint8_t *c) {
    uint64_t v;
    memcpy(&v, c, sizeof v);
    const __m256i b = _mm256_srlv_epi64(_mm256_set1_epi64x((long long)v), _mm256_setr_epi64x(0, 2, 4, 6));
    return _mm256_and_si256(b, _mm256_set1_epi8(3));
}

/* The 32 codes of one chunk, one byte each, in element order. */
static AVX2 ALWAYS_INLINE __m256i codes32(const uint8_t *c, int bits) {
    switch (bits) {
    case 8: return _mm256_loadu_si256((const __m256i *)c);
    case 4: {
        const __m128i q = _mm_loadu_si128((const __m128i *)c);
        const __m128i m4 = _mm_set1_epi8(0xF);
        return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m4), _mm_and_si128(q, m4));
    }
    case 3: return _mm256_or_si256(plane2(c), _mm256_and_si256(bits32_to_bytes(c + 8), _mm256_set1_epi8(4)));
    default: return plane2(c);
    }
}

/* sum(w_j * y_j) over 32 bytes as 8 int32 partials, w signed in [-128, 127], y in [-127, 127]. */
static AVX2 ALWAYS_INLINE __m256i sdot32(__m256i w, __m256i y) {
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(y, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static AVX2 ALWAYS_INLINE int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* Both horizontal sums at once: *a = sum(va), *b = sum(vb). */
static AVX2 ALWAYS_INLINE void hsum2_i32(__m256i va, __m256i vb, int *a, int *b) {
    const __m256i h = _mm256_hadd_epi32(va, vb); /* a01 a23 b01 b23 | a45 a67 b45 b67 */
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    s = _mm_hadd_epi32(s, s); /* a b a b */
    *a = _mm_cvtsi128_si32(s);
    *b = _mm_extract_epi32(s, 1);
}

/* Eight int32x8 partial-sum vectors to one vector of their eight totals, lane t = sum of v[t]. */
static AVX2 ALWAYS_INLINE __m256i reduce8(const __m256i *v) {
    const __m256i a = _mm256_hadd_epi32(v[0], v[1]), b = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i c = _mm256_hadd_epi32(v[4], v[5]), d = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d); /* per 128-bit half: 4 partials */
    return _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20), _mm256_permute2x128_si256(ab, cd, 0x31));
}

/* The codes of one chunk as the signed or unsigned bytes the integer sum multiplies: LOG codes
 * through the table, ASYM8 codes minus 128 (the caller adds 128 * sum(qx) back). *sgn: whether
 * they are signed (then |v| is the unsigned side and the sign moves to the activations). */
static AVX2 ALWAYS_INLINE __m256i chunk_values(int kind, int bits, const uint8_t *c, __m256i log_table, bool *sgn) {
    __m256i q = codes32(c, bits);
    if (kind == HONE_TB_LOG) q = _mm256_shuffle_epi8(log_table, q);
    if (kind == HONE_TB_ASYM && bits == 8) q = _mm256_xor_si256(q, _mm256_set1_epi8((char)0x80));
    *sgn = kind != HONE_TB_ASYM || bits == 8;
    return q;
}

/* sum(v_j * y_j) over one chunk as 8 int32 partials (see chunk_values). */
static AVX2 ALWAYS_INLINE __m256i chunk_dot(__m256i v, bool sgn, __m256i y) {
    const __m256i p = sgn ? _mm256_maddubs_epi16(_mm256_sign_epi8(v, v), _mm256_sign_epi8(y, v))
                          : _mm256_maddubs_epi16(v, y);
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static AVX2 ALWAYS_INLINE __m256i chunk_xsum(__m256i y) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), y), _mm256_set1_epi16(1));
}

/* The reference's loop (q_textbook.c tb_dot) with the integer sums done in SIMD, four chunks (128
 * weights: whole blocks for every block size) per step: their sums are reduced together and their
 * products dx * (float)sum formed in one vector (the same IEEE multiplies), then the reference's
 * additions run in order. `kind`, `bits` and `block` are constants in every instantiation below,
 * so the branches fold away. */
static AVX2 ALWAYS_INLINE float tb_dot(int kind, int bits, int block, int hdr, int chunk, int64_t n, const void *w,
                                       const void *x) {
    static const int8_t LOG4_V[16] = {0, 1, 2, 4, 8, 16, 32, 64, 0, -1, -2, -4, -8, -16, -32, -64};
    static const int8_t LOG3_V[16] = {0, 1, 2, 4, 0, -1, -2, -4, 0, 0, 0, 0, 0, 0, 0, 0};
    const __m128i lt = _mm_loadu_si128((const __m128i *)(bits == 4 ? LOG4_V : LOG3_V));
    const __m256i log_table = _mm256_set_m128i(lt, lt);
    const float unit = bits == 4 ? 0x1p-6f : 0x1p-2f;
    const int cpb = block / 32; /* chunks per block */
    const size_t bsize = (size_t)hdr + (size_t)cpb * (size_t)chunk;
    const uint8_t *p = w, *xb = x;
    float sumf = 0.0f;
    int64_t c = 0;
    const int64_t nc = n / 32;
    const __m128 zero = _mm_setzero_ps();
    for (; c + 4 <= nc; c += 4, xb += 4 * 34) {
        __m256i v[8];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            bool sgn;
            const uint8_t *cw = p + (size_t)(j / cpb) * bsize + hdr + (size_t)(j % cpb) * (size_t)chunk;
            const __m256i q = chunk_values(kind, bits, cw, log_table, &sgn);
            const __m256i y = _mm256_loadu_si256((const __m256i *)(xb + j * 34 + 2));
            v[j] = chunk_dot(q, sgn, y);
            v[4 + j] = kind == HONE_TB_ASYM ? chunk_xsum(y) : _mm256_setzero_si256();
        }
        const __m256i s = reduce8(v); /* sums of v[0..3] (products), then of v[4..7] (activation sums) */
        const __m128i is = _mm256_castsi256_si128(s), xs = _mm256_extracti128_si256(s, 1);
        const __m128 dx = halves4(xb, 34);
        const __m128 pd = _mm_mul_ps(
            dx, _mm_cvtepi32_ps(kind == HONE_TB_ASYM && bits == 8 ? _mm_add_epi32(is, _mm_slli_epi32(xs, 7)) : is));
        const __m128 pm = kind == HONE_TB_ASYM ? _mm_mul_ps(dx, _mm_cvtepi32_ps(xs)) : zero;
        /* the reference's additions: acc = 0 + p (+ p' ...) per block, then sum += d acc (+ m acc_m) */
        if (cpb == 1) { /* four blocks, lane by lane */
            __m128 d, m = zero;
            if (kind == HONE_TB_ASYM) dm4(p, bsize, &d, &m);
            else d = halves4(p, bsize);
            if (kind == HONE_TB_LOG) d = _mm_mul_ps(d, _mm_set1_ps(unit));
            __m128 t = _mm_mul_ps(d, _mm_add_ps(zero, pd));
            if (kind == HONE_TB_ASYM) t = _mm_add_ps(t, _mm_mul_ps(m, _mm_add_ps(zero, pm)));
            sumf += lane(t, 0);
            sumf += lane(t, 1);
            sumf += lane(t, 2);
            sumf += lane(t, 3);
            p += 4 * bsize;
        } else if (cpb == 2) { /* two blocks in lanes 0 and 2 */
            const __m128 d2 = _mm_setr_ps(half_at(p), 0.0f, half_at(p + bsize), 0.0f);
            __m128 d = kind == HONE_TB_LOG ? _mm_mul_ps(d2, _mm_set1_ps(unit)) : d2;
            __m128 t = _mm_mul_ps(d, _mm_add_ps(_mm_add_ps(zero, pd), _mm_movehdup_ps(pd)));
            if (kind == HONE_TB_ASYM) {
                const __m128 m = _mm_setr_ps(half_at(p + 2), 0.0f, half_at(p + bsize + 2), 0.0f);
                t = _mm_add_ps(t, _mm_mul_ps(m, _mm_add_ps(_mm_add_ps(zero, pm), _mm_movehdup_ps(pm))));
            }
            sumf += lane(t, 0);
            sumf += lane(t, 2);
            p += 2 * bsize;
        } else { /* one block of four chunks */
            float d = half_at(p);
            if (kind == HONE_TB_LOG) d *= unit;
            float acc_d = 0.0f, acc_m = 0.0f;
            acc_d += lane(pd, 0);
            acc_d += lane(pd, 1);
            acc_d += lane(pd, 2);
            acc_d += lane(pd, 3);
            if (kind == HONE_TB_ASYM) {
                acc_m += lane(pm, 0);
                acc_m += lane(pm, 1);
                acc_m += lane(pm, 2);
                acc_m += lane(pm, 3);
                sumf += d * acc_d + half_at(p + 2) * acc_m;
            } else {
                sumf += d * acc_d;
            }
            p += bsize;
        }
    }
    /* the last 32 or 64 weights (whole blocks of 32 or 64), one chunk at a time */
    for (; c < nc; c += cpb, p += bsize) {
        float d = half_at(p);
        const float m = kind == HONE_TB_ASYM ? half_at(p + 2) : 0.0f;
        if (kind == HONE_TB_LOG) d *= unit;
        float acc_d = 0.0f, acc_m = 0.0f;
        for (int k = 0; k < cpb; k++, xb += 34) {
            bool sgn;
            const __m256i q = chunk_values(kind, bits, p + hdr + k * chunk, log_table, &sgn);
            const __m256i y = _mm256_loadu_si256((const __m256i *)(xb + 2));
            const float dx = half_at(xb);
            if (kind == HONE_TB_ASYM) {
                int isum, xsum;
                hsum2_i32(chunk_dot(q, sgn, y), chunk_xsum(y), &isum, &xsum);
                if (bits == 8) isum += 128 * xsum;
                acc_d += dx * (float)isum;
                acc_m += dx * (float)xsum;
            } else {
                acc_d += dx * (float)hsum_i32(chunk_dot(q, sgn, y));
            }
        }
        if (kind == HONE_TB_ASYM) sumf += d * acc_d + m * acc_m;
        else sumf += d * acc_d;
    }
    return sumf;
}

/* The activation side of an eight-token tile, per chunk c: the eight scales (dx[c], lane t = token
 * t) and, for asym, the eight sums of the activation codes (xs[c]). They do not depend on the
 * weight row, so a tile computes them once for all rows. */
#define TILE_MAX_CHUNKS 512 /* rows up to 16384 weights; longer rows take the one-row kernels */

static AVX2 ALWAYS_INLINE void tile_prepare(int kind, int64_t nc, const uint8_t *x, size_t x_stride, __m256 *dx,
                                            __m256i *xs) {
    for (int64_t c = 0; c < nc; c++) {
        uint16_t h[8];
        __m256i v[8];
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) {
            const uint8_t *xt = x + (size_t)t * x_stride + (size_t)c * 34;
            memcpy(&h[t], xt, 2);
            if (kind == HONE_TB_ASYM) v[t] = chunk_xsum(_mm256_loadu_si256((const __m256i *)(xt + 2)));
        }
        dx[c] = _mm256_cvtph_ps(_mm_setr_epi16((short)h[0], (short)h[1], (short)h[2], (short)h[3], (short)h[4],
                                               (short)h[5], (short)h[6], (short)h[7]));
        if (kind == HONE_TB_ASYM) xs[c] = reduce8(v);
    }
}

/* One weight row against an eight-token tile: lane t of every float vector runs token t's chain of
 * tb_dot's reference (the same multiplies and adds in the same order, element-wise IEEE
 * operations), so each output has the one-row kernel's bits; the codes are unpacked once for all
 * eight tokens. */
static AVX2 ALWAYS_INLINE void tb_row8(int kind, int bits, int block, int hdr, int chunk, int64_t n,
                                       const uint8_t *w, const uint8_t *x, size_t x_stride, const __m256 *dxs,
                                       const __m256i *xss, float *out, int64_t out_stride) {
    static const int8_t LOG4_V[16] = {0, 1, 2, 4, 8, 16, 32, 64, 0, -1, -2, -4, -8, -16, -32, -64};
    static const int8_t LOG3_V[16] = {0, 1, 2, 4, 0, -1, -2, -4, 0, 0, 0, 0, 0, 0, 0, 0};
    const __m128i lt = _mm_loadu_si128((const __m128i *)(bits == 4 ? LOG4_V : LOG3_V));
    const __m256i log_table = _mm256_set_m128i(lt, lt);
    const float unit = bits == 4 ? 0x1p-6f : 0x1p-2f;
    const size_t bsize = (size_t)hdr + (size_t)(block / 32) * (size_t)chunk;
    __m256 sum = _mm256_setzero_ps();
    int64_t c = 0;
    for (int64_t b = 0; b < n / block; b++, w += bsize) {
        float d = half_at(w);
        const float m = kind == HONE_TB_ASYM ? half_at(w + 2) : 0.0f;
        if (kind == HONE_TB_LOG) d *= unit;
        __m256 acc_d = _mm256_setzero_ps(), acc_m = _mm256_setzero_ps();
        for (int k = 0; k < block / 32; k++, c++) {
            bool sgn;
            const __m256i q = chunk_values(kind, bits, w + hdr + k * chunk, log_table, &sgn);
            const __m256i aq = sgn ? _mm256_sign_epi8(q, q) : q;
            __m256i is[8];
#pragma GCC unroll 8
            for (int t = 0; t < 8; t++) {
                const __m256i y = _mm256_loadu_si256((const __m256i *)(x + (size_t)t * x_stride + (size_t)c * 34 + 2));
                is[t] = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, sgn ? _mm256_sign_epi8(y, q) : y),
                                          _mm256_set1_epi16(1));
            }
            __m256i isum = reduce8(is);
            if (kind == HONE_TB_ASYM) {
                if (bits == 8) isum = _mm256_add_epi32(isum, _mm256_slli_epi32(xss[c], 7));
                acc_m = _mm256_add_ps(acc_m, _mm256_mul_ps(dxs[c], _mm256_cvtepi32_ps(xss[c])));
            }
            acc_d = _mm256_add_ps(acc_d, _mm256_mul_ps(dxs[c], _mm256_cvtepi32_ps(isum)));
        }
        __m256 t = _mm256_mul_ps(_mm256_set1_ps(d), acc_d);
        if (kind == HONE_TB_ASYM) t = _mm256_add_ps(t, _mm256_mul_ps(_mm256_set1_ps(m), acc_m));
        sum = _mm256_add_ps(sum, t);
    }
    float r[8];
    _mm256_storeu_ps(r, sum);
    for (int t = 0; t < 8; t++) out[t * out_stride] = r[t];
}

/* hone_gemm_fn: eight-token tiles against every weight row, the other tokens one by one. */
static AVX2 ALWAYS_INLINE void tb_gemm(int kind, int bits, int block, int hdr, int chunk, int64_t n, const void *w,
                                       size_t w_stride, int nr, const void *x, size_t x_stride, int nt, float *out,
                                       int64_t out_stride) {
    const int64_t nc = n / 32;
    int t = 0;
    if (nc <= TILE_MAX_CHUNKS) {
        __m256 dx[TILE_MAX_CHUNKS];
        __m256i xs[TILE_MAX_CHUNKS];
        for (; t + 8 <= nt; t += 8) {
            const uint8_t *xt = (const uint8_t *)x + (size_t)t * x_stride;
            tile_prepare(kind, nc, xt, x_stride, dx, xs);
            for (int r = 0; r < nr; r++)
                tb_row8(kind, bits, block, hdr, chunk, n, (const uint8_t *)w + (size_t)r * w_stride, xt, x_stride, dx,
                        xs, out + t * out_stride + r, out_stride);
        }
    }
    for (; t < nt; t++)
        for (int r = 0; r < nr; r++)
            out[t * out_stride + r] = tb_dot(kind, bits, block, hdr, chunk, n, (const uint8_t *)w + (size_t)r * w_stride,
                                             (const uint8_t *)x + (size_t)t * x_stride);
}

#define TB_KERNEL(name, kind, bits, block, hdr, chunk)                                                               \
    static AVX2 float name(int64_t n, const void *w, const void *x) {                                                \
        return tb_dot(kind, bits, block, hdr, chunk, n, w, x);                                                       \
    }                                                                                                                \
    static AVX2 void name##_gemm(int64_t n, const void *w, size_t w_stride, int nr, const void *x, size_t x_stride,  \
                                 int nt, float *out, int64_t out_stride) {                                           \
        tb_gemm(kind, bits, block, hdr, chunk, n, w, w_stride, nr, x, x_stride, nt, out, out_stride);                \
    }
#define TB_KERNELS(s, kind, bits, hdr, chunk)                                                                        \
    TB_KERNEL(s##_b32, kind, bits, 32, hdr, chunk)                                                                   \
    TB_KERNEL(s##_b64, kind, bits, 64, hdr, chunk) TB_KERNEL(s##_b128, kind, bits, 128, hdr, chunk)
TB_KERNELS(int8, HONE_TB_INT8, 8, 2, 32)
TB_KERNELS(asym8, HONE_TB_ASYM, 8, 4, 32)
TB_KERNELS(asym4, HONE_TB_ASYM, 4, 4, 16)
TB_KERNELS(asym3, HONE_TB_ASYM, 3, 4, 12)
TB_KERNELS(asym2, HONE_TB_ASYM, 2, 4, 8)
TB_KERNELS(log4, HONE_TB_LOG, 4, 2, 16)
TB_KERNELS(log3, HONE_TB_LOG, 3, 2, 12)

/* Row and column of a textbook type in the kernel tables below (-1: not a textbook type). */
static int kernel_index(hone_type t, int *col) {
    const hone_tb_layout *L = hone_tb_layout_of(t);
    if (!L) return -1;
    *col = L->block == 32 ? 0 : L->block == 64 ? 1 : 2;
    return L->kind == HONE_TB_INT8   ? 0
           : L->kind == HONE_TB_ASYM ? 1 + (L->bits == 8 ? 0 : L->bits == 4 ? 1 : L->bits == 3 ? 2 : 3)
                                     : (L->bits == 4 ? 5 : 6);
}

hone_gemm_fn kernel_gemm_textbook_avx2(hone_type t) {
    static const hone_gemm_fn K[7][3] = {
        {int8_b32_gemm, int8_b64_gemm, int8_b128_gemm},    {asym8_b32_gemm, asym8_b64_gemm, asym8_b128_gemm},
        {asym4_b32_gemm, asym4_b64_gemm, asym4_b128_gemm}, {asym3_b32_gemm, asym3_b64_gemm, asym3_b128_gemm},
        {asym2_b32_gemm, asym2_b64_gemm, asym2_b128_gemm}, {log4_b32_gemm, log4_b64_gemm, log4_b128_gemm},
        {log3_b32_gemm, log3_b64_gemm, log3_b128_gemm},
    };
    int col;
    const int row = kernel_index(t, &col);
    return row < 0 ? NULL : K[row][col];
}

hone_vec_dot_fn kernel_vec_dot_textbook_avx2(hone_type t) {
    int col;
    const int row = kernel_index(t, &col);
    if (row < 0) return NULL;
    /* rows: int8, asym8, asym4, asym3, asym2, log4, log3; columns: blocks of 32, 64, 128 */
    static const hone_vec_dot_fn K[7][3] = {
        {int8_b32, int8_b64, int8_b128},    {asym8_b32, asym8_b64, asym8_b128}, {asym4_b32, asym4_b64, asym4_b128},
        {asym3_b32, asym3_b64, asym3_b128}, {asym2_b32, asym2_b64, asym2_b128}, {log4_b32, log4_b64, log4_b128},
        {log3_b32, log3_b64, log3_b128},
    };
    return K[row][col];
}

#else

hone_vec_dot_fn kernel_vec_dot_textbook_avx2(hone_type t) {
    (void)t;
    return NULL;
}

hone_gemm_fn kernel_gemm_textbook_avx2(hone_type t) {
    (void)t;
    return NULL;
}

#endif
