/*
 * eval.h - perplexity and KL divergence of a model on a text (hone eval).
 *
 * Protocol (llama-perplexity's, so figures line up): tokenise the whole text once (with BOS when
 * the model adds one), cut it into n_chunk chunks of n_ctx tokens, evaluate each chunk from an empty
 * cache with its first token replaced by BOS where the model uses one, and score the second half:
 * the logits at positions n_ctx/2 .. n_ctx-2 predict the next token. PPL = exp(mean NLL), with
 * the uncertainty of the mean propagated.
 *
 * Against a reference (a second model run chunk by chunk beside the first, or log-probabilities
 * saved earlier in the compact file of logits_file.h): KL(ref || model) per scored token (mean,
 * median, p99, max), how often both put the same token first, and the RMS of the change in the
 * probability of the actual next token. A side-by-side reference uses its exact log-softmax; a
 * saved one its 16-bit log-probabilities (as llama-perplexity does).
 */
#ifndef HONE_COMPRESS_EVAL_H
#define HONE_COMPRESS_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "compress/quantize.h"
#include "hone.h"

typedef struct {
    int32_t n_ctx;          /* tokens per chunk (default 512) */
    int32_t n_chunks;       /* <= 0: all the text gives */
    int32_t n_threads;      /* <= 0: all CPUs */
    const char *ref_path;   /* reference model run beside (NULL: none) */
    const char *ref_logits; /* saved reference log-probs (NULL: none); supplies the tokens */
    const char *save_logits; /* write this model's log-probs here (NULL: no) */
    hone_progress_fn progress;
    void *user;
} hone_eval_params;

typedef struct {
    int32_t n_ctx, n_chunks, n_vocab;
    int64_t n_text_tokens; /* tokens of the whole text */
    int64_t count;         /* scored tokens */
    bool add_bos;
    double ppl, ppl_unc;
    /* model file */
    uint64_t file_bytes, n_params;
    double bpw;
    double seconds, tok_per_s; /* forward passes of the model (not the reference) */
    /* against a reference (has_ref) */
    bool has_ref;
    double ref_ppl, ref_ppl_unc;
    double ppl_ratio, ppl_ratio_unc; /* PPL / PPL(ref) */
    double kld_mean, kld_unc, kld_median, kld_p99, kld_p999, kld_max;
    double top1, top1_unc; /* fraction of tokens with the same most likely token */
    double rms_dp, rms_dp_unc; /* RMS of p(next) - p_ref(next) */
} hone_eval_result;

hone_eval_params hone_eval_default_params(void);
/* text/len: the evaluation text (may be NULL when ref_logits supplies the tokens). */
hone_status hone_eval_run(const char *model_path, const char *text, size_t len, const hone_eval_params *p,
                          hone_eval_result *r);

#endif
