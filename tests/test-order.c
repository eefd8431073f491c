/* test-order.c: newest first across all kinds (rule 2), registrations made
 * while the thread ends (rule 7)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "test-util.h"

typedef struct {
  OrderLog   log;
  OrderEntry entries[8];
  GPtrArray *keep;          /* refs the test keeps so they can fire */
} OrderFixture;

static gpointer
register_all_kinds (gpointer data)
{
  OrderFixture *f = data;
  ThreadRefFinalize *detached;
  ThreadRefAtThreadExit *cancelled;
  ThreadRefRef *dropped;

  /* Created in this order: a ref, a finalizer, a plain registration, a
   * cancelled plain one, a ref, a detached finalizer, a dropped ref, a
   * finalizer. */
  g_ptr_array_add (f->keep, threadref_ref_new (order_entry_ref_func, &f->entries[0], NULL));
  g_object_unref (threadref_finalize_new (order_entry_finalize_func, &f->entries[1], NULL));
  threadref_at_thread_exit (order_entry_finalize_func, &f->entries[2], THREADREF_AT_THREAD_EXIT_DEFAULT);
  cancelled = threadref_at_thread_exit_add (order_entry_finalize_func, &f->entries[3], THREADREF_AT_THREAD_EXIT_DEFAULT);
  g_ptr_array_add (f->keep, threadref_ref_new (order_entry_ref_func, &f->entries[4], NULL));
  detached = threadref_finalize_new (order_entry_finalize_func, &f->entries[5], NULL);
  dropped = threadref_ref_new (order_entry_ref_func, &f->entries[6], NULL);
  g_object_unref (threadref_finalize_new (order_entry_finalize_func, &f->entries[7], NULL));

  g_assert_true (threadref_at_thread_exit_cancel (cancelled));
  g_assert_true (threadref_finalize_detach (detached));
  g_object_unref (detached);
  g_object_unref (dropped);

  return NULL;
}

static void
test_order_lifo_across_kinds (void)
{
  OrderFixture f = { 0 };
  const char *labels[] = { "ref0", "fin1", "plain2", "cancelled3", "ref4", "detached5", "dropped6", "fin7" };

  g_test_summary ("Refs, finalizers and plain registrations of one thread run "
                  "newest first, as one sequence; cancelled ones are skipped");

  order_log_init (&f.log);
  for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
    f.entries[i] = (OrderEntry) { &f.log, labels[i] };
  f.keep = g_ptr_array_new_with_free_func (g_object_unref);

  run_in_thread (register_all_kinds, &f);

  g_assert_cmpstr (f.log.log->str, ==, "fin7 ref4 plain2 fin1 ref0");

  g_ptr_array_unref (f.keep);
  order_log_clear (&f.log);
}

/* Nesting: each callback registers the next level, alternating kinds. */
#define NESTING 100

typedef struct {
  gint       depth;          /* levels run so far */
  gint       max_depth;
  pthread_t  worker;
  gboolean   all_on_worker;
  GPtrArray *keep;
  GMutex     keep_mutex;
} NestData;

static void nested_finalize_func (gpointer data);

static void
nested_ref_func (ThreadRefRef *ref,
                 gpointer      data)
{
  nested_finalize_func (data);
}

static void
nested_finalize_func (gpointer data)
{
  NestData *d = data;
  gint level = ++d->depth;

  if (!pthread_equal (pthread_self (), d->worker))
    d->all_on_worker = FALSE;

  if (level >= d->max_depth)
    return;

  switch (level % 3)
    {
    case 0:
      g_object_unref (threadref_finalize_new (nested_finalize_func, d, NULL));
      break;
    case 1:
      {
        ThreadRefRef *ref = threadref_ref_new (nested_ref_func, d, NULL);

        /* Kept, or it would never fire. */
        g_mutex_lock (&d->keep_mutex);
        g_ptr_array_add (d->keep, ref);
        g_mutex_unlock (&d->keep_mutex);
      }
      break;
    default:
      threadref_at_thread_exit (nested_finalize_func, d, THREADREF_AT_THREAD_EXIT_DEFAULT);
      break;
    }
}

static gpointer
start_nesting (gpointer data)
{
  NestData *d = data;

  d->worker = pthread_self ();
  g_object_unref (threadref_finalize_new (nested_finalize_func, d, NULL));
  return NULL;
}

static void
test_order_nested_registration (void)
{
  NestData d = { 0 };

  g_test_summary ("Refs and finalizers created by callbacks while their thread "
                  "ends run before the thread is gone, 100 levels deep, on "
                  "that thread");

  d.max_depth = NESTING;
  d.all_on_worker = TRUE;
  d.keep = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&d.keep_mutex);

  run_in_thread (start_nesting, &d);

  /* g_thread_join() returned: every level ran. */
  g_assert_cmpint (d.depth, ==, NESTING);
  g_assert_true (d.all_on_worker);

  g_ptr_array_unref (d.keep);
  g_mutex_clear (&d.keep_mutex);
}

/* A callback that registers several at once: they run newest first, all
 * before the older registrations of the thread. */
typedef struct {
  OrderLog   log;
  OrderEntry outer_old;
  OrderEntry inner[3];
} FanoutData;

static void
fanout_func (gpointer data)
{
  FanoutData *d = data;

  order_log_append (&d->log, "fanout");
  for (guint i = 0; i < G_N_ELEMENTS (d->inner); i++)
    g_object_unref (threadref_finalize_new (order_entry_finalize_func, &d->inner[i], NULL));
}

static gpointer
start_fanout (gpointer data)
{
  FanoutData *d = data;

  g_object_unref (threadref_finalize_new (order_entry_finalize_func, &d->outer_old, NULL));
  g_object_unref (threadref_finalize_new (fanout_func, d, NULL));
  return NULL;
}

static void
test_order_nested_fanout (void)
{
  FanoutData d = { 0 };

  g_test_summary ("Several registrations made by one callback during teardown "
                  "run newest first, before older registrations");

  order_log_init (&d.log);
  d.outer_old = (OrderEntry) { &d.log, "old" };
  d.inner[0] = (OrderEntry) { &d.log, "in0" };
  d.inner[1] = (OrderEntry) { &d.log, "in1" };
  d.inner[2] = (OrderEntry) { &d.log, "in2" };

  run_in_thread (start_fanout, &d);

  g_assert_cmpstr (d.log.log->str, ==, "fanout in2 in1 in0 old");
  order_log_clear (&d.log);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/order/lifo-across-kinds", test_order_lifo_across_kinds);
  g_test_add_func ("/threadref/order/nested-registration", test_order_nested_registration);
  g_test_add_func ("/threadref/order/nested-fanout", test_order_nested_fanout);

  return g_test_run ();
}
