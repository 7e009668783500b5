/*
 * pretok.h - the byte-level BPE pre-tokeniser: split text into words with the
 * regex list that tokenizer.ggml.pre names, the way llama.cpp does.
 *
 * llama.cpp applies the regexes of a list one after another: each splits
 * every piece left by the previous one into its matches and the unmatched
 * stretches between them (nothing is dropped). We do the same with PCRE2 in
 * UTF + UCP mode. Text is first decoded leniently (invalid bytes become
 * U+FFFD, see utf8.h) and re-encoded; the words come back as ranges of that
 * normalised text.
 *
 * A compiled pretok is immutable and may be shared by threads; each call
 * brings its own pretok_scratch.
 */
#ifndef HONE_TOKENIZER_PRETOK_H
#define HONE_TOKENIZER_PRETOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hone.h"

typedef struct pretok pretok;

/* Compile the regexes for `pre` (NULL or unknown: the default list; *known
 * is then false). */
hone_status pretok_create(const char *pre, pretok **out, bool *known);
void pretok_free(pretok *p);
/* The name of the regex set chosen (e.g. "smollm", "default"). */
const char *pretok_set_name(const pretok *p);

/* Per-call buffers; zero-initialise, free with pretok_scratch_free. */
typedef struct {
    char *norm, *subj;
    size_t norm_cap, subj_cap;
    uint32_t *norm_off, *subj_off; /* byte offset of each code point (+ end) */
    size_t off_cap;
    uint32_t *bnd, *bnd2; /* word boundaries, as code point indices */
    size_t bnd_cap;
    void *md; /* pcre2_match_data_8 */
} pretok_scratch;

void pretok_scratch_free(pretok_scratch *s);

/* Split text[0..len). On success *norm is the normalised text and word i is
 * norm[bounds[i] .. bounds[i+1]) for i < n_words. Valid until the next call
 * with the same scratch. */
hone_status pretok_split(const pretok *p, pretok_scratch *s, const char *text, size_t len, const char **norm,
                         const uint32_t **bounds, size_t *n_words);

#endif
