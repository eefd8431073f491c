/* threadref-pin.c: keeping loaded the modules whose code a registration will
 * call (see threadref-pin-private.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <dlfcn.h>
#include <link.h>

#include "threadref-lock-private.h"
#include "threadref-pin-private.h"

/* Modules pinned so far; looked at only on a per-thread cache miss. */
static ThreadRefLock pinned_lock = THREADREF_LOCK_INIT;
static GHashTable *pinned;   /* struct link_map * set */

static void
pin_module (struct link_map *map)
{
  gboolean is_new;

  threadref_lock (&pinned_lock);
  if (pinned == NULL)
    pinned = g_hash_table_new (NULL, NULL);
  is_new = g_hash_table_add (pinned, map);
  threadref_unlock (&pinned_lock);

  /* The main program has an empty name and is never unloaded. dlopen() of a
   * loaded module with RTLD_NOLOAD | RTLD_NODELETE only marks it: a later
   * dlclose() (g_module_close()) no longer unmaps it. The extra reference
   * this takes is kept on purpose. */
  if (is_new && map->l_name != NULL && map->l_name[0] != '\0')
    (void) dlopen (map->l_name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

void
threadref_pin_code_slow (ThreadRefPinCache *cache,
                         gpointer           code)
{
#ifdef HAVE_DL_FIND_OBJECT
  struct dl_find_object info;

  /* Not in any module (JIT code, libffi closures of language bindings):
   * nothing can unload it under us. */
  if (_dl_find_object (code, &info) != 0)
    return;

  pin_module (info.dlfo_link_map);
  cache->recent[cache->next] = (ThreadRefPinRange) {
    (guintptr) info.dlfo_map_start, (guintptr) info.dlfo_map_end
  };
#else
  Dl_info info;
  struct link_map *map = NULL;

  if (dladdr1 (code, &info, (void **) &map, RTLD_DL_LINKMAP) == 0 || map == NULL)
    return;

  pin_module (map);
  /* dladdr1() gives no range: remember just this function. */
  cache->recent[cache->next] = (ThreadRefPinRange) { (guintptr) code, (guintptr) code + 1 };
#endif
  cache->next = (cache->next + 1) % THREADREF_PIN_CACHE_SIZE;
}
