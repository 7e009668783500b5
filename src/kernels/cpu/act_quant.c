/*
 * act_quant.c - scalar row quantisers for the token and static activation modes (see act_quant.h).
 *
 * Both modes reduce to "quantise the row against one given scale d": token mode finds d from the
 * whole row first, static mode takes it from the file. The codes are rounded against the scale
 * as stored (the half-precision d of Q8_0/Q8_1, the float d of Q8_K), so that d * q is the value
 * the dot kernels reconstruct; they saturate at +-127 (symmetric, as every kernel expects), which
 * for static mode is the clipping of out-of-range activations and for token mode only catches
 * the half-precision rounding of d. On AVX2 CPUs the row maximum and the codes come from
 * act_quant_avx2.c (same bits; a scalar row cost ~5 % of a decode step of the default model); the
 * block sums stay scalar.
 */
#include "kernels/cpu/act_quant.h"

#include <math.h>
#include <string.h>

#include "core/fp16.h"
#include "kernels/cpu/act_quant_avx2.h"
#include "kernels/cpu/dispatch.h"
#include "quant/blocks.h"
#include "quant/quant.h"

static const char *const mode_names[] = {"int8-dynamic", "int8-token", "int8-static"};

const char *act_mode_name(int mode) {
    return mode >= 0 && mode < (int)(sizeof mode_names / sizeof *mode_names) ? mode_names[mode] : NULL;
}

int act_mode_parse(const char *name) {
    for (int i = 0; name && i < (int)(sizeof mode_names / sizeof *mode_names); i++)
        if (strcmp(name, mode_names[i]) == 0) return i;
    return -1;
}

bool act_type_has_mode(hone_type wtype) {
    const hone_type_info *ti = hone_type_get((uint32_t)wtype);
    if (!ti) return false;
    const hone_type v = ti->vec_dot_type;
    return v == HONE_TYPE_Q8_0 || v == HONE_TYPE_Q8_1 || v == HONE_TYPE_Q8_K;
}

/* round half to even into [-127, 127]; NaN becomes 0 */
static inline int code(float v) {
    v = v == v ? v : 0.0f;
    v = v < -127.0f ? -127.0f : v;
    v = v > 127.0f ? 127.0f : v;
    return hq_nearest_int(v);
}

/* NaNs are left out (the comparison is false), so the maximum does not depend on the order */
static float row_amax(const float *x, int64_t n, bool simd) {
    if (simd) return act_amax_avx2(x, n);
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) amax = fabsf(x[i]);
    return amax;
}

static void codes(const float *x, float id, int8_t *q, int n, bool simd) {
    if (simd) {
        act_codes_avx2(x, id, q, n);
        return;
    }
    for (int j = 0; j < n; j++) q[j] = (int8_t)code(x[j] * id);
}

/* The half-precision scale stored for a wanted scale d: finite (a scale past the half range
 * saturates at its largest value rather than turning the products into inf * 0). */
static hone_f16 half_scale(float d) {
    hone_f16 h = hone_f32_to_f16(d);
    if (!isfinite(hone_f16_to_f32(h))) h = hone_f32_to_f16(65504.0f);
    return h;
}

static void quant_q8_0(float d, const float *x, block_q8_0 *b, int64_t nb, bool simd) {
    const hone_f16 dh = half_scale(d);
    const float ds = hone_f16_to_f32(dh), id = ds > 0.0f ? 1.0f / ds : 0.0f;
    for (int64_t i = 0; i < nb; i++, x += QK8_0) {
        b[i].d = dh;
        codes(x, id, b[i].qs, QK8_0, simd);
    }
}

static void quant_q8_1(float d, const float *x, block_q8_1 *b, int64_t nb, bool simd) {
    const hone_f16 dh = half_scale(d);
    const float ds = hone_f16_to_f32(dh), id = ds > 0.0f ? 1.0f / ds : 0.0f;
    for (int64_t i = 0; i < nb; i++, x += QK8_1) {
        codes(x, id, b[i].qs, QK8_1, simd);
        int s = 0;
        for (int j = 0; j < QK8_1; j++) s += b[i].qs[j];
        b[i].d = dh;
        b[i].s = hone_f32_to_f16(ds * (float)s); /* d * sum(q) with the d the kernels see */
    }
}

static void quant_q8_K(float d, const float *x, block_q8_K *b, int64_t nb, bool simd) {
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        codes(x, id, b[i].qs, QK_K, simd);
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += b[i].qs[16 * g + l];
            b[i].bsums[g] = (int16_t)s;
        }
        b[i].d = d;
    }
}

static void quantize_row(hone_type vdt, int mode, float scale, const float *x, void *xq, int64_t n, bool simd) {
    if (mode == HONE_ACT_DYNAMIC) {
        hone_quantize_row(vdt, x, xq, n);
        return;
    }
    const float d = mode == HONE_ACT_STATIC ? scale : row_amax(x, n, simd) / 127.0f;
    switch (vdt) {
    case HONE_TYPE_Q8_0: quant_q8_0(d, x, xq, n / QK8_0, simd); break;
    case HONE_TYPE_Q8_1: quant_q8_1(d, x, xq, n / QK8_1, simd); break;
    case HONE_TYPE_Q8_K: quant_q8_K(d, x, xq, n / QK_K, simd); break;
    default: hone_quantize_row(vdt, x, xq, n); break; /* float activations: no int8 mode applies */
    }
}

void act_quantize_row(hone_type vdt, int mode, float scale, const float *x, void *xq, int64_t n) {
    const kernel_level lvl = kernel_cpu_level();
    quantize_row(vdt, mode, scale, x, xq, n, act_avx2_built() && (lvl == KERNEL_CPU_AVX2 || lvl == KERNEL_CPU_AVX512));
}

void act_quantize_row_scalar(hone_type vdt, int mode, float scale, const float *x, void *xq, int64_t n) {
    quantize_row(vdt, mode, scale, x, xq, n, false);
}
