/* threadref-at-exit.h: the plain C path, a function and data run when the
 * current thread ends
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

/**
 * ThreadAtExitFlags: (skip)
 * @THREAD_AT_EXIT_DEFAULT: run when the thread ends; also run at process
 *   exit while the thread still runs, like a [class@ThreadRef.Finalize] whose
 *   [property@ThreadRef.Finalize:atexit] is %TRUE
 * @THREAD_AT_EXIT_THREAD_ONLY: run only when the thread itself ends (or is the
 *   thread that calls `exit()`); never on another thread at process exit
 *
 * How a registration made with `thread_at_exit()` or
 * `thread_at_exit_add()` behaves at process exit.
 *
 * Since: 1.0
 */
typedef enum {
  THREAD_AT_EXIT_DEFAULT     = 0,
  THREAD_AT_EXIT_THREAD_ONLY = 1 << 0,
} ThreadAtExitFlags;

/**
 * ThreadAtExit: (skip)
 *
 * A handle to a cancellable registration made with
 * `thread_at_exit_add()`. Give every handle back exactly once, with
 * `thread_at_exit_cancel()`.
 *
 * Since: 1.0
 */
typedef struct _ThreadAtExit ThreadAtExit;

THREADREF_AVAILABLE_IN_1_0
void          thread_at_exit        (GDestroyNotify    func,
                                     gpointer          data,
                                     ThreadAtExitFlags flags);
THREADREF_AVAILABLE_IN_1_0
ThreadAtExit *thread_at_exit_add    (GDestroyNotify    func,
                                     gpointer          data,
                                     ThreadAtExitFlags flags) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
gboolean      thread_at_exit_cancel (ThreadAtExit     *handle);

G_END_DECLS
