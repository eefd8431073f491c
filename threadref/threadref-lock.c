/* threadref-lock.c: the slow paths of ThreadRefLock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-lock-private.h"

#ifdef __linux__

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Spins this many times before sleeping: critical sections are a handful of
 * pointer writes, so a holder that is running releases the lock well within
 * this; one that was preempted is waited for in the kernel. */
#define SPIN_COUNT 100

static inline void
cpu_relax (void)
{
#if defined (__x86_64__) || defined (__i386__)
  __builtin_ia32_pause ();
#elif defined (__aarch64__)
  __asm__ __volatile__ ("yield" ::: "memory");
#endif
}

void
threadref_lock_wait (ThreadRefLock *lock)
{
  for (guint i = 0; i < SPIN_COUNT; i++)
    {
      cpu_relax ();
      if (g_atomic_int_get (&lock->word) == 0 &&
          g_atomic_int_compare_and_exchange (&lock->word, 0, 1))
        return;
    }

  /* Mark the lock contended; whoever unlocks it then wakes one sleeper. */
  while (g_atomic_int_exchange (&lock->word, 2) != 0)
    syscall (SYS_futex, &lock->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void
threadref_lock_wake (ThreadRefLock *lock)
{
  syscall (SYS_futex, &lock->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

gboolean
threadref_wait_on (guint  *word,
                   guint   expected,
                   gint64  end_time)
{
  struct timespec timeout;
  struct timespec *timeout_p = NULL;

  if (end_time >= 0)
    {
      gint64 remaining = end_time - g_get_monotonic_time ();

      if (remaining <= 0)
        return FALSE;
      timeout.tv_sec = remaining / G_USEC_PER_SEC;
      timeout.tv_nsec = (remaining % G_USEC_PER_SEC) * 1000;
      timeout_p = &timeout;
    }

  syscall (SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout_p, NULL, 0);
  return TRUE;
}

void
threadref_wake_all (guint *word)
{
  syscall (SYS_futex, word, FUTEX_WAKE_PRIVATE, G_MAXINT, NULL, NULL, 0);
}

#else /* !__linux__ */

/* Without futexes: one process-wide condition. Waits are rare (they are
 * for threads that want to know another thread ended). */
static GMutex wait_mutex;
static GCond wait_cond;

gboolean
threadref_wait_on (guint  *word,
                   guint   expected,
                   gint64  end_time)
{
  gboolean in_time = TRUE;

  g_mutex_lock (&wait_mutex);
  if (g_atomic_int_get (word) == expected)
    {
      if (end_time < 0)
        g_cond_wait (&wait_cond, &wait_mutex);
      else
        in_time = g_cond_wait_until (&wait_cond, &wait_mutex, end_time);
    }
  g_mutex_unlock (&wait_mutex);
  return in_time;
}

void
threadref_wake_all (guint *word)
{
  g_mutex_lock (&wait_mutex);
  g_cond_broadcast (&wait_cond);
  g_mutex_unlock (&wait_mutex);
}

#endif /* __linux__ */
