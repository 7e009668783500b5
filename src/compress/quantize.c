/*
 * quantize.c - the hone quantize driver (see quantize.h).
 *
 * Memory: every converted tensor is kept until the writer has written the file (the writer
 * references tensor data rather than copying it), so peak memory is about the output size plus
 * one F32 row per thread; unconverted tensors are referenced in the input mapping.
 * Threads: the rows of one tensor are split across the pool; each row is computed by exactly one
 * thread, so the output does not depend on the thread count.
 */
#include "compress/quantize.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "compress/awq.h"
#include "compress/calib.h"
#include "compress/mixprec.h"
#include "compress/textbook.h"
#include "core/status.h"
#include "core/threadpool.h"
#include "formats/gguf.h"
#include "kernels/cpu/act_quant.h"
#include "quant/quant.h"
#include "quant/quant_search.h"

hone_quantize_params hone_quantize_default_params(void) {
    hone_quantize_params p;
    memset(&p, 0, sizeof p);
    p.type = "Q4_K_M";
    p.output_type = -1;
    p.embedding_type = -1;
    return p;
}

void hone_quantize_result_free(hone_quantize_result *r) {
    if (!r) return;
    free(r->plan);
    free(r->names);
    r->plan = NULL;
    r->names = NULL;
    r->n_items = 0;
}

/* Point the plan's names at a copy owned by the result: they pointed into the input file, which
 * is closed before hone_quantize_file returns. On out-of-memory the names become "" (the plan's
 * other fields stay usable). */
static void own_names(hone_quantize_result *r) {
    size_t total = 0;
    for (int64_t i = 0; i < r->n_items; i++) total += strlen(r->plan[i].name) + 1;
    char *buf = malloc(total > 0 ? total : 1), *p = buf;
    for (int64_t i = 0; i < r->n_items; i++) {
        if (!buf) {
            r->plan[i].name = "";
            continue;
        }
        const size_t len = strlen(r->plan[i].name) + 1;
        memcpy(p, r->plan[i].name, len);
        r->plan[i].name = p;
        p += len;
    }
    free(r->names);
    r->names = buf;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* One tensor's conversion, shared by the pool's threads. */
typedef struct {
    const gguf_tensor *src;
    hone_type to;
    int64_t nx, nrows;
    size_t row_in, row_out;
    uint8_t *dst;
    const float *imp; /* nx importances or NULL */
    bool reference;
    float **rowbuf;   /* one F32 row per thread */
    hone_status st;   /* first failure (rows fail only on bad input, e.g. unsupported type) */
    const float *col, *rowdiv; /* --awq: column multipliers and per-row divisors, or NULL */
} convert_job;

static void convert_rows(void *ctx, int ith, int nth) {
    convert_job *j = ctx;
    long b, e;
    threadpool_split((long)j->nrows, ith, nth, &b, &e);
    float *row = j->rowbuf[ith];
    const uint8_t *in = j->src->data;
    for (long r = b; r < e; r++) {
        hone_dequantize_row(j->src->type, in + (size_t)r * j->row_in, row, j->nx);
        if (j->col)
            for (int64_t c = 0; c < j->nx; c++) row[c] *= j->col[c];
        if (j->rowdiv)
            for (int64_t c = 0; c < j->nx; c++) row[c] /= j->rowdiv[r];
        uint8_t *out = j->dst + (size_t)r * j->row_out;
        hone_status st = j->reference ? hone_quantize_row(j->to, row, out, j->nx)
                                      : hone_quantize_row_search(j->to, row, out, j->nx, j->imp);
        if (st && !j->st) j->st = st; /* benign race: any failure is reported */
    }
}

static int64_t n_elements(const gguf_tensor *t) {
    int64_t n = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) n *= t->ne[d];
    return n;
}

