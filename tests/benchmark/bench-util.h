/* bench-util.h: clocks, medians, timed threads and heap statistics for the
 * benchmark
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* CLOCK_MONOTONIC in nanoseconds. */
gint64   bench_now_ns          (void);

/* A set of repeated measurements and what the report shows of them. */
typedef struct {
  double median;
  double min;
  double max;
  guint  n;
} BenchStats;

BenchStats bench_stats         (const double *values,
                                guint         n);
double   bench_median          (const double *values,
                                guint         n);

/* A fresh random order of 0..n-1. Each repetition runs its cases in such
 * an order: whatever a case leaves behind for the next one (allocator
 * state, caches) then lands on a different case each time, and the
 * medians absorb it instead of one case always paying. */
void     bench_shuffle         (guint       *order,
                                guint        n,
                                GRand       *rand);

/* A thread function that does nothing. */
gpointer bench_empty_thread    (gpointer     data);

/* Bytes the allocator has handed out and not got back, all arenas
 * together: glibc's mallinfo2(), uordblks + hblkhd. */
gsize    bench_heap_in_use     (void);

/* The callback every variant registers: counts its calls in a counter that
 * only the registering thread writes. */
void     bench_count           (gpointer     counter);

/* Starts several threads' work at the same moment. */
typedef struct {
  GMutex   mutex;
  GCond    cond;
  guint    waiting;
  gboolean open;
} BenchGate;

void     bench_gate_init       (BenchGate   *gate);
void     bench_gate_clear      (BenchGate   *gate);
/* In a worker: blocks until the gate opens. */
void     bench_gate_pass       (BenchGate   *gate);
/* In the driver: waits for n workers to arrive, then lets them all go;
 * returns bench_now_ns() at that moment. */
gint64   bench_gate_open       (BenchGate   *gate,
                                guint        n);

G_END_DECLS
