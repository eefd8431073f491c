/* test-exit.c: process exit (rule 9), through exit-helper subprocesses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>
#include <sys/wait.h>

#include "test-util.h"

static void run_helper_full (const char *scenario,
                             const char *expected_stdout,
                             gint        expected_status,
                             const char *stderr_pattern);

static void
run_helper (const char *scenario,
            const char *expected_stdout,
            gint        expected_status)
{
  run_helper_full (scenario, expected_stdout, expected_status, NULL);
}

/* stderr_pattern: a g_pattern_match_simple() pattern the helper's stderr
 * must match; NULL: it must be empty. expected_stdout NULL: not checked. */
static void
run_helper_full (const char *scenario,
                 const char *expected_stdout,
                 gint        expected_status,
                 const char *stderr_pattern)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *helper = g_test_build_filename (G_TEST_BUILT, "exit-helper", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { helper, scenario, NULL };
  g_auto(GStrv) envp = g_get_environ ();
  gint wait_status;

  /* glibc never runs the thread-local destructor of a main thread that ends
   * with pthread_exit(), and keeps its 32-byte entry (tests/lsan.supp);
   * LeakSanitizer cannot symbolize a process whose main thread is gone, so
   * the suppression cannot match there. */
  if (strcmp (scenario, "main-pthread-exit") == 0)
    envp = g_environ_setenv (envp, "LSAN_OPTIONS", "detect_leaks=0", TRUE);
  /* Nor can it suspend, in a child of fork(), the threads that were not
   * forked: what they held looks leaked. */
  if (strcmp (scenario, "fork-in-pass") == 0)
    envp = g_environ_setenv (envp, "LSAN_OPTIONS", "detect_leaks=0", TRUE);

  /* g_spawn_sync() rather than GSubprocess: it uses no helper threads, so a
   * ThreadSanitizer build sees every hand-off in this test. */
  g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &wait_status, &error);
  g_assert_no_error (error);

  g_test_message ("%s: stdout:\n%s", scenario, out);
  if (err != NULL && *err != '\0')
    g_test_message ("%s: stderr:\n%s", scenario, err);

  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, expected_status);
  if (stderr_pattern == NULL)
    g_assert_cmpstr (err, ==, "");
  else if (!g_pattern_match_simple (stderr_pattern, err))
    g_error ("%s: stderr does not match %s", scenario, stderr_pattern);
  if (expected_stdout != NULL)
    g_assert_cmpstr (out, ==, expected_stdout);
}

static void
test_exit_main_return (void)
{
  g_test_summary ("Returning from main() ends the main thread: all its refs "
                  "and finalizers run on it, newest first, whatever their "
                  "atexit flag");
  run_helper ("main-return", "plain4@main\nplain3@main\nfin2@main\nfin1@main\nref0@main\n", 0);
}

static void
test_exit_main_exit (void)
{
  g_test_summary ("exit() on the main thread does the same");
  run_helper ("main-exit", "plain4@main\nplain3@main\nfin2@main\nfin1@main\nref0@main\n", 0);
}

static void
test_exit_other_threads (void)
{
  g_test_summary ("At exit, finalizers of a thread that still runs run on the "
                  "exiting thread if their atexit flag is TRUE, after the "
                  "exiting thread's own; refs and atexit=FALSE ones do not");
  run_helper ("other-threads", "mC@main\nwP@main\nwA@main\n", 0);
}

static void
test_exit_cross_thread_order (void)
{
  g_test_summary ("At exit, finalizers of other threads run newest first "
                  "across threads");
  run_helper ("cross-thread-order", "x4@main\nx3@main\nx2@main\nx1@main\n", 0);
}

static void
test_exit_from_thread (void)
{
  g_test_summary ("exit() from a non-main thread while main runs: that thread "
                  "ends (all of its registrations run on it), then main's "
                  "atexit finalizers run on it too");
  run_helper ("exit-from-thread", "w2@W\nw1@W\nm1@W\n", 3);
}

static void
test_exit_in_callback (void)
{
  g_test_summary ("exit() called by a finalizer while its thread ends: the "
                  "thread's remaining finalizers still run, then the other "
                  "threads' ones, and the exit status is kept");
  run_helper ("exit-in-callback", "c@W\nb@W\na@W\nm@W\n", 0);
}

