/*
 * cmd_run.c - `hone run`: one prompt in, the completion out.
 *
 * stdout carries only the generated text, streamed piece by piece (flushed
 * each time) so it can be piped; load time and speeds go to stderr unless
 * --quiet. --json instead prints one object with the prompt and completion
 * as text and ids, the stop reason and timings. The generation loop itself
 * is hone_generate (runtime/generate.c); this file only parses options,
 * formats the prompt (--chat) and presents the result.
 *
 * Token ids for --json come from the piece callback, which hone_generate
 * calls once for every generated token (end token included).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *CMD = "run";

#define MAX_SEQ 16

typedef struct {
    char *p;
    size_t n, cap;
} strbuf;

static bool strbuf_add(strbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return false;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return true;
}

typedef struct {
    hone_session *session;
    bool stream;            /* write pieces of sequence 0 to stdout as they come */
    bool oom;
    strbuf text[MAX_SEQ];   /* collected completion per sequence (when not streaming) */
    strbuf ids[MAX_SEQ];    /* generated token ids (int32_t each) */
} run_ctx;

static bool on_piece(void *user, int32_t seq, const char *text, size_t len, hone_token t) {
    run_ctx *c = user;
    if (seq < 0 || seq >= MAX_SEQ) return true;
    if (t >= 0 && !strbuf_add(&c->ids[seq], (const char *)&t, sizeof t)) c->oom = true;
    if (c->stream) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
        return true;
    }
    if (!strbuf_add(&c->text[seq], text, len)) c->oom = true;
    return !c->oom;
}

static const char *stop_name(hone_stop_reason r) {
    switch (r) {
    case HONE_STOP_LIMIT: return "limit";
    case HONE_STOP_EOS: return "eos";
    case HONE_STOP_STRING: return "stop";
    case HONE_STOP_CALLER: return "caller";
    }
    return "?";
}

static cJSON *id_array(const int32_t *ids, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(ids[i]));
    return a;
}

static int print_json(const run_ctx *c, const hone_model *m, const char *prompt, bool special,
                      const hone_generate_result *r, int n_seq, double load_s) {
    /* the prompt's ids, tokenised exactly as hone_generate did */
    size_t n_ids = 0, len = strlen(prompt);
    int32_t *pids_v = malloc((len + 8) * sizeof *pids_v);
    if (!pids_v || hone_tokenize(m, prompt, len, true, special, pids_v, len + 8, &n_ids) != HONE_OK) n_ids = 0;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "prompt", prompt);
    cJSON_AddItemToObject(root, "prompt_ids", id_array(pids_v, n_ids));
    free(pids_v);
    cJSON_AddNumberToObject(root, "n_prompt", r->n_prompt);
    cJSON *target = root;
    cJSON *choices = n_seq > 1 ? cJSON_AddArrayToObject(root, "choices") : NULL;
    int64_t n_gen_total = 0;
    for (int k = 0; k < n_seq; k++) {
        if (choices) {
            target = cJSON_CreateObject();
            cJSON_AddItemToArray(choices, target);
        }
        cJSON_AddStringToObject(target, "completion", c->text[k].p ? c->text[k].p : "");
        cJSON_AddItemToObject(target, "completion_ids",
                              id_array((const int32_t *)c->ids[k].p, c->ids[k].n / sizeof(int32_t)));
        cJSON_AddStringToObject(target, "stop_reason", stop_name(r->stop[k]));
        cJSON_AddNumberToObject(target, "n_generated", r->n_generated[k]);
        n_gen_total += r->n_generated[k];
    }
    cJSON *t = cJSON_AddObjectToObject(root, "timings");
    cJSON_AddNumberToObject(t, "load_s", load_s);
    cJSON_AddNumberToObject(t, "prompt_s", r->prompt_seconds);
    cJSON_AddNumberToObject(t, "gen_s", r->gen_seconds);
    cJSON_AddNumberToObject(t, "prompt_tok_per_s", r->prompt_seconds > 0 ? r->n_prompt / r->prompt_seconds : 0);
    cJSON_AddNumberToObject(t, "gen_tok_per_s", r->gen_seconds > 0 ? (double)n_gen_total / r->gen_seconds : 0);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) return cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory formatting JSON");
    puts(s);
    cJSON_free(s);
    return 0;
}

