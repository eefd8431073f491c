/* test-threads.c: threads of any origin and any way of ending (rules 2, 8),
 * join (rule 2), many threads and many registrations (rule 11)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <pthread.h>
#include <threadref.h>

#include "test-util.h"

typedef struct {
  Counter       fin_counter;
  Counter       ref_counter;
  ThreadRefRef *ref;
  pthread_t     self;
  gboolean      use_pthread_exit;
} PthreadData;

static void
register_then_maybe_pthread_exit (PthreadData *d)
{
  d->self = pthread_self ();
  g_object_unref (threadref_finalize_new (counter_finalize_func, &d->fin_counter, counter_destroy));
  d->ref = threadref_ref_new (counter_ref_func, &d->ref_counter, counter_destroy);
  if (d->use_pthread_exit)
    pthread_exit (NULL);
}

static void *
pthread_main (void *data)
{
  register_then_maybe_pthread_exit (data);
  return NULL;
}

static void
check_pthread (gboolean use_pthread_exit)
{
  PthreadData d = { 0 };
  pthread_t thread;

  d.use_pthread_exit = use_pthread_exit;
  g_assert_cmpint (pthread_create (&thread, NULL, pthread_main, &d), ==, 0);
  g_assert_cmpint (pthread_join (thread, NULL), ==, 0);

  /* pthread_join() returned: both ran, on that thread. */
  g_assert_cmpint (d.fin_counter.calls, ==, 1);
  g_assert_cmpint (d.fin_counter.destroys, ==, 1);
  g_assert_true (pthread_equal (d.fin_counter.last_thread, d.self));
  g_assert_cmpint (d.ref_counter.calls, ==, 1);
  g_assert_true (pthread_equal (d.ref_counter.last_thread, d.self));
  g_assert_false (threadref_ref_is_alive (d.ref));
  g_assert_null (threadref_ref_dup_thread (d.ref));
  g_object_unref (d.ref);
  g_assert_cmpint (d.ref_counter.destroys, ==, 1);
}

static void
test_threads_pthread_return (void)
{
  g_test_summary ("Threads made with pthread_create() that return");
  check_pthread (FALSE);
}

static void
test_threads_pthread_exit (void)
{
  g_test_summary ("Threads made with pthread_create() that call pthread_exit()");
  check_pthread (TRUE);
}

static gpointer
gthread_exit_main (gpointer data)
{
  PthreadData *d = data;

  register_then_maybe_pthread_exit (d);
  test_g_thread_exit ();
  g_assert_not_reached ();
  return NULL;
}

static void
test_threads_g_thread_exit (void)
{
  PthreadData d = { 0 };

  g_test_summary ("GThreads that call g_thread_exit()");

  run_in_thread (gthread_exit_main, &d);
  g_assert_cmpint (d.fin_counter.calls, ==, 1);
  g_assert_true (pthread_equal (d.fin_counter.last_thread, d.self));
  g_assert_cmpint (d.ref_counter.calls, ==, 1);
  g_object_unref (d.ref);
}

/* Slow callbacks: join must wait for them. */
typedef struct {
  gint finished;
} SlowData;

static void
slow_func (gpointer data)
{
  SlowData *d = data;

  g_usleep (2000);
  g_atomic_int_inc (&d->finished);
}

static gpointer
register_slow (gpointer data)
{
  for (guint i = 0; i < 5; i++)
    g_object_unref (threadref_finalize_new (slow_func, data, NULL));
  return NULL;
}

static void
test_threads_join_waits (void)
{
  guint iterations = test_size (20);

  g_test_summary ("When g_thread_join() returns, every callback of the thread "
                  "has returned");

  for (guint i = 0; i < iterations; i++)
    {
      SlowData d = { 0 };

      run_in_thread (register_slow, &d);
      g_assert_cmpint (g_atomic_int_get (&d.finished), ==, 5);
    }
}

/* Many threads at once, many registrations each. */
#define MANY_PER_THREAD 1000

typedef struct {
  gint       fin_calls;
  gint       ref_calls;
  gint       destroys;
  gint       wrong_thread;
} ManyTotals;

typedef struct {
  ManyTotals *totals;
  pthread_t   self;
} ManyThread;

