/* test-model.c: a randomized model test of threadref's contract
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Seeded random sequences of operations run on a controller (this test's
 * main thread) and up to MAX_WORKERS worker threads: make refs, finalizers
 * and plain registrations (kept or dropped at once, with or without a
 * handle, atexit on or off); call, detach, cancel and drop them from any
 * thread; watch another thread's lifetime; end a lifetime; spawn and end
 * threads; fork (the child checks what it sees and ends its own lifetime
 * against the model of a fork child). Callbacks, when they run, make more
 * registrations (up to MAX_DEPTH levels, watches through their own ref
 * included), call, detach or drop held objects (themselves included), end
 * the lifetime, and exit the worker they run on (g_thread_exit() or
 * pthread_exit(), where POSIX defines it: while the worker runs a step).
 * Each step runs on one thread while every other thread waits in its
 * mailbox, so a sequence is deterministic for its seed and nothing depends
 * on timing.
 *
 * Exit sequences (/threadref/model/exit) each run in a process of their
 * own and end with a callback of the main thread calling exit(): the model
 * predicts the whole exit pass, which the parent compares with what the
 * child did.
 *
 * A small reference model of the contract predicts, for every step, exactly
 * which callbacks, functions and destroy notifies run, in which order and
 * on which thread, what call/detach/cancel/watch return and what callbacks
 * see of their own object; afterwards, what is_alive, dup_thread,
 * get_atexit, wait (ref, 0) and threadref_ref_equal/hash answer for every
 * object the controller holds. At the end of each sequence every destroy
 * notify must have run exactly once and nothing may be pending. The first
 * difference fails the test with the seed and the sequence, which is then
 * shrunk by replaying it with steps removed.
 *
 * The number of sequences follows the tests' one scale (test-util.h:
 * `-m thorough`, THREADREF_TEST_SCALE). To reproduce a failure:
 *   THREADREF_MODEL_SEED        runs only the sequence of that seed (the
 *                               failure message gives it)
 *   THREADREF_MODEL_VERBOSE     logs every step before it runs: after a
 *                               crash, the last lines say where
 *
 * The parts are in tests/model/ (see model.h).
 */

#include <string.h>

#include "model/model.h"
#include "test-util.h"

#define N_STEPS      200   /* steps per sequence */
#define N_EXIT_STEPS 50    /* steps before the exit() of an exit sequence */

/* The seeds to run: THREADREF_MODEL_SEED alone, or n from a random one. */
static guint32
first_seed (guint *n_sequences)
{
  const char *value = g_getenv ("THREADREF_MODEL_SEED");

  if (value != NULL && *value != '\0')
    {
      *n_sequences = 1;
      return (guint32) g_ascii_strtoull (value, NULL, 0);
    }
  return g_test_rand_int ();
}

static void
test_model_random (void)
{
  guint n_sequences, n_steps = N_STEPS;
  guint32 base_seed;

  g_test_summary ("Seeded random sequences of registrations, drops, calls, "
                  "detaches, cancels, watches, lifetime and thread ends, "
                  "thread exits in callbacks and forks over several threads, "
                  "checked step by step against a model of the contract: "
                  "callbacks, order, threads, destroy notifies, return values "
                  "and queries");

  /* About 2 s here; 4 ms a sequence of 200 steps in a plain build, some
   * 20 ms with TSan, 100 ms under valgrind. */
  n_sequences = test_size (test_tool () == TEST_TOOL_NONE ? 400 : 100);
  base_seed = first_seed (&n_sequences);

  memset (&stats, 0, sizeof stats);
  g_test_message ("%u sequences of %u steps, seeds %u to %u "
                  "(THREADREF_MODEL_SEED=%u reproduces the run)",
                  n_sequences, n_steps, base_seed, base_seed + n_sequences - 1, base_seed);

  for (guint i = 0; i < n_sequences; i++)
    {
      Specs *specs = NULL;
      Run *run = run_one (base_seed + i, n_steps, &specs);

      if (run != NULL)
        {
          report_failure (run, n_steps);
          run_free (run);
          specs_free (specs);
          break;
        }
    }

  g_test_message ("ran %" G_GUINT64_FORMAT " sequences, %" G_GUINT64_FORMAT " steps "
                  "on %" G_GUINT64_FORMAT " worker threads",
                  stats.sequences, stats.steps, stats.threads);
  {
    GString *s = g_string_new ("operations:");

    for (guint op = 0; op < N_OPS; op++)
      g_string_append_printf (s, " %s %" G_GUINT64_FORMAT, op_names[op], stats.ops[op]);
    g_test_message ("%s", s->str);

    g_string_assign (s, "events checked:");
    for (guint kind = 0; kind < N_EVENT_KINDS; kind++)
      g_string_append_printf (s, " %s %" G_GUINT64_FORMAT, event_names[kind], stats.events[kind]);
    g_test_message ("%s", s->str);
    g_string_free (s, TRUE);
  }
  g_test_message ("callbacks exited their worker %" G_GUINT64_FORMAT " times; %" G_GUINT64_FORMAT
                  " forks checked in their child", stats.thread_exits, stats.forks);
  g_test_message ("callbacks made %" G_GUINT64_FORMAT " registrations and did %" G_GUINT64_FORMAT
                  " calls, detaches, drops and lifetime ends (deepest %u levels down); "
                  "%" G_GUINT64_FORMAT " lifetimes ended, %" G_GUINT64_FORMAT " watches of "
                  "ended lifetimes, %" G_GUINT64_FORMAT " queries checked",
                  stats.nested, stats.nested_actions, stats.max_depth, stats.lifetimes_ended,
                  stats.watch_null, stats.queries);
}

