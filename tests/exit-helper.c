/* exit-helper.c: programs that exit with live registrations, run by
 * test-exit.c as subprocesses (rule 9)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: exit-helper SCENARIO. Every callback prints "LABEL@THREAD" on its
 * own line, THREAD being "main", "W" (the scenario's worker) or "W2".
 */

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <threadref.h>

static pthread_t main_thread;
static pthread_t worker_thread;
static pthread_t worker2_thread;

static GMutex lock;
static GCond cond;
static gint step;

static const char *
thread_name (void)
{
  pthread_t self = pthread_self ();

  if (pthread_equal (self, main_thread))
    return "main";
  if (pthread_equal (self, worker_thread))
    return "W";
  if (pthread_equal (self, worker2_thread))
    return "W2";
  return "other";
}

static void
print_label (gpointer data)
{
  printf ("%s@%s\n", (const char *) data, thread_name ());
}

static void
print_ref_label (ThreadRefRef *ref,
                 gpointer      data)
{
  print_label (data);
}

static void
fin (const char *label,
     gboolean    atexit_flag)
{
  ThreadRefFinalize *f = threadref_finalize_new (print_label, (gpointer) label, NULL);

  threadref_finalize_set_atexit (f, atexit_flag);
  g_object_unref (f);
}

static ThreadRefRef *kept_refs[4];

static void
kept_ref (const char *label)
{
  /* Never released: it must stay alive to fire. */
  for (guint i = 0; i < G_N_ELEMENTS (kept_refs); i++)
    if (g_atomic_pointer_compare_and_exchange (&kept_refs[i], NULL, (gpointer) 1))
      {
        kept_refs[i] = threadref_ref_new (print_ref_label, (gpointer) label, NULL);
        return;
      }
  g_assert_not_reached ();
}

static void
wait_for_step (gint n)
{
  g_mutex_lock (&lock);
  while (step < n)
    g_cond_wait (&cond, &lock);
  g_mutex_unlock (&lock);
}

static void
set_step (gint n)
{
  g_mutex_lock (&lock);
  step = n;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
}

static G_NORETURN void
block_forever (void)
{
  for (;;)
    pause ();
}

/* main-return, main-exit: everything of the exiting thread runs, newest
 * first, whatever its atexit flag. */
