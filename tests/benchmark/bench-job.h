/* bench-job.h: one thread's worth of registrations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "bench-util.h"
#include "bench-variant.h"

G_BEGIN_DECLS

typedef struct {
  const BenchVariant *variant;
  guint               n;
  gboolean            cancel;    /* add() n, then cancel() them oldest first */
  gpointer           *handles;   /* n slots when cancel */
  BenchGate          *gate;      /* if set, passed before registering */
  /* Written by the job's thread only, read after the join. Two jobs side by
   * side run at once in the parallel case: aligned so that their counters
   * never share a cache line (128 bytes: adjacent-line prefetch). */
  guint64             fired __attribute__ ((aligned (128)));
} BenchJob;

void     bench_job_init  (BenchJob           *job,
                          const BenchVariant *variant,
                          guint               n,
                          gboolean            cancel);
void     bench_job_clear (BenchJob           *job);
/* A thread function: registers, maybe cancels, returns; registrations that
 * were not cancelled run as the thread ends. */
gpointer bench_job_run   (gpointer            job);
/* After the join: whether exactly the expected callbacks ran. Warns if not,
 * since the figure is then meaningless. */
gboolean bench_job_check (BenchJob           *job);

G_END_DECLS
