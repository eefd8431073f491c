/* threadref-ref.h: ThreadRefRef, a weak reference to the thread that made it
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

#define THREADREF_TYPE_REF (threadref_ref_get_type ())

THREADREF_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (ThreadRefRef, threadref_ref, THREADREF, REF, GObject)

/**
 * ThreadRefRefFunc:
 * @ref: the [class@ThreadRef.Ref] whose thread ended; it is already dead
 * @user_data: the data given to [ctor@ThreadRef.Ref.new]
 *
 * The type of the function a [class@ThreadRef.Ref] calls on the ending
 * thread when that thread ends.
 *
 * ```c
 * static void
 * on_thread_ended (ThreadRefRef *ref, gpointer user_data)
 * {
 *   g_assert_false (threadref_ref_is_alive (ref));
 *   forget_thread (user_data, ref);
 * }
 * ```
 *
 * Since: 1.0
 */
typedef void (*ThreadRefRefFunc) (ThreadRefRef *ref,
                                  gpointer      user_data);

THREADREF_AVAILABLE_IN_1_0
ThreadRefRef *threadref_ref_new                 (ThreadRefRefFunc callback,
                                                 gpointer         user_data,
                                                 GDestroyNotify   destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
ThreadRefRef *threadref_ref_watch               (ThreadRefRef     *self,
                                                 ThreadRefRefFunc  callback,
                                                 gpointer          user_data,
                                                 GDestroyNotify    destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
gboolean      threadref_ref_is_alive            (ThreadRefRef *self);
THREADREF_AVAILABLE_IN_1_0
GThread      *threadref_ref_dup_thread          (ThreadRefRef *self);
THREADREF_AVAILABLE_IN_1_0
gboolean      threadref_ref_wait                (ThreadRefRef *self,
                                                 gint64        timeout_usec);
THREADREF_AVAILABLE_IN_1_0
void          threadref_ref_wait_async          (ThreadRefRef        *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
THREADREF_AVAILABLE_IN_1_0
gboolean      threadref_ref_wait_finish         (ThreadRefRef  *self,
                                                 GAsyncResult  *result,
                                                 GError       **error);
THREADREF_AVAILABLE_IN_1_0
guint         threadref_ref_count_registrations (ThreadRefRef *self);
THREADREF_AVAILABLE_IN_1_0
guint         threadref_ref_hash                (gconstpointer ref);
THREADREF_AVAILABLE_IN_1_0
gboolean      threadref_ref_equal               (gconstpointer a,
                                                 gconstpointer b);

G_END_DECLS
