/*
 * qplan.h - which type each tensor of a model gets when it is quantised: presets, rules, fallbacks.
 *
 * A preset names a base type and, for the K-quant mixes (Q4_K_M, Q3_K_S, ...), rules that give
 * some tensors more bits (attn_v, ffn_down, attn_output in chosen layers; the tied output
 * embedding). The rules are llama.cpp's for the same names, so a hone file of a given preset has
 * the same size as llama-quantize's; docs/quantize.md lists them. A tensor whose row length is not
 * a multiple of its type's block size falls back to a type that fits, and the plan says which.
 *
 * The plan is data (one item per tensor, with the reason for its type), built before anything is
 * converted: the CLI prints it, --json reports it, and the driver (quantize.c) follows it.
 */
#ifndef HONE_COMPRESS_QPLAN_H
#define HONE_COMPRESS_QPLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/dtype.h"
#include "formats/gguf.h"
#include "hone.h"

typedef enum {
    QP_PLAIN = 0, /* every weight matrix gets the base type (F32, F16, BF16, legacy types) */
    QP_Q2_K,
    QP_Q3_K_S,
    QP_Q3_K_M,
    QP_Q3_K_L,
    QP_Q4_K_S,
    QP_Q4_K_M,
    QP_Q5_K_S,
    QP_Q5_K_M,
    QP_Q6_K,
} hone_qrules;

typedef struct {
    const char *name; /* "Q4_K_M" */
    hone_type base;
    uint32_t ftype;   /* general.file_type, llama.cpp's llama_ftype number */
    hone_qrules rules;
    const char *alias_of; /* "Q4_K" -> "Q4_K_M" (NULL if none) */
} hone_qpreset;

/* Case-insensitive lookup of a preset or type name; NULL if unknown. */
const hone_qpreset *hone_qpreset_find(const char *name);
/* The i-th preset (NULL past the end), for listing them. */
const hone_qpreset *hone_qpreset_at(int i);

typedef struct {
    const hone_qpreset *preset;
    bool pure;          /* no mixing rules: every weight matrix gets the base type (fallbacks still apply) */
    int output_type;    /* hone_type for output.weight (or the tied embedding), -1 = by rule */
    int embedding_type; /* hone_type for token_embd.weight, -1 = by rule */
    bool calibrated;    /* the Q4_0/Q5_0 ffn_down guard applies only with calibration, as in llama.cpp */
} hone_qplan_params;

typedef struct {
    const char *name; /* owned by the gguf_file (hone_quantize_file gives its result a copy) */
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    hone_type from, to;
    bool convert;    /* false: the bytes are copied unchanged */
    bool fallback;   /* `to` is a fallback for a type whose block does not fit the row */
    char note[112];  /* why `to` was chosen ("" for the base type) */
} hone_qplan_item;

/* One item per tensor of f, in file order. The caller frees *items. Fails (INVALID_ARG) when an
 * explicit --output-type/--embedding-type does not fit the tensor's rows. */
hone_status hone_qplan_build(const gguf_file *f, const hone_qplan_params *p, hone_qplan_item **items,
                             int64_t *n_items);

/* Whether the tensor is a weight matrix that quantisation converts (2-D or more, named *weight,
 * not a norm); the rest are copied. */
bool hone_qplan_is_weight_matrix(const char *name, uint32_t n_dims);

#endif
