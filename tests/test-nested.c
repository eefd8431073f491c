/* test-nested.c: nested lifetimes, for jobs on threads they do not own
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <pthread.h>
#include <string.h>

#include "test-util.h"

static void
log_plain (gpointer data)
{
  OrderEntry *e = data;

  order_log_append (e->log, e->label);
}

static void
register_labels (OrderLog          *log,
                 const char *const *labels,
                 OrderEntry        *entries)
{
  for (guint i = 0; labels[i] != NULL; i++)
    {
      entries[i].log = log;
      entries[i].label = labels[i];
      switch (i % 3)
        {
        case 0:
          g_object_unref (threadref_finalize_new (order_entry_finalize_func, &entries[i], NULL));
          break;
        case 1:
          threadref_at_thread_exit (log_plain, &entries[i], THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
          break;
        default:
          threadref_at_thread_exit (log_plain, &entries[i], THREADREF_AT_THREAD_EXIT_DEFAULT);
          break;
        }
    }
}

typedef struct {
  OrderLog   log;
  OrderEntry outer[2];
  OrderEntry job[3];
  char      *after_job;
} BasicData;

static gpointer
basic_thread (gpointer data)
{
  BasicData *d = data;
  const char *outer[] = { "outer1", "outer2", NULL };
  const char *job[] = { "job1", "job2", "job3", NULL };
  ThreadRefRef *worker = threadref_ref_new (NULL, NULL, NULL);
  ThreadRefRef *lifetime;
  ThreadRefRef *inside;

  register_labels (&d->log, outer, d->outer);

  lifetime = threadref_nested_lifetime_begin ();
  inside = threadref_ref_new (NULL, NULL, NULL);
  g_assert_true (threadref_ref_equal (lifetime, inside));
  g_assert_false (threadref_ref_equal (lifetime, worker));
  g_assert_true (threadref_ref_is_alive (lifetime));
  g_assert_cmpuint (threadref_ref_count_registrations (lifetime), ==, 2);

  register_labels (&d->log, job, d->job);
  threadref_nested_lifetime_end (lifetime);

  /* The job's registrations ran, newest first; the worker's did not. */
  d->after_job = g_strdup (d->log.log->str);
  g_assert_false (threadref_ref_is_alive (lifetime));
  g_assert_false (threadref_ref_is_alive (inside));
  g_assert_true (threadref_ref_is_alive (worker));
  g_assert_cmpuint (threadref_ref_count_registrations (lifetime), ==, 0);

  g_object_unref (inside);
  g_object_unref (lifetime);
  g_object_unref (worker);
  return NULL;
}

static void
test_nested_basic (void)
{
  BasicData d = { 0 };

  g_test_summary ("What is registered while a nested lifetime is open ends "
                  "with it, newest first; what was registered before is "
                  "untouched and ends with the thread; a ref made inside is "
                  "alive exactly while it is open");

  order_log_init (&d.log);
  run_in_thread (basic_thread, &d);
  g_assert_cmpstr (d.after_job, ==, "job3 job2 job1");
  g_assert_cmpstr (d.log.log->str, ==, "job3 job2 job1 outer2 outer1");
  g_free (d.after_job);
  order_log_clear (&d.log);
}

typedef struct {
  OrderLog   log;
  OrderEntry e[6];
} LevelsData;

static void
register_one (LevelsData *d,
              guint       i,
              const char *label)
{
  d->e[i].log = &d->log;
  d->e[i].label = label;
  g_object_unref (threadref_finalize_new (order_entry_finalize_func, &d->e[i], NULL));
}

static gpointer
levels_thread (gpointer data)
{
  LevelsData *d = data;
  ThreadRefRef *a;
  ThreadRefRef *b;

  register_one (d, 0, "outer");
  a = threadref_nested_lifetime_begin ();
  register_one (d, 1, "a1");
  b = threadref_nested_lifetime_begin ();
  register_one (d, 2, "b1");
  threadref_nested_lifetime_end (b);
  order_log_append (&d->log, "|");
  register_one (d, 3, "a2");
  g_assert_true (threadref_ref_is_alive (a));
  threadref_nested_lifetime_end (a);
  order_log_append (&d->log, "|");
  register_one (d, 4, "outer2");

  g_object_unref (b);
  g_object_unref (a);
  return NULL;
}

static void
test_nested_levels (void)
{
  LevelsData d = { 0 };

  g_test_summary ("Nested lifetimes nest: each end runs only its own "
                  "registrations, and the thread's registrations go back to "
                  "the one it was nested in");

  order_log_init (&d.log);
  run_in_thread (levels_thread, &d);
  g_assert_cmpstr (d.log.log->str, ==, "b1 | a2 a1 | outer2 outer");
  order_log_clear (&d.log);
}

