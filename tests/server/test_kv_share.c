/*
 * test_kv_share.c - shared KV cells (hone_kv_seq_cp, hone_kv_seq_share_prefix)
 * and the server's prefix cache on top of them.
 *
 * Sharing uses no new cells; a cell is freed only when the last sequence
 * holding it drops it; hone_kv_cells_held agrees with hone_kv_cells_used.
 * A continuation decoded on shared cells gives the same logits bit for bit
 * as on the original sequence, and a prompt whose prefix came from another
 * sequence gives the same logits as the whole prompt evaluated fresh (the
 * prefix cache's promise). The cache keeps at least two tokens to evaluate,
 * replaces entries a longer prompt extends, and evicts the least recently
 * used. Skips without the default model.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "hone.h"
#include "server/prefix_cache.h"

static const int32_t PB[] = {9590, 2030, 253, 744, 28, 253, 1345, 30}; /* arbitrary prompt */

static void decode(hone_session *s, int seq, const int32_t *t, int n, int pos0) {
    int32_t pos[16], sq[16];
    for (int i = 0; i < n; i++) {
        pos[i] = pos0 + i;
        sq[i] = seq;
    }
    hone_batch b = {n, t, pos, sq, NULL};
    CHECKF(hone_decode(s, &b) == HONE_OK, "decode: %s", hone_last_error());
}

static int32_t held_all(hone_session *s, int n_seq) {
    int32_t seqs[8];
    for (int i = 0; i < n_seq; i++) seqs[i] = i;
    return hone_kv_cells_held(s, seqs, n_seq);
}

static void test_share(const hone_model *m) {
    const int nv = hone_model_n_vocab(m);
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = 128;
    sp.n_seq_max = 6;
    sp.n_threads = 2;
    hone_session *s = NULL;
    CHECKF(hone_session_create(m, &sp, &s) == HONE_OK, "session: %s", hone_last_error());
    if (!s) return;
    CHECK(hone_kv_cells_total(s) == 128 && hone_kv_cells_used(s) == 0);
    CHECK(hone_kv_bytes_per_cell(m, HONE_KV_F16) == 30u * 2 * 192 * 2); /* SmolLM2-135M: 30 layers, 3 KV heads x 64, F16 */
    CHECK(hone_kv_bytes_per_cell(m, HONE_KV_Q8_0) == 30u * 2 * 6 * 34); /* ... as 6 Q8_0 blocks per row */
    CHECK(hone_kv_bytes_per_cell(m, 7) == 0);

    decode(s, 0, PB, 6, 0);
    CHECK(hone_kv_cells_used(s) == 6);
    CHECK(hone_kv_seq_cp(s, 0, 1) == HONE_OK && hone_kv_seq_len(s, 1) == 6);
    CHECK(hone_kv_seq_share_prefix(s, 0, 2, 3) == HONE_OK && hone_kv_seq_len(s, 2) == 3);
    CHECKF(hone_kv_cells_used(s) == 6, "sharing used cells: %d", hone_kv_cells_used(s));
    CHECK(hone_kv_seq_share_prefix(s, 0, 2, 1) != HONE_OK); /* dst not empty */
    CHECK(hone_kv_seq_share_prefix(s, 0, 3, 7) != HONE_OK); /* longer than src */
    CHECK(hone_kv_seq_share_prefix(s, 0, 0, 1) != HONE_OK); /* src == dst */
    CHECK(hone_kv_seq_share_prefix(s, 0, 9, 1) != HONE_OK); /* no such sequence */
    CHECK(held_all(s, 6) == hone_kv_cells_used(s));

    /* the same token after the same shared prefix: identical logits */
    float *a = malloc((size_t)nv * sizeof *a);
    decode(s, 1, PB + 6, 1, 6);
    memcpy(a, hone_get_logits(s, 0), (size_t)nv * sizeof *a);
    decode(s, 0, PB + 6, 1, 6);
    CHECK(memcmp(a, hone_get_logits(s, 0), (size_t)nv * sizeof *a) == 0);
    CHECK(hone_kv_cells_used(s) == 8 && held_all(s, 6) == 8);

    /* cells go back only when the last holder lets go */
    CHECK(hone_kv_seq_rm(s, 0, 0, -1) == HONE_OK);
    CHECKF(hone_kv_cells_used(s) == 7, "after dropping seq 0: %d", hone_kv_cells_used(s));
    CHECK(hone_kv_seq_rm(s, 1, 4, -1) == HONE_OK); /* positions 4..6; 3 stays with seq 2... */
    CHECKF(hone_kv_cells_used(s) == 4, "after trimming seq 1: %d", hone_kv_cells_used(s));
    CHECK(hone_kv_seq_rm(s, 1, 0, -1) == HONE_OK);
    CHECK(hone_kv_cells_used(s) == 3 && held_all(s, 6) == 3);
    CHECK(hone_kv_seq_rm(s, 2, 0, -1) == HONE_OK);
    CHECK(hone_kv_cells_used(s) == 0);

    /* a prompt continuing a shared prefix == the whole prompt evaluated fresh */
    decode(s, 3, PB, 8, 0);
    memcpy(a, hone_get_logits(s, 7), (size_t)nv * sizeof *a);
    decode(s, 4, PB, 6, 0);
    CHECK(hone_kv_seq_share_prefix(s, 4, 5, 6) == HONE_OK);
    CHECK(hone_kv_seq_rm(s, 4, 0, -1) == HONE_OK); /* the source may go; seq 5 keeps the cells */
    decode(s, 5, PB + 6, 2, 6);
    CHECK(memcmp(a, hone_get_logits(s, 1), (size_t)nv * sizeof *a) == 0);
    CHECK(hone_kv_cells_used(s) == 16 && held_all(s, 6) == 16);
    free(a);
    hone_session_free(s);
}