static void
test_exit_nested (void)
{
  g_test_summary ("A finalizer run at exit that creates another finalizer: "
                  "the new one runs too, right after it");
  run_helper ("nested-at-exit",
              "outer@main\nouter-inner@main\nwouter@main\nwouter-inner@main\n", 0);
}

static void
test_exit_underscore_exit (void)
{
  g_test_summary ("_exit() runs nothing and does not crash");
  run_helper ("underscore-exit", "", 0);
}

static void
test_exit_late_atexit (void)
{
  g_test_summary ("A registration made on the exiting thread after threadref's "
                  "exit handler ran (from an older atexit handler) still runs");
  run_helper ("late-atexit", "early@main\nlate-handler@main\nlate@main\n", 0);
}

static void
test_exit_main_pthread_exit (void)
{
  g_test_summary ("A main thread that ends with pthread_exit() runs its "
                  "finalizers once, as any thread, on itself");
#if defined (__SANITIZE_THREAD__)
  /* A plain C program whose main thread calls pthread_exit() never exits
   * under ThreadSanitizer (GCC 12), with or without threadref. */
  g_test_skip ("ThreadSanitizer hangs at exit after the main thread's pthread_exit()");
  return;
#endif
  run_helper ("main-pthread-exit", "m@main\nworker-done@W\n", 0);
}

static void
test_exit_exit_in_exit_callback (void)
{
  g_test_summary ("A finalizer run at exit calls exit() again: the older "
                  "finalizers of the exiting thread still run, each with its "
                  "destroy notify, and the status is the new one");
  run_helper ("exit-in-exit-callback",
              "f3@main\nf2@main\nf2-destroy@main\nf1@main\nf1-destroy@main\n", 3);
}

static void
test_exit_exit_in_pass_callback (void)
{
  g_test_summary ("Another thread's finalizer run by the exit pass calls "
                  "exit() again: the pass goes on with the older ones");
  run_helper ("exit-in-pass-callback",
              "w3@main\nw3-destroy@main\nw2@main\nw1@main\nw1-destroy@main\n", 4);
}

static void
test_exit_while_ending (void)
{
  g_test_summary ("exit() while another thread is in the middle of ending "
                  "(its thread returned, or it ended its lifetime on purpose): "
                  "that thread's older atexit finalizer still runs, once, with "
                  "its destroy notify");
  run_helper ("exit-while-ending", "slow@W\nolder@main\nolder-destroy@main\n", 0);
  run_helper ("exit-while-ending-on-purpose", "slow@W\nolder@main\nolder-destroy@main\n", 0);
}

static void
test_exit_pass_creates_elsewhere (void)
{
  g_test_summary ("What a callback of the exit pass registers for another "
                  "thread is newer than everything pending: it runs next");
  run_helper ("pass-creates-elsewhere", "maker@main\nmade-on-W@main\nw-old@main\n", 0);
}

static void
test_exit_busy (void)
{
  g_test_summary ("The exit pass ends while two other threads keep registering "
                  "finalizers and plain registrations as fast as they can, and "
                  "has run all that existed when exit() began (a snapshot, "
                  "taken once however often exit() calls the handler)");
  run_helper ("busy-at-exit", "ran-all-that-existed\n", 0);
}

static void
test_exit_pass_reregisters (void)
{
  g_test_summary ("A finalizer that the exit pass runs and that makes a new one "
                  "for the same running thread, forever: past the bound the pass "
                  "takes no more, warns, and exit() completes");
  if (test_tool () == TEST_TOOL_VALGRIND)
    {
      g_test_skip ("a million callbacks take too long under valgrind");
      return;
    }
  run_helper_full ("pass-reregisters", "pass-ended-after-bound\n", 0,
                   "*callbacks run at process exit kept registering with other "
                   "threads; after 1000000 registrations the exit pass runs no more*");
}

static void
test_exit_pass_joins_worker (void)
{
  g_test_summary ("A finalizer run by the exit pass stops a worker and joins "
                  "it: the worker's own finalizer, claimed by the pass, runs "
                  "on the worker as it ends, before the join returns");
  run_helper ("pass-joins-worker", "w-own@W\njoined@main\n", 0);
}