typedef struct {
  LevelsData  levels;
  gboolean    end_lifetime;   /* else the thread just returns */
  ThreadRefRef *a;
  ThreadRefRef *b;
} WholeData;

static gpointer
whole_thread (gpointer data)
{
  WholeData *w = data;
  LevelsData *d = &w->levels;

  register_one (d, 0, "outer");
  w->a = threadref_nested_lifetime_begin ();
  register_one (d, 1, "a");
  w->b = threadref_nested_lifetime_begin ();
  register_one (d, 2, "b");

  if (w->end_lifetime)
    {
      threadref_end_lifetime ();
      order_log_append (&d->log, "|");
      g_assert_false (threadref_ref_is_alive (w->a));
      g_assert_false (threadref_ref_is_alive (w->b));
      /* The job runner's own ends find them ended: no warning. */
      threadref_nested_lifetime_end (w->b);
      threadref_nested_lifetime_end (w->a);
      register_one (d, 3, "next");
    }
  return NULL;
}

static void
test_nested_whole_end (void)
{
  g_test_summary ("The thread's end, or threadref_end_lifetime(), ends the open "
                  "nested lifetimes first, innermost first; ending an ended "
                  "nested lifetime again does nothing, silently");

  for (guint i = 0; i < 2; i++)
    {
      WholeData w;

      memset (&w, 0, sizeof w);

      w.end_lifetime = i == 1;
      order_log_init (&w.levels.log);
      run_in_thread (whole_thread, &w);
      g_assert_cmpstr (w.levels.log.log->str, ==,
                       w.end_lifetime ? "b a outer | next" : "b a outer");
      g_assert_false (threadref_ref_is_alive (w.a));
      g_object_unref (w.a);
      g_object_unref (w.b);
      order_log_clear (&w.levels.log);
    }
}

typedef struct {
  ThreadRefRef *a;
  ThreadRefRef *b;
  ThreadRefRef *outer;
} MisuseData;

static void
open_two (gpointer data)
{
  MisuseData *m = data;

  m->outer = threadref_ref_new (NULL, NULL, NULL);
  m->a = threadref_nested_lifetime_begin ();
  m->b = threadref_nested_lifetime_begin ();

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL,
                         "threadref_nested_lifetime_end: another nested lifetime is open inside this one*");
  threadref_nested_lifetime_end (m->a);
  g_test_assert_expected_messages ();
  g_assert_true (threadref_ref_is_alive (m->a));
  g_assert_true (threadref_ref_is_alive (m->b));

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL,
                         "threadref_nested_lifetime_end: the ref is to a lifetime of the calling thread that is not nested*");
  threadref_nested_lifetime_end (m->outer);
  g_test_assert_expected_messages ();
  g_assert_true (threadref_ref_is_alive (m->outer));
}

static void
test_nested_misuse (void)
{
  MisuseData m = { 0 };
  HeldThread held;

  g_test_summary ("Ending a nested lifetime that is not the innermost, one of "
                  "another thread, or a lifetime that is not nested is a "
                  "critical and ends nothing");

  held_thread_start (&held, "nesting", open_two, &m);

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL,
                         "threadref_nested_lifetime_end: this is not a nested lifetime of the calling thread*");
  threadref_nested_lifetime_end (m.b);
  g_test_assert_expected_messages ();
  g_assert_true (threadref_ref_is_alive (m.b));

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  threadref_nested_lifetime_end (NULL);
  g_test_assert_expected_messages ();

  held_thread_finish (&held);
  g_assert_false (threadref_ref_is_alive (m.a));
  g_assert_false (threadref_ref_is_alive (m.b));
  g_object_unref (m.a);
  g_object_unref (m.b);
  g_object_unref (m.outer);
}

/* Waits and watches from another thread, on a worker that lives on. */
typedef struct {
  GMutex        mutex;
  GCond         cond;
  gint          stage;   /* 1: open; 2: end it; 3: ended, worker still runs; 4: go */
  ThreadRefRef *lifetime;
  Counter       watched;
} WaitData;

static void
wait_stage (WaitData *d,
            gint      stage)
{
  g_mutex_lock (&d->mutex);
  while (d->stage < stage)
    g_cond_wait (&d->cond, &d->mutex);
  g_mutex_unlock (&d->mutex);
}

static void
set_stage (WaitData *d,
           gint      stage)
{
  g_mutex_lock (&d->mutex);
  d->stage = stage;
  g_cond_broadcast (&d->cond);
  g_mutex_unlock (&d->mutex);
}

