/*
 * test_dtype.c - type table geometry and half/bfloat16 conversions.
 */
#include "core/dtype.h"
#include "core/fp16.h"
#include "harness.h"

#include <math.h>

int main(void) {
    /* Block geometry from the GGUF definitions. */
    CHECK(hone_row_size(HONE_TYPE_Q4_1, 576) == 18 * 20);
    CHECK(hone_row_size(HONE_TYPE_Q8_0, 64) == 2 * 34);
    CHECK(hone_row_size(HONE_TYPE_Q4_K, 512) == 2 * 144);
    CHECK(hone_row_size(HONE_TYPE_Q6_K, 256) == 210);
    CHECK(hone_row_size(HONE_TYPE_Q4_0, 33) == 0);
    CHECK(hone_type_get(4) == NULL);
    CHECK(hone_type_get(1000) == NULL);
    CHECK(hone_type_from_name("q5_k") == HONE_TYPE_Q5_K);
    CHECK(hone_type_from_name("nope") == -1);

    /* Every f16 bit pattern survives f16 -> f32 -> f16 (NaNs stay NaN). */
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = hone_f16_to_f32((hone_f16)h);
        hone_f16 back = hone_f32_to_f16(f);
        if (isnan(f))
            CHECKF(isnan(hone_f16_to_f32(back)), "nan 0x%04x", h);
        else
            CHECKF(back == h, "f16 0x%04x -> %g -> 0x%04x", h, f, back);
    }
    /* Round to nearest even at the midpoint between 1 and 1+2^-10. */
    CHECK(hone_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00);
    CHECK(hone_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02);
    CHECK(hone_f32_to_f16(65520.0f) == 0x7c00);
    CHECK(hone_f32_to_f16(5.9604645e-08f) == 0x0001);
    CHECK(hone_bf16_to_f32(hone_f32_to_bf16(1.5f)) == 1.5f);
    CHECK(hone_f32_to_bf16(1.0f + 1.0f / 256) == 0x3f80); /* tie -> even */
    return test_finish();
}
