/* bench-load.c: the cost of a register+cancel while many other
 * registrations are live on the same thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One worker thread per (variant, load) keeps `load` registrations live and
 * runs timed batches on command, so that every load of every variant is
 * measured in turn in each repetition. Two patterns:
 *
 * - newest: register one, cancel it. The node sits at the head of the list.
 * - oldest: register one, cancel the oldest live one (which the new one
 *   replaces, so the load stays constant). The node is as far from the head
 *   as it gets and cold in the cache: a list that searched for it, or a
 *   GWeakRef-style O(n) removal, would show here.
 */

#include "bench-sections.h"
#include "bench-targets.h"
#include "bench-variant.h"

typedef enum {
  LOAD_NEWEST,
  LOAD_OLDEST,
  LOAD_QUIT,
} LoadCommand;

static const char *const pattern_metric[] = {
  "register+cancel newest",
  "register+cancel oldest",
};

typedef struct {
  const BenchVariant *variant;
  guint               load;
  guint               ops;
  gpointer           *ring;        /* the live handles, oldest at `oldest` */
  guint               oldest;
  guint64             fired;
  GAsyncQueue        *commands;    /* LoadCommand + 1 */
  GAsyncQueue        *done;        /* the worker, after building and after each batch */
  gint64              batch_ns;    /* written before pushing to done */
  GThread            *thread;
  GArray             *samples[2];  /* ns per pair, per pattern */
} LoadWorker;

static void
run_batch (LoadWorker  *w,
           LoadCommand  command)
{
  const BenchVariant *v = w->variant;

  if (command == LOAD_NEWEST)
    {
      for (guint i = 0; i < w->ops; i++)
        v->cancel (v->add (&w->fired));
    }
  else
    {
      for (guint i = 0; i < w->ops; i++)
        {
          gpointer handle = v->add (&w->fired);

          v->cancel (w->ring[w->oldest]);
          w->ring[w->oldest] = handle;
          if (++w->oldest == w->load)
            w->oldest = 0;
        }
    }
}

static gpointer
load_worker_run (gpointer data)
{
  LoadWorker *w = data;

  w->ring = g_new (gpointer, w->load);
  for (guint i = 0; i < w->load; i++)
    w->ring[i] = w->variant->add (&w->fired);
  g_async_queue_push (w->done, w);

  for (;;)
    {
      LoadCommand command = GPOINTER_TO_INT (g_async_queue_pop (w->commands)) - 1;
      gint64 start;

      if (command == LOAD_QUIT)
        break;
      start = bench_now_ns ();
      run_batch (w, command);
      w->batch_ns = bench_now_ns () - start;
      g_async_queue_push (w->done, w);
    }

  for (guint i = 0; i < w->load; i++)
    w->variant->cancel (w->ring[(w->oldest + i) % w->load]);
  g_free (w->ring);

  return NULL;
}

static double
worker_batch (LoadWorker  *w,
              LoadCommand  command)
{
  g_async_queue_push (w->commands, GINT_TO_POINTER (command + 1));
  g_async_queue_pop (w->done);

  return (double) w->batch_ns / w->ops;
}

void
bench_section_load (BenchReport       *report,
                    const BenchConfig *config)
{
  static const BenchVariant *const variants[] = {
    &bench_plain, &bench_ref, &bench_finalize, &bench_list,
  };
  guint n_loads = config->loads->len;
  guint n_workers = G_N_ELEMENTS (variants) * n_loads;
  g_autofree LoadWorker *workers = g_new0 (LoadWorker, n_workers);
  guint smallest = G_MAXUINT, largest = 0;
  g_autofree guint *order = g_new (guint, n_workers);
  g_autoptr(GRand) rand = g_rand_new_with_seed (config->seed);

  for (guint l = 0; l < n_loads; l++)
    {
      smallest = MIN (smallest, g_array_index (config->loads, guint, l));
      largest = MAX (largest, g_array_index (config->loads, guint, l));
    }

  /* Built side by side; only the batches are timed. */
  for (guint i = 0; i < n_workers; i++)
    {
      LoadWorker *w = &workers[i];

      w->variant = variants[i / n_loads];
      w->load = g_array_index (config->loads, guint, i % n_loads);
      w->ops = config->load_ops;
      w->commands = g_async_queue_new ();
      w->done = g_async_queue_new ();
      w->samples[0] = g_array_new (FALSE, FALSE, sizeof (double));
      w->samples[1] = g_array_new (FALSE, FALSE, sizeof (double));
      w->thread = g_thread_new ("bench-load", load_worker_run, w);
    }
  for (guint i = 0; i < n_workers; i++)
    g_async_queue_pop (workers[i].done);

  for (guint i = 0; i < n_workers; i++)
    {
      worker_batch (&workers[i], LOAD_NEWEST);
      worker_batch (&workers[i], LOAD_OLDEST);
    }
  for (guint rep = 0; rep < config->repeat; rep++)
    {
      bench_shuffle (order, n_workers, rand);
      for (guint i = 0; i < n_workers; i++)
        for (LoadCommand p = LOAD_NEWEST; p <= LOAD_OLDEST; p++)
          {
            LoadWorker *w = &workers[order[i]];
            double ns = worker_batch (w, p);

            g_array_append_val (w->samples[p], ns);
          }
    }

  for (guint i = 0; i < n_workers; i++)
    {
      g_async_queue_push (workers[i].commands, GINT_TO_POINTER (LOAD_QUIT + 1));
      g_thread_join (workers[i].thread);
      if (workers[i].fired != 0)
        g_warning ("%s: a cancelled registration ran", workers[i].variant->id);
    }

  for (LoadCommand p = LOAD_NEWEST; p <= LOAD_OLDEST; p++)
    {
      for (guint i = 0; i < n_workers; i++)
        {
          LoadWorker *w = &workers[i];

          bench_report_add (report, "cancel vs. load", pattern_metric[p], w->variant->id,
                            w->variant->label, w->load, "ns",
                            bench_stats ((double *) w->samples[p]->data, w->samples[p]->len));
        }

      /* Growth: the largest load over the smallest, per repetition. */
      for (guint v = 0; v < G_N_ELEMENTS (variants) && smallest < largest; v++)
        {
          LoadWorker *low = NULL, *high = NULL;
          g_autofree double *growth = g_new (double, config->repeat);
          g_autofree char *metric = g_strdup_printf ("%s: %u live / %u live",
                                                     pattern_metric[p], largest, smallest);
          BenchRow *row;

          for (guint l = 0; l < n_loads; l++)
            {
              LoadWorker *w = &workers[v * n_loads + l];

              if (w->load == smallest)
                low = w;
              if (w->load == largest)
                high = w;
            }
          for (guint rep = 0; rep < config->repeat; rep++)
            growth[rep] = g_array_index (high->samples[p], double, rep) /
                          g_array_index (low->samples[p], double, rep);

          row = bench_report_add (report, "cancel vs. load", metric, variants[v]->id,
                                  variants[v]->label, 0, "x",
                                  bench_stats (growth, config->repeat));
          if (variants[v] != &bench_list)
            bench_row_set_target (row, BENCH_TARGET_AT_MOST, BENCH_TARGET_LOAD_GROWTH, FALSE, "≤ 1.5");
        }
    }

  for (guint i = 0; i < n_workers; i++)
    {
      g_async_queue_unref (workers[i].commands);
      g_async_queue_unref (workers[i].done);
      g_array_unref (workers[i].samples[0]);
      g_array_unref (workers[i].samples[1]);
    }
}
