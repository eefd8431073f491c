/* bench-baseline-list.c: a hand-written pthread-key intrusive list, the
 * floor of the comparison
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What a competent C programmer writes for the same capability as the plain
 * path (threadref_at_thread_exit_add()/threadref_at_thread_exit_cancel()): any number of
 * callbacks per thread, run newest first by the thread's pthread-key
 * destructor, each cancellable from any thread, with a handle that may
 * outlive the thread. One malloc'd node per registration in a doubly-linked
 * list, one mutex per thread's list, and a count of handles so that the
 * per-thread struct is freed when the thread has ended and no handle is
 * left. Register = malloc + lock + push + unlock; cancel = lock + unlink +
 * unlock + free.
 *
 * It does less than the library, and the comparison should be read with
 * that in mind: nothing at process exit (glibc runs no key destructor
 * there), no creation stamps, no ordering with GObject-based
 * registrations, and a registration made by another key's destructor after
 * this one ran in the last of glibc's rounds is silently dropped.
 */

#include <pthread.h>
#include <stdlib.h>

#include "bench-baseline-list.h"
#include "bench-util.h"
#include "bench-variant.h"

typedef struct _ListThread ListThread;

struct _ListNode
{
  ListNode      *prev;   /* newer */
  ListNode      *next;   /* older */
  GDestroyNotify func;   /* NULL once run or cancelled: the node is unlinked */
  gpointer       data;
  ListThread    *list;   /* NULL without handle: the destructor frees it */
};

struct _ListThread
{
  pthread_mutex_t mutex;
  ListNode       *head;      /* newest; under mutex */
  guint           refcount;  /* the thread's share + one per handle; under mutex */
  gboolean        ended;     /* under mutex */
};

static pthread_key_t list_key;
static pthread_once_t list_key_once = PTHREAD_ONCE_INIT;

static void list_thread_ended (void *value);

static void
list_key_create (void)
{
  if (pthread_key_create (&list_key, list_thread_ended) != 0)
    abort ();
}

static ListThread *
list_thread_get (void)
{
  ListThread *lt;

  pthread_once (&list_key_once, list_key_create);
  lt = pthread_getspecific (list_key);
  if (G_LIKELY (lt != NULL))
    return lt;

  lt = malloc (sizeof *lt);
  if (lt == NULL)
    abort ();
  pthread_mutex_init (&lt->mutex, NULL);
  lt->head = NULL;
  lt->refcount = 1;
  lt->ended = FALSE;
  pthread_setspecific (list_key, lt);

  return lt;
}

static void
list_thread_free (ListThread *lt)
{
  pthread_mutex_destroy (&lt->mutex);
  free (lt);
}

/* Under lt->mutex. */
static inline void
list_push (ListThread *lt,
           ListNode   *node)
{
  node->prev = NULL;
  node->next = lt->head;
  if (lt->head != NULL)
    lt->head->prev = node;
  lt->head = node;
}

/* Under lt->mutex. */
static inline void
list_unlink (ListThread *lt,
             ListNode   *node)
{
  if (node->prev != NULL)
    node->prev->next = node->next;
  else
    lt->head = node->next;
  if (node->next != NULL)
    node->next->prev = node->prev;
}

static ListNode *
list_node_new (GDestroyNotify func,
               gpointer       data)
{
  ListNode *node = malloc (sizeof *node);

  if (node == NULL)
    abort ();
  node->func = func;
  node->data = data;

  return node;
}

void
list_at_exit (GDestroyNotify func,
              gpointer       data)
{
  ListThread *lt = list_thread_get ();
  ListNode *node = list_node_new (func, data);

  node->list = NULL;
  pthread_mutex_lock (&lt->mutex);
  list_push (lt, node);
  pthread_mutex_unlock (&lt->mutex);
}

ListNode *
list_at_exit_add (GDestroyNotify func,
                  gpointer       data)
{
  ListThread *lt = list_thread_get ();
  ListNode *node = list_node_new (func, data);

  node->list = lt;
  pthread_mutex_lock (&lt->mutex);
  list_push (lt, node);
  lt->refcount++;
  pthread_mutex_unlock (&lt->mutex);

  return node;
}

gboolean
list_at_exit_cancel (ListNode *node)
{
  ListThread *lt = node->list;
  gboolean cancelled;
  gboolean unused;

  pthread_mutex_lock (&lt->mutex);
  cancelled = node->func != NULL;
  if (cancelled)
    list_unlink (lt, node);
  unused = --lt->refcount == 0 && lt->ended;
  pthread_mutex_unlock (&lt->mutex);

  /* Once unlinked, nobody else touches the node: the thread's end copies
   * what it runs before letting go of the lock. */
  free (node);
  if (unused)
    list_thread_free (lt);

  return cancelled;
}

/* Runs every node, newest first, each outside the lock so that callbacks
 * may register and cancel; takes the current head each time so that what a
 * callback registers on this list runs too. Returns with the lock held. */
static void
list_drain_and_lock (ListThread *lt)
{
  for (;;)
    {
      ListNode *node;
      GDestroyNotify func;
      gpointer data;
      gboolean owned;

      pthread_mutex_lock (&lt->mutex);
      node = lt->head;
      if (node == NULL)
        return;
      list_unlink (lt, node);
      func = node->func;
      data = node->data;
      owned = node->list == NULL;
      node->func = NULL;
      pthread_mutex_unlock (&lt->mutex);

      func (data);
      if (owned)
        free (node);
    }
}

static void
list_thread_ended (void *value)
{
  ListThread *lt = value;
  gboolean unused;

  list_drain_and_lock (lt);
  lt->ended = TRUE;
  unused = --lt->refcount == 0;
  pthread_mutex_unlock (&lt->mutex);

  if (unused)
    list_thread_free (lt);
}

void
list_run_now (void)
{
  ListThread *lt = list_thread_get ();

  list_drain_and_lock (lt);
  pthread_mutex_unlock (&lt->mutex);
}

static void
list_add_fire (guint64 *counter)
{
  list_at_exit (bench_count, counter);
}

static gpointer
list_add (guint64 *counter)
{
  return list_at_exit_add (bench_count, counter);
}

static void
list_cancel (gpointer handle)
{
  list_at_exit_cancel (handle);
}

const BenchVariant bench_list = {
  .id = "list",
  .label = "hand-written list",
  .add_fire = list_add_fire,
  .add = list_add,
  .cancel = list_cancel,
  .end_now = list_run_now,
};
