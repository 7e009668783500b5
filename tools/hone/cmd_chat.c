/*
 * cmd_chat.c - `hone chat`: a conversation with a model on stdin/stdout.
 *
 * Each line read from stdin is a user turn. The whole conversation (optional
 * system message, every user and assistant turn so far) is formatted with the
 * model's chat template (hone_chat_apply) and handed to hone_generate, whose
 * reply streams to stdout followed by a newline. hone_generate keeps whatever
 * prefix of the prompt is already in sequence 0's cache, so each turn only
 * evaluates what changed: the new user message (and, where re-tokenising the
 * previous reply differs from the ids that were generated, from that point
 * on), which keeps turns cheap without any bookkeeping here that could get
 * the cache out of step with the text.
 *
 * When the conversation no longer fits the context, the oldest turns (never
 * the system message) are dropped. Works the same with a pipe as with a
 * terminal; only a terminal gets the "> " prompt (on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *CMD = "chat";

typedef struct {
    hone_chat_message *v;
    size_t n, cap;
} history;

static bool history_push(history *h, const char *role, const char *content) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        hone_chat_message *v = realloc(h->v, cap * sizeof *v);
        if (!v) return false;
        h->v = v;
        h->cap = cap;
    }
    char *copy = strdup(content);
    if (!copy) return false;
    h->v[h->n++] = (hone_chat_message){role, copy};
    return true;
}

/* Remove the message at index i. */
static void history_drop(history *h, size_t i) {
    free((char *)h->v[i].content);
    memmove(h->v + i, h->v + i + 1, (h->n - i - 1) * sizeof *h->v);
    h->n--;
}

typedef struct {
    char *p;
    size_t n, cap;
    bool oom;
} reply_buf;

static bool on_piece(void *user, int32_t seq, const char *text, size_t len, hone_token t) {
    (void)seq, (void)t;
    reply_buf *r = user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    if (r->n + len + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->n + len + 1) cap *= 2;
        char *p = realloc(r->p, cap);
        if (!p) {
            r->oom = true;
            return false;
        }
        r->p = p;
        r->cap = cap;
    }
    memcpy(r->p + r->n, text, len);
    r->n += len;
    r->p[r->n] = '\0';
    return true;
}

/* Format the conversation into *buf (grown as needed). */
static hone_status format_chat(const hone_model *m, const history *h, char **buf, size_t *cap) {
    size_t need = 0;
    hone_status st = hone_chat_apply(m, h->v, h->n, true, *buf, *cap, &need);
    if (st == HONE_ERR_INVALID_ARG && need + 1 > *cap) {
        char *nb = realloc(*buf, need + 1);
        if (!nb) return HONE_ERR_NOMEM;
        *buf = nb;
        *cap = need + 1;
        st = hone_chat_apply(m, h->v, h->n, true, *buf, *cap, &need);
    }
    return st;
}

/* Tokens the formatted prompt takes (the same way hone_generate counts). */
static int64_t count_tokens(const hone_model *m, const char *text) {
    size_t len = strlen(text), n = 0;
    hone_token *tmp = malloc((len + 16) * sizeof *tmp);
    if (!tmp) return -1;
    hone_status st = hone_tokenize(m, text, len, true, true, tmp, len + 16, &n);
    free(tmp);
    return st == HONE_OK ? (int64_t)n : -1;
}

