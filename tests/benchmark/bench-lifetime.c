/* bench-lifetime.c: the cost of ending a lifetime on purpose with
 * threadref_end_lifetime(), per registration it runs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One thread, every variant in turn: register N callbacks (untimed), then
 * time the call that runs them all. The hand-written list's counterpart
 * runs its list the same way and keeps its per-thread struct; the library
 * also ends the lifetime, and the next registration makes a new one
 * (untimed).
 *
 * Then what the debug messages (G_MESSAGES_DEBUG=ThreadRef) cost when they
 * are off: their check runs once per lifetime, never per registration, so
 * it is measured against the shortest lifetime there is, one registration
 * and threadref_end_lifetime(). The check is the library's own
 * threadref_debug_enabled(), compiled from threadref-debug.c into this
 * program.
 *
 * Then a nested lifetime as a shared pool's job uses one: begin, one plain
 * registration, end; and begin + end alone. Both next to the whole
 * lifetime of one registration above, in the same repetitions.
 */

#include <threadref.h>

#include "bench-sections.h"
#include "bench-targets.h"
#include "threadref-debug-private.h"
#include "bench-variant.h"

typedef struct {
  const BenchVariant *variant;
  GArray             *samples;
} LifetimeCase;

typedef struct {
  const BenchConfig *config;
  LifetimeCase      *cases;
  guint              n_cases;
  GArray            *short_lifetime;  /* ns per lifetime of one registration */
  GArray            *debug_check;     /* ns per threadref_debug_enabled() */
  GArray            *nested_one;      /* ns per nested lifetime of one registration */
  GArray            *nested_empty;    /* ns per nested lifetime with nothing in it */
} LifetimeJob;

/* ns per lifetime of one plain registration, ended at once. */
static double
time_short_lifetimes (const BenchConfig *config)
{
  guint64 fired = 0;
  gint64 start = bench_now_ns ();

  for (guint i = 0; i < config->lifetime_n; i++)
    {
      bench_plain.add_fire (&fired);
      bench_plain.end_now ();
    }

  return (double) (bench_now_ns () - start) / config->lifetime_n;
}

/* ns per nested lifetime, with one plain registration or none. */
static double
time_nested_lifetimes (const BenchConfig *config,
                       gboolean           with_registration)
{
  guint64 fired = 0;
  gint64 start = bench_now_ns ();

  for (guint i = 0; i < config->lifetime_n; i++)
    {
      ThreadRefRef *job = threadref_nested_lifetime_begin ();

      if (with_registration)
        bench_plain.add_fire (&fired);
      threadref_nested_lifetime_end (job);
    }

  if (fired != (with_registration ? config->lifetime_n : 0))
    g_warning ("nested lifetimes: %" G_GUINT64_FORMAT " callbacks ran", fired);
  return (double) (bench_now_ns () - start) / config->lifetime_n;
}

static double
time_debug_checks (const BenchConfig *config)
{
  guint enabled = 0;
  gint64 start = bench_now_ns ();

  for (guint i = 0; i < config->lifetime_n; i++)
    {
      enabled += threadref_debug_enabled ();
      /* Keeps the compiler from hoisting the call out of the loop. */
      __asm__ __volatile__ ("" : "+r" (enabled));
    }

  if (enabled != 0)
    g_warning ("the debug check says on: run the benchmark without G_MESSAGES_DEBUG");
  return (double) (bench_now_ns () - start) / config->lifetime_n;
}

static double
run_batches (const BenchConfig *config,
             LifetimeCase      *c)
{
  g_autofree double *per_batch = g_new (double, config->lifetime_batches);

  for (guint b = 0; b < config->lifetime_batches; b++)
    {
      guint64 fired = 0;
      gint64 start;

      for (guint i = 0; i < config->lifetime_n; i++)
        c->variant->add_fire (&fired);
      start = bench_now_ns ();
      c->variant->end_now ();
      per_batch[b] = (double) (bench_now_ns () - start) / config->lifetime_n;

      if (fired != config->lifetime_n)
        g_warning ("%s: %" G_GUINT64_FORMAT " callbacks ran, expected %u",
                   c->variant->id, fired, config->lifetime_n);
    }

  return bench_median (per_batch, config->lifetime_batches);
}

