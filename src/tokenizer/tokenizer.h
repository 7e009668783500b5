/*
 * tokenizer.h - text <-> token ids from a GGUF file's own tokenizer metadata.
 *
 * Two model families (tokenizer.ggml.model): "llama" = SentencePiece-style
 * (scores, byte fallback <0xNN>, space as U+2581) and "gpt2" = byte-level BPE
 * (merges, bytes mapped to printable code points) with a pre-tokeniser chosen
 * by tokenizer.ggml.pre (default/gpt-2, llama-bpe/llama3, qwen2, smollm,
 * deepseek-llm, falcon, starcoder, ...) run with PCRE2.
 *
 * Special/control tokens (token_type CONTROL or USER_DEFINED) are matched in
 * the input text only when parse_special is set; otherwise their text is
 * tokenised as plain text. BOS/EOS are added per tokenizer.ggml.add_bos_token /
 * add_eos_token (with the per-model defaults llama.cpp uses when absent).
 */
#ifndef HONE_TOKENIZER_TOKENIZER_H
#define HONE_TOKENIZER_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/gguf.h"
#include "hone.h"

typedef struct hone_vocab hone_vocab;

/* GGUF token types (tokenizer.ggml.token_type). */
enum {
    HONE_TOKTYPE_UNDEFINED = 0,
    HONE_TOKTYPE_NORMAL = 1,
    HONE_TOKTYPE_UNKNOWN = 2,
    HONE_TOKTYPE_CONTROL = 3,
    HONE_TOKTYPE_USER_DEFINED = 4,
    HONE_TOKTYPE_UNUSED = 5,
    HONE_TOKTYPE_BYTE = 6
};

/* Build the vocabulary from tokenizer.* keys; errors name the key. */
hone_status vocab_load(const gguf_file *f, hone_vocab **out);
void vocab_free(hone_vocab *v);

int32_t vocab_n_tokens(const hone_vocab *v);
int32_t vocab_bos(const hone_vocab *v); /* -1 if none */
int32_t vocab_eos(const hone_vocab *v);
int32_t vocab_eot(const hone_vocab *v); /* end-of-turn (e.g. <|im_end|>, <|eot_id|>), -1 if none */
bool vocab_is_eog(const hone_vocab *v, int32_t id); /* eos, eot, or other end-of-generation tokens */
int32_t vocab_token_type(const hone_vocab *v, int32_t id);
const char *vocab_token_text(const hone_vocab *v, int32_t id); /* raw vocab entry */
int32_t vocab_find(const hone_vocab *v, const char *text); /* exact vocab entry, -1 if absent */

/* Tokenise len bytes (need not be valid UTF-8: invalid bytes are handled
 * like llama.cpp does, never crash). add_special: BOS/EOS per metadata.
 * Writes up to cap ids, *n_out = full count; HONE_ERR_INVALID_ARG if > cap. */
hone_status vocab_tokenize(const hone_vocab *v, const char *text, size_t len, bool add_special, bool parse_special,
                           int32_t *out, size_t cap, size_t *n_out);

/* The bytes a token stands for in output text (SPM: U+2581 -> space, <0xNN>
 * -> that byte; BPE: byte-level code points -> bytes). Control tokens give
 * "" unless `special`. Returns the byte count, or -(needed) if cap too small. */
int32_t vocab_token_to_piece(const hone_vocab *v, int32_t id, bool special, char *buf, size_t cap);

/* ---- additions (tokenizer helper) ---- */

bool vocab_add_bos(const hone_vocab *v); /* BOS added by add_special */
bool vocab_add_eos(const hone_vocab *v);
int32_t vocab_unk(const hone_vocab *v); /* -1 if none */
int32_t vocab_pad(const hone_vocab *v); /* -1 if none */
/* "llama" (SentencePiece) or "gpt2" (byte-level BPE). */
const char *vocab_model(const hone_vocab *v);
/* BPE: the pre-tokeniser regex set in use ("smollm" uses "starcoder", an
 * unknown tokenizer.ggml.pre "default"); "" for SPM. */
const char *vocab_pre_set(const hone_vocab *v);
/* BPE: false when tokenizer.ggml.pre was absent or unknown and the default
 * regexes are used instead (llama.cpp refuses unknown values). */
bool vocab_pre_known(const hone_vocab *v);

/* Text for n ids, like llama.cpp's llama_detokenize: pieces concatenated;
 * remove_special drops a leading BOS / trailing EOS the vocab adds;
 * unparse_special keeps control-token text; SPM vocabs with add_space_prefix
 * drop one leading space of the first piece; vocabs marked for it (gpt-2
 * and other BPE pre-tokenisers llama.cpp lists) clean up " ." " ," " 's" etc.
 * Returns the byte count, or -(needed) if cap is too small; invalid ids give
 * nothing. */
int64_t vocab_detokenize(const hone_vocab *v, const int32_t *ids, size_t n, bool remove_special, bool unparse_special,
                         char *buf, size_t cap);

/*
 * Streaming detokeniser: feed token pieces, get back only complete UTF-8
 * sequences, holding an incomplete tail until the next piece completes it.
 * flush() emits whatever is held (invalid sequences as U+FFFD).
 */
typedef struct {
    char pending[8];
    int n_pending;
} utf8_stream;

void utf8_stream_init(utf8_stream *st);
/* Appends the complete part of (pending + bytes) to out (cap bytes);
 * returns bytes written to out (out must hold len + 8 bytes). Each maximal
 * ill-formed part becomes one U+FFFD as long as that bound allows (only a
 * piece with several ill-formed parts can lose some of them). */
size_t utf8_stream_push(utf8_stream *st, const char *bytes, size_t len, char *out);
/* Emits a held incomplete sequence as one U+FFFD (out: 3 bytes) and resets. */
size_t utf8_stream_flush(utf8_stream *st, char *out);

#endif
