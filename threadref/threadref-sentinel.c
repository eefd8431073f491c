/* threadref-sentinel.c: the per-thread anchor, its registrations, and how a
 * lifetime ends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <limits.h>

#include "threadref-exit-private.h"
#include "threadref-fork-private.h"
#include "threadref-pin-private.h"
#include "threadref-sentinel-private.h"
#include "threadref-stamp-private.h"

#ifndef PTHREAD_DESTRUCTOR_ITERATIONS
# define PTHREAD_DESTRUCTOR_ITERATIONS 4
#endif

/*
 * ThreadRefSentinel:
 *
 * One lifetime of one thread. It is reachable from its thread through
 * sentinel_key while it is ALIVE, and from every holder node (ThreadRef,
 * ThreadFinalize, ThreadAtExit handle) until that holder is released. When
 * it has ENDED and no holder is left, whichever happens last, it is
 * released: put back in the pool for another lifetime (see pool_give()),
 * or finalized if the pool is full.
 */
struct _ThreadRefSentinel
{
  GObject            parent_instance;

  ThreadRefLock      lock;
  guint              state;          /* atomic ThreadRefSentinelState; changed under lock */
  ThreadRefNode     *newest;         /* under lock */
  gsize              n_holders;      /* under lock */
  guint              n_waiters;      /* under lock: threads blocked on state */
  ThreadRefNode     *claimed;        /* atomic: a CLAIMED node being pinned, for fork() */
  GQueue             waiters;        /* under lock: ThreadRefWaiters to tell at ENDED */

  GThread           *thread;         /* a reference taken when the lifetime began */
  guint64            serial;         /* unique per lifetime, for hashing */

  ThreadRefSentinel *registry_prev;  /* under registry_lock */
  ThreadRefSentinel *registry_next;
};

G_DEFINE_FINAL_TYPE (ThreadRefSentinel, threadref_sentinel, G_TYPE_OBJECT)

/* What this thread is doing with lifetimes. Lives in TLS rather than in a
 * GPrivate because glibc clears pthread-key slots as it destroys them, while
 * this must survive the whole of the thread's teardown. */
typedef struct {
  ThreadRefSentinel *current;           /* == the GPrivate's value, read faster */
  ThreadRefSentinel *ending;            /* lifetime being ended here; nested nodes join it */
  guint              destructor_calls;  /* calls of sentinel_thread_ended on this thread */
  ThreadRefPinCache  pin_cache;         /* modules this thread saw code of */
} ThreadState;

static __thread ThreadState thread_state;

static void sentinel_thread_ended (gpointer data);

static GPrivate sentinel_key = G_PRIVATE_INIT (sentinel_thread_ended);

/* Every sentinel that is still allocated, for process exit and fork. */
static ThreadRefLock registry_lock = THREADREF_LOCK_INIT;
static ThreadRefSentinel *registry_head;
static guint64 registry_serial;

static void
registry_add (ThreadRefSentinel *self)
{
  threadref_lock (&registry_lock);
  self->serial = ++registry_serial;
  self->registry_next = registry_head;
  if (registry_head != NULL)
    registry_head->registry_prev = self;
  registry_head = self;
  threadref_unlock (&registry_lock);
}

static void
registry_remove (ThreadRefSentinel *self)
{
  threadref_lock (&registry_lock);
  if (self->registry_prev != NULL)
    self->registry_prev->registry_next = self->registry_next;
  else
    registry_head = self->registry_next;
  if (self->registry_next != NULL)
    self->registry_next->registry_prev = self->registry_prev;
  threadref_unlock (&registry_lock);
}

static void
threadref_sentinel_finalize (GObject *object)
{
  ThreadRefSentinel *self = THREADREF_SENTINEL (object);

  g_clear_pointer (&self->thread, g_thread_unref);

  G_OBJECT_CLASS (threadref_sentinel_parent_class)->finalize (object);
}

static void
threadref_sentinel_class_init (ThreadRefSentinelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = threadref_sentinel_finalize;
}

