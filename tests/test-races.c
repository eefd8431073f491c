/* test-races.c: exactly once under races with the thread's end (rules 3-5)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each iteration starts a worker that registers something and a racer that
 * operates on it; both wait on a start line, then the worker ends while the
 * racer acts. Counters prove each function and each destroy notify ran
 * exactly as often as the contract says, and never after both threads were
 * joined.
 */

#include <threadref.h>

#include "test-util.h"

typedef enum {
  RACE_DETACH,
  RACE_CALL,
  RACE_CALL_AND_DETACH,
  RACE_UNREF_REF,
  RACE_CANCEL_PLAIN,
  RACE_QUERY,
} RaceKind;

typedef struct {
  RaceKind        kind;
  TestStartLine   start;        /* both threads arrive, then go */
  gpointer        object;       /* what the worker made, published for the racer */
  gint            calls;
  gint            destroys;
  gint            after_join;   /* callbacks seen after the test joined both */
  gint           *joined;
  guint           worker_jitter;   /* spins before ending, to vary interleavings */
  guint           racer_jitter;    /* spins before acting */
  gboolean        op_result;
  gboolean        op_result2;
} Race;

static void
check_late (Race *r)
{
  if (g_atomic_int_get (r->joined))
    g_atomic_int_inc (&r->after_join);
}

static void
race_func (gpointer data)
{
  Race *r = data;

  check_late (r);
  g_atomic_int_inc (&r->calls);
}

static void
race_ref_func (ThreadRefRef *ref,
               gpointer      data)
{
  race_func (data);
}

static void
race_destroy (gpointer data)
{
  Race *r = data;

  check_late (r);
  g_atomic_int_inc (&r->destroys);
}

static void
start_line (Race  *r,
            guint  jitter)
{
  test_start_line_wait (&r->start);
  test_jitter (jitter);
}

static gpointer
race_worker (gpointer data)
{
  Race *r = data;
  gpointer object = NULL;

  switch (r->kind)
    {
    case RACE_DETACH:
    case RACE_CALL:
    case RACE_CALL_AND_DETACH:
      object = threadref_finalize_new (race_func, r, race_destroy);
      break;
    case RACE_UNREF_REF:
    case RACE_QUERY:
      object = threadref_ref_new (race_ref_func, r, race_destroy);
      break;
    case RACE_CANCEL_PLAIN:
      object = threadref_at_thread_exit_add (race_func, r, THREADREF_AT_THREAD_EXIT_DEFAULT);
      break;
    default:
      g_assert_not_reached ();
    }

  g_atomic_pointer_set (&r->object, object);
  start_line (r, r->worker_jitter);
  return NULL;   /* and the thread ends, racing the racer */
}

static gpointer
race_racer (gpointer data)
{
  Race *r = data;
  gpointer object;

  while ((object = g_atomic_pointer_get (&r->object)) == NULL)
    g_thread_yield ();
  start_line (r, r->racer_jitter);

  switch (r->kind)
    {
    case RACE_DETACH:
      r->op_result = threadref_finalize_detach (object);
      break;
    case RACE_CALL:
      r->op_result = threadref_finalize_call (object);
      break;
    case RACE_CALL_AND_DETACH:
      r->op_result = threadref_finalize_call (object);
      r->op_result2 = threadref_finalize_detach (object);
      break;
    case RACE_UNREF_REF:
      g_object_unref (object);
      break;
    case RACE_CANCEL_PLAIN:
      r->op_result = threadref_at_thread_exit_cancel (object);
      break;
    case RACE_QUERY:
      for (guint i = 0; i < 50; i++)
        {
          GThread *thread = threadref_ref_dup_thread (object);
          gboolean alive = threadref_ref_is_alive (object);

          /* Once dead, never alive again. */
          if (thread == NULL)
            g_assert_false (threadref_ref_is_alive (object));
          else
            g_thread_unref (thread);
          (void) alive;
        }
      break;
    default:
      g_assert_not_reached ();
    }
  return NULL;
}

typedef struct {
  guint iterations;
  guint op_won;      /* the racer's operation succeeded first */
  guint end_won;     /* the thread's end ran the function */
} RaceStats;

