/* test-stress.c: several threads racing one thread's end, and scale
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Races (/threadref/stress/races/...): each iteration starts a worker that
 * makes finalizers, refs and plain registrations, and three racers that, all
 * at once, call, detach, drop, query, compare and watch those same objects
 * while the worker ends. Afterwards every object's counters are checked
 * against the contract; whatever is decidable on the spot is checked there
 * too (a call() that began after the join cannot win, a watch that returns
 * NULL comes after every callback of the thread, a ref whose last reference
 * went while the worker still ran its own code never fires, ...).
 * test-races.c covers one racer against one ending thread per operation.
 *
 * Scale (/threadref/stress/scale/...): many threads with many registrations
 * each, one thread with very many, and a churn of short threads whose memory
 * must not grow.
 *
 * Sizes: the default run is scaled down so that CI can also run it under
 * sanitizers and valgrind, where the sizes shrink further; the tests' one
 * scale (test-util.h: `-m thorough`, THREADREF_TEST_SCALE) multiplies them.
 * Every figure is printed with g_test_message().
 */

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <threadref.h>

#include "test-util.h"

/* --- sizes ---------------------------------------------------------------- */

typedef struct {
  const char *name;
  guint       race_iterations;   /* per way of ending the worker */
  guint       many_threads;      /* each with MANY_PER_THREAD registrations */
  guint       one_thread;        /* registrations in one thread */
  guint       churn_threads;
} Sizes;

/* At scale 1. Whole-file times measured on the 2-core test machine when it
 * was quiet (it ran up to 8 times slower while loaded): 7 s, and under the
 * tools 20-30 s each, which leaves room for slower CI machines within the
 * budgets; `-m thorough` (scale 10) runs for minutes. */
static const Sizes default_sizes = { "default", 10000, 200, 200000, 20000 };
static const Sizes asan_sizes = { "reduced for AddressSanitizer", 5000, 200, 200000, 20000 };
static const Sizes tsan_sizes = { "reduced for ThreadSanitizer", 3000, 100, 100000, 10000 };
static const Sizes valgrind_sizes = { "reduced for valgrind", 1000, 50, 100000, 3000 };

static TestTool tool;
static Sizes sizes;

static void
sizes_init (void)
{
  tool = test_tool ();

  switch (tool)
    {
    case TEST_TOOL_NONE:
      sizes = default_sizes;
      break;
    case TEST_TOOL_ASAN:
      sizes = asan_sizes;
      break;
    case TEST_TOOL_TSAN:
      sizes = tsan_sizes;
      break;
    case TEST_TOOL_VALGRIND:
      sizes = valgrind_sizes;
      break;
    default:
      g_assert_not_reached ();
    }

  sizes.race_iterations = test_size (sizes.race_iterations);
  sizes.many_threads = test_size (sizes.many_threads);
  sizes.one_thread = test_size (sizes.one_thread);
  sizes.churn_threads = test_size (sizes.churn_threads);
}

/* --- races: several racers against one worker's end ---------------------- */

#define N_RACERS       3
#define N_FINS         4   /* ThreadRefFinalize of the worker */
#define N_KEPT         2   /* ThreadRefRef that main keeps: must fire */
#define N_DROPPED      3   /* ThreadRefRef held only by some racers: may not fire */
#define N_PLAIN        3   /* threadref_at_thread_exit_add() handles */
#define N_FIRE_FORGET  2   /* threadref_at_thread_exit(): cannot be cancelled */
#define N_WORKER_MAX   4   /* the largest of the five */

/* Racers keep going this many operations after they saw the worker leave its
 * function, so that they straddle its teardown. */
#define RACER_TAIL_OPS 24
#define RACER_MAX_OPS  400

typedef enum {
  WORKER_G_THREAD_RETURN,
  WORKER_G_THREAD_EXIT,
  WORKER_PTHREAD_RETURN,
  WORKER_PTHREAD_EXIT,
} WorkerEnd;

/* Which thread a callback runs on, kept in TLS: a GThread would not do, as
 * GLib destroys its own per-thread GThread before threadref's callbacks run
 * on an ending thread. */
enum {
  ROLE_NONE,
  ROLE_MAIN,
  ROLE_WORKER,
  ROLE_RACER0,   /* ROLE_RACER0 + i for racer i */
};

static __thread gint thread_role;

typedef struct _Race Race;

/* One registration and what happened to it; all counters are atomic. */
typedef struct {
  Race     *race;
  gpointer  object;        /* the worker's object, set before publication */
  gboolean  is_watch;      /* made by a racer: object is not set */
  gboolean  main_holds;    /* finalizers: main keeps a reference to the end */
  gint      calls;         /* the function or callback ran */
  gint      call_role;     /* ... on this thread */
  gint      destroys;
  gint      destroy_role;
  gint      call_won;      /* call() returned TRUE */
  gint      detach_won;    /* detach() or threadref_at_thread_exit_cancel() returned TRUE */
  gint      won_role;      /* ... on this racer */
  gint      taken;         /* plain handles: someone is giving it back */
  GMutex    drop_lock;     /* dropped refs: one racer drops at a time */
  gint      holders;       /* dropped refs, under drop_lock */
  gint      last_dropper;  /* the racer that dropped the last reference */
} Slot;

struct _Race {
  WorkerEnd      end;
  guint          jitter;         /* the worker spins this long before it ends */
  TestStartLine  start;
  gint           published;      /* the worker's objects are set */
  gint           returned;       /* the worker left its own code */
  gint           joined;         /* main joined the worker */
  gint           dead_seen;      /* a racer saw the worker's lifetime dead */
  gint           worker_entered; /* callbacks that started on the worker */
  gint           worker_left;    /* ... and returned */
  gint           late;           /* callbacks that ran on the worker after the join */
  GThread       *worker_gthread; /* compared by address with dup_thread() */
  Slot           fins[N_FINS];
  Slot           kept[N_KEPT];
  Slot           dropped[N_DROPPED];
  Slot           plain[N_PLAIN];
  Slot           fire_forget[N_FIRE_FORGET];
};

typedef enum {
  WATCH_REF,
  WATCH_FINALIZE_DROP,   /* dropped at once: keeps itself alive */
  WATCH_FINALIZE_CALL,   /* call()ed at once, racing the worker's end */
} WatchKind;

/* A watch made by a racer; main checks it after every thread was joined. */
typedef struct {
  Slot       slot;
  WatchKind  kind;
  gpointer   object;     /* the ThreadRefRef from threadref_ref_watch(), or NULL */
  gboolean   made;       /* the watch call did not return NULL */
} Watch;

/* What the racers saw; summed over racers and iterations. */
typedef struct {
  guint ops;
  guint fin_call_won, fin_call_lost;
  guint fin_detach_won, fin_detach_lost;
  guint alive_seen, dead_seen;
  guint equal_checks;
  guint watch_made, watch_null;
  guint wfin_made, wfin_call_won, wfin_null;
  guint plain_cancel_won, plain_cancel_lost;
} RacerStats;

typedef struct {
  RacerStats racers;
  guint      iterations;
  guint      fin_by_call, fin_by_detach, fin_by_end;
  guint      dropped_unref_won, dropped_end_won;
  guint      kept_fired;
  guint      plain_cancelled, plain_by_end, plain_given_back;
  guint      wfin_by_end;
} RaceStats;

typedef struct {
  Race         *race;
  gint          role;
  GRand        *rng;
  gboolean      holds_fin[N_FINS];
  gboolean      holds_kept[N_KEPT];
  gboolean      holds_dropped[N_DROPPED];
  ThreadRefRef *own;        /* a ref to the racer itself: never equal to the worker's */
  GPtrArray    *watches;
  RacerStats    stats;
} Racer;

static void
callback_enter (Race *race)
{
  if (thread_role == ROLE_WORKER)
    {
      g_atomic_int_inc (&race->worker_entered);
      /* "Never on a thread that was already gone." */
      if (g_atomic_int_get (&race->joined))
        g_atomic_int_inc (&race->late);
    }
}

static void
callback_leave (Race *race)
{
  if (thread_role == ROLE_WORKER)
    g_atomic_int_inc (&race->worker_left);
}

