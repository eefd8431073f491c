/* threadref-lifetime.h: ending the current thread's lifetime on purpose, and
 * nested lifetimes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <glib.h>

#include "threadref-version-macros.h"
#include "threadref-ref.h"

G_BEGIN_DECLS

THREADREF_AVAILABLE_IN_1_0
void threadref_end_lifetime (void);

THREADREF_AVAILABLE_IN_1_0
void threadref_run_atexit   (void);

THREADREF_AVAILABLE_IN_1_0
ThreadRefRef *threadref_nested_lifetime_begin (void) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
void          threadref_nested_lifetime_end   (ThreadRefRef *lifetime);

G_END_DECLS
