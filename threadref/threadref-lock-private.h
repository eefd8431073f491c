/* threadref-lock-private.h: the small lock that guards one anchor's list
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Why not GMutex: on Linux, GLib 2.74 builds GMutex on raw futexes with
 * out-of-line calls. ThreadSanitizer cannot see those, so every access they
 * guard is reported as a race, and the call costs more than the critical
 * sections it guards (a few pointer writes). This lock is the same futex
 * algorithm (0 = free, 1 = held, 2 = held with waiters), inlined, written
 * with GLib's atomics so that ThreadSanitizer sees the acquire and the
 * release. Critical sections under it never call out of the library, never
 * allocate and never block, so holders finish quickly: it spins briefly
 * before sleeping. docs/design.md gives the measured figures.
 *
 * Elsewhere it falls back to a pthread mutex.
 */

#pragma once

#include <glib.h>

/* Blocks while *word == expected, until end_time (monotonic, µs; -1 for
 * never) or a wake. Returns FALSE once end_time has passed. May return
 * early: callers re-check *word. */
gboolean threadref_wait_on  (guint  *word,
                             guint   expected,
                             gint64  end_time);
/* Wakes every thread blocked in threadref_wait_on (word). */
void     threadref_wake_all (guint  *word);

#ifdef __linux__

typedef struct {
  gint word;
} ThreadRefLock;

#define THREADREF_LOCK_INIT { 0 }

void threadref_lock_wait (ThreadRefLock *lock);
void threadref_lock_wake (ThreadRefLock *lock);

static inline void
threadref_lock_init (ThreadRefLock *lock)
{
  g_atomic_int_set (&lock->word, 0);
}

static inline void
threadref_lock (ThreadRefLock *lock)
{
  if (G_UNLIKELY (!g_atomic_int_compare_and_exchange (&lock->word, 0, 1)))
    threadref_lock_wait (lock);
}

static inline void
threadref_unlock (ThreadRefLock *lock)
{
  if (G_UNLIKELY (g_atomic_int_exchange (&lock->word, 0) == 2))
    threadref_lock_wake (lock);
}

#else /* !__linux__ */

#include <pthread.h>

typedef struct {
  pthread_mutex_t mutex;
} ThreadRefLock;

#define THREADREF_LOCK_INIT { PTHREAD_MUTEX_INITIALIZER }

static inline void
threadref_lock_init (ThreadRefLock *lock)
{
  pthread_mutex_init (&lock->mutex, NULL);
}

static inline void
threadref_lock (ThreadRefLock *lock)
{
  pthread_mutex_lock (&lock->mutex);
}

static inline void
threadref_unlock (ThreadRefLock *lock)
{
  pthread_mutex_unlock (&lock->mutex);
}

#endif /* __linux__ */
