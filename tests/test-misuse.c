/* test-misuse.c: callbacks that do surprising things while their thread
 * ends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * No double run, no deadlock inside the library, no use after free: each
 * case counts what ran and checks it after joining.
 */

#include <threadref.h>

#include "test-util.h"

/* --- a ref's callback drops the last reference to that ref ------------- */

typedef struct {
  ThreadRefRef *ref;      /* the only reference, owned by the test */
  gint          calls;
  gint          destroys;
} SelfDrop;

static void
drop_own_ref (ThreadRefRef *ref,
              gpointer      data)
{
  SelfDrop *d = data;

  d->calls++;
  g_assert_true (ref == d->ref);
  g_clear_object (&d->ref);   /* the last reference but the library's own */
  g_assert_false (threadref_ref_is_alive (ref));   /* still valid here */
}

static void
self_drop_destroy (gpointer data)
{
  ((SelfDrop *) data)->destroys++;
}

static gpointer
make_self_dropping_ref (gpointer data)
{
  SelfDrop *d = data;

  d->ref = threadref_ref_new (drop_own_ref, d, self_drop_destroy);
  return NULL;
}

static void
test_misuse_drop_own_ref (void)
{
  SelfDrop d = { 0 };

  g_test_summary ("A ref's callback that drops the last reference to that ref: "
                  "the ref stays valid during the callback, runs once, and its "
                  "destroy notify runs once");

  run_in_thread (make_self_dropping_ref, &d);
  g_assert_cmpint (d.calls, ==, 1);
  g_assert_cmpint (d.destroys, ==, 1);
  g_assert_null (d.ref);
}

/* --- finalizers that call, detach or drop other pending ones ------------ */

typedef struct {
  ThreadRefFinalize *victim_called;     /* pending, called by the first to run */
  ThreadRefFinalize *victim_detached;   /* pending, detached by it */
  ThreadRefRef      *victim_ref;        /* pending ref, its last reference dropped by it */
  ThreadRefFinalize *self;              /* the finalizer that does all this */
  gint               called_runs;
  gint               detached_runs;
  gint               ref_calls;
  gint               destroys;
  gboolean           self_call_result;
  gboolean           call_result;
  gboolean           detach_result;
} Meddler;

static void
count_called (gpointer data)
{
  ((Meddler *) data)->called_runs++;
}

static void
count_detached (gpointer data)
{
  ((Meddler *) data)->detached_runs++;
}

static void
count_ref (ThreadRefRef *ref,
           gpointer      data)
{
  ((Meddler *) data)->ref_calls++;
}

static void
count_destroy (gpointer data)
{
  ((Meddler *) data)->destroys++;
}

static void
meddle (gpointer data)
{
  Meddler *m = data;

  /* Calling the finalizer that is running now: it is no longer alive. */
  m->self_call_result = threadref_finalize_call (m->self);
  m->call_result = threadref_finalize_call (m->victim_called);
  m->detach_result = threadref_finalize_detach (m->victim_detached);
  g_clear_object (&m->victim_ref);
}

static gpointer
make_meddlers (gpointer data)
{
  Meddler *m = data;

  /* Oldest first; the meddler is newest, so it runs first. */
  m->victim_called = threadref_finalize_new (count_called, m, count_destroy);
  m->victim_detached = threadref_finalize_new (count_detached, m, count_destroy);
  m->victim_ref = threadref_ref_new (count_ref, m, count_destroy);
  m->self = threadref_finalize_new (meddle, m, count_destroy);
  return NULL;
}

static void
test_misuse_meddle_with_others (void)
{
  Meddler m = { 0 };

  g_test_summary ("A finalizer that calls itself, calls and detaches other "
                  "pending finalizers of its thread, and drops a pending ref: "
                  "each function runs at most once, each destroy notify once");

  run_in_thread (make_meddlers, &m);

  g_assert_false (m.self_call_result);
  g_assert_true (m.call_result);
  g_assert_true (m.detach_result);
  g_assert_cmpint (m.called_runs, ==, 1);     /* by call(), not again at the end */
  g_assert_cmpint (m.detached_runs, ==, 0);
  g_assert_cmpint (m.ref_calls, ==, 0);       /* dropped before its turn */
  g_assert_cmpint (m.destroys, ==, 4);

  g_object_unref (m.victim_called);
  g_object_unref (m.victim_detached);
  g_object_unref (m.self);
}

