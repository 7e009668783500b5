/*
 * calib.h - activation statistics of a model over text (hone calibrate) and their use as
 * importances when quantising (hone quantize --calib).
 *
 * For every weight matrix W (named like its tensor, e.g. blk.3.ffn_down.weight) the statistics
 * describe the activations a that W multiplies (its input channels, ne[0] of W):
 *   <name>.in_sqr  F32 [ne0]  mean of a_j^2 over all calibration tokens
 *   <name>.in_max  F32 [ne0]  max of |a_j|
 *   <name>.in_hist F32 [64]   histogram of log2|a| over all channels, bins of 1/2 octave from 2^-20
 * stored as a GGUF file with metadata hone.calib.* (version, token count, and the model's
 * general.name, block_count, embedding_length and vocabulary size, so a file made for another model
 * is refused). Mean squares are the importances: the expected squared error of W·a caused by an
 * error e_j in W's column j is e_j^2 * E[a_j^2] (cross terms neglected).
 */
#ifndef HONE_COMPRESS_CALIB_H
#define HONE_COMPRESS_CALIB_H

#include <stdint.h>

#include "compress/quantize.h"
#include "formats/gguf.h"
#include "hone.h"

#define HONE_CALIB_HIST_BINS 64

typedef struct hone_calib hone_calib;

hone_status hone_calib_load(const char *path, hone_calib **out);
void hone_calib_free(hone_calib *c);
/* INVALID_ARG with a message when the statistics were recorded on another model than f. */
hone_status hone_calib_check_model(const hone_calib *c, const gguf_file *f);
/* nx importances for the weight tensor `name` (NULL when the file has none for it). Valid while c
 * lives. */
const float *hone_calib_importance(const hone_calib *c, const char *name, int64_t nx);
/* The per-channel max |a| of weight `name`'s input (nx channels), or NULL when absent. */
const float *hone_calib_in_max(const hone_calib *c, const char *name, int64_t nx);
uint64_t hone_calib_n_tokens(const hone_calib *c);

/* ---- recording (calib_record.c) ---- */

typedef struct {
    int32_t n_ctx;     /* tokens per chunk, each from an empty context (default 512) */
    int32_t n_chunks;  /* <= 0: all the text gives */
    int32_t n_threads; /* <= 0: all CPUs */
    hone_progress_fn progress;
    void *user;
} hone_calib_params;

hone_calib_params hone_calib_default_params(void);
/* Run the model over the text (llama architecture) and write the statistics to out_path (via a
 * temporary file). *n_tokens receives the number of tokens seen. One recording at a time per
 * process (the observing forward pass finds its accumulators through a global). */
hone_status hone_calibrate(const char *model_path, const char *text, size_t len, const hone_calib_params *p,
                           const char *out_path, uint64_t *n_tokens);

#endif
