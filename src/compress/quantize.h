/*
 * quantize.h - convert every tensor of a GGUF model to the types a plan gives (hone quantize).
 *
 * The driver opens the input (mmapped), builds the plan (qplan.h), converts each weight matrix
 * row by row on a thread pool (dequantise the source row to F32, then quantise with the searched
 * quantisers of quant_search.h, weighted by calibration importances when given), copies the other
 * tensors and the metadata (general.file_type set to the preset's number), and writes the output
 * through the GGUF writer, which goes to a temporary name and renames it into place: a failure
 * never leaves a partial output file.
 *
 * Activation modes (--act, kernels/cpu/act_quant.h): "int8-token" and "int8-static" are recorded in
 * the output's metadata (hone.act.mode; for static one f32 key hone.act.scale.<tensor> per weight
 * matrix with a quantised type, A / 127 where A is the calibration's max |a| over the matrix's
 * input channels, or with act_clip the act_clip-th percentile of |a| from the histogram). Float
 * weight matrices have no int8 activations and are left alone. An input's own hone.act.* keys are
 * never copied: the output's mode is the one asked for (absent = int8-dynamic).
 *
 * Ownership: the result holds the plan (free with hone_quantize_result_free).
 */
#ifndef HONE_COMPRESS_QUANTIZE_H
#define HONE_COMPRESS_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/qplan.h"
#include "hone.h"

/* Progress of a long job: `done` of `total` units; `what` names the current item (may be NULL). */
typedef void (*hone_progress_fn)(void *user, int64_t done, int64_t total, const char *what);

typedef struct {
    const char *type;        /* preset or type name ("Q4_K_M", "Q8_0", "F32") */
    bool pure;               /* no mixing rules (fallbacks still apply) */
    int output_type;         /* hone_type or -1 */
    int embedding_type;      /* hone_type or -1 */
    bool allow_requantize;   /* accept quantised input (dequantised first) */
    bool reference;          /* plain reference quantisers (round to nearest), no scale search */
    const char *calib_path;  /* statistics from hone calibrate, or NULL */
    int n_threads;           /* <= 0: all CPUs */
    double target_bpw;       /* > 0: mixed precision chosen by measurement (mixprec.h) */
    const char *mp_text;     /* calibration text for the measurement */
    size_t mp_len;
    int mp_ctx, mp_chunks;   /* measurement chunks (0: defaults 128 tokens x 1) */
    const char *scheme;      /* textbook scheme (textbook.h) or NULL: weight matrices get its hone types */
    int group;               /* its group size (0 = per output channel) */
    const char *plan_in;     /* plan file: "tensor-name TYPE" lines override the plan (NULL: none) */
    const char *plan_out;    /* write the final plan here (NULL: no) */
    hone_progress_fn progress;
    void *user;
    double max_kld;          /* > 0 (instead of target_bpw): cheapest measured mix with predicted KLD <= this */
    bool awq;                /* with calib_path: AWQ-style per-channel scaling folded into the norms (awq.h) */
    float smooth;            /* with calib_path, > 0: SmoothQuant migration strength alpha in (0, 1] (awq.h) */
    const char *act;         /* activation mode name (act_quant.h) or NULL = int8-dynamic */
    double act_clip;         /* int8-static: percentile of |a| (0 < P <= 100) instead of the max; 0 = max */
} hone_quantize_params;

/* Where a failure happened, so the CLI can pick its exit code. */
typedef enum { HONE_QSTAGE_ARGS = 0, HONE_QSTAGE_INPUT, HONE_QSTAGE_CONVERT, HONE_QSTAGE_OUTPUT } hone_qstage;

typedef struct {
    const hone_qpreset *preset;
    hone_qplan_item *plan; /* one per tensor, file order; names point into `names` */
    int64_t n_items;
    char *names;           /* the plan's tensor names, owned (the input file is closed on return) */
    uint64_t n_params;     /* elements of all tensors */
    uint64_t bytes_in, bytes_out; /* file sizes */
    bool requantized;      /* some input tensor was already quantised */
    bool calibrated;
    int64_t n_calibrated;  /* tensors converted with importances */
    double seconds;
    double predicted_kld;
    double nominal_bpw;    /* with a scheme: bits per weight of all tensors (scales included, metadata
                            * not) */  /* with target_bpw: the planner's predicted KLD */
    hone_qstage stage;     /* on failure: where */
    int awq_groups, awq_scaled; /* --awq: tensor groups considered / scaled (alpha > 0) */
    int act_mode;          /* the activation mode written (hone_act_mode) */
    int n_act, n_act_float; /* weight matrices given the mode / left alone as float */
    float act_scale_min, act_scale_max; /* int8-static: range of the scales written */
} hone_quantize_result;

hone_quantize_params hone_quantize_default_params(void);
hone_status hone_quantize_file(const char *in_path, const char *out_path, const hone_quantize_params *p,
                               hone_quantize_result *r);
void hone_quantize_result_free(hone_quantize_result *r);

#endif
