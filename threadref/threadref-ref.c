/* threadref-ref.c: ThreadRefRef, a weak reference to the thread that made it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-ref.h"
#include "threadref-object-node-private.h"
#include "threadref-ref-private.h"
#include "threadref-thread-private.h"
#include "threadref-wait-private.h"

/**
 * ThreadRefRef:
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
 * worker_gone (ThreadRefRef *ref, gpointer user_data)
 * {
 *   g_message ("worker %s ended", (const char *) user_data);
 * }
 *
 * // on the worker thread:
 * ThreadRefRef *ref = threadref_ref_new (worker_gone, g_strdup ("A"), g_free);
 *
 * // hand it to anyone: threadref_ref_is_alive (ref) works from any thread;
 * // worker_gone runs if someone still holds the ref when the worker ends
 * g_object_set_data_full (G_OBJECT (self), "worker-ref", ref, g_object_unref);
 * ```
 *
 * Since: 1.0
 */
struct _ThreadRefRef
{
  GObject              parent_instance;

  ThreadRefObjectNode  on;   /* callback: a ThreadRefRefFunc */
};

/* Not final, for the constructors' private subtype below; the header
 * declares it final, so nothing else can derive from it. */
G_DEFINE_TYPE (ThreadRefRef, threadref_ref, G_TYPE_OBJECT)

/* What the constructors make (see threadref-object-node-private.h). */
typedef struct {
  ThreadRefRef parent_instance;
} ThreadRefRefImpl;

typedef struct {
  ThreadRefRefClass parent_class;
} ThreadRefRefImplClass;

static GType threadref_ref_impl_get_type (void);

G_DEFINE_FINAL_TYPE (ThreadRefRefImpl, threadref_ref_impl, THREADREF_TYPE_REF)

enum {
  PROP_0,
  PROP_ALIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static inline ThreadRefObjectNode *
ref_node (ThreadRefRef *self)
{
  return &self->on;
}

static void
destroy_notify_guard (ThreadRefRef **self)
{
  threadref_object_node_destroy_notify (ref_node (*self));
}

/* Lets go of the reference the node took for the callback. If the ref's
 * last unref, on another thread, was in dispose() then and waited for that
 * reference (the object came back to life), GLib before 2.79.1 still has to
 * thaw the notify queue it froze for dispose(), after it let go of its own
 * reference: were ours the last one now, the object and that queue would be
 * freed under it (GNOME/glib, the g_object_unref() races fixed in 2.79.1).
 * The queue is gone from the object once it has thawed it; wait for that,
 * a few instructions, or a second at the most should some code keep the
 * notifications frozen. */
static void
release_held (ThreadRefRef **held)
{
  ThreadRefRef *self = *held;

#if !GLIB_CHECK_VERSION (2, 79, 1)
  if (G_UNLIKELY (threadref_node_was_resurrected (&ref_node (self)->node)))
    {
      GQuark notify_queue = g_quark_try_string ("GObject-notify-queue");
      gint64 deadline = g_get_monotonic_time () + G_USEC_PER_SEC;

      while (notify_queue != 0 &&
             g_object_get_qdata ((GObject *) self, notify_queue) != NULL &&
             g_get_monotonic_time () < deadline)
        g_thread_yield ();
    }
#endif

  g_object_unref (self);
}

/* The node's function: runs on the ending thread, with a strong reference
 * that the node took for us. The callback may leave by unwinding (it exits
 * the thread, or throws): the destroy notify and the reference are then
 * let go of on the way out. */
static void
threadref_ref_fire (gpointer data)
{
  ThreadRefRef *held __attribute__ ((cleanup (release_held))) = data;
  ThreadRefRef *self __attribute__ ((cleanup (destroy_notify_guard))) = held;
  ThreadRefObjectNode *on = ref_node (self);
  ThreadRefRefFunc callback = (ThreadRefRefFunc) on->callback;

  g_object_notify_by_pspec ((GObject *) self, properties[PROP_ALIVE]);

  if (callback != NULL)
    callback (self, on->user_data);
}

/* A ref is weak: it does not keep itself alive, and its node only takes a
 * reference while it runs. */
#define REF_NODE_KIND (THREADREF_NODE_WEAK_OBJECT | THREADREF_NODE_HOLDER)

/* Only an instance made by g_object_new() alone comes here (the
 * constructors' subtype skips it): a ref with no callback, to the calling
 * thread, as a binding's bare `new` would expect. */
static void
threadref_ref_constructed (GObject *object)
{
  ((GObjectClass *) threadref_ref_parent_class)->constructed (object);

  threadref_object_node_attach (ref_node ((ThreadRefRef *) object), object, NULL,
                                REF_NODE_KIND, threadref_ref_fire, 0);
}

static void
threadref_ref_dispose (GObject *object)
{
  ThreadRefObjectNode *on = ref_node ((ThreadRefRef *) object);

  /* The last reference is going while the thread runs: like a dropped
   * weakref.ref, the callback will never run. Must happen here, while the
   * reference count is still 1, so that a runner that claimed the node
   * first can still take its reference (threadref_node_cancel() waits for
   * it; the object then survives this unref). */
  if (threadref_object_node_is_attached (on) && threadref_node_cancel (&on->node))
    threadref_object_node_destroy_notify (on);

  ((GObjectClass *) threadref_ref_parent_class)->dispose (object);
}

static void
threadref_ref_finalize (GObject *object)
{
  ThreadRefObjectNode *on = ref_node ((ThreadRefRef *) object);

  if (threadref_object_node_is_attached (on))
    threadref_node_release (&on->node);
  else
    threadref_object_node_destroy_notify (on);

  ((GObjectClass *) threadref_ref_parent_class)->finalize (object);
}

static void
threadref_ref_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  ThreadRefRef *self = (ThreadRefRef *) object;

