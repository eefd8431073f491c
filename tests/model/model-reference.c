/* model-reference.c: see model.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "model.h"
#include "test-util.h"

Mutation model_mutation;

static void
mlifetime_free (gpointer data)
{
  MLifetime *lifetime = data;

  g_array_unref (lifetime->nodes);
  g_free (lifetime);
}

static MThread *
mthread_new (void)
{
  MThread *t = g_new0 (MThread, 1);

  *t = (MThread) { TRUE, -1, -1, g_array_new (FALSE, FALSE, sizeof (gint)) };
  return t;
}

static void
mthread_free (gpointer data)
{
  MThread *t = data;

  if (t != NULL)
    g_array_unref (t->interrupted);
  g_free (t);
}

void
model_init (Model *m)
{
  MThread *controller = mthread_new ();

  m->unwinding = -1;
  m->step_thread = -1;
  m->threads = g_ptr_array_new_with_free_func (mthread_free);
  m->lifetimes = g_ptr_array_new_with_free_func (mlifetime_free);
  m->regs = g_ptr_array_new_with_free_func (g_free);
  m->expected = g_array_new (FALSE, FALSE, sizeof (Event));

  /* The controller is thread 0; it runs throughout. */
  g_ptr_array_add (m->threads, controller);
}

void
model_clear (Model *m)
{
  g_ptr_array_unref (m->threads);
  g_ptr_array_unref (m->lifetimes);
  g_ptr_array_unref (m->regs);
  g_array_unref (m->expected);
}

MThread *
model_thread (Model *m,
              guint  thread)
{
  return thread < m->threads->len ? g_ptr_array_index (m->threads, thread) : NULL;
}

MLifetime *
model_lifetime (Model *m,
                gint   lifetime)
{
  g_assert_cmpint (lifetime, >=, 0);
  return g_ptr_array_index (m->lifetimes, lifetime);
}

MReg *
model_reg (Model *m,
           guint  id)
{
  return id < m->regs->len ? g_ptr_array_index (m->regs, id) : NULL;
}

void
model_ensure_reg (Model      *m,
                  const Spec *spec)
{
  if (spec->id != 0)
    {
      if (spec->id >= m->regs->len)
        g_ptr_array_set_size (m->regs, spec->id + 1);
      if (model_reg (m, spec->id) == NULL)
        {
          MReg *reg = g_new0 (MReg, 1);

          reg->spec = spec;
          reg->lifetime = -1;
          g_ptr_array_index (m->regs, spec->id) = reg;
        }
    }

  for (guint i = 0; i < spec->n_children; i++)
    model_ensure_reg (m, spec->children[i]);
}

static void
model_expect (Model     *m,
              EventKind  kind,
              guint      id,
              guint      thread,
              gint       value)
{
  Event e = { kind, id, thread, value };

  g_array_append_val (m->expected, e);
}

/* Where a registration made on a thread goes: the lifetime it is ending, if
 * it runs a callback of it (the registration runs too, next); else its
 * current lifetime, which the first registration starts. */
static gint
model_lifetime_for (Model *m,
                    guint  thread)
{
  MThread *t = model_thread (m, thread);

  if (t->ending >= 0)
    return t->ending;

  if (t->current < 0)
    {
      MLifetime *lifetime = g_new0 (MLifetime, 1);

      lifetime->thread = thread;
      lifetime->state = LIFETIME_ALIVE;
      lifetime->nodes = g_array_new (FALSE, FALSE, sizeof (guint));
      g_ptr_array_add (m->lifetimes, lifetime);
      t->current = m->lifetimes->len - 1;
    }

  return t->current;
}

static void
model_link (Model *m,
            guint  id,
            gint   lifetime)
{
  MReg *reg = model_reg (m, id);

  reg->created = TRUE;
  reg->live = TRUE;
  reg->lifetime = lifetime;
  reg->order = m->next_order++;
  g_array_append_val (model_lifetime (m, lifetime)->nodes, id);
}

static void
model_unlink (Model *m,
              guint  id)
{
  MReg *reg = model_reg (m, id);
  GArray *nodes = model_lifetime (m, reg->lifetime)->nodes;

  g_assert_true (reg->live);
  reg->live = FALSE;
  for (guint i = nodes->len; i-- > 0;)
    if (g_array_index (nodes, guint, i) == id)
      {
        g_array_remove_index (nodes, i);
        return;
      }
  g_assert_not_reached ();
}

