/* plugin.c: a loadable module that registers threadref callbacks whose code
 * lives in the module itself (for test-unload.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gmodule.h>
#include <threadref.h>

typedef struct {
  gint *counter;
} PluginData;

static void
plugin_callback (gpointer data)
{
  g_atomic_int_inc ((gint *) data);
}

static void
plugin_ref_callback (ThreadRefRef *ref,
                     gpointer      data)
{
  g_atomic_int_inc ((gint *) data);
}

static void
plugin_destroy (gpointer data)
{
  g_atomic_int_inc ((gint *) data);
}

/* Registers three callbacks for the calling thread; each bumps *counter
 * when it runs, and the destroy notifies bump it too. Returns the ref. */
G_MODULE_EXPORT ThreadRefRef *plugin_register (gint *counter);

G_MODULE_EXPORT ThreadRefRef *
plugin_register (gint *counter)
{
  g_object_unref (threadref_finalize_new (plugin_callback, counter, plugin_destroy));
  threadref_at_thread_exit (plugin_callback, counter, THREADREF_AT_THREAD_EXIT_DEFAULT);
  return threadref_ref_new (plugin_ref_callback, counter, plugin_destroy);
}

G_MODULE_EXPORT int plugin_marker (void);

G_MODULE_EXPORT int
plugin_marker (void)
{
  return 42;
}
