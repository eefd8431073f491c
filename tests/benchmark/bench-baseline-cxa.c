/* bench-baseline-cxa.c: glibc's __cxa_thread_atexit_impl, what C++
 * thread_local destructors use
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One malloc'd {func, obj, link map, next} per registration on a
 * thread-local singly-linked list, run newest first just before the
 * pthread-key destructors. It cannot be cancelled, and glibc takes its
 * dynamic-loader lock for each registration (to pin the object that
 * registered).
 */

#include "bench-util.h"
#include "bench-variant.h"

/* Not in any header: the C++ runtime's __cxa_thread_atexit calls it. */
int __cxa_thread_atexit_impl (void (*func) (void *),
                              void  *obj,
                              void  *dso_symbol);
extern void *__dso_handle;

static void
cxa_add_fire (guint64 *counter)
{
  __cxa_thread_atexit_impl (bench_count, counter, &__dso_handle);
}

const BenchVariant bench_cxa = {
  .id = "cxa",
  .label = "__cxa_thread_atexit_impl",
  .add_fire = cxa_add_fire,
};
