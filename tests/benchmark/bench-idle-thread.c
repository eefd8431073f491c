/* bench-idle-thread.c: what a thread that never registers pays: nothing,
 * whether or not the process has used threadref
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Empty threads of this process, after the whole benchmark has used the
 * library, are compared with empty threads of a child process (this
 * program again, with --idle-probe) that never calls it. The two take
 * turns block by block, in alternating order, so that both see the same
 * machine: the difference per repetition should be zero within its own
 * spread. Measured by both clocks: the thread clock would show any work in
 * the thread's teardown, the wall clock any work at creation or join.
 */

#include <math.h>
#include <stdio.h>

#include <gio/gio.h>

#include "bench-clock.h"
#include "bench-sections.h"
#include "bench-util.h"
#include "bench-variant.h"

typedef struct {
  double in_thread;   /* median over the block, ns */
  double wall;
} IdleBlock;

static IdleBlock
measure_block (guint threads)
{
  g_autofree double *in_thread = g_new (double, threads);
  g_autofree double *wall = g_new (double, threads);
  IdleBlock block;

  for (guint t = 0; t < threads; t++)
    {
      gint64 w, i;

      bench_time_gthread_both (bench_empty_thread, NULL, &w, &i);
      wall[t] = (double) w;
      in_thread[t] = (double) i;
    }
  block.in_thread = bench_median (in_thread, threads);
  block.wall = bench_median (wall, threads);

  return block;
}

int
bench_idle_probe_main (guint threads)
{
  char line[64];

  /* One block per line read, its medians back; EOF ends it. */
  while (fgets (line, sizeof line, stdin) != NULL)
    {
      IdleBlock block = measure_block (threads);
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

      printf ("%s %s\n", g_ascii_dtostr (a, sizeof a, block.in_thread),
              g_ascii_dtostr (b, sizeof b, block.wall));
      fflush (stdout);
    }

  return 0;
}

static gboolean
ask_child (GOutputStream    *to,
           GDataInputStream *from,
           IdleBlock        *block,
           GError          **error)
{
  g_autofree char *line = NULL;
  char *end;

  if (!g_output_stream_write_all (to, "go\n", 3, NULL, NULL, error) ||
      !g_output_stream_flush (to, NULL, error))
    return FALSE;
  line = g_data_input_stream_read_line (from, NULL, NULL, error);
  if (line == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the probe process ended early");
      return FALSE;
    }
  block->in_thread = g_ascii_strtod (line, &end);
  block->wall = g_ascii_strtod (end, NULL);

  return TRUE;
}

/* Every kind of registration, fired and cancelled, on a thread of its own,
 * in case the run so far did not (--only idle). */
static gpointer
use_library (gpointer data)
{
  /* Static: the last one runs after this function has returned. */
  static guint64 fired;

  bench_plain.cancel (bench_plain.add (&fired));
  bench_finalize.add_fire (&fired);
  bench_ref.add_fire (&fired);
  bench_ref.cancel (bench_ref.add (&fired));
  bench_plain.end_now ();
  bench_plain.add_fire (&fired);

  return NULL;
}

static void
report_clock (BenchReport *report,
              const char  *clock,
              const char  *label,
              GArray      *unused,
              GArray      *used)
{
  const char *section = "thread that never registers";
  const char *unused_metric = "empty thread, process that never used threadref";
  g_autofree char *unused_id = g_strdup_printf ("unused-%s", clock);
  g_autofree char *used_id = g_strdup_printf ("used-%s", clock);
  g_autofree char *diff_id = g_strdup_printf ("difference-%s", clock);
  g_autofree double *diff = g_new (double, used->len);
  g_autofree char *target = NULL;
  BenchStats diff_stats;
  BenchRow *row;

  for (guint i = 0; i < used->len; i++)
    diff[i] = g_array_index (used, double, i) - g_array_index (unused, double, i);
  diff_stats = bench_stats (diff, used->len);
  target = g_strdup_printf ("|median| ≤ ½ spread (%.0f ns)", (diff_stats.max - diff_stats.min) / 2.0);

  bench_report_add (report, section, unused_metric, unused_id, label, 0, "ns",
                    bench_stats ((double *) unused->data, unused->len));
  row = bench_report_add (report, section, "empty thread, this process after using threadref",
                          used_id, label, 0, "ns", bench_stats ((double *) used->data, used->len));
  bench_row_set_ratio_to (row, unused_id, unused_metric);
  row = bench_report_add (report, section, "used − never used, per repetition", diff_id, label, 0, "ns",
                          diff_stats);
  bench_row_set_target (row, BENCH_TARGET_ABS_AT_MOST, (diff_stats.max - diff_stats.min) / 2.0, FALSE, target);
}

void
bench_section_idle_thread (BenchReport       *report,
                           const BenchConfig *config)
{
  g_autofree char *threads = g_strdup_printf ("%u", config->first_threads);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GDataInputStream) from = NULL;
  GOutputStream *to;
  GArray *unused[2], *used[2];
  IdleBlock mine, theirs;

  g_thread_join (g_thread_new ("bench-use", use_library, NULL));

  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error,
                            "/proc/self/exe", "--idle-probe", threads, NULL);
  if (child == NULL)
    {
      bench_report_add_note (report, "thread that never registers: no probe process: %s", error->message);
      return;
    }
  to = g_subprocess_get_stdin_pipe (child);
  from = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));

  for (guint c = 0; c < 2; c++)
    {
      unused[c] = g_array_new (FALSE, FALSE, sizeof (double));
      used[c] = g_array_new (FALSE, FALSE, sizeof (double));
    }

  /* Warm-up of both, then the turns. */
  measure_block (config->first_threads);
  if (!ask_child (to, from, &theirs, &error))
    goto out;
  for (guint rep = 0; rep < config->repeat; rep++)
    {
      if (rep % 2 == 0)
        {
          mine = measure_block (config->first_threads);
          if (!ask_child (to, from, &theirs, &error))
            goto out;
        }
      else
        {
          if (!ask_child (to, from, &theirs, &error))
            goto out;
          mine = measure_block (config->first_threads);
        }
      g_array_append_val (used[0], mine.in_thread);
      g_array_append_val (unused[0], theirs.in_thread);
      g_array_append_val (used[1], mine.wall);
      g_array_append_val (unused[1], theirs.wall);
    }

  report_clock (report, "thread", "start to last destructor", unused[0], used[0]);
  report_clock (report, "wall", "create + join (wall)", unused[1], used[1]);

out:
  if (error != NULL)
    bench_report_add_note (report, "thread that never registers: %s", error->message);
  g_output_stream_close (to, NULL, NULL);
  g_subprocess_wait (child, NULL, NULL);
  for (guint c = 0; c < 2; c++)
    {
      g_array_unref (unused[c]);
      g_array_unref (used[c]);
    }
}
