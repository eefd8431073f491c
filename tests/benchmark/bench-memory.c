/* bench-memory.c: bytes per live registration, from the allocator's own
 * statistics
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One thread makes N registrations and keeps them live; the figure is the
 * growth of mallinfo2()'s bytes in use (uordblks + hblkhd, all arenas)
 * over N, read on that thread while nothing else runs. That includes what
 * the thread's first registration sets up once (the lifetime, and GLib's
 * per-thread GSlice state for GObject-based variants), so the growth is
 * also read after the first registration: the first one's bytes, and the
 * marginal bytes of the N − 1 others, are shown apart. GObject instances come from GSlice, which
 * only shows here with G_SLICE=always-malloc: bench-main.c makes sure it is
 * set, and the empty-GObject row (24-byte instance, so 32 bytes with
 * malloc's header) shows that they are counted.
 */

#include <math.h>

#include "bench-sections.h"
#include "bench-targets.h"
#include "bench-variant.h"

typedef struct {
  const BenchVariant *variant;
  guint               n;
  gpointer           *handles;
  guint64             fired;
  gssize              first;      /* growth after the first registration */
  gssize              total;      /* growth after all N */
} MemoryJob;

static void
memory_job_register (MemoryJob *job,
                     guint      from,
                     guint      to)
{
  const BenchVariant *v = job->variant;

  if (v->no_callback)
    for (guint i = from; i < to; i++)
      job->handles[i] = v->add (&job->fired);
  else
    for (guint i = from; i < to; i++)
      v->add_fire (&job->fired);
}

static gpointer
memory_job_run (gpointer data)
{
  MemoryJob *job = data;
  const BenchVariant *v = job->variant;
  gssize before;

  /* This thread's arena and tcache exist before the first reading. */
  g_free (g_malloc (64));

  before = bench_heap_in_use ();
  memory_job_register (job, 0, 1);
  job->first = (gssize) bench_heap_in_use () - before;
  memory_job_register (job, 1, job->n);
  job->total = (gssize) bench_heap_in_use () - before;

  /* Registrations run at the thread's end; kept objects go now. */
  if (v->no_callback)
    for (guint i = 0; i < job->n; i++)
      v->cancel (job->handles[i]);

  return NULL;
}

static BenchRow *
add_row (BenchReport     *report,
         const char      *metric,
         const MemoryJob *job,
         double           bytes)
{
  BenchStats stats = { bytes, bytes, bytes, 1 };

  return bench_report_add (report, "memory", metric, job->variant->id,
                           job->variant->label, job->n, "B", stats);
}

void
bench_section_memory (BenchReport       *report,
                      const BenchConfig *config)
{
  static const BenchVariant *const variants[] = {
    &bench_plain, &bench_finalize, &bench_ref, &bench_list,
    &bench_cxa, &bench_gprivate, &bench_gobject_floor,
  };
  MemoryJob job = { 0 };

  job.n = config->memory_n;
  job.handles = g_new0 (gpointer, job.n);

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    {
      BenchRow *row;

      job.variant = variants[i];
      job.fired = 0;
      g_thread_join (g_thread_new ("bench-memory", memory_job_run, &job));
      if (job.fired != (job.variant->no_callback ? 0 : job.n))
        g_warning ("%s: %" G_GUINT64_FORMAT " callbacks ran, expected %u",
                   job.variant->id, job.fired, job.n);

      add_row (report, "bytes per live registration (growth / N)", &job,
               (double) job.total / job.n);
      /* To a hundredth of a byte: a few KB that the allocator takes once
       * somewhere in the million (a heap extension's bookkeeping) is not a
       * registration's cost, and would otherwise turn 64 B into 64.004. */
      row = add_row (report, "bytes per registration after the first", &job,
                     round (100.0 * (job.total - job.first) / (job.n - 1)) / 100.0);
      if (job.variant == &bench_plain)
        bench_row_set_target (row, BENCH_TARGET_AT_MOST, BENCH_TARGET_PLAIN_BYTES, FALSE, "≤ 64 B");
      else if (job.variant == &bench_finalize)
        bench_row_set_target (row, BENCH_TARGET_AT_MOST, BENCH_TARGET_FINALIZE_BYTES, FALSE, "≤ 160 B");
      add_row (report, "bytes of the first registration (once per thread)", &job, (double) job.first);
    }

  g_free (job.handles);
}
