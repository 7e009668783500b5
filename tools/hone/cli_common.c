/*
 * cli_common.c - helpers every `hone` subcommand uses: the option parser,
 * error printing with the exit-code policy, the model cache location and
 * whole-file input. See cli.h for the contracts.
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- option parsing ---------------------------------------------------- */

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len) {
    for (const cli_opt *o = opts; o->name; o++)
        if (strlen(o->name) == len && memcmp(o->name, name, len) == 0) return o;
    return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c) {
    for (const cli_opt *o = opts; o->name; o++)
        if (o->short_name && o->short_name == c) return o;
    return NULL;
}

/* Store `val` (the option's argument) into o->dest; prints and returns
 * CLI_EXIT_USAGE when it does not parse or is out of range. */
static int store_value(const cli_spec *spec, const cli_opt *o, const char *val) {
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case CLI_FLAG:
        break;
    case CLI_INT: {
        long long v = strtoll(val, &end, 10);
        if (end == val || *end || errno || v < (long long)o->min || v > (long long)o->max)
            return cli_error(spec->cmd, CLI_EXIT_USAGE, "--%s: expected an integer in [%.0f, %.0f], got '%s'",
                             o->name, o->min, o->max, val);
        *(int32_t *)o->dest = (int32_t)v;
        break;
    }
    case CLI_FLOAT: {
        double v = strtod(val, &end);
        if (end == val || *end || errno || !isfinite(v) || v < o->min || v > o->max)
            return cli_error(spec->cmd, CLI_EXIT_USAGE, "--%s: expected a number in [%g, %g], got '%s'", o->name,
                             o->min, o->max, val);
        *(float *)o->dest = (float)v;
        break;
    }
    case CLI_U64: {
        /* strtoull accepts "-1" and wraps; a seed like that is a typo, not a wish. */
        unsigned long long v = strtoull(val, &end, 10);
        if (end == val || *end || errno || val[0] == '-')
            return cli_error(spec->cmd, CLI_EXIT_USAGE, "--%s: expected a non-negative integer, got '%s'", o->name,
                             val);
        *(uint64_t *)o->dest = (uint64_t)v;
        break;
    }
    case CLI_STR:
        *(const char **)o->dest = val;
        break;
    case CLI_STR_LIST: {
        cli_strlist *l = o->dest;
        if (l->n >= CLI_LIST_MAX)
            return cli_error(spec->cmd, CLI_EXIT_USAGE, "--%s: given more than %d times", o->name, CLI_LIST_MAX);
        l->v[l->n++] = val;
        break;
    }
    }
    return 0;
}

int cli_parse(const cli_spec *spec, int argc, char **argv, char **pos, int *n_pos) {
    *n_pos = 0;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') { /* positional ("-" = stdin) */
            if (*n_pos >= spec->max_pos)
                return cli_error(spec->cmd, CLI_EXIT_USAGE, "unexpected argument '%s' (see hone %s --help)", a,
                                 spec->cmd);
            pos[(*n_pos)++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_print_help(spec, stdout);
            return CLI_HELP_SHOWN;
        }
        const cli_opt *o;
        const char *val = NULL; /* an attached value: --name=value or -xvalue */
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
            o = find_long(spec->opts, a + 2, len);
            if (eq) val = eq + 1;
        } else {
            o = find_short(spec->opts, a[1]);
            if (a[2]) val = a + 2;
        }
        if (!o) return cli_error(spec->cmd, CLI_EXIT_USAGE, "unknown option '%s' (see hone %s --help)", a, spec->cmd);
        if (o->kind == CLI_FLAG) {
            if (val) return cli_error(spec->cmd, CLI_EXIT_USAGE, "option --%s takes no value", o->name);
            *(bool *)o->dest = true;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) return cli_error(spec->cmd, CLI_EXIT_USAGE, "option --%s needs a value", o->name);
            val = argv[++i];
        }
        int rc = store_value(spec, o, val);
        if (rc) return rc;
    }
    return 0;
}

void cli_print_help(const cli_spec *spec, FILE *out) {
    fprintf(out, "usage: hone %s %s\n\n%s\n", spec->cmd, spec->usage, spec->summary);
    if (!spec->opts || !spec->opts->name) return;
    fprintf(out, "\noptions:\n");
    for (const cli_opt *o = spec->opts; o->name; o++) {
        char left[64];
        int n = 0;
        if (o->short_name)
            n = snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->name);
        else
            n = snprintf(left, sizeof left, "    --%s", o->name);
        if (o->arg && n > 0 && (size_t)n < sizeof left) snprintf(left + n, sizeof left - (size_t)n, " %s", o->arg);
        fprintf(out, "  %-28s %s\n", left, o->help);
    }
    fprintf(out, "  %-28s %s\n", "-h, --help", "show this help");
}

/* ---- errors ------------------------------------------------------------ */

int cli_error(const char *cmd, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hone %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_load_error(const char *cmd, const char *path, hone_status st) {
    const char *msg = hone_last_error();
    if (!msg || !*msg) msg = hone_status_str(st);
    if (path && !strstr(msg, path))
        cli_error(cmd, 0, "%s: %s", path, msg);
    else
        cli_error(cmd, 0, "%s", msg);
    return st == HONE_ERR_NOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_INPUT;
}

/* ---- model location ---------------------------------------------------- */

bool cli_cache_dir(char *buf, size_t cap) {
    const char *env = getenv("HONE_CACHE");
    int n;
    if (env && *env) {
        n = snprintf(buf, cap, "%s", env);
    } else {
        const char *xdg = getenv("XDG_CACHE_HOME");
        if (xdg && *xdg) {
            n = snprintf(buf, cap, "%s/hone", xdg);
        } else {
            const char *home = getenv("HOME");
            n = snprintf(buf, cap, "%s/.cache/hone", home && *home ? home : ".");
        }
    }
    return n > 0 && (size_t)n < cap;
}

int cli_kv_type(const char *cmd, const char *name, int32_t *out) {
    const int t = hone_kv_type_from_name(name);
    if (t < 0) return cli_error(cmd, CLI_EXIT_USAGE, "--kv-type '%s' is not f16 or q8_0", name);
    *out = t;
    return 0;
}

int cli_model_path(const char *cmd, const char *given, char *buf, size_t cap) {
    if (given) {
        if (strlen(given) >= cap) return cli_error(cmd, CLI_EXIT_INPUT, "%s: path too long", given);
        strcpy(buf, given);
        return 0;
    }
    char dir[4096];
    if (!cli_cache_dir(dir, sizeof dir)) return cli_error(cmd, CLI_EXIT_INPUT, "model cache path too long");
    int n = snprintf(buf, cap, "%s/%s", dir, HONE_DEFAULT_MODEL_FILE);
    if (n < 0 || (size_t)n >= cap) return cli_error(cmd, CLI_EXIT_INPUT, "model cache path too long");
    if (access(buf, R_OK) != 0)
        return cli_error(cmd, CLI_EXIT_INPUT, "no model given (-m) and the default model is not in %s: run `hone pull`",
                         dir);
    return 0;
}

/* ---- input ------------------------------------------------------------- */

char *cli_read_all(const char *path, size_t *len) {
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (cap - n < 2) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                buf = NULL;
                errno = e ? e : EIO;
            }
            break;
        }
    }
    if (!is_stdin) fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    *len = n;
    return buf;
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