static void
register_on_main (void)
{
  kept_ref ("ref0");
  fin ("fin1", TRUE);
  fin ("fin2", FALSE);
  threadref_at_thread_exit (print_label, "plain3", THREADREF_AT_THREAD_EXIT_DEFAULT);
  threadref_at_thread_exit (print_label, "plain4", THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
}

/* other-threads: a worker still runs at exit; only its atexit registrations
 * run, after the exiting thread's own. */
static gpointer
other_threads_worker (gpointer data)
{
  worker_thread = pthread_self ();
  fin ("wA", TRUE);
  fin ("wB", FALSE);
  kept_ref ("wR");
  threadref_at_thread_exit (print_label, "wP", THREADREF_AT_THREAD_EXIT_DEFAULT);
  threadref_at_thread_exit (print_label, "wQ", THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
  set_step (1);
  block_forever ();
}

/* cross-thread-order: creation alternates between two workers. */
static gpointer
order_worker (gpointer data)
{
  gboolean first = GPOINTER_TO_INT (data);

  if (first)
    {
      worker_thread = pthread_self ();
      fin ("x1", TRUE);
      set_step (1);
      wait_for_step (2);
      fin ("x3", TRUE);
      set_step (3);
    }
  else
    {
      worker2_thread = pthread_self ();
      wait_for_step (1);
      fin ("x2", TRUE);
      set_step (2);
      wait_for_step (3);
      fin ("x4", TRUE);
      set_step (4);
    }
  block_forever ();
}

/* exit-from-thread: a worker calls exit() while main waits. */
static gpointer
exiting_worker (gpointer data)
{
  worker_thread = pthread_self ();
  fin ("w1", TRUE);
  kept_ref ("w2");
  fflush (stdout);
  exit (3);
}

/* exit-in-callback: a finalizer calls exit() while its thread ends. */
static void
call_exit (gpointer data)
{
  print_label (data);
  exit (0);
}

static gpointer
exit_in_callback_worker (gpointer data)
{
  worker_thread = pthread_self ();
  fin ("a", TRUE);
  g_object_unref (threadref_finalize_new (call_exit, "b", NULL));
  fin ("c", TRUE);
  return NULL;
}

/* nested-at-exit: finalizers that create finalizers while exit runs them. */
static void
create_inner (gpointer data)
{
  print_label (data);
  g_object_unref (threadref_finalize_new (print_label, g_strconcat (data, "-inner", NULL), g_free));
}

static gpointer
nested_worker (gpointer data)
{
  worker_thread = pthread_self ();
  g_object_unref (threadref_finalize_new (create_inner, "wouter", NULL));
  set_step (1);
  block_forever ();
}

/* late-atexit: a handler that runs after threadref's (it was installed
 * before threadref's first use) registers on the exiting thread. */
static void
late_handler (void)
{
  printf ("late-handler@%s\n", thread_name ());
  fin ("late", TRUE);
}

/* exit-in-exit-callback: the exiting thread's newest finalizer calls exit()
 * again while exit() runs the older ones. */
static void
print_destroy (gpointer data)
{
  printf ("%s-destroy@%s\n", (const char *) data, thread_name ());
}

static gint nested_exit_status;

static void
print_and_exit (gpointer data)
{
  print_label (data);
  exit (nested_exit_status);
}

/* exit-in-pass-callback: another thread's finalizer, run by the exit pass,
 * calls exit() again. */
static gpointer
pass_exit_worker (gpointer data)
{
  worker_thread = pthread_self ();
  g_object_unref (threadref_finalize_new (print_label, "w1", print_destroy));
  g_object_unref (threadref_finalize_new (print_and_exit, "w2", NULL));
  g_object_unref (threadref_finalize_new (print_label, "w3", print_destroy));
  set_step (1);
  block_forever ();
}

/* exit-while-ending: exit() while another thread is in the middle of ending
 * its lifetime, in a slow callback. */
static void
slow_callback (gpointer data)
{
  print_label (data);
  set_step (1);
  block_forever ();
}

static gpointer
ending_worker (gpointer data)
{
  gboolean end_on_purpose = GPOINTER_TO_INT (data);

  worker_thread = pthread_self ();
  g_object_unref (threadref_finalize_new (print_label, "older", print_destroy));
  g_object_unref (threadref_finalize_new (slow_callback, "slow", NULL));
  if (end_on_purpose)
    {
      threadref_end_lifetime ();
      block_forever ();
    }
  return NULL;
}

/* pass-creates-elsewhere: a finalizer run by the exit pass makes a finalizer
 * for a third thread; it is newer than everything still pending, so it runs
 * next. */
static ThreadRefRef *worker_ref;

static void
make_on_worker (gpointer data)
{
  print_label (data);
  g_object_unref (threadref_ref_watch_finalize (worker_ref, print_label, "made-on-W", NULL));
}

static gpointer
pass_maker_worker (gpointer data)
{
  gboolean maker = GPOINTER_TO_INT (data);

  if (maker)
    {
      worker2_thread = pthread_self ();
      wait_for_step (1);
      g_object_unref (threadref_finalize_new (make_on_worker, "maker", NULL));
      set_step (2);
    }
  else
    {
      worker_thread = pthread_self ();
      worker_ref = threadref_ref_new (NULL, NULL, NULL);
      g_object_unref (threadref_finalize_new (print_label, "w-old", NULL));
      set_step (1);
    }
  block_forever ();
}

/* busy-at-exit: two threads keep registering, as fast as they can,
 * finalizers and plain registrations while the process exits; the pass must
 * still end (it runs a snapshot), and must have run all that existed when
 * exit() began. A hang is reported by an alarm. */
static gint64 busy_created;     /* atomic */
static gint64 busy_ran;         /* atomic */
static gint64 busy_created_at_exit;

static void
count_run (gpointer data)
{
  g_atomic_pointer_add (&busy_ran, 1);
}

static G_NORETURN gpointer
busy_worker (gpointer data)
{
  gboolean plain = GPOINTER_TO_INT (data);

  worker_thread = pthread_self ();
  for (guint i = 0;; i++)
    {
      if (plain)
        threadref_at_thread_exit (count_run, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
      else
        g_object_unref (threadref_finalize_new (count_run, NULL, NULL));
      g_atomic_pointer_add (&busy_created, 1);
      if (i == 1000)
        set_step (plain ? 2 : 1);
    }
}

static void
busy_last_handler (void)
{
  printf ("%s\n", g_atomic_pointer_get (&busy_ran) >= busy_created_at_exit
          ? "ran-all-that-existed" : "missed-some");
}

/* pass-reregisters: a finalizer that the pass runs for a thread that still
 * runs makes a new one for that thread, forever; past its bound the pass
 * takes no more of them, says so, and ends. */
static ThreadRefRef *forever_ref;
static gint forever_runs;

static void
register_again (gpointer data)
{
  ThreadRefFinalize *fin;

  forever_runs++;
  fin = threadref_ref_watch_finalize (forever_ref, register_again, NULL, NULL);
  if (fin != NULL)
    g_object_unref (fin);
}

static void
forever_setup (void)
{
  forever_ref = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (register_again, NULL, NULL));
  set_step (1);
}

static G_NORETURN gpointer
forever_worker (gpointer data)
{
  worker_thread = pthread_self ();
  forever_setup ();
  for (;;)
    g_usleep (G_USEC_PER_SEC);
}

static void
forever_last_handler (void)
{
  printf ("pass-ended-after-%s\n", forever_runs > 1000000 ? "bound" : "too-few");
}

static void
exit_hung (int sig)
{
  static const char message[] = "exit-hung\n";

  if (write (STDOUT_FILENO, message, sizeof message - 1) < 0)
    _exit (4);
  _exit (3);
}

/* pass-joins-worker: a finalizer that the pass runs (for thread C) stops
 * worker W and joins it, a common shutdown: W's own finalizer, which the
 * pass had claimed, runs on W as it ends, before the join returns. */
static gboolean stop_worker;   /* under lock */
static GThread *stoppable;

static G_NORETURN void
block_until_stopped (void)
{
  g_mutex_lock (&lock);
  while (!stop_worker)
    g_cond_wait (&cond, &lock);
  g_mutex_unlock (&lock);
  g_thread_exit (NULL);
  g_assert_not_reached ();
}

static gpointer
stoppable_worker (gpointer data)
{
  worker_thread = pthread_self ();
  fin ("w-own", TRUE);
  set_step (1);
  block_until_stopped ();
}

static void
stop_and_join (gpointer data)
{
  g_mutex_lock (&lock);
  stop_worker = TRUE;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
  g_thread_join (stoppable);
  printf ("joined@%s\n", thread_name ());
}

static gpointer
controller (gpointer data)
{
  worker2_thread = pthread_self ();
  g_object_unref (threadref_finalize_new (stop_and_join, NULL, NULL));
  set_step (2);
  block_forever ();
}

/* exit-in-ending-callback: exit() from a callback that runs because its
 * thread ends (a worker returns, or main returns): the rest of that end
 * runs at the start of exit(), before an atexit() handler installed after
 * threadref's first use. */
static gboolean ending_library_up;

static void
ending_library_cleanup (void)
{
  ending_library_up = FALSE;
  printf ("library-cleanup@%s\n", thread_name ());
}

static void
uses_library (gpointer data)
{
  printf ("%s@%s\n", ending_library_up ? "library-up" : "library-gone", thread_name ());
}

static void
calls_exit (gpointer data)
{
  printf ("calls-exit@%s\n", thread_name ());
  exit (0);
}

static void
register_uses_then_exit (void)
{
  g_object_unref (threadref_finalize_new (uses_library, NULL, NULL));
  g_object_unref (threadref_finalize_new (calls_exit, NULL, NULL));
}

static gpointer
returning_worker (gpointer data)
{
  worker_thread = pthread_self ();
  register_uses_then_exit ();
  return NULL;
}

/* fork-in-pass: a finalizer that the pass runs forks; the child returns
 * from it and its pass goes on, but what it had claimed of threads that do
 * not exist in the child never runs there. */
static void
fork_and_wait (gpointer data)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      printf ("child-back@%s\n", thread_name ());
      return;
    }
  waitpid (pid, NULL, 0);
  printf ("child-exited@%s\n", thread_name ());
}

