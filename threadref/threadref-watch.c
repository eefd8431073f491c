/* threadref-watch.c: learning of another thread's end in a main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-watch.h"

typedef struct {
  ThreadRefRef    *watched;   /* @self, whose wrapper a binding may tie
                               * the callback to (GJS) */
  ThreadRefRefFunc callback;
  gpointer         user_data;
  GDestroyNotify   destroy_notify;
} Watch;

/* In the watching thread's thread-default main context. */
static void
watch_ready (GObject      *source,
             GAsyncResult *result,
             gpointer      data)
{
  Watch *watch = data;
  ThreadRefRef *ref = THREADREF_REF (source);

  if (threadref_ref_wait_finish (ref, result, NULL))
    watch->callback (ref, watch->user_data);
  if (watch->destroy_notify != NULL)
    watch->destroy_notify (watch->user_data);
  g_object_unref (watch->watched);
  g_free (watch);
}

/**
 * threadref_ref_watch_in_context: (rename-to threadref_ref_watch)
 * @self: a ref to the thread to watch
 * @callback: (nullable) (scope notified) (closure user_data) (destroy destroy_notify):
 *   called in the calling thread's thread-default main context once that
 *   thread has ended
 * @user_data: data for @callback
 * @destroy_notify: (nullable): frees @user_data, in the same main context,
 *   right after @callback
 *
 * Watches the thread @self refers to without running anything on it: a
 * new ref to that thread is made, and once the thread has ended and all
 * of its callbacks have returned, `callback (new_ref, user_data)` and then
 * @destroy_notify run in the thread-default main context of the calling
 * thread (as [method@ThreadRef.Ref.wait_async] delivers its result). The
 * watch holds the new ref and @self until then: a binding may tie
 * @callback to its wrapper of @self (GJS does, for a method's callback,
 * and drops the callback when that wrapper is collected).
 *
 * This is `ThreadRef.Ref.watch` in language bindings, where a callback
 * may only run on the thread that made it (JavaScript in GJS). In C,
 * `threadref_ref_watch()` runs the callback on the ending thread instead.
 *
 * ```js
 * // GJS: a worker started by a C library
 * worker.watch(() => print('worker ended'));   // runs in the main loop
 * ```
 *
 * Returns: (transfer full) (nullable): a new ref to the same thread, or
 *   %NULL if it has ended (then @destroy_notify has run, and @callback will
 *   not)
 *
 * Since: 1.0
 */
ThreadRefRef *
threadref_ref_watch_in_context (ThreadRefRef     *self,
                                ThreadRefRefFunc  callback,
                                gpointer          user_data,
                                GDestroyNotify    destroy_notify)
{
  ThreadRefRef *ref;
  Watch *watch;

  g_return_val_if_fail (THREADREF_IS_REF (self), NULL);

  ref = threadref_ref_watch (self, NULL, NULL, NULL);
  if (ref == NULL || callback == NULL)
    {
      if (destroy_notify != NULL)
        destroy_notify (user_data);
      return ref;
    }

  watch = g_new (Watch, 1);
  watch->watched = g_object_ref (self);
  watch->callback = callback;
  watch->user_data = user_data;
  watch->destroy_notify = destroy_notify;
  threadref_ref_wait_async (ref, NULL, watch_ready, watch);
  return ref;
}
