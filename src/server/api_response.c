/*
 * api_response.c - response bodies in OpenAI's shapes: chat.completion and
 * text_completion objects, their streamed chunks (SSE "data:" events),
 * usage, logprobs (chat: content[] with top_logprobs; legacy completions:
 * tokens / token_logprobs / top_logprobs / text_offset), and /v1/models.
 *
 * All functions read a job's output under server.mu (the caller holds it)
 * and return malloc'd strings (NULL when out of memory).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

/* Length of the valid UTF-8 sequence at s (0 if invalid). */
static size_t utf8_valid_len(const unsigned char *s, size_t n) {
    const unsigned c = s[0];
    size_t need;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) need = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) need = 4, min = 0x10000;
    else return 0;
    if (n < need) return 0;
    unsigned cp = c & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return need;
}

/* A token's piece as a JSON string: bytes that do not form UTF-8 (a piece
 * may hold part of a character) become U+FFFD; the exact bytes go in "bytes". */
static cJSON *piece_string(const char *p, size_t n) {
    char buf[1024];
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < sizeof buf;) {
        const size_t l = utf8_valid_len((const unsigned char *)p + i, n - i);
        if (l) {
            memcpy(buf + o, p + i, l);
            o += l;
            i += l;
        } else {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    buf[o] = '\0';
    return cJSON_CreateString(buf);
}

static int32_t token_piece(const hone_model *m, hone_token t, char *buf, size_t cap) {
    int32_t n = hone_token_to_piece(m, t, false, buf, cap);
    return n < 0 ? 0 : n;
}

static cJSON *bytes_array(const char *p, int32_t n) {
    cJSON *a = cJSON_CreateArray();
    for (int32_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((unsigned char)p[i]));
    return a;
}

static cJSON *chat_logprob_entry(const hone_model *m, hone_token id, float lp) {
    char piece[256];
    const int32_t n = token_piece(m, id, piece, sizeof piece);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddItemToObject(e, "token", piece_string(piece, (size_t)n));
    cJSON_AddNumberToObject(e, "logprob", lp);
    cJSON_AddItemToObject(e, "bytes", bytes_array(piece, n));
    return e;
}

/* Logprobs of choice k's records [r0, r1), or null when not asked for. */
static cJSON *logprobs_json(const server *srv, const job *j, int k, size_t r0, size_t r1) {
    if (!j->req.logprobs) return cJSON_CreateNull();
    const job_choice *c = &j->choice[k];
    const hone_model *m = srv->model;
    if (j->req.kind == API_CHAT) {
        cJSON *o = cJSON_CreateObject(), *content = cJSON_AddArrayToObject(o, "content");
        for (size_t r = r0; r < r1; r++) {
            const tok_record *t = &c->rec[r].tok;
            if (t->id < 0) continue;
            cJSON *e = chat_logprob_entry(m, t->id, t->logprob);
            cJSON *top = cJSON_AddArrayToObject(e, "top_logprobs");
            for (int32_t i = 0; i < t->n_top; i++)
                cJSON_AddItemToArray(top, chat_logprob_entry(m, t->top_id[i], t->top_lp[i]));
            cJSON_AddItemToArray(content, e);
        }
        return o;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *toks = cJSON_AddArrayToObject(o, "tokens"), *lps = cJSON_AddArrayToObject(o, "token_logprobs");
    cJSON *tops = cJSON_AddArrayToObject(o, "top_logprobs"), *offs = cJSON_AddArrayToObject(o, "text_offset");
    for (size_t r = r0; r < r1; r++) {
        const tok_record *t = &c->rec[r].tok;
        if (t->id < 0) continue;
        char piece[256];
        const int32_t n = token_piece(m, t->id, piece, sizeof piece);
        cJSON_AddItemToArray(toks, piece_string(piece, (size_t)n));
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(t->logprob));
        cJSON *top = cJSON_CreateObject();
        for (int32_t i = 0; i < t->n_top; i++) {
            const int32_t pn = token_piece(m, t->top_id[i], piece, sizeof piece);
            cJSON *s = piece_string(piece, (size_t)pn);
            if (!cJSON_GetObjectItemCaseSensitive(top, s->valuestring))
                cJSON_AddNumberToObject(top, s->valuestring, t->top_lp[i]);
            cJSON_Delete(s);
        }
        cJSON_AddItemToArray(tops, top);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber(r > 0 ? (double)c->rec[r - 1].text_end : 0));
    }
    return o;
}