static gpointer
forking_worker (gpointer data)
{
  worker_thread = pthread_self ();
  fin ("w-old", TRUE);
  g_object_unref (threadref_finalize_new (fork_and_wait, NULL, NULL));
  set_step (1);
  block_forever ();
}

/* wait-while-ending-at-exit: thread M waits for W, which is in the middle
 * of ending (in a slow callback) when the process exits. The pass claims
 * W's older finalizer, but first runs a newer one of thread X that lets W
 * go on and joins M: W takes its finalizer back and runs it, and M's wait
 * returns only once it has. */
static gint older_ran;   /* atomic */
static ThreadRefRef *ending_ref;
static GThread *waiter;

static void
mark_older_ran (gpointer data)
{
  print_label (data);
  g_atomic_int_set (&older_ran, 1);
}

static void
slow_until_released (gpointer data)
{
  print_label (data);
  set_step (1);
  wait_for_step (2);
}

static gpointer
ending_slowly (gpointer data)
{
  worker_thread = pthread_self ();
  ending_ref = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (mark_older_ran, "w-older", NULL));
  g_object_unref (threadref_finalize_new (slow_until_released, "slow", NULL));
  return NULL;
}

static gpointer
waiting_thread (gpointer data)
{
  g_assert_true (threadref_ref_wait (ending_ref, -1));
  printf ("wait-returned-%s\n", g_atomic_int_get (&older_ran) ? "older-ran" : "older-pending");
  return NULL;
}

