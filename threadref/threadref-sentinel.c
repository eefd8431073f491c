/* threadref-sentinel.c: one lifetime of a thread, and every change of state
 * of the registrations hung on it (see threadref-sentinel-private.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "threadref-debug-private.h"
#include "threadref-registry-private.h"
#include "threadref-sentinel-private.h"

#if defined (__x86_64__) || defined (__i386__)
# include <x86intrin.h>
#endif

/* Creation stamps, which order registrations across threads.
 *
 * At process exit, finalizers of threads that still run are run newest first
 * across all threads. Within one thread the list order already says which is
 * newer; across threads we need a clock that every core reads the same. A
 * shared atomic counter would do, but it is a cache line that every
 * registering thread writes: with two threads registering at once it costs
 * more than the whole registration. The CPU's invariant time-stamp counter
 * (the kernel's clocksource on x86-64 once it has checked that it is
 * constant and synchronised across cores) is read locally in a few
 * nanoseconds. Registrations made concurrently on
 * two threads have no creation order to respect; ones ordered by any
 * synchronisation get increasing stamps.
 */
static inline guint64
stamp_now (void)
{
#if defined (__x86_64__) || defined (__i386__)
  return __rdtsc ();
#elif defined (__aarch64__)
  guint64 value;
  __asm__ __volatile__ ("isb; mrs %0, cntvct_el0" : "=r" (value) :: "memory");
  return value;
#else
  static guint64 counter;
  return __atomic_add_fetch (&counter, 1, __ATOMIC_RELAXED);
#endif
}

guint64
threadref_sentinel_stamp_now (void)
{
  return stamp_now ();
}

/* An exit pass has taken its snapshot: stamps must be the clock's. */
static gint exit_passing;

guint64
threadref_sentinel_exit_snapshot (void)
{
  /* From now on every stamp is the clock's (own_stamp()). */
  __atomic_store_n (&exit_passing, 1, __ATOMIC_SEQ_CST);
  return stamp_now ();
}

/* A lifetime's state; it only moves forward. */
typedef enum {
  SENTINEL_ALIVE,    /* its thread runs this lifetime */
  SENTINEL_ENDING,   /* its nodes are being run; refs to it are dead */
  SENTINEL_ENDED,    /* every node has returned */
} SentinelState;

/*
 * ThreadRefSentinel:
 *
 * One lifetime of one thread. Its thread reaches it through
 * threadref-thread.c while it runs; every holder node (ThreadRefRef,
 * ThreadRefFinalize, plain handle) reaches it until that holder is released.
 * When it has ENDED and no holder is left, whichever happens last, it is
 * released: kept in the registry's pool for another lifetime, or finalized
 * if the pool is full.
 */
struct _ThreadRefSentinel
{
  GObject                parent_instance;

  GMutex                 lock;
  guint                  state;          /* atomic SentinelState; changed under lock */
  ThreadRefNode         *newest;         /* under lock */
  gsize                  n_holders;      /* under lock */
  guint                  n_while_ending; /* under lock: attached since ENDING */
  gboolean               refusing;       /* under lock: past MAX_WHILE_ENDING */
  ThreadRefNode         *claimed;        /* atomic: a weak object node being referenced */
  GQueue                 observers;      /* under lock: ThreadRefEndObservers */

  guint                  n_held_by_pass; /* under lock: claimed by the exit pass, not run yet */
  guint64                locked_stamp;   /* atomic, written under lock: newest's stamp, 0 if none */

  /* The owner's list ("The owner's list" below). */
  ThreadRefNode         *own_newest;     /* written by the owner (release), read by walkers */
  guint64                own_last_stamp; /* owner: the stamp of the last node pushed there */
  gint                   stamping;       /* atomic: counted in stamping_lifetimes */
  guint64                own_stamp;      /* atomic, written by the owner: own_newest's stamp, or 0 */
  guint                  own_count;      /* owner: nodes in the list */
  gsize                  own_holders;    /* owner: handles attached there and not given back there */
  gsize                  remote_gone;    /* under lock: such handles given back another way */
  gint                   own_dead;       /* atomic: nodes of the list cancelled elsewhere */

  gboolean               debug;          /* G_MESSAGES_DEBUG covers us: count what runs */
  guint                  n_ran[3];       /* when debug: refs, finalizers, plain ones run */

  GThread               *thread;         /* under lock; a reference while ALIVE or ENDING */
  guint64                owner;          /* its thread's serial (thread_serial()) */
  pid_t                  tid;            /* its thread's kernel id, for warn_dropped() */

  ThreadRefRegistryLink  registry_link;
};

G_DEFINE_FINAL_TYPE (ThreadRefSentinel, threadref_sentinel, G_TYPE_OBJECT)

/* Lifetimes that have given a node that may run at process exit a stamp
 * and have not ended. */
static gint stamping_lifetimes;

/* self gives clock stamps from now on (see own_stamp()): counted before the
 * first one, once. */
static inline void
sentinel_note_stamping (ThreadRefSentinel *self)
{
  if (G_UNLIKELY (!__atomic_load_n (&self->stamping, __ATOMIC_RELAXED)) &&
      __atomic_exchange_n (&self->stamping, 1, __ATOMIC_ACQ_REL) == 0)
    __atomic_add_fetch (&stamping_lifetimes, 1, __ATOMIC_SEQ_CST);
}


#define SENTINEL_FROM_LINK(l) \
  ((ThreadRefSentinel *) ((char *) (l) - G_STRUCT_OFFSET (ThreadRefSentinel, registry_link)))

/* A node's kind; its owner-only bits (OWN_TAKEN) may change under a
 * reader's feet, the others never do once it is attached. */
static inline guint
node_kind (ThreadRefNode *node)
{
  return __atomic_load_n (&node->kind, __ATOMIC_RELAXED);
}

/* Identifies the calling thread for the whole process's life. A pthread_t
 * or a kernel thread id is reused by later threads; this is not. */
static guint64 thread_serial_counter;
static __thread guint64 thread_serial_tls;

static inline guint64
thread_serial (void)
{
  if (G_UNLIKELY (thread_serial_tls == 0))
    thread_serial_tls = __atomic_add_fetch (&thread_serial_counter, 1, __ATOMIC_RELAXED);
  return thread_serial_tls;
}

static void
threadref_sentinel_finalize (GObject *object)
{
  ThreadRefSentinel *self = THREADREF_SENTINEL (object);

  g_assert (self->thread == NULL);

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
  g_mutex_init (&self->lock);
  self->state = SENTINEL_ENDED;
  g_queue_init (&self->observers);
}

static void own_barrier_init (void);

