/* bench-baseline-gprivate.c: one GPrivate holding an array of closures
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The shortest GLib answer: a GArray of {func, data} per thread, run newest
 * first by the GPrivate's destroy notify. It has no cancel (a GArray has no
 * stable O(1) removal from another thread without the machinery of the
 * hand-written list), and a callback must not register on the same thread
 * while the array runs.
 */

#include "bench-util.h"
#include "bench-variant.h"

typedef struct {
  GDestroyNotify func;
  gpointer       data;
} Closure;

static void
closures_run (gpointer data)
{
  GArray *closures = data;

  for (guint i = closures->len; i-- > 0;)
    {
      Closure *closure = &g_array_index (closures, Closure, i);

      closure->func (closure->data);
    }
  g_array_free (closures, TRUE);
}

static GPrivate closures_key = G_PRIVATE_INIT (closures_run);

static void
gprivate_add_fire (guint64 *counter)
{
  GArray *closures = g_private_get (&closures_key);
  Closure closure = { bench_count, counter };

  if (G_UNLIKELY (closures == NULL))
    {
      closures = g_array_new (FALSE, FALSE, sizeof (Closure));
      g_private_set (&closures_key, closures);
    }
  g_array_append_val (closures, closure);
}

const BenchVariant bench_gprivate = {
  .id = "gprivate",
  .label = "GPrivate + GArray",
  .add_fire = gprivate_add_fire,
};
