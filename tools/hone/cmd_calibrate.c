/*
 * cmd_calibrate.c - `hone calibrate MODEL --text FILE -o stats.gguf`: record per-input-channel
 * activation statistics (mean square, max, histogram) for hone quantize --calib.
 *
 * The recording is hone_calibrate (src/compress/calib_record.c); this file parses options and
 * reports. Exit codes as every command: 1 usage, 2 bad input, 3 runtime (including a failed write).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compress/calib.h"

static const char *CMD = "calibrate";

static void progress(void *user, int64_t done, int64_t total, const char *what) {
    const double t0 = *(const double *)user;
    fprintf(stderr, "\rhone calibrate: %lld/%lld %s, %.0f s", (long long)done, (long long)total, what ? what : "",
            cli_now() - t0);
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

int cmd_calibrate(int argc, char **argv) {
    hone_calib_params p = hone_calib_default_params();
    const char *model_arg = NULL, *text_path = NULL, *out = NULL;
    bool quiet = false;
    p.n_chunks = 8;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model_arg, 0, 0, "FILE", "model (or give it as the argument)"},
        {"text", 'f', CLI_STR, &text_path, 0, 0, "FILE", "calibration text (e.g. wiki.calib.raw)"},
        {"output", 'o', CLI_STR, &out, 0, 0, "FILE", "statistics file to write (GGUF)"},
        {"ctx-size", 'c', CLI_INT, &p.n_ctx, 8, 1 << 16, "N", "tokens per chunk (default 512)"},
        {"chunks", 0, CLI_INT, &p.n_chunks, 0, 1 << 20, "N", "chunks to run (default 8; 0 = the whole text)"},
        {"threads", 't', CLI_INT, &p.n_threads, 0, 1024, "N", "threads (default: all CPUs)"},
        {"quiet", 'q', CLI_FLAG, &quiet, 0, 0, NULL, "no progress or summary on stderr"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "MODEL --text FILE -o STATS.gguf [options]",
        "Run MODEL over chunks of the text (each from an empty context) and record, for the input of\n"
        "every weight matrix, each channel's mean square and maximum magnitude and a histogram of\n"
        "log2 magnitudes. `hone quantize --calib STATS.gguf` weights each weight's rounding error by\n"
        "its channel's mean square. Use text that the evaluation does not (wiki.calib.raw, not\n"
        "wiki.test.raw).",
        opts, 1};
    char *pos[2];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if (n_pos == 1 && model_arg) return cli_error(CMD, CLI_EXIT_USAGE, "give the model once (argument or -m)");
    if (!text_path) return cli_error(CMD, CLI_EXIT_USAGE, "--text FILE is required");
    if (!out) return cli_error(CMD, CLI_EXIT_USAGE, "-o STATS.gguf is required");
    char path[4096];
    if ((rc = cli_model_path(CMD, n_pos ? pos[0] : model_arg, path, sizeof path))) return rc;
    size_t len = 0;
    char *text = cli_read_all(text_path, &len);
    if (!text) return cli_error(CMD, CLI_EXIT_INPUT, "%s: cannot read: %s", text_path, strerror(errno));
    double t0 = cli_now();
    if (!quiet && isatty(STDERR_FILENO)) {
        p.progress = progress;
        p.user = &t0;
    }
    uint64_t n_tokens = 0;
    hone_status st = hone_calibrate(path, text, len, &p, out, &n_tokens);
    free(text);
    if (st) {
        if (st == HONE_ERR_INVALID_ARG) return cli_error(CMD, CLI_EXIT_USAGE, "%s", hone_last_error());
        if (st == HONE_ERR_FORMAT || st == HONE_ERR_UNSUPPORTED || st == HONE_ERR_NOT_FOUND)
            return cli_load_error(CMD, path, st);
        return cli_error(CMD, CLI_EXIT_RUNTIME, "%s", hone_last_error());
    }
    if (!quiet)
        fprintf(stderr, "hone calibrate: %llu tokens of %s through %s in %.1f s -> %s\n",
                (unsigned long long)n_tokens, text_path, path, cli_now() - t0, out);
    return 0;
}
