/* bench-clock.h: how long a thread takes, from its start to the end of its
 * teardown
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  /* Read on the thread itself: from the first instruction of its function
   * to the end of the last round of pthread-key destructors glibc runs for
   * it, which covers every thread-exit callback. The default: it leaves out
   * the kernel's thread creation and the scheduler's wake-ups, which on a
   * shared machine vary by tens of microseconds from one thread to the
   * next. */
  BENCH_CLOCK_THREAD,
  /* From just before creating the thread to just after joining it. */
  BENCH_CLOCK_WALL,
} BenchClock;

/* Once, before any timed thread. */
void        bench_clock_init      (BenchClock   clock);
BenchClock  bench_clock_get       (void);
const char *bench_clock_describe  (BenchClock   clock);

/* Nanoseconds a thread running func (data) takes, by the chosen clock. */
gint64      bench_time_gthread    (GThreadFunc  func,
                                   gpointer     data);
/* The same with pthread_create(): a thread GLib did not make. */
gint64      bench_time_pthread    (GThreadFunc  func,
                                   gpointer     data);
/* By both clocks at once. */
void        bench_time_gthread_both (GThreadFunc  func,
                                     gpointer     data,
                                     gint64      *wall,
                                     gint64      *in_thread);

G_END_DECLS
