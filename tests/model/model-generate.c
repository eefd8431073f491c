/* model-generate.c: see model.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "model.h"
#include "test-util.h"

const char * const reg_kind_names[] = {
  "ref", "fin", "plain", "handle", "watch-ref", "watch-fin", "end-lifetime",
  "call", "detach", "drop", "exit-thread", "exit",
};

const char * const op_names[N_OPS] = {
  "spawn", "create", "watch", "call", "detach", "cancel", "drop",
  "set-atexit", "end-lifetime", "end-thread", "fork", "exit",
};

const char * const event_names[N_EVENT_KINDS] = {
  "ref", "fin", "plain", "destroy", "call", "detach", "cancel", "watch",
};

ModelStats stats;

/* --- Specs and their log lines ----------------------------------------- */

Specs *
specs_new (void)
{
  Specs *specs = g_new0 (Specs, 1);

  specs->all = g_ptr_array_new_with_free_func (g_free);
  specs->next_id = 1;

  return specs;
}

void
specs_free (Specs *specs)
{
  g_ptr_array_unref (specs->all);
  g_free (specs);
}

static guint
pick_weighted (GRand       *rng,
               const guint *weights,
               guint        n)
{
  guint total = 0;
  guint r;

  for (guint i = 0; i < n; i++)
    total += weights[i];
  g_assert_cmpuint (total, >, 0);

  r = g_rand_int_range (rng, 0, total);
  for (guint i = 0; i < n; i++)
    {
      if (r < weights[i])
        return i;
      r -= weights[i];
    }
  g_assert_not_reached ();
}

static gboolean
chance (GRand *rng,
        guint  percent)
{
  return (guint) g_rand_int_range (rng, 0, 100) < percent;
}

/* What a new spec may refer to: the objects held when it is made. */
typedef struct {
  Specs        *specs;
  GRand        *rng;
  const GArray *fins;      /* held finalizers: for call and detach */
  const GArray *objects;   /* held refs and finalizers: for drop */
} Gen;

static guint
pick (GRand        *rng,
      const GArray *ids)
{
  return g_array_index (ids, guint, g_rand_int_range (rng, 0, ids->len));
}

static Spec *
gen_spec (Gen     *gen,
          RegKind  kind,
          guint    depth)
{
  Spec *spec = g_new0 (Spec, 1);
  gboolean nests;

  spec->kind = kind;
  spec->depth = depth;
  g_ptr_array_add (gen->specs->all, spec);

  switch (kind)
    {
    case REG_REF:
    case REG_WATCH_REF:
      /* A ref dropped at once never fires: keep most of them. */
      spec->kept = chance (gen->rng, 75);
      spec->no_destroy = chance (gen->rng, 10);
      break;

    case REG_FIN:
    case REG_WATCH_FIN:
      spec->kept = chance (gen->rng, 40);
      spec->atexit = chance (gen->rng, 75);
      spec->no_destroy = chance (gen->rng, 10);
      break;

    case REG_PLAIN:
      spec->atexit = chance (gen->rng, 50);
      break;

    case REG_HANDLE:
      spec->kept = chance (gen->rng, 75);
      spec->atexit = chance (gen->rng, 50);
      break;

    case REG_EXIT_THREAD:
      spec->posix_exit = chance (gen->rng, 50);
      return spec;

    case REG_END_LIFETIME:
    case REG_CALL:
    case REG_DETACH:
    case REG_DROP:
    case REG_EXIT_PROCESS:
      return spec;   /* the parent sets the target */
    }

  spec->id = gen->specs->next_id++;

  /* Dropped refs and handles cancelled at once never run their callback. */
  nests = spec->kept || kind == REG_PLAIN || reg_kind_is_fin (kind);
  if (nests && depth < MAX_DEPTH && chance (gen->rng, depth == 0 ? 30 : 35))
    {
      guint n = chance (gen->rng, 30) ? 2 : 1;
      /* Watching through the ref itself only makes sense in a ref's
       * callback; acting on itself, only if the controller keeps it. */
      gboolean is_ref = reg_kind_is_ref (kind);
      gboolean self_fin = spec->kept && reg_kind_is_fin (kind);
      gboolean self_object = spec->kept && kind != REG_HANDLE;
      const guint weights[] = {
        3, 4, 2, 2,                               /* ref, fin, plain, handle */
        is_ref ? 2 : 0, is_ref ? 2 : 0,           /* watches */
        1,                                        /* end-lifetime */
        gen->fins->len > 0 || self_fin ? 2 : 0,   /* call */
        gen->fins->len > 0 || self_fin ? 1 : 0,   /* detach */
        gen->objects->len > 0 || self_object ? 2 : 0,   /* drop */
        1,                                        /* exit-thread */
      };

      for (guint i = 0; i < n; i++)
        {
          Spec *child = gen_spec (gen, pick_weighted (gen->rng, weights, G_N_ELEMENTS (weights)),
                                  depth + 1);

          if (child->kind == REG_CALL || child->kind == REG_DETACH)
            child->target = self_fin && (gen->fins->len == 0 || chance (gen->rng, 30)) ?
                            spec->id : pick (gen->rng, gen->fins);
          else if (child->kind == REG_DROP)
            child->target = self_object && (gen->objects->len == 0 || chance (gen->rng, 30)) ?
                            spec->id : pick (gen->rng, gen->objects);
          spec->children[spec->n_children++] = child;
        }
    }

  if (reg_kind_is_ref (kind) && spec->n_children == 0 && chance (gen->rng, 10))
    spec->no_callback = TRUE;

  return spec;
}

