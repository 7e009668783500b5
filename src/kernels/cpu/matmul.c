/*
 * matmul.c - quantised weight x activation products split by weight rows.
 *
 * The dot product comes from kernels/cpu/dispatch.h, looked up once per call for the active CPU
 * level; every level gives the scalar reference's bits for the block formats, so the choice never
 * changes a quantised model's logits.
 */
#include "kernels/cpu/matmul.h"

#include "kernels/cpu/act_quant.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/quant_avx2.h"
#include "quant/quant.h"

size_t matmul_act_bytes(hone_type wtype, int64_t n_in, int T) {
    const hone_type_info *ti = hone_type_get((uint32_t)wtype);
    return hone_row_size(ti->vec_dot_type, n_in) * (size_t)T;
}

typedef struct {
    hone_type vdt;
    hone_quant_row_fn fast; /* AVX2 row quantiser (same bits), or NULL */
    int mode;               /* hone_act_mode */
    float scale;            /* HONE_ACT_STATIC */
    const float *x;
    int64_t n_in;
    int T;
    char *xq;
    size_t row;
} quant_job;

static void quant_worker(void *ctx, int ith, int nth) {
    quant_job *j = ctx;
    long b, e;
    threadpool_split(j->T, ith, nth, &b, &e);
    for (long t = b; t < e; t++) {
        if (j->fast)
            j->fast(j->x + t * j->n_in, j->xq + t * j->row, j->n_in);
        else
            act_quantize_row(j->vdt, j->mode, j->scale, j->x + t * j->n_in, j->xq + t * j->row, j->n_in);
    }
}

static void quantize_act(threadpool *p, hone_type wtype, int mode, float scale, const float *x, int64_t n_in, int T,
                         void *xq) {
    quant_job j = {hone_type_get((uint32_t)wtype)->vec_dot_type, NULL, 0, 0.0f, x, n_in, T, xq, 0};
    if (act_type_has_mode(wtype)) {
        j.mode = mode;
        j.scale = scale;
    }
    const kernel_level lvl = kernel_cpu_level();
    /* the AVX2 quantisers are the per-block (dynamic) ones */
    if (j.mode == HONE_ACT_DYNAMIC && (lvl == KERNEL_CPU_AVX2 || lvl == KERNEL_CPU_AVX512))
        j.fast = kernel_quant_row_avx2(j.vdt);
    j.row = hone_row_size(j.vdt, n_in);
    if (T == 1 || p == NULL) { /* no pool: the caller's thread does it all */
        quant_worker(&j, 0, 1);
        return;
    }
    threadpool_run(p, quant_worker, &j);
}

void matmul_quantize_act(threadpool *p, hone_type wtype, const float *x, int64_t n_in, int T, void *xq) {
    quantize_act(p, wtype, HONE_ACT_DYNAMIC, 0.0f, x, n_in, T, xq);
}

void matmul_quantize_act_mat(threadpool *p, const hone_mat *w, const float *x, int T, void *xq) {
    quantize_act(p, w->type, w->act_mode, w->act_scale, x, w->n_in, T, xq);
}

/* Float weights have no int8 activations, so their mode fields do not matter. */
bool matmul_same_act(const hone_mat *a, const hone_mat *b) {
    const hone_type va = hone_type_get((uint32_t)a->type)->vec_dot_type;
    if (va != hone_type_get((uint32_t)b->type)->vec_dot_type || a->n_in != b->n_in) return false;
    if (!act_type_has_mode(a->type)) return true;
    return a->act_mode == b->act_mode && (a->act_mode != HONE_ACT_STATIC || a->act_scale == b->act_scale);
}

typedef struct {
    const hone_mat *w;
    hone_vec_dot_fn dot;
    hone_vec_dot4_fn dot4; /* NULL where the level has no four-row kernel for the type (or, for
                            * T = 1, none that streams well: kernel_vec_dot4_decode) */
    hone_gemm_fn gemm;     /* tiled kernel for batches of several rows, or NULL */
    const char *xq;
    size_t xrow;
    int T;
    float *out;
} mm_job;

/* Rows [b, e) of W for all T tokens, streaming each weight row once; every
 * element is one dot product, so how rows are split never changes a result. */
static void mm_range(const mm_job *j, long b, long e) {
    const hone_mat *w = j->w;
    const hone_vec_dot_fn dot = j->dot;
    long r = b;
    /* a batch of several activation rows: the tiled kernel, same bits per element */
    if (j->gemm && j->T > 1 && e > b) {
        j->gemm(w->n_in, (const char *)w->data + (size_t)b * w->row_bytes, w->row_bytes, (int)(e - b), j->xq, j->xrow,
                j->T, j->out + b, w->n_out);
        return;
    }
    /* four rows at a time where a kernel exists: same bits per element as the one-row kernel.
     * With several activation rows it reuses the weights; with one (decode) only where the
     * kernel prefetches the next four rows as one stream (kernel_vec_dot4_decode): four rows read
     * side by side without that were slower than one row at a time, which the hardware
     * prefetchers serve as a single stream (measured: 10-40 % slower), and with it they are
     * faster (SmolLM2-135M, one thread: F16 56 -> 76 tok/s, Q8_0 109 -> 138, Q4_1 130 -> 155). */
    if (j->dot4) {
        for (; r + 4 <= e; r += 4) {
            const char *wr = (const char *)w->data + (size_t)r * w->row_bytes;
            for (int t = 0; t < j->T; t++) {
                float o[4];
                j->dot4(w->n_in, wr, w->row_bytes, j->xq + (size_t)t * j->xrow, o);
                float *dst = j->out + (int64_t)t * w->n_out + r;
                dst[0] = o[0], dst[1] = o[1], dst[2] = o[2], dst[3] = o[3];
            }
        }
    }
    for (; r < e; r++) {
        const char *wr = (const char *)w->data + (size_t)r * w->row_bytes;
        for (int t = 0; t < j->T; t++)
            j->out[(int64_t)t * w->n_out + r] = dot(w->n_in, wr, j->xq + (size_t)t * j->xrow);
    }
}

static void mm_worker(void *ctx, int ith, int nth) {
    mm_job *j = ctx;
    long b, e;
    threadpool_split(j->w->n_out, ith, nth, &b, &e);
    mm_range(j, b, e);
}

static bool mm_init(mm_job *j, const hone_mat *w, const void *xq, int T, float *out) {
    *j = (mm_job){w, kernel_vec_dot(w->type), T > 1 ? kernel_vec_dot4(w->type) : kernel_vec_dot4_decode(w->type),
                  kernel_gemm(w->type), xq, 0, T, out};
    j->xrow = hone_row_size(hone_type_get((uint32_t)w->type)->vec_dot_type, w->n_in);
    return j->dot != NULL; /* not computable: the model loader rejects such weights before this */
}

void matmul(threadpool *p, const hone_mat *w, const void *xq, int T, float *out) {
    mm_job j;
    if (mm_init(&j, w, xq, T, out)) threadpool_run(p, mm_worker, &j);
}

void matmul_rows(const hone_mat *w, const void *xq, int T, float *out, int64_t r0, int64_t r1) {
    mm_job j;
    if (mm_init(&j, w, xq, T, out) && r0 < r1) mm_range(&j, (long)r0, (long)r1);
}

void mat_get_row(const hone_mat *w, int64_t r, float *out) {
    hone_dequantize_row(w->type, (const char *)w->data + (size_t)r * w->row_bytes, out, w->n_in);
}
