/*
 * test_qplan.c - the quantisation plan (presets, llama.cpp's mixing rules, fallbacks) and the
 * driver's file handling, on a synthetic 30-layer model with SmolLM2-135M's row lengths (576 and
 * 1536, so every K-quant on a 576-wide tensor must fall back) but only a few rows per tensor.
 *
 * Checks the per-tensor types of Q4_K_M, Q3_K_M, Q2_K, Q6_K, Q8_0, --pure, --output-type and the
 * calibrated Q4_0 ffn_down guard against the rules in docs/quantize.md; that hone_quantize_file
 * writes those types with general.file_type set; and that failures (unknown type, quantised input
 * without --allow-requantize, a missing output directory) leave no file behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress/qplan.h"
#include "compress/quantize.h"
#include "formats/gguf.h"
#include "harness.h"
#include "quant/quant.h"

#define NL 30
#define ROWS 4

static char dir[256];
static char model_path[300];
static float *zeros;

static void add(gguf_writer *w, const char *name, int64_t nx, int64_t ny, int dims) {
    const int64_t ne[2] = {nx, ny};
    const size_t n = (size_t)(nx * (dims > 1 ? ny : 1));
    CHECK(gguf_writer_add_tensor(w, name, HONE_TYPE_F32, (uint32_t)dims, ne, zeros, n * sizeof(float)) == HONE_OK);
}

static void make_model(void) {
    zeros = calloc(1536 * 64, sizeof(float));
    for (int i = 0; i < 1536 * 64; i++) zeros[i] = (float)((i * 7919) % 1000 - 500) / 5000.0f;
    gguf_writer *w = gguf_writer_create();
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "llama.block_count", NL);
    gguf_writer_set_u32(w, "llama.embedding_length", 576);
    gguf_writer_set_u32(w, "llama.attention.head_count", 9);
    gguf_writer_set_u32(w, "llama.attention.head_count_kv", 3);
    gguf_writer_set_u32(w, "general.file_type", 0);
    add(w, "token_embd.weight", 576, 64, 2);
    char name[NL * 10][64];
    int k = 0;
    for (int l = 0; l < NL; l++) {
        static const char *roles[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"};
        for (int r = 0; r < 6; r++) {
            snprintf(name[k], 64, "blk.%d.%s.weight", l, roles[r]);
            add(w, name[k++], 576, ROWS, 2);
        }
        snprintf(name[k], 64, "blk.%d.ffn_down.weight", l);
        add(w, name[k++], 1536, ROWS, 2);
        snprintf(name[k], 64, "blk.%d.attn_norm.weight", l);
        add(w, name[k++], 576, 1, 1);
    }
    add(w, "output_norm.weight", 576, 1, 1);
    CHECK(gguf_writer_write(w, model_path) == HONE_OK);
    gguf_writer_free(w);
}

typedef struct {
    const char *name;
    hone_type to;
} expect;

static bool more_bits(int i) { return i < NL / 8 || i >= 7 * NL / 8 || (i - NL / 8) % 3 == 2; }

static void check_plan(gguf_file *f, const char *preset, bool pure, int out_type, bool calib,
                       hone_type (*rule)(const char *role, int layer)) {
    hone_qplan_params p = {hone_qpreset_find(preset), pure, out_type, -1, calib};
    CHECKF(p.preset != NULL, "preset %s", preset);
    if (!p.preset) return;
    hone_qplan_item *it = NULL;
    int64_t n = 0;
    CHECK(hone_qplan_build(f, &p, &it, &n) == HONE_OK);
    for (int64_t i = 0; i < n; i++) {
        int layer = -1;
        char role[64] = "";
        if (sscanf(it[i].name, "blk.%d.%63[^.]", &layer, role) != 2) snprintf(role, sizeof role, "%s", it[i].name);
        const hone_type want = rule(role, layer);
        const hone_type got = it[i].convert ? it[i].to : it[i].from;
        CHECKF(got == want, "%s%s: %s got %s, want %s (%s)", preset, pure ? " pure" : "", it[i].name,
               hone_type_get(got)->name, hone_type_get(want)->name, it[i].note);
        if (strstr(it[i].name, "_norm")) CHECKF(!it[i].convert, "%s: norms are copied", it[i].name);
    }
    free(it);
}

static bool is_norm(const char *role) { return strstr(role, "norm") != NULL; }

static hone_type r_q4km(const char *role, int l) {
    if (is_norm(role)) return HONE_TYPE_F32;
    if (!strcmp(role, "token_embd.weight")) return HONE_TYPE_Q8_0; /* tied output: Q6_K does not fit 576 */
    if (!strcmp(role, "ffn_down")) return more_bits(l) ? HONE_TYPE_Q6_K : HONE_TYPE_Q4_K;
    if (!strcmp(role, "attn_v")) return more_bits(l) ? HONE_TYPE_Q8_0 : HONE_TYPE_Q5_0; /* fallbacks */
    return HONE_TYPE_Q5_0; /* Q4_K on 576 columns */
}
static hone_type r_q3km(const char *role, int l) {
    if (is_norm(role)) return HONE_TYPE_F32;
    if (!strcmp(role, "token_embd.weight")) return HONE_TYPE_Q8_0;
    if (!strcmp(role, "ffn_down")) return l < NL / 16 ? HONE_TYPE_Q5_K : HONE_TYPE_Q4_K;
    if (!strcmp(role, "attn_v")) return l < 2 ? HONE_TYPE_Q5_1 : HONE_TYPE_Q5_0;
    if (!strcmp(role, "attn_output")) return HONE_TYPE_Q5_0;
    return HONE_TYPE_IQ4_NL; /* Q3_K on 576 columns: llama.cpp's fallback */
}
static hone_type r_q2k(const char *role, int l) {
    (void)l;
    if (is_norm(role)) return HONE_TYPE_F32;
    if (!strcmp(role, "token_embd.weight")) return HONE_TYPE_Q8_0;
    if (!strcmp(role, "ffn_down")) return HONE_TYPE_Q3_K;
    return HONE_TYPE_IQ4_NL; /* Q2_K (and attn_v/attn_output's Q3_K) on 576 columns */
}
static hone_type r_q8(const char *role, int l) {
    (void)l;
    return is_norm(role) ? HONE_TYPE_F32 : HONE_TYPE_Q8_0;
}
static hone_type r_f16(const char *role, int l) {
    (void)l;
    return is_norm(role) ? HONE_TYPE_F32 : HONE_TYPE_F16;
}
static hone_type r_q4k_pure(const char *role, int l) {
    (void)l;
    if (is_norm(role)) return HONE_TYPE_F32;
    return !strcmp(role, "ffn_down") ? HONE_TYPE_Q4_K : HONE_TYPE_Q5_0;
}
static hone_type r_q4_0_calib(const char *role, int l) {
    if (is_norm(role)) return HONE_TYPE_F32;
    if (!strcmp(role, "token_embd.weight")) return HONE_TYPE_Q8_0;
    if (!strcmp(role, "ffn_down") && l < NL / 8) return HONE_TYPE_Q4_1;
    return HONE_TYPE_Q4_0;
}
/* IQ4_NL as a type: llama.cpp's guard gives the first eighth of ffn_down Q5_K without calibration */
static hone_type r_iq4nl(const char *role, int l) {
    if (is_norm(role)) return HONE_TYPE_F32;
    if (!strcmp(role, "token_embd.weight")) return HONE_TYPE_Q8_0;
    if (!strcmp(role, "ffn_down") && l < NL / 8) return HONE_TYPE_Q5_K;
    return HONE_TYPE_IQ4_NL;
}
static hone_type r_iq4nl_calib(const char *role, int l) {
    (void)l;
    if (is_norm(role)) return HONE_TYPE_F32;
    if (!strcmp(role, "token_embd.weight")) return HONE_TYPE_Q8_0;
    return HONE_TYPE_IQ4_NL;
}
static hone_type r_q6k_out_f16(const char *role, int l) {
    (void)l;
    if (is_norm(role)) return HONE_TYPE_F32;
    if (!strcmp(role, "token_embd.weight")) return HONE_TYPE_F16;
    return !strcmp(role, "ffn_down") ? HONE_TYPE_Q6_K : HONE_TYPE_Q8_0;
}

