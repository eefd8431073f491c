/* threadref-test-helper.c: worker threads for the binding tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "threadref-test-helper.h"

typedef struct {
  guint        run_ms;
  GAsyncQueue *handoff;
} Worker;

static void
slow_cleanup (gpointer data)
{
  g_usleep (10 * 1000);
}

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;

  g_async_queue_push (worker->handoff, thread_ref_new (NULL, NULL, NULL));
  g_object_unref (thread_finalize_new (slow_cleanup, NULL, NULL));
  g_usleep (worker->run_ms * 1000);

  g_async_queue_unref (worker->handoff);
  g_free (worker);
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
ThreadRef *
thread_ref_test_spawn_worker (guint run_ms)
{
  Worker *worker = g_new0 (Worker, 1);
  GAsyncQueue *handoff = g_async_queue_new ();
  ThreadRef *ref;

  worker->run_ms = run_ms;
  worker->handoff = g_async_queue_ref (handoff);
  g_thread_unref (g_thread_new ("test-worker", worker_main, worker));

  ref = g_async_queue_pop (handoff);
  g_async_queue_unref (handoff);
  return ref;
}
