/*
 * test_textbook.c - the simulated textbook schemes (compress/textbook.h).
 *
 *  - Worked examples: 0.75 in [0, 1] at 8 bits -> 191.25 -> 191 -> 191/255; abs-max 127 scaling
 *    (max 1.27 -> s = 0.01, 1.27 -> 127, -0.5 -> -50, 0.004 -> 0); 3-bit log codes.
 *  - Round-trip bounds on random, heavy-tailed, constant and all-zero groups: int8 within s/2,
 *    asymmetric within (max-min)/(2(2^b-1)), log codes within a third of |w| above the smallest
 *    magnitude (nearest of v and 2v) and half the smallest magnitude below it; the extremes are
 *    exact for int8/asym; groups are independent (a change in one group leaves the others alone).
 *  - Parsing and nominal bits per weight.
 */
#include <math.h>
#include <string.h>

#include "compress/textbook.h"
#include "harness.h"

#define N 192

static uint64_t rng = 0x853c49e6748fea9bull;
static float uni(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((float)(rng >> 40) + 0.5f) / 16777216.0f;
}
static float normal(void) { return sqrtf(-2.0f * logf(uni())) * cosf(6.2831853f * uni()); }

static void worked_examples(void) {
    hone_scheme s;
    CHECK(hone_scheme_parse("asym8", 0, &s) == HONE_OK && s.kind == HONE_SCHEME_ASYM && s.bits == 8);
    const float x[3] = {0.0f, 1.0f, 0.75f};
    float y[3];
    hone_scheme_apply_row(&s, x, y, 3);
    CHECKF(fabsf(y[2] - 191.0f / 255.0f) < 1e-6f, "0.75 -> %g, want 191/255", y[2]);
    CHECK(y[0] == 0.0f && y[1] == 1.0f);

    CHECK(hone_scheme_parse("int8", 0, &s) == HONE_OK);
    const float a[4] = {1.27f, -0.5f, 0.004f, 0.006f};
    float b[4];
    hone_scheme_apply_row(&s, a, b, 4);
    CHECKF(fabsf(b[0] - 1.27f) < 1e-6f && fabsf(b[1] + 0.5f) < 1e-6f && b[2] == 0.0f && fabsf(b[3] - 0.01f) < 1e-6f,
           "abs-max: %g %g %g %g", b[0], b[1], b[2], b[3]);

    CHECK(hone_scheme_parse("log3", 0, &s) == HONE_OK); /* magnitudes 1, 1/2, 1/4 and zero */
    const float l[6] = {1.0f, -0.6f, 0.3f, 0.2f, 0.1f, 0.01f};
    float m[6];
    hone_scheme_apply_row(&s, l, m, 6);
    CHECKF(m[0] == 1.0f && m[1] == -0.5f && m[2] == 0.25f && m[3] == 0.25f && m[4] == 0.0f && m[5] == 0.0f,
           "log3: %g %g %g %g %g %g", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void bounds(void) {
    static const char *names[] = {"int8", "asym8", "asym4", "asym3", "asym2", "log4", "log3"};
    static const int groups[] = {0, 32, 64};
    float x[N], y[N];
    for (int d = 0; d < 4; d++)
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            for (size_t gi = 0; gi < 3; gi++) {
                for (int i = 0; i < N; i++)
                    x[i] = d == 0 ? 0.02f * normal() : d == 1 ? 0.02f * normal() / (0.05f + uni()) : d == 2 ? -0.3f : 0.0f;
                hone_scheme s;
                CHECK(hone_scheme_parse(names[k], groups[gi], &s) == HONE_OK);
                hone_scheme_apply_row(&s, x, y, N);
                const int g = groups[gi] ? groups[gi] : N;
                for (int b = 0; b < N; b += g) {
                    float mn = x[b], mx = x[b], amax = 0.0f;
                    for (int i = b; i < b + g; i++) {
                        mn = fminf(mn, x[i]);
                        mx = fmaxf(mx, x[i]);
                        amax = fmaxf(amax, fabsf(x[i]));
                    }
                    for (int i = b; i < b + g; i++) {
                        const float e = fabsf(y[i] - x[i]);
                        float bound;
                        if (s.kind == HONE_SCHEME_INT8) bound = amax / 127.0f / 2.0f;
                        else if (s.kind == HONE_SCHEME_ASYM) bound = (mx - mn) / (2.0f * (float)((1 << s.bits) - 1));
                        else {
                            const float smallest = ldexpf(amax, -((1 << (s.bits - 1)) - 2));
                            bound = fabsf(x[i]) >= smallest ? fabsf(x[i]) / 3.0f : smallest / 2.0f;
                        }
                        CHECKF(e <= bound * 1.0001f + 1e-7f * amax, "%s g%d dist %d: x[%d] %g -> %g (bound %g)",
                               names[k], groups[gi], d, i, x[i], y[i], bound);
                        if (s.kind != HONE_SCHEME_LOG2 && (x[i] == mx || x[i] == mn) && s.kind == HONE_SCHEME_ASYM)
                            CHECKF(fabsf(y[i] - x[i]) <= 1e-6f * amax, "%s: extreme %g -> %g", names[k], x[i], y[i]);
                    }
                }
                if (d == 3) CHECK(y[0] == 0.0f && y[N - 1] == 0.0f);
            }
    /* groups are independent */
    hone_scheme s;
    hone_scheme_parse("asym4", 32, &s);
    for (int i = 0; i < N; i++) x[i] = normal();
    float y2[N];
    hone_scheme_apply_row(&s, x, y, N);
    x[5] = 100.0f;
    hone_scheme_apply_row(&s, x, y2, N);
    CHECK(memcmp(y + 32, y2 + 32, (N - 32) * sizeof(float)) == 0);
}

static void parsing(void) {
    hone_scheme s;
    CHECK(hone_scheme_parse("asym5", 0, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_scheme_parse("int4", 0, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_scheme_parse("log4", -1, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_scheme_parse("asym4", 32, &s) == HONE_OK && fabs(hone_scheme_bpw(&s, 576) - 6.0) < 1e-9);
    CHECK(hone_scheme_parse("int8", 0, &s) == HONE_OK && fabs(hone_scheme_bpw(&s, 576) - (8 + 32.0 / 576)) < 1e-9);
    char buf[32];
    CHECK(strcmp(hone_scheme_name(&s, buf, sizeof buf), "int8/channel") == 0);
}

int main(void) {
    worked_examples();
    bounds();
    parsing();
    return test_finish();
}
