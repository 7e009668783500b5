/*
 * merge_heap.h - the priority queue of candidate merges shared by the SPM
 * and BPE tokenisers.
 *
 * Both repeatedly merge the best adjacent pair of symbols; they differ only
 * in what "best" means (SPM: highest score of the merged piece, BPE: lowest
 * merge rank), so a pair carries a key where lower is better (BPE: rank,
 * SPM: -score), and ties go to the leftmost pair, as llama.cpp resolves
 * them. A binary heap in a caller-owned array (no allocation here).
 */
#ifndef HONE_TOKENIZER_MERGE_HEAP_H
#define HONE_TOKENIZER_MERGE_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double key;                  /* lower merges first */
    int32_t left, right, size;   /* symbol indices and merged byte length (to detect stale entries) */
} merge_pair;

static inline int merge_pair_before(const merge_pair *a, const merge_pair *b) {
    return a->key < b->key || (a->key == b->key && a->left < b->left);
}

static inline void merge_heap_push(merge_pair *h, size_t *n, merge_pair p) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!merge_pair_before(&p, &h[up])) break;
        h[i] = h[up];
        i = up;
    }
    h[i] = p;
}

/* Requires *n > 0. */
static inline merge_pair merge_heap_pop(merge_pair *h, size_t *n) {
    merge_pair top = h[0];
    merge_pair last = h[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && merge_pair_before(&h[c + 1], &h[c])) c++;
        if (!merge_pair_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

#endif
