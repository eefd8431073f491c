/* bench-report.c: the table, the targets and the CSV
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>
#include <string.h>

#include "bench-report.h"
#include "bench-variant.h"

struct _BenchReport
{
  GPtrArray *rows;
  GPtrArray *notes;
};

static void
bench_row_free (gpointer data)
{
  BenchRow *row = data;

  g_free (row->section);
  g_free (row->metric);
  g_free (row->variant);
  g_free (row->label);
  g_free (row->unit);
  g_free (row->ratio_variant);
  g_free (row->ratio_metric);
  g_free (row->target_text);
  g_free (row);
}

BenchReport *
bench_report_new (void)
{
  BenchReport *report = g_new0 (BenchReport, 1);

  report->rows = g_ptr_array_new_with_free_func (bench_row_free);
  report->notes = g_ptr_array_new_with_free_func (g_free);

  return report;
}

void
bench_report_free (BenchReport *report)
{
  g_ptr_array_unref (report->rows);
  g_ptr_array_unref (report->notes);
  g_free (report);
}

void
bench_report_add_note (BenchReport *report,
                       const char  *format,
                       ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (report->notes, g_strdup_vprintf (format, args));
  va_end (args);
}

BenchRow *
bench_report_add (BenchReport *report,
                  const char  *section,
                  const char  *metric,
                  const char  *variant,
                  const char  *label,
                  guint64      param,
                  const char  *unit,
                  BenchStats   stats)
{
  BenchRow *row = g_new0 (BenchRow, 1);

  row->section = g_strdup (section);
  row->metric = g_strdup (metric);
  row->variant = g_strdup (variant);
  row->label = g_strdup (label);
  row->param = param;
  row->unit = g_strdup (unit);
  row->stats = stats;
  row->ratio = NAN;
  g_ptr_array_add (report->rows, row);

  return row;
}

BenchRow *
bench_report_find (BenchReport *report,
                   const char  *section,
                   const char  *metric,
                   const char  *variant,
                   guint64      param)
{
  for (guint i = 0; i < report->rows->len; i++)
    {
      BenchRow *row = g_ptr_array_index (report->rows, i);

      if (g_str_equal (row->section, section) &&
          g_str_equal (row->metric, metric) &&
          g_str_equal (row->variant, variant) &&
          row->param == param)
        return row;
    }

  return NULL;
}

void
bench_row_set_ratio_to (BenchRow   *row,
                        const char *variant,
                        const char *metric)
{
  g_free (row->ratio_variant);
  row->ratio_variant = g_strdup (variant);
  g_free (row->ratio_metric);
  row->ratio_metric = g_strdup (metric);
}

void
bench_row_set_target (BenchRow        *row,
                      BenchTargetKind  kind,
                      double           limit,
                      gboolean         on_ratio,
                      const char      *text)
{
  row->target_kind = kind;
  row->target_limit = limit;
  row->target_on_ratio = on_ratio;
  g_free (row->target_text);
  row->target_text = g_strdup (text);
}

void
bench_report_finish (BenchReport *report)
{
  for (guint i = 0; i < report->rows->len; i++)
    {
      BenchRow *row = g_ptr_array_index (report->rows, i);
      const char *ref_variant = row->ratio_variant ? row->ratio_variant : BENCH_REFERENCE_ID;
      const char *ref_metric = row->ratio_metric ? row->ratio_metric : row->metric;
      BenchRow *ref = bench_report_find (report, row->section, ref_metric, ref_variant, row->param);
      double value;

      /* A reference that is zero within its own noise (a cost too small to
       * see over a thread's creation) gives no meaningful ratio. */
      if (ref != NULL && ref->stats.n > 0 && row->stats.n > 0 && ref->stats.min > 0.0)
        row->ratio = row->stats.median / ref->stats.median;

      if (row->target_kind == BENCH_TARGET_NONE)
        continue;
      value = row->target_on_ratio ? row->ratio : row->stats.median;
      if (row->stats.n == 0)
        row->status = BENCH_STATUS_NOT_MEASURED;
      else if (isnan (value))
        row->status = BENCH_STATUS_FAIL;
      else if (row->target_kind == BENCH_TARGET_AT_MOST)
        row->status = value <= row->target_limit ? BENCH_STATUS_PASS : BENCH_STATUS_FAIL;
      else if (row->target_kind == BENCH_TARGET_ABS_AT_MOST)
        row->status = fabs (value) <= row->target_limit ? BENCH_STATUS_PASS : BENCH_STATUS_FAIL;
      else
        row->status = value >= row->target_limit ? BENCH_STATUS_PASS : BENCH_STATUS_FAIL;
    }
}

