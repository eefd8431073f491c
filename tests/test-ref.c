/* test-ref.c: ThreadRefRef, a weak reference to a thread (rules 1-4, 6)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "test-util.h"

typedef struct {
  Counter       counter;
  ThreadRefRef *ref;          /* made by the worker, kept by the test */
  pthread_t     worker;
} RefFixture;

static void
make_ref (gpointer data)
{
  RefFixture *f = data;

  f->worker = pthread_self ();
  f->ref = threadref_ref_new (counter_ref_func, &f->counter, counter_destroy);
}

static void
test_ref_alive_while_running (void)
{
  RefFixture f = { 0 };
  HeldThread held;
  GThread *dup;

  g_test_summary ("A ref is alive and gives its thread, from another thread, "
                  "while that thread runs; afterwards it is dead and gives NULL");

  held_thread_start (&held, "ref-worker", make_ref, &f);
  g_assert_true (threadref_ref_is_alive (f.ref));
  dup = threadref_ref_dup_thread (f.ref);
  g_assert_true (dup == held.thread);
  g_thread_unref (dup);

  held_thread_finish (&held);

  g_assert_false (threadref_ref_is_alive (f.ref));
  g_assert_null (threadref_ref_dup_thread (f.ref));
  g_assert_cmpint (f.counter.calls, ==, 1);
  g_assert_true (pthread_equal (f.counter.last_thread, f.worker));
  g_assert_cmpint (f.counter.destroys, ==, 1);

  g_object_unref (f.ref);
  g_assert_cmpint (f.counter.destroys, ==, 1);
}

static void
test_ref_main_thread (void)
{
  Counter counter = { 0 };
  ThreadRefRef *ref = threadref_ref_new (counter_ref_func, &counter, counter_destroy);
  GThread *dup = threadref_ref_dup_thread (ref);
  gboolean alive = FALSE;

  g_test_summary ("A ref made on the main thread refers to it");

  g_assert_true (dup == g_thread_self ());
  g_thread_unref (dup);
  g_object_get (ref, "alive", &alive, NULL);
  g_assert_true (alive);

  g_object_unref (ref);
  g_assert_cmpint (counter.calls, ==, 0);
  g_assert_cmpint (counter.destroys, ==, 1);
}

typedef struct {
  Counter       counter;
  ThreadRefRef *ref;
} DropData;

static gpointer
make_and_drop_ref (gpointer data)
{
  DropData *d = data;
  ThreadRefRef *ref = threadref_ref_new (counter_ref_func, &d->counter, counter_destroy);

  g_object_unref (ref);
  g_assert_cmpint (d->counter.destroys, ==, 1);
  return NULL;
}

static void
test_ref_dropped_never_fires (void)
{
  DropData d = { 0 };

  g_test_summary ("A ref whose last reference is dropped before its thread "
                  "ends never calls its callback; its destroy notify runs once, "
                  "when it is finalized");

  run_in_thread (make_and_drop_ref, &d);
  g_assert_cmpint (d.counter.calls, ==, 0);
  g_assert_cmpint (d.counter.destroys, ==, 1);
}

typedef struct {
  gint          calls;
  gboolean      alive_inside;
  GThread      *thread_inside;
  gboolean      got_self;
  ThreadRefRef *ref;
  gint          notifies;
  pthread_t     notify_thread;
  pthread_t     worker;
} InsideData;

static void
inside_callback (ThreadRefRef *ref,
                 gpointer      data)
{
  InsideData *d = data;

  d->calls++;
  d->got_self = (ref == d->ref);
  d->alive_inside = threadref_ref_is_alive (ref);
  d->thread_inside = threadref_ref_dup_thread (ref);
}

static void
on_notify_alive (GObject    *object,
                 GParamSpec *pspec,
                 gpointer    data)
{
  InsideData *d = data;

  d->notifies++;
  d->notify_thread = pthread_self ();
}

static gpointer
make_ref_with_notify (gpointer data)
{
  InsideData *d = data;

  d->worker = pthread_self ();
  d->ref = threadref_ref_new (inside_callback, d, NULL);
  g_signal_connect (d->ref, "notify::alive", G_CALLBACK (on_notify_alive), d);
  return NULL;
}

static void
test_ref_dead_inside_callback (void)
{
  InsideData d = { 0 };

  g_test_summary ("The callback gets the ref itself, which is already dead; "
                  "notify::alive is emitted on the ending thread");

  run_in_thread (make_ref_with_notify, &d);

  g_assert_cmpint (d.calls, ==, 1);
  g_assert_true (d.got_self);
  g_assert_false (d.alive_inside);
  g_assert_null (d.thread_inside);
  g_assert_cmpint (d.notifies, ==, 1);
  g_assert_true (pthread_equal (d.notify_thread, d.worker));

  g_object_unref (d.ref);
}

