/*
 * dtype.c - the table of tensor types (block geometry per GGUF type id).
 */
#include "core/dtype.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define T(id, nm, bs, ts, comp, vdt) [id] = {nm, bs, ts, comp, vdt}

static const hone_type_info TYPES[HONE_TYPE_COUNT] = {
    T(HONE_TYPE_F32, "F32", 1, 4, true, HONE_TYPE_F32),
    T(HONE_TYPE_F16, "F16", 1, 2, true, HONE_TYPE_F16),
    T(HONE_TYPE_Q4_0, "Q4_0", 32, 18, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_Q4_1, "Q4_1", 32, 20, true, HONE_TYPE_Q8_1),
    T(HONE_TYPE_Q5_0, "Q5_0", 32, 22, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_Q5_1, "Q5_1", 32, 24, true, HONE_TYPE_Q8_1),
    T(HONE_TYPE_Q8_0, "Q8_0", 32, 34, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_Q8_1, "Q8_1", 32, 36, true, HONE_TYPE_Q8_1),
    T(HONE_TYPE_Q2_K, "Q2_K", 256, 84, true, HONE_TYPE_Q8_K),
    T(HONE_TYPE_Q3_K, "Q3_K", 256, 110, true, HONE_TYPE_Q8_K),
    T(HONE_TYPE_Q4_K, "Q4_K", 256, 144, true, HONE_TYPE_Q8_K),
    T(HONE_TYPE_Q5_K, "Q5_K", 256, 176, true, HONE_TYPE_Q8_K),
    T(HONE_TYPE_Q6_K, "Q6_K", 256, 210, true, HONE_TYPE_Q8_K),
    T(HONE_TYPE_Q8_K, "Q8_K", 256, 292, true, HONE_TYPE_Q8_K),
    /* Known to GGUF but not computed by hone: listed so files can be
     * inspected and the error names the type instead of "unknown". */
    T(HONE_TYPE_IQ2_XXS, "IQ2_XXS", 256, 66, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_IQ2_XS, "IQ2_XS", 256, 74, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_IQ3_XXS, "IQ3_XXS", 256, 98, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_IQ1_S, "IQ1_S", 256, 50, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_IQ4_NL, "IQ4_NL", 32, 18, true, HONE_TYPE_Q8_0), /* computed: src/quant/q_iq4nl.c */
    T(HONE_TYPE_IQ3_S, "IQ3_S", 256, 110, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_IQ2_S, "IQ2_S", 256, 82, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_IQ4_XS, "IQ4_XS", 256, 136, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_I8, "I8", 1, 1, false, HONE_TYPE_I8),
    T(HONE_TYPE_I16, "I16", 1, 2, false, HONE_TYPE_I16),
    T(HONE_TYPE_I32, "I32", 1, 4, false, HONE_TYPE_I32),
    T(HONE_TYPE_I64, "I64", 1, 8, false, HONE_TYPE_I64),
    T(HONE_TYPE_F64, "F64", 1, 8, false, HONE_TYPE_F64),
    T(HONE_TYPE_IQ1_M, "IQ1_M", 256, 56, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_BF16, "BF16", 1, 2, true, HONE_TYPE_BF16),
    T(HONE_TYPE_TQ1_0, "TQ1_0", 256, 54, false, HONE_TYPE_Q8_K),
    T(HONE_TYPE_TQ2_0, "TQ2_0", 256, 66, false, HONE_TYPE_Q8_K),
    /* hone's textbook types (src/quant/q_textbook.c): a half-precision scale (int8, log) or scale
     * and minimum (asym) per block, then 32 codes of b bits per 32 weights; CH repeats the row's
     * scale in 64-weight blocks. All take Q8_0 activations (the asym minimum needs exact sums of
     * the activation codes, which the kernels form themselves). */
    T(HONE_TYPE_INT8_G32, "INT8_G32", 32, 34, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_INT8_G64, "INT8_G64", 64, 66, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_INT8_G128, "INT8_G128", 128, 130, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_INT8_CH, "INT8_CH", 64, 66, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM8_G32, "ASYM8_G32", 32, 36, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM8_G64, "ASYM8_G64", 64, 68, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM8_G128, "ASYM8_G128", 128, 132, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM8_CH, "ASYM8_CH", 64, 68, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM4_G32, "ASYM4_G32", 32, 20, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM4_G64, "ASYM4_G64", 64, 36, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM4_G128, "ASYM4_G128", 128, 68, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM4_CH, "ASYM4_CH", 64, 36, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM3_G32, "ASYM3_G32", 32, 16, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM3_G64, "ASYM3_G64", 64, 28, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM3_G128, "ASYM3_G128", 128, 52, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM3_CH, "ASYM3_CH", 64, 28, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM2_G32, "ASYM2_G32", 32, 12, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM2_G64, "ASYM2_G64", 64, 20, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM2_G128, "ASYM2_G128", 128, 36, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_ASYM2_CH, "ASYM2_CH", 64, 20, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG4_G32, "LOG4_G32", 32, 18, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG4_G64, "LOG4_G64", 64, 34, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG4_G128, "LOG4_G128", 128, 66, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG4_CH, "LOG4_CH", 64, 34, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG3_G32, "LOG3_G32", 32, 14, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG3_G64, "LOG3_G64", 64, 26, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG3_G128, "LOG3_G128", 128, 50, true, HONE_TYPE_Q8_0),
    T(HONE_TYPE_LOG3_CH, "LOG3_CH", 64, 26, true, HONE_TYPE_Q8_0),
};

const hone_type_info *hone_type_get(uint32_t type) {
    if (type >= HONE_TYPE_COUNT || TYPES[type].name == NULL) return NULL;
    return &TYPES[type];
}

size_t hone_row_size(hone_type t, int64_t n) {
    const hone_type_info *ti = hone_type_get((uint32_t)t);
    if (!ti || n < 0 || n % ti->block_size != 0) return 0;
    return (size_t)(n / ti->block_size) * ti->type_size;
}

int hone_type_from_name(const char *name) {
    for (int i = 0; i < HONE_TYPE_COUNT; i++)
        if (TYPES[i].name && strcasecmp(TYPES[i].name, name) == 0) return i;
    return -1;
}
