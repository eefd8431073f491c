/* threadref-fork.c: fork() handling
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In a child of fork(), only the forking thread exists. Refs and finalizers
 * of every other thread report dead and never run there; the forking
 * thread's keep working. threadref-sentinel.c does the work; this file
 * installs the handlers.
 */

#include "config.h"

#include <pthread.h>

#include "threadref-fork-private.h"

void
threadref_fork_init (void)
{
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      if (pthread_atfork (threadref_sentinel_fork_prepare,
                          threadref_sentinel_fork_parent,
                          threadref_sentinel_fork_child) != 0)
        g_warning ("threadref: could not install its fork handlers");
      g_once_init_leave (&initialized, 1);
    }
}
