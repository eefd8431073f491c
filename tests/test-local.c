/* test-local.c: lifetime-local storage (ThreadRefLocal)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "test-util.h"

static OrderLog order;

/* Values are labels; the destroy notify logs them with the thread that
 * freed them. */
static pthread_t freeing_thread;

static void
log_free (gpointer value)
{
  freeing_thread = pthread_self ();
  order_log_append (&order, value);
}

static ThreadRefLocal slot_a = THREADREF_LOCAL_INIT (log_free);
static ThreadRefLocal slot_b = THREADREF_LOCAL_INIT (log_free);
static ThreadRefLocal slot_plain = THREADREF_LOCAL_INIT (NULL);

static void
log_entry (gpointer data)
{
  order_log_append (&order, data);
}

typedef struct {
  pthread_t thread;
  char     *after_end;
} BasicData;

static gpointer
basic_thread (gpointer data)
{
  BasicData *d = data;

  d->thread = pthread_self ();
  g_assert_null (threadref_local_get (&slot_a));
  threadref_local_set (&slot_a, "a1");
  g_assert_cmpstr (threadref_local_get (&slot_a), ==, "a1");

  /* set() keeps the lifetime's place and does not free the old value;
   * replace() frees it. */
  threadref_local_set (&slot_a, "a2");
  g_assert_cmpstr (order.log->str, ==, "");
  threadref_local_replace (&slot_a, "a3");
  g_assert_cmpstr (order.log->str, ==, "a2");
  g_assert_cmpstr (threadref_local_get (&slot_a), ==, "a3");

  threadref_end_lifetime ();
  d->after_end = g_strdup (order.log->str);
  g_assert_null (threadref_local_get (&slot_a));
  g_assert_true (pthread_equal (freeing_thread, pthread_self ()));

  /* The next lifetime sets anew; the thread's end frees it. */
  threadref_local_set (&slot_a, "next");
  return NULL;
}

static void
test_local_basic (void)
{
  BasicData d = { 0 };

  g_test_summary ("A lifetime-local value is the thread's own; set keeps the "
                  "old value, replace frees it; the lifetime's end frees it on "
                  "the thread and get returns NULL in the next lifetime");

  order_log_init (&order);
  run_in_thread (basic_thread, &d);
  g_assert_cmpstr (d.after_end, ==, "a2 a3");
  g_assert_cmpstr (order.log->str, ==, "a2 a3 next");
  g_assert_true (pthread_equal (freeing_thread, d.thread));
  g_free (d.after_end);
  order_log_clear (&order);
}

