/* bench-util.c: clocks, medians, timed threads and heap statistics
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench-util.h"

gint64
bench_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

static gint
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a;
  double y = *(const double *) b;

  return (x > y) - (x < y);
}

BenchStats
bench_stats (const double *values,
             guint         n)
{
  BenchStats stats = { 0.0, 0.0, 0.0, n };
  double *sorted;

  if (n == 0)
    return stats;

  sorted = g_memdup2 (values, n * sizeof (double));
  qsort (sorted, n, sizeof (double), compare_doubles);

  stats.min = sorted[0];
  stats.max = sorted[n - 1];
  stats.median = (n % 2) ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
  g_free (sorted);

  return stats;
}

double
bench_median (const double *values,
              guint         n)
{
  return bench_stats (values, n).median;
}

void
bench_shuffle (guint *order,
               guint  n,
               GRand *rand)
{
  for (guint i = 0; i < n; i++)
    order[i] = i;
  for (guint i = n; i > 1; i--)
    {
      guint j = g_rand_int_range (rand, 0, i);
      guint tmp = order[i - 1];

      order[i - 1] = order[j];
      order[j] = tmp;
    }
}

gpointer
bench_empty_thread (gpointer data)
{
  return NULL;
}

gsize
bench_heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return info.uordblks + info.hblkhd;
}

void
bench_count (gpointer counter)
{
  (*(guint64 *) counter)++;
}

void
bench_gate_init (BenchGate *gate)
{
  g_mutex_init (&gate->mutex);
  g_cond_init (&gate->cond);
  gate->waiting = 0;
  gate->open = FALSE;
}

void
bench_gate_clear (BenchGate *gate)
{
  g_cond_clear (&gate->cond);
  g_mutex_clear (&gate->mutex);
}

void
bench_gate_pass (BenchGate *gate)
{
  g_mutex_lock (&gate->mutex);
  gate->waiting++;
  g_cond_broadcast (&gate->cond);
  while (!gate->open)
    g_cond_wait (&gate->cond, &gate->mutex);
  g_mutex_unlock (&gate->mutex);
}

gint64
bench_gate_open (BenchGate *gate,
                 guint      n)
{
  gint64 opened;

  g_mutex_lock (&gate->mutex);
  while (gate->waiting < n)
    g_cond_wait (&gate->cond, &gate->mutex);
  opened = bench_now_ns ();
  gate->open = TRUE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->mutex);

  return opened;
}
