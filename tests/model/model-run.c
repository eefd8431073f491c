/* model-run.c: see model.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model.h"
#include "test-util.h"

/* The thread a callback runs on, as the model numbers threads. Plain TLS:
 * it outlives GLib's own per-thread data while the thread ends. */
static __thread gint current_thread_number = -1;
/* Made by pthread_create(): g_thread_exit() is not for it. */
static __thread gboolean current_thread_posix;
/* Running a step, not ending: exiting the thread is defined only then
 * (POSIX leaves pthread_exit() from a destructor of an exiting thread
 * undefined). */
static __thread gboolean current_thread_in_step;

/* Records of failed runs: a broken library may still call into them. */
static GPtrArray *graveyard;

static RReg *
run_reg (Run   *run,
         guint  id)
{
  return id < run->regs->len ? g_ptr_array_index (run->regs, id) : NULL;
}

static void
run_log (Run       *run,
         EventKind  kind,
         guint      id,
         gint       value)
{
  Event e = { kind, id, current_thread_number, value };

  g_mutex_lock (&run->log_lock);
  g_array_append_val (run->log, e);
  /* An exit sequence: the process ends inside the step, so the parent
   * reads the events from here. */
  if (run->event_fd >= 0)
    g_assert_cmpint (write (run->event_fd, &e, sizeof e), ==, sizeof e);
  g_mutex_unlock (&run->log_lock);
}

static void real_create (Run          *run,
                         const Spec   *spec,
                         ThreadRefRef *watched);

static void
real_children (RReg         *reg,
               ThreadRefRef *ref)
{
  for (guint i = 0; i < reg->spec->n_children; i++)
    real_create (reg->run, reg->spec->children[i], ref);
}

static void
reg_destroy (gpointer data)
{
  RReg *reg = data;

  g_atomic_int_inc (&reg->destroys);
  run_log (reg->run, EV_DESTROY, reg->spec->id, 0);
}

static void
reg_ref_callback (ThreadRefRef *ref,
                  gpointer      data)
{
  RReg *reg = data;
  GThread *thread = threadref_ref_dup_thread (ref);
  gint seen = 0;

  if (threadref_ref_is_alive (ref))
    seen |= SAW_ALIVE;
  if (thread != NULL)
    {
      seen |= SAW_THREAD;
      g_thread_unref (thread);
    }
  if (reg->held && reg->object != ref)
    seen |= SAW_OTHER_OBJECT;

  g_atomic_int_inc (&reg->runs);
  run_log (reg->run, EV_REF, reg->spec->id, seen);
  real_children (reg, ref);
}

static void
reg_fin_func (gpointer data)
{
  RReg *reg = data;
  ThreadRefFinalize *fin = reg->object;
  gint seen = 0;

  if (fin == NULL)
    seen |= SAW_NO_OBJECT;
  else
    {
      GThread *thread = threadref_finalize_dup_thread (fin);

      if (threadref_finalize_is_alive (fin))
        seen |= SAW_ALIVE;
      if (thread != NULL)
        {
          seen |= SAW_THREAD;
          g_thread_unref (thread);
        }
      /* Nobody else holds it: it is gone once this returns. */
      if (!reg->held)
        reg->object = NULL;
    }

  g_atomic_int_inc (&reg->runs);
  run_log (reg->run, EV_FIN, reg->spec->id, seen);
  real_children (reg, NULL);
}

static void
reg_plain_func (gpointer data)
{
  RReg *reg = data;

  g_atomic_int_inc (&reg->runs);
  run_log (reg->run, EV_PLAIN, reg->spec->id, 0);
  real_children (reg, NULL);
}

static void
real_keep_ref (RReg         *reg,
               ThreadRefRef *ref)
{
  if (reg->spec->kept)
    {
      reg->object = ref;
      reg->held = TRUE;
    }
  else
    g_object_unref (ref);
}

static void
real_keep_fin (RReg              *reg,
               ThreadRefFinalize *fin)
{
  if (!reg->spec->atexit)
    threadref_finalize_set_atexit (fin, FALSE);

  /* Kept for its function's checks even when dropped: a pending finalizer
   * keeps itself alive. */
  reg->object = fin;
  reg->held = reg->spec->kept;
  if (!reg->spec->kept)
    g_object_unref (fin);
}

