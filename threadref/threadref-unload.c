/* threadref-unload.c: keeping loaded the modules whose code threadref will
 * call (see threadref-unload-private.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <dlfcn.h>
#include <link.h>

#include "threadref-unload-private.h"

/* Modules pinned so far, looked at only on a per-thread cache miss. A list
 * that only grows, pushed to with a compare-and-swap: no lock, so nothing
 * here can be held by another thread at fork(), and nothing is allocated
 * under a lock. Two threads pinning the same module at once may both add
 * it; pinning twice is harmless. */
typedef struct _PinnedModule PinnedModule;
struct _PinnedModule
{
  struct link_map *map;
  PinnedModule    *next;
};

static PinnedModule *pinned_head;

static gboolean
is_pinned (struct link_map *map)
{
  for (PinnedModule *p = g_atomic_pointer_get (&pinned_head); p != NULL; p = p->next)
    if (p->map == map)
      return TRUE;
  return FALSE;
}

static void
pin_module (struct link_map *map)
{
  PinnedModule *entry;

  if (is_pinned (map))
    return;

  entry = g_new (PinnedModule, 1);
  entry->map = map;
  do
    entry->next = g_atomic_pointer_get (&pinned_head);
  while (!g_atomic_pointer_compare_and_exchange (&pinned_head, entry->next, entry));

  /* The main program has an empty name and is never unloaded. dlopen() of a
   * loaded module with RTLD_NOLOAD | RTLD_NODELETE only marks it: a later
   * dlclose() (g_module_close()) no longer unmaps it. The extra reference
   * this takes is kept on purpose. */
  if (map->l_name != NULL && map->l_name[0] != '\0')
    (void) dlopen (map->l_name, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

void
threadref_unload_pin_slow (ThreadRefUnloadCache *cache,
                           gconstpointer         code)
{
#ifdef HAVE_DL_FIND_OBJECT
  struct dl_find_object info;

  /* Not in any module (JIT code, libffi closures of language bindings):
   * nothing can unload it under us. */
  if (_dl_find_object ((void *) code, &info) != 0)
    return;

  pin_module (info.dlfo_link_map);
  cache->recent[cache->next] = (ThreadRefUnloadRange) {
    (guintptr) info.dlfo_map_start, (guintptr) info.dlfo_map_end
  };
#else
  Dl_info info;
  struct link_map *map = NULL;

  if (dladdr1 (code, &info, (void **) &map, RTLD_DL_LINKMAP) == 0 || map == NULL)
    return;

  pin_module (map);
  /* dladdr1() gives no range: remember just this function. */
  cache->recent[cache->next] = (ThreadRefUnloadRange) { (guintptr) code, (guintptr) code + 1 };
#endif
  cache->next = (cache->next + 1) % THREADREF_UNLOAD_CACHE_SIZE;
}
