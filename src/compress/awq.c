/*
 * awq.c - per-input-channel scaling folded into the preceding operation (see awq.h).
 *
 * For each layer, three groups: {attn_q, attn_k, attn_v} with attn_norm, {ffn_gate, ffn_up} with
 * ffn_norm, and {ffn_down} with ffn_up's rows. Each group's alpha is chosen on a sample of rows
 * (every k-th row, at most SAMPLE_ROWS per tensor) by quantising them exactly as hone quantize
 * will (the planned type, the searched quantiser, importances E[a^2] / s^2 for the scaled
 * weights) and measuring sum_c E[a_c^2] (w_c - q_c / s_c)^2 against the unscaled weights.
 * The rows of the sample are split over the thread pool; each thread sums its own error, so the
 * choice does not depend on the thread count up to float summation order (sums are in double).
 */
#include "compress/awq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "core/threadpool.h"
#include "quant/quant.h"
#include "quant/quant_search.h"

#define SAMPLE_ROWS 96
#define N_ALPHA 9 /* alpha = 0, 0.1, ..., 0.8 */

typedef struct {
    char name[128];
    float *col, *imp, *rowdiv, *norm;
} entry;

struct hone_awq {
    entry *e;
    int n, cap;
    int n_groups, n_scaled;
};

static entry *find(const hone_awq *a, const char *name) {
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->e[i].name, name) == 0) return &a->e[i];
    return NULL;
}

