/*
 * quant.c - the public entry points of src/quant: one switch on the type, then the per-format loop
 * in q_float.c, q_legacy.c or q_kquants*.c.
 *
 * hone_vec_dot and hone_dequantize_row are called once per matrix row in the scalar matmul, so
 * they do no checking beyond the switch: callers guarantee n is a multiple of the block size and
 * that the type is computable (an unknown type yields 0 / leaves dst untouched rather than
 * crashing). hone_quantize_row validates, since it is also reached from tools with user input.
 */
#include "quant/quant.h"

#include "core/status.h"
#include "quant/blocks.h"

void hone_dequantize_row(hone_type t, const void *src, float *dst, int64_t n) {
    switch (t) {
    case HONE_TYPE_F32: hq_dequant_f32(src, dst, n); break;
    case HONE_TYPE_F16: hq_dequant_f16(src, dst, n); break;
    case HONE_TYPE_BF16: hq_dequant_bf16(src, dst, n); break;
    case HONE_TYPE_Q4_0: hq_dequant_q4_0(src, dst, n / QK4_0); break;
    case HONE_TYPE_Q4_1: hq_dequant_q4_1(src, dst, n / QK4_1); break;
    case HONE_TYPE_Q5_0: hq_dequant_q5_0(src, dst, n / QK5_0); break;
    case HONE_TYPE_Q5_1: hq_dequant_q5_1(src, dst, n / QK5_1); break;
    case HONE_TYPE_Q8_0: hq_dequant_q8_0(src, dst, n / QK8_0); break;
    case HONE_TYPE_Q8_1: hq_dequant_q8_1(src, dst, n / QK8_1); break;
    case HONE_TYPE_Q2_K: hq_dequant_q2_K(src, dst, n / QK_K); break;
    case HONE_TYPE_Q3_K: hq_dequant_q3_K(src, dst, n / QK_K); break;
    case HONE_TYPE_Q4_K: hq_dequant_q4_K(src, dst, n / QK_K); break;
    case HONE_TYPE_Q5_K: hq_dequant_q5_K(src, dst, n / QK_K); break;
    case HONE_TYPE_Q6_K: hq_dequant_q6_K(src, dst, n / QK_K); break;
    case HONE_TYPE_Q8_K: hq_dequant_q8_K(src, dst, n / QK_K); break;
    case HONE_TYPE_IQ4_NL: hq_dequant_iq4_nl(src, dst, n / QK4_NL); break;
    default: hone_tb_dequantize_row(t, src, dst, n); break; /* textbook types; others: nothing */
    }
}

hone_status hone_quantize_row(hone_type t, const float *src, void *dst, int64_t n) {
    const hone_type_info *ti = hone_type_get((uint32_t)t);
    if (!ti || !ti->computable)
        return hone_err(HONE_ERR_UNSUPPORTED, "quantize: type %s (id %d) cannot be quantised by hone",
                        ti ? ti->name : "unknown", (int)t);
    if (n < 0 || n % ti->block_size != 0)
        return hone_err(HONE_ERR_INVALID_ARG,
                        "quantize: row of %lld elements is not a multiple of %s's block size %u",
                        (long long)n, ti->name, ti->block_size);
    const int64_t nb = n / ti->block_size;
    switch (t) {
    case HONE_TYPE_F32: hq_quant_f32(src, dst, n); break;
    case HONE_TYPE_F16: hq_quant_f16(src, dst, n); break;
    case HONE_TYPE_BF16: hq_quant_bf16(src, dst, n); break;
    case HONE_TYPE_Q4_0: hq_quant_q4_0(src, dst, nb); break;
    case HONE_TYPE_Q4_1: hq_quant_q4_1(src, dst, nb); break;
    case HONE_TYPE_Q5_0: hq_quant_q5_0(src, dst, nb); break;
    case HONE_TYPE_Q5_1: hq_quant_q5_1(src, dst, nb); break;
    case HONE_TYPE_Q8_0: hq_quant_q8_0(src, dst, nb); break;
    case HONE_TYPE_Q8_1: hq_quant_q8_1(src, dst, nb); break;
    case HONE_TYPE_Q2_K: hq_quant_q2_K(src, dst, nb); break;
    case HONE_TYPE_Q3_K: hq_quant_q3_K(src, dst, nb); break;
    case HONE_TYPE_Q4_K: hq_quant_q4_K(src, dst, nb); break;
    case HONE_TYPE_Q5_K: hq_quant_q5_K(src, dst, nb); break;
    case HONE_TYPE_Q6_K: hq_quant_q6_K(src, dst, nb); break;
    case HONE_TYPE_Q8_K: hq_quant_q8_K(src, dst, nb); break;
    case HONE_TYPE_IQ4_NL: hq_quant_iq4_nl(src, dst, nb); break;
    default:
        if (hone_tb_layout_of(t)) return hone_tb_quantize_row(t, src, dst, n); /* q_textbook.c */
        return hone_err(HONE_ERR_UNSUPPORTED, "quantize: no quantiser for type %s", ti->name);
    }
    return HONE_OK;
}

float hone_vec_dot(hone_type t, int64_t n, const void *w, const void *x) {
    switch (t) {
    case HONE_TYPE_F32: return hq_dot_f32(n, w, x);
    case HONE_TYPE_F16: return hq_dot_f16(n, w, x);
    case HONE_TYPE_BF16: return hq_dot_bf16(n, w, x);
    case HONE_TYPE_Q4_0: return hq_dot_q4_0_q8_0(n / QK4_0, w, x);
    case HONE_TYPE_Q4_1: return hq_dot_q4_1_q8_1(n / QK4_1, w, x);
    case HONE_TYPE_Q5_0: return hq_dot_q5_0_q8_0(n / QK5_0, w, x);
    case HONE_TYPE_Q5_1: return hq_dot_q5_1_q8_1(n / QK5_1, w, x);
    case HONE_TYPE_Q8_0: return hq_dot_q8_0_q8_0(n / QK8_0, w, x);
    case HONE_TYPE_Q8_1: return hq_dot_q8_1_q8_1(n / QK8_1, w, x);
    case HONE_TYPE_Q2_K: return hq_dot_q2_K_q8_K(n / QK_K, w, x);
    case HONE_TYPE_Q3_K: return hq_dot_q3_K_q8_K(n / QK_K, w, x);
    case HONE_TYPE_Q4_K: return hq_dot_q4_K_q8_K(n / QK_K, w, x);
    case HONE_TYPE_Q5_K: return hq_dot_q5_K_q8_K(n / QK_K, w, x);
    case HONE_TYPE_Q6_K: return hq_dot_q6_K_q8_K(n / QK_K, w, x);
    case HONE_TYPE_Q8_K: return hq_dot_q8_K_q8_K(n / QK_K, w, x);
    case HONE_TYPE_IQ4_NL: return hq_dot_iq4_nl_q8_0(n / QK4_NL, w, x);
    default: return hone_tb_layout_of(t) ? hone_tb_dot_ref(t)(n, w, x) : 0.0f; /* q_textbook.c */
    }
}
