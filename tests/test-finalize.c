/* test-finalize.c: ThreadRefFinalize (rules 1-5)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "test-util.h"

typedef struct {
  Counter            counter;
  ThreadRefFinalize *fin;       /* weak: the finalizer keeps itself alive */
  pthread_t          worker;
} DropFixture;

static gpointer
make_and_drop_finalizer (gpointer data)
{
  DropFixture *f = data;
  ThreadRefFinalize *fin = threadref_finalize_new (counter_finalize_func, &f->counter, counter_destroy);

  f->worker = pthread_self ();
  f->fin = fin;
  g_object_add_weak_pointer (G_OBJECT (fin), (gpointer *) &f->fin);
  g_object_unref (fin);

  /* Still alive with no reference of ours. */
  g_assert_nonnull (f->fin);
  g_assert_true (threadref_finalize_is_alive (f->fin));
  return NULL;
}

static void
test_finalize_keeps_itself_alive (void)
{
  DropFixture f = { 0 };

  g_test_summary ("A finalizer whose creator dropped it at once still runs "
                  "once on its ending thread, then is released");

  run_in_thread (make_and_drop_finalizer, &f);

  g_assert_cmpint (f.counter.calls, ==, 1);
  g_assert_cmpint (f.counter.destroys, ==, 1);
  g_assert_true (pthread_equal (f.counter.last_thread, f.worker));
  g_assert_null (f.fin);
}

typedef struct {
  Counter            counter;
  ThreadRefFinalize *fin;
} HeldFixture;

static void
make_finalizer (gpointer data)
{
  HeldFixture *f = data;

  f->fin = threadref_finalize_new (counter_finalize_func, &f->counter, counter_destroy);
}

static void
test_finalize_call (void)
{
  HeldFixture f = { 0 };
  HeldThread held;
  GThread *dup;

  g_test_summary ("call() runs the function once, on the calling thread, "
                  "from any thread; later calls and the thread's end do not");

  held_thread_start (&held, "finalize-worker", make_finalizer, &f);
  g_assert_true (threadref_finalize_is_alive (f.fin));
  g_assert_true (threadref_finalize_call (f.fin));
  g_assert_cmpint (f.counter.calls, ==, 1);
  g_assert_cmpint (f.counter.destroys, ==, 1);
  g_assert_true (pthread_equal (f.counter.last_thread, pthread_self ()));
  g_assert_false (threadref_finalize_is_alive (f.fin));
  g_assert_false (threadref_finalize_call (f.fin));
  g_assert_false (threadref_finalize_detach (f.fin));

  /* dup_thread is about the thread, which still runs. */
  dup = threadref_finalize_dup_thread (f.fin);
  g_assert_true (dup == held.thread);
  g_thread_unref (dup);

  held_thread_finish (&held);
  g_assert_cmpint (f.counter.calls, ==, 1);
  g_assert_cmpint (f.counter.destroys, ==, 1);
  g_assert_null (threadref_finalize_dup_thread (f.fin));
  g_object_unref (f.fin);
}

static void
test_finalize_detach (void)
{
  HeldFixture f = { 0 };
  HeldThread held;

  g_test_summary ("detach() kills the finalizer without running it; its "
                  "destroy notify runs then, once");

  held_thread_start (&held, "finalize-worker", make_finalizer, &f);
  g_assert_true (threadref_finalize_detach (f.fin));
  g_assert_cmpint (f.counter.calls, ==, 0);
  g_assert_cmpint (f.counter.destroys, ==, 1);
  g_assert_false (threadref_finalize_is_alive (f.fin));
  g_assert_false (threadref_finalize_detach (f.fin));
  g_assert_false (threadref_finalize_call (f.fin));

  held_thread_finish (&held);
  g_assert_cmpint (f.counter.calls, ==, 0);
  g_assert_cmpint (f.counter.destroys, ==, 1);
  g_object_unref (f.fin);
}

static void
test_finalize_after_end (void)
{
  HeldFixture f = { 0 };
  HeldThread held;

  g_test_summary ("After its thread ended, a kept finalizer is dead: call() "
                  "and detach() return FALSE and run nothing");

  held_thread_start (&held, "finalize-worker", make_finalizer, &f);
  held_thread_finish (&held);
  g_assert_cmpint (f.counter.calls, ==, 1);
  g_assert_false (threadref_finalize_is_alive (f.fin));
  g_assert_false (threadref_finalize_call (f.fin));
  g_assert_false (threadref_finalize_detach (f.fin));
  g_assert_null (threadref_finalize_dup_thread (f.fin));
  g_assert_cmpint (f.counter.calls, ==, 1);
  g_assert_cmpint (f.counter.destroys, ==, 1);
  g_object_unref (f.fin);
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    data)
{
  (*(gint *) data)++;
}