ThreadRefSentinel *
threadref_sentinel_new (gboolean with_thread)
{
  ThreadRefRegistryLink *link;
  ThreadRefSentinel *self;
  GThread *thread = with_thread ? g_thread_ref (g_thread_self ()) : NULL;
  pid_t tid = (pid_t) syscall (SYS_gettid);

  own_barrier_init ();
  link = threadref_registry_reuse ();

  if (link != NULL)
    {
      /* Registered already, as ENDED: walkers skip it until it is ALIVE. */
      self = SENTINEL_FROM_LINK (link);
      g_mutex_lock (&self->lock);
      self->thread = thread;
      self->owner = thread_serial ();
      self->tid = tid;
      self->n_while_ending = 0;
      self->refusing = FALSE;
      /* The owner's list of the last lifetime is empty, and so are its
       * counts (finish_end() and the release say so). */
      g_assert (self->own_newest == NULL);
      self->own_count = 0;
      self->own_last_stamp = 0;
      g_assert (!self->stamping);
      self->own_holders = 0;
      self->remote_gone = 0;
      __atomic_store_n (&self->own_dead, 0, __ATOMIC_RELAXED);
      __atomic_store_n (&self->own_stamp, 0, __ATOMIC_RELAXED);
      self->debug = threadref_debug_enabled ();
      memset (self->n_ran, 0, sizeof self->n_ran);
      g_atomic_int_set (&self->state, SENTINEL_ALIVE);
      g_mutex_unlock (&self->lock);
    }
  else
    {
      self = g_object_new (THREADREF_TYPE_SENTINEL, NULL);
      self->thread = thread;
      self->owner = thread_serial ();
      self->tid = tid;
      self->debug = threadref_debug_enabled ();
      self->state = SENTINEL_ALIVE;
      threadref_registry_add (&self->registry_link);
    }

  /* Checked once per lifetime, never per registration: nothing costs more
   * with debugging off. */
  if (G_UNLIKELY (self->debug))
    {
      char name[32];

      g_debug ("thread “%s” (%d): lifetime %" G_GUINT64_FORMAT " starts%s",
               threadref_thread_name (name, sizeof name), (int) tid,
               self->registry_link.serial, with_thread ? "" : ", inside the thread's teardown");
    }

  return self;
}

/* The lifetime has ENDED and no holder is left: nothing can reach it. */
static void
sentinel_release (ThreadRefSentinel *self)
{
  g_assert (self->newest == NULL);
  g_assert (self->n_holders == 0);
  g_assert (g_queue_is_empty (&self->observers));
  g_assert (self->claimed == NULL);
  g_assert (self->thread == NULL);

  if (!threadref_registry_retire (&self->registry_link))
    g_object_unref (self);
}

static inline gboolean
sentinel_unused_locked (ThreadRefSentinel *self)
{
  /* own_holders is the owner's, and stays put once the lifetime is no
   * longer ALIVE: read only then. */
  return g_atomic_int_get (&self->state) == SENTINEL_ENDED &&
         self->n_holders == 0 && self->n_held_by_pass == 0 &&
         self->own_holders == self->remote_gone;
}

/* List operations; the caller holds self->lock. */

static inline void
list_set_newest (ThreadRefSentinel *self,
                 ThreadRefNode     *node)
{
  self->newest = node;
  /* For the owner's end loop, which compares it with its own list's newest
   * without taking the lock. */
  __atomic_store_n (&self->locked_stamp, node != NULL ? node->stamp : 0, __ATOMIC_RELAXED);
}

static inline void
list_push (ThreadRefSentinel *self,
           ThreadRefNode     *node)
{
  node->newer = NULL;
  node->older = self->newest;
  if (self->newest != NULL)
    self->newest->newer = node;
  list_set_newest (self, node);
}

static inline void
list_unlink (ThreadRefSentinel *self,
             ThreadRefNode     *node)
{
  if (node->newer != NULL)
    node->newer->older = node->older;
  else
    list_set_newest (self, node->older);
  if (node->older != NULL)
    node->older->newer = node->newer;
  node->newer = NULL;
  node->older = NULL;
}

static inline ThreadRefNodeState
node_get_state (ThreadRefNode *node)
{
  return (ThreadRefNodeState) (__atomic_load_n (&node->state, __ATOMIC_ACQUIRE) & THREADREF_NODE_STATE_MASK);
}

static inline void
node_set_state_locked (ThreadRefNode      *node,
                       ThreadRefNodeState  state)
{
  /* Only the holder of the lifetime's lock moves a node out of LIVE, and
   * nobody touches the flag bits of a LIVE node without that lock. A
   * release store is enough for the readers outside the lock (they load
   * with acquire); a sequentially consistent store would be a locked
   * instruction on every node that fires. */
  __atomic_store_n (&node->state, (node->state & ~THREADREF_NODE_STATE_MASK) | state, __ATOMIC_RELEASE);
}

/* Unlinks a LIVE node for running it; the caller holds the lock. */
static inline void
node_claim_locked (ThreadRefSentinel *self,
                   ThreadRefNode     *node)
{
  list_unlink (self, node);
  if (node_kind (node) & THREADREF_NODE_WEAK_OBJECT)
    {
      /* Only the lifetime's own thread claims weak object nodes, one at a
       * time, so one slot is enough. */
      g_atomic_pointer_set (&self->claimed, node);
      node_set_state_locked (node, THREADREF_NODE_CLAIMED);
    }
  else
    node_set_state_locked (node, THREADREF_NODE_FIRING);
}

static void
warn_refusing (ThreadRefSentinel *self)
{
  char name[32];

  if (self->owner == thread_serial ())
    threadref_thread_name (name, sizeof name);
  else
    threadref_thread_name_of (self->tid, name, sizeof name);
  /* Its own callbacks, or other threads' watches, may be what registers. */
  g_warning ("threadref: thread \"%s\" (%d) kept receiving registrations while "
             "it ended; after %d it takes no more: their functions will not run",
             name, (int) self->tid, THREADREF_SENTINEL_MAX_WHILE_ENDING);
}

/* The locked list's newest node if it is the lifetime's newest of all,
 * else NULL (the owner's list has a newer one, never a node to join).
 * The caller holds the lock. */
static inline ThreadRefNode *
newest_of_both_locked (ThreadRefSentinel *self)
{
  if (self->newest == NULL ||
      __atomic_load_n (&self->own_stamp, __ATOMIC_RELAXED) > self->newest->stamp)
    return NULL;
  return self->newest;
}

/* Attaches node, or, if join is given and matches self's newest node,
 * returns that node instead and leaves node alone. */
