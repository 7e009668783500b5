/* cmd_serve.c - `hone serve` (being written). */
#include "cli.h"

int cmd_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "hone serve: not implemented yet\n");
    return CLI_EXIT_USAGE;
}