static void
real_drop (RReg *reg)
{
  gpointer object = reg->object;

  reg->held = FALSE;
  /* A pending finalizer lives on, and its function still checks it; so
   * does one the exit pass claimed (dead, but its function has yet to run). */
  if (!reg_kind_is_fin (reg->spec->kind) ||
      (!threadref_finalize_is_alive (object) &&
       (g_atomic_int_get (&reg->runs) > 0 || reg->detached)))
    reg->object = NULL;
  g_object_unref (object);
}

/* Makes what spec says on the calling thread; watched is the ref watches go
 * through. */
static void
real_create (Run          *run,
             const Spec   *spec,
             ThreadRefRef *watched)
{
  RReg *reg = run_reg (run, spec->id);
  RReg *target = run_reg (run, spec->target);
  GDestroyNotify destroy = spec->no_destroy ? NULL : reg_destroy;
  ThreadRefRefFunc callback = spec->no_callback ? NULL : reg_ref_callback;
  ThreadRefAtThreadExitFlags flags = spec->atexit ? THREADREF_AT_THREAD_EXIT_DEFAULT : THREADREF_AT_THREAD_EXIT_THREAD_ONLY;
  ThreadRefRef *ref;
  ThreadRefFinalize *fin;
  ThreadRefAtThreadExit *handle;

  switch (spec->kind)
    {
    case REG_REF:
      real_keep_ref (reg, threadref_ref_new (callback, reg, destroy));
      break;

    case REG_WATCH_REF:
      ref = threadref_ref_watch (watched, callback, reg, destroy);
      run_log (run, EV_WATCH, spec->id, ref != NULL);
      if (ref != NULL)
        real_keep_ref (reg, ref);
      break;

    case REG_FIN:
      real_keep_fin (reg, threadref_finalize_new (reg_fin_func, reg, destroy));
      break;

    case REG_WATCH_FIN:
      fin = threadref_ref_watch_finalize (watched, reg_fin_func, reg, destroy);
      run_log (run, EV_WATCH, spec->id, fin != NULL);
      if (fin != NULL)
        real_keep_fin (reg, fin);
      break;

    case REG_PLAIN:
      threadref_at_thread_exit (reg_plain_func, reg, flags);
      break;

    case REG_HANDLE:
      handle = threadref_at_thread_exit_add (reg_plain_func, reg, flags);
      if (spec->kept)
        {
          reg->object = handle;
          reg->held = TRUE;
        }
      else
        run_log (run, EV_CANCEL, spec->id, threadref_at_thread_exit_cancel (handle));
      break;

    case REG_END_LIFETIME:
      threadref_end_lifetime ();
      break;

    case REG_CALL:
      if (target != NULL && target->held)
        run_log (run, EV_CALL, spec->target, threadref_finalize_call (target->object));
      break;

    case REG_DETACH:
      if (target != NULL && target->held)
        {
          gboolean detached = threadref_finalize_detach (target->object);

          target->detached |= detached;
          run_log (run, EV_DETACH, spec->target, detached);
        }
      break;

    case REG_DROP:
      if (target != NULL && target->held)
        real_drop (target);
      break;

    case REG_EXIT_THREAD:
      if (current_thread_number != 0 && current_thread_in_step)
        {
          if (spec->posix_exit || current_thread_posix)
            pthread_exit (NULL);
          test_g_thread_exit ();
        }
      break;

    case REG_EXIT_PROCESS:
      exit (EXIT_STATUS);
    }
}

/* Runs a step on the calling thread. */
static void
real_execute (Run        *run,
              const Step *step)
{
  RReg *target = run_reg (run, step->target);

  switch (step->op)
    {
    case OP_CREATE:
      real_create (run, step->spec, NULL);
      break;

    case OP_WATCH:
      real_create (run, step->spec, target->object);
      break;

    case OP_CALL:
      run_log (run, EV_CALL, step->target, threadref_finalize_call (target->object));
      break;

    case OP_DETACH:
      {
        gboolean detached = threadref_finalize_detach (target->object);

        target->detached |= detached;
        run_log (run, EV_DETACH, step->target, detached);
      }
      break;

    case OP_CANCEL:
      target->held = FALSE;
      run_log (run, EV_CANCEL, step->target, threadref_at_thread_exit_cancel (target->object));
      target->object = NULL;
      break;

    case OP_DROP:
      real_drop (target);
      break;

    case OP_SET_ATEXIT:
      threadref_finalize_set_atexit (target->object, step->flag);
      break;

    case OP_END_LIFETIME:
      threadref_end_lifetime ();
      break;

    case OP_EXIT:
      real_create (run, step->spec, NULL);
      if (step->flag)
        threadref_finalize_call (run_reg (run, step->spec->id)->object);
      else
        threadref_end_lifetime ();
      break;

    case OP_SPAWN:
    case OP_END_THREAD:
    case OP_FORK:
      g_assert_not_reached ();
    }
}

