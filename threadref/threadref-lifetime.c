/* threadref-lifetime.c: ending the current thread's lifetime on purpose
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-lifetime.h"
#include "threadref-thread-private.h"

/**
 * threadref_end_lifetime:
 *
 * Ends the calling thread's lifetime as far as threadref is concerned,
 * without ending the thread.
 *
 * Every live ref and finalizer of the calling thread runs now, on the
 * calling thread, newest first, exactly as if the thread had ended; refs
 * and finalizers that their callbacks create run too. Afterwards those refs
 * are dead and their waiters are woken. Refs and finalizers created later on
 * the same thread belong to a fresh lifetime: they are not equal to the old
 * ones and run when the thread ends, or at the next call.
 *
 * Thread pools and job runners call this between jobs, so that each job's
 * per-thread state is released when the job is done even though the worker
 * thread lives on:
 *
 * ```c
 * static void
 * run_job (gpointer job, gpointer pool_data)
 * {
 *   job_run (job);           // may register ThreadRefFinalize cleanups
 *   threadref_end_lifetime ();  // they run now, on this worker
 * }
 * ```
 *
 * Called from a callback of a lifetime that is ending, it returns at once:
 * the rest of that lifetime runs as soon as the callback returns, as it
 * would anyway. A lifetime whose end a callback left half-way (it threw
 * an exception that the caller caught) is finished by the next call, or by
 * the thread's end.
 *
 * Since: 1.0
 */
void
threadref_end_lifetime (void)
{
  threadref_thread_end_lifetimes ();
}

/**
 * threadref_run_atexit:
 *
 * Does now, on the calling thread, what threadref does at normal process
 * exit: ends the calling thread's lifetime (see [func@ThreadRef.end_lifetime])
 * and then runs every live finalizer whose
 * [property@ThreadRef.Finalize:atexit] is %TRUE, of every other thread,
 * newest first across threads.
 *
 * Programs never need this: threadref does it from an `atexit()` handler.
 * It is for language runtimes that shut themselves down before C `atexit()`
 * handlers run — CPython finalizes itself first, and its callbacks cannot
 * run after that — so that they can run their finalizers while they still
 * can. The `atexit()` handler later runs only what was registered since.
 *
 * ```c
 * #include <threadref.h>
 *
 * static void
 * say_goodbye (gpointer data)
 * {
 *   g_print ("goodbye from the main thread\n");
 * }
 *
 * int
 * main (void)
 * {
 *   g_object_unref (threadref_finalize_new (say_goodbye, NULL, NULL));
 *
 *   // an embedded runtime is about to shut down: run threadref's exit work
 *   // now, while the runtime can still run callbacks, not later from exit()
 *   threadref_run_atexit ();
 *   return 0;
 * }
 * ```
 *
 * Since: 1.0
 */
void
threadref_run_atexit (void)
{
  threadref_thread_run_exit_pass ();
}
