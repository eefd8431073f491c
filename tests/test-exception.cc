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

struct NestedWorker
{
  Log           log;
  bool          again;       /* end the same nested lifetime again; else open the next job */
  bool          caught = false;
  bool          job_waited = false;
  std::string   order_after_catch;
  std::string   order_after_next;
  std::pair<Log *, const char *> worker_state { &log, "worker-state " };
  std::pair<Log *, const char *> job_cleanup { &log, "job-cleanup " };
  std::pair<Log *, const char *> next_job { &log, "next-job " };
};

gpointer
nested_worker_main (gpointer data)
{
  auto *w = static_cast<NestedWorker *> (data);
  ThreadRefRef *job;

  g_object_unref (threadref_finalize_new (append_label, &w->worker_state, nullptr));

  job = threadref_nested_lifetime_begin ();
  g_object_unref (threadref_finalize_new (append_label, &w->job_cleanup, nullptr));
  g_object_unref (threadref_finalize_new (throw_error, &w->log, count_thrower_destroy));
  try
    {
      threadref_nested_lifetime_end (job);
    }
  catch (const std::runtime_error &)
    {
      w->caught = true;
    }
  w->order_after_catch = w->log.order;

  if (w->again)
    threadref_nested_lifetime_end (job);
  else
    {
      ThreadRefRef *next = threadref_nested_lifetime_begin ();

      g_object_unref (threadref_finalize_new (append_label, &w->next_job, nullptr));
      threadref_nested_lifetime_end (next);
      g_object_unref (next);
    }
  w->order_after_next = w->log.order;
  /* What a pool worker's job relies on: its lifetime is over now. */
  w->job_waited = threadref_ref_wait (job, 0);
  g_object_unref (job);
  return nullptr;
}

void
test_exception_in_nested_end ()
{
  g_test_summary ("A C++ exception from a callback of a nested lifetime's end, "
                  "caught by the job: ending it again, or the next job's "
                  "nested end, runs the rest of it, before anything of the "
                  "lifetime it is nested in (a pool worker's end never comes)");

  for (bool again : { true, false })
    {
      NestedWorker w;

      w.again = again;
      g_thread_join (g_thread_new ("pool-worker", nested_worker_main, &w));

      g_assert_true (w.caught);
      g_assert_cmpint (w.log.thrower_destroys, ==, 1);
      g_assert_cmpstr (w.order_after_catch.c_str (), ==, "");
      g_assert_cmpstr (w.order_after_next.c_str (), ==,
                       again ? "job-cleanup " : "next-job job-cleanup ");
      g_assert_true (w.job_waited);
      g_assert_cmpstr (w.log.order.c_str (), ==,
                       again ? "job-cleanup worker-state " : "next-job job-cleanup worker-state ");
    }
}

} // namespace

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, nullptr);

  g_test_add_func ("/threadref/exception/through-callback", test_exception_through_callback);
  g_test_add_func ("/threadref/exception/then-thread-end", test_exception_then_thread_end);
  g_test_add_func ("/threadref/exception/in-nested-end", test_exception_in_nested_end);

  return g_test_run ();
}
