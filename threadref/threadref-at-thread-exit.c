/* threadref-at-thread-exit.c: the plain C path
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-at-thread-exit.h"
#include "threadref-thread-private.h"

/* A handle is the node itself: one allocation per registration. */
struct _ThreadRefAtThreadExit
{
  ThreadRefNode node;
};

#define KNOWN_FLAGS (THREADREF_AT_THREAD_EXIT_THREAD_ONLY)

/* Flags from a newer threadref (or garbage) would change what happens at
 * process exit without the caller knowing: refuse them, and say which. */
static gboolean
flags_are_known (const char                 *function,
                 ThreadRefAtThreadExitFlags  flags)
{
  if (G_LIKELY ((flags & ~KNOWN_FLAGS) == 0))
    return TRUE;

  g_critical ("%s: unknown flags 0x%x; this threadref knows only "
              "THREADREF_AT_THREAD_EXIT_DEFAULT and "
              "THREADREF_AT_THREAD_EXIT_THREAD_ONLY; nothing was registered",
              function, (guint) (flags & ~KNOWN_FLAGS));
  return FALSE;
}

static inline void
attach_plain (ThreadRefNode              *node,
              ThreadRefNodeKind           kind,
              GDestroyNotify              func,
              gpointer                    data,
              ThreadRefAtThreadExitFlags  flags)
{
  if (flags & THREADREF_AT_THREAD_EXIT_THREAD_ONLY)
    threadref_thread_attach_plain (node, kind | THREADREF_NODE_PLAIN, func, data, 0);
  else
    threadref_thread_attach_plain (node, kind | THREADREF_NODE_PLAIN | THREADREF_NODE_STAMPED,
                                   func, data, THREADREF_NODE_PROCESS_EXIT);
}

/**
 * threadref_at_thread_exit: (skip)
 * @func: the function to run
 * @data: its argument
 * @flags: how it behaves at process exit
 *
 * Runs `func (data)` once, on the calling thread, when the calling thread
 * ends: `atexit()` for one thread. It follows the same rules as a
 * [class@ThreadRef.Finalize] (newest first with every other registration of
 * the thread, nested registrations, process exit), without a GObject.
 *
 * It cannot be cancelled; `threadref_at_thread_exit_add()` can.
 *
 * ```c
 * static void
 * free_scratch (gpointer scratch)
 * {
 *   g_free (scratch);   // on this thread, as its lifetime ends
 * }
 *
 * // a buffer of this thread's own: freed when the thread ends, never by
 * // another thread at process exit while this one may still use it
 * char *scratch = g_malloc (4096);
 * threadref_at_thread_exit (free_scratch, scratch, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
 * ```
 *
 * A %NULL @func, or @flags with bits other than those of
 * #ThreadRefAtThreadExitFlags, give a critical warning and register
 * nothing.
 *
 * Since: 1.0
 */
void
threadref_at_thread_exit (GDestroyNotify             func,
                          gpointer                   data,
                          ThreadRefAtThreadExitFlags flags)
{
  g_return_if_fail (func != NULL);
  if (!flags_are_known ("threadref_at_thread_exit", flags))
    return;

  attach_plain (threadref_node_new_plain (), THREADREF_NODE_NO_HANDLE, func, data, flags);
}

/**
 * threadref_at_thread_exit_add: (skip)
 * @func: the function to run
 * @data: its argument
 * @flags: how it behaves at process exit
 *
 * Like `threadref_at_thread_exit()`, but returns a handle with which the
 * registration can be cancelled from any thread.
 *
 * Every handle must be given back exactly once, with
 * `threadref_at_thread_exit_cancel()`, whether or not @func has run by then.
 *
 * A %NULL @func, or unknown @flags, give a critical warning and %NULL.
 *
 * ```c
 * static void
 * free_buffer (gpointer buffer)
 * {
 *   g_free (buffer);
 * }
 *
 * // a buffer freed when its user is done, or when the thread ends, whichever
 * // comes first
 * char *buffer = g_malloc (4096);
 * ThreadRefAtThreadExit *on_thread_end =
 *   threadref_at_thread_exit_add (free_buffer, buffer, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
 *
 * // done with it:
 * if (threadref_at_thread_exit_cancel (on_thread_end))
 *   g_free (buffer);   // cancelled: free_buffer will never run, so free it here
 * ```
 *
 * Returns: (transfer full): a handle
 *
 * Since: 1.0
 */
ThreadRefAtThreadExit *
threadref_at_thread_exit_add (GDestroyNotify             func,
                              gpointer                   data,
                              ThreadRefAtThreadExitFlags flags)
{
  ThreadRefAtThreadExit *handle;

  g_return_val_if_fail (func != NULL, NULL);
  if (!flags_are_known ("threadref_at_thread_exit_add", flags))
    return NULL;

  handle = (ThreadRefAtThreadExit *) threadref_node_new_plain ();
  attach_plain (&handle->node, THREADREF_NODE_HOLDER, func, data, flags);

  return handle;
}

/**
 * threadref_at_thread_exit_cancel: (skip)
 * @handle: (transfer full): a handle from `threadref_at_thread_exit_add()`
 *
 * Cancels a registration and gives its handle back. Works from any thread.
 *
 * If this returns %TRUE, the function has not run and never will. If it
 * returns %FALSE, the function has run or is running now (possibly on
 * another thread: the ending thread, or the exiting thread at process exit).
 *
 * Cancelling from another thread than the registering one is how an object
 * shared between threads drops its per-thread cleanup:
 *
 * ```c
 * static void
 * close_on_thread_end (gpointer conn)
 * {
 *   connection_close (conn);
 * }
 *
 * // on the thread that opens it:
 * Connection *conn = connection_open ();
 * ThreadRefAtThreadExit *handle =
 *   threadref_at_thread_exit_add (close_on_thread_end, conn, THREADREF_AT_THREAD_EXIT_DEFAULT);
 *
 * // on any thread, later: whoever wins closes it, exactly once
 * if (threadref_at_thread_exit_cancel (handle))
 *   connection_close (conn);
 * ```
 *
 * Returns: %TRUE if the registration was cancelled before it ran
 *
 * Since: 1.0
 */
gboolean
threadref_at_thread_exit_cancel (ThreadRefAtThreadExit *handle)
{
  g_return_val_if_fail (handle != NULL, FALSE);

  return threadref_node_give_back (&handle->node);
}