void
append_thread (GString *s,
               gint     thread)
{
  if (thread == 0)
    g_string_append (s, "main");
  else if (thread > 0)
    g_string_append_printf (s, "w%d", thread);
  else
    g_string_append (s, "?");
}

static void
spec_format (GString    *s,
             const Spec *spec)
{
  g_string_append (s, reg_kind_names[spec->kind]);
  if (spec->id != 0)
    g_string_append_printf (s, "#%u", spec->id);

  switch (spec->kind)
    {
    case REG_REF:
    case REG_WATCH_REF:
      g_string_append (s, spec->kept ? " kept" : " dropped");
      if (spec->no_callback)
        g_string_append (s, " no-callback");
      break;

    case REG_FIN:
    case REG_WATCH_FIN:
      g_string_append (s, spec->kept ? " kept" : " dropped");
      if (!spec->atexit)
        g_string_append (s, " atexit=0");
      break;

    case REG_PLAIN:
      if (!spec->atexit)
        g_string_append (s, " thread-only");
      break;

    case REG_HANDLE:
      g_string_append (s, spec->kept ? " kept" : " cancelled-at-once");
      if (!spec->atexit)
        g_string_append (s, " thread-only");
      break;

    case REG_END_LIFETIME:
    case REG_EXIT_PROCESS:
      break;

    case REG_EXIT_THREAD:
      if (spec->posix_exit)
        g_string_append (s, " (pthread)");
      break;

    case REG_CALL:
    case REG_DETACH:
    case REG_DROP:
      g_string_append_printf (s, " #%u", spec->target);
      break;
    }

  if (spec->no_destroy)
    g_string_append (s, " no-destroy");

  if (spec->n_children > 0)
    {
      g_string_append (s, " { ");
      for (guint i = 0; i < spec->n_children; i++)
        {
          if (i > 0)
            g_string_append (s, "; ");
          spec_format (s, spec->children[i]);
        }
      g_string_append (s, " }");
    }
}

