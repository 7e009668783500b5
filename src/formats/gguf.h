/*
 * gguf.h - GGUF v2/v3 reader and writer.
 *
 * The reader maps (or reads) a file, validates every field it parses and
 * fails with a precise message (file, key or tensor, byte offset, what was
 * expected) instead of crashing: it is the first code to touch untrusted
 * input. Metadata is copied into owned memory with NUL-terminated strings;
 * tensor data stays in the mapping and is referenced by pointer.
 *
 * The writer collects metadata and tensor descriptions, then writes the file
 * to a temporary name in the target directory and renames it into place, so
 * a crash never leaves a half-written model behind.
 */
#ifndef HONE_FORMATS_GGUF_H
#define HONE_FORMATS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/dtype.h"
#include "hone.h"

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

typedef enum {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} gguf_vtype;

typedef struct {
    char *s;      /* NUL-terminated copy (may contain interior NULs; use len) */
    uint64_t len; /* bytes, without the terminator */
} gguf_str;

typedef struct gguf_value gguf_value;
struct gguf_value {
    gguf_vtype type;
    union {
        uint64_t u64; /* UINT8..UINT64 widened */
        int64_t i64;  /* INT8..INT64 widened */
        double f64;   /* FLOAT32/FLOAT64 widened */
        bool b;
        gguf_str str;
        struct {
            gguf_vtype elem_type;
            uint64_t n;
            /* Scalars: packed array in the file's element width
             * (uint8_t*, int32_t*, float*, ...; bool as uint8_t);
             * STRING: gguf_str*; ARRAY (nested): gguf_value* each of type ARRAY. */
            void *data;
        } arr;
    };
};

typedef struct {
    char *key; /* valid UTF-8, NUL-terminated */
    gguf_value val;
} gguf_kv;

typedef struct {
    char *name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* ne[0] is the row length (contiguous) */
    hone_type type;
    uint64_t offset;  /* relative to the start of the data section */
    const void *data; /* into the mapping */
    size_t nbytes;
} gguf_tensor;

typedef struct gguf_file gguf_file;

/* Open and validate a file (mmap when use_mmap, else read into memory).
 * Checks: magic, version 2/3, counts against the file size, every string
 * length, UTF-8 keys, duplicate keys/tensor names, value and element types,
 * array nesting depth, general.alignment (power of two), tensor dims
 * (1..4, positive, product overflow, row length a multiple of the block size),
 * known type ids, data offsets aligned, inside the file and not overlapping. */
hone_status gguf_open(const char *path, bool use_mmap, gguf_file **out);
/* Same over a caller's buffer (not copied; must outlive the file). `name`
 * appears in messages. Used by the fuzz target and tests. */
hone_status gguf_open_memory(const void *buf, size_t size, const char *name, gguf_file **out);
void gguf_close(gguf_file *f);

uint32_t gguf_version(const gguf_file *f);
const char *gguf_path(const gguf_file *f);
size_t gguf_file_size(const gguf_file *f);
uint32_t gguf_alignment(const gguf_file *f);
uint64_t gguf_data_offset(const gguf_file *f); /* start of the tensor data section */

int64_t gguf_n_kv(const gguf_file *f);
const gguf_kv *gguf_kv_at(const gguf_file *f, int64_t i);
const gguf_kv *gguf_find_kv(const gguf_file *f, const char *key); /* NULL if absent */

/* Typed getters. They fail with HONE_ERR_NOT_FOUND when the key is absent and
 * HONE_ERR_FORMAT (message names the key, expected and found type) when the
 * value cannot be represented (integers convert between widths when the value
 * fits; floats accept FLOAT32/FLOAT64). */
hone_status gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
hone_status gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
hone_status gguf_get_f32(const gguf_file *f, const char *key, float *out);
hone_status gguf_get_bool(const gguf_file *f, const char *key, bool *out);
hone_status gguf_get_str(const gguf_file *f, const char *key, const char **out);
/* An array value: element type, count and data as described in gguf_value. */
hone_status gguf_get_arr(const gguf_file *f, const char *key, gguf_vtype *elem_type, uint64_t *n, const void **data);

int64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor *gguf_tensor_at(const gguf_file *f, int64_t i);
const gguf_tensor *gguf_find_tensor(const gguf_file *f, const char *name); /* NULL if absent */

const char *gguf_vtype_name(gguf_vtype t);

/* ---- writer ---- */

typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_create(void); /* NULL on OOM */
void gguf_writer_free(gguf_writer *w);
/* Setting an existing key replaces its value. */
hone_status gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
hone_status gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
hone_status gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
hone_status gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
hone_status gguf_writer_set_bool(gguf_writer *w, const char *key, bool v);
hone_status gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/* Arrays of scalars: `data` holds n packed elements of elem_type (copied). */
hone_status gguf_writer_set_arr(gguf_writer *w, const char *key, gguf_vtype elem_type, const void *data, uint64_t n);
hone_status gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *v, uint64_t n);
/* Copy a key/value read from another file (any type, nested arrays too). */
hone_status gguf_writer_copy_kv(gguf_writer *w, const gguf_kv *kv);
hone_status gguf_writer_remove_kv(gguf_writer *w, const char *key);
/* Add a tensor; `data` (nbytes = row size * rows) is referenced, not copied,
 * and must stay valid until gguf_writer_write returns. */
hone_status gguf_writer_add_tensor(gguf_writer *w, const char *name, hone_type type, uint32_t n_dims,
                                   const int64_t *ne, const void *data, size_t nbytes);
/* Write GGUF v3 with general.alignment (default 32) to `path` via a temporary
 * file + rename. */
hone_status gguf_writer_write(gguf_writer *w, const char *path);

#endif