static void
run_races (RaceKind   kind,
           RaceStats *stats)
{
  gint joined = 0;
  guint iterations = test_size (2000);
  GRand *rng = g_rand_new_with_seed (g_test_rand_int ());
  guint late = 0;

  *stats = (RaceStats) { iterations, 0, 0 };

  for (guint i = 0; i < iterations; i++)
    {
      /* The worker's end takes a few microseconds after it leaves its
       * function; the racer's delay spans that, so that either side wins
       * often (the figures are printed). */
      Race r = {
        .kind = kind,
        .joined = &joined,
        .worker_jitter = g_rand_int_range (rng, 0, 2000),
        .racer_jitter = g_rand_int_range (rng, 0, 40000),
      };
      GThread *worker, *racer;

      test_start_line_init (&r.start, 2);
      g_atomic_int_set (&joined, 0);
      worker = g_thread_new ("race-worker", race_worker, &r);
      racer = g_thread_new ("race-racer", race_racer, &r);
      g_thread_join (worker);
      g_thread_join (racer);
      g_atomic_int_set (&joined, 1);

      switch (kind)
        {
        case RACE_DETACH:
          /* detach won: never runs; else it ran at the end. Destroy once. */
          g_assert_cmpint (r.calls, ==, r.op_result ? 0 : 1);
          g_assert_cmpint (r.destroys, ==, 1);
          g_object_unref (r.object);
          break;
        case RACE_CALL:
        case RACE_CANCEL_PLAIN:
          if (kind == RACE_CALL)
            {
              g_assert_cmpint (r.calls, ==, 1);
              g_assert_cmpint (r.destroys, ==, 1);
              g_object_unref (r.object);
            }
          else
            g_assert_cmpint (r.calls, ==, r.op_result ? 0 : 1);
          break;
        case RACE_CALL_AND_DETACH:
          g_assert_cmpint (r.calls, ==, 1);
          g_assert_cmpint (r.destroys, ==, 1);
          g_assert_false (r.op_result2);   /* after a call, or after the end */
          g_object_unref (r.object);
          break;
        case RACE_UNREF_REF:
          /* Dropped first: never called. Else called once. Destroy once. */
          g_assert_cmpint (r.calls, <=, 1);
          g_assert_cmpint (r.destroys, ==, 1);
          r.op_result = (r.calls == 0);
          break;
        case RACE_QUERY:
          g_assert_cmpint (r.calls, ==, 1);
          g_assert_false (threadref_ref_is_alive (r.object));
          g_assert_null (threadref_ref_dup_thread (r.object));
          g_object_unref (r.object);
          g_assert_cmpint (r.destroys, ==, 1);
          r.op_result = FALSE;
          break;
        default:
          g_assert_not_reached ();
        }

      late += r.after_join;
      if (r.op_result)
        stats->op_won++;
      else
        stats->end_won++;
    }

  g_rand_free (rng);
  g_assert_cmpuint (late, ==, 0);
}

static void
report (const char *what,
        RaceStats  *stats)
{
  g_test_message ("%s: %u iterations: operation first %u, thread end first %u",
                  what, stats->iterations, stats->op_won, stats->end_won);
}

static void
test_races_detach (void)
{
  RaceStats stats;

  g_test_summary ("detach() racing the thread's end: the function runs at most "
                  "once and only if detach() lost; destroy notify exactly once");
  run_races (RACE_DETACH, &stats);
  report ("detach vs end", &stats);
}

static void
test_races_call (void)
{
  RaceStats stats;

  g_test_summary ("call() racing the thread's end: the function runs exactly "
                  "once, by whichever wins");
  run_races (RACE_CALL, &stats);
  report ("call vs end", &stats);
}

static void
test_races_call_and_detach (void)
{
  RaceStats stats;

  g_test_summary ("call() then detach() racing the thread's end: exactly one run, "
                  "detach() always loses");
  run_races (RACE_CALL_AND_DETACH, &stats);
  report ("call+detach vs end", &stats);
}

static void
test_races_unref_ref (void)
{
  RaceStats stats;

  g_test_summary ("Dropping a ref's last reference on another thread racing "
                  "its thread's end: callback at most once, destroy notify "
                  "exactly once, no use after free");
  run_races (RACE_UNREF_REF, &stats);
  report ("unref ref vs end", &stats);
}

static void
test_races_cancel_plain (void)
{
  RaceStats stats;

  g_test_summary ("threadref_at_thread_exit_cancel() racing the thread's end: the "
                  "function runs exactly when cancel returns FALSE");
  run_races (RACE_CANCEL_PLAIN, &stats);
  report ("cancel plain vs end", &stats);
}

static void
test_races_query (void)
{
  RaceStats stats;

  g_test_summary ("is_alive() and dup_thread() racing the thread's end never "
                  "see the ref come back to life");
  run_races (RACE_QUERY, &stats);
  report ("query vs end", &stats);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/races/detach", test_races_detach);
  g_test_add_func ("/threadref/races/call", test_races_call);
  g_test_add_func ("/threadref/races/call-and-detach", test_races_call_and_detach);
  g_test_add_func ("/threadref/races/unref-ref", test_races_unref_ref);
  g_test_add_func ("/threadref/races/cancel-plain", test_races_cancel_plain);
  g_test_add_func ("/threadref/races/query", test_races_query);

  return g_test_run ();
}
