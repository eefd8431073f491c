/* bench-job.c: one thread's worth of registrations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "bench-job.h"

void
bench_job_init (BenchJob           *job,
                const BenchVariant *variant,
                guint               n,
                gboolean            cancel)
{
  *job = (BenchJob) { 0 };
  job->variant = variant;
  job->n = n;
  job->cancel = cancel;
  /* Allocated once, outside the timed threads. */
  if (cancel)
    job->handles = g_new0 (gpointer, n);
}

void
bench_job_clear (BenchJob *job)
{
  g_free (job->handles);
  job->handles = NULL;
}

gpointer
bench_job_run (gpointer data)
{
  BenchJob *job = data;
  const BenchVariant *variant = job->variant;

  job->fired = 0;
  if (job->gate != NULL)
    bench_gate_pass (job->gate);

  if (job->cancel)
    {
      for (guint i = 0; i < job->n; i++)
        job->handles[i] = variant->add (&job->fired);
      for (guint i = 0; i < job->n; i++)
        variant->cancel (job->handles[i]);
    }
  else
    {
      for (guint i = 0; i < job->n; i++)
        variant->add_fire (&job->fired);
    }

  return NULL;
}

gboolean
bench_job_check (BenchJob *job)
{
  guint64 expected = (job->cancel || job->variant->no_callback) ? 0 : job->n;

  if (job->fired == expected)
    return TRUE;

  g_warning ("%s: %" G_GUINT64_FORMAT " callbacks ran, expected %" G_GUINT64_FORMAT,
             job->variant->id, job->fired, expected);
  return FALSE;
}