static void
threadref_sentinel_init (ThreadRefSentinel *self)
{
  threadref_lock_init (&self->lock);
  self->state = THREADREF_SENTINEL_ALIVE;
  g_queue_init (&self->waiters);
}

/* List operations; the caller holds self->lock. */

static inline void
list_push (ThreadRefSentinel *self,
           ThreadRefNode     *node)
{
  node->newer = NULL;
  node->older = self->newest;
  if (self->newest != NULL)
    self->newest->newer = node;
  self->newest = node;
}

static inline void
list_unlink (ThreadRefSentinel *self,
             ThreadRefNode     *node)
{
  if (node->newer != NULL)
    node->newer->older = node->older;
  else
    self->newest = node->older;
  if (node->older != NULL)
    node->older->newer = node->newer;
  node->newer = node->older = NULL;
}

static inline void
node_set_state_locked (ThreadRefNode      *node,
                       ThreadRefNodeState  state)
{
  /* Only the holder of the sentinel's lock moves a node out of LIVE, and
   * nobody touches the flag bits of a LIVE node without that lock. A
   * release store is enough for the readers outside the lock (they load
   * with acquire); g_atomic_int_set() is sequentially consistent, which on
   * x86 is a locked exchange on every node that fires. */
  __atomic_store_n (&node->state, (node->state & ~THREADREF_NODE_STATE_MASK) | state, __ATOMIC_RELEASE);
}

/* Unlinks a LIVE node for running it; the caller holds the lock. */
static inline void
node_claim_locked (ThreadRefSentinel *self,
                   ThreadRefNode     *node)
{
  list_unlink (self, node);
  if (node->kind & THREADREF_NODE_KIND_PIN)
    {
      /* Only the sentinel's own thread claims pinned nodes, one at a time. */
      g_atomic_pointer_set (&self->claimed, node);
      node_set_state_locked (node, THREADREF_NODE_CLAIMED);
    }
  else
    node_set_state_locked (node, THREADREF_NODE_FIRING);
}

/* Drops the sentinel's reference if it has ended and nothing holds it; the
 * caller holds the lock and calls g_object_unref() after unlocking when this
 * returns TRUE. */
static inline gboolean
sentinel_unused_locked (ThreadRefSentinel *self)
{
  return self->n_holders == 0 &&
         g_atomic_int_get (&self->state) == THREADREF_SENTINEL_ENDED;
}

/* Sentinels no longer used, kept for the next threads' lifetimes.
 *
 * Finalizing a GObject on an ending thread is expensive on GLib 2.74: GSlice
 * destroyed its per-thread magazine in an earlier key destructor, and
 * g_object_unref() allocates from GSlice again, so the thread rebuilds it
 * (a 2 KiB allocation that also makes malloc consolidate everything the
 * thread freed) and glibc runs one more destructor round to free it. Making
 * a GObject on a fresh thread sets up GSlice too, some 2-3 µs. Recycling
 * sentinels avoids both on the common path: a thread's first registration
 * takes one from here, and its end puts it back. The pool is bounded; past
 * that, sentinels are finalized. */
#define SENTINEL_POOL_MAX 128

static ThreadRefLock pool_lock = THREADREF_LOCK_INIT;
static ThreadRefSentinel *pool_head;   /* linked through registry_next */
static guint pool_size;

static ThreadRefSentinel *
pool_take (void)
{
  ThreadRefSentinel *self;

  threadref_lock (&pool_lock);
  self = pool_head;
  if (self != NULL)
    {
      pool_head = self->registry_next;
      pool_size--;
    }
  threadref_unlock (&pool_lock);

  return self;
}

static gboolean
pool_give (ThreadRefSentinel *self)
{
  gboolean taken = FALSE;

  threadref_lock (&pool_lock);
  if (pool_size < SENTINEL_POOL_MAX)
    {
      self->registry_prev = NULL;
      self->registry_next = pool_head;
      pool_head = self;
      pool_size++;
      taken = TRUE;
    }
  threadref_unlock (&pool_lock);

  return taken;
}