static gpointer
lifetime_job_run (gpointer data)
{
  LifetimeJob *job = data;
  g_autofree guint *order = g_new (guint, job->n_cases);
  g_autoptr(GRand) rand = g_rand_new_with_seed (job->config->seed);

  for (guint i = 0; i < job->n_cases; i++)
    run_batches (job->config, &job->cases[i]);

  for (guint rep = 0; rep < job->config->repeat; rep++)
    {
      bench_shuffle (order, job->n_cases, rand);
      for (guint i = 0; i < job->n_cases; i++)
        {
          LifetimeCase *c = &job->cases[order[i]];
          double ns = run_batches (job->config, c);

          g_array_append_val (c->samples, ns);
        }

      {
        double lifetime_ns = time_short_lifetimes (job->config);
        double check_ns = time_debug_checks (job->config);
        double nested_one_ns = time_nested_lifetimes (job->config, TRUE);
        double nested_empty_ns = time_nested_lifetimes (job->config, FALSE);

        g_array_append_val (job->short_lifetime, lifetime_ns);
        g_array_append_val (job->debug_check, check_ns);
        g_array_append_val (job->nested_one, nested_one_ns);
        g_array_append_val (job->nested_empty, nested_empty_ns);
      }
    }

  return NULL;
}

void
bench_section_lifetime (BenchReport       *report,
                        const BenchConfig *config)
{
  LifetimeCase cases[] = {
    { &bench_plain },
    { &bench_plain_thread_only },
    { &bench_finalize },
    { &bench_ref },
    { &bench_list },
  };
  LifetimeJob job = { config, cases, G_N_ELEMENTS (cases),
                      g_array_new (FALSE, FALSE, sizeof (double)),
                      g_array_new (FALSE, FALSE, sizeof (double)),
                      g_array_new (FALSE, FALSE, sizeof (double)),
                      g_array_new (FALSE, FALSE, sizeof (double)) };
  BenchRow *row;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    cases[i].samples = g_array_new (FALSE, FALSE, sizeof (double));

  g_thread_join (g_thread_new ("bench-lifetime", lifetime_job_run, &job));

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      LifetimeCase *c = &cases[i];

      bench_report_add (report, "ending a lifetime", "threadref_end_lifetime() per registration",
                        c->variant->id, c->variant->label, config->lifetime_n, "ns",
                        bench_stats ((double *) c->samples->data, c->samples->len));
      g_array_unref (c->samples);
    }

  bench_report_add (report, "ending a lifetime", "per lifetime of one registration",
                    "short-lifetime", "1 registration + end",
                    config->lifetime_n, "ns",
                    bench_stats ((double *) job.short_lifetime->data, job.short_lifetime->len));
  row = bench_report_add (report, "ending a lifetime", "per lifetime of one registration",
                          "debug-check", "its debug check, debug off",
                          config->lifetime_n, "ns",
                          bench_stats ((double *) job.debug_check->data, job.debug_check->len));
  bench_row_set_ratio_to (row, "short-lifetime", NULL);
  bench_row_set_target (row, BENCH_TARGET_AT_MOST, BENCH_TARGET_DEBUG_OFF_SHARE, TRUE, "≤ 0.02");
  row = bench_report_add (report, "ending a lifetime", "per nested lifetime of one registration",
                          "nested-one", "begin + 1 registration + end",
                          config->lifetime_n, "ns",
                          bench_stats ((double *) job.nested_one->data, job.nested_one->len));
  bench_row_set_ratio_to (row, "short-lifetime", NULL);
  row = bench_report_add (report, "ending a lifetime", "per nested lifetime, empty",
                          "nested-empty", "begin + end",
                          config->lifetime_n, "ns",
                          bench_stats ((double *) job.nested_empty->data, job.nested_empty->len));
  bench_row_set_ratio_to (row, "short-lifetime", NULL);
  g_array_unref (job.short_lifetime);
  g_array_unref (job.debug_check);
  g_array_unref (job.nested_one);
  g_array_unref (job.nested_empty);
}
