/* pool-log.c: per-thread resources in GThreadPools, released by threadref
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Part 1, workers that retire: each worker thread of a pool keeps its own
 * log buffer, created the first time it handles a job, so jobs never
 * contend on a shared lock. Nobody tells the workers when they will be
 * retired: the pool owns them. The buffer is lifetime-local storage
 * (ThreadRefLocal): its destroy notify flushes and frees it on that worker,
 * as the worker ends. The main thread watches every worker with a
 * ThreadRefRef and waits for their ends with threadref_ref_wait().
 *
 * Part 2, workers that are shared: GLib's shared pool keeps its threads
 * across unrelated jobs, other libraries' included, so "when the thread
 * ends" may be never. Each job uses a scratch buffer that a library would
 * release "when the thread ends"; the job runner opens a nested lifetime
 * for each job, so the scratch buffer is released at the end of every job,
 * on the worker, while the worker's own state (its job count) lives on.
 *
 * The program exits with status 1 if anything was not released, or was
 * released on the wrong thread or at the wrong time.
 */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <threadref.h>

#define N_WORKERS 4
#define N_JOBS    40

typedef struct {
  char      *owner;     /* the worker's name */
  pthread_t  thread;    /* the worker, to check who releases the buffer */
  GString   *lines;
  guint      n_lines;
} WorkerLog;

/* Shared bookkeeping, for the report and the final check. */
static GMutex state_lock;
static guint logs_created;
static guint logs_released;
static guint logs_released_elsewhere;
static GPtrArray *worker_refs;   /* ThreadRefRef per worker, kept by main */
static gint64 start_time;

static void worker_log_release (gpointer data);

/* The current worker's log. Unlike a GPrivate's, its destroy notify runs
 * for every thread, the main thread at exit included, in order with
 * everything else the thread registered. */
static ThreadRefLocal current_log = THREADREF_LOCAL_INIT (worker_log_release);

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
  g_mutex_unlock (&state_lock);

  g_string_free (log->lines, TRUE);
  g_free (log->owner);
  g_free (log);
}

static void
worker_ended (ThreadRefRef *ref,
              gpointer      user_data)
{
  printf ("%8.1f ms  main's ThreadRefRef to %s fired on that worker: alive=%s\n",
          elapsed_ms (), (const char *) user_data,
          threadref_ref_is_alive (ref) ? "yes" : "no");
}

