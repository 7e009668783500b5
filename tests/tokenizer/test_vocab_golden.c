/*
 * test_vocab_golden.c - token ids must equal llama.cpp's, exactly.
 *
 * 1. llama.cpp's vocabulary test files: for every ggml-vocab-NAME.gguf under
 *    shared/golden/tokenizer, each test string of NAME.gguf.inp (strings are
 *    separated by "\n__ggml_vocab_test__\n"; the file ends with one, so no
 *    empty string follows it) tokenised without BOS and with control-token
 *    text as plain text gives the ids on the matching line of NAME.gguf.out.
 * 2. The default model (skipped when absent): its metadata (gpt2 / smollm,
 *    no BOS) and the prompt_ids llama.cpp's server produced for every
 *    shared/golden/smollm2/ JSON prompt, with control-token text parsed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tokenizer/tokenizer.h"

#define MAX_IDS 8192

static hone_vocab *open_vocab(const char *path, gguf_file **f) {
    hone_vocab *v = NULL;
    if (gguf_open(path, true, f) != HONE_OK) {
        CHECKF(0, "%s: gguf_open: %s", path, hone_last_error());
        return NULL;
    }
    if (vocab_load(*f, &v) != HONE_OK) {
        CHECKF(0, "%s: vocab_load: %s", path, hone_last_error());
        gguf_close(*f);
        return NULL;
    }
    return v;
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* Parse space-separated ids of one line; returns the count. */
static size_t parse_ids(const char *line, size_t len, int32_t *ids, size_t cap) {
    size_t n = 0;
    char *end;
    const char *p = line, *stop = line + len;
    while (p < stop && n < cap) {
        while (p < stop && (*p == ' ' || *p == '\r')) p++;
        if (p >= stop) break;
        long x = strtol(p, &end, 10);
        if (end == p) break;
        ids[n++] = (int32_t)x;
        p = end;
    }
    return n;
}

static void check_case(const hone_vocab *v, const char *name, int idx, const char *text, size_t len,
                       bool add_special, bool parse_special, const int32_t *want, size_t nwant) {
    static int32_t got[MAX_IDS];
    size_t n = 0;
    hone_status st = vocab_tokenize(v, text, len, add_special, parse_special, got, MAX_IDS, &n);
    bool same = st == HONE_OK && n == nwant && memcmp(got, want, n * sizeof(int32_t)) == 0;
    CHECKF(same, "%s case %d (%zu bytes \"%.*s\"): ids differ (status %d %s)", name, idx, len,
           (int)(len > 60 ? 60 : len), text, st, st ? hone_last_error() : "");
    if (!same) {
        print_ids("expected", want, nwant);
        print_ids("got     ", got, n < MAX_IDS ? n : MAX_IDS);
    }
}

static void run_vocab_file(const char *name) {
    char rel[256];
    snprintf(rel, sizeof rel, "golden/tokenizer/ggml-vocab-%s.gguf", name);
    char path[4000], inp_path[4096], out_path[4096];
    snprintf(path, sizeof path, "%s", test_shared_path(rel));
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    size_t inp_len = 0, out_len = 0;
    char *inp = test_read_file(inp_path, &inp_len), *out = test_read_file(out_path, &out_len);
    CHECKF(inp && out, "%s: cannot read the .inp/.out files", name);
    gguf_file *f = NULL;
    hone_vocab *v = inp && out ? open_vocab(path, &f) : NULL;
    if (!v) {
        free(inp);
        free(out);
        return;
    }
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t sep_len = sizeof sep - 1;
    const char *p = inp, *end = inp + inp_len;
    const char *line = out, *out_end = out + out_len;
    int idx = 0, fails_before = test_failures;
    static int32_t want[MAX_IDS];
    while (p < end) {
        const char *next = memmem(p, (size_t)(end - p), sep, sep_len);
        size_t len = next ? (size_t)(next - p) : (size_t)(end - p);
        const char *nl = memchr(line, '\n', (size_t)(out_end - line));
        CHECKF(line < out_end, "%s: .out has fewer lines than .inp has cases (case %d)", name, idx);
        if (line >= out_end) break;
        size_t line_len = nl ? (size_t)(nl - line) : (size_t)(out_end - line);
        size_t nwant = parse_ids(line, line_len, want, MAX_IDS);
        check_case(v, name, idx, p, len, false, false, want, nwant);
        line = nl ? nl + 1 : out_end;
        idx++;
        if (!next) break;
        p = next + sep_len;
    }
    CHECKF(idx == 46, "%s: expected 46 cases, ran %d", name, idx);
    fprintf(stderr, "%-14s %d cases, %d failing\n", name, idx, test_failures - fails_before);
    vocab_free(v);
    gguf_close(f);
    free(inp);
    free(out);
}