static void
model_destroy (Model *m,
               guint  id,
               guint  thread)
{
  MReg *reg = model_reg (m, id);

  if (!reg->spec->no_destroy)
    {
      reg->destroys++;
      model_expect (m, EV_DESTROY, id, thread, 0);
    }
}

static void model_create (Model      *m,
                          const Spec *spec,
                          guint       thread,
                          gint        watched);
static void model_exit_pass (Model *m,
                             guint  thread);

/* Whether the callbacks up the stack are left: a thread exit unwinds them
 * (their cleanups still run), exit() never returns to them. */
static gboolean
model_stopped (Model *m)
{
  return m->unwinding >= 0 || m->exited;
}

static void
model_children (Model      *m,
                const Spec *spec,
                guint       thread,
                gint        lifetime)
{
  for (guint i = 0; i < spec->n_children && !model_stopped (m); i++)
    model_create (m, spec->children[i], thread, lifetime);
}

/* A callback's destroy notify: on return, or on the way out of a thread
 * exit; never after exit() (nothing returns). */
static void
model_callback_destroy (Model *m,
                        guint  id,
                        guint  thread)
{
  if (!m->exited)
    model_destroy (m, id, thread);
}

/* Ends a lifetime on its own thread: newest first, until nothing is left,
 * so that what the callbacks register runs right after them. finish: make
 * it ENDED once drained (the exit pass drains without). */
static void
model_drain (Model    *m,
             gint      index,
             gboolean  finish)
{
  MLifetime *lifetime = model_lifetime (m, index);
  MThread *t = model_thread (m, lifetime->thread);
  gint outer = t->ending;

  if (lifetime->state == LIFETIME_ALIVE)
    lifetime->state = LIFETIME_ENDING;
  t->ending = index;

  while (lifetime->nodes->len > 0 && !model_stopped (m))
    {
      guint pos = model_mutation == MUTATE_OLDEST_FIRST ? 0 : lifetime->nodes->len - 1;
      guint id = g_array_index (lifetime->nodes, guint, pos);
      MReg *reg = model_reg (m, id);
      const Spec *spec = reg->spec;

      model_unlink (m, id);

      switch (spec->kind)
        {
        case REG_REF:
        case REG_WATCH_REF:
          if (!spec->no_callback)
            {
              /* The ref is dead inside its callback. */
              reg->runs++;
              model_expect (m, EV_REF, id, lifetime->thread, 0);
              model_children (m, spec, lifetime->thread, reg->lifetime);
            }
          model_callback_destroy (m, id, lifetime->thread);
          break;

        case REG_FIN:
        case REG_WATCH_FIN:
        case REG_PLAIN:
        case REG_HANDLE:
          reg->runs++;
          model_expect (m, reg_kind_is_fin (spec->kind) ? EV_FIN : EV_PLAIN, id, lifetime->thread, 0);
          model_children (m, spec, lifetime->thread, reg->lifetime);
          if (reg_kind_is_fin (spec->kind))
            model_callback_destroy (m, id, lifetime->thread);
          break;

        case REG_END_LIFETIME:
        case REG_CALL:
        case REG_DETACH:
        case REG_DROP:
        case REG_EXIT_THREAD:
        case REG_EXIT_PROCESS:
          g_assert_not_reached ();
        }
    }

  /* exit() was called from a callback: this frame never comes back. */
  if (m->exited)
    return;

  t->ending = outer;

  /* A thread exit left this end: the thread's own end resumes it. */
  if (m->unwinding >= 0)
    {
      gboolean listed = FALSE;

      for (guint i = 0; i < t->interrupted->len; i++)
        listed |= g_array_index (t->interrupted, gint, i) == index;
      if (!listed)
        g_array_append_val (t->interrupted, index);
      return;
    }

  if (finish && outer != index)
    {
      lifetime->state = LIFETIME_ENDED;
      stats.lifetimes_ended++;
    }
}

static void
model_end (Model *m,
           gint   index)
{
  model_drain (m, index, TRUE);
}

/* A worker's thread is ending (it returned, or exited in a step or a
 * callback): its current lifetime ends, then every interrupted one, newest
 * first; a callback may exit the thread again meanwhile, which only
 * interrupts again. */
