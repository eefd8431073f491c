/* threadref-stamp-private.h: creation stamps that order registrations across
 * threads
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * At process exit, finalizers of threads that still run are run newest first
 * across all threads. Within one thread the list order already says which is
 * newer; across threads we need a clock that every core reads the same. A
 * shared atomic counter would do, but it is a cache line that every
 * registering thread writes: with two threads registering at once it costs
 * more than the whole registration. The CPU's invariant time-stamp counter
 * (the kernel's default clocksource on x86-64) is read locally in a few
 * nanoseconds and agrees across cores. Registrations made concurrently on
 * two threads have no creation order to respect; ones ordered by any
 * synchronisation get increasing stamps.
 */

#pragma once

#include <glib.h>

#if defined (__x86_64__) || defined (__i386__)
# include <x86intrin.h>
#endif

static inline guint64
threadref_stamp (void)
{
#if defined (__x86_64__) || defined (__i386__)
  return __rdtsc ();
#elif defined (__aarch64__)
  guint64 value;
  __asm__ __volatile__ ("isb; mrs %0, cntvct_el0" : "=r" (value) :: "memory");
  return value;
#else
  static guint64 counter;
  return __atomic_add_fetch (&counter, 1, __ATOMIC_RELAXED);
#endif
}
