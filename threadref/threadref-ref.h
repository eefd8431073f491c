/* threadref-ref.h: ThreadRef, a weak reference to the thread that made it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <gio/gio.h>

#include "threadref-version-macros.h"

G_BEGIN_DECLS

#define THREAD_TYPE_REF (thread_ref_get_type ())

THREADREF_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (ThreadRef, thread_ref, THREAD, REF, GObject)

/**
 * ThreadRefFunc:
 * @ref: the [class@ThreadRef.Ref] whose thread ended; it is already dead
 * @user_data: the data given to [ctor@ThreadRef.Ref.new]
 *
 * The type of the function a [class@ThreadRef.Ref] calls on the ending
 * thread when that thread ends.
 *
 * ```c
 * static void
 * on_thread_ended (ThreadRef *ref, gpointer user_data)
 * {
 *   g_assert_false (thread_ref_is_alive (ref));
 *   forget_thread (user_data, ref);
 * }
 * ```
 *
 * Since: 1.0
 */
typedef void (*ThreadRefFunc) (ThreadRef *ref,
                               gpointer   user_data);

THREADREF_AVAILABLE_IN_1_0
ThreadRef *thread_ref_new        (ThreadRefFunc  callback,
                                  gpointer       user_data,
                                  GDestroyNotify destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
ThreadRef *thread_ref_watch      (ThreadRef     *self,
                                  ThreadRefFunc  callback,
                                  gpointer       user_data,
                                  GDestroyNotify destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
gboolean   thread_ref_is_alive   (ThreadRef     *self);
THREADREF_AVAILABLE_IN_1_0
GThread   *thread_ref_dup_thread (ThreadRef     *self);
THREADREF_AVAILABLE_IN_1_0
gboolean   thread_ref_wait       (ThreadRef     *self,
                                  gint64         timeout_usec);
THREADREF_AVAILABLE_IN_1_0
void       thread_ref_wait_async (ThreadRef           *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
THREADREF_AVAILABLE_IN_1_0
gboolean   thread_ref_wait_finish (ThreadRef    *self,
                                   GAsyncResult *result,
                                   GError      **error);
THREADREF_AVAILABLE_IN_1_0
guint      thread_ref_hash       (gconstpointer  ref);
THREADREF_AVAILABLE_IN_1_0
gboolean   thread_ref_equal      (gconstpointer  a,
                                  gconstpointer  b);

G_END_DECLS
