/* example-env.c: the program around the docs' C examples (see
 * example-env.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>

#include "example-env.h"

/* --- Connections ---------------------------------------------------------- */

struct _Connection
{
  guint id;
};

/* The open ones, by id: closing one that is not here is a double close. */
static GMutex      connections_lock;
static GHashTable *connections;
static guint       last_connection_id;

Connection *
connection_open (void)
{
  Connection *conn = g_new0 (Connection, 1);

  g_mutex_lock (&connections_lock);
  if (connections == NULL)
    connections = g_hash_table_new (NULL, NULL);
  conn->id = ++last_connection_id;
  g_hash_table_add (connections, conn);
  g_mutex_unlock (&connections_lock);

  return conn;
}

void
connection_close (Connection *conn)
{
  gboolean was_open;

  g_mutex_lock (&connections_lock);
  was_open = connections != NULL && g_hash_table_remove (connections, conn);
  g_mutex_unlock (&connections_lock);

  if (!was_open)
    g_error ("a connection was closed twice, or was never opened");
  g_free (conn);
}

void
hand_over (Connection *conn)
{
  /* The new owner is done with it at once. */
  connection_close (conn);
}

static guint
count_open_connections (void)
{
  guint n;

  g_mutex_lock (&connections_lock);
  n = connections != NULL ? g_hash_table_size (connections) : 0;
  g_mutex_unlock (&connections_lock);

  return n;
}

/* --- Caches --------------------------------------------------------------- */

struct _Cache
{
  GString *contents;
};

Cache *
cache_new (void)
{
  Cache *cache = g_new0 (Cache, 1);

  cache->contents = g_string_new ("cached");
  return cache;
}

void
cache_free (gpointer data)
{
  Cache *cache = data;

  g_string_free (cache->contents, TRUE);
  g_free (cache);
}

/* --- Jobs ----------------------------------------------------------------- */

typedef struct {
  GMutex   lock;
  GCond    cond;
  gboolean closed;
} Job;

typedef struct {
  Job        *job;
  Connection *conn;
} JobState;

static void
job_connection_close (gpointer data)
{
  JobState *state = data;
  Job *job = state->job;

  connection_close (state->conn);
  g_free (state);
  g_mutex_lock (&job->lock);
  job->closed = TRUE;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->lock);
}

/* The job being pushed: GThreadPool's own hand-off is invisible to
 * ThreadSanitizer, this one is not. */
static Job *pushed_job;

void
job_run (gpointer data)
{
  /* What the finalizer needs, in one block it owns. */
  JobState *state = g_new (JobState, 1);

  g_assert_true (g_atomic_pointer_get (&pushed_job) == data);
  state->job = data;
  state->conn = connection_open ();
  g_object_unref (threadref_finalize_new (job_connection_close, state, NULL));
}

void
run_one_job (GThreadPool *pool)
{
  Job job = { 0 };
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  g_mutex_init (&job.lock);
  g_cond_init (&job.cond);
  g_atomic_pointer_set (&pushed_job, &job);
  g_assert_true (g_thread_pool_push (pool, &job, NULL));

  /* The job's connection closes when the worker's lifetime ends. */
  g_mutex_lock (&job.lock);
  while (!job.closed)
    if (!g_cond_wait_until (&job.cond, &job.lock, deadline))
      g_error ("a job's connection was not closed within 10 s: the lifetime "
               "of the pool's worker did not end after the job");
  g_mutex_unlock (&job.lock);

  g_mutex_clear (&job.lock);
  g_cond_clear (&job.cond);
}

/* --- Everything else ------------------------------------------------------ */

void
write_out (const char *text)
{
  fputs (text, stdout);
}

void
handle_worker_gone (gpointer self)
{
  g_assert_true (G_IS_OBJECT (self));
  printf ("the worker is gone\n");
}

void
update_ui_worker_finished (gpointer window)
{
  g_assert_true (G_IS_OBJECT (window));
  printf ("the window learns that the worker finished\n");
}