static void
release_and_join_waiter (gpointer data)
{
  set_step (2);
  g_thread_join (waiter);
}

static gpointer
releasing_thread (gpointer data)
{
  worker2_thread = pthread_self ();
  g_object_unref (threadref_finalize_new (release_and_join_waiter, NULL, NULL));
  set_step (3);
  block_forever ();
}

/* local-at-exit: the exiting thread's lifetime-local values are freed at
 * exit, on it; another thread's, which still runs, are not (they are its
 * own, and it may be using them). */
static void
free_local (gpointer value)
{
  printf ("%s-freed@%s\n", (const char *) value, thread_name ());
}

static ThreadRefLocal exit_local = THREADREF_LOCAL_INIT (free_local);

static gpointer
local_worker (gpointer data)
{
  worker_thread = pthread_self ();
  threadref_local_set (&exit_local, "w-local");
  set_step (1);
  block_forever ();
}

/* library-atexit: a library whose own atexit() cleanup is installed after
 * threadref's first use (OpenSSL's, for instance). */
static gboolean library_up;

static void
library_cleanup (void)
{
  library_up = FALSE;
  printf ("library-cleanup@%s\n", thread_name ());
}

static void
close_session (gpointer data)
{
  printf ("%s@%s\n", library_up ? "session-closed" : "session-closed-too-late", thread_name ());
}

/* dropped-lifetime: a thread's very first registration comes from a newer
 * key's destructor in glibc's last round: glibc drops it; at exit threadref
 * says so and runs what it can. */
static pthread_key_t late_key;

static void
late_key_destroyed (void *data)
{
  gint round = GPOINTER_TO_INT (data);

  if (round < 4)
    pthread_setspecific (late_key, GINT_TO_POINTER (round + 1));
  else
    g_object_unref (threadref_finalize_new (print_label, "dropped-fin", NULL));
}

