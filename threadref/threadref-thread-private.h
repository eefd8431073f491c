/* threadref-thread-private.h: the calling thread's lifetimes, and how its
 * end ends them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The faces attach through here: this tier picks (or starts) the lifetime a
 * registration belongs to, knows which ends are in progress on the thread,
 * and hooks the thread's end (a C++-style thread-local destructor and a
 * pthread key) and process exit (threadref-exit.c) to end its lifetimes.
 */

#pragma once

#include "threadref-sentinel-private.h"

G_BEGIN_DECLS

/* Attaches node to the calling thread's lifetime: the one being ended on
 * this thread if a callback of it is running, else the current one,
 * started if there is none. Returns FALSE, with the node DONE and
 * unattached, only if that lifetime refuses more registrations. */
gboolean threadref_thread_attach      (ThreadRefNode     *node,
                                       ThreadRefNodeKind  kind,
                                       GDestroyNotify     func,
                                       gpointer           data,
                                       guint              flags);
/* The same for a plain node (THREADREF_NODE_PLAIN in kind), which it
 * always takes. */
void     threadref_thread_attach_plain (ThreadRefNode     *node,
                                        ThreadRefNodeKind  kind,
                                        GDestroyNotify     func,
                                        gpointer           data,
                                        guint              flags);
/* Attaches node to a lifetime of any thread (a watch); FALSE if it has
 * ENDED. */
gboolean threadref_thread_attach_to   (ThreadRefSentinel *lifetime,
                                       ThreadRefNode     *node,
                                       ThreadRefNodeKind  kind,
                                       GDestroyNotify     func,
                                       gpointer           data,
                                       guint              flags);

/* The same, but joining the newest node of that lifetime instead when
 * join (newest, key) says so (threadref_sentinel_attach_or_join()):
 * returns the node now newest for this registration, or NULL. */
ThreadRefNode *threadref_thread_attach_or_join    (ThreadRefNode     *node,
                                                   ThreadRefNodeKind  kind,
                                                   GDestroyNotify     func,
                                                   gpointer           data,
                                                   guint              flags,
                                                   ThreadRefNodeJoin  join,
                                                   gpointer           key);
ThreadRefNode *threadref_thread_attach_to_or_join (ThreadRefSentinel *lifetime,
                                                   ThreadRefNode     *node,
                                                   ThreadRefNodeKind  kind,
                                                   GDestroyNotify     func,
                                                   gpointer           data,
                                                   guint              flags,
                                                   ThreadRefNodeJoin  join,
                                                   gpointer           key);

/* The lifetime the calling thread's next registration would go to, or NULL
 * if it would start one. */
ThreadRefSentinel *threadref_thread_peek_lifetime (void);

/* Opens a nested lifetime on the calling thread: it is current (what the
 * thread registers goes to it) until threadref_thread_end_nested(), or
 * until the thread's whole lifetime ends, which ends the open nested ones
 * first, innermost first. Returns it (the thread keeps it alive while it
 * is open). */
ThreadRefSentinel *threadref_thread_begin_nested (void);

typedef enum {
  THREADREF_NESTED_ENDED,          /* it was the innermost: it has ended now */
  THREADREF_NESTED_GONE,           /* this thread's, ended already */
  THREADREF_NESTED_NOT_INNERMOST,  /* open, but another is nested in it */
  THREADREF_NESTED_OTHER_THREAD,   /* not a lifetime of this thread */
  THREADREF_NESTED_NOT_NESTED,     /* this thread's, running, but not nested */
} ThreadRefNestedEnd;

/* Ends nested if it is the calling thread's innermost open nested
 * lifetime; says why not otherwise. */
ThreadRefNestedEnd threadref_thread_end_nested   (ThreadRefSentinel *nested);

/* Makes sure the module that contains code stays loaded (threadref-unload.c)
 * through the calling thread's cache. */
void     threadref_thread_pin_code    (gconstpointer      code);

/* Ends the calling thread's lifetimes now, as its end would: the current
 * one, then any whose end a callback left by unwinding. Lifetimes being
 * ended up the stack (this is called from a callback) are left to finish
 * there. */
void     threadref_thread_end_lifetimes (void);

/* Runs the process-exit pass on the calling thread (threadref-exit.c). */
void     threadref_thread_run_exit_pass (void);

G_END_DECLS
