/* test-fork.c: fork() with live refs and finalizers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In the child only the forking thread exists: refs and finalizers of the
 * other threads must report dead and never run there, the forking thread's
 * must keep working, and nothing may deadlock even if another thread was
 * inside the library when fork() was called.
 */

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <threadref.h>

#include "test-util.h"

static int report_fd = -1;   /* the child writes what ran here */

static void
report (gpointer label)
{
  ssize_t n = write (report_fd, label, strlen (label));

  (void) n;
}

static void
report_ref (ThreadRefRef *ref,
            gpointer      label)
{
  report (label);
}

typedef struct {
  ThreadRefRef      *ref;
  ThreadRefFinalize *fin;
  GMutex             mutex;
  GCond              cond;
  gint               stage;
} Worker;

static gpointer
worker_main (gpointer data)
{
  Worker *w = data;

  w->ref = threadref_ref_new (report_ref, "worker-ref;", NULL);
  w->fin = threadref_finalize_new (report, "worker-fin;", NULL);
  threadref_at_thread_exit (report, "worker-plain;", THREADREF_AT_THREAD_EXIT_DEFAULT);

  g_mutex_lock (&w->mutex);
  w->stage = 1;
  g_cond_broadcast (&w->cond);
  while (w->stage < 2)
    g_cond_wait (&w->cond, &w->mutex);
  g_mutex_unlock (&w->mutex);
  return NULL;
}

/* Ends a child cleanly without a leak check: children of threaded programs
 * exec. Under valgrind (which does not follow exec by default) this keeps
 * what the vanished threads owned from being reported as the child's leaks. */
static G_NORETURN void
exec_true (void)
{
  execl ("/bin/true", "true", (char *) NULL);
  _exit (127);
}

static G_NORETURN void
child_checks (Worker *w)
{
  ThreadRefRef *mine;
  ThreadRefFinalize *fin;

  /* The worker does not exist here. */
  if (threadref_ref_is_alive (w->ref) || threadref_ref_dup_thread (w->ref) != NULL)
    report ("BAD:worker-ref-alive;");
  if (threadref_finalize_is_alive (w->fin) || threadref_finalize_call (w->fin) ||
      threadref_finalize_detach (w->fin))
    report ("BAD:worker-fin-alive;");
  if (threadref_ref_watch (w->ref, NULL, NULL, NULL) != NULL)
    report ("BAD:watch-worker;");
  /* Dropping them takes the worker's (parent-side) lock: must not hang. */
  g_object_unref (w->ref);
  g_object_unref (w->fin);

  /* The forking thread works as before. */
  mine = threadref_ref_new (NULL, NULL, NULL);
  if (!threadref_ref_is_alive (mine))
    report ("BAD:own-ref-dead;");
  fin = threadref_finalize_new (report, "child-called;", NULL);
  threadref_finalize_call (fin);
  g_object_unref (fin);
  g_object_unref (threadref_finalize_new (report, "child-at-exit;", NULL));
  g_object_unref (mine);

  /* What exit() runs: the child's own finalizer runs; the worker's never
   * do. Then exec: the worker's registrations stay allocated in the child
   * by design (freeing them could run nothing safely), which a leak checker
   * at exit would report. */
  threadref_run_atexit ();
  exec_true ();
}

