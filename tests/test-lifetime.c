/* test-lifetime.c: ending a lifetime without ending the thread, waiting for a
 * thread's end, and watching another thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "test-util.h"

/* --- threadref_end_lifetime() --------------------------------------------- */

typedef struct {
  OrderLog      log;
  OrderEntry    entries[3];
  ThreadRefRef *old_ref;
  ThreadRefRef *new_ref;
  gboolean      old_alive_after;
  gboolean      new_alive_after;
  gboolean      equal;
  char         *log_after_end;
} EndData;

static gpointer
end_lifetime_worker (gpointer data)
{
  EndData *d = data;

  d->old_ref = threadref_ref_new (order_entry_ref_func, &d->entries[0], NULL);
  g_object_unref (threadref_finalize_new (order_entry_finalize_func, &d->entries[1], NULL));

  threadref_end_lifetime ();

  d->log_after_end = g_strdup (d->log.log->str);
  d->old_alive_after = threadref_ref_is_alive (d->old_ref);
  d->new_ref = threadref_ref_new (order_entry_ref_func, &d->entries[2], NULL);
  d->new_alive_after = threadref_ref_is_alive (d->new_ref);
  d->equal = threadref_ref_equal (d->old_ref, d->new_ref);
  return NULL;
}

static void
test_lifetime_end (void)
{
  EndData d = { 0 };

  g_test_summary ("threadref_end_lifetime() runs the calling thread's refs and "
                  "finalizers now, newest first; later refs belong to a fresh "
                  "lifetime and run when the thread ends");

  order_log_init (&d.log);
  d.entries[0] = (OrderEntry) { &d.log, "old-ref" };
  d.entries[1] = (OrderEntry) { &d.log, "old-fin" };
  d.entries[2] = (OrderEntry) { &d.log, "new-ref" };

  run_in_thread (end_lifetime_worker, &d);

  g_assert_cmpstr (d.log_after_end, ==, "old-fin old-ref");
  g_assert_false (d.old_alive_after);
  g_assert_true (d.new_alive_after);
  g_assert_false (d.equal);
  g_assert_cmpstr (d.log.log->str, ==, "old-fin old-ref new-ref");

  g_object_unref (d.old_ref);
  g_object_unref (d.new_ref);
  g_free (d.log_after_end);
  order_log_clear (&d.log);
}

/* A GThreadPool whose jobs end their lifetime: each job's per-thread state
 * is released at the end of the job, on the worker, though the worker lives
 * on. */
typedef struct {
  GMutex      mutex;
  GHashTable *workers;        /* pthread_t values seen, as strings */
  gint        cleanups;
  gint        cleanups_on_worker;
  gint        jobs;
  gint        refs_dead_after_job;
} PoolData;

typedef struct {
  PoolData  *pool;
  pthread_t  worker;
} JobState;

static void
job_cleanup (gpointer data)
{
  JobState *state = data;

  g_atomic_int_inc (&state->pool->cleanups);
  if (pthread_equal (pthread_self (), state->worker))
    g_atomic_int_inc (&state->pool->cleanups_on_worker);
  g_free (state);
}

static void
pool_job (gpointer data,
          gpointer user_data)
{
  PoolData *pool = user_data;
  JobState *state = g_new0 (JobState, 1);
  ThreadRefRef *job_ref;
  char *worker_key;

  state->pool = pool;
  state->worker = pthread_self ();
  g_object_unref (threadref_finalize_new (job_cleanup, state, NULL));
  job_ref = threadref_ref_new (NULL, NULL, NULL);

  threadref_end_lifetime ();

  if (!threadref_ref_is_alive (job_ref))
    g_atomic_int_inc (&pool->refs_dead_after_job);
  g_object_unref (job_ref);

  worker_key = g_strdup_printf ("%lu", (unsigned long) pthread_self ());
  g_mutex_lock (&pool->mutex);
  g_hash_table_add (pool->workers, worker_key);
  pool->jobs++;
  g_mutex_unlock (&pool->mutex);
}