static WorkerLog *
get_worker_log (void)
{
  WorkerLog *log = threadref_local_get (&current_log);
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
  /* Flushed and freed when this thread ends. */
  threadref_local_set (&current_log, log);

  /* Let main watch this worker. */
  g_mutex_lock (&state_lock);
  g_ptr_array_add (worker_refs, threadref_ref_new (worker_ended, g_strdup (log->owner), g_free));
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

/* Part 2: scratch buffers released at the end of every job; the worker's
 * own count of jobs kept across them. */

typedef struct {
  guint jobs;
} WorkerStats;

static ThreadRefLocal worker_stats = THREADREF_LOCAL_INIT (g_free);
static gint jobs_counted;            /* sum of the workers' counts */
static gint stats_lost;              /* a worker's count gone after a job */

typedef struct {
  guint     job;
  pthread_t thread;     /* the worker that ran the job */
  gboolean  released;
} Scratch;

static gint scratch_released;
static gint scratch_released_elsewhere;
static gint scratch_late;            /* released after its job returned */
static GHashTable *job_workers;      /* distinct worker threads seen */

static void
scratch_release (gpointer data)
{
  Scratch *scratch = data;

  if (!pthread_equal (pthread_self (), scratch->thread))
    g_atomic_int_inc (&scratch_released_elsewhere);
  scratch->released = TRUE;
  g_atomic_int_inc (&scratch_released);
}

static void
run_job_in_nested_lifetime (gpointer data,
                            gpointer user_data)
{
  Scratch *scratch = g_new0 (Scratch, 1);
  WorkerStats *stats = threadref_local_get (&worker_stats);
  pthread_t self = pthread_self ();
  ThreadRefRef *job_lifetime;
  gboolean released;

  /* The worker's own state, outside any job: it lives as long as the
   * worker. */
  if (stats == NULL)
    {
      stats = g_new0 (WorkerStats, 1);
      threadref_local_set (&worker_stats, stats);
    }

  /* Everything registered from here on belongs to this job. */
  job_lifetime = threadref_nested_lifetime_begin ();
  scratch->job = GPOINTER_TO_UINT (data);
  scratch->thread = self;
  /* What a library would do for a per-thread cache it hands out: release it
   * "when this thread ends". */
  g_object_unref (threadref_finalize_new (scratch_release, scratch, NULL));

  g_usleep (g_random_int_range (100, 1000));

  /* The job is done: everything registered during it runs now, here; what
   * the worker registered before is untouched. */
  threadref_nested_lifetime_end (job_lifetime);
  g_object_unref (job_lifetime);
  released = scratch->released;
  if (!released)
    g_atomic_int_inc (&scratch_late);
  if (threadref_local_get (&worker_stats) != stats)
    g_atomic_int_inc (&stats_lost);
  stats->jobs++;
  g_atomic_int_inc (&jobs_counted);

  g_mutex_lock (&state_lock);
  g_hash_table_add (job_workers, g_strdup_printf ("%lu", (unsigned long) self));
  printf ("%8.1f ms  job %2u on thread %lx: scratch buffer %s at the end of the job\n",
          elapsed_ms (), scratch->job, (unsigned long) self & 0xfffff,
          released ? "released" : "NOT released");
  g_mutex_unlock (&state_lock);
  g_free (scratch);
}

static gboolean
run_reused_workers (void)
{
  g_autoptr(GError) error = NULL;
  GThreadPool *pool;
  guint n_jobs = 12;
  guint workers;
  gboolean ok;

  printf ("\n== Part 2: GLib's shared pool reuses its workers; each job has a nested lifetime ==\n");
  job_workers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  pool = g_thread_pool_new (run_job_in_nested_lifetime, NULL, 2, FALSE, &error);
  if (pool == NULL)
    g_error ("cannot start the pool: %s", error->message);
  for (guint job = 1; job <= n_jobs; job++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (job), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  g_mutex_lock (&state_lock);
  workers = g_hash_table_size (job_workers);
  g_mutex_unlock (&state_lock);

  printf ("%8.1f ms  %u jobs on %u worker threads: %d scratch buffers released at "
          "the end of their job, %d late\n",
          elapsed_ms (), n_jobs, workers, g_atomic_int_get (&scratch_released),
          g_atomic_int_get (&scratch_late));
  ok = g_atomic_int_get (&scratch_released) == (gint) n_jobs &&
       g_atomic_int_get (&scratch_late) == 0 &&
       g_atomic_int_get (&scratch_released_elsewhere) == 0 &&
       g_atomic_int_get (&stats_lost) == 0 &&
       g_atomic_int_get (&jobs_counted) == (gint) n_jobs;
  printf ("%s\n", ok ? "OK: every job's per-thread state was released when the job ended, "
                        "and every worker's own state outlived its jobs"
                      : "FAILED: some job's per-thread state outlived its job, or a "
                        "worker's own state did not");

  g_hash_table_unref (job_workers);
  return ok;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  GThreadPool *pool;
  guint alive = 0;
  guint unfinished = 0;
  gboolean ok;

  start_time = g_get_monotonic_time ();
  worker_refs = g_ptr_array_new_with_free_func (g_object_unref);

  printf ("== Part 1: a pool retires its workers; each releases its own buffer ==\n");

  /* GLib parks the threads of a freed pool as "unused" threads for reuse by
   * later pools, and ends them only after an idle timeout. This part wants
   * them retired as soon as the pool is freed (part 2 shows reused ones). */
  g_thread_pool_set_max_unused_threads (0);

  pool = g_thread_pool_new (handle_job, NULL, N_WORKERS, TRUE, &error);
  if (pool == NULL)
    g_error ("cannot start the pool: %s", error->message);

  for (guint job = 1; job <= N_JOBS; job++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (job), NULL);

  g_thread_pool_free (pool, FALSE, TRUE);
  printf ("%8.1f ms  pool freed: every job is done, the workers are ending\n", elapsed_ms ());

  /* g_thread_pool_free() returns when the jobs are done, not when the worker
   * threads have finished ending, and the pool gives us nothing to join:
   * wait on the refs instead, until every worker ended and its callbacks
   * returned. */
  g_mutex_lock (&state_lock);
  for (guint i = 0; i < worker_refs->len; i++)
    {
      ThreadRefRef *ref = g_object_ref (worker_refs->pdata[i]);

      g_mutex_unlock (&state_lock);
      if (!threadref_ref_wait (ref, 10 * G_USEC_PER_SEC))
        unfinished++;
      alive += threadref_ref_is_alive (ref);
      g_object_unref (ref);
      g_mutex_lock (&state_lock);
    }

  printf ("%8.1f ms  %u buffers created, %u released (%u on a thread other "
          "than their owner), %u workers still alive, %u not finished\n",
          elapsed_ms (), logs_created, logs_released, logs_released_elsewhere,
          alive, unfinished);
  ok = logs_created > 0 && logs_released == logs_created &&
       logs_released_elsewhere == 0 && alive == 0 && unfinished == 0;
  g_mutex_unlock (&state_lock);
  printf ("%s\n", ok ? "OK: every worker released its own buffer when the pool retired it"
                      : "FAILED: some per-worker buffers were not released by their worker");

  g_thread_pool_set_max_unused_threads (2);
  ok = run_reused_workers () && ok;

  g_ptr_array_unref (worker_refs);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
