/*
 * pretok.c - pre-tokeniser regex sets (per tokenizer.ggml.pre) run with PCRE2.
 *
 * The regex strings are the ones llama.cpp uses for each `pre` value (they
 * define how the model's text was split when it was trained, so they are
 * data, reproduced verbatim). llama.cpp runs them three ways (hand-written
 * matchers for the gpt2 and llama3 patterns, std::regex over a text where
 * every non-ASCII code point is collapsed to a category byte, std::wregex for
 * patterns without \p{..}); all three treat exactly these code points as
 * whitespace: ASCII \t \n \v \f \r and space plus the non-ASCII White_Space
 * characters, which the regex engines see as \v. We reproduce that by
 * running PCRE2 (UTF + UCP, so \p{L} and friends use Unicode categories) on
 * a copy of the text where non-ASCII whitespace is replaced by \v, with \s
 * rewritten to the explicit ASCII class. Encoded surrogates (which the lenient
 * decoder lets through, as llama.cpp does) are not valid for PCRE2 and are
 * replaced by U+E000 in that copy: both are category "other" to every
 * pattern here. Likewise the few code points assigned after Unicode 14
 * (which PCRE2 10.42 knows) get a stand-in of the category llama.cpp's newer
 * tables give them. Word boundaries are taken from the copy and applied to the
 * normalised text, so the bytes of the words are the re-encoded input.
 *
 * `$` must only match at the very end of a piece (std::regex semantics), hence
 * PCRE2_DOLLAR_ENDONLY.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretok.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "tokenizer/utf8.h"

#define MAX_REGEX 8

/* GPT-2's pattern; several sets share it. */
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
/* Llama 3's pattern as llama.cpp adapted it (case-insensitive contractions
 * spelled out). */
#define RE_LLAMA3                                                                                            \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "  \
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

typedef struct {
    const char *set;           /* name of the set */
    const char *names;         /* tokenizer.ggml.pre values, '|'-separated */
    const char *re[MAX_REGEX]; /* applied in order */
} regex_set;

