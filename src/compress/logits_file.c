/*
 * logits_file.c - the compact log-probability file (see logits_file.h for the layout).
 */
#include "compress/logits_file.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "quant/blocks.h"

static hone_status io_err(const hone_logits_file *lf, const char *what) {
    return hone_err(HONE_ERR_IO, "%s: %s: %s", lf->path, what, errno ? strerror(errno) : "unexpected end of file");
}

hone_status hone_logits_create(hone_logits_file *lf, const char *path, int32_t n_ctx, int32_t n_vocab,
                               int32_t n_chunk, const int32_t *tokens) {
    memset(lf, 0, sizeof *lf);
    lf->path = strdup(path);
    lf->n_ctx = n_ctx;
    lf->n_vocab = n_vocab;
    lf->n_chunk = n_chunk;
    lf->nv = 2 * ((n_vocab + 1) / 2) + 4;
    lf->row = calloc((size_t)lf->nv, sizeof *lf->row);
    if (!lf->path || !lf->row) return hone_err(HONE_ERR_NOMEM, "out of memory");
    lf->fp = fopen(path, "wb");
    if (!lf->fp) return hone_err(HONE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    const int32_t hdr[3] = {n_ctx, n_vocab, n_chunk};
    errno = 0;
    if (fwrite("_logits_", 1, 8, lf->fp) != 8 || fwrite(hdr, sizeof hdr, 1, lf->fp) != 1 ||
        fwrite(tokens, sizeof *tokens, (size_t)n_chunk * (size_t)n_ctx, lf->fp) != (size_t)n_chunk * (size_t)n_ctx)
        return io_err(lf, "write failed");
    return HONE_OK;
}

hone_status hone_logits_write_row(hone_logits_file *lf, const float *logits) {
    const int n = lf->n_vocab;
    float mx = logits[0], mn = logits[0];
    for (int i = 1; i < n; i++) {
        mx = logits[i] > mx ? logits[i] : mx;
        mn = logits[i] < mn ? logits[i] : mn;
    }
    /* entries more than 16 nats below the maximum carry no weight in a KL divergence */
    if (mn < mx - 16.0f) mn = mx - 16.0f;
    double sum = 0.0;
    for (int i = 0; i < n; i++) sum += expf(logits[i] - mx);
    const float lse = (float)log(sum);
    const float scale = (mx - mn) / 65535.0f, min_lp = mn - mx - lse;
    memcpy(lf->row, &scale, 4);
    memcpy(lf->row + 2, &min_lp, 4);
    uint16_t *q = lf->row + 4;
    const float inv = scale != 0.0f ? 1.0f / scale : 0.0f;
    for (int i = 0; i < n; i++) q[i] = logits[i] > mn ? (uint16_t)hq_nearest_int(inv * (logits[i] - mn)) : 0;
    for (int i = n; i < lf->nv - 4; i++) q[i] = 0;
    errno = 0;
    if (fwrite(lf->row, sizeof *lf->row, (size_t)lf->nv, lf->fp) != (size_t)lf->nv) return io_err(lf, "write failed");
    return HONE_OK;
}

hone_status hone_logits_finish(hone_logits_file *lf, hone_status st) {
    if (lf->fp) {
        errno = 0;
        if (fclose(lf->fp) != 0 && !st) st = io_err(lf, "close failed");
        lf->fp = NULL;
        if (st && lf->path) unlink(lf->path);
    }
    hone_logits_close(lf);
    return st;
}

hone_status hone_logits_open(hone_logits_file *lf, const char *path) {
    memset(lf, 0, sizeof *lf);
    lf->path = strdup(path);
    if (!lf->path) return hone_err(HONE_ERR_NOMEM, "out of memory");
    lf->fp = fopen(path, "rb");
    if (!lf->fp) return hone_err(HONE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char magic[8];
    int32_t hdr[3];
    errno = 0;
    if (fread(magic, 1, 8, lf->fp) != 8 || memcmp(magic, "_logits_", 8) != 0)
        return hone_err(HONE_ERR_FORMAT, "%s: not a logits file (no \"_logits_\" magic)", path);
    if (fread(hdr, sizeof hdr, 1, lf->fp) != 1) return io_err(lf, "truncated header");
    lf->n_ctx = hdr[0];
    lf->n_vocab = hdr[1];
    lf->n_chunk = hdr[2];
    if (lf->n_ctx < 4 || lf->n_ctx > (1 << 20) || lf->n_vocab < 1 || lf->n_vocab > (1 << 24) || lf->n_chunk < 1 ||
        lf->n_chunk > (1 << 20))
        return hone_err(HONE_ERR_FORMAT, "%s: implausible header (n_ctx %d, n_vocab %d, n_chunk %d)", path,
                        lf->n_ctx, lf->n_vocab, lf->n_chunk);
    lf->nv = 2 * ((lf->n_vocab + 1) / 2) + 4;
    const size_t nt = (size_t)lf->n_ctx * (size_t)lf->n_chunk;
    lf->tokens = malloc(nt * sizeof *lf->tokens);
    lf->row = malloc((size_t)lf->nv * sizeof *lf->row);
    if (!lf->tokens || !lf->row) return hone_err(HONE_ERR_NOMEM, "out of memory reading %s", path);
    if (fread(lf->tokens, sizeof *lf->tokens, nt, lf->fp) != nt) return io_err(lf, "truncated token list");
    /* the rows must all be there: check the size up front rather than fail after hours */
    const long here = ftell(lf->fp);
    if (here >= 0 && fseek(lf->fp, 0, SEEK_END) == 0) {
        const long end = ftell(lf->fp);
        const double need = (double)here + (double)lf->n_chunk * (lf->n_ctx - 1 - lf->n_ctx / 2) * lf->nv * 2.0;
        if ((double)end < need)
            return hone_err(HONE_ERR_FORMAT, "%s: truncated (%ld bytes, %d chunks of %d need %.0f)", path, end,
                            lf->n_chunk, lf->n_ctx, need);
        fseek(lf->fp, here, SEEK_SET);
    }
    return HONE_OK;
}

hone_status hone_logits_read_row(hone_logits_file *lf, float *scale, float *min_log_prob) {
    errno = 0;
    if (fread(lf->row, sizeof *lf->row, (size_t)lf->nv, lf->fp) != (size_t)lf->nv) return io_err(lf, "truncated");
    memcpy(scale, lf->row, 4);
    memcpy(min_log_prob, lf->row + 2, 4);
    return HONE_OK;
}

void hone_logits_close(hone_logits_file *lf) {
    if (lf->fp) fclose(lf->fp);
    free(lf->path);
    free(lf->tokens);
    free(lf->row);
    memset(lf, 0, sizeof *lf);
}
