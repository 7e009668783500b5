/*
 * cmd_bench.c - `hone bench`: prompt and generation speed, like llama-bench,
 * set against the machine's measured memory bandwidth.
 *
 * For each thread count two tests run, each `-r` times after one untimed
 * warm-up, with the KV cache cleared before every run:
 *   pp<P>  one sequence, a prompt of P seeded random token ids decoded in
 *          batches of up to -b tokens, logits for the last token only;
 *   tg<N>  N single-token decode steps from an empty cache, feeding a fixed
 *          seeded random token sequence (as llama-bench does: the speed does
 *          not depend on which tokens are fed, and sampling is not timed).
 * Only the hone_decode calls are timed. Results are mean +- sample sd of
 * tok/s over the repetitions.
 *
 * Generation is bound by memory bandwidth, so each tg row also gives the
 * bytes it must read per token (computed from the GGUF tensor table and the
 * model's shape, see weight_bytes_per_token and kv_bytes_per_token), the
 * achieved GB/s = bytes/token x tok/s, and that as a percentage of the read
 * bandwidth core/membw.c measures at the same thread count. The bandwidth is
 * measured in a forked child so its 512 MiB buffer does not count in the
 * peak RSS reported here (getrusage of this process).
 *
 * Output: a Markdown table with header lines stating the formula, or with
 * --json an array of objects shaped after llama-bench's (-o json) fields plus
 * the bandwidth ones. bench/compare_llama.sh consumes the JSON.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "core/membw.h"
#include "formats/gguf.h"

static const char *CMD = "bench";

#define MAX_THREAD_COUNTS CLI_LIST_MAX
#define MEMBW_PASSES 9 /* three of each read pattern (core/membw.c) */

/* What the GGUF says about the bytes a generated token reads. */
typedef struct {
    uint64_t file_tensor_bytes; /* all tensors: the "size" column */
    uint64_t n_params;
    uint64_t weight_bytes; /* read per generated token, see model_bytes() */
    bool tied_output;      /* no output.weight: the embedding table is the output matrix */
    int64_t n_layer, n_head_kv, head_dim_k, head_dim_v;
} model_bytes_info;

typedef struct {
    int n_threads;
    const char *test; /* "pp" or "tg" */
    int n_prompt, n_gen;
    double mean, sd;  /* tok/s */
    double *samples;  /* [reps] tok/s */
    double bytes_per_token, gbps; /* tg only */
    double membw_gbps;            /* 0 when not measured */
} result;

/* ---- bytes read per generated token --------------------------------------- */

static hone_status arch_i64(const gguf_file *f, const char *arch, const char *suffix, int64_t *out) {
    char key[256];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    return gguf_get_i64(f, key, out);
}

/*
 * Weights read per generated token: every tensor except the token embedding
 * table (the matmul weights of all layers, their norms and the output matrix),
 * plus the one embedding row the token looks up; when output.weight is absent
 * the embedding table doubles as the output matrix and is read whole.
 */
static int model_bytes(const char *path, model_bytes_info *mb) {
    memset(mb, 0, sizeof *mb);
    gguf_file *f = NULL;
    hone_status st = gguf_open(path, true, &f);
    if (st != HONE_OK) return cli_load_error(CMD, path, st);
    const gguf_tensor *embd = NULL;
    bool has_output = false;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor *t = gguf_tensor_at(f, i);
        uint64_t n = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) n *= (uint64_t)t->ne[d];
        mb->n_params += n;
        mb->file_tensor_bytes += t->nbytes;
        if (strcmp(t->name, "token_embd.weight") == 0) {
            embd = t;
            continue;
        }
        if (strcmp(t->name, "output.weight") == 0) has_output = true;
        mb->weight_bytes += t->nbytes;
    }
    if (embd) {
        mb->weight_bytes += hone_row_size(embd->type, embd->ne[0]);
        if (!has_output) {
            mb->weight_bytes += embd->nbytes;
            mb->tied_output = true;
        }
    }
    const char *arch = NULL;
    int64_t n_embd = 0, n_head = 0;
    st = gguf_get_str(f, "general.architecture", &arch);
    if (st == HONE_OK) st = arch_i64(f, arch, "block_count", &mb->n_layer);
    if (st == HONE_OK) st = arch_i64(f, arch, "embedding_length", &n_embd);
    if (st == HONE_OK) st = arch_i64(f, arch, "attention.head_count", &n_head);
    if (st == HONE_OK && arch_i64(f, arch, "attention.head_count_kv", &mb->n_head_kv) != HONE_OK)
        mb->n_head_kv = n_head;
    if (st == HONE_OK && n_head <= 0) st = HONE_ERR_FORMAT;
    if (st == HONE_OK && arch_i64(f, arch, "attention.key_length", &mb->head_dim_k) != HONE_OK)
        mb->head_dim_k = n_embd / n_head;
    if (st == HONE_OK && arch_i64(f, arch, "attention.value_length", &mb->head_dim_v) != HONE_OK)
        mb->head_dim_v = n_embd / n_head;
    int rc = 0;
    if (st != HONE_OK) rc = cli_load_error(CMD, path, st);
    gguf_close(f);
    return rc;
}

