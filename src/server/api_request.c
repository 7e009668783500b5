/*
 * api_request.c - request bodies of the OpenAI-compatible API, parsed and
 * validated into an api_request before anything else sees them.
 *
 * Every way a body can be wrong ends here as a 4xx with a message naming the
 * field (OpenAI's error shape), never as a crash or a 500: malformed JSON,
 * wrong types, missing fields, values out of range, empty message lists.
 * Unknown fields are ignored, as OpenAI clients expect. The fuzz target
 * fuzz/fuzz_http_request.c runs arbitrary bytes through these functions.
 *
 * Sampling follows OpenAI's meaning of the fields (temperature 1 and
 * top_p 1 when absent, no top-k or min-p); top_k, min_p and repeat_penalty
 * are accepted as extensions, as llama-server does.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

void api_error_set(api_error *err, int status, const char *type, const char *param, const char *fmt, ...) {
    err->status = status;
    err->type = type;
    err->param = param;
    err->code = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
}

char *api_error_json(const api_error *err) {
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "message", err->message);
    cJSON_AddStringToObject(e, "type", err->type ? err->type : "invalid_request_error");
    if (err->param) cJSON_AddStringToObject(e, "param", err->param);
    else cJSON_AddNullToObject(e, "param");
    if (err->code) cJSON_AddStringToObject(e, "code", err->code);
    else cJSON_AddNullToObject(e, "code");
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

static bool bad(api_error *err, const char *param, const char *fmt, const char *detail) {
    api_error_set(err, 400, "invalid_request_error", param, fmt, param, detail);
    return false;
}

/* The body as a JSON object, or an error. cJSON needs a NUL-terminated
 * copy; a body with an embedded NUL is not JSON. */
static cJSON *parse_object(const char *body, size_t len, api_error *err) {
    if (len == 0 || !body) {
        api_error_set(err, 400, "invalid_request_error", NULL, "the request body is empty; expected a JSON object");
        return NULL;
    }
    if (memchr(body, '\0', len)) {
        api_error_set(err, 400, "invalid_request_error", NULL, "the request body contains a NUL byte");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        api_error_set(err, 400, "invalid_request_error", NULL, "malformed JSON in the request body near byte %zu", at);
        return NULL;
    }
    /* only whitespace may follow the value */
    for (const char *p = end; p && p < body + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            api_error_set(err, 400, "invalid_request_error", NULL, "malformed JSON: text after the value at byte %zu",
                          (size_t)(p - body));
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        api_error_set(err, 400, "invalid_request_error", NULL, "the request body must be a JSON object");
        return NULL;
    }
    return root;
}

/* Absent or null fields keep the default; a present field of the wrong type
 * or range is an error. */
static bool get_bool(cJSON *o, const char *k, bool *out, api_error *err) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsBool(v)) return bad(err, k, "'%s' must be a boolean%s", "");
    *out = cJSON_IsTrue(v);
    return true;
}

static bool get_num(cJSON *o, const char *k, double lo, double hi, bool *given, double *out, api_error *err) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (given) *given = false;
    if (!v || cJSON_IsNull(v)) return true;
    if (!cJSON_IsNumber(v)) return bad(err, k, "'%s' must be a number%s", "");
    const double d = v->valuedouble;
    if (!isfinite(d) || d < lo || d > hi) {
        api_error_set(err, 400, "invalid_request_error", k, "'%s' is %g; it must be between %g and %g", k, d, lo, hi);
        return false;
    }
    if (given) *given = true;
    *out = d;
    return true;
}

static bool get_int(cJSON *o, const char *k, double lo, double hi, bool *given, int64_t *out, api_error *err) {
    double d = 0;
    bool g = false;
    if (!get_num(o, k, lo, hi, &g, &d, err)) return false;
    if (given) *given = g;
    if (!g) return true;
    if (d != floor(d)) return bad(err, k, "'%s' must be an integer%s", "");
    *out = (int64_t)d;
    return true;
}

/* Message content: a string, or an array of {"type":"text","text":...}
 * parts (joined), or null (only meaningful for assistant turns). */