static void
test_lifetime_thread_pool (void)
{
  PoolData pool = { 0 };
  GThreadPool *thread_pool;
  guint n_jobs = 200;

  g_test_summary ("A real GThreadPool whose jobs call threadref_end_lifetime(): "
                  "every job's cleanup runs at the end of that job, on its "
                  "worker, while the workers are reused");

  g_mutex_init (&pool.mutex);
  pool.workers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  thread_pool = g_thread_pool_new (pool_job, &pool, 2, FALSE, NULL);
  for (guint i = 0; i < n_jobs; i++)
    g_thread_pool_push (thread_pool, GUINT_TO_POINTER (i + 1), NULL);
  g_thread_pool_free (thread_pool, FALSE, TRUE);

  g_mutex_lock (&pool.mutex);   /* the last job's writes, for TSan too */
  g_assert_cmpint (pool.jobs, ==, n_jobs);
  g_assert_cmpint (pool.cleanups, ==, n_jobs);
  g_assert_cmpint (pool.cleanups_on_worker, ==, n_jobs);
  g_assert_cmpint (pool.refs_dead_after_job, ==, n_jobs);
  /* Far fewer workers than jobs: the threads lived on. */
  g_assert_cmpuint (g_hash_table_size (pool.workers), <=, 2 + 2);
  g_test_message ("%u jobs on %u worker threads", n_jobs, g_hash_table_size (pool.workers));
  g_mutex_unlock (&pool.mutex);

  g_hash_table_unref (pool.workers);
  g_mutex_clear (&pool.mutex);
}

/* threadref_end_lifetime() from a callback of an ending lifetime. */
typedef struct {
  gint ran;
} NestedEnd;

static void
count_ran (gpointer data)
{
  ((NestedEnd *) data)->ran++;
}

static void
end_from_callback (gpointer data)
{
  ((NestedEnd *) data)->ran++;
  threadref_end_lifetime ();
}

static gpointer
nested_end_worker (gpointer data)
{
  g_object_unref (threadref_finalize_new (count_ran, data, NULL));
  g_object_unref (threadref_finalize_new (count_ran, data, NULL));
  g_object_unref (threadref_finalize_new (end_from_callback, data, NULL));
  return NULL;
}

static void
test_lifetime_end_in_callback (void)
{
  NestedEnd d = { 0 };

  g_test_summary ("threadref_end_lifetime() called by a callback while its "
                  "lifetime ends runs the rest once, without double runs");

  run_in_thread (nested_end_worker, &d);
  g_assert_cmpint (d.ran, ==, 3);
}

/* --- threadref_ref_wait() and wait_async() -------------------------------- */

typedef struct {
  ThreadRefRef *ref;
  GMutex        mutex;
  GCond         cond;
  gint          stage;     /* 1: ref made; 2: may end */
  gint          slow_done;
  gboolean      end_lifetime_only;
} WaitData;

static void
slow_cleanup (gpointer data)
{
  WaitData *d = data;

  g_usleep (20 * 1000);
  g_atomic_int_set (&d->slow_done, 1);
}

static gpointer
wait_worker (gpointer data)
{
  WaitData *d = data;

  d->ref = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (slow_cleanup, d, NULL));

  g_mutex_lock (&d->mutex);
  d->stage = 1;
  g_cond_broadcast (&d->cond);
  while (d->stage < 2)
    g_cond_wait (&d->cond, &d->mutex);
  g_mutex_unlock (&d->mutex);

  if (d->end_lifetime_only)
    {
      threadref_end_lifetime ();
      /* Stays alive a while longer: the wait must not need the thread to end. */
      g_usleep (200 * 1000);
    }
  return NULL;
}

static GThread *
wait_start (WaitData *d)
{
  GThread *thread;

  g_mutex_init (&d->mutex);
  g_cond_init (&d->cond);
  thread = g_thread_new ("wait-worker", wait_worker, d);
  g_mutex_lock (&d->mutex);
  while (d->stage < 1)
    g_cond_wait (&d->cond, &d->mutex);
  g_mutex_unlock (&d->mutex);
  return thread;
}

static void
wait_let_end (WaitData *d)
{
  g_mutex_lock (&d->mutex);
  d->stage = 2;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->mutex);
}

