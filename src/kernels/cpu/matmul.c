/*
 * matmul.c - quantised weight x activation products split by weight rows.
 */
#include "kernels/cpu/matmul.h"

#include "quant/quant.h"

size_t matmul_act_bytes(hone_type wtype, int64_t n_in, int T) {
    const hone_type_info *ti = hone_type_get((uint32_t)wtype);
    return hone_row_size(ti->vec_dot_type, n_in) * (size_t)T;
}

typedef struct {
    hone_type vdt;
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
    for (long t = b; t < e; t++) hone_quantize_row(j->vdt, j->x + t * j->n_in, j->xq + t * j->row, j->n_in);
}

void matmul_quantize_act(threadpool *p, hone_type wtype, const float *x, int64_t n_in, int T, void *xq) {
    quant_job j = {hone_type_get((uint32_t)wtype)->vec_dot_type, x, n_in, T, xq, 0};
    j.row = hone_row_size(j.vdt, n_in);
    if (T == 1) {
        quant_worker(&j, 0, 1);
        return;
    }
    threadpool_run(p, quant_worker, &j);
}

typedef struct {
    const hone_mat *w;
    const char *xq;
    size_t xrow;
    int T;
    float *out;
} mm_job;

/* Each thread takes a contiguous range of weight rows and streams each row
 * once for all T tokens; every element is one dot product, so the split
 * never changes a result. */
static void mm_worker(void *ctx, int ith, int nth) {
    mm_job *j = ctx;
    const hone_mat *w = j->w;
    long b, e;
    threadpool_split(w->n_out, ith, nth, &b, &e);
    for (long r = b; r < e; r++) {
        const char *wr = (const char *)w->data + (size_t)r * w->row_bytes;
        for (int t = 0; t < j->T; t++)
            j->out[(int64_t)t * w->n_out + r] = hone_vec_dot(w->type, w->n_in, wr, j->xq + (size_t)t * j->xrow);
    }
}

void matmul(threadpool *p, const hone_mat *w, const void *xq, int T, float *out) {
    mm_job j = {w, xq, 0, T, out};
    j.xrow = hone_row_size(hone_type_get((uint32_t)w->type)->vec_dot_type, w->n_in);
    threadpool_run(p, mm_worker, &j);
}

void mat_get_row(const hone_mat *w, int64_t r, float *out) {
    hone_dequantize_row(w->type, (const char *)w->data + (size_t)r * w->row_bytes, out, w->n_in);
}