static int32_t pool[8], n_pool;
static int32_t get_seq(void *u) {
    (void)u;
    return n_pool ? pool[--n_pool] : -1;
}
static void put_seq(void *u, int32_t seq) {
    (void)u;
    pool[n_pool++] = seq;
}

static void test_prefix_cache(const hone_model *m) {
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = 128;
    sp.n_seq_max = 5;
    sp.n_threads = 2;
    hone_session *s = NULL;
    CHECKF(hone_session_create(m, &sp, &s) == HONE_OK, "session: %s", hone_last_error());
    if (!s) return;
    n_pool = 0;
    for (int i = 4; i >= 1; i--) put_seq(NULL, i); /* seq 0 plays the request */
    prefix_cache pc;
    CHECK(pc_init(&pc, 2) == HONE_OK);

    decode(s, 0, PB, 6, 0);
    int32_t keep = -1;
    CHECK(pc_lookup(&pc, PB, 8, &keep) == -1 && keep == 0);
    pc_insert(&pc, s, 0, PB, 6, get_seq, NULL, put_seq);
    CHECK(pc.n == 1 && hone_kv_cells_used(s) == 6);
    /* 8-token prompt: 6 cached, all usable (2 left to evaluate) */
    const int32_t src = pc_lookup(&pc, PB, 8, &keep);
    CHECK(src >= 1 && keep == 6);
    /* the same 6-token prompt again: only 4 may come from the cache */
    CHECK(pc_lookup(&pc, PB, 6, &keep) == src && keep == 4);
    /* a prompt sharing 2 tokens */
    const int32_t other[] = {9590, 2030, 11, 12, 13};
    CHECK(pc_lookup(&pc, other, 5, &keep) == src && keep == 2);
    CHECK(pc_lookup(&pc, PB, 2, &keep) == -1 && keep == 0);

    /* a longer prompt that extends the entry replaces it */
    hone_kv_seq_rm(s, 0, 0, -1);
    decode(s, 0, PB, 8, 0);
    pc_insert(&pc, s, 0, PB, 8, get_seq, NULL, put_seq);
    CHECK(pc.n == 1 && pc.e[0].len == 8);
    hone_kv_seq_rm(s, 0, 0, -1);
    CHECKF(hone_kv_cells_used(s) == 8, "only the new entry's cells remain: %d", hone_kv_cells_used(s));

    /* a third prompt in a cache of 2 evicts the least recently used */
    const int32_t p2[] = {1, 2, 3, 4}, p3[] = {5, 6, 7, 8};
    decode(s, 0, p2, 4, 0);
    pc_insert(&pc, s, 0, p2, 4, get_seq, NULL, put_seq);
    hone_kv_seq_rm(s, 0, 0, -1);
    CHECK(pc_lookup(&pc, PB, 8, &keep) >= 0); /* touch PB: p2 is now the oldest */
    decode(s, 0, p3, 4, 0);
    pc_insert(&pc, s, 0, p3, 4, get_seq, NULL, put_seq);
    hone_kv_seq_rm(s, 0, 0, -1);
    CHECK(pc.n == 2);
    CHECK(pc_lookup(&pc, p2, 4, &keep) == -1 || keep == 0);
    CHECK(pc_lookup(&pc, PB, 8, &keep) >= 0 && keep == 6);
    CHECK(hone_kv_cells_used(s) == 12);
    while (pc.n) put_seq(NULL, pc_evict(&pc, s));
    CHECK(hone_kv_cells_used(s) == 0 && n_pool == 4);
    pc_free(&pc);
    hone_session_free(s);
}

int main(void) {
    const char *path = test_model_path();
    if (!path) test_skip("default model not cached");
    hone_model_params mp = hone_model_default_params();
    hone_model *m = NULL;
    CHECKF(hone_model_load(path, &mp, &m) == HONE_OK, "load: %s", hone_last_error());
    if (m) {
        test_share(m);
        test_prefix_cache(m);
        hone_model_free(m);
    }
    return test_finish();
}