static const regex_set k_sets[] = {
    {"default", "default", {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+", "[0-9][0-9][0-9]"}},
    {"llama3", "llama3|llama-v3|llama-bpe|falcon3|dbrx|smaug-bpe|chatglm-bpe", {RE_LLAMA3}},
    {"deepseek-llm",
     "deepseek-llm",
     {"[\r\n]",
      "\\s?[A-Za-z\xc2\xb5\xc3\x80-\xc3\x96\xc3\x98-\xc3\xb6\xc3\xb8-\xc6\xba\xc6\xbc-\xc6\xbf\xc7\x84-\xca"
      "\x93\xca\x95-\xca\xaf\xcd\xb0-\xcd\xb3\xcd\xb6\xcd\xb7\xcd\xbb-\xcd\xbd\xcd\xbf\xce\x86\xce\x88-\xce"
      "\x8a\xce\x8c\xce\x8e-\xce\xa1\xce\xa3-\xcf\xb5\xcf\xb7-\xd2\x81\xd2\x8a-\xd4\xaf\xd4\xb1-\xd5\x96"
      "\xe1\x82\xa0-\xe1\x83\x85\xe1\x8e\xa0-\xe1\x8f\xb5\xe1\x8f\xb8-\xe1\x8f\xbd\xe1\xb2\x90-\xe1\xb2\xba"
      "\xe1\xb2\xbd-\xe1\xb2\xbf\xe1\xb4\x80-\xe1\xb4\xab\xe1\xb5\xab-\xe1\xb5\xb7\xe1\xb5\xb9-\xe1\xb6\x9a"
      "\xe1\xb8\x80-\xe1\xbc\x95\xe1\xbc\x98-\xe1\xbc\x9d\xe1\xbc\xa0-\xe1\xbd\x85\xe1\xbd\x88-\xe1\xbd\x8d"
      "\xe1\xbd\x90-\xe1\xbd\x97\xe1\xbd\x99\xe1\xbd\x9b\xe1\xbd\x9d\xe1\xbd\x9f-\xe1\xbd\xbd\xe1\xbe\x80-"
      "\xe1\xbe\xb4\xe1\xbe\xb6-\xe1\xbe\xbc\xe1\xbe\xbe\xe1\xbf\x82-\xe1\xbf\x84\xe1\xbf\x86-\xe1\xbf\x8c"
      "\xe1\xbf\x90-\xe1\xbf\x93\xe1\xbf\x96-\xe1\xbf\x9b\xe1\xbf\xa0-\xe1\xbf\xac\xe1\xbf\xb2-\xe1\xbf\xb4"
      "\xe1\xbf\xb6-\xe1\xbf\xbc\xe2\x84\x82\xe2\x84\x87\xe2\x84\x8a-\xe2\x84\x93\xe2\x84\x95\xe2\x84\x99-"
      "\xe2\x84\x9d\xe2\x84\xa4\xe2\x84\xa6\xe2\x84\xa8\xe2\x84\xaa-\xe2\x84\xad\xe2\x84\xaf-\xe2\x84\xb4"
      "\xe2\x84\xb9\xe2\x84\xbc-\xe2\x84\xbf\xe2\x85\x85-\xe2\x85\x89\xe2\x85\x8e\xe2\x86\x83\xe2\x86\x84"
      "\xe2\xb0\x80-\xe2\xb1\xbb\xe2\xb1\xbe-\xe2\xb3\xa4\xe2\xb3\xab-\xe2\xb3\xae\xe2\xb3\xb2\xe2\xb3\xb3"
      "\xea\x99\x80-\xea\x99\xad\xea\x9a\x80-\xea\x9a\x9b\xea\x9c\xa2-\xea\x9d\xaf\xea\x9d\xb1-\xea\x9e\x87"
      "\xea\x9e\x8b-\xea\x9e\x8e\xea\xad\xb0-\xea\xae\xbf\xef\xac\x80-\xef\xac\x86\xef\xac\x93-\xef\xac\x97"
      "\xef\xbc\xa1-\xef\xbc\xba\xef\xbd\x81-\xef\xbd\x9a\xf0\x90\x90\x80-\xf0\x90\x91\x8f\xf0\x90\x92\xb0-"
      "\xf0\x90\x93\x93\xf0\x90\x93\x98-\xf0\x90\x93\xbb\xf0\x90\xb2\x80-\xf0\x90\xb2\xb2\xf0\x90\xb3\x80-"
      "\xf0\x90\xb3\xb2\xf0\x91\xa2\xa0-\xf0\x91\xa3\x9f\xf0\x9e\xa4\x80-\xf0\x9e\xa5\x83]+",
      "\\s?[!-/:-~\xef\xbc\x81-\xef\xbc\x8f\xef\xbc\x9a-\xef\xbd\x9e\xe2\x80\x98-\xe2\x80\x9f\xe3\x80\x80-"
      "\xe3\x80\x82]+",
      "\\s+$", "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+", "\\p{N}+"}},
    {"deepseek-v3",
     "deepseek-v3",
     {"\\p{N}{1,3}", "[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]+",
      "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
      "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"}},
    {"deepseek-coder",
     "deepseek-coder",
     {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+",
      "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+", "\\p{N}"}},
    {"falcon", "falcon", {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]"}},
    {"starcoder", "starcoder|refact|command-r|smollm|codeshell|exaone|minerva-7b", {"\\p{N}", RE_GPT2}},
    {"gpt2",
     "gpt-2|phi-2|jina-es|jina-de|gigachat|jina-v1-en|jina-v2-es|jina-v2-de|jina-v2-code|roberta-bpe|mpt|"
     "olmo|jais",
     {RE_GPT2}},
    {"qwen2",
     "qwen2|deepseek-r1-qwen|megrez|stablelm2",
     {"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
    {"bloom",
     "poro-chat|bloom|gpt3-finnish",
     {" ?[^(\\s|.,!?\xe2\x80\xa6\xe3\x80\x82\xef\xbc\x8c\xe3\x80\x81\xe0\xa5\xa4\xdb\x94\xd8\x8c)]+"}},
    {"viking",
     "viking",
     {" ?[^(\\s|.,!?\xe2\x80\xa6\xe3\x80\x82\xef\xbc\x8c\xe3\x80\x81\xe0\xa5\xa4\xdb\x94\xd8\x8c)]+",
      "\\p{N}"}},
    {"tekken",
     "tekken",
     {"[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}"
      "])(["
      "^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"}},
    {"chameleon",
     "chameleon",
     {"<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
      "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2}},
};

/* Backtracking memory one match may use. Only pathological input gets near
 * it (tekken's lookahead groups over a letter run of tens of thousands of
 * characters); hitting it fails the call instead of exhausting memory. */
#define HEAP_LIMIT_KIB (64 * 1024)

struct pretok {
    const regex_set *set;
    pcre2_code *code[MAX_REGEX];
    int n;
    pcre2_match_context *mctx; /* read-only while matching, so shared */
};

/* Rewrite \s and \S to the explicit ASCII whitespace classes (see the file
 * comment). out must hold 12 * strlen(in) + 1 bytes. */
static void rewrite_ws(const char *in, char *out) {
    static const char ws[] = "\\t\\n\\x0b\\f\\r ";
    bool in_class = false;
    char *o = out;
    for (const char *p = in; *p; p++) {
        if (p[0] == '\\' && p[1]) {
            if (p[1] == 's' || (p[1] == 'S' && !in_class)) {
                if (!in_class) *o++ = '[';
                if (p[1] == 'S') *o++ = '^';
                memcpy(o, ws, sizeof ws - 1);
                o += sizeof ws - 1;
                if (!in_class) *o++ = ']';
            } else {
                *o++ = p[0];
                *o++ = p[1];
            }
            p++;
            continue;
        }
        if (*p == '[' && !in_class)
            in_class = true;
        else if (*p == ']' && in_class)
            in_class = false;
        *o++ = *p;
    }
    *o = 0;
}

static bool name_in(const char *names, const char *pre) {
    size_t n = strlen(pre);
    for (const char *p = names; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && memcmp(p, pre, n) == 0) return true;
        if (!bar) break;
        p = bar + 1;
    }
    return false;
}

hone_status pretok_create(const char *pre, pretok **out, bool *known) {
    *out = NULL;
    const regex_set *set = &k_sets[0];
    *known = false;
    if (pre) {
        for (size_t i = 0; i < sizeof k_sets / sizeof k_sets[0]; i++) {
            if (name_in(k_sets[i].names, pre)) {
                set = &k_sets[i];
                *known = true;
                break;
            }
        }
    }
    pretok *p = calloc(1, sizeof *p);
    if (!p) return hone_err(HONE_ERR_NOMEM, "pretok: out of memory");
    p->set = set;
    p->mctx = pcre2_match_context_create(NULL);
    if (!p->mctx) {
        pretok_free(p);
        return hone_err(HONE_ERR_NOMEM, "pretok: out of memory");
    }
    pcre2_set_heap_limit(p->mctx, HEAP_LIMIT_KIB);
    for (int i = 0; i < MAX_REGEX && set->re[i]; i++) {
        size_t n = strlen(set->re[i]);
        char *pat = malloc(12 * n + 1);
        if (!pat) {
            pretok_free(p);
            return hone_err(HONE_ERR_NOMEM, "pretok: out of memory");
        }
        rewrite_ws(set->re[i], pat);
        int err;
        PCRE2_SIZE erroff;
        p->code[i] = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &erroff, NULL);
        free(pat);
        if (!p->code[i]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            pretok_free(p);
            return hone_err(HONE_ERR_RUNTIME, "pretok '%s': regex %d does not compile at %zu: %s", set->set,
                            i, (size_t)erroff, (const char *)msg);
        }
        /* JIT is an optimisation only; matching falls back to the interpreter. */
        pcre2_jit_compile(p->code[i], PCRE2_JIT_COMPLETE);
        p->n = i + 1;
    }
    *out = p;
    return HONE_OK;
}

void pretok_free(pretok *p) {
    if (!p) return;
    for (int i = 0; i < MAX_REGEX; i++) pcre2_code_free(p->code[i]);
    pcre2_match_context_free(p->mctx);
    free(p);
}

const char *pretok_set_name(const pretok *p) {
    return p->set->set;
}

void pretok_scratch_free(pretok_scratch *s) {
    free(s->norm);
    free(s->subj);
    free(s->norm_off);
    free(s->subj_off);
    free(s->bnd);
    free(s->bnd2);
    if (s->md) pcre2_match_data_free((pcre2_match_data *)s->md);
    memset(s, 0, sizeof *s);
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return false;
    *p = q;
    *cap = n;
    return true;
}

/* Two arrays that always have the same capacity. */
static bool grow2(void **a, void **b, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t n = *cap ? *cap : 64;
    while (n < need) n *= 2;
    void *qa = realloc(*a, n * elem);
    if (!qa) return false;
    *a = qa;
    void *qb = realloc(*b, n * elem);
    if (!qb) return false;
    *b = qb;
    *cap = n;
    return true;
}

/* Code points whose category llama.cpp's Unicode tables (15.1) know but
 * PCRE2's (Unicode 14 in 10.42) do not (they are unassigned there), mapped
 * to a stand-in of llama.cpp's category with the same UTF-8 length, chosen
 * outside every literal character class of the regexes above (or inside the
 * same ones: the BMP stand-ins lie in U+0800..U+4E00 like the originals). */
static const struct {
    uint32_t lo, hi, as;
} k_newer_unicode[] = {{0x00CF3, 0x00CF3, 0x0E31},  {0x00ECE, 0x00ECE, 0x0E31},  {0x02FFC, 0x02FFF, 0x2600},
                       {0x031EF, 0x031EF, 0x2600},  {0x10EFD, 0x10EFF, 0x101FD}, {0x1123F, 0x11240, 0x10000},
                       {0x11241, 0x11241, 0x101FD}, {0x11B00, 0x11B09, 0x10100}, {0x11F00, 0x11F01, 0x101FD},
                       {0x11F02, 0x11F02, 0x10000}, {0x11F03, 0x11F03, 0x101FD}, {0x11F04, 0x11F10, 0x10000},
                       {0x11F12, 0x11F33, 0x10000}, {0x11F34, 0x11F3A, 0x101FD}, {0x11F3E, 0x11F42, 0x101FD},
                       {0x11F43, 0x11F4F, 0x10100}, {0x11F50, 0x11F59, 0x10107}, {0x1342F, 0x1342F, 0x10000},
                       {0x13440, 0x13440, 0x101FD}, {0x13441, 0x13446, 0x10000}, {0x13447, 0x13455, 0x101FD},
                       {0x1B132, 0x1B132, 0x10000}, {0x1B155, 0x1B155, 0x10000}, {0x1D2C0, 0x1D2D3, 0x10107},
                       {0x1DF25, 0x1DF2A, 0x10000}, {0x1E030, 0x1E06D, 0x10000}, {0x1E08F, 0x1E08F, 0x101FD},
                       {0x1E4D0, 0x1E4EB, 0x10000}, {0x1E4EC, 0x1E4EF, 0x101FD}, {0x1E4F0, 0x1E4F9, 0x10107},
                       {0x1F6DC, 0x1F6DC, 0x10137}, {0x1F774, 0x1F776, 0x10137}, {0x1F77B, 0x1F77F, 0x10137},
                       {0x1F7D9, 0x1F7D9, 0x10137}, {0x1FA75, 0x1FA77, 0x10137}, {0x1FA87, 0x1FA88, 0x10137},
                       {0x1FAAD, 0x1FAAF, 0x10137}, {0x1FABB, 0x1FABD, 0x10137}, {0x1FABF, 0x1FABF, 0x10137},
                       {0x1FACE, 0x1FACF, 0x10137}, {0x1FADA, 0x1FADB, 0x10137}, {0x1FAE8, 0x1FAE8, 0x10137},
                       {0x1FAF7, 0x1FAF8, 0x10137}, {0x2B739, 0x2B739, 0x10000}, {0x2EBF0, 0x2EE5D, 0x10000},
                       {0x31350, 0x323AF, 0x10000}};

static uint32_t category_stand_in(uint32_t c) {
    size_t lo = 0, hi = sizeof k_newer_unicode / sizeof k_newer_unicode[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < k_newer_unicode[mid].lo)
            hi = mid;
        else if (c > k_newer_unicode[mid].hi)
            lo = mid + 1;
        else
            return k_newer_unicode[mid].as;
    }
    return c;
}

static bool is_nonascii_space(uint32_t c) {
    return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
           c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Split the piece of code points [a, b) with one regex, appending the new
 * boundaries (a itself and every match edge inside) to dst. */
static hone_status split_piece(const pretok *p, const pcre2_code *re, pretok_scratch *s, uint32_t a,
                               uint32_t b, uint32_t *dst, size_t *nd) {
    pcre2_match_data *md = (pcre2_match_data *)s->md;
    const char *subj = s->subj + s->subj_off[a];
    size_t len = s->subj_off[b] - s->subj_off[a];
    const uint32_t *off = s->subj_off;
    uint32_t base = s->subj_off[a];
    uint32_t c = a; /* code point cursor for byte -> index conversion */
    uint32_t last = a;
    dst[(*nd)++] = a;
    size_t start = 0;
    uint32_t opts = PCRE2_NO_UTF_CHECK;
    while (start < len) {
        int rc = pcre2_match(re, (PCRE2_SPTR)subj, len, start, opts, md, p->mctx);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && !(opts & PCRE2_NO_JIT)) {
            opts |= PCRE2_NO_JIT;
            continue;
        }
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return hone_err(HONE_ERR_RUNTIME,
                            "pretok '%s': regex match failed in the piece at code point %u: %s", p->set->set,
                            (unsigned)a, (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { /* empty match: step over one character */
            size_t nx = start + 1;
            while (nx < len && ((uint8_t)subj[nx] & 0xc0) == 0x80) nx++;
            start = nx;
            continue;
        }
        while (off[c] - base < ms) c++;
        if (c > last) dst[(*nd)++] = last = c;
        while (off[c] - base < me) c++;
        if (c > last && c < b) dst[(*nd)++] = last = c;
        start = me;
    }
    return HONE_OK;
}

hone_status pretok_split(const pretok *p, pretok_scratch *s, const char *text, size_t len, const char **norm,
                         const uint32_t **bounds, size_t *n_words) {
    *n_words = 0;
    *norm = "";
    *bounds = NULL;
    if (len == 0) return HONE_OK;
    if (len > UINT32_MAX / 4)
        return hone_err(HONE_ERR_INVALID_ARG, "pretok: text of %zu bytes is too long", len);
    /* An invalid byte becomes U+FFFD: up to 3 bytes out per byte in. */
    if (!grow((void **)&s->norm, &s->norm_cap, 3 * len, 1) ||
        !grow((void **)&s->subj, &s->subj_cap, 3 * len, 1) ||
        !grow2((void **)&s->norm_off, (void **)&s->subj_off, &s->off_cap, len + 1, sizeof(uint32_t)) ||
        !grow2((void **)&s->bnd, (void **)&s->bnd2, &s->bnd_cap, len + 2, sizeof(uint32_t)))
        return hone_err(HONE_ERR_NOMEM, "pretok: out of memory for %zu bytes of text", len);
    if (!s->md) {
        s->md = pcre2_match_data_create(32, NULL);
        if (!s->md) return hone_err(HONE_ERR_NOMEM, "pretok: out of memory");
    }

    const uint8_t *u = (const uint8_t *)text;
    size_t ncp = 0, nl = 0, sl = 0;
    for (size_t i = 0; i < len;) {
        size_t adv;
        uint32_t cp = utf8_decode_lax(u + i, len - i, &adv);
        if (cp == UTF8_BAD) cp = UTF8_REPLACEMENT;
        i += adv;
        uint32_t sc = cp;
        if (cp >= 0x80 && is_nonascii_space(cp))
            sc = 0x0b;
        else if (cp >= 0xd800 && cp <= 0xdfff)
            sc = 0xe000;
        else if (cp >= 0x0cf3)
            sc = category_stand_in(cp);
        s->norm_off[ncp] = (uint32_t)nl;
        s->subj_off[ncp] = (uint32_t)sl;
        nl += (size_t)utf8_encode(cp, s->norm + nl);
        sl += (size_t)utf8_encode(sc, s->subj + sl);
        ncp++;
    }
    s->norm_off[ncp] = (uint32_t)nl;
    s->subj_off[ncp] = (uint32_t)sl;

    size_t nb = 0;
    s->bnd[nb++] = 0;
    s->bnd[nb++] = (uint32_t)ncp;
    for (int r = 0; r < p->n; r++) {
        size_t nd = 0;
        for (size_t k = 0; k + 1 < nb; k++) {
            hone_status st = split_piece(p, p->code[r], s, s->bnd[k], s->bnd[k + 1], s->bnd2, &nd);
            if (st) return st;
        }
        s->bnd2[nd++] = (uint32_t)ncp;
        uint32_t *t = s->bnd;
        s->bnd = s->bnd2;
        s->bnd2 = t;
        nb = nd;
    }
    for (size_t k = 0; k < nb; k++) s->bnd[k] = s->norm_off[s->bnd[k]];
    *norm = s->norm;
    *bounds = s->bnd;
    *n_words = nb - 1;
    return HONE_OK;
}
