/*
 * main.c - entry point of the `hone` command-line tool.
 *
 * Only dispatches: `hone <command> [args]` hands argv (shifted so argv[0] is
 * the command name) to the command's cmd_<name>() in cmd_<name>.c, whose
 * return value is the exit code (0 ok, 1 usage, 2 bad input file, 3 runtime
 * error; see cli.h).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"run", cmd_run, "generate a completion for a prompt"},
    {"chat", cmd_chat, "interactive chat with a model (reads user turns from stdin)"},
    {"tokenize", cmd_tokenize, "show how a model's tokenizer splits text"},
    {"serve", cmd_serve, "serve a model over an OpenAI-compatible HTTP API (continuous batching)"},
    {"quantize", cmd_quantize, "convert a GGUF model's tensors to other types (quantise, dequantise)"},
    {"calibrate", cmd_calibrate, "record activation statistics of a model over text (for quantize --calib)"},
    {"eval", cmd_eval, "perplexity and KL divergence of a model on a text file"},
    {"bench", cmd_bench, "measure prompt and generation speed against the memory-bandwidth roofline"},
    {"info", cmd_info, "describe a GGUF file: metadata, tensors, totals"},
    {"pull", cmd_pull, "download the default model (" HONE_DEFAULT_MODEL_FILE ") into the cache"},
};

static void usage(FILE *out) {
    fprintf(out,
            "usage: hone <command> [options]\n"
            "\n"
            "hone runs large language models stored as GGUF files on the CPU.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "`hone <command> --help` describes a command's options. Without -m, commands use the\n"
            "default model from the cache ($HONE_CACHE, else $XDG_CACHE_HOME/hone, else ~/.cache/hone);\n"
            "`hone pull` puts it there.\n"
            "\n"
            "exit codes: 0 ok, 1 bad usage, 2 bad input file, 3 runtime error\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) { /* `hone help run` = `hone run --help` */
            for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(argv[2], commands[i].name) == 0) {
                    char *sub[] = {argv[2], "--help", NULL};
                    return commands[i].fn(2, sub);
                }
            fprintf(stderr, "hone: unknown command '%s'\n", argv[2]);
            return CLI_EXIT_USAGE;
        }
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(name, "-V") == 0 || strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("hone %s\n", HONE_CLI_VERSION);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "hone: unknown command '%s' (see hone --help)\n", name);
    return CLI_EXIT_USAGE;
}
