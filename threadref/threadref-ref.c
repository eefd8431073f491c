/* threadref-ref.c: ThreadRef, a weak reference to the thread that made it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-ref.h"
#include "threadref-sentinel-private.h"

/**
 * ThreadRef:
 *
 * A weak reference to the thread that created it: the C counterpart of
 * Python's `threadref.ref(callback)`.
 *
 * While that thread runs, [method@ThreadRef.Ref.is_alive] is %TRUE and
 * [method@ThreadRef.Ref.dup_thread] returns it, from any thread. When the
 * thread ends — it returns from its function, calls `g_thread_exit()` or
 * `pthread_exit()`, or calls `exit()` — the ref dies and its callback runs
 * once, on the ending thread, with the ref as argument. All refs and
 * finalizers of a thread run newest first.
 *
 * Like Python's `weakref.ref`, a ref does not keep itself alive: if its last
 * reference is dropped before its thread ends, its callback never runs (its
 * @destroy_notify does, when it is finalized).
 *
 * ```c
 * static void
 * worker_gone (ThreadRef *ref, gpointer user_data)
 * {
 *   g_message ("worker %s ended", (const char *) user_data);
 * }
 *
 * // on the worker thread:
 * ThreadRef *ref = thread_ref_new (worker_gone, g_strdup ("A"), g_free);
 * // hand ref to anyone; thread_ref_is_alive (ref) works from any thread
 * ```
 *
 * Since: 1.0
 */
struct _ThreadRef
{
  GObject         parent_instance;

  ThreadRefNode   node;
  ThreadRefFunc   callback;
  gpointer        user_data;
  GDestroyNotify  destroy_notify;
};

G_DEFINE_FINAL_TYPE (ThreadRef, thread_ref, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ALIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* thread_ref_new() hands its arguments to thread_ref_constructed() through
 * this, so that the ref is complete before it is attached: the same
 * construction then serves g_object_new() from language bindings. */
typedef struct {
  gboolean       set;
  ThreadRefFunc  callback;
  gpointer       user_data;
  GDestroyNotify destroy_notify;
} PendingRef;

static __thread PendingRef pending_ref;

static void
thread_ref_run_destroy_notify (ThreadRef *self)
{
  GDestroyNotify destroy_notify = self->destroy_notify;
  gpointer user_data = self->user_data;

  self->callback = NULL;
  self->user_data = NULL;
  self->destroy_notify = NULL;

  if (destroy_notify != NULL)
    destroy_notify (user_data);
}

/* The node's function: runs on the ending thread, with a strong reference
 * that threadref_node_run() took for us. */
static void
thread_ref_fire (gpointer data)
{
  ThreadRef *self = data;

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALIVE]);

  if (self->callback != NULL)
    self->callback (self, self->user_data);
  thread_ref_run_destroy_notify (self);

  threadref_node_mark_done (&self->node);
  g_object_unref (self);
}

static void
thread_ref_constructed (GObject *object)
{
  ThreadRef *self = (ThreadRef *) object;

  ((GObjectClass *) thread_ref_parent_class)->constructed (object);

  if (pending_ref.set)
    {
      self->callback = pending_ref.callback;
      self->user_data = pending_ref.user_data;
      self->destroy_notify = pending_ref.destroy_notify;
      pending_ref = (PendingRef) { 0 };
    }

  threadref_node_attach (&self->node,
                         THREADREF_NODE_KIND_HOLDER | THREADREF_NODE_KIND_PIN,
                         thread_ref_fire, self, FALSE);
}

static void
thread_ref_dispose (GObject *object)
{
  ThreadRef *self = (ThreadRef *) object;

  /* The last reference is going while the thread runs: like a dropped
   * weakref.ref, the callback will never run. Must happen here, while the
   * reference count is still 1, so that a firer that claimed the node
   * first can still take its reference (threadref_node_cancel() waits for
   * it; the object then survives this unref). */
  if (threadref_node_cancel (&self->node))
    thread_ref_run_destroy_notify (self);

  ((GObjectClass *) thread_ref_parent_class)->dispose (object);
}

static void
thread_ref_finalize (GObject *object)
{
  ThreadRef *self = (ThreadRef *) object;

  threadref_node_release_holder (&self->node);

  ((GObjectClass *) thread_ref_parent_class)->finalize (object);
}

