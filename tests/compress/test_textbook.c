/*
 * test_textbook.c - the textbook schemes as hone tensor types (compress/textbook.h, quant/quant.h).
 *
 *  - Worked examples on the stored bytes: 0.75 in [0, 1] at 8 bits -> 191.25 -> code 191 ->
 *    ~191/255 (ASYM8, per group and per channel); abs-max 127 scaling (max 1.27 -> d = half(0.01),
 *    1.27 -> 127, -0.5 -> -50, 0.004 -> 0, 0.006 -> 1); log3 magnitudes 1, 1/2, 1/4 and zero.
 *  - The packing of docs/formats.md byte by byte, from hand-computed bytes (4-, 3- and 2-bit codes).
 *  - Round trip of every type on random, heavy-tailed, constant and all-zero rows, within the bound
 *    the stored grid allows: INT8 max(d/2, max|w| - 127 d), ASYM max(d/2, m - min, max - (m + L d))
 *    (L = 2^b - 1), LOG a third of |w| down to the smallest magnitude and half of it below; the
 *    header is the textbook parameter rounded to half; constant rows come back as their half value,
 *    zero rows as zeros; per-channel rows repeat one header; groups are independent.
 *  - With importances (calibration): no importances gives the textbook bytes; the chosen grid's
 *    importance-weighted error is never above the textbook grid's, and it is lower on heavy-tailed
 *    rows for every 2-4 bit linear type; an importance of zero on a group's extreme weight makes the 4- and
 *    8-bit linear grids clip that weight; every type still decodes within its format (codes in range, finite).
 *  - Scheme parsing, the scheme -> type mapping with its fallbacks and notes, bits per weight.
 *  - The default model quantised with asym4/g32 (hone_quantize_file) is smaller than the input,
 *    holds ASYM4_G32 weights, loads and generates (skipped without the model).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compress/quantize.h"
#include "compress/textbook.h"
#include "core/fp16.h"
#include "harness.h"
#include "quant/quant.h"

#define N 1536

static uint64_t rng = 0x853c49e6748fea9bull;
static float uni(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((float)(rng >> 40) + 0.5f) / 16777216.0f;
}
static float normal(void) { return sqrtf(-2.0f * logf(uni())) * cosf(6.2831853f * uni()); }

static float half_at(const uint8_t *p) {
    hone_f16 h;
    memcpy(&h, p, 2);
    return hone_f16_to_f32(h);
}
static float to_half(float v) { return hone_f16_to_f32(hone_f32_to_f16(v)); }

static void worked_examples(void) {
    uint8_t buf[256];
    float x[64], y[64];
    /* 0.75 in [0, 1] at 8 bits */
    const hone_type asym8[2] = {HONE_TYPE_ASYM8_G32, HONE_TYPE_ASYM8_CH};
    for (int k = 0; k < 2; k++) {
        const int n = k ? 64 : 32;
        for (int j = 0; j < n; j++) x[j] = uni();
        x[0] = 0.0f, x[1] = 1.0f, x[2] = 0.75f;
        CHECK(hone_quantize_row(asym8[k], x, buf, n) == HONE_OK);
        CHECKF(half_at(buf) == to_half(1.0f / 255.0f) && half_at(buf + 2) == 0.0f, "asym8: d %g m %g", half_at(buf),
               half_at(buf + 2));
        CHECKF(buf[4 + 2] == 191 && buf[4 + 0] == 0 && buf[4 + 1] == 255, "asym8: codes %d %d %d", buf[4], buf[5],
               buf[6]);
        hone_dequantize_row(asym8[k], buf, y, n);
        CHECKF(fabsf(y[2] - 191.0f / 255.0f) < 2e-5f, "0.75 -> %g, want ~191/255", y[2]);
    }
    /* abs-max 127 scaling, per channel */
    for (int j = 0; j < 64; j++) x[j] = 0.0f;
    x[0] = 1.27f, x[1] = -0.5f, x[2] = 0.004f, x[3] = 0.006f;
    CHECK(hone_quantize_row(HONE_TYPE_INT8_CH, x, buf, 64) == HONE_OK);
    CHECKF(half_at(buf) == to_half(0.01f), "int8: d %g", half_at(buf));
    const int8_t *q = (const int8_t *)buf + 2;
    CHECKF(q[0] == 127 && q[1] == -50 && q[2] == 0 && q[3] == 1, "int8 codes: %d %d %d %d", q[0], q[1], q[2], q[3]);
    /* log3: magnitudes 1, 1/2, 1/4 and zero */
    for (int j = 0; j < 32; j++) x[j] = 0.0f;
    const float l[6] = {1.0f, -0.6f, 0.3f, 0.2f, 0.1f, 0.01f};
    memcpy(x, l, sizeof l);
    CHECK(hone_quantize_row(HONE_TYPE_LOG3_G32, x, buf, 32) == HONE_OK);
    hone_dequantize_row(HONE_TYPE_LOG3_G32, buf, y, 32);
    CHECKF(y[0] == 1.0f && y[1] == -0.5f && y[2] == 0.25f && y[3] == 0.25f && y[4] == 0.0f && y[5] == 0.0f,
           "log3: %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5]);
}

