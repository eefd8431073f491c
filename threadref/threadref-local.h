/* threadref-local.h: lifetime-local storage, a GPrivate whose destroy
 * notify always runs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <glib.h>

#include "threadref-version-macros.h"

G_BEGIN_DECLS

/**
 * ThreadRefLocal: (skip)
 *
 * A slot for a value of the current thread lifetime: a `GPrivate` whose
 * destroy notify always runs, on time.
 *
 * Like a `GPrivate`, it is a static variable initialised with
 * `THREADREF_LOCAL_INIT()`, with no setup call, and each thread sees
 * its own value. Unlike a `GPrivate`, the value belongs to the lifetime
 * that was current when it was set ([func@ThreadRef.end_lifetime],
 * [func@ThreadRef.nested_lifetime_begin]): its destroy notify runs when
 * that lifetime ends — the thread's end, the end of `main()` or `exit()` for
 * the thread that exits, [func@ThreadRef.end_lifetime], the end of a
 * nested lifetime — on that thread, in reverse order of creation together
 * with the thread's refs, finalizers and plain registrations; and
 * `threadref_local_get()` returns %NULL in the next lifetime (but for an
 * end that a callback left half-way: see "Ends left half-way" in
 * [Threads and callbacks](threads-and-callbacks.html)). It never runs
 * on another thread, so the value is the thread's own, and nothing is lost
 * in glibc's destructor rounds.
 *
 * A value set inside a nested lifetime belongs to it: it hides the value of
 * the lifetime it is nested in until it ends, and that value is visible
 * again then.
 *
 * The slot must be static, as a `GPrivate` must: each one takes an index
 * for the life of the process, in the order slots are first used, never
 * given back. A thread that sets a value keeps a table of its visible
 * values by index, 8 bytes per index up to the highest it has set: a
 * program with a few hundred slots pays a few KB per thread. Setting a
 * value keeps loaded the module that holds the slot and the one that holds
 * its destroy notify, until the value's lifetime has ended (see
 * [func@ThreadRef.at_thread_exit] on unloading).
 *
 * ```c
 * static void
 * worker_log_free (gpointer log)
 * {
 *   write_out (((GString *) log)->str);   // on this thread, as its lifetime ends
 *   g_string_free (log, TRUE);
 * }
 *
 * static ThreadRefLocal worker_log = THREADREF_LOCAL_INIT (worker_log_free);
 *
 * static GString *
 * get_worker_log (void)
 * {
 *   GString *log = threadref_local_get (&worker_log);
 *
 *   if (log == NULL)
 *     {
 *       log = g_string_new (NULL);
 *       threadref_local_set (&worker_log, log);   // freed when the lifetime ends
 *     }
 *   return log;
 * }
 *
 * // on any thread, as often as it likes:
 * g_string_append (get_worker_log (), "job done\n");
 * ```
 *
 * Since: 1.0
 */
typedef struct _ThreadRefLocal ThreadRefLocal;

struct _ThreadRefLocal
{
  /*< private >*/
  GDestroyNotify notify;
  guint          index;
  gpointer       future[2];
};

/**
 * THREADREF_LOCAL_INIT: (skip)
 * @notify: (nullable): frees a value when its lifetime ends, or when
 *   `threadref_local_replace()` replaces it
 *
 * Initialises a static `ThreadRefLocal`, as `G_PRIVATE_INIT`
 * initialises a `GPrivate`.
 *
 * ```c
 * static ThreadRefLocal connection = THREADREF_LOCAL_INIT ((GDestroyNotify) connection_close);
 * ```
 *
 * Since: 1.0
 */
#define THREADREF_LOCAL_INIT(notify) { (notify), 0, { NULL, NULL } }

THREADREF_AVAILABLE_IN_1_0
gpointer threadref_local_get     (ThreadRefLocal *local);
THREADREF_AVAILABLE_IN_1_0
void     threadref_local_set     (ThreadRefLocal *local,
                                  gpointer        value);
THREADREF_AVAILABLE_IN_1_0
void     threadref_local_replace (ThreadRefLocal *local,
                                  gpointer        value);

G_END_DECLS
