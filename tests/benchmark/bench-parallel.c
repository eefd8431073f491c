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
 * On a shared two-core machine another tenant often holds a core for a
 * while: then no code scales. So right before each case, a control that
 * only computes (no memory, no shared state) is timed the same way, and a
 * repetition counts for the target only if that control scaled by at least
 * CONTROL_FREE, that is if two cores were free at that moment. The figure
 * over all repetitions is shown too.
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

#define CONTROL_FREE 1.8

typedef struct {
  const BenchVariant *variant;
  gboolean            cancel;
  BenchJob            jobs[2];
  GArray             *one;       /* ns per callback, one thread */
  GArray             *two;       /* ns per callback per thread, two threads */
  GArray             *scaling;   /* throughput ratio */
  GArray             *free;      /* the same, in repetitions with two free cores */
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

static double
scaling_of (ParallelCase *c,
            double       *one,
            double       *two)
{
  *one = (double) run_threads (c, 1);
  *two = (double) run_threads (c, 2);

  return 2.0 * *one / *two;
}

static void
parallel_case_init (ParallelCase *c,
                    guint         n)
{
  bench_job_init (&c->jobs[0], c->variant, n, c->cancel);
  bench_job_init (&c->jobs[1], c->variant, n, c->cancel);
  c->one = g_array_new (FALSE, FALSE, sizeof (double));
  c->two = g_array_new (FALSE, FALSE, sizeof (double));
  c->scaling = g_array_new (FALSE, FALSE, sizeof (double));
  c->free = g_array_new (FALSE, FALSE, sizeof (double));
  run_threads (c, 2);
}

static void
parallel_case_clear (ParallelCase *c)
{
  bench_job_clear (&c->jobs[0]);
  bench_job_clear (&c->jobs[1]);
  g_array_unref (c->one);
  g_array_unref (c->two);
  g_array_unref (c->scaling);
  g_array_unref (c->free);
}

static BenchStats
stats_of (GArray *samples)
{
  return bench_stats ((double *) samples->data, samples->len);
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
    /* GLib 2.74's own floor: g_object_new() + g_object_unref(). */
    { &bench_gobject_floor, FALSE },
  };
  ParallelCase control = { &compute_control, FALSE };
  guint n = config->parallel_n;
  /* Scaling is the noisiest figure here, and a repetition is short. */
  guint repeat = 3 * config->repeat;
  guint order[G_N_ELEMENTS (cases)];
  g_autoptr(GRand) rand = g_rand_new_with_seed (config->seed);

  parallel_case_init (&control, n);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    parallel_case_init (&cases[i], n);

  for (guint rep = 0; rep < repeat; rep++)
    {
      bench_shuffle (order, G_N_ELEMENTS (cases), rand);
      for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
        {
          ParallelCase *c = &cases[order[i]];
          double one, two, scaling;
          double free_cores = scaling_of (&control, &one, &two);

          g_array_append_val (control.scaling, free_cores);
          scaling = scaling_of (c, &one, &two);
          one /= n;
          two /= n;
          g_array_append_val (c->one, one);
          g_array_append_val (c->two, two);
          g_array_append_val (c->scaling, scaling);
          if (free_cores >= CONTROL_FREE)
            g_array_append_val (c->free, scaling);
        }
    }

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      ParallelCase *c = &cases[i];
      const char *what = c->cancel ? "register+cancel" : "register+fire";
      g_autofree char *one = g_strdup_printf ("%s, 1 thread", what);
      g_autofree char *two = g_strdup_printf ("%s, 2 threads (wall / N)", what);
      g_autofree char *all = g_strdup_printf ("%s, 2 threads / 1, every repetition", what);
      g_autofree char *free_metric = g_strdup_printf ("%s, 2 threads / 1, 2 cores free", what);
      g_autofree char *target = g_strdup_printf ("≥ 1.6 (%u of %u reps)", c->free->len, repeat);
      BenchRow *row;

      bench_report_add (report, "parallel", one, c->variant->id, c->variant->label, n, "ns", stats_of (c->one));
      bench_report_add (report, "parallel", two, c->variant->id, c->variant->label, n, "ns", stats_of (c->two));
      bench_report_add (report, "parallel", all, c->variant->id, c->variant->label, n, "x", stats_of (c->scaling));
      row = bench_report_add (report, "parallel", free_metric, c->variant->id, c->variant->label, n, "x",
                              stats_of (c->free));
      if (c->variant == &bench_plain || c->variant == &bench_plain_thread_only)
        bench_row_set_target (row, BENCH_TARGET_AT_LEAST, BENCH_TARGET_PARALLEL_SCALING, FALSE, target);
      parallel_case_clear (c);
    }

  bench_report_add (report, "parallel", "control: 2 threads / 1, before each case", control.variant->id,
                    control.variant->label, n, "x", stats_of (control.scaling));
  parallel_case_clear (&control);
}
