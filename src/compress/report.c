/*
 * report.c - Markdown table and SVG chart of several evaluations (see report.h).
 *
 * The chart is plain SVG written by hand (no library): x = bits per weight (linear), y = mean KLD
 * on a log scale spanning whole decades around the data (a KLD of 0, e.g. the reference itself, is
 * drawn at the bottom edge and labelled "0"). Lower and further left is better.
 */
#include "compress/report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"

static void write_md(FILE *f, const hone_report_row *rows, int n, const char *ref, const char *note) {
    fprintf(f, "Reference: %s.", ref ? ref : "(none)");
    if (note) fprintf(f, " %s", note);
    if (n > 0)
        fprintf(f, " Protocol: %d chunks x %d tokens, second half scored (%lld tokens per model).", rows[0].r.n_chunks,
                rows[0].r.n_ctx, (long long)rows[0].r.count);
    fprintf(f, "\n\n| file | MiB | bpw | PPL | PPL ratio | mean KLD | median KLD | p99 KLD | same top-1 %% | RMS dp %% |\n");
    fprintf(f, "|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        const hone_eval_result *r = &rows[i].r;
        fprintf(f, "| %s | %.1f | %.2f | %.4f | %.4f | %.6f | %.6f | %.6f | %.2f | %.3f |\n", rows[i].label,
                r->file_bytes / 1048576.0, r->bpw, r->ppl, r->ppl_ratio, r->kld_mean, r->kld_median, r->kld_p99,
                100.0 * r->top1, 100.0 * r->rms_dp);
    }
}

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void write_svg(FILE *f, const hone_report_row *rows, int n, const char *ref) {
    const double W = 760, H = 480, L = 80, R = 200, T = 50, B = 60;
    double xmin = 1e9, xmax = -1e9, ymin = 1e9, ymax = -1e9;
    for (int i = 0; i < n; i++) {
        const double x = rows[i].r.bpw, k = rows[i].r.kld_mean;
        xmin = fmin(xmin, x);
        xmax = fmax(xmax, x);
        if (k > 0) {
            ymin = fmin(ymin, log10(k));
            ymax = fmax(ymax, log10(k));
        }
    }
    if (xmin > xmax) xmin = 0, xmax = 1;
    if (xmax - xmin < 1) xmin -= 0.5, xmax += 0.5;
    const double xpad = 0.05 * (xmax - xmin);
    xmin -= xpad;
    xmax += xpad;
    if (ymin > ymax) ymin = -3, ymax = 0;
    ymin = floor(ymin) - (ymin - floor(ymin) < 0.2 ? 1 : 0);
    ymax = ceil(ymax);
    if (ymax <= ymin) ymax = ymin + 1;
    const double pw = W - L - R, ph = H - T - B;
#define PX(x) (L + ((x) - xmin) / (xmax - xmin) * pw)
#define PY(ly) (T + ph - ((ly) - ymin) / (ymax - ymin) * ph)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"15\">Mean KL divergence from the reference vs bits per weight "
               "(lower left is better)</text>\n", L);
    fprintf(f, "<text x=\"%.0f\" y=\"38\" fill=\"#555\">reference: ", L);
    xml_text(f, ref ? ref : "(none)");
    fprintf(f, "</text>\n");
    /* grid: decades on y, whole bits on x */
    for (int d = (int)ymin; d <= (int)ymax; d++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, PY(d), L + pw, PY(d));
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">1e%d</text>\n", L - 6, PY(d) + 4, d);
    }
    for (int b = (int)ceil(xmin); b <= (int)floor(xmax); b++) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", PX(b), T, PX(b), T + ph);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", PX(b), T + ph + 16, b);
    }
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n", L, T, pw,
            ph);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">bits per weight (file bits / parameters)</text>\n",
            L + pw / 2, H - 18);
    fprintf(f, "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">mean KLD (log scale)</text>\n",
            T + ph / 2);
    for (int i = 0; i < n; i++) {
        const double k = rows[i].r.kld_mean;
        const double ly = k > 0 ? log10(k) : ymin;
        const double x = PX(rows[i].r.bpw), y = PY(ly);
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\"/>\n", x, y);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 7, y + 4);
        xml_text(f, rows[i].label);
        if (k <= 0) fprintf(f, " (KLD 0)");
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg>\n");
#undef PX
#undef PY
}

static hone_status write_file(const char *path, int kind, const hone_report_row *rows, int n, const char *ref,
                              const char *note) {
    FILE *f = fopen(path, "w");
    if (!f) return hone_err(HONE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    if (kind == 0) write_md(f, rows, n, ref, note);
    else write_svg(f, rows, n, ref);
    if (fclose(f) != 0) return hone_err(HONE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return HONE_OK;
}

hone_status hone_report_write(const char *md_path, const char *svg_path, const hone_report_row *rows, int n,
                              const char *ref, const char *note) {
    hone_status st = HONE_OK;
    if (md_path && (st = write_file(md_path, 0, rows, n, ref, note))) return st;
    if (svg_path) st = write_file(svg_path, 1, rows, n, ref, note);
    return st;
}
