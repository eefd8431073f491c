/* bench-thread-cost.c: what a thread pays for its first registration (the
 * anchor), and what a thread that never registers pays (nothing)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <math.h>

#include "bench-clock.h"
#include "bench-job.h"
#include "bench-sections.h"
#include "bench-targets.h"

typedef gint64 (*TimeThreadFunc) (GThreadFunc func,
                                  gpointer    data);

/* The median over `threads` empty threads, per repetition. */
BenchEmptyThread
bench_measure_empty_thread (const BenchConfig *config)
{
  guint threads = config->first_threads;
  g_autofree double *wall = g_new (double, threads);
  g_autofree double *in_thread = g_new (double, threads);
  g_autofree double *wall_medians = g_new (double, config->repeat);
  g_autofree double *in_thread_medians = g_new (double, config->repeat);
  BenchEmptyThread result;

  bench_time_gthread (bench_empty_thread, NULL);
  for (guint rep = 0; rep < config->repeat; rep++)
    {
      for (guint t = 0; t < threads; t++)
        {
          gint64 w, i;

          bench_time_gthread_both (bench_empty_thread, NULL, &w, &i);
          wall[t] = (double) w;
          in_thread[t] = (double) i;
        }
      wall_medians[rep] = bench_median (wall, threads);
      in_thread_medians[rep] = bench_median (in_thread, threads);
    }

  result.wall = bench_stats (wall_medians, config->repeat);
  result.in_thread = bench_stats (in_thread_medians, config->repeat);

  return result;
}

static gpointer
use_library (gpointer data)
{
  /* Static: the last one runs after this function has returned. */
  static guint64 fired;

  bench_plain.add_fire (&fired);
  bench_plain.cancel (bench_plain.add (&fired));
  bench_finalize.add_fire (&fired);
  bench_ref.add_fire (&fired);
  bench_ref.cancel (bench_ref.add (&fired));
  bench_plain.end_now ();
  bench_plain_thread_only.add_fire (&fired);

  return NULL;
}

void
bench_use_library (void)
{
  g_thread_join (g_thread_new ("bench-use", use_library, NULL));
}

static void
report_empty_thread (BenchReport *report,
                     const char  *clock,
                     BenchStats   before,
                     BenchStats   after,
                     BenchStats   at_end)
{
  /* The spread of the repetitions' medians, the larger of the two. */
  double noise = MAX (before.max - before.min, after.max - after.min) / 2.0;
  BenchStats diff = { fabs (after.median - before.median), 0, 0, 1 };
  g_autofree char *target = g_strdup_printf ("≤ noise (%.0f ns)", noise);
  g_autofree char *before_id = g_strdup_printf ("before-%s", clock);
  g_autofree char *after_id = g_strdup_printf ("after-%s", clock);
  g_autofree char *diff_id = g_strdup_printf ("difference-%s", clock);
  g_autofree char *end_id = g_strdup_printf ("end-%s", clock);
  const char *section = "thread that never registers";
  const char *not_used = "empty thread, library not used yet";
  const char *label = g_str_equal (clock, "wall") ? "create + join (wall)" : "start to last destructor";
  BenchRow *row;

  diff.min = diff.max = diff.median;
  bench_report_add (report, section, not_used, before_id, label, 0, "ns", before);
  row = bench_report_add (report, section, "empty thread, library just used", after_id, label, 0, "ns", after);
  bench_row_set_ratio_to (row, before_id, not_used);
  row = bench_report_add (report, section, "|just used − not used|", diff_id, label, 0, "ns", diff);
  bench_row_set_target (row, BENCH_TARGET_AT_MOST, noise, FALSE, target);
  /* Minutes later, after millions of registrations: for information, the
   * machine may have changed meanwhile. */
  row = bench_report_add (report, section, "empty thread, end of the run", end_id, label, 0, "ns", at_end);
  bench_row_set_ratio_to (row, before_id, not_used);
}

