/*
 * act_quant.h - the activation quantisation modes a weight matrix can ask for, and their row
 * quantisers.
 *
 * Before a product with a quantised weight matrix, each activation row is quantised to the
 * weight type's vec_dot_type (Q8_0, Q8_1 or Q8_K). How the int8 scale is chosen is the mode,
 * recorded per file by `hone quantize --act` (GGUF key HONE_ACT_KEY_MODE) and carried per matrix
 * in hone_mat.act_mode:
 *   dynamic  (0, default) each block of 32/256 takes its own scale, max|x_block| / 127;
 *   token    one scale per row: max|x_row| / 127, repeated in every block of the row;
 *   static   one scale per matrix, fixed from calibration (hone_mat.act_scale, key
 *            HONE_ACT_KEY_SCALE "<tensor name>"); codes saturate at +-127; no run-time max.
 * In the last two every block of a row holds the same scale, so the existing dot and gemm kernels
 * compute the products unchanged. A row's codes depend on that row alone (batch invariance).
 */
#ifndef HONE_KERNELS_CPU_ACT_QUANT_H
#define HONE_KERNELS_CPU_ACT_QUANT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"

typedef enum { HONE_ACT_DYNAMIC = 0, HONE_ACT_TOKEN = 1, HONE_ACT_STATIC = 2 } hone_act_mode;

#define HONE_ACT_KEY_MODE "hone.act.mode"          /* string; absent = int8-dynamic */
#define HONE_ACT_KEY_SCALE_PREFIX "hone.act.scale." /* + tensor name: f32, int8-static only */

/* "int8-dynamic", "int8-token", "int8-static" (NULL for an unknown mode). */
const char *act_mode_name(int mode);
/* The mode a name gives, or -1 when the name is none of the above. */
int act_mode_parse(const char *name);
/* Whether activations for a weight type are int8-quantised at all (its vec_dot_type is Q8_0, Q8_1
 * or Q8_K); float weights (F32, F16, BF16) multiply float or half activations, with no mode. */
bool act_type_has_mode(hone_type wtype);

/* Quantise one row of n floats (n a multiple of the block size of vdt = Q8_0, Q8_1 or Q8_K) into
 * xq. mode HONE_ACT_DYNAMIC is the plain reference quantiser (hone_quantize_row); HONE_ACT_STATIC
 * uses `scale` (> 0) as every block's scale (rounded to half precision for Q8_0/Q8_1, as stored).
 * Takes the AVX2 helpers where the active CPU level allows (same bits as the scalar code). */
void act_quantize_row(hone_type vdt, int mode, float scale, const float *x, void *xq, int64_t n);
/* The portable reference of the same (what the SIMD path is tested against). */
void act_quantize_row_scalar(hone_type vdt, int mode, float scale, const float *x, void *xq, int64_t n);

#endif
