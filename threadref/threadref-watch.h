/* threadref-watch.h: learning of another thread's end in a main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include "threadref-ref.h"
#include "threadref-version-macros.h"

G_BEGIN_DECLS

THREADREF_AVAILABLE_IN_1_0
ThreadRefRef *threadref_ref_watch_in_context (ThreadRefRef     *self,
                                              ThreadRefRefFunc  callback,
                                              gpointer          user_data,
                                              GDestroyNotify    destroy_notify) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
