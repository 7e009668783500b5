/*
 * q_textbook.c - hone's textbook types: the schemes of `hone quantize --scheme` stored as packed
 * codes (declared in quant.h, ids in core/dtype.h, byte layouts in docs/formats.md).
 *
 *   INT8   symmetric abs-max: d = max|w| / 127, q = round(w / d) in [-127, 127], w' = d q
 *   ASYMb  min-max with zero point: d = (max - min) / (2^b - 1), q = round((w - min) / d) in
 *          [0, 2^b - 1], w' = min + d q (b = 8, 4, 3, 2)
 *   LOGb   power-of-two codes: sign and one of 2^(b-1) - 1 magnitudes s, s/2, s/4, ... (s =
 *          max|w|) or zero, the nearest in linear distance (b = 4, 3)
 * over a group of 32, 64 or 128 weights (G types) or a whole row (CH types). The header holds d
 * (and min), or s, as IEEE half; codes are computed against the stored (rounded) values, so the
 * dequantised weight is the grid point nearest to w on the grid the file really has.
 *
 * Code packing, per 32 weights (element j = 0..31):
 *   8 bits: byte j (int8 for INT8, uint8 for ASYM8)
 *   4 bits: low nibble of byte j for j < 16, high nibble of byte j - 16 for j >= 16
 *   2 bits: bits 2(j/8), 2(j/8)+1 of byte j%8  (eight bytes; one 64-bit broadcast and a per-lane
 *           shift by 0, 2, 4, 6 put element j in byte j of an AVX2 register)
 *   3 bits: the low two bits as the 2-bit plane (8 bytes), then bit j of a little-endian u32 is
 *           bit 2 of element j (4 bytes): two cheap SIMD unpacks instead of a 3-bit bit stream
 * A LOG code is sign << (b-1) | i, i = 0 for zero and i >= 1 for the magnitude s 2^(i - 2^(b-1) + 1);
 * as an integer the weight is u * v with u = s 2^-(2^(b-1) - 2) and v = +-2^(i-1) (|v| <= 64), so
 * its dot product is an int8 dot product like INT8's.
 *
 * The dot product's integer sums are exact (|sum| < 2^24: at most 32 * 255 * 127 per 32 weights),
 * then the float steps of quant.h's comment, which textbook_avx2.c reproduces bit for bit.
 */
#include <math.h>
#include <string.h>

#include "core/fp16.h"
#include "core/status.h"
#include "quant/quant.h"

#define TB_FIRST HONE_TYPE_INT8_G32
#define TB_N 28

/* Order of dtype.h: 7 schemes x (G32, G64, G128, CH). */
static const hone_tb_layout LAYOUTS[TB_N] = {
#define TB_ROW(kind, bits, hdr, chunk)                                                                               \
    {kind, bits, 32, 32, hdr, chunk}, {kind, bits, 64, 64, hdr, chunk}, {kind, bits, 128, 128, hdr, chunk},          \
        {kind, bits, 0, 64, hdr, chunk}
    TB_ROW(HONE_TB_INT8, 8, 2, 32), TB_ROW(HONE_TB_ASYM, 8, 4, 32), TB_ROW(HONE_TB_ASYM, 4, 4, 16),
    TB_ROW(HONE_TB_ASYM, 3, 4, 12), TB_ROW(HONE_TB_ASYM, 2, 4, 8),  TB_ROW(HONE_TB_LOG, 4, 2, 16),
    TB_ROW(HONE_TB_LOG, 3, 2, 12),
#undef TB_ROW
};

const hone_tb_layout *hone_tb_layout_of(hone_type t) {
    const unsigned i = (unsigned)t - (unsigned)TB_FIRST;
    return i < TB_N ? &LAYOUTS[i] : NULL;
}

int hone_tb_type(hone_tb_kind kind, int bits, int group) {
    for (int i = 0; i < TB_N; i++)
        if (LAYOUTS[i].kind == kind && LAYOUTS[i].bits == bits && LAYOUTS[i].group == group) return TB_FIRST + i;
    return -1;
}

/* The signed integer of each LOG code (index: the code). */
static const int8_t LOG4_V[16] = {0, 1, 2, 4, 8, 16, 32, 64, 0, -1, -2, -4, -8, -16, -32, -64};
static const int8_t LOG3_V[8] = {0, 1, 2, 4, 0, -1, -2, -4};

/* u / s for LOG codes: the smallest magnitude relative to s. */
static float log_unit(int bits) { return bits == 4 ? 0x1p-6f : 0x1p-2f; }