static void
many_fin_func (gpointer data)
{
  ManyThread *t = data;

  if (!pthread_equal (pthread_self (), t->self))
    g_atomic_int_inc (&t->totals->wrong_thread);
  g_atomic_int_inc (&t->totals->fin_calls);
}

static void
many_ref_func (ThreadRefRef *ref,
               gpointer      data)
{
  ManyThread *t = data;

  if (!pthread_equal (pthread_self (), t->self))
    g_atomic_int_inc (&t->totals->wrong_thread);
  g_atomic_int_inc (&t->totals->ref_calls);
}

static void
many_destroy (gpointer data)
{
  ManyThread *t = data;

  g_atomic_int_inc (&t->totals->destroys);
}

static gpointer
many_worker (gpointer data)
{
  ManyThread *t = data;
  GPtrArray *refs = g_ptr_array_new ();

  t->self = pthread_self ();
  for (guint i = 0; i < MANY_PER_THREAD; i++)
    {
      switch (i % 4)
        {
        case 0:
          g_object_unref (threadref_finalize_new (many_fin_func, t, many_destroy));
          break;
        case 1:
          /* kept until the thread ends: fires */
          g_ptr_array_add (refs, threadref_ref_new (many_ref_func, t, many_destroy));
          break;
        case 2:
          /* dropped at once: never fires, destroy runs now */
          g_object_unref (threadref_ref_new (many_ref_func, t, many_destroy));
          break;
        default:
          {
            ThreadRefFinalize *fin = threadref_finalize_new (many_fin_func, t, many_destroy);

            /* detached: destroy runs now */
            g_assert_true (threadref_finalize_detach (fin));
            g_object_unref (fin);
          }
          break;
        }
    }

  /* Handed to another thread's care: released after this thread ended. */
  return refs;
}

static void
test_threads_many_at_once (void)
{
  guint n_threads = test_size (32);
  ManyTotals totals = { 0 };
  ManyThread *threads = g_new0 (ManyThread, n_threads);
  GThread **handles = g_new (GThread *, n_threads);
  guint per_kind = MANY_PER_THREAD / 4;

  g_test_summary ("Many threads registering and ending at once: every "
                  "callback runs once, on its own thread");

  for (guint i = 0; i < n_threads; i++)
    {
      threads[i].totals = &totals;
      handles[i] = g_thread_new ("many", many_worker, &threads[i]);
    }
  for (guint i = 0; i < n_threads; i++)
    {
      GPtrArray *refs = g_thread_join (handles[i]);

      for (guint j = 0; j < refs->len; j++)
        g_assert_false (threadref_ref_is_alive (refs->pdata[j]));
      g_ptr_array_set_free_func (refs, g_object_unref);
      g_ptr_array_unref (refs);
    }

  g_test_message ("%u threads x %u registrations", n_threads, MANY_PER_THREAD);
  g_assert_cmpint (totals.fin_calls, ==, n_threads * per_kind);
  g_assert_cmpint (totals.ref_calls, ==, n_threads * per_kind);
  g_assert_cmpint (totals.destroys, ==, n_threads * MANY_PER_THREAD);
  g_assert_cmpint (totals.wrong_thread, ==, 0);

  g_free (threads);
  g_free (handles);
}

/* One thread, hundreds of thousands of registrations. */
typedef struct {
  guint  n;
  gint   destroys;
  gint   fin_calls;
} BulkData;

static void
bulk_destroy (gpointer data)
{
  ((BulkData *) data)->destroys++;
}

static void
bulk_fin (gpointer data)
{
  ((BulkData *) data)->fin_calls++;
}

static gpointer
bulk_refs_worker (gpointer data)
{
  BulkData *d = data;
  ThreadRefRef **refs = g_new (ThreadRefRef *, d->n);

  for (guint i = 0; i < d->n; i++)
    refs[i] = threadref_ref_new (NULL, d, bulk_destroy);
  /* Oldest first: the order that is O(n^2) with GWeakRef. */
  for (guint i = 0; i < d->n; i++)
    g_object_unref (refs[i]);
  g_free (refs);

  for (guint i = 0; i < d->n; i++)
    g_object_unref (threadref_finalize_new (bulk_fin, d, NULL));
  return NULL;
}