/* A callback exited the worker in the middle of a step: tell the
 * controller, which joins it. */
static void
worker_step_left (void *data)
{
  Worker *worker = data;

  current_thread_in_step = FALSE;
  g_mutex_lock (&worker->lock);
  worker->exited = TRUE;
  worker->has_command = FALSE;
  g_cond_broadcast (&worker->cond);
  g_mutex_unlock (&worker->lock);
}

/* Runs steps until told to end; returns whether to end by an exit call.
 * Not inlined: see worker_main(). */
static G_GNUC_NO_INLINE gboolean
worker_loop (Worker *worker)
{
  gboolean call_exit;

  g_mutex_lock (&worker->lock);
  /* For a posix thread this makes GLib's GThread, the one dup_thread gives. */
  if (worker->posix)
    worker->thread = g_thread_self ();
  worker->started = TRUE;
  g_cond_broadcast (&worker->cond);

  for (;;)
    {
      Step step;

      while (!worker->has_command && !worker->quit)
        g_cond_wait (&worker->cond, &worker->lock);
      if (!worker->has_command)
        break;

      step = worker->command;
      g_mutex_unlock (&worker->lock);
      pthread_cleanup_push (worker_step_left, worker);
      current_thread_in_step = TRUE;
      real_execute (worker->run, &step);
      current_thread_in_step = FALSE;
      pthread_cleanup_pop (0);
      g_mutex_lock (&worker->lock);

      worker->has_command = FALSE;
      g_cond_broadcast (&worker->cond);
    }

  call_exit = worker->call_exit;
  g_mutex_unlock (&worker->lock);

  return call_exit;
}

static gpointer
worker_main (gpointer data)
{
  Worker *worker = data;

  current_thread_number = worker->number;
  current_thread_posix = worker->posix;

  /* The exit calls are made from this frame, which has no locals in memory:
   * ASan leaves the redzones of frames that an exit unwinds poisoned, and
   * trips over them in its own thread teardown (google/sanitizers#1399;
   * g_thread_exit() is not declared noreturn, so nothing unpoisons them). */
  if (worker_loop (worker))
    {
      if (worker->posix)
        pthread_exit (NULL);
      g_thread_exit (NULL);
    }

  /* Returning ends the thread too: its lifetime's callbacks run here. */
  return NULL;
}

static void
set_at (GPtrArray *array,
        guint      index,
        gpointer   value)
{
  if (index >= array->len)
    g_ptr_array_set_size (array, index + 1);
  g_ptr_array_index (array, index) = value;
}

static void
worker_spawn (Run      *run,
              guint     number,
              gboolean  posix)
{
  Worker *worker = g_new0 (Worker, 1);
  char name[32];

  worker->run = run;
  worker->number = number;
  worker->posix = posix;
  g_mutex_init (&worker->lock);
  g_cond_init (&worker->cond);

  g_mutex_lock (&worker->lock);
  if (posix)
    g_assert_cmpint (pthread_create (&worker->pthread, NULL, worker_main, worker), ==, 0);
  else
    {
      g_snprintf (name, sizeof name, "model-w%u", number);
      worker->thread = g_thread_new (name, worker_main, worker);
    }
  while (!worker->started)
    g_cond_wait (&worker->cond, &worker->lock);
  g_mutex_unlock (&worker->lock);

  set_at (run->workers, number, worker);
  set_at (run->gthreads, number, worker->thread);
  stats.threads++;
}

static void worker_reap (Run   *run,
                         guint  number);

static void
worker_run (Run        *run,
            guint       number,
            const Step *step)
{
  Worker *worker = g_ptr_array_index (run->workers, number);
  gboolean exited;

  g_mutex_lock (&worker->lock);
  worker->command = *step;
  worker->has_command = TRUE;
  g_cond_broadcast (&worker->cond);
  while (worker->has_command)
    g_cond_wait (&worker->cond, &worker->lock);
  exited = worker->exited;
  g_mutex_unlock (&worker->lock);

  /* Its end runs its lifetimes: wait for it. */
  if (exited)
    worker_reap (run, number);
}