void
forget_thread (gpointer      owner,
               ThreadRefRef *ref)
{
  g_assert_true (THREADREF_IS_REF (ref));
  printf ("forgetting a thread\n");
}

/* --- Running an example --------------------------------------------------- */

typedef struct {
  GMutex        lock;
  GCond         cond;
  ThreadRefRef *ref;
  gboolean      released;
} Worker;

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;

  g_mutex_lock (&worker->lock);
  worker->ref = threadref_ref_new (NULL, NULL, NULL);
  g_cond_broadcast (&worker->cond);
  while (!worker->released)
    g_cond_wait (&worker->cond, &worker->lock);
  g_mutex_unlock (&worker->lock);

  return NULL;
}

static void
conn_close_func (gpointer conn)
{
  connection_close (conn);
}

typedef struct {
  void      (*body) (ExampleEnv *env);
  ExampleUses uses;
} Example;

static void
run_once (const Example *example,
          guint          round)
{
  GMainContext *context = g_main_context_new ();
  ExampleEnv env = { 0 };
  Worker worker = { 0 };
  GThread *worker_thread;
  guint open;

  g_main_context_push_thread_default (context);

  g_mutex_init (&worker.lock);
  g_cond_init (&worker.cond);
  worker_thread = g_thread_new ("worker", worker_main, &worker);
  g_mutex_lock (&worker.lock);
  while (worker.ref == NULL)
    g_cond_wait (&worker.cond, &worker.lock);
  g_mutex_unlock (&worker.lock);

  env.worker_ref = worker.ref;
  env.ref = threadref_ref_new (NULL, NULL, NULL);
  env.fin = threadref_finalize_new (cache_free, cache_new (), NULL);
  if (example->uses & (EXAMPLE_USES_CONN | EXAMPLE_USES_CONN_FINALIZER))
    env.conn = connection_open ();
  if (example->uses & EXAMPLE_USES_CONN_FINALIZER)
    env.conn_finalizer = threadref_finalize_new (conn_close_func, env.conn, NULL);
  env.self = g_object_new (G_TYPE_OBJECT, NULL);
  env.window = g_object_new (G_TYPE_OBJECT, NULL);
  env.start_action = g_simple_action_new ("start", NULL);

  example->body (&env);

  /* The worker ends now. */
  g_mutex_lock (&worker.lock);
  worker.released = TRUE;
  g_cond_broadcast (&worker.cond);
  g_mutex_unlock (&worker.lock);
  g_thread_join (worker_thread);

  if (env.pool != NULL)
    {
      run_one_job (env.pool);
      g_thread_pool_free (env.pool, FALSE, TRUE);
    }

  /* What the example waits for asynchronously was returned when the worker
   * ended, before the join. */
  while (g_main_context_iteration (context, FALSE))
    ;

  g_object_unref (env.start_action);
  g_clear_object (&env.conn_finalizer);
  g_object_unref (env.fin);
  g_object_unref (env.ref);
  g_object_unref (worker.ref);
  g_mutex_clear (&worker.lock);
  g_cond_clear (&worker.cond);

  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);

  /* As a pooled thread does between jobs. What the example gave self or
   * window to keep lives through it. */
  threadref_end_lifetime ();
  g_object_unref (env.window);
  g_object_unref (env.self);

  open = count_open_connections ();
  if (open != 0)
    g_error ("round %u: %u connection(s) still open after the lifetime that "
             "opened them ended", round + 1, open);
}

static gpointer
example_thread (gpointer data)
{
  const Example *example = data;

  for (guint round = 0; round < 2; round++)
    run_once (example, round);

  return NULL;
}

int
example_main (void      (*body) (ExampleEnv *env),
              ExampleUses uses)
{
  Example example = { body, uses };

  g_thread_join (g_thread_new ("example", example_thread, &example));

  return 0;
}
