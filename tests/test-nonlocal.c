/* test-nonlocal.c: callbacks that leave non-locally — the thread exits or is
 * cancelled inside them, or they end their own lifetime at any depth — lose
 * nothing of their lifetime
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * exit() from a callback is in test-exit.c (it needs a process of its own);
 * a C++ exception through a callback is in test-exception.cc.
 */

#include <pthread.h>
#include <threadref.h>

#include "test-util.h"

typedef enum {
  LEAVE_G_THREAD_EXIT,
  LEAVE_PTHREAD_EXIT,
} LeaveHow;

typedef struct {
  LeaveHow      how;
  gboolean      end_on_purpose;   /* threadref_end_lifetime() rather than return */
  ThreadRefRef *ref;              /* to the worker, made first (oldest) */
  Counter       older;            /* a finalizer older than the leaving one */
  Counter       older_plain;
  Counter       leaving;          /* the finalizer that leaves */
  gint          after_leave;      /* code after the leaving call: never runs */
} LeaveData;

static void
leave_thread (gpointer p)
{
  LeaveData *d = p;

  counter_finalize_func (&d->leaving);
  if (d->how == LEAVE_G_THREAD_EXIT)
    test_g_thread_exit ();
  else
    pthread_exit (NULL);
  d->after_leave++;
}

static void
leave_data_destroy (gpointer p)
{
  LeaveData *d = p;

  counter_destroy (&d->leaving);
}

static gpointer
leave_worker (gpointer p)
{
  LeaveData *d = p;

  d->ref = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (counter_finalize_func, &d->older, counter_destroy));
  threadref_at_thread_exit (counter_finalize_func, &d->older_plain, THREADREF_AT_THREAD_EXIT_DEFAULT);
  g_object_unref (threadref_finalize_new (leave_thread, d, leave_data_destroy));
  if (d->end_on_purpose)
    {
      threadref_end_lifetime ();
      d->after_leave++;
    }
  return NULL;
}

static void
check_leave (LeaveHow how,
             gboolean end_on_purpose)
{
  LeaveData d = { .how = how, .end_on_purpose = end_on_purpose };
  GThread *thread = g_thread_new ("leaver", leave_worker, &d);

  g_thread_join (thread);

  g_assert_cmpint (d.after_leave, ==, 0);
  g_assert_cmpint (d.leaving.calls, ==, 1);
  /* The finalizer that left still lets go of its data on the way out. */
  g_assert_cmpint (d.leaving.destroys, ==, 1);
  g_assert_cmpint (d.older.calls, ==, 1);
  g_assert_cmpint (d.older.destroys, ==, 1);
  g_assert_cmpint (d.older_plain.calls, ==, 1);
  g_assert_true (threadref_ref_wait (d.ref, G_USEC_PER_SEC));
  g_assert_false (threadref_ref_is_alive (d.ref));
  g_object_unref (d.ref);
}

static void
test_nonlocal_g_thread_exit_in_end_lifetime (void)
{
  g_test_summary ("g_thread_exit() in a callback run by threadref_end_lifetime(): "
                  "the older ones still run, with their destroy notifies, and "
                  "the lifetime ends");
  check_leave (LEAVE_G_THREAD_EXIT, TRUE);
}

static void
test_nonlocal_pthread_exit_in_end_lifetime (void)
{
  g_test_summary ("pthread_exit() in a callback run by threadref_end_lifetime()");
  check_leave (LEAVE_PTHREAD_EXIT, TRUE);
}

static void
test_nonlocal_exit_in_thread_end (void)
{
  g_test_summary ("g_thread_exit() and pthread_exit() in a callback run by "
                  "the thread's own end");
  check_leave (LEAVE_G_THREAD_EXIT, FALSE);
  check_leave (LEAVE_PTHREAD_EXIT, FALSE);
}

/* A ref's callback, or a plain function, that exits the thread. */
typedef struct {
  gboolean      plain_leaves;   /* else the ref's callback leaves */
  ThreadRefRef *ref;            /* the worker hands its reference over */
  Counter       ref_calls;
  gint          plain_calls;
  Counter       older;
} RefLeaveData;

static void
ref_callback (ThreadRefRef *ref,
              gpointer      p)
{
  RefLeaveData *d = p;

  counter_ref_func (ref, &d->ref_calls);
  if (!d->plain_leaves)
    pthread_exit (NULL);
}

static void
plain_func (gpointer p)
{
  RefLeaveData *d = p;

  d->plain_calls++;
  if (d->plain_leaves)
    test_g_thread_exit ();
}

static void
ref_leave_data_destroy (gpointer p)
{
  RefLeaveData *d = p;

  counter_destroy (&d->ref_calls);
}