static gpointer
make_null_callback_ref (gpointer data)
{
  ThreadRefRef **out = data;

  *out = threadref_ref_new (NULL, NULL, NULL);
  return NULL;
}

typedef struct {
  Counter       counter;
  ThreadRefRef *ref;
} NullCallbackData;

static gpointer
make_null_callback_ref_with_destroy (gpointer data)
{
  NullCallbackData *d = data;

  d->ref = threadref_ref_new (NULL, &d->counter, counter_destroy);
  return NULL;
}

static void
test_ref_null_callback (void)
{
  ThreadRefRef *ref = NULL;
  NullCallbackData d = { 0 };

  g_test_summary ("A ref without callback is a plain liveness probe; its "
                  "destroy notify still runs once, when its thread ends");

  run_in_thread (make_null_callback_ref, &ref);
  g_assert_false (threadref_ref_is_alive (ref));
  g_object_unref (ref);

  run_in_thread (make_null_callback_ref_with_destroy, &d);
  g_assert_cmpint (d.counter.destroys, ==, 1);
  g_object_unref (d.ref);
  g_assert_cmpint (d.counter.destroys, ==, 1);
}

typedef struct {
  ThreadRefRef *a;
  ThreadRefRef *b;
} TwoRefs;

static gpointer
make_two_refs (gpointer data)
{
  TwoRefs *t = data;

  t->a = threadref_ref_new (NULL, NULL, NULL);
  t->b = threadref_ref_new (NULL, NULL, NULL);
  return NULL;
}

static void
test_ref_equal_hash (void)
{
  TwoRefs one = { 0 };
  TwoRefs two = { 0 };
  ThreadRefRef *here_a = threadref_ref_new (NULL, NULL, NULL);
  ThreadRefRef *here_b = threadref_ref_new (NULL, NULL, NULL);
  GHashTable *set;

  g_test_summary ("Refs are equal, and hash the same, when they refer to the "
                  "same thread lifetime, whether it still runs or not");

  g_assert_true (threadref_ref_equal (here_a, here_b));
  g_assert_cmpuint (threadref_ref_hash (here_a), ==, threadref_ref_hash (here_b));

  run_in_thread (make_two_refs, &one);
  run_in_thread (make_two_refs, &two);

  g_assert_true (threadref_ref_equal (one.a, one.b));
  g_assert_cmpuint (threadref_ref_hash (one.a), ==, threadref_ref_hash (one.b));
  g_assert_false (threadref_ref_equal (one.a, two.a));
  g_assert_false (threadref_ref_equal (one.a, here_a));
  g_assert_false (threadref_ref_equal (here_a, two.b));

  set = g_hash_table_new (threadref_ref_hash, threadref_ref_equal);
  g_hash_table_add (set, one.a);
  g_hash_table_add (set, two.a);
  g_hash_table_add (set, here_a);
  g_assert_true (g_hash_table_contains (set, one.b));
  g_assert_true (g_hash_table_contains (set, two.b));
  g_assert_true (g_hash_table_contains (set, here_b));
  g_assert_cmpuint (g_hash_table_size (set), ==, 3);
  g_hash_table_unref (set);

  g_object_unref (one.a);
  g_object_unref (one.b);
  g_object_unref (two.a);
  g_object_unref (two.b);
  g_object_unref (here_a);
  g_object_unref (here_b);
}

static gpointer
make_ref_for_distinct_lifetimes (gpointer data)
{
  GPtrArray *refs = data;

  g_ptr_array_add (refs, threadref_ref_new (NULL, NULL, NULL));
  return NULL;
}

static void
test_ref_distinct_lifetimes (void)
{
  GPtrArray *refs = g_ptr_array_new_with_free_func (g_object_unref);

  g_test_summary ("Refs to many ended threads stay distinct even when the "
                  "threads' memory is reused");

  for (guint i = 0; i < 50; i++)
    run_in_thread (make_ref_for_distinct_lifetimes, refs);

  for (guint i = 0; i < refs->len; i++)
    for (guint j = i + 1; j < refs->len; j++)
      g_assert_false (threadref_ref_equal (refs->pdata[i], refs->pdata[j]));

  g_ptr_array_unref (refs);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/ref/alive-while-running", test_ref_alive_while_running);
  g_test_add_func ("/threadref/ref/main-thread", test_ref_main_thread);
  g_test_add_func ("/threadref/ref/dropped-never-fires", test_ref_dropped_never_fires);
  g_test_add_func ("/threadref/ref/dead-inside-callback", test_ref_dead_inside_callback);
  g_test_add_func ("/threadref/ref/null-callback", test_ref_null_callback);
  g_test_add_func ("/threadref/ref/equal-hash", test_ref_equal_hash);
  g_test_add_func ("/threadref/ref/distinct-lifetimes", test_ref_distinct_lifetimes);

  return g_test_run ();
}
