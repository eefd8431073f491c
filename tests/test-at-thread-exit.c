/* test-at-exit.c: the plain C path
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "test-util.h"

typedef struct {
  Counter                counter;
  pthread_t              worker;
  ThreadRefAtThreadExit *handle;
  gboolean               cancel_inside;
} PlainData;

static gpointer
register_plain (gpointer data)
{
  PlainData *d = data;

  d->worker = pthread_self ();
  threadref_at_thread_exit (counter_finalize_func, &d->counter, THREADREF_AT_THREAD_EXIT_DEFAULT);
  d->handle = threadref_at_thread_exit_add (counter_finalize_func, &d->counter, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
  if (d->cancel_inside)
    {
      g_assert_true (threadref_at_thread_exit_cancel (d->handle));
      d->handle = NULL;
    }
  return NULL;
}

static void
test_at_exit_fires (void)
{
  PlainData d = { 0 };

  g_test_summary ("Plain registrations run once on their ending thread; "
                  "cancelling afterwards returns FALSE");

  run_in_thread (register_plain, &d);
  g_assert_cmpint (d.counter.calls, ==, 2);
  g_assert_true (pthread_equal (d.counter.last_thread, d.worker));
  g_assert_false (threadref_at_thread_exit_cancel (d.handle));
}

static void
test_at_exit_cancel_on_thread (void)
{
  PlainData d = { .cancel_inside = TRUE };

  g_test_summary ("A registration cancelled on its own thread never runs");

  run_in_thread (register_plain, &d);
  g_assert_cmpint (d.counter.calls, ==, 1);
}

typedef struct {
  Counter                counter;
  ThreadRefAtThreadExit *handle;
} RemoteData;

static void
register_cancellable (gpointer data)
{
  RemoteData *d = data;

  d->handle = threadref_at_thread_exit_add (counter_finalize_func, &d->counter, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

static void
test_at_exit_cancel_from_other_thread (void)
{
  RemoteData d = { 0 };
  HeldThread held;

  g_test_summary ("A registration cancelled from another thread while its "
                  "thread runs never runs");

  held_thread_start (&held, "plain", register_cancellable, &d);
  g_assert_true (threadref_at_thread_exit_cancel (d.handle));
  held_thread_finish (&held);

  g_assert_cmpint (d.counter.calls, ==, 0);
}

typedef struct {
  guint n;
  guint sum;
} ManyPlain;

static void
add_one (gpointer data)
{
  ((ManyPlain *) data)->sum++;
}

static gpointer
register_many_plain (gpointer data)
{
  ManyPlain *m = data;
  ThreadRefAtThreadExit **handles = g_new (ThreadRefAtThreadExit *, m->n);

  for (guint i = 0; i < m->n; i++)
    handles[i] = threadref_at_thread_exit_add (add_one, m, THREADREF_AT_THREAD_EXIT_DEFAULT);
  /* Cancel every other one, oldest first. */
  for (guint i = 0; i < m->n; i += 2)
    g_assert_true (threadref_at_thread_exit_cancel (handles[i]));
  /* The rest are given back after they ran (see below). */
  return handles;
}

static void
test_at_exit_many (void)
{
  ManyPlain m = { 100000, 0 };
  ThreadRefAtThreadExit **handles;

  g_test_summary ("100 000 cancellable registrations, half cancelled out of "
                  "order: the other half runs");

  handles = g_thread_join (g_thread_new ("plain-many", register_many_plain, &m));
  g_assert_cmpuint (m.sum, ==, m.n / 2);
  for (guint i = 1; i < m.n; i += 2)
    g_assert_false (threadref_at_thread_exit_cancel (handles[i]));
  g_free (handles);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/at-exit/fires", test_at_exit_fires);
  g_test_add_func ("/threadref/at-exit/cancel-on-thread", test_at_exit_cancel_on_thread);
  g_test_add_func ("/threadref/at-exit/cancel-from-other-thread", test_at_exit_cancel_from_other_thread);
  g_test_add_func ("/threadref/at-exit/many", test_at_exit_many);

  return g_test_run ();
}
