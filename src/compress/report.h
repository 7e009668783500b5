/*
 * report.h - hone eval --report: several models measured against one reference, as a Markdown table
 * and an SVG chart (bits per weight against mean KL divergence, log scale, one labelled point per
 * file) that a person reads at a glance.
 */
#ifndef HONE_COMPRESS_REPORT_H
#define HONE_COMPRESS_REPORT_H

#include "compress/eval.h"
#include "hone.h"

typedef struct {
    const char *label; /* shown in the table and beside the point (file name) */
    hone_eval_result r;
} hone_report_row;

/* Write the table to md_path and the chart to svg_path (either may be NULL). `ref` names the
 * reference in the header; `note` (may be NULL) is printed under it. */
hone_status hone_report_write(const char *md_path, const char *svg_path, const hone_report_row *rows, int n,
                              const char *ref, const char *note);

#endif