static ThreadRefSentinel *
sentinel_new (void)
{
  ThreadRefSentinel *self;

  threadref_exit_init ();
  threadref_fork_init ();

  self = pool_take ();
  if (self == NULL)
    self = g_object_new (THREADREF_TYPE_SENTINEL, NULL);
  else
    g_atomic_int_set (&self->state, THREADREF_SENTINEL_ALIVE);

  /* Taken now: when the pthread-key destructors run, GLib's own per-thread
   * GThread has usually been destroyed already, and g_thread_self() would
   * make a new one. For the same reason a lifetime that starts inside the
   * thread's destructors (a late registration) gets none: the thread is
   * already ending, and a GThread made then would be leaked by glibc's last
   * destructor round. dup_thread() gives NULL for it. */
  if (thread_state.destructor_calls == 0)
    self->thread = g_thread_ref (g_thread_self ());
  registry_add (self);

  return self;
}

/* The sentinel has ENDED and has no holder left: nothing can reach it. */
static void
sentinel_release (ThreadRefSentinel *self)
{
  g_assert (self->newest == NULL);
  g_assert (self->n_holders == 0);
  g_assert (self->n_waiters == 0);
  g_assert (g_queue_is_empty (&self->waiters));
  g_assert (self->claimed == NULL);

  registry_remove (self);
  /* Dropped now, not when the sentinel is reused: a GThread nobody joins is
   * detached only when its last reference goes, and until then glibc keeps
   * the dead thread's stack. */
  g_clear_pointer (&self->thread, g_thread_unref);
  if (!pool_give (self))
    g_object_unref (self);
}

/* The GPrivate holds the current lifetime so that its destroy notify ends it
 * with the thread; lookups read the same pointer from plain TLS, which costs
 * less than g_private_get(). Both are set and cleared together. */
static inline void
sentinel_set_current (ThreadRefSentinel *self)
{
  g_private_set (&sentinel_key, self);
  thread_state.current = self;
}

/* Finds the lifetime a registration on the calling thread belongs to,
 * making one if needed. Sets *end_now if that new lifetime cannot be ended
 * by anything later and must end right after the registration. */
static ThreadRefSentinel *
sentinel_get_current_slow (gboolean *end_now)
{
  ThreadRefSentinel *self;

  /* Inside a callback of a lifetime that is ending: join it, so that it
   * runs before the thread is gone (rule 7). */
  if (thread_state.ending != NULL)
    return thread_state.ending;

  self = sentinel_new ();
  sentinel_set_current (self);

  /* A registration from another library's pthread-key destructor after ours
   * ran: glibc runs the destructor rounds at most
   * PTHREAD_DESTRUCTOR_ITERATIONS times and then drops what is left without
   * calling anything. Our destructor is called once per round from the round
   * our key was first set in, so if it already ran that many times there is
   * no later round to run this lifetime in. */
  if (thread_state.destructor_calls >= PTHREAD_DESTRUCTOR_ITERATIONS)
    *end_now = TRUE;
  else if (threadref_exit_note_new_lifetime ())
    *end_now = TRUE;

  return self;
}

static inline ThreadRefSentinel *
sentinel_get_current (gboolean *end_now)
{
  ThreadRefSentinel *self = thread_state.current;

  if (G_LIKELY (self != NULL))
    return self;

  return sentinel_get_current_slow (end_now);
}

static void sentinel_end (ThreadRefSentinel *self);

static inline void
node_init (ThreadRefNode     *node,
           ThreadRefSentinel *self,
           ThreadRefNodeKind  kind,
           GDestroyNotify     func,
           gpointer           data,
           gboolean           at_exit)
{
  node->sentinel = self;
  node->func = func;
  node->data = data;
  node->kind = kind;
  /* Only nodes that may run at process exit need a place in the
   * cross-thread order (a ThreadFinalize whose atexit flag starts FALSE may
   * have it turned on later). */
  node->stamp = (kind & THREADREF_NODE_KIND_STAMPED) ? threadref_stamp () : 0;
  node->state = THREADREF_NODE_LIVE | (at_exit ? THREADREF_NODE_AT_EXIT : 0);
}

