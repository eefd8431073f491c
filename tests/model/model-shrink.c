/* model-shrink.c: see model.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "model.h"
#include "test-util.h"

/* The steps of a failed run to replay: those up to the failure, without the
 * cleanup, which a replay makes again. */
GArray *
failing_steps (Run *run)
{
  guint n = MIN (run->failed_step + 1, run->n_main);
  GArray *steps = g_array_sized_new (FALSE, FALSE, sizeof (Step), n);

  g_array_append_vals (steps, run->executed->data, n);
  return steps;
}

/* Delta debugging: removes chunks of steps, then single steps, as long as
 * the replay still fails (in any way). Returns the report of the shortest
 * failing replay, or NULL if no replay failed. */
GString *
shrink (guint32  seed,
        Specs   *specs,
        GArray  *failing,
        guint   *n_replays)
{
  GArray *current = g_array_copy (failing);
  GString *report = NULL;
  guint chunk = MAX (current->len / 2, 1);
  guint budget = SHRINK_BUDGET;

  *n_replays = 0;

  while (chunk >= 1 && budget > 0)
    {
      gboolean removed = FALSE;

      for (guint start = 0; start < current->len && budget > 0;)
        {
          GArray *candidate = g_array_copy (current);
          Run *run = run_new (seed, specs);

          g_array_remove_range (candidate, start, MIN (chunk, candidate->len - start));
          budget--;
          (*n_replays)++;
          stats.replays++;

          if (!run_sequence (run, NULL, 0, candidate))
            {
              g_array_unref (current);
              current = failing_steps (run);
              if (report != NULL)
                g_string_free (report, TRUE);
              report = g_steal_pointer (&run->report);
              removed = TRUE;
            }
          else
            start += chunk;

          run_free (run);
          g_array_unref (candidate);
        }

      if (!removed)
        chunk /= 2;
      else
        chunk = MIN (chunk, MAX (current->len / 2, 1));
    }

  g_array_unref (current);
  return report;
}

/* Logs a failed run, shrinks it and fails the test. */
void
report_failure (Run   *run,
                guint  n_steps)
{
  GArray *failing = failing_steps (run);
  GString *shrunk;
  guint n_replays;
  char *one_line;

  g_test_message ("model mismatch: %s", run->report->str);

  shrunk = shrink (run->seed, run->specs, failing, &n_replays);
  if (shrunk != NULL)
    g_test_message ("shrunk in %u replays to: %s", n_replays, shrunk->str);
  else
    g_test_message ("no replay of the sequence failed (%u tried): not shrunk", n_replays);

  /* One line, for TAP: the report with its lines joined. */
  one_line = g_strdup (shrunk != NULL ? shrunk->str : run->report->str);
  g_strstrip (one_line);
  g_strdelimit (one_line, "\n", '|');
  g_test_fail_printf ("model mismatch: %s | reproduce with THREADREF_MODEL_SEED=%u",
                      one_line, run->seed);
  g_free (one_line);

  if (shrunk != NULL)
    g_string_free (shrunk, TRUE);
  g_array_unref (failing);
}