static ThreadRefNode *
sentinel_attach (ThreadRefSentinel *self,
                 ThreadRefNode     *node,
                 ThreadRefNodeKind  kind,
                 GDestroyNotify     func,
                 gpointer           data,
                 guint              flags,
                 ThreadRefNodeJoin  join,
                 gpointer           key)
{
  ThreadRefNode *result = node;
  gboolean attached = TRUE;
  gboolean warn = FALSE;

  node->func = func;
  node->data = data;
  node->kind = kind;
  /* Every node: it orders the lifetime's two lists against each other, and
   * nodes that may run at process exit across threads (see own_stamp()). */
  node->stamp = 0;   /* below, under the lock, if it is attached */
  node->state = THREADREF_NODE_LIVE | flags;
  node->sentinel = self;

  g_mutex_lock (&self->lock);
  switch ((SentinelState) g_atomic_int_get (&self->state))
    {
    case SENTINEL_ALIVE:
      /* Linked nodes are LIVE: the newest one is safe to look at here. */
      if (join != NULL && join (self, newest_of_both_locked (self), key))
        result = self->newest;
      break;
    case SENTINEL_ENDING:
      /* Its thread runs what is attached now before the lifetime ends, under
       * this same lock, unless that never stops. */
      if (join != NULL && join (self, newest_of_both_locked (self), key))
        result = self->newest;
      else if (self->refusing)
        attached = FALSE;
      else if (++self->n_while_ending > THREADREF_SENTINEL_MAX_WHILE_ENDING)
        {
          self->refusing = TRUE;
          attached = FALSE;
          warn = TRUE;
        }
      break;
    case SENTINEL_ENDED:
    default:
      attached = FALSE;
      break;
    }
  if (attached && result == node)
    {
      /* Counted before the stamp is read (see own_stamp()), and only on a
       * lifetime that takes it: one that has ENDED is counted out. */
      if (kind & THREADREF_NODE_STAMPED)
        sentinel_note_stamping (self);
      node->stamp = stamp_now ();
      list_push (self, node);
      if (kind & THREADREF_NODE_HOLDER)
        self->n_holders++;
    }
  g_mutex_unlock (&self->lock);

  if (G_UNLIKELY (warn))
    warn_refusing (self);
  if (!attached || result != node)
    {
      threadref_node_init_unattached (node);
      /* Nobody can give a handle back for it: it is ours to free. */
      if ((kind & (THREADREF_NODE_PLAIN | THREADREF_NODE_NO_HANDLE)) ==
          (THREADREF_NODE_PLAIN | THREADREF_NODE_NO_HANDLE))
        g_free (node);
    }

  return attached ? result : NULL;
}

gboolean
threadref_sentinel_attach (ThreadRefSentinel *self,
                           ThreadRefNode     *node,
                           ThreadRefNodeKind  kind,
                           GDestroyNotify     func,
                           gpointer           data,
                           guint              flags)
{
  return sentinel_attach (self, node, kind, func, data, flags, NULL, NULL) != NULL;
}

ThreadRefNode *
threadref_sentinel_attach_or_join (ThreadRefSentinel *self,
                                   ThreadRefNode     *node,
                                   ThreadRefNodeKind  kind,
                                   GDestroyNotify     func,
                                   gpointer           data,
                                   guint              flags,
                                   ThreadRefNodeJoin  join,
                                   gpointer           key)
{
  return sentinel_attach (self, node, kind, func, data, flags, join, key);
}

/*
 * The owner's list.
 *
 * Plain nodes that a thread registers on its own ALIVE lifetime (the plain
 * path's everyday case) go to a second list that only the owner thread
 * links and unlinks, without the lock and without any atomic
 * read-modify-write: registering, running or cancelling one costs the
 * owner plain loads and stores (issue 13; the benchmark's "per callback"
 * section). Whatever other threads do to such a node — cancel it, claim it
 * for the exit pass, walk the list to count or claim — they do under the
 * lifetime's lock, and they pay for the owner's speed:
 *
 *  - the owner takes a node (to run it, or to cancel it) by unlinking it,
 *    marking it OWN_TAKEN in its kind word (only the owner writes that
 *    word's upper bits), then reading remote_active, the number of such
 *    operations under way in the process; if none is, it has won: nothing
 *    another thread does can touch the node any more;
 *  - another thread adds itself to remote_active and then makes every
 *    thread of the process go through a full memory barrier (membarrier(2),
 *    MEMBARRIER_CMD_PRIVATE_EXPEDITED) before it reads any node. Either the
 *    owner's read saw it (the owner then decides under the lock, as it
 *    does), or the barrier made the owner's unlink and mark visible before
 *    this thread reads: it leaves the node alone, and never reaches it in a
 *    walk. This is the asymmetric form of Dekker's algorithm; without
 *    membarrier (an old kernel, a seccomp filter) the owner pays a fence
 *    instead, and under ThreadSanitizer, which knows neither, the owner
 *    always decides under the lock;
 *  - a node another thread cancelled stays linked, DONE, until its owner
 *    meets it: in its end loop, or in a sweep once such nodes pile up;
 *  - a node the exit pass claimed stays linked too, CLAIMED and PASS_HELD
 *    (the pass keeps a pointer to it, and nobody frees it: the process is
 *    exiting); an owner that meets it before the pass ran it takes it back,
 *    under the lock, and runs it itself.
 *
 * The order of the lifetime's two lists against each other is the nodes'
 * creation stamps (every node has one).
 */

/* Owner-only bits of a node's kind word. */
#define OWN_TAKEN (1u << 24)

/* Operations of other threads on owners' lists under way. */
static gint remote_active;
/* exit_passing: an exit pass has taken its snapshot, and stamps must be
 * the clock's (declared above). */
/* Whether membarrier() makes the owners' side free (see above). */
static gboolean asymmetric;

#if defined (__SANITIZE_THREAD__)
# define OWNER_LOCK_FREE 0
#else
# define OWNER_LOCK_FREE 1
#endif

static void
own_barrier_init (void)
{
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
#if defined (SYS_membarrier) && OWNER_LOCK_FREE
      /* MEMBARRIER_CMD_QUERY = 0, _PRIVATE_EXPEDITED = 8,
       * _REGISTER_PRIVATE_EXPEDITED = 16 (linux/membarrier.h, Linux 4.14):
       * spelled out, since the header need not be installed. */
      long commands = syscall (SYS_membarrier, 0, 0, 0);

      asymmetric = commands > 0 && (commands & 8) && (commands & 16) &&
                   syscall (SYS_membarrier, 16, 0, 0) == 0;
#endif
      g_once_init_leave (&initialized, 1);
    }
}

/* Another thread starts an operation on some owner's list; the caller
 * holds that lifetime's lock. */
static inline void
remote_begin (void)
{
  __atomic_add_fetch (&remote_active, 1, __ATOMIC_SEQ_CST);
#if defined (SYS_membarrier)
  if (asymmetric && syscall (SYS_membarrier, 8, 0, 0) != 0)
    g_error ("threadref: membarrier() failed after it was registered: %s", g_strerror (errno));
#endif
}

static inline void
remote_end (void)
{
  __atomic_sub_fetch (&remote_active, 1, __ATOMIC_RELEASE);
}

/* The owner has unlinked node and marks it taken: TRUE if no other thread
 * can touch it any more, FALSE if one may be at it (the owner then decides
 * under the lock). */
static inline gboolean
own_take (ThreadRefNode *node)
{
#if OWNER_LOCK_FREE
  __atomic_store_n (&node->kind, node->kind | OWN_TAKEN, __ATOMIC_RELAXED);
  if (G_LIKELY (asymmetric))
    __atomic_signal_fence (__ATOMIC_SEQ_CST);
  else
    __atomic_thread_fence (__ATOMIC_SEQ_CST);
  return __atomic_load_n (&remote_active, __ATOMIC_ACQUIRE) == 0;
#else
  __atomic_store_n (&node->kind, node->kind | OWN_TAKEN, __ATOMIC_RELAXED);
  return FALSE;
#endif
}

static inline guint
node_load_state (ThreadRefNode *node)
{
  return __atomic_load_n (&node->state, __ATOMIC_ACQUIRE);
}

