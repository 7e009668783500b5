/*
 * cmd_eval.c - `hone eval MODEL --text FILE`: perplexity, and KL divergence against a reference.
 *
 * The measurement is hone_eval_run (src/compress/eval.c, llama-perplexity's protocol); this file
 * parses options, shows progress on stderr when it is a terminal, and prints the figures as text
 * or one JSON object (--json). `--report` (several models against one reference) is report.c's.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "compress/eval.h"
#include "compress/report.h"

static const char *CMD = "eval";

static void progress(void *user, int64_t done, int64_t total, const char *what) {
    const double t0 = *(const double *)user;
    const double el = cli_now() - t0;
    fprintf(stderr, "\rhone eval: %lld/%lld %s, %.0f s elapsed", (long long)done, (long long)total, what ? what : "",
            el);
    if (done > 0 && done < total) fprintf(stderr, ", ~%.0f s left ", el / (double)done * (double)(total - done));
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

static cJSON *result_json(const char *model, const char *ref, const hone_eval_result *r, int n_threads) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", model);
    if (ref) cJSON_AddStringToObject(o, "reference", ref);
    cJSON_AddNumberToObject(o, "n_ctx", r->n_ctx);
    cJSON_AddNumberToObject(o, "n_chunks", r->n_chunks);
    cJSON_AddNumberToObject(o, "n_scored", (double)r->count);
    cJSON_AddNumberToObject(o, "n_text_tokens", (double)r->n_text_tokens);
    cJSON_AddBoolToObject(o, "bos", r->add_bos);
    cJSON_AddNumberToObject(o, "file_bytes", (double)r->file_bytes);
    cJSON_AddNumberToObject(o, "file_mib", (double)r->file_bytes / 1048576.0);
    cJSON_AddNumberToObject(o, "n_params", (double)r->n_params);
    cJSON_AddNumberToObject(o, "bpw", r->bpw);
    cJSON_AddNumberToObject(o, "ppl", r->ppl);
    cJSON_AddNumberToObject(o, "ppl_unc", r->ppl_unc);
    cJSON_AddNumberToObject(o, "prompt_tok_per_s", r->tok_per_s);
    cJSON_AddNumberToObject(o, "n_threads", n_threads);
    if (r->has_ref) {
        cJSON_AddNumberToObject(o, "ref_ppl", r->ref_ppl);
        cJSON_AddNumberToObject(o, "ref_ppl_unc", r->ref_ppl_unc);
        cJSON_AddNumberToObject(o, "ppl_ratio", r->ppl_ratio);
        cJSON_AddNumberToObject(o, "ppl_ratio_unc", r->ppl_ratio_unc);
        cJSON_AddNumberToObject(o, "kld_mean", r->kld_mean);
        cJSON_AddNumberToObject(o, "kld_unc", r->kld_unc);
        cJSON_AddNumberToObject(o, "kld_median", r->kld_median);
        cJSON_AddNumberToObject(o, "kld_p99", r->kld_p99);
        cJSON_AddNumberToObject(o, "kld_p999", r->kld_p999);
        cJSON_AddNumberToObject(o, "kld_max", r->kld_max);
        cJSON_AddNumberToObject(o, "top1", r->top1);
        cJSON_AddNumberToObject(o, "top1_unc", r->top1_unc);
        cJSON_AddNumberToObject(o, "rms_dp", r->rms_dp);
        cJSON_AddNumberToObject(o, "rms_dp_unc", r->rms_dp_unc);
    }
    return o;
}

static void print_text(const char *model, const char *ref, const hone_eval_result *r) {
    printf("model        %s\n", model);
    printf("protocol     %d chunks x %d tokens, second half scored (%lld tokens), BOS per chunk: %s\n", r->n_chunks,
           r->n_ctx, (long long)r->count, r->add_bos ? "yes" : "no");
    printf("file         %.2f MiB, %.3f bits per weight (%llu weights)\n", r->file_bytes / 1048576.0, r->bpw,
           (unsigned long long)r->n_params);
    printf("PPL          %.6f +/- %.5f\n", r->ppl, r->ppl_unc);
    if (r->has_ref) {
        printf("reference    %s\n", ref);
        printf("ref PPL      %.6f +/- %.5f\n", r->ref_ppl, r->ref_ppl_unc);
        printf("PPL ratio    %.6f +/- %.6f\n", r->ppl_ratio, r->ppl_ratio_unc);
        printf("KLD          mean %.6f +/- %.6f, median %.6f, p99 %.6f, p99.9 %.6f, max %.6f\n", r->kld_mean,
               r->kld_unc, r->kld_median, r->kld_p99, r->kld_p999, r->kld_max);
        printf("same top-1   %.3f +/- %.3f %%\n", 100.0 * r->top1, 100.0 * r->top1_unc);
        printf("RMS dp       %.3f +/- %.3f %%\n", 100.0 * r->rms_dp, 100.0 * r->rms_dp_unc);
    }
    printf("speed        %.1f tok/s prompt processing\n", r->tok_per_s);
}

/* --report: every model against one reference. A reference model is run once, its log-probs saved
 * beside the report (REPORT.ref.logits, removed afterwards), then each model reads them. */
