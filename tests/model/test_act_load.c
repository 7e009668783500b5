/*
 * test_act_load.c - the model loader reads the activation modes (hone.act.* keys, see
 * kernels/cpu/act_quant.h) into every weight matrix, and refuses inconsistent files with a
 * message naming the key or tensors.
 *
 * Variants of the default model (Q4_1 matrices, tied Q8_0 embedding) are written with the GGUF
 * writer: int8-token; int8-static with a scale per matrix; static with one key missing, a negative
 * and a NaN scale, gate and up with different scales; an unknown mode and a mode that is not a
 * string. The token and static variants also decode a prompt, whose logits must differ from the
 * dynamic model's (the mode is in effect) and be finite; token mode's must stay close to them
 * (same argmax).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/gguf.h"
#include "harness.h"
#include "kernels/cpu/act_quant.h"
#include "model/model.h"

typedef struct {
    const char *mode;         /* value of hone.act.mode (NULL: no key) */
    bool mode_not_string;     /* write the mode key as a u32 instead */
    float scale;              /* every matrix's static scale (0: no scale keys) */
    const char *odd;          /* one matrix whose key is missing (odd_scale 0) or has odd_scale */
    float odd_scale;
} variant;

static bool is_matrix(const gguf_tensor *t) {
    const size_t n = strlen(t->name);
    return t->n_dims == 2 && n > 7 && strcmp(t->name + n - 7, ".weight") == 0 && !strstr(t->name, "_norm.");
}

static bool write_variant(const gguf_file *f, const variant *v, const char *out) {
    gguf_writer *w = gguf_writer_create();
    bool ok = w != NULL;
    for (int64_t i = 0; ok && i < gguf_n_kv(f); i++) ok = gguf_writer_copy_kv(w, gguf_kv_at(f, i)) == HONE_OK;
    if (ok && v->mode)
        ok = (v->mode_not_string ? gguf_writer_set_u32(w, HONE_ACT_KEY_MODE, 2)
                                 : gguf_writer_set_str(w, HONE_ACT_KEY_MODE, v->mode)) == HONE_OK;
    for (int64_t i = 0; ok && i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        ok = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, t->nbytes) == HONE_OK;
        if (!ok || v->scale <= 0.0f || !is_matrix(t)) continue;
        const bool odd = v->odd && strcmp(t->name, v->odd) == 0;
        if (odd && v->odd_scale == 0.0f) continue;
        char key[200];
        snprintf(key, sizeof key, "%s%s", HONE_ACT_KEY_SCALE_PREFIX, t->name);
        ok = gguf_writer_set_f32(w, key, odd ? v->odd_scale : v->scale) == HONE_OK;
    }
    ok = ok && gguf_writer_write(w, out) == HONE_OK;
    gguf_writer_free(w);
    return ok;
}

/* Load must fail with FORMAT and a message holding `needle`. */
static void expect_refused(const gguf_file *f, const variant *v, const char *path, const char *needle) {
    hone_model *m = NULL;
    CHECK(write_variant(f, v, path));
    const hone_status st = hone_model_load(path, NULL, &m);
    CHECKF(st == HONE_ERR_FORMAT && m == NULL, "%s: loaded (status %d) but should be refused", needle, st);
    CHECKF(strstr(hone_last_error(), needle) != NULL, "message '%s' does not name '%s'", hone_last_error(), needle);
    hone_model_free(m);
}

/* Logits of the last token of a short prompt. */
static bool prompt_logits(const hone_model *m, float *out) {
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = 64;
    sp.n_threads = 2;
    hone_session *s = NULL;
    if (hone_session_create(m, &sp, &s) != HONE_OK) return false;
    const hone_token toks[6] = {504, 3575, 282, 4649, 314, 1};
    int32_t pos[6], seq[6] = {0};
    for (int i = 0; i < 6; i++) pos[i] = i;
    hone_batch b = {6, toks, pos, seq, NULL};
    bool ok = hone_decode(s, &b) == HONE_OK;
    const float *l = ok ? hone_get_logits(s, 5) : NULL;
    if (l) memcpy(out, l, (size_t)hone_model_n_vocab(m) * sizeof *out);
    hone_session_free(s);
    return l != NULL;
}