static gpointer
order_thread (gpointer data)
{
  threadref_at_thread_exit (log_entry, "plain-oldest", THREADREF_AT_THREAD_EXIT_DEFAULT);
  threadref_local_set (&slot_a, "local-a");
  g_object_unref (threadref_finalize_new (log_entry, "finalizer", NULL));
  threadref_local_set (&slot_b, "local-b");
  /* Replacing keeps local-a's place. */
  threadref_local_replace (&slot_a, "local-a2");
  threadref_at_thread_exit (log_entry, "plain-newest", THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
  return NULL;
}

static void
test_local_order (void)
{
  g_test_summary ("Values are freed in reverse order of creation together with "
                  "the thread's other registrations; a replaced value keeps the "
                  "place of the first one set in the lifetime");

  order_log_init (&order);
  run_in_thread (order_thread, NULL);
  g_assert_cmpstr (order.log->str, ==,
                   "local-a plain-newest local-b finalizer local-a2 plain-oldest");
  order_log_clear (&order);
}

static gpointer
nested_thread (gpointer data)
{
  ThreadRefRef *job;
  ThreadRefRef *inner;

  threadref_local_set (&slot_a, "worker");
  threadref_local_set (&slot_b, "worker-b");

  job = threadref_nested_lifetime_begin ();
  /* The worker's value shows through until the job sets its own. */
  g_assert_cmpstr (threadref_local_get (&slot_a), ==, "worker");
  threadref_local_set (&slot_a, "job");
  g_assert_cmpstr (threadref_local_get (&slot_a), ==, "job");
  /* replace() in the job does not free the worker's value. */
  threadref_local_replace (&slot_b, "job-b");
  g_assert_cmpstr (threadref_local_get (&slot_b), ==, "job-b");
  g_assert_cmpstr (order.log->str, ==, "");

  inner = threadref_nested_lifetime_begin ();
  /* NULL hides too. */
  threadref_local_set (&slot_a, NULL);
  g_assert_null (threadref_local_get (&slot_a));
  threadref_nested_lifetime_end (inner);
  g_assert_cmpstr (threadref_local_get (&slot_a), ==, "job");

  threadref_nested_lifetime_end (job);
  g_assert_cmpstr (order.log->str, ==, "job-b job");
  g_assert_cmpstr (threadref_local_get (&slot_a), ==, "worker");
  g_assert_cmpstr (threadref_local_get (&slot_b), ==, "worker-b");

  g_object_unref (inner);
  g_object_unref (job);
  return NULL;
}

static void
test_local_nested (void)
{
  g_test_summary ("A value set in a nested lifetime hides the enclosing one's "
                  "until it ends; then that one shows again, never freed by the "
                  "nested lifetime");

  order_log_init (&order);
  run_in_thread (nested_thread, NULL);
  g_assert_cmpstr (order.log->str, ==, "job-b job worker-b worker");
  order_log_clear (&order);
}

/* More slots than the first table holds. */
#define N_SLOTS 40
static ThreadRefLocal many[N_SLOTS] = {
#define S THREADREF_LOCAL_INIT (g_free)
  S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
  S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S, S,
#undef S
};

typedef struct {
  TestStartLine line;
  gint          mismatches;   /* atomic */
} ManyData;

static gpointer
many_thread (gpointer data)
{
  ManyData *d = data;
  guint rounds = test_size (50);

  test_start_line_wait (&d->line);
  for (guint r = 0; r < rounds; r++)
    {
      for (guint i = 0; i < N_SLOTS; i++)
        threadref_local_set (&many[i], g_strdup_printf ("%p-%u", (void *) pthread_self (), i));
      for (guint i = 0; i < N_SLOTS; i++)
        {
          g_autofree char *expected = g_strdup_printf ("%p-%u", (void *) pthread_self (), i);

          if (g_strcmp0 (threadref_local_get (&many[i]), expected) != 0)
            g_atomic_int_inc (&d->mismatches);
        }
      if (r % 2 == 0)
        threadref_end_lifetime ();
      else
        for (guint i = 0; i < N_SLOTS; i++)
          threadref_local_replace (&many[i], NULL);
    }
  return NULL;
}

static void
test_local_many (void)
{
  ManyData d = { { 0 } };
  GThread *threads[4];

  g_test_summary ("Many slots on many threads at once: each thread sees its "
                  "own values, and every value is freed (under a leak checker)");

  test_start_line_init (&d.line, G_N_ELEMENTS (threads));
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("many", many_thread, &d);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpint (d.mismatches, ==, 0);
}

static void
test_local_unset (void)
{
  g_test_summary ("A slot never set reads NULL; setting NULL where nothing was "
                  "set registers nothing; a slot without destroy notify works");

  g_assert_null (threadref_local_get (&slot_plain));
  threadref_local_set (&slot_plain, NULL);
  g_assert_null (threadref_local_get (&slot_plain));
  threadref_local_set (&slot_plain, "static");
  g_assert_cmpstr (threadref_local_get (&slot_plain), ==, "static");
  threadref_end_lifetime ();
  g_assert_null (threadref_local_get (&slot_plain));
}

/* Set from a key destructor late in the thread's teardown. */
static pthread_key_t late_key;
static gint late_freed;   /* atomic */

static void
count_late_free (gpointer value)
{
  g_atomic_int_inc (&late_freed);
}

static ThreadRefLocal late_slot = THREADREF_LOCAL_INIT (count_late_free);

static void
late_destructor (void *value)
{
  threadref_local_set (&late_slot, value);
}

static gpointer
late_thread (gpointer data)
{
  /* threadref is in use on this thread before the key's value is set. */
  threadref_local_set (&slot_plain, "early");
  pthread_setspecific (late_key, "late");
  return NULL;
}

static void
test_local_in_teardown (void)
{
  g_test_summary ("A value set from another library's key destructor, as the "
                  "thread ends, is still freed");

  pthread_key_create (&late_key, late_destructor);
  run_in_thread (late_thread, NULL);
  g_assert_cmpint (g_atomic_int_get (&late_freed), ==, 1);
  pthread_key_delete (late_key);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/local/basic", test_local_basic);
  g_test_add_func ("/threadref/local/order", test_local_order);
  g_test_add_func ("/threadref/local/nested", test_local_nested);
  g_test_add_func ("/threadref/local/many", test_local_many);
  g_test_add_func ("/threadref/local/unset", test_local_unset);
  g_test_add_func ("/threadref/local/in-teardown", test_local_in_teardown);

  return g_test_run ();
}