void
step_format (GString    *s,
             guint       index,
             const Step *step)
{
  g_string_append_printf (s, "%u: ", index);

  if (step->op == OP_FORK)
    {
      g_string_append (s, "fork");
      return;
    }

  if (step->op == OP_SPAWN || step->op == OP_END_THREAD)
    {
      g_string_append (s, step->op == OP_SPAWN ? "spawn " : "end ");
      append_thread (s, step->thread);
      if (step->flag)
        g_string_append (s, step->op == OP_SPAWN ? " (pthread)" : " (exit)");
      return;
    }

  append_thread (s, step->thread);
  g_string_append_printf (s, " %s", op_names[step->op]);

  switch (step->op)
    {
    case OP_CREATE:
      g_string_append_c (s, ' ');
      spec_format (s, step->spec);
      break;

    case OP_WATCH:
      g_string_append_printf (s, " %s#%u -> ", reg_kind_names[step->target_spec->kind], step->target);
      spec_format (s, step->spec);
      break;

    case OP_CALL:
    case OP_DETACH:
    case OP_CANCEL:
    case OP_DROP:
      g_string_append_printf (s, " %s#%u", reg_kind_names[step->target_spec->kind], step->target);
      break;

    case OP_SET_ATEXIT:
      g_string_append_printf (s, " %s#%u %d", reg_kind_names[step->target_spec->kind],
                              step->target, step->flag);
      break;

    case OP_END_LIFETIME:
      break;

    case OP_EXIT:
      g_string_append_c (s, ' ');
      spec_format (s, step->spec);
      g_string_append (s, step->flag ? " then call" : " then end-lifetime");
      break;

    case OP_SPAWN:
    case OP_END_THREAD:
    case OP_FORK:
      g_assert_not_reached ();
    }
}

void
events_format (GString      *s,
               const GArray *events)
{
  if (events->len == 0)
    g_string_append (s, "(nothing)");

  for (guint i = 0; i < events->len; i++)
    {
      const Event *e = &g_array_index (events, Event, i);

      if (i > 0)
        g_string_append_c (s, ' ');
      g_string_append_printf (s, "%s#%u", event_names[e->kind], e->id);

      switch (e->kind)
        {
        case EV_REF:
        case EV_FIN:
          {
            const char * const saw[] = { "alive", "thread", "other-object", "no-object" };
            const char *sep = "[";

            for (guint bit = 0; bit < G_N_ELEMENTS (saw); bit++)
              if (e->value & (1 << bit))
                {
                  g_string_append_printf (s, "%s%s", sep, saw[bit]);
                  sep = ",";
                }
            if (e->value != 0)
              g_string_append_c (s, ']');
          }
          break;

        case EV_PLAIN:
        case EV_DESTROY:
          break;

        case EV_CALL:
        case EV_DETACH:
        case EV_CANCEL:
        case EV_WATCH:
          g_string_append_printf (s, "=%d", e->value);
          break;
        }

      g_string_append_c (s, '@');
      append_thread (s, e->thread);
    }
}


/* The controller acts a quarter of the time, a worker otherwise. */
static guint
pick_thread (GRand        *rng,
             const GArray *workers)
{
  if (workers->len == 0 || chance (rng, 25))
    return 0;
  return pick (rng, workers);
}

