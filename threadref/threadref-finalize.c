/* threadref-finalize.c: ThreadRefFinalize, a finalizer for the thread that made
 * it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-finalize.h"
#include "threadref-object-node-private.h"
#include "threadref-ref-private.h"

/**
 * ThreadRefFinalize:
 *
 * A function to run once when the thread that created it ends: the C
 * counterpart of Python's `threadref.finalize(func, *args)`, itself a
 * `weakref.finalize` for the current thread.
 *
 * A finalizer keeps itself alive until it has run or been detached, so the
 * caller may drop its reference right after creating it. Its function runs
 * exactly once, whichever comes first:
 *
 * - the thread ends: it runs on the ending thread, after every newer ref and
 *   finalizer of that thread;
 * - the process exits normally: if the exiting thread is its thread, as
 *   above; otherwise on the exiting thread, if
 *   [property@ThreadRef.Finalize:atexit] is %TRUE (the default);
 * - [method@ThreadRef.Finalize.call] is called, from any thread: it runs
 *   there and then.
 *
 * [method@ThreadRef.Finalize.detach] cancels it instead.
 *
 * ```c
 * // on a worker thread: close this thread's connection when it ends
 * Connection *conn = connection_open ();
 * g_object_unref (threadref_finalize_new ((ThreadRefFinalizeFunc) connection_close, conn, NULL));
 * ```
 *
 * Since: 1.0
 */
struct _ThreadRefFinalize
{
  GObject              parent_instance;

  ThreadRefObjectNode  on;   /* callback: a ThreadRefFinalizeFunc */
};

/* Not final, for the constructors' private subtype below; the header
 * declares it final, so nothing else can derive from it. */
G_DEFINE_TYPE (ThreadRefFinalize, threadref_finalize, G_TYPE_OBJECT)

/* What the constructors make (see threadref-object-node-private.h). */
typedef struct {
  ThreadRefFinalize parent_instance;
} ThreadRefFinalizeImpl;

typedef struct {
  ThreadRefFinalizeClass parent_class;
} ThreadRefFinalizeImplClass;

static GType threadref_finalize_impl_get_type (void);

G_DEFINE_FINAL_TYPE (ThreadRefFinalizeImpl, threadref_finalize_impl, THREADREF_TYPE_FINALIZE)

enum {
  PROP_0,
  PROP_ALIVE,
  PROP_ATEXIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static inline ThreadRefObjectNode *
finalize_node (ThreadRefFinalize *self)
{
  return &self->on;
}

/* Drops the reference the finalizer held on itself since it was created:
 * it has run or been detached. */
static void
threadref_finalize_die (ThreadRefFinalize *self)
{
  g_object_notify_by_pspec ((GObject *) self, properties[PROP_ALIVE]);
  g_object_unref (self);
}

static void
die_guard (ThreadRefFinalize **self)
{
  threadref_finalize_die (*self);
}

static void
destroy_notify_guard (ThreadRefFinalize **self)
{
  threadref_object_node_destroy_notify (finalize_node (*self));
}

/* The node's function, on whichever thread claimed the node. The function
 * may leave by unwinding (it exits the thread, or throws): the destroy
 * notify runs and the finalizer dies on the way out all the same. */
static void
threadref_finalize_fire (gpointer data)
{
  ThreadRefFinalize *dying __attribute__ ((cleanup (die_guard))) = data;
  ThreadRefFinalize *self __attribute__ ((cleanup (destroy_notify_guard))) = dying;
  ThreadRefObjectNode *on = finalize_node (self);
  ThreadRefFinalizeFunc func = (ThreadRefFinalizeFunc) on->callback;

  func (on->user_data);
}

/* Only g_object_new() of the public type alone comes here (the
 * constructors' subtype has GObject's own constructor): a finalizer
 * without a function to run. Refused at once with a critical, and what is
 * made is dead (never attached: alive is FALSE, call() and detach() do
 * nothing), rather than a finalizer that says it is alive and runs
 * nothing. Not NULL: GObject calls a constructor that returns NULL a bug
 * of the type, and bindings then wrap nothing (GJS). */
static GObject *
threadref_finalize_constructor (GType                  type,
                                guint                  n_construct_properties,
                                GObjectConstructParam *construct_properties)
{
  g_critical ("A ThreadRef.Finalize needs a function to run: make it with "
              "threadref_finalize_new() (ThreadRef.Finalize.new(func) or "
              "ThreadRef.Finalize(func) in other languages), not with "
              "g_object_new() alone. What was made is dead and runs nothing.");
  return G_OBJECT_CLASS (threadref_finalize_parent_class)->constructor (type,
                                                                        n_construct_properties,
                                                                        construct_properties);
}

static void
threadref_finalize_finalize (GObject *object)
{
  ThreadRefObjectNode *on = finalize_node ((ThreadRefFinalize *) object);

  if (threadref_object_node_is_attached (on))
    threadref_node_release (&on->node);
  else
    threadref_object_node_destroy_notify (on);

  ((GObjectClass *) threadref_finalize_parent_class)->finalize (object);
}

static void
threadref_finalize_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  ThreadRefFinalize *self = (ThreadRefFinalize *) object;

