/*
 * vocab_internal.h - the hone_vocab structure shared by the tokenizer's files.
 *
 * vocab.c loads and owns everything here; spm.c and bpe.c read it to turn
 * text into ids, special.c splits text on special-token strings, pretok.c
 * holds the compiled pre-tokeniser regexes. After vocab_load returns nothing
 * in a hone_vocab is written again, so any number of threads may tokenise
 * with one vocab; per-call state lives in tok_scratch.
 */
#ifndef HONE_TOKENIZER_VOCAB_INTERNAL_H
#define HONE_TOKENIZER_VOCAB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tokenizer/pretok.h"
#include "tokenizer/tokenizer.h"

/* Token attributes (as llama.cpp derives them from token types, plus the
 * strip flags some models set on special tokens). */
enum {
    ATTR_UNDEFINED = 1 << 0,
    ATTR_UNKNOWN = 1 << 1,
    ATTR_UNUSED = 1 << 2,
    ATTR_NORMAL = 1 << 3,
    ATTR_CONTROL = 1 << 4,
    ATTR_USER_DEFINED = 1 << 5,
    ATTR_BYTE = 1 << 6,
    ATTR_LSTRIP = 1 << 8,
    ATTR_RSTRIP = 1 << 9,
};

typedef enum { VOCAB_SPM, VOCAB_BPE } vocab_kind;

/* Open-addressing hash table from byte strings (pointers into memory the
 * vocab owns) plus a small integer `aux` to an int32 value. */
typedef struct {
    const char *key;
    uint32_t len;
    uint32_t aux;
    uint32_t hash;
    int32_t val;
} strtab_entry;

typedef struct {
    strtab_entry *e;
    uint32_t n, cap; /* entries used / allocated */
    uint32_t *slot;  /* entry index + 1, 0 = empty */
    uint32_t mask;
} strtab;

uint32_t strtab_hash(const char *s, size_t len, uint32_t aux);
hone_status strtab_init(strtab *t, uint32_t expected);
void strtab_free(strtab *t);
/* Insert; when the key exists, overwrite its value if `replace`. */
hone_status strtab_put(strtab *t, const char *key, uint32_t len, uint32_t aux, int32_t val, bool replace);
/* Value for the key, or -1. */
int32_t strtab_get(const strtab *t, const char *key, size_t len, uint32_t aux);

struct hone_vocab {
    vocab_kind kind;
    int32_t n_tokens;

    char *text_pool; /* every token's text, NUL-terminated, back to back */
    uint32_t *text_off, *text_len;
    float *scores;
    int32_t *types; /* tokenizer.ggml.token_type as read (NORMAL when absent) */
    uint16_t *attr;
    strtab text_to_id; /* exact text -> id (a later duplicate wins, as in llama.cpp) */

    char *piece_pool; /* token_to_piece(special=true) of every token */
    uint32_t *piece_off, *piece_len;

    int32_t bos, eos, eot, eom, unk, pad;
    int32_t fim_pre, fim_suf, fim_mid, fim_pad, fim_rep, fim_sep;
    bool add_bos, add_eos, add_space_prefix, ignore_merges, clean_spaces;
    int32_t *eog; /* sorted ids that end generation */
    int32_t n_eog;

    /* Tokens matched in raw text before tokenisation (CONTROL, USER_DEFINED,
     * UNKNOWN), longest text first. */
    int32_t *special;
    int32_t n_special;

    /* SPM: the token for each byte (<0xNN>, else the 1-byte text, else -1). */
    int32_t byte_token[256];

    /* BPE: token ids and merge ranks keyed by the raw bytes the byte-level
     * text stands for, so that words are merged as plain bytes. */
    char *raw_pool;
    strtab raw_to_id;
    char *merge_pool;
    strtab merge_rank; /* key: left||right bytes, aux: length of left */
    pretok *pre;
    char pre_name[64];
    bool pre_known;
};

/* Growable id list; `failed` records an allocation failure. */
typedef struct {
    int32_t *v;
    size_t n, cap;
    bool failed;
} idvec;

void idvec_push(idvec *iv, int32_t id);

/* Per-call scratch, so vocab_tokenize needs no locks. Zero-initialise. */
typedef struct {
    idvec ids;
    pretok_scratch pre;
    char *buf; /* SPM: escaped text */
    size_t buf_cap;
    void *sym; /* symbol / heap arrays of the merge loops (caps in bytes) */
    size_t sym_cap;
    void *heap;
    size_t heap_cap;
    uint32_t *frag; /* special.c: fragment list (pairs of words) */
    size_t frag_n, frag_cap;
    uint32_t *frag2;
    size_t frag2_cap;
} tok_scratch;

void tok_scratch_free(tok_scratch *s);
/* Make *p hold at least `need` bytes (contents kept); false on OOM. */
bool scratch_reserve(void **p, size_t *cap, size_t need);

/* A run of text being merged into tokens (SPM and BPE). */
typedef struct {
    int32_t start, n; /* byte span; n = 0 once merged into its left neighbour */
    int32_t prev, next;
} merge_sym;

/* special.c: split text[0..len) into fragments. Each fragment is 3 words:
 * kind (0 = text, 1 = token), offset or id, length. */
hone_status special_partition(const hone_vocab *v, tok_scratch *s, const char *text, size_t len,
                              bool parse_special);

/* spm.c / bpe.c: tokenise one text fragment, appending to s->ids. */
hone_status spm_tokenize(const hone_vocab *v, tok_scratch *s, const char *text, size_t len,
                         bool prefix_space);
hone_status bpe_tokenize(const hone_vocab *v, tok_scratch *s, const char *text, size_t len);

/* bpe.c: build raw_to_id / merge_rank from the token texts and merges. */
hone_status bpe_build(hone_vocab *v, const gguf_str *merges, uint64_t n_merges, const char *path);
/* bpe.c: byte-level text -> raw bytes; false if some character is not one
 * of the 256 byte symbols. out needs len bytes. */
bool bpe_decode_text(const char *text, size_t len, char *out, size_t *out_len);
/* bpe.c: the byte-level symbol (UTF-8, 1 or 2 bytes) standing for byte b. */
int bpe_byte_symbol(uint8_t b, char *out);

#endif
