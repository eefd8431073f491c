/* threadref-at-exit.c: the plain C path
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-at-exit.h"
#include "threadref-sentinel-private.h"

/* A handle is the node itself: one allocation per registration. */
struct _ThreadAtExit
{
  ThreadRefNode node;
};

static ThreadRefNodeKind
kind_for_flags (ThreadAtExitFlags flags)
{
  return THREADREF_NODE_KIND_PLAIN |
         ((flags & THREAD_AT_EXIT_THREAD_ONLY) ? 0 : THREADREF_NODE_KIND_STAMPED);
}

/**
 * thread_at_exit: (skip)
 * @func: the function to run
 * @data: its argument
 * @flags: how it behaves at process exit
 *
 * Runs `func (data)` once, on the calling thread, when the calling thread
 * ends: `atexit()` for one thread. It follows the same rules as a
 * [class@ThreadRef.Finalize] (newest first with every other registration of
 * the thread, nested registrations, process exit), without a GObject.
 *
 * It cannot be cancelled; `thread_at_exit_add()` can.
 *
 * Since: 1.0
 */
void
thread_at_exit (GDestroyNotify    func,
                gpointer          data,
                ThreadAtExitFlags flags)
{
  ThreadRefNode *node;

  g_return_if_fail (func != NULL);

  node = g_new (ThreadRefNode, 1);
  threadref_node_attach (node, kind_for_flags (flags) | THREADREF_NODE_KIND_NO_HANDLE,
                         func, data, !(flags & THREAD_AT_EXIT_THREAD_ONLY));
}

/**
 * thread_at_exit_add: (skip)
 * @func: the function to run
 * @data: its argument
 * @flags: how it behaves at process exit
 *
 * Like `thread_at_exit()`, but returns a handle with which the
 * registration can be cancelled from any thread.
 *
 * Every handle must be given back exactly once, with
 * `thread_at_exit_cancel()`, whether or not @func has run by then.
 *
 * Returns: (transfer full): a handle
 *
 * Since: 1.0
 */
ThreadAtExit *
thread_at_exit_add (GDestroyNotify    func,
                    gpointer          data,
                    ThreadAtExitFlags flags)
{
  ThreadAtExit *handle;

  g_return_val_if_fail (func != NULL, NULL);

  handle = g_new (ThreadAtExit, 1);
  threadref_node_attach (&handle->node, kind_for_flags (flags) | THREADREF_NODE_KIND_HOLDER,
                         func, data, !(flags & THREAD_AT_EXIT_THREAD_ONLY));

  return handle;
}

/**
 * thread_at_exit_cancel: (skip)
 * @handle: (transfer full): a handle from `thread_at_exit_add()`
 *
 * Cancels a registration and gives its handle back. Works from any thread.
 *
 * If this returns %TRUE, the function has not run and never will. If it
 * returns %FALSE, the function has run or is running now (possibly on
 * another thread: the ending thread, or the exiting thread at process exit).
 *
 * Returns: %TRUE if the registration was cancelled before it ran
 *
 * Since: 1.0
 */
gboolean
thread_at_exit_cancel (ThreadAtExit *handle)
{
  ThreadRefNode *node;
  gboolean cancelled;

  g_return_val_if_fail (handle != NULL, FALSE);

  node = &handle->node;
  cancelled = threadref_node_cancel_and_release (node);

  /* Not cancelled: the firer may still be using the node. Whichever of us
   * comes second frees it (see threadref_node_run()). */
  if (cancelled ||
      (g_atomic_int_or (&node->state, THREADREF_NODE_HANDLE_GONE) & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_DONE)
    g_free (handle);

  return cancelled;
}