static inline float f16_at(const uint8_t *p) {
    hone_f16 h;
    memcpy(&h, p, sizeof h);
    return hone_f16_to_f32(h);
}

static inline void f16_put(uint8_t *p, float v) {
    const hone_f16 h = hone_f32_to_f16(v);
    memcpy(p, &h, sizeof h);
}

/* Code j (0..31) of one 32-weight chunk, as stored (unsigned). */
static inline int code_at(const uint8_t *c, int bits, int j) {
    switch (bits) {
    case 8: return c[j];
    case 4: return j < 16 ? c[j] & 15 : c[j - 16] >> 4;
    case 3: return ((c[j % 8] >> (2 * (j / 8))) & 3) | (((c[8 + j / 8] >> (j % 8)) & 1) << 2);
    default: return (c[j % 8] >> (2 * (j / 8))) & 3;
    }
}

/* Pack 32 codes (each < 2^bits) into one chunk. */
static void pack_chunk(const uint8_t *q, int bits, uint8_t *c) {
    switch (bits) {
    case 8: memcpy(c, q, 32); break;
    case 4:
        for (int j = 0; j < 16; j++) c[j] = (uint8_t)(q[j] | (q[j + 16] << 4));
        break;
    case 3:
    case 2:
        memset(c, 0, bits == 3 ? 12 : 8);
        for (int j = 0; j < 32; j++) {
            c[j % 8] |= (uint8_t)((q[j] & 3) << (2 * (j / 8)));
            if (bits == 3) c[8 + j / 8] |= (uint8_t)(((q[j] >> 2) & 1) << (j % 8));
        }
        break;
    }
}

/* The integer each code stands for in the dot product and in dequantisation (times d, plus m). */
static inline int code_value(const hone_tb_layout *L, int code) {
    switch (L->kind) {
    case HONE_TB_INT8: return (int8_t)code;
    case HONE_TB_ASYM: return code;
    default: return L->bits == 4 ? LOG4_V[code] : LOG3_V[code];
    }
}

/* ---- dequantise ---- */

void hone_tb_dequantize_row(hone_type t, const void *src, float *dst, int64_t n) {
    const hone_tb_layout *L = hone_tb_layout_of(t);
    if (!L) return;
    const uint8_t *p = src;
    const size_t bsize = (size_t)L->hdr + (size_t)(L->block / 32) * (size_t)L->chunk;
    for (int64_t b = 0; b < n / L->block; b++, p += bsize) {
        float d = f16_at(p);
        const float m = L->kind == HONE_TB_ASYM ? f16_at(p + 2) : 0.0f;
        if (L->kind == HONE_TB_LOG) d *= log_unit(L->bits);
        for (int k = 0; k < L->block / 32; k++) {
            const uint8_t *c = p + L->hdr + k * L->chunk;
            float *y = dst + b * L->block + k * 32;
            for (int j = 0; j < 32; j++) y[j] = m + d * (float)code_value(L, code_at(c, L->bits, j));
        }
    }
}

/* ---- quantise ---- */

/* The parameters of one grid over x[0..n): d (and m) for INT8/ASYM, s for LOG, as stored. */
static void grid_params(const hone_tb_layout *L, const float *x, int64_t n, float *d, float *m) {
    float mn = x[0], mx = x[0], amax = 0.0f;
    for (int64_t j = 0; j < n; j++) {
        mn = fminf(mn, x[j]);
        mx = fmaxf(mx, x[j]);
        amax = fmaxf(amax, fabsf(x[j]));
    }
    *m = 0.0f;
    switch (L->kind) {
    case HONE_TB_INT8: *d = amax / 127.0f; break;
    case HONE_TB_ASYM:
        *d = (mx - mn) / (float)((1 << L->bits) - 1);
        *m = mn;
        break;
    case HONE_TB_LOG: *d = amax; break;
    }
}

/* v limited to [lo, hi], NaN to lo (as fmaxf(lo, fminf(hi, v)) gives, but inlined: the libm calls
 * were 40 % of a calibrated scheme's search) */
static inline float clampf(float v, float lo, float hi) {
    v = v > lo ? v : lo;
    return v < hi ? v : hi;
}

