/*
 * ops.c - scalar reference kernels for norms, RoPE, SwiGLU and attention.
 *
 * Why the arithmetic looks the way it does: hone's default model (SmolLM2-135M, Q4_1) has massive
 * activations, and its activations are quantised to 8 bits before every matrix product; a change
 * in the last bit of an activation can flip one 8-bit value and move a log-probability by tenths.
 * Matching llama.cpp's logits (tests/model/test_golden.c, made by its x86 CPU build with AVX-512)
 * therefore means reproducing its float operations bit for bit, not just to within rounding:
 *  - every sum is accumulated in the order of llama.cpp's kernels (sixteen-lane accumulators and
 *    the tree in which those lanes are added, written out as scalar C with fmaf);
 *  - exp() in SiLU and softmax is the polynomial approximation those kernels use (expf_poly),
 *    not libm's expf;
 *  - the attention products come in the two orders llama.cpp uses, one for a batch of several
 *    tokens (its tiled matrix-multiply path) and one for a single token (its vector dot path);
 *    the caller says which (op_f16dot_order).
 * hone is compiled without floating-point contraction, so every a*b+c below is two roundings unless
 * written as fmaf, exactly as intended.
 */
#include "kernels/cpu/ops.h"
#include "kernels/cpu/ops_internal.h"

#include <math.h>