static int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) b = x[i] > x[b] ? i : b;
    return b;
}

/* Load a variant that must be accepted; check every matrix's mode and compare its logits. */
static void expect_loaded(const gguf_file *f, const variant *v, const char *path, int mode, const float *ref,
                          int n_vocab) {
    hone_model *m = NULL;
    CHECK(write_variant(f, v, path));
    const hone_status st = hone_model_load(path, NULL, &m);
    CHECKF(st == HONE_OK, "%s: %s", v->mode, hone_last_error());
    if (st) return;
    int bad = 0;
    for (int il = 0; il < m->hp.n_layer; il++) {
        const hone_layer *L = &m->layers[il];
        const hone_mat *mats[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; i < 7; i++)
            bad += mats[i]->act_mode != mode || mats[i]->act_scale != (mode == HONE_ACT_STATIC ? v->scale : 0.0f);
    }
    bad += m->output.act_mode != mode;
    CHECKF(bad == 0, "%s: %d matrices without the file's mode", v->mode, bad);
    float *l = malloc((size_t)n_vocab * sizeof *l);
    if (l && prompt_logits(m, l)) {
        double diff = 0.0;
        for (int i = 0; i < n_vocab; i++) diff = fmax(diff, fabs((double)l[i] - ref[i]));
        CHECKF(diff > 0.0, "%s: logits equal the dynamic model's: the mode is not in effect", v->mode);
        CHECKF(isfinite(diff), "%s: logits not finite", v->mode);
        /* one scale for every matrix clips some inputs hard, so only token mode must stay close */
        if (mode == HONE_ACT_TOKEN)
            CHECKF(diff < 5.0 && argmax(l, n_vocab) == argmax(ref, n_vocab), "%s: logits far from dynamic (max %g)",
                   v->mode, diff);
    } else {
        CHECKF(false, "%s: decoding failed: %s", v->mode, hone_last_error());
    }
    free(l);
    hone_model_free(m);
}

int main(void) {
    const char *model = test_model_path();
    if (!model) test_skip("default model not cached");
    gguf_file *f = NULL;
    hone_model *m = NULL;
    if (gguf_open(model, true, &f) != HONE_OK || hone_model_load(model, NULL, &m) != HONE_OK)
        test_skip("default model does not load");
    const int n_vocab = hone_model_n_vocab(m);
    float *ref = malloc((size_t)n_vocab * sizeof *ref);
    CHECK(ref && prompt_logits(m, ref));
    CHECK(m->layers[0].wq.act_mode == HONE_ACT_DYNAMIC && m->output.act_mode == HONE_ACT_DYNAMIC);
    hone_model_free(m);

    char path[64];
    snprintf(path, sizeof path, "/tmp/hone_test_act_%d.gguf", (int)getpid());
    expect_loaded(f, &(variant){"int8-token", false, 0.0f, NULL, 0.0f}, path, HONE_ACT_TOKEN, ref, n_vocab);
    expect_loaded(f, &(variant){"int8-static", false, 0.25f, NULL, 0.0f}, path, HONE_ACT_STATIC, ref, n_vocab);
    expect_refused(f, &(variant){"int8-static", false, 0.25f, "blk.3.attn_k.weight", 0.0f}, path,
                   "hone.act.scale.blk.3.attn_k.weight");
    expect_refused(f, &(variant){"int8-static", false, 0.25f, "blk.1.attn_v.weight", -1.0f}, path,
                   "hone.act.scale.blk.1.attn_v.weight");
    expect_refused(f, &(variant){"int8-static", false, 0.25f, "blk.4.ffn_down.weight", NAN}, path,
                   "hone.act.scale.blk.4.ffn_down.weight");
    expect_refused(f, &(variant){"int8-static", false, 0.25f, "blk.2.ffn_up.weight", 0.5f}, path,
                   "'blk.2.ffn_gate.weight' and 'blk.2.ffn_up.weight'");
    expect_refused(f, &(variant){"int8-perhaps", false, 0.0f, NULL, 0.0f}, path, HONE_ACT_KEY_MODE);
    expect_refused(f, &(variant){"x", true, 0.0f, NULL, 0.0f}, path, HONE_ACT_KEY_MODE);
    unlink(path);
    free(ref);
    gguf_close(f);
    return test_finish();
}
