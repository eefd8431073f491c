/* threadref-dispatcher.c: ThreadRefDispatcher, one callback for many
 * registrations of a language runtime
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-dispatcher.h"
#include "threadref-finalize.h"
#include "threadref-ref-private.h"
#include "threadref-thread-private.h"

/**
 * ThreadRefDispatcher:
 *
 * One function through which a language runtime runs many registrations
 * of its own, in their place among every other registration of a thread.
 *
 * A binding that made one [class@ThreadRef.Finalize] per registration of
 * its language would pay a callback closure for each (PyGObject: some
 * 15–20 µs and about 112 bytes that are never freed). A dispatcher needs
 * one closure for the whole process. The runtime keeps its registrations
 * itself, in *batches*: [method@ThreadRef.Dispatcher.batch] returns the
 * batch that is the calling thread's newest registration, and starts a new
 * one if anything else — a ref, a finalizer, a plain registration, another
 * dispatcher's batch — was registered on the thread since. When the thread
 * ends, each batch takes its turn in the thread's newest-first order and
 * the dispatcher's function is called once with its id, on the ending
 * thread; the runtime then runs that batch's registrations, newest first.
 * So the order of the runtime's registrations among everything else on the
 * thread is exactly as if each were a registration of its own.
 *
 * A batch behaves like a [class@ThreadRef.Finalize] whose
 * [property@ThreadRef.Finalize:atexit] is %TRUE: at process exit, a batch
 * of a thread that still runs is dispatched on the exiting thread (the
 * runtime decides which of its registrations to run then). Batches made
 * while the thread ends join the end, like any registration.
 *
 * ```c
 * #include <threadref.h>
 *
 * static void
 * run_batch (guint64 batch, gpointer user_data)
 * {
 *   g_print ("run the registrations of batch %" G_GUINT64_FORMAT ", newest first\n", batch);
 * }
 *
 * int
 * main (void)
 * {
 *   ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (run_batch, NULL, NULL);
 *   // for each registration the runtime makes on this thread:
 *   guint64 batch = threadref_dispatcher_batch (dispatcher, NULL);
 *   g_assert_cmpuint (batch, ==, threadref_dispatcher_batch (dispatcher, NULL));
 *   threadref_end_lifetime ();   // dispatches the batch here
 *   g_object_unref (dispatcher);
 *   return 0;
 * }
 * ```
 *
 * Since: 1.0
 */
struct _ThreadRefDispatcher
{
  GObject                parent_instance;

  ThreadRefDispatchFunc  func;
  gpointer               user_data;
  GDestroyNotify         destroy_notify;
  guint64                last_batch;    /* atomic: ids are unique per dispatcher */
  gint                   closed;        /* atomic */
};

/* Not final, for the constructor's private subtype below (as
 * ThreadRefFinalize); the header declares it final, so nothing else can
 * derive from it. */
G_DEFINE_TYPE (ThreadRefDispatcher, threadref_dispatcher, G_TYPE_OBJECT)

/* What threadref_dispatcher_new() makes: g_object_new() of the public type
 * alone is refused (threadref_dispatcher_constructor()). */
typedef struct {
  ThreadRefDispatcher parent_instance;
} ThreadRefDispatcherImpl;

typedef struct {
  ThreadRefDispatcherClass parent_class;
} ThreadRefDispatcherImplClass;

static GType threadref_dispatcher_impl_get_type (void);

G_DEFINE_FINAL_TYPE (ThreadRefDispatcherImpl, threadref_dispatcher_impl, THREADREF_TYPE_DISPATCHER)

/* One batch: a node of a thread's lifetime. */
typedef struct {
  ThreadRefNode        node;
  ThreadRefDispatcher *dispatcher;   /* a reference */
  guint64              id;
} Batch;

static void
batch_free (Batch *batch)
{
  g_object_unref (batch->dispatcher);
  g_free (batch);
}

static void
batch_free_guard (Batch **batch)
{
  batch_free (*batch);
}