void
threadref_node_attach (ThreadRefNode     *node,
                       ThreadRefNodeKind  kind,
                       GDestroyNotify     func,
                       gpointer           data,
                       gboolean           at_exit)
{
  gboolean end_now = FALSE;
  ThreadRefSentinel *self = sentinel_get_current (&end_now);

  node_init (node, self, kind, func, data, at_exit);
  if (kind & THREADREF_NODE_KIND_PLAIN)
    threadref_pin_code (&thread_state.pin_cache, func);

  threadref_lock (&self->lock);
  list_push (self, node);
  if (kind & THREADREF_NODE_KIND_HOLDER)
    self->n_holders++;
  threadref_unlock (&self->lock);

  if (G_UNLIKELY (end_now))
    {
      sentinel_set_current (NULL);
      sentinel_end (self);
    }
}

gboolean
threadref_node_attach_to (ThreadRefNode     *node,
                          ThreadRefSentinel *self,
                          ThreadRefNodeKind  kind,
                          GDestroyNotify     func,
                          gpointer           data,
                          gboolean           at_exit)
{
  gboolean attached = FALSE;

  /* Only object nodes are attached to other threads: their callbacks were
   * pinned by threadref_pin_callbacks(). */
  g_assert (!(kind & THREADREF_NODE_KIND_PLAIN));
  node_init (node, self, kind, func, data, at_exit);

  /* An ENDING lifetime still takes nodes: its thread runs them before it
   * marks the lifetime ENDED, under this same lock. */
  threadref_lock (&self->lock);
  if (g_atomic_int_get (&self->state) != THREADREF_SENTINEL_ENDED)
    {
      list_push (self, node);
      if (kind & THREADREF_NODE_KIND_HOLDER)
        self->n_holders++;
      attached = TRUE;
    }
  threadref_unlock (&self->lock);

  return attached;
}

gboolean
threadref_node_cancel (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  ThreadRefNodeState state;

  threadref_lock (&self->lock);
  state = threadref_node_get_state (node);
  if (state == THREADREF_NODE_LIVE)
    {
      list_unlink (self, node);
      node_set_state_locked (node, THREADREF_NODE_DONE);
    }
  threadref_unlock (&self->lock);

  if (state == THREADREF_NODE_LIVE)
    return TRUE;

  /* A firer unlinked this node and is about to take a strong reference on
   * its object (see threadref_node_run()). That is a g_object_ref() away and
   * blocks on nothing, so wait for it: returning now could let the object be
   * finalized under the firer. */
  while (threadref_node_get_state (node) == THREADREF_NODE_CLAIMED)
    g_thread_yield ();

  return FALSE;
}

gboolean
threadref_node_claim (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  gboolean claimed = FALSE;

  threadref_lock (&self->lock);
  if (threadref_node_get_state (node) == THREADREF_NODE_LIVE)
    {
      list_unlink (self, node);
      node_set_state_locked (node, THREADREF_NODE_FIRING);
      claimed = TRUE;
    }
  threadref_unlock (&self->lock);

  return claimed;
}

void
threadref_node_set_at_exit (ThreadRefNode *node,
                            gboolean       at_exit)
{
  ThreadRefSentinel *self = node->sentinel;

  threadref_lock (&self->lock);
  if (at_exit)
    g_atomic_int_or (&node->state, THREADREF_NODE_AT_EXIT);
  else
    g_atomic_int_and (&node->state, ~(guint) THREADREF_NODE_AT_EXIT);
  threadref_unlock (&self->lock);
}

gboolean
threadref_node_cancel_and_release (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  gboolean cancelled;
  gboolean unused;

  g_assert (node->kind & THREADREF_NODE_KIND_HOLDER);
  g_assert (!(node->kind & THREADREF_NODE_KIND_PIN));

  threadref_lock (&self->lock);
  cancelled = threadref_node_get_state (node) == THREADREF_NODE_LIVE;
  if (cancelled)
    {
      list_unlink (self, node);
      node_set_state_locked (node, THREADREF_NODE_DONE);
    }
  self->n_holders--;
  unused = sentinel_unused_locked (self);
  threadref_unlock (&self->lock);

  if (unused)
    sentinel_release (self);

  return cancelled;
}