static int run_report(const char *report, char **models, int n, const char *text, size_t len, hone_eval_params p) {
    char svg[4096], logits[4096];
    const size_t rl = strlen(report);
    const bool has_md = rl > 3 && strcmp(report + rl - 3, ".md") == 0;
    snprintf(svg, sizeof svg, "%.*s.svg", (int)(has_md ? rl - 3 : rl), report);
    hone_report_row *rows = calloc((size_t)n, sizeof *rows);
    if (!rows) return cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory");
    const char *ref = p.ref_path ? p.ref_path : p.ref_logits;
    int rc = 0;
    hone_status st = HONE_OK;
    if (p.ref_path) {
        snprintf(logits, sizeof logits, "%s.ref.logits", report);
        hone_eval_params rp = p;
        rp.ref_path = NULL;
        rp.save_logits = logits;
        hone_eval_result rr;
        fprintf(stderr, "hone eval: reference %s\n", p.ref_path);
        if ((st = hone_eval_run(p.ref_path, text, len, &rp, &rr))) {
            rc = cli_load_error(CMD, p.ref_path, st);
            goto done;
        }
        p.ref_path = NULL;
        p.ref_logits = logits;
    }
    for (int i = 0; i < n; i++) {
        fprintf(stderr, "hone eval: %s\n", models[i]);
        const char *slash = strrchr(models[i], '/');
        rows[i].label = slash ? slash + 1 : models[i];
        if ((st = hone_eval_run(models[i], text, len, &p, &rows[i].r))) {
            rc = st == HONE_ERR_INVALID_ARG ? cli_error(CMD, CLI_EXIT_USAGE, "%s", hone_last_error())
                                            : cli_load_error(CMD, models[i], st);
            goto done;
        }
    }
    if ((st = hone_report_write(report, svg, rows, n, ref, NULL))) {
        rc = cli_error(CMD, CLI_EXIT_RUNTIME, "%s", hone_last_error());
        goto done;
    }
    hone_report_write("/dev/stdout", NULL, rows, n, ref, NULL);
    fprintf(stderr, "hone eval: wrote %s and %s\n", report, svg);
done:
    if (p.ref_logits == logits) remove(logits);
    free(rows);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    hone_eval_params p = hone_eval_default_params();
    const char *model_arg = NULL, *text_path = NULL, *report = NULL;
    bool json = false, quiet = false;
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model_arg, 0, 0, "FILE", "model to evaluate (or give it as the argument)"},
        {"text", 'f', CLI_STR, &text_path, 0, 0, "FILE", "evaluation text (e.g. wiki.test.raw)"},
        {"ctx-size", 'c', CLI_INT, &p.n_ctx, 8, 1 << 16, "N", "tokens per chunk (default 512)"},
        {"chunks", 0, CLI_INT, &p.n_chunks, 0, 1 << 20, "N", "evaluate the first N chunks (default: all)"},
        {"ref", 0, CLI_STR, &p.ref_path, 0, 0, "FILE", "reference model, run beside for KL divergence"},
        {"ref-logits", 0, CLI_STR, &p.ref_logits, 0, 0, "FILE", "saved reference log-probs (llama-perplexity format)"},
        {"save-logits", 0, CLI_STR, &p.save_logits, 0, 0, "FILE", "save this model's log-probs (~2 bytes/vocab entry)"},
        {"threads", 't', CLI_INT, &p.n_threads, 0, 1024, "N", "threads (default: all CPUs)"},
        {"report", 0, CLI_STR, &report, 0, 0, "OUT.md", "evaluate every MODEL given; write a Markdown table and OUT.svg"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL, "print one JSON object"},
        {"quiet", 'q', CLI_FLAG, &quiet, 0, 0, NULL, "no progress on stderr"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "MODEL --text FILE [--ref REF.gguf | --ref-logits F] [options]",
        "Perplexity of MODEL on a text with llama-perplexity's protocol: chunks of -c tokens, each\n"
        "from an empty context (BOS first where the model uses one), the second half of each scored.\n"
        "With --ref (run side by side, chunk by chunk) or --ref-logits (saved with --save-logits or by\n"
        "llama-perplexity --kl-divergence-base): KL divergence from the reference (mean, median, p99),\n"
        "how often the most likely token agrees, and the RMS change in the next token's probability.\n"
        "With --report OUT.md, every MODEL given is measured against the reference and the results go\n"
        "to a Markdown table (OUT.md) and a chart of bits per weight against KLD (OUT.svg).",
        opts, 64};
    char *pos[65];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if (n_pos >= 1 && model_arg) return cli_error(CMD, CLI_EXIT_USAGE, "give the model once (argument or -m)");
    if (n_pos > 1 && !report) return cli_error(CMD, CLI_EXIT_USAGE, "several models need --report OUT.md");
    if (!text_path && !p.ref_logits) return cli_error(CMD, CLI_EXIT_USAGE, "--text FILE is required");
    if (p.ref_path && p.ref_logits) return cli_error(CMD, CLI_EXIT_USAGE, "--ref and --ref-logits exclude each other");
    if (report && !p.ref_path && !p.ref_logits)
        return cli_error(CMD, CLI_EXIT_USAGE, "--report needs a reference (--ref or --ref-logits)");
    if (report && (n_pos < 1 || p.save_logits))
        return cli_error(CMD, CLI_EXIT_USAGE, "--report needs models as arguments and no --save-logits");
    char path[4096];
    if ((rc = cli_model_path(CMD, n_pos ? pos[0] : model_arg, path, sizeof path))) return rc;

    char *text = NULL;
    size_t len = 0;
    if (text_path && !p.ref_logits) {
        text = cli_read_all(text_path, &len);
        if (!text) return cli_error(CMD, CLI_EXIT_INPUT, "%s: cannot read: %s", text_path, strerror(errno));
    }
    double t0 = cli_now();
    if (!quiet && isatty(STDERR_FILENO)) {
        p.progress = progress;
        p.user = &t0;
    }
    if (report) {
        rc = run_report(report, pos, n_pos, text, len, p);
        free(text);
        return rc;
    }
    hone_eval_result r;
    hone_status st = hone_eval_run(path, text, len, &p, &r);
    free(text);
    if (st) {
        if (st == HONE_ERR_INVALID_ARG) return cli_error(CMD, CLI_EXIT_USAGE, "%s", hone_last_error());
        if (st == HONE_ERR_NOMEM || st == HONE_ERR_RUNTIME) return cli_error(CMD, CLI_EXIT_RUNTIME, "%s", hone_last_error());
        return cli_load_error(CMD, path, st);
    }
    const char *ref = p.ref_path ? p.ref_path : p.ref_logits;
    if (json) {
        cJSON *o = result_json(path, ref, &r, p.n_threads);
        char *s = cJSON_Print(o);
        cJSON_Delete(o);
        if (!s) return cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory formatting JSON");
        puts(s);
        cJSON_free(s);
    } else {
        print_text(path, ref, &r);
    }
    if (fflush(stdout) != 0) return cli_error(CMD, CLI_EXIT_RUNTIME, "writing output failed");
    return 0;
}
