/* threadref-sentinel-private.h: one lifetime of a thread, and every change
 * of state of the registrations hung on it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A lifetime is what a ref refers to and what a finalizer waits for: it
 * starts with a thread's first registration and ends when the thread ends
 * (or earlier, on purpose). Its object is a ThreadRefSentinel, the name the
 * original design gave it. Each registration (a ThreadRefRef, a ThreadRefFinalize
 * or a plain one) is a ThreadRefNode linked, newest first, into its
 * lifetime's list under the lifetime's lock.
 *
 * This file's .c is the only place where a node changes state: attach,
 * claim, cancel, run, and the end loop that runs a lifetime's nodes. Which
 * lifetime is whose, and when a thread's lifetimes end, is decided above
 * (threadref-thread.c); docs/design.md draws the tiers.
 */

#pragma once

#include <pthread.h>

#include <glib-object.h>

G_BEGIN_DECLS

#define THREADREF_TYPE_SENTINEL (threadref_sentinel_get_type ())

G_DECLARE_FINAL_TYPE (ThreadRefSentinel, threadref_sentinel, THREADREF, SENTINEL, GObject)

/* The low two bits of ThreadRefNode.state; a node only moves forward. */
typedef enum {
  THREADREF_NODE_LIVE    = 0,   /* linked, waiting for its lifetime to end */
  THREADREF_NODE_CLAIMED = 1,   /* unlinked by a runner that must still reference its object */
  THREADREF_NODE_FIRING  = 2,   /* unlinked; its function runs, ran, or is about to */
  THREADREF_NODE_DONE    = 3,   /* cancelled, or a plain node whose function returned */
} ThreadRefNodeState;

#define THREADREF_NODE_STATE_MASK    0x3
/* Runs at process exit even while its thread still runs (a finalizer's
 * atexit property). Changed under the lifetime's lock. */
#define THREADREF_NODE_PROCESS_EXIT  (1 << 2)
/* Attached by the thread that runs the process-exit pass, during it: the
 * pass runs it even though it is newer than the pass (threadref-exit.c). */
#define THREADREF_NODE_EXIT_PASS     (1 << 3)
/* A plain handle was given back; whoever sees both this and DONE frees the
 * node. */
#define THREADREF_NODE_HANDLE_GONE   (1 << 4)
/* A node of an owner's list (THREADREF_NODE_OWN) that the exit pass took:
 * the pass keeps a pointer to it, so nobody frees it (the process is
 * exiting). */
#define THREADREF_NODE_PASS_HELD     (1 << 5)
/* A node of an owner's list that its owner has unlinked and will not look
 * at again, nor can any walker: with HANDLE_GONE and DONE, it may be freed
 * by whoever sees all three. */
#define THREADREF_NODE_UNLINKED      (1 << 6)
/* A weak object node whose object's last unref found it CLAIMED and waited
 * for its runner's reference: the object came back to life in dispose(). */
#define THREADREF_NODE_RESURRECTED   (1 << 7)

/* What a node is; fixed when it is attached. */
typedef enum {
  THREADREF_NODE_PLAIN       = 1 << 0, /* allocated here for the plain path; freed here */
  THREADREF_NODE_NO_HANDLE   = 1 << 1, /* plain, and nobody can cancel it */
  THREADREF_NODE_WEAK_OBJECT = 1 << 2, /* data is a GObject the node does not keep alive */
  THREADREF_NODE_HOLDER      = 1 << 3, /* keeps its lifetime allocated until released */
  THREADREF_NODE_STAMPED     = 1 << 4, /* may run at process exit */
  THREADREF_NODE_OWN         = 1 << 5, /* plain, in its lifetime's owner list (set by attach) */
} ThreadRefNodeKind;

typedef struct _ThreadRefNode ThreadRefNode;

/* 56 bytes: a plain registration is one 64-byte malloc chunk. */
struct _ThreadRefNode
{
  ThreadRefNode     *newer;     /* list links, under the lifetime's lock */
  ThreadRefNode     *older;
  ThreadRefSentinel *sentinel;  /* fixed once attached; NULL if never attached */
  GDestroyNotify     func;      /* runs with data when the node fires */
  gpointer           data;
  guint64            stamp;     /* creation stamp, for ordering at process exit */
  guint              state;     /* atomic: ThreadRefNodeState | flags above */
  guint              kind;      /* ThreadRefNodeKind */
};

/* How many registrations one lifetime's end takes while it runs (made by
 * its own callbacks, or watches from other threads) before it refuses more
 * and warns: callbacks that register again forever would otherwise keep the
 * thread from ever ending. */
#define THREADREF_SENTINEL_MAX_WHILE_ENDING 1000000

/* A new lifetime of the calling thread. with_thread: take a reference to
 * its GThread (not inside the thread's own teardown, where GLib's has gone;
 * see threadref-thread.c). */