static bool exists(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0;
}

static int count_files(const char *d) {
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", d);
    FILE *fp = popen(cmd, "r");
    int n = -1;
    if (fp) {
        if (fscanf(fp, "%d", &n) != 1) n = -1;
        pclose(fp);
    }
    return n;
}

static void test_driver(void) {
    char out[400], out2[400];
    snprintf(out, sizeof out, "%s/q4km.gguf", dir);
    hone_quantize_params p = hone_quantize_default_params();
    p.type = "Q4_K_M";
    p.n_threads = 2;
    hone_quantize_result r;
    CHECK(hone_quantize_file(model_path, out, &p, &r) == HONE_OK);
    CHECK(r.n_items == 1 + NL * 8 + 1);
    hone_quantize_result_free(&r);
    gguf_file *f = NULL;
    CHECK(gguf_open(out, true, &f) == HONE_OK);
    if (f) {
        uint32_t ft = 0;
        CHECK(gguf_get_u32(f, "general.file_type", &ft) == HONE_OK && ft == 15);
        CHECK(gguf_find_tensor(f, "blk.0.ffn_down.weight")->type == HONE_TYPE_Q6_K);
        CHECK(gguf_find_tensor(f, "blk.3.ffn_down.weight")->type == HONE_TYPE_Q4_K);
        CHECK(gguf_find_tensor(f, "blk.3.attn_q.weight")->type == HONE_TYPE_Q5_0);
        /* the data really is the input quantised: dequantise a row and compare */
        const gguf_tensor *t = gguf_find_tensor(f, "blk.3.attn_q.weight");
        float row[576];
        hone_dequantize_row(t->type, t->data, row, 576);
        double err = 0, ref = 0;
        for (int i = 0; i < 576; i++) {
            err += (row[i] - zeros[i]) * (row[i] - zeros[i]);
            ref += zeros[i] * zeros[i];
        }
        CHECKF(err < 0.01 * ref, "Q5_0 row error %g of %g", err, ref);
    }
    /* quantised input needs --allow-requantize */
    snprintf(out2, sizeof out2, "%s/again.gguf", dir);
    p.type = "Q8_0";
    CHECK(hone_quantize_file(out, out2, &p, &r) == HONE_ERR_INVALID_ARG && r.stage == HONE_QSTAGE_ARGS);
    hone_quantize_result_free(&r);
    CHECK(!exists(out2));
    p.allow_requantize = true;
    CHECK(hone_quantize_file(out, out2, &p, &r) == HONE_OK && r.requantized);
    hone_quantize_result_free(&r);
    gguf_close(f);
    /* unknown type; missing output directory: no file left anywhere */
    p.type = "Q7_K";
    CHECK(hone_quantize_file(model_path, out2, &p, &r) == HONE_ERR_INVALID_ARG);
    hone_quantize_result_free(&r);
    p.type = "Q4_0";
    const int before = count_files(dir);
    snprintf(out2, sizeof out2, "%s/no/such/dir/x.gguf", dir);
    CHECK(hone_quantize_file(model_path, out2, &p, &r) == HONE_ERR_IO && r.stage == HONE_QSTAGE_OUTPUT);
    hone_quantize_result_free(&r);
    CHECK(count_files(dir) == before);
    /* truncated input */
    snprintf(out2, sizeof out2, "%s/trunc.gguf", dir);
    char cmd[900];
    snprintf(cmd, sizeof cmd, "head -c 5000 '%s' > '%s'", model_path, out2);
    CHECK(system(cmd) == 0);
    snprintf(out, sizeof out, "%s/from_trunc.gguf", dir);
    CHECK(hone_quantize_file(out2, out, &p, &r) != HONE_OK && r.stage == HONE_QSTAGE_INPUT);
    hone_quantize_result_free(&r);
    CHECK(!exists(out));
    /* statistics of another model are refused (here: 12 layers for a 30-layer model) */
    char calib[400];
    snprintf(calib, sizeof calib, "%s/calib.gguf", dir);
    gguf_writer *w = gguf_writer_create();
    gguf_writer_set_u32(w, "hone.calib.version", 1);
    gguf_writer_set_u32(w, "hone.calib.block_count", 12);
    gguf_writer_set_u32(w, "hone.calib.embedding_length", 576);
    CHECK(gguf_writer_write(w, calib) == HONE_OK);
    gguf_writer_free(w);
    p.calib_path = calib;
    CHECK(hone_quantize_file(model_path, out, &p, &r) == HONE_ERR_INVALID_ARG && r.stage == HONE_QSTAGE_INPUT);
    CHECK(strstr(hone_last_error(), "another model") != NULL);
    hone_quantize_result_free(&r);
    CHECK(!exists(out));
    /* a statistics file naming a tensor the model lacks is refused too */
    w = gguf_writer_create();
    gguf_writer_set_u32(w, "hone.calib.version", 1);
    gguf_writer_set_u32(w, "hone.calib.block_count", NL);
    gguf_writer_set_u32(w, "hone.calib.embedding_length", 576);
    const int64_t ne[1] = {576};
    gguf_writer_add_tensor(w, "blk.99.attn_q.weight.in_sqr", HONE_TYPE_F32, 1, ne, zeros, 576 * 4);
    CHECK(gguf_writer_write(w, calib) == HONE_OK);
    gguf_writer_free(w);
    CHECK(hone_quantize_file(model_path, out, &p, &r) == HONE_ERR_INVALID_ARG);
    hone_quantize_result_free(&r);
    /* matching statistics: every weight matrix with a statistic is quantised with importances */
    w = gguf_writer_create();
    gguf_writer_set_u32(w, "hone.calib.version", 1);
    gguf_writer_set_u32(w, "hone.calib.block_count", NL);
    gguf_writer_set_u32(w, "hone.calib.embedding_length", 576);
    static float imp[576];
    for (int i = 0; i < 576; i++) imp[i] = 0.1f + (float)(i % 7);
    gguf_writer_add_tensor(w, "blk.3.attn_q.weight.in_sqr", HONE_TYPE_F32, 1, ne, imp, 576 * 4);
    CHECK(gguf_writer_write(w, calib) == HONE_OK);
    gguf_writer_free(w);
    CHECK(hone_quantize_file(model_path, out, &p, &r) == HONE_OK && r.calibrated && r.n_calibrated == 1);
    hone_quantize_result_free(&r);
    /* not a statistics file at all */
    p.calib_path = model_path;
    CHECK(hone_quantize_file(model_path, out2, &p, &r) == HONE_ERR_FORMAT && r.stage == HONE_QSTAGE_INPUT);
    hone_quantize_result_free(&r);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/hone_test_qplan_%d", (int)getpid());
    mkdir(dir, 0755);
    snprintf(model_path, sizeof model_path, "%s/model.gguf", dir);
    make_model();
    gguf_file *f = NULL;
    CHECK(gguf_open(model_path, true, &f) == HONE_OK);
    if (f) {
        check_plan(f, "Q4_K_M", false, -1, false, r_q4km);
        check_plan(f, "q4_k", false, -1, false, r_q4km); /* alias, any case */
        check_plan(f, "Q3_K_M", false, -1, false, r_q3km);
        check_plan(f, "Q2_K", false, -1, false, r_q2k);
        check_plan(f, "Q8_0", false, -1, false, r_q8);
        check_plan(f, "F16", false, -1, false, r_f16);
        check_plan(f, "Q4_K", true, -1, false, r_q4k_pure);
        check_plan(f, "Q4_0", false, -1, true, r_q4_0_calib);
        check_plan(f, "IQ4_NL", false, -1, false, r_iq4nl);
        check_plan(f, "iq4_nl", false, -1, true, r_iq4nl_calib);
        check_plan(f, "Q6_K", false, HONE_TYPE_F16, false, r_q6k_out_f16);
        /* an explicit type whose block does not fit the rows is refused, not silently changed */
        hone_qplan_params p = {hone_qpreset_find("Q4_0"), false, HONE_TYPE_Q4_K, -1, false};
        hone_qplan_item *it = NULL;
        int64_t n = 0;
        CHECK(hone_qplan_build(f, &p, &it, &n) == HONE_ERR_INVALID_ARG);
        free(it);
        CHECK(hone_qpreset_find("Q9_X") == NULL);
        gguf_close(f);
    }
    test_driver();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(zeros);
    return test_finish();
}
