/* test-dispatcher.c: ThreadRefDispatcher and threadref_ref_watch_in_context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "test-util.h"

typedef struct {
  GString *log;
  GHashTable *entries;   /* batch id -> GPtrArray of names, oldest first */
  ThreadRefDispatcher *dispatcher;
} Runtime;

static void
run_batch (guint64  batch,
           gpointer data)
{
  Runtime *rt = data;
  GPtrArray *names = g_hash_table_lookup (rt->entries, &batch);

  g_assert_nonnull (names);
  for (guint i = names->len; i > 0; i--)
    g_string_append_printf (rt->log, "%s ", (char *) names->pdata[i - 1]);
  g_hash_table_remove (rt->entries, &batch);
}

static void
runtime_register (Runtime    *rt,
                  const char *name)
{
  guint64 lifetime = 0;
  guint64 batch = threadref_dispatcher_batch (rt->dispatcher, &lifetime);
  GPtrArray *names;

  g_assert_cmpuint (batch, !=, 0);
  g_assert_cmpuint (lifetime, !=, 0);
  names = g_hash_table_lookup (rt->entries, &batch);
  if (names == NULL)
    {
      guint64 *key = g_new (guint64, 1);

      *key = batch;
      names = g_ptr_array_new ();
      g_hash_table_insert (rt->entries, key, names);
    }
  g_ptr_array_add (names, (gpointer) name);
}

static void
log_plain (gpointer data)
{
  Runtime *rt = g_object_get_data (G_OBJECT (((gpointer *) data)[0]), "rt");

  g_string_append_printf (rt->log, "%s ", (char *) ((gpointer *) data)[1]);
  g_free (data);
}

static gpointer
mixed_thread (gpointer data)
{
  Runtime *rt = data;
  gpointer *c1 = g_new (gpointer, 2), *c2 = g_new (gpointer, 2);

  c1[0] = c2[0] = rt->dispatcher;
  c1[1] = "c1";
  c2[1] = "c2";
  runtime_register (rt, "p1");
  runtime_register (rt, "p2");
  threadref_at_thread_exit (log_plain, c1, THREADREF_AT_THREAD_EXIT_DEFAULT);
  runtime_register (rt, "p3");
  threadref_at_thread_exit (log_plain, c2, THREADREF_AT_THREAD_EXIT_DEFAULT);
  runtime_register (rt, "p4");
  runtime_register (rt, "p5");
  /* Three batches: p1 p2 | p3 | p4 p5. */
  g_assert_cmpuint (g_hash_table_size (rt->entries), ==, 3);
  return NULL;
}

static void
test_dispatcher_order (void)
{
  Runtime rt = { g_string_new (NULL), g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                             (GDestroyNotify) g_ptr_array_unref) };

  g_test_summary ("A runtime's registrations kept in batches run newest first "
                  "together with the thread's C registrations, one call per batch");

  rt.dispatcher = threadref_dispatcher_new (run_batch, &rt, NULL);
  g_object_set_data (G_OBJECT (rt.dispatcher), "rt", &rt);
  g_thread_join (g_thread_new ("mixed", mixed_thread, &rt));
  g_assert_cmpstr (rt.log->str, ==, "p5 p4 c2 p3 c1 p2 p1 ");
  g_assert_cmpuint (g_hash_table_size (rt.entries), ==, 0);

  g_object_unref (rt.dispatcher);
  g_hash_table_unref (rt.entries);
  g_string_free (rt.log, TRUE);
}

static void
count_call (guint64  batch,
            gpointer data)
{
  g_atomic_int_inc ((gint *) data);
}

static gpointer
batch_then_wait (gpointer data)
{
  ThreadRefDispatcher *dispatcher = data;

  g_assert_cmpuint (threadref_dispatcher_batch (dispatcher, NULL), !=, 0);
  return NULL;
}

static void
test_dispatcher_close (void)
{
  gint calls = 0;
  ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (count_call, &calls, NULL);

  g_test_summary ("After close() the function is never called, and new batches are refused");

  g_thread_join (g_thread_new ("open", batch_then_wait, dispatcher));
  g_assert_cmpint (calls, ==, 1);
  threadref_dispatcher_close (dispatcher);
  g_assert_cmpuint (threadref_dispatcher_batch (dispatcher, NULL), ==, 0);
  g_object_unref (dispatcher);   /* kept by close() */
}

static void
test_dispatcher_bare_g_object_new (void)
{
  ThreadRefDispatcher *dispatcher;

  g_test_summary ("g_object_new() without a function (a binding's bare "
                  "constructor) is a critical at once and makes a closed "
                  "dispatcher (never NULL, which GObject forbids), rather than "
                  "one whose first batch calls NULL");

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL, "*Dispatcher needs a function*");
  dispatcher = g_object_new (THREADREF_TYPE_DISPATCHER, NULL);
  g_test_assert_expected_messages ();
  g_assert_true (THREADREF_IS_DISPATCHER (dispatcher));
  g_assert_cmpuint (threadref_dispatcher_batch (dispatcher, NULL), ==, 0);
  g_object_unref (dispatcher);
}

typedef struct {
  guint64 last;
  gint    calls;
} FinalizeCalls;

