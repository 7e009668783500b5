/*
 * utf8.h - UTF-8 helpers for the tokenizer.
 *
 * Two decoders on purpose:
 *  - utf8_decode_lax() reproduces the lenient decoder llama.cpp's tokenizers
 *    use (overlong forms and encoded surrogates are accepted as code points;
 *    a bad lead byte, a missing continuation byte or a truncated tail gives
 *    UTF8_BAD and the caller substitutes U+FFFD for that one byte). Matching
 *    token ids byte for byte on odd input needs exactly this behaviour.
 *  - utf8_next_strict() is the standards decoder (no overlongs, surrogates
 *    or values past U+10FFFF) used by the streaming detokeniser, whose output
 *    goes to users and must be valid UTF-8.
 * The streaming detokeniser itself (utf8_stream_*) is declared in
 * tokenizer.h.
 */
#ifndef HONE_TOKENIZER_UTF8_H
#define HONE_TOKENIZER_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_BAD 0xFFFFFFFFu
#define UTF8_REPLACEMENT 0xFFFDu

/* Sequence length implied by a lead byte, from its high nibble alone
 * (continuation bytes count as 1, 0xF8..0xFF as 4), as SentencePiece-style
 * symbol splitting in llama.cpp does. */
static inline size_t utf8_lead_len(uint8_t c) {
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[c >> 4];
}

/* Lenient decode of the sequence at s[0..n) (n >= 1). Returns the code point
 * and sets *adv, or returns UTF8_BAD (then *adv = 1). Values above U+10FFFF
 * are reported as UTF8_BAD too (llama.cpp would throw on them later). */
uint32_t utf8_decode_lax(const uint8_t *s, size_t n, size_t *adv);

/* Encode cp (<= 0x10FFFF; surrogates are encoded as 3 bytes like any other
 * BMP value). Returns the byte count 1..4. */
int utf8_encode(uint32_t cp, char *out);

/* Length of the well-formed sequence starting at s[0..n): 1..4; 0 when the
 * bytes available are a valid but incomplete prefix; -k when the first k
 * bytes are a maximal ill-formed subpart (to be replaced by one U+FFFD). */
int utf8_next_strict(const uint8_t *s, size_t n);

/* Whether s[0..n) is well-formed UTF-8. */
bool utf8_is_valid(const char *s, size_t n);

#endif