void
threadref_node_release_holder (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  gboolean unused;

  g_assert (node->kind & THREADREF_NODE_KIND_HOLDER);

  threadref_lock (&self->lock);
  g_assert (self->n_holders > 0);
  self->n_holders--;
  unused = sentinel_unused_locked (self);
  threadref_unlock (&self->lock);

  if (unused)
    sentinel_release (self);
}

void
threadref_node_run (ThreadRefNode *node)
{
  /* Read before func: an object node lives inside its object, which func
   * may free. */
  guint kind = node->kind;

  if (kind & THREADREF_NODE_KIND_PIN)
    {
      /* The object may be in dispose on another thread right now, waiting
       * in threadref_node_cancel() for exactly this reference. */
      g_object_ref (node->data);
      __atomic_store_n (&node->state, THREADREF_NODE_FIRING, __ATOMIC_RELEASE);
      g_atomic_pointer_set (&node->sentinel->claimed, NULL);
    }

  node->func (node->data);

  if (kind & THREADREF_NODE_KIND_PLAIN)
    {
      if (kind & THREADREF_NODE_KIND_NO_HANDLE)
        g_free (node);
      else if (threadref_node_mark_done (node) & THREADREF_NODE_HANDLE_GONE)
        g_free (node);
    }
  /* Object nodes marked themselves DONE and dropped their reference in
   * func: the node lives inside the object and may be gone now. */
}

/* Runs every node of a lifetime, newest first, on the calling thread, which
 * must be the lifetime's own thread. Nodes attached meanwhile (by the
 * callbacks, or from other threads to an ENDING lifetime) run too. */
static void
sentinel_end (ThreadRefSentinel *self)
{
  ThreadRefSentinel *outer = thread_state.ending;
  gboolean unused = FALSE;
  gboolean wake = FALSE;
  GQueue waiters = G_QUEUE_INIT;

  threadref_lock (&self->lock);
  if (g_atomic_int_get (&self->state) == THREADREF_SENTINEL_ALIVE)
    g_atomic_int_set (&self->state, THREADREF_SENTINEL_ENDING);
  threadref_unlock (&self->lock);

  thread_state.ending = self;

  for (;;)
    {
      ThreadRefNode *node;

      threadref_lock (&self->lock);
      node = self->newest;
      if (node == NULL)
        break;
      node_claim_locked (self, node);
      threadref_unlock (&self->lock);

      threadref_node_run (node);
    }

  /* Still locked. A nested call for the same lifetime (a callback that ends
   * the current lifetime, or exit() from a callback) only drains; the
   * outermost one, which is still running its loop, finishes. */
  if (outer != self)
    {
      g_atomic_int_set (&self->state, THREADREF_SENTINEL_ENDED);
      unused = sentinel_unused_locked (self);
      wake = self->n_waiters > 0;
      waiters = self->waiters;
      g_queue_init (&self->waiters);
      for (GList *l = waiters.head; l != NULL; l = l->next)
        ((ThreadRefWaiter *) l->data)->queued = FALSE;
    }
  threadref_unlock (&self->lock);

  thread_state.ending = outer;

  /* Waiters hold the sentinel (through their ref), so it is still here. */
  if (wake)
    threadref_wake_all (&self->state);
  while (!g_queue_is_empty (&waiters))
    {
      ThreadRefWaiter *waiter = g_queue_pop_head_link (&waiters)->data;

      waiter->ended (waiter);
    }

  if (unused)
    sentinel_release (self);
}

/* The GPrivate destroy notify: the thread is ending. glibc has already
 * cleared our slot, so registrations made from here on find
 * thread_state.ending first. */
static void
sentinel_thread_ended (gpointer data)
{
  thread_state.current = NULL;
  thread_state.destructor_calls++;
  sentinel_end (data);
}