/* Plain registrations and watch finalizers. */
static void
slot_func (gpointer data)
{
  Slot *slot = data;

  callback_enter (slot->race);
  g_assert_cmpint (g_atomic_int_get (&slot->destroys), ==, 0);
  g_atomic_int_set (&slot->call_role, thread_role);
  g_atomic_int_inc (&slot->calls);
  callback_leave (slot->race);
}

/* The worker's own finalizers: dead while their function runs. */
static void
fin_func (gpointer data)
{
  Slot *slot = data;

  g_assert_false (threadref_finalize_is_alive (slot->object));
  slot_func (data);
}

static void
slot_ref_callback (ThreadRefRef *ref,
                   gpointer      data)
{
  Slot *slot = data;
  GThread *thread;

  callback_enter (slot->race);
  /* A ref's callback runs only on its thread as it ends; the ref is dead. */
  g_assert_cmpint (thread_role, ==, ROLE_WORKER);
  g_assert_true (slot->is_watch || ref == slot->object);
  g_assert_false (threadref_ref_is_alive (ref));
  thread = threadref_ref_dup_thread (ref);
  g_assert_null (thread);
  g_assert_cmpint (g_atomic_int_get (&slot->destroys), ==, 0);
  g_atomic_int_set (&slot->call_role, thread_role);
  g_atomic_int_inc (&slot->calls);
  callback_leave (slot->race);
}

static void
slot_destroy (gpointer data)
{
  Slot *slot = data;

  callback_enter (slot->race);
  g_atomic_int_set (&slot->destroy_role, thread_role);
  g_atomic_int_inc (&slot->destroys);
  callback_leave (slot->race);
}

static void
start_line (Race *race)
{
  test_start_line_wait (&race->start);
}

static gpointer
race_worker (gpointer data)
{
  Race *race = data;

  thread_role = ROLE_WORKER;
  race->worker_gthread = g_thread_self ();

  /* Interleaved, so that the end runs the kinds mixed, newest first. */
  for (guint i = 0; i < N_WORKER_MAX; i++)
    {
      if (i < N_FINS)
        {
          Slot *slot = &race->fins[i];
          ThreadRefFinalize *fin = threadref_finalize_new (fin_func, slot, slot_destroy);

          slot->object = fin;
          /* One reference per racer, and one for main if it holds it. */
          for (guint r = 1; r < N_RACERS + (slot->main_holds ? 1 : 0); r++)
            g_object_ref (fin);
        }
      if (i < N_KEPT)
        {
          Slot *slot = &race->kept[i];

          slot->object = threadref_ref_new (slot_ref_callback, slot, slot_destroy);
          for (guint r = 0; r < N_RACERS; r++)
            g_object_ref (slot->object);
        }
      if (i < N_DROPPED)
        {
          Slot *slot = &race->dropped[i];

          slot->object = threadref_ref_new (slot_ref_callback, slot, slot_destroy);
          for (gint r = 1; r < slot->holders; r++)
            g_object_ref (slot->object);
        }
      if (i < N_PLAIN)
        race->plain[i].object = threadref_at_thread_exit_add (slot_func, &race->plain[i],
                                                    THREADREF_AT_THREAD_EXIT_DEFAULT);
      if (i < N_FIRE_FORGET)
        threadref_at_thread_exit (slot_func, &race->fire_forget[i], THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
    }

  g_atomic_int_set (&race->published, 1);
  start_line (race);
  for (volatile guint i = 0; i < race->jitter; i++)
    ;
  g_atomic_int_set (&race->returned, 1);

  switch (race->end)
    {
    case WORKER_G_THREAD_EXIT:
      test_g_thread_exit ();
      break;
    case WORKER_PTHREAD_EXIT:
      pthread_exit (NULL);
      break;
    case WORKER_G_THREAD_RETURN:
    case WORKER_PTHREAD_RETURN:
      break;
    default:
      g_assert_not_reached ();
    }

  return NULL;
}

/* Picks one of the worker's finalizers this racer still holds. */
static gint
racer_pick_fin (Racer *r)
{
  guint start = g_rand_int (r->rng) % N_FINS;

  for (guint k = 0; k < N_FINS; k++)
    if (r->holds_fin[(start + k) % N_FINS])
      return (start + k) % N_FINS;
  return -1;
}

/* Picks one of the worker's refs this racer still holds: kept ones are
 * numbered first, then dropped ones. */
static Slot *
racer_pick_ref (Racer *r)
{
  guint n = N_KEPT + N_DROPPED;
  guint start = g_rand_int (r->rng) % n;

  for (guint k = 0; k < n; k++)
    {
      guint i = (start + k) % n;

      if (i < N_KEPT && r->holds_kept[i])
        return &r->race->kept[i];
      if (i >= N_KEPT && r->holds_dropped[i - N_KEPT])
        return &r->race->dropped[i - N_KEPT];
    }
  return NULL;
}

static void
racer_fin_call (Racer *r,
                Slot  *slot)
{
  Race *race = r->race;
  gboolean joined_before = g_atomic_int_get (&race->joined);

  if (threadref_finalize_call (slot->object))
    {
      g_atomic_int_inc (&slot->call_won);
      g_atomic_int_set (&slot->won_role, r->role);
      /* It ran here, now, then its destroy notify; never after the join. */
      g_assert_false (joined_before);
      g_assert_cmpint (g_atomic_int_get (&slot->calls), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->call_role), ==, r->role);
      g_assert_cmpint (g_atomic_int_get (&slot->destroys), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->destroy_role), ==, r->role);
      r->stats.fin_call_won++;
    }
  else
    r->stats.fin_call_lost++;

  /* Whoever won, it is dead now. */
  g_assert_false (threadref_finalize_is_alive (slot->object));
}

static void
racer_fin_detach (Racer *r,
                  Slot  *slot)
{
  Race *race = r->race;
  gboolean joined_before = g_atomic_int_get (&race->joined);

  if (threadref_finalize_detach (slot->object))
    {
      g_atomic_int_inc (&slot->detach_won);
      g_atomic_int_set (&slot->won_role, r->role);
      /* Only if the function never ran, and its destroy notify ran here. */
      g_assert_false (joined_before);
      g_assert_cmpint (g_atomic_int_get (&slot->calls), ==, 0);
      g_assert_cmpint (g_atomic_int_get (&slot->destroys), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->destroy_role), ==, r->role);
      r->stats.fin_detach_won++;
    }
  else
    r->stats.fin_detach_lost++;

  g_assert_false (threadref_finalize_is_alive (slot->object));
}

/* Checks what dup_thread() returned against what is known of the worker. */
static void
racer_check_thread (Racer    *r,
                    GThread  *thread,
                    gboolean  joined_before,
                    gboolean  dead_before)
{
  Race *race = r->race;

  if (thread != NULL)
    {
      g_assert_true (thread == race->worker_gthread);
      g_assert_false (joined_before);
      g_assert_false (dead_before);
      g_thread_unref (thread);
    }
  else
    {
      /* Dead only once the worker left its own code. */
      g_assert_true (g_atomic_int_get (&race->returned));
      g_atomic_int_set (&race->dead_seen, 1);
    }
}

static void
racer_fin_query (Racer *r,
                 Slot  *slot)
{
  Race *race = r->race;
  gboolean joined_before = g_atomic_int_get (&race->joined);
  gboolean dead_before = g_atomic_int_get (&race->dead_seen);
  gboolean done_before = g_atomic_int_get (&slot->calls) > 0 ||
                         g_atomic_int_get (&slot->destroys) > 0;
  gboolean alive = threadref_finalize_is_alive (slot->object);

  /* Once it ran or was detached, never alive again. */
  g_assert_false (done_before && alive);
  racer_check_thread (r, threadref_finalize_dup_thread (slot->object), joined_before, dead_before);
}

