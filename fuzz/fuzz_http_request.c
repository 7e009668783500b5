/*
 * fuzz_http_request.c - libFuzzer target for the server's request parser and
 * validator (src/server/api_request.c).
 *
 * The first byte picks the endpoint (chat, completions, tokenize,
 * detokenize); the rest is the request body, passed in an exact-size heap
 * copy so ASan sees any read past its end. Whatever the bytes, parsing must
 * return either a request whose fields are in range or a 4xx error with a
 * message, and the error JSON must build. Build with -DHONE_FUZZ=ON (clang);
 * run e.g. `fuzz_http_request -runs=1000000 corpus/`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_internal.h"

static void must(int cond) {
    if (!cond) abort(); /* an invariant broke: let the fuzzer report it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int which = data[0] & 3;
    const size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    if (!body) return 0;
    memcpy(body, data + 1, len);
    api_error err;
    memset(&err, 0, sizeof err);
    if (which <= 1) {
        api_request r;
        const api_kind kind = which == 0 ? API_CHAT : API_COMPLETION;
        if (api_request_parse(kind, body, len, 4096, &r, &err)) {
            must(r.n >= 1 && r.n <= API_MAX_N);
            must(r.max_tokens >= 0 && r.max_tokens <= 4096);
            must(r.n_stop <= API_MAX_STOP);
            must(r.top_logprobs >= 0 && r.top_logprobs <= API_MAX_TOP_LOGPROBS);
            must(r.sampling.temperature >= 0 && r.sampling.temperature <= 2);
            if (kind == API_CHAT) {
                must(r.n_msgs >= 1 && r.n_msgs <= API_MAX_MESSAGES);
                for (size_t i = 0; i < r.n_msgs; i++) must(r.msgs[i].role && r.msgs[i].content != NULL);
            } else {
                must(r.prompt != NULL || r.n_prompt_ids > 0);
            }
            api_request_free(&r);
        } else {
            must(err.status >= 400 && err.status < 600 && err.message[0]);
        }
    } else if (which == 2) {
        char *content = NULL;
        bool add, special;
        if (api_tokenize_parse(body, len, &content, &add, &special, &err)) must(content != NULL);
        free(content);
    } else {
        hone_token *ids = NULL;
        size_t n = 0;
        if (api_detokenize_parse(body, len, &ids, &n, 49152, &err))
            for (size_t i = 0; i < n; i++) must(ids[i] >= 0 && ids[i] < 49152);
        free(ids);
    }
    if (err.status) {
        char *j = api_error_json(&err);
        must(j != NULL);
        free(j);
    }
    free(body);
    return 0;
}