/* The byte layouts of docs/formats.md, from bytes computed by hand. */
static void packing(void) {
    uint8_t b[64];
    float x[32];
    /* ASYM4: x_j = j % 16 on [0, 15]: d = 1, codes j % 16; byte j = code j | code (j + 16) << 4 */
    for (int j = 0; j < 32; j++) x[j] = (float)(j % 16);
    CHECK(hone_quantize_row(HONE_TYPE_ASYM4_G32, x, b, 32) == HONE_OK);
    bool ok = half_at(b) == 1.0f && half_at(b + 2) == 0.0f;
    for (int j = 0; j < 16; j++) ok &= b[4 + j] == (uint8_t)(j | j << 4);
    CHECKF(ok, "asym4 packing");
    /* ASYM3: x_j = j % 8 on [0, 7]: low plane byte i = (i & 3) * 0x55; high plane bit j = bit 2 of j % 8 */
    for (int j = 0; j < 32; j++) x[j] = (float)(j % 8);
    CHECK(hone_quantize_row(HONE_TYPE_ASYM3_G32, x, b, 32) == HONE_OK);
    ok = half_at(b) == 1.0f;
    for (int i = 0; i < 8; i++) ok &= b[4 + i] == (uint8_t)((i & 3) * 0x55);
    for (int i = 0; i < 4; i++) ok &= b[12 + i] == 0xF0;
    CHECKF(ok, "asym3 packing: %02x %02x %02x %02x | %02x", b[4], b[5], b[6], b[7], b[12]);
    /* ASYM2: x_j = j / 8 on [0, 3]: every low-plane byte is 0 | 1 << 2 | 2 << 4 | 3 << 6 = 0xE4 */
    for (int j = 0; j < 32; j++) x[j] = (float)(j / 8);
    CHECK(hone_quantize_row(HONE_TYPE_ASYM2_G32, x, b, 32) == HONE_OK);
    ok = true;
    for (int i = 0; i < 8; i++) ok &= b[4 + i] == 0xE4;
    CHECKF(ok, "asym2 packing: %02x", b[4]);
    /* LOG4: s = 1; 1 -> code 7, -1/64 -> 8 | 1, 0 -> 0, -0.5 -> 8 | 6 */
    for (int j = 0; j < 32; j++) x[j] = 0.0f;
    x[0] = 1.0f, x[1] = -1.0f / 64, x[16] = -0.5f;
    CHECK(hone_quantize_row(HONE_TYPE_LOG4_G32, x, b, 32) == HONE_OK);
    CHECKF(half_at(b) == 1.0f && b[2] == (7 | (8 | 6) << 4) && b[3] == (8 | 1) && b[4] == 0, "log4 packing: %02x %02x",
           b[2], b[3]);
}

static void fill(float *x, int n, int dist) {
    const float c = -0.3f + 0.01f * normal();
    for (int i = 0; i < n; i++)
        x[i] = dist == 0 ? 0.02f * normal() : dist == 1 ? 0.02f * normal() / (0.05f + uni()) : dist == 2 ? c : 0.0f;
}