static bool message_content(api_request *r, size_t i, cJSON *c, api_error *err) {
    if (cJSON_IsString(c)) {
        r->msgs[i].content = c->valuestring;
        return true;
    }
    if (!c || cJSON_IsNull(c)) {
        r->msgs[i].content = "";
        return true;
    }
    if (!cJSON_IsArray(c)) {
        api_error_set(err, 400, "invalid_request_error", "messages",
                      "messages[%zu].content must be a string or an array of text parts", i);
        return false;
    }
    size_t total = 1;
    cJSON *part;
    cJSON_ArrayForEach(part, c) {
        cJSON *type = cJSON_GetObjectItemCaseSensitive(part, "type");
        cJSON *text = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type) || strcmp(type->valuestring, "text") != 0 ||
            !cJSON_IsString(text)) {
            api_error_set(err, 400, "invalid_request_error", "messages",
                          "messages[%zu].content: only parts {\"type\": \"text\", \"text\": ...} are supported", i);
            return false;
        }
        total += strlen(text->valuestring);
    }
    char *buf = malloc(total);
    if (!buf) {
        api_error_set(err, 500, "server_error", NULL, "out of memory");
        return false;
    }
    size_t n = 0;
    cJSON_ArrayForEach(part, c) {
        const char *t = cJSON_GetObjectItemCaseSensitive(part, "text")->valuestring;
        size_t l = strlen(t);
        memcpy(buf + n, t, l);
        n += l;
    }
    buf[n] = '\0';
    r->msg_text[i] = buf;
    r->msgs[i].content = buf;
    return true;
}

static bool parse_messages(api_request *r, cJSON *root, api_error *err) {
    cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "messages");
    if (!m || cJSON_IsNull(m)) return bad(err, "messages", "'%s' is required%s", "");
    if (!cJSON_IsArray(m)) return bad(err, "messages", "'%s' must be an array of messages%s", "");
    const int n = cJSON_GetArraySize(m);
    if (n == 0) return bad(err, "messages", "'%s' must contain at least one message%s", "");
    if (n > API_MAX_MESSAGES) {
        api_error_set(err, 400, "invalid_request_error", "messages", "at most %d messages per request",
                      API_MAX_MESSAGES);
        return false;
    }
    size_t i = 0;
    cJSON *msg;
    cJSON_ArrayForEach(msg, m) {
        if (!cJSON_IsObject(msg)) {
            api_error_set(err, 400, "invalid_request_error", "messages", "messages[%zu] must be an object", i);
            return false;
        }
        cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
        if (!cJSON_IsString(role)) {
            api_error_set(err, 400, "invalid_request_error", "messages", "messages[%zu].role must be a string", i);
            return false;
        }
        const char *rs = role->valuestring;
        if (strcmp(rs, "developer") == 0) rs = "system"; /* OpenAI's newer name for the system turn */
        else if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant")) {
            api_error_set(err, 400, "invalid_request_error", "messages",
                          "messages[%zu].role '%.40s' is not one of system, developer, user, assistant", i, rs);
            return false;
        }
        r->msgs[i].role = rs;
        cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (!content && strcmp(rs, "assistant") != 0) {
            api_error_set(err, 400, "invalid_request_error", "messages", "messages[%zu].content is required", i);
            return false;
        }
        if (!message_content(r, i, content, err)) return false;
        r->n_msgs = ++i;
    }
    return true;
}

static bool parse_prompt(api_request *r, cJSON *root, api_error *err) {
    cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "prompt");
    if (!p || cJSON_IsNull(p)) return bad(err, "prompt", "'%s' is required%s", "");
    if (cJSON_IsString(p)) {
        r->prompt = p->valuestring;
        return true;
    }
    if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) == 0)
        return bad(err, "prompt", "'%s' must be a string, an array of one string, or an array of token ids%s", "");
    cJSON *first = cJSON_GetArrayItem(p, 0);
    if (cJSON_IsString(first)) {
        if (cJSON_GetArraySize(p) != 1)
            return bad(err, "prompt", "'%s': one prompt per request is supported (got an array of several)%s", "");
        r->prompt = first->valuestring;
        return true;
    }
    const int n = cJSON_GetArraySize(p);
    r->prompt_ids = malloc((size_t)n * sizeof *r->prompt_ids);
    if (!r->prompt_ids) {
        api_error_set(err, 500, "server_error", NULL, "out of memory");
        return false;
    }
    cJSON *t;
    cJSON_ArrayForEach(t, p) {
        if (!cJSON_IsNumber(t) || t->valuedouble != floor(t->valuedouble) || t->valuedouble < 0 ||
            t->valuedouble > 1e9)
            return bad(err, "prompt", "'%s': token ids must be non-negative integers%s", "");
        r->prompt_ids[r->n_prompt_ids++] = (hone_token)t->valuedouble;
    }
    return true;
}