static void add_usage(cJSON *root, const job *j) {
    int32_t gen = 0;
    for (int k = 0; k < j->req.n; k++) gen += j->choice[k].n_gen;
    cJSON *u = cJSON_AddObjectToObject(root, "usage");
    cJSON_AddNumberToObject(u, "prompt_tokens", j->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", gen);
    cJSON_AddNumberToObject(u, "total_tokens", j->n_prompt + gen);
    cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", j->n_cached);
}

static cJSON *envelope(const server *srv, const job *j, bool chunk) {
    char id[48];
    snprintf(id, sizeof id, "%s-%llu", j->req.kind == API_CHAT ? "chatcmpl" : "cmpl", (unsigned long long)j->id);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "id", id);
    cJSON_AddStringToObject(root, "object",
                            j->req.kind == API_CHAT ? (chunk ? "chat.completion.chunk" : "chat.completion")
                                                    : "text_completion");
    cJSON_AddNumberToObject(root, "created", (double)j->created);
    cJSON_AddStringToObject(root, "model", srv->cfg.model_name);
    cJSON_AddStringToObject(root, "system_fingerprint", "hone-" HONE_SERVER_VERSION);
    return root;
}

static char *print(cJSON *root) {
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

char *response_full(const server *srv, const job *j) {
    cJSON *root = envelope(srv, j, false), *choices = cJSON_AddArrayToObject(root, "choices");
    for (int k = 0; k < j->req.n; k++) {
        const job_choice *c = &j->choice[k];
        cJSON *ch = cJSON_CreateObject();
        cJSON_AddNumberToObject(ch, "index", k);
        if (j->req.kind == API_CHAT) {
            cJSON *msg = cJSON_AddObjectToObject(ch, "message");
            cJSON_AddStringToObject(msg, "role", "assistant");
            cJSON_AddStringToObject(msg, "content", c->text ? c->text : "");
        } else {
            cJSON_AddStringToObject(ch, "text", c->text ? c->text : "");
        }
        cJSON_AddItemToObject(ch, "logprobs", logprobs_json(srv, j, k, 0, c->n_rec));
        cJSON_AddStringToObject(ch, "finish_reason", c->finish ? c->finish : "stop");
        cJSON_AddItemToArray(choices, ch);
    }
    add_usage(root, j);
    return print(root);
}

static char *sse(char *json) {
    if (!json) return NULL;
    const size_t n = strlen(json);
    char *s = malloc(n + 10);
    if (s) {
        memcpy(s, "data: ", 6);
        memcpy(s + 6, json, n);
        memcpy(s + 6 + n, "\n\n", 3);
    }
    free(json);
    return s;
}

char *response_chunk(const server *srv, const job *j, int k, size_t r0, size_t r1, bool role, const char *finish) {
    const job_choice *c = &j->choice[k];
    cJSON *root = envelope(srv, j, true), *choices = cJSON_AddArrayToObject(root, "choices");
    cJSON *ch = cJSON_CreateObject();
    cJSON_AddNumberToObject(ch, "index", k);
    const size_t t0 = r0 > 0 ? c->rec[r0 - 1].text_end : 0, t1 = r1 > 0 ? c->rec[r1 - 1].text_end : 0;
    char *text = NULL;
    if (!finish) {
        text = malloc(t1 - t0 + 1);
        if (!text) {
            cJSON_Delete(root);
            cJSON_Delete(ch);
            return NULL;
        }
        memcpy(text, c->text + t0, t1 - t0);
        text[t1 - t0] = '\0';
    }
    if (j->req.kind == API_CHAT) {
        cJSON *d = cJSON_AddObjectToObject(ch, "delta");
        if (role) cJSON_AddStringToObject(d, "role", "assistant");
        if (text) cJSON_AddStringToObject(d, "content", text);
    } else {
        cJSON_AddStringToObject(ch, "text", text ? text : "");
    }
    free(text);
    cJSON_AddItemToObject(ch, "logprobs", finish ? cJSON_CreateNull() : logprobs_json(srv, j, k, r0, r1));
    if (finish) cJSON_AddStringToObject(ch, "finish_reason", finish);
    else cJSON_AddNullToObject(ch, "finish_reason");
    cJSON_AddItemToArray(choices, ch);
    return sse(print(root));
}

char *response_usage_chunk(const server *srv, const job *j) {
    cJSON *root = envelope(srv, j, true);
    cJSON_AddArrayToObject(root, "choices");
    add_usage(root, j);
    return sse(print(root));
}

char *response_models(const server *srv) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(root, "data"), *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", srv->cfg.model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", 0);
    cJSON_AddStringToObject(m, "owned_by", "hone");
    if (srv->model) {
        cJSON *meta = cJSON_AddObjectToObject(m, "meta");
        cJSON_AddStringToObject(meta, "desc", hone_model_desc(srv->model));
        cJSON_AddNumberToObject(meta, "n_vocab", hone_model_n_vocab(srv->model));
        cJSON_AddNumberToObject(meta, "n_ctx_train", hone_model_n_ctx_train(srv->model));
        cJSON_AddNumberToObject(meta, "n_ctx_seq", srv->cfg.n_ctx_seq);
        cJSON_AddNumberToObject(meta, "kv_cells", srv->cfg.n_cells);
    }
    cJSON_AddItemToArray(data, m);
    return print(root);
}