static void
wait_finish_test (WaitData *d,
                  GThread  *thread)
{
  g_thread_join (thread);
  g_object_unref (d->ref);
  g_mutex_clear (&d->mutex);
  g_cond_clear (&d->cond);
}

static void
test_wait_blocking (void)
{
  WaitData d = { 0 };
  GThread *thread = wait_start (&d);
  gint64 start;

  g_test_summary ("threadref_ref_wait() times out while the thread runs, and "
                  "returns TRUE once it ended and its callbacks returned");

  g_assert_false (threadref_ref_wait (d.ref, 0));
  start = g_get_monotonic_time ();
  g_assert_false (threadref_ref_wait (d.ref, 30 * 1000));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 30 * 1000);

  wait_let_end (&d);
  g_assert_true (threadref_ref_wait (d.ref, -1));
  /* The slow finalizer had returned: no join needed. */
  g_assert_cmpint (g_atomic_int_get (&d.slow_done), ==, 1);
  g_assert_true (threadref_ref_wait (d.ref, 0));

  wait_finish_test (&d, thread);
}

static void
test_wait_end_lifetime (void)
{
  WaitData d = { .end_lifetime_only = TRUE };
  GThread *thread = wait_start (&d);

  g_test_summary ("threadref_ref_wait() also returns when the lifetime ends "
                  "while the thread keeps running");

  wait_let_end (&d);
  g_assert_true (threadref_ref_wait (d.ref, 5 * G_USEC_PER_SEC));
  g_assert_cmpint (g_atomic_int_get (&d.slow_done), ==, 1);
  wait_finish_test (&d, thread);
}

static void
test_wait_own_thread (void)
{
  ThreadRefRef *ref = threadref_ref_new (NULL, NULL, NULL);

  g_test_summary ("Waiting on one's own thread is a critical and returns FALSE");

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL, "*calling thread*wait*forever*");
  g_assert_false (threadref_ref_wait (ref, 0));
  g_test_assert_expected_messages ();
  g_object_unref (ref);
}

typedef struct {
  GMainLoop *loop;
  gboolean   done;
  gboolean   result;
  GError    *error;
  GThread   *callback_thread;
} AsyncResultData;

static void
on_wait_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  AsyncResultData *r = user_data;

  r->done = TRUE;
  r->callback_thread = g_thread_self ();
  r->result = threadref_ref_wait_finish (THREADREF_REF (source), result, &r->error);
  g_main_loop_quit (r->loop);
}

static gboolean
let_end_later (gpointer data)
{
  wait_let_end (data);
  return G_SOURCE_REMOVE;
}

static void
test_wait_async (void)
{
  WaitData d = { 0 };
  GThread *thread = wait_start (&d);
  AsyncResultData r = { 0 };

  g_test_summary ("threadref_ref_wait_async() completes in the caller's main "
                  "context once the thread ended and its callbacks returned");

  r.loop = g_main_loop_new (NULL, FALSE);
  threadref_ref_wait_async (d.ref, NULL, on_wait_done, &r);
  g_assert_false (r.done);   /* never synchronously */
  g_timeout_add (10, let_end_later, &d);
  g_main_loop_run (r.loop);

  g_assert_true (r.done);
  g_assert_true (r.result);
  g_assert_no_error (r.error);
  g_assert_true (r.callback_thread == g_thread_self ());
  g_assert_cmpint (g_atomic_int_get (&d.slow_done), ==, 1);

  /* Already ended: still completes, still asynchronously. */
  r.done = FALSE;
  threadref_ref_wait_async (d.ref, NULL, on_wait_done, &r);
  g_assert_false (r.done);
  g_main_loop_run (r.loop);
  g_assert_true (r.result);

  g_main_loop_unref (r.loop);
  wait_finish_test (&d, thread);
}

