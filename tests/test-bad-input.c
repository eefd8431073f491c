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
  ThreadRefFinalize *fin = threadref_finalize_new (noop, NULL, NULL);
  ThreadRefRef *ref = threadref_ref_new (NULL, NULL, NULL);
  gpointer bad[] = { NULL, other, fin };

  g_test_summary ("Every ThreadRefRef function given NULL or an instance of "
                  "another type warns and returns FALSE, NULL or 0");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      EXPECT_CRITICAL ();
      g_assert_false (threadref_ref_is_alive (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_null (threadref_ref_dup_thread (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_cmpuint (threadref_ref_hash (bad[i]), ==, 0);
      EXPECT_CRITICAL ();
      g_assert_false (threadref_ref_equal (bad[i], ref));
      EXPECT_CRITICAL ();
      g_assert_false (threadref_ref_equal (ref, bad[i]));
      g_test_assert_expected_messages ();
    }

  g_assert_true (threadref_finalize_detach (fin));
  g_object_unref (fin);
  g_object_unref (ref);
  g_object_unref (other);
}

static void
test_bad_input_finalize (void)
{
  GObject *other = g_object_new (G_TYPE_OBJECT, NULL);
  ThreadRefRef *ref = threadref_ref_new (NULL, NULL, NULL);
  gpointer bad[] = { NULL, other, ref };

  g_test_summary ("Every ThreadRefFinalize function given NULL, an instance of "
                  "another type, or a NULL func warns and returns safely");

  EXPECT_CRITICAL ();
  g_assert_null (threadref_finalize_new (NULL, NULL, NULL));
  g_test_assert_expected_messages ();

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      EXPECT_CRITICAL ();
      g_assert_false (threadref_finalize_is_alive (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_false (threadref_finalize_call (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_false (threadref_finalize_detach (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_null (threadref_finalize_dup_thread (bad[i]));
      EXPECT_CRITICAL ();
      g_assert_false (threadref_finalize_get_atexit (bad[i]));
      EXPECT_CRITICAL ();
      threadref_finalize_set_atexit (bad[i], TRUE);
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
  threadref_at_thread_exit (NULL, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
  EXPECT_CRITICAL ();
  g_assert_null (threadref_at_thread_exit_add (NULL, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT));
  EXPECT_CRITICAL ();
  g_assert_false (threadref_at_thread_exit_cancel (NULL));
  g_test_assert_expected_messages ();
}

/* Integer parameters at their limits. */
typedef struct {
  ThreadRefRef *ref;
  GMutex        mutex;
  GCond         cond;
  gint          stage;
} Held;

static gpointer
held_main (gpointer data)
{
  Held *h = data;

  g_mutex_lock (&h->mutex);
  h->ref = threadref_ref_new (NULL, NULL, NULL);
  h->stage = 1;
  g_cond_broadcast (&h->cond);
  while (h->stage < 2)
    g_cond_wait (&h->cond, &h->mutex);
  g_mutex_unlock (&h->mutex);
  return NULL;
}

static void
test_bad_input_integer_limits (void)
{
  static const gint64 timeouts[] = { G_MININT64, G_MININT64 + 1, -2, -1, 0, 1, 2,
                                     G_MAXINT64 - G_USEC_PER_SEC, G_MAXINT64 - 1, G_MAXINT64 };
  static const gint64 short_timeouts[] = { 0, 1, 2, 1000 };
  Held h = { 0 };
  GThread *thread;
  ThreadRefFinalize *fin;

  g_test_summary ("Every integer parameter at its limits: waits with any "
                  "timeout (no overflow: the build with "
                  "-fsanitize=undefined checks), unknown flag bits, any "
                  "gboolean value");

  g_mutex_init (&h.mutex);
  g_cond_init (&h.cond);
  thread = g_thread_new ("held", held_main, &h);
  g_mutex_lock (&h.mutex);
  while (h.stage < 1)
    g_cond_wait (&h.cond, &h.mutex);
  g_mutex_unlock (&h.mutex);

  /* A thread that runs: short timeouts expire. */
  for (guint i = 0; i < G_N_ELEMENTS (short_timeouts); i++)
    g_assert_false (threadref_ref_wait (h.ref, short_timeouts[i]));

  /* The thread ends while a wait with the largest timeout waits. */
  g_mutex_lock (&h.mutex);
  h.stage = 2;
  g_cond_broadcast (&h.cond);
  g_mutex_unlock (&h.mutex);
  g_assert_true (threadref_ref_wait (h.ref, G_MAXINT64));
  g_thread_join (thread);

  /* An ended thread: every timeout returns TRUE at once. */
  for (guint i = 0; i < G_N_ELEMENTS (timeouts); i++)
    g_assert_true (threadref_ref_wait (h.ref, timeouts[i]));
  g_object_unref (h.ref);
  g_mutex_clear (&h.mutex);
  g_cond_clear (&h.cond);

  /* Flags the plain path does not know: the critical names the call, the
   * unknown bits and what was done (nothing). */
  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL,
                         "threadref_at_thread_exit: unknown flags 0x2;*nothing was registered");
  threadref_at_thread_exit (noop, NULL, (ThreadRefAtThreadExitFlags) 0x2);
  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL,
                         "threadref_at_thread_exit_add: unknown flags 0xfffffffe;*");
  g_assert_null (threadref_at_thread_exit_add (noop, NULL, (ThreadRefAtThreadExitFlags) G_MAXUINT));
  g_test_assert_expected_messages ();

  /* Any non-zero gboolean is TRUE. */
  fin = threadref_finalize_new (noop, NULL, NULL);
  threadref_finalize_set_atexit (fin, FALSE);
  threadref_finalize_set_atexit (fin, G_MININT);
  g_assert_true (threadref_finalize_get_atexit (fin));
  threadref_finalize_set_atexit (fin, FALSE);
  threadref_finalize_set_atexit (fin, G_MAXINT);
  g_assert_true (threadref_finalize_get_atexit (fin));
  g_assert_true (threadref_finalize_detach (fin));
  g_object_unref (fin);
}

static void
wait_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (result);
}

static void
other_task_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
}

static void
test_bad_input_wait_finish (void)
{
  ThreadRefRef *mine = threadref_ref_new (NULL, NULL, NULL);
  ThreadRefRef *other = threadref_ref_new (NULL, NULL, NULL);
  GAsyncResult *result = NULL;
  GTask *foreign;
  GError *error = NULL;

  g_test_summary ("threadref_ref_wait_finish() given a result of another ref "
                  "or of another call says so in the critical and returns FALSE "
                  "without setting the error");

  /* A result of a wait on this thread's own lifetime: it completes when the
   * lifetime ends. */
  threadref_ref_wait_async (mine, NULL, wait_done, &result);
  threadref_end_lifetime ();
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL,
                         "threadref_ref_wait_finish: the result was not given by "
                         "threadref_ref_wait_async() on this ref*");
  g_assert_false (threadref_ref_wait_finish (other, result, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  foreign = g_task_new (mine, NULL, other_task_done, NULL);
  g_task_return_boolean (foreign, TRUE);
  g_test_expect_message ("ThreadRef", G_LOG_LEVEL_CRITICAL,
                         "threadref_ref_wait_finish: the result was not given by*");
  g_assert_false (threadref_ref_wait_finish (mine, G_ASYNC_RESULT (foreign), &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_object_unref (foreign);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  /* The right pair still works after the misuse. */
  g_assert_true (threadref_ref_wait_finish (mine, result, &error));
  g_assert_no_error (error);

  g_object_unref (result);
  g_object_unref (other);
  g_object_unref (mine);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/bad-input/ref", test_bad_input_ref);
  g_test_add_func ("/threadref/bad-input/finalize", test_bad_input_finalize);
  g_test_add_func ("/threadref/bad-input/at-exit", test_bad_input_at_exit);
  g_test_add_func ("/threadref/bad-input/integer-limits", test_bad_input_integer_limits);
  g_test_add_func ("/threadref/bad-input/wait-finish", test_bad_input_wait_finish);

  return g_test_run ();
}