/* The node's function, on the ending thread or the exiting one. The
 * runtime's function may leave by unwinding: the batch goes all the same. */
static void
batch_fire (gpointer data)
{
  Batch *batch __attribute__ ((cleanup (batch_free_guard))) = data;
  ThreadRefDispatcher *self = batch->dispatcher;

  if (!g_atomic_int_get (&self->closed))
    self->func (batch->id, self->user_data);
}

/* What a new registration asks of the calling thread's newest node, and
 * learns under the lifetime's lock (a batch may be claimed and freed by
 * another thread, the exit pass, as soon as the lock is let go). */
typedef struct {
  ThreadRefDispatcher *dispatcher;
  guint64              batch;      /* the batch now newest */
  guint64              lifetime;
} JoinKey;

static gboolean
batch_joins (ThreadRefSentinel *lifetime,
             ThreadRefNode     *newest,
             gpointer           data)
{
  JoinKey *key = data;

  key->lifetime = threadref_sentinel_get_serial (lifetime);
  if (newest == NULL || newest->func != batch_fire ||
      ((Batch *) newest->data)->dispatcher != key->dispatcher)
    return FALSE;

  key->batch = ((Batch *) newest->data)->id;
  return TRUE;
}

static void
threadref_dispatcher_finalize (GObject *object)
{
  ThreadRefDispatcher *self = (ThreadRefDispatcher *) object;

  if (self->destroy_notify != NULL)
    self->destroy_notify (self->user_data);

  G_OBJECT_CLASS (threadref_dispatcher_parent_class)->finalize (object);
}

/* Only g_object_new() of the public type alone comes here (a binding's
 * bare constructor): a dispatcher without a function, whose first batch
 * would call NULL when its lifetime ends. Refused at once with a critical,
 * as ThreadRefFinalize refuses, and what is made is closed: it makes no
 * batch. Not NULL: GObject calls a constructor that returns NULL a bug of
 * the type, and bindings then wrap nothing. */
static GObject *
threadref_dispatcher_constructor (GType                  type,
                                  guint                  n_construct_properties,
                                  GObjectConstructParam *construct_properties)
{
  GObject *object;

  g_critical ("A ThreadRef.Dispatcher needs a function to run: make it with "
              "threadref_dispatcher_new() (ThreadRef.Dispatcher.new(func) in "
              "other languages), not with g_object_new() alone. What was made "
              "is closed and makes no batches.");
  object = G_OBJECT_CLASS (threadref_dispatcher_parent_class)->constructor (type,
                                                                          n_construct_properties,
                                                                          construct_properties);
  /* No function and no user data to keep: not threadref_dispatcher_close(),
   * which keeps them for the rest of the process. */
  g_atomic_int_set (&((ThreadRefDispatcher *) object)->closed, TRUE);
  return object;
}

static void
threadref_dispatcher_class_init (ThreadRefDispatcherClass *klass)
{
  G_OBJECT_CLASS (klass)->constructor = threadref_dispatcher_constructor;
  G_OBJECT_CLASS (klass)->finalize = threadref_dispatcher_finalize;
}

static void
threadref_dispatcher_init (ThreadRefDispatcher *self)
{
}

static void
threadref_dispatcher_impl_class_init (ThreadRefDispatcherImplClass *klass)
{
  /* GObject's own constructor, not the refusing one above. */
  G_OBJECT_CLASS (klass)->constructor =
    ((GObjectClass *) g_type_class_peek_static (G_TYPE_OBJECT))->constructor;
}

static void
threadref_dispatcher_impl_init (ThreadRefDispatcherImpl *self)
{
}