void
threadref_sentinel_end_current (void)
{
  ThreadRefSentinel *self;

  /* Called from a callback of the lifetime that is ending: finish its
   * nodes here; the teardown up the stack completes it. */
  if (thread_state.ending != NULL)
    sentinel_end (thread_state.ending);

  self = thread_state.current;
  if (self != NULL)
    {
      sentinel_set_current (NULL);
      sentinel_end (self);
    }
}

void
threadref_pin_callbacks (gpointer callback,
                         gpointer destroy_notify)
{
  threadref_pin_code (&thread_state.pin_cache, callback);
  threadref_pin_code (&thread_state.pin_cache, destroy_notify);
}

gboolean
threadref_sentinel_is_current (ThreadRefSentinel *self)
{
  return self == thread_state.current || self == thread_state.ending;
}

gboolean
threadref_sentinel_wait (ThreadRefSentinel *self,
                         gint64             timeout_usec)
{
  gint64 end_time = timeout_usec < 0 ? -1 : g_get_monotonic_time () + timeout_usec;
  guint state;

  threadref_lock (&self->lock);
  state = g_atomic_int_get (&self->state);
  if (state != THREADREF_SENTINEL_ENDED)
    self->n_waiters++;
  threadref_unlock (&self->lock);

  if (state == THREADREF_SENTINEL_ENDED)
    return TRUE;

  while ((state = g_atomic_int_get (&self->state)) != THREADREF_SENTINEL_ENDED)
    {
      if (!threadref_wait_on (&self->state, state, end_time))
        break;
    }

  threadref_lock (&self->lock);
  self->n_waiters--;
  threadref_unlock (&self->lock);

  return state == THREADREF_SENTINEL_ENDED;
}

gboolean
threadref_sentinel_add_waiter (ThreadRefSentinel *self,
                               ThreadRefWaiter   *waiter)
{
  gboolean added = FALSE;

  threadref_lock (&self->lock);
  if (g_atomic_int_get (&self->state) != THREADREF_SENTINEL_ENDED)
    {
      waiter->link.data = waiter;
      waiter->queued = TRUE;
      g_queue_push_tail_link (&self->waiters, &waiter->link);
      added = TRUE;
    }
  threadref_unlock (&self->lock);

  return added;
}

gboolean
threadref_sentinel_remove_waiter (ThreadRefSentinel *self,
                                  ThreadRefWaiter   *waiter)
{
  gboolean removed = FALSE;

  threadref_lock (&self->lock);
  if (waiter->queued)
    {
      g_queue_unlink (&self->waiters, &waiter->link);
      waiter->queued = FALSE;
      removed = TRUE;
    }
  threadref_unlock (&self->lock);

  return removed;
}

gboolean
threadref_sentinel_is_alive (ThreadRefSentinel *self)
{
  return g_atomic_int_get (&self->state) == THREADREF_SENTINEL_ALIVE;
}

GThread *
threadref_sentinel_dup_thread (ThreadRefSentinel *self)
{
  /* The caller is a holder, so self->thread stays valid; the state check is
   * the linearisation point against the lifetime's end. */
  if (!threadref_sentinel_is_alive (self) || self->thread == NULL)
    return NULL;

  return g_thread_ref (self->thread);
}

guint
threadref_sentinel_hash (ThreadRefSentinel *self)
{
  guint64 serial = self->serial;

  return (guint) (serial ^ (serial >> 32));
}

typedef struct {
  guint64        stamp;
  guint          index;   /* order of collection: newest first within a thread */
  ThreadRefNode *node;
} ClaimedNode;

static gint
claimed_node_newest_first (gconstpointer a,
                           gconstpointer b)
{
  const ClaimedNode *ca = a;
  const ClaimedNode *cb = b;

  if (ca->stamp != cb->stamp)
    return ca->stamp > cb->stamp ? -1 : 1;
  return ca->index < cb->index ? -1 : (ca->index > cb->index);
}