static void
worker_end (Run      *run,
            guint     number,
            gboolean  call_exit)
{
  Worker *worker = g_ptr_array_index (run->workers, number);

  g_mutex_lock (&worker->lock);
  worker->quit = TRUE;
  worker->call_exit = call_exit;
  g_cond_broadcast (&worker->cond);
  g_mutex_unlock (&worker->lock);

  worker_reap (run, number);
}

static void
worker_reap (Run   *run,
             guint  number)
{
  Worker *worker = g_ptr_array_index (run->workers, number);

  /* Either returns once every callback of the thread has returned. */
  if (worker->posix)
    g_assert_cmpint (pthread_join (worker->pthread, NULL), ==, 0);
  else
    g_thread_join (worker->thread);

  g_mutex_clear (&worker->lock);
  g_cond_clear (&worker->cond);
  g_free (worker);
  g_ptr_array_index (run->workers, number) = NULL;
  g_ptr_array_index (run->gthreads, number) = NULL;
}

/* --- Running a sequence and checking it --------------------------------- */

Run *
run_new (guint32  seed,
         Specs   *specs)
{
  Run *run = g_new0 (Run, 1);

  run->seed = seed;
  run->specs = specs;
  model_init (&run->model);
  run->regs = g_ptr_array_new ();
  run->workers = g_ptr_array_new ();
  run->gthreads = g_ptr_array_new ();
  g_mutex_init (&run->log_lock);
  run->log = g_array_new (FALSE, FALSE, sizeof (Event));
  run->executed = g_array_new (FALSE, FALSE, sizeof (Step));
  run->verbose = g_getenv ("THREADREF_MODEL_VERBOSE") != NULL;
  run->event_fd = -1;

  current_thread_number = 0;
  g_ptr_array_add (run->workers, NULL);
  g_ptr_array_add (run->gthreads, g_thread_self ());

  return run;
}

void
run_free (Run *run)
{
  for (guint id = 0; id < run->regs->len; id++)
    {
      RReg *reg = g_ptr_array_index (run->regs, id);

      if (reg == NULL)
        continue;
      if (run->failed)
        g_ptr_array_add (graveyard, reg);
      else
        g_free (reg);
    }

  g_ptr_array_unref (run->regs);
  g_ptr_array_unref (run->workers);
  g_ptr_array_unref (run->gthreads);
  model_clear (&run->model);
  g_mutex_clear (&run->log_lock);
  g_array_unref (run->log);
  g_array_unref (run->executed);
  if (run->report != NULL)
    g_string_free (run->report, TRUE);
  g_free (run);
}

/* Records the first failure, with the sequence that led to it. */
static void G_GNUC_PRINTF (2, 3)
run_fail (Run        *run,
          const char *format,
          ...)
{
  va_list args;

  if (run->failed)
    return;

  run->failed = TRUE;
  run->failed_step = run->executed->len - 1;
  run->report = g_string_new (NULL);

  g_string_append_printf (run->report, "seed %u, step ", run->seed);
  step_format (run->report, run->failed_step,
               &g_array_index (run->executed, Step, run->failed_step));
  g_string_append (run->report, run->in_cleanup ? " (cleanup)\n" : "\n");

  va_start (args, format);
  g_string_append_vprintf (run->report, format, args);
  va_end (args);

  g_string_append_printf (run->report, "\nsequence (%u steps, %u before the cleanup):\n",
                          run->executed->len, run->n_main);
  for (guint i = 0; i < run->executed->len; i++)
    {
      g_string_append (run->report, "  ");
      step_format (run->report, i, &g_array_index (run->executed, Step, i));
      g_string_append_c (run->report, '\n');
    }
}

static void
run_ensure_regs (Run        *run,
                 const Spec *spec)
{
  if (spec == NULL)
    return;

  model_ensure_reg (&run->model, spec);

  if (spec->id != 0)
    {
      if (spec->id >= run->regs->len)
        g_ptr_array_set_size (run->regs, spec->id + 1);
      if (run_reg (run, spec->id) == NULL)
        {
          RReg *reg = g_new0 (RReg, 1);

          reg->run = run;
          reg->spec = spec;
          g_ptr_array_index (run->regs, spec->id) = reg;
        }
    }

  for (guint i = 0; i < spec->n_children; i++)
    run_ensure_regs (run, spec->children[i]);
}

/* Compares what ran since the last step with the model's prediction, event
 * by event: kind, registration, thread, order and returned values. */