/* --- callbacks that make refs and call g_thread_self() ------------------ */

typedef struct {
  GPtrArray *made;
  gint       inner_calls;
  gboolean   got_thread;
} Maker;

static void
inner_ref_fired (ThreadRefRef *ref,
                 gpointer      data)
{
  ((Maker *) data)->inner_calls++;
}

static void
make_refs_and_ask_glib (gpointer data)
{
  Maker *m = data;
  GThread *self = g_thread_self ();

  /* GLib already dropped its own GThread for this thread: this is a new
   * one, but a valid one. */
  m->got_thread = (self != NULL);
  for (guint i = 0; i < 3; i++)
    g_ptr_array_add (m->made, threadref_ref_new (inner_ref_fired, m, NULL));
}

static gpointer
start_maker (gpointer data)
{
  g_object_unref (threadref_finalize_new (make_refs_and_ask_glib, data, NULL));
  return NULL;
}

static void
test_misuse_make_refs_in_callback (void)
{
  Maker m = { 0 };

  g_test_summary ("A callback that creates refs and calls g_thread_self() while "
                  "its thread ends: the new refs fire too, before join returns");

  m.made = g_ptr_array_new_with_free_func (g_object_unref);
  run_in_thread (start_maker, &m);
  g_assert_true (m.got_thread);
  g_assert_cmpint (m.inner_calls, ==, 3);
  for (guint i = 0; i < m.made->len; i++)
    g_assert_false (threadref_ref_is_alive (m.made->pdata[i]));
  g_ptr_array_unref (m.made);
}

/* --- a callback that needs a lock held by a thread that waits for it ---- */

typedef struct {
  GMutex        lock;
  ThreadRefRef *ref;
  gint          stage;
  GMutex        stage_mutex;
  GCond         stage_cond;
  gint          entered;
  gboolean      callback_ran;
} Contended;

static void
take_contended_lock (gpointer data)
{
  Contended *c = data;

  g_atomic_int_set (&c->entered, 1);
  g_mutex_lock (&c->lock);     /* held by the waiter below for a while */
  c->callback_ran = TRUE;
  g_mutex_unlock (&c->lock);
}

static gpointer
contended_worker (gpointer data)
{
  Contended *c = data;

  c->ref = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (take_contended_lock, c, NULL));

  g_mutex_lock (&c->stage_mutex);
  c->stage = 1;
  g_cond_broadcast (&c->stage_cond);
  while (c->stage < 2)
    g_cond_wait (&c->stage_cond, &c->stage_mutex);
  g_mutex_unlock (&c->stage_mutex);
  return NULL;
}

static void
test_misuse_lock_held_by_waiter (void)
{
  Contended c = { 0 };
  GThread *thread;
  gboolean ended_while_locked;

  g_test_summary ("A callback blocks on a lock held by a thread that waits "
                  "(with a timeout) for the callback's thread: the library "
                  "holds nothing meanwhile, the wait times out, the callback "
                  "then runs; no deadlock");

  g_mutex_init (&c.lock);
  g_mutex_init (&c.stage_mutex);
  g_cond_init (&c.stage_cond);
  thread = g_thread_new ("contended", contended_worker, &c);
  g_mutex_lock (&c.stage_mutex);
  while (c.stage < 1)
    g_cond_wait (&c.stage_cond, &c.stage_mutex);
  g_mutex_unlock (&c.stage_mutex);

  g_mutex_lock (&c.lock);
  g_mutex_lock (&c.stage_mutex);
  c.stage = 2;
  g_cond_broadcast (&c.stage_cond);
  g_mutex_unlock (&c.stage_mutex);
  /* The worker now ends and its finalizer blocks on c.lock. */
  while (!g_atomic_int_get (&c.entered))
    g_thread_yield ();
  ended_while_locked = threadref_ref_wait (c.ref, 100 * 1000);
  /* Meanwhile other threads still use the library freely. */
  g_object_unref (threadref_ref_new (NULL, NULL, NULL));
  g_assert_false (threadref_ref_is_alive (c.ref));   /* its end has begun */
  g_mutex_unlock (&c.lock);

  g_thread_join (thread);
  g_assert_false (ended_while_locked);
  g_assert_true (c.callback_ran);
  g_assert_true (threadref_ref_wait (c.ref, 0));

  g_object_unref (c.ref);
  g_mutex_clear (&c.lock);
  g_mutex_clear (&c.stage_mutex);
  g_cond_clear (&c.stage_cond);
}