void
gen_step (Model *m,
          Specs *specs,
          GRand *rng,
          Step  *step)
{
  GArray *workers = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *refs = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *fins = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *handles = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *objects = g_array_new (FALSE, FALSE, sizeof (guint));
  guint weights[N_OPS] = { 0 };
  gboolean many;
  MReg *target;
  Gen gen = { specs, rng, fins, objects };

  for (guint t = 1; t < m->threads->len; t++)
    if (model_thread (m, t) != NULL && model_thread (m, t)->alive)
      g_array_append_val (workers, t);

  for (guint id = 1; id < m->regs->len; id++)
    {
      MReg *reg = model_reg (m, id);

      if (reg == NULL || !reg->held)
        continue;
      if (reg_kind_is_ref (reg->spec->kind))
        g_array_append_val (refs, id);
      else if (reg_kind_is_fin (reg->spec->kind))
        g_array_append_val (fins, id);
      else
        g_array_append_val (handles, id);
      if (reg->spec->kind != REG_HANDLE)
        g_array_append_val (objects, id);
    }
  many = objects->len + handles->len > MANY_HELD;

  weights[OP_SPAWN] = workers->len == 0 ? 20 : workers->len < MAX_WORKERS ? 4 : 0;
  weights[OP_CREATE] = 30;
  weights[OP_WATCH] = refs->len > 0 ? 5 : 0;
  weights[OP_CALL] = fins->len > 0 ? 7 : 0;
  weights[OP_DETACH] = fins->len > 0 ? 5 : 0;
  weights[OP_CANCEL] = handles->len > 0 ? (many ? 20 : 5) : 0;
  weights[OP_DROP] = objects->len > 0 ? (many ? 40 : 8) : 0;
  weights[OP_SET_ATEXIT] = fins->len > 0 ? 2 : 0;
  weights[OP_END_LIFETIME] = 6;
  weights[OP_END_THREAD] = workers->len > 0 ? 5 : 0;
  /* Each fork copies the process; under valgrind, its shadow memory too. */
  weights[OP_FORK] = workers->len > 0 && test_tool () != TEST_TOOL_VALGRIND ? 1 : 0;

  *step = (Step) { .op = pick_weighted (rng, weights, N_OPS) };

  switch (step->op)
    {
    case OP_SPAWN:
      step->thread = m->threads->len;
      step->flag = chance (rng, 30);
      break;

    case OP_CREATE:
      {
        const guint kinds[] = { 3, 4, 2, 2 };   /* ref, fin, plain, handle */

        step->thread = pick_thread (rng, workers);
        step->spec = gen_spec (&gen, pick_weighted (rng, kinds, G_N_ELEMENTS (kinds)), 0);
      }
      break;

    case OP_WATCH:
      step->thread = pick_thread (rng, workers);
      step->target = pick (rng, refs);
      step->spec = gen_spec (&gen, chance (rng, 50) ? REG_WATCH_REF : REG_WATCH_FIN, 0);
      break;

    case OP_CALL:
    case OP_DETACH:
    case OP_SET_ATEXIT:
      step->thread = pick_thread (rng, workers);
      step->target = pick (rng, fins);
      step->flag = chance (rng, 50);
      break;

    case OP_CANCEL:
      step->thread = pick_thread (rng, workers);
      step->target = pick (rng, handles);
      break;

    case OP_DROP:
      step->thread = pick_thread (rng, workers);
      step->target = pick (rng, objects);
      break;

    case OP_END_LIFETIME:
      step->thread = pick_thread (rng, workers);
      break;

    case OP_END_THREAD:
      step->thread = pick (rng, workers);
      step->flag = chance (rng, 30);
      break;

    case OP_FORK:
      step->thread = 0;
      break;

    case OP_EXIT:
      g_assert_not_reached ();
    }

  target = model_reg (m, step->target);
  step->target_spec = target != NULL ? target->spec : NULL;

  g_array_unref (workers);
  g_array_unref (refs);
  g_array_unref (fins);
  g_array_unref (handles);
  g_array_unref (objects);
}

/* The last step of an exit sequence: the controller makes a finalizer or a
 * plain registration whose callback calls exit() last, and runs it by
 * ending its lifetime (or, for a kept finalizer, by call()). */
void
gen_exit_step (Model *m,
               Specs *specs,
               GRand *rng,
               Step  *step)
{
  GArray *fins = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *objects = g_array_new (FALSE, FALSE, sizeof (guint));
  Gen gen = { specs, rng, fins, objects };
  Spec *spec;
  Spec *exit_child;

  for (guint id = 1; id < m->regs->len; id++)
    {
      MReg *reg = model_reg (m, id);

      if (reg == NULL || !reg->held || reg->spec->kind == REG_HANDLE)
        continue;
      if (reg_kind_is_fin (reg->spec->kind))
        g_array_append_val (fins, id);
      g_array_append_val (objects, id);
    }

  *step = (Step) { .op = OP_EXIT, .thread = 0, .flag = chance (rng, 30) };
  spec = gen_spec (&gen, step->flag || chance (rng, 50) ? REG_FIN : REG_PLAIN, 0);
  if (step->flag)
    spec->kept = TRUE;

  exit_child = g_new0 (Spec, 1);
  exit_child->kind = REG_EXIT_PROCESS;
  exit_child->depth = 1;
  g_ptr_array_add (specs->all, exit_child);
  if (spec->n_children == MAX_CHILDREN)
    spec->n_children--;
  spec->children[spec->n_children++] = exit_child;
  step->spec = spec;

  g_array_unref (fins);
  g_array_unref (objects);
}
