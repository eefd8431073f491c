/* test-internal.c: what lifetimes cost and when they go (reaches private
 * code)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "threadref-registry-private.h"
#include "threadref-sentinel-private.h"
#include "test-util.h"

static gpointer
do_nothing (gpointer data)
{
  return NULL;
}

static gpointer
register_one (gpointer data)
{
  *(ThreadRefRef **) data = threadref_ref_new (NULL, NULL, NULL);
  return NULL;
}

static void
test_internal_no_lifetime_without_use (void)
{
  guint before = threadref_registry_count ();

  g_test_summary ("A thread that never registers starts no lifetime");

  for (guint i = 0; i < 10; i++)
    run_in_thread (do_nothing, NULL);
  g_assert_cmpuint (threadref_registry_count (), ==, before);
}

static void
test_internal_lifetime_released (void)
{
  guint before = threadref_registry_count ();
  ThreadRefRef *ref = NULL;

  g_test_summary ("An ended lifetime stays allocated exactly as long as a ref "
                  "to it");

  run_in_thread (register_one, &ref);
  g_assert_cmpuint (threadref_registry_count (), ==, before + 1);
  g_assert_false (threadref_ref_is_alive (ref));
  g_object_unref (ref);
  g_assert_cmpuint (threadref_registry_count (), ==, before);
}

static void
noop (gpointer data)
{
}

static gpointer
register_unheld (gpointer data)
{
  threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
  g_object_unref (threadref_finalize_new (noop, NULL, NULL));
  return NULL;
}

static void
test_internal_lifetime_freed_at_end (void)
{
  guint before = threadref_registry_count ();

  g_test_summary ("With nothing holding it, a lifetime is released when its "
                  "thread ends");

  for (guint i = 0; i < 100; i++)
    run_in_thread (register_unheld, NULL);
  g_assert_cmpuint (threadref_registry_count (), ==, before);
}

static void
test_internal_node_size (void)
{
  g_test_summary ("A plain registration fits one 64-byte malloc chunk");

  g_assert_cmpuint (sizeof (ThreadRefNode), <=, 56);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/internal/no-lifetime-without-use", test_internal_no_lifetime_without_use);
  g_test_add_func ("/threadref/internal/lifetime-released", test_internal_lifetime_released);
  g_test_add_func ("/threadref/internal/lifetime-freed-at-end", test_internal_lifetime_freed_at_end);
  g_test_add_func ("/threadref/internal/node-size", test_internal_node_size);

  return g_test_run ();
}