static gpointer
dropped_worker (gpointer data)
{
  worker_thread = pthread_self ();
  pthread_setspecific (late_key, GINT_TO_POINTER (1));
  return NULL;
}

/* main-pthread-exit: the main thread ends with pthread_exit() while another
 * thread keeps the process alive. */
static gpointer
outlive_main (gpointer data)
{
  worker_thread = pthread_self ();
  g_usleep (100 * 1000);
  printf ("worker-done@%s\n", thread_name ());
  return NULL;
}

int
main (int   argc,
      char *argv[])
{
  const char *scenario;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s SCENARIO\n", argv[0]);
      return 2;
    }
  scenario = argv[1];
  main_thread = pthread_self ();
  setvbuf (stdout, NULL, _IOLBF, 0);

  /* Before threadref's first use: these run after its exit pass. */
  if (strcmp (scenario, "late-atexit") == 0)
    atexit (late_handler);
  else if (strcmp (scenario, "busy-at-exit") == 0)
    atexit (busy_last_handler);
  else if (strcmp (scenario, "pass-reregisters") == 0)
    atexit (forever_last_handler);
  nested_exit_status = strcmp (scenario, "exit-in-pass-callback") == 0 ? 4 : 3;

  if (strcmp (scenario, "main-return") == 0)
    {
      register_on_main ();
      return 0;
    }
  else if (strcmp (scenario, "main-exit") == 0)
    {
      register_on_main ();
      exit (0);
    }
  else if (strcmp (scenario, "other-threads") == 0)
    {
      g_thread_unref (g_thread_new ("W", other_threads_worker, NULL));
      wait_for_step (1);
      fin ("mC", TRUE);
      return 0;
    }
  else if (strcmp (scenario, "cross-thread-order") == 0)
    {
      g_thread_unref (g_thread_new ("W", order_worker, GINT_TO_POINTER (TRUE)));
      g_thread_unref (g_thread_new ("W2", order_worker, GINT_TO_POINTER (FALSE)));
      wait_for_step (4);
      return 0;
    }
  else if (strcmp (scenario, "exit-from-thread") == 0)
    {
      fin ("m1", TRUE);
      fin ("m2", FALSE);
      g_thread_join (g_thread_new ("W", exiting_worker, NULL));
      g_assert_not_reached ();
    }
  else if (strcmp (scenario, "exit-in-callback") == 0)
    {
      fin ("m", TRUE);
      g_thread_join (g_thread_new ("W", exit_in_callback_worker, NULL));
      g_assert_not_reached ();
    }
  else if (strcmp (scenario, "nested-at-exit") == 0)
    {
      g_thread_unref (g_thread_new ("W", nested_worker, NULL));
      wait_for_step (1);
      g_object_unref (threadref_finalize_new (create_inner, "outer", NULL));
      return 0;
    }
  else if (strcmp (scenario, "underscore-exit") == 0)
    {
      register_on_main ();
      _exit (0);
    }
  else if (strcmp (scenario, "late-atexit") == 0)
    {
      fin ("early", TRUE);
      return 0;
    }
  else if (strcmp (scenario, "exit-in-exit-callback") == 0)
    {
      g_object_unref (threadref_finalize_new (print_label, "f1", print_destroy));
      g_object_unref (threadref_finalize_new (print_label, "f2", print_destroy));
      g_object_unref (threadref_finalize_new (print_and_exit, "f3", NULL));
      return 0;
    }
  else if (strcmp (scenario, "exit-in-pass-callback") == 0)
    {
      g_thread_unref (g_thread_new ("W", pass_exit_worker, NULL));
      wait_for_step (1);
      return 0;
    }
  else if (strcmp (scenario, "exit-while-ending") == 0 ||
           strcmp (scenario, "exit-while-ending-on-purpose") == 0)
    {
      g_thread_unref (g_thread_new ("W", ending_worker,
                                    GINT_TO_POINTER (strcmp (scenario, "exit-while-ending") != 0)));
      wait_for_step (1);
      exit (0);
    }
  else if (strcmp (scenario, "pass-creates-elsewhere") == 0)
    {
      g_thread_unref (g_thread_new ("W", pass_maker_worker, GINT_TO_POINTER (FALSE)));
      g_thread_unref (g_thread_new ("W2", pass_maker_worker, GINT_TO_POINTER (TRUE)));
      wait_for_step (2);
      return 0;
    }
  else if (strcmp (scenario, "busy-at-exit") == 0)
    {
      signal (SIGALRM, exit_hung);
      g_thread_unref (g_thread_new ("W", busy_worker, GINT_TO_POINTER (FALSE)));
      wait_for_step (1);
      g_thread_unref (g_thread_new ("W2", busy_worker, GINT_TO_POINTER (TRUE)));
      wait_for_step (2);
      busy_created_at_exit = g_atomic_pointer_get (&busy_created);
      alarm (60);
      return 0;
    }
  else if (strcmp (scenario, "pass-reregisters") == 0)
    {
      signal (SIGALRM, exit_hung);
      g_thread_unref (g_thread_new ("W", forever_worker, NULL));
      wait_for_step (1);
      alarm (120);
      return 0;
    }
  else if (strcmp (scenario, "pass-joins-worker") == 0)
    {
      stoppable = g_thread_new ("W", stoppable_worker, NULL);
      wait_for_step (1);
      g_thread_unref (g_thread_new ("C", controller, NULL));
      wait_for_step (2);
      return 0;
    }
  else if (strcmp (scenario, "exit-in-ending-worker-callback") == 0 ||
           strcmp (scenario, "exit-in-ending-main-callback") == 0)
    {
      g_object_unref (threadref_ref_new (NULL, NULL, NULL));   /* first use */
      ending_library_up = TRUE;
      atexit (ending_library_cleanup);
      if (strcmp (scenario, "exit-in-ending-worker-callback") == 0)
        {
          g_thread_join (g_thread_new ("W", returning_worker, NULL));
          g_assert_not_reached ();
        }
      register_uses_then_exit ();
      return 0;
    }
  else if (strcmp (scenario, "fork-in-pass") == 0)
    {
      g_thread_unref (g_thread_new ("W", forking_worker, NULL));
      wait_for_step (1);
      return 0;
    }
  else if (strcmp (scenario, "wait-while-ending-at-exit") == 0)
    {
      g_thread_unref (g_thread_new ("W", ending_slowly, NULL));
      wait_for_step (1);
      waiter = g_thread_new ("M", waiting_thread, NULL);
      g_thread_unref (g_thread_new ("X", releasing_thread, NULL));
      wait_for_step (3);
      return 0;
    }
  else if (strcmp (scenario, "local-at-exit") == 0)
    {
      g_thread_unref (g_thread_new ("W", local_worker, NULL));
      wait_for_step (1);
      threadref_local_set (&exit_local, "m-local");
      return 0;
    }
  else if (strcmp (scenario, "library-atexit") == 0)
    {
      g_object_unref (threadref_finalize_new (close_session, NULL, NULL));
      library_up = TRUE;
      atexit (library_cleanup);
      return 0;
    }
  else if (strcmp (scenario, "dropped-lifetime") == 0)
    {
      /* threadref's key exists now, so this one is newer: its round-4
       * destructor runs after threadref's. */
      g_object_unref (threadref_ref_new (NULL, NULL, NULL));
      pthread_key_create (&late_key, late_key_destroyed);
      g_thread_join (g_thread_new ("W", dropped_worker, NULL));
      return 0;
    }
  else if (strcmp (scenario, "main-pthread-exit") == 0)
    {
      g_thread_unref (g_thread_new ("W", outlive_main, NULL));
      fin ("m", TRUE);
      pthread_exit (NULL);
    }

  fprintf (stderr, "unknown scenario %s\n", scenario);
  return 2;
}
