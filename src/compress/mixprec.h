/*
 * mixprec.h - mixed precision chosen by measurement (hone quantize --target-bpw B).
 *
 * For every weight matrix t the planner measures how much the model's output moves when t alone is
 * quantised to its cheapest candidate type (mean KL divergence from the unquantised model on
 * calibration text: K_t), and how large t's (importance-weighted) squared rounding error is at every
 * candidate type c (E_t(c)). For small perturbations the KLD grows with the output error energy,
 * so the loss of t at type c is predicted as K_t * E_t(c) / E_t(cheapest), and the losses of
 * different tensors add. Starting from the cheapest type everywhere, it repeatedly upgrades the
 * tensor whose next candidate buys the largest predicted KLD reduction per extra byte, while the
 * file stays within B bits per weight. The chosen types replace the plan's, each with its note.
 * With max_kld X instead (hone quantize --max-kld X), the same upgrades are taken, best first, until
 * the predicted total KLD is at most X: the cheapest plan (by this greedy order) that meets X; X below
 * what the largest candidates predict is an error.
 */
#ifndef HONE_COMPRESS_MIXPREC_H
#define HONE_COMPRESS_MIXPREC_H

#include <stdint.h>

#include "compress/calib.h"
#include "compress/qplan.h"
#include "formats/gguf.h"
#include "hone.h"

typedef struct {
    double target_bpw;      /* file bits per weight to stay within (or 0 with max_kld) */
    const char *text;       /* calibration text */
    size_t len;
    int32_t n_ctx;          /* tokens per measurement chunk (default 128) */
    int32_t n_chunks;       /* chunks (default 1) */
    int32_t n_threads;
    hone_progress_fn progress;
    void *user;
    double max_kld;         /* > 0 (instead of target_bpw): the cheapest plan whose predicted KLD <= max_kld */
} hone_mixprec_params;

/* Rewrite the types of plan's weight matrices (plan from hone_qplan_build over f, the file at
 * in_path). calib (may be NULL) weights E_t. *pred_kld receives the predicted total KLD. */
hone_status hone_mixprec_plan(const char *in_path, const gguf_file *f, hone_qplan_item *plan, int64_t n_items,
                              const hone_mixprec_params *p, const hone_calib *calib, double *pred_kld);

#endif