static void
model_thread_exit (Model *m,
                   guint  thread)
{
  MThread *t = model_thread (m, thread);

  m->step_thread = -1;
  for (;;)
    {
      gint index;

      m->unwinding = -1;
      if (t->current >= 0)
        {
          index = t->current;
          t->current = -1;
        }
      else if (t->interrupted->len > 0)
        {
          index = g_array_index (t->interrupted, gint, t->interrupted->len - 1);
          g_array_set_size (t->interrupted, t->interrupted->len - 1);
        }
      else
        break;
      model_end (m, index);
    }
  m->unwinding = -1;
  t->alive = FALSE;
}

/* threadref_end_lifetime() on a thread: ends its current lifetime. Called
 * from a callback of the lifetime it is ending, it does nothing: the end
 * in progress goes on once the callback returns (no recursion). */
static void
model_end_current (Model *m,
                   guint  thread)
{
  MThread *t = model_thread (m, thread);
  gint current;

  if (t->ending >= 0)
    return;

  current = t->current;
  if (current >= 0)
    {
      t->current = -1;
      model_end (m, current);
    }
}

/* threadref_finalize_call() on a thread: the function runs there, if the
 * finalizer is still pending. */
static void
model_op_call (Model *m,
               guint  id,
               guint  thread)
{
  MReg *reg = model_reg (m, id);
  gboolean was_live = reg->live;

  if (was_live)
    {
      MLifetime *lifetime = model_lifetime (m, reg->lifetime);
      guint runs_on = model_mutation == MUTATE_CALL_ON_OWNER ? lifetime->thread : thread;

      model_unlink (m, id);
      reg->runs++;
      /* dup_thread is about the thread, which still runs. */
      model_expect (m, EV_FIN, id, runs_on, lifetime->state == LIFETIME_ALIVE ? SAW_THREAD : 0);
      model_children (m, reg->spec, runs_on, reg->lifetime);
      model_callback_destroy (m, id, runs_on);
    }
  /* call() returns only if its function did. */
  if (!model_stopped (m))
    model_expect (m, EV_CALL, id, thread, was_live);
}

/* threadref_finalize_detach(): the destroy notify runs before it returns. */
static void
model_op_detach (Model *m,
                 guint  id,
                 guint  thread)
{
  MReg *reg = model_reg (m, id);
  gboolean was_live = reg->live;

  if (was_live)
    {
      model_unlink (m, id);
      model_destroy (m, id, thread);
    }
  model_expect (m, EV_DETACH, id, thread, was_live);
}

/* The controller's reference goes: a pending ref is cancelled, a pending
 * finalizer lives on. */
static void
model_op_drop (Model *m,
               guint  id,
               guint  thread)
{
  MReg *reg = model_reg (m, id);

  reg->held = FALSE;
  if (reg_kind_is_ref (reg->spec->kind) && reg->live)
    {
      model_unlink (m, id);
      model_destroy (m, id, thread);
    }
}

/* Makes a registration on a thread; watched is the lifetime watches attach
 * to. */
static void
model_create (Model      *m,
              const Spec *spec,
              guint       thread,
              gint        watched)
{
  MReg *reg = model_reg (m, spec->id);
  MReg *target = model_reg (m, spec->target);

  if (spec->depth > 0)
    {
      if (spec->id != 0)
        stats.nested++;
      else
        stats.nested_actions++;
      stats.max_depth = MAX (stats.max_depth, spec->depth);
    }

  switch (spec->kind)
    {
    case REG_REF:
    case REG_FIN:
    case REG_PLAIN:
    case REG_HANDLE:
      model_link (m, spec->id, model_lifetime_for (m, thread));
      break;

    case REG_WATCH_REF:
    case REG_WATCH_FIN:
      /* An ending lifetime still takes it; an ended one runs the destroy
       * notify at once and gives NULL. */
      if (model_lifetime (m, watched)->state == LIFETIME_ENDED)
        {
          reg->created = TRUE;
          model_destroy (m, spec->id, thread);
          model_expect (m, EV_WATCH, spec->id, thread, 0);
          stats.watch_null++;
          return;
        }
      model_link (m, spec->id, watched);
      /* The exit pass runs what its callbacks attach to other threads. */
      if (m->in_exit_pass && model_lifetime (m, watched)->thread != thread)
        reg->exit_pass = TRUE;
      model_expect (m, EV_WATCH, spec->id, thread, 1);
      break;

    case REG_END_LIFETIME:
      model_end_current (m, thread);
      return;

    case REG_EXIT_THREAD:
      /* Only a worker that runs a step exits: the controller is this test's
       * own thread, and a thread that is ending already must not. */
      if (thread != 0 && (gint) thread == m->step_thread)
        {
          m->unwinding = thread;
          stats.thread_exits++;
        }
      return;

    case REG_EXIT_PROCESS:
      model_exit_pass (m, thread);
      return;

    case REG_CALL:
    case REG_DETACH:
    case REG_DROP:
      /* Only what the controller still holds: the object may be gone. */
      if (target == NULL || !target->held)
        return;
      if (spec->kind == REG_CALL)
        model_op_call (m, spec->target, thread);
      else if (spec->kind == REG_DETACH)
        model_op_detach (m, spec->target, thread);
      else
        model_op_drop (m, spec->target, thread);
      return;
    }

  reg->atexit = spec->atexit;
  if (spec->kept)
    reg->held = TRUE;
  else if (reg_kind_is_ref (spec->kind))
    {
      /* Dropped at once: a weak ref that never fires. */
      model_unlink (m, spec->id);
      model_destroy (m, spec->id, thread);
    }
  else if (spec->kind == REG_HANDLE)
    {
      model_unlink (m, spec->id);
      reg->cancels++;
      model_expect (m, EV_CANCEL, spec->id, thread, 1);
    }
}

