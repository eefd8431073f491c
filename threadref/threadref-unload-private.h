/* threadref-unload-private.h: keeping loaded the modules whose code
 * threadref will call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plugin loaded with dlopen()/g_module_open() may register a callback and
 * then be closed while the callback is still pending; when the thread ends,
 * threadref would jump into unmapped memory. glibc solves the same for C++
 * thread_local destructors by keeping a module loaded while any of its
 * destructors is pending (a count per module). threadref cannot count
 * cheaply (a plain registration is a few nanoseconds) and keeps every
 * module that contains code it will call (callbacks, destroy notifies, an
 * async wait's ready callback) loaded for good: the first time it sees code
 * from a module, it marks that module RTLD_NODELETE. A
 * small per-thread cache of recent modules' address ranges keeps this off
 * the registration's cost.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define THREADREF_UNLOAD_CACHE_SIZE 4

typedef struct {
  guintptr start;   /* [start, end) of a module known to be pinned */
  guintptr end;
} ThreadRefUnloadRange;

typedef struct {
  ThreadRefUnloadRange recent[THREADREF_UNLOAD_CACHE_SIZE];
  guint                next;
} ThreadRefUnloadCache;

/* Looks code up, pins its module and remembers its range in cache. */
void threadref_unload_pin_slow (ThreadRefUnloadCache *cache,
                                gconstpointer         code);

/* Makes sure the module that contains code is never unloaded. */
static inline void
threadref_unload_pin (ThreadRefUnloadCache *cache,
                      gconstpointer         code)
{
  guintptr address = (guintptr) code;

  if (code == NULL)
    return;
  for (guint i = 0; i < THREADREF_UNLOAD_CACHE_SIZE; i++)
    if (address - cache->recent[i].start < cache->recent[i].end - cache->recent[i].start)
      return;
  threadref_unload_pin_slow (cache, code);
}

G_END_DECLS
