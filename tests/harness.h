/*
 * harness.h - the tiny test harness every C test uses.
 *
 * CHECK(...) records a failure with file:line and carries on, so one run
 * shows every broken case; main() returns test_finish(), which prints a
 * summary and gives ctest 0 (pass), 1 (fail) or 77 (skipped).
 */
#ifndef HONE_TEST_HARNESS_H
#define HONE_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

extern int test_failures;
extern int test_checks;

void test_fail(const char *file, int line, const char *fmt, ...);

#define CHECK(cond)                                                   \
    do {                                                              \
        test_checks++;                                                \
        if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
    } while (0)

#define CHECKF(cond, ...)                                          \
    do {                                                           \
        test_checks++;                                             \
        if (!(cond)) test_fail(__FILE__, __LINE__, __VA_ARGS__);   \
    } while (0)

/* Print the summary; returns the process exit code. */
int test_finish(void);

/* Print why and exit 77 (ctest: skipped). */
void test_skip(const char *why);

/* Path of a file under ../shared (env HONE_SHARED); static buffer. */
const char *test_shared_path(const char *rel);

/* Path of the default model: $HONE_MODEL, else the hone cache; NULL if absent. */
const char *test_model_path(void);

/* Read a whole file (NUL-terminated); caller frees. NULL on failure. */
char *test_read_file(const char *path, size_t *len);

#endif