static void
run_check_events (Run *run)
{
  GArray *expected = run->model.expected;
  GArray *actual;
  gboolean same;

  g_mutex_lock (&run->log_lock);
  actual = run->log;
  run->log = g_array_new (FALSE, FALSE, sizeof (Event));
  g_mutex_unlock (&run->log_lock);

  same = expected->len == actual->len;
  for (guint i = 0; same && i < expected->len; i++)
    {
      const Event *e = &g_array_index (expected, Event, i);
      const Event *a = &g_array_index (actual, Event, i);

      same = e->kind == a->kind && e->id == a->id && e->thread == a->thread && e->value == a->value;
    }

  if (same)
    {
      for (guint i = 0; i < actual->len; i++)
        stats.events[g_array_index (actual, Event, i).kind]++;
    }
  else
    {
      GString *e = g_string_new (NULL);
      GString *a = g_string_new (NULL);

      events_format (e, expected);
      events_format (a, actual);
      run_fail (run, "callbacks differ from the model\n  expected: %s\n  actual:   %s", e->str, a->str);
      g_string_free (e, TRUE);
      g_string_free (a, TRUE);
    }

  g_array_set_size (expected, 0);
  g_array_unref (actual);
}

static void
describe_lifetime (GString *s,
                   Model   *m,
                   gint     index)
{
  static const char * const states[] = { "alive", "ending", "ended" };
  MLifetime *lifetime = model_lifetime (m, index);

  g_string_append_printf (s, "lifetime L%d of ", index);
  append_thread (s, lifetime->thread);
  g_string_append_printf (s, ", %s", states[lifetime->state]);
}

/* Asks the library about every object the controller holds, from the
 * controller, and compares with the model. */
static void
run_check_queries (Run *run)
{
  Model *m = &run->model;
  GArray *refs = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint id = 1; id < m->regs->len && !run->failed; id++)
    {
      MReg *reg = model_reg (m, id);
      RReg *real;
      MLifetime *lifetime;
      gboolean is_ref, alive, expect_alive;
      gboolean at_exit = FALSE;
      gboolean ended = FALSE, expect_ended = FALSE;
      GThread *thread, *expect_thread;

      if (reg == NULL || !reg->held || reg->spec->kind == REG_HANDLE)
        continue;

      real = run_reg (run, id);
      if (real->object == NULL)
        {
          run_fail (run, "test bug: %s#%u is held by the model but not by the test",
                    reg_kind_names[reg->spec->kind], id);
          break;
        }

      is_ref = reg_kind_is_ref (reg->spec->kind);
      lifetime = model_lifetime (m, reg->lifetime);
      expect_thread = lifetime->state == LIFETIME_ALIVE ?
                      g_ptr_array_index (run->gthreads, lifetime->thread) : NULL;
      if (is_ref)
        {
          /* A ref is about the lifetime. */
          expect_alive = lifetime->state == LIFETIME_ALIVE;
          alive = threadref_ref_is_alive (real->object);
          thread = threadref_ref_dup_thread (real->object);
          g_array_append_val (refs, id);
          /* wait() with no time only looks; on one's own lifetime it is a
           * programming error. */
          expect_ended = lifetime->state == LIFETIME_ENDED;
          if (lifetime->thread != 0 || expect_ended)
            ended = threadref_ref_wait (real->object, 0);
          else
            ended = expect_ended;
        }
      else
        {
          /* A finalizer is alive until it ran or was detached; its thread
           * is the lifetime's, while that runs. */
          expect_alive = reg->live;
          alive = threadref_finalize_is_alive (real->object);
          thread = threadref_finalize_dup_thread (real->object);
          at_exit = threadref_finalize_get_atexit (real->object);
        }
      stats.queries++;

      if (alive != expect_alive || thread != expect_thread || ended != expect_ended ||
          (!is_ref && at_exit != reg->atexit))
        {
          GString *s = g_string_new (NULL);

          describe_lifetime (s, m, reg->lifetime);
          run_fail (run, "query on %s#%u (%s, %s): is_alive=%d (model %d), dup_thread=%p (model %p), "
                    "wait(0)=%d (model %d)%s",
                    reg_kind_names[reg->spec->kind], id, s->str,
                    reg->live ? "pending" : "not pending",
                    alive, expect_alive, (gpointer) thread, (gpointer) expect_thread,
                    ended, expect_ended,
                    !is_ref && at_exit != reg->atexit ? ", get_atexit differs" : "");
          g_string_free (s, TRUE);
        }

      if (thread != NULL)
        g_thread_unref (thread);
    }

  /* Refs are equal, and hash the same, exactly when they share a lifetime. */
  for (guint i = 0; i < refs->len && !run->failed; i++)
    for (guint j = i + 1; j < refs->len && !run->failed; j++)
      {
        guint a = g_array_index (refs, guint, i);
        guint b = g_array_index (refs, guint, j);
        gpointer ref_a = run_reg (run, a)->object;
        gpointer ref_b = run_reg (run, b)->object;
        gboolean expect_equal = model_reg (m, a)->lifetime == model_reg (m, b)->lifetime;
        gboolean equal = threadref_ref_equal (ref_a, ref_b);

        stats.queries++;
        if (equal != expect_equal ||
            (equal && threadref_ref_hash (ref_a) != threadref_ref_hash (ref_b)))
          run_fail (run, "threadref_ref_equal (#%u, #%u) = %d, hash %u/%u; model: lifetimes L%d, L%d",
                    a, b, equal, threadref_ref_hash (ref_a), threadref_ref_hash (ref_b),
                    model_reg (m, a)->lifetime, model_reg (m, b)->lifetime);
      }

  g_array_unref (refs);
}