static void
test_fork_other_threads_dead (void)
{
  Worker w = { 0 };
  GThread *thread;
  int fds[2];
  pid_t pid;
  int status;
  GString *out = g_string_new (NULL);
  char buf[256];
  ssize_t n;

  g_test_summary ("In a fork() child, another thread's refs and finalizers "
                  "are dead and never run; the forking thread's work");

  g_mutex_init (&w.mutex);
  g_cond_init (&w.cond);
  thread = g_thread_new ("fork-worker", worker_main, &w);
  g_mutex_lock (&w.mutex);
  while (w.stage < 1)
    g_cond_wait (&w.cond, &w.mutex);
  g_mutex_unlock (&w.mutex);

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (fds[0]);
      report_fd = fds[1];
      alarm (10);
      child_checks (&w);
    }

  close (fds[1]);
  while ((n = read (fds[0], buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (fds[0]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_cmpstr (out->str, ==, "child-called;child-at-exit;");

  /* In the parent, the worker's run as usual when it ends: they write to
   * a new pipe. */
  g_assert_true (threadref_ref_is_alive (w.ref));
  g_assert_true (threadref_finalize_detach (w.fin));
  g_assert_cmpint (pipe (fds), ==, 0);
  report_fd = fds[1];
  g_mutex_lock (&w.mutex);
  w.stage = 2;
  g_cond_broadcast (&w.cond);
  g_mutex_unlock (&w.mutex);
  g_thread_join (thread);
  close (fds[1]);
  g_string_truncate (out, 0);
  while ((n = read (fds[0], buf, sizeof buf)) > 0)
    g_string_append_len (out, buf, n);
  close (fds[0]);
  g_assert_cmpstr (out->str, ==, "worker-plain;worker-ref;");

  g_object_unref (w.ref);
  g_object_unref (w.fin);
  g_string_free (out, TRUE);
  g_mutex_clear (&w.mutex);
  g_cond_clear (&w.cond);
}

/* Threads hammering the library while the test forks. */
typedef struct {
  gint          stop;
  ThreadRefRef *shared;   /* a ref to the hammering thread, dropped by children */
  gint          ready;
} Hammer;

static void
noop (gpointer data)
{
}

static gpointer
hammer_main (gpointer data)
{
  Hammer *h = data;

  g_atomic_pointer_set (&h->shared, threadref_ref_new (NULL, NULL, NULL));
  g_atomic_int_set (&h->ready, 1);
  /* Only the plain path: it takes threadref's locks and malloc's, which are
   * fork-safe. (GObject's own global locks, taken by g_object_new(), are
   * not: a child of a process that was inside g_object_new() on another
   * thread can deadlock in GLib, whatever threadref does.) */
  while (!g_atomic_int_get (&h->stop))
    {
      ThreadRefAtThreadExit *handle = threadref_at_thread_exit_add (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);

      threadref_at_thread_exit_cancel (handle);
    }
  return NULL;
}

static void
test_fork_while_busy (void)
{
  Hammer h = { 0 };
  GThread *hammer = g_thread_new ("hammer", hammer_main, &h);
  /* Every fork under valgrind copies its whole shadow memory: fewer. */
  guint forks = test_size (test_tool () == TEST_TOOL_VALGRIND ? 20 : 200);
  guint ok = 0;

  g_test_summary ("fork() while another thread is inside the library: the "
                  "child never deadlocks, whatever lock was held");

  while (!g_atomic_int_get (&h.ready))
    g_thread_yield ();

  for (guint i = 0; i < forks; i++)
    {
      int status;
      pid_t pid = fork ();

      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          ThreadRefFinalize *fin;

          alarm (10);   /* a deadlock kills the child: the test sees it */
          /* Touch the hammering thread's lifetime and our own. */
          if (threadref_ref_is_alive (h.shared))
            _exit (2);
          if (threadref_ref_watch (h.shared, NULL, NULL, NULL) != NULL)
            _exit (3);
          fin = threadref_finalize_new (noop, NULL, NULL);
          threadref_finalize_call (fin);
          g_object_unref (fin);
          threadref_end_lifetime ();
          exec_true ();
        }
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
        ok++;
      else
        g_test_message ("child %u: %s %d", i,
                        WIFSIGNALED (status) ? "signal" : "status",
                        WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status));
    }

  g_atomic_int_set (&h.stop, 1);
  g_thread_join (hammer);
  g_object_unref (h.shared);

  g_test_message ("%u forks while another thread registered and cancelled: %u clean", forks, ok);
  g_assert_cmpuint (ok, ==, forks);
}

/* Threads that keep every lock of the library busy while the test forks:
 * lifetimes started and ended (the registry and its pool), registrations
 * with callbacks from more modules than the per-thread module cache holds
 * (module pinning), blocking waits that time out (the waits' lock). */
typedef struct {
  gint          stop;
  gint          ready;
  ThreadRefRef *main_ref;   /* the waiting thread waits for the main thread */
} EveryLock;

static GDestroyNotify module_functions[] = {
  noop,                                    /* this program */
  free,                                    /* libc */
  g_free,                                  /* libglib */
  (GDestroyNotify) g_object_unref,         /* libgobject */
  (GDestroyNotify) g_io_stream_close,      /* libgio */
  (GDestroyNotify) threadref_end_lifetime,    /* libthreadref */
};

static gpointer
pin_hammer (gpointer data)
{
  EveryLock *e = data;

  g_atomic_int_inc (&e->ready);
  for (guint i = 0; !g_atomic_int_get (&e->stop); i++)
    {
      /* Registered and cancelled at once: never run. */
      ThreadRefAtThreadExit *handle = threadref_at_thread_exit_add (module_functions[i % G_N_ELEMENTS (module_functions)],
                                                 NULL, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);

      threadref_at_thread_exit_cancel (handle);
    }
  return NULL;
}

static gpointer
lifetime_hammer (gpointer data)
{
  EveryLock *e = data;

  g_atomic_int_inc (&e->ready);
  while (!g_atomic_int_get (&e->stop))
    {
      threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
      threadref_end_lifetime ();
    }
  return NULL;
}

static gpointer
wait_hammer (gpointer data)
{
  EveryLock *e = data;

  g_atomic_int_inc (&e->ready);
  /* Waits for a thread that runs: each one times out. */
  while (!g_atomic_int_get (&e->stop))
    g_assert_false (threadref_ref_wait (e->main_ref, 100));
  return NULL;
}

#if !defined (__SANITIZE_THREAD__) && !defined (__SANITIZE_ADDRESS__)
/* In a child: a thread that runs, for the child to wait for. */
static gint child_worker_ready;
static ThreadRefRef *child_worker_ref;

static G_NORETURN void *
child_worker (void *data)
{
  child_worker_ref = threadref_ref_new (NULL, NULL, NULL);
  g_atomic_int_set (&child_worker_ready, 1);
  for (;;)
    pause ();
}
#endif

static void
test_fork_every_lock (void)
{
  EveryLock e = { 0 };
  GThread *hammers[4];
  guint forks = test_size (test_tool () == TEST_TOOL_VALGRIND ? 5 : 30);
  guint hung = 0;

  g_test_summary ("fork() while other threads hold each lock of the library "
                  "in turn: no child deadlocks on any of them");

  e.main_ref = threadref_ref_new (NULL, NULL, NULL);
  hammers[0] = g_thread_new ("pin-hammer", pin_hammer, &e);
  hammers[1] = g_thread_new ("pin-hammer", pin_hammer, &e);
  hammers[2] = g_thread_new ("lifetime-hammer", lifetime_hammer, &e);
  hammers[3] = g_thread_new ("wait-hammer", wait_hammer, &e);
  while (g_atomic_int_get (&e.ready) < (gint) G_N_ELEMENTS (hammers))
    g_usleep (1000);

  for (guint i = 0; i < forks; i++)
    {
      int status;
      pid_t pid = fork ();

      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          alarm (5);   /* a deadlock kills the child: the parent counts it */
          /* This thread's module cache misses: the pinning path. */
          threadref_at_thread_exit_cancel (threadref_at_thread_exit_add ((GDestroyNotify) g_variant_unref, NULL, 0));
          /* The waits' lock, taken only by a wait for a thread that
           * runs: start one. Not under a sanitizer: ThreadSanitizer cannot
           * start threads in the child of a multithreaded process, and
           * AddressSanitizer (GCC 12's) does not take its allocator's lock
           * at fork(), so a thread started in the child can hang in its
           * allocator on a lock a parent thread held (seen in CI). */
#if !defined (__SANITIZE_THREAD__) && !defined (__SANITIZE_ADDRESS__)
          {
            pthread_t worker;

            pthread_create (&worker, NULL, child_worker, NULL);
            while (!g_atomic_int_get (&child_worker_ready))
              g_usleep (100);
            if (threadref_ref_wait (child_worker_ref, 1000))
              _exit (3);
          }
#endif
          /* The registry and its pool. */
          threadref_at_thread_exit (noop, NULL, THREADREF_AT_THREAD_EXIT_DEFAULT);
          threadref_end_lifetime ();
          /* Like a real child, which execs (valgrind would otherwise count
           * the parent's other threads' memory as this child's leaks). */
          exec_true ();
        }
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      if (WIFSIGNALED (status) && WTERMSIG (status) == SIGALRM)
        hung++;
      else
        g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }

  g_atomic_int_set (&e.stop, 1);
  for (guint i = 0; i < G_N_ELEMENTS (hammers); i++)
    g_thread_join (hammers[i]);
  g_object_unref (e.main_ref);

  g_test_message ("%u forks: %u children deadlocked", forks, hung);
  g_assert_cmpuint (hung, ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/fork/other-threads-dead", test_fork_other_threads_dead);
  g_test_add_func ("/threadref/fork/while-busy", test_fork_while_busy);
  g_test_add_func ("/threadref/fork/every-lock", test_fork_every_lock);

  return g_test_run ();
}
