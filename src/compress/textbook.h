/*
 * textbook.h - the quantisation schemes the textbooks teach, simulated: hone quantize --scheme.
 *
 *   int8        symmetric abs-max: s = max|w| / 127, q = round(w / s) in [-127, 127], w' = s q
 *   asymB       asymmetric min-max with zero point, B = 8, 4, 3 or 2 bits:
 *               q = round((w - min) / (max - min) * (2^B - 1)), w' = min + q (max - min) / (2^B - 1)
 *   logB        power-of-two codes, B = 4 or 3 bits: sign and one of 2^(B-1) - 1 magnitudes
 *               s, s/2, s/4, ... (s = max|w|) or zero, the nearest in linear distance
 * each per output channel (a row of the weight matrix, --group 0) or per group of G consecutive
 * weights of a row (--group G).
 *
 * Simulated means: the weights are rounded to the scheme's grid and stored as F16 (exact for every
 * value these grids produce up to F16's 11-bit precision), so hone's engine runs them with its F16
 * kernels and the quality figures are the scheme's; the file is not smaller. The size the scheme
 * would have (bits per weight including one F32 scale, and for asym one F32 minimum, per group) is
 * reported as its nominal bpw. They are not hone tensor types with their own kernels (not done).
 */
#ifndef HONE_COMPRESS_TEXTBOOK_H
#define HONE_COMPRESS_TEXTBOOK_H

#include <stdint.h>

#include "hone.h"

typedef enum { HONE_SCHEME_NONE = 0, HONE_SCHEME_INT8, HONE_SCHEME_ASYM, HONE_SCHEME_LOG2 } hone_scheme_kind;

typedef struct {
    hone_scheme_kind kind;
    int bits;
    int group; /* 0: per output channel (whole row) */
} hone_scheme;

/* "int8", "asym8", "asym4", "asym3", "asym2", "log4", "log3" with a group (0 = per channel). */
hone_status hone_scheme_parse(const char *name, int group, hone_scheme *out);
/* y = the row x rounded to the scheme's grid (n elements; a group that does not divide n leaves a
 * shorter last group). */
void hone_scheme_apply_row(const hone_scheme *s, const float *x, float *y, int64_t n);
/* Bits per weight the scheme would take for rows of n elements (scales and minima included). */
double hone_scheme_bpw(const hone_scheme *s, int64_t n);
/* "asym4/g32", "int8/channel" */
const char *hone_scheme_name(const hone_scheme *s, char *buf, int cap);

#endif
