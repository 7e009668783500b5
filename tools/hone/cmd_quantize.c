/*
 * cmd_quantize.c - `hone quantize IN.gguf OUT.gguf --type T`: convert a model's tensors.
 *
 * The work is hone_quantize_file (src/compress/quantize.c); this file parses options, prints the
 * plan (grouped: one line per tensor role and target type, fallbacks and rule changes with their
 * reason), a progress bar on stderr when it is a terminal, and the summary (or one JSON object
 * with --json on stdout). --act records how activations are quantised (per block, per token, or
 * one static scale per matrix from --calib; docs/quantize.md).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "compress/quantize.h"
#include "kernels/cpu/act_quant.h"

static const char *CMD = "quantize";

static void progress(void *user, int64_t done, int64_t total, const char *what) {
    (void)user;
    const int width = 30;
    const int fill = total > 0 ? (int)(width * done / total) : width;
    fprintf(stderr, "\r[%.*s%*s] %3d%% %-40.40s", fill, "##############################", width - fill, "",
            total > 0 ? (int)(100 * done / total) : 100, what ? what : "");
    if (done >= total) fputc('\n', stderr);
    fflush(stderr);
}

/* A tensor's role: its name without the "blk.N." prefix. */
static const char *role_of(const char *name) {
    if (strncmp(name, "blk.", 4) == 0) {
        const char *p = strchr(name + 4, '.');
        if (p) return p + 1;
    }
    return name;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* Layer numbers as ranges: "0-2,5,8,26-29". */
static void format_layers(int *l, int n, char *buf, size_t cap) {
    qsort(l, (size_t)n, sizeof *l, cmp_int);
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && k + 16 < cap;) {
        int j = i;
        while (j + 1 < n && l[j + 1] == l[j] + 1) j++;
        k += (size_t)snprintf(buf + k, cap - k, j > i ? "%s%d-%d" : "%s%d", k ? "," : "", l[i], l[j]);
        i = j + 1;
    }
}

/* Print the plan grouped by (role, from, to, note): 272 tensors become ~15 lines. */
static void print_plan(const hone_quantize_result *r, const char *scheme, FILE *out) {
    const int64_t n = r->n_items;
    bool *shown = calloc((size_t)(n ? n : 1), 1);
    if (!shown) return;
    if (scheme) /* the scheme's types replace the preset's for the weight matrices */
        fprintf(out, "plan (scheme %s):\n", scheme);
    else
        fprintf(out, "plan (%s%s%s):\n", r->preset->name, r->preset->alias_of ? " = " : "",
                r->preset->alias_of ? r->preset->alias_of : "");
    for (int64_t i = 0; i < n; i++) {
        if (shown[i]) continue;
        const hone_qplan_item *a = &r->plan[i];
        int count = 0, nl = 0, lay[1024];
        char layers[256] = "";
        for (int64_t j = i; j < n; j++) {
            const hone_qplan_item *b = &r->plan[j];
            if (shown[j] || strcmp(role_of(a->name), role_of(b->name)) || a->from != b->from || a->to != b->to ||
                strcmp(a->note, b->note))
                continue;
            shown[j] = true;
            count++;
            int il;
            if (sscanf(b->name, "blk.%d.", &il) == 1 && nl < 1024) lay[nl++] = il;
        }
        format_layers(lay, nl, layers, sizeof layers);
        char shape[64];
        int k = snprintf(shape, sizeof shape, "%lld", (long long)a->ne[0]);
        for (uint32_t d = 1; d < a->n_dims && k < (int)sizeof shape; d++)
            k += snprintf(shape + k, sizeof shape - (size_t)k, "x%lld", (long long)a->ne[d]);
        fprintf(out, "  %-22s %3d x %-12s %-5s -> %-5s %s%s%s%s\n", role_of(a->name), count, shape,
                hone_type_get(a->from)->name, a->convert ? hone_type_get(a->to)->name : "(copy)", a->note,
                count > 1 && layers[0] ? " [layers " : "", count > 1 && layers[0] ? layers : "",
                count > 1 && layers[0] ? "]" : "");
    }
    free(shown);
}

