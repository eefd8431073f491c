/* threadref-finalize.c: ThreadFinalize, a finalizer for the thread that made
 * it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-finalize.h"
#include "threadref-object-node-private.h"
#include "threadref-ref-private.h"

/**
 * ThreadFinalize:
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
 * g_object_unref (thread_finalize_new ((ThreadFinalizeFunc) connection_close, conn, NULL));
 * ```
 *
 * Since: 1.0
 */
struct _ThreadFinalize
{
  GObject              parent_instance;

  ThreadRefObjectNode  on;   /* callback: a ThreadFinalizeFunc */
};

G_DEFINE_FINAL_TYPE (ThreadFinalize, thread_finalize, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ALIVE,
  PROP_ATEXIT,
  PROP_INIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Drops the reference the finalizer held on itself since it was created:
 * it has run or been detached. */
static void
thread_finalize_die (ThreadFinalize *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALIVE]);
  g_object_unref (self);
}

static void
die_guard (ThreadFinalize **self)
{
  thread_finalize_die (*self);
}

static void
destroy_notify_guard (ThreadFinalize **self)
{
  threadref_object_node_destroy_notify (&(*self)->on);
}

/* The node's function, on whichever thread claimed the node. The function
 * may leave by unwinding (it exits the thread, or throws): the destroy
 * notify runs and the finalizer dies on the way out all the same. */
static void
thread_finalize_fire (gpointer data)
{
  ThreadFinalize *dying __attribute__ ((cleanup (die_guard))) = data;
  ThreadFinalize *self __attribute__ ((cleanup (destroy_notify_guard))) = dying;
  ThreadFinalizeFunc func = (ThreadFinalizeFunc) self->on.callback;

  func (self->on.user_data);
}

static void
thread_finalize_constructed (GObject *object)
{
  ThreadFinalize *self = (ThreadFinalize *) object;

  G_OBJECT_CLASS (thread_finalize_parent_class)->constructed (object);

  if (self->on.callback == NULL)
    {
      g_critical ("A ThreadRef.Finalize needs a function to run: make it with "
                  "thread_finalize_new() (ThreadRef.Finalize.new() in other "
                  "languages), not with g_object_new() alone. This one will "
                  "never run anything.");
      return;
    }

  /* Like weakref.finalize: alive until it has run or been detached. Taken
   * before attaching, since the node may run at once on another thread. */
  g_object_ref (self);
  if (!threadref_object_node_attach (&self->on, object,
                                     THREADREF_NODE_HOLDER | THREADREF_NODE_STAMPED,
                                     thread_finalize_fire, THREADREF_NODE_PROCESS_EXIT))
    g_object_unref (self);   /* that lifetime has ended: never attached */
}

static void
thread_finalize_finalize (GObject *object)
{
  ThreadFinalize *self = (ThreadFinalize *) object;

  if (threadref_object_node_is_attached (&self->on))
    threadref_node_release (&self->on.node);
  else
    threadref_object_node_destroy_notify (&self->on);

  G_OBJECT_CLASS (thread_finalize_parent_class)->finalize (object);
}

