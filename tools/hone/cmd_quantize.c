/* cmd_quantize.c - `hone quantize` (being written). */
#include "cli.h"

int cmd_quantize(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "hone quantize: not implemented yet\n");
    return CLI_EXIT_USAGE;
}