/* Codes of 32 weights on the stored grid (d, m already rounded to half). */
static void codes32(const hone_tb_layout *L, const float *x, float d, float m, uint8_t *q) {
    const int levels = (1 << L->bits) - 1;
    for (int j = 0; j < 32; j++) {
        switch (L->kind) {
        case HONE_TB_INT8: {
            float v = d > 0.0f ? roundf(x[j] / d) : 0.0f;
            v = clampf(v, -127.0f, 127.0f);
            q[j] = (uint8_t)(int8_t)(int)v;
            break;
        }
        case HONE_TB_ASYM: {
            float v = d > 0.0f ? roundf((x[j] - m) / d) : 0.0f;
            v = clampf(v, 0.0f, (float)levels);
            q[j] = (uint8_t)(int)v;
            break;
        }
        case HONE_TB_LOG: {
            /* magnitudes s 2^-e, e = 0 .. nm-1, or zero: the nearest; on a tie the larger */
            const int nm = (1 << (L->bits - 1)) - 1;
            const float a = fabsf(x[j]);
            int best = 0;
            float err = a;
            for (int e = 0; e < nm && d > 0.0f; e++) {
                const float dist = fabsf(a - ldexpf(d, -e));
                if (dist < err) {
                    err = dist;
                    best = nm - e; /* index i: magnitude s 2^(i - nm) */
                }
            }
            q[j] = (uint8_t)(best == 0 ? 0 : ((x[j] < 0.0f) << (L->bits - 1)) | best);
            break;
        }
        }
    }
}

/* Candidate k's grid of x[0..n), narrowed by alpha = 1 - k/50 (k mod 26: 1 down to 0.5): INT8 and
 * LOG scale their end value by alpha; ASYM shrinks its range by alpha about its midpoint
 * (k < 26), from the top (k < 52) or from the bottom, since a group's outlier is often on one side
 * only. k = 0 is the textbook grid. Rounded to the stored half values. */
#define TB_N_ALPHA 26
static int tb_n_cand(const hone_tb_layout *L) { return L->kind == HONE_TB_ASYM ? 3 * TB_N_ALPHA : TB_N_ALPHA; }

/* Candidate k from the textbook parameters d, m of grid_params. */
static void cand_adjust(const hone_tb_layout *L, int k, float *d, float *m) {
    const float alpha = 1.0f - 0.02f * (float)(k % TB_N_ALPHA);
    if (k != 0) {
        if (L->kind == HONE_TB_ASYM) {
            const float range = *d * (float)((1 << L->bits) - 1), cut = (1.0f - alpha) * range;
            const int side = k / TB_N_ALPHA; /* 0: both ends, 1: the top, 2: the bottom */
            if (side == 0) *m += 0.5f * cut;
            else if (side == 2) *m += cut;
        }
        *d *= alpha;
    }
    *d = hone_f16_to_f32(hone_f32_to_f16(*d));
    *m = hone_f16_to_f32(hone_f32_to_f16(*m));
}

static void cand_params(const hone_tb_layout *L, const float *x, int64_t n, int k, float *d, float *m) {
    grid_params(L, x, n, d, m);
    cand_adjust(L, k, d, m);
}

/* sum w (x - x')^2 over n (a multiple of 32) weights on the grid (d, m) as stored */
static double grid_error(const hone_tb_layout *L, const float *x, const float *w, int64_t n, float d, float m) {
    const float dv = L->kind == HONE_TB_LOG ? d * log_unit(L->bits) : d;
    double e = 0.0;
    for (int64_t k = 0; k < n; k += 32) {
        uint8_t q[32];
        codes32(L, x + k, d, m, q);
        for (int j = 0; j < 32; j++) {
            const double r = (double)x[k + j] - ((double)m + (double)dv * code_value(L, q[j]));
            e += (double)w[k + j] * r * r;
        }
    }
    return e;
}

/* The candidate grid with the least importance-weighted error for x[0..n) (the textbook grid when
 * imp is NULL). Clipping a group's extreme weight buys finer steps for all the others; the
 * importances say when that pays. */
static int best_cand(const hone_tb_layout *L, const float *x, const float *imp, int64_t n) {
    if (!imp) return 0;
    float d0, m0;
    grid_params(L, x, n, &d0, &m0);
    int best = 0;
    double best_e = INFINITY;
    for (int k = 0; k < tb_n_cand(L); k++) {
        float d = d0, m = m0;
        cand_adjust(L, k, &d, &m);
        const double e = grid_error(L, x, imp, n, d, m);
        if (e < best_e) best_e = e, best = k;
    }
    return best;
}

