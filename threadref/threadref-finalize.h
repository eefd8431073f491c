/* threadref-finalize.h: ThreadFinalize, a finalizer for the thread that
 * made it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <glib-object.h>

#include "threadref-ref.h"
#include "threadref-version-macros.h"

G_BEGIN_DECLS

#define THREAD_TYPE_FINALIZE (thread_finalize_get_type ())

THREADREF_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (ThreadFinalize, thread_finalize, THREAD, FINALIZE, GObject)

/**
 * ThreadFinalizeFunc:
 * @user_data: the data given to [ctor@ThreadRef.Finalize.new]
 *
 * The type of the function a [class@ThreadRef.Finalize] runs once: when its
 * thread ends, at process exit, or when [method@ThreadRef.Finalize.call] is
 * called.
 *
 * ```c
 * static void
 * close_connection (gpointer user_data)
 * {
 *   connection_close (user_data);
 * }
 * ```
 *
 * Since: 1.0
 */
typedef void (*ThreadFinalizeFunc) (gpointer user_data);

THREADREF_AVAILABLE_IN_1_0
ThreadFinalize *thread_finalize_new        (ThreadFinalizeFunc func,
                                            gpointer           user_data,
                                            GDestroyNotify     destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
ThreadFinalize *thread_ref_watch_finalize  (ThreadRef         *self,
                                            ThreadFinalizeFunc func,
                                            gpointer           user_data,
                                            GDestroyNotify     destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
gboolean        thread_finalize_is_alive   (ThreadFinalize    *self);
THREADREF_AVAILABLE_IN_1_0
gboolean        thread_finalize_call       (ThreadFinalize    *self);
THREADREF_AVAILABLE_IN_1_0
gboolean        thread_finalize_detach     (ThreadFinalize    *self);
THREADREF_AVAILABLE_IN_1_0
GThread        *thread_finalize_dup_thread (ThreadFinalize    *self);
THREADREF_AVAILABLE_IN_1_0
gboolean        thread_finalize_get_atexit (ThreadFinalize    *self);
THREADREF_AVAILABLE_IN_1_0
void            thread_finalize_set_atexit (ThreadFinalize    *self,
                                            gboolean           atexit);

G_END_DECLS
