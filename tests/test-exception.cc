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
                  "nested begin, runs the rest of it, before anything of the "
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
                       again ? "job-cleanup " : "job-cleanup next-job ");
      g_assert_true (w.job_waited);
      g_assert_cmpstr (w.log.order.c_str (), ==,
                       again ? "job-cleanup worker-state " : "job-cleanup next-job worker-state ");
    }
}

/* Ends of nested lifetimes left half-way by exceptions that the job
 * catches, with lifetime-local values: innermost first, each value freed
 * once, never read after it is freed (AddressSanitizer in CI). */

std::string half_log;

void
half_append (gpointer label)
{
  half_log += static_cast<const char *> (label);
  half_log += ' ';
}

void
half_throw (gpointer)
{
  half_append ((gpointer) "T");
  throw std::runtime_error ("thrown by a callback");
}

ThreadRefLocal half_local = THREADREF_LOCAL_INIT (half_append);

void
half_register (const char *label)
{
  threadref_at_thread_exit (half_append, (gpointer) label, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

void
half_register_thrower ()
{
  threadref_at_thread_exit (half_throw, nullptr, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

/* End, catching what a callback throws. */
void
half_end (ThreadRefRef *nested)
{
  try
    {
      threadref_nested_lifetime_end (nested);
    }
  catch (const std::runtime_error &)
    {
      half_append ((gpointer) "caught");
    }
}

void
half_run (GThreadFunc func)
{
  half_log.clear ();
  g_thread_join (g_thread_new ("half-way", func, nullptr));
}

gpointer
outer_after_inner_main (gpointer)
{
  ThreadRefRef *outer, *inner;

  threadref_local_set (&half_local, (gpointer) "Lbase");
  outer = threadref_nested_lifetime_begin ();
  half_register ("O1");
  threadref_local_set (&half_local, (gpointer) "LO");
  inner = threadref_nested_lifetime_begin ();
  half_register ("I1");
  threadref_local_set (&half_local, (gpointer) "LI");
  half_register_thrower ();
  half_end (inner);
  /* The job ends the outer one: the inner one's rest goes first. */
  threadref_nested_lifetime_end (outer);
  g_assert_cmpstr (half_log.c_str (), ==, "T caught LI I1 LO O1 ");
  g_assert_cmpstr (static_cast<const char *> (threadref_local_get (&half_local)), ==, "Lbase");
  g_assert_true (threadref_ref_wait (inner, 0));
  g_object_unref (inner);
  g_object_unref (outer);
  return nullptr;
}

gpointer
no_base_main (gpointer)
{
  ThreadRefRef *first, *next;

  /* A fresh pool worker: nothing registered before the first job. */
  first = threadref_nested_lifetime_begin ();
  half_register ("B");
  threadref_local_set (&half_local, (gpointer) "L1");
  half_register_thrower ();
  half_end (first);
  next = threadref_nested_lifetime_begin ();   /* the first job's rest runs here */
  g_assert_true (threadref_ref_wait (first, 0));
  half_register ("D");
  threadref_nested_lifetime_end (next);
  g_assert_cmpstr (half_log.c_str (), ==, "T caught L1 B D ");
  g_assert_null (threadref_local_get (&half_local));
  g_object_unref (first);
  g_object_unref (next);
  return nullptr;
}

void
open_and_end_throwing (gpointer)
{
  ThreadRefRef *job = threadref_nested_lifetime_begin ();

  half_register ("X1");
  half_register_thrower ();
  half_end (job);
  half_register ("R");
  g_object_unref (job);
}

gpointer
inside_thread_end_main (gpointer)
{
  half_register ("A");
  threadref_at_thread_exit (open_and_end_throwing, nullptr, THREADREF_AT_THREAD_EXIT_DEFAULT);
  return nullptr;
}

void
ask_whole_end (gpointer)
{
  half_append ((gpointer) "E");
  threadref_end_lifetime ();
}

gpointer
end_request_main (gpointer)
{
  ThreadRefRef *job;

  half_register ("A");
  job = threadref_nested_lifetime_begin ();
  half_register ("B1");
  half_register_thrower ();
  threadref_at_thread_exit (ask_whole_end, nullptr, THREADREF_AT_THREAD_EXIT_DEFAULT);
  half_end (job);
  /* Its rest, and then the whole lifetime that a callback asked to end. */
  threadref_nested_lifetime_end (job);
  half_append ((gpointer) "ret");
  half_register ("Z");
  g_object_unref (job);
  return nullptr;
}

gpointer
every_job_throws_main (gpointer)
{
  ThreadRefRef *previous = nullptr;

  half_register ("base");
  for (int i = 0; i < 3000; i++)
    {
      ThreadRefRef *job = threadref_nested_lifetime_begin ();

      /* Nothing of the previous job is kept: its end is over. */
      if (previous != nullptr)
        {
          g_assert_true (threadref_ref_wait (previous, 0));
          g_assert_cmpuint (threadref_ref_count_registrations (previous), ==, 0);
          g_object_unref (previous);
        }
      half_register_thrower ();
      try
        {
          threadref_nested_lifetime_end (job);
        }
      catch (const std::runtime_error &)
        {
        }
      previous = job;
    }
  g_object_unref (previous);
  half_log.clear ();
  return nullptr;
}

gpointer
values_between_ends_main (gpointer)
{
  ThreadRefRef *n1 = threadref_nested_lifetime_begin ();
  ThreadRefRef *n2 = threadref_nested_lifetime_begin ();
  ThreadRefRef *n3 = threadref_nested_lifetime_begin ();

  half_register_thrower ();
  half_end (n3);
  threadref_local_set (&half_local, (gpointer) "S2");   /* n2's, over n3's rest */
  threadref_nested_lifetime_end (n3);
  half_register_thrower ();
  half_end (n2);
  threadref_local_set (&half_local, (gpointer) "S1");   /* n1's, over n2's rest */
  threadref_nested_lifetime_end (n2);
  threadref_nested_lifetime_end (n1);
  g_assert_null (threadref_local_get (&half_local));
  threadref_local_set (&half_local, (gpointer) "S0");
  g_assert_cmpstr (half_log.c_str (), ==, "T caught T caught S2 S1 ");
  g_object_unref (n1);
  g_object_unref (n2);
  g_object_unref (n3);
  return nullptr;
}

gpointer
replace_between_ends_main (gpointer)
{
  ThreadRefRef *job;

  threadref_local_set (&half_local, (gpointer) "L0");
  job = threadref_nested_lifetime_begin ();
  threadref_local_set (&half_local, (gpointer) "L1");
  half_register_thrower ();
  half_end (job);
  /* The base lifetime is current again: replace frees its value, at once,
   * and what it sets is what the thread sees. */
  threadref_local_replace (&half_local, (gpointer) "R");
  g_assert_cmpstr (static_cast<const char *> (threadref_local_get (&half_local)), ==, "R");
  threadref_nested_lifetime_end (job);
  g_assert_cmpstr (static_cast<const char *> (threadref_local_get (&half_local)), ==, "R");
  g_assert_cmpstr (half_log.c_str (), ==, "T caught L0 L1 ");
  g_object_unref (job);
  return nullptr;
}

gpointer
rest_after_base_registration_main (gpointer)
{
  ThreadRefRef *first, *next;
  ThreadRefAtThreadExit *handle;

  first = threadref_nested_lifetime_begin ();   /* nothing registered before */
  half_register ("B");
  half_register_thrower ();
  half_end (first);
  /* The worker's own lifetime starts now: the first job's rest still runs
   * at the next job's begin. */
  handle = threadref_at_thread_exit_add (half_append, (gpointer) "never", THREADREF_AT_THREAD_EXIT_DEFAULT);
  threadref_at_thread_exit_cancel (handle);
  next = threadref_nested_lifetime_begin ();
  g_assert_true (threadref_ref_wait (first, 0));
  threadref_nested_lifetime_end (next);
  g_assert_cmpstr (half_log.c_str (), ==, "T caught B ");
  g_object_unref (first);
  g_object_unref (next);
  return nullptr;
}

void
end_whole_from_callback (gpointer label)
{
  half_append (label);
  threadref_end_lifetime ();
}

gpointer
whole_rest_order_main (gpointer)
{
  /* A whole lifetime's end left half-way, with X to run; then a new one. */
  half_register ("X");
  half_register_thrower ();
  try
    {
      threadref_end_lifetime ();
    }
  catch (const std::runtime_error &)
    {
      half_append ((gpointer) "caught");
    }
  half_register ("P");
  threadref_at_thread_exit (end_whole_from_callback, (gpointer) "Q", THREADREF_AT_THREAD_EXIT_DEFAULT);
  /* Q's call returns at once: newest first, the new lifetime, then X. */
  threadref_end_lifetime ();
  g_assert_cmpstr (half_log.c_str (), ==, "T caught Q P X ");
  return nullptr;
}

void
test_exception_nested_half_way ()
{
  g_test_summary ("Nested ends left half-way by caught exceptions keep "
                  "innermost-first and newest-first order, resume at the next "
                  "begin or end, keep an end_lifetime() request, keep nothing "
                  "per job, and their lifetime-local values are freed once and "
                  "never read after");

  half_run (outer_after_inner_main);
  half_run (no_base_main);
  half_run (inside_thread_end_main);
  g_assert_cmpstr (half_log.c_str (), ==, "T caught X1 R A ");
  half_run (end_request_main);
  g_assert_cmpstr (half_log.c_str (), ==, "E T caught B1 A ret Z ");
  half_run (every_job_throws_main);
  half_run (values_between_ends_main);
  g_assert_cmpstr (half_log.c_str (), ==, "T caught T caught S2 S1 S0 ");
  half_run (replace_between_ends_main);
  g_assert_cmpstr (half_log.c_str (), ==, "T caught L0 L1 R ");
  half_run (rest_after_base_registration_main);
  half_run (whole_rest_order_main);
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
  g_test_add_func ("/threadref/exception/nested-half-way", test_exception_nested_half_way);

  return g_test_run ();
}