hone_status hone_tb_quantize_row_weighted(hone_type t, const float *src, void *dst, int64_t n, const float *imp) {
    const hone_tb_layout *L = hone_tb_layout_of(t);
    if (!L) return hone_err(HONE_ERR_UNSUPPORTED, "quantize: type id %d is not a textbook type", (int)t);
    if (n < 0 || n % L->block != 0)
        return hone_err(HONE_ERR_INVALID_ARG, "quantize: row of %lld elements is not a multiple of %s's block size %d",
                        (long long)n, hone_type_get((uint32_t)t)->name, L->block);
    uint8_t *p = dst;
    const size_t bsize = (size_t)L->hdr + (size_t)(L->block / 32) * (size_t)L->chunk;
    float d = 0.0f, m = 0.0f;
    if (L->group == 0) cand_params(L, src, n, best_cand(L, src, imp, n), &d, &m); /* one grid per row */
    for (int64_t b = 0; b < n / L->block; b++, p += bsize) {
        const float *x = src + b * L->block;
        if (L->group != 0) {
            const float *w = imp ? imp + b * L->block : NULL;
            cand_params(L, x, L->block, best_cand(L, x, w, L->block), &d, &m);
        }
        f16_put(p, d);
        if (L->kind == HONE_TB_ASYM) f16_put(p + 2, m);
        for (int k = 0; k < L->block / 32; k++) {
            uint8_t q[32];
            codes32(L, x + 32 * k, d, m, q);
            pack_chunk(q, L->bits, p + L->hdr + k * L->chunk);
        }
    }
    return HONE_OK;
}

hone_status hone_tb_quantize_row(hone_type t, const float *src, void *dst, int64_t n) {
    return hone_tb_quantize_row_weighted(t, src, dst, n, NULL);
}

/* ---- dot product with Q8_0 activations (34-byte blocks: half d, 32 int8) ---- */

static inline float tb_dot(const hone_tb_layout *L, int64_t n, const void *w, const void *x) {
    const uint8_t *p = w, *xb = x;
    const size_t bsize = (size_t)L->hdr + (size_t)(L->block / 32) * (size_t)L->chunk;
    float sumf = 0.0f;
    for (int64_t b = 0; b < n / L->block; b++, p += bsize) {
        float d = f16_at(p);
        const float m = L->kind == HONE_TB_ASYM ? f16_at(p + 2) : 0.0f;
        if (L->kind == HONE_TB_LOG) d *= log_unit(L->bits);
        float acc_d = 0.0f, acc_m = 0.0f;
        for (int k = 0; k < L->block / 32; k++, xb += 34) {
            const uint8_t *c = p + L->hdr + k * L->chunk;
            const int8_t *qx = (const int8_t *)(xb + 2);
            int isum = 0, xsum = 0;
            for (int j = 0; j < 32; j++) {
                isum += code_value(L, code_at(c, L->bits, j)) * qx[j];
                xsum += qx[j];
            }
            const float dx = f16_at(xb);
            acc_d += dx * (float)isum;
            if (L->kind == HONE_TB_ASYM) acc_m += dx * (float)xsum;
        }
        if (L->kind == HONE_TB_ASYM) sumf += d * acc_d + m * acc_m;
        else sumf += d * acc_d;
    }
    return sumf;
}

#define TB_DOT(name, idx)                                                                                            \
    static float name(int64_t n, const void *w, const void *x) { return tb_dot(&LAYOUTS[idx], n, w, x); }
#define TB_DOTS(s, base) TB_DOT(s##_g32, base) TB_DOT(s##_g64, base + 1) TB_DOT(s##_g128, base + 2)
TB_DOTS(dot_int8, 0)
TB_DOTS(dot_asym8, 4)
TB_DOTS(dot_asym4, 8)
TB_DOTS(dot_asym3, 12)
TB_DOTS(dot_asym2, 16)
TB_DOTS(dot_log4, 20)
TB_DOTS(dot_log3, 24)

/* A CH type's blocks are its G64 twin's blocks (only the quantiser differs). */
static const hone_tb_dot_fn DOTS[TB_N] = {
    dot_int8_g32,  dot_int8_g64,  dot_int8_g128,  dot_int8_g64,  dot_asym8_g32, dot_asym8_g64, dot_asym8_g128,
    dot_asym8_g64, dot_asym4_g32, dot_asym4_g64,  dot_asym4_g128, dot_asym4_g64, dot_asym3_g32, dot_asym3_g64,
    dot_asym3_g128, dot_asym3_g64, dot_asym2_g32, dot_asym2_g64, dot_asym2_g128, dot_asym2_g64, dot_log4_g32,
    dot_log4_g64,  dot_log4_g128, dot_log4_g64,   dot_log3_g32,  dot_log3_g64,  dot_log3_g128, dot_log3_g64,
};

hone_tb_dot_fn hone_tb_dot_ref(hone_type t) {
    const unsigned i = (unsigned)t - (unsigned)TB_FIRST;
    return i < TB_N ? DOTS[i] : NULL;
}
