/* threadref-sentinel-private.h: the per-thread anchor and the registrations
 * hung on it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every thread that registers anything gets one ThreadRefSentinel, kept in a
 * static GPrivate whose destroy notify ends it when the thread ends. One
 * sentinel is one "lifetime" of its thread: refs compare equal when they
 * share it. Each registration (a ThreadRef, a ThreadFinalize or a plain
 * ThreadAtExit) is a ThreadRefNode linked, newest first, into its sentinel's
 * list under the sentinel's lock. Ending the sentinel pops nodes newest
 * first and runs them on the ending thread until the list stays empty.
 *
 * docs/design.md explains why this replaces GWeakRef and g_object_weak_ref.
 */

#pragma once

#include <glib-object.h>

#include "threadref-lock-private.h"

G_BEGIN_DECLS

#define THREADREF_TYPE_SENTINEL (threadref_sentinel_get_type ())

G_DECLARE_FINAL_TYPE (ThreadRefSentinel, threadref_sentinel, THREADREF, SENTINEL, GObject)

/* A sentinel's state; it only moves forward. */
typedef enum {
  THREADREF_SENTINEL_ALIVE,     /* its thread runs this lifetime */
  THREADREF_SENTINEL_ENDING,    /* its nodes are being run; refs are dead */
  THREADREF_SENTINEL_ENDED,     /* every node has returned */
} ThreadRefSentinelState;

/* The low two bits of ThreadRefNode.state. */
typedef enum {
  THREADREF_NODE_LIVE    = 0,   /* linked, waiting for its thread to end */
  THREADREF_NODE_CLAIMED = 1,   /* unlinked by a firer that must still pin its object */
  THREADREF_NODE_FIRING  = 2,   /* unlinked; its function runs or is about to */
  THREADREF_NODE_DONE    = 3,   /* ran, was cancelled or detached */
} ThreadRefNodeState;

#define THREADREF_NODE_STATE_MASK  0x3
/* Runs at process exit while its thread still runs. Changed under the lock. */
#define THREADREF_NODE_AT_EXIT     (1 << 2)
/* A plain handle was given back; whoever sees both this and DONE frees it. */
#define THREADREF_NODE_HANDLE_GONE (1 << 3)

/* What a node is; fixed when it is attached. */
typedef enum {
  THREADREF_NODE_KIND_PLAIN     = 1 << 0, /* malloc'd by the ThreadAtExit API */
  THREADREF_NODE_KIND_NO_HANDLE = 1 << 1, /* plain, nobody can cancel it: freed once run */
  THREADREF_NODE_KIND_PIN       = 1 << 2, /* data is a GObject without a strong ref of ours */
  THREADREF_NODE_KIND_HOLDER    = 1 << 3, /* keeps its sentinel allocated until released */
  THREADREF_NODE_KIND_STAMPED   = 1 << 4, /* may run at process exit: needs a creation stamp */
} ThreadRefNodeKind;

typedef struct _ThreadRefNode ThreadRefNode;

/* 56 bytes: a plain registration is one 64-byte malloc chunk. */
struct _ThreadRefNode
{
  ThreadRefNode     *newer;     /* list links, under the sentinel's lock */
  ThreadRefNode     *older;
  ThreadRefSentinel *sentinel;  /* fixed once attached */
  GDestroyNotify     func;      /* runs with data when the node fires */
  gpointer           data;
  guint64            stamp;     /* creation stamp, for ordering at process exit */
  guint              state;     /* atomic: ThreadRefNodeState | flags above */
  guint              kind;      /* ThreadRefNodeKind */
};

/* The registration side, for the public types. */
void               threadref_node_attach          (ThreadRefNode     *node,
                                                   ThreadRefNodeKind  kind,
                                                   GDestroyNotify     func,
                                                   gpointer           data,
                                                   gboolean           at_exit);
/* Attaches to another thread's lifetime; FALSE if it has ENDED. */
gboolean           threadref_node_attach_to       (ThreadRefNode     *node,
                                                   ThreadRefSentinel *sentinel,
                                                   ThreadRefNodeKind  kind,
                                                   GDestroyNotify     func,
                                                   gpointer           data,
                                                   gboolean           at_exit);
gboolean           threadref_node_cancel          (ThreadRefNode     *node);
gboolean           threadref_node_claim           (ThreadRefNode     *node);
void               threadref_node_run             (ThreadRefNode     *node);
void               threadref_node_set_at_exit     (ThreadRefNode     *node,
                                                   gboolean           at_exit);
void               threadref_node_release_holder  (ThreadRefNode     *node);
gboolean           threadref_node_cancel_and_release (ThreadRefNode  *node);

static inline ThreadRefNodeState
threadref_node_get_state (ThreadRefNode *node)
{
  return (ThreadRefNodeState) (g_atomic_int_get (&node->state) & THREADREF_NODE_STATE_MASK);
}

/* Marks a node that has fired DONE; returns the flags it had before. */
static inline guint
threadref_node_mark_done (ThreadRefNode *node)
{
  return g_atomic_int_or (&node->state, THREADREF_NODE_DONE);
}

/* Keeps the modules that contain these functions loaded for good (see
 * threadref-pin-private.h). Plain nodes' functions are pinned on attach. */
void               threadref_pin_callbacks        (gpointer           callback,
                                                   gpointer           destroy_notify);

gboolean           threadref_sentinel_is_alive    (ThreadRefSentinel *self);
/* Whether self is the calling thread's current or ending lifetime. */
gboolean           threadref_sentinel_is_current  (ThreadRefSentinel *self);
/* Blocks until self has ENDED; timeout_usec < 0 waits forever. */
gboolean           threadref_sentinel_wait        (ThreadRefSentinel *self,
                                                   gint64             timeout_usec);
/* Something to tell when a lifetime has ENDED, without blocking. */
typedef struct _ThreadRefWaiter ThreadRefWaiter;
struct _ThreadRefWaiter
{
  GList    link;                             /* in the sentinel's queue */
  gboolean queued;                           /* under the sentinel's lock */
  void (*ended) (ThreadRefWaiter *waiter);   /* called once, outside locks */
};

/* Queues waiter; FALSE (and not queued) if self has already ENDED. */
gboolean           threadref_sentinel_add_waiter    (ThreadRefSentinel *self,
                                                     ThreadRefWaiter   *waiter);
/* Takes waiter back if it is still queued: TRUE if it was, and then its
 * ended() will not be called. */
gboolean           threadref_sentinel_remove_waiter (ThreadRefSentinel *self,
                                                     ThreadRefWaiter   *waiter);
GThread           *threadref_sentinel_dup_thread  (ThreadRefSentinel *self);
guint              threadref_sentinel_hash        (ThreadRefSentinel *self);

/* Ends the calling thread's current lifetime now: every node of it runs,
 * newest first, on the calling thread. */
void               threadref_sentinel_end_current (void);

/* For process exit: unlinks every live node marked AT_EXIT from every
 * sentinel whose thread still runs, newest first across threads. The nodes
 * are FIRING; run each with threadref_node_run(). */
GPtrArray         *threadref_sentinel_claim_at_exit (void);

/* The lifetime a ThreadRef refers to (threadref-ref.c). */
typedef struct _ThreadRef ThreadRef;
ThreadRefSentinel *threadref_ref_get_sentinel     (ThreadRef         *ref);

/* For tests: how many sentinels are allocated right now. */
guint              threadref_sentinel_count_allocated (void);

G_END_DECLS
