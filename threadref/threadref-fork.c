/* threadref-fork.c: fork()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In a child of fork(), only the forking thread exists. Refs and finalizers
 * of every other thread report dead and never run there; the forking
 * thread's keep working. Another thread may hold one of threadref's locks
 * at the moment of fork(), so the prepare handler takes every one of them,
 * in the order the library always takes them (wait, registry, lifetimes;
 * no code holds one while taking another in any other order), and both
 * sides let go of them after. Nothing allocates or calls out under these
 * locks, so the prepare handler only waits for sections already running.
 * The unload tier has no lock (threadref-unload.c).
 */

#include "config.h"

#include <pthread.h>

#include "threadref-exit-private.h"
#include "threadref-fork-private.h"
#include "threadref-registry-private.h"
#include "threadref-sentinel-private.h"
#include "threadref-wait-private.h"

static void
fork_prepare (void)
{
  threadref_wait_fork_prepare ();
  threadref_registry_fork_prepare ();
  threadref_sentinel_fork_prepare ();
}

static void
fork_parent (void)
{
  threadref_sentinel_fork_parent ();
  threadref_registry_fork_parent ();
  threadref_wait_fork_parent ();
}

static void
fork_child (void)
{
  threadref_exit_fork_child ();
  threadref_sentinel_fork_child ();
  threadref_registry_fork_child ();
  threadref_wait_fork_child ();
}

void
threadref_fork_init (void)
{
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      if (pthread_atfork (fork_prepare, fork_parent, fork_child) != 0)
        g_warning ("threadref: could not install its fork handlers");
      g_once_init_leave (&initialized, 1);
    }
}