static inline void
node_store_mode (ThreadRefNode      *node,
                 guint               state,
                 ThreadRefNodeState  mode,
                 guint               flags)
{
  __atomic_store_n (&node->state, (state & ~THREADREF_NODE_STATE_MASK) | mode | flags, __ATOMIC_RELEASE);
}

/* Walks of an owner's list, by another thread, between remote_begin() and
 * remote_end(), holding the lifetime's lock. */
static inline ThreadRefNode *
own_walk_first (ThreadRefSentinel *self)
{
  return __atomic_load_n (&self->own_newest, __ATOMIC_ACQUIRE);
}

static inline ThreadRefNode *
own_walk_next (ThreadRefNode *node)
{
  return __atomic_load_n (&node->older, __ATOMIC_ACQUIRE);
}

/* Neither taken by its owner nor cancelled, claimed or run. */
static inline gboolean
own_walk_live (ThreadRefNode *node)
{
  return !(__atomic_load_n (&node->kind, __ATOMIC_RELAXED) & OWN_TAKEN) &&
         (node_load_state (node) & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_LIVE;
}

/* Owner only. */
static inline void
own_push (ThreadRefSentinel *self,
          ThreadRefNode     *node)
{
  ThreadRefNode *older = self->own_newest;

  node->newer = NULL;
  __atomic_store_n (&node->older, older, __ATOMIC_RELAXED);
  if (older != NULL)
    older->newer = node;
  __atomic_store_n (&self->own_newest, node, __ATOMIC_RELEASE);
  __atomic_store_n (&self->own_stamp, node->stamp, __ATOMIC_RELAXED);
  self->own_count++;
}

/* Owner only. */
static inline void
own_unlink (ThreadRefSentinel *self,
            ThreadRefNode     *node)
{
  ThreadRefNode *older = __atomic_load_n (&node->older, __ATOMIC_RELAXED);
  ThreadRefNode *newer = node->newer;

  if (newer != NULL)
    __atomic_store_n (&newer->older, older, __ATOMIC_RELAXED);
  else
    {
      __atomic_store_n (&self->own_newest, older, __ATOMIC_RELEASE);
      __atomic_store_n (&self->own_stamp, older != NULL ? older->stamp : 0, __ATOMIC_RELAXED);
    }
  if (older != NULL)
    older->newer = newer;
  self->own_count--;
}

/* A node of an owner's list has run (or was left by unwinding): its
 * owner no longer needs it, and no walk can reach it. */
static void
own_done (ThreadRefNode *node)
{
  guint prev;

  if ((node_kind (node) & THREADREF_NODE_NO_HANDLE) &&
      !(node_load_state (node) & THREADREF_NODE_PASS_HELD))
    {
      g_free (node);
      return;
    }

  /* A handle: its holder gives it back (HANDLE_GONE) before or after. */
  prev = __atomic_fetch_or (&node->state, THREADREF_NODE_DONE | THREADREF_NODE_UNLINKED, __ATOMIC_ACQ_REL);
  if ((prev & THREADREF_NODE_HANDLE_GONE) && !(prev & THREADREF_NODE_PASS_HELD))
    g_free (node);
}

/* Owner only: unlinks what other threads cancelled, once there are many. */
static void
own_sweep (ThreadRefSentinel *self)
{
  ThreadRefNode *swept = NULL;
  ThreadRefNode *node = self->own_newest;
  gboolean free_now = TRUE;

  while (node != NULL)
    {
      ThreadRefNode *older = __atomic_load_n (&node->older, __ATOMIC_RELAXED);
      guint state = node_load_state (node);

      if ((state & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_DONE &&
          !(state & THREADREF_NODE_PASS_HELD))
        {
          own_unlink (self, node);
          free_now &= own_take (node);
          __atomic_sub_fetch (&self->own_dead, 1, __ATOMIC_RELAXED);
          node->newer = swept;
          swept = node;
        }
      node = older;
    }

  /* A walk may be under way: it holds the lock, so wait for it. */
  if (!free_now)
    g_mutex_lock (&self->lock);
  while (swept != NULL)
    {
      ThreadRefNode *next = swept->newer;

      g_free (swept);
      swept = next;
    }
  if (!free_now)
    g_mutex_unlock (&self->lock);
}

/* A stamp for a node of the owner's list. Within the lifetime a node must
 * be newer than whatever was pushed before it on either list: the newest
 * stamp of each is enough. Only what may run at process exit (STAMPED)
 * needs a place among other threads' registrations too: newer than what
 * happened before it on any thread. The clock gives that (about 8 ns here,
 * a third of the whole registration), but it is needed only while another
 * lifetime stamps too: alone, a lifetime counts on from its newest stamp,
 * which never gets ahead of the clock (each registration takes more than a
 * tick), so what another thread registers later, after some
 * synchronisation, is newer — and that thread is counted in
 * stamping_lifetimes before its first stamp, so this one sees it there
 * after the same synchronisation and reads the clock again. */
static inline guint64
own_stamp (ThreadRefSentinel *self,
           ThreadRefNodeKind  kind)
{
  guint64 newest = MAX (self->own_last_stamp, __atomic_load_n (&self->locked_stamp, __ATOMIC_RELAXED));

  if (!(kind & THREADREF_NODE_STAMPED))
    return newest;
  sentinel_note_stamping (self);
  /* The exit pass's snapshot is a clock reading too: what is registered
   * after it must be stamped after it. */
  if (__atomic_load_n (&stamping_lifetimes, __ATOMIC_ACQUIRE) > 1 ||
      __atomic_load_n (&exit_passing, __ATOMIC_RELAXED))
    return stamp_now ();
  return newest + 1;
}

void
threadref_sentinel_attach_own (ThreadRefSentinel *self,
                               ThreadRefNode     *node,
                               ThreadRefNodeKind  kind,
                               GDestroyNotify     func,
                               gpointer           data,
                               guint              flags)
{
  guint dead;

  g_assert (kind & THREADREF_NODE_PLAIN);

  node->func = func;
  node->data = data;
  node->kind = kind | THREADREF_NODE_OWN;
  node->stamp = own_stamp (self, kind);
  self->own_last_stamp = node->stamp;
  node->state = THREADREF_NODE_LIVE | flags;
  node->sentinel = self;
  if (kind & THREADREF_NODE_HOLDER)
    self->own_holders++;
  own_push (self, node);

  dead = (guint) __atomic_load_n (&self->own_dead, __ATOMIC_RELAXED);
  if (G_UNLIKELY (dead > 32) && dead * 2 > self->own_count)
    own_sweep (self);
}

/* After an owner's node ran, or was left by unwinding. */
static void
own_run_finish (ThreadRefNode **running)
{
  own_done (*running);
}

/* The owner's end loop runs the newest node of its list. */
static void
own_fire (ThreadRefSentinel *self,
          ThreadRefNode     *node)
{
  guint state;

  own_unlink (self, node);
  if (G_LIKELY (own_take (node)))
    {
      state = node_load_state (node);
      if (G_LIKELY ((state & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_LIVE))
        goto run;
    }

  /* Another thread may be at it: decide under the lock, where they do. */
  g_mutex_lock (&self->lock);
  state = node_load_state (node);
  switch (state & THREADREF_NODE_STATE_MASK)
    {
    case THREADREF_NODE_LIVE:
    case THREADREF_NODE_CLAIMED:
      /* CLAIMED: the exit pass took it but has not run it: this thread
       * takes it back and runs it itself, before its end is over. */
      node_store_mode (node, state, THREADREF_NODE_FIRING, 0);
      g_mutex_unlock (&self->lock);
      goto run;
    case THREADREF_NODE_DONE:
      if (!(state & THREADREF_NODE_PASS_HELD))
        {
          /* Cancelled by another thread, which left it to us; no walk is
           * out while we hold the lock. */
          __atomic_sub_fetch (&self->own_dead, 1, __ATOMIC_RELAXED);
          g_free (node);
        }
      break;
    case THREADREF_NODE_FIRING:
    default:
      /* The exit pass runs it: its pointer stays good. */
      break;
    }
  g_mutex_unlock (&self->lock);
  return;

run:
  {
    ThreadRefNode *running __attribute__ ((cleanup (own_run_finish))) = node;

    if (G_UNLIKELY (self->debug))
      self->n_ran[2]++;
    running->func (running->data);
  }
}

/* Gives back a handle of the owner's list, on the owner thread while the
 * lifetime is ALIVE. */
static gboolean
own_give_back (ThreadRefSentinel *self,
               ThreadRefNode     *node)
{
  guint state;
  gboolean cancelled = FALSE;

  self->own_holders--;
  own_unlink (self, node);
  if (G_LIKELY (own_take (node)))
    {
      state = node_load_state (node);
      if (G_LIKELY ((state & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_LIVE))
        {
          g_free (node);
          return TRUE;
        }
    }

  g_mutex_lock (&self->lock);
  state = node_load_state (node);
  switch (state & THREADREF_NODE_STATE_MASK)
    {
    case THREADREF_NODE_LIVE:
      g_mutex_unlock (&self->lock);
      g_free (node);
      return TRUE;
    case THREADREF_NODE_CLAIMED:
      /* The exit pass has not run it yet: it never will. It keeps the
       * pointer. */
      node_store_mode (node, state, THREADREF_NODE_DONE, THREADREF_NODE_HANDLE_GONE);
      cancelled = TRUE;
      break;
    default:
      /* The exit pass runs it, or ran it: it keeps the pointer. */
      __atomic_fetch_or (&node->state, THREADREF_NODE_HANDLE_GONE, __ATOMIC_ACQ_REL);
      break;
    }
  g_mutex_unlock (&self->lock);

  return cancelled;
}

/* Gives back a handle of an owner's list from another thread, or after its
 * lifetime stopped being ALIVE. */
static gboolean
own_give_back_elsewhere (ThreadRefSentinel *self,
                         ThreadRefNode     *node)
{
  gboolean cancelled = FALSE;
  gboolean free_node = FALSE;
  gboolean unused;
  guint state;

  g_mutex_lock (&self->lock);
  remote_begin ();
  state = node_load_state (node);
  if (!(__atomic_load_n (&node->kind, __ATOMIC_RELAXED) & OWN_TAKEN) &&
      ((state & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_LIVE ||
       (state & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_CLAIMED))
    {
      /* Its owner has not taken it, nor the exit pass run it: cancelled.
       * It stays linked (only the owner unlinks) and the owner frees it;
       * one the pass claimed the pass keeps. */
      node_store_mode (node, state, THREADREF_NODE_DONE, THREADREF_NODE_HANDLE_GONE);
      if (!(state & THREADREF_NODE_PASS_HELD))
        __atomic_add_fetch (&self->own_dead, 1, __ATOMIC_RELAXED);
      cancelled = TRUE;
    }
  else
    {
      /* Run or running: whoever of its runner and us comes second frees
       * it. */
      guint prev = __atomic_fetch_or (&node->state, THREADREF_NODE_HANDLE_GONE, __ATOMIC_ACQ_REL);

      free_node = (prev & THREADREF_NODE_UNLINKED) && !(prev & THREADREF_NODE_PASS_HELD);
    }
  remote_end ();
  self->remote_gone++;
  unused = sentinel_unused_locked (self);
  g_mutex_unlock (&self->lock);

  if (free_node)
    g_free (node);
  if (unused)
    sentinel_release (self);

  return cancelled;
}

void
threadref_node_init_unattached (ThreadRefNode *node)
{
  node->sentinel = NULL;
  node->state = THREADREF_NODE_DONE;
}

ThreadRefNode *
threadref_node_new_plain (void)
{
  return g_new (ThreadRefNode, 1);
}

gboolean
threadref_node_cancel (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  ThreadRefNodeState state;

  g_assert (self != NULL);

  g_mutex_lock (&self->lock);
  state = node_get_state (node);
  if (state == THREADREF_NODE_LIVE)
    {
      list_unlink (self, node);
      node_set_state_locked (node, THREADREF_NODE_DONE);
    }
  g_mutex_unlock (&self->lock);

  if (state == THREADREF_NODE_LIVE)
    return TRUE;

  /* A runner unlinked this node and is about to take a strong reference on
   * its object (see threadref_node_run()). That is a g_object_ref() away
   * and blocks on nothing, so wait for it: returning now could let the
   * object be finalized under the runner. */
  if (state == THREADREF_NODE_CLAIMED)
    __atomic_fetch_or (&node->state, THREADREF_NODE_RESURRECTED, __ATOMIC_ACQ_REL);
  while (node_get_state (node) == THREADREF_NODE_CLAIMED)
    g_thread_yield ();

  return FALSE;
}

gboolean
threadref_node_was_resurrected (ThreadRefNode *node)
{
  return (__atomic_load_n (&node->state, __ATOMIC_ACQUIRE) & THREADREF_NODE_RESURRECTED) != 0;
}

gboolean
threadref_node_claim (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  gboolean claimed = FALSE;

  if (self == NULL)
    return FALSE;

  g_mutex_lock (&self->lock);
  if (node_get_state (node) == THREADREF_NODE_LIVE)
    {
      /* The caller holds a reference on the object: no weak-object dance. */
      list_unlink (self, node);
      node_set_state_locked (node, THREADREF_NODE_FIRING);
      claimed = TRUE;
    }
  g_mutex_unlock (&self->lock);

  return claimed;
}

void
threadref_node_set_process_exit (ThreadRefNode *node,
                                 gboolean       process_exit)
{
  ThreadRefSentinel *self = node->sentinel;

  if (self == NULL)
    {
      /* Never attached: nobody else sees it. */
      if (process_exit)
        node->state |= THREADREF_NODE_PROCESS_EXIT;
      else
        node->state &= ~(guint) THREADREF_NODE_PROCESS_EXIT;
      return;
    }

  g_mutex_lock (&self->lock);
  if (process_exit)
    g_atomic_int_or (&node->state, THREADREF_NODE_PROCESS_EXIT);
  else
    g_atomic_int_and (&node->state, ~(guint) THREADREF_NODE_PROCESS_EXIT);
  g_mutex_unlock (&self->lock);
}

void
threadref_node_release (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  gboolean unused;

  g_assert (node_kind (node) & THREADREF_NODE_HOLDER);
  if (self == NULL)
    return;

  g_mutex_lock (&self->lock);
  g_assert (self->n_holders > 0);
  self->n_holders--;
  unused = sentinel_unused_locked (self);
  g_mutex_unlock (&self->lock);

  if (unused)
    sentinel_release (self);
}

gboolean
threadref_node_give_back (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;
  gboolean cancelled;
  gboolean unused;

  g_assert ((node_kind (node) & (THREADREF_NODE_PLAIN | THREADREF_NODE_HOLDER)) ==
            (THREADREF_NODE_PLAIN | THREADREF_NODE_HOLDER));

  if (self == NULL)
    {
      /* Never attached. */
      g_free (node);
      return FALSE;
    }

  if (node_kind (node) & THREADREF_NODE_OWN)
    {
      /* Its list is its owner's: only the owner, while the lifetime is
       * ALIVE (it is the one that ends it), may unlink. */
      if (self->owner == thread_serial () &&
          __atomic_load_n (&self->state, __ATOMIC_RELAXED) == SENTINEL_ALIVE)
        return own_give_back (self, node);
      return own_give_back_elsewhere (self, node);
    }

  g_mutex_lock (&self->lock);
  cancelled = node_get_state (node) == THREADREF_NODE_LIVE;
  if (cancelled)
    {
      list_unlink (self, node);
      node_set_state_locked (node, THREADREF_NODE_DONE);
    }
  g_assert (self->n_holders > 0);
  self->n_holders--;
  unused = sentinel_unused_locked (self);
  g_mutex_unlock (&self->lock);

  if (unused)
    sentinel_release (self);

  /* Not cancelled: a runner may still be using the node. Whichever of us
   * comes second frees it (see plain_node_finish()). */
  if (cancelled ||
      (g_atomic_int_or (&node->state, THREADREF_NODE_HANDLE_GONE) & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_DONE)
    g_free (node);

  return cancelled;
}

/* After a plain node's function returned or left by unwinding (a thread
 * exit, a cancellation or an exception passing through). */
static void
plain_node_finish (ThreadRefNode **running)
{
  ThreadRefNode *node = *running;

  if (node_kind (node) & THREADREF_NODE_NO_HANDLE)
    g_free (node);
  else if (g_atomic_int_or (&node->state, THREADREF_NODE_DONE) & THREADREF_NODE_HANDLE_GONE)
    g_free (node);
}

void
threadref_node_run (ThreadRefNode *node)
{
  if (node_kind (node) & THREADREF_NODE_WEAK_OBJECT)
    {
      ThreadRefSentinel *self = node->sentinel;
      guint state;

      /* The object may be in dispose on another thread right now, waiting
       * in threadref_node_cancel() for exactly this reference. */
      g_object_ref (node->data);
      /* A compare-and-swap, not a load and a store: the canceller may set
       * THREADREF_NODE_RESURRECTED in between, and that bit must survive. */
      state = __atomic_load_n (&node->state, __ATOMIC_RELAXED);
      while (!__atomic_compare_exchange_n (&node->state, &state,
                                           (state & ~THREADREF_NODE_STATE_MASK) | THREADREF_NODE_FIRING,
                                           TRUE, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        ;
      g_atomic_pointer_set (&self->claimed, NULL);
    }

  if (node_kind (node) & THREADREF_NODE_PLAIN)
    {
      ThreadRefNode *running __attribute__ ((cleanup (plain_node_finish))) = node;

      running->func (running->data);
      return;
    }

  /* An object node: its function drops the reference the node was run
   * with, and the node lives inside the object. */
  node->func (node->data);
}

/* The end loop's version, which counts what runs when debugging. */
static inline void
node_run_counted (ThreadRefSentinel *self,
                  ThreadRefNode     *node)
{
  if (G_UNLIKELY (self->debug))
    self->n_ran[(node_kind (node) & THREADREF_NODE_PLAIN) ? 2 :
                (node_kind (node) & THREADREF_NODE_WEAK_OBJECT) ? 0 : 1]++;
  threadref_node_run (node);
}

void
threadref_sentinel_begin_end (ThreadRefSentinel *self)
{
  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->state) == SENTINEL_ALIVE)
    g_atomic_int_set (&self->state, SENTINEL_ENDING);
  g_mutex_unlock (&self->lock);
}

void
threadref_sentinel_drain (ThreadRefSentinel *self)
{
  threadref_sentinel_drain_until (self, NULL, NULL);
}

gboolean
threadref_sentinel_drain_until (ThreadRefSentinel  *self,
                                ThreadRefDrainStop  stop,
                                gpointer            data)
{
  for (;;)
    {
      ThreadRefNode *own = self->own_newest;
      ThreadRefNode *node;

      /* Newest first across both lists. The locked list's stamp may be a
       * moment old: what another thread attaches meanwhile is concurrent
       * with this node and has no order to keep. */
      if (own != NULL && own->stamp >= __atomic_load_n (&self->locked_stamp, __ATOMIC_RELAXED))
        {
          own_fire (self, own);
          if (stop != NULL && stop (data))
            return FALSE;
          continue;
        }

      g_mutex_lock (&self->lock);
      node = self->newest;
      if (node == NULL || (own != NULL && own->stamp >= node->stamp))
        {
          g_mutex_unlock (&self->lock);
          if (own != NULL)
            continue;
          return TRUE;
        }
      node_claim_locked (self, node);
      g_mutex_unlock (&self->lock);

      node_run_counted (self, node);
      if (stop != NULL && stop (data))
        return FALSE;
    }
}

gboolean
threadref_sentinel_finish_end (ThreadRefSentinel *self)
{
  GQueue observers;
  GThread *thread;
  gboolean unused;

  /* A watch from another thread may attach until the lifetime is ENDED,
   * under this lock: run what came in since the last drain. */
  for (;;)
    {
      g_mutex_lock (&self->lock);
      if (self->newest == NULL && self->own_newest == NULL)
        {
          /* What the exit pass claimed and has not run yet, the caller
           * takes back and runs first (threadref-exit.c). */
          if (self->n_held_by_pass > 0)
            {
              g_mutex_unlock (&self->lock);
              return FALSE;
            }
          break;
        }
      g_mutex_unlock (&self->lock);
      threadref_sentinel_drain (self);
    }

  g_atomic_int_set (&self->state, SENTINEL_ENDED);
  if (__atomic_exchange_n (&self->stamping, 0, __ATOMIC_ACQ_REL))
    __atomic_sub_fetch (&stamping_lifetimes, 1, __ATOMIC_RELEASE);
  observers = self->observers;
  g_queue_init (&self->observers);
  for (GList *l = observers.head; l != NULL; l = l->next)
    ((ThreadRefEndObserver *) l->data)->queued = FALSE;
  /* A weak reference keeps nothing of an ended thread: GLib detaches a
   * GThread nobody joins only when its last reference goes, and until then
   * glibc keeps the dead thread's stack. */
  thread = g_steal_pointer (&self->thread);
  unused = sentinel_unused_locked (self);
  g_mutex_unlock (&self->lock);

  g_clear_pointer (&thread, g_thread_unref);

  if (G_UNLIKELY (self->debug))
    {
      char name[32];

      g_debug ("thread “%s” (%d): lifetime %" G_GUINT64_FORMAT " ended: ran %u refs, "
               "%u finalizers and %u plain registrations",
               threadref_thread_name (name, sizeof name), (int) self->tid,
               self->registry_link.serial, self->n_ran[0], self->n_ran[1], self->n_ran[2]);
    }

  /* Observers hold the lifetime (through a ref), so it is still here. */
  while (!g_queue_is_empty (&observers))
    {
      ThreadRefEndObserver *observer = g_queue_pop_head_link (&observers)->data;

      observer->ended (observer);
    }

  if (unused)
    sentinel_release (self);

  return TRUE;
}

static inline gboolean
exit_eligible (guint    state,
               guint64  stamp,
               guint64  stamp_limit)
{
  return (state & THREADREF_NODE_STATE_MASK) == THREADREF_NODE_LIVE &&
         (state & THREADREF_NODE_PROCESS_EXIT) &&
         (stamp <= stamp_limit || (state & THREADREF_NODE_EXIT_PASS));
}

/* Whether the exit pass looks at self at all. The registry lock is held. */
static inline gboolean
exit_walks (ThreadRefSentinel *self,
            guint64            me)
{
  return self->owner != me && g_atomic_int_get (&self->state) != SENTINEL_ENDED;
}

guint
threadref_sentinel_count_for_exit (guint64 stamp_limit)
{
  guint64 me = thread_serial ();
  guint n = 0;

  threadref_registry_lock ();
  remote_begin ();
  for (ThreadRefRegistryLink *link = threadref_registry_first (); link != NULL; link = link->next)
    {
      ThreadRefSentinel *self = SENTINEL_FROM_LINK (link);

      g_mutex_lock (&self->lock);
      if (exit_walks (self, me))
        {
          for (ThreadRefNode *node = self->newest; node != NULL; node = node->older)
            n += exit_eligible (node->state, node->stamp, stamp_limit);
          for (ThreadRefNode *node = own_walk_first (self); node != NULL; node = own_walk_next (node))
            n += own_walk_live (node) && exit_eligible (node_load_state (node), node->stamp, stamp_limit);
        }
      g_mutex_unlock (&self->lock);
    }
  remote_end ();
  threadref_registry_unlock ();

  return n;
}

guint
threadref_sentinel_claim_for_exit (guint64         stamp_limit,
                                   ThreadRefNode **out,
                                   guint           capacity)
{
  guint64 me = thread_serial ();
  guint n = 0;

  threadref_registry_lock ();
  remote_begin ();
  for (ThreadRefRegistryLink *link = threadref_registry_first ();
       link != NULL && n < capacity; link = link->next)
    {
      ThreadRefSentinel *self = SENTINEL_FROM_LINK (link);

      g_mutex_lock (&self->lock);
      if (exit_walks (self, me))
        {
          ThreadRefNode *node = self->newest;

          /* The locked list: unlinked, and held by the pass until it has
           * run them or the lifetime's thread takes them back. */
          while (node != NULL && n < capacity)
            {
              ThreadRefNode *older = node->older;

              if (exit_eligible (node->state, node->stamp, stamp_limit))
                {
                  node_claim_locked (self, node);
                  self->n_held_by_pass++;
                  out[n++] = node;
                }
              node = older;
            }

          /* The owner's list: claimed in place; its owner may take them back
           * (threadref_sentinel_run_for_exit()). */
          for (node = own_walk_first (self); node != NULL && n < capacity; node = own_walk_next (node))
            {
              guint state = node_load_state (node);

              if (own_walk_live (node) && exit_eligible (state, node->stamp, stamp_limit))
                {
                  node_store_mode (node, state, THREADREF_NODE_CLAIMED, THREADREF_NODE_PASS_HELD);
                  out[n++] = node;
                }
            }
        }
      g_mutex_unlock (&self->lock);
    }
  remote_end ();
  threadref_registry_unlock ();

  return n;
}

void
threadref_sentinel_run_for_exit (ThreadRefNode *node)
{
  ThreadRefSentinel *lifetime = node->sentinel;
  guint state;

  if (!(node_kind (node) & THREADREF_NODE_OWN))
    {
      /* The node may be gone once it has run; its lifetime stays until
       * pass_done() says it was run. */
      threadref_node_run (node);
      threadref_sentinel_pass_done (lifetime, 1);
      return;
    }

  /* Still linked in its owner's list, or unlinked by its owner, who then
   * took it back or leaves it to us. It is never freed (PASS_HELD): the
   * process is exiting. */
  g_mutex_lock (&lifetime->lock);
  state = node_load_state (node);
  if ((state & THREADREF_NODE_STATE_MASK) != THREADREF_NODE_CLAIMED)
    {
      g_mutex_unlock (&lifetime->lock);
      return;
    }
  node_store_mode (node, state, THREADREF_NODE_FIRING, 0);
  g_mutex_unlock (&lifetime->lock);

  {
    ThreadRefNode *running __attribute__ ((cleanup (own_run_finish))) = node;

    running->func (running->data);
  }
}

void
threadref_sentinel_pass_drop_locked (ThreadRefNode *node)
{
  ThreadRefSentinel *self = node->sentinel;

  /* One of an owner's list stays there, as its lifetime's nodes do. */
  if (node_kind (node) & THREADREF_NODE_OWN)
    return;
  g_assert (self->n_held_by_pass > 0);
  self->n_held_by_pass--;
  node_set_state_locked (node, THREADREF_NODE_DONE);
}

void
threadref_sentinel_pass_done (ThreadRefSentinel *self,
                              guint              n)
{
  gboolean unused;

  g_mutex_lock (&self->lock);
  g_assert (self->n_held_by_pass >= n);
  self->n_held_by_pass -= n;
  unused = sentinel_unused_locked (self);
  g_mutex_unlock (&self->lock);

  if (unused)
    sentinel_release (self);
}

void
threadref_sentinel_give_back_held (ThreadRefSentinel *self,
                                   ThreadRefNode     *nodes,
                                   guint              n)
{
  ThreadRefNode *oldest;

  g_mutex_lock (&self->lock);
  oldest = self->newest;
  while (oldest != NULL && oldest->older != NULL)
    oldest = oldest->older;
  /* The only move of a node back to LIVE: the pass claimed it but never
   * ran it. It is older than anything in the list, which holds what was
   * attached after the pass's snapshot. */
  while (nodes != NULL)
    {
      ThreadRefNode *node = nodes;

      nodes = node->older;
      node->older = NULL;
      node->newer = oldest;
      if (oldest != NULL)
        oldest->older = node;
      else
        self->newest = node;
      oldest = node;
      node_set_state_locked (node, THREADREF_NODE_LIVE);
    }
  g_assert (self->n_held_by_pass >= n);
  self->n_held_by_pass -= n;
  g_mutex_unlock (&self->lock);
}

void
threadref_sentinel_warn_dropped (void)
{
  pid_t dropped[16];
  guint n_dropped = 0;
  guint64 me = thread_serial ();
  pid_t pid = getpid ();

  threadref_registry_lock ();
  for (ThreadRefRegistryLink *link = threadref_registry_first (); link != NULL; link = link->next)
    {
      ThreadRefSentinel *self = SENTINEL_FROM_LINK (link);

      if (self->owner != me && g_atomic_int_get (&self->state) == SENTINEL_ALIVE &&
          syscall (SYS_tgkill, pid, self->tid, 0) != 0 && errno == ESRCH &&
          n_dropped < G_N_ELEMENTS (dropped))
        dropped[n_dropped++] = self->tid;
    }
  threadref_registry_unlock ();

  for (guint i = 0; i < n_dropped; i++)
    g_warning ("threadref: thread %d ended but its lifetime never did: its "
               "first registration came from another library's thread-local "
               "destructor in glibc's last round, which glibc drops without "
               "a word; its finalizers run now, at process exit",
               (int) dropped[i]);
}

gboolean
threadref_sentinel_observe_end (ThreadRefSentinel    *self,
                                ThreadRefEndObserver *observer)
{
  gboolean added = FALSE;

  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->state) != SENTINEL_ENDED)
    {
      observer->link.data = observer;
      observer->queued = TRUE;
      observer->thread = thread_serial ();
      g_queue_push_tail_link (&self->observers, &observer->link);
      added = TRUE;
    }
  g_mutex_unlock (&self->lock);

  return added;
}

gboolean
threadref_sentinel_unobserve_end (ThreadRefSentinel    *self,
                                  ThreadRefEndObserver *observer)
{
  gboolean removed = FALSE;

  g_mutex_lock (&self->lock);
  if (observer->queued)
    {
      g_queue_unlink (&self->observers, &observer->link);
      observer->queued = FALSE;
      removed = TRUE;
    }
  g_mutex_unlock (&self->lock);

  return removed;
}

gboolean
threadref_sentinel_is_alive (ThreadRefSentinel *self)
{
  return g_atomic_int_get (&self->state) == SENTINEL_ALIVE;
}

gboolean
threadref_sentinel_has_nodes (ThreadRefSentinel *self)
{
  gboolean has_nodes;

  /* The owner's list is the caller's own (it is the owner). */
  g_mutex_lock (&self->lock);
  has_nodes = self->newest != NULL || self->own_newest != NULL;
  g_mutex_unlock (&self->lock);

  return has_nodes;
}

guint
threadref_sentinel_count_nodes (ThreadRefSentinel *self)
{
  guint n = 0;

  g_mutex_lock (&self->lock);
  for (ThreadRefNode *node = self->newest; node != NULL; node = node->older)
    n++;
  /* What other threads cancelled is still linked there, until its owner
   * meets it: count what is LIVE. */
  remote_begin ();
  for (ThreadRefNode *node = own_walk_first (self); node != NULL; node = own_walk_next (node))
    n += own_walk_live (node);
  remote_end ();
  g_mutex_unlock (&self->lock);

  return n;
}

gboolean
threadref_sentinel_is_ended (ThreadRefSentinel *self)
{
  return g_atomic_int_get (&self->state) == SENTINEL_ENDED;
}

gboolean
threadref_sentinel_is_own (ThreadRefSentinel *self)
{
  return self->owner == thread_serial ();
}

GThread *
threadref_sentinel_dup_thread (ThreadRefSentinel *self)
{
  GThread *thread = NULL;

  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->state) == SENTINEL_ALIVE && self->thread != NULL)
    thread = g_thread_ref (self->thread);
  g_mutex_unlock (&self->lock);

  return thread;
}

guint64
threadref_sentinel_get_serial (ThreadRefSentinel *self)
{
  return self->registry_link.serial;
}

guint
threadref_sentinel_hash (ThreadRefSentinel *self)
{
  guint64 serial = self->registry_link.serial;

  return (guint) (serial ^ (serial >> 32));
}

/* fork(): the child has one thread, a copy of the one that forked. Another
 * thread may have held a lifetime's lock at that moment, so the parent takes
 * every lock before forking (registry first, as everywhere) and both sides
 * let go of them after. Critical sections are short and never call out, so
 * this only waits for sections already running. */
void
threadref_sentinel_fork_prepare (void)
{
  for (ThreadRefRegistryLink *link = threadref_registry_first (); link != NULL; link = link->next)
    g_mutex_lock (&SENTINEL_FROM_LINK (link)->lock);
}

void
threadref_sentinel_fork_parent (void)
{
  for (ThreadRefRegistryLink *link = threadref_registry_first (); link != NULL; link = link->next)
    g_mutex_unlock (&SENTINEL_FROM_LINK (link)->lock);
}

/* In the child, every lifetime but the forking thread's belongs to a thread
 * that does not exist here: it has ended, and its nodes never run. Only
 * async-signal-safe work is done (no GObject, no callbacks, no free of
 * anything user code may still reach): the child may be about to exec.
 * What those lifetimes held stays allocated in the child. */
void
threadref_sentinel_fork_child (void)
{
  guint64 me = thread_serial ();

  for (ThreadRefRegistryLink *link = threadref_registry_first (); link != NULL; link = link->next)
    {
      ThreadRefSentinel *self = SENTINEL_FROM_LINK (link);

      /* Threads of the parent that waited for a lifetime that goes on
       * here (the forking thread's) wait no more: forget their observers.
       * An async wait's observer of the forking thread stays. */
      for (GList *l = self->observers.head; l != NULL;)
        {
          GList *next = l->next;

          if (((ThreadRefEndObserver *) l->data)->thread != me)
            g_queue_unlink (&self->observers, l);
          l = next;
        }

      if (self->owner != me && g_atomic_int_get (&self->state) != SENTINEL_ENDED)
        {
          ThreadRefNode *node = self->newest;

          while (node != NULL)
            {
              ThreadRefNode *older = node->older;

              node->newer = node->older = NULL;
              node_set_state_locked (node, THREADREF_NODE_DONE);
              node = older;
            }
          list_set_newest (self, NULL);
          /* The owner's list: every node reachable from its newest is
           * allocated whatever the owner was doing at fork() (it frees only
           * what it has unlinked). They are its handles' holders' now: what
           * is given back stays allocated here. */
          for (node = self->own_newest; node != NULL;)
            {
              ThreadRefNode *older = node->older;

              node->state = (node->state & ~THREADREF_NODE_STATE_MASK) | THREADREF_NODE_DONE;
              node = older;
            }
          self->own_newest = NULL;
          self->own_stamp = 0;
          self->own_count = 0;
          if (self->stamping)
            {
              self->stamping = 0;
              stamping_lifetimes--;
            }
          self->own_dead = 0;
          /* A node its vanished thread had claimed but not referenced would
           * make the ref's dispose wait forever. */
          if (self->claimed != NULL)
            {
              node_set_state_locked (self->claimed, THREADREF_NODE_DONE);
              self->claimed = NULL;
            }
          /* An async wait's GTask cannot be completed here. */
          g_queue_init (&self->observers);
          /* What an exit pass in progress held of it never runs here
           * either: threadref_exit_fork_child() dropped it, and the node
           * the pass runs right now, if any, it gives back with
           * pass_done(). */
          /* Its GThread is the parent's: the reference is kept, not dropped. */
          self->thread = NULL;
          g_atomic_int_set (&self->state, SENTINEL_ENDED);
        }
      /* The child's only thread is the one that took it. */
      g_mutex_unlock (&self->lock);
    }
}