/* Claims what the exit pass may run now: live registrations of other
 * threads' lifetimes that run at process exit (new_only: only those the
 * pass's own callbacks attached), newest first, before pending. */
static gint
compare_newest_first (gconstpointer a,
                      gconstpointer b,
                      gpointer      data)
{
  Model *m = data;
  guint64 order_a = model_reg (m, *(const guint *) a)->order;
  guint64 order_b = model_reg (m, *(const guint *) b)->order;

  return order_a > order_b ? -1 : order_a < order_b;
}

static void
model_claim_for_exit (Model    *m,
                      guint     thread,
                      gboolean  new_only,
                      GArray   *pending)
{
  GArray *claimed = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint id = 1; id < m->regs->len; id++)
    {
      MReg *reg = model_reg (m, id);

      if (reg == NULL || !reg->live || !reg->atexit || reg_kind_is_ref (reg->spec->kind) ||
          model_lifetime (m, reg->lifetime)->thread == thread ||
          (new_only && !reg->exit_pass))
        continue;
      g_array_append_val (claimed, id);
    }
  g_array_sort_with_data (claimed, compare_newest_first, m);
  /* Claimed: call() and detach() no longer find them pending. */
  for (guint i = 0; i < claimed->len; i++)
    model_unlink (m, g_array_index (claimed, guint, i));
  g_array_prepend_vals (pending, claimed->data, claimed->len);
  g_array_unref (claimed);
}

/* What the exiting thread's own end leaves to do after a callback: drain
 * the end its exit() came from (that frame never returns), end what it
 * registered outside it. */
static void
model_end_exiting_thread (Model *m,
                          guint  thread)
{
  MThread *t = model_thread (m, thread);

  if (t->ending >= 0)
    model_drain (m, t->ending, FALSE);
  if (t->current >= 0)
    {
      gint index = t->current;

      t->current = -1;
      model_end (m, index);
    }
}

/* exit() called by a callback on thread: the exiting thread's lifetimes
 * end first, then every other thread's registrations that run at process
 * exit, newest first across threads, each followed by what it registered
 * on the exiting thread; what its callbacks attach to other threads is
 * newer than everything pending. Then nothing returns any more. */
static void
model_exit_pass (Model *m,
                 guint  thread)
{
  GArray *pending = g_array_new (FALSE, FALSE, sizeof (guint));

  model_end_exiting_thread (m, thread);

  m->in_exit_pass = TRUE;
  model_claim_for_exit (m, thread, FALSE, pending);
  while (pending->len > 0)
    {
      guint id = g_array_index (pending, guint, 0);
      MReg *reg = model_reg (m, id);
      MLifetime *lifetime = model_lifetime (m, reg->lifetime);
      gboolean fin = reg_kind_is_fin (reg->spec->kind);

      g_array_remove_index (pending, 0);
      reg->runs++;
      model_expect (m, fin ? EV_FIN : EV_PLAIN, id, thread,
                    fin && lifetime->state == LIFETIME_ALIVE ? SAW_THREAD : 0);
      model_children (m, reg->spec, thread, reg->lifetime);
      if (fin)
        model_destroy (m, id, thread);
      model_end_exiting_thread (m, thread);
      model_claim_for_exit (m, thread, TRUE, pending);
    }
  m->in_exit_pass = FALSE;
  m->exited = TRUE;
  g_array_unref (pending);
}