static void
test_model_exit (void)
{
  guint n_sequences, n_steps;
  guint32 base_seed;

  g_test_summary ("Seeded random sequences, each in a process of its own, that "
                  "end with a callback of the main thread calling exit(): what "
                  "runs at exit, in which order and on which thread, against "
                  "the model");

  if (test_tool () == TEST_TOOL_VALGRIND)
    {
      /* The child's own leak check would change its exit status. */
      g_test_skip ("valgrind checks leaks at every exit()");
      return;
    }

  n_sequences = test_size (50);
  n_steps = N_EXIT_STEPS;
  base_seed = first_seed (&n_sequences);

  memset (&stats, 0, sizeof stats);
  g_test_message ("%u exit sequences of %u steps, seeds %u to %u "
                  "(THREADREF_MODEL_SEED=%u reproduces the run)",
                  n_sequences, n_steps, base_seed, base_seed + n_sequences - 1, base_seed);

  for (guint i = 0; i < n_sequences; i++)
    {
      g_autofree char *report = run_exit_sequence (base_seed + i, n_steps);

      if (report != NULL)
        {
          g_strdelimit (report, "\n", '|');
          g_test_fail_printf ("model mismatch: %s | reproduce with THREADREF_MODEL_SEED=%u",
                              report, base_seed + i);
          break;
        }
    }

  g_test_message ("ran %" G_GUINT64_FORMAT " exit sequences; events checked at exit: "
                  "fin %" G_GUINT64_FORMAT ", plain %" G_GUINT64_FORMAT ", ref %" G_GUINT64_FORMAT
                  ", destroy %" G_GUINT64_FORMAT,
                  stats.sequences, stats.events[EV_FIN], stats.events[EV_PLAIN],
                  stats.events[EV_REF], stats.events[EV_DESTROY]);
}

static void
test_model_detects_mismatch (void)
{
  const Mutation mutations[] = { MUTATE_OLDEST_FIRST, MUTATE_CALL_ON_OWNER };

  g_test_summary ("The model test fails when the model is wrong: with a "
                  "deliberately wrong model (oldest first; call() on the "
                  "owner's thread) a sequence fails and shrinks to a few steps");

  for (guint i = 0; i < G_N_ELEMENTS (mutations); i++)
    {
      Run *run = NULL;
      Specs *specs = NULL;
      guint32 seed;

      model_mutation = mutations[i];
      for (seed = 1; seed <= 50 && run == NULL; seed++)
        run = run_one (seed, 100, &specs);
      g_assert_nonnull (run);

      {
        GArray *failing = failing_steps (run);
        guint n_replays;
        GString *shrunk = shrink (run->seed, specs, failing, &n_replays);
        const char *first_line;
        guint n_lines = 0;

        g_assert_nonnull (shrunk);
        g_assert_true (g_str_has_prefix (shrunk->str, "seed "));
        /* The shortest sequences need 3 steps (two registrations and an
         * end; a spawn, a creation on it and a call elsewhere); allow some
         * slack for what a cleanup adds. */
        first_line = strstr (shrunk->str, "sequence (");
        g_assert_nonnull (first_line);
        for (const char *p = strchr (first_line, '\n'); p != NULL; p = strchr (p + 1, '\n'))
          n_lines++;
        g_test_message ("mutation %u: seed %u failed at step %u of %u; shrunk in %u replays to: %s",
                        mutations[i], run->seed, run->failed_step, run->executed->len,
                        n_replays, shrunk->str);
        g_assert_cmpuint (n_lines - 1, <=, 10);

        g_string_free (shrunk, TRUE);
        g_array_unref (failing);
      }

      run_free (run);
      specs_free (specs);
    }

  model_mutation = MUTATE_NONE;
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  run_graveyard_init ();

  g_test_add_func ("/threadref/model/random", test_model_random);
  g_test_add_func ("/threadref/model/exit", test_model_exit);
  g_test_add_func ("/threadref/model/detects-mismatch", test_model_detects_mismatch);

  status = g_test_run ();

  run_graveyard_free (status == 0);

  return status;
}