static void
racer_ref_query (Racer *r,
                 Slot  *slot)
{
  Race *race = r->race;
  gboolean joined_before = g_atomic_int_get (&race->joined);
  gboolean dead_before = g_atomic_int_get (&race->dead_seen);
  gboolean alive = threadref_ref_is_alive (slot->object);
  GThread *thread = threadref_ref_dup_thread (slot->object);

  if (alive)
    {
      /* Once anyone saw it dead, or after the join, never alive again. */
      g_assert_false (dead_before);
      g_assert_false (joined_before);
      r->stats.alive_seen++;
    }
  else
    {
      g_assert_null (thread);   /* read after: still dead */
      g_assert_true (g_atomic_int_get (&race->returned));
      g_atomic_int_set (&race->dead_seen, 1);
      r->stats.dead_seen++;
    }
  racer_check_thread (r, thread, joined_before, dead_before);
}

static void
racer_ref_equal (Racer *r,
                 Slot  *a,
                 Slot  *b)
{
  /* Every ref the worker made is to one lifetime, ended or not; the
   * racer's own is to another. */
  g_assert_true (threadref_ref_equal (a->object, b->object));
  g_assert_cmpuint (threadref_ref_hash (a->object), ==, threadref_ref_hash (b->object));
  g_assert_false (threadref_ref_equal (a->object, r->own));
  g_assert_false (threadref_ref_equal (r->own, b->object));
  g_assert_true (threadref_ref_equal (r->own, r->own));
  r->stats.equal_checks++;
}

static void
racer_drop_dropped (Racer *r,
                    guint  i)
{
  Race *race = r->race;
  Slot *slot = &race->dropped[i];
  gboolean joined_before = g_atomic_int_get (&race->joined);
  gboolean last;

  r->holds_dropped[i] = FALSE;

  /* The racers drop one at a time, so that "last" is decidable: the racer
   * that drops the last reference is the one whose g_object_unref()
   * finalizes the ref, unless the ending worker holds it to fire. This
   * races only with the worker's end, which is the point. */
  g_mutex_lock (&slot->drop_lock);
  last = --slot->holders == 0;
  if (last)
    g_atomic_int_set (&slot->last_dropper, r->role);
  g_object_unref (slot->object);
  g_mutex_unlock (&slot->drop_lock);

  if (!last)
    return;

  if (!g_atomic_int_get (&race->returned))
    {
      /* The last reference went while the worker still ran its own code:
       * the callback never runs; the destroy notify ran in our unref. */
      g_assert_cmpint (g_atomic_int_get (&slot->destroys), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->destroy_role), ==, r->role);
      g_assert_cmpint (g_atomic_int_get (&slot->calls), ==, 0);
    }
  if (joined_before)
    {
      /* Dropped after the join: the callback had run, on the worker. */
      g_assert_cmpint (g_atomic_int_get (&slot->calls), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->call_role), ==, ROLE_WORKER);
      g_assert_cmpint (g_atomic_int_get (&slot->destroys), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->destroy_role), ==, ROLE_WORKER);
    }
}

static void
racer_drop_ref (Racer *r,
                Slot  *slot)
{
  Race *race = r->race;

  if (slot >= race->kept && slot < race->kept + N_KEPT)
    {
      r->holds_kept[slot - race->kept] = FALSE;
      g_object_unref (slot->object);   /* main still holds it */
    }
  else
    racer_drop_dropped (r, slot - race->dropped);
}

/* threadref_ref_watch() or threadref_ref_watch_finalize() returned NULL: the
 * worker's lifetime has ended, so every callback of it has returned. */
static void
racer_check_ended (Racer *r,
                   Watch *w,
                   Slot  *from)
{
  Race *race = r->race;

  g_assert_cmpint (g_atomic_int_get (&w->slot.destroys), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&w->slot.destroy_role), ==, r->role);
  g_assert_cmpint (g_atomic_int_get (&w->slot.calls), ==, 0);
  g_assert_false (threadref_ref_is_alive (from->object));
  g_assert_true (g_atomic_int_get (&race->returned));
  for (guint i = 0; i < N_KEPT; i++)
    g_assert_cmpint (g_atomic_int_get (&race->kept[i].calls), ==, 1);
  for (guint i = 0; i < N_FIRE_FORGET; i++)
    g_assert_cmpint (g_atomic_int_get (&race->fire_forget[i].calls), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&race->worker_entered), ==,
                   g_atomic_int_get (&race->worker_left));
}

static void
racer_watch (Racer    *r,
             Slot     *from,
             gboolean  finalize)
{
  Race *race = r->race;
  Watch *w = g_new0 (Watch, 1);
  gboolean joined_before = g_atomic_int_get (&race->joined);

  w->slot.race = race;
  w->slot.is_watch = TRUE;
  g_ptr_array_add (r->watches, w);

  if (!finalize)
    {
      ThreadRefRef *watch;

      w->kind = WATCH_REF;
      watch = threadref_ref_watch (from->object, slot_ref_callback, &w->slot, slot_destroy);
      if (watch == NULL)
        {
          racer_check_ended (r, w, from);
          r->stats.watch_null++;
          return;
        }

      /* Kept until main checked that it fired: dropping it would cancel. */
      g_assert_false (joined_before);
      g_assert_true (threadref_ref_equal (watch, from->object));
      g_assert_cmpuint (threadref_ref_hash (watch), ==, threadref_ref_hash (from->object));
      w->object = watch;
      w->made = TRUE;
      r->stats.watch_made++;
    }
  else
    {
      ThreadRefFinalize *fin;

      w->kind = (g_rand_int (r->rng) & 1) ? WATCH_FINALIZE_CALL : WATCH_FINALIZE_DROP;
      fin = threadref_ref_watch_finalize (from->object, slot_func, &w->slot, slot_destroy);
      if (fin == NULL)
        {
          racer_check_ended (r, w, from);
          r->stats.wfin_null++;
          return;
        }

      g_assert_false (joined_before);
      w->made = TRUE;
      r->stats.wfin_made++;
      if (w->kind == WATCH_FINALIZE_CALL && threadref_finalize_call (fin))
        {
          g_atomic_int_inc (&w->slot.call_won);
          g_atomic_int_set (&w->slot.won_role, r->role);
          g_assert_cmpint (g_atomic_int_get (&w->slot.calls), ==, 1);
          r->stats.wfin_call_won++;
        }
      /* Keeps itself alive: runs at the worker's end all the same. */
      g_object_unref (fin);
    }
}

static void
racer_plain_cancel (Racer *r)
{
  Race *race = r->race;
  guint i = g_rand_int (r->rng) % N_PLAIN;
  Slot *slot = &race->plain[i];
  gboolean joined_before;

  /* Each handle is given back exactly once: by whoever takes it first. */
  if (!g_atomic_int_compare_and_exchange (&slot->taken, 0, 1))
    return;

  joined_before = g_atomic_int_get (&race->joined);
  if (threadref_at_thread_exit_cancel (slot->object))
    {
      g_atomic_int_inc (&slot->detach_won);
      g_atomic_int_set (&slot->won_role, r->role);
      g_assert_false (joined_before);
      g_assert_cmpint (g_atomic_int_get (&slot->calls), ==, 0);
      r->stats.plain_cancel_won++;
    }
  else
    {
      /* It ran or runs now on the worker; after the join it has run. */
      if (joined_before)
        g_assert_cmpint (g_atomic_int_get (&slot->calls), ==, 1);
      r->stats.plain_cancel_lost++;
    }
}

typedef enum {
  OP_FIN_CALL,
  OP_FIN_DETACH,
  OP_FIN_QUERY,
  OP_FIN_UNREF,
  OP_REF_QUERY,
  OP_REF_EQUAL,
  OP_REF_UNREF,
  OP_WATCH,
  OP_WATCH_FINALIZE,
  OP_PLAIN_CANCEL,
  N_OPS
} RaceOp;