/* ---- a tolerant reader for the two JSON fields we need -------------------- */

static const char *find_key(const char *js, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(js, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}

static size_t put_utf8(unsigned cp, char *o) {
    if (cp < 0x80) return o[0] = (char)cp, 1;
    if (cp < 0x800) return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
               o[2] = (char)(0x80 | (cp & 0x3f)), 3;
    o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decode the JSON string at p (pointing at the opening quote). */
static char *json_string(const char *p, size_t *len) {
    if (!p || *p != '"') return NULL;
    p++;
    char *out = malloc(strlen(p) + 1), *o = out;
    while (*p && *p != '"') {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = (unsigned)strtoul((char[]){p[0], p[1], p[2], p[3], 0}, NULL, 16);
            p += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && p[0] == '\\' && p[1] == 'u') {
                unsigned lo = (unsigned)strtoul((char[]){p[2], p[3], p[4], p[5], 0}, NULL, 16);
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            o += put_utf8(cp, o);
            break;
        }
        default: *o++ = c; break; /* \" \\ \/ */
        }
    }
    *len = (size_t)(o - out);
    return out;
}

static size_t json_int_array(const char *p, int32_t *ids, size_t cap) {
    if (!p || *p != '[') return 0;
    p++;
    size_t n = 0;
    char *end;
    while (*p && *p != ']' && n < cap) {
        while (*p == ' ' || *p == '\n' || *p == ',' || *p == '\r' || *p == '\t') p++;
        if (*p == ']') break;
        long x = strtol(p, &end, 10);
        if (end == p) break;
        ids[n++] = (int32_t)x;
        p = end;
    }
    return n;
}

static void run_default_model(void) {
    const char *mp = test_model_path();
    if (!mp) {
        fprintf(stderr, "default model absent: skipping the smollm2 part\n");
        return;
    }
    gguf_file *f = NULL;
    hone_vocab *v = open_vocab(mp, &f);
    if (!v) return;
    CHECK(strcmp(vocab_model(v), "gpt2") == 0);
    CHECK(vocab_pre_known(v));
    CHECK(strcmp(vocab_pre_set(v), "starcoder") == 0); /* smollm shares starcoder's regexes */
    CHECK(!vocab_add_bos(v));
    CHECK(vocab_eos(v) == 2 && vocab_eot(v) == 2 && vocab_is_eog(v, 2) && vocab_is_eog(v, 0));
    CHECK(!vocab_is_eog(v, 1) && !vocab_is_eog(v, 504));
    const int32_t capital[] = {504, 3575, 282, 4649, 314};
    const char *txt = "The capital of France is";
    check_case(v, "smollm", 0, txt, strlen(txt), true, false, capital, 5);

    const char *dir = test_shared_path("golden/smollm2");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    CHECKF(d != NULL, "cannot open %s", dirbuf);
    int files = 0;
    static int32_t want[MAX_IDS];
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t nl = strlen(e->d_name);
        if (nl < 6 || strcmp(e->d_name + nl - 5, ".json") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dirbuf, e->d_name);
        size_t jlen;
        char *js = test_read_file(path, &jlen);
        CHECKF(js != NULL, "cannot read %s", path);
        if (!js) continue;
        size_t plen = 0;
        char *prompt = json_string(find_key(js, "prompt"), &plen);
        size_t nwant = json_int_array(find_key(js, "prompt_ids"), want, MAX_IDS);
        CHECKF(prompt && nwant > 0, "%s: no prompt / prompt_ids", path);
        if (prompt && nwant) check_case(v, e->d_name, 0, prompt, plen, true, true, want, nwant);
        free(prompt);
        free(js);
        files++;
    }
    if (d) closedir(d);
    CHECKF(files >= 12, "expected 12 golden prompts, found %d", files);
    fprintf(stderr, "smollm2        %d prompts checked\n", files);
    vocab_free(v);
    gguf_close(f);
}

int main(void) {
    static const char *const names[] = {"llama-spm", "phi-3", "gpt-2", "deepseek-llm", "falcon", "starcoder"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) run_vocab_file(names[i]);
    run_default_model();
    return test_finish();
}
