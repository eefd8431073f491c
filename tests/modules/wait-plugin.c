/* wait-plugin.c: a loadable module that waits asynchronously for a thread
 * with a ready callback of its own (for test-unload.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gmodule.h>
#include <threadref.h>

static void
plugin_wait_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  *(gint *) data = threadref_ref_wait_finish (THREADREF_REF (source), result, NULL) ? 1 : -1;
}

/* Waits for the thread of worker; *done turns 1 in the caller's main
 * context once it has ended. */
G_MODULE_EXPORT void plugin_wait (ThreadRefRef *worker,
                                  gint      *done);

G_MODULE_EXPORT void
plugin_wait (ThreadRefRef *worker,
             gint         *done)
{
  threadref_ref_wait_async (worker, NULL, plugin_wait_done, done);
}
