/* threadref-lock.c: the slow paths of ThreadRefLock
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-lock-private.h"

#ifdef __linux__

#include <linux/futex.h>
#include <sys/syscall.h>
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

#endif /* __linux__ */
