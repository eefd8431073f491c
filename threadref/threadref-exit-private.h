/* threadref-exit-private.h: process exit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "threadref-sentinel-private.h"

G_BEGIN_DECLS

/* What the pass needs of the exiting thread; threadref-thread.c sits above
 * this file and passes it down. */
typedef struct {
  /* Whether the calling thread has anything to run: a lifetime to end, or
   * nodes left in an end in progress up its stack. */
  gboolean (*has_work)      (void);
  /* Ends every lifetime of the calling thread, including ends in progress
   * up its stack. */
  void     (*end_lifetimes) (void);
} ThreadRefExitThreadHooks;

/* Installs the atexit() handler, once per process. */
void     threadref_exit_init             (const ThreadRefExitThreadHooks *hooks);

/* Runs the process-exit pass on the calling thread now (also what the
 * handler does). */
void     threadref_exit_run_pass         (void);

/* Whether the calling thread is running the pass: what it attaches to other
 * threads' lifetimes then is part of the pass (THREADREF_NODE_EXIT_PASS)
 * if threadref_exit_note_pass_attach() says so (FALSE past a bound). */
gboolean threadref_exit_in_pass          (void);
gboolean threadref_exit_note_pass_attach (void);

/* lifetime's own thread is ending it: takes back what the pass claimed of
 * it and has not run yet (threadref_sentinel_finish_end() says when). */
void     threadref_exit_take_back        (ThreadRefSentinel *lifetime);

/* In a child of fork(): what the pass had claimed belongs to threads that
 * are not there; it never runs. Every lock is held (threadref-fork.c). */
void     threadref_exit_fork_child       (void);

/* Called when the calling thread starts a new lifetime. Returns TRUE if the
 * lifetime must end right after its first registration, because exit() has
 * run threadref's handler on this thread and glibc takes no more. */
gboolean threadref_exit_note_new_lifetime (void);

G_END_DECLS
