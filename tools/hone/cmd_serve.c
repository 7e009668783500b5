/*
 * cmd_serve.c - `hone serve`: an OpenAI-compatible HTTP server for one model
 * with continuous batching (src/server/). This file parses options, starts
 * the server, loads the model while /health says "loading", and waits for
 * SIGTERM/SIGINT, on which it drains (refuses new requests, lets running
 * ones finish for --drain seconds, then cancels the rest) and exits 0.
 *
 * Signals are blocked before any thread starts, so every thread inherits the
 * mask and only sigwait() here sees them.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "server/server.h"

static const char *CMD = "serve";

/* "512M", "2G", "1048576" -> bytes; -1 when malformed. */
static int64_t parse_size(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0) return -1;
    double mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'i' || *end == 'B' || *end == 'b') end++;
    if (*end == 'B') end++;
    if (*end) return -1;
    return (int64_t)(v * mul);
}

int cmd_serve(int argc, char **argv) {
    server_config cfg = server_default_config();
    const char *model_arg = NULL, *kv_mem = "512M", *max_body = "1M", *alias = NULL, *kv_type = "f16";
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model_arg, 0, 0, "FILE", "GGUF model (default: the cached default model)"},
        {"host", 0, CLI_STR, &cfg.host, 0, 0, "ADDR", "address (IPv4, IPv6 or name) to listen on (default 127.0.0.1)"},
        {"port", 0, CLI_INT, &cfg.port, 0, 65535, "N", "TCP port (default 8080; 0 = any free port)"},
        {"threads", 't', CLI_INT, &cfg.n_threads, 0, 1024, "N", "threads of the forward pass (default: all CPUs)"},
        {"api-key", 0, CLI_STR, &cfg.api_key, 0, 0, "KEY", "require \"Authorization: Bearer KEY\""},
        {"kv-mem", 0, CLI_STR, &kv_mem, 0, 0, "SIZE", "KV cache memory shared by all requests (default 512M)"},
        {"kv-type", 0, CLI_STR, &kv_type, 0, 0, "T", "KV cache type: f16 (default) or q8_0 (~1.9x the cells per byte)"},
        {"ctx-size", 'c', CLI_INT, &cfg.n_ctx_seq, 16, 1 << 20, "N",
         "longest sequence, prompt + completion (default 4096, at most the model's)"},
        {"parallel", 0, CLI_INT, &cfg.max_seqs, 1, 1024, "N", "sequences generating at once (default 64)"},
        {"max-queue", 0, CLI_INT, &cfg.max_queue, 0, 1 << 20, "N", "requests waiting before 429 (default 256)"},
        {"max-tokens", 0, CLI_INT, &cfg.max_tokens, 1, 1 << 20, "N", "largest max_tokens accepted (default 4096)"},
        {"max-body", 0, CLI_STR, &max_body, 0, 0, "SIZE", "largest request body (default 1M)"},
        {"batch", 'b', CLI_INT, &cfg.n_batch, 2, 1 << 16, "N", "most tokens per forward step (default 512)"},
        {"cache-entries", 0, CLI_INT, &cfg.cache_entries, 0, 1024, "N", "prompts kept for prefix reuse (default 8)"},
        {"timeout", 0, CLI_INT, &cfg.timeout_s, 1, 86400, "S", "idle connection timeout (default 60)"},
        {"drain", 0, CLI_INT, &cfg.drain_s, 0, 86400, "S", "on SIGTERM, seconds running requests may finish (default 10)"},
        {"alias", 0, CLI_STR, &alias, 0, 0, "NAME", "model id reported by /v1/models (default: file name)"},
        {"quiet", 'q', CLI_FLAG, &cfg.quiet, 0, 0, NULL, "no per-request log lines"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "[-m MODEL] [--host ADDR] [--port N] [options]",
        "Serve MODEL over HTTP with OpenAI's API: POST /v1/chat/completions, /v1/completions (streamed\n"
        "with \"stream\": true), GET /v1/models, POST /tokenize, /detokenize, GET /health, GET /metrics\n"
        "(Prometheus) and a chat page at GET /. Requests share the model through continuous batching;\n"
        "a greedy reply is the same as `hone run`'s for the same prompt whatever else runs. One line\n"
        "per request goes to stderr. SIGTERM or SIGINT drains and stops the server.",
        opts, 0};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if ((cfg.kv_type = hone_kv_type_from_name(kv_type)) < 0)
        return cli_error(CMD, CLI_EXIT_USAGE, "--kv-type '%s' is not f16 or q8_0", kv_type);
    if ((cfg.kv_mem = parse_size(kv_mem)) <= 0)
        return cli_error(CMD, CLI_EXIT_USAGE, "--kv-mem '%s' is not a size (e.g. 512M, 2G)", kv_mem);
    if ((cfg.max_body = parse_size(max_body)) < 64)
        return cli_error(CMD, CLI_EXIT_USAGE, "--max-body '%s' is not a size of at least 64 bytes", max_body);

    char path[4096];
    if ((rc = cli_model_path(CMD, model_arg, path, sizeof path))) return rc;
    const char *base = strrchr(path, '/');
    cfg.model_name = alias ? alias : base ? base + 1 : path;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    server *srv = NULL;
    hone_status st = server_start(&cfg, &srv);
    if (st) return cli_error(CMD, st == HONE_ERR_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME, "%s", hone_last_error());
    /* an IPv6 literal goes in brackets in a URL */
    const bool v6 = strchr(cfg.host, ':') != NULL;
    const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
    fprintf(stderr, "hone serve: listening on http://%s%s%s:%d (loading %s)\n", lb, cfg.host, rb, server_port(srv), path);

    double t0 = cli_now();
    hone_model *model = NULL;
    hone_model_params mp = hone_model_default_params();
    st = hone_model_load(path, &mp, &model);
    if (st) {
        server_stop(srv);
        return cli_load_error(CMD, path, st);
    }
    if ((st = server_attach_model(srv, model))) {
        rc = cli_error(CMD, st == HONE_ERR_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME, "%s", hone_last_error());
        server_stop(srv);
        hone_model_free(model);
        return rc;
    }
    fprintf(stderr, "hone serve: ready: %s in %.2f s; cpu kernels: %s; http://%s%s%s:%d/\n", hone_model_desc(model),
            cli_now() - t0, hone_cpu_backend(), lb, cfg.host, rb, server_port(srv));

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "hone serve: %s: draining (up to %d s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM", cfg.drain_s);
    server_drain(srv);
    server_stop(srv);
    hone_model_free(model);
    fprintf(stderr, "hone serve: stopped\n");
    return CLI_EXIT_OK;
}