/**
 * threadref_dispatcher_new: (constructor)
 * @func: (scope notified) (closure user_data) (destroy destroy_notify):
 *   runs the registrations of one batch
 * @user_data: data for @func
 * @destroy_notify: (nullable): frees @user_data when the dispatcher is
 *   finalized; never after [method@ThreadRef.Dispatcher.close]
 *
 * Creates a dispatcher: make one per language runtime, not per
 * registration. Each batch that is pending holds a reference to it.
 *
 * Returns: (transfer full): a new dispatcher
 *
 * ```c
 * static void
 * run_batch (guint64 batch, gpointer runtime)
 * {
 *   // look up the registrations the runtime made in @batch, run them newest first
 * }
 *
 * ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (run_batch, NULL, NULL);
 * g_object_unref (dispatcher);
 * ```
 *
 * Since: 1.0
 */
ThreadRefDispatcher *
threadref_dispatcher_new (ThreadRefDispatchFunc func,
                          gpointer              user_data,
                          GDestroyNotify        destroy_notify)
{
  ThreadRefDispatcher *self;

  g_return_val_if_fail (func != NULL, NULL);

  threadref_thread_pin_code (func);
  threadref_thread_pin_code (destroy_notify);

  self = g_object_new (threadref_dispatcher_impl_get_type (), NULL);
  self->func = func;
  self->user_data = user_data;
  self->destroy_notify = destroy_notify;
  return self;
}

#define BATCH_NODE_KIND THREADREF_NODE_STAMPED

/* Attaches a new batch to watched (NULL: the calling thread's lifetime),
 * unless the newest node there is a batch of self already. */
static guint64
batch_get (ThreadRefDispatcher *self,
           ThreadRefSentinel   *watched,
           guint64             *lifetime)
{
  JoinKey key = { self, 0, 0 };
  Batch *fresh;
  ThreadRefNode *newest;

  if (G_UNLIKELY (g_atomic_int_get (&self->closed)))
    goto refused;

  /* Complete before it is linked: it may run at once on another thread
   * (the exit pass), or here (a lifetime that ends on the spot). */
  fresh = g_new (Batch, 1);
  fresh->dispatcher = g_object_ref (self);
  fresh->id = key.batch = __atomic_add_fetch (&self->last_batch, 1, __ATOMIC_RELAXED);

  if (watched == NULL)
    newest = threadref_thread_attach_or_join (&fresh->node, BATCH_NODE_KIND, batch_fire, fresh,
                                              THREADREF_NODE_PROCESS_EXIT, batch_joins, &key);
  else
    newest = threadref_thread_attach_to_or_join (watched, &fresh->node, BATCH_NODE_KIND, batch_fire,
                                                 fresh, THREADREF_NODE_PROCESS_EXIT, batch_joins, &key);
  if (newest != &fresh->node)
    batch_free (fresh);   /* joined the newest batch, or refused */
  if (newest == NULL)
    goto refused;

  if (lifetime != NULL)
    *lifetime = key.lifetime;
  return key.batch;

refused:
  if (lifetime != NULL)
    *lifetime = 0;
  return 0;
}

/**
 * threadref_dispatcher_batch:
 * @self: a dispatcher
 * @lifetime: (out) (optional): where to store an id of the thread lifetime
 *   the batch belongs to: unique in the process, never reused, never 0
 *
 * Gets the batch for a registration the runtime makes now on the calling
 * thread: the calling thread's newest registration if that is a batch of
 * @self, else a new batch, which becomes the newest. Inside a callback
 * that runs while the thread ends, the batch joins that end, like any
 * registration.
 *
 * The id is unique for @self and never 0. @self's function is called once
 * with it when its turn comes (see [class@ThreadRef.Dispatcher]) — maybe
 * before this returns, if the thread is so far into its teardown that the
 * registration's lifetime ends on the spot.
 *
 * Returns: the batch's id; 0 (and 0 in @lifetime) if nothing can be
 *   registered: the thread's callbacks kept registering while it ended,
 *   past the limit, or @self was closed
 *
 * ```c
 * static void
 * run_batch (guint64 batch, gpointer runtime)
 * {
 * }
 *
 * ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (run_batch, NULL, NULL);
 * guint64 lifetime;
 * guint64 batch = threadref_dispatcher_batch (dispatcher, &lifetime);
 * // the runtime files its registration under batch; run_batch (batch) comes
 * // when this thread's lifetime ends
 * threadref_end_lifetime ();
 * g_object_unref (dispatcher);
 * ```
 *
 * Since: 1.0
 */
