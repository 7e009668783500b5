/*
 * model.c - hone_model_load / free and the token-level public API.
 *
 * Loading opens the GGUF (mmapped), builds the vocabulary, finds the
 * architecture named by general.architecture and lets it bind its tensors.
 * Weights are never copied: hone_mat views point into the mapping. The matrices' activation
 * modes (hone.act.* keys, see kernels/cpu/act_quant.h) are read while binding and checked here
 * once the architecture has bound them all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "kernels/cpu/act_quant.h"
#include "model/model.h"

hone_model_params hone_model_default_params(void) {
    hone_model_params p = {.use_mmap = true, .vocab_only = false};
    return p;
}

static void describe(hone_model *m) {
    /* parameter count and dominant weight type, e.g. "llama 135M Q4_1" */
    uint64_t params = 0;
    uint64_t by_type[HONE_TYPE_COUNT] = {0};
    for (int64_t i = 0; i < gguf_n_tensors(m->file); i++) {
        const gguf_tensor *t = gguf_tensor_at(m->file, i);
        uint64_t ne = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) ne *= (uint64_t)t->ne[d];
        params += ne;
        by_type[t->type] += ne;
    }
    int best = 0;
    for (int i = 0; i < HONE_TYPE_COUNT; i++)
        if (by_type[i] > by_type[best]) best = i;
    const hone_type_info *ti = hone_type_get((uint32_t)best);
    snprintf(m->desc, sizeof m->desc, "%s %.0fM %s", m->arch ? m->arch->name : "vocab", params / 1e6,
             ti ? ti->name : "?");
}

/* The tensor a bound matrix views (found by its data), for messages. */
static const char *mat_name(const hone_model *m, const hone_mat *w) {
    for (int64_t i = 0; i < gguf_n_tensors(m->file); i++)
        if (gguf_tensor_at(m->file, i)->data == w->data) return gguf_tensor_at(m->file, i)->name;
    return "?";
}

static hone_status act_missing(const hone_model *m, const hone_mat *w) {
    if (!w->data || w->act_mode != HONE_ACT_STATIC || w->act_scale > 0.0f) return HONE_OK;
    return hone_err(HONE_ERR_FORMAT, "%s: activations are %s but key '%s%s' (the scale of tensor '%s') is missing",
                    gguf_path(m->file), act_mode_name(HONE_ACT_STATIC), HONE_ACT_KEY_SCALE_PREFIX, mat_name(m, w),
                    mat_name(m, w));
}

/* Matrices that take the same input share one quantised copy of it in the forward pass, so their
 * modes and static scales must agree (calibration gives them equal statistics). */
static hone_status act_same(const hone_model *m, const hone_mat *a, const hone_mat *b) {
    if (!a->data || !b->data || !act_type_has_mode(a->type) || !act_type_has_mode(b->type)) return HONE_OK;
    if (a->act_mode == b->act_mode && a->act_scale == b->act_scale) return HONE_OK;
    return hone_err(HONE_ERR_FORMAT, "%s: tensors '%s' and '%s' take the same input but have different activation "
                    "scales (%g and %g)", gguf_path(m->file), mat_name(m, a), mat_name(m, b), (double)a->act_scale,
                    (double)b->act_scale);
}

static hone_status act_check(hone_model *m) {
    if (m->output.data != m->tok_embd.data) { /* an untied embedding is only read row by row */
        m->tok_embd.act_mode = HONE_ACT_DYNAMIC;
        m->tok_embd.act_scale = 0.0f;
    }
    hone_status st = act_missing(m, &m->output);
    for (int il = 0; !st && il < m->hp.n_layer; il++) {
        const hone_layer *L = &m->layers[il];
        const hone_mat *mats[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
        for (int i = 0; !st && i < 7; i++) st = act_missing(m, mats[i]);
        if (!st) st = act_same(m, &L->wq, &L->wk);
        if (!st) st = act_same(m, &L->wq, &L->wv);
        if (!st) st = act_same(m, &L->w_gate, &L->w_up);
    }
    return st;
}

hone_status hone_model_load(const char *path, const hone_model_params *params, hone_model **out) {
    if (!path || !out) return hone_err(HONE_ERR_INVALID_ARG, "hone_model_load: path and out are required");
    *out = NULL;
    hone_model_params p = params ? *params : hone_model_default_params();
    hone_model *m = calloc(1, sizeof *m);
    if (!m) return hone_err(HONE_ERR_NOMEM, "out of memory loading %s", path);
    hone_status st = gguf_open(path, p.use_mmap, &m->file);
    if (st) goto fail;
    if ((st = vocab_load(m->file, &m->vocab))) goto fail;
    const char *tmpl = NULL;
    if (gguf_get_str(m->file, "tokenizer.chat_template", &tmpl) == HONE_OK) m->chat_template = tmpl;

    if (!p.vocab_only) {
        const char *arch = NULL;
        st = gguf_get_str(m->file, "general.architecture", &arch);
        if (st) {
            st = hone_err(HONE_ERR_FORMAT, "%s: key 'general.architecture' is missing or not a string", path);
            goto fail;
        }
        m->arch = hone_arch_find(arch);
        if (!m->arch) {
            st = hone_err(HONE_ERR_UNSUPPORTED, "%s: architecture '%s' is not supported (supported: llama)", path,
                          arch);
            goto fail;
        }
        if ((st = m->arch->bind(m))) goto fail;
        if (m->layers && (st = act_check(m))) goto fail;
        if (m->hp.n_vocab != vocab_n_tokens(m->vocab)) {
            st = hone_err(HONE_ERR_FORMAT, "%s: the embedding has %d rows but the vocabulary %d tokens", path,
                          m->hp.n_vocab, vocab_n_tokens(m->vocab));
            goto fail;
        }
    }
    describe(m);
    *out = m;
    return HONE_OK;
fail:
    hone_model_free(m);
    return st;
}

void hone_model_free(hone_model *m) {
    if (!m) return;
    free(m->layers);
    vocab_free(m->vocab);
    gguf_close(m->file);
    free(m);
}

int32_t hone_model_n_vocab(const hone_model *m) { return vocab_n_tokens(m->vocab); }
int32_t hone_model_n_ctx_train(const hone_model *m) { return m->hp.n_ctx_train; }
const char *hone_model_desc(const hone_model *m) { return m->desc; }

hone_token hone_token_bos(const hone_model *m) { return vocab_bos(m->vocab); }
hone_token hone_token_eos(const hone_model *m) { return vocab_eos(m->vocab); }
bool hone_token_is_eog(const hone_model *m, hone_token t) { return vocab_is_eog(m->vocab, t); }

hone_status hone_tokenize(const hone_model *m, const char *text, size_t len, bool add_special, bool parse_special,
                          hone_token *out, size_t cap, size_t *n_out) {
    if (!m || (!text && len) || !n_out) return hone_err(HONE_ERR_INVALID_ARG, "hone_tokenize: bad arguments");
    return vocab_tokenize(m->vocab, text ? text : "", len, add_special, parse_special, out, cap, n_out);
}

int32_t hone_token_to_piece(const hone_model *m, hone_token t, bool special, char *buf, size_t cap) {
    return vocab_token_to_piece(m->vocab, t, special, buf, cap);
}
