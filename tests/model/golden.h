/*
 * golden.h - load the greedy-continuation golden files of ../shared/golden/smollm2.
 */
#ifndef HONE_TEST_GOLDEN_H
#define HONE_TEST_GOLDEN_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int32_t id;
    int32_t top_id[5];
    float top_lp[5];
} golden_step;

typedef struct {
    char name[64];
    char *prompt;
    int32_t *prompt_ids;
    int n_prompt;
    char *completion;
    int32_t *completion_ids;
    int n_completion;
    golden_step *steps;
    bool eos;
    float tol;
} golden_case;

/* All golden cases, sorted by file name; returns count (<0 on error). */
int golden_load_all(golden_case **out);
void golden_free_all(golden_case *g, int n);

#endif
