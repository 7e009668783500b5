/*
 * ops.c - scalar reference kernels for norms, RoPE, SwiGLU and attention.
 */
#include "kernels/cpu/ops.h"

#include <math.h>

void op_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)x[i] * x[i];
    /* scale computed in float, as ggml does after the double sum */
    const float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

void op_rope_norm(float *x, int n_heads, int head_dim, int rope_dim, int32_t pos, float base) {
    /* theta_i = pos * base^(-2i/rope_dim), built by repeated multiplication
     * like ggml so the angles agree to the last bit in most cases. */
    const float theta_scale = powf(base, -2.0f / (float)rope_dim);
    for (int h = 0; h < n_heads; h++) {
        float *xh = x + (int64_t)h * head_dim;
        float theta = (float)pos;
        for (int i = 0; i < rope_dim; i += 2) {
            const float c = cosf(theta), s = sinf(theta);
            const float x0 = xh[i], x1 = xh[i + 1];
            xh[i] = x0 * c - x1 * s;
            xh[i + 1] = x0 * s + x1 * c;
            theta *= theta_scale;
        }
    }
}

void op_swiglu(float *out, const float *g, const float *u, int n) {
    for (int i = 0; i < n; i++) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void op_add(float *x, const float *y, int n) {
    for (int i = 0; i < n; i++) x[i] += y[i];
}

void op_attention_f16(float *out, const float *q, const hone_f16 *k, const hone_f16 *v, int64_t stride,
                      const int32_t *cells, int n, int head_dim, float scale, float *scores) {
    float qh[512]; /* head_dim is checked <= 512 at model load */
    for (int d = 0; d < head_dim; d++) qh[d] = hone_f16_to_f32(hone_f32_to_f16(q[d]));

    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        const hone_f16 *kj = k + (int64_t)cells[j] * stride;
        float s = 0.0f;
        for (int d = 0; d < head_dim; d++) s += qh[d] * hone_f16_to_f32(kj[d]);
        s *= scale;
        scores[j] = s;
        if (s > mx) mx = s;
    }
    double sum = 0.0;
    for (int j = 0; j < n; j++) {
        const float e = expf(scores[j] - mx);
        scores[j] = e;
        sum += e;
    }
    const float inv = (float)(1.0 / sum);
    for (int d = 0; d < head_dim; d++) out[d] = 0.0f;
    for (int j = 0; j < n; j++) {
        const float p = hone_f16_to_f32(hone_f32_to_f16(scores[j] * inv));
        const hone_f16 *vj = v + (int64_t)cells[j] * stride;
        for (int d = 0; d < head_dim; d++) out[d] += p * hone_f16_to_f32(vj[d]);
    }
}
