/* test-diagnostics.c: what a developer can ask and see — counting a
 * lifetime's registrations, and the debug messages of
 * G_MESSAGES_DEBUG=ThreadRef
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "test-util.h"

static void
noop (gpointer data)
{
}

static void
noop_ref (ThreadRefRef *ref,
          gpointer      data)
{
}

/* --- Counting ------------------------------------------------------------- */

typedef struct {
  ThreadRefRef          *ref;       /* made on the worker */
  ThreadRefFinalize     *fin;       /* a finalizer, kept */
  ThreadRefAtThreadExit *handle;    /* a cancellable plain registration */
} Registrations;

static void
make_registrations (gpointer data)
{
  Registrations *r = data;
  ThreadRefFinalize *detached;

  r->ref = threadref_ref_new (NULL, NULL, NULL);
  g_assert_cmpuint (threadref_ref_count_registrations (r->ref), ==, 1);

  r->fin = threadref_finalize_new (noop, NULL, NULL);
  threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
  r->handle = threadref_at_thread_exit_add (noop, NULL, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
  g_assert_cmpuint (threadref_ref_count_registrations (r->ref), ==, 4);

  /* What is dropped, detached or called does not count any more. */
  detached = threadref_finalize_new (noop, NULL, NULL);
  g_assert_cmpuint (threadref_ref_count_registrations (r->ref), ==, 5);
  g_assert_true (threadref_finalize_detach (detached));
  g_object_unref (detached);
  g_assert_cmpuint (threadref_ref_count_registrations (r->ref), ==, 4);

  g_object_unref (threadref_ref_new (noop_ref, NULL, NULL));
  g_assert_cmpuint (threadref_ref_count_registrations (r->ref), ==, 4);
}

static void
test_count_registrations (void)
{
  Registrations r = { 0 };
  HeldThread h;
  ThreadRefRef *watcher;

  g_test_summary ("threadref_ref_count_registrations() counts what waits for "
                  "the lifetime's end, from any thread: live refs, finalizers, "
                  "plain registrations; not what was dropped, detached, called "
                  "or cancelled; 0 after the end");

  held_thread_start (&h, "counted", make_registrations, &r);

  /* From another thread. */
  g_assert_cmpuint (threadref_ref_count_registrations (r.ref), ==, 4);

  /* A watch adds to the watched lifetime, not to the caller's. */
  watcher = threadref_ref_watch (r.ref, noop_ref, NULL, NULL);
  g_assert_cmpuint (threadref_ref_count_registrations (r.ref), ==, 5);
  g_assert_cmpuint (threadref_ref_count_registrations (watcher), ==, 5);

  g_assert_true (threadref_finalize_call (r.fin));
  g_assert_cmpuint (threadref_ref_count_registrations (r.ref), ==, 4);
  g_assert_true (threadref_at_thread_exit_cancel (r.handle));
  g_assert_cmpuint (threadref_ref_count_registrations (r.ref), ==, 3);
  g_object_unref (watcher);
  g_assert_cmpuint (threadref_ref_count_registrations (r.ref), ==, 2);

  held_thread_finish (&h);
  g_assert_cmpuint (threadref_ref_count_registrations (r.ref), ==, 0);

  g_object_unref (r.fin);
  g_object_unref (r.ref);
}

static void
count_at_end (ThreadRefRef *ref,
              gpointer      data)
{
  guint *seen = data;

  *seen = threadref_ref_count_registrations (ref);
}

static gpointer
count_at_end_thread (gpointer data)
{
  guint *seen = data;
  ThreadRefRef *first = threadref_ref_new (NULL, NULL, NULL);
  ThreadRefRef *counting;

  threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
  threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
  counting = threadref_ref_new (count_at_end, seen, NULL);
  threadref_end_lifetime ();

  g_object_unref (counting);
  g_object_unref (first);
  return NULL;
}

static void
test_count_inside_callback (void)
{
  guint seen = G_MAXUINT;

  g_test_summary ("Inside the newest callback of an ending lifetime, the count "
                  "is the older registrations that have yet to run");

  run_in_thread (count_at_end_thread, &seen);
  /* first and the two plain registrations. */
  g_assert_cmpuint (seen, ==, 3);
}

/* --- Debug messages ------------------------------------------------------- */

static gpointer
registering_worker (gpointer data)
{
  ThreadRefRef *ref = threadref_ref_new (NULL, NULL, NULL);
  ThreadRefFinalize *fin1 = threadref_finalize_new (noop, NULL, NULL);
  ThreadRefFinalize *fin2 = threadref_finalize_new (noop, NULL, NULL);

  for (guint i = 0; i < 3; i++)
    threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);

  g_object_unref (fin1);
  g_object_unref (fin2);
  /* The ref is kept alive past the end by the test's reference. */
  return ref;
}

