/* contract-check.c: a consumer written only from the public contract, built
 * with `pkg-config threadref-1.0` the way an application would be
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <stdlib.h>

#include <threadref.h>

static GString *order;

static void
note (gpointer label)
{
  g_string_append (order, label);
}

static void
ref_fired (ThreadRefRef *ref,
           gpointer      label)
{
  if (threadref_ref_is_alive (ref))
    g_string_append (order, "!alive-in-callback!");
  g_string_append (order, label);
}

static gpointer
worker (gpointer data)
{
  ThreadRefRef **ref = data;

  *ref = threadref_ref_new (ref_fired, "R", NULL);
  g_object_unref (threadref_finalize_new (note, "F", NULL));
  threadref_at_thread_exit (note, "P", THREADREF_AT_THREAD_EXIT_DEFAULT);
  return NULL;
}

#define CHECK(cond) \
  do { if (!(cond)) { fprintf (stderr, "FAILED: %s\n", #cond); return EXIT_FAILURE; } } while (0)

int
main (void)
{
  ThreadRefRef *ref = NULL;
  ThreadRefRef *here = threadref_ref_new (NULL, NULL, NULL);
  GThread *self;

  order = g_string_new (NULL);
  g_thread_join (g_thread_new ("worker", worker, &ref));

  CHECK (g_str_equal (order->str, "PFR"));
  CHECK (!threadref_ref_is_alive (ref));
  CHECK (threadref_ref_dup_thread (ref) == NULL);
  CHECK (threadref_ref_is_alive (here));
  CHECK (!threadref_ref_equal (ref, here));
  self = threadref_ref_dup_thread (here);
  CHECK (self == g_thread_self ());
  g_thread_unref (self);
  CHECK (THREADREF_CHECK_VERSION (1, 0, 0));

  g_object_unref (ref);
  g_object_unref (here);
  g_string_free (order, TRUE);
  printf ("contract-check: OK (threadref %s)\n", THREADREF_VERSION_S);
  return EXIT_SUCCESS;
}
