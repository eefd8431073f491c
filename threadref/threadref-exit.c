/* threadref-exit.c: what runs at process exit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * glibc runs no pthread-key destructor at exit(), neither for the thread that
 * calls it nor for any other. An atexit handler does the work instead, on the
 * exiting thread:
 *
 *  1. the exiting thread's own lifetime ends, as if the thread ended: all of
 *     its refs and finalizers run, newest first;
 *  2. then every live finalizer (and plain registration) marked AT_EXIT of
 *     every thread that still runs, newest first across all threads.
 *
 * Anything those create on the exiting thread runs before the next one, and
 * a registration made on the exiting thread after the handler returned (from
 * a later atexit handler, a C++ static destructor, ...) installs the handler
 * again, which glibc runs before it finishes exit().
 */

#include "config.h"

#include <stdlib.h>

#include "threadref-exit-private.h"
#include "threadref-sentinel-private.h"

typedef enum {
  EXIT_PASS_NONE,
  EXIT_PASS_RUNNING,
  EXIT_PASS_DONE,
} ExitPass;

/* Per thread: exit() may be called from any thread. */
static __thread ExitPass exit_pass;

void
threadref_exit_run_pass (void)
{
  for (;;)
    {
      GPtrArray *nodes;

      threadref_sentinel_end_current ();

      nodes = threadref_sentinel_claim_at_exit ();
      if (nodes->len == 0)
        {
          g_ptr_array_unref (nodes);
          break;
        }

      for (guint i = 0; i < nodes->len; i++)
        {
          threadref_node_run (g_ptr_array_index (nodes, i));
          /* What that finalizer registered on this thread is newest. */
          threadref_sentinel_end_current ();
        }
      g_ptr_array_unref (nodes);
    }
}

static void
threadref_exit_handler (void)
{
  exit_pass = EXIT_PASS_RUNNING;
  threadref_exit_run_pass ();
  exit_pass = EXIT_PASS_DONE;
}

void
threadref_exit_init (void)
{
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      if (atexit (threadref_exit_handler) != 0)
        g_warning ("threadref: could not install its atexit handler; "
                   "nothing will run at process exit");
      g_once_init_leave (&initialized, 1);
    }
}

gboolean
threadref_exit_note_new_lifetime (void)
{
  if (exit_pass != EXIT_PASS_DONE)
    return FALSE;

  /* glibc runs handlers installed while exit() runs its handlers. Once it
   * has finished with them it refuses new ones: then nothing can run this
   * lifetime later, and the caller ends it at once. */
  if (atexit (threadref_exit_handler) != 0)
    return TRUE;

  exit_pass = EXIT_PASS_NONE;
  return FALSE;
}
