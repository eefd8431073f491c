/* threadref-at-thread-exit.h: the plain C path, a function and data run when the
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
 * ThreadRefAtThreadExitFlags: (skip)
 * @THREADREF_AT_THREAD_EXIT_DEFAULT: run when the thread ends; also run at process
 *   exit while the thread still runs, like a [class@ThreadRef.Finalize] whose
 *   [property@ThreadRef.Finalize:atexit] is %TRUE
 * @THREADREF_AT_THREAD_EXIT_THREAD_ONLY: run only when the thread itself ends (or is the
 *   thread that calls `exit()`); never on another thread at process exit
 *
 * How a registration made with `threadref_at_thread_exit()` or
 * `threadref_at_thread_exit_add()` behaves at process exit.
 *
 * ```c
 * static void
 * count_thread (gpointer counter)
 * {
 *   g_atomic_int_inc ((gint *) counter);   // process-wide: fine on any thread
 * }
 *
 * static void
 * free_scratch (gpointer scratch)
 * {
 *   g_free (scratch);   // the thread may still be using it: only on this thread
 * }
 *
 * static gint threads_done;
 *
 * threadref_at_thread_exit (count_thread, &threads_done, THREADREF_AT_THREAD_EXIT_DEFAULT);
 * threadref_at_thread_exit (free_scratch, g_malloc (4096), THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
 * ```
 *
 * Since: 1.0
 */
typedef enum {
  THREADREF_AT_THREAD_EXIT_DEFAULT     = 0,
  THREADREF_AT_THREAD_EXIT_THREAD_ONLY = 1 << 0,
} ThreadRefAtThreadExitFlags;

/**
 * ThreadRefAtThreadExit: (skip)
 *
 * A handle to a cancellable registration made with
 * `threadref_at_thread_exit_add()`. Give every handle back exactly once, with
 * `threadref_at_thread_exit_cancel()`: it is freed then, not when the
 * function runs.
 *
 * ```c
 * typedef struct {
 *   char                  *buffer;
 *   ThreadRefAtThreadExit *on_thread_end;   // frees buffer if the thread ends first
 * } Scratch;
 * ```
 *
 * Since: 1.0
 */
typedef struct _ThreadRefAtThreadExit ThreadRefAtThreadExit;

THREADREF_AVAILABLE_IN_1_0
void                   threadref_at_thread_exit        (GDestroyNotify             func,
                                                        gpointer                   data,
                                                        ThreadRefAtThreadExitFlags flags);
THREADREF_AVAILABLE_IN_1_0
ThreadRefAtThreadExit *threadref_at_thread_exit_add    (GDestroyNotify             func,
                                                        gpointer                   data,
                                                        ThreadRefAtThreadExitFlags flags) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
gboolean               threadref_at_thread_exit_cancel (ThreadRefAtThreadExit *handle);

G_END_DECLS
