/*
 * quant_search.h - quantisers that search for the scale (and min) of each block instead of taking
 * the round-to-nearest reference choice, optionally weighting each element's error by an
 * importance (from calibration: the mean square of the activation that multiplies it).
 *
 * They write exactly the standard block layouts (any reader, llama.cpp included, loads the result)
 * and, except IQ4_NL (whose reference is itself a search with other weights), never do worse than
 * the reference quantiser on the weighted squared error of a block (the weighting the search uses):
 * the reference block is the first candidate and a candidate replaces it only when strictly better.
 * So weights that already lie on a type's grid (a Q4_1 model dequantised to F32) come back with
 * the same bytes.
 *
 * Used by src/compress (hone quantize); the engine never calls these.
 */
#ifndef HONE_QUANT_QUANT_SEARCH_H
#define HONE_QUANT_QUANT_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"
#include "hone.h"

/*
 * Quantise one row of n elements to type t. imp: n importance weights (>= 0), or NULL for the
 * default weights (hone_quant_default_weights). Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 search their block
 * scales (q_search.c); IQ4_NL searches its scale (q_iq4nl.c). For the K-quants a weighted quantiser
 * (q_kquants_search.c; Q3_K..Q6_K) competes with the reference block (llama-quantize's choices, byte
 * for byte), and the super-block scale and min are refitted by weighted least squares; weights are
 * the importances times sqrt(sigma^2 + x^2), or that alone without importances. With importances the
 * symmetric types also try scales that clip a block's extreme element, and the textbook types narrow
 * their grids (q_textbook.c). F32/F16/BF16 convert. Errors as hone_quantize_row.
 */
hone_status hone_quantize_row_search(hone_type t, const float *src, void *dst, int64_t n, const float *imp);

/* The weights used when imp is NULL: w_j = sqrt(sigma^2 + x_j^2), sigma^2 the mean of x^2 over the
 * n elements (emphasises large weights; see q_search.c). */
void hone_quant_default_weights(const float *x, int64_t n, float *w);

/* Whether hone_quantize_row_search does more than the reference for type t. */
bool hone_quant_has_search(hone_type t);

#endif
