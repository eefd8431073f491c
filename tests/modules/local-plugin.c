/* local-plugin.c: a loadable module whose lifetime-local slot lives in the
 * module, with a destroy notify that does not (for test-unload.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gmodule.h>
#include <threadref.h>

/* g_free is GLib's: only the slot itself is in this module. */
static ThreadRefLocal plugin_slot = THREADREF_LOCAL_INIT (g_free);

/* Sets a value of the calling thread's lifetime in the module's slot. */
G_MODULE_EXPORT void plugin_set_local (const char *value);

G_MODULE_EXPORT void
plugin_set_local (const char *value)
{
  threadref_local_set (&plugin_slot, g_strdup (value));
}
