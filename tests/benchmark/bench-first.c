/* bench-first.c: what a thread pays for its first registration (the
 * lifetime)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "bench-clock.h"
#include "bench-job.h"
#include "bench-sections.h"
#include "bench-targets.h"

typedef gint64 (*TimeThreadFunc) (GThreadFunc func,
                                  gpointer    data);

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

/* (a thread that makes one registration − an empty thread): the lifetime is
 * made, the registration runs at the thread's end, the lifetime goes. */
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
     * start: the lifetime keeps a reference to it. */
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