/* Plan files: one "tensor-name TYPE" line per weight matrix ('#' starts a comment). */
static hone_status write_plan(const char *path, const hone_qplan_item *plan, int64_t n) {
    FILE *fp = fopen(path, "w");
    if (!fp) return hone_err(HONE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    fprintf(fp, "# hone quantize plan: tensor type (edit and pass back with --plan)\n");
    for (int64_t i = 0; i < n; i++)
        if (hone_qplan_is_weight_matrix(plan[i].name, plan[i].n_dims))
            fprintf(fp, "%s %s\n", plan[i].name, hone_type_get(plan[i].convert ? plan[i].to : plan[i].from)->name);
    if (fclose(fp) != 0) return hone_err(HONE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return HONE_OK;
}

static hone_status read_plan(const char *path, hone_qplan_item *plan, int64_t n) {
    FILE *fp = fopen(path, "r");
    if (!fp) return hone_err(HONE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char line[512], name[300], type[32];
    int ln = 0;
    hone_status st = HONE_OK;
    while (!st && fgets(line, sizeof line, fp)) {
        ln++;
        if (line[0] == '#' || sscanf(line, "%299s %31s", name, type) != 2) continue;
        const int t = hone_type_from_name(type);
        int64_t i = 0;
        while (i < n && strcmp(plan[i].name, name) != 0) i++;
        if (i == n || !hone_qplan_is_weight_matrix(plan[i].name, plan[i].n_dims))
            st = hone_err(HONE_ERR_INVALID_ARG, "%s:%d: no weight matrix '%s' in the model", path, ln, name);
        else if (t < 0 || !hone_type_get((uint32_t)t)->computable || t == HONE_TYPE_Q8_1 || t == HONE_TYPE_Q8_K)
            st = hone_err(HONE_ERR_INVALID_ARG, "%s:%d: '%s' is not a type hone can write", path, ln, type);
        else if (plan[i].ne[0] % hone_type_get((uint32_t)t)->block_size != 0)
            st = hone_err(HONE_ERR_INVALID_ARG, "%s:%d: rows of '%s' (%lld) do not fit %s", path, ln, name,
                          (long long)plan[i].ne[0], type);
        else {
            plan[i].to = (hone_type)t;
            plan[i].convert = plan[i].to != plan[i].from;
            plan[i].fallback = false;
            snprintf(plan[i].note, sizeof plan[i].note, "plan file");
        }
    }
    fclose(fp);
    return st;
}

/* ---- activation modes (--act) ---- */

/* The P-th percentile of |a| from a calibration histogram (counts in bins of `step` octaves from
 * 2^log2_min, the first bin also holding zeros, the last everything above): log-linear inside the
 * bin that holds it, and never above the recorded max. */
static float hist_percentile(const float *h, int nb, float log2_min, float step, double pct, float amax) {
    double total = 0.0, cum = 0.0;
    for (int b = 0; b < nb; b++) total += h[b];
    const double target = pct / 100.0 * total;
    for (int b = 0; total > 0.0 && b < nb; b++) {
        if (h[b] <= 0.0f) continue;
        if (cum + h[b] >= target) {
            const float v = (float)exp2(log2_min + step * (b + (target - cum) / h[b]));
            return v < amax ? v : amax;
        }
        cum += h[b];
    }
    return amax;
}

/* The static activation scale of weight tensor `name` (nx input channels) from the statistics
 * file cf: A / 127, A = max_j in_max[j] (divided by AWQ's column multiplier, which scales the
 * activations down by as much as it scales the weights up), or the clip-th percentile. */
static hone_status static_scale(const gguf_file *cf, const char *name, int64_t nx, const float *col, double clip,
                                float *scale) {
    char key[300];
    snprintf(key, sizeof key, "%s.in_max", name);
    const gguf_tensor *mx = gguf_find_tensor(cf, key);
    if (!mx)
        return hone_err(HONE_ERR_INVALID_ARG, "%s: no activation statistics '%s' for tensor '%s' (int8-static needs "
                        "them for every quantised weight matrix)", gguf_path(cf), key, name);
    if (mx->type != HONE_TYPE_F32 || mx->n_dims != 1 || mx->ne[0] != nx)
        return hone_err(HONE_ERR_FORMAT, "%s: tensor '%s' should be F32 [%lld]", gguf_path(cf), key, (long long)nx);
    const float *m = mx->data;
    float a = 0.0f;
    for (int64_t j = 0; j < nx; j++) {
        const float v = col ? m[j] / col[j] : m[j];
        a = v > a ? v : a;
    }
    if (clip > 0.0) {
        snprintf(key, sizeof key, "%s.in_hist", name);
        const gguf_tensor *h = gguf_find_tensor(cf, key);
        if (!h || h->type != HONE_TYPE_F32 || h->n_dims != 1 || h->ne[0] < 1)
            return hone_err(HONE_ERR_FORMAT, "%s: --act-clip needs the F32 histogram '%s'", gguf_path(cf), key);
        float lmin = -20.0f, step = 0.5f;
        gguf_get_f32(cf, "hone.calib.hist_log2_min", &lmin);
        gguf_get_f32(cf, "hone.calib.hist_log2_step", &step);
        a = hist_percentile(h->data, (int)h->ne[0], lmin, step, clip, a);
    }
    if (!(a > 0.0f) || !isfinite(a))
        return hone_err(HONE_ERR_INVALID_ARG, "%s: the activations of tensor '%s' were all zero (or not finite) in "
                        "calibration: no static scale", gguf_path(cf), name);
    *scale = a / 127.0f;
    return HONE_OK;
}

static void append_note(hone_qplan_item *q, const char *what) {
    const size_t k = strlen(q->note);
    snprintf(q->note + k, sizeof q->note - k, "%s%s", k ? "; " : "", what);
}

/* Which weight matrices get the mode (scales[i] > 0 for static), notes for the float ones left
 * alone. An untied token_embd.weight is only read row by row, never multiplied: skipped. */
static hone_status act_plan(hone_quantize_result *r, const gguf_file *f, const hone_quantize_params *p,
                            const hone_awq *awq, float *scales) {
    gguf_file *cf = NULL;
    hone_status st = HONE_OK;
    if (r->act_mode == HONE_ACT_STATIC && (st = gguf_open(p->calib_path, true, &cf))) return st;
    const bool untied = gguf_find_tensor(f, "output.weight") != NULL;
    r->act_scale_min = INFINITY;
    r->act_scale_max = 0.0f;
    for (int64_t i = 0; !st && i < r->n_items; i++) {
        hone_qplan_item *q = &r->plan[i];
        if (!hone_qplan_is_weight_matrix(q->name, q->n_dims)) continue;
        if (untied && strcmp(q->name, "token_embd.weight") == 0) continue;
        if (!act_type_has_mode(q->convert ? q->to : q->from)) {
            r->n_act_float++;
            append_note(q, "float: no int8 activations");
            continue;
        }
        r->n_act++;
        if (r->act_mode != HONE_ACT_STATIC) continue;
        st = static_scale(cf, q->name, q->ne[0], hone_awq_col_scale(awq, q->name), p->act_clip, &scales[i]);
        if (!st) {
            r->act_scale_min = scales[i] < r->act_scale_min ? scales[i] : r->act_scale_min;
            r->act_scale_max = scales[i] > r->act_scale_max ? scales[i] : r->act_scale_max;
        }
    }
    gguf_close(cf);
    if (!st && r->n_act == 0)
        st = hone_err(HONE_ERR_INVALID_ARG, "--act %s: no weight matrix has an integer type; float weights (F32, "
                      "F16, BF16) multiply float activations, so there is nothing to quantise", p->act);
    return st;
}

static hone_status fail(hone_quantize_result *r, hone_qstage stage, hone_status st) {
    r->stage = stage;
    return st;
}

hone_status hone_quantize_file(const char *in_path, const char *out_path, const hone_quantize_params *p,
                               hone_quantize_result *r) {
    if (!in_path || !out_path || !p || !r) return hone_err(HONE_ERR_INVALID_ARG, "hone_quantize_file: bad arguments");
    memset(r, 0, sizeof *r);
    const double t0 = now_s();
    hone_scheme scheme = {HONE_SCHEME_NONE, 0, 0};
    if (p->scheme) {
        hone_status sst = hone_scheme_parse(p->scheme, p->group, &scheme);
        if (sst) return fail(r, HONE_QSTAGE_ARGS, sst);
    }
    r->act_mode = p->act ? act_mode_parse(p->act) : HONE_ACT_DYNAMIC;
    if (r->act_mode < 0)
        return fail(r, HONE_QSTAGE_ARGS, hone_err(HONE_ERR_INVALID_ARG, "--act: unknown activation mode '%s' "
                                                  "(int8-dynamic, int8-token, int8-static)", p->act));
    if (p->act_clip != 0.0 && (r->act_mode != HONE_ACT_STATIC || !(p->act_clip > 0.0 && p->act_clip <= 100.0)))
        return fail(r, HONE_QSTAGE_ARGS, hone_err(HONE_ERR_INVALID_ARG, "--act-clip %g: a percentile in (0, 100] for "
                                                  "--act int8-static", p->act_clip));
    if (r->act_mode == HONE_ACT_STATIC && !p->calib_path)
        return fail(r, HONE_QSTAGE_ARGS, hone_err(HONE_ERR_INVALID_ARG, "--act int8-static needs --calib FILE (the "
                                                  "fixed scales come from activation statistics: hone calibrate)"));
    if (r->act_mode == HONE_ACT_STATIC && (p->awq || p->smooth != 0.0f) && p->act_clip > 0.0)
        return fail(r, HONE_QSTAGE_ARGS, hone_err(HONE_ERR_INVALID_ARG, "--act-clip does not combine with --%s "
                                                  "(the histogram is of the unscaled activations)",
                                                  p->awq ? "awq" : "smooth"));
    if (p->awq && p->smooth != 0.0f)
        return fail(r, HONE_QSTAGE_ARGS, hone_err(HONE_ERR_INVALID_ARG, "--awq and --smooth both fold per-channel "
                                                  "scales into the norms: choose one"));
    const hone_qpreset *preset = hone_qpreset_find(p->scheme ? "F16" : p->type);
    if (!preset) return fail(r, HONE_QSTAGE_ARGS, hone_err(HONE_ERR_INVALID_ARG, "unknown type '%s'", p->type));
    r->preset = preset;

    gguf_file *f = NULL;
    hone_calib *calib = NULL;
    hone_awq *awq = NULL;
    gguf_writer *w = NULL;
    threadpool *pool = NULL;
    uint8_t **bufs = NULL;
    float **rowbuf = NULL;
    float *act_scales = NULL; /* per plan item: the static activation scale, 0 = none */
    hone_status st = gguf_open(in_path, true, &f);
    if (st) return fail(r, HONE_QSTAGE_INPUT, st);
    r->bytes_in = gguf_file_size(f);
    if (p->calib_path) {
        if ((st = hone_calib_load(p->calib_path, &calib))) {
            r->stage = HONE_QSTAGE_INPUT;
            goto done;
        }
        if ((st = hone_calib_check_model(calib, f))) {
            r->stage = HONE_QSTAGE_INPUT;
            goto done;
        }
        r->calibrated = true;
    }

    hone_qplan_params pp = {preset, p->pure, p->output_type, p->embedding_type, calib != NULL};
    if ((st = hone_qplan_build(f, &pp, &r->plan, &r->n_items))) {
        r->stage = HONE_QSTAGE_ARGS;
        goto done;
    }
    if (p->scheme) {
        /* every weight matrix (except those --output-type/--embedding-type name) gets the scheme's
         * type for its row length; the rest is copied as the F16 preset leaves it */
        char sn[24];
        hone_scheme_name(&scheme, sn, sizeof sn);
        double bits = 0.0;
        for (int64_t i = 0; i < r->n_items; i++) {
            hone_qplan_item *q = &r->plan[i];
            const gguf_tensor *t = gguf_tensor_at(f, i);
            if (hone_qplan_is_weight_matrix(q->name, q->n_dims) && strncmp(q->note, "requested:", 10) != 0) {
                char why[80];
                q->to = hone_scheme_type(&scheme, t->ne[0], why, sizeof why);
                q->convert = q->to != q->from;
                q->fallback = why[0] != '\0';
                snprintf(q->note, sizeof q->note, "%s%s%s", sn, why[0] ? "; " : "", why);
            }
            const hone_type to = q->convert ? q->to : q->from;
            bits += (double)n_elements(t) / hone_type_get(to)->block_size * 8.0 * hone_type_get(to)->type_size;
        }
        r->nominal_bpw = bits;
    }
    if (p->plan_in && (st = read_plan(p->plan_in, r->plan, r->n_items))) {
        r->stage = HONE_QSTAGE_ARGS;
        goto done;
    }
    if (p->target_bpw > 0 && p->max_kld > 0) {
        st = hone_err(HONE_ERR_INVALID_ARG, "--target-bpw and --max-kld exclude each other (give one target)");
        r->stage = HONE_QSTAGE_ARGS;
        goto done;
    }
    if (p->target_bpw > 0 || p->max_kld > 0) {
        if (!p->mp_text) {
            st = hone_err(HONE_ERR_INVALID_ARG, "%s needs calibration text to measure with",
                          p->max_kld > 0 ? "--max-kld" : "--target-bpw");
            r->stage = HONE_QSTAGE_ARGS;
            goto done;
        }
        hone_mixprec_params mp = {p->target_bpw, p->mp_text, p->mp_len, p->mp_ctx, p->mp_chunks, p->n_threads,
                                  p->progress, p->user, p->max_kld};
        if ((st = hone_mixprec_plan(in_path, f, r->plan, r->n_items, &mp, calib, &r->predicted_kld))) {
            r->stage = st == HONE_ERR_INVALID_ARG ? HONE_QSTAGE_ARGS : HONE_QSTAGE_CONVERT;
            goto done;
        }
    }
    if (p->awq || p->smooth != 0.0f) {
        if (!calib) {
            st = hone_err(HONE_ERR_INVALID_ARG, "--%s needs --calib (the scales come from activation statistics)",
                          p->awq ? "awq" : "smooth");
            r->stage = HONE_QSTAGE_ARGS;
            goto done;
        }
        if ((st = p->awq ? hone_awq_plan(f, r->plan, r->n_items, calib, p->n_threads, &awq)
                         : hone_smooth_plan(f, r->plan, r->n_items, calib, p->smooth, p->n_threads, &awq))) {
            r->stage = st == HONE_ERR_INVALID_ARG ? HONE_QSTAGE_ARGS : HONE_QSTAGE_CONVERT;
            goto done;
        }
        r->awq_scaled = hone_awq_n_scaled(awq, &r->awq_groups);
    }
    if (r->act_mode != HONE_ACT_DYNAMIC) {
        if (!(act_scales = calloc((size_t)r->n_items + 1, sizeof *act_scales))) goto oom;
        if ((st = act_plan(r, f, p, awq, act_scales))) {
            r->stage = st == HONE_ERR_NOMEM ? HONE_QSTAGE_CONVERT : HONE_QSTAGE_ARGS;
            goto done;
        }
    }
    if (p->plan_out && (st = write_plan(p->plan_out, r->plan, r->n_items))) {
        r->stage = HONE_QSTAGE_OUTPUT;
        goto done;
    }
    int64_t max_nx = 1, total = 0;
    for (int64_t i = 0; i < r->n_items; i++) {
        const hone_qplan_item *q = &r->plan[i];
        const gguf_tensor *t = gguf_tensor_at(f, i);
        r->n_params += (uint64_t)n_elements(t);
        if (!q->convert) continue;
        const hone_type_info *ti = hone_type_get(q->from);
        if (!ti->computable) {
            st = hone_err(HONE_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which hone cannot dequantise", in_path,
                          q->name, ti->name);
            r->stage = HONE_QSTAGE_INPUT;
            goto done;
        }
        if (q->from != HONE_TYPE_F32 && q->from != HONE_TYPE_F16 && q->from != HONE_TYPE_BF16) r->requantized = true;
        if (t->ne[0] > max_nx) max_nx = t->ne[0];
        total += n_elements(t);
    }
    if (p->scheme && r->n_params) r->nominal_bpw /= (double)r->n_params;
    if (r->requantized && !p->allow_requantize) {
        st = hone_err(HONE_ERR_INVALID_ARG,
                      "%s holds already quantised tensors; converting them loses quality twice "
                      "(pass --allow-requantize to do it anyway)", in_path);
        r->stage = HONE_QSTAGE_ARGS;
        goto done;
    }

    if ((st = threadpool_create(p->n_threads, &pool))) {
        r->stage = HONE_QSTAGE_CONVERT;
        goto done;
    }
    const int nth = threadpool_size(pool);
    bufs = calloc((size_t)r->n_items + 1, sizeof *bufs);
    rowbuf = calloc((size_t)nth, sizeof *rowbuf);
    w = gguf_writer_create();
    if (!bufs || !rowbuf || !w) goto oom;
    for (int k = 0; k < nth; k++)
        if (!(rowbuf[k] = malloc((size_t)max_nx * sizeof(float)))) goto oom;

    /* metadata: everything from the input, with the file type of the preset */
    for (int64_t i = 0; i < gguf_n_kv(f); i++)
        if (strncmp(gguf_kv_at(f, i)->key, "hone.act.", 9) != 0 && (st = gguf_writer_copy_kv(w, gguf_kv_at(f, i))))
            goto out_fail;
    if (r->act_mode != HONE_ACT_DYNAMIC) {
        if ((st = gguf_writer_set_str(w, HONE_ACT_KEY_MODE, act_mode_name(r->act_mode)))) goto out_fail;
        for (int64_t i = 0; i < r->n_items; i++) {
            if (!(act_scales[i] > 0.0f)) continue;
            char key[300];
            snprintf(key, sizeof key, "%s%s", HONE_ACT_KEY_SCALE_PREFIX, r->plan[i].name);
            if ((st = gguf_writer_set_f32(w, key, act_scales[i]))) goto out_fail;
        }
    }
    if ((st = gguf_writer_set_u32(w, "general.file_type", preset->ftype))) goto out_fail;
    if ((st = gguf_writer_set_u32(w, "general.quantization_version", 2))) goto out_fail;
    if (p->scheme) { /* provenance: which textbook scheme made hone's own tensor types */
        char sn[48];
        if ((st = gguf_writer_set_str(w, "hone.quantize.scheme", hone_scheme_name(&scheme, sn, sizeof sn))))
            goto out_fail;
    }

    int64_t done_el = 0;
    for (int64_t i = 0; i < r->n_items; i++) {
        const hone_qplan_item *q = &r->plan[i];
        const gguf_tensor *t = gguf_tensor_at(f, i);
        if (!q->convert) {
            const float *nv = hone_awq_norm(awq, t->name); /* F32, same shape, owned by awq */
            if ((st = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, nv ? (const void *)nv : t->data,
                                             t->nbytes)))
                goto out_fail;
            continue;
        }
        if (p->progress) p->progress(p->user, done_el, total, t->name);
        const int64_t nx = t->ne[0], nrows = n_elements(t) / nx;
        const size_t row_out = hone_row_size(q->to, nx);
        bufs[i] = malloc(row_out * (size_t)nrows);
        if (!bufs[i]) goto oom;
        convert_job job = {t, q->to, nx, nrows, hone_row_size(t->type, nx), row_out, bufs[i], NULL,
                           p->reference, rowbuf, HONE_OK, NULL, NULL};
        if (calib) {
            job.imp = hone_calib_importance(calib, t->name, nx);
            if (job.imp) r->n_calibrated++;
        }
        if (awq) {
            job.col = hone_awq_col_scale(awq, t->name);
            job.rowdiv = hone_awq_row_div(awq, t->name);
            if (hone_awq_importance(awq, t->name)) job.imp = hone_awq_importance(awq, t->name);
        }
        threadpool_run(pool, convert_rows, &job);
        if (job.st) {
            st = hone_err(job.st, "tensor '%s': %s", t->name, hone_last_error());
            r->stage = HONE_QSTAGE_CONVERT;
            goto done;
        }
        done_el += n_elements(t);
        if ((st = gguf_writer_add_tensor(w, t->name, q->to, t->n_dims, t->ne, bufs[i], row_out * (size_t)nrows)))
            goto out_fail;
    }
    if (p->progress) p->progress(p->user, total, total, NULL);
    if ((st = gguf_writer_write(w, out_path))) goto out_fail;
    struct stat sb;
    if (stat(out_path, &sb) == 0) r->bytes_out = (uint64_t)sb.st_size;
    r->seconds = now_s() - t0;
    goto done;

oom:
    st = hone_err(HONE_ERR_NOMEM, "quantize: out of memory");
    r->stage = HONE_QSTAGE_CONVERT;
    goto done;
out_fail:
    r->stage = HONE_QSTAGE_OUTPUT;
done:
    if (bufs)
        for (int64_t i = 0; i < r->n_items; i++) free(bufs[i]);
    free(bufs);
    if (rowbuf)
        for (int k = 0; k < threadpool_size(pool); k++) free(rowbuf[k]);
    free(rowbuf);
    free(act_scales);
    threadpool_free(pool);
    gguf_writer_free(w);
    hone_calib_free(calib);
    hone_awq_free(awq);
    if (r->plan) own_names(r);
    gguf_close(f);
    return st;
}