ThreadRefSentinel *threadref_sentinel_new           (gboolean           with_thread);

/* Attaches a plain node to self, which must be the calling thread's own
 * ALIVE lifetime, to its owner list: no lock and no atomic
 * read-modify-write (docs/design.md, The owner's list). Never refuses. */
void               threadref_sentinel_attach_own    (ThreadRefSentinel *self,
                                                     ThreadRefNode     *node,
                                                     ThreadRefNodeKind  kind,
                                                     GDestroyNotify     func,
                                                     gpointer           data,
                                                     guint              flags);

/* Attaches node to self. flags: THREADREF_NODE_PROCESS_EXIT and
 * THREADREF_NODE_EXIT_PASS. Returns FALSE, leaving the node DONE and
 * unattached (sentinel NULL), if self has ENDED or refuses more while
 * ending. Only the calling thread's own lifetimes take plain nodes. */
gboolean           threadref_sentinel_attach        (ThreadRefSentinel *self,
                                                     ThreadRefNode     *node,
                                                     ThreadRefNodeKind  kind,
                                                     GDestroyNotify     func,
                                                     gpointer           data,
                                                     guint              flags);

/* Whether newest, the newest node of lifetime (LIVE, or NULL if it has
 * none), is one that a new registration with key may join instead of
 * attaching a node of its own. Called once, under the lifetime's lock,
 * unless the lifetime has ENDED: it may only look and copy into key. */
typedef gboolean (*ThreadRefNodeJoin) (ThreadRefSentinel *lifetime,
                                       ThreadRefNode     *newest,
                                       gpointer           key);

/* Like threadref_sentinel_attach(), but if self's newest node satisfies
 * join (self, newest, key), attaches nothing and returns that newest node; node
 * is then left DONE and unattached. Returns node if it was attached, NULL
 * if self refused it. */
ThreadRefNode     *threadref_sentinel_attach_or_join (ThreadRefSentinel *self,
                                                      ThreadRefNode     *node,
                                                      ThreadRefNodeKind  kind,
                                                      GDestroyNotify     func,
                                                      gpointer           data,
                                                      guint              flags,
                                                      ThreadRefNodeJoin  join,
                                                      gpointer           key);

/* Before a node is attached, or if it never is: DONE, in no lifetime. */
void               threadref_node_init_unattached   (ThreadRefNode     *node);

/* A node for the plain path, to be attached with THREADREF_NODE_PLAIN;
 * freed here once it has run or its handle was given back. */
ThreadRefNode     *threadref_node_new_plain         (void);

/* Takes a LIVE node out of its lifetime: TRUE if it was LIVE, and then it
 * never runs. If a runner claimed it, waits until the runner holds its own
 * reference on the object (a moment), then returns FALSE. */
gboolean           threadref_node_cancel            (ThreadRefNode     *node);
/* Whether a cancel waited for node's runner (THREADREF_NODE_RESURRECTED). */
gboolean           threadref_node_was_resurrected   (ThreadRefNode     *node);
/* Takes a LIVE node out of its lifetime for running it now, on the calling
 * thread: TRUE if it was LIVE (the caller then runs it). */
gboolean           threadref_node_claim             (ThreadRefNode     *node);
/* Runs a node that was claimed (by threadref_node_claim(), the end loop or
 * the process-exit pass). Must not be touched afterwards: an object node
 * may be gone. */
void               threadref_node_run               (ThreadRefNode     *node);
void               threadref_node_set_process_exit  (ThreadRefNode     *node,
                                                     gboolean           process_exit);
/* A holder node's object is going away: its lifetime may be released. */
void               threadref_node_release           (ThreadRefNode     *node);
/* Gives back a plain node's handle: cancels it if it is LIVE (TRUE), and
 * frees it now or, if it runs right now, when it returns. */
gboolean           threadref_node_give_back         (ThreadRefNode     *node);

