/* bench-per-callback.c: ns per callback = (a fresh thread that registers N
 * callbacks then ends − an empty thread) / N
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each repetition runs, for every case in turn, `threads` pairs of threads:
 * an empty one, then one that does the work; the figure of the repetition
 * is the median over the pairs of (work − empty) / N. Pairing and taking
 * medians keep a noisy neighbour from landing on one case only; running
 * every case in each repetition, in a new random order each time, does the
 * same across cases.
 */

#include "bench-clock.h"
#include "bench-job.h"
#include "bench-sections.h"
#include "bench-targets.h"

typedef struct {
  const BenchVariant *variant;
  gboolean            cancel;
  BenchJob            job;
  GArray             *samples;   /* double, ns per callback, one per repetition */
} Case;

static const BenchVariant *const variants[] = {
  &bench_plain,
  &bench_plain_thread_only,
  &bench_finalize,
  &bench_ref,
  &bench_list,
  &bench_naive,
  &bench_cxa,
  &bench_gprivate,
  &bench_gobject_floor,
};

static GArray *
cases_new (guint n)
{
  GArray *cases = g_array_new (FALSE, TRUE, sizeof (Case));

  for (guint i = 0; i < G_N_ELEMENTS (variants); i++)
    for (int cancel = 0; cancel <= 1; cancel++)
      {
        Case c = { variants[i], cancel, { 0 }, NULL };

        if (cancel ? variants[i]->cancel == NULL : variants[i]->add_fire == NULL)
          continue;
        bench_job_init (&c.job, c.variant, n, cancel);
        c.samples = g_array_new (FALSE, FALSE, sizeof (double));
        g_array_append_val (cases, c);
      }

  return cases;
}

static void
cases_free (GArray *cases)
{
  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = &g_array_index (cases, Case, i);

      bench_job_clear (&c->job);
      g_array_unref (c->samples);
    }
  g_array_unref (cases);
}

static double
run_once (Case  *c,
          guint  threads)
{
  g_autofree double *diffs = g_new (double, threads);

  for (guint t = 0; t < threads; t++)
    {
      gint64 empty = bench_time_gthread (bench_empty_thread, NULL);
      gint64 work = bench_time_gthread (bench_job_run, &c->job);

      bench_job_check (&c->job);
      diffs[t] = (double) (work - empty);
    }

  return bench_median (diffs, threads) / c->job.n;
}

static void
add_targets (BenchRow *row)
{
  gboolean fire = g_str_equal (row->metric, "register+fire");
  gboolean plain = g_str_equal (row->variant, bench_plain.id) ||
                   g_str_equal (row->variant, bench_plain_thread_only.id);

  /* The plain path against the list people write by hand (no lock, own
   * thread only); the GObject faces against an empty GObject's new+unref,
   * the floor under any GObject (issue 13). */
  if (plain)
    {
      bench_row_set_ratio_to (row, bench_naive.id, NULL);
      bench_row_set_target (row, BENCH_TARGET_AT_MOST,
                            fire ? BENCH_TARGET_PLAIN_FIRE_RATIO : BENCH_TARGET_PLAIN_CANCEL_RATIO,
                            TRUE, "≤ 1.5× naive list");
    }
  else if ((fire && g_str_equal (row->variant, bench_finalize.id)) ||
           (!fire && g_str_equal (row->variant, bench_ref.id)))
    {
      bench_row_set_ratio_to (row, bench_gobject_floor.id, "register+fire");
      bench_row_set_target (row, BENCH_TARGET_AT_MOST, BENCH_TARGET_GOBJECT_FACE_RATIO, TRUE,
                            "≤ 1.25× empty GObject");
    }
}

static void
measure_size (BenchReport       *report,
              const BenchConfig *config,
              guint              n,
              guint              threads)
{
  GArray *cases = cases_new (n);
  g_autofree guint *order = g_new (guint, cases->len);
  g_autoptr(GRand) rand = g_rand_new_with_seed (config->seed);

  /* Warm-up: types registered, code and allocator arenas paged in. */
  for (guint i = 0; i < cases->len; i++)
    run_once (&g_array_index (cases, Case, i), 1);

  for (guint rep = 0; rep < config->repeat; rep++)
    {
      bench_shuffle (order, cases->len, rand);
      for (guint i = 0; i < cases->len; i++)
        {
          Case *c = &g_array_index (cases, Case, order[i]);
          double ns = run_once (c, threads);

          g_array_append_val (c->samples, ns);
        }
    }

  for (guint i = 0; i < cases->len; i++)
    {
      Case *c = &g_array_index (cases, Case, i);
      BenchRow *row;

      row = bench_report_add (report, "per callback",
                              c->cancel ? "register+cancel" : "register+fire",
                              c->variant->id, c->variant->label, n, "ns",
                              bench_stats ((double *) c->samples->data, c->samples->len));
      add_targets (row);
    }

  cases_free (cases);
}

void
bench_section_per_callback (BenchReport       *report,
                            const BenchConfig *config)
{
  measure_size (report, config, config->small_n, config->small_threads);
  measure_size (report, config, config->large_n, config->large_threads);
}