static gboolean
cancel_later (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_wait_async_cancel (void)
{
  WaitData d = { 0 };
  GThread *thread = wait_start (&d);
  AsyncResultData r = { 0 };
  GCancellable *cancellable = g_cancellable_new ();

  g_test_summary ("Cancelling threadref_ref_wait_async() completes it with "
                  "G_IO_ERROR_CANCELLED while the thread still runs");

  r.loop = g_main_loop_new (NULL, FALSE);
  threadref_ref_wait_async (d.ref, cancellable, on_wait_done, &r);
  g_timeout_add (10, cancel_later, cancellable);
  g_main_loop_run (r.loop);

  g_assert_false (r.result);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (threadref_ref_is_alive (d.ref));
  g_clear_error (&r.error);

  wait_let_end (&d);
  g_main_loop_unref (r.loop);
  g_object_unref (cancellable);
  wait_finish_test (&d, thread);
}

/* Many async waits racing the end and cancellation: each completes once. */
static void
count_completion (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  gint *counts = user_data;
  GError *error = NULL;

  if (threadref_ref_wait_finish (THREADREF_REF (source), result, &error))
    counts[0]++;
  else
    {
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_error_free (error);
      counts[1]++;
    }
}

static void
test_wait_async_race (void)
{
  guint iterations = test_size (200);
  gint counts[2] = { 0, 0 };

  g_test_summary ("Async waits racing the thread's end and their cancellation "
                  "each complete exactly once");

  for (guint i = 0; i < iterations; i++)
    {
      WaitData d = { 0 };
      GThread *thread = wait_start (&d);
      GCancellable *cancellable = g_cancellable_new ();

      threadref_ref_wait_async (d.ref, cancellable, count_completion, counts);
      threadref_ref_wait_async (d.ref, NULL, count_completion, counts);
      wait_let_end (&d);
      if (i % 2)
        g_cancellable_cancel (cancellable);
      g_thread_join (thread);
      while (counts[0] + counts[1] < (gint) (2 * (i + 1)))
        g_main_context_iteration (NULL, TRUE);
      g_object_unref (cancellable);
      g_object_unref (d.ref);
      g_mutex_clear (&d.mutex);
      g_cond_clear (&d.cond);
    }

  g_test_message ("%u iterations: %d ended, %d cancelled", iterations, counts[0], counts[1]);
  g_assert_cmpint (counts[0] + counts[1], ==, 2 * iterations);
  g_assert_cmpint (counts[0], >=, iterations);
}

/* --- watching another thread ------------------------------------------- */

typedef struct {
  WaitData   wait;
  Counter    ref_counter;
  Counter    fin_counter;
  pthread_t  worker;
} WatchData;

static gpointer
watch_worker (gpointer data)
{
  WatchData *w = data;

  w->worker = pthread_self ();
  return wait_worker (&w->wait);
}

static void
test_watch_other_thread (void)
{
  WatchData w = { 0 };
  GThread *thread;
  ThreadRefRef *watch;
  ThreadRefFinalize *fin;

  g_test_summary ("A ref and a finalizer made from another thread for a "
                  "running thread run on that thread when it ends");

  g_mutex_init (&w.wait.mutex);
  g_cond_init (&w.wait.cond);
  thread = g_thread_new ("watched", watch_worker, &w);
  g_mutex_lock (&w.wait.mutex);
  while (w.wait.stage < 1)
    g_cond_wait (&w.wait.cond, &w.wait.mutex);
  g_mutex_unlock (&w.wait.mutex);

  watch = threadref_ref_watch (w.wait.ref, counter_ref_func, &w.ref_counter, counter_destroy);
  fin = threadref_ref_watch_finalize (w.wait.ref, counter_finalize_func, &w.fin_counter, counter_destroy);
  g_assert_nonnull (watch);
  g_assert_nonnull (fin);
  g_assert_true (threadref_ref_equal (watch, w.wait.ref));
  g_assert_true (threadref_ref_is_alive (watch));
  g_object_unref (fin);

  wait_let_end (&w.wait);
  g_thread_join (thread);

  g_assert_cmpint (w.ref_counter.calls, ==, 1);
  g_assert_true (pthread_equal (w.ref_counter.last_thread, w.worker));
  g_assert_cmpint (w.fin_counter.calls, ==, 1);
  g_assert_true (pthread_equal (w.fin_counter.last_thread, w.worker));
  g_assert_cmpint (w.fin_counter.destroys, ==, 1);
  g_assert_false (threadref_ref_is_alive (watch));

  /* Ended: nothing is made, the destroy notify runs at once. */
  g_assert_null (threadref_ref_watch (w.wait.ref, counter_ref_func, &w.ref_counter, counter_destroy));
  g_assert_null (threadref_ref_watch_finalize (w.wait.ref, counter_finalize_func, &w.fin_counter, counter_destroy));
  g_assert_cmpint (w.ref_counter.calls, ==, 1);
  g_assert_cmpint (w.ref_counter.destroys, ==, 2);
  g_assert_cmpint (w.fin_counter.calls, ==, 1);
  g_assert_cmpint (w.fin_counter.destroys, ==, 2);

  g_object_unref (watch);
  g_assert_cmpint (w.ref_counter.destroys, ==, 2);
  g_object_unref (w.wait.ref);
  g_mutex_clear (&w.wait.mutex);
  g_cond_clear (&w.wait.cond);
}

/* Watching racing the end: either NULL (destroy notify at once, func never)
 * or the function runs exactly once, on the watched thread. */
typedef struct {
  ThreadRefRef *ref;
  gint          ready;
  Counter       counter;
  pthread_t     worker;
} WatchRace;

static gpointer
watch_race_worker (gpointer data)
{
  WatchRace *r = data;

  r->worker = pthread_self ();
  g_atomic_pointer_set (&r->ref, threadref_ref_new (NULL, NULL, NULL));
  g_atomic_int_inc (&r->ready);
  while (g_atomic_int_get (&r->ready) < 2)
    g_thread_yield ();
  return NULL;
}

static void
test_watch_race (void)
{
  guint iterations = test_size (2000);
  guint made = 0, too_late = 0;

  g_test_summary ("Watching a thread racing its end: the finalizer is either "
                  "refused (destroy notify at once) or runs exactly once on "
                  "the watched thread");

  for (guint i = 0; i < iterations; i++)
    {
      WatchRace r = { 0 };
      GThread *thread = g_thread_new ("watched", watch_race_worker, &r);
      ThreadRefFinalize *fin;
      ThreadRefRef *ref;

      while ((ref = g_atomic_pointer_get (&r.ref)) == NULL)
        g_thread_yield ();
      g_atomic_int_inc (&r.ready);
      test_jitter (g_random_int_range (0, 5000));
      fin = threadref_ref_watch_finalize (ref, counter_finalize_func, &r.counter, counter_destroy);
      g_thread_join (thread);

      if (fin == NULL)
        {
          too_late++;
          g_assert_cmpint (r.counter.calls, ==, 0);
        }
      else
        {
          made++;
          g_assert_cmpint (r.counter.calls, ==, 1);
          g_assert_true (pthread_equal (r.counter.last_thread, r.worker));
          g_object_unref (fin);
        }
      g_assert_cmpint (r.counter.destroys, ==, 1);
      g_object_unref (ref);
    }

  g_test_message ("%u iterations: %u attached, %u too late", iterations, made, too_late);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/lifetime/end", test_lifetime_end);
  g_test_add_func ("/threadref/lifetime/thread-pool", test_lifetime_thread_pool);
  g_test_add_func ("/threadref/lifetime/end-in-callback", test_lifetime_end_in_callback);
  g_test_add_func ("/threadref/wait/blocking", test_wait_blocking);
  g_test_add_func ("/threadref/wait/end-lifetime", test_wait_end_lifetime);
  g_test_add_func ("/threadref/wait/own-thread", test_wait_own_thread);
  g_test_add_func ("/threadref/wait/async", test_wait_async);
  g_test_add_func ("/threadref/wait/async-cancel", test_wait_async_cancel);
  g_test_add_func ("/threadref/wait/async-race", test_wait_async_race);
  g_test_add_func ("/threadref/watch/other-thread", test_watch_other_thread);
  g_test_add_func ("/threadref/watch/race", test_watch_race);

  return g_test_run ();
}
