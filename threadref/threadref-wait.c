/* threadref-wait.c: waiting for a lifetime to end, blocking or in a main
 * loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both kinds queue a ThreadRefEndObserver on the lifetime; its ending
 * thread takes the queue when the lifetime is ENDED and tells each one,
 * outside the lifetime's lock. Waits are rare (they are for threads that
 * want to know that another ended), so blocking ones share one GMutex,
 * each with its own GCond.
 */

#include "config.h"

#include "threadref-wait-private.h"

static GMutex wait_mutex;

typedef struct {
  ThreadRefEndObserver observer;   /* first: the lifetime calls ended() with it */
  GCond                cond;
  gboolean             ended;      /* under wait_mutex */
} BlockingWait;

static void
blocking_wait_ended (ThreadRefEndObserver *observer)
{
  BlockingWait *wait = (BlockingWait *) observer;

  /* The waiter returns only after it has seen ended under the mutex, so
   * wait is still there until this unlocks. */
  g_mutex_lock (&wait_mutex);
  wait->ended = TRUE;
  g_cond_signal (&wait->cond);
  g_mutex_unlock (&wait_mutex);
}

/* Monotonic time at which a wait of timeout_usec gives up, or -1 for never
 * (a negative timeout, or one too far away to be a time). */
static gint64
end_time_for (gint64 timeout_usec)
{
  gint64 now;

  if (timeout_usec < 0)
    return -1;
  now = g_get_monotonic_time ();
  if (timeout_usec > G_MAXINT64 - now)
    return -1;
  return now + timeout_usec;
}

gboolean
threadref_wait_block (ThreadRefSentinel *lifetime,
                      gint64             timeout_usec)
{
  BlockingWait wait = { .observer.ended = blocking_wait_ended };
  gint64 end_time;
  gboolean ended;

  if (threadref_sentinel_is_ended (lifetime))
    return TRUE;
  if (timeout_usec == 0)
    return FALSE;

  end_time = end_time_for (timeout_usec);
  g_cond_init (&wait.cond);
  if (!threadref_sentinel_observe_end (lifetime, &wait.observer))
    {
      g_cond_clear (&wait.cond);
      return TRUE;
    }

  g_mutex_lock (&wait_mutex);
  while (!wait.ended)
    {
      if (end_time < 0)
        g_cond_wait (&wait.cond, &wait_mutex);
      else if (!g_cond_wait_until (&wait.cond, &wait_mutex, end_time))
        break;
    }
  ended = wait.ended;
  g_mutex_unlock (&wait_mutex);

  /* Timed out. If the lifetime already took the observer out of its queue,
   * it is telling it right now: wait for that, the observer is ours. */
  if (!ended && !threadref_sentinel_unobserve_end (lifetime, &wait.observer))
    {
      g_mutex_lock (&wait_mutex);
      while (!wait.ended)
        g_cond_wait (&wait.cond, &wait_mutex);
      g_mutex_unlock (&wait_mutex);
      ended = TRUE;
    }

  g_cond_clear (&wait.cond);
  return ended;
}

/* One asynchronous wait. Two parties may complete it: the ending thread
 * (through the lifetime's observer queue) and the cancellable's source (in
 * the caller's context). Whoever takes it out of the queue completes it.
 * The record is refcounted: the queue, the source's callback and the
 * function setting it up each hold a reference while they may touch it. */
typedef struct {
  ThreadRefEndObserver  observer;        /* first: the lifetime calls ended() with it */
  ThreadRefSentinel    *lifetime;        /* the source object keeps it */
  GTask                *task;
  GSource              *cancel_source;   /* NULL without a cancellable; fixed once queued */
  gint                  ended;           /* atomic: the ending thread completed it */
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

/* The lifetime ended: on the ending thread, outside its lock. The cancel
 * source was attached before the wait was queued. */
static void
async_wait_ended (ThreadRefEndObserver *observer)
{
  AsyncWait *wait = (AsyncWait *) observer;

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

  if (threadref_sentinel_unobserve_end (wait->lifetime, &wait->observer))
    {
      g_task_return_error_if_cancelled (wait->task);
      async_wait_unref (wait);   /* the queue's reference */
      return G_SOURCE_REMOVE;
    }

  /* Not in the queue: either the lifetime's end completed it, or (when
   * another thread runs this context) it has not been queued yet, a moment
   * away: look again. */
  return g_atomic_int_get (&wait->ended) ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

void
threadref_wait_async (ThreadRefSentinel   *lifetime,
                      gpointer             source_object,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data,
                      gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;
  AsyncWait *wait;

  task = g_task_new (source_object, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);

  if (lifetime == NULL || threadref_sentinel_is_ended (lifetime))
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  wait = g_atomic_rc_box_new0 (AsyncWait);   /* this function's reference */
  wait->observer.ended = async_wait_ended;
  wait->lifetime = lifetime;
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

  if (!threadref_sentinel_observe_end (lifetime,
                                       &((AsyncWait *) g_atomic_rc_box_acquire (wait))->observer))
    {
      /* Already ended. */
      async_wait_unref (wait);   /* the queue's reference, unused */
      if (wait->cancel_source != NULL)
        g_source_destroy (wait->cancel_source);
      g_task_return_boolean (task, TRUE);
    }

  async_wait_unref (wait);
}

void
threadref_wait_fork_prepare (void)
{
  g_mutex_lock (&wait_mutex);
}

void
threadref_wait_fork_parent (void)
{
  g_mutex_unlock (&wait_mutex);
}

void
threadref_wait_fork_child (void)
{
  g_mutex_unlock (&wait_mutex);
}