static void
noop (gpointer data)
{
}

static void
test_finalize_atexit_property (void)
{
  ThreadRefFinalize *fin = threadref_finalize_new (noop, NULL, NULL);
  gint notifies = 0;
  gboolean value = FALSE;

  g_test_summary ("atexit defaults to TRUE, can be set through the accessor "
                  "and the property, and is notified only on change");

  g_signal_connect (fin, "notify::atexit", G_CALLBACK (count_notify), &notifies);

  g_assert_true (threadref_finalize_get_atexit (fin));
  threadref_finalize_set_atexit (fin, TRUE);
  g_assert_cmpint (notifies, ==, 0);
  threadref_finalize_set_atexit (fin, FALSE);
  g_assert_false (threadref_finalize_get_atexit (fin));
  g_assert_cmpint (notifies, ==, 1);
  g_object_set (fin, "atexit", TRUE, NULL);
  g_object_get (fin, "atexit", &value, NULL);
  g_assert_true (value);
  g_assert_cmpint (notifies, ==, 2);

  g_assert_true (threadref_finalize_detach (fin));
  g_object_unref (fin);
}

typedef struct {
  ThreadRefFinalize *fin;
  gboolean           alive_inside;
  gint               alive_notifies;
} InsideData;

static void
check_alive_inside (gpointer data)
{
  InsideData *d = data;

  d->alive_inside = threadref_finalize_is_alive (d->fin);
}

static void
test_finalize_alive_and_notify (void)
{
  InsideData d = { 0 };

  g_test_summary ("A finalizer is dead while its function runs, and "
                  "notify::alive is emitted once when it dies");

  d.fin = threadref_finalize_new (check_alive_inside, &d, NULL);
  g_signal_connect (d.fin, "notify::alive", G_CALLBACK (count_notify), &d.alive_notifies);
  g_assert_true (threadref_finalize_call (d.fin));
  g_assert_false (d.alive_inside);
  g_assert_cmpint (d.alive_notifies, ==, 1);
  g_object_unref (d.fin);
}

static void
test_finalize_bare_g_object_new (void)
{
  ThreadRefFinalize *fin;
  ThreadRefRef *ref;

  g_test_summary ("g_object_new() without a function (as a language binding "
                  "might do) is a critical at once and makes a dead finalizer "
                  "(never NULL, which GObject forbids a constructor to return), "
                  "with or without properties; a ref made that way works, with "
                  "no callback");

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL, "*needs a function*");
  fin = g_object_new (THREADREF_TYPE_FINALIZE, NULL);
  g_test_assert_expected_messages ();
  g_assert_true (THREADREF_IS_FINALIZE (fin));
  g_assert_false (threadref_finalize_is_alive (fin));
  g_assert_false (threadref_finalize_detach (fin));
  threadref_finalize_call (fin);
  g_assert_false (threadref_finalize_is_alive (fin));
  g_object_unref (fin);

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL, "*needs a function*");
  fin = g_object_new (THREADREF_TYPE_FINALIZE, "atexit", FALSE, NULL);
  g_test_assert_expected_messages ();
  g_assert_false (threadref_finalize_is_alive (fin));
  g_assert_false (threadref_finalize_get_atexit (fin));
  g_object_unref (fin);

  ref = g_object_new (THREADREF_TYPE_REF, NULL);
  g_assert_true (threadref_ref_is_alive (ref));
  g_object_unref (ref);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/finalize/keeps-itself-alive", test_finalize_keeps_itself_alive);
  g_test_add_func ("/threadref/finalize/call", test_finalize_call);
  g_test_add_func ("/threadref/finalize/detach", test_finalize_detach);
  g_test_add_func ("/threadref/finalize/after-end", test_finalize_after_end);
  g_test_add_func ("/threadref/finalize/atexit-property", test_finalize_atexit_property);
  g_test_add_func ("/threadref/finalize/alive-and-notify", test_finalize_alive_and_notify);
  g_test_add_func ("/threadref/finalize/bare-g-object-new", test_finalize_bare_g_object_new);

  return g_test_run ();
}
