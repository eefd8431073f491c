/* threadref-registry.c: every lifetime that is still allocated, and the
 * pool of ended ones kept for reuse (see threadref-registry-private.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-registry-private.h"

/* How many ended lifetimes are kept for reuse. A thread's first
 * registration takes one, its end gives it back; past this many idle ones,
 * they are freed. */
#define POOL_MAX 128

/* One lock for both lists: it is taken when a lifetime starts or is
 * released and when process exit or fork walks the registry, never per
 * registration. */
static GMutex registry_mutex;
static ThreadRefRegistryLink *registry_head;
static guint64 registry_serial;
static ThreadRefRegistryLink *pool_head;   /* linked through next */
static guint pool_size;

static void
registry_insert_locked (ThreadRefRegistryLink *link)
{
  link->serial = ++registry_serial;
  link->prev = NULL;
  link->next = registry_head;
  if (registry_head != NULL)
    registry_head->prev = link;
  registry_head = link;
}

ThreadRefRegistryLink *
threadref_registry_reuse (void)
{
  ThreadRefRegistryLink *link;

  g_mutex_lock (&registry_mutex);
  link = pool_head;
  if (link != NULL)
    {
      pool_head = link->next;
      pool_size--;
      registry_insert_locked (link);
    }
  g_mutex_unlock (&registry_mutex);

  return link;
}

void
threadref_registry_add (ThreadRefRegistryLink *link)
{
  g_mutex_lock (&registry_mutex);
  registry_insert_locked (link);
  g_mutex_unlock (&registry_mutex);
}

gboolean
threadref_registry_retire (ThreadRefRegistryLink *link)
{
  gboolean pooled = FALSE;

  g_mutex_lock (&registry_mutex);
  if (link->prev != NULL)
    link->prev->next = link->next;
  else
    registry_head = link->next;
  if (link->next != NULL)
    link->next->prev = link->prev;

  link->prev = NULL;
  link->next = NULL;
  if (pool_size < POOL_MAX)
    {
      link->next = pool_head;
      pool_head = link;
      pool_size++;
      pooled = TRUE;
    }
  g_mutex_unlock (&registry_mutex);

  return pooled;
}

void
threadref_registry_lock (void)
{
  g_mutex_lock (&registry_mutex);
}

void
threadref_registry_unlock (void)
{
  g_mutex_unlock (&registry_mutex);
}

ThreadRefRegistryLink *
threadref_registry_first (void)
{
  return registry_head;
}

void
threadref_registry_fork_prepare (void)
{
  g_mutex_lock (&registry_mutex);
}

void
threadref_registry_fork_parent (void)
{
  g_mutex_unlock (&registry_mutex);
}

void
threadref_registry_fork_child (void)
{
  /* The child's only thread is the one that took the lock. */
  g_mutex_unlock (&registry_mutex);
}

guint
threadref_registry_count (void)
{
  guint n = 0;

  g_mutex_lock (&registry_mutex);
  for (ThreadRefRegistryLink *link = registry_head; link != NULL; link = link->next)
    n++;
  g_mutex_unlock (&registry_mutex);

  return n;
}