static void
racer_do_op (Racer  *r,
             RaceOp  op)
{
  Race *race = r->race;
  gint fin = -1;
  Slot *ref = NULL;

  switch (op)
    {
    case OP_FIN_CALL:
    case OP_FIN_DETACH:
    case OP_FIN_QUERY:
    case OP_FIN_UNREF:
      fin = racer_pick_fin (r);
      if (fin < 0)
        return;
      break;
    case OP_REF_QUERY:
    case OP_REF_EQUAL:
    case OP_REF_UNREF:
    case OP_WATCH:
    case OP_WATCH_FINALIZE:
      ref = racer_pick_ref (r);
      if (ref == NULL)
        return;
      break;
    case OP_PLAIN_CANCEL:
      break;
    case N_OPS:
    default:
      g_assert_not_reached ();
    }

  r->stats.ops++;

  switch (op)
    {
    case OP_FIN_CALL:
      racer_fin_call (r, &race->fins[fin]);
      break;
    case OP_FIN_DETACH:
      racer_fin_detach (r, &race->fins[fin]);
      break;
    case OP_FIN_QUERY:
      racer_fin_query (r, &race->fins[fin]);
      break;
    case OP_FIN_UNREF:
      r->holds_fin[fin] = FALSE;
      g_object_unref (race->fins[fin].object);
      break;
    case OP_REF_QUERY:
      racer_ref_query (r, ref);
      break;
    case OP_REF_EQUAL:
      racer_ref_equal (r, ref, racer_pick_ref (r));
      break;
    case OP_REF_UNREF:
      racer_drop_ref (r, ref);
      break;
    case OP_WATCH:
      racer_watch (r, ref, FALSE);
      break;
    case OP_WATCH_FINALIZE:
      racer_watch (r, ref, TRUE);
      break;
    case OP_PLAIN_CANCEL:
      racer_plain_cancel (r);
      break;
    case N_OPS:
    default:
      g_assert_not_reached ();
    }
}

static gpointer
race_racer (gpointer data)
{
  Racer *r = data;
  Race *race = r->race;
  gint returned_at = -1;

  thread_role = r->role;
  r->own = threadref_ref_new (NULL, NULL, NULL);

  while (!g_atomic_int_get (&race->published))
    g_thread_yield ();
  start_line (race);

  for (gint n = 0; n < RACER_MAX_OPS; n++)
    {
      guint32 choice = g_rand_int (r->rng);

      if (returned_at < 0 && g_atomic_int_get (&race->returned))
        returned_at = n;
      if (returned_at >= 0 && n - returned_at >= RACER_TAIL_OPS)
        break;
      /* While the worker ends, half the operations watch it: the teardown
       * must run whatever attaches until the moment it marks the lifetime
       * ended, and that moment is a window of a few nanoseconds. */
      if (returned_at >= 0 && choice % 2 == 0)
        racer_do_op (r, (choice / 2) % 2 ? OP_WATCH : OP_WATCH_FINALIZE);
      else
        racer_do_op (r, (choice / 4) % N_OPS);
    }

  /* Whatever is left: the last of these may still race the end. */
  for (guint i = 0; i < N_FINS; i++)
    if (r->holds_fin[i])
      g_object_unref (race->fins[i].object);
  for (guint i = 0; i < N_KEPT; i++)
    if (r->holds_kept[i])
      g_object_unref (race->kept[i].object);
  for (guint i = 0; i < N_DROPPED; i++)
    if (r->holds_dropped[i])
      racer_drop_dropped (r, i);
  g_object_unref (r->own);

  return NULL;
}

static void
slot_init (Slot *slot,
           Race *race)
{
  slot->race = race;
  g_mutex_init (&slot->drop_lock);
}

/* After the worker was joined, while the racers may still run. */
static void
race_check_after_worker_join (Race *race)
{
  Slot late_watch = { 0 };
  GThread *thread;

  /* Every callback of the worker has returned... */
  g_assert_cmpint (g_atomic_int_get (&race->worker_entered), ==,
                   g_atomic_int_get (&race->worker_left));
  /* ...including those that must run: refs main keeps, fire-and-forget. */
  for (guint i = 0; i < N_KEPT; i++)
    {
      Slot *slot = &race->kept[i];

      g_assert_cmpint (g_atomic_int_get (&slot->calls), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->call_role), ==, ROLE_WORKER);
      g_assert_cmpint (g_atomic_int_get (&slot->destroys), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&slot->destroy_role), ==, ROLE_WORKER);
      g_assert_false (threadref_ref_is_alive (slot->object));
      thread = threadref_ref_dup_thread (slot->object);
      g_assert_null (thread);
    }
  for (guint i = 0; i < N_FIRE_FORGET; i++)
    {
      g_assert_cmpint (g_atomic_int_get (&race->fire_forget[i].calls), ==, 1);
      g_assert_cmpint (g_atomic_int_get (&race->fire_forget[i].call_role), ==, ROLE_WORKER);
    }
  for (guint i = 0; i < N_FINS; i++)
    if (race->fins[i].main_holds)
      {
        g_assert_false (threadref_finalize_is_alive (race->fins[i].object));
        thread = threadref_finalize_dup_thread (race->fins[i].object);
        g_assert_null (thread);
      }

  /* Too late to watch: nothing is made, the destroy notify runs here. */
  late_watch.race = race;
  late_watch.is_watch = TRUE;
  g_assert_null (threadref_ref_watch (race->kept[0].object, slot_ref_callback,
                                   &late_watch, slot_destroy));
  g_assert_null (threadref_ref_watch_finalize (race->kept[0].object, slot_func,
                                            &late_watch, slot_destroy));
  g_assert_cmpint (late_watch.calls, ==, 0);
  g_assert_cmpint (late_watch.destroys, ==, 2);
  g_assert_cmpint (late_watch.destroy_role, ==, ROLE_MAIN);
}

/* After every thread was joined: the whole contract, object by object. */
static void
race_check_final (Race      *race,
                  Racer     *racers,
                  RaceStats *stats)
{
  for (guint i = 0; i < N_FINS; i++)
    {
      Slot *slot = &race->fins[i];

      /* The function ran at most once, exactly once unless detached
       * first; call() returned TRUE for exactly the call that ran it; the
       * destroy notify ran once, where the function ran or detach() won. */
      g_assert_cmpint (slot->call_won + slot->detach_won, <=, 1);
      g_assert_cmpint (slot->destroys, ==, 1);
      if (slot->detach_won)
        {
          g_assert_cmpint (slot->calls, ==, 0);
          g_assert_cmpint (slot->destroy_role, ==, slot->won_role);
          stats->fin_by_detach++;
        }
      else
        {
          g_assert_cmpint (slot->calls, ==, 1);
          g_assert_cmpint (slot->call_role, ==, slot->call_won ? slot->won_role : ROLE_WORKER);
          g_assert_cmpint (slot->destroy_role, ==, slot->call_role);
          if (slot->call_won)
            stats->fin_by_call++;
          else
            stats->fin_by_end++;
        }
      if (slot->main_holds)
        g_object_unref (slot->object);
    }

  for (guint i = 0; i < N_DROPPED; i++)
    {
      Slot *slot = &race->dropped[i];

      /* At most once, on the worker; never if the last reference went
       * first, and then the destroy notify ran in that last unref. */
      g_assert_cmpint (slot->holders, ==, 0);
      g_assert_cmpint (slot->destroys, ==, 1);
      g_assert_cmpint (slot->calls, <=, 1);
      if (slot->calls == 1)
        {
          g_assert_cmpint (slot->call_role, ==, ROLE_WORKER);
          g_assert_cmpint (slot->destroy_role, ==, ROLE_WORKER);
          stats->dropped_end_won++;
        }
      else
        {
          g_assert_cmpint (slot->destroy_role, ==, slot->last_dropper);
          stats->dropped_unref_won++;
        }
    }

  for (guint i = 0; i < N_PLAIN; i++)
    {
      Slot *slot = &race->plain[i];

      if (!slot->taken)
        {
          /* Given back after the end: it has run. */
          g_assert_false (threadref_at_thread_exit_cancel (slot->object));
          stats->plain_given_back++;
        }
      g_assert_cmpint (slot->calls, ==, slot->detach_won ? 0 : 1);
      if (slot->detach_won)
        stats->plain_cancelled++;
      else
        {
          g_assert_cmpint (slot->call_role, ==, ROLE_WORKER);
          stats->plain_by_end++;
        }
    }

  for (guint k = 0; k < N_RACERS; k++)
    {
      GPtrArray *watches = racers[k].watches;

      for (guint j = 0; j < watches->len; j++)
        {
          Watch *w = watches->pdata[j];

          g_assert_cmpint (w->slot.destroys, ==, 1);
          if (!w->made)
            g_assert_cmpint (w->slot.calls, ==, 0);
          else
            {
              /* Exactly once: on the worker as it ended, or where call()
               * won. */
              g_assert_cmpint (w->slot.calls, ==, 1);
              if (w->slot.call_won)
                g_assert_cmpint (w->slot.call_role, ==, w->slot.won_role);
              else
                g_assert_cmpint (w->slot.call_role, ==, ROLE_WORKER);
              g_assert_cmpint (w->slot.destroy_role, ==, w->slot.call_role);
              if (w->kind != WATCH_REF && !w->slot.call_won)
                stats->wfin_by_end++;
            }
          if (w->object != NULL)
            {
              g_assert_true (threadref_ref_equal (w->object, race->kept[0].object));
              g_object_unref (w->object);
            }
          g_free (w);
        }
      g_ptr_array_unref (watches);
    }

  /* Last: the watches were compared with them. */
  for (guint i = 0; i < N_KEPT; i++)
    {
      g_object_unref (race->kept[i].object);
      stats->kept_fired++;
    }

  g_assert_cmpint (race->late, ==, 0);
}

