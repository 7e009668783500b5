/*
 * dtype.h - tensor element types and their storage geometry.
 *
 * Ids are the GGUF/ggml type ids so that a file's type field maps directly.
 * Every type is stored in blocks of `block_size` elements taking `type_size`
 * bytes; a row of n elements needs n % block_size == 0. `vec_dot_type` is the
 * type activations are quantised to before a dot product with a row of this
 * type (the same pairing ggml uses, which keeps hone's logits close to
 * llama.cpp's).
 */
#ifndef HONE_CORE_DTYPE_H
#define HONE_CORE_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    HONE_TYPE_F32 = 0,
    HONE_TYPE_F16 = 1,
    HONE_TYPE_Q4_0 = 2,
    HONE_TYPE_Q4_1 = 3,
    HONE_TYPE_Q5_0 = 6,
    HONE_TYPE_Q5_1 = 7,
    HONE_TYPE_Q8_0 = 8,
    HONE_TYPE_Q8_1 = 9,
    HONE_TYPE_Q2_K = 10,
    HONE_TYPE_Q3_K = 11,
    HONE_TYPE_Q4_K = 12,
    HONE_TYPE_Q5_K = 13,
    HONE_TYPE_Q6_K = 14,
    HONE_TYPE_Q8_K = 15,
    HONE_TYPE_IQ2_XXS = 16,
    HONE_TYPE_IQ2_XS = 17,
    HONE_TYPE_IQ3_XXS = 18,
    HONE_TYPE_IQ1_S = 19,
    HONE_TYPE_IQ4_NL = 20,
    HONE_TYPE_IQ3_S = 21,
    HONE_TYPE_IQ2_S = 22,
    HONE_TYPE_IQ4_XS = 23,
    HONE_TYPE_I8 = 24,
    HONE_TYPE_I16 = 25,
    HONE_TYPE_I32 = 26,
    HONE_TYPE_I64 = 27,
    HONE_TYPE_F64 = 28,
    HONE_TYPE_IQ1_M = 29,
    HONE_TYPE_BF16 = 30,
    HONE_TYPE_TQ1_0 = 34,
    HONE_TYPE_TQ2_0 = 35,
    /* hone's own types, ids far from ggml's (llama.cpp cannot read them): the textbook schemes of
     * `hone quantize --scheme` as packed blocks (src/quant/q_textbook.c, docs/formats.md). Per
     * scheme four layouts: one scale (and minimum) per 32, 64 or 128 weights (G32, G64, G128), or
     * per output channel (CH: the row's scale repeated in every 64-weight block). */
    HONE_TYPE_INT8_G32 = 200, HONE_TYPE_INT8_G64 = 201, HONE_TYPE_INT8_G128 = 202, HONE_TYPE_INT8_CH = 203,
    HONE_TYPE_ASYM8_G32 = 204, HONE_TYPE_ASYM8_G64 = 205, HONE_TYPE_ASYM8_G128 = 206, HONE_TYPE_ASYM8_CH = 207,
    HONE_TYPE_ASYM4_G32 = 208, HONE_TYPE_ASYM4_G64 = 209, HONE_TYPE_ASYM4_G128 = 210, HONE_TYPE_ASYM4_CH = 211,
    HONE_TYPE_ASYM3_G32 = 212, HONE_TYPE_ASYM3_G64 = 213, HONE_TYPE_ASYM3_G128 = 214, HONE_TYPE_ASYM3_CH = 215,
    HONE_TYPE_ASYM2_G32 = 216, HONE_TYPE_ASYM2_G64 = 217, HONE_TYPE_ASYM2_G128 = 218, HONE_TYPE_ASYM2_CH = 219,
    HONE_TYPE_LOG4_G32 = 220, HONE_TYPE_LOG4_G64 = 221, HONE_TYPE_LOG4_G128 = 222, HONE_TYPE_LOG4_CH = 223,
    HONE_TYPE_LOG3_G32 = 224, HONE_TYPE_LOG3_G64 = 225, HONE_TYPE_LOG3_G128 = 226, HONE_TYPE_LOG3_CH = 227,
    HONE_TYPE_COUNT = 228
} hone_type;

typedef struct {
    const char *name;     /* "Q4_1"; NULL for ids that are not a type */
    uint32_t block_size;  /* elements per block */
    uint32_t type_size;   /* bytes per block */
    bool computable;      /* hone has dequantise + dot kernels for it */
    hone_type vec_dot_type;
} hone_type_info;

/* Info for a type id; NULL when the id is unknown (not a GGUF type). */
const hone_type_info *hone_type_get(uint32_t type);

/* Bytes for a row of n elements, 0 if n is not a multiple of the block size. */
size_t hone_row_size(hone_type t, int64_t n);

/* Parse "Q4_K"/"q4_k"/"f16"; returns -1 when unknown. */
int hone_type_from_name(const char *name);

#endif
