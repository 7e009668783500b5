/*
 * test_api_request.c - the request parser and validator of the server API.
 *
 * Valid bodies give the fields OpenAI clients mean (defaults included);
 * every kind of bad body gives a 4xx with a message naming the field, never
 * a crash: malformed JSON, wrong types, missing fields, out-of-range values,
 * empty message lists; unknown fields are ignored. Every prefix of a valid
 * body is also run through the parser (truncated uploads).
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "server/server_internal.h"

static bool parse(api_kind kind, const char *body, api_request *r, api_error *e) {
    memset(e, 0, sizeof *e);
    return api_request_parse(kind, body, strlen(body), 256, r, e);
}

static void expect_error(api_kind kind, const char *body, int status, const char *param) {
    api_request r;
    api_error e;
    const bool ok = parse(kind, body, &r, &e);
    CHECKF(!ok, "accepted: %s", body);
    if (ok) {
        api_request_free(&r);
        return;
    }
    CHECKF(e.status == status, "%s: status %d, want %d (%s)", body, e.status, status, e.message);
    CHECKF(strlen(e.message) > 10, "%s: message '%s'", body, e.message);
    if (param) CHECKF(e.param && strcmp(e.param, param) == 0, "%s: param %s, want %s", body, e.param, param);
    char *json = api_error_json(&e);
    CHECK(json && strstr(json, "\"error\"") && strstr(json, "\"message\"") && strstr(json, "\"type\""));
    free(json);
}

static void test_valid(void) {
    api_request r;
    api_error e;
    CHECK(parse(API_CHAT,
                "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
                "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":\"text\",\"text\":\"b\"}]}],"
                "\"max_tokens\":12,\"temperature\":0,\"stop\":[\"x\",\"\"],\"n\":2,\"seed\":5,\"stream\":true,"
                "\"stream_options\":{\"include_usage\":true},\"logprobs\":true,\"top_logprobs\":3,\"whatever\":{}}",
                &r, &e));
    CHECK(r.kind == API_CHAT && r.n_msgs == 2 && strcmp(r.msgs[0].role, "system") == 0);
    CHECK(strcmp(r.msgs[1].content, "ab") == 0);
    CHECK(r.max_tokens == 12 && r.n == 2 && r.stream && r.include_usage && r.logprobs && r.top_logprobs == 3);
    CHECK(r.n_stop == 1 && strcmp(r.stop[0], "x") == 0); /* empty stop strings are dropped */
    CHECK(r.seed_given && r.sampling.seed == 5 && r.sampling.temperature == 0.0f);
    api_request_free(&r);

    /* defaults: OpenAI's sampling meaning, special tokens parsed, nothing else set */
    CHECK(parse(API_COMPLETION, "{\"prompt\":\"hi\"}", &r, &e));
    CHECK(strcmp(r.prompt, "hi") == 0 && r.max_tokens == 0 && r.n == 1 && !r.stream && !r.logprobs);
    CHECK(r.sampling.temperature == 1.0f && r.sampling.top_p == 1.0f && r.sampling.top_k == 0);
    CHECK(r.sampling.min_p == 0.0f && r.parse_special && !r.seed_given);
    api_request_free(&r);

    CHECK(parse(API_COMPLETION, "{\"prompt\":[1,2,3],\"logprobs\":2,\"max_completion_tokens\":7}", &r, &e));
    CHECK(!r.prompt && r.n_prompt_ids == 3 && r.prompt_ids[2] == 3 && r.logprobs && r.top_logprobs == 2);
    CHECK(r.max_tokens == 7);
    api_request_free(&r);

    CHECK(parse(API_COMPLETION, "  {\"prompt\":[\"one\"],\"temperature\":null}\n", &r, &e));
    CHECK(strcmp(r.prompt, "one") == 0 && r.sampling.temperature == 1.0f);
    api_request_free(&r);

    CHECK(parse(API_CHAT, "{\"messages\":[{\"role\":\"developer\",\"content\":\"d\"},{\"role\":\"assistant\"}]}", &r, &e));
    CHECK(strcmp(r.msgs[0].role, "system") == 0 && strcmp(r.msgs[1].content, "") == 0);
    api_request_free(&r);
}

