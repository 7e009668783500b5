/* cmd_calibrate.c - `hone calibrate` (being written). */
#include "cli.h"

int cmd_calibrate(int argc, char **argv) {
    (void)argc;
    (void)argv;
    fprintf(stderr, "hone calibrate: not implemented yet\n");
    return CLI_EXIT_USAGE;
}
