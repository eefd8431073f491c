/* threadref-ref.c: ThreadRef, a weak reference to the thread that made it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-ref.h"
#include "threadref-class-private.h"
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
static gint class_published;   /* see threadref-class-private.h */

#define PSPEC(id) THREADREF_CLASS_READ (class_published, properties[id])
#define PARENT_CLASS THREADREF_CLASS_READ (class_published, (GObjectClass *) thread_ref_parent_class)

/* thread_ref_new() hands its arguments to thread_ref_constructed() through
 * this, so that the ref is complete before it is attached: the same
 * construction then serves g_object_new() from language bindings. */
typedef struct {
  ThreadRefFunc      callback;
  gpointer           user_data;
  GDestroyNotify     destroy_notify;
  ThreadRefSentinel *target;          /* another thread's lifetime, or NULL */
} PendingRef;

static __thread PendingRef pending_ref;

#define REF_NODE_KIND (THREADREF_NODE_KIND_HOLDER | THREADREF_NODE_KIND_PIN)

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

  g_object_notify_by_pspec (G_OBJECT (self), PSPEC (PROP_ALIVE));

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
  PendingRef pending = pending_ref;

  PARENT_CLASS->constructed (object);

  pending_ref = (PendingRef) { 0 };
  self->callback = pending.callback;
  self->user_data = pending.user_data;
  self->destroy_notify = pending.destroy_notify;
  threadref_pin_callbacks (self->callback, self->destroy_notify);

  if (pending.target == NULL)
    threadref_node_attach (&self->node, REF_NODE_KIND, thread_ref_fire, self, FALSE);
  else if (!threadref_node_attach_to (&self->node, pending.target, REF_NODE_KIND,
                                      thread_ref_fire, self, FALSE))
    self->node.sentinel = NULL;   /* that lifetime has ended: never attached */
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
  if (self->node.sentinel != NULL && threadref_node_cancel (&self->node))
    thread_ref_run_destroy_notify (self);

  PARENT_CLASS->dispose (object);
}

