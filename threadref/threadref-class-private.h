/* threadref-class-private.h: reading class data published by class_init
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GObject publishes an initialised class to other threads through its own
 * atomics, inside libgobject. That is correct, but ThreadSanitizer cannot
 * see it, and reports the first read, on another thread, of what class_init
 * wrote: the G_DEFINE_TYPE parent_class pointer and the GParamSpecs. So
 * class_init ends with THREADREF_CLASS_PUBLISH (a release store) and code
 * that reads those statics goes through THREADREF_CLASS_READ (an acquire
 * load, a plain load on x86): the library's own ordering, made visible.
 */

#pragma once

#include <glib.h>

#define THREADREF_CLASS_PUBLISH(flag) \
  __atomic_store_n (&(flag), 1, __ATOMIC_RELEASE)

#define THREADREF_CLASS_READ(flag, value) \
  ((void) __atomic_load_n (&(flag), __ATOMIC_ACQUIRE), (value))