static G_NORETURN gpointer
ref_leave_worker (gpointer p)
{
  RefLeaveData *d = p;

  g_object_unref (threadref_finalize_new (counter_finalize_func, &d->older, counter_destroy));
  if (d->plain_leaves)
    {
      d->ref = threadref_ref_new (ref_callback, d, ref_leave_data_destroy);
      threadref_at_thread_exit (plain_func, d, THREADREF_AT_THREAD_EXIT_DEFAULT);
    }
  else
    {
      threadref_at_thread_exit (plain_func, d, THREADREF_AT_THREAD_EXIT_DEFAULT);
      d->ref = threadref_ref_new (ref_callback, d, ref_leave_data_destroy);
    }
  threadref_end_lifetime ();
  g_assert_not_reached ();
}

static void
test_nonlocal_ref_and_plain (void)
{
  g_test_summary ("A ref callback, or a plain function, that exits the thread: "
                  "the ref's destroy notify runs and the reference it ran with "
                  "is dropped, the plain node is freed, and the rest still runs "
                  "in the thread's own end");

  for (guint plain_leaves = 0; plain_leaves < 2; plain_leaves++)
    {
      RefLeaveData d = { .plain_leaves = plain_leaves };

      run_in_thread (ref_leave_worker, &d);

      g_assert_cmpint (d.ref_calls.calls, ==, 1);
      g_assert_cmpint (d.ref_calls.destroys, ==, 1);
      g_assert_cmpint (G_OBJECT (d.ref)->ref_count, ==, 1);
      g_assert_false (threadref_ref_is_alive (d.ref));
      g_object_unref (d.ref);
      g_assert_cmpint (d.plain_calls, ==, 1);
      g_assert_cmpint (d.older.calls, ==, 1);
      g_assert_cmpint (d.older.destroys, ==, 1);
    }
}

/* pthread_cancel() while a callback sleeps in a cancellation point. */
typedef struct {
  ThreadRefRef *ref;
  gint          in_slow;
  Counter       older;
  Counter       slow;
} CancelData;

static void
slow_callback (gpointer p)
{
  CancelData *d = p;

  counter_finalize_func (&d->slow);
  g_atomic_int_set (&d->in_slow, 1);
  for (;;)
    g_usleep (1000);   /* a cancellation point */
}

static void
cancel_data_destroy (gpointer p)
{
  CancelData *d = p;

  counter_destroy (&d->slow);
}

static G_NORETURN void *
cancel_worker (void *p)
{
  CancelData *d = p;

  d->ref = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (counter_finalize_func, &d->older, counter_destroy));
  g_object_unref (threadref_finalize_new (slow_callback, d, cancel_data_destroy));
  threadref_end_lifetime ();
  for (;;)
    g_usleep (1000);
}

static void
test_nonlocal_cancel_in_callback (void)
{
  CancelData d = { 0 };
  pthread_t thread;

  g_test_summary ("pthread_cancel() while a callback runs: the older ones "
                  "still run, with their destroy notifies, and a wait sees "
                  "the lifetime end");

  g_assert_cmpint (pthread_create (&thread, NULL, cancel_worker, &d), ==, 0);
  while (!g_atomic_int_get (&d.in_slow))
    g_usleep (1000);
  g_assert_cmpint (pthread_cancel (thread), ==, 0);
  g_assert_cmpint (pthread_join (thread, NULL), ==, 0);

  g_assert_cmpint (d.slow.calls, ==, 1);
  g_assert_cmpint (d.slow.destroys, ==, 1);
  g_assert_cmpint (d.older.calls, ==, 1);
  g_assert_cmpint (d.older.destroys, ==, 1);
  g_assert_true (threadref_ref_wait (d.ref, G_USEC_PER_SEC));
  g_object_unref (d.ref);
}

/* Every finalizer of a thread ends the thread's lifetime from its callback:
 * with a small stack, a recursion as deep as the number of finalizers
 * would overflow it. */
#define DEEP_COUNT 100000

static void
end_from_callback (gpointer p)
{
  (*(gint *) p)++;
  threadref_end_lifetime ();
}

static void *
deep_worker (void *p)
{
  for (guint i = 0; i < DEEP_COUNT; i++)
    threadref_at_thread_exit (end_from_callback, p, THREADREF_AT_THREAD_EXIT_DEFAULT);
  for (guint i = 0; i < 100; i++)
    g_object_unref (threadref_finalize_new (end_from_callback, p, NULL));
  threadref_end_lifetime ();
  return NULL;
}

static void
test_nonlocal_deep_end_lifetime (void)
{
  pthread_attr_t attr;
  pthread_t thread;
  gint ran = 0;

  g_test_summary ("100 000 callbacks that each end their own lifetime run on "
                  "a thread with a 256 KiB stack: no recursion per callback");

  pthread_attr_init (&attr);
  pthread_attr_setstacksize (&attr, 256 * 1024);
  g_assert_cmpint (pthread_create (&thread, &attr, deep_worker, &ran), ==, 0);
  pthread_attr_destroy (&attr);
  g_assert_cmpint (pthread_join (thread, NULL), ==, 0);
  g_assert_cmpint (ran, ==, DEEP_COUNT + 100);
}