static void
debug_messages_subprocess (void)
{
  GThread *thread;
  ThreadRefRef *ref;

  thread = g_thread_new ("debugged-worker", registering_worker, NULL);
  ref = g_thread_join (thread);
  g_object_unref (ref);
}

static void
test_debug_messages (void)
{
  g_test_summary ("With G_MESSAGES_DEBUG=ThreadRef, a lifetime's start and end "
                  "are logged with the thread's name and how many refs, "
                  "finalizers and plain registrations ran");

  if (g_test_subprocess ())
    {
      g_setenv ("G_MESSAGES_DEBUG", "ThreadRef", TRUE);
      debug_messages_subprocess ();
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*ThreadRef-DEBUG*thread ?debugged-worker? (*): lifetime * starts*");
  g_test_trap_assert_stdout ("*ThreadRef-DEBUG*thread ?debugged-worker? (*): lifetime * ended: "
                             "ran 1 refs, 2 finalizers and 3 plain registrations*");
}

static void
test_debug_messages_off (void)
{
  g_test_summary ("Without G_MESSAGES_DEBUG naming ThreadRef, nothing is logged");

  if (g_test_subprocess ())
    {
      g_setenv ("G_MESSAGES_DEBUG", "SomeoneElse", TRUE);
      debug_messages_subprocess ();
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout_unmatched ("*ThreadRef*");
  g_test_trap_assert_stderr_unmatched ("*ThreadRef*");
}

static void
test_debug_enabled_later (void)
{
  g_test_summary ("g_log_set_debug_enabled (TRUE) turns the messages on for "
                  "lifetimes that start after it, though G_MESSAGES_DEBUG was "
                  "read (and said no) before");

  if (g_test_subprocess ())
    {
      g_unsetenv ("G_MESSAGES_DEBUG");
      debug_messages_subprocess ();   /* reads the environment: off */
      g_print ("-- switched on --\n");
      g_log_set_debug_enabled (TRUE);
      debug_messages_subprocess ();
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout_unmatched ("*ThreadRef-DEBUG*-- switched on --*");
  g_test_trap_assert_stdout ("*-- switched on --*ThreadRef-DEBUG*lifetime * ended: "
                             "ran 1 refs, 2 finalizers and 3 plain registrations*");
}

static void
hold_finalizer (gpointer data)
{
  /* A finalizer of a thread that still runs at exit: the exit pass runs it. */
  g_object_unref (threadref_finalize_new (noop, NULL, NULL));
  threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

static void
test_debug_exit_pass (void)
{
  g_test_summary ("With G_MESSAGES_DEBUG=ThreadRef, process exit logs the exit "
                  "pass with the exiting thread's name and how many registrations "
                  "of other threads it ran");

  if (g_test_subprocess ())
    {
      HeldThread h;

      g_setenv ("G_MESSAGES_DEBUG", "ThreadRef", TRUE);
      held_thread_start (&h, "still-running", hold_finalizer, NULL);
      exit (0);
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout ("*process exit on thread ?*?: the pass starts*");
  g_test_trap_assert_stdout ("*the pass ran 2 finalizers and plain registrations of other threads*");
  /* glibc calls the re-armed handler once more after the pass: that call,
   * which runs nothing, is not a second pass in the log. */
  g_test_trap_assert_stdout_unmatched ("*the pass starts*the pass starts*");
  g_test_trap_assert_stdout_unmatched ("*the pass ran 0*");
}

static void
exit_again (gpointer data)
{
  exit (4);
}

static void
hold_exiting_finalizer (gpointer data)
{
  g_object_unref (threadref_finalize_new (noop, NULL, NULL));
  g_object_unref (threadref_finalize_new (exit_again, NULL, NULL));
}

static void
test_debug_exit_pass_nested (void)
{
  g_test_summary ("A callback of the exit pass that calls exit() again shows as "
                  "the same pass going on, not as a new one");

  if (g_test_subprocess ())
    {
      HeldThread h;

      g_setenv ("G_MESSAGES_DEBUG", "ThreadRef", TRUE);
      held_thread_start (&h, "still-running", hold_exiting_finalizer, NULL);
      exit (0);
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stdout ("*the pass starts*the pass went on (a callback called exit()) "
                             "and ran 1 more*");
  g_test_trap_assert_stdout_unmatched ("*the pass starts*the pass starts*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/diagnostics/count", test_count_registrations);
  g_test_add_func ("/threadref/diagnostics/count-inside-callback", test_count_inside_callback);
  g_test_add_func ("/threadref/diagnostics/debug-messages", test_debug_messages);
  g_test_add_func ("/threadref/diagnostics/debug-messages-off", test_debug_messages_off);
  g_test_add_func ("/threadref/diagnostics/debug-exit-pass-nested", test_debug_exit_pass_nested);
  g_test_add_func ("/threadref/diagnostics/debug-enabled-later", test_debug_enabled_later);
  g_test_add_func ("/threadref/diagnostics/debug-exit-pass", test_debug_exit_pass);

  return g_test_run ();
}
