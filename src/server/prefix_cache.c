/*
 * prefix_cache.c - see prefix_cache.h. A handful of entries (--cache-entries)
 * searched linearly: the cost is one token comparison per cached prompt
 * position, tiny next to evaluating a single token.
 */
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "server/prefix_cache.h"

hone_status pc_init(prefix_cache *pc, int32_t cap) {
    memset(pc, 0, sizeof *pc);
    pc->cap = cap > 0 ? cap : 0;
    if (pc->cap && !(pc->e = calloc((size_t)pc->cap, sizeof *pc->e)))
        return hone_err(HONE_ERR_NOMEM, "out of memory for the prefix cache");
    return HONE_OK;
}

void pc_free(prefix_cache *pc) {
    for (int32_t i = 0; i < pc->n; i++) free(pc->e[i].tokens);
    free(pc->e);
    memset(pc, 0, sizeof *pc);
}

static int32_t common(const hone_token *a, int32_t na, const hone_token *b, int32_t nb) {
    int32_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

int32_t pc_lookup(prefix_cache *pc, const hone_token *tokens, int32_t n, int32_t *keep) {
    *keep = 0;
    if (n < 3) return -1; /* nothing reusable: the last two tokens are always evaluated */
    int32_t best = -1, best_len = 0;
    for (int32_t i = 0; i < pc->n; i++) {
        int32_t c = common(pc->e[i].tokens, pc->e[i].len, tokens, n);
        if (c > n - 2) c = n - 2;
        if (c > best_len) {
            best_len = c;
            best = i;
        }
    }
    if (best < 0) return -1;
    pc->e[best].last_use = ++pc->clock;
    *keep = best_len;
    return pc->e[best].seq;
}

static void drop(prefix_cache *pc, hone_session *s, int32_t i) {
    hone_kv_seq_rm(s, pc->e[i].seq, 0, -1);
    free(pc->e[i].tokens);
    pc->e[i] = pc->e[--pc->n];
}

int32_t pc_evict(prefix_cache *pc, hone_session *s) {
    if (pc->n == 0) return -1;
    int32_t lru = 0;
    for (int32_t i = 1; i < pc->n; i++)
        if (pc->e[i].last_use < pc->e[lru].last_use) lru = i;
    const int32_t seq = pc->e[lru].seq;
    drop(pc, s, lru);
    return seq;
}

void pc_insert(prefix_cache *pc, hone_session *s, int32_t src, const hone_token *tokens, int32_t n, pc_seq_fn get_seq,
               void *user, void (*put_seq)(void *user, int32_t seq)) {
    if (pc->cap == 0 || n < 3) return;
    for (int32_t i = 0; i < pc->n;) {
        const int32_t c = common(pc->e[i].tokens, pc->e[i].len, tokens, n);
        if (c == n) { /* already cached (this prompt or a longer one) */
            pc->e[i].last_use = ++pc->clock;
            return;
        }
        if (c == pc->e[i].len) { /* the new prompt extends this entry: replace it */
            const int32_t seq = pc->e[i].seq;
            drop(pc, s, i);
            put_seq(user, seq);
            continue;
        }
        i++;
    }
    hone_token *copy = malloc((size_t)n * sizeof *copy);
    if (!copy) return; /* caching is an optimisation; skip it */
    int32_t seq = get_seq(user);
    if (seq < 0 || pc->n == pc->cap) {
        if (seq >= 0) put_seq(user, seq);
        seq = pc_evict(pc, s);
    }
    if (seq < 0 || hone_kv_seq_share_prefix(s, src, seq, n) != HONE_OK) {
        if (seq >= 0) put_seq(user, seq);
        free(copy);
        return;
    }
    memcpy(copy, tokens, (size_t)n * sizeof *copy);
    pc->e[pc->n++] = (pc_entry){seq, n, copy, ++pc->clock};
}

int32_t pc_seqs(const prefix_cache *pc, int32_t *out) {
    for (int32_t i = 0; i < pc->n; i++) out[i] = pc->e[i].seq;
    return pc->n;
}