/* The end of a lifetime whose callbacks register again forever. */
static void
register_again (gpointer p)
{
  (*(guint *) p)++;
  threadref_at_thread_exit (register_again, p, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

static gpointer
runaway_worker (gpointer p)
{
  threadref_at_thread_exit (register_again, p, THREADREF_AT_THREAD_EXIT_DEFAULT);
  return NULL;
}

static void
test_nonlocal_runaway (void)
{
  g_test_summary ("Callbacks that keep registering while their thread ends "
                  "do not keep it from ending: past the bound, a warning "
                  "names the thread and the end completes");

  if (g_test_subprocess ())
    {
      guint ran = 0;

      /* The warning is the point: not fatal here. */
      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      g_thread_join (g_thread_new ("runaway-worker", runaway_worker, &ran));
      g_print ("ran %u\n", ran);
      return;
    }

  g_test_trap_subprocess (NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*\"runaway-worker\"*kept receiving registrations while it ended*");
  g_test_trap_assert_stdout ("ran 1000001\n");
}

/* The same bound, reached by another thread's watches of an ending
 * lifetime. */
typedef struct {
  ThreadRefRef *ref;
  guint         ran;
  gint          stage;   /* 1: the victim is ending; 2: the feeder is done */
  GMutex        mutex;
  GCond         cond;
} Flood;

static void
count_flood (gpointer p)
{
  ((Flood *) p)->ran++;
}

static void
hold_the_end (gpointer p)
{
  Flood *f = p;

  g_mutex_lock (&f->mutex);
  f->stage = 1;
  g_cond_broadcast (&f->cond);
  while (f->stage < 2)
    g_cond_wait (&f->cond, &f->mutex);
  g_mutex_unlock (&f->mutex);
}

static gpointer
flooded_victim (gpointer p)
{
  Flood *f = p;

  f->ref = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (hold_the_end, f, NULL));
  return NULL;
}

static void
test_nonlocal_runaway_from_outside (void)
{
  g_test_summary ("Watches from another thread that keep coming while a thread "
                  "ends: past the bound the thread takes no more, and the "
                  "warning names that thread without blaming its callbacks");

  if (test_tool () == TEST_TOOL_VALGRIND)
    {
      g_test_skip ("a million registrations take too long under valgrind");
      return;
    }

  if (g_test_subprocess ())
    {
      Flood f = { 0 };
      GThread *victim;
      guint attached = 0;
      ThreadRefFinalize *fin;

      g_log_set_always_fatal (G_LOG_FATAL_MASK);
      g_mutex_init (&f.mutex);
      g_cond_init (&f.cond);
      victim = g_thread_new ("victim", flooded_victim, &f);
      g_mutex_lock (&f.mutex);
      while (f.stage < 1)
        g_cond_wait (&f.cond, &f.mutex);
      g_mutex_unlock (&f.mutex);

      while ((fin = threadref_ref_watch_finalize (f.ref, count_flood, &f, NULL)) != NULL)
        {
          g_object_unref (fin);
          attached++;
        }

      g_mutex_lock (&f.mutex);
      f.stage = 2;
      g_cond_broadcast (&f.cond);
      g_mutex_unlock (&f.mutex);
      g_thread_join (victim);
      g_print ("attached %u ran %u\n", attached, f.ran);
      g_object_unref (f.ref);
      return;
    }

  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("*thread \"victim\" (*) kept receiving registrations while it ended*");
  g_test_trap_assert_stdout ("attached 1000000 ran 1000000\n");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/nonlocal/g-thread-exit-in-end-lifetime",
                   test_nonlocal_g_thread_exit_in_end_lifetime);
  g_test_add_func ("/threadref/nonlocal/pthread-exit-in-end-lifetime",
                   test_nonlocal_pthread_exit_in_end_lifetime);
  g_test_add_func ("/threadref/nonlocal/exit-in-thread-end", test_nonlocal_exit_in_thread_end);
  g_test_add_func ("/threadref/nonlocal/ref-and-plain", test_nonlocal_ref_and_plain);
  g_test_add_func ("/threadref/nonlocal/cancel-in-callback", test_nonlocal_cancel_in_callback);
  g_test_add_func ("/threadref/nonlocal/deep-end-lifetime", test_nonlocal_deep_end_lifetime);
  g_test_add_func ("/threadref/nonlocal/runaway", test_nonlocal_runaway);
  g_test_add_func ("/threadref/nonlocal/runaway-from-outside", test_nonlocal_runaway_from_outside);

  return g_test_run ();
}