static bool parse_stop(api_request *r, cJSON *root, api_error *err) {
    cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "stop");
    if (!s || cJSON_IsNull(s)) return true;
    if (cJSON_IsString(s)) {
        if (s->valuestring[0]) r->stop[r->n_stop++] = s->valuestring;
        return true;
    }
    if (!cJSON_IsArray(s)) return bad(err, "stop", "'%s' must be a string or an array of strings%s", "");
    if (cJSON_GetArraySize(s) > API_MAX_STOP) {
        api_error_set(err, 400, "invalid_request_error", "stop", "'stop' holds at most %d strings", API_MAX_STOP);
        return false;
    }
    cJSON *e;
    cJSON_ArrayForEach(e, s) {
        if (!cJSON_IsString(e)) return bad(err, "stop", "'%s' must be a string or an array of strings%s", "");
        if (e->valuestring[0]) r->stop[r->n_stop++] = e->valuestring;
    }
    return true;
}

static bool parse_sampling(api_request *r, cJSON *root, api_error *err) {
    hone_sampler_params *sp = &r->sampling;
    *sp = hone_sampler_default_params();
    double d;
    int64_t i;
    bool g;
    sp->temperature = 1.0f;
    sp->top_p = 1.0f;
    sp->top_k = 0;
    sp->min_p = 0.0f;
    sp->repeat_penalty = 1.0f;
    if (!get_num(root, "temperature", 0, 2, &g, &d, err)) return false;
    if (g) sp->temperature = (float)d;
    if (!get_num(root, "top_p", 0, 1, &g, &d, err)) return false;
    if (g) sp->top_p = (float)d;
    if (!get_num(root, "frequency_penalty", -2, 2, &g, &d, err)) return false;
    if (g) sp->frequency_penalty = (float)d;
    if (!get_num(root, "presence_penalty", -2, 2, &g, &d, err)) return false;
    if (g) sp->presence_penalty = (float)d;
    if (!get_int(root, "top_k", 0, 1e9, &g, &i, err)) return false;
    if (g) sp->top_k = (int32_t)i;
    if (!get_num(root, "min_p", 0, 1, &g, &d, err)) return false;
    if (g) sp->min_p = (float)d;
    if (!get_num(root, "repeat_penalty", 0, 100, &g, &d, err)) return false;
    if (g) sp->repeat_penalty = (float)d;
    if (!get_num(root, "seed", -9.2e18, 1.8e19, &g, &d, err)) return false;
    if (g) {
        if (d != floor(d)) return bad(err, "seed", "'%s' must be an integer%s", "");
        sp->seed = d < 0 ? (uint64_t)(int64_t)d : (uint64_t)d;
        r->seed_given = true;
    }
    return true;
}

