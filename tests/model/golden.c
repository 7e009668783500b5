/*
 * golden.c - parse the golden JSON files with cJSON.
 */
#include "golden.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int32_t *int_array(const cJSON *a, int *n) {
    *n = cJSON_GetArraySize(a);
    int32_t *v = calloc((size_t)*n + 1, sizeof *v);
    for (int i = 0; i < *n; i++) v[i] = (int32_t)cJSON_GetArrayItem(a, i)->valuedouble;
    return v;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(((const golden_case *)a)->name, ((const golden_case *)b)->name);
}

int golden_load_all(golden_case **out) {
    const char *dir = test_shared_path("golden/smollm2");
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    DIR *d = opendir(dirbuf);
    if (!d) return -1;
    golden_case *g = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t L = strlen(e->d_name);
        if (L < 6 || strcmp(e->d_name + L - 5, ".json") != 0) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dirbuf, e->d_name);
        char *txt = test_read_file(path, NULL);
        cJSON *j = txt ? cJSON_Parse(txt) : NULL;
        free(txt);
        if (!j) continue;
        g = realloc(g, (size_t)(n + 1) * sizeof *g);
        golden_case *c = &g[n++];
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%.*s", (int)(L - 5), e->d_name);
        c->prompt = strdup(cJSON_GetObjectItem(j, "prompt")->valuestring);
        c->completion = strdup(cJSON_GetObjectItem(j, "completion")->valuestring);
        c->prompt_ids = int_array(cJSON_GetObjectItem(j, "prompt_ids"), &c->n_prompt);
        c->completion_ids = int_array(cJSON_GetObjectItem(j, "completion_ids"), &c->n_completion);
        c->eos = strcmp(cJSON_GetObjectItem(j, "stop_reason")->valuestring, "eos") == 0;
        const cJSON *tol = cJSON_GetObjectItem(j, "tolerance");
        c->tol = tol ? (float)cJSON_GetObjectItem(tol, "logprob_abs")->valuedouble : 0.02f;
        const cJSON *steps = cJSON_GetObjectItem(j, "top5_logprobs");
        int ns = cJSON_GetArraySize(steps);
        c->steps = calloc((size_t)ns + 1, sizeof *c->steps);
        for (int i = 0; i < ns && i < c->n_completion; i++) {
            const cJSON *s = cJSON_GetArrayItem(steps, i);
            c->steps[i].id = (int32_t)cJSON_GetObjectItem(s, "id")->valuedouble;
            const cJSON *top = cJSON_GetObjectItem(s, "top");
            for (int k = 0; k < 5 && k < cJSON_GetArraySize(top); k++) {
                const cJSON *t = cJSON_GetArrayItem(top, k);
                c->steps[i].top_id[k] = (int32_t)cJSON_GetObjectItem(t, "id")->valuedouble;
                c->steps[i].top_lp[k] = (float)cJSON_GetObjectItem(t, "logprob")->valuedouble;
            }
        }
        cJSON_Delete(j);
    }
    closedir(d);
    qsort(g, (size_t)n, sizeof *g, cmp_names);
    *out = g;
    return n;
}

void golden_free_all(golden_case *g, int n) {
    for (int i = 0; i < n; i++) {
        free(g[i].prompt);
        free(g[i].completion);
        free(g[i].prompt_ids);
        free(g[i].completion_ids);
        free(g[i].steps);
    }
    free(g);
}