static gboolean run_step (Run        *run,
                          const Step *step);

/* fork() from the controller. The child checks what it sees against the
 * model of a fork child: every other thread's lifetimes have ended without
 * running anything, the controller's works; it ends the controller's
 * lifetime, checks that too, and reports. */
static void
run_fork (Run *run)
{
  int fds[2];
  pid_t pid;
  int status;
  GString *report = g_string_new (NULL);
  char buf[512];
  ssize_t n;

  g_assert_cmpint (pipe (fds), ==, 0);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      Step end = { .op = OP_END_LIFETIME, .thread = 0 };

      alarm (60);   /* a hang kills the child: the parent reports it */
      close (fds[0]);
      run->in_fork_child = TRUE;
      model_fork (&run->model);
      run_check_queries (run);
      if (!run->failed)
        run_step (run, &end);
      if (run->failed)
        g_assert_cmpint (write (fds[1], run->report->str, run->report->len), >=, 0);
      _exit (run->failed ? 1 : 0);
    }

  close (fds[1]);
  while ((n = read (fds[0], buf, sizeof buf)) > 0)
    g_string_append_len (report, buf, n);
  close (fds[0]);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    run_fail (run, "in the child of fork() (%s %d): %s",
              WIFSIGNALED (status) ? "signal" : "status",
              WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status), report->str);
  g_string_free (report, TRUE);
}

static gboolean
run_step (Run        *run,
          const Step *step)
{
  g_array_append_val (run->executed, *step);
  if (!run->in_cleanup)
    run->n_main = run->executed->len;
  stats.steps++;
  stats.ops[step->op]++;

  if (run->verbose)
    {
      GString *s = g_string_new (NULL);

      step_format (s, run->executed->len - 1, step);
      g_test_message ("seed %u: %s", run->seed, s->str);
      g_string_free (s, TRUE);
    }

  run_ensure_regs (run, step->spec);
  model_apply (&run->model, step);

  switch (step->op)
    {
    case OP_SPAWN:
      worker_spawn (run, step->thread, step->flag);
      break;

    case OP_END_THREAD:
      worker_end (run, step->thread, step->flag);
      break;

    case OP_FORK:
      run_fork (run);
      stats.forks++;
      break;

    case OP_EXIT:
      g_assert_not_reached ();

    case OP_CREATE:
    case OP_WATCH:
    case OP_CALL:
    case OP_DETACH:
    case OP_CANCEL:
    case OP_DROP:
    case OP_SET_ATEXIT:
    case OP_END_LIFETIME:
      if (step->thread == 0)
        real_execute (run, step);
      else
        worker_run (run, step->thread, step);
      break;
    }

  run_check_events (run);
  if (!run->failed)
    run_check_queries (run);

  return !run->failed;
}

/* Ends every worker and the controller's lifetime, then releases what the
 * controller holds, as steps checked like any other: nothing may be left
 * pending or leaked. */
static void
run_cleanup (Run *run)
{
  Model *m = &run->model;
  Step step;

  run->in_cleanup = TRUE;

  for (guint t = 1; t < m->threads->len && !run->failed; t++)
    {
      MThread *thread = model_thread (m, t);

      if (thread == NULL || !thread->alive)
        continue;
      step = (Step) { .op = OP_END_THREAD, .thread = t };
      run_step (run, &step);
    }

  if (!run->failed)
    {
      step = (Step) { .op = OP_END_LIFETIME, .thread = 0 };
      run_step (run, &step);
    }

  for (guint id = 1; id < m->regs->len && !run->failed; id++)
    {
      MReg *reg = model_reg (m, id);

      if (reg == NULL || !reg->held)
        continue;
      step = (Step) {
        .op = reg->spec->kind == REG_HANDLE ? OP_CANCEL : OP_DROP,
        .thread = 0,
        .target = id,
        .target_spec = reg->spec,
      };
      run_step (run, &step);
    }
}