static void
test_threads_bulk_one_thread (void)
{
  BulkData d = { 0 };
  gint64 start = g_get_monotonic_time ();

  g_test_summary ("100 000 refs created and dropped in one thread, then "
                  "100 000 finalizers that fire at its end");

  d.n = 100000;
  run_in_thread (bulk_refs_worker, &d);
  g_assert_cmpint (d.destroys, ==, d.n);
  g_assert_cmpint (d.fin_calls, ==, d.n);
  g_test_message ("%u refs + %u finalizers in %.1f ms", d.n, d.n,
                  (g_get_monotonic_time () - start) / 1000.0);
}

/* Weak refs kept to ended threads that nobody joins. */
static guint
count_lines (const char *path)
{
  g_autofree char *contents = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  for (const char *p = contents; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

static guint
count_threads (void)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* A hand-off slot: GMutex/GCond, which the tests' ThreadSanitizer shim
 * makes visible (GAsyncQueue locks inside GLib, where it cannot). */
typedef struct {
  GMutex        mutex;
  GCond         cond;
  ThreadRefRef *ref;
} RefSlot;

static gpointer
push_ref_and_end (gpointer data)
{
  RefSlot *slot = data;
  ThreadRefRef *ref = threadref_ref_new (NULL, NULL, NULL);

  g_mutex_lock (&slot->mutex);
  slot->ref = ref;
  g_cond_signal (&slot->cond);
  g_mutex_unlock (&slot->mutex);
  return NULL;
}

#define UNJOINED_THREADS 200

static void
test_threads_ended_keeps_nothing (void)
{
  RefSlot slot = { 0 };
  GPtrArray *kept = g_ptr_array_new_with_free_func (g_object_unref);
  guint threads_before = count_threads ();
  guint maps_before = count_lines ("/proc/self/maps");
  guint maps_after;

  g_test_summary ("A weak ref kept to an ended thread that nobody joins (a "
                  "GThreadPool worker) keeps nothing of it: the thread's stack "
                  "is unmapped as if no ref existed");

  for (guint i = 0; i < UNJOINED_THREADS; i++)
    {
      ThreadRefRef *ref;

      g_thread_unref (g_thread_new ("unjoined", push_ref_and_end, &slot));
      g_mutex_lock (&slot.mutex);
      while (slot.ref == NULL)
        g_cond_wait (&slot.cond, &slot.mutex);
      ref = g_steal_pointer (&slot.ref);
      g_mutex_unlock (&slot.mutex);
      g_assert_true (threadref_ref_wait (ref, -1));
      g_ptr_array_add (kept, ref);
    }

  /* Wait until the threads are gone from the kernel too. */
  for (guint i = 0; i < 5000 && count_threads () > threads_before; i++)
    g_usleep (1000);
  maps_after = count_lines ("/proc/self/maps");
  g_test_message ("%u unjoined threads with kept refs: %u -> %u mappings",
                  UNJOINED_THREADS, maps_before, maps_after);
  /* A kept stack is at least one mapping each; glibc caches a few (40 MiB)
   * of the freed ones for reuse. */
  g_assert_cmpuint (maps_after, <, maps_before + UNJOINED_THREADS / 4);

  for (guint i = 0; i < kept->len; i++)
    g_assert_false (threadref_ref_is_alive (g_ptr_array_index (kept, i)));
  g_ptr_array_unref (kept);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/threads/pthread-return", test_threads_pthread_return);
  g_test_add_func ("/threadref/threads/pthread-exit", test_threads_pthread_exit);
  g_test_add_func ("/threadref/threads/g-thread-exit", test_threads_g_thread_exit);
  g_test_add_func ("/threadref/threads/join-waits", test_threads_join_waits);
  g_test_add_func ("/threadref/threads/many-at-once", test_threads_many_at_once);
  g_test_add_func ("/threadref/threads/bulk-one-thread", test_threads_bulk_one_thread);
  g_test_add_func ("/threadref/threads/ended-keeps-nothing", test_threads_ended_keeps_nothing);

  return g_test_run ();
}