/* --- a callback that blocks briefly while others wait ------------------- */

typedef struct {
  ThreadRefRef *ref;
  gint          slow_done;
  gint          waiters_ok;
  gint          ready;
} SlowEnd;

static void
slow_callback (gpointer data)
{
  g_usleep (50 * 1000);
  g_atomic_int_set (&((SlowEnd *) data)->slow_done, 1);
}

static gpointer
slow_worker (gpointer data)
{
  SlowEnd *s = data;

  g_atomic_pointer_set (&s->ref, threadref_ref_new (NULL, NULL, NULL));
  g_object_unref (threadref_finalize_new (slow_callback, s, NULL));
  while (g_atomic_int_get (&s->ready) < 3)
    g_thread_yield ();
  return NULL;
}

static gpointer
slow_waiter (gpointer data)
{
  SlowEnd *s = data;
  ThreadRefRef *ref;

  while ((ref = g_atomic_pointer_get (&s->ref)) == NULL)
    g_thread_yield ();
  g_atomic_int_inc (&s->ready);
  /* Must not return before the slow callback returned. */
  if (threadref_ref_wait (ref, -1) && g_atomic_int_get (&s->slow_done))
    g_atomic_int_inc (&s->waiters_ok);
  return NULL;
}

static void
test_misuse_slow_callback_waiters (void)
{
  SlowEnd s = { 0 };
  GThread *worker = g_thread_new ("slow", slow_worker, &s);
  GThread *waiters[3];

  g_test_summary ("A callback that blocks briefly while several threads wait "
                  "for its thread: every waiter returns after it returned");

  for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
    waiters[i] = g_thread_new ("waiter", slow_waiter, &s);
  for (guint i = 0; i < G_N_ELEMENTS (waiters); i++)
    g_thread_join (waiters[i]);
  g_thread_join (worker);

  g_assert_cmpint (s.waiters_ok, ==, 3);
  g_object_unref (s.ref);
}

/* --- disposed but not finalized objects --------------------------------- */

static void
never (ThreadRefRef *ref,
       gpointer      data)
{
  g_assert_not_reached ();
}

static gpointer
make_and_dispose (gpointer data)
{
  ThreadRefRef **out = data;

  *out = threadref_ref_new (never, NULL, NULL);
  /* Someone runs dispose early (bindings and containers do). */
  g_object_run_dispose (G_OBJECT (*out));
  g_assert_true (threadref_ref_is_alive (*out));
  return NULL;
}

static void
test_misuse_run_dispose (void)
{
  ThreadRefRef *ref = NULL;

  g_test_summary ("g_object_run_dispose() on a ref cancels it like a last "
                  "unref: it never fires, and the object still answers");

  run_in_thread (make_and_dispose, &ref);
  g_assert_false (threadref_ref_is_alive (ref));
  g_assert_null (threadref_ref_dup_thread (ref));
  g_object_unref (ref);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/misuse/drop-own-ref", test_misuse_drop_own_ref);
  g_test_add_func ("/threadref/misuse/meddle-with-others", test_misuse_meddle_with_others);
  g_test_add_func ("/threadref/misuse/make-refs-in-callback", test_misuse_make_refs_in_callback);
  g_test_add_func ("/threadref/misuse/lock-held-by-waiter", test_misuse_lock_held_by_waiter);
  g_test_add_func ("/threadref/misuse/slow-callback-waiters", test_misuse_slow_callback_waiters);
  g_test_add_func ("/threadref/misuse/run-dispose", test_misuse_run_dispose);

  return g_test_run ();
}