/* After the cleanup: every destroy notify ran exactly once per creation,
 * every function at most once, and nothing is pending or held. */
static void
run_final_checks (Run *run)
{
  Model *m = &run->model;

  for (guint id = 1; id < m->regs->len && !run->failed; id++)
    {
      MReg *reg = model_reg (m, id);
      RReg *real;
      guint expect_destroys;
      gboolean plain;

      if (reg == NULL || !reg->created)
        continue;

      real = run_reg (run, id);
      plain = reg->spec->kind == REG_PLAIN || reg->spec->kind == REG_HANDLE;
      expect_destroys = plain || reg->spec->no_destroy ? 0 : 1;

      if ((guint) g_atomic_int_get (&real->runs) != reg->runs ||
          (guint) g_atomic_int_get (&real->destroys) != reg->destroys)
        run_fail (run, "%s#%u ran %d times, destroy notify %d times; model: %u, %u",
                  reg_kind_names[reg->spec->kind], id, real->runs, real->destroys,
                  reg->runs, reg->destroys);
      else if (reg->destroys != expect_destroys || reg->runs > 1 ||
               (plain && reg->runs + reg->cancels != 1))
        run_fail (run, "%s#%u: %u runs, %u destroy notifies, %u cancels: not once",
                  reg_kind_names[reg->spec->kind], id, reg->runs, reg->destroys, reg->cancels);
      else if (reg->live || reg->held || real->held || real->object != NULL)
        run_fail (run, "%s#%u is still pending or held after the cleanup",
                  reg_kind_names[reg->spec->kind], id);
    }

  for (guint i = 0; i < m->lifetimes->len && !run->failed; i++)
    if (model_lifetime (m, i)->state != LIFETIME_ENDED)
      run_fail (run, "lifetime L%u has not ended after the cleanup", i);
}

/* After a failure the model cannot be trusted: end and release what the
 * test really has, without checking. */
static void
run_emergency_cleanup (Run *run)
{
  for (guint t = 1; t < run->workers->len; t++)
    if (g_ptr_array_index (run->workers, t) != NULL)
      worker_end (run, t, FALSE);

  threadref_end_lifetime ();

  for (guint id = 1; id < run->regs->len; id++)
    {
      RReg *reg = run_reg (run, id);

      if (reg == NULL || !reg->held)
        continue;
      reg->held = FALSE;
      if (reg->spec->kind == REG_HANDLE)
        threadref_at_thread_exit_cancel (reg->object);
      else
        g_object_unref (reg->object);
      reg->object = NULL;
    }

  g_mutex_lock (&run->log_lock);
  g_array_set_size (run->log, 0);
  g_mutex_unlock (&run->log_lock);
}

/* Runs n_steps new steps (replay == NULL) or replays steps, skipping those
 * that no longer apply; then the cleanup. TRUE if all matched the model. */
gboolean
run_sequence (Run          *run,
              GRand        *rng,
              guint         n_steps,
              const GArray *replay)
{
  if (replay != NULL)
    {
      for (guint i = 0; i < replay->len && !run->failed; i++)
        {
          const Step *step = &g_array_index (replay, Step, i);

          if (model_step_valid (&run->model, step))
            run_step (run, step);
        }
    }
  else
    {
      for (guint i = 0; i < n_steps && !run->failed; i++)
        {
          Step step;

          gen_step (&run->model, run->specs, rng, &step);
          run_step (run, &step);
        }
    }

  if (!run->failed)
    run_cleanup (run);
  if (!run->failed)
    run_final_checks (run);
  if (run->failed)
    run_emergency_cleanup (run);

  return !run->failed;
}

/* One sequence from its seed; on failure, the failed run for the caller to
 * report and free, else NULL. */
Run *
run_one (guint32   seed,
         guint     n_steps,
         Specs   **specs_out)
{
  Specs *specs = specs_new ();
  GRand *rng = g_rand_new_with_seed (seed);
  Run *run = run_new (seed, specs);
  gboolean ok = run_sequence (run, rng, n_steps, NULL);

  g_rand_free (rng);
  stats.sequences++;

  if (ok)
    {
      run_free (run);
      specs_free (specs);
      return NULL;
    }

  *specs_out = specs;
  return run;
}