static int print_json(const hone_quantize_result *r, const char *in, const char *out) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "input", in);
    cJSON_AddStringToObject(root, "output", out);
    cJSON_AddStringToObject(root, "type", r->preset->name);
    cJSON_AddNumberToObject(root, "file_type", r->preset->ftype);
    cJSON_AddNumberToObject(root, "n_params", (double)r->n_params);
    cJSON_AddNumberToObject(root, "bytes_in", (double)r->bytes_in);
    cJSON_AddNumberToObject(root, "bytes_out", (double)r->bytes_out);
    cJSON_AddNumberToObject(root, "bpw", r->n_params ? 8.0 * (double)r->bytes_out / (double)r->n_params : 0);
    cJSON_AddBoolToObject(root, "requantized", r->requantized);
    cJSON_AddBoolToObject(root, "calibrated", r->calibrated);
    cJSON_AddNumberToObject(root, "seconds", r->seconds);
    if (r->predicted_kld > 0) cJSON_AddNumberToObject(root, "predicted_kld", r->predicted_kld);
    if (r->nominal_bpw > 0) cJSON_AddNumberToObject(root, "nominal_bpw", r->nominal_bpw);
    if (r->awq_groups > 0) { /* --awq or --smooth: per-channel scaling folded into the norms */
        cJSON_AddNumberToObject(root, "channel_scale_groups", r->awq_groups);
        cJSON_AddNumberToObject(root, "channel_scaled_groups", r->awq_scaled);
    }
    cJSON_AddStringToObject(root, "act", act_mode_name(r->act_mode));
    if (r->act_mode) {
        cJSON_AddNumberToObject(root, "act_matrices", r->n_act);
        cJSON_AddNumberToObject(root, "act_float_matrices", r->n_act_float);
    }
    if (r->act_mode == HONE_ACT_STATIC) {
        cJSON_AddNumberToObject(root, "act_scale_min", r->act_scale_min);
        cJSON_AddNumberToObject(root, "act_scale_max", r->act_scale_max);
    }
    int n_fallback = 0;
    cJSON *ts = cJSON_AddArrayToObject(root, "tensors");
    for (int64_t i = 0; i < r->n_items; i++) {
        const hone_qplan_item *q = &r->plan[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", q->name);
        cJSON *ne = cJSON_AddArrayToObject(o, "shape");
        for (uint32_t d = 0; d < q->n_dims; d++) cJSON_AddItemToArray(ne, cJSON_CreateNumber((double)q->ne[d]));
        cJSON_AddStringToObject(o, "from", hone_type_get(q->from)->name);
        cJSON_AddStringToObject(o, "to", hone_type_get(q->to)->name);
        cJSON_AddBoolToObject(o, "converted", q->convert);
        cJSON_AddBoolToObject(o, "fallback", q->fallback);
        if (q->note[0]) cJSON_AddStringToObject(o, "note", q->note);
        n_fallback += q->fallback;
        cJSON_AddItemToArray(ts, o);
    }
    cJSON_AddNumberToObject(root, "n_fallback", n_fallback);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) return cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory formatting JSON");
    puts(s);
    cJSON_free(s);
    return 0;
}

static int parse_type_opt(const char *opt, const char *v, int *out) {
    if (!v) return 0;
    const int t = hone_type_from_name(v);
    const hone_type_info *ti = t >= 0 ? hone_type_get((uint32_t)t) : NULL;
    if (!ti || !ti->computable || t == HONE_TYPE_Q8_1 || t == HONE_TYPE_Q8_K)
        return cli_error(CMD, CLI_EXIT_USAGE, "--%s: '%s' is not a tensor type hone can write "
                         "(F32, F16, BF16, Q8_0, Q6_K, Q5_K, Q5_1, Q5_0, Q4_K, Q4_1, Q4_0, IQ4_NL, Q3_K, Q2_K)",
                         opt, v);
    *out = t;
    return 0;
}

