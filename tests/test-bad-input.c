/* test-bad-input.c: bad input gives a critical and a safe return (rule 10)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#define EXPECT_CRITICAL() \
  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL, "*assertion*failed*")

static void
noop (gpointer data)
{
}

static void
test_bad_input_ref (void)
{
  GObject *other = g_object_new (G_TYPE_OBJECT, NULL);
  ThreadFinalize *fin = thread_finalize_new (noop, NULL, NULL);
  ThreadRef *ref = thread_ref_new (NULL, NULL, NULL);
  gpointer bad[] = { NULL, other, fin };

  g_test_summary ("Every ThreadRef function given NULL or an instance of "
                  "another type warns and returns FALSE, NULL or 0");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      EXPECT_CRITICAL ();
      g_assert_false (thread_ref_is_alive (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_null (thread_ref_dup_thread (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_cmpuint (thread_ref_hash (bad[i]), ==, 0);
      EXPECT_CRITICAL ();
      g_assert_false (thread_ref_equal (bad[i], ref));
      EXPECT_CRITICAL ();
      g_assert_false (thread_ref_equal (ref, bad[i]));
      g_test_assert_expected_messages ();
    }

  g_assert_true (thread_finalize_detach (fin));
  g_object_unref (fin);
  g_object_unref (ref);
  g_object_unref (other);
}

static void
test_bad_input_finalize (void)
{
  GObject *other = g_object_new (G_TYPE_OBJECT, NULL);
  ThreadRef *ref = thread_ref_new (NULL, NULL, NULL);
  gpointer bad[] = { NULL, other, ref };

  g_test_summary ("Every ThreadFinalize function given NULL, an instance of "
                  "another type, or a NULL func warns and returns safely");

  EXPECT_CRITICAL ();
  g_assert_null (thread_finalize_new (NULL, NULL, NULL));
  g_test_assert_expected_messages ();

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      EXPECT_CRITICAL ();
      g_assert_false (thread_finalize_is_alive (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_false (thread_finalize_call (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_false (thread_finalize_detach (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_null (thread_finalize_dup_thread (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_false (thread_finalize_get_atexit (bad[i]));
      EXPECT_CRITICAL ();
      thread_finalize_set_atexit (bad[i], TRUE);
      g_test_assert_expected_messages ();
    }

  g_object_unref (ref);
  g_object_unref (other);
}

static void
test_bad_input_at_exit (void)
{
  g_test_summary ("The plain path rejects a NULL function and a NULL handle");

  EXPECT_CRITICAL ();
  thread_at_exit (NULL, NULL, THREAD_AT_EXIT_DEFAULT);
  EXPECT_CRITICAL ();
  g_assert_null (thread_at_exit_add (NULL, NULL, THREAD_AT_EXIT_DEFAULT));
  EXPECT_CRITICAL ();
  g_assert_false (thread_at_exit_cancel (NULL));
  g_test_assert_expected_messages ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/bad-input/ref", test_bad_input_ref);
  g_test_add_func ("/threadref/bad-input/finalize", test_bad_input_finalize);
  g_test_add_func ("/threadref/bad-input/at-exit", test_bad_input_at_exit);

  return g_test_run ();
}
