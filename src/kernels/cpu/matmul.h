/*
 * matmul.h - weight matrix times a batch of activation rows.
 *
 * A weight matrix stays in its stored (quantised, mmapped) form. The T
 * activation rows are quantised once to the weight type's vec_dot_type,
 * then every output element out[t][r] = dot(W row r, x row t) is one
 * hone_vec_dot call, so an element never depends on T, on the other rows of
 * the batch, or on the thread count.
 *
 * How the activations' int8 scales are chosen (per block, per token, or one static scale per
 * matrix) is the matrix's act_mode (act_quant.h); matmul_quantize_act_mat follows it.
 */
#ifndef HONE_KERNELS_CPU_MATMUL_H
#define HONE_KERNELS_CPU_MATMUL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "core/threadpool.h"

typedef struct {
    const void *data; /* n_out rows of n_in elements, row-major */
    hone_type type;
    int64_t n_in;
    int64_t n_out;
    size_t row_bytes;
    uint8_t act_mode; /* hone_act_mode (act_quant.h): 0 = dynamic, per block */
    float act_scale;  /* HONE_ACT_STATIC: the activations' fixed int8 scale */
} hone_mat;

/* Bytes needed for T quantised activation rows of length n_in for W's type. */
size_t matmul_act_bytes(hone_type wtype, int64_t n_in, int T);

/* Quantise T rows of x (n_in floats each) to vec_dot_type(wtype) into xq (split over the pool's
 * threads; with p NULL on the calling thread alone). */
void matmul_quantize_act(threadpool *p, hone_type wtype, const float *x, int64_t n_in, int T, void *xq);

/* The same for the input of W (T rows of w->n_in floats), in W's activation mode. */
void matmul_quantize_act_mat(threadpool *p, const hone_mat *w, const float *x, int T, void *xq);

/* Whether one quantised input serves both a and b (same activation type, mode and scale). */
bool matmul_same_act(const hone_mat *a, const hone_mat *b);

/* out[t * n_out + r] = W[r] . x[t] for t < T, r < n_out. */
void matmul(threadpool *p, const hone_mat *w, const void *xq, int T, float *out);

/* Rows [r0, r1) of the same product, on the calling thread (for callers that
 * split the rows themselves inside a larger parallel job). */
void matmul_rows(const hone_mat *w, const void *xq, int T, float *out, int64_t r0, int64_t r1);

/* Dequantise row `r` of W into out (n_in floats). */
void mat_get_row(const hone_mat *w, int64_t r, float *out);

#endif
