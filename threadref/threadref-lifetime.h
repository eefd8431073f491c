/* threadref-lifetime.h: ending the current thread's lifetime on purpose
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <glib.h>

#include "threadref-version-macros.h"

G_BEGIN_DECLS

THREADREF_AVAILABLE_IN_1_0
void threadref_end_lifetime (void);

THREADREF_AVAILABLE_IN_1_0
void threadref_run_atexit   (void);

G_END_DECLS
