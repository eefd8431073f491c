/* bench-clock.c: how long a thread takes, from its start to the end of its
 * teardown
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The thread clock ends in a pthread-key destructor that sets its key again
 * in every round but the last that glibc runs (PTHREAD_DESTRUCTOR_ITERATIONS),
 * so that it is called in every round and reads the clock in the last one:
 * whatever any other key's destructor does, in whichever round, is before
 * that reading. C++-style thread_local destructors (__cxa_thread_atexit_impl)
 * run before any key destructor. What is left out is what glibc and the
 * kernel do after the destructors (the allocator's per-thread cache, the
 * stack, the exit itself), the same for every thread.
 */

#include <limits.h>
#include <pthread.h>

#include "bench-clock.h"
#include "bench-util.h"

#ifndef PTHREAD_DESTRUCTOR_ITERATIONS
# define PTHREAD_DESTRUCTOR_ITERATIONS 4
#endif

static BenchClock chosen_clock = BENCH_CLOCK_THREAD;
static pthread_key_t end_key;

typedef struct {
  GThreadFunc func;
  gpointer    data;
  gint64      start;
  gint64      end;
  guint       round;
} TimedThread;

static void
end_key_destroy (void *value)
{
  TimedThread *timed = value;

  timed->end = bench_now_ns ();
  if (++timed->round < PTHREAD_DESTRUCTOR_ITERATIONS)
    pthread_setspecific (end_key, timed);
}

void
bench_clock_init (BenchClock clock)
{
  chosen_clock = clock;
  if (pthread_key_create (&end_key, end_key_destroy) != 0)
    g_error ("pthread_key_create failed");
}

BenchClock
bench_clock_get (void)
{
  return chosen_clock;
}

const char *
bench_clock_describe (BenchClock clock)
{
  switch (clock)
    {
    case BENCH_CLOCK_WALL:
      return "thread times: from creating the thread to joining it (--wall-clock)";
    case BENCH_CLOCK_THREAD:
    default:
      return "thread times: on the thread, from its start to its last pthread-key destructor round";
    }
}

static gpointer
timed_thread_run (gpointer data)
{
  TimedThread *timed = data;

  timed->start = bench_now_ns ();
  pthread_setspecific (end_key, timed);

  return timed->func (timed->data);
}

void
bench_time_gthread_both (GThreadFunc  func,
                         gpointer     data,
                         gint64      *wall,
                         gint64      *in_thread)
{
  TimedThread timed = { func, data, 0, 0, 0 };
  gint64 start = bench_now_ns ();

  g_thread_join (g_thread_new ("bench", timed_thread_run, &timed));

  *wall = bench_now_ns () - start;
  *in_thread = timed.end - timed.start;
}

gint64
bench_time_gthread (GThreadFunc func,
                    gpointer    data)
{
  gint64 wall, in_thread;

  bench_time_gthread_both (func, data, &wall, &in_thread);

  return chosen_clock == BENCH_CLOCK_WALL ? wall : in_thread;
}

gint64
bench_time_pthread (GThreadFunc func,
                    gpointer    data)
{
  TimedThread timed = { func, data, 0, 0, 0 };
  gint64 start = bench_now_ns ();
  pthread_t thread;

  if (pthread_create (&thread, NULL, timed_thread_run, &timed) != 0)
    g_error ("pthread_create failed");
  pthread_join (thread, NULL);

  if (chosen_clock == BENCH_CLOCK_WALL)
    return bench_now_ns () - start;
  return timed.end - timed.start;
}