static void
note_call (guint64  id,
           gpointer data)
{
  FinalizeCalls *calls = data;

  calls->last = id;
  calls->calls++;
}

static gpointer
new_finalize_then_end (gpointer data)
{
  guint64 id = 0;

  g_object_unref (threadref_dispatcher_new_finalize (data, &id));
  g_assert_cmpuint (id, !=, 0);
  return GSIZE_TO_POINTER ((gsize) id);
}

static void
test_dispatcher_new_finalize (void)
{
  FinalizeCalls calls = { 0 };
  ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (note_call, &calls, NULL);
  ThreadRefFinalize *fin;
  guint64 id = 0, ended;

  g_test_summary ("A dispatcher's finalizer calls the dispatcher's function with "
                  "its id when it runs (thread end, call()), with its id and "
                  "THREADREF_DISPATCHER_DETACHED when detached (hostile bindings "
                  "round 3, finding 06: the runtime never learnt of a C detach), "
                  "never once the dispatcher is closed, whose finalizers are dead");

  ended = GPOINTER_TO_SIZE (g_thread_join (g_thread_new ("fin", new_finalize_then_end, dispatcher)));
  g_assert_cmpint (calls.calls, ==, 1);
  g_assert_cmpuint (calls.last, ==, ended);

  fin = threadref_dispatcher_new_finalize (dispatcher, &id);
  g_assert_cmpuint (id, !=, ended);
  g_assert_true (threadref_finalize_call (fin));
  g_assert_cmpint (calls.calls, ==, 2);
  g_assert_cmpuint (calls.last, ==, id);
  g_object_unref (fin);

  fin = threadref_dispatcher_new_finalize (dispatcher, &id);
  g_assert_true (threadref_finalize_detach (fin));
  g_assert_cmpint (calls.calls, ==, 3);
  g_assert_cmpuint (calls.last, ==, id | THREADREF_DISPATCHER_DETACHED);
  g_assert_false (threadref_finalize_detach (fin));
  g_object_unref (fin);
  g_assert_cmpint (calls.calls, ==, 3);

  /* Pending when closed: it runs, and calls nothing. */
  fin = threadref_dispatcher_new_finalize (dispatcher, &id);
  threadref_dispatcher_close (dispatcher);
  g_assert_true (threadref_finalize_call (fin));
  g_object_unref (fin);

  fin = threadref_dispatcher_new_finalize (dispatcher, &id);
  g_assert_cmpuint (id, ==, 0);
  g_assert_false (threadref_finalize_is_alive (fin));
  g_object_unref (fin);
  g_assert_cmpint (calls.calls, ==, 3);
  g_object_unref (dispatcher);   /* kept by close() */
}

typedef struct {
  GMainContext *context;
  GThread      *ran_on;
  gint          calls;
  gint          destroys;
  GThread      *destroyed_on;
} WatchData;

static void
watch_cb (ThreadRefRef *ref,
          gpointer      data)
{
  WatchData *d = data;

  g_assert_false (threadref_ref_is_alive (ref));
  d->ran_on = g_thread_self ();
  d->calls++;
}

static void
watch_destroy (gpointer data)
{
  WatchData *d = data;

  d->destroyed_on = g_thread_self ();
  d->destroys++;
}

static gpointer
short_worker (gpointer data)
{
  ThreadRefRef **out = data;

  g_atomic_pointer_set (out, threadref_ref_new (NULL, NULL, NULL));
  g_usleep (20000);
  return NULL;
}

static void
test_watch_in_context (void)
{
  WatchData d = { 0 };
  ThreadRefRef *worker = NULL;
  ThreadRefRef *watch;
  GThread *thread;

  g_test_summary ("threadref_ref_watch_in_context() runs callback and destroy "
                  "notify in the caller's main context, never on the watched thread");

  thread = g_thread_new ("watched", short_worker, &worker);
  while (g_atomic_pointer_get (&worker) == NULL)
    g_usleep (1000);
  watch = threadref_ref_watch_in_context (worker, watch_cb, &d, watch_destroy);
  g_assert_nonnull (watch);
  g_thread_join (thread);
  while (d.destroys == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (d.calls, ==, 1);
  g_assert_true (d.ran_on == g_thread_self ());
  g_assert_true (d.destroyed_on == g_thread_self ());

  /* Ended: NULL, the destroy notify runs at once, the callback never. */
  g_assert_null (threadref_ref_watch_in_context (worker, watch_cb, &d, watch_destroy));
  g_assert_cmpint (d.destroys, ==, 2);
  g_assert_cmpint (d.calls, ==, 1);

  g_object_unref (watch);
  g_object_unref (worker);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/dispatcher/order", test_dispatcher_order);
  g_test_add_func ("/threadref/dispatcher/close", test_dispatcher_close);
  g_test_add_func ("/threadref/dispatcher/bare-g-object-new", test_dispatcher_bare_g_object_new);
  g_test_add_func ("/threadref/dispatcher/new-finalize", test_dispatcher_new_finalize);
  g_test_add_func ("/threadref/watch/in-context", test_watch_in_context);

  return g_test_run ();
}