  switch (prop_id)
    {
    case PROP_ALIVE:
      g_value_set_boolean (value, threadref_finalize_is_alive (self));
      break;

    case PROP_ATEXIT:
      g_value_set_boolean (value, threadref_finalize_get_atexit (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
threadref_finalize_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  ThreadRefFinalize *self = (ThreadRefFinalize *) object;

  switch (prop_id)
    {
    case PROP_ATEXIT:
      threadref_finalize_set_atexit (self, g_value_get_boolean (value));
      break;

    case PROP_ALIVE:
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
threadref_finalize_class_init (ThreadRefFinalizeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructor = threadref_finalize_constructor;
  object_class->finalize = threadref_finalize_finalize;
  object_class->get_property = threadref_finalize_get_property;
  object_class->set_property = threadref_finalize_set_property;

  /**
   * ThreadRefFinalize:alive: (getter is_alive)
   *
   * Whether the finalizer has neither run nor been detached. It turns
   * %FALSE, and is notified, when that happens; it never turns %TRUE again.
   *
   * ```c
   * gboolean pending;
   * g_object_get (fin, "alive", &pending, NULL);
   * ```
   *
   * Since: 1.0
   */
  properties[PROP_ALIVE] =
    g_param_spec_boolean ("alive", NULL, NULL,
                          TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * ThreadRefFinalize:atexit: (getter get_atexit) (setter set_atexit)
   *
   * Whether the finalizer runs at normal process exit while its thread still
   * runs (on the exiting thread). A finalizer of the thread that calls
   * `exit()` runs either way, since that thread ends.
   *
   * ```c
   * g_object_set (fin, "atexit", FALSE, NULL);
   * ```
   *
   * Since: 1.0
   */
  properties[PROP_ATEXIT] =
    g_param_spec_boolean ("atexit", NULL, NULL,
                          TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
threadref_finalize_init (ThreadRefFinalize *self)
{
  threadref_object_node_init (finalize_node (self));
}

static void
threadref_finalize_impl_class_init (ThreadRefFinalizeImplClass *klass)
{
  threadref_object_node_impl_class_init (G_OBJECT_CLASS (klass));
}

static void
threadref_finalize_impl_init (ThreadRefFinalizeImpl *self)
{
}

#define FINALIZE_NODE_KIND (THREADREF_NODE_HOLDER | THREADREF_NODE_STAMPED)

/* The constructors' common part: a finalizer with its function, attached
 * to watched (NULL: the calling thread's lifetime). NULL if watched ended,
 * and then the destroy notify has run. */
static ThreadRefFinalize *
finalize_new (ThreadRefSentinel     *watched,
              ThreadRefFinalizeFunc  func,
              gpointer               user_data,
              GDestroyNotify         destroy_notify)
{
  ThreadRefFinalize *self = g_object_new (threadref_finalize_impl_get_type (), NULL);
  ThreadRefObjectNode *on = finalize_node (self);
  ThreadRefFinalize *own;

  threadref_object_node_setup (on, func, user_data, destroy_notify);

  /* Like weakref.finalize: alive until it has run or been detached. Taken
   * before attaching, since the node may run at once on another thread. */
  own = g_object_ref (self);
  if (!threadref_object_node_attach (on, (GObject *) self, watched, FINALIZE_NODE_KIND,
                                     threadref_finalize_fire, THREADREF_NODE_PROCESS_EXIT))
    {
      /* Never attached: it never runs, so it does not keep itself. */
      g_object_unref (own);
      /* Finalizing runs the destroy notify. For another thread that has
       * ended, now; for the calling thread, which refuses a registration
       * only past THREADREF_SENTINEL_MAX_WHILE_ENDING, a finalizer dead
       * from the start is returned. */
      if (watched != NULL)
        g_clear_object (&self);
    }

  return self;
}

/**
 * threadref_finalize_new: (constructor)
 * @func: (scope notified) (closure user_data) (destroy destroy_notify):
 *   the function to run once
 * @user_data: data for @func
 * @destroy_notify: (nullable): frees @user_data; runs once, after @func has
 *   run or when the finalizer is detached
 *
 * Creates a finalizer for the calling thread. It holds a reference to itself
 * until it has run or been detached, so the returned reference may be
 * dropped at once.
 *
 * ```c
 * static void
 * flush_stats (gpointer stats)
 * {
 *   write_out (((GString *) stats)->str);   // on this thread as it ends, or at exit
 * }
 *
 * static void
 * free_stats (gpointer stats)
 * {
 *   g_string_free (stats, TRUE);            // after flush_stats, or on detach
 * }
 *
 * GString *stats = g_string_new ("jobs: 12\n");
 * ThreadRefFinalize *fin = threadref_finalize_new (flush_stats, stats, free_stats);
 * g_object_unref (fin);   // it keeps itself alive until it runs
 * ```
 *
 * Returns: (transfer full): a new finalizer
 *
 * Since: 1.0
 */
ThreadRefFinalize *
threadref_finalize_new (ThreadRefFinalizeFunc func,
                        gpointer              user_data,
                        GDestroyNotify        destroy_notify)
{
  g_return_val_if_fail (func != NULL, NULL);

  return finalize_new (NULL, func, user_data, destroy_notify);
}

/**
 * threadref_ref_watch_finalize:
 * @self: a ref to the thread to watch
 * @func: (scope notified) (closure user_data) (destroy destroy_notify):
 *   the function to run once
 * @user_data: data for @func
 * @destroy_notify: (nullable): frees @user_data
 *
 * Makes a finalizer for the thread @self refers to, from any thread. It
 * behaves exactly like one that thread made itself: @func runs on that
 * thread when it ends (or at process exit, or when called), and the
 * finalizer keeps itself alive until then.
 *
 * If that thread has already ended (all of its callbacks have returned),
 * nothing is made: @destroy_notify runs at once and %NULL is returned.
 *
 * ```c
 * // close a connection when the worker that uses it ends
 * ThreadRefFinalize *fin = threadref_ref_watch_finalize (worker_ref, (ThreadRefFinalizeFunc) connection_close,
 *                                                        conn, NULL);
 * if (fin == NULL)
 *   connection_close (conn);   // the worker already ended
 * else
 *   g_object_unref (fin);
 * ```
 *
 * Returns: (transfer full) (nullable): a new finalizer, or %NULL if the
 *   thread has ended
 *
 * Since: 1.0
 */
ThreadRefFinalize *
threadref_ref_watch_finalize (ThreadRefRef          *self,
                              ThreadRefFinalizeFunc  func,
                              gpointer               user_data,
                              GDestroyNotify         destroy_notify)
{
  ThreadRefSentinel *watched;

  g_return_val_if_fail (THREADREF_IS_REF (self), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  watched = threadref_ref_get_lifetime (self);
  if (watched == NULL)
    {
      /* self never attached, so there is nothing to watch. */
      if (destroy_notify != NULL)
        destroy_notify (user_data);
      return NULL;
    }

  return finalize_new (watched, func, user_data, destroy_notify);
}

/**
 * threadref_finalize_is_alive: (get-property alive)
 * @self: a finalizer
 *
 * Tells whether @self has neither run nor been detached. Works from any
 * thread. It is %FALSE while its function runs.
 *
 * ```c
 * if (threadref_finalize_is_alive (fin))
 *   g_message ("cleanup still pending");
 * ```
 *
 * Returns: %TRUE if the finalizer is still pending
 *
 * Since: 1.0
 */
gboolean
threadref_finalize_is_alive (ThreadRefFinalize *self)
{
  g_return_val_if_fail (THREADREF_IS_FINALIZE (self), FALSE);

  return threadref_node_is_live (&finalize_node (self)->node);
}

/**
 * threadref_finalize_call:
 * @self: a finalizer
 *
 * If @self is alive, kills it and runs its function now, on the calling
 * thread, then its destroy notify. Works from any thread; whatever races with
 * it (the thread ending, process exit, another call or a detach), the
 * function runs at most once.
 *
 * ```c
 * // close the connection now rather than when the thread ends
 * if (!threadref_finalize_call (conn_finalizer))
 *   g_debug ("already closed");
 * ```
 *
 * Returns: %TRUE if this call ran the function
 *
 * Since: 1.0
 */
gboolean
threadref_finalize_call (ThreadRefFinalize *self)
{
  g_return_val_if_fail (THREADREF_IS_FINALIZE (self), FALSE);

  if (!threadref_node_claim (&finalize_node (self)->node))
    return FALSE;

  threadref_finalize_fire (self);
  return TRUE;
}

/**
 * threadref_finalize_detach:
 * @self: a finalizer
 *
 * If @self is alive, kills it without running its function; its destroy
 * notify runs now, on the calling thread. Works from any thread.
 *
 * ```c
 * // the connection moves to another owner: don't close it at thread end
 * if (threadref_finalize_detach (conn_finalizer))
 *   hand_over (conn);
 * ```
 *
 * Returns: %TRUE if @self was alive
 *
 * Since: 1.0
 */
gboolean
threadref_finalize_detach (ThreadRefFinalize *self)
{
  g_return_val_if_fail (THREADREF_IS_FINALIZE (self), FALSE);

  if (!threadref_object_node_is_attached (finalize_node (self)) ||
      !threadref_node_cancel (&finalize_node (self)->node))
    return FALSE;

  threadref_object_node_destroy_notify (finalize_node (self));
  threadref_finalize_die (self);
  return TRUE;
}

/**
 * threadref_finalize_dup_thread:
 * @self: a finalizer
 *
 * Gets the thread that created @self, while it runs. This is about the
 * thread, not the finalizer: a finalizer that was called or detached still
 * returns its running thread.
 *
 * ```c
 * g_autoptr(GThread) thread = threadref_finalize_dup_thread (fin);
 * ```
 *
 * Returns: (transfer full) (nullable): the thread, or %NULL if it has ended
 *
 * Since: 1.0
 */
GThread *
threadref_finalize_dup_thread (ThreadRefFinalize *self)
{
  ThreadRefSentinel *lifetime;

  g_return_val_if_fail (THREADREF_IS_FINALIZE (self), NULL);

  lifetime = threadref_object_node_get_lifetime (finalize_node (self));
  return lifetime != NULL ? threadref_sentinel_dup_thread (lifetime) : NULL;
}

/**
 * threadref_finalize_get_atexit: (get-property atexit)
 * @self: a finalizer
 *
 * Gets [property@ThreadRef.Finalize:atexit].
 *
 * ```c
 * gboolean at_exit = threadref_finalize_get_atexit (fin);
 * ```
 *
 * Returns: whether @self runs at process exit while its thread still runs
 *
 * Since: 1.0
 */
gboolean
threadref_finalize_get_atexit (ThreadRefFinalize *self)
{
  g_return_val_if_fail (THREADREF_IS_FINALIZE (self), FALSE);

  return threadref_node_get_process_exit (&finalize_node (self)->node);
}

/**
 * threadref_finalize_set_atexit: (set-property atexit)
 * @self: a finalizer
 * @atexit: whether @self runs at process exit while its thread still runs
 *
 * Sets [property@ThreadRef.Finalize:atexit].
 *
 * ```c
 * // per-thread state that no other thread may touch: not at process exit
 * threadref_finalize_set_atexit (fin, FALSE);
 * ```
 *
 * Since: 1.0
 */
void
threadref_finalize_set_atexit (ThreadRefFinalize *self,
                               gboolean           atexit)
{
  g_return_if_fail (THREADREF_IS_FINALIZE (self));

  atexit = !!atexit;
  if (threadref_finalize_get_atexit (self) == atexit)
    return;

  threadref_node_set_process_exit (&finalize_node (self)->node, atexit);
  g_object_notify_by_pspec ((GObject *) self, properties[PROP_ATEXIT]);
}
