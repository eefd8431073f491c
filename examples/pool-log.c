/* pool-log.c: per-worker buffered logs in a GThreadPool, flushed by a
 * ThreadFinalize when the pool retires the worker
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each worker thread keeps its own log buffer, created the first time it
 * handles a job, so jobs never contend on a shared lock. Nobody tells the
 * workers when they will be retired: the pool owns them. A ThreadFinalize
 * registered by each worker flushes and frees its buffer on that worker, as
 * the worker ends. The main thread watches every worker with a ThreadRef.
 *
 * The program exits with status 1 if any buffer was not released, or was
 * released on the wrong thread.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <threadref.h>

#define N_WORKERS 4
#define N_JOBS    40

typedef struct {
  char     *owner;      /* the worker's name */
  pthread_t thread;     /* the worker, to check who releases the buffer */
  GString  *lines;
  guint    n_lines;
} WorkerLog;

/* Shared bookkeeping, for the report and the final check. */
static GMutex state_lock;
static GCond state_cond;
static guint logs_created;
static guint logs_released;
static guint logs_released_elsewhere;
static GPtrArray *worker_refs;   /* ThreadRef per worker, kept by main */
static gint64 start_time;

/* The current worker's log. No destroy notify: the ThreadFinalize below
 * releases it, which unlike a GPrivate destructor also works at exit, in
 * order with everything else the thread registered, and tells others. */
static GPrivate current_log;

static double
elapsed_ms (void)
{
  return (g_get_monotonic_time () - start_time) / 1000.0;
}

static void
worker_log_release (gpointer data)
{
  WorkerLog *log = data;
  /* pthread_self(), not g_thread_self(): while a thread ends, GLib has
   * already dropped its own GThread for it and would make a new one. */
  gboolean on_owner = pthread_equal (pthread_self (), log->thread);

  printf ("%8.1f ms  %s ends: flushing %u buffered lines\n%s",
          elapsed_ms (), log->owner, log->n_lines, log->lines->str);
  fflush (stdout);

  g_mutex_lock (&state_lock);
  logs_released++;
  if (!on_owner)
    logs_released_elsewhere++;
  g_cond_broadcast (&state_cond);
  g_mutex_unlock (&state_lock);

  g_string_free (log->lines, TRUE);
  g_free (log->owner);
  g_free (log);
}

static void
worker_ended (ThreadRef *ref,
              gpointer   user_data)
{
  printf ("%8.1f ms  main's ThreadRef to %s fired on that worker: alive=%s\n",
          elapsed_ms (), (const char *) user_data,
          thread_ref_is_alive (ref) ? "yes" : "no");
}

static WorkerLog *
get_worker_log (void)
{
  WorkerLog *log = g_private_get (&current_log);
  guint n;

  if (log != NULL)
    return log;

  g_mutex_lock (&state_lock);
  n = ++logs_created;
  g_mutex_unlock (&state_lock);

  log = g_new0 (WorkerLog, 1);
  log->owner = g_strdup_printf ("worker-%u", n);
  log->thread = pthread_self ();
  log->lines = g_string_new (NULL);
  g_private_set (&current_log, log);

  /* Flush and free this buffer when this thread ends. The finalizer keeps
   * itself alive; we do not need to keep it. */
  g_object_unref (thread_finalize_new (worker_log_release, log, NULL));

  /* Let main watch this worker. */
  g_mutex_lock (&state_lock);
  g_ptr_array_add (worker_refs, thread_ref_new (worker_ended, g_strdup (log->owner), g_free));
  g_mutex_unlock (&state_lock);

  printf ("%8.1f ms  %s starts: created its log buffer\n", elapsed_ms (), log->owner);
  return log;
}

static void
handle_job (gpointer data,
            gpointer user_data)
{
  guint job = GPOINTER_TO_UINT (data);
  WorkerLog *log = get_worker_log ();

  g_usleep (g_random_int_range (200, 2000));
  g_string_append_printf (log->lines, "              [%s] job %2u done\n", log->owner, job);
  log->n_lines++;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  GThreadPool *pool;
  gint64 deadline;
  guint alive = 0;
  int status = EXIT_SUCCESS;

  start_time = g_get_monotonic_time ();
  worker_refs = g_ptr_array_new_with_free_func (g_object_unref);

  /* GLib parks the threads of a freed pool as "unused" threads for reuse by
   * later pools, and ends them only after an idle timeout. This program
   * wants them retired as soon as the pool is freed. (A long-lived program
   * whose workers are reused would end each job's per-thread state with
   * ThreadRef's lifetime API instead.) */
  g_thread_pool_set_max_unused_threads (0);

  pool = g_thread_pool_new (handle_job, NULL, N_WORKERS, TRUE, &error);
  if (pool == NULL)
    g_error ("cannot start the pool: %s", error->message);

  for (guint job = 1; job <= N_JOBS; job++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (job), NULL);

  g_thread_pool_free (pool, FALSE, TRUE);
  printf ("%8.1f ms  pool freed: every job is done, the workers are ending\n", elapsed_ms ());

  /* g_thread_pool_free() returns when the jobs are done, not when the worker
   * threads have finished ending: wait until every buffer was released. */
  deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
  g_mutex_lock (&state_lock);
  while (logs_released < logs_created)
    if (!g_cond_wait_until (&state_cond, &state_lock, deadline))
      break;

  for (guint i = 0; i < worker_refs->len; i++)
    alive += thread_ref_is_alive (worker_refs->pdata[i]);

  printf ("%8.1f ms  %u buffers created, %u released (%u on a thread other "
          "than their owner), %u workers still alive\n",
          elapsed_ms (), logs_created, logs_released, logs_released_elsewhere, alive);
  if (logs_created == 0 || logs_released != logs_created ||
      logs_released_elsewhere != 0 || alive != 0)
    {
      printf ("FAILED: some per-worker buffers were not released by their worker\n");
      status = EXIT_FAILURE;
    }
  else
    printf ("OK: every worker released its own buffer when the pool retired it\n");
  g_mutex_unlock (&state_lock);

  g_ptr_array_unref (worker_refs);
  return status;
}
