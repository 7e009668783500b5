/*
 * qplan.c - presets and the per-tensor type rules (see qplan.h and docs/quantize.md).
 *
 * The rules reproduce llama.cpp's choices for the same preset names on dense llama-style models
 * (facts read from its llama-quant.c; the code is hone's own). Layer numbers come from the tensor
 * name (blk.N.), which is what llama.cpp's counters amount to since it visits tensors sorted by
 * layer. Fallbacks for rows that do not fit a K-quant's 256-element block are llama.cpp's too:
 * Q2_K/Q3_K -> IQ4_NL, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0.
 */
#include "compress/qplan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"

static const hone_qpreset PRESETS[] = {
    {"F32", HONE_TYPE_F32, 0, QP_PLAIN, NULL},
    {"F16", HONE_TYPE_F16, 1, QP_PLAIN, NULL},
    {"BF16", HONE_TYPE_BF16, 32, QP_PLAIN, NULL},
    {"Q8_0", HONE_TYPE_Q8_0, 7, QP_PLAIN, NULL},
    {"Q6_K", HONE_TYPE_Q6_K, 18, QP_Q6_K, NULL},
    {"Q5_K_M", HONE_TYPE_Q5_K, 17, QP_Q5_K_M, NULL},
    {"Q5_K_S", HONE_TYPE_Q5_K, 16, QP_Q5_K_S, NULL},
    {"Q5_K", HONE_TYPE_Q5_K, 17, QP_Q5_K_M, "Q5_K_M"},
    {"Q5_1", HONE_TYPE_Q5_1, 9, QP_PLAIN, NULL},
    {"Q5_0", HONE_TYPE_Q5_0, 8, QP_PLAIN, NULL},
    {"Q4_K_M", HONE_TYPE_Q4_K, 15, QP_Q4_K_M, NULL},
    {"Q4_K_S", HONE_TYPE_Q4_K, 14, QP_Q4_K_S, NULL},
    {"Q4_K", HONE_TYPE_Q4_K, 15, QP_Q4_K_M, "Q4_K_M"},
    {"Q4_1", HONE_TYPE_Q4_1, 3, QP_PLAIN, NULL},
    {"Q4_0", HONE_TYPE_Q4_0, 2, QP_PLAIN, NULL},
    {"IQ4_NL", HONE_TYPE_IQ4_NL, 25, QP_PLAIN, NULL},
    {"Q3_K_L", HONE_TYPE_Q3_K, 13, QP_Q3_K_L, NULL},
    {"Q3_K_M", HONE_TYPE_Q3_K, 12, QP_Q3_K_M, NULL},
    {"Q3_K_S", HONE_TYPE_Q3_K, 11, QP_Q3_K_S, NULL},
    {"Q3_K", HONE_TYPE_Q3_K, 12, QP_Q3_K_M, "Q3_K_M"},
    {"Q2_K", HONE_TYPE_Q2_K, 10, QP_Q2_K, NULL},
};
#define N_PRESETS ((int)(sizeof PRESETS / sizeof PRESETS[0]))

const hone_qpreset *hone_qpreset_find(const char *name) {
    for (int i = 0; name && i < N_PRESETS; i++)
        if (strcasecmp(PRESETS[i].name, name) == 0) return &PRESETS[i];
    return NULL;
}

const hone_qpreset *hone_qpreset_at(int i) { return i >= 0 && i < N_PRESETS ? &PRESETS[i] : NULL; }

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool hone_qplan_is_weight_matrix(const char *name, uint32_t n_dims) {
    return n_dims >= 2 && ends_with(name, "weight") && !strstr(name, "_norm.weight");
}

static bool is_quantised(hone_type t) {
    return t != HONE_TYPE_F32 && t != HONE_TYPE_F16 && t != HONE_TYPE_BF16;
}

/* llama.cpp's "more bits" layers for the _M mixes: the first and last eighth, and every third
 * layer in between. */
static bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static int layer_of(const char *name) {
    int i = -1;
    if (sscanf(name, "blk.%d.", &i) != 1) return -1;
    return i;
}