static gpointer
waited_worker (gpointer data)
{
  WaitData *d = data;

  d->lifetime = threadref_nested_lifetime_begin ();
  set_stage (d, 1);
  wait_stage (d, 2);
  threadref_nested_lifetime_end (d->lifetime);
  set_stage (d, 3);
  wait_stage (d, 4);
  return NULL;
}

static void
test_nested_wait_and_watch (void)
{
  WaitData d = { 0 };
  GThread *worker;
  ThreadRefRef *watch;

  g_test_summary ("A wait and a watch from another thread work on a nested "
                  "lifetime as on any: they see it end while its thread runs on");

  worker = g_thread_new ("pooled", waited_worker, &d);
  wait_stage (&d, 1);

  watch = threadref_ref_watch (d.lifetime, counter_ref_func, &d.watched, counter_destroy);
  g_assert_nonnull (watch);
  g_assert_false (threadref_ref_wait (d.lifetime, 10 * G_TIME_SPAN_MILLISECOND));

  set_stage (&d, 2);
  g_assert_true (threadref_ref_wait (d.lifetime, -1));
  wait_stage (&d, 3);
  g_assert_cmpint (g_atomic_int_get (&d.watched.calls), ==, 1);
  g_assert_true (pthread_equal (d.watched.last_thread, pthread_self ()) == 0);

  set_stage (&d, 4);
  g_thread_join (worker);
  g_object_unref (watch);
  g_object_unref (d.lifetime);
}

/* GLib's shared pool: workers' own state outlives jobs; jobs' ends. */
typedef struct {
  gint per_worker_made;   /* atomic */
  gint per_job_made;      /* atomic */
  gint per_job_freed;     /* atomic */
  gint worker_state_seen; /* atomic: jobs that found their worker's state intact */
} PoolCounts;

typedef struct {
  gboolean freed;
} WorkerState;

static GPrivate worker_state = G_PRIVATE_INIT (NULL);

static void
free_per_worker (gpointer data)
{
  WorkerState *state = data;

  /* The worker ends: GLib's key destructor is not ours to race; the
   * GPrivate is left pointing at freed memory only after the thread's
   * last use of it. */
  state->freed = TRUE;
  g_private_set (&worker_state, NULL);
  g_free (state);
}

static void
free_per_job (gpointer data)
{
  g_atomic_int_inc (&((PoolCounts *) data)->per_job_freed);
}

