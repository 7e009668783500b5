/*
 * gguf_internal.h - helpers shared by the GGUF reader and writer (not public).
 *
 * gguf_common.c holds what both directions need: the size of each value type
 * on disk, UTF-8 validation for keys, a bump arena that owns all metadata of
 * an opened file (one free instead of ~100k for a tokenizer vocabulary), and
 * deep copy / free of values for the writer.
 */
#ifndef HONE_FORMATS_GGUF_INTERNAL_H
#define HONE_FORMATS_GGUF_INTERNAL_H

#include "formats/gguf.h"

/* Keys longer than this are rejected (the GGUF spec limits keys to 65535 bytes). */
#define GGUF_MAX_KEY_LEN 65535
/* Arrays of arrays deeper than this are rejected: real files use no nesting,
 * and a bound keeps the recursive parser's stack small on hostile input. */
#define GGUF_MAX_DEPTH 8

/* Bytes of one scalar of type t on disk; 0 for STRING/ARRAY/unknown. */
size_t gguf_scalar_size(gguf_vtype t);

/* Smallest number of bytes one value of type t can occupy on disk, used to
 * bound counts against the bytes left before allocating anything. */
size_t gguf_min_size(gguf_vtype t);

/* Strict UTF-8: no overlong forms, surrogates, values past U+10FFFF or NULs. */
bool gguf_utf8_valid(const char *s, size_t len);

/* ---- arena: all of an opened file's metadata lives in one of these ---- */

typedef struct gguf_arena_block gguf_arena_block;
typedef struct {
    gguf_arena_block *head; /* current block first, then older ones */
} gguf_arena;

/* NULL on OOM. n == 0 gives a valid non-NULL pointer. align: power of two <= 16. */
void *gguf_arena_alloc(gguf_arena *a, size_t n, size_t align);
void gguf_arena_free(gguf_arena *a);

/* ---- writer support: values owned by malloc ---- */

/* Deep-copy `src` into `dst` using malloc; on failure dst is left empty. */
hone_status gguf_value_copy(gguf_value *dst, const gguf_value *src);
void gguf_value_free(gguf_value *v);

#endif