static void test_invalid(void) {
    expect_error(API_CHAT, "", 400, NULL);
    expect_error(API_CHAT, "{", 400, NULL);
    expect_error(API_CHAT, "{\"messages\":[]} x", 400, NULL);
    expect_error(API_CHAT, "[]", 400, NULL);
    expect_error(API_CHAT, "null", 400, NULL);
    expect_error(API_CHAT, "{}", 400, "messages");
    expect_error(API_CHAT, "{\"messages\":[]}", 400, "messages");
    expect_error(API_CHAT, "{\"messages\":[],\"max_tokens\":-1}", 400, "messages");
    expect_error(API_CHAT, "{\"messages\":{}}", 400, "messages");
    expect_error(API_CHAT, "{\"messages\":[1]}", 400, "messages");
    expect_error(API_CHAT, "{\"messages\":[{\"role\":\"user\"}]}", 400, "messages");
    expect_error(API_CHAT, "{\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", 400, "messages");
    expect_error(API_CHAT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}", 400,
                 "messages");
    const char *M = "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],";
    char b[256];
    struct {
        const char *field;
        const char *param;
    } bad[] = {
        {"\"max_tokens\":0}", "max_tokens"},      {"\"max_tokens\":-5}", "max_tokens"},
        {"\"max_tokens\":1.5}", "max_tokens"},    {"\"max_tokens\":\"9\"}", "max_tokens"},
        {"\"max_tokens\":257}", "max_tokens"},    {"\"max_tokens\":1e300}", "max_tokens"},
        {"\"temperature\":-0.1}", "temperature"}, {"\"temperature\":\"hot\"}", "temperature"},
        {"\"top_p\":1.5}", "top_p"},              {"\"n\":0}", "n"},
        {"\"n\":17}", "n"},                       {"\"stream\":1}", "stream"},
        {"\"stop\":5}", "stop"},                  {"\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"},
        {"\"seed\":1.5}", "seed"},                {"\"logprobs\":1}", "logprobs"},
        {"\"top_logprobs\":3}", "top_logprobs"},  {"\"logprobs\":true,\"top_logprobs\":21}", "top_logprobs"},
        {"\"frequency_penalty\":3}", "frequency_penalty"}, {"\"model\":5}", "model"},
        {"\"stream_options\":1}", "stream_options"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(b, sizeof b, "%s%s", M, bad[i].field);
        expect_error(API_CHAT, b, 400, bad[i].param);
    }
    expect_error(API_COMPLETION, "{}", 400, "prompt");
    expect_error(API_COMPLETION, "{\"prompt\":5}", 400, "prompt");
    expect_error(API_COMPLETION, "{\"prompt\":[]}", 400, "prompt");
    expect_error(API_COMPLETION, "{\"prompt\":[\"a\",\"b\"]}", 400, "prompt");
    expect_error(API_COMPLETION, "{\"prompt\":[1,-2]}", 400, "prompt");
    expect_error(API_COMPLETION, "{\"prompt\":\"x\",\"logprobs\":6}", 400, "logprobs");
    /* a NUL inside the body */
    api_request r;
    api_error e;
    CHECK(!api_request_parse(API_COMPLETION, "{\"prompt\":\"a\0\"}", 15, 256, &r, &e) && e.status == 400);
}

static void test_prefixes(void) {
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"h\\u00e9llo\"}],\"stop\":[\"a\"],\"n\":2,"
                       "\"logprobs\":true,\"top_logprobs\":2,\"seed\":-3}";
    const size_t n = strlen(body);
    int accepted = 0;
    for (size_t k = 0; k <= n; k++) {
        char *copy = malloc(k + 1); /* exact-size copy: ASan catches reads past the end */
        memcpy(copy, body, k);
        api_request r;
        api_error e;
        if (api_request_parse(API_CHAT, copy, k, 256, &r, &e)) {
            accepted++;
            api_request_free(&r);
        } else {
            CHECKF(e.status == 400, "prefix %zu: status %d", k, e.status);
        }
        free(copy);
    }
    CHECKF(accepted == 1, "only the whole body parses (%d prefixes did)", accepted);
}

static void test_tokenize_bodies(void) {
    char *content;
    bool add, special;
    api_error e;
    const char *tb = "{\"content\":\"abc\",\"add_special\":true}";
    CHECK(api_tokenize_parse(tb, strlen(tb), &content, &add, &special, &e));
    CHECK(content && strcmp(content, "abc") == 0 && add && special);
    free(content);
    CHECK(!api_tokenize_parse("{\"content\":1}", 13, &content, &add, &special, &e) && e.status == 400);
    hone_token *ids;
    size_t n;
    CHECK(api_detokenize_parse("{\"tokens\":[1,2]}", 16, &ids, &n, 10, &e) && n == 2 && ids[1] == 2);
    free(ids);
    CHECK(!api_detokenize_parse("{\"tokens\":[1,10]}", 17, &ids, &n, 10, &e) && e.status == 400);
    CHECK(!api_detokenize_parse("{\"tokens\":\"x\"}", 14, &ids, &n, 10, &e) && e.status == 400);
}

int main(void) {
    test_valid();
    test_invalid();
    test_prefixes();
    test_tokenize_bodies();
    return test_finish();
}