/* fmaf is exact (one rounding) whether the CPU or libm computes it, so a
 * clone built for FMA hardware gives the same bits as the portable one; it
 * just avoids a libm call per multiply-add. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(HONE_NO_SIMD)
#define HONE_FMA_CLONES __attribute__((target_clones("fma", "default")))
#else
#define HONE_FMA_CLONES
#endif
#include <stdint.h>

void op_rmsnorm(float *out, const float *x, const float *w, int n, float eps) {
    /* ggml: the float square of each element, summed in double; the scale computed in float */
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)(x[i] * x[i]);
    const float scale = 1.0f / sqrtf((float)(ss / n) + eps);
    for (int i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

HONE_FMA_CLONES void op_rope_norm(float *x, int n_heads, int head_dim, int rope_dim, int32_t pos, float base) {
    /* theta_i = pos * base^(-2i/rope_dim), built by repeated multiplication like ggml so the angles
     * agree to the last bit. The rotation's products are fused the way gcc contracts ggml's
     * x0*c - x1*s and x0*s + x1*c (the second product rounded, the first fused into the add). */
    const float theta_scale = powf(base, -2.0f / (float)rope_dim);
    for (int h = 0; h < n_heads; h++) {
        float *xh = x + (int64_t)h * head_dim;
        float theta = (float)pos;
        for (int i = 0; i < rope_dim; i += 2) {
            const float c = cosf(theta), s = sinf(theta);
            const float x0 = xh[i], x1 = xh[i + 1];
            xh[i] = fmaf(x0, c, -(x1 * s));
            xh[i + 1] = fmaf(x0, s, x1 * c);
            theta *= theta_scale;
        }
    }
}

HONE_FMA_CLONES void op_swiglu(float *out, const float *g, const float *u, int n) {
    /* ggml's SiLU uses the polynomial exp on whole groups of sixteen and libm's expf on the rest */
    const int nv = n & ~15;
    for (int i = 0; i < n; i++) {
        const float e = i < nv ? expf_poly(0.0f - g[i]) : expf(-g[i]);
        out[i] = g[i] / (1.0f + e) * u[i];
    }
}

void op_add(float *x, const float *y, int n) {
    for (int i = 0; i < n; i++) x[i] += y[i];
}

/*
 * The two F16 dot-product orders of llama.cpp's attention, as an accumulator fed one product
 * x_i * y_i at a time, i = 0, 1, ... in order:
 *  - GEMM (its tiled matrix multiply, used when a batch holds several tokens): lane i % 16
 *    accumulates every sixteenth product with fmaf; the lanes are summed at the end;
 *  - VEC (its vector dot, used for a single token): four groups of sixteen lanes take the products
 *    of each whole 64-element step with fmaf; groups 0+2 and 1+3 are added, then the two, then the
 *    lanes; the products past the last whole step are then added one by one in double.
 * Positions llama.cpp masks (past the query's own) contribute exact zeros there, so they are
 * simply not fed; only the length it runs over (n_pad) matters, as it decides where the whole
 * 64-element steps end.
 */
typedef struct {
    float lane[4][16];
    double tail;
    int group_mask; /* product i goes to lane group (i & group_mask) >> 4: VEC 63, GEMM 15 (group 0) */
    int np;         /* VEC: products from here on go to `tail`; GEMM: INT32_MAX */
    int folded;     /* VEC: lanes already summed into `tail` */
} dot_acc;

static void dot_acc_init(dot_acc *a, op_f16dot_order order, int n_pad) {
    if (order == OP_F16DOT_GEMM)
        *a = (dot_acc){.group_mask = 15, .np = INT32_MAX};
    else
        *a = (dot_acc){.group_mask = 63, .np = n_pad & ~63};
}

static float dot_acc_fold(dot_acc *a) {
    for (int l = 0; l < 16; l++) {
        a->lane[0][l] += a->lane[2][l];
        a->lane[1][l] += a->lane[3][l];
    }
    for (int l = 0; l < 16; l++) a->lane[0][l] += a->lane[1][l];
    return lanes16_sum(a->lane[0]);
}

static inline __attribute__((always_inline)) void dot_acc_add(dot_acc *a, int i, float x, float y) {
    if (i < a->np) {
        float *l = &a->lane[(i & a->group_mask) >> 4][i & 15];
        *l = fmaf(x, y, *l);
        return;
    }
    if (!a->folded) {
        a->tail = dot_acc_fold(a);
        a->folded = 1;
    }
    a->tail += (double)(x * y);
}

static float dot_acc_result(dot_acc *a) {
    if (a->group_mask == 15) return lanes16_sum(a->lane[0]); /* GEMM: group 0 only */
    return a->folded ? (float)a->tail : dot_acc_fold(a);
}

HONE_FMA_CLONES void op_attention_f16(float *out, const float *q, const hone_f16 *k, const hone_f16 *v, int64_t stride,
                      const int32_t *cells, int n, int head_dim, float scale, float *scores, op_f16dot_order order) {
    float qh[512]; /* head_dim is checked <= 512 at model load */
    for (int d = 0; d < head_dim; d++) qh[d] = hone_f16_to_f32(hone_f32_to_f16(q[d]));
    /* llama.cpp's tiled path needs head_dim % 16 == 0 for q.K and % 4 for p.V; otherwise it too
     * falls back to the vector dot */
    const op_f16dot_order kq_order = head_dim % 16 ? OP_F16DOT_VEC : order;
    const op_f16dot_order kqv_order = head_dim % 4 ? OP_F16DOT_VEC : order;
    dot_acc acc;

    float mx = -INFINITY;
    for (int j = 0; j < n; j++) {
        const hone_f16 *kj = k + (int64_t)cells[j] * stride;
        dot_acc_init(&acc, kq_order, head_dim);
        for (int d = 0; d < head_dim; d++) dot_acc_add(&acc, d, qh[d], hone_f16_to_f32(kj[d]));
        const float s = dot_acc_result(&acc) * scale;
        scores[j] = s;
        if (s > mx) mx = s;
    }
    /* softmax: exponentials summed sixteen at a time (lanes16_sum), the groups in double */
    double sum = 0.0;
    for (int j0 = 0; j0 < n; j0 += 16) {
        float e[16] = {0};
        for (int l = 0; l < 16 && j0 + l < n; l++) {
            e[l] = expf_poly(scores[j0 + l] - mx);
            scores[j0 + l] = e[l];
        }
        sum += lanes16_sum(e);
    }
    const float inv = (float)(1.0 / sum);
    for (int j = 0; j < n; j++) scores[j] = hone_f16_to_f32(hone_f32_to_f16(scores[j] * inv));

    /* out[d] = sum_j p_j V_j[d], V read down column d of the cache in position order, over
     * llama.cpp's window of the cache: n rounded up to a multiple of 32 cells */
    const int n_pad = (n + 31) & ~31;
    for (int d = 0; d < head_dim; d++) {
        dot_acc_init(&acc, kqv_order, n_pad);
        for (int j = 0; j < n; j++) dot_acc_add(&acc, j, scores[j], hone_f16_to_f32(v[(int64_t)cells[j] * stride + d]));
        out[d] = dot_acc_result(&acc);
    }
}