void
bench_section_empty_thread (BenchReport            *report,
                            const BenchEmptyThread *before,
                            const BenchEmptyThread *after,
                            const BenchEmptyThread *at_end)
{
  report_empty_thread (report, "thread", before->in_thread, after->in_thread, at_end->in_thread);
  report_empty_thread (report, "wall", before->wall, after->wall, at_end->wall);
}

typedef struct {
  const BenchVariant *variant;
  const char         *id;
  const char         *label;
  TimeThreadFunc      time_thread;
  gboolean            library;     /* the target applies */
  BenchJob            job;
  GArray             *samples;
} FirstCase;

static double
first_run_once (FirstCase *c,
                guint      threads)
{
  g_autofree double *diffs = g_new (double, threads);

  for (guint t = 0; t < threads; t++)
    {
      gint64 empty = c->time_thread (bench_empty_thread, NULL);
      gint64 work = c->time_thread (bench_job_run, &c->job);

      bench_job_check (&c->job);
      diffs[t] = (double) (work - empty);
    }

  return bench_median (diffs, threads);
}

/* (a thread that makes one registration − an empty thread): the anchor is
 * made, the registration runs at the thread's end, the anchor goes. */
void
bench_section_first (BenchReport       *report,
                     const BenchConfig *config)
{
  FirstCase cases[] = {
    { &bench_plain, NULL, NULL, bench_time_gthread, TRUE },
    { &bench_plain_thread_only, NULL, NULL, bench_time_gthread, TRUE },
    { &bench_finalize, NULL, NULL, bench_time_gthread, TRUE },
    { &bench_ref, NULL, NULL, bench_time_gthread, TRUE },
    { &bench_list, NULL, NULL, bench_time_gthread, FALSE },
    { &bench_cxa, NULL, NULL, bench_time_gthread, FALSE },
    { &bench_gprivate, NULL, NULL, bench_time_gthread, FALSE },
    /* GLib 2.74 sets up GSlice's per-thread state at a thread's first
     * g_slice_alloc(), and tears it down at its end. */
    { &bench_gobject_floor, NULL, NULL, bench_time_gthread, FALSE },
    /* g_thread_self() must then make a GThread for a thread GLib did not
     * start: the anchor keeps a reference to it. */
    { &bench_plain, "plain-pthread", "plain C path, pthread_create", bench_time_pthread, FALSE },
    { &bench_list, "list-pthread", "hand-written list, pthread_create", bench_time_pthread, FALSE },
  };
  guint order[G_N_ELEMENTS (cases)];
  g_autoptr(GRand) rand = g_rand_new_with_seed (config->seed);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      bench_job_init (&cases[i].job, cases[i].variant, 1, FALSE);
      cases[i].samples = g_array_new (FALSE, FALSE, sizeof (double));
      first_run_once (&cases[i], 1);
    }

  for (guint rep = 0; rep < config->repeat; rep++)
    {
      bench_shuffle (order, G_N_ELEMENTS (cases), rand);
      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        {
          FirstCase *c = &cases[order[i]];
          double ns = first_run_once (c, config->first_threads);

          g_array_append_val (c->samples, ns);
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      FirstCase *c = &cases[i];
      gboolean pthread = c->id != NULL;
      BenchRow *row;

      row = bench_report_add (report, "first registration in a thread",
                              pthread ? "first registration (pthread thread)" : "first registration",
                              pthread ? c->id : c->variant->id,
                              pthread ? c->label : c->variant->label, 0, "ns",
                              bench_stats ((double *) c->samples->data, c->samples->len));
      if (pthread)
        bench_row_set_ratio_to (row, "list-pthread", NULL);
      if (c->library)
        bench_row_set_target (row, BENCH_TARGET_AT_MOST, BENCH_TARGET_FIRST_NS, FALSE, "≤ 2 µs");

      bench_job_clear (&c->job);
      g_array_unref (c->samples);
    }
}
