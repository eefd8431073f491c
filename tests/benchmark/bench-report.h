/* bench-report.h: the benchmark's figures, their ratios to the reference
 * and their targets; printed as a table and written as CSV
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <stdio.h>
#include <glib.h>

#include "bench-util.h"

G_BEGIN_DECLS

typedef enum {
  BENCH_STATUS_NONE,
  BENCH_STATUS_PASS,
  BENCH_STATUS_FAIL,
  BENCH_STATUS_NOT_MEASURED,    /* a target whose figure has no sample */
} BenchStatus;

typedef enum {
  BENCH_TARGET_NONE,
  BENCH_TARGET_AT_MOST,
  BENCH_TARGET_AT_LEAST,
  BENCH_TARGET_ABS_AT_MOST,     /* |value| at most */
} BenchTargetKind;

typedef struct {
  char           *section;
  char           *metric;
  char           *variant;        /* a BenchVariant id, or another short name */
  char           *label;
  guint64         param;          /* N, live registrations...; 0: none */
  char           *unit;           /* "ns", "us", "B", "x", "M/s" */
  BenchStats      stats;          /* over the repetitions */

  /* The figure of the same section and param it is divided by. */
  char           *ratio_variant;  /* BENCH_REFERENCE_ID unless set */
  char           *ratio_metric;   /* the same metric unless set */
  double          ratio;          /* NAN when there is none */

  BenchTargetKind target_kind;
  gboolean        target_on_ratio;
  double          target_limit;
  char           *target_text;
  BenchStatus     status;
} BenchRow;

typedef struct _BenchReport BenchReport;

BenchReport *bench_report_new            (void);
void         bench_report_free           (BenchReport     *report);
/* A free-form line printed above the table and written into the CSV as a
 * comment, e.g. the machine and the options. */
void         bench_report_add_note       (BenchReport     *report,
                                          const char      *format,
                                          ...) G_GNUC_PRINTF (2, 3);
BenchRow    *bench_report_add            (BenchReport     *report,
                                          const char      *section,
                                          const char      *metric,
                                          const char      *variant,
                                          const char      *label,
                                          guint64          param,
                                          const char      *unit,
                                          BenchStats       stats);
BenchRow    *bench_report_find           (BenchReport     *report,
                                          const char      *section,
                                          const char      *metric,
                                          const char      *variant,
                                          guint64          param);
void         bench_row_set_ratio_to      (BenchRow        *row,
                                          const char      *variant,
                                          const char      *metric);
void         bench_row_set_target        (BenchRow        *row,
                                          BenchTargetKind  kind,
                                          double           limit,
                                          gboolean         on_ratio,
                                          const char      *text);
/* Computes every ratio and target status. */
void         bench_report_finish         (BenchReport     *report);
void         bench_report_print_table    (BenchReport     *report,
                                          FILE            *out);
void         bench_report_print_targets  (BenchReport     *report,
                                          FILE            *out);
gboolean     bench_report_write_csv      (BenchReport     *report,
                                          const char      *path,
                                          GError         **error);

G_END_DECLS