int cmd_chat(int argc, char **argv) {
    const char *model_arg = NULL, *system = NULL, *kv_type = "f16";
    bool quiet = false, verbose = false;
    cli_strlist stops = {{0}, 0};
    hone_generate_params gp = hone_generate_default_params();
    hone_session_params sp = hone_session_default_params();
    gp.max_tokens = 512;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model_arg, 0, 0, "FILE", "GGUF model (default: the cached default model)"},
        {"system", 0, CLI_STR, &system, 0, 0, "TEXT", "system message that opens the conversation"},
        {"n-predict", 'n', CLI_INT, &gp.max_tokens, 1, 1 << 20, "N", "most tokens per reply (default 512)"},
        CLI_SAMPLING_OPTS(gp.sampling),
        {"stop", 0, CLI_STR_LIST, &stops, 0, 0, "STR", "end a reply before this text (repeatable)"},
        {"threads", 't', CLI_INT, &sp.n_threads, 0, 1024, "N", "threads (default: all CPUs)"},
        {"ctx-size", 'c', CLI_INT, &sp.n_ctx, 0, 1 << 20, "N", "context size in tokens (default: model's, max 4096)"},
        {"kv-type", 0, CLI_STR, &kv_type, 0, 0, "T", "KV cache type: f16 (default) or q8_0"},
        {"quiet", 'q', CLI_FLAG, &quiet, 0, 0, NULL, "no diagnostics on stderr"},
        {"verbose", 'v', CLI_FLAG, &verbose, 0, 0, NULL, "token counts and speed of each reply on stderr"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "[-m MODEL] [--system TEXT] [options]",
        "Chat with a model. Each line on stdin is a user message; the reply streams to stdout,\n"
        "followed by a newline. `/exit` (or end of input) ends the chat; `/reset` forgets the\n"
        "conversation. The conversation is formatted with the model's chat template, whose\n"
        "control-token text is parsed as special tokens, in user messages too.",
        opts, 0};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if ((rc = cli_kv_type(CMD, kv_type, &sp.kv_type))) return rc;

    char path[4096];
    if ((rc = cli_model_path(CMD, model_arg, path, sizeof path))) return rc;

    hone_model *model = NULL;
    hone_session *session = NULL;
    history h = {NULL, 0, 0};
    char *line = NULL, *prompt = NULL;
    size_t line_cap = 0, prompt_cap = 0;
    reply_buf reply = {NULL, 0, 0, false};
    bool had_error = false;

    double t0 = cli_now();
    hone_model_params mp = hone_model_default_params();
    hone_status st = hone_model_load(path, &mp, &model);
    if (st != HONE_OK) {
        rc = cli_load_error(CMD, path, st);
        goto done;
    }
    st = hone_session_create(model, &sp, &session);
    if (st != HONE_OK) {
        rc = cli_error(CMD, st == HONE_ERR_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME, "%s", hone_last_error());
        goto done;
    }
    if (!quiet) fprintf(stderr, "hone chat: loaded %s in %.2f s; /exit to quit\n", hone_model_desc(model), cli_now() - t0);

    /* Probe the template once, so a model without a usable one fails now
     * rather than after the first question. */
    if (system && !history_push(&h, "system", system)) goto oom;
    if (!history_push(&h, "user", "hi")) goto oom;
    st = format_chat(model, &h, &prompt, &prompt_cap);
    history_drop(&h, h.n - 1);
    if (st != HONE_OK) {
        rc = cli_error(CMD, st == HONE_ERR_NOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_INPUT, "%s: chat template: %s", path,
                       hone_last_error());
        goto done;
    }
    const size_t n_fixed = system ? 1 : 0; /* messages never dropped */
    /* The session's context, resolved the way hone_session_create does. */
    int32_t n_ctx = sp.n_ctx;
    if (n_ctx <= 0) n_ctx = hone_model_n_ctx_train(model) < 4096 ? hone_model_n_ctx_train(model) : 4096;
    const bool tty = isatty(STDIN_FILENO);
    gp.stop = stops.v;
    gp.n_stop = (size_t)stops.n;
    gp.parse_special = true; /* the template's role markers */
    gp.add_special = true;
    gp.on_piece = on_piece;
    gp.user = &reply;
    const uint64_t seed = gp.sampling.seed;

    for (int turn = 0;; turn++) {
        if (tty) fputs("> ", stderr);
        ssize_t got = getline(&line, &line_cap, stdin);
        if (got < 0) break;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (got == 0) continue;
        if (strcmp(line, "/exit") == 0 || strcmp(line, "/quit") == 0) break;
        if (strcmp(line, "/reset") == 0) {
            while (h.n > n_fixed) history_drop(&h, h.n - 1);
            continue;
        }
        if (!history_push(&h, "user", line)) goto oom;

        /* Leave room for a reply: drop the oldest exchanges until the prompt
         * plus a quarter of the context (or -n, if smaller) fits. */
        int64_t reserve = gp.max_tokens < n_ctx / 4 ? gp.max_tokens : n_ctx / 4;
        for (;;) {
            if ((st = format_chat(model, &h, &prompt, &prompt_cap)) != HONE_OK) break;
            int64_t n = count_tokens(model, prompt);
            if (n < 0 || n + reserve <= n_ctx || h.n <= n_fixed + 1) break;
            history_drop(&h, n_fixed); /* oldest user turn and, below, its reply */
            if (h.n > n_fixed + 1 && strcmp(h.v[n_fixed].role, "assistant") == 0) history_drop(&h, n_fixed);
        }
        reply.n = 0;
        if (reply.p) reply.p[0] = '\0';
        hone_generate_result res;
        gp.sampling.seed = seed + (uint64_t)turn;
        if (st == HONE_OK) st = hone_generate(session, prompt, &gp, &res);
        putchar('\n');
        fflush(stdout);
        if (reply.oom) goto oom;
        if (st != HONE_OK) {
            /* Report, forget this turn, and keep talking. */
            cli_error(CMD, 0, "%s", hone_last_error());
            had_error = true;
            history_drop(&h, h.n - 1);
            continue;
        }
        if (!history_push(&h, "assistant", reply.p ? reply.p : "")) goto oom;
        if (verbose)
            fprintf(stderr, "hone chat: prompt %d tokens (%.3f s), reply %d tokens in %.3f s (%.1f tok/s)\n",
                    res.n_prompt, res.prompt_seconds, res.n_generated[0], res.gen_seconds,
                    res.gen_seconds > 0 ? res.n_generated[0] / res.gen_seconds : 0.0);
    }
    if (ferror(stdin)) rc = cli_error(CMD, CLI_EXIT_RUNTIME, "reading stdin: %s", strerror(errno));
    else rc = had_error ? CLI_EXIT_RUNTIME : CLI_EXIT_OK;
    goto done;

oom:
    rc = cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory");
done:
    while (h.n) history_drop(&h, h.n - 1);
    free(h.v);
    free(line);
    free(prompt);
    free(reply.p);
    if (session) hone_session_free(session);
    if (model) hone_model_free(model);
    return rc;
}