static inline gboolean
threadref_node_is_live (ThreadRefNode *node)
{
  return (g_atomic_int_get (&node->state) & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_LIVE;
}

static inline gboolean
threadref_node_get_process_exit (ThreadRefNode *node)
{
  return (g_atomic_int_get (&node->state) & THREADREF_NODE_PROCESS_EXIT) != 0;
}

/* Ending a lifetime, on its own thread: begin_end() makes it ENDING
 * (refs to it are dead from then on), drain() runs its nodes newest first
 * until none is left, including what callbacks attach meanwhile, and
 * finish_end() makes it ENDED, tells its observers and lets it go. drain()
 * may never return (a callback may exit the thread or the process, or
 * throw); a later drain() resumes. */
void               threadref_sentinel_begin_end     (ThreadRefSentinel *self);
void               threadref_sentinel_drain         (ThreadRefSentinel *self);
/* Stops early, returning FALSE, as soon as stop (data) says so after a node
 * ran; TRUE once the lists are empty. */
typedef gboolean (*ThreadRefDrainStop) (gpointer data);
gboolean           threadref_sentinel_drain_until   (ThreadRefSentinel  *self,
                                                     ThreadRefDrainStop  stop,
                                                     gpointer            data);
/* FALSE, doing nothing, while the exit pass holds nodes of self that it
 * has not run: the caller takes them back (threadref_exit_take_back()),
 * runs them, and calls it again. */
gboolean           threadref_sentinel_finish_end    (ThreadRefSentinel *self);

/* The clock of creation stamps. */
guint64            threadref_sentinel_stamp_now      (void);
/* The exit pass's snapshot: a clock reading, after which every node is
 * stamped by the clock (a lifetime alone may otherwise count on from its
 * newest stamp, which lags behind the clock). */
guint64            threadref_sentinel_exit_snapshot  (void);

/* For process exit: what the pass may run is every LIVE node marked
 * PROCESS_EXIT of every lifetime not ENDED and not the calling thread's,
 * except nodes stamped after stamp_limit that were not attached by the
 * exit pass. count_for_exit() says how many there are (an upper bound for
 * the claim that follows: the set only shrinks meanwhile);
 * claim_for_exit() claims at most capacity of them into out, in no
 * particular order, and returns how many. Neither allocates. Run each with
 * threadref_sentinel_run_for_exit(). */
guint              threadref_sentinel_count_for_exit (guint64          stamp_limit);
guint              threadref_sentinel_claim_for_exit (guint64          stamp_limit,
                                                      ThreadRefNode  **out,
                                                      guint            capacity);
/* Runs a node that claim_for_exit() gave, on the exiting thread, unless its
 * own thread took it back meanwhile (it ends, and runs its own). */
void               threadref_sentinel_run_for_exit   (ThreadRefNode   *node);
/* n nodes of self that claim_for_exit() took have run, or went back to
 * self's own thread: self may be let go once it has ENDED. */
void               threadref_sentinel_pass_done      (ThreadRefSentinel *self,
                                                      guint              n);
/* In a child of fork(), with every lock held: node, claimed by the exit
 * pass, will never run. */
void               threadref_sentinel_pass_drop_locked (ThreadRefNode   *node);
/* Gives n nodes that the exit pass claimed but has not run back to self,
 * its own thread ending it: they go LIVE again, as self's oldest, and the
 * end loop runs them. nodes: linked through ->older, newest first. */
void               threadref_sentinel_give_back_held (ThreadRefSentinel *self,
                                                      ThreadRefNode     *nodes,
                                                      guint              n);
/* Warns about every lifetime whose thread is gone although the lifetime
 * never ended: glibc dropped it (docs/design.md, late destructor rounds).
 * For process exit, before the pass runs what such lifetimes left. */
void               threadref_sentinel_warn_dropped   (void);

/* Something to tell when a lifetime has ENDED, without blocking. */
typedef struct _ThreadRefEndObserver ThreadRefEndObserver;
struct _ThreadRefEndObserver
{
  GList    link;                                   /* in the lifetime's queue */
  gboolean queued;                                 /* under the lifetime's lock */
  guint64  thread;                                 /* the thread that queued it */
  void   (*ended) (ThreadRefEndObserver *observer); /* called once, on the ending
                                                    * thread, outside locks */
};

/* Queues observer; FALSE (and not queued) if self has already ENDED. */
gboolean           threadref_sentinel_observe_end   (ThreadRefSentinel    *self,
                                                     ThreadRefEndObserver *observer);
/* Takes observer back if it is still queued: TRUE if it was, and then its
 * ended() will not be called; FALSE if ended() runs or ran. */
gboolean           threadref_sentinel_unobserve_end (ThreadRefSentinel    *self,
                                                     ThreadRefEndObserver *observer);

gboolean           threadref_sentinel_is_alive      (ThreadRefSentinel *self);
/* Whether self has nodes waiting to run; how many. */
gboolean           threadref_sentinel_has_nodes     (ThreadRefSentinel *self);
guint              threadref_sentinel_count_nodes   (ThreadRefSentinel *self);
gboolean           threadref_sentinel_is_ended      (ThreadRefSentinel *self);
/* Whether self is a lifetime of the calling thread. */
gboolean           threadref_sentinel_is_own        (ThreadRefSentinel *self);
GThread           *threadref_sentinel_dup_thread    (ThreadRefSentinel *self);
guint              threadref_sentinel_hash          (ThreadRefSentinel *self);
/* Unique per lifetime, never reused, never 0. */
guint64            threadref_sentinel_get_serial    (ThreadRefSentinel *self);

/* The fork handlers' share, called with the registry lock held: every
 * lifetime's lock around fork(); in the child, the lifetimes of threads
 * that did not survive end without running anything. */
void               threadref_sentinel_fork_prepare  (void);
void               threadref_sentinel_fork_parent   (void);
void               threadref_sentinel_fork_child    (void);

G_END_DECLS
