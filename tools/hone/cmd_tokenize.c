/*
 * cmd_tokenize.c - `hone tokenize`: show how a model's tokenizer splits text.
 *
 * Loads only the vocabulary (hone_model_params.vocab_only), so it works on
 * vocab-only GGUF files such as llama.cpp's ggml-vocab-*.gguf and is fast on
 * full models. Default output is one line per token, "id<TAB>'piece'", with
 * the piece escaped so each token stays on one line; --ids prints just the
 * ids, space separated, which is what tests and scripts compare.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *CMD = "tokenize";

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    size_t len;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80) return 1;
    if ((s[0] & 0xE0) == 0xC0) len = 2, cp = s[0] & 0x1F, min = 0x80;
    else if ((s[0] & 0xF0) == 0xE0) len = 3, cp = s[0] & 0x0F, min = 0x800;
    else if ((s[0] & 0xF8) == 0xF0) len = 4, cp = s[0] & 0x07, min = 0x10000;
    else return 0;
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* Print a piece quoted: valid UTF-8 as is, control characters, quotes and
 * stray bytes (a token may hold part of a code point) as escapes. */
static void print_piece(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    putchar('\'');
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = utf8_seq_len(s + i, n - i);
        if (len > 1) {
            fwrite(s + i, 1, len, stdout);
            i += len;
            continue;
        }
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '\'' || c == '\\') printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f) printf("\\x%02x", c);
        else putchar(c);
        i++;
    }
    putchar('\'');
}

int cmd_tokenize(int argc, char **argv) {
    const char *model_arg = NULL, *file = NULL;
    bool ids_only = false, no_bos = false, special = false;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model_arg, 0, 0, "FILE", "GGUF file (vocab-only files work; default: cached model)"},
        {"ids", 0, CLI_FLAG, &ids_only, 0, 0, NULL, "print only the ids, space separated, on one line"},
        {"no-bos", 0, CLI_FLAG, &no_bos, 0, 0, NULL, "do not add BOS/EOS even if the model asks for them"},
        {"special", 0, CLI_FLAG, &special, 0, 0, NULL, "parse control-token text (\"<|im_start|>\") as those tokens"},
        {"file", 'f', CLI_STR, &file, 0, 0, "FILE", "read the text from FILE (\"-\" = stdin)"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {CMD, "[options] TEXT | -f FILE | -",
                           "Tokenise TEXT (or a file, or stdin when TEXT is \"-\"; the bytes are used as they are,\n"
                           "trailing newline included) with the model's own tokenizer and print one line per token:\n"
                           "id, a tab, and the token's text quoted. BOS is added only when the model's metadata\n"
                           "asks for it; control-token text is plain text unless --special.",
                           opts, 1};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if (n_pos && file) return cli_error(CMD, CLI_EXIT_USAGE, "give either TEXT or --file, not both");
    if (!n_pos && !file) return cli_error(CMD, CLI_EXIT_USAGE, "no text given (see hone tokenize --help)");

    char *text;
    size_t len;
    const char *src = file ? file : pos[0];
    if (file || strcmp(pos[0], "-") == 0) {
        text = cli_read_all(src, &len);
        if (!text)
            return cli_error(CMD, CLI_EXIT_INPUT, "%s: cannot read: %s", strcmp(src, "-") ? src : "stdin",
                             strerror(errno));
    } else {
        len = strlen(pos[0]);
        text = malloc(len + 1);
        if (!text) return cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory");
        memcpy(text, pos[0], len + 1);
    }

    char path[4096];
    hone_model *model = NULL;
    hone_token *ids = NULL;
    if ((rc = cli_model_path(CMD, model_arg, path, sizeof path))) goto done;
    hone_model_params mp = hone_model_default_params();
    mp.vocab_only = true;
    hone_status st = hone_model_load(path, &mp, &model);
    if (st != HONE_OK) {
        rc = cli_load_error(CMD, path, st);
        goto done;
    }

    /* One token never covers less than one byte; the slack is for BOS/EOS
     * and a prefix space. If the tokenizer needs more, it says how many. */
    size_t cap = len + 16, n = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        free(ids);
        ids = malloc(cap * sizeof *ids);
        if (!ids) {
            rc = cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory");
            goto done;
        }
        st = hone_tokenize(model, text, len, !no_bos, special, ids, cap, &n);
        if (st == HONE_ERR_INVALID_ARG && n > cap) {
            cap = n;
            continue;
        }
        break;
    }
    if (st != HONE_OK) {
        rc = cli_error(CMD, CLI_EXIT_RUNTIME, "%s", hone_last_error());
        goto done;
    }

    if (ids_only) {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
    } else {
        char small[256];
        for (size_t i = 0; i < n; i++) {
            /* Show control tokens' text too: the point is to see every token. */
            int32_t k = hone_token_to_piece(model, ids[i], true, small, sizeof small);
            char *buf = small;
            if (k < 0) {
                buf = malloc((size_t)-k);
                k = buf ? hone_token_to_piece(model, ids[i], true, buf, (size_t)-k) : -1;
            }
            printf("%d\t", ids[i]);
            if (k >= 0) print_piece(buf, (size_t)k);
            else fputs("?", stdout);
            putchar('\n');
            if (buf != small) free(buf);
        }
    }
    if (fflush(stdout) != 0) rc = cli_error(CMD, CLI_EXIT_RUNTIME, "writing output failed");

done:
    free(ids);
    free(text);
    if (model) hone_model_free(model);
    return rc;
}