static void
test_exit_in_ending_callback (void)
{
  g_test_summary ("exit() from a callback that runs because its thread ends "
                  "(a worker or main returns): the rest of that end runs at "
                  "the start of exit(), before an atexit() handler installed "
                  "after threadref's first use");
  run_helper ("exit-in-ending-worker-callback",
              "calls-exit@W\nlibrary-up@W\nlibrary-cleanup@W\n", 0);
  run_helper ("exit-in-ending-main-callback",
              "calls-exit@main\nlibrary-up@main\nlibrary-cleanup@main\n", 0);
}

static void
test_exit_fork_in_pass (void)
{
  g_test_summary ("fork() from a finalizer that the exit pass runs: the child "
                  "goes on with its pass but never runs what the pass held of "
                  "threads that do not exist in it");
  run_helper ("fork-in-pass", "child-back@main\nchild-exited@main\nw-old@main\n", 0);
}

static void
test_exit_wait_while_ending (void)
{
  g_test_summary ("A wait for a thread that is in the middle of ending when "
                  "the process exits returns only after its older finalizer "
                  "has run, though the pass had claimed it: the thread takes it "
                  "back and runs it");
  run_helper ("wait-while-ending-at-exit", "slow@W\nw-older@W\nwait-returned-older-ran\n", 0);
}

static void
test_exit_local (void)
{
  g_test_summary ("At exit, the exiting thread's lifetime-local values are "
                  "freed on it; those of threads that still run are not");
  run_helper ("local-at-exit", "m-local-freed@main\n", 0);
}

static void
test_exit_before_library_atexit (void)
{
  g_test_summary ("The exiting thread's finalizers run at the start of exit(), "
                  "before atexit() handlers installed after threadref's first "
                  "use (a library's own cleanup)");
  run_helper ("library-atexit", "session-closed@main\nlibrary-cleanup@main\n", 0);
}

static void
test_exit_dropped_lifetime (void)
{
  g_test_summary ("A thread whose very first registration came from a key "
                  "destructor in glibc's last round, which glibc drops: at exit "
                  "threadref says so and runs its atexit finalizers");
#if defined (__SANITIZE_THREAD__)
  g_test_skip ("ThreadSanitizer's own state of a thread is gone in glibc's last destructor round");
  return;
#endif
  run_helper_full ("dropped-lifetime", "dropped-fin@main\n", 0,
                   "*thread*ended but its lifetime never did*");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/exit/main-return", test_exit_main_return);
  g_test_add_func ("/threadref/exit/main-exit", test_exit_main_exit);
  g_test_add_func ("/threadref/exit/other-threads", test_exit_other_threads);
  g_test_add_func ("/threadref/exit/cross-thread-order", test_exit_cross_thread_order);
  g_test_add_func ("/threadref/exit/exit-from-thread", test_exit_from_thread);
  g_test_add_func ("/threadref/exit/exit-in-callback", test_exit_in_callback);
  g_test_add_func ("/threadref/exit/nested", test_exit_nested);
  g_test_add_func ("/threadref/exit/underscore-exit", test_exit_underscore_exit);
  g_test_add_func ("/threadref/exit/late-atexit", test_exit_late_atexit);
  g_test_add_func ("/threadref/exit/main-pthread-exit", test_exit_main_pthread_exit);
  g_test_add_func ("/threadref/exit/exit-in-exit-callback", test_exit_exit_in_exit_callback);
  g_test_add_func ("/threadref/exit/exit-in-pass-callback", test_exit_exit_in_pass_callback);
  g_test_add_func ("/threadref/exit/while-ending", test_exit_while_ending);
  g_test_add_func ("/threadref/exit/pass-creates-elsewhere", test_exit_pass_creates_elsewhere);
  g_test_add_func ("/threadref/exit/busy", test_exit_busy);
  g_test_add_func ("/threadref/exit/pass-reregisters", test_exit_pass_reregisters);
  g_test_add_func ("/threadref/exit/before-library-atexit", test_exit_before_library_atexit);
  g_test_add_func ("/threadref/exit/pass-joins-worker", test_exit_pass_joins_worker);
  g_test_add_func ("/threadref/exit/exit-in-ending-callback", test_exit_in_ending_callback);
  g_test_add_func ("/threadref/exit/fork-in-pass", test_exit_fork_in_pass);
  g_test_add_func ("/threadref/exit/wait-while-ending", test_exit_wait_while_ending);
  g_test_add_func ("/threadref/exit/local", test_exit_local);
  g_test_add_func ("/threadref/exit/dropped-lifetime", test_exit_dropped_lifetime);

  return g_test_run ();
}
