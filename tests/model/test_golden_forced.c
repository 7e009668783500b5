/*
 * test_golden_forced.c - the default model's distributions against
 * llama.cpp's, teacher-forced.
 *
 * Each golden file is fed as prompt + reference continuation in one batch,
 * so both engines condition on the same tokens at every step, and the
 * reference top-5 log-probabilities are compared with ours. This is the
 * comparison that stays meaningful when free-running generation diverges:
 * with activations quantised to 8 bits (as llama.cpp does), this model is
 * chaotic - a 1e-7 relative change in one layer's inputs moves some
 * log-probabilities by 0.4 - so the reference's exact bits depend on the
 * CPU it ran on. llama.cpp c392e50 built on this machine reproduces the
 * golden files only to: median |dlogprob| 0.059, 90th percentile 0.185,
 * max 0.68, same top-1 at 629 of 645 steps (bench/golden_vs_llama.py). The
 * bounds below hold hone to that same standard.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "harness.h"
#include "hone.h"

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    const char *path = test_model_path();
    if (!path) test_skip("default model not cached (run `hone pull`)");
    golden_case *g;
    int ng = golden_load_all(&g);
    CHECKF(ng >= 12, "expected 12 golden files, found %d", ng);
    if (ng <= 0) return test_finish();
    hone_model *m;
    if (hone_model_load(path, NULL, &m) != HONE_OK) {
        CHECKF(0, "load: %s", hone_last_error());
        return test_finish();
    }
    hone_session_params sp = hone_session_default_params();
    sp.n_ctx = 512;
    sp.n_threads = 2;
    hone_session *s;
    CHECK(hone_session_create(m, &sp, &s) == HONE_OK);
    const int nv = hone_model_n_vocab(m);

    double *errs = malloc(sizeof(double) * 12 * 64 * 5 * 2);
    int n_err = 0, n_steps = 0, n_agree = 0, n_clear = 0, n_clear_agree = 0;
    for (int c = 0; c < ng; c++) {
        golden_case *gc = &g[c];
        const int n = gc->n_prompt + gc->n_completion - 1; /* the last reference token is never fed */
        int32_t tok[512], pos[512], seq[512] = {0};
        int8_t want[512] = {0};
        if (n > 512) continue;
        memcpy(tok, gc->prompt_ids, (size_t)gc->n_prompt * sizeof(int32_t));
        memcpy(tok + gc->n_prompt, gc->completion_ids, (size_t)(gc->n_completion - 1) * sizeof(int32_t));
        for (int i = 0; i < n; i++) pos[i] = i, want[i] = i >= gc->n_prompt - 1;
        hone_kv_seq_rm(s, 0, 0, -1);
        hone_batch b = {n, tok, pos, seq, want};
        CHECKF(hone_decode(s, &b) == HONE_OK, "%s: %s", gc->name, hone_last_error());
        double worst = 0;
        for (int k = 0; k < gc->n_completion; k++) {
            const float *lg = hone_get_logits(s, gc->n_prompt - 1 + k);
            if (!lg) break;
            float mx = -INFINITY;
            int best = 0;
            for (int i = 0; i < nv; i++)
                if (lg[i] > mx) mx = lg[i], best = i;
            double sum = 0;
            for (int i = 0; i < nv; i++) sum += exp((double)lg[i] - mx);
            const double lse = mx + log(sum);
            const golden_step *ref = &gc->steps[k];
            for (int j = 0; j < 5; j++) {
                const double e = fabs((lg[ref->top_id[j]] - lse) - ref->top_lp[j]);
                errs[n_err++] = e;
                if (e > worst) worst = e;
            }
            n_steps++;
            n_agree += best == ref->id;
            /* a clear decision: the reference's top-2 gap exceeds the spread
             * llama.cpp itself shows between machines */
            if (ref->top_lp[0] - ref->top_lp[1] > 0.7f) {
                n_clear++;
                n_clear_agree += best == ref->id;
                CHECKF(best == ref->id, "%s step %d: top-1 %d but llama.cpp %d with a gap of %.3f", gc->name, k, best,
                       ref->id, ref->top_lp[0] - ref->top_lp[1]);
            }
        }
        printf("%-16s worst |dlogprob| %.4f\n", gc->name, worst);
    }
    qsort(errs, (size_t)n_err, sizeof *errs, cmp_double);
    const double med = errs[n_err / 2], p90 = errs[(int)(0.9 * n_err)], mx = errs[n_err - 1];
    printf("teacher-forced: %d steps, same top-1 %d (%.1f%%), clear steps %d/%d; |dlogprob| median %.4f p90 %.4f "
           "max %.4f\n",
           n_steps, n_agree, 100.0 * n_agree / n_steps, n_clear_agree, n_clear, med, p90, mx);
    CHECKF(n_steps >= 600, "only %d steps compared", n_steps);
    CHECKF(n_agree >= (int)(0.95 * n_steps), "same top-1 at %d of %d steps (llama.cpp here: 97.5%%)", n_agree,
           n_steps);
    CHECKF(med <= 0.075, "median |dlogprob| %.4f (llama.cpp here: 0.059)", med);
    CHECKF(p90 <= 0.23, "p90 |dlogprob| %.4f (llama.cpp here: 0.185)", p90);
    CHECKF(mx <= 0.9, "max |dlogprob| %.4f (llama.cpp here: 0.68)", mx);
    free(errs);
    hone_session_free(s);
    hone_model_free(m);
    golden_free_all(g, ng);
    return test_finish();
}
