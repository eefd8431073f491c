/* consumer.c: uses threadref from a subproject
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>

#include <threadref.h>

static gint ran;

static void
count (gpointer data)
{
  g_atomic_int_inc (&ran);
}

static gpointer
worker (gpointer data)
{
  g_object_unref (threadref_finalize_new (count, NULL, NULL));
  return NULL;
}

int
main (void)
{
  g_thread_join (g_thread_new ("worker", worker, NULL));
  if (g_atomic_int_get (&ran) != 1)
    return 1;
  printf ("subproject consumer: OK (threadref %s)\n", THREADREF_VERSION_S);
  return 0;
}
