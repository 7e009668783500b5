/*
 * textbook.c - the simulated textbook schemes (see textbook.h). Rounding is to nearest with ties
 * away from zero (roundf), as the textbook formulas are usually written.
 */
#include "compress/textbook.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"

hone_status hone_scheme_parse(const char *name, int group, hone_scheme *out) {
    memset(out, 0, sizeof *out);
    if (group < 0) return hone_err(HONE_ERR_INVALID_ARG, "scheme: group %d is negative", group);
    out->group = group;
    if (strcmp(name, "int8") == 0) {
        out->kind = HONE_SCHEME_INT8;
        out->bits = 8;
    } else if (strncmp(name, "asym", 4) == 0 && (name[4] == '8' || name[4] == '4' || name[4] == '3' || name[4] == '2') &&
               name[5] == '\0') {
        out->kind = HONE_SCHEME_ASYM;
        out->bits = name[4] - '0';
    } else if (strncmp(name, "log", 3) == 0 && (name[3] == '4' || name[3] == '3') && name[4] == '\0') {
        out->kind = HONE_SCHEME_LOG2;
        out->bits = name[3] - '0';
    } else {
        return hone_err(HONE_ERR_INVALID_ARG, "unknown scheme '%s' (int8, asym8, asym4, asym3, asym2, log4, log3)",
                        name);
    }
    return HONE_OK;
}

static void group_int8(const float *x, float *y, int64_t n) {
    float amax = 0.0f;
    for (int64_t j = 0; j < n; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float s = amax / 127.0f;
    for (int64_t j = 0; j < n; j++) {
        float q = s > 0.0f ? roundf(x[j] / s) : 0.0f;
        q = fminf(127.0f, fmaxf(-127.0f, q));
        y[j] = q * s;
    }
}

static void group_asym(const float *x, float *y, int64_t n, int bits) {
    float mn = x[0], mx = x[0];
    for (int64_t j = 1; j < n; j++) {
        mn = fminf(mn, x[j]);
        mx = fmaxf(mx, x[j]);
    }
    const float levels = (float)((1 << bits) - 1);
    const float range = mx - mn;
    for (int64_t j = 0; j < n; j++) {
        if (!(range > 0.0f)) {
            y[j] = mn;
            continue;
        }
        float q = roundf((x[j] - mn) / range * levels);
        q = fminf(levels, fmaxf(0.0f, q));
        y[j] = mn + q * range / levels;
    }
}

static void group_log2(const float *x, float *y, int64_t n, int bits) {
    float s = 0.0f;
    for (int64_t j = 0; j < n; j++) s = fmaxf(s, fabsf(x[j]));
    const int L = (1 << (bits - 1)) - 1; /* magnitudes s, s/2, ..., s/2^(L-1); plus zero */
    for (int64_t j = 0; j < n; j++) {
        const float a = fabsf(x[j]);
        float best = 0.0f, err = a; /* zero */
        for (int e = 0; e < L && s > 0.0f; e++) {
            const float v = ldexpf(s, -e);
            if (fabsf(a - v) < err) {
                err = fabsf(a - v);
                best = v;
            }
        }
        y[j] = x[j] < 0.0f ? -best : best;
    }
}

void hone_scheme_apply_row(const hone_scheme *s, const float *x, float *y, int64_t n) {
    const int64_t g = s->group > 0 ? s->group : n;
    for (int64_t b = 0; b < n; b += g) {
        const int64_t m = b + g <= n ? g : n - b;
        switch (s->kind) {
        case HONE_SCHEME_INT8: group_int8(x + b, y + b, m); break;
        case HONE_SCHEME_ASYM: group_asym(x + b, y + b, m, s->bits); break;
        case HONE_SCHEME_LOG2: group_log2(x + b, y + b, m, s->bits); break;
        default: memcpy(y + b, x + b, (size_t)m * sizeof *y); break;
        }
    }
}

double hone_scheme_bpw(const hone_scheme *s, int64_t n) {
    const int64_t g = s->group > 0 ? s->group : n;
    const double overhead = s->kind == HONE_SCHEME_ASYM ? 64.0 : 32.0; /* F32 scale (+ F32 minimum) per group */
    return (double)s->bits + overhead / (double)g;
}

const char *hone_scheme_name(const hone_scheme *s, char *buf, int cap) {
    const char *k = s->kind == HONE_SCHEME_INT8 ? "int" : s->kind == HONE_SCHEME_ASYM ? "asym" : "log";
    if (s->group > 0) snprintf(buf, (size_t)cap, "%s%d/g%d", k, s->bits, s->group);
    else snprintf(buf, (size_t)cap, "%s%d/channel", k, s->bits);
    return buf;
}
