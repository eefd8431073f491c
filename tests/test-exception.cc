/* test-exception.cc: a C++ exception thrown by a callback, through
 * threadref, caught by the code that ended the lifetime
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The C++ runtime lets an exception unwind through C frames that have
 * unwind information (threadref is built with -fexceptions). Nothing of the
 * lifetime is lost: the throwing finalizer's destroy notify runs on the
 * way out, and the rest of the lifetime runs at the next end — its own
 * thread's at the latest.
 */

#include <stdexcept>
#include <string>

#include <threadref.h>

namespace {

struct Log
{
  std::string order;
  int thrower_destroys = 0;
};

void
append_label (gpointer data)
{
  auto *entry = static_cast<std::pair<Log *, const char *> *> (data);

  entry->first->order += entry->second;
}

void
throw_error (gpointer)
{
  throw std::runtime_error ("thrown by a finalizer");
}

void
count_thrower_destroy (gpointer data)
{
  static_cast<Log *> (data)->thrower_destroys++;
}

struct Worker
{
  Log         log;
  ThreadRefRef  *ref = nullptr;
  bool        caught = false;
  bool        ref_alive_after_catch = true;
  std::string order_after_catch;
  std::pair<Log *, const char *> older { &log, "older " };
  std::pair<Log *, const char *> newer { &log, "newer " };
};

gpointer
worker_main (gpointer data)
{
  auto *w = static_cast<Worker *> (data);

  w->ref = threadref_ref_new (nullptr, nullptr, nullptr);
  g_object_unref (threadref_finalize_new (append_label, &w->older, nullptr));
  g_object_unref (threadref_finalize_new (throw_error, &w->log, count_thrower_destroy));

  try
    {
      threadref_end_lifetime ();
    }
  catch (const std::runtime_error &)
    {
      w->caught = true;
    }
  w->ref_alive_after_catch = threadref_ref_is_alive (w->ref);
  w->order_after_catch = w->log.order;

  /* A fresh lifetime: it ends first, then the interrupted one goes on. */
  g_object_unref (threadref_finalize_new (append_label, &w->newer, nullptr));
  threadref_end_lifetime ();
  return nullptr;
}

void
test_exception_through_callback ()
{
  Worker w;

  g_test_summary ("A C++ exception from a finalizer unwinds through "
                  "threadref_end_lifetime() to its caller: the finalizer's "
                  "destroy notify runs on the way, and the rest of the "
                  "lifetime runs at the next end, after what is newer");

  g_thread_join (g_thread_new ("thrower", worker_main, &w));

  g_assert_true (w.caught);
  g_assert_cmpint (w.log.thrower_destroys, ==, 1);
  g_assert_false (w.ref_alive_after_catch);
  g_assert_cmpstr (w.order_after_catch.c_str (), ==, "");
  g_assert_cmpstr (w.log.order.c_str (), ==, "newer older ");
  g_assert_true (threadref_ref_wait (w.ref, 0));
  g_object_unref (w.ref);
}

gpointer
uncaught_worker (gpointer data)
{
  auto *w = static_cast<Worker *> (data);

  w->ref = threadref_ref_new (nullptr, nullptr, nullptr);
  g_object_unref (threadref_finalize_new (append_label, &w->older, nullptr));
  g_object_unref (threadref_finalize_new (throw_error, &w->log, count_thrower_destroy));
  try
    {
      threadref_end_lifetime ();
    }
  catch (const std::runtime_error &)
    {
      w->caught = true;
    }
  /* The thread ends without ending its lifetime again: its end does. */
  return nullptr;
}

void
test_exception_then_thread_end ()
{
  Worker w;

  g_test_summary ("After an exception was caught, the thread's own end "
                  "finishes the interrupted lifetime");

  g_thread_join (g_thread_new ("thrower", uncaught_worker, &w));

  g_assert_true (w.caught);
  g_assert_cmpint (w.log.thrower_destroys, ==, 1);
  g_assert_cmpstr (w.log.order.c_str (), ==, "older ");
  g_assert_true (threadref_ref_wait (w.ref, 0));
  g_object_unref (w.ref);
}

} // namespace

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/threadref/exception/through-callback", test_exception_through_callback);
  g_test_add_func ("/threadref/exception/then-thread-end", test_exception_then_thread_end);

  return g_test_run ();
}