/* The type the preset's rules give one weight matrix, before fallbacks. */
static hone_type rule_type(const hone_qplan_params *p, const char *name, int64_t nx, bool has_output, int n_layer,
                           int n_gqa, char *note, size_t cap) {
    const hone_qpreset *ps = p->preset;
    const hone_qrules r = ps->rules;
    hone_type t = ps->base;
    const int il = layer_of(name);
    if (strcmp(name, "output.weight") == 0 || (!has_output && strcmp(name, "token_embd.weight") == 0)) {
        if (nx % hone_type_get(t)->block_size != 0) {
            snprintf(note, cap, "output: Q8_0 (row %lld does not fit %s)", (long long)nx, hone_type_get(t)->name);
            return HONE_TYPE_Q8_0;
        }
        if (t != HONE_TYPE_Q8_0) {
            snprintf(note, cap, "output: Q6_K");
            return HONE_TYPE_Q6_K;
        }
        return t;
    }
    if (strcmp(name, "token_embd.weight") == 0) return t;
    if (il < 0) return t;
    if (strstr(name, "attn_v.weight")) {
        hone_type nt = t;
        if (r == QP_Q2_K) nt = n_gqa >= 4 ? HONE_TYPE_Q4_K : HONE_TYPE_Q3_K;
        else if (r == QP_Q3_K_M) nt = il < 2 ? HONE_TYPE_Q5_K : HONE_TYPE_Q4_K;
        else if (r == QP_Q3_K_L) nt = HONE_TYPE_Q5_K;
        else if ((r == QP_Q4_K_M || r == QP_Q5_K_M) && more_bits(il, n_layer)) nt = HONE_TYPE_Q6_K;
        else if (r == QP_Q4_K_S && il < 4) nt = HONE_TYPE_Q5_K;
        if (nt != t) snprintf(note, cap, "attn_v rule: %s", hone_type_get(nt)->name);
        return nt;
    }
    if (strstr(name, "ffn_down")) {
        hone_type nt = t;
        if (r == QP_Q2_K) nt = HONE_TYPE_Q3_K;
        else if (r == QP_Q3_K_M) nt = il < n_layer / 16 ? HONE_TYPE_Q5_K : HONE_TYPE_Q4_K;
        else if (r == QP_Q3_K_L) nt = HONE_TYPE_Q5_K;
        else if ((r == QP_Q4_K_M || r == QP_Q5_K_M) && more_bits(il, n_layer)) nt = HONE_TYPE_Q6_K;
        else if (r == QP_Q4_K_S && il < n_layer / 8) nt = HONE_TYPE_Q5_K;
        else if (r == QP_PLAIN && t == HONE_TYPE_IQ4_NL && !p->calibrated && il < n_layer / 8)
            nt = HONE_TYPE_Q5_K; /* llama.cpp's guard for IQ4_NL without an importance matrix */
        else if (r == QP_PLAIN && p->calibrated && il < n_layer / 8 &&
                 (t == HONE_TYPE_Q4_0 || t == HONE_TYPE_Q5_0))
            nt = t == HONE_TYPE_Q4_0 ? HONE_TYPE_Q4_1 : HONE_TYPE_Q5_1;
        if (nt != t) snprintf(note, cap, "ffn_down rule: %s", hone_type_get(nt)->name);
        return nt;
    }
    if (strstr(name, "attn_output.weight")) {
        hone_type nt = t;
        if (r == QP_Q2_K) nt = HONE_TYPE_Q3_K;
        else if (r == QP_Q3_K_M) nt = HONE_TYPE_Q4_K;
        else if (r == QP_Q3_K_L) nt = HONE_TYPE_Q5_K;
        if (nt != t) snprintf(note, cap, "attn_output rule: %s", hone_type_get(nt)->name);
        return nt;
    }
    return t;
}