static void
pool_job (gpointer job,
          gpointer pool_data)
{
  PoolCounts *c = pool_data;
  WorkerState *state = g_private_get (&worker_state);
  ThreadRefRef *lifetime;

  /* Another library's per-worker state, made outside any job. */
  if (state == NULL)
    {
      state = g_new0 (WorkerState, 1);
      g_private_set (&worker_state, state);
      threadref_at_thread_exit (free_per_worker, state, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
      g_atomic_int_inc (&c->per_worker_made);
    }

  lifetime = threadref_nested_lifetime_begin ();
  threadref_at_thread_exit (free_per_job, c, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
  g_atomic_int_inc (&c->per_job_made);
  threadref_nested_lifetime_end (lifetime);
  g_object_unref (lifetime);

  /* The job's end left the worker's state alone. */
  if (g_private_get (&worker_state) == state && !state->freed)
    g_atomic_int_inc (&c->worker_state_seen);
}

static void
test_nested_shared_pool (void)
{
  PoolCounts c = { 0 };
  GThreadPool *pool = g_thread_pool_new (pool_job, &c, 2, FALSE, NULL);
  guint jobs = test_size (200);

  g_test_summary ("In GLib's shared thread pool, each job's registrations end "
                  "with the job, and per-worker state made outside the jobs "
                  "stays until the worker ends");

  for (guint i = 0; i < jobs; i++)
    g_thread_pool_push (pool, GUINT_TO_POINTER (i + 1), NULL);
  g_thread_pool_free (pool, FALSE, TRUE);

  /* Atomic reads: ThreadSanitizer does not see the pool's own hand-offs. */
  g_assert_cmpint (g_atomic_int_get (&c.per_job_made), ==, jobs);
  g_assert_cmpint (g_atomic_int_get (&c.per_job_freed), ==, jobs);
  g_assert_cmpint (g_atomic_int_get (&c.worker_state_seen), ==, jobs);
  g_assert_cmpint (g_atomic_int_get (&c.per_worker_made), >=, 1);
  g_assert_cmpint (g_atomic_int_get (&c.per_worker_made), <=, jobs);
}

/* A nested lifetime opened inside a callback of an ending lifetime. */
typedef struct {
  OrderLog   log;
  OrderEntry e[3];
} InsideData;

static void
open_inside_callback (gpointer data)
{
  InsideData *d = data;
  ThreadRefRef *lifetime = threadref_nested_lifetime_begin ();

  d->e[1].log = &d->log;
  d->e[1].label = "in-nested";
  g_object_unref (threadref_finalize_new (order_entry_finalize_func, &d->e[1], NULL));
  threadref_nested_lifetime_end (lifetime);
  order_log_append (&d->log, "nested-ended");
  g_object_unref (lifetime);
}

static gpointer
inside_thread (gpointer data)
{
  InsideData *d = data;

  d->e[0].log = &d->log;
  d->e[0].label = "older";
  g_object_unref (threadref_finalize_new (order_entry_finalize_func, &d->e[0], NULL));
  g_object_unref (threadref_finalize_new (open_inside_callback, d, NULL));
  return NULL;
}

static void
test_nested_inside_callback (void)
{
  InsideData d = { 0 };

  g_test_summary ("A nested lifetime opened by a callback while its thread "
                  "ends takes what that callback registers, and ends when the "
                  "callback ends it");

  order_log_init (&d.log);
  run_in_thread (inside_thread, &d);
  g_assert_cmpstr (d.log.log->str, ==, "in-nested nested-ended older");
  order_log_clear (&d.log);
}


/* Interrupted and re-entered ends of nested lifetimes: what a callback may
 * do while a nested lifetime ends, and the order that must hold anyway:
 * innermost first, newest first. */

typedef enum {
  ACT_NONE,
  ACT_G_THREAD_EXIT,
  ACT_PTHREAD_EXIT,
  ACT_END_LIFETIME,
  ACT_END_NESTED,
  ACT_OPEN_NESTED,
} Act;

typedef struct {
  OrderLog      *log;
  const char    *label;
  Act            act;
  ThreadRefRef  *target;   /* ACT_END_NESTED */
  OrderEntry     inner;    /* ACT_OPEN_NESTED: registered in what it opens */
} ActEntry;

static void
act_run (gpointer data)
{
  ActEntry *e = data;

  order_log_append (e->log, e->label);
  switch (e->act)
    {
    case ACT_G_THREAD_EXIT:
      g_thread_exit (NULL);
      break;
    case ACT_PTHREAD_EXIT:
      pthread_exit (NULL);
      break;
    case ACT_END_LIFETIME:
      threadref_end_lifetime ();
      break;
    case ACT_END_NESTED:
      threadref_nested_lifetime_end (e->target);
      break;
    case ACT_OPEN_NESTED:
      /* Left open on purpose: the job "forgot", or relies on the end. */
      g_object_unref (threadref_nested_lifetime_begin ());
      g_object_unref (threadref_finalize_new (order_entry_finalize_func, &e->inner, NULL));
      break;
    case ACT_NONE:
    default:
      break;
    }
}

static void
act_register (ActEntry   *e,
              OrderLog   *log,
              const char *label,
              Act         act)
{
  e->log = log;
  e->label = label;
  e->act = act;
  g_object_unref (threadref_finalize_new (act_run, e, NULL));
}

typedef struct {
  OrderLog  log;
  Act       leave;
  ActEntry  e[4];
  char     *after_end;   /* the log when threadref_nested_lifetime_end() returned */
  ThreadRefRef *job;     /* kept here: a thread that leaves cannot drop it */
} ActData;

/* outer; a nested lifetime with nested-old and LEAVE, which leaves. */
static gpointer
leave_in_nested_thread (gpointer data)
{
  ActData *d = data;

  act_register (&d->e[0], &d->log, "outer", ACT_NONE);
  d->job = threadref_nested_lifetime_begin ();
  act_register (&d->e[1], &d->log, "nested-old", ACT_NONE);
  act_register (&d->e[2], &d->log, "LEAVE", d->leave);
  threadref_nested_lifetime_end (d->job);
  d->after_end = g_strdup (d->log.log->str);
  return NULL;
}

static void
test_nested_left_by_thread_exit (void)
{
  const Act leaves[] = { ACT_G_THREAD_EXIT, ACT_PTHREAD_EXIT };

  g_test_summary ("A callback that exits its thread while a nested lifetime "
                  "ends: the rest of the nested lifetime still runs before "
                  "the lifetime it is nested in (innermost first)");

  for (guint i = 0; i < G_N_ELEMENTS (leaves); i++)
    {
      ActData d = { 0 };

      order_log_init (&d.log);
      d.leave = leaves[i];
      g_thread_join (g_thread_new ("leaves", leave_in_nested_thread, &d));
      g_assert_null (d.after_end);
      g_assert_cmpstr (d.log.log->str, ==, "LEAVE nested-old outer");
      g_assert_true (threadref_ref_wait (d.job, 0));
      g_object_unref (d.job);
      order_log_clear (&d.log);
    }
}

static void
test_nested_end_lifetime_in_callback (void)
{
  ActData d = { 0 };

  g_test_summary ("threadref_end_lifetime() from a callback of an ending "
                  "nested lifetime: the rest of the nested lifetime runs "
                  "first, then what it is nested in, all before "
                  "threadref_nested_lifetime_end() returns");

  order_log_init (&d.log);
  d.leave = ACT_END_LIFETIME;
  run_in_thread (leave_in_nested_thread, &d);
  g_assert_cmpstr (d.after_end, ==, "LEAVE nested-old outer");
  g_assert_cmpstr (d.log.log->str, ==, "LEAVE nested-old outer");
  g_object_unref (d.job);
  g_free (d.after_end);
  order_log_clear (&d.log);
}

static gpointer
left_open_thread (gpointer data)
{
  ActData *d = data;

  act_register (&d->e[0], &d->log, "outer", ACT_NONE);
  d->e[1].inner.log = &d->log;
  d->e[1].inner.label = "in-nested";
  act_register (&d->e[1], &d->log, "OPEN", ACT_OPEN_NESTED);
  act_register (&d->e[2], &d->log, "newest", ACT_NONE);
  return NULL;
}

static void
test_nested_left_open_by_callback (void)
{
  ActData d = { 0 };

  g_test_summary ("A nested lifetime that a callback opens while the thread "
                  "ends, and leaves open: it ends as soon as that callback "
                  "returns, before the older registrations of the lifetime "
                  "it is nested in");

  order_log_init (&d.log);
  run_in_thread (left_open_thread, &d);
  g_assert_cmpstr (d.log.log->str, ==, "newest OPEN in-nested outer");
  order_log_clear (&d.log);
}

static gpointer
end_outer_thread (gpointer data)
{
  ActData *d = data;
  ThreadRefRef *outer = threadref_nested_lifetime_begin ();
  ThreadRefRef *inner;

  act_register (&d->e[0], &d->log, "O-old", ACT_NONE);
  inner = threadref_nested_lifetime_begin ();
  act_register (&d->e[1], &d->log, "I-old", ACT_NONE);
  d->e[2].target = outer;
  act_register (&d->e[2], &d->log, "END-O", ACT_END_NESTED);
  threadref_nested_lifetime_end (inner);
  d->after_end = g_strdup (d->log.log->str);
  threadref_nested_lifetime_end (outer);
  g_object_unref (inner);
  g_object_unref (outer);
  return NULL;
}

static void
test_nested_end_outer_from_inner_callback (void)
{
  ActData d = { 0 };

  g_test_summary ("Ending, from a callback of a nested lifetime that is "
                  "ending, the lifetime it is nested in is a critical and "
                  "ends nothing: that one is not the innermost yet");

  order_log_init (&d.log);
  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL, "*nested lifetime is open inside this one*");
  run_in_thread (end_outer_thread, &d);
  g_test_assert_expected_messages ();
  g_assert_cmpstr (d.after_end, ==, "END-O I-old");
  g_assert_cmpstr (d.log.log->str, ==, "END-O I-old O-old");
  g_free (d.after_end);
  order_log_clear (&d.log);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/nested/basic", test_nested_basic);
  g_test_add_func ("/threadref/nested/levels", test_nested_levels);
  g_test_add_func ("/threadref/nested/whole-end", test_nested_whole_end);
  g_test_add_func ("/threadref/nested/misuse", test_nested_misuse);
  g_test_add_func ("/threadref/nested/wait-and-watch", test_nested_wait_and_watch);
  g_test_add_func ("/threadref/nested/shared-pool", test_nested_shared_pool);
  g_test_add_func ("/threadref/nested/inside-callback", test_nested_inside_callback);
  g_test_add_func ("/threadref/nested/left-by-thread-exit", test_nested_left_by_thread_exit);
  g_test_add_func ("/threadref/nested/end-lifetime-in-callback", test_nested_end_lifetime_in_callback);
  g_test_add_func ("/threadref/nested/left-open-by-callback", test_nested_left_open_by_callback);
  g_test_add_func ("/threadref/nested/end-outer-from-inner-callback", test_nested_end_outer_from_inner_callback);

  return g_test_run ();
}