GPtrArray *
threadref_sentinel_claim_at_exit (void)
{
  GArray *claimed = g_array_new (FALSE, FALSE, sizeof (ClaimedNode));
  GPtrArray *nodes;

  threadref_lock (&registry_lock);
  for (ThreadRefSentinel *self = registry_head; self != NULL; self = self->registry_next)
    {
      threadref_lock (&self->lock);
      if (g_atomic_int_get (&self->state) == THREADREF_SENTINEL_ALIVE)
        {
          ThreadRefNode *node = self->newest;

          while (node != NULL)
            {
              ThreadRefNode *older = node->older;

              if (g_atomic_int_get (&node->state) == (THREADREF_NODE_LIVE | THREADREF_NODE_AT_EXIT))
                {
                  ClaimedNode c = { node->stamp, claimed->len, node };

                  node_claim_locked (self, node);
                  g_array_append_val (claimed, c);
                }
              node = older;
            }
        }
      threadref_unlock (&self->lock);
    }
  threadref_unlock (&registry_lock);

  /* Ties keep collection order, so nodes of one thread keep their list
   * order even if two stamps are equal. */
  g_array_sort (claimed, claimed_node_newest_first);

  nodes = g_ptr_array_sized_new (claimed->len);
  for (guint i = 0; i < claimed->len; i++)
    g_ptr_array_add (nodes, g_array_index (claimed, ClaimedNode, i).node);
  g_array_free (claimed, TRUE);

  return nodes;
}

guint
threadref_sentinel_count_allocated (void)
{
  guint n = 0;

  threadref_lock (&registry_lock);
  for (ThreadRefSentinel *self = registry_head; self != NULL; self = self->registry_next)
    n++;
  threadref_unlock (&registry_lock);

  return n;
}

/* fork(): the child has one thread, a copy of the one that forked. Another
 * thread may have held a sentinel's lock at that moment, so the parent takes
 * every lock before forking (registry first, as everywhere) and both sides
 * release them after. Critical sections are short and never call out, so
 * this only waits for sections already running. */
void
threadref_sentinel_fork_prepare (void)
{
  threadref_lock (&pool_lock);
  threadref_lock (&registry_lock);
  for (ThreadRefSentinel *self = registry_head; self != NULL; self = self->registry_next)
    threadref_lock (&self->lock);
}

void
threadref_sentinel_fork_parent (void)
{
  for (ThreadRefSentinel *self = registry_head; self != NULL; self = self->registry_next)
    threadref_unlock (&self->lock);
  threadref_unlock (&registry_lock);
  threadref_unlock (&pool_lock);
}

/* In the child, every lifetime but the forking thread's belongs to a thread
 * that does not exist here: it is dead, and its nodes never run. Only
 * async-signal-safe work is done (no GObject, no callbacks, no free of
 * anything user code may still reach): the child may be about to exec.
 * What those lifetimes held stays allocated in the child. */
void
threadref_sentinel_fork_child (void)
{
  for (ThreadRefSentinel *self = registry_head; self != NULL; self = self->registry_next)
    {
      if (self != thread_state.current && self != thread_state.ending)
        {
          ThreadRefNode *node = self->newest;

          while (node != NULL)
            {
              ThreadRefNode *older = node->older;

              node->newer = node->older = NULL;
              node_set_state_locked (node, THREADREF_NODE_DONE);
              node = older;
            }
          self->newest = NULL;
          /* A node its vanished thread had claimed but not pinned would make
           * the ref's dispose wait forever. */
          if (self->claimed != NULL)
            {
              node_set_state_locked (self->claimed, THREADREF_NODE_DONE);
              self->claimed = NULL;
            }
          /* Blocked waiters and async waiters were threads of the parent. */
          self->n_waiters = 0;
          g_queue_init (&self->waiters);
          g_atomic_int_set (&self->state, THREADREF_SENTINEL_ENDED);
        }
      threadref_lock_init (&self->lock);
    }
  threadref_lock_init (&registry_lock);
  threadref_lock_init (&pool_lock);
}
