/* bench-baseline-naive.c: the list most C programmers write by hand
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * malloc'd nodes in a doubly-linked list on a pthread key, no lock: the
 * owning thread registers, cancels and, from the key's destructor, runs
 * them newest first. It cannot be cancelled from another thread, runs
 * nothing at process exit or for the main thread, and drops what is
 * registered in glibc's last destructor round — but it is what people
 * compare with, so the plain path is measured against it too (issue 13:
 * within 1.5× for register+fire and register+cancel).
 */

#include <pthread.h>
#include <stdlib.h>

#include "bench-util.h"
#include "bench-variant.h"

typedef struct _NaiveNode NaiveNode;

struct _NaiveNode
{
  NaiveNode      *newer;
  NaiveNode      *older;
  GDestroyNotify  func;
  gpointer        data;
};

typedef struct {
  NaiveNode *newest;
} NaiveList;

static pthread_key_t naive_key;
static pthread_once_t naive_key_once = PTHREAD_ONCE_INIT;

static void naive_thread_ended (void *value);

static void
naive_key_create (void)
{
  if (pthread_key_create (&naive_key, naive_thread_ended) != 0)
    abort ();
}

static NaiveList *
naive_list_get (void)
{
  NaiveList *list;

  pthread_once (&naive_key_once, naive_key_create);
  list = pthread_getspecific (naive_key);
  if (G_LIKELY (list != NULL))
    return list;

  list = calloc (1, sizeof *list);
  if (list == NULL)
    abort ();
  pthread_setspecific (naive_key, list);
  return list;
}

static NaiveNode *
naive_add (GDestroyNotify func,
           gpointer       data)
{
  NaiveList *list = naive_list_get ();
  NaiveNode *node = malloc (sizeof *node);

  if (node == NULL)
    abort ();
  node->func = func;
  node->data = data;
  node->newer = NULL;
  node->older = list->newest;
  if (list->newest != NULL)
    list->newest->newer = node;
  list->newest = node;

  return node;
}

/* Own thread only. */
static void
naive_cancel (NaiveNode *node)
{
  NaiveList *list = pthread_getspecific (naive_key);

  if (node->newer != NULL)
    node->newer->older = node->older;
  else
    list->newest = node->older;
  if (node->older != NULL)
    node->older->newer = node->newer;
  free (node);
}

static void
naive_run (NaiveList *list)
{
  NaiveNode *node;

  while ((node = list->newest) != NULL)
    {
      list->newest = node->older;
      if (list->newest != NULL)
        list->newest->newer = NULL;
      node->func (node->data);
      free (node);
    }
}

static void
naive_thread_ended (void *value)
{
  naive_run (value);
  free (value);
}

static void
naive_add_fire_variant (guint64 *counter)
{
  naive_add (bench_count, counter);
}

static gpointer
naive_add_variant (guint64 *counter)
{
  return naive_add (bench_count, counter);
}

static void
naive_cancel_variant (gpointer handle)
{
  naive_cancel (handle);
}

static void
naive_run_now (void)
{
  NaiveList *list = pthread_getspecific (naive_key);

  if (list != NULL)
    naive_run (list);
}

const BenchVariant bench_naive = {
  .id = "naive",
  .label = "naive own-thread list",
  .add_fire = naive_add_fire_variant,
  .add = naive_add_variant,
  .cancel = naive_cancel_variant,
  .end_now = naive_run_now,
};
