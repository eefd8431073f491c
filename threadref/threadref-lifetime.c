/* threadref-lifetime.c: ending the current thread's lifetime on purpose,
 * and nested lifetimes
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-lifetime.h"
#include "threadref-ref-private.h"
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

/**
 * threadref_nested_lifetime_begin:
 *
 * Opens a nested lifetime on the calling thread, for a job that runs on a
 * thread it does not own: a worker of GLib's shared `GThreadPool`, a
 * `GTask` thread, a thread of a language runtime.
 *
 * Until [func@ThreadRef.nested_lifetime_end] closes it, everything the
 * thread registers — refs, finalizers, the plain path, lifetime-local
 * values (`ThreadRefLocal`) — belongs to the nested lifetime and
 * ends with it, newest first, on this thread; what was registered before
 * it opened is untouched and lives on with the worker. Nested lifetimes
 * nest. Ending the thread, or its whole lifetime with
 * [func@ThreadRef.end_lifetime], ends the open nested ones first,
 * innermost first.
 *
 * The returned ref refers to the nested lifetime: alive exactly while it
 * is open, equal to every ref made inside it, and good for
 * [method@ThreadRef.Ref.wait] and [method@ThreadRef.Ref.watch] from other
 * threads like any ref. Give it to [func@ThreadRef.nested_lifetime_end].
 *
 * ```c
 * static void
 * run_job (gpointer job, gpointer pool_data)
 * {
 *   ThreadRefRef *lifetime = threadref_nested_lifetime_begin ();
 *
 *   job_run (job);            // what it registers ends below
 *   threadref_nested_lifetime_end (lifetime);
 *   g_object_unref (lifetime);
 * }
 *
 * // GLib's shared pool: its threads also run other libraries' jobs
 * pool = g_thread_pool_new (run_job, NULL, 4, FALSE, NULL);
 * ```
 *
 * From Python it is a context manager (`with ThreadRef.nested_lifetime():`).
 *
 * Returns: (transfer full): a ref to the new nested lifetime
 *
 * Since: 1.0
 */
ThreadRefRef *
threadref_nested_lifetime_begin (void)
{
  threadref_thread_begin_nested ();

  /* Made inside it: a ref to it. */
  return threadref_ref_new (NULL, NULL, NULL);
}

/**
 * threadref_nested_lifetime_end:
 * @lifetime: the ref that [func@ThreadRef.nested_lifetime_begin] returned
 *
 * Closes a nested lifetime: everything registered while it was open runs
 * now, on the calling thread, newest first, as at a thread's end; refs to
 * it die and waits for it return. The thread's registrations go to the
 * lifetime it was nested in again.
 *
 * Call it on the thread that opened it, for the innermost open nested
 * lifetime: ending one that has another open inside it, or ending inside
 * it (from a callback of that one's end), or one of another thread, gives
 * a critical warning and does nothing. A nested lifetime that has already
 * ended (the job called [func@ThreadRef.end_lifetime], which ends the open
 * nested ones too) is left alone, without a warning. Called from one of its
 * own callbacks while it ends, it returns at once.
 *
 * If a callback leaves its end half-way (a C++ exception that the job
 * catches, see [func@ThreadRef.end_lifetime]), calling this again, or the
 * next [func@ThreadRef.nested_lifetime_begin] or nested end on the thread,
 * runs the rest of it, before anything of the lifetime it is nested in; the
 * thread's end at the latest. Until then, its lifetime-local values stay
 * visible, unless the lifetime it is nested in sets its own. A callback of its end that calls [func@ThreadRef.end_lifetime]
 * ends the whole lifetime once this end is over, before this returns.
 *
 * Since: 1.0
 */
void
threadref_nested_lifetime_end (ThreadRefRef *lifetime)
{
  ThreadRefSentinel *nested;

  g_return_if_fail (THREADREF_IS_REF (lifetime));

  nested = threadref_ref_get_lifetime (lifetime);
  if (nested == NULL)
    return;

  switch (threadref_thread_end_nested (nested))
    {
    case THREADREF_NESTED_ENDED:
    case THREADREF_NESTED_GONE:
      break;
    case THREADREF_NESTED_NOT_INNERMOST:
      g_critical ("threadref_nested_lifetime_end: another nested lifetime is open "
                  "inside this one, or ending (this is a callback of its end); "
                  "end the innermost first. Nothing was ended");
      break;
    case THREADREF_NESTED_NOT_NESTED:
      g_critical ("threadref_nested_lifetime_end: the ref is to a lifetime of the "
                  "calling thread that is not nested; give it the ref that "
                  "threadref_nested_lifetime_begin() returned. Nothing was ended");
      break;
    case THREADREF_NESTED_OTHER_THREAD:
      g_critical ("threadref_nested_lifetime_end: this is not a nested lifetime of "
                  "the calling thread; end it on the thread that began it. "
                  "Nothing was ended");
      break;
    }
}