int cmd_quantize(int argc, char **argv) {
    hone_quantize_params p = hone_quantize_default_params();
    const char *type = NULL, *out_type = NULL, *emb_type = NULL, *mp_text = NULL;
    float target_bpw = 0.0f, max_kld = 0.0f, act_clip = 0.0f;
    bool json = false, quiet = false;
    const cli_opt opts[] = {
        {"type", 0, CLI_STR, &type, 0, 0, "T", "target type or preset (see above)"},
        {"pure", 0, CLI_FLAG, &p.pure, 0, 0, NULL, "no mixing rules: every weight matrix gets T (fallbacks still apply)"},
        {"output-type", 0, CLI_STR, &out_type, 0, 0, "T", "type of output.weight (or the tied embedding)"},
        {"embedding-type", 0, CLI_STR, &emb_type, 0, 0, "T", "type of token_embd.weight"},
        {"allow-requantize", 0, CLI_FLAG, &p.allow_requantize, 0, 0, NULL,
         "accept already quantised input (dequantised first: quality is lost twice)"},
        {"calib", 0, CLI_STR, &p.calib_path, 0, 0, "FILE", "activation statistics from hone calibrate (importances)"},
        {"awq", 0, CLI_FLAG, &p.awq, 0, 0, NULL,
         "with --calib: AWQ-style per-channel scaling folded into the norms (alpha searched per layer)"},
        {"smooth", 0, CLI_FLOAT, &p.smooth, 0.01, 1, "ALPHA",
         "with --calib: SmoothQuant migration of activation outliers into the weights (0.5 typical; for int8-static)"},
        {"scheme", 0, CLI_STR, &p.scheme, 0, 0, "S",
         "textbook scheme (int8 asym8 asym4 asym3 asym2 log4 log3) in hone's own tensor types"},
        {"group", 0, CLI_INT, &p.group, 0, 1 << 20, "G",
         "--scheme group size: 32, 64, 128 (default 0: per output channel)"},
        {"act", 0, CLI_STR, &p.act, 0, 0, "MODE",
         "activation quantisation: int8-dynamic (default, per block), int8-token, int8-static (needs --calib)"},
        {"act-clip", 0, CLI_FLOAT, &act_clip, 1e-3, 100, "P",
         "int8-static: scale from the P-th percentile of |a| (e.g. 99.99) instead of the max"},
        {"reference", 0, CLI_FLAG, &p.reference, 0, 0, NULL, "plain round-to-nearest quantisers (no scale search)"},
        {"target-bpw", 0, CLI_FLOAT, &target_bpw, 1, 32, "B",
         "mixed precision: per-tensor types measured on --mp-text, file within B bits per weight"},
        {"max-kld", 0, CLI_FLOAT, &max_kld, 1e-6, 100, "X",
         "mixed precision: the cheapest measured mix whose predicted mean KLD is at most X"},
        {"mp-text", 0, CLI_STR, &mp_text, 0, 0, "FILE",
         "calibration text for --target-bpw / --max-kld (e.g. wiki.calib.raw)"},
        {"mp-ctx", 0, CLI_INT, &p.mp_ctx, 8, 1 << 16, "N", "tokens per measurement chunk (default 128)"},
        {"mp-chunks", 0, CLI_INT, &p.mp_chunks, 1, 1 << 16, "N", "measurement chunks (default 1)"},
        {"plan", 0, CLI_STR, &p.plan_in, 0, 0, "FILE", "read per-tensor types (\"name TYPE\" lines) over the plan"},
        {"save-plan", 0, CLI_STR, &p.plan_out, 0, 0, "FILE", "write the final plan (for reuse or hand edits)"},
        {"threads", 't', CLI_INT, &p.n_threads, 0, 1024, "N", "threads (default: all CPUs)"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL, "print the plan and summary as one JSON object on stdout"},
        {"quiet", 'q', CLI_FLAG, &quiet, 0, 0, NULL, "no plan, progress or summary on stderr"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "IN.gguf OUT.gguf --type T [options]",
        "Convert every weight matrix of IN to type T and write OUT (via a temporary file, renamed\n"
        "into place). T is a type (F32 F16 BF16 Q8_0 Q6_K Q5_1 Q5_0 Q4_1 Q4_0 IQ4_NL Q2_K) or a llama.cpp\n"
        "preset (Q5_K_M Q5_K_S Q4_K_M Q4_K_S Q3_K_L Q3_K_M Q3_K_S; Q5_K, Q4_K, Q3_K mean their _M\n"
        "preset) whose rules give some tensors more bits (docs/quantize.md). Rows that do not fit\n"
        "a type's block size fall back to a type that does; the plan on stderr says where. The\n"
        "legacy types' scales are searched to minimise a weighted squared error (weights from\n"
        "activation statistics with --calib). --target-bpw chooses a type per tensor by measuring\n"
        "each one's effect on the output. --scheme stores the weight matrices in hone's own types for\n"
        "the textbook schemes (docs/formats.md; hone runs them, llama.cpp cannot load them).",
        opts, 2};
    char *pos[3];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if (n_pos != 2) return cli_error(CMD, CLI_EXIT_USAGE, "expected IN.gguf OUT.gguf (see hone quantize --help)");
    if (p.scheme && type && strcasecmp(type, "F16") != 0)
        return cli_error(CMD, CLI_EXIT_USAGE, "--scheme chooses the weight types itself; it does not combine with "
                         "--type %s", type);
    if (p.scheme && !type) type = "F16";
    if (!type) return cli_error(CMD, CLI_EXIT_USAGE, "--type is required (e.g. --type Q4_K_M)");
    if (!hone_qpreset_find(type)) {
        char list[512];
        size_t k = 0;
        for (int i = 0; hone_qpreset_at(i) && k < sizeof list - 16; i++)
            k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? " " : "", hone_qpreset_at(i)->name);
        return cli_error(CMD, CLI_EXIT_USAGE, "unknown type '%s' (known: %s)", type, list);
    }
    if ((rc = parse_type_opt("output-type", out_type, &p.output_type))) return rc;
    if ((rc = parse_type_opt("embedding-type", emb_type, &p.embedding_type))) return rc;
    p.type = type;
    if (!quiet && isatty(STDERR_FILENO)) p.progress = progress;
    char *mp = NULL;
    p.target_bpw = target_bpw;
    p.act_clip = act_clip;
    p.max_kld = max_kld;
    if (p.target_bpw > 0 && p.max_kld > 0)
        return cli_error(CMD, CLI_EXIT_USAGE, "--target-bpw and --max-kld exclude each other (give one target)");
    if (p.target_bpw > 0 || p.max_kld > 0) {
        if (!mp_text)
            return cli_error(CMD, CLI_EXIT_USAGE, "%s needs --mp-text FILE (calibration text)",
                             p.max_kld > 0 ? "--max-kld" : "--target-bpw");
        mp = cli_read_all(mp_text, &p.mp_len);
        if (!mp) return cli_error(CMD, CLI_EXIT_INPUT, "%s: cannot read: %s", mp_text, strerror(errno));
        p.mp_text = mp;
    }

    hone_quantize_result r;
    hone_status st = hone_quantize_file(pos[0], pos[1], &p, &r);
    free(mp);
    if (st) {
        int code = CLI_EXIT_RUNTIME;
        if (r.stage == HONE_QSTAGE_ARGS) code = CLI_EXIT_USAGE;
        else if (r.stage == HONE_QSTAGE_INPUT) code = st == HONE_ERR_NOMEM ? CLI_EXIT_RUNTIME : CLI_EXIT_INPUT;
        if (r.stage == HONE_QSTAGE_INPUT) cli_load_error(CMD, pos[0], st);
        else cli_error(CMD, code, "%s", hone_last_error());
        hone_quantize_result_free(&r);
        return code;
    }
    if (!quiet) {
        print_plan(&r, p.scheme, stderr);
        if (r.requantized)
            fprintf(stderr, "hone quantize: warning: %s was already quantised; its weights were dequantised and "
                            "quantised again (quality is lost twice)\n", pos[0]);
        fprintf(stderr, "hone quantize: %s -> %s: %s, %.2f MiB -> %.2f MiB, %.3f bits per weight (%llu weights)%s, "
                        "%.1f s\n",
                pos[0], pos[1], p.scheme ? p.scheme : r.preset->name, r.bytes_in / 1048576.0, r.bytes_out / 1048576.0,
                r.n_params ? 8.0 * (double)r.bytes_out / (double)r.n_params : 0.0, (unsigned long long)r.n_params,
                r.calibrated ? ", calibrated" : "", r.seconds);
        if (p.smooth > 0.0f)
            fprintf(stderr, "hone quantize: --smooth %g: %d of %d tensor groups scaled\n", (double)p.smooth, r.awq_scaled,
                    r.awq_groups);
        if (p.awq)
            fprintf(stderr, "hone quantize: --awq: %d of %d tensor groups scaled (the others: alpha 0 measured best)\n",
                    r.awq_scaled, r.awq_groups);
        if (p.scheme)
            fprintf(stderr, "hone quantize: textbook scheme %s: weight matrices in hone's own types (llama.cpp cannot "
                            "load this file), tensors %.3f bits per weight\n", p.scheme, r.nominal_bpw);
        if (r.act_mode)
            fprintf(stderr, "hone quantize: activations %s for %d weight matrices%s%s\n", act_mode_name(r.act_mode), r.n_act,
                    r.n_act_float ? " (float matrices keep float activations)" : "",
                    r.act_mode == HONE_ACT_STATIC ? " (static scales from --calib)" : "");
        if (r.act_mode == HONE_ACT_STATIC)
            fprintf(stderr, "hone quantize: static activation scales %.4g .. %.4g (max |a| %.4g .. %.4g%s)\n",
                    r.act_scale_min, r.act_scale_max, 127.0 * r.act_scale_min, 127.0 * r.act_scale_max,
                    p.act_clip > 0 ? ", clipped at the percentile" : "");
        if (p.target_bpw > 0)
            fprintf(stderr, "hone quantize: mixed precision for %.3f bpw: predicted mean KLD %.4f (sum of per-tensor "
                            "predictions)\n", p.target_bpw, r.predicted_kld);
        if (p.max_kld > 0)
            fprintf(stderr, "hone quantize: mixed precision for predicted mean KLD <= %g: predicted %.4f, %.3f bits per "
                            "weight\n", p.max_kld, r.predicted_kld,
                    r.n_params ? 8.0 * (double)r.bytes_out / (double)r.n_params : 0.0);
    }
    rc = json ? print_json(&r, pos[0], pos[1]) : 0;
    hone_quantize_result_free(&r);
    return rc;
}