static const char *
status_text (BenchStatus status)
{
  switch (status)
    {
    case BENCH_STATUS_PASS:
      return "PASS";
    case BENCH_STATUS_FAIL:
      return "FAIL";
    case BENCH_STATUS_NOT_MEASURED:
      return "N/A";
    case BENCH_STATUS_NONE:
    default:
      return "";
    }
}

static char *
format_value (const BenchRow *row,
              double          value)
{
  if (row->stats.n == 0 || isnan (value))
    return g_strdup ("-");
  if (g_str_equal (row->unit, "B") || g_str_equal (row->unit, "ns"))
    return g_strdup_printf ("%.1f", value);
  return g_strdup_printf ("%.2f", value);
}

static char *
format_param (guint64 param)
{
  if (param == 0)
    return g_strdup ("");
  return g_strdup_printf ("%" G_GUINT64_FORMAT, param);
}

/* Pads by characters, not bytes: labels and targets may hold "≤" and
 * "µ". */
static void
print_cell (FILE       *out,
            const char *text,
            int         width,
            gboolean    right)
{
  int pad = width - (int) g_utf8_strlen (text, -1);

  if (right)
    fprintf (out, "%*s%s ", MAX (pad, 0), "", text);
  else
    fprintf (out, "%s%*s ", text, MAX (pad, 0), "");
}

void
bench_report_print_table (BenchReport *report,
                          FILE        *out)
{
  const char *section = NULL;

  for (guint i = 0; i < report->notes->len; i++)
    fprintf (out, "# %s\n", (const char *) g_ptr_array_index (report->notes, i));

  for (guint i = 0; i < report->rows->len; i++)
    {
      BenchRow *row = g_ptr_array_index (report->rows, i);
      g_autofree char *param = format_param (row->param);
      g_autofree char *value = format_value (row, row->stats.median);
      g_autofree char *low = format_value (row, row->stats.min);
      g_autofree char *high = format_value (row, row->stats.max);
      g_autofree char *range = row->stats.n > 1 ? g_strdup_printf ("%s..%s", low, high) : g_strdup ("");
      g_autofree char *ratio = isnan (row->ratio) ? g_strdup ("") : g_strdup_printf ("%.2f", row->ratio);

      if (section == NULL || !g_str_equal (section, row->section))
        {
          section = row->section;
          fprintf (out, "\n== %s ==\n", section);
          print_cell (out, "figure", 50, FALSE);
          print_cell (out, "variant", 28, FALSE);
          print_cell (out, "N", 8, TRUE);
          print_cell (out, "median", 10, TRUE);
          print_cell (out, "unit", 4, FALSE);
          print_cell (out, "min..max", 19, TRUE);
          print_cell (out, "ratio", 7, TRUE);
          print_cell (out, "target", 22, FALSE);
          fprintf (out, "\n");
        }

      print_cell (out, row->metric, 50, FALSE);
      print_cell (out, row->label, 28, FALSE);
      print_cell (out, param, 8, TRUE);
      print_cell (out, value, 10, TRUE);
      print_cell (out, row->unit, 4, FALSE);
      print_cell (out, range, 19, TRUE);
      print_cell (out, ratio, 7, TRUE);
      print_cell (out, row->target_text ? row->target_text : "", 22, FALSE);
      fprintf (out, "%s\n", status_text (row->status));
    }
}