static void round_trip(void) {
    static const char *DIST[4] = {"random", "heavy-tailed", "constant", "zero"};
    static float x[N], y[N];
    static uint8_t buf[N * 2];
    for (int ti = HONE_TYPE_INT8_G32; ti <= HONE_TYPE_LOG3_CH; ti++) {
        const hone_type t = (hone_type)ti;
        const hone_tb_layout *L = hone_tb_layout_of(t);
        const char *name = hone_type_get((uint32_t)t)->name;
        const size_t bs = hone_type_get((uint32_t)t)->type_size;
        const int g = L->group ? L->group : N; /* the grid's extent */
        const int levels = (1 << L->bits) - 1;
        for (int dist = 0; dist < 4; dist++) {
            fill(x, N, dist);
            CHECK(hone_quantize_row(t, x, buf, N) == HONE_OK);
            hone_dequantize_row(t, buf, y, N);
            int bad = 0;
            for (int b0 = 0; b0 < N; b0 += g) {
                float mn = x[b0], mx = x[b0], amax = 0.0f;
                for (int i = b0; i < b0 + g; i++) {
                    mn = fminf(mn, x[i]);
                    mx = fmaxf(mx, x[i]);
                    amax = fmaxf(amax, fabsf(x[i]));
                }
                const uint8_t *h = buf + (size_t)(b0 / L->block) * bs;
                const float d = half_at(h), m = L->kind == HONE_TB_ASYM ? half_at(h + 2) : 0.0f;
                /* the header is the textbook parameter, rounded to half */
                const float want_d = L->kind == HONE_TB_INT8 ? amax / 127.0f
                                     : L->kind == HONE_TB_ASYM ? (mx - mn) / (float)levels
                                                               : amax;
                CHECKF(d == to_half(want_d) && m == (L->kind == HONE_TB_ASYM ? to_half(mn) : 0.0f),
                       "%s %s: header d %g m %g, want half(%g), half(%g)", name, DIST[dist], d, m, want_d, mn);
                for (int i = b0; i < b0 + g; i++) {
                    const float ax = fabsf(x[i]), e = fabsf(y[i] - x[i]);
                    float bound;
                    if (L->kind == HONE_TB_INT8) bound = fmaxf(d / 2, ax - 127.0f * d);
                    else if (L->kind == HONE_TB_ASYM) bound = fmaxf(fmaxf(d / 2, m - mn), mx - (m + levels * d));
                    else {
                        const int nm = (1 << (L->bits - 1)) - 1;
                        const float smallest = ldexpf(d, -(nm - 1));
                        bound = ax >= smallest ? fmaxf(ax / 3.0f, ax - d) : smallest / 2.0f;
                    }
                    if (!(e <= bound * 1.000001f + 1e-12f) && bad++ < 3)
                        CHECKF(0, "%s %s: x[%d] %g -> %g (bound %g)", name, DIST[dist], i, x[i], y[i], bound);
                    if (dist == 2 && L->kind == HONE_TB_ASYM && y[i] != to_half(x[i]) && bad++ < 3)
                        CHECKF(0, "%s constant: %g -> %g, want its half value", name, x[i], y[i]);
                    if (dist == 3 && y[i] != 0.0f && bad++ < 3) CHECKF(0, "%s zero: -> %g", name, y[i]);
                }
            }
            CHECKF(bad == 0, "%s %s: %d elements out of bounds", name, DIST[dist], bad);
            /* per channel: one header for the whole row */
            if (L->group == 0)
                for (int b = 1; b < N / L->block; b++)
                    CHECKF(memcmp(buf, buf + (size_t)b * bs, (size_t)L->hdr) == 0, "%s: block %d's header differs",
                           name, b);
        }
        /* groups are independent; per channel, an outlier changes every block's header */
        static uint8_t buf2[N * 2];
        fill(x, N, 0);
        hone_quantize_row(t, x, buf, N);
        x[5] = 1.0f;
        hone_quantize_row(t, x, buf2, N);
        const size_t row = hone_row_size(t, N);
        if (L->group) CHECKF(memcmp(buf + bs, buf2 + bs, row - bs) == 0, "%s: a change in group 0 leaks", name);
        else CHECKF(memcmp(buf + bs, buf2 + bs, (size_t)L->hdr) != 0, "%s: per-channel grid not shared", name);
    }
}