/* A type whose block fits rows of nx elements, starting from t. */
static hone_type fit_type(hone_type t, int64_t nx, bool *fell_back) {
    *fell_back = false;
    if (nx % hone_type_get(t)->block_size == 0) return t;
    *fell_back = true;
    hone_type f;
    switch (t) {
    case HONE_TYPE_Q2_K:
    case HONE_TYPE_Q3_K: f = HONE_TYPE_IQ4_NL; break;
    case HONE_TYPE_Q4_K: f = HONE_TYPE_Q5_0; break;
    case HONE_TYPE_Q5_K: f = HONE_TYPE_Q5_1; break;
    case HONE_TYPE_Q6_K: f = HONE_TYPE_Q8_0; break;
    default: f = HONE_TYPE_F16; break;
    }
    if (nx % hone_type_get(f)->block_size != 0) f = HONE_TYPE_F16;
    return f;
}

static int32_t meta_u32(const gguf_file *f, const char *arch, const char *key, int32_t dflt) {
    char k[160];
    uint32_t v;
    snprintf(k, sizeof k, "%s.%s", arch, key);
    return gguf_get_u32(f, k, &v) == HONE_OK ? (int32_t)v : dflt;
}

hone_status hone_qplan_build(const gguf_file *f, const hone_qplan_params *p, hone_qplan_item **items,
                             int64_t *n_items) {
    if (!f || !p || !p->preset || !items || !n_items)
        return hone_err(HONE_ERR_INVALID_ARG, "hone_qplan_build: bad arguments");
    const int64_t n = gguf_n_tensors(f);
    const char *arch = "llama";
    gguf_get_str(f, "general.architecture", &arch);
    int n_layer = meta_u32(f, arch, "block_count", 0);
    if (n_layer <= 0) /* count blk.N. when the key is missing */
        for (int64_t i = 0; i < n; i++) {
            const int il = layer_of(gguf_tensor_at(f, i)->name);
            if (il + 1 > n_layer) n_layer = il + 1;
        }
    const int n_head = meta_u32(f, arch, "attention.head_count", 1);
    const int n_head_kv = meta_u32(f, arch, "attention.head_count_kv", n_head);
    const int n_gqa = n_head_kv > 0 ? n_head / n_head_kv : 1;
    const bool has_output = gguf_find_tensor(f, "output.weight") != NULL;

    hone_qplan_item *it = calloc((size_t)(n > 0 ? n : 1), sizeof *it);
    if (!it) return hone_err(HONE_ERR_NOMEM, "quantize: out of memory planning %lld tensors", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        hone_qplan_item *q = &it[i];
        q->name = t->name;
        q->n_dims = t->n_dims;
        memcpy(q->ne, t->ne, sizeof q->ne);
        q->from = t->type;
        q->to = t->type;
        if (!hone_qplan_is_weight_matrix(t->name, t->n_dims)) continue;
        hone_type to = p->preset->base;
        const int64_t nx = t->ne[0];
        const bool is_out = strcmp(t->name, "output.weight") == 0;
        const bool is_emb = strcmp(t->name, "token_embd.weight") == 0;
        if (!p->pure && is_quantised(to))
            to = rule_type(p, t->name, nx, has_output, n_layer, n_gqa, q->note, sizeof q->note);
        int forced = -1;
        if (p->embedding_type >= 0 && is_emb) forced = p->embedding_type;
        if (p->output_type >= 0 && (is_out || (!has_output && is_emb && p->embedding_type < 0)))
            forced = p->output_type;
        if (forced >= 0) {
            to = (hone_type)forced;
            if (nx % hone_type_get(to)->block_size != 0) {
                free(it);
                return hone_err(HONE_ERR_INVALID_ARG, "quantize: tensor '%s': rows of %lld elements do not fit %s "
                                                      "(block size %u)",
                                t->name, (long long)nx, hone_type_get(to)->name, hone_type_get(to)->block_size);
            }
            snprintf(q->note, sizeof q->note, "requested: %s", hone_type_get(to)->name);
        }
        bool fb;
        const hone_type fitted = fit_type(to, nx, &fb);
        if (fb) {
            snprintf(q->note, sizeof q->note, "fallback %s -> %s: row %lld is not a multiple of %u",
                     hone_type_get(to)->name, hone_type_get(fitted)->name, (long long)nx,
                     hone_type_get(to)->block_size);
            q->fallback = true;
        }
        q->to = fitted;
        q->convert = q->to != q->from;
    }
    *items = it;
    *n_items = n;
    return HONE_OK;
}