void
bench_report_print_targets (BenchReport *report,
                            FILE        *out)
{
  guint passed = 0, failed = 0, not_measured = 0;

  fprintf (out, "\n== targets ==\n");
  for (guint i = 0; i < report->rows->len; i++)
    {
      BenchRow *row = g_ptr_array_index (report->rows, i);
      double value = row->target_on_ratio ? row->ratio : row->stats.median;
      g_autofree char *param = format_param (row->param);
      g_autofree char *shown = isnan (value) ? g_strdup ("-") : g_strdup_printf ("%.2f", value);

      if (row->target_kind == BENCH_TARGET_NONE)
        continue;
      if (row->status == BENCH_STATUS_PASS)
        passed++;
      else if (row->status == BENCH_STATUS_NOT_MEASURED)
        not_measured++;
      else
        failed++;
      fprintf (out, "%s  %s: %s, %s%s%s = %s%s, target %s\n",
               status_text (row->status), row->section, row->label, row->metric,
               *param ? " N=" : "", param, shown,
               row->target_on_ratio ? "x" : row->unit, row->target_text);
    }
  fprintf (out, "%u passed, %u failed, %u not measured (targets are reported, not asserted)\n",
           passed, failed, not_measured);
}

/* RFC 4180: every text field quoted, quotes doubled. */
static void
write_csv_text (GString    *csv,
                const char *text)
{
  g_string_append_c (csv, '"');
  for (const char *p = text ? text : ""; *p; p++)
    {
      if (*p == '"')
        g_string_append_c (csv, '"');
      g_string_append_c (csv, *p);
    }
  g_string_append (csv, "\",");
}

static void
write_csv_number (GString *csv,
                  double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isnan (value))
    g_string_append (csv, g_ascii_formatd (buf, sizeof buf, "%.6g", value));
  g_string_append_c (csv, ',');
}

gboolean
bench_report_write_csv (BenchReport  *report,
                        const char   *path,
                        GError      **error)
{
  g_autoptr(GString) csv = g_string_new (NULL);

  for (guint i = 0; i < report->notes->len; i++)
    g_string_append_printf (csv, "# %s\n", (const char *) g_ptr_array_index (report->notes, i));
  g_string_append (csv, "section,metric,variant,label,param,unit,median,min,max,reps,"
                        "ratio,ratio_to,target,status\n");

  for (guint i = 0; i < report->rows->len; i++)
    {
      BenchRow *row = g_ptr_array_index (report->rows, i);
      g_autofree char *ratio_to = NULL;

      if (!isnan (row->ratio))
        ratio_to = g_strdup_printf ("%s %s",
                                    row->ratio_variant ? row->ratio_variant : BENCH_REFERENCE_ID,
                                    row->ratio_metric ? row->ratio_metric : row->metric);

      write_csv_text (csv, row->section);
      write_csv_text (csv, row->metric);
      write_csv_text (csv, row->variant);
      write_csv_text (csv, row->label);
      g_string_append_printf (csv, "%" G_GUINT64_FORMAT ",", row->param);
      write_csv_text (csv, row->unit);
      write_csv_number (csv, row->stats.n ? row->stats.median : NAN);
      write_csv_number (csv, row->stats.n ? row->stats.min : NAN);
      write_csv_number (csv, row->stats.n ? row->stats.max : NAN);
      g_string_append_printf (csv, "%u,", row->stats.n);
      write_csv_number (csv, row->ratio);
      write_csv_text (csv, ratio_to);
      write_csv_text (csv, row->target_text);
      g_string_append_printf (csv, "\"%s\"\n", status_text (row->status));
    }

  return g_file_set_contents (path, csv->str, csv->len, error);
}