#include "quant/quant_search.h"

static double werr(hone_type t, const uint8_t *q, const float *x, const float *w, int n) {
    static float y[N];
    hone_dequantize_row(t, q, y, n);
    double e = 0.0;
    for (int i = 0; i < n; i++) e += (double)w[i] * ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    return e;
}

static void calibrated(void) {
    static float x[N], w[N];
    static uint8_t a[N * 2], b[N * 2];
    for (int ti = HONE_TYPE_INT8_G32; ti <= HONE_TYPE_LOG3_CH; ti++) {
        const hone_type t = (hone_type)ti;
        const hone_tb_layout *L = hone_tb_layout_of(t);
        const char *name = hone_type_get((uint32_t)t)->name;
        const size_t row = hone_row_size(t, N);
        fill(x, N, 1);
        for (int i = 0; i < N; i++) w[i] = 0.1f + uni() * uni() * 4.0f;
        CHECK(hone_quantize_row(t, x, a, N) == HONE_OK);
        CHECK(hone_tb_quantize_row_weighted(t, x, b, N, NULL) == HONE_OK);
        CHECKF(memcmp(a, b, row) == 0, "%s: no importances must give the textbook bytes", name);
        CHECK(hone_quantize_row_search(t, x, b, N, w) == HONE_OK);
        const double e0 = werr(t, a, x, w, N), e1 = werr(t, b, x, w, N);
        CHECKF(e1 <= e0, "%s: weighted error %g above the textbook grid's %g", name, e1, e0);
        if (L->bits <= 4 && L->kind != HONE_TB_LOG)
            CHECKF(e1 < 0.9 * e0, "%s: heavy-tailed rows: %g not below 0.9 x %g", name, e1, e0);
        static float y[N];
        hone_dequantize_row(t, b, y, N);
        int bad = 0;
        for (int i = 0; i < N; i++) bad += !isfinite(y[i]);
        CHECKF(bad == 0, "%s: %d non-finite values", name, bad);
        /* one extreme weight that does not matter: at 4 and 8 bits the grid clips it (at 2-3 bits, or
         * with power-of-two codes, even half the range leaves steps far above the other weights'
         * spread, so clipping buys nothing and need not happen) */
        if (L->bits < 4 || L->kind == HONE_TB_LOG) continue;
        for (int i = 0; i < N; i++) x[i] = 0.01f * normal(), w[i] = 1.0f;
        x[5] = 1.0f;
        w[5] = 0.0f;
        CHECK(hone_quantize_row_search(t, x, b, N, w) == HONE_OK);
        hone_dequantize_row(t, b, y, N);
        CHECKF(y[5] < 0.9f, "%s: an unimportant extreme weight must be clipped (-> %g)", name, y[5]);
    }
}