static GArray *
read_events (FILE *file)
{
  GArray *events = g_array_new (FALSE, FALSE, sizeof (Event));
  Event e;

  rewind (file);
  while (fread (&e, sizeof e, 1, file) == 1)
    g_array_append_val (events, e);
  return events;
}

static char *
read_text (FILE *file)
{
  GString *text = g_string_new (NULL);
  char buf[512];
  size_t n;

  rewind (file);
  while ((n = fread (buf, 1, sizeof buf, file)) > 0)
    g_string_append_len (text, buf, n);
  return g_string_free (text, FALSE);
}

/* One exit sequence, in a child process that it ends: n_steps random steps
 * checked as usual, then a callback of the controller calls exit(). The
 * child writes what the model expects of the exit before it calls it, and
 * what really happens as it happens. Returns a report on failure, else
 * NULL. */
char *
run_exit_sequence (guint32 seed,
                   guint   n_steps)
{
  FILE *report_file = tmpfile ();
  FILE *expected_file = tmpfile ();
  FILE *actual_file = tmpfile ();
  char *report = NULL;
  pid_t pid;
  int status;

  g_assert_nonnull (report_file);
  g_assert_nonnull (expected_file);
  g_assert_nonnull (actual_file);

  fflush (stdout);
  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      Specs *specs = specs_new ();
      GRand *rng = g_rand_new_with_seed (seed);
      Run *run = run_new (seed, specs);
      int expected_fd = fileno (expected_file);
      Step step;

      alarm (60);   /* a hang kills the child: the parent reports it */
      for (guint i = 0; i < n_steps && !run->failed; i++)
        {
          gen_step (&run->model, run->specs, rng, &step);
          run_step (run, &step);
        }

      if (!run->failed)
        {
          gen_exit_step (&run->model, run->specs, rng, &step);
          g_array_append_val (run->executed, step);
          run_ensure_regs (run, step.spec);
          model_apply (&run->model, &step);
          for (guint i = 0; i < run->model.expected->len; i++)
            g_assert_cmpint (write (expected_fd, &g_array_index (run->model.expected, Event, i),
                                    sizeof (Event)), ==, sizeof (Event));
          run->event_fd = fileno (actual_file);
          real_execute (run, &step);
          run_fail (run, "exit() returned");
        }

      fputs (run->report->str, report_file);
      fflush (report_file);
      _exit (3);
    }

  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  stats.sequences++;

  {
    g_autofree char *child_report = read_text (report_file);
    GArray *expected = read_events (expected_file);
    GArray *actual = read_events (actual_file);
    gboolean same = expected->len == actual->len;

    for (guint i = 0; same && i < expected->len; i++)
      same = memcmp (&g_array_index (expected, Event, i), &g_array_index (actual, Event, i),
                     sizeof (Event)) == 0;

    if (*child_report != '\0')
      report = g_strdup_printf ("seed %u: %s", seed, child_report);
    else if (!WIFEXITED (status) || WEXITSTATUS (status) != EXIT_STATUS)
      report = g_strdup_printf ("seed %u: the exit sequence ended with %s %d, not status %d",
                                seed, WIFSIGNALED (status) ? "signal" : "status",
                                WIFSIGNALED (status) ? WTERMSIG (status) : WEXITSTATUS (status),
                                EXIT_STATUS);
    else if (!same)
      {
        GString *e = g_string_new (NULL);
        GString *a = g_string_new (NULL);

        events_format (e, expected);
        events_format (a, actual);
        report = g_strdup_printf ("seed %u: what exit() ran differs from the model\n"
                                  "  expected: %s\n  actual:   %s", seed, e->str, a->str);
        g_string_free (e, TRUE);
        g_string_free (a, TRUE);
      }
    else
      for (guint i = 0; i < actual->len; i++)
        stats.events[g_array_index (actual, Event, i).kind]++;

    g_array_unref (expected);
    g_array_unref (actual);
  }

  fclose (report_file);
  fclose (expected_file);
  fclose (actual_file);
  return report;
}

void
run_graveyard_init (void)
{
  graveyard = g_ptr_array_new ();
}

void
run_graveyard_free (gboolean library_passed)
{
  if (library_passed)
    g_ptr_array_set_free_func (graveyard, g_free);
  g_ptr_array_unref (graveyard);
}
