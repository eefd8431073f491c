/* threadref-dispatcher.h: ThreadRefDispatcher, one callback for many
 * registrations of a language runtime
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <glib-object.h>

#include "threadref-finalize.h"
#include "threadref-ref.h"
#include "threadref-version-macros.h"

G_BEGIN_DECLS

#define THREADREF_TYPE_DISPATCHER (threadref_dispatcher_get_type ())

THREADREF_AVAILABLE_IN_1_0
G_DECLARE_FINAL_TYPE (ThreadRefDispatcher, threadref_dispatcher, THREADREF, DISPATCHER, GObject)

/**
 * THREADREF_DISPATCHER_DETACHED:
 *
 * The bit a dispatcher's function finds set in the id of a finalizer of
 * [method@ThreadRef.Dispatcher.new_finalize] that was detached: the runtime
 * forgets what it keeps under the id without running it. Ids never have it
 * otherwise.
 *
 * ```c
 * static void
 * run_call (guint64 id, gpointer runtime)
 * {
 *   if (id & THREADREF_DISPATCHER_DETACHED)
 *     g_message ("forget %" G_GUINT64_FORMAT, id & ~THREADREF_DISPATCHER_DETACHED);
 *   else
 *     g_message ("run %" G_GUINT64_FORMAT, id);
 * }
 *
 * ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (run_call, NULL, NULL);
 * guint64 id;
 * ThreadRefFinalize *fin = threadref_dispatcher_new_finalize (dispatcher, &id);
 * threadref_finalize_detach (fin);   // run_call (id | THREADREF_DISPATCHER_DETACHED)
 * g_object_unref (fin);
 * g_object_unref (dispatcher);
 * ```
 *
 * Since: 1.0
 */
#define THREADREF_DISPATCHER_DETACHED (G_GUINT64_CONSTANT (1) << 63)

/**
 * ThreadRefDispatchFunc:
 * @batch: the batch whose turn it is, as [method@ThreadRef.Dispatcher.batch]
 *   returned it, or the id of a finalizer that runs, as
 *   [method@ThreadRef.Dispatcher.new_finalize] gave it (with
 *   %THREADREF_DISPATCHER_DETACHED set if that finalizer was detached)
 * @user_data: the data given to [ctor@ThreadRef.Dispatcher.new]
 *
 * The type of a dispatcher's one function: it runs the registrations that
 * the runtime keeps for @batch, newest first.
 *
 * Since: 1.0
 */
typedef void (*ThreadRefDispatchFunc) (guint64  batch,
                                       gpointer user_data);

THREADREF_AVAILABLE_IN_1_0
ThreadRefDispatcher *threadref_dispatcher_new       (ThreadRefDispatchFunc  func,
                                                     gpointer               user_data,
                                                     GDestroyNotify         destroy_notify) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
guint64              threadref_dispatcher_batch     (ThreadRefDispatcher   *self,
                                                     guint64               *lifetime);
THREADREF_AVAILABLE_IN_1_0
guint64              threadref_dispatcher_batch_for (ThreadRefDispatcher   *self,
                                                     ThreadRefRef          *ref,
                                                     guint64               *lifetime);
THREADREF_AVAILABLE_IN_1_0
ThreadRefFinalize   *threadref_dispatcher_new_finalize (ThreadRefDispatcher *self,
                                                        guint64             *id) G_GNUC_WARN_UNUSED_RESULT;
THREADREF_AVAILABLE_IN_1_0
void                 threadref_dispatcher_close     (ThreadRefDispatcher   *self);

G_END_DECLS