static void
thread_ref_finalize (GObject *object)
{
  ThreadRef *self = (ThreadRef *) object;

  if (self->node.sentinel != NULL)
    threadref_node_release_holder (&self->node);

  PARENT_CLASS->finalize (object);
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
   * ```c
   * g_signal_connect (ref, "notify::alive", G_CALLBACK (on_worker_gone), self);
   * ```
   *
   * Since: 1.0
   */
  properties[PROP_ALIVE] =
    g_param_spec_boolean ("alive", NULL, NULL,
                          TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  THREADREF_CLASS_PUBLISH (class_published);
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
  pending_ref = (PendingRef) { callback, user_data, destroy_notify, NULL };

  return g_object_new (THREAD_TYPE_REF, NULL);
}

/**
 * thread_ref_watch:
 * @self: a ref to the thread to watch
 * @callback: (nullable) (scope notified) (closure user_data) (destroy destroy_notify):
 *   the function to run on that thread when it ends
 * @user_data: data for @callback
 * @destroy_notify: (nullable): frees @user_data
 *
 * Makes a new weak reference, with its own callback, to the thread @self
 * refers to. Works from any thread: a way to watch another thread. The
 * callback runs on the watched thread as it ends, like that of a ref the
 * thread made itself, and the new ref equals @self.
 *
 * If that thread has already ended (all of its callbacks have returned),
 * nothing is made: @destroy_notify runs at once and %NULL is returned. A
 * thread that is ending but still running callbacks takes the new ref and
 * runs its callback before it is gone.
 *
 * ```c
 * // on a supervisor thread, given a ref a worker handed over:
 * ThreadRef *watch = thread_ref_watch (worker_ref, on_worker_gone, self, NULL);
 * if (watch == NULL)
 *   handle_worker_gone (self);   // it already ended
 * ```
 *
 * Returns: (transfer full) (nullable): a new ref to the same thread, or
 *   %NULL if it has ended
 *
 * Since: 1.0
 */
ThreadRef *
thread_ref_watch (ThreadRef      *self,
                  ThreadRefFunc   callback,
                  gpointer        user_data,
                  GDestroyNotify  destroy_notify)
{
  ThreadRef *watch;

  g_return_val_if_fail (THREAD_IS_REF (self), NULL);

  pending_ref = (PendingRef) { callback, user_data, destroy_notify, self->node.sentinel };
  watch = g_object_new (THREAD_TYPE_REF, NULL);

  if (watch->node.sentinel == NULL)
    {
      thread_ref_run_destroy_notify (watch);
      g_object_unref (watch);
      return NULL;
    }

  return watch;
}

/**
 * thread_ref_is_alive: (get-property alive)
 * @self: a ref
 *
 * Tells whether the thread @self refers to still runs. Works from any
 * thread. It is %FALSE from the moment the thread starts ending, including
 * inside the callbacks that run then.
 *
 * ```c
 * if (!thread_ref_is_alive (worker_ref))
 *   g_message ("the worker has ended (or is ending)");
 * ```
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
 * ```c
 * g_autoptr(GThread) thread = thread_ref_dup_thread (ref);
 * if (thread != NULL)
 *   g_message ("still running: %p", thread);
 * ```
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
 * [method@ThreadRef.Ref.equal]: refs to the same thread lifetime hash the
 * same, before and after the thread ends.
 *
 * ```c
 * // one entry per thread lifetime, whatever ref was used to add it
 * GHashTable *per_thread = g_hash_table_new_full (thread_ref_hash, thread_ref_equal,
 *                                                 g_object_unref, g_free);
 * ```
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
 * ```c
 * g_assert_true (thread_ref_equal (ref, thread_ref_watch (ref, NULL, NULL, NULL)));
 * ```
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

ThreadRefSentinel *
threadref_ref_get_sentinel (ThreadRef *ref)
{
  return ref->node.sentinel;
}

/**
 * thread_ref_wait:
 * @self: a ref to another thread
 * @timeout_usec: how long to wait, in microseconds; negative waits for as
 *   long as it takes, 0 only checks
 *
 * Blocks until the thread @self refers to has ended and all of its
 * callbacks — refs and finalizers — have returned, or until the timeout.
 *
 * Unlike `g_thread_join()`, this works for any thread (one you do not own,
 * one made by `pthread_create()` or by a language runtime, a worker that a
 * pool retires) and from any number of threads at once, and it also returns
 * when a lifetime ends without the thread ending
 * ([func@ThreadRef.end_lifetime]).
 *
 * Waiting on your own thread's ref from that thread is a programming error
 * (it would never return): it gives a critical warning and returns %FALSE.
 *
 * Returns: %TRUE if the thread's lifetime has ended and its callbacks have
 *   returned; %FALSE on timeout
 *
 * Since: 1.0
 */
gboolean
thread_ref_wait (ThreadRef *self,
                 gint64     timeout_usec)
{
  g_return_val_if_fail (THREAD_IS_REF (self), FALSE);
  g_return_val_if_fail (self->node.sentinel != NULL, FALSE);
  g_return_val_if_fail (!threadref_sentinel_is_current (self->node.sentinel), FALSE);

  return threadref_sentinel_wait (self->node.sentinel, timeout_usec);
}

/* One asynchronous wait. Two parties may complete it: the ending thread
 * (through the sentinel's waiter queue) and the cancellable's source (in the
 * caller's context). Whoever takes it out of the queue completes it. The
 * record is refcounted: the queue, the source's callback and the function
 * setting it up each hold a reference while they may touch it. */
typedef struct {
  ThreadRefWaiter  waiter;          /* first: the sentinel calls ended() with it */
  GTask           *task;
  GSource         *cancel_source;   /* NULL without a cancellable; fixed once queued */
  gint             ended;           /* atomic: the ending thread completed it */
} AsyncWait;

static void
async_wait_clear (gpointer data)
{
  AsyncWait *wait = data;

  g_clear_pointer (&wait->cancel_source, g_source_unref);
  g_clear_object (&wait->task);
}

static void
async_wait_unref (gpointer data)
{
  g_atomic_rc_box_release_full (data, async_wait_clear);
}

/* The sentinel ended: on the ending thread, outside its lock. The cancel
 * source was attached before the wait was queued. */
static void
async_wait_ended (ThreadRefWaiter *waiter)
{
  AsyncWait *wait = (AsyncWait *) waiter;

  g_atomic_int_set (&wait->ended, 1);
  if (wait->cancel_source != NULL)
    g_source_destroy (wait->cancel_source);
  g_task_return_boolean (wait->task, TRUE);
  async_wait_unref (wait);   /* the queue's reference */
}

/* The cancellable fired: in the caller's context. */
static gboolean
async_wait_cancelled (GCancellable *cancellable,
                      gpointer      data)
{
  AsyncWait *wait = data;
  ThreadRef *self = g_task_get_source_object (wait->task);

  if (threadref_sentinel_remove_waiter (self->node.sentinel, &wait->waiter))
    {
      g_task_return_error_if_cancelled (wait->task);
      async_wait_unref (wait);   /* the queue's reference */
      return G_SOURCE_REMOVE;
    }

  /* Not in the queue: either the thread's end completed it, or (when
   * another thread runs this context) it has not been queued yet, a moment
   * away: look again. */
  return g_atomic_int_get (&wait->ended) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

/**
 * thread_ref_wait_async:
 * @self: a ref to another thread
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called when the thread has ended, or the wait was
 *   cancelled
 * @user_data: data for @callback
 *
 * Waits without blocking until the thread @self refers to has ended and all
 * of its callbacks have returned, then calls @callback in the thread-default
 * main context of the calling thread. Call [method@ThreadRef.Ref.wait_finish]
 * from @callback.
 *
 * This lets a GUI or any main-loop program learn that a worker ended without
 * running any of its own code inside the dying thread.
 *
 * ```c
 * static void
 * worker_done (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   if (thread_ref_wait_finish (THREAD_REF (source), result, NULL))
 *     update_ui_worker_finished (user_data);
 * }
 *
 * thread_ref_wait_async (worker_ref, NULL, worker_done, window);
 * ```
 *
 * Since: 1.0
 */
void
thread_ref_wait_async (ThreadRef           *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  AsyncWait *wait;

  g_return_if_fail (THREAD_IS_REF (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, thread_ref_wait_async);

  if (self->node.sentinel == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  wait = g_atomic_rc_box_new0 (AsyncWait);   /* this function's reference */
  wait->waiter.ended = async_wait_ended;
  wait->task = g_object_ref (task);

  /* Attached before queueing, so that the ending thread, which destroys it,
   * never finds it unattached. */
  if (cancellable != NULL)
    {
      wait->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (wait->cancel_source, G_SOURCE_FUNC (async_wait_cancelled),
                             g_atomic_rc_box_acquire (wait), async_wait_unref);
      g_source_attach (wait->cancel_source, g_task_get_context (task));
    }

  if (!threadref_sentinel_add_waiter (self->node.sentinel,
                                      &((AsyncWait *) g_atomic_rc_box_acquire (wait))->waiter))
    {
      /* Already ended. */
      async_wait_unref (wait);   /* the queue's reference, unused */
      if (wait->cancel_source != NULL)
        g_source_destroy (wait->cancel_source);
      g_task_return_boolean (task, TRUE);
    }

  async_wait_unref (wait);
}

/**
 * thread_ref_wait_finish:
 * @self: a ref
 * @result: the result given to the callback of
 *   [method@ThreadRef.Ref.wait_async]
 * @error: return location for an error
 *
 * Finishes [method@ThreadRef.Ref.wait_async].
 *
 * Returns: %TRUE if the thread ended and all of its callbacks returned;
 *   %FALSE with @error set (%G_IO_ERROR_CANCELLED) if the wait was cancelled
 *
 * Since: 1.0
 */
gboolean
thread_ref_wait_finish (ThreadRef     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (THREAD_IS_REF (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == thread_ref_wait_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
