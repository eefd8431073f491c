/* threadref-test-helper.c: worker threads for the binding tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "threadref-test-helper.h"

/* Handed over with a GMutex/GCond pair rather than a GAsyncQueue: a
 * ThreadSanitizer build can see those (tests/tsan), not GLib's internal
 * ones. */
typedef struct {
  guint         run_ms;
  GMutex        mutex;
  GCond         cond;
  ThreadRefRef *ref;
  gint          refs; /* the worker and the spawner each drop one */
} Worker;

static void
worker_unref (Worker *worker)
{
  if (g_atomic_int_dec_and_test (&worker->refs))
    {
      g_mutex_clear (&worker->mutex);
      g_cond_clear (&worker->cond);
      g_free (worker);
    }
}

static void
slow_cleanup (gpointer data)
{
  g_usleep (10 * 1000);
}

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;
  guint run_ms = worker->run_ms;

  g_mutex_lock (&worker->mutex);
  worker->ref = threadref_ref_new (NULL, NULL, NULL);
  g_cond_signal (&worker->cond);
  g_mutex_unlock (&worker->mutex);
  worker_unref (worker);

  g_object_unref (threadref_finalize_new (slow_cleanup, NULL, NULL));
  g_usleep (run_ms * 1000);
  return NULL;
}

/**
 * thread_ref_test_spawn_worker:
 * @run_ms: how long the worker runs, in milliseconds
 *
 * Starts a thread that runs for @run_ms milliseconds and then ends, with a
 * finalizer that takes 10 ms.
 *
 * Returns: (transfer full): a ref to the new thread
 */
ThreadRefRef *
thread_ref_test_spawn_worker (guint run_ms)
{
  Worker *worker = g_new0 (Worker, 1);
  ThreadRefRef *ref;

  worker->run_ms = run_ms;
  worker->refs = 2;
  g_mutex_init (&worker->mutex);
  g_cond_init (&worker->cond);
  g_thread_unref (g_thread_new ("test-worker", worker_main, worker));

  g_mutex_lock (&worker->mutex);
  while (worker->ref == NULL)
    g_cond_wait (&worker->cond, &worker->mutex);
  ref = worker->ref;
  g_mutex_unlock (&worker->mutex);
  worker_unref (worker);
  return ref;
}