bool api_request_parse(api_kind kind, const char *body, size_t len, int32_t max_tokens_cap, api_request *r,
                       api_error *err) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->n = 1;
    cJSON *root = parse_object(body, len, err);
    if (!root) return false;
    r->json = root;
    int64_t i = 0;
    bool g = false;

    if (kind == API_CHAT) {
        if (!parse_messages(r, root, err)) goto fail;
    } else {
        if (!parse_prompt(r, root, err)) goto fail;
    }
    cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (model && !cJSON_IsNull(model) && !cJSON_IsString(model)) {
        bad(err, "model", "'%s' must be a string%s", "");
        goto fail;
    }
    if (!get_bool(root, "stream", &r->stream, err)) goto fail;
    cJSON *so = cJSON_GetObjectItemCaseSensitive(root, "stream_options");
    if (so && !cJSON_IsNull(so)) {
        if (!cJSON_IsObject(so)) {
            bad(err, "stream_options", "'%s' must be an object%s", "");
            goto fail;
        }
        if (!get_bool(so, "include_usage", &r->include_usage, err)) goto fail;
    }
    /* max_completion_tokens is the newer name; either is accepted */
    const char *mt = cJSON_GetObjectItemCaseSensitive(root, "max_completion_tokens") ? "max_completion_tokens"
                                                                                      : "max_tokens";
    if (!get_int(root, mt, 1, 1e12, &g, &i, err)) goto fail;
    if (g) {
        if (i > max_tokens_cap) {
            api_error_set(err, 400, "invalid_request_error", mt, "'%s' is %lld; this server allows at most %d", mt,
                          (long long)i, max_tokens_cap);
            goto fail;
        }
        r->max_tokens = (int32_t)i;
    }
    if (!get_int(root, "n", 1, API_MAX_N, &g, &i, err)) goto fail;
    if (g) r->n = (int32_t)i;
    if (!parse_stop(r, root, err)) goto fail;
    if (!parse_sampling(r, root, err)) goto fail;
    r->parse_special = true; /* as llama-server and `hone run --special`; see docs/serve.md */
    if (!get_bool(root, "parse_special", &r->parse_special, err)) goto fail;
    if (!get_bool(root, "ignore_eos", &r->ignore_eos, err)) goto fail;

    cJSON *lp = cJSON_GetObjectItemCaseSensitive(root, "logprobs");
    if (kind == API_CHAT) {
        if (!get_bool(root, "logprobs", &r->logprobs, err)) goto fail;
        if (!get_int(root, "top_logprobs", 0, API_MAX_TOP_LOGPROBS, &g, &i, err)) goto fail;
        if (g) {
            if (!r->logprobs) {
                bad(err, "top_logprobs", "'%s' needs 'logprobs': true%s", "");
                goto fail;
            }
            r->top_logprobs = (int32_t)i;
        }
    } else if (lp && !cJSON_IsNull(lp)) {
        /* legacy completions: logprobs is the number of alternatives, 0..5 */
        if (!get_int(root, "logprobs", 0, 5, &g, &i, err)) goto fail;
        r->logprobs = true;
        r->top_logprobs = (int32_t)i;
    }
    return true;
fail:
    api_request_free(r);
    return false;
}

void api_request_free(api_request *r) {
    if (!r) return;
    for (size_t i = 0; i < API_MAX_MESSAGES; i++) free(r->msg_text[i]);
    free(r->prompt_ids);
    if (r->json) cJSON_Delete(r->json);
    memset(r, 0, sizeof *r);
}

bool api_tokenize_parse(const char *body, size_t len, char **content, bool *add_special, bool *parse_special,
                        api_error *err) {
    *content = NULL;
    *add_special = false;
    *parse_special = true;
    cJSON *root = parse_object(body, len, err);
    if (!root) return false;
    bool ok = false;
    cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (!cJSON_IsString(c)) {
        bad(err, "content", "'%s' is required and must be a string%s", "");
    } else if (get_bool(root, "add_special", add_special, err) && get_bool(root, "parse_special", parse_special, err)) {
        *content = strdup(c->valuestring);
        ok = *content != NULL;
        if (!ok) api_error_set(err, 500, "server_error", NULL, "out of memory");
    }
    cJSON_Delete(root);
    return ok;
}

bool api_detokenize_parse(const char *body, size_t len, hone_token **ids, size_t *n, int32_t n_vocab,
                          api_error *err) {
    *ids = NULL;
    *n = 0;
    cJSON *root = parse_object(body, len, err);
    if (!root) return false;
    cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "tokens");
    bool ok = false;
    if (!cJSON_IsArray(t)) {
        bad(err, "tokens", "'%s' is required and must be an array of token ids%s", "");
        goto done;
    }
    *ids = malloc(((size_t)cJSON_GetArraySize(t) + 1) * sizeof **ids);
    if (!*ids) {
        api_error_set(err, 500, "server_error", NULL, "out of memory");
        goto done;
    }
    cJSON *e;
    cJSON_ArrayForEach(e, t) {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 0 ||
            e->valuedouble >= n_vocab) {
            api_error_set(err, 400, "invalid_request_error", "tokens", "tokens[%zu] is not a token id (0..%d)", *n,
                          n_vocab - 1);
            free(*ids);
            *ids = NULL;
            *n = 0;
            goto done;
        }
        (*ids)[(*n)++] = (hone_token)e->valuedouble;
    }
    ok = true;
done:
    cJSON_Delete(root);
    return ok;
}
