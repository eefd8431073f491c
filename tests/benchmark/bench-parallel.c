/* bench-parallel.c: throughput with two threads registering at once, over
 * one
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each thread registers N callbacks (and cancels them, for the cancel
 * case) and ends, so its callbacks run. The time runs from the moment all
 * threads are let go at once to the last join. Each repetition times one
 * thread, then two; its figure is 2 × t(1) / t(2), the throughput ratio.
 *
 * On a shared two-core machine another tenant often holds a core: then no
 * code scales. A control case that only computes, touching no memory and
 * no shared state, shows what the machine allowed during the run.
 */

#include "bench-job.h"
#include "bench-sections.h"
#include "bench-targets.h"

/* About as long as one plain registration, without memory. */
static void
compute_only (guint64 *counter)
{
  guint64 x = GPOINTER_TO_SIZE (counter);

  for (guint i = 0; i < 40; i++)
    x = x * 6364136223846793005u + 1442695040888963407u;
  /* Keeps the loop: a register the compiler cannot drop. */
  __asm__ __volatile__ ("" : : "r" (x));
}

static const BenchVariant compute_control = {
  .id = "control",
  .label = "control: computation only",
  .add_fire = compute_only,
  .no_callback = TRUE,
};

typedef struct {
  const BenchVariant *variant;
  gboolean            cancel;
  BenchJob            jobs[2];
  GArray             *one;       /* ns per callback, one thread */
  GArray             *two;       /* ns per callback per thread, two threads */
  GArray             *scaling;   /* throughput ratio */
} ParallelCase;

/* Nanoseconds for n_threads threads to do their jobs at once. */
static gint64
run_threads (ParallelCase *c,
             guint         n_threads)
{
  BenchGate gate;
  GThread *threads[2];
  gint64 start, elapsed;

  bench_gate_init (&gate);
  for (guint t = 0; t < n_threads; t++)
    {
      c->jobs[t].gate = &gate;
      threads[t] = g_thread_new ("bench-parallel", bench_job_run, &c->jobs[t]);
    }
  start = bench_gate_open (&gate, n_threads);
  for (guint t = 0; t < n_threads; t++)
    g_thread_join (threads[t]);
  elapsed = bench_now_ns () - start;
  bench_gate_clear (&gate);

  for (guint t = 0; t < n_threads; t++)
    bench_job_check (&c->jobs[t]);

  return elapsed;
}

void
bench_section_parallel (BenchReport       *report,
                        const BenchConfig *config)
{
  ParallelCase cases[] = {
    { &bench_plain, FALSE },
    { &bench_plain, TRUE },
    { &bench_plain_thread_only, FALSE },
    { &bench_list, FALSE },
    { &bench_list, TRUE },
    { &bench_finalize, FALSE },
    { &compute_control, FALSE },   /* last */
  };
  guint n = config->parallel_n;
  /* Scaling is the noisiest figure here, and a repetition is short. */
  guint repeat = 3 * config->repeat;
  BenchStats control;
  g_autofree char *target = NULL;
  guint order[G_N_ELEMENTS (cases)];
  g_autoptr(GRand) rand = g_rand_new_with_seed (config->seed);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ParallelCase *c = &cases[i];

      bench_job_init (&c->jobs[0], c->variant, n, c->cancel);
      bench_job_init (&c->jobs[1], c->variant, n, c->cancel);
      c->one = g_array_new (FALSE, FALSE, sizeof (double));
      c->two = g_array_new (FALSE, FALSE, sizeof (double));
      c->scaling = g_array_new (FALSE, FALSE, sizeof (double));
      run_threads (c, 2);
    }

  for (guint rep = 0; rep < repeat; rep++)
    {
      bench_shuffle (order, G_N_ELEMENTS (cases), rand);
      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        {
          ParallelCase *c = &cases[order[i]];
          double one = (double) run_threads (c, 1);
          double two = (double) run_threads (c, 2);
          double ratio = 2.0 * one / two;

          one /= n;
          two /= n;
          g_array_append_val (c->one, one);
          g_array_append_val (c->two, two);
          g_array_append_val (c->scaling, ratio);
        }
    }

  control = bench_stats ((double *) cases[G_N_ELEMENTS (cases) - 1].scaling->data, repeat);
  target = g_strdup_printf ("≥ 1.6 (control %.2f)", control.median);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ParallelCase *c = &cases[i];
      const char *what = c->cancel ? "register+cancel" : "register+fire";
      g_autofree char *one = g_strdup_printf ("%s, 1 thread", what);
      g_autofree char *two = g_strdup_printf ("%s, 2 threads (wall / N)", what);
      g_autofree char *scaling = g_strdup_printf ("%s, throughput 2 threads / 1", what);
      BenchRow *row;

      bench_report_add (report, "parallel", one, c->variant->id, c->variant->label, n, "ns",
                        bench_stats ((double *) c->one->data, c->one->len));
      bench_report_add (report, "parallel", two, c->variant->id, c->variant->label, n, "ns",
                        bench_stats ((double *) c->two->data, c->two->len));
      row = bench_report_add (report, "parallel", scaling, c->variant->id, c->variant->label, n, "x",
                              bench_stats ((double *) c->scaling->data, c->scaling->len));
      if (c->variant == &compute_control)
        bench_row_set_ratio_to (row, "none", NULL);
      if (c->variant == &bench_plain || c->variant == &bench_plain_thread_only)
        bench_row_set_target (row, BENCH_TARGET_AT_LEAST, BENCH_TARGET_PARALLEL_SCALING, FALSE, target);

      bench_job_clear (&c->jobs[0]);
      bench_job_clear (&c->jobs[1]);
      g_array_unref (c->one);
      g_array_unref (c->two);
      g_array_unref (c->scaling);
    }
}