guint64
threadref_dispatcher_batch (ThreadRefDispatcher *self,
                            guint64             *lifetime)
{
  g_return_val_if_fail (THREADREF_IS_DISPATCHER (self), 0);

  return batch_get (self, NULL, lifetime);
}

/**
 * threadref_dispatcher_batch_for:
 * @self: a dispatcher
 * @ref: a ref to the thread to register on
 * @lifetime: (out) (optional): where to store an id of that thread
 *   lifetime, as in [method@ThreadRef.Dispatcher.batch]
 *
 * Like [method@ThreadRef.Dispatcher.batch], for the thread @ref refers to,
 * from any thread: the batch is dispatched on that thread when it ends
 * (a watch, as [method@ThreadRef.Ref.watch_finalize] makes).
 *
 * Returns: the batch's id; 0 if that thread has ended (all of its
 *   callbacks have returned), or @self was closed
 *
 * ```c
 * static void
 * run_batch (guint64 batch, gpointer runtime)
 * {
 * }
 *
 * ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (run_batch, NULL, NULL);
 * guint64 batch = threadref_dispatcher_batch_for (dispatcher, worker_ref, NULL);
 * if (batch == 0)
 *   g_message ("the worker has ended already");   // run the callback now instead
 * g_object_unref (dispatcher);
 * ```
 *
 * Since: 1.0
 */
guint64
threadref_dispatcher_batch_for (ThreadRefDispatcher *self,
                                ThreadRefRef        *ref,
                                guint64             *lifetime)
{
  ThreadRefSentinel *watched;

  g_return_val_if_fail (THREADREF_IS_DISPATCHER (self), 0);
  g_return_val_if_fail (THREADREF_IS_REF (ref), 0);

  watched = threadref_ref_get_lifetime (ref);
  if (watched == NULL)
    {
      if (lifetime != NULL)
        *lifetime = 0;
      return 0;
    }
  return batch_get (self, watched, lifetime);
}

/**
 * threadref_dispatcher_close:
 * @self: a dispatcher
 *
 * Stops @self for good: its function is never called again, for batches
 * pending or new and for its finalizers, and new batches are refused (0);
 * new finalizers are dead. A runtime closes its
 * dispatcher when it can no longer run code, such as at interpreter exit.
 *
 * The function's user data and destroy notify are then kept for the rest
 * of the process: a runtime that closes its dispatcher can no longer take
 * a call of either, and a batch may be dispatched on any thread at any
 * later moment.
 *
 * ```c
 * static void
 * run_batch (guint64 batch, gpointer runtime)
 * {
 * }
 *
 * ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (run_batch, NULL, NULL);
 * // at interpreter exit, once the runtime can run no more code:
 * threadref_dispatcher_close (dispatcher);
 * g_assert_cmpuint (threadref_dispatcher_batch (dispatcher, NULL), ==, 0);
 * g_object_unref (dispatcher);
 * ```
 *
 * Since: 1.0
 */
void
threadref_dispatcher_close (ThreadRefDispatcher *self)
{
  g_return_if_fail (THREADREF_IS_DISPATCHER (self));

  if (g_atomic_int_compare_and_exchange (&self->closed, FALSE, TRUE))
    {
      /* Never finalized from now on, so destroy_notify never runs; kept
       * where leak checkers see it kept on purpose. */
      G_LOCK_DEFINE_STATIC (closed_dispatchers);
      static GSList *closed_dispatchers;

      G_LOCK (closed_dispatchers);
      closed_dispatchers = g_slist_prepend (closed_dispatchers, g_object_ref (self));
      G_UNLOCK (closed_dispatchers);
    }
}