static void
race_stats_add (RacerStats       *sum,
                const RacerStats *s)
{
  sum->ops += s->ops;
  sum->fin_call_won += s->fin_call_won;
  sum->fin_call_lost += s->fin_call_lost;
  sum->fin_detach_won += s->fin_detach_won;
  sum->fin_detach_lost += s->fin_detach_lost;
  sum->alive_seen += s->alive_seen;
  sum->dead_seen += s->dead_seen;
  sum->equal_checks += s->equal_checks;
  sum->watch_made += s->watch_made;
  sum->watch_null += s->watch_null;
  sum->wfin_made += s->wfin_made;
  sum->wfin_call_won += s->wfin_call_won;
  sum->wfin_null += s->wfin_null;
  sum->plain_cancel_won += s->plain_cancel_won;
  sum->plain_cancel_lost += s->plain_cancel_lost;
}

static void
run_one_race (WorkerEnd  end,
              RaceStats *stats)
{
  Race *race = g_new0 (Race, 1);
  Racer racers[N_RACERS] = { { 0 } };
  GThread *racer_threads[N_RACERS];
  GThread *worker = NULL;
  pthread_t worker_pthread;
  GRand *rng = g_rand_new_with_seed (g_test_rand_int ());

  race->end = end;
  test_start_line_init (&race->start, N_RACERS + 1);
  /* Up to a few tens of microseconds: the racers' operations take about
   * that long, so the end lands anywhere among them. */
  race->jitter = g_rand_int (rng) % 20000;
  for (guint i = 0; i < N_FINS; i++)
    {
      slot_init (&race->fins[i], race);
      race->fins[i].main_holds = g_rand_int (rng) & 1;
    }
  for (guint i = 0; i < N_KEPT; i++)
    slot_init (&race->kept[i], race);
  for (guint i = 0; i < N_PLAIN; i++)
    slot_init (&race->plain[i], race);
  for (guint i = 0; i < N_FIRE_FORGET; i++)
    slot_init (&race->fire_forget[i], race);

  for (guint k = 0; k < N_RACERS; k++)
    {
      Racer *r = &racers[k];

      r->race = race;
      r->role = ROLE_RACER0 + k;
      r->rng = g_rand_new_with_seed (g_test_rand_int ());
      r->watches = g_ptr_array_new ();
      for (guint i = 0; i < N_FINS; i++)
        r->holds_fin[i] = TRUE;
      for (guint i = 0; i < N_KEPT; i++)
        r->holds_kept[i] = TRUE;
    }
  /* Each dropped ref is held by one to three racers, so that sometimes all
   * of them let go before the end, and sometimes not. */
  for (guint i = 0; i < N_DROPPED; i++)
    {
      Slot *slot = &race->dropped[i];
      guint first = g_rand_int (rng) % N_RACERS;

      slot_init (slot, race);
      slot->holders = 1 + g_rand_int (rng) % N_RACERS;
      for (gint m = 0; m < slot->holders; m++)
        racers[(first + m) % N_RACERS].holds_dropped[i] = TRUE;
    }

  for (guint k = 0; k < N_RACERS; k++)
    racer_threads[k] = g_thread_new ("stress-racer", race_racer, &racers[k]);

  switch (end)
    {
    case WORKER_G_THREAD_RETURN:
    case WORKER_G_THREAD_EXIT:
      worker = g_thread_new ("stress-worker", race_worker, race);
      g_thread_join (worker);
      break;
    case WORKER_PTHREAD_RETURN:
    case WORKER_PTHREAD_EXIT:
      g_assert_cmpint (pthread_create (&worker_pthread, NULL, race_worker, race), ==, 0);
      g_assert_cmpint (pthread_join (worker_pthread, NULL), ==, 0);
      break;
    default:
      g_assert_not_reached ();
    }
  g_atomic_int_set (&race->joined, 1);

  race_check_after_worker_join (race);

  for (guint k = 0; k < N_RACERS; k++)
    {
      g_thread_join (racer_threads[k]);
      race_stats_add (&stats->racers, &racers[k].stats);
    }

  race_check_final (race, racers, stats);
  stats->iterations++;

  for (guint i = 0; i < N_FINS; i++)
    g_mutex_clear (&race->fins[i].drop_lock);
  for (guint i = 0; i < N_KEPT; i++)
    g_mutex_clear (&race->kept[i].drop_lock);
  for (guint i = 0; i < N_DROPPED; i++)
    g_mutex_clear (&race->dropped[i].drop_lock);
  for (guint i = 0; i < N_PLAIN; i++)
    g_mutex_clear (&race->plain[i].drop_lock);
  for (guint i = 0; i < N_FIRE_FORGET; i++)
    g_mutex_clear (&race->fire_forget[i].drop_lock);
  for (guint k = 0; k < N_RACERS; k++)
    g_rand_free (racers[k].rng);
  g_rand_free (rng);
  g_free (race);
}

static void
test_races_several (gconstpointer data)
{
  WorkerEnd end = GPOINTER_TO_INT (data);
  RaceStats stats = { { 0 } };
  RacerStats *s = &stats.racers;
  gint64 start = g_get_monotonic_time ();
  gdouble seconds;

  g_test_summary ("Three racers at once call, detach, drop, query, compare and "
                  "watch one worker's finalizers, refs and plain registrations "
                  "while it ends: every function and destroy notify runs as "
                  "often as the contract says, where it says, never after the "
                  "join");

  thread_role = ROLE_MAIN;
  for (guint i = 0; i < sizes.race_iterations; i++)
    run_one_race (end, &stats);
  seconds = (g_get_monotonic_time () - start) / 1e6;

  g_test_message ("%u iterations, %u racers, %u operations, %.1f s (%.0f us per iteration)",
                  stats.iterations, N_RACERS, s->ops, seconds,
                  seconds * 1e6 / MAX (stats.iterations, 1));
  g_test_message ("finalizers: call won %u, detach won %u, end won %u "
                  "(call() lost %u, detach() lost %u)",
                  stats.fin_by_call, stats.fin_by_detach, stats.fin_by_end,
                  s->fin_call_lost, s->fin_detach_lost);
  g_test_message ("refs dropped by racers: unref won %u, end won %u; refs kept: fired %u",
                  stats.dropped_unref_won, stats.dropped_end_won, stats.kept_fired);
  g_test_message ("plain handles: cancel won %u, end won %u (cancel lost %u, "
                  "given back after the join %u)",
                  stats.plain_cancelled, stats.plain_by_end,
                  s->plain_cancel_lost, stats.plain_given_back);
  g_test_message ("threadref_ref_watch: made %u, NULL (ended) %u; "
                  "threadref_ref_watch_finalize: made %u (end ran it %u, call won %u), NULL %u",
                  s->watch_made, s->watch_null, s->wfin_made, stats.wfin_by_end,
                  s->wfin_call_won, s->wfin_null);
  g_test_message ("queries: alive %u, dead %u; equal/hash checks %u",
                  s->alive_seen, s->dead_seen, s->equal_checks);

  g_assert_cmpuint (stats.iterations, ==, sizes.race_iterations);
  g_assert_cmpuint (stats.fin_by_call + stats.fin_by_detach + stats.fin_by_end, ==,
                    stats.iterations * N_FINS);
}