/* In the child of fork(): every lifetime of another thread has ended there
 * without running anything. */
void
model_fork (Model *m)
{
  for (guint i = 0; i < m->lifetimes->len; i++)
    {
      MLifetime *lifetime = model_lifetime (m, i);

      if (lifetime->thread == 0 || lifetime->state == LIFETIME_ENDED)
        continue;
      for (guint j = 0; j < lifetime->nodes->len; j++)
        model_reg (m, g_array_index (lifetime->nodes, guint, j))->live = FALSE;
      g_array_set_size (lifetime->nodes, 0);
      lifetime->state = LIFETIME_ENDED;
    }
  for (guint t = 1; t < m->threads->len; t++)
    if (model_thread (m, t) != NULL)
      model_thread (m, t)->alive = FALSE;
}

void
model_apply (Model      *m,
             const Step *step)
{
  MReg *target = model_reg (m, step->target);

  m->step_thread = step->thread != 0 && step->op != OP_SPAWN && step->op != OP_END_THREAD ?
                   (gint) step->thread : -1;

  switch (step->op)
    {
    case OP_SPAWN:
      if (step->thread >= m->threads->len)
        g_ptr_array_set_size (m->threads, step->thread + 1);
      g_ptr_array_index (m->threads, step->thread) = mthread_new ();
      break;

    case OP_CREATE:
      model_create (m, step->spec, step->thread, -1);
      break;

    case OP_WATCH:
      model_create (m, step->spec, step->thread, target->lifetime);
      break;

    case OP_CALL:
      model_op_call (m, step->target, step->thread);
      break;

    case OP_DETACH:
      model_op_detach (m, step->target, step->thread);
      break;

    case OP_CANCEL:
      {
        gboolean was_live = target->live;

        target->held = FALSE;
        if (was_live)
          {
            model_unlink (m, step->target);
            target->cancels++;
          }
        model_expect (m, EV_CANCEL, step->target, step->thread, was_live);
      }
      break;

    case OP_DROP:
      model_op_drop (m, step->target, step->thread);
      break;

    case OP_SET_ATEXIT:
      target->atexit = step->flag;
      break;

    case OP_END_LIFETIME:
      model_end_current (m, step->thread);
      break;

    case OP_END_THREAD:
      /* The thread's end ends its current lifetime. */
      model_thread_exit (m, step->thread);
      break;

    case OP_FORK:
      /* Nothing changes in the parent; the child applies model_fork(). */
      break;

    case OP_EXIT:
      model_create (m, step->spec, 0, -1);
      if (step->flag)
        model_op_call (m, step->spec->id, 0);
      else
        model_end_current (m, 0);
      g_assert_true (m->exited);
      break;
    }

  /* A callback exited its worker in this step: the thread ends. */
  if (m->unwinding >= 0)
    model_thread_exit (m, m->unwinding);
  m->step_thread = -1;
}

/* Whether a step can run now; a replay with steps removed skips the ones
 * that act on something that no longer exists. */
gboolean
model_step_valid (Model      *m,
                  const Step *step)
{
  MThread *t = model_thread (m, step->thread);
  MReg *target = model_reg (m, step->target);

  if (step->op == OP_SPAWN)
    return t == NULL;
  if (t == NULL || !t->alive)
    return FALSE;

  switch (step->op)
    {
    case OP_CREATE:
    case OP_END_LIFETIME:
      return TRUE;

    case OP_END_THREAD:
      return step->thread != 0;

    case OP_FORK:
    case OP_EXIT:
      return step->thread == 0;

    case OP_WATCH:
      return target != NULL && target->held && reg_kind_is_ref (target->spec->kind);

    case OP_CALL:
    case OP_DETACH:
    case OP_SET_ATEXIT:
      return target != NULL && target->held && reg_kind_is_fin (target->spec->kind);

    case OP_CANCEL:
      return target != NULL && target->held && target->spec->kind == REG_HANDLE;

    case OP_DROP:
      return target != NULL && target->held && target->spec->kind != REG_HANDLE;

    case OP_SPAWN:
      break;
    }
  g_assert_not_reached ();
}
