/* bench-local.c: what threadref_local_get() costs next to g_private_get()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One thread, both in turn in each repetition: a value is set, then read
 * N times in a loop that the compiler cannot fold (each read's result feeds
 * the next iteration). The target: threadref_local_get() at most twice
 * g_private_get().
 */

#include <threadref.h>

#include "bench-sections.h"
#include "bench-targets.h"

#define GETS 1000000

static GPrivate private_slot = G_PRIVATE_INIT (NULL);
static ThreadRefLocal local_slot = THREADREF_LOCAL_INIT (NULL);

static gpointer
read_private (gpointer value)
{
  return g_private_get (&private_slot) == value ? value : NULL;
}

static gpointer
read_local (gpointer value)
{
  return threadref_local_get (&local_slot) == value ? value : NULL;
}

static double
time_gets (gpointer (*read) (gpointer),
           gpointer  value)
{
  gpointer v = value;
  gint64 start = bench_now_ns ();

  for (guint i = 0; i < GETS; i++)
    {
      v = read (v);
      __asm__ __volatile__ ("" : "+r" (v));
    }
  if (v != value)
    g_warning ("a get returned the wrong value");

  return (double) (bench_now_ns () - start) / GETS;
}

typedef struct {
  const BenchConfig *config;
  GArray            *private_ns;
  GArray            *local_ns;
} LocalJob;

static gpointer
local_job_run (gpointer data)
{
  LocalJob *job = data;
  static char value[] = "value";

  g_private_set (&private_slot, value);
  threadref_local_set (&local_slot, value);

  time_gets (read_private, value);
  time_gets (read_local, value);
  for (guint rep = 0; rep < job->config->repeat; rep++)
    {
      double p, l;

      /* Alternate which goes first. */
      if (rep % 2 == 0)
        {
          p = time_gets (read_private, value);
          l = time_gets (read_local, value);
        }
      else
        {
          l = time_gets (read_local, value);
          p = time_gets (read_private, value);
        }
      g_array_append_val (job->private_ns, p);
      g_array_append_val (job->local_ns, l);
    }

  return NULL;
}

void
bench_section_local (BenchReport       *report,
                     const BenchConfig *config)
{
  LocalJob job = { config, g_array_new (FALSE, FALSE, sizeof (double)),
                   g_array_new (FALSE, FALSE, sizeof (double)) };
  BenchRow *row;

  g_thread_join (g_thread_new ("bench-local", local_job_run, &job));

  bench_report_add (report, "lifetime-local storage", "get, per call", "gprivate",
                    "g_private_get()", GETS, "ns",
                    bench_stats ((double *) job.private_ns->data, job.private_ns->len));
  row = bench_report_add (report, "lifetime-local storage", "get, per call", "local",
                          "threadref_local_get()", GETS, "ns",
                          bench_stats ((double *) job.local_ns->data, job.local_ns->len));
  bench_row_set_ratio_to (row, "gprivate", NULL);
  bench_row_set_target (row, BENCH_TARGET_AT_MOST, BENCH_TARGET_LOCAL_GET_RATIO, TRUE, "≤ 2× g_private_get()");

  g_array_unref (job.private_ns);
  g_array_unref (job.local_ns);
}