static void
thread_finalize_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  ThreadFinalize *self = (ThreadFinalize *) object;

  switch (prop_id)
    {
    case PROP_ALIVE:
      g_value_set_boolean (value, thread_finalize_is_alive (self));
      break;

    case PROP_ATEXIT:
      g_value_set_boolean (value, thread_finalize_get_atexit (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
thread_finalize_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  ThreadFinalize *self = (ThreadFinalize *) object;

  switch (prop_id)
    {
    case PROP_ATEXIT:
      thread_finalize_set_atexit (self, g_value_get_boolean (value));
      break;

    case PROP_INIT:
      threadref_object_node_set_init (&self->on, value);
      break;

    case PROP_ALIVE:
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
thread_finalize_class_init (ThreadFinalizeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = thread_finalize_constructed;
  object_class->finalize = thread_finalize_finalize;
  object_class->get_property = thread_finalize_get_property;
  object_class->set_property = thread_finalize_set_property;

  /**
   * ThreadFinalize:alive: (getter is_alive)
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
   * ThreadFinalize:atexit: (getter get_atexit) (setter set_atexit)
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

  g_object_class_install_property (object_class, PROP_ALIVE, properties[PROP_ALIVE]);
  g_object_class_install_property (object_class, PROP_ATEXIT, properties[PROP_ATEXIT]);

  /**
   * ThreadFinalize:init: (skip)
   *
   * What the constructors hand to the new finalizer; private.
   */
  threadref_object_node_install_init (object_class, PROP_INIT);
}

static void
thread_finalize_init (ThreadFinalize *self)
{
  threadref_object_node_init (&self->on);
}

/**
 * thread_finalize_new: (constructor)
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
 * Returns: (transfer full): a new finalizer
 *
 * Since: 1.0
 */
ThreadFinalize *
thread_finalize_new (ThreadFinalizeFunc func,
                     gpointer           user_data,
                     GDestroyNotify     destroy_notify)
{
  ThreadRefObjectNodeInit init = { func, user_data, destroy_notify, NULL };

  g_return_val_if_fail (func != NULL, NULL);

  return threadref_object_node_new (THREAD_TYPE_FINALIZE, &init);
}

/**
 * thread_ref_watch_finalize:
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
 * ThreadFinalize *fin = thread_ref_watch_finalize (worker_ref, connection_close, conn, NULL);
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
ThreadFinalize *
thread_ref_watch_finalize (ThreadRef          *self,
                           ThreadFinalizeFunc  func,
                           gpointer            user_data,
                           GDestroyNotify      destroy_notify)
{
  ThreadRefObjectNodeInit init = { func, user_data, destroy_notify, NULL };
  ThreadFinalize *fin;

  g_return_val_if_fail (THREAD_IS_REF (self), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  init.watched = threadref_ref_get_lifetime (self);
  if (init.watched == NULL)
    {
      /* self never attached, so there is nothing to watch. */
      if (destroy_notify != NULL)
        destroy_notify (user_data);
      return NULL;
    }

  fin = threadref_object_node_new (THREAD_TYPE_FINALIZE, &init);
  if (!threadref_object_node_is_attached (&fin->on))
    {
      /* That thread has ended: finalizing runs the destroy notify now. */
      g_object_unref (fin);
      return NULL;
    }

  return fin;
}

/**
 * thread_finalize_is_alive: (get-property alive)
 * @self: a finalizer
 *
 * Tells whether @self has neither run nor been detached. Works from any
 * thread. It is %FALSE while its function runs.
 *
 * ```c
 * if (thread_finalize_is_alive (fin))
 *   g_message ("cleanup still pending");
 * ```
 *
 * Returns: %TRUE if the finalizer is still pending
 *
 * Since: 1.0
 */
gboolean
thread_finalize_is_alive (ThreadFinalize *self)
{
  g_return_val_if_fail (THREAD_IS_FINALIZE (self), FALSE);

  return threadref_node_is_live (&self->on.node);
}

/**
 * thread_finalize_call:
 * @self: a finalizer
 *
 * If @self is alive, kills it and runs its function now, on the calling
 * thread, then its destroy notify. Works from any thread; whatever races with
 * it (the thread ending, process exit, another call or a detach), the
 * function runs at most once.
 *
 * ```c
 * // close the connection now rather than when the thread ends
 * if (!thread_finalize_call (conn_finalizer))
 *   g_debug ("already closed");
 * ```
 *
 * Returns: %TRUE if this call ran the function
 *
 * Since: 1.0
 */
gboolean
thread_finalize_call (ThreadFinalize *self)
{
  g_return_val_if_fail (THREAD_IS_FINALIZE (self), FALSE);

  if (!threadref_node_claim (&self->on.node))
    return FALSE;

  thread_finalize_fire (self);
  return TRUE;
}

/**
 * thread_finalize_detach:
 * @self: a finalizer
 *
 * If @self is alive, kills it without running its function; its destroy
 * notify runs now, on the calling thread. Works from any thread.
 *
 * ```c
 * // the connection moves to another owner: don't close it at thread end
 * if (thread_finalize_detach (conn_finalizer))
 *   hand_over (conn);
 * ```
 *
 * Returns: %TRUE if @self was alive
 *
 * Since: 1.0
 */
gboolean
thread_finalize_detach (ThreadFinalize *self)
{
  g_return_val_if_fail (THREAD_IS_FINALIZE (self), FALSE);

  if (!threadref_object_node_is_attached (&self->on) ||
      !threadref_node_cancel (&self->on.node))
    return FALSE;

  threadref_object_node_destroy_notify (&self->on);
  thread_finalize_die (self);
  return TRUE;
}

/**
 * thread_finalize_dup_thread:
 * @self: a finalizer
 *
 * Gets the thread that created @self, while it runs. This is about the
 * thread, not the finalizer: a finalizer that was called or detached still
 * returns its running thread.
 *
 * ```c
 * g_autoptr(GThread) thread = thread_finalize_dup_thread (fin);
 * ```
 *
 * Returns: (transfer full) (nullable): the thread, or %NULL if it has ended
 *
 * Since: 1.0
 */
GThread *
thread_finalize_dup_thread (ThreadFinalize *self)
{
  ThreadRefSentinel *lifetime;

  g_return_val_if_fail (THREAD_IS_FINALIZE (self), NULL);

  lifetime = threadref_object_node_get_lifetime (&self->on);
  return lifetime != NULL ? threadref_sentinel_dup_thread (lifetime) : NULL;
}

/**
 * thread_finalize_get_atexit: (get-property atexit)
 * @self: a finalizer
 *
 * Gets [property@ThreadRef.Finalize:atexit].
 *
 * ```c
 * gboolean at_exit = thread_finalize_get_atexit (fin);
 * ```
 *
 * Returns: whether @self runs at process exit while its thread still runs
 *
 * Since: 1.0
 */
gboolean
thread_finalize_get_atexit (ThreadFinalize *self)
{
  g_return_val_if_fail (THREAD_IS_FINALIZE (self), FALSE);

  return threadref_node_get_process_exit (&self->on.node);
}

/**
 * thread_finalize_set_atexit: (set-property atexit)
 * @self: a finalizer
 * @atexit: whether @self runs at process exit while its thread still runs
 *
 * Sets [property@ThreadRef.Finalize:atexit].
 *
 * ```c
 * // per-thread state that no other thread may touch: not at process exit
 * thread_finalize_set_atexit (fin, FALSE);
 * ```
 *
 * Since: 1.0
 */
void
thread_finalize_set_atexit (ThreadFinalize *self,
                            gboolean        atexit)
{
  g_return_if_fail (THREAD_IS_FINALIZE (self));

  atexit = !!atexit;
  if (thread_finalize_get_atexit (self) == atexit)
    return;

  threadref_node_set_process_exit (&self->on.node, atexit);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATEXIT]);
}
