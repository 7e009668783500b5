/*
 * textbook.h - the quantisation schemes the textbooks teach: hone quantize --scheme S [--group G].
 *
 *   int8        symmetric abs-max: s = max|w| / 127, q = round(w / s) in [-127, 127], w' = s q
 *   asymB       asymmetric min-max with zero point, B = 8, 4, 3 or 2 bits:
 *               q = round((w - min) / (max - min) * (2^B - 1)), w' = min + q (max - min) / (2^B - 1)
 *   logB        power-of-two codes, B = 4 or 3 bits: sign and one of 2^(B-1) - 1 magnitudes
 *               s, s/2, s/4, ... (s = max|w|) or zero, the nearest in linear distance
 * each per output channel (a row of the weight matrix, --group 0) or per group of G = 32, 64 or
 * 128 consecutive weights of a row.
 *
 * Each (scheme, group) is one of hone's own tensor types (INT8_G32 ... LOG3_CH, core/dtype.h) whose
 * blocks hold the packed codes with half-precision scales (src/quant/q_textbook.c; byte layouts in
 * docs/formats.md), so the file is really smaller and the engine runs it through those types' dot
 * kernels. Per channel is a type with 64-weight blocks that all repeat the row's scale (counted in
 * the size). This file maps a scheme and a row length to the type; rows that do not fit the
 * scheme's block fall back to the same scheme with a smaller group that does (F16 when none does),
 * and the note says so.
 */
#ifndef HONE_COMPRESS_TEXTBOOK_H
#define HONE_COMPRESS_TEXTBOOK_H

#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "hone.h"

typedef enum { HONE_SCHEME_NONE = 0, HONE_SCHEME_INT8, HONE_SCHEME_ASYM, HONE_SCHEME_LOG2 } hone_scheme_kind;

typedef struct {
    hone_scheme_kind kind;
    int bits;
    int group; /* 0: per output channel (whole row); else 32, 64 or 128 */
} hone_scheme;

/* "int8", "asym8", "asym4", "asym3", "asym2", "log4", "log3" with a group (0 = per channel, 32, 64,
 * 128); INVALID_ARG with a message naming the choices otherwise. */
hone_status hone_scheme_parse(const char *name, int group, hone_scheme *out);

/* The tensor type that holds rows of nx weights under the scheme. When the rows do not fit the
 * scheme's block, the same scheme with the largest smaller group that fits, or F16 when no group
 * fits (nx not a multiple of 32); then `note` (cap bytes, may be NULL) says why, else it is "". */
hone_type hone_scheme_type(const hone_scheme *s, int64_t nx, char *note, size_t cap);

/* Bits per weight of the type hone_scheme_type gives for rows of nx (scales and minima included). */
double hone_scheme_bpw(const hone_scheme *s, int64_t nx);

/* "asym4/g32", "int8/channel" */
const char *hone_scheme_name(const hone_scheme *s, char *buf, int cap);

#endif