  switch (prop_id)
    {
    case PROP_ALIVE:
      g_value_set_boolean (value, threadref_ref_is_alive (self));
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
threadref_ref_class_init (ThreadRefRefClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = threadref_ref_constructed;
  object_class->dispose = threadref_ref_dispose;
  object_class->finalize = threadref_ref_finalize;
  object_class->get_property = threadref_ref_get_property;

  /**
   * ThreadRefRef:alive: (getter is_alive)
   *
   * Whether the thread the ref refers to still runs. It turns %FALSE, and
   * is notified on the ending thread, when the thread ends; it never turns
   * %TRUE again.
   *
   * ```c
   * static void
   * on_alive_changed (GObject *ref, GParamSpec *pspec, gpointer user_data)
   * {
   *   // emitted on the ending worker, not on the thread that connected:
   *   // hand the news over to your own thread if it needs to act on it
   *   g_assert_false (threadref_ref_is_alive (THREADREF_REF (ref)));
   * }
   *
   * g_signal_connect (worker_ref, "notify::alive", G_CALLBACK (on_alive_changed), NULL);
   * ```
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
threadref_ref_init (ThreadRefRef *self)
{
  threadref_object_node_init (ref_node (self));
}

static void
threadref_ref_impl_class_init (ThreadRefRefImplClass *klass)
{
  threadref_object_node_impl_class_init (G_OBJECT_CLASS (klass));
}

static void
threadref_ref_impl_init (ThreadRefRefImpl *self)
{
}

/* The constructors' common part: a ref with its callback, attached to
 * watched (NULL: the calling thread's lifetime). NULL if watched ended, and
 * then the destroy notify has run. (The calling thread's lifetime refuses
 * a registration only past THREADREF_SENTINEL_MAX_WHILE_ENDING; the ref is
 * then dead from the start.) */
static ThreadRefRef *
ref_new (ThreadRefSentinel *watched,
         ThreadRefRefFunc   callback,
         gpointer           user_data,
         GDestroyNotify     destroy_notify)
{
  ThreadRefRef *self = g_object_new (threadref_ref_impl_get_type (), NULL);
  ThreadRefObjectNode *on = ref_node (self);

  threadref_object_node_setup (on, callback, user_data, destroy_notify);
  if (!threadref_object_node_attach (on, (GObject *) self, watched, REF_NODE_KIND,
                                     threadref_ref_fire, 0) &&
      watched != NULL)
    {
      /* That thread has ended: finalizing runs the destroy notify now. */
      g_object_unref (self);
      return NULL;
    }

  return self;
}

/**
 * threadref_ref_new: (constructor)
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
 * ```c
 * static void
 * forget_me (ThreadRefRef *ref, gpointer registry)
 * {
 *   // on this thread, as it ends: the registry no longer lists it
 *   forget_thread (registry, ref);
 * }
 *
 * ThreadRefRef *me = threadref_ref_new (forget_me, g_object_ref (self), g_object_unref);
 * // whoever holds the ref when this thread ends gets forget_me run
 * g_object_set_data_full (G_OBJECT (self), "thread", me, g_object_unref);
 * ```
 *
 * Returns: (transfer full): a new ref to the calling thread
 *
 * Since: 1.0
 */
ThreadRefRef *
threadref_ref_new (ThreadRefRefFunc callback,
                   gpointer         user_data,
                   GDestroyNotify   destroy_notify)
{
  return ref_new (NULL, callback, user_data, destroy_notify);
}

/**
 * threadref_ref_watch:
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
 * static void
 * on_worker_gone (ThreadRefRef *watch, gpointer self)
 * {
 *   handle_worker_gone (self);   // on the ending worker
 * }
 *
 * // on a supervisor thread, given a ref a worker handed over:
 * ThreadRefRef *watch = threadref_ref_watch (worker_ref, on_worker_gone,
 *                                            g_object_ref (self), g_object_unref);
 * if (watch == NULL)
 *   handle_worker_gone (self);   // it already ended
 * else   // a ref is weak: keep it for as long as you want the callback
 *   g_object_set_data_full (G_OBJECT (self), "worker-watch", watch, g_object_unref);
 * ```
 *
 * Returns: (transfer full) (nullable): a new ref to the same thread, or
 *   %NULL if it has ended
 *
 * Since: 1.0
 */
ThreadRefRef *
threadref_ref_watch (ThreadRefRef     *self,
                     ThreadRefRefFunc  callback,
                     gpointer          user_data,
                     GDestroyNotify    destroy_notify)
{
  ThreadRefSentinel *watched;

  g_return_val_if_fail (THREADREF_IS_REF (self), NULL);

  watched = threadref_object_node_get_lifetime (ref_node (self));
  if (watched == NULL)
    {
      /* self never attached, so there is nothing to watch. */
      if (destroy_notify != NULL)
        destroy_notify (user_data);
      return NULL;
    }

  return ref_new (watched, callback, user_data, destroy_notify);
}

/**
 * threadref_ref_is_alive: (get-property alive)
 * @self: a ref
 *
 * Tells whether the thread @self refers to still runs. Works from any
 * thread. It is %FALSE from the moment the thread starts ending, including
 * inside the callbacks that run then.
 *
 * ```c
 * if (!threadref_ref_is_alive (worker_ref))
 *   g_message ("the worker has ended (or is ending)");
 * ```
 *
 * Returns: %TRUE while the thread runs
 *
 * Since: 1.0
 */
gboolean
threadref_ref_is_alive (ThreadRefRef *self)
{
  ThreadRefSentinel *lifetime;

  g_return_val_if_fail (THREADREF_IS_REF (self), FALSE);

  lifetime = threadref_object_node_get_lifetime (ref_node (self));
  return lifetime != NULL && threadref_sentinel_is_alive (lifetime);
}

/**
 * threadref_ref_dup_thread:
 * @self: a ref
 *
 * Gets the thread @self refers to, while it runs: the counterpart of calling
 * a Python `threadref.ref`. Works from any thread.
 *
 * ```c
 * g_autoptr(GThread) thread = threadref_ref_dup_thread (ref);
 * if (thread != NULL)
 *   g_message ("still running: %p", thread);
 * ```
 *
 * Returns: (transfer full) (nullable): the thread, or %NULL if it has ended
 *
 * Since: 1.0
 */
GThread *
threadref_ref_dup_thread (ThreadRefRef *self)
{
  ThreadRefSentinel *lifetime;

  g_return_val_if_fail (THREADREF_IS_REF (self), NULL);

  lifetime = threadref_object_node_get_lifetime (ref_node (self));
  return lifetime != NULL ? threadref_sentinel_dup_thread (lifetime) : NULL;
}

/**
 * threadref_ref_count_registrations:
 * @self: a ref
 *
 * Counts what is registered on the thread lifetime @self refers to and has
 * not run yet: every ref to it that is still alive (@self included),
 * every finalizer, and every registration of the plain C path that was
 * neither run nor cancelled. Callbacks that are running at the moment of
 * the call are not counted. Works from any thread.
 *
 * It is meant for tests and debugging (a count that only grows is a leak
 * of registrations); the answer can be stale by the time it is read if the
 * thread registers or ends meanwhile. It takes the lifetime's lock and walks
 * its registrations: O(n).
 *
 * ```c
 * static void
 * closed (gpointer conn)
 * {
 * }
 *
 * // on any thread:
 * ThreadRefRef *ref = threadref_ref_new (NULL, NULL, NULL);
 * guint before = threadref_ref_count_registrations (ref);  // the ref itself, and more
 *
 * threadref_at_thread_exit (closed, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
 * g_assert_cmpuint (threadref_ref_count_registrations (ref), ==, before + 1);
 * threadref_end_lifetime ();
 * g_assert_cmpuint (threadref_ref_count_registrations (ref), ==, 0);  // all ran
 * g_object_unref (ref);
 * ```
 *
 * Returns: how many registrations wait for the lifetime's end; 0 once it
 *   has ended
 *
 * Since: 1.0
 */
guint
threadref_ref_count_registrations (ThreadRefRef *self)
{
  ThreadRefSentinel *lifetime;

  g_return_val_if_fail (THREADREF_IS_REF (self), 0);

  lifetime = threadref_object_node_get_lifetime (ref_node (self));
  return lifetime != NULL ? threadref_sentinel_count_nodes (lifetime) : 0;
}

/**
 * threadref_ref_hash:
 * @ref: (type ThreadRef.Ref): a ref
 *
 * A [callback@GLib.HashFunc] for refs, agreeing with
 * [method@ThreadRef.Ref.equal]: refs to the same thread lifetime hash the
 * same, before and after the thread ends.
 *
 * ```c
 * // one entry per thread lifetime, whatever ref was used to add it
 * GHashTable *per_thread = g_hash_table_new_full (threadref_ref_hash, threadref_ref_equal,
 *                                                 g_object_unref, g_free);
 *
 * g_hash_table_insert (per_thread, g_object_ref (worker_ref), g_strdup ("worker"));
 * // a watch of the same worker finds the entry
 * ThreadRefRef *watch = threadref_ref_watch (worker_ref, NULL, NULL, NULL);
 * g_assert_cmpstr (g_hash_table_lookup (per_thread, watch), ==, "worker");
 * g_object_unref (watch);
 * g_hash_table_unref (per_thread);
 * ```
 *
 * Returns: a hash value
 *
 * Since: 1.0
 */
guint
threadref_ref_hash (gconstpointer ref)
{
  ThreadRefSentinel *lifetime;

  g_return_val_if_fail (THREADREF_IS_REF ((gpointer) ref), 0);

  lifetime = threadref_object_node_get_lifetime (ref_node ((ThreadRefRef *) ref));
  return lifetime != NULL ? threadref_sentinel_hash (lifetime) : 0;
}

/**
 * threadref_ref_equal:
 * @a: (type ThreadRef.Ref): a ref
 * @b: (type ThreadRef.Ref): another ref
 *
 * A [callback@GLib.EqualFunc] for refs: %TRUE when both refer to the same
 * thread lifetime, whether it still runs or not.
 *
 * ```c
 * // a watch is a new ref to the same lifetime; a ref made after the end
 * // of a lifetime is to the next one
 * g_autoptr(ThreadRefRef) before = threadref_ref_new (NULL, NULL, NULL);
 * g_autoptr(ThreadRefRef) watch = threadref_ref_watch (before, NULL, NULL, NULL);
 * g_assert_true (threadref_ref_equal (before, watch));
 *
 * threadref_end_lifetime ();
 * g_autoptr(ThreadRefRef) after = threadref_ref_new (NULL, NULL, NULL);
 * g_assert_false (threadref_ref_equal (before, after));
 * ```
 *
 * Returns: %TRUE if @a and @b refer to the same thread lifetime
 *
 * Since: 1.0
 */
gboolean
threadref_ref_equal (gconstpointer a,
                     gconstpointer b)
{
  ThreadRefSentinel *lifetime_a;
  ThreadRefSentinel *lifetime_b;

  g_return_val_if_fail (THREADREF_IS_REF ((gpointer) a), FALSE);
  g_return_val_if_fail (THREADREF_IS_REF ((gpointer) b), FALSE);

  lifetime_a = threadref_object_node_get_lifetime (ref_node ((ThreadRefRef *) a));
  lifetime_b = threadref_object_node_get_lifetime (ref_node ((ThreadRefRef *) b));
  /* A ref that never attached (its thread refused it) equals only itself. */
  if (lifetime_a == NULL || lifetime_b == NULL)
    return a == b;
  return lifetime_a == lifetime_b;
}

ThreadRefSentinel *
threadref_ref_get_lifetime (ThreadRefRef *ref)
{
  return threadref_object_node_get_lifetime (ref_node (ref));
}

/**
 * threadref_ref_wait:
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
 * ```c
 * // on a supervisor thread: give a worker 10 ms to finish
 * if (threadref_ref_wait (worker_ref, 10 * G_TIME_SPAN_MILLISECOND))
 *   g_message ("the worker ended, and its callbacks returned");
 * else
 *   g_message ("the worker still runs");
 * ```
 *
 * Returns: %TRUE if the thread's lifetime has ended and its callbacks have
 *   returned; %FALSE on timeout
 *
 * Since: 1.0
 */
gboolean
threadref_ref_wait (ThreadRefRef *self,
                    gint64        timeout_usec)
{
  ThreadRefSentinel *lifetime;

  g_return_val_if_fail (THREADREF_IS_REF (self), FALSE);

  lifetime = threadref_object_node_get_lifetime (ref_node (self));
  if (lifetime == NULL)
    return TRUE;
  if (threadref_sentinel_is_own (lifetime) && !threadref_sentinel_is_ended (lifetime))
    {
      g_critical ("threadref_ref_wait: the ref is to the calling thread, whose own "
                  "end this thread would wait for forever; wait from another "
                  "thread, or use threadref_ref_wait_async()");
      return FALSE;
    }

  return threadref_wait_block (lifetime, timeout_usec);
}

/**
 * threadref_ref_wait_async:
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
 * worker_done (GObject *source, GAsyncResult *result, gpointer window)
 * {
 *   if (threadref_ref_wait_finish (THREADREF_REF (source), result, NULL))
 *     update_ui_worker_finished (window);
 *   g_object_unref (window);
 * }
 *
 * threadref_ref_wait_async (worker_ref, NULL, worker_done, g_object_ref (window));
 * ```
 *
 * Since: 1.0
 */
void
threadref_ref_wait_async (ThreadRefRef        *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_return_if_fail (THREADREF_IS_REF (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  /* The callback is called from a main loop later, maybe after the module
   * that contains it asked to be unloaded: pin it like every other
   * callback (docs/design.md, Unload). */
  threadref_thread_pin_code (callback);

  threadref_wait_async (threadref_object_node_get_lifetime (ref_node (self)), self,
                        cancellable, callback, user_data, threadref_ref_wait_async);
}

/**
 * threadref_ref_wait_finish:
 * @self: a ref
 * @result: the result given to the callback of
 *   [method@ThreadRef.Ref.wait_async]
 * @error: return location for an error
 *
 * Finishes [method@ThreadRef.Ref.wait_async], on the thread of the
 * `GMainContext` that the wait was started from.
 *
 * A @result that was not given by [method@ThreadRef.Ref.wait_async] on
 * @self gives a critical warning and %FALSE, with @error left unset.
 *
 * ```c
 * static void
 * wait_done (GObject *source, GAsyncResult *result, gpointer user_data)
 * {
 *   g_autoptr(GError) error = NULL;
 *
 *   if (threadref_ref_wait_finish (THREADREF_REF (source), result, &error))
 *     g_message ("the worker ended");
 *   else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
 *     g_message ("no longer waiting");
 * }
 *
 * GCancellable *cancellable = g_cancellable_new ();
 * threadref_ref_wait_async (worker_ref, cancellable, wait_done, NULL);
 * // not interested any more: wait_done still runs, with G_IO_ERROR_CANCELLED
 * g_cancellable_cancel (cancellable);
 * g_object_unref (cancellable);
 * ```
 *
 * Returns: %TRUE if the thread ended and all of its callbacks returned;
 *   %FALSE with @error set (%G_IO_ERROR_CANCELLED) if the wait was cancelled
 *
 * Since: 1.0
 */
gboolean
threadref_ref_wait_finish (ThreadRefRef  *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (THREADREF_IS_REF (self), FALSE);
  if (!g_task_is_valid (result, self) ||
      g_task_get_source_tag (G_TASK (result)) != threadref_ref_wait_async)
    {
      g_critical ("threadref_ref_wait_finish: the result was not given by "
                  "threadref_ref_wait_async() on this ref; finish a wait with "
                  "the ref it was started on");
      return FALSE;
    }

  return g_task_propagate_boolean (G_TASK (result), error);
}
