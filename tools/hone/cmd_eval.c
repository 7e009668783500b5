/* cmd_eval.c - `hone eval` (being written). */
#include "cli.h"

int cmd_eval(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "hone eval: not implemented yet\n");
    return CLI_EXIT_USAGE;
}
