/*
 * harness.c - see harness.h.
 */
#include "harness.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int test_failures = 0;
int test_checks = 0;

void test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    test_failures++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int test_finish(void) {
    printf("%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

void test_skip(const char *why) {
    printf("SKIP: %s\n", why);
    exit(77);
}

const char *test_shared_path(const char *rel) {
    static char buf[4096];
    const char *dir = getenv("HONE_SHARED");
    if (!dir) dir = "../shared";
    snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    return buf;
}

const char *test_model_path(void) {
    static char buf[4096];
    const char *m = getenv("HONE_MODEL");
    if (m && access(m, R_OK) == 0) return m;
    const char *cache = getenv("HONE_CACHE");
    if (cache) {
        snprintf(buf, sizeof buf, "%s/SmolLM2-135M-Instruct.Q4_1.gguf", cache);
    } else {
        const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(buf, sizeof buf, "%s/hone/SmolLM2-135M-Instruct.Q4_1.gguf", xdg);
        else
            snprintf(buf, sizeof buf, "%s/.cache/hone/SmolLM2-135M-Instruct.Q4_1.gguf", home ? home : ".");
    }
    return access(buf, R_OK) == 0 ? buf : NULL;
}

char *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf) { buf[n] = '\0'; if (len) *len = (size_t)n; }
    return buf;
}
