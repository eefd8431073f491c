/* threadref-pin-private.h: keeping loaded the modules whose code a
 * registration will call
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plugin loaded with dlopen()/g_module_open() may register a callback and
 * then be closed while the callback is still pending; when the thread ends,
 * the callback would jump into unmapped memory. glibc solves the same for
 * C++ thread_local destructors by never unloading a module that has any.
 * threadref does the same for the modules that contain a registration's
 * functions: the first time it sees code from a module, it marks that module
 * RTLD_NODELETE. A small per-thread cache of recent modules' address ranges
 * keeps this off the registration's cost.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define THREADREF_PIN_CACHE_SIZE 4

typedef struct {
  guintptr start;   /* [start, end) of a module known to be pinned */
  guintptr end;
} ThreadRefPinRange;

typedef struct {
  ThreadRefPinRange recent[THREADREF_PIN_CACHE_SIZE];
  guint             next;
} ThreadRefPinCache;

/* Looks code up and pins its module; remembers the range in cache. */
void threadref_pin_code_slow (ThreadRefPinCache *cache,
                              gpointer           code);

static inline void
threadref_pin_code (ThreadRefPinCache *cache,
                    gpointer           code)
{
  guintptr address = (guintptr) code;

  if (code == NULL)
    return;
  for (guint i = 0; i < THREADREF_PIN_CACHE_SIZE; i++)
    if (address - cache->recent[i].start < cache->recent[i].end - cache->recent[i].start)
      return;
  threadref_pin_code_slow (cache, code);
}

G_END_DECLS
