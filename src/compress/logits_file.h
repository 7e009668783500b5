/*
 * logits_file.h - compact per-token log-probabilities of a reference model, for KL divergence
 * without running the reference again (hone eval --save-logits / --ref-logits).
 *
 * The layout is llama-perplexity's --kl-divergence-base file, so files move between the two tools:
 *   "_logits_"                  8 bytes
 *   n_ctx, n_vocab, n_chunk     int32 each, little-endian
 *   tokens                      int32 [n_chunk * n_ctx] (as tokenised, before the BOS of each chunk)
 *   then for each chunk, for each of the n_ctx - 1 - n_ctx/2 scored positions, nv = 2*ceil(n_vocab/2)
 *   + 4 uint16: float scale, float min_log_prob (4 uint16), then one uint16 per vocabulary entry:
 *   log p_i = scale * q_i + min_log_prob, where the logits are clipped 16 below the maximum.
 * That is about 2 bytes per vocabulary entry per scored token: 98,312 bytes per token for a 49,152-
 * entry vocabulary, 1.0 GB for 40 chunks of 512.
 */
#ifndef HONE_COMPRESS_LOGITS_FILE_H
#define HONE_COMPRESS_LOGITS_FILE_H

#include <stdint.h>
#include <stdio.h>

#include "hone.h"

typedef struct {
    FILE *fp;
    char *path;
    int32_t n_ctx, n_vocab, n_chunk;
    int32_t *tokens; /* reader: n_chunk * n_ctx */
    uint16_t *row;   /* one row of nv entries */
    int32_t nv;
} hone_logits_file;

/* Writer: header and tokens now, then one row per scored position. */
hone_status hone_logits_create(hone_logits_file *lf, const char *path, int32_t n_ctx, int32_t n_vocab,
                               int32_t n_chunk, const int32_t *tokens);
hone_status hone_logits_write_row(hone_logits_file *lf, const float *logits);
/* Finish the writer (flush, close). On failure the file is removed. */
hone_status hone_logits_finish(hone_logits_file *lf, hone_status st);

/* Reader: header and tokens; then rows in order. */
hone_status hone_logits_open(hone_logits_file *lf, const char *path);
/* Reads the next row: scale and minimum into scale and min_log_prob, quantised values in lf->row + 4. */
hone_status hone_logits_read_row(hone_logits_file *lf, float *scale, float *min_log_prob);
void hone_logits_close(hone_logits_file *lf);

#endif
