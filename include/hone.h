/*
 * hone.h - the public C API of libhone.
 *
 * Shape (after llama.h): opaque handles, parameter structs obtained from
 * *_default_params() so that new fields never break callers, explicit free
 * functions for everything created, and hone_status return codes with a
 * thread-local message from hone_last_error().
 *
 * Ownership: a hone_model is immutable after load and may be shared by any
 * number of sessions on any threads; a hone_session (KV cache, scratch
 * buffers, thread pool) and a hone_sampler belong to one thread at a time.
 * The model must outlive its sessions.
 */
#ifndef HONE_H
#define HONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------ */

typedef enum {
    HONE_OK = 0,
    HONE_ERR_INVALID_ARG = 1, /* caller passed something invalid */
    HONE_ERR_IO = 2,          /* open/read/write/mmap failed */
    HONE_ERR_FORMAT = 3,      /* file content is malformed */
    HONE_ERR_UNSUPPORTED = 4, /* well-formed but not supported (arch, type) */
    HONE_ERR_NOMEM = 5,
    HONE_ERR_NOT_FOUND = 6,    /* key, tensor or file absent */
    HONE_ERR_CONTEXT_FULL = 7, /* prompt or generation exceeds the context */
    HONE_ERR_RUNTIME = 8
} hone_status;

/* Message for the last failure on the calling thread ("" if none). */
const char *hone_last_error(void);
const char *hone_status_str(hone_status s);

typedef int32_t hone_token;

/* The CPU kernel level in use: "scalar", "avx2", ... (HONE_CPU forces one). */
const char *hone_cpu_backend(void);

/* ---- model ------------------------------------------------------------- */

typedef struct hone_model hone_model;

typedef struct {
    bool use_mmap;   /* map the file instead of reading it (default true) */
    bool vocab_only; /* load only the tokenizer (works on vocab-only GGUF) */
} hone_model_params;

hone_model_params hone_model_default_params(void);
hone_status hone_model_load(const char *path, const hone_model_params *params, hone_model **out);
void hone_model_free(hone_model *model);

int32_t hone_model_n_vocab(const hone_model *model);
int32_t hone_model_n_ctx_train(const hone_model *model);
/* Short human description, e.g. "llama 135M Q4_1". */
const char *hone_model_desc(const hone_model *model);

/* ---- tokens ------------------------------------------------------------ */

hone_token hone_token_bos(const hone_model *model); /* -1 if none */
hone_token hone_token_eos(const hone_model *model);
bool hone_token_is_eog(const hone_model *model, hone_token t); /* end of generation */

/*
 * Tokenise `len` bytes of `text`. add_special: add BOS/EOS as the model's
 * metadata asks. parse_special: text of control tokens ("<|im_start|>") becomes
 * those tokens; when false it is plain text (the safe default for user input).
 * Writes at most `cap` ids; *n_out receives the full count, and
 * HONE_ERR_INVALID_ARG is returned when it exceeds cap.
 */
hone_status hone_tokenize(const hone_model *model, const char *text, size_t len, bool add_special,
                          bool parse_special, hone_token *out, size_t cap, size_t *n_out);

/* Bytes of one token's text (may be a partial UTF-8 sequence). Control tokens
 * give "" unless `special`. Returns the byte count, or -(needed) if cap is too
 * small. */
int32_t hone_token_to_piece(const hone_model *model, hone_token t, bool special, char *buf, size_t cap);

/* ---- chat templates ---------------------------------------------------- */

typedef struct {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} hone_chat_message;

/* Format messages with the template named by the model's
 * tokenizer.chat_template (ChatML, Llama 2, Llama 3). Writes a NUL-terminated
 * string; *n_out receives its full length, and HONE_ERR_INVALID_ARG is
 * returned when that does not fit in cap. A template hone does not recognise
 * gives HONE_ERR_UNSUPPORTED. */
hone_status hone_chat_apply(const hone_model *model, const hone_chat_message *msgs, size_t n_msgs,
                            bool add_assistant, char *buf, size_t cap, size_t *n_out);

/* ---- session: KV cache + forward pass ---------------------------------- */

typedef struct hone_session hone_session;

/* How the KV cache stores K and V. F16 (the default) gives llama.cpp's logits bit for bit; Q8_0 takes
 * 34 bytes per 32 values instead of 64 (so about 1.9x the cells in the same memory) at a small cost in
 * accuracy (per-head blocks of 32 int8 values with one F16 scale; see docs/numerics.md). */
typedef enum { HONE_KV_F16 = 0, HONE_KV_Q8_0 = 1 } hone_kv_type;

typedef struct {
    int32_t n_ctx;     /* KV cells shared by all sequences (0 = model's training context, capped at 4096) */
    int32_t n_seq_max; /* sequences that may be in flight at once */
    int32_t n_batch;   /* most tokens per hone_decode call */
    int32_t n_threads; /* 0 = number of CPUs */
    int32_t kv_type;   /* hone_kv_type (default HONE_KV_F16) */
} hone_session_params;

/* "f16" / "q8_0" (any case) -> hone_kv_type, or -1. */
int hone_kv_type_from_name(const char *name);

hone_session_params hone_session_default_params(void);
hone_status hone_session_create(const hone_model *model, const hone_session_params *params, hone_session **out);
void hone_session_free(hone_session *s);

