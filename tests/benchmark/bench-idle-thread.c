/* bench-idle-thread.c: what a thread that never registers pays: nothing,
 * whether or not the process has used threadref
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two child processes, this program again with --idle-probe, time blocks
 * of empty threads: one has never called threadref, the other used every
 * kind of registration first. They take turns block by block, in
 * alternating order, while this process only waits, so that both see the
 * same machine in the same state: the difference per repetition should be
 * zero within its own spread. (Comparing with this process itself was
 * tried: a process that waits between blocks and one that runs them back
 * to back differ by more than anything measured here, on this VM.)
 * Measured by both clocks: the thread clock would show any work in the
 * thread's teardown, the wall clock any work at creation or join.
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

/* Every kind of registration, fired and cancelled, on a thread of its own. */
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

int
bench_idle_probe_main (guint    threads,
                       gboolean use)
{
  char line[64];

  if (use)
    g_thread_join (g_thread_new ("bench-use", use_library, NULL));

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
ask_child (GOutputStream     *to,
           GDataInputStream  *from,
           IdleBlock         *block,
           GError           **error)
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
  row = bench_report_add (report, section, "empty thread, process that used threadref",
                          used_id, label, 0, "ns", bench_stats ((double *) used->data, used->len));
  bench_row_set_ratio_to (row, unused_id, unused_metric);
  row = bench_report_add (report, section, "used − never used, per repetition", diff_id, label, 0, "ns",
                          diff_stats);
  bench_row_set_target (row, BENCH_TARGET_ABS_AT_MOST, (diff_stats.max - diff_stats.min) / 2.0, FALSE, target);
}

typedef struct {
  GSubprocess      *process;
  GOutputStream    *to;
  GDataInputStream *from;
} Probe;

static gboolean
probe_start (Probe     *probe,
             guint      threads,
             gboolean   use,
             GError   **error)
{
  g_autofree char *arg = g_strdup_printf ("%u:%d", threads, use);

  probe->process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE, error,
                                     "/proc/self/exe", "--idle-probe", arg, NULL);
  if (probe->process == NULL)
    return FALSE;
  probe->to = g_subprocess_get_stdin_pipe (probe->process);
  probe->from = g_data_input_stream_new (g_subprocess_get_stdout_pipe (probe->process));

  return TRUE;
}

static void
probe_stop (Probe *probe)
{
  if (probe->process == NULL)
    return;
  g_output_stream_close (probe->to, NULL, NULL);
  g_subprocess_wait (probe->process, NULL, NULL);
  g_clear_object (&probe->from);
  g_clear_object (&probe->process);
}

void
bench_section_idle_thread (BenchReport       *report,
                           const BenchConfig *config)
{
  g_autoptr(GError) error = NULL;
  Probe unused_probe = { NULL }, used_probe = { NULL };
  GArray *unused[2], *used[2];
  IdleBlock a, b;

  for (guint c = 0; c < 2; c++)
    {
      unused[c] = g_array_new (FALSE, FALSE, sizeof (double));
      used[c] = g_array_new (FALSE, FALSE, sizeof (double));
    }

  if (!probe_start (&unused_probe, config->first_threads, FALSE, &error) ||
      !probe_start (&used_probe, config->first_threads, TRUE, &error))
    goto out;

  /* Warm-up of both, then the turns. */
  if (!ask_child (unused_probe.to, unused_probe.from, &a, &error) ||
      !ask_child (used_probe.to, used_probe.from, &b, &error))
    goto out;
  for (guint rep = 0; rep < config->repeat; rep++)
    {
      Probe *first = rep % 2 ? &used_probe : &unused_probe;
      Probe *second = rep % 2 ? &unused_probe : &used_probe;
      IdleBlock *mine, *theirs;

      if (!ask_child (first->to, first->from, &a, &error) ||
          !ask_child (second->to, second->from, &b, &error))
        goto out;
      mine = rep % 2 ? &a : &b;     /* the used one */
      theirs = rep % 2 ? &b : &a;
      g_array_append_val (used[0], mine->in_thread);
      g_array_append_val (unused[0], theirs->in_thread);
      g_array_append_val (used[1], mine->wall);
      g_array_append_val (unused[1], theirs->wall);
    }

  report_clock (report, "thread", "start to last destructor", unused[0], used[0]);
  report_clock (report, "wall", "create + join (wall)", unused[1], used[1]);

out:
  if (error != NULL)
    bench_report_add_note (report, "thread that never registers: %s", error->message);
  probe_stop (&unused_probe);
  probe_stop (&used_probe);
  for (guint c = 0; c < 2; c++)
    {
      g_array_unref (unused[c]);
      g_array_unref (used[c]);
    }
}