static entry *get(hone_awq *a, const char *name) {
    entry *e = find(a, name);
    if (e) return e;
    if (a->n == a->cap) {
        const int cap = a->cap ? 2 * a->cap : 64;
        entry *ne = realloc(a->e, (size_t)cap * sizeof *ne);
        if (!ne) return NULL;
        a->e = ne;
        a->cap = cap;
    }
    e = &a->e[a->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    return e;
}

void hone_awq_free(hone_awq *a) {
    if (!a) return;
    for (int i = 0; i < a->n; i++) {
        free(a->e[i].col);
        free(a->e[i].imp);
        free(a->e[i].rowdiv);
        free(a->e[i].norm);
    }
    free(a->e);
    free(a);
}

const float *hone_awq_col_scale(const hone_awq *a, const char *name) {
    const entry *e = a ? find(a, name) : NULL;
    return e ? e->col : NULL;
}
const float *hone_awq_row_div(const hone_awq *a, const char *name) {
    const entry *e = a ? find(a, name) : NULL;
    return e ? e->rowdiv : NULL;
}
const float *hone_awq_importance(const hone_awq *a, const char *name) {
    const entry *e = a ? find(a, name) : NULL;
    return e ? e->imp : NULL;
}
const float *hone_awq_norm(const hone_awq *a, const char *name) {
    const entry *e = a ? find(a, name) : NULL;
    return e ? e->norm : NULL;
}
int hone_awq_n_scaled(const hone_awq *a, int *n_groups) {
    if (n_groups) *n_groups = a ? a->n_groups : 0;
    return a ? a->n_scaled : 0;
}

static bool is_block_type(hone_type t) { return t != HONE_TYPE_F32 && t != HONE_TYPE_F16 && t != HONE_TYPE_BF16; }

static const hone_qplan_item *plan_item(const hone_qplan_item *plan, int64_t n, const char *name) {
    for (int64_t i = 0; i < n; i++)
        if (strcmp(plan[i].name, name) == 0) return &plan[i];
    return NULL;
}

/* ---- the error of one alpha over the sampled rows, on the pool ---- */

typedef struct {
    const gguf_tensor *t;
    hone_type to;
    int64_t row;
} sample;

typedef struct {
    const sample *smp;
    long n_smp;
    int64_t nx;
    const float *ms, *s, *imp_s;
    float **buf;     /* per thread: 3 * nx floats + quantised row */
    double *err;     /* per thread */
} ejob;

static void eval_rows(void *ctx, int ith, int nth) {
    ejob *j = ctx;
    long b, e;
    threadpool_split(j->n_smp, ith, nth, &b, &e);
    const int64_t nx = j->nx;
    float *x = j->buf[ith], *xs = x + nx, *y = xs + nx;
    void *q = y + nx;
    double err = 0.0;
    for (long k = b; k < e; k++) {
        const sample *sm = &j->smp[k];
        const size_t rs = hone_row_size(sm->t->type, nx);
        hone_dequantize_row(sm->t->type, (const uint8_t *)sm->t->data + (size_t)sm->row * rs, x, nx);
        for (int64_t c = 0; c < nx; c++) xs[c] = x[c] * j->s[c];
        if (hone_quantize_row_search(sm->to, xs, q, nx, j->imp_s) != HONE_OK) continue;
        hone_dequantize_row(sm->to, q, y, nx);
        for (int64_t c = 0; c < nx; c++) {
            const double d = (double)x[c] - (double)y[c] / j->s[c];
            err += (double)j->ms[c] * d * d;
        }
    }
    j->err[ith] = err;
}

/* SmoothQuant's migration (Xiao et al. 2023): s_c = amax_c^alpha / wmax_c^(1 - alpha), amax_c the
 * calibration max |a| of input channel c, wmax_c the max |w| of column c over the group's members;
 * dividing the activations by s and multiplying the columns by s makes channel c's largest
 * activation (amax_c wmax_c)^(1-alpha) and its largest weight (amax_c wmax_c)^alpha (both over the
 * normalisation below): at alpha 0.5 the two ranges meet, so one per-tensor int8 activation scale
 * no longer has to cover outlier channels 1000x larger than the rest. Floors keep dead channels
 * finite; s is normalised by the geometric mean of its extremes, as the AWQ scales are. */
static void smooth_scales(const gguf_tensor *const *mt, int n_m, const float *amax, int64_t nx, float alpha,
                          float *row, float *s) {
    for (int64_t c = 0; c < nx; c++) s[c] = 0.0f; /* wmax first */
    for (int k = 0; k < n_m; k++) {
        const size_t rs = hone_row_size(mt[k]->type, nx);
        for (int64_t r = 0; r < mt[k]->ne[1]; r++) {
            hone_dequantize_row(mt[k]->type, (const uint8_t *)mt[k]->data + (size_t)r * rs, row, nx);
            for (int64_t c = 0; c < nx; c++) s[c] = fmaxf(s[c], fabsf(row[c]));
        }
    }
    float smax = 0.0f, smin = INFINITY;
    for (int64_t c = 0; c < nx; c++) {
        s[c] = powf(fmaxf(amax[c], 1e-5f), alpha) / powf(fmaxf(s[c], 1e-5f), 1.0f - alpha);
        smax = fmaxf(smax, s[c]);
        smin = fminf(smin, s[c]);
    }
    const float g = sqrtf(smax * smin);
    for (int64_t c = 0; c < nx; c++) s[c] /= g;
}

/* One group: members are scaled by columns; `norm` (or NULL) divided; `rowdiv` (or NULL) has its
 * rows divided. Returns HONE_OK also when the group is skipped. */
static hone_status do_group(hone_awq *a, const gguf_file *f, const hone_qplan_item *plan, int64_t n_items,
                            const hone_calib *calib, threadpool *pool, float smooth, int layer,
                            const char *const *members, int n_m, const char *norm, const char *rowdiv) {
    char nm[4][128], nn[128], nr[128];
    const gguf_tensor *mt[4];
    hone_type to[4];
    for (int k = 0; k < n_m; k++) {
        snprintf(nm[k], sizeof nm[k], "blk.%d.%s.weight", layer, members[k]);
        mt[k] = gguf_find_tensor(f, nm[k]);
        const hone_qplan_item *it = plan_item(plan, n_items, nm[k]);
        if (!mt[k] || !it || !it->convert || !is_block_type(it->to) || mt[k]->n_dims != 2 ||
            !hone_type_get(mt[k]->type)->computable || (k > 0 && mt[k]->ne[0] != mt[0]->ne[0]))
            return HONE_OK;
        to[k] = it->to;
    }
    const int64_t nx = mt[0]->ne[0];
    const float *ms = hone_calib_importance(calib, nm[0], nx);
    const float *amax = smooth > 0.0f ? hone_calib_in_max(calib, nm[0], nx) : NULL; /* --smooth: needed */
    if (!ms || (smooth > 0.0f && !amax)) return HONE_OK;
    const gguf_tensor *nt = NULL, *rt = NULL;
    if (norm) {
        snprintf(nn, sizeof nn, "blk.%d.%s.weight", layer, norm);
        nt = gguf_find_tensor(f, nn);
        if (!nt || nt->type != HONE_TYPE_F32 || nt->n_dims != 1 || nt->ne[0] != nx) return HONE_OK;
    }
    if (rowdiv) {
        snprintf(nr, sizeof nr, "blk.%d.%s.weight", layer, rowdiv);
        rt = gguf_find_tensor(f, nr);
        const hone_qplan_item *it = plan_item(plan, n_items, nr);
        if (!rt || rt->n_dims != 2 || rt->ne[1] != nx || !it || !it->convert) return HONE_OK;
    }
    a->n_groups++;

    /* the sample */
    long n_smp = (long)n_m * SAMPLE_ROWS; /* at most SAMPLE_ROWS per member (every step-th row) */
    const int nth = threadpool_size(pool);
    sample *smp = malloc((size_t)n_smp * sizeof *smp);
    float *s = malloc((size_t)nx * sizeof *s), *imp_s = malloc((size_t)nx * sizeof *imp_s);
    float *best_s = malloc((size_t)nx * sizeof *best_s);
    float **buf = calloc((size_t)nth, sizeof *buf);
    double *err = calloc((size_t)nth, sizeof *err);
    hone_status st = HONE_OK;
    if (!smp || !s || !imp_s || !best_s || !buf || !err) goto oom;
    for (int t = 0; t < nth; t++)
        if (!(buf[t] = malloc((size_t)nx * 3 * sizeof(float) + (size_t)nx * 2 + 256))) goto oom;
    long k2 = 0;
    for (int k = 0; k < n_m; k++) {
        const int64_t step = (mt[k]->ne[1] + SAMPLE_ROWS - 1) / SAMPLE_ROWS;
        for (int64_t r = 0; r < mt[k]->ne[1]; r += step) smp[k2++] = (sample){mt[k], to[k], r};
    }
    n_smp = k2;
    /* rms per channel (a floor keeps dead channels finite), normalised below */
    double best_err = INFINITY;
    int best_a = 0;
    if (smooth > 0.0f) {
        smooth_scales(mt, n_m, amax, nx, smooth, buf[0], best_s);
        best_a = 1;
    }
    const int n_alpha = smooth > 0.0f ? 0 : N_ALPHA; /* --smooth: the scales are given, no search */
    for (int ia = 0; ia < n_alpha; ia++) {
        const float alpha = 0.1f * (float)ia;
        float smax = 0.0f, smin = INFINITY;
        for (int64_t c = 0; c < nx; c++) {
            s[c] = powf(fmaxf(ms[c], 1e-12f), 0.5f * alpha);
            smax = fmaxf(smax, s[c]);
            smin = fminf(smin, s[c]);
        }
        const float g = sqrtf(smax * smin);
        for (int64_t c = 0; c < nx; c++) {
            s[c] = ia == 0 ? 1.0f : s[c] / g;
            imp_s[c] = ms[c] / (s[c] * s[c]);
        }
        ejob j = {smp, n_smp, nx, ms, s, imp_s, buf, err};
        threadpool_run(pool, eval_rows, &j);
        double e = 0.0;
        for (int t = 0; t < nth; t++) e += err[t];
        if (e < best_err) {
            best_err = e;
            best_a = ia;
            memcpy(best_s, s, (size_t)nx * sizeof *s);
        }
    }
    if (best_a > 0) {
        a->n_scaled++;
        for (int k = 0; k < n_m; k++) {
            entry *e = get(a, nm[k]);
            if (!e) goto oom;
            e->col = malloc((size_t)nx * sizeof(float));
            e->imp = malloc((size_t)nx * sizeof(float));
            if (!e->col || !e->imp) goto oom;
            for (int64_t c = 0; c < nx; c++) {
                e->col[c] = best_s[c];
                e->imp[c] = ms[c] / (best_s[c] * best_s[c]);
            }
        }
        if (nt) {
            entry *e = get(a, nn);
            if (!e || !(e->norm = malloc((size_t)nx * sizeof(float)))) goto oom;
            const float *g = nt->data;
            for (int64_t c = 0; c < nx; c++) e->norm[c] = g[c] / best_s[c];
        }
        if (rt) {
            entry *e = get(a, nr);
            if (!e || !(e->rowdiv = malloc((size_t)nx * sizeof(float)))) goto oom;
            memcpy(e->rowdiv, best_s, (size_t)nx * sizeof(float));
        }
    }
    goto done;
oom:
    st = hone_err(HONE_ERR_NOMEM, "--awq: out of memory");
done:
    if (buf)
        for (int t = 0; t < nth; t++) free(buf[t]);
    free(buf);
    free(err);
    free(smp);
    free(s);
    free(imp_s);
    free(best_s);
    return st;
}

static hone_status plan_groups(const gguf_file *f, const hone_qplan_item *plan, int64_t n_items,
                               const hone_calib *calib, int n_threads, float smooth, hone_awq **out) {
    *out = NULL;
    const char *arch = "";
    gguf_get_str(f, "general.architecture", &arch);
    if (strcmp(arch, "llama") != 0)
        return hone_err(HONE_ERR_INVALID_ARG, "--awq: folds are defined for the llama architecture, not '%s'", arch);
    uint32_t n_layer = 0;
    gguf_get_u32(f, "llama.block_count", &n_layer);
    hone_awq *a = calloc(1, sizeof *a);
    threadpool *pool = NULL;
    if (!a) return hone_err(HONE_ERR_NOMEM, "--awq: out of memory");
    hone_status st = threadpool_create(n_threads, &pool);
    static const char *const attn[] = {"attn_q", "attn_k", "attn_v"}, *const ffn[] = {"ffn_gate", "ffn_up"},
                             *const down[] = {"ffn_down"};
    for (int il = 0; !st && il < (int)n_layer; il++) {
        st = do_group(a, f, plan, n_items, calib, pool, smooth, il, attn, 3, "attn_norm", NULL);
        if (!st) st = do_group(a, f, plan, n_items, calib, pool, smooth, il, ffn, 2, "ffn_norm", NULL);
        if (!st) st = do_group(a, f, plan, n_items, calib, pool, smooth, il, down, 1, NULL, "ffn_up");
    }
    threadpool_free(pool);
    if (st) {
        hone_awq_free(a);
        return st;
    }
    *out = a;
    return HONE_OK;
}

hone_status hone_awq_plan(const gguf_file *f, const hone_qplan_item *plan, int64_t n_items, const hone_calib *calib,
                          int n_threads, hone_awq **out) {
    return plan_groups(f, plan, n_items, calib, n_threads, 0.0f, out);
}

hone_status hone_smooth_plan(const gguf_file *f, const hone_qplan_item *plan, int64_t n_items, const hone_calib *calib,
                             float alpha, int n_threads, hone_awq **out) {
    *out = NULL;
    if (!(alpha > 0.0f && alpha <= 1.0f))
        return hone_err(HONE_ERR_INVALID_ARG, "--smooth %g: alpha must be in (0, 1]", (double)alpha);
    return plan_groups(f, plan, n_items, calib, n_threads, alpha, out);
}