/*
 * A batch of tokens that may belong to several sequences. Token i sits at
 * position pos[i] of sequence seq_id[i]; logits[i] asks for its output row
 * (logits == NULL: only the last token's). Positions of one sequence must
 * continue its cache (pos = tokens already cached for that sequence).
 *
 * Results never depend on other sequences in the batch, on the thread count
 * or on which KV cells hold a sequence. They do depend on one thing, as in
 * llama.cpp whose arithmetic hone reproduces bit for bit: a token decoded as
 * the only token of its sequence in the batch (generation) takes a different
 * attention summation order from one decoded together with others of its
 * sequence (prompt processing). hone_generate keeps prompts multi-token.
 */
typedef struct {
    int32_t n_tokens;
    const hone_token *token;
    const int32_t *pos;
    const int32_t *seq_id;
    const int8_t *logits;
} hone_batch;

hone_status hone_decode(hone_session *s, const hone_batch *batch);

/* Logits (n_vocab floats) for batch token i of the last decode; NULL if that
 * token did not ask for logits. Valid until the next decode. */
const float *hone_get_logits(hone_session *s, int32_t i);

/* Drop cached positions [p0, p1) of a sequence (p1 < 0: to the end). */
hone_status hone_kv_seq_rm(hone_session *s, int32_t seq_id, int32_t p0, int32_t p1);
/*
 * KV cells are reference-counted and shared between sequences. A sequence
 * only ever appends cells or drops a suffix, so a cell is never rewritten
 * once its token was decoded, and sharing it is indistinguishable from a
 * copy. hone_kv_seq_rm releases a sequence's hold on each dropped cell; the
 * cell becomes free when no sequence holds it any more.
 */
/* Make sequence dst (which must be empty) a copy of sequence src's cache,
 * e.g. to sample several continuations of one evaluated prompt. The cells
 * are shared, not duplicated: no new cells are used. */
hone_status hone_kv_seq_cp(hone_session *s, int32_t src, int32_t dst);
/* Make empty sequence dst hold the first n positions of sequence src
 * (shared cells), e.g. a cached system prompt; dst then continues at n. */
hone_status hone_kv_seq_share_prefix(hone_session *s, int32_t src, int32_t dst, int32_t n);
/* Cells held by at least one sequence, and all cells (n_ctx). */
int32_t hone_kv_cells_used(const hone_session *s);
int32_t hone_kv_cells_total(const hone_session *s);
/* Memory of one KV cell of a model (K and V over all layers, stored as
 * kv_type), to turn a memory budget into n_ctx; 0 when the model's head size
 * does not fit the type (Q8_0 needs a multiple of 32). */
size_t hone_kv_bytes_per_cell(const hone_model *m, int32_t kv_type);
/* Distinct cells held by the listed sequences (-1 on bad arguments or out
 * of memory). With every sequence in use listed it equals
 * hone_kv_cells_used; a smaller figure means cells leaked. O(n_ctx). */
int32_t hone_kv_cells_held(const hone_session *s, const int32_t *seqs, int32_t n_seqs);
/* Number of positions cached for a sequence. */
int32_t hone_kv_seq_len(const hone_session *s, int32_t seq_id);

/* ---- sampling ---------------------------------------------------------- */

typedef struct hone_sampler hone_sampler;

typedef struct {
    float temperature;      /* <= 0: greedy (argmax, lowest id on ties) */
    int32_t top_k;          /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    int32_t penalty_last_n; /* window of recent tokens the penalties see */
    float frequency_penalty;
    float presence_penalty;
    uint64_t seed;
} hone_sampler_params;

hone_sampler_params hone_sampler_default_params(void);
hone_status hone_sampler_create(const hone_sampler_params *params, int32_t n_vocab, hone_sampler **out);
void hone_sampler_free(hone_sampler *s);
/* Choose a token from logits (not modified). */
hone_token hone_sampler_sample(hone_sampler *s, const float *logits);
/* Tell the penalties that t was emitted (or was part of the prompt). */
void hone_sampler_accept(hone_sampler *s, hone_token t);
void hone_sampler_reset(hone_sampler *s);

/* ---- generation (the loop the CLI and simple callers use) -------------- */

/* Called once for every generated token t of sequence `seq` with the text it
 * completes: valid UTF-8, possibly empty (a partial character, text held back
 * while it might still become a stop string, an end-of-generation token).
 * Text released when a sequence ends comes with t = -1. Return false to stop
 * that sequence. */
typedef bool (*hone_piece_fn)(void *user, int32_t seq, const char *text, size_t len, hone_token t);

typedef enum { HONE_STOP_LIMIT = 0, HONE_STOP_EOS = 1, HONE_STOP_STRING = 2, HONE_STOP_CALLER = 3 } hone_stop_reason;

typedef struct {
    int32_t max_tokens;         /* tokens to generate per sequence */
    int32_t n_seq;              /* independent samples of the same prompt */
    const char *const *stop;    /* stop strings (not included in output) */
    size_t n_stop;
    bool parse_special;         /* control-token text in the prompt is special */
    bool add_special;           /* BOS etc. per model metadata */
    hone_sampler_params sampling; /* sequence k uses seed + k */
    hone_piece_fn on_piece;
    void *user;
} hone_generate_params;

typedef struct {
    int32_t n_prompt;
    int32_t n_generated[16];
    hone_stop_reason stop[16];
    double prompt_seconds;
    double gen_seconds;
} hone_generate_result;

hone_generate_params hone_generate_default_params(void);
hone_status hone_generate(hone_session *s, const char *prompt, const hone_generate_params *params,
                          hone_generate_result *result);

#ifdef __cplusplus
}
#endif
#endif