/* Apply the model's chat template to one user message (after an optional
 * system message). Returns a malloc'd string or NULL after printing why. */
static char *chat_prompt(const hone_model *m, const char *system, const char *user, int *rc) {
    hone_chat_message msgs[2];
    size_t n = 0;
    if (system) msgs[n++] = (hone_chat_message){"system", system};
    msgs[n++] = (hone_chat_message){"user", user};
    size_t need = 0, cap = strlen(user) + (system ? strlen(system) : 0) + 256;
    for (int attempt = 0; attempt < 2; attempt++) {
        char *buf = malloc(cap);
        if (!buf) break;
        hone_status st = hone_chat_apply(m, msgs, n, true, buf, cap, &need);
        if (st == HONE_OK) return buf;
        free(buf);
        if (st == HONE_ERR_INVALID_ARG && need + 1 > cap) {
            cap = need + 1;
            continue;
        }
        *rc = cli_error(CMD, st == HONE_ERR_UNSUPPORTED ? CLI_EXIT_INPUT : CLI_EXIT_RUNTIME, "--chat: %s",
                        hone_last_error());
        return NULL;
    }
    *rc = cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory applying the chat template");
    return NULL;
}

int cmd_run(int argc, char **argv) {
    const char *model_arg = NULL, *prompt_arg = NULL, *prompt_file = NULL, *system = NULL, *kv_type = "f16";
    bool special = false, chat = false, json = false, quiet = false;
    cli_strlist stops = {{0}, 0};
    hone_generate_params gp = hone_generate_default_params();
    hone_session_params sp = hone_session_default_params();
    gp.max_tokens = 128;
    gp.n_seq = 1;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model_arg, 0, 0, "FILE", "GGUF model (default: the cached default model)"},
        {"prompt", 'p', CLI_STR, &prompt_arg, 0, 0, "TEXT", "the prompt"},
        {"file", 'f', CLI_STR, &prompt_file, 0, 0, "FILE", "read the prompt from FILE (\"-\" = stdin)"},
        {"n-predict", 'n', CLI_INT, &gp.max_tokens, 0, 1 << 20, "N", "tokens to generate (default 128)"},
        CLI_SAMPLING_OPTS(gp.sampling),
        {"stop", 0, CLI_STR_LIST, &stops, 0, 0, "STR", "stop before this text (repeatable)"},
        {"threads", 't', CLI_INT, &sp.n_threads, 0, 1024, "N", "threads (default: all CPUs)"},
        {"ctx-size", 'c', CLI_INT, &sp.n_ctx, 0, 1 << 20, "N", "context size in tokens (default: model's, max 4096)"},
        {"kv-type", 0, CLI_STR, &kv_type, 0, 0, "T", "KV cache type: f16 (default) or q8_0"},
        {"n-seq", 0, CLI_INT, &gp.n_seq, 1, MAX_SEQ, "N", "independent samples of the prompt (seed + k each)"},
        {"special", 0, CLI_FLAG, &special, 0, 0, NULL, "parse control-token text in the prompt as those tokens"},
        {"chat", 0, CLI_FLAG, &chat, 0, 0, NULL, "wrap the prompt in the model's chat template as a user turn"},
        {"system", 0, CLI_STR, &system, 0, 0, "TEXT", "with --chat: a system message first"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL, "print one JSON object (text, ids, stop reason, timings)"},
        {"quiet", 'q', CLI_FLAG, &quiet, 0, 0, NULL, "no diagnostics on stderr"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "[-m MODEL] -p PROMPT [options]",
        "Generate a completion of PROMPT. stdout gets only the generated text, streamed as it is\n"
        "produced; load time and speeds go to stderr (--quiet hides them). Control-token text in\n"
        "the prompt (\"<|im_start|>\") is plain text unless --special; --chat applies the model's chat\n"
        "template (whose markers are always special). With --n-seq N > 1 the N completions are\n"
        "printed one after another once all are done, each introduced by a line \"--- sample K ---\".",
        opts, 0};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if ((rc = cli_kv_type(CMD, kv_type, &sp.kv_type))) return rc;
    if (!prompt_arg == !prompt_file) return cli_error(CMD, CLI_EXIT_USAGE, "give exactly one of -p PROMPT and -f FILE");
    if (system && !chat) return cli_error(CMD, CLI_EXIT_USAGE, "--system needs --chat");

    char path[4096];
    if ((rc = cli_model_path(CMD, model_arg, path, sizeof path))) return rc;

    char *file_text = NULL, *templated = NULL;
    hone_model *model = NULL;
    hone_session *session = NULL;
    run_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    const char *prompt = prompt_arg;
    if (prompt_file) {
        size_t len;
        file_text = cli_read_all(prompt_file, &len);
        if (!file_text) {
            rc = cli_error(CMD, CLI_EXIT_INPUT, "%s: cannot read: %s", strcmp(prompt_file, "-") ? prompt_file : "stdin",
                           strerror(errno));
            goto done;
        }
        if (strlen(file_text) != len) {
            rc = cli_error(CMD, CLI_EXIT_INPUT, "%s: the prompt contains a NUL byte", prompt_file);
            goto done;
        }
        prompt = file_text;
    }

    double t0 = cli_now();
    hone_model_params mp = hone_model_default_params();
    hone_status st = hone_model_load(path, &mp, &model);
    if (st != HONE_OK) {
        rc = cli_load_error(CMD, path, st);
        goto done;
    }
    sp.n_seq_max = gp.n_seq;
    st = hone_session_create(model, &sp, &session);
    if (st != HONE_OK) {
        rc = cli_error(CMD, st == HONE_ERR_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME, "%s", hone_last_error());
        goto done;
    }
    const double load_s = cli_now() - t0;
    if (!quiet)
        fprintf(stderr, "hone run: loaded %s (%s) in %.2f s; cpu kernels: %s\n", hone_model_desc(model), path, load_s,
                hone_cpu_backend());

    if (chat) {
        templated = chat_prompt(model, system, prompt, &rc);
        if (!templated) goto done;
        prompt = templated;
        special = true; /* the template's role markers must become control tokens */
    }

    gp.stop = stops.v;
    gp.n_stop = (size_t)stops.n;
    gp.parse_special = special;
    gp.add_special = true;
    gp.on_piece = on_piece;
    gp.user = &ctx;
    ctx.session = session;
    ctx.stream = !json && gp.n_seq == 1;
    hone_generate_result res;
    st = hone_generate(session, prompt, &gp, &res);
    if (ctx.stream && isatty(STDOUT_FILENO)) putchar('\n');
    fflush(stdout);
    if (ctx.oom) st = HONE_ERR_NOMEM;
    if (st != HONE_OK) {
        rc = cli_error(CMD, st == HONE_ERR_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME, "%s",
                       st == HONE_ERR_NOMEM && ctx.oom ? "out of memory collecting output" : hone_last_error());
        goto done;
    }

    if (json) {
        rc = print_json(&ctx, model, prompt, special, &res, gp.n_seq, load_s);
    } else if (!ctx.stream) {
        for (int k = 0; k < gp.n_seq; k++) {
            printf("--- sample %d ---\n", k);
            fputs(ctx.text[k].p ? ctx.text[k].p : "", stdout);
            putchar('\n');
        }
    }
    if (fflush(stdout) != 0 && rc == 0) rc = cli_error(CMD, CLI_EXIT_RUNTIME, "writing output failed");

    if (!quiet) {
        int64_t n_gen = 0;
        for (int k = 0; k < gp.n_seq; k++) n_gen += res.n_generated[k];
        fprintf(stderr, "hone run: prompt %d tokens in %.3f s (%.1f tok/s); generated %lld tokens in %.3f s (%.1f tok/s); stop: %s\n",
                res.n_prompt, res.prompt_seconds, res.prompt_seconds > 0 ? res.n_prompt / res.prompt_seconds : 0.0,
                (long long)n_gen, res.gen_seconds, res.gen_seconds > 0 ? (double)n_gen / res.gen_seconds : 0.0,
                stop_name(res.stop[0]));
    }

done:
    for (int k = 0; k < MAX_SEQ; k++) {
        free(ctx.text[k].p);
        free(ctx.ids[k].p);
    }
    if (session) hone_session_free(session);
    if (model) hone_model_free(model);
    free(templated);
    free(file_text);
    return rc;
}
