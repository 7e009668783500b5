/*
 * prefix_cache.h - prompts kept in the KV cache so that later requests
 * sharing their beginning (a system prompt, an earlier chat turn) reuse the
 * cells instead of evaluating those tokens again.
 *
 * Each entry is a sequence of the session that holds a prompt's cells
 * (shared with the request that computed them, see hone_kv_seq_share_prefix).
 * Only prompt tokens are ever cached: they were computed in multi-token
 * chunks, the same arithmetic a later prompt would use, so a reply is
 * bit-identical with or without the cache. Generated tokens take the
 * one-token order and are never reused. A request always re-evaluates at
 * least its last two prompt tokens (as hone_generate does), so its final
 * prompt chunk has two tokens and yields the logits.
 *
 * Owned by the scheduler thread; not thread-safe. Least recently used
 * entries go first when sequence ids or cells run short.
 */
#ifndef HONE_SERVER_PREFIX_CACHE_H
#define HONE_SERVER_PREFIX_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "hone.h"

typedef struct {
    int32_t seq;
    int32_t len;
    hone_token *tokens; /* owned copy */
    uint64_t last_use;
} pc_entry;

typedef struct {
    pc_entry *e;
    int32_t n, cap;
    uint64_t clock;
} prefix_cache;

hone_status pc_init(prefix_cache *pc, int32_t cap);
void pc_free(prefix_cache *pc);
/* The entry sharing the longest prefix with tokens[0..n) and how many of
 * those tokens a request may take from it (at most n - 2); -1 if none. */
int32_t pc_lookup(prefix_cache *pc, const hone_token *tokens, int32_t n, int32_t *keep);
/* Remember the first n positions of sequence src (all prompt tokens) in a
 * cache sequence. get_seq hands out a free sequence id (or -1). Returns the
 * id of a sequence to give back to the caller's pool (an entry made
 * redundant), or -1. */
typedef int32_t (*pc_seq_fn)(void *user);
void pc_insert(prefix_cache *pc, hone_session *s, int32_t src, const hone_token *tokens, int32_t n, pc_seq_fn get_seq,
               void *user, void (*put_seq)(void *user, int32_t seq));
/* Drop the least recently used entry; returns its sequence id, or -1 when empty. */
int32_t pc_evict(prefix_cache *pc, hone_session *s);
/* Sequence ids of all entries into out (room for pc->n). */
int32_t pc_seqs(const prefix_cache *pc, int32_t *out);

#endif