static void
thread_ref_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  ThreadRef *self = (ThreadRef *) object;

  switch (prop_id)
    {
    case PROP_ALIVE:
      g_value_set_boolean (value, thread_ref_is_alive (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
thread_ref_class_init (ThreadRefClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = thread_ref_constructed;
  object_class->dispose = thread_ref_dispose;
  object_class->finalize = thread_ref_finalize;
  object_class->get_property = thread_ref_get_property;

  /**
   * ThreadRef:alive: (getter is_alive)
   *
   * Whether the thread the ref refers to still runs. It turns %FALSE, and
   * is notified on the ending thread, when the thread ends; it never turns
   * %TRUE again.
   *
   * Since: 1.0
   */
  properties[PROP_ALIVE] =
    g_param_spec_boolean ("alive", NULL, NULL,
                          TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
thread_ref_init (ThreadRef *self)
{
}

/**
 * thread_ref_new: (constructor)
 * @callback: (nullable) (scope notified) (closure user_data) (destroy destroy_notify):
 *   the function to run on the calling thread when it ends
 * @user_data: data for @callback
 * @destroy_notify: (nullable): frees @user_data; runs once, after @callback
 *   has run or when the ref is finalized without it having run
 *
 * Creates a weak reference to the calling thread.
 *
 * When the calling thread ends, @callback runs on it with the ref as
 * argument, unless the ref was finalized before. Refs and finalizers of one
 * thread run newest first.
 *
 * Returns: (transfer full): a new ref to the calling thread
 *
 * Since: 1.0
 */
ThreadRef *
thread_ref_new (ThreadRefFunc  callback,
                gpointer       user_data,
                GDestroyNotify destroy_notify)
{
  pending_ref = (PendingRef) { TRUE, callback, user_data, destroy_notify };

  return g_object_new (THREAD_TYPE_REF, NULL);
}

/**
 * thread_ref_is_alive: (get-property alive)
 * @self: a ref
 *
 * Tells whether the thread @self refers to still runs. Works from any
 * thread. It is %FALSE from the moment the thread starts ending, including
 * inside the callbacks that run then.
 *
 * Returns: %TRUE while the thread runs
 *
 * Since: 1.0
 */
gboolean
thread_ref_is_alive (ThreadRef *self)
{
  g_return_val_if_fail (THREAD_IS_REF (self), FALSE);

  return threadref_sentinel_is_alive (self->node.sentinel);
}

/**
 * thread_ref_dup_thread:
 * @self: a ref
 *
 * Gets the thread @self refers to, while it runs: the counterpart of calling
 * a Python `threadref.ref`. Works from any thread.
 *
 * Returns: (transfer full) (nullable): the thread, or %NULL if it has ended
 *
 * Since: 1.0
 */
GThread *
thread_ref_dup_thread (ThreadRef *self)
{
  g_return_val_if_fail (THREAD_IS_REF (self), NULL);

  return threadref_sentinel_dup_thread (self->node.sentinel);
}

/**
 * thread_ref_hash:
 * @ref: (type ThreadRef.Ref): a ref
 *
 * A [callback@GLib.HashFunc] for refs, agreeing with
 * [func@ThreadRef.Ref.equal]: refs to the same thread lifetime hash the
 * same, before and after the thread ends.
 *
 * Returns: a hash value
 *
 * Since: 1.0
 */
guint
thread_ref_hash (gconstpointer ref)
{
  g_return_val_if_fail (THREAD_IS_REF ((gpointer) ref), 0);

  return threadref_sentinel_hash (((ThreadRef *) ref)->node.sentinel);
}

/**
 * thread_ref_equal:
 * @a: (type ThreadRef.Ref): a ref
 * @b: (type ThreadRef.Ref): another ref
 *
 * A [callback@GLib.EqualFunc] for refs: %TRUE when both refer to the same
 * thread lifetime, whether it still runs or not.
 *
 * Returns: %TRUE if @a and @b refer to the same thread lifetime
 *
 * Since: 1.0
 */
gboolean
thread_ref_equal (gconstpointer a,
                  gconstpointer b)
{
  g_return_val_if_fail (THREAD_IS_REF ((gpointer) a), FALSE);
  g_return_val_if_fail (THREAD_IS_REF ((gpointer) b), FALSE);

  return ((ThreadRef *) a)->node.sentinel == ((ThreadRef *) b)->node.sentinel;
}
