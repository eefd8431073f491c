/* unused-plugin.c: a loadable module that registers nothing (for
 * test-unload.c: it must unload normally)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gmodule.h>

G_MODULE_EXPORT int unused_plugin_marker (void);

G_MODULE_EXPORT int
unused_plugin_marker (void)
{
  return 7;
}