static void schemes(void) {
    hone_scheme s;
    char note[112];
    CHECK(hone_scheme_parse("asym5", 0, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_scheme_parse("int4", 0, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_scheme_parse("log4", -1, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_scheme_parse("asym4", 48, &s) == HONE_ERR_INVALID_ARG);
    CHECK(hone_scheme_parse("asym4", 32, &s) == HONE_OK);
    CHECK(hone_scheme_type(&s, 576, note, sizeof note) == HONE_TYPE_ASYM4_G32 && note[0] == '\0');
    CHECK(fabs(hone_scheme_bpw(&s, 576) - 5.0) < 1e-9);
    CHECK(hone_scheme_parse("asym4", 128, &s) == HONE_OK);
    CHECK(hone_scheme_type(&s, 1536, note, sizeof note) == HONE_TYPE_ASYM4_G128);
    CHECKF(hone_scheme_type(&s, 576, note, sizeof note) == HONE_TYPE_ASYM4_G64 && strstr(note, "ASYM4_G64"),
           "g128 on 576: note '%s'", note);
    CHECK(hone_scheme_parse("asym4", 0, &s) == HONE_OK);
    CHECK(hone_scheme_type(&s, 576, note, sizeof note) == HONE_TYPE_ASYM4_CH && fabs(hone_scheme_bpw(&s, 576) - 4.5) < 1e-9);
    CHECKF(hone_scheme_type(&s, 96, note, sizeof note) == HONE_TYPE_ASYM4_G32 && strstr(note, "fallback"), "ch on 96: %s",
           note);
    CHECKF(hone_scheme_type(&s, 48, note, sizeof note) == HONE_TYPE_F16 && strstr(note, "F16"), "48: %s", note);
    CHECK(hone_scheme_parse("int8", 0, &s) == HONE_OK && fabs(hone_scheme_bpw(&s, 576) - 8.25) < 1e-9);
    char buf[32];
    CHECK(strcmp(hone_scheme_name(&s, buf, sizeof buf), "int8/channel") == 0);
    CHECK(hone_scheme_parse("log3", 32, &s) == HONE_OK && hone_scheme_type(&s, 64, NULL, 0) == HONE_TYPE_LOG3_G32 &&
          fabs(hone_scheme_bpw(&s, 64) - 3.5) < 1e-9);
    CHECK(hone_row_size(HONE_TYPE_ASYM3_CH, 576) == 9 * 28);
    CHECK(hone_type_from_name("asym4_g32") == HONE_TYPE_ASYM4_G32);
    CHECK(hone_type_get(HONE_TYPE_LOG4_CH)->computable && hone_type_get(HONE_TYPE_LOG4_CH)->vec_dot_type == HONE_TYPE_Q8_0);
}

static bool on_piece(void *user, int32_t seq, const char *text, size_t len, hone_token t) {
    (void)seq, (void)text, (void)len, (void)t;
    ++*(int *)user;
    return true;
}

static void model(void) {
    const char *mp = test_model_path();
    if (!mp) {
        printf("default model not cached: model part skipped\n");
        return;
    }
    char out[] = "/tmp/hone_tb_XXXXXX";
    const int fd = mkstemp(out);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    hone_quantize_params p = hone_quantize_default_params();
    p.scheme = "asym4";
    p.group = 32;
    p.allow_requantize = true;
    p.type = "F16";
    hone_quantize_result r;
    hone_status st = hone_quantize_file(mp, out, &p, &r);
    CHECKF(st == HONE_OK, "quantize: %s", hone_last_error());
    if (st == HONE_OK) {
        CHECKF(r.bytes_out < r.bytes_in, "asym4/g32 %llu bytes, input %llu", (unsigned long long)r.bytes_out,
               (unsigned long long)r.bytes_in);
        int n_tb = 0;
        for (int64_t i = 0; i < r.n_items; i++) n_tb += r.plan[i].to == HONE_TYPE_ASYM4_G32 && r.plan[i].convert;
        CHECKF(n_tb == 30 * 7 + 1, "%d tensors became ASYM4_G32", n_tb);
        hone_model *m = NULL;
        st = hone_model_load(out, NULL, &m);
        CHECKF(st == HONE_OK, "load: %s", hone_last_error());
        if (m) {
            CHECKF(strstr(hone_model_desc(m), "ASYM4_G32") != NULL, "desc %s", hone_model_desc(m));
            hone_session_params sp = hone_session_default_params();
            sp.n_ctx = 64;
            sp.n_threads = 2;
            hone_session *s = NULL;
            CHECK(hone_session_create(m, &sp, &s) == HONE_OK);
            if (s) {
                hone_generate_params gp = hone_generate_default_params();
                gp.max_tokens = 6;
                gp.sampling.temperature = 0.0f;
                int pieces = 0;
                gp.on_piece = on_piece;
                gp.user = &pieces;
                hone_generate_result gr;
                st = hone_generate(s, "The capital of France is", &gp, &gr);
                CHECKF(st == HONE_OK && gr.n_generated[0] > 0 && pieces > 0, "generate: %s (%d tokens)",
                       st ? hone_last_error() : "ok", gr.n_generated[0]);
                hone_session_free(s);
            }
            hone_model_free(m);
        }
    }
    hone_quantize_result_free(&r);
    unlink(out);
}

int main(void) {
    worked_examples();
    packing();
    round_trip();
    calibrated();
    schemes();
    model();
    return test_finish();
}
