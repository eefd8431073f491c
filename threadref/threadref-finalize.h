/* threadref-finalize.h: ThreadRefFinalize, a finalizer for the thread that
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

#define THREADREF_TYPE_FINALIZE (threadref_finalize_get_type ())

THREADREF_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (ThreadRefFinalize, threadref_finalize, THREADREF, FINALIZE, GObject)

/**
 * ThreadRefFinalizeFunc:
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
typedef void (*ThreadRefFinalizeFunc) (gpointer user_data);

THREADREF_AVAILABLE_IN_1_0
ThreadRefFinalize *threadref_finalize_new        (ThreadRefFinalizeFunc func,
                                                  gpointer              user_data,
                                                  GDestroyNotify        destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
ThreadRefFinalize *threadref_ref_watch_finalize  (ThreadRefRef          *self,
                                                  ThreadRefFinalizeFunc  func,
                                                  gpointer               user_data,
                                                  GDestroyNotify         destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
gboolean           threadref_finalize_is_alive   (ThreadRefFinalize *self);
THREADREF_AVAILABLE_IN_1_0
gboolean           threadref_finalize_call       (ThreadRefFinalize *self);
THREADREF_AVAILABLE_IN_1_0
gboolean           threadref_finalize_detach     (ThreadRefFinalize *self);
THREADREF_AVAILABLE_IN_1_0
GThread           *threadref_finalize_dup_thread (ThreadRefFinalize *self);
THREADREF_AVAILABLE_IN_1_0
gboolean           threadref_finalize_get_atexit (ThreadRefFinalize *self);
THREADREF_AVAILABLE_IN_1_0
void               threadref_finalize_set_atexit (ThreadRefFinalize *self,
                                                  gboolean           atexit);

G_END_DECLS
