/* threadref-registry-private.h: every lifetime that is still allocated, and
 * the pool of ended ones kept for reuse
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The bottom tier. It knows nothing of what a lifetime is: it links
 * ThreadRefRegistryLinks embedded in lifetimes. Process exit and fork walk
 * the registry; the pool saves making and finalizing a lifetime object per
 * thread (see threadref-sentinel.c).
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ThreadRefRegistryLink ThreadRefRegistryLink;

struct _ThreadRefRegistryLink
{
  ThreadRefRegistryLink *prev;   /* under the registry lock */
  ThreadRefRegistryLink *next;
  guint64                serial; /* unique per lifetime, never reused */
};

/* Takes a pooled link, if any, and registers it under a fresh serial;
 * NULL if the pool is empty. */
ThreadRefRegistryLink *threadref_registry_reuse   (void);
/* Registers a new link under a fresh serial. */
void                   threadref_registry_add     (ThreadRefRegistryLink *link);
/* Unregisters link and keeps it in the pool if there is room: TRUE if it
 * was pooled, FALSE if the caller must free what contains it. */
gboolean               threadref_registry_retire  (ThreadRefRegistryLink *link);

/* Walking the registry: between lock and unlock, first() and link->next
 * give every registered link. Nothing may allocate or call out while the
 * lock is held (fork takes it). */
void                   threadref_registry_lock    (void);
void                   threadref_registry_unlock  (void);
ThreadRefRegistryLink *threadref_registry_first   (void);

/* The fork handlers' share: the registry lock around fork(). */
void                   threadref_registry_fork_prepare (void);
void                   threadref_registry_fork_parent  (void);
void                   threadref_registry_fork_child   (void);

/* For tests: how many links are registered. */
guint                  threadref_registry_count   (void);

G_END_DECLS