/* --- scale: many threads, many registrations each ------------------------ */

#define MANY_PER_THREAD 1000
#define MANY_WINDOW     50    /* threads running at once */
#define MANY_KINDS      10

typedef struct {
  gint fin_end;        /* finalizers run at the end */
  gint fin_called;     /* finalizers called on their own thread */
  gint ref_calls;
  gint plain_calls;
  gint nested_calls;   /* registered by a callback while the thread ended */
  gint destroys;
  gint wrong_thread;
  gint late;
  gint order_errors;
} ManyTotals;

typedef struct _ManyThread ManyThread;

typedef struct {
  ManyThread *thread;
  guint       seq;    /* registration order on its thread */
} ManyEntry;

struct _ManyThread {
  ManyTotals *totals;
  gboolean    g_thread_exit;
  pthread_t   self;
  gint        joined;     /* atomic: main joined this thread */
  guint       last_seq;   /* the thread's own: order of its end callbacks */
  ManyEntry  *entries;
  GPtrArray  *keep;       /* refs and finalizers main drops after the join */
  GPtrArray  *handles;    /* plain handles main gives back after the join */
};

/* Something that runs as the thread ends: on it, before the join, newest
 * first. */
static void
many_note_end (ManyEntry *e,
               gboolean   nested)
{
  ManyThread *t = e->thread;

  if (!pthread_equal (pthread_self (), t->self))
    g_atomic_int_inc (&t->totals->wrong_thread);
  if (g_atomic_int_get (&t->joined))
    g_atomic_int_inc (&t->totals->late);
  /* A nested registration runs right after the callback that made it. */
  if (nested ? e->seq != t->last_seq : e->seq >= t->last_seq)
    g_atomic_int_inc (&t->totals->order_errors);
  t->last_seq = e->seq;
}

static void
many_nested (gpointer data)
{
  ManyEntry *e = data;

  many_note_end (e, TRUE);
  g_atomic_int_inc (&e->thread->totals->nested_calls);
}

static void
many_fin_end (gpointer data)
{
  ManyEntry *e = data;

  many_note_end (e, FALSE);
  g_atomic_int_inc (&e->thread->totals->fin_end);
}

