/*
 * awq.h - AWQ-style per-input-channel scaling for hone quantize --awq (needs --calib).
 *
 * A channel c of a matrix's input that carries large activations matters more than the others; a
 * block format spends its resolution evenly over a block. Scaling column c of W up by s_c (and the
 * activation down by 1/s_c, folded into whatever produces it) leaves W·a unchanged in exact
 * arithmetic but gives the important columns finer levels after quantisation. Folds used here,
 * exact in a llama-architecture forward pass:
 *  - attn_q/attn_k/attn_v columns by s, attn_norm weight by 1/s (the RMS norm's output is their input);
 *  - ffn_gate/ffn_up columns by s, ffn_norm weight by 1/s;
 *  - ffn_down columns by s, ffn_up rows by 1/s (down's input is silu(gate) * up, linear in up).
 * s_c = rms_c^alpha, rms_c the channel's calibration RMS (normalised by the geometric mean of the
 * extremes); alpha is searched per group on a grid in [0, 0.8] for the smallest expected output
 * error sum_c E[a_c^2] (w_c - q_c / s_c)^2 over a sample of rows at the planned types, so alpha = 0
 * (no scaling) is a candidate and the chosen scaling is never worse by that measure. The output is
 * a standard GGUF: only weight values change (norm weights stay F32).
 *
 * Ownership: the object owns every vector it returns; they live until hone_awq_free.
 */
#ifndef HONE_COMPRESS_AWQ_H
#define HONE_COMPRESS_AWQ_H

#include <stdint.h>

#include "compress/calib.h"
#include "compress/qplan.h"
#include "formats/gguf.h"
#include "hone.h"

typedef struct hone_awq hone_awq;

/* Plan the scaling of f's weights for the types in plan (from hone_qplan_build, possibly edited).
 * Groups whose statistics are missing, whose tensors are not converted to a block type, or whose
 * norm is not F32 are left alone. INVALID_ARG for a model that is not of the llama architecture.
 * n_threads: threads for the alpha search. */
hone_status hone_awq_plan(const gguf_file *f, const hone_qplan_item *plan, int64_t n_items, const hone_calib *calib,
                          int n_threads, hone_awq **out);
/* SmoothQuant-style migration for int8 activations (--smooth ALPHA): the same groups and folds, with
 * s_c = amax_c^alpha / wmax_c^(1 - alpha) from the calibration maxima (`<name>.in_max`) and the
 * weights' column maxima, no search. Groups without maxima are left alone. */
hone_status hone_smooth_plan(const gguf_file *f, const hone_qplan_item *plan, int64_t n_items, const hone_calib *calib,
                             float alpha, int n_threads, hone_awq **out);
void hone_awq_free(hone_awq *a);

/* For weight tensor `name`: the nx column multipliers (NULL: none), the per-row divisors (NULL:
 * none), and the importances to quantise the scaled tensor with (NULL: use the calibration's). */
const float *hone_awq_col_scale(const hone_awq *a, const char *name);
const float *hone_awq_row_div(const hone_awq *a, const char *name);
const float *hone_awq_importance(const hone_awq *a, const char *name);
/* For a norm tensor: its replacement F32 values (NULL: unchanged). */
const float *hone_awq_norm(const hone_awq *a, const char *name);
/* Number of groups scaled (alpha > 0) and planned, for the summary. */
int hone_awq_n_scaled(const hone_awq *a, int *n_groups);

#endif