/* A finalizer's call, made by threadref_dispatcher_new_finalize(): C data
 * only, so that running, detaching or finalizing it at any time (after the
 * runtime is gone, from the C exit pass) calls nothing of the runtime's
 * once the dispatcher is closed. */
typedef struct {
  ThreadRefDispatcher *dispatcher;   /* a reference */
  guint64              id;
  gboolean             fired;        /* only the thread that claimed the node */
} FinalizeCall;

/* The finalizer's destroy notify: after it ran, or when it was detached
 * (by anyone: C code too) on the detaching thread. Detached, the runtime is
 * told at once, so that it forgets what it keeps under the id. */
static void
finalize_call_free (gpointer data)
{
  FinalizeCall *call = data;
  ThreadRefDispatcher *self = call->dispatcher;

  if (!call->fired && !g_atomic_int_get (&self->closed))
    self->func (call->id | THREADREF_DISPATCHER_DETACHED, self->user_data);
  g_object_unref (self);
  g_free (call);
}

static void
finalize_call_fire (gpointer data)
{
  FinalizeCall *call = data;
  ThreadRefDispatcher *self = call->dispatcher;

  call->fired = TRUE;
  if (!g_atomic_int_get (&self->closed))
    self->func (call->id, self->user_data);
}

/**
 * threadref_dispatcher_new_finalize:
 * @self: a dispatcher
 * @id: (out): where to store the id @self's function is called with when the
 *   finalizer runs: unique for @self among its batches and finalizers, never
 *   0; 0 if @self was closed
 *
 * Creates a [class@ThreadRef.Finalize] for the calling thread whose function
 * is @self's: when it runs (its thread ends, process exit, or
 * [method@ThreadRef.Finalize.call]), @self's function is called once with
 * @id. It is an ordinary finalizer otherwise, for the runtime's own
 * finalizer objects: the runtime keeps what to run under @id, and forgets it
 * when the finalizer is detached: then, on the detaching thread (whoever
 * detaches it, C code included), @self's function is called once with
 * `@id | THREADREF_DISPATCHER_DETACHED`, rather than @id (not after
 * [method@ThreadRef.Dispatcher.close]). A runtime pays no callback closure per
 * finalizer this way, and, once @self is closed, running, detaching or
 * finalizing the finalizer calls nothing of the runtime's.
 *
 * If @self is closed, the finalizer returned is dead (never alive).
 *
 * Returns: (transfer full): a new finalizer
 *
 * ```c
 * static void
 * run_call (guint64 id, gpointer runtime)
 * {
 *   // run what the runtime keeps under @id (a batch's id, or a finalizer's)
 * }
 *
 * ThreadRefDispatcher *dispatcher = threadref_dispatcher_new (run_call, NULL, NULL);
 * guint64 id;
 * ThreadRefFinalize *fin = threadref_dispatcher_new_finalize (dispatcher, &id);
 * // the runtime keeps its function under id
 * threadref_finalize_call (fin);   // run_call (id) runs now
 * g_object_unref (fin);
 * g_object_unref (dispatcher);
 * ```
 *
 * Since: 1.0
 */
ThreadRefFinalize *
threadref_dispatcher_new_finalize (ThreadRefDispatcher *self,
                                   guint64             *id)
{
  FinalizeCall *call;
  ThreadRefFinalize *fin;
  gboolean closed;

  g_return_val_if_fail (THREADREF_IS_DISPATCHER (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  call = g_new (FinalizeCall, 1);
  call->dispatcher = g_object_ref (self);
  /* From the batches' counter: one id space for the runtime. */
  call->id = __atomic_add_fetch (&self->last_batch, 1, __ATOMIC_RELAXED);
  call->fired = FALSE;
  closed = g_atomic_int_get (&self->closed);
  *id = closed ? 0 : call->id;
  fin = threadref_finalize_new (finalize_call_fire, call, finalize_call_free);
  if (closed)
    threadref_finalize_detach (fin);
  return fin;
}
