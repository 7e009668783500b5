/*
 * textbook.c - textbook schemes to hone tensor types (see textbook.h). The arithmetic of the
 * schemes (quantise, dequantise, dot products) lives with the types in src/quant/q_textbook.c.
 */
#include "compress/textbook.h"

#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "quant/quant.h"

hone_status hone_scheme_parse(const char *name, int group, hone_scheme *out) {
    memset(out, 0, sizeof *out);
    if (group != 0 && group != 32 && group != 64 && group != 128)
        return hone_err(HONE_ERR_INVALID_ARG, "scheme: group %d is not one of 0 (per channel), 32, 64, 128", group);
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

static hone_tb_kind tb_kind(hone_scheme_kind k) {
    return k == HONE_SCHEME_INT8 ? HONE_TB_INT8 : k == HONE_SCHEME_ASYM ? HONE_TB_ASYM : HONE_TB_LOG;
}

hone_type hone_scheme_type(const hone_scheme *s, int64_t nx, char *note, size_t cap) {
    if (note && cap) note[0] = '\0';
    const int want = hone_tb_type(tb_kind(s->kind), s->bits, s->group);
    if (want >= 0 && nx % hone_type_get((uint32_t)want)->block_size == 0) return (hone_type)want;
    /* the largest group below the wanted one (per channel counts as the largest) that fits */
    static const int groups[] = {128, 64, 32};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (s->group != 0 && groups[i] >= s->group) continue;
        const int t = hone_tb_type(tb_kind(s->kind), s->bits, groups[i]);
        if (t >= 0 && nx % groups[i] == 0) {
            if (note && want >= 0)
                snprintf(note, cap, "fallback %s -> %s: row %lld is not a multiple of %u",
                         hone_type_get((uint32_t)want)->name, hone_type_get((uint32_t)t)->name, (long long)nx,
                         hone_type_get((uint32_t)want)->block_size);
            return (hone_type)t;
        }
    }
    if (note) snprintf(note, cap, "fallback F16: row %lld is not a multiple of 32", (long long)nx);
    return HONE_TYPE_F16;
}

double hone_scheme_bpw(const hone_scheme *s, int64_t nx) {
    const hone_type_info *ti = hone_type_get((uint32_t)hone_scheme_type(s, nx, NULL, 0));
    return 8.0 * (double)ti->type_size / (double)ti->block_size;
}

const char *hone_scheme_name(const hone_scheme *s, char *buf, int cap) {
    const char *k = s->kind == HONE_SCHEME_INT8 ? "int" : s->kind == HONE_SCHEME_ASYM ? "asym" : "log";
    if (s->group > 0) snprintf(buf, (size_t)cap, "%s%d/g%d", k, s->bits, s->group);
    else snprintf(buf, (size_t)cap, "%s%d/channel", k, s->bits);
    return buf;
}