/* KV cache bytes the attention reads per generated token, averaged over tg:
 * the token at position i reads K and V (F16) of positions 0..i in every
 * layer, so over positions 0..N-1 it reads (N+1)/2 positions on average. */
static double kv_bytes_per_token(const model_bytes_info *mb, int n_gen) {
    const double per_pos =
        (double)mb->n_layer * (double)mb->n_head_kv * (double)(mb->head_dim_k + mb->head_dim_v) * 2.0;
    return per_pos * (n_gen + 1) / 2.0;
}

/* ---- memory bandwidth, measured in a child process ------------------------ */

/* Fill gbps[i] for threads[i]. Forks so the buffer never enters this
 * process's peak RSS; falls back to measuring here when fork fails. */
static int measure_bandwidth(const int *threads, int n, double *gbps) {
    int fds[2];
    pid_t pid = -1;
    if (pipe(fds) == 0) {
        fflush(NULL);
        pid = fork();
        if (pid < 0) {
            close(fds[0]);
            close(fds[1]);
        }
    }
    if (pid == 0) { /* child: measure, send n doubles (0 = failed), exit */
        close(fds[0]);
        membw *m = NULL;
        double out[MAX_THREAD_COUNTS] = {0};
        if (membw_create(MEMBW_DEFAULT_BYTES, &m) == HONE_OK) {
            for (int i = 0; i < n; i++)
                if (membw_read_gbps(m, threads[i], MEMBW_PASSES, &out[i]) != HONE_OK) out[i] = 0;
            membw_free(m);
        }
        ssize_t w = write(fds[1], out, sizeof(double) * (size_t)n);
        _exit(w == (ssize_t)(sizeof(double) * (size_t)n) ? 0 : 1);
    }
    if (pid > 0) {
        close(fds[1]);
        size_t want = sizeof(double) * (size_t)n, got = 0;
        while (got < want) {
            ssize_t r = read(fds[0], (char *)gbps + got, want - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        close(fds[0]);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        if (got == want) {
            for (int i = 0; i < n; i++)
                if (!(gbps[i] > 0)) return cli_error(CMD, CLI_EXIT_RUNTIME, "bandwidth measurement failed");
            return 0;
        }
        return cli_error(CMD, CLI_EXIT_RUNTIME, "bandwidth measurement: child process failed");
    }
    membw *m = NULL;
    hone_status st = membw_create(MEMBW_DEFAULT_BYTES, &m);
    for (int i = 0; st == HONE_OK && i < n; i++) st = membw_read_gbps(m, threads[i], MEMBW_PASSES, &gbps[i]);
    membw_free(m);
    if (st != HONE_OK) return cli_error(CMD, CLI_EXIT_RUNTIME, "bandwidth measurement: %s", hone_last_error());
    return 0;
}

/* ---- the tests ------------------------------------------------------------ */

/* splitmix64: a fixed, seedable token stream independent of libc's rand(). */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct {
    hone_session *s;
    const hone_token *tokens; /* [max(P, N)] */
    int32_t *pos, *seq;       /* [n_batch] */
    int8_t *logits;           /* [n_batch] */
    int n_batch;
} bench_ctx;

/* Decode tokens[0..n) from an empty cache, `chunk` tokens per call; returns
 * the seconds spent in hone_decode, or a negative value on failure. */
static double run_decode(bench_ctx *c, int n, int chunk) {
    if (hone_kv_seq_rm(c->s, 0, 0, -1) != HONE_OK) return -1;
    double total = 0;
    for (int i = 0; i < n; i += chunk) {
        int k = n - i < chunk ? n - i : chunk;
        for (int j = 0; j < k; j++) {
            c->pos[j] = i + j;
            c->seq[j] = 0;
            c->logits[j] = i + j == n - 1; /* only the prompt's last token needs logits */
        }
        hone_batch b = {.n_tokens = k, .token = c->tokens + i, .pos = c->pos, .seq_id = c->seq, .logits = c->logits};
        double t0 = cli_now();
        hone_status st = hone_decode(c->s, &b);
        total += cli_now() - t0;
        if (st != HONE_OK) return -1;
    }
    return total;
}

/* Warm-up, then `reps` timed runs; fills r->samples, mean and sd. */
static int run_test(bench_ctx *c, result *r, int reps, int n, int chunk, int warmup_n) {
    if (run_decode(c, warmup_n, chunk) < 0) return -1;
    double sum = 0;
    for (int k = 0; k < reps; k++) {
        double t = run_decode(c, n, chunk);
        if (t < 0) return -1;
        r->samples[k] = t > 0 ? n / t : 0;
        sum += r->samples[k];
    }
    r->mean = sum / reps;
    double ss = 0;
    for (int k = 0; k < reps; k++) ss += (r->samples[k] - r->mean) * (r->samples[k] - r->mean);
    r->sd = reps > 1 ? sqrt(ss / (reps - 1)) : 0;
    return 0;
}

/* ---- output --------------------------------------------------------------- */

static void print_formula(const model_bytes_info *mb, int n_gen) {
    printf("bytes/token (tg) = weights + KV = %.2f MB + %.3f MB\n", mb->weight_bytes / 1e6,
           kv_bytes_per_token(mb, n_gen) / 1e6);
    printf("  weights = all tensors except token_embd.weight (matmul weights, norms, output matrix) "
           "+ one token_embd row%s\n",
           mb->tied_output ? " + token_embd.weight whole (tied output)" : "");
    printf("  KV = n_layer %lld x n_head_kv %lld x (head_dim_k %lld + head_dim_v %lld) x 2 B (F16) x (n_gen+1)/2 "
           "positions\n",
           (long long)mb->n_layer, (long long)mb->n_head_kv, (long long)mb->head_dim_k, (long long)mb->head_dim_v);
    printf("GB/s = bytes/token x tok/s; %% roofline = GB/s / measured read bandwidth at that thread count\n");
}

static void print_markdown(const char *path, const char *desc, const model_bytes_info *mb, const result *res, int n_res,
                           const int *threads, const double *bw, int n_threads, int n_gen, long peak_rss_kib) {
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    print_formula(mb, n_gen);
    if (bw) {
        printf("read bandwidth (membw, %zu MiB streaming read, best of %d):", MEMBW_DEFAULT_BYTES >> 20,
               MEMBW_PASSES);
        for (int i = 0; i < n_threads; i++) printf("%s %d thread%s %.1f GB/s", i ? "," : "", threads[i],
                                                   threads[i] == 1 ? "" : "s", bw[i]);
        printf("\n");
    }
    printf("peak RSS: %.1f MiB\n\n", peak_rss_kib / 1024.0);
    printf("| model | size | params | type | threads | test | t/s | GB/s | %% roofline |\n");
    printf("| ----- | ---: | -----: | ---- | ------: | ---- | --: | ---: | ---------: |\n");
    for (int i = 0; i < n_res; i++) {
        const result *r = &res[i];
        char name[32], gbps[32] = "-", pct[32] = "-";
        snprintf(name, sizeof name, "%s%d", r->test, r->n_prompt ? r->n_prompt : r->n_gen);
        if (r->gbps > 0) snprintf(gbps, sizeof gbps, "%.2f", r->gbps);
        if (r->gbps > 0 && r->membw_gbps > 0) snprintf(pct, sizeof pct, "%.1f", 100 * r->gbps / r->membw_gbps);
        printf("| %s | %.2f MiB | %.2f M | %s | %d | %s | %.2f ± %.2f | %s | %s |\n", base,
               mb->file_tensor_bytes / 1048576.0, mb->n_params / 1e6, desc, r->n_threads, name, r->mean, r->sd, gbps,
               pct);
    }
}

static int print_json(const char *path, const char *desc, const model_bytes_info *mb, const result *res, int n_res,
                      int reps, int n_batch, long peak_rss_kib) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < n_res; i++) {
        const result *r = &res[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddItemToArray(arr, o);
        char name[32];
        snprintf(name, sizeof name, "%s%d", r->test, r->n_prompt ? r->n_prompt : r->n_gen);
        cJSON_AddStringToObject(o, "model_filename", path);
        cJSON_AddStringToObject(o, "model_type", desc);
        cJSON_AddNumberToObject(o, "model_size", (double)mb->file_tensor_bytes);
        cJSON_AddNumberToObject(o, "model_n_params", (double)mb->n_params);
        cJSON_AddNumberToObject(o, "n_threads", r->n_threads);
        cJSON_AddNumberToObject(o, "n_batch", n_batch);
        cJSON_AddStringToObject(o, "test", name);
        cJSON_AddNumberToObject(o, "n_prompt", r->n_prompt);
        cJSON_AddNumberToObject(o, "n_gen", r->n_gen);
        cJSON_AddNumberToObject(o, "repetitions", reps);
        cJSON_AddNumberToObject(o, "avg_ts", r->mean);
        cJSON_AddNumberToObject(o, "stddev_ts", r->sd);
        cJSON_AddItemToObject(o, "samples_ts", cJSON_CreateDoubleArray(r->samples, reps));
        if (r->gbps > 0) {
            cJSON_AddNumberToObject(o, "weight_bytes_per_token", (double)mb->weight_bytes);
            cJSON_AddNumberToObject(o, "kv_bytes_per_token", kv_bytes_per_token(mb, r->n_gen));
            cJSON_AddNumberToObject(o, "bytes_per_token", r->bytes_per_token);
            cJSON_AddNumberToObject(o, "gbps", r->gbps);
        } else {
            cJSON_AddNullToObject(o, "bytes_per_token");
            cJSON_AddNullToObject(o, "gbps");
        }
        if (r->membw_gbps > 0) cJSON_AddNumberToObject(o, "membw_gbps", r->membw_gbps);
        else cJSON_AddNullToObject(o, "membw_gbps");
        if (r->gbps > 0 && r->membw_gbps > 0) cJSON_AddNumberToObject(o, "roofline_pct", 100 * r->gbps / r->membw_gbps);
        else cJSON_AddNullToObject(o, "roofline_pct");
        cJSON_AddNumberToObject(o, "peak_rss_bytes", (double)peak_rss_kib * 1024.0);
    }
    char *s = arr ? cJSON_Print(arr) : NULL;
    cJSON_Delete(arr);
    if (!s) return cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory formatting JSON");
    puts(s);
    free(s);
    return 0;
}

/* ---- entry point ---------------------------------------------------------- */

/* "1,2" (option may repeat) -> threads[]; duplicates dropped. */
static int parse_threads(const cli_strlist *l, int *threads, int *n) {
    *n = 0;
    for (int i = 0; i < l->n; i++) {
        const char *p = l->v[i];
        for (;;) {
            char *end = NULL;
            errno = 0;
            long v = strtol(p, &end, 10);
            if (end == p || errno || v < 1 || v > 1024 || (*end && *end != ','))
                return cli_error(CMD, CLI_EXIT_USAGE, "--threads: expected a comma-separated list of integers "
                                 "in [1, 1024], got '%s'", l->v[i]);
            bool dup = false;
            for (int k = 0; k < *n; k++) dup |= threads[k] == (int)v;
            if (!dup) {
                if (*n >= MAX_THREAD_COUNTS)
                    return cli_error(CMD, CLI_EXIT_USAGE, "--threads: more than %d thread counts", MAX_THREAD_COUNTS);
                threads[(*n)++] = (int)v;
            }
            if (!*end) break;
            p = end + 1;
        }
    }
    return 0;
}

int cmd_bench(int argc, char **argv) {
    const char *model_arg = NULL, *kv_type_arg = "f16";
    int32_t n_prompt = 512, n_gen = 128, reps = 5, n_batch = 512, kv_type = HONE_KV_F16;
    uint64_t seed = 42;
    bool json = false, no_bw = false;
    cli_strlist thread_arg = {{0}, 0};
    const cli_opt opts[] = {
        {"model", 'm', CLI_STR, &model_arg, 0, 0, "FILE", "GGUF model (default: the cached default model)"},
        {"n-prompt", 'p', CLI_INT, &n_prompt, 0, 1 << 16, "N", "prompt tokens of the pp test (default 512; 0 = skip)"},
        {"n-gen", 'n', CLI_INT, &n_gen, 0, 1 << 16, "N", "tokens of the tg test (default 128; 0 = skip)"},
        {"threads", 't', CLI_STR_LIST, &thread_arg, 0, 0, "N,M,..", "thread counts (default: 1 and all CPUs)"},
        {"repetitions", 'r', CLI_INT, &reps, 1, 1000, "N", "timed runs per test (default 5)"},
        {"batch-size", 'b', CLI_INT, &n_batch, 1, 1 << 16, "N", "most prompt tokens per decode call (default 512)"},
        {"kv-type", 0, CLI_STR, &kv_type_arg, 0, 0, "T", "KV cache type: f16 (default) or q8_0"},
        {"seed", 0, CLI_U64, &seed, 0, 0, "S", "seed of the random token ids (default 42)"},
        {"json", 0, CLI_FLAG, &json, 0, 0, NULL, "print a JSON array (one object per test) instead of Markdown"},
        {"no-bandwidth", 0, CLI_FLAG, &no_bw, 0, 0, NULL, "skip the memory-bandwidth measurement (no % roofline)"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "[-m MODEL] [-p 512] [-n 128] [-t 1,2] [-r 5] [--json] [--no-bandwidth]",
        "Measure prompt processing (pp: a P-token prompt in batches) and text generation (tg: N\n"
        "tokens one at a time) speed for each thread count, like llama-bench: mean +- sd tok/s over\n"
        "-r runs after a warm-up. Generation rows also show the GB/s that speed implies (bytes read\n"
        "per token, stated in the output) and its share of the read bandwidth measured at start.",
        opts, 0};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;
    if (n_prompt == 0 && n_gen == 0) return cli_error(CMD, CLI_EXIT_USAGE, "nothing to do: -p and -n are both 0");
    if ((rc = cli_kv_type(CMD, kv_type_arg, &kv_type))) return rc;

    int threads[MAX_THREAD_COUNTS], n_threads = 0;
    if (thread_arg.n == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        threads[n_threads++] = 1;
        if (ncpu > 1) threads[n_threads++] = (int)(ncpu < 1024 ? ncpu : 1024);
    } else if ((rc = parse_threads(&thread_arg, threads, &n_threads))) {
        return rc;
    }

    char path[4096];
    if ((rc = cli_model_path(CMD, model_arg, path, sizeof path))) return rc;
    model_bytes_info mb;
    if ((rc = model_bytes(path, &mb))) return rc;

    double bw[MAX_THREAD_COUNTS] = {0};
    if (!no_bw && (rc = measure_bandwidth(threads, n_threads, bw))) return rc;

    hone_model *model = NULL;
    hone_session *session = NULL;
    hone_token *tokens = NULL;
    int32_t *posv = NULL, *seqv = NULL;
    int8_t *logits = NULL;
    double *samples = NULL;
    result res[2 * MAX_THREAD_COUNTS];
    int n_res = 0;

    hone_model_params mp = hone_model_default_params();
    hone_status st = hone_model_load(path, &mp, &model);
    if (st != HONE_OK) return cli_load_error(CMD, path, st);
    const char *desc = hone_model_desc(model);
    const int32_t n_vocab = hone_model_n_vocab(model);
    const int n_tok = n_prompt > n_gen ? n_prompt : n_gen;
    const int chunk = n_batch < n_prompt ? n_batch : (n_prompt > 0 ? n_prompt : 1);
    tokens = malloc(sizeof *tokens * (size_t)n_tok);
    posv = malloc(sizeof *posv * (size_t)chunk);
    seqv = malloc(sizeof *seqv * (size_t)chunk);
    logits = malloc((size_t)chunk);
    samples = malloc(sizeof *samples * (size_t)reps * 2 * (size_t)n_threads);
    if (!tokens || !posv || !seqv || !logits || !samples) {
        rc = cli_error(CMD, CLI_EXIT_RUNTIME, "out of memory");
        goto done;
    }
    uint64_t rs = seed;
    for (int i = 0; i < n_tok; i++) tokens[i] = (hone_token)(next_rand(&rs) % (uint64_t)n_vocab);
    if (hone_token_bos(model) >= 0) tokens[0] = hone_token_bos(model); /* a prompt starts like a real one */

    for (int ti = 0; ti < n_threads; ti++) {
        hone_session_params sp = hone_session_default_params();
        sp.n_ctx = n_tok + 1;
        sp.n_batch = chunk;
        sp.n_threads = threads[ti];
        sp.kv_type = kv_type;
        st = hone_session_create(model, &sp, &session);
        if (st != HONE_OK) {
            rc = cli_error(CMD, st == HONE_ERR_INVALID_ARG ? CLI_EXIT_USAGE : CLI_EXIT_RUNTIME, "%s",
                           hone_last_error());
            goto done;
        }
        bench_ctx c = {.s = session, .tokens = tokens, .pos = posv, .seq = seqv, .logits = logits, .n_batch = chunk};
        for (int test = 0; test < 2; test++) {
            const bool pp = test == 0;
            if ((pp ? n_prompt : n_gen) == 0) continue;
            result *r = &res[n_res];
            memset(r, 0, sizeof *r);
            r->n_threads = threads[ti];
            r->test = pp ? "pp" : "tg";
            r->n_prompt = pp ? n_prompt : 0;
            r->n_gen = pp ? 0 : n_gen;
            r->samples = samples + (size_t)n_res * (size_t)reps;
            r->membw_gbps = bw[ti];
            /* pp warms up with a whole run, as llama-bench does; tg with a few
             * tokens, enough to fault in the weights and spin up the pool. */
            int err = pp ? run_test(&c, r, reps, n_prompt, chunk, n_prompt)
                         : run_test(&c, r, reps, n_gen, 1, n_gen < 4 ? n_gen : 4);
            if (err) {
                rc = cli_error(CMD, CLI_EXIT_RUNTIME, "%s test with %d threads: %s", r->test, threads[ti],
                               hone_last_error());
                goto done;
            }
            if (!pp) {
                r->bytes_per_token = (double)mb.weight_bytes + kv_bytes_per_token(&mb, n_gen);
                r->gbps = r->bytes_per_token * r->mean * 1e-9;
            }
            n_res++;
        }
        hone_session_free(session);
        session = NULL;
    }

    struct rusage ru;
    long peak_kib = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0; /* KiB on Linux */
    if (json)
        rc = print_json(path, desc, &mb, res, n_res, reps, chunk, peak_kib);
    else
        print_markdown(path, desc, &mb, res, n_res, threads, no_bw ? NULL : bw, n_threads, n_gen, peak_kib);
    if (fflush(stdout) != 0 && rc == 0) rc = cli_error(CMD, CLI_EXIT_RUNTIME, "writing output failed");

done:
    if (session) hone_session_free(session);
    hone_model_free(model);
    free(tokens);
    free(posv);
    free(seqv);
    free(logits);
    free(samples);
    return rc;
}