static void
many_fin_nesting (gpointer data)
{
  many_fin_end (data);
  threadref_at_thread_exit (many_nested, data, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

static void
many_fin_called (gpointer data)
{
  ManyEntry *e = data;

  if (!pthread_equal (pthread_self (), e->thread->self))
    g_atomic_int_inc (&e->thread->totals->wrong_thread);
  g_atomic_int_inc (&e->thread->totals->fin_called);
}

static void
many_ref_callback (ThreadRefRef *ref,
                   gpointer      data)
{
  ManyEntry *e = data;

  many_note_end (e, FALSE);
  g_atomic_int_inc (&e->thread->totals->ref_calls);
}

static void
many_plain (gpointer data)
{
  ManyEntry *e = data;

  many_note_end (e, FALSE);
  g_atomic_int_inc (&e->thread->totals->plain_calls);
}

static void
many_destroy (gpointer data)
{
  ManyEntry *e = data;

  g_atomic_int_inc (&e->thread->totals->destroys);
}

static gpointer
many_worker (gpointer data)
{
  ManyThread *t = data;

  t->self = pthread_self ();
  t->last_seq = G_MAXUINT;
  for (guint i = 0; i < MANY_PER_THREAD; i++)
    {
      ManyEntry *e = &t->entries[i];
      ThreadRefAtThreadExitFlags flags = (i / MANY_KINDS) % 2 ? THREADREF_AT_THREAD_EXIT_THREAD_ONLY
                                                     : THREADREF_AT_THREAD_EXIT_DEFAULT;
      ThreadRefFinalize *fin;

      e->thread = t;
      e->seq = i;
      switch (i % MANY_KINDS)
        {
        case 0:   /* finalizer, dropped at once: runs at the end */
          g_object_unref (threadref_finalize_new (many_fin_end, e, many_destroy));
          break;
        case 1:   /* ref main keeps: fires */
          g_ptr_array_add (t->keep, threadref_ref_new (many_ref_callback, e, many_destroy));
          break;
        case 2:   /* ref dropped at once: never fires, destroy notify now */
          g_object_unref (threadref_ref_new (many_ref_callback, e, many_destroy));
          break;
        case 3:   /* finalizer detached: never runs */
          fin = threadref_finalize_new (many_fin_end, e, many_destroy);
          g_assert_true (threadref_finalize_detach (fin));
          g_object_unref (fin);
          break;
        case 4:   /* finalizer called now, on this thread */
          fin = threadref_finalize_new (many_fin_called, e, many_destroy);
          g_assert_true (threadref_finalize_call (fin));
          g_object_unref (fin);
          break;
        case 5:   /* plain, not cancellable */
          threadref_at_thread_exit (many_plain, e, flags);
          break;
        case 6:   /* plain, cancelled at once */
          g_assert_true (threadref_at_thread_exit_cancel (threadref_at_thread_exit_add (many_plain, e, flags)));
          break;
        case 7:   /* plain, given back by main after the join */
          g_ptr_array_add (t->handles, threadref_at_thread_exit_add (many_plain, e, flags));
          break;
        case 8:   /* finalizer main keeps a reference to: runs at the end */
          g_ptr_array_add (t->keep, threadref_finalize_new (many_fin_end, e, many_destroy));
          break;
        case 9:   /* finalizer that registers more while the thread ends */
          g_object_unref (threadref_finalize_new (many_fin_nesting, e, many_destroy));
          break;
        default:
          g_assert_not_reached ();
        }
    }

  if (t->g_thread_exit)
    test_g_thread_exit ();
  return NULL;
}

static void
many_finish (ManyThread *t,
             GThread    *thread)
{
  g_thread_join (thread);
  g_atomic_int_set (&t->joined, 1);

  for (guint j = 0; j < t->keep->len; j++)
    {
      gpointer object = t->keep->pdata[j];

      if (THREADREF_IS_REF (object))
        g_assert_false (threadref_ref_is_alive (object));
      else
        g_assert_false (threadref_finalize_is_alive (object));
      g_object_unref (object);
    }
  for (guint j = 0; j < t->handles->len; j++)
    g_assert_false (threadref_at_thread_exit_cancel (t->handles->pdata[j]));

  g_ptr_array_unref (t->keep);
  g_ptr_array_unref (t->handles);
  g_free (t->entries);
}

static void
test_scale_many_threads (void)
{
  guint n_threads = sizes.many_threads;
  ManyTotals totals = { 0 };
  ManyThread *threads = g_new0 (ManyThread, n_threads);
  GThread **handles = g_new0 (GThread *, n_threads);
  guint per_kind[MANY_KINDS] = { 0 };
  guint64 n_fin_end, n_destroys;
  gint64 start = g_get_monotonic_time ();
  gdouble seconds;

  g_test_summary ("Many threads, each with 1000 registrations of every kind, "
                  "50 running at once: each callback runs once, on its own "
                  "thread, newest first, before the join");

  for (guint i = 0; i < MANY_PER_THREAD; i++)
    per_kind[i % MANY_KINDS]++;

  /* A sliding window: the oldest is joined before the next starts. */
  for (guint i = 0; i < n_threads; i++)
    {
      ManyThread *t = &threads[i];

      if (i >= MANY_WINDOW)
        many_finish (&threads[i - MANY_WINDOW], handles[i - MANY_WINDOW]);

      t->totals = &totals;
      t->g_thread_exit = i % 2;
      t->entries = g_new0 (ManyEntry, MANY_PER_THREAD);
      t->keep = g_ptr_array_new ();
      t->handles = g_ptr_array_new ();
      handles[i] = g_thread_new ("stress-many", many_worker, t);
    }
  for (guint i = n_threads > MANY_WINDOW ? n_threads - MANY_WINDOW : 0; i < n_threads; i++)
    many_finish (&threads[i], handles[i]);

  seconds = (g_get_monotonic_time () - start) / 1e6;
  g_test_message ("%u threads x %u registrations (%u at once): %.2f s, %.0f registrations/s",
                  n_threads, MANY_PER_THREAD, MANY_WINDOW, seconds,
                  (gdouble) n_threads * MANY_PER_THREAD / seconds);
  g_test_message ("finalizers at the end %d, called %d, refs fired %d, plain ran %d, "
                  "nested ran %d, destroy notifies %d",
                  totals.fin_end, totals.fin_called, totals.ref_calls,
                  totals.plain_calls, totals.nested_calls, totals.destroys);

  n_fin_end = (guint64) n_threads * (per_kind[0] + per_kind[8] + per_kind[9]);
  n_destroys = (guint64) n_threads * (per_kind[0] + per_kind[1] + per_kind[2] + per_kind[3] +
                                      per_kind[4] + per_kind[8] + per_kind[9]);
  g_assert_cmpuint (totals.fin_end, ==, n_fin_end);
  g_assert_cmpuint (totals.fin_called, ==, (guint64) n_threads * per_kind[4]);
  g_assert_cmpuint (totals.ref_calls, ==, (guint64) n_threads * per_kind[1]);
  g_assert_cmpuint (totals.plain_calls, ==, (guint64) n_threads * (per_kind[5] + per_kind[7]));
  g_assert_cmpuint (totals.nested_calls, ==, (guint64) n_threads * per_kind[9]);
  g_assert_cmpuint (totals.destroys, ==, n_destroys);
  g_assert_cmpint (totals.wrong_thread, ==, 0);
  g_assert_cmpint (totals.late, ==, 0);
  g_assert_cmpint (totals.order_errors, ==, 0);

  g_free (threads);
  g_free (handles);
}

/* --- scale: one thread, very many registrations -------------------------- */

typedef struct {
  guint            n;
  guint            last_seq;       /* end callbacks: newest first */
  guint            order_errors;
  guint            plain_calls;
  guint            fin_calls;
  guint            destroys;
  guint            wrong_thread;
  pthread_t        self;
  ThreadRefAtThreadExit   **handles;        /* indexed by seq; NULL once given back */
  ThreadRefFinalize **fins;           /* indexed by seq; NULL once dropped */
  guint            n_handles, n_fins;
  guint            cancelled, detached;
  gint64           t_registered, t_cancelled, t_returned;
} OneThread;

/* Only one such test runs at a time; the registrations carry their order. */
static OneThread *one;

static void
one_note_end (gpointer data)
{
  guint seq = GPOINTER_TO_UINT (data) - 1;

  if (!pthread_equal (pthread_self (), one->self))
    one->wrong_thread++;
  if (seq >= one->last_seq)
    one->order_errors++;
  one->last_seq = seq;
}

static void
one_plain (gpointer data)
{
  one_note_end (data);
  one->plain_calls++;
}

static void
one_fin (gpointer data)
{
  one_note_end (data);
  one->fin_calls++;
}

static void
one_destroy (gpointer data)
{
  one->destroys++;
}

static void
shuffle (guint *array,
         guint  n)
{
  for (guint i = n; i > 1; i--)
    {
      guint j = g_test_rand_int_range (0, i);
      guint tmp = array[i - 1];

      array[i - 1] = array[j];
      array[j] = tmp;
    }
}

static gpointer
one_worker (gpointer data)
{
  OneThread *d = data;
  guint *order;
  guint n_order = 0;
  gint64 start = g_get_monotonic_time ();

  d->self = pthread_self ();
  d->last_seq = G_MAXUINT;

  /* Half plain, half ThreadRefFinalize, interleaved; of each, half keep a
   * handle so that they can be cancelled. */
  for (guint i = 0; i < d->n; i++)
    {
      gpointer seq = GUINT_TO_POINTER (i + 1);

      switch (i % 4)
        {
        case 0:
          d->handles[i] = threadref_at_thread_exit_add (one_plain, seq, THREADREF_AT_THREAD_EXIT_DEFAULT);
          d->n_handles++;
          break;
        case 1:
          d->fins[i] = threadref_finalize_new (one_fin, seq, one_destroy);
          d->n_fins++;
          break;
        case 2:
          threadref_at_thread_exit (one_plain, seq, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
          break;
        case 3:
          g_object_unref (threadref_finalize_new (one_fin, seq, one_destroy));
          break;
        default:
          g_assert_not_reached ();
        }
    }
  d->t_registered = g_get_monotonic_time () - start;

  /* A third of the cancellable ones, in random order: the middle of a long
   * list, both ends, both kinds. */
  order = g_new (guint, d->n / 2 + 1);
  for (guint i = 0; i < d->n; i++)
    if (i % 4 < 2)
      order[n_order++] = i;
  shuffle (order, n_order);

  start = g_get_monotonic_time ();
  for (guint k = 0; k < n_order / 3; k++)
    {
      guint i = order[k];

      if (i % 4 == 0)
        {
          g_assert_true (threadref_at_thread_exit_cancel (d->handles[i]));
          d->handles[i] = NULL;
          d->cancelled++;
        }
      else
        {
          g_assert_true (threadref_finalize_detach (d->fins[i]));
          g_object_unref (d->fins[i]);
          d->fins[i] = NULL;
          d->detached++;
        }
    }
  d->t_cancelled = g_get_monotonic_time () - start;
  g_free (order);

  d->t_returned = g_get_monotonic_time ();
  return NULL;
}

static void
test_scale_one_thread (void)
{
  OneThread d = { 0 };
  guint n_plain, n_fin;
  guint given_back = 0;
  gint64 start = g_get_monotonic_time ();
  gint64 ended;

  g_test_summary ("One thread with very many registrations, plain and "
                  "ThreadRefFinalize, a third of the cancellable ones cancelled "
                  "in random order: the rest run once, newest first");

  d.n = sizes.one_thread;
  d.handles = g_new0 (ThreadRefAtThreadExit *, d.n);
  d.fins = g_new0 (ThreadRefFinalize *, d.n);
  one = &d;

  run_in_thread (one_worker, &d);
  ended = g_get_monotonic_time ();

  /* What was not cancelled has run: give it back. */
  for (guint i = 0; i < d.n; i++)
    {
      if (d.handles[i] != NULL)
        {
          g_assert_false (threadref_at_thread_exit_cancel (d.handles[i]));
          given_back++;
        }
      if (d.fins[i] != NULL)
        {
          g_assert_false (threadref_finalize_is_alive (d.fins[i]));
          g_assert_false (threadref_finalize_detach (d.fins[i]));
          g_object_unref (d.fins[i]);
        }
    }
  one = NULL;

  g_test_message ("1 thread, %u registrations (%u cancellable), %u cancelled "
                  "in random order: register %.0f ms, cancel %.0f ms, end and "
                  "join %.0f ms, total %.2f s",
                  d.n, d.n_handles + d.n_fins, d.cancelled + d.detached,
                  d.t_registered / 1e3, d.t_cancelled / 1e3,
                  (ended - d.t_returned) / 1e3,
                  (g_get_monotonic_time () - start) / 1e6);

  n_plain = (d.n + 3) / 4 + (d.n + 1) / 4;
  n_fin = d.n - n_plain;
  g_assert_cmpuint (d.plain_calls, ==, n_plain - d.cancelled);
  g_assert_cmpuint (d.fin_calls, ==, n_fin - d.detached);
  g_assert_cmpuint (d.destroys, ==, n_fin);
  g_assert_cmpuint (given_back, ==, d.n_handles - d.cancelled);
  g_assert_cmpuint (d.order_errors, ==, 0);
  g_assert_cmpuint (d.wrong_thread, ==, 0);

  g_free (d.handles);
  g_free (d.fins);
}

/* --- scale: thread churn, no growth in memory --------------------------- */

#define CHURN_WINDOW 4   /* short threads running at once */

typedef struct {
  gint calls;
  gint destroys;
  gint wrong;
} ChurnTotals;

static ChurnTotals churn;

static void
churn_func (gpointer data)
{
  g_atomic_int_inc (&churn.calls);
}

static void
churn_ref_callback (ThreadRefRef *ref,
                    gpointer      data)
{
  if (threadref_ref_is_alive (ref))
    g_atomic_int_inc (&churn.wrong);
  g_atomic_int_inc (&churn.calls);
}

static void
churn_destroy (gpointer data)
{
  g_atomic_int_inc (&churn.destroys);
}

static void
churn_never (gpointer data)
{
  g_atomic_int_inc (&churn.wrong);
}

/* Six registrations, three of which run at the end; returns a ref. */
static gpointer
churn_worker (gpointer data)
{
  ThreadRefFinalize *fin;

  g_object_unref (threadref_finalize_new (churn_func, NULL, churn_destroy));
  g_object_unref (threadref_ref_new (churn_ref_callback, NULL, churn_destroy));
  threadref_at_thread_exit (churn_func, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
  if (!threadref_at_thread_exit_cancel (threadref_at_thread_exit_add (churn_never, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT)))
    g_atomic_int_inc (&churn.wrong);
  fin = threadref_finalize_new (churn_never, NULL, churn_destroy);
  if (!threadref_finalize_detach (fin))
    g_atomic_int_inc (&churn.wrong);
  g_object_unref (fin);

  return threadref_ref_new (churn_ref_callback, NULL, churn_destroy);
}

static void
churn_join (GThread *thread)
{
  ThreadRefRef *ref = g_thread_join (thread);

  g_assert_false (threadref_ref_is_alive (ref));
  /* Ended: a watch is not made, its destroy notify runs here. */
  g_assert_null (threadref_ref_watch (ref, churn_ref_callback, NULL, churn_destroy));
  g_object_unref (ref);
}

/* Runs threads [from, to) with a sliding window, and drains it. */
static void
churn_run (guint from,
           guint to)
{
  GThread *window[CHURN_WINDOW] = { NULL };

  for (guint i = from; i < to; i++)
    {
      GThread **slot = &window[i % CHURN_WINDOW];

      if (*slot != NULL)
        churn_join (*slot);
      *slot = g_thread_new ("stress-churn", churn_worker, NULL);
    }
  for (guint k = 0; k < CHURN_WINDOW; k++)
    if (window[k] != NULL)
      churn_join (window[k]);
}

typedef struct {
  gsize rss;         /* VmRSS, bytes */
  gsize heap_used;   /* malloc's bytes in use, all arenas */
} MemorySample;

static gsize
read_rss (void)
{
  g_autofree char *status = NULL;
  const char *line;
  gsize kib = 0;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "\nVmRSS:");
  g_assert_nonnull (line);
  g_assert_cmpint (sscanf (line + 1, "VmRSS: %" G_GSIZE_FORMAT " kB", &kib), ==, 1);
  return kib * 1024;
}

static MemorySample
memory_sample (void)
{
  MemorySample m;
  struct mallinfo2 info;

  /* Give free pages back first, so that what is left is memory in use (or
   * held by arenas in pieces too small to give back), not the allocator's
   * reserve from an earlier peak. */
  malloc_trim (0);
  info = mallinfo2 ();
  m.heap_used = info.uordblks + info.hblkhd;
  m.rss = read_rss ();
  return m;
}

static void
test_scale_churn (void)
{
  guint n = sizes.churn_threads;
  guint warm_up = MAX (n / 10, MIN (n, 100));
  MemorySample before, middle, after;
  gint64 start = g_get_monotonic_time ();
  gdouble seconds;
  gssize rss_growth, heap_growth;
  /* Bounds on growth from after the warm-up to the end, whatever n is.
   *
   * The test itself keeps nothing per thread, so any steady growth is a
   * leak. What may legitimately move: glibc caches the stacks of ended
   * threads (up to 40 MiB, but only CHURN_WINDOW + 1 are ever in use and
   * they are reused, a few touched pages each), gives each concurrently
   * running thread an arena (at most CHURN_WINDOW of them, reused from a
   * free list once threads end, each keeping at most a few pages that
   * malloc_trim() cannot return), and threadref recycles up to 128 ended
   * lifetimes (a few KiB). All of that is primed by the warm-up. 2 MiB of RSS
   * leaves room for that and for page-granular noise, yet catches a leak
   * of one 64-byte node per registration (6 per thread) from 6 000 threads
   * on; the heap bound, exact to the byte, catches 64 bytes per thread from
   * 4 000 threads on. */
  const gssize rss_bound = 2 * 1024 * 1024;
  const gssize heap_bound = 256 * 1024;
  const char *g_slice = g_getenv ("G_SLICE");

  g_test_summary ("Many short threads one after another, each registering a "
                  "few things: every callback runs, and memory does not grow");

  churn = (ChurnTotals) { 0 };

  churn_run (0, warm_up);
  before = memory_sample ();
  churn_run (warm_up, warm_up + (n - warm_up) / 2);
  middle = memory_sample ();
  churn_run (warm_up + (n - warm_up) / 2, n);
  after = memory_sample ();
  seconds = (g_get_monotonic_time () - start) / 1e6;

  rss_growth = (gssize) after.rss - (gssize) before.rss;
  heap_growth = (gssize) after.heap_used - (gssize) before.heap_used;
  g_test_message ("%u threads (%u at once), %u registrations, %.2f s, %.1f us per thread",
                  n, CHURN_WINDOW, n * 6, seconds, seconds * 1e6 / n);
  g_test_message ("RSS after %u warm-up threads %" G_GSIZE_FORMAT " KiB, halfway %"
                  G_GSIZE_FORMAT " KiB, at the end %" G_GSIZE_FORMAT " KiB (%+"
                  G_GSSIZE_FORMAT " KiB)",
                  warm_up, before.rss / 1024, middle.rss / 1024, after.rss / 1024,
                  rss_growth / 1024);
  g_test_message ("malloc in use after warm-up %" G_GSIZE_FORMAT " B, halfway %"
                  G_GSIZE_FORMAT " B, at the end %" G_GSIZE_FORMAT " B (%+"
                  G_GSSIZE_FORMAT " B)",
                  before.heap_used, middle.heap_used, after.heap_used, heap_growth);

  g_assert_cmpint (churn.wrong, ==, 0);
  g_assert_cmpint (churn.calls, ==, n * 3);
  /* finalizer, two refs, detached finalizer, late watch */
  g_assert_cmpint (churn.destroys, ==, n * 5);

  switch (tool)
    {
    case TEST_TOOL_NONE:
      g_assert_cmpint (rss_growth, <, rss_bound);
      /* GSlice's magazines (GLib 2.74) keep freed GObjects in a depot
       * that grows and shrinks with the churn, and malloc counts it as in
       * use: exact only with G_SLICE=always-malloc, as the test setup has. */
      if (g_slice != NULL && strstr (g_slice, "always-malloc") != NULL)
        g_assert_cmpint (heap_growth, <, heap_bound);
      else
        g_test_message ("malloc growth not checked: G_SLICE=always-malloc is not set");
      break;
    case TEST_TOOL_ASAN:
    case TEST_TOOL_TSAN:
    case TEST_TOOL_VALGRIND:
      /* Their allocators quarantine freed memory, keep shadow memory and
       * per-thread state of their own: RSS says nothing about us there.
       * Leaks are what they report themselves. */
      g_test_message ("memory growth not checked under %s: its allocator holds "
                      "memory its own way; it reports leaks itself", test_tool_name (tool));
      break;
    default:
      g_assert_not_reached ();
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  sizes_init ();
  g_test_message ("sizes: %s, scale %g (-m thorough or THREADREF_TEST_SCALE change it)",
                  sizes.name, test_scale ());

  g_test_add_data_func ("/threadref/stress/races/g-thread-return",
                        GINT_TO_POINTER (WORKER_G_THREAD_RETURN), test_races_several);
  g_test_add_data_func ("/threadref/stress/races/g-thread-exit",
                        GINT_TO_POINTER (WORKER_G_THREAD_EXIT), test_races_several);
  g_test_add_data_func ("/threadref/stress/races/pthread-return",
                        GINT_TO_POINTER (WORKER_PTHREAD_RETURN), test_races_several);
  g_test_add_data_func ("/threadref/stress/races/pthread-exit",
                        GINT_TO_POINTER (WORKER_PTHREAD_EXIT), test_races_several);
  g_test_add_func ("/threadref/stress/scale/many-threads", test_scale_many_threads);
  g_test_add_func ("/threadref/stress/scale/one-thread", test_scale_one_thread);
  g_test_add_func ("/threadref/stress/scale/churn", test_scale_churn);

  return g_test_run ();
}
