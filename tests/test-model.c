/* test-model.c: a randomized model test of threadref's contract
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Seeded random sequences of operations run on a controller (this test's
 * main thread) and up to MAX_WORKERS worker threads: make refs, finalizers
 * and plain registrations (kept or dropped at once, with or without a
 * handle, atexit on or off); call, detach, cancel and drop them from any
 * thread; watch another thread's lifetime; end a lifetime; spawn and end
 * threads; fork (the child checks what it sees and ends its own lifetime
 * against the model of a fork child). Callbacks, when they run, make more
 * registrations (up to MAX_DEPTH levels, watches through their own ref
 * included), call, detach or drop held objects (themselves included), end
 * the lifetime, and exit the worker they run on (g_thread_exit() or
 * pthread_exit(), where POSIX defines it: while the worker runs a step).
 * Each step runs on one thread while every other thread waits in its
 * mailbox, so a sequence is deterministic for its seed and nothing depends
 * on timing.
 *
 * Exit sequences (/threadref/model/exit) each run in a process of their
 * own and end with a callback of the main thread calling exit(): the model
 * predicts the whole exit pass, which the parent compares with what the
 * child did.
 *
 * A small reference model of the contract predicts, for every step, exactly
 * which callbacks, functions and destroy notifies run, in which order and
 * on which thread, what call/detach/cancel/watch return and what callbacks
 * see of their own object; afterwards, what is_alive, dup_thread,
 * get_atexit, wait (ref, 0) and threadref_ref_equal/hash answer for every
 * object the controller holds. At the end of each sequence every destroy
 * notify must have run exactly once and nothing may be pending. The first
 * difference fails the test with the seed and the sequence, which is then
 * shrunk by replaying it with steps removed.
 *
 * Environment (for reproducing or for longer runs):
 *   THREADREF_MODEL_SEED        seed of the first sequence; sequence i uses
 *                               seed + i (default: from g_test_rand_int())
 *   THREADREF_MODEL_ITERATIONS  number of sequences
 *   THREADREF_MODEL_STEPS       steps per sequence
 *   THREADREF_MODEL_VERBOSE     log every step before it runs: after a
 *                               crash, the last lines say where
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <threadref.h>

#include "test-util.h"

#define MAX_WORKERS   4    /* alive at once */
#define MAX_DEPTH     3    /* levels of registrations made by callbacks */
#define MAX_CHILDREN  2    /* registrations one callback makes */
#define MANY_HELD     20   /* past this, the generator prefers releasing */
#define SHRINK_BUDGET 400  /* replays spent on shrinking a failure */

/* --- What the sequences are made of ------------------------------------ */

typedef enum {
  REG_REF,            /* threadref_ref_new() */
  REG_FIN,            /* threadref_finalize_new() */
  REG_PLAIN,          /* threadref_at_thread_exit(): no handle */
  REG_HANDLE,         /* threadref_at_thread_exit_add() */
  REG_WATCH_REF,      /* threadref_ref_watch() */
  REG_WATCH_FIN,      /* threadref_ref_watch_finalize() */
  /* Only in a callback; they register nothing: */
  REG_END_LIFETIME,   /* threadref_end_lifetime() */
  REG_CALL,           /* threadref_finalize_call() on a held finalizer */
  REG_DETACH,         /* threadref_finalize_detach() on a held finalizer */
  REG_DROP,           /* g_object_unref() of a held ref or finalizer */
  REG_EXIT_THREAD,    /* g_thread_exit() or pthread_exit(), on a worker */
  REG_EXIT_PROCESS,   /* exit(): only in the last step of an exit sequence */
} RegKind;

static const char * const reg_kind_names[] = {
  "ref", "fin", "plain", "handle", "watch-ref", "watch-fin", "end-lifetime",
  "call", "detach", "drop", "exit-thread", "exit",
};

static gboolean
reg_kind_is_ref (RegKind kind)
{
  return kind == REG_REF || kind == REG_WATCH_REF;
}

static gboolean
reg_kind_is_fin (RegKind kind)
{
  return kind == REG_FIN || kind == REG_WATCH_FIN;
}

/* One registration to make, and what its callback makes when it runs. Specs
 * are immutable, so that a failing sequence can be replayed. */
typedef struct _Spec Spec;

struct _Spec
{
  RegKind  kind;
  guint    id;            /* 0 for the kinds that register nothing */
  guint    target;        /* REG_CALL, REG_DETACH, REG_DROP: acts on this
                           * one if the controller still holds it then */
  guint    depth;         /* 0: made by a step; n: by a callback n levels down */
  gboolean kept;          /* the controller keeps the object or handle */
  gboolean atexit;        /* finalizers: the property; plain: not THREAD_ONLY */
  gboolean no_callback;   /* a ref with a NULL callback */
  gboolean no_destroy;    /* a NULL destroy notify */
  gboolean posix_exit;    /* REG_EXIT_THREAD: pthread_exit(), not g_thread_exit() */
  guint    n_children;
  Spec    *children[MAX_CHILDREN];   /* made in order by its callback */
};

typedef struct {
  GPtrArray *all;         /* Spec *, owned */
  guint      next_id;
} Specs;

typedef enum {
  OP_SPAWN,
  OP_CREATE,
  OP_WATCH,
  OP_CALL,
  OP_DETACH,
  OP_CANCEL,
  OP_DROP,
  OP_SET_ATEXIT,
  OP_END_LIFETIME,
  OP_END_THREAD,
  OP_FORK,            /* the controller forks; the child checks itself */
  OP_EXIT,            /* the last step of an exit sequence: a callback of
                       * the controller calls exit() */
} Op;

#define N_OPS (OP_EXIT + 1)

static const char * const op_names[N_OPS] = {
  "spawn", "create", "watch", "call", "detach", "cancel", "drop",
  "set-atexit", "end-lifetime", "end-thread", "fork", "exit",
};

typedef struct {
  Op          op;
  guint       thread;        /* runs on: 0 the controller, n worker wn */
  guint       target;        /* the registration it acts on (watch: the ref) */
  gboolean    flag;          /* set-atexit: the value; spawn: with
                              * pthread_create(); end: by g_thread_exit()
                              * or pthread_exit() rather than returning;
                              * exit: the callback runs from call(), not
                              * from the end of the controller's lifetime */
  const Spec *spec;          /* create, watch: what to make */
  const Spec *target_spec;   /* for the log */
} Step;

typedef enum {
  EV_REF,        /* a ref's callback ran */
  EV_FIN,        /* a finalizer's function ran */
  EV_PLAIN,      /* a plain registration's function ran */
  EV_DESTROY,    /* a destroy notify ran */
  EV_CALL,       /* what threadref_finalize_call() returned */
  EV_DETACH,     /* what threadref_finalize_detach() returned */
  EV_CANCEL,     /* what threadref_at_thread_exit_cancel() returned */
  EV_WATCH,      /* whether threadref_ref_watch*() returned an object */
} EventKind;

#define N_EVENT_KINDS (EV_WATCH + 1)

static const char * const event_names[N_EVENT_KINDS] = {
  "ref", "fin", "plain", "destroy", "call", "detach", "cancel", "watch",
};

/* What a callback saw of its own object, in Event.value. */
enum {
  SAW_ALIVE        = 1 << 0,   /* is_alive was TRUE */
  SAW_THREAD       = 1 << 1,   /* dup_thread returned a thread */
  SAW_OTHER_OBJECT = 1 << 2,   /* a ref's callback got another ref */
  SAW_NO_OBJECT    = 1 << 3,   /* a finalizer the test lost track of */
};

typedef struct {
  EventKind kind;
  guint     id;
  gint      thread;   /* where it ran: 0 the controller, n wn, -1 unknown */
  gint      value;
} Event;

/* Figures for the log; only the controller touches them. */
static struct {
  guint64 sequences;
  guint64 steps;
  guint64 ops[N_OPS];
  guint64 events[N_EVENT_KINDS];
  guint64 queries;
  guint64 nested;           /* registrations made by callbacks */
  guint64 nested_actions;   /* call, detach, drop, end-lifetime by callbacks */
  guint   max_depth;
  guint64 lifetimes_ended;
  guint64 watch_null;
  guint64 thread_exits;     /* callbacks that exited their worker */
  guint64 forks;
  guint64 threads;
  guint64 replays;
} stats;

/* The thread a callback runs on, as the model numbers threads. Plain TLS:
 * it outlives GLib's own per-thread data while the thread ends. */
static __thread gint current_thread_number = -1;
/* Made by pthread_create(): g_thread_exit() is not for it. */
static __thread gboolean current_thread_posix;
/* Running a step, not ending: exiting the thread is defined only then
 * (POSIX leaves pthread_exit() from a destructor of an exiting thread
 * undefined). */
static __thread gboolean current_thread_in_step;

/* The status exit sequences end with. */
#define EXIT_STATUS 7

/* Deliberate model bugs, for checking that the test can fail. */
typedef enum {
  MUTATE_NONE,
  MUTATE_OLDEST_FIRST,    /* a lifetime's end runs its oldest node first */
  MUTATE_CALL_ON_OWNER,   /* call() runs the function on the finalizer's thread */
} Mutation;

static Mutation model_mutation;

/* Records of failed runs: a broken library may still call into them. */
static GPtrArray *graveyard;

/* --- Specs and their log lines ----------------------------------------- */

static Specs *
specs_new (void)
{
  Specs *specs = g_new0 (Specs, 1);

  specs->all = g_ptr_array_new_with_free_func (g_free);
  specs->next_id = 1;

  return specs;
}

static void
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

static void
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

static void
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

static void
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

/* --- The reference model ------------------------------------------------ */

typedef enum {
  LIFETIME_ALIVE,
  LIFETIME_ENDING,
  LIFETIME_ENDED,
} LifetimeState;

typedef struct {
  guint         thread;
  LifetimeState state;
  GArray       *nodes;     /* guint ids of live registrations, oldest first */
} MLifetime;

typedef struct {
  gboolean alive;
  gint     current;        /* the lifetime new registrations join, or -1 */
  gint     ending;         /* the lifetime being ended on it now, or -1 */
  GArray  *interrupted;    /* gint: ENDING lifetimes whose end a thread exit
                            * left, oldest first */
} MThread;

typedef struct {
  const Spec *spec;
  gboolean    created;
  gboolean    live;        /* linked: runs when its lifetime ends */
  gboolean    held;        /* the controller holds its object or handle */
  gboolean    atexit;
  gint        lifetime;    /* -1 if never attached */
  guint64     order;       /* creation order, across threads */
  gboolean    exit_pass;   /* attached by a callback of the exit pass */
  guint       runs;
  guint       destroys;
  guint       cancels;
} MReg;

typedef struct {
  GPtrArray *threads;      /* MThread *, by thread number; NULL: never spawned */
  GPtrArray *lifetimes;    /* MLifetime * */
  GPtrArray *regs;         /* MReg *, by id */
  GArray    *expected;     /* Event: what the current step must do */
  guint64    next_order;
  gint       unwinding;    /* a worker exits in a callback: nothing more runs
                            * up its stack, but cleanups; -1 if none */
  gboolean   exited;       /* exit() was called: nothing returns any more */
  gboolean   in_exit_pass;
  gint       step_thread;  /* the worker running a step (not its end), or -1 */
} Model;

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

static void
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

static void
model_clear (Model *m)
{
  g_ptr_array_unref (m->threads);
  g_ptr_array_unref (m->lifetimes);
  g_ptr_array_unref (m->regs);
  g_array_unref (m->expected);
}

static MThread *
model_thread (Model *m,
              guint  thread)
{
  return thread < m->threads->len ? g_ptr_array_index (m->threads, thread) : NULL;
}

static MLifetime *
model_lifetime (Model *m,
                gint   lifetime)
{
  g_assert_cmpint (lifetime, >=, 0);
  return g_ptr_array_index (m->lifetimes, lifetime);
}

static MReg *
model_reg (Model *m,
           guint  id)
{
  return id < m->regs->len ? g_ptr_array_index (m->regs, id) : NULL;
}

static void
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
static void
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

static void
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
static gboolean
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

/* --- The real thing ------------------------------------------------------ */

typedef struct _Run Run;

typedef struct {
  Run        *run;
  const Spec *spec;
  gpointer    object;     /* see real_drop() */
  gboolean    held;       /* the controller holds object */
  gint        runs;       /* atomic */
  gint        destroys;   /* atomic */
} RReg;

/* A worker's mailbox: the controller puts a step in and waits until the
 * worker has run it. GMutex/GCond, which TSan sees through the test shim. */
typedef struct {
  Run       *run;
  guint      number;
  gboolean   posix;        /* made by pthread_create(), not by GLib */
  pthread_t  pthread;
  GThread   *thread;       /* ours from g_thread_new(), or GLib's for a posix one */
  GMutex     lock;
  GCond      cond;
  Step       command;
  gboolean   has_command;
  gboolean   started;
  gboolean   quit;
  gboolean   call_exit;    /* end by g_thread_exit()/pthread_exit() */
  gboolean   exited;       /* a callback exited the thread during a step */
} Worker;

struct _Run
{
  guint32    seed;
  Specs     *specs;
  Model      model;
  GPtrArray *regs;        /* RReg *, by id */
  GPtrArray *workers;     /* Worker *, by thread number; [0]: the controller */
  GPtrArray *gthreads;    /* GThread * of live threads, by thread number */
  GMutex     log_lock;
  GArray    *log;         /* Event: what really happened since the last check */
  GArray    *executed;    /* Step: the steps run so far */
  guint      n_main;      /* steps run before the cleanup */
  gboolean   in_cleanup;
  gboolean   failed;
  guint      failed_step;
  GString   *report;
  gboolean   verbose;
  gint       event_fd;    /* >= 0: events also go there as they happen */
  gboolean   in_fork_child;
};

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

static void real_create (Run        *run,
                         const Spec *spec,
                         ThreadRefRef  *watched);

static void
real_children (RReg      *reg,
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
                  gpointer   data)
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
real_keep_ref (RReg      *reg,
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
real_keep_fin (RReg           *reg,
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
  /* A pending finalizer lives on, and its function still checks it. */
  if (!reg_kind_is_fin (reg->spec->kind) || !threadref_finalize_is_alive (object))
    reg->object = NULL;
  g_object_unref (object);
}

/* Makes what spec says on the calling thread; watched is the ref watches go
 * through. */
static void
real_create (Run        *run,
             const Spec *spec,
             ThreadRefRef  *watched)
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
        run_log (run, EV_DETACH, spec->target, threadref_finalize_detach (target->object));
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
      run_log (run, EV_DETACH, step->target, threadref_finalize_detach (target->object));
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

static Run *
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

static void
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
describe_lifetime (GString   *s,
                   Model     *m,
                   gint       index)
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

/* The controller acts a quarter of the time, a worker otherwise. */
static guint
pick_thread (GRand        *rng,
             const GArray *workers)
{
  if (workers->len == 0 || chance (rng, 25))
    return 0;
  return pick (rng, workers);
}

static void
gen_step (Run   *run,
          GRand *rng,
          Step  *step)
{
  Model *m = &run->model;
  GArray *workers = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *refs = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *fins = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *handles = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *objects = g_array_new (FALSE, FALSE, sizeof (guint));
  guint weights[N_OPS] = { 0 };
  gboolean many;
  MReg *target;
  Gen gen = { run->specs, rng, fins, objects };

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
  weights[OP_FORK] = workers->len > 0 && !g_getenv ("THREADREF_UNDER_VALGRIND") ? 1 : 0;

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

/* Runs n_steps new steps (replay == NULL) or replays steps, skipping those
 * that no longer apply; then the cleanup. TRUE if all matched the model. */
static gboolean
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

          gen_step (run, rng, &step);
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

/* The steps of a failed run to replay: those up to the failure, without the
 * cleanup, which a replay makes again. */
static GArray *
failing_steps (Run *run)
{
  guint n = MIN (run->failed_step + 1, run->n_main);
  GArray *steps = g_array_sized_new (FALSE, FALSE, sizeof (Step), n);

  g_array_append_vals (steps, run->executed->data, n);
  return steps;
}

/* Delta debugging: removes chunks of steps, then single steps, as long as
 * the replay still fails (in any way). Returns the report of the shortest
 * failing replay, or NULL if no replay failed. */
static GString *
shrink (guint32  seed,
        Specs   *specs,
        GArray  *failing,
        guint   *n_replays)
{
  GArray *current = g_array_copy (failing);
  GString *report = NULL;
  guint chunk = MAX (current->len / 2, 1);
  guint budget = SHRINK_BUDGET;

  *n_replays = 0;

  while (chunk >= 1 && budget > 0)
    {
      gboolean removed = FALSE;

      for (guint start = 0; start < current->len && budget > 0;)
        {
          GArray *candidate = g_array_copy (current);
          Run *run = run_new (seed, specs);

          g_array_remove_range (candidate, start, MIN (chunk, candidate->len - start));
          budget--;
          (*n_replays)++;
          stats.replays++;

          if (!run_sequence (run, NULL, 0, candidate))
            {
              g_array_unref (current);
              current = failing_steps (run);
              if (report != NULL)
                g_string_free (report, TRUE);
              report = g_steal_pointer (&run->report);
              removed = TRUE;
            }
          else
            start += chunk;

          run_free (run);
          g_array_unref (candidate);
        }

      if (!removed)
        chunk /= 2;
      else
        chunk = MIN (chunk, MAX (current->len / 2, 1));
    }

  g_array_unref (current);
  return report;
}

/* Logs a failed run, shrinks it and fails the test. */
static void
report_failure (Run   *run,
                guint  n_steps)
{
  GArray *failing = failing_steps (run);
  GString *shrunk;
  guint n_replays;
  char *one_line;

  g_test_message ("model mismatch: %s", run->report->str);

  shrunk = shrink (run->seed, run->specs, failing, &n_replays);
  if (shrunk != NULL)
    g_test_message ("shrunk in %u replays to: %s", n_replays, shrunk->str);
  else
    g_test_message ("no replay of the sequence failed (%u tried): not shrunk", n_replays);

  /* One line, for TAP: the report with its lines joined. */
  one_line = g_strdup (shrunk != NULL ? shrunk->str : run->report->str);
  g_strstrip (one_line);
  g_strdelimit (one_line, "\n", '|');
  g_test_fail_printf ("model mismatch: %s | reproduce with THREADREF_MODEL_SEED=%u "
                      "THREADREF_MODEL_ITERATIONS=1 THREADREF_MODEL_STEPS=%u",
                      one_line, run->seed, n_steps);
  g_free (one_line);

  if (shrunk != NULL)
    g_string_free (shrunk, TRUE);
  g_array_unref (failing);
}

static guint64
env_number (const char *name,
            guint64     fallback)
{
  const char *value = g_getenv (name);

  return value != NULL && *value != '\0' ? g_ascii_strtoull (value, NULL, 0) : fallback;
}

/* One sequence from its seed; on failure, the failed run for the caller to
 * report and free, else NULL. */
static Run *
run_one (guint32  seed,
         guint    n_steps,
         Specs  **specs_out)
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

static void
test_model_random (void)
{
  gboolean slow = g_getenv ("THREADREF_UNDER_VALGRIND") != NULL;
  guint n_sequences, n_steps;
  guint32 base_seed;

  g_test_summary ("Seeded random sequences of registrations, drops, calls, "
                  "detaches, cancels, watches, lifetime and thread ends over "
                  "several threads, checked step by step against a model of "
                  "the contract: callbacks, order, threads, destroy notifies, "
                  "return values and queries");

#if defined (__SANITIZE_THREAD__) || defined (__SANITIZE_ADDRESS__)
  slow = TRUE;
#endif

  /* About 2 s here; 4 ms a sequence of 200 steps in a plain build, some
   * 20 ms with TSan, 100 ms under valgrind. */
  n_sequences = slow ? 100 : 400;
  if (g_test_thorough ())
    n_sequences *= 10;
  n_sequences = env_number ("THREADREF_MODEL_ITERATIONS", n_sequences);
  n_steps = env_number ("THREADREF_MODEL_STEPS", 200);
  base_seed = env_number ("THREADREF_MODEL_SEED", g_test_rand_int ());

  memset (&stats, 0, sizeof stats);
  g_test_message ("%u sequences of %u steps, seeds %u to %u "
                  "(THREADREF_MODEL_SEED=%u reproduces the run)",
                  n_sequences, n_steps, base_seed, base_seed + n_sequences - 1, base_seed);

  for (guint i = 0; i < n_sequences; i++)
    {
      Specs *specs = NULL;
      Run *run = run_one (base_seed + i, n_steps, &specs);

      if (run != NULL)
        {
          report_failure (run, n_steps);
          run_free (run);
          specs_free (specs);
          break;
        }
    }

  g_test_message ("ran %" G_GUINT64_FORMAT " sequences, %" G_GUINT64_FORMAT " steps "
                  "on %" G_GUINT64_FORMAT " worker threads",
                  stats.sequences, stats.steps, stats.threads);
  {
    GString *s = g_string_new ("operations:");

    for (guint op = 0; op < N_OPS; op++)
      g_string_append_printf (s, " %s %" G_GUINT64_FORMAT, op_names[op], stats.ops[op]);
    g_test_message ("%s", s->str);

    g_string_assign (s, "events checked:");
    for (guint kind = 0; kind < N_EVENT_KINDS; kind++)
      g_string_append_printf (s, " %s %" G_GUINT64_FORMAT, event_names[kind], stats.events[kind]);
    g_test_message ("%s", s->str);
    g_string_free (s, TRUE);
  }
  g_test_message ("callbacks exited their worker %" G_GUINT64_FORMAT " times; %" G_GUINT64_FORMAT
                  " forks checked in their child", stats.thread_exits, stats.forks);
  g_test_message ("callbacks made %" G_GUINT64_FORMAT " registrations and did %" G_GUINT64_FORMAT
                  " calls, detaches, drops and lifetime ends (deepest %u levels down); "
                  "%" G_GUINT64_FORMAT " lifetimes ended, %" G_GUINT64_FORMAT " watches of "
                  "ended lifetimes, %" G_GUINT64_FORMAT " queries checked",
                  stats.nested, stats.nested_actions, stats.max_depth, stats.lifetimes_ended,
                  stats.watch_null, stats.queries);
}

/* The last step of an exit sequence: the controller makes a finalizer or a
 * plain registration whose callback calls exit() last, and runs it by
 * ending its lifetime (or, for a kept finalizer, by call()). */
static void
gen_exit_step (Run   *run,
               GRand *rng,
               Step  *step)
{
  Model *m = &run->model;
  GArray *fins = g_array_new (FALSE, FALSE, sizeof (guint));
  GArray *objects = g_array_new (FALSE, FALSE, sizeof (guint));
  Gen gen = { run->specs, rng, fins, objects };
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
  g_ptr_array_add (run->specs->all, exit_child);
  if (spec->n_children == MAX_CHILDREN)
    spec->n_children--;
  spec->children[spec->n_children++] = exit_child;
  step->spec = spec;

  g_array_unref (fins);
  g_array_unref (objects);
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
static char *
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
          gen_step (run, rng, &step);
          run_step (run, &step);
        }

      if (!run->failed)
        {
          gen_exit_step (run, rng, &step);
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

static void
test_model_exit (void)
{
  guint n_sequences, n_steps;
  guint32 base_seed;

  g_test_summary ("Seeded random sequences, each in a process of its own, that "
                  "end with a callback of the main thread calling exit(): what "
                  "runs at exit, in which order and on which thread, against "
                  "the model");

  if (g_getenv ("THREADREF_UNDER_VALGRIND") != NULL)
    {
      /* The child's own leak check would change its exit status. */
      g_test_skip ("valgrind checks leaks at every exit()");
      return;
    }

  n_sequences = g_test_thorough () ? 500 : 50;
  n_sequences = env_number ("THREADREF_MODEL_ITERATIONS", n_sequences);
  n_steps = env_number ("THREADREF_MODEL_STEPS", 200) / 4;
  base_seed = env_number ("THREADREF_MODEL_SEED", g_test_rand_int ());

  memset (&stats, 0, sizeof stats);
  g_test_message ("%u exit sequences of %u steps, seeds %u to %u "
                  "(THREADREF_MODEL_SEED=%u reproduces the run)",
                  n_sequences, n_steps, base_seed, base_seed + n_sequences - 1, base_seed);

  for (guint i = 0; i < n_sequences; i++)
    {
      g_autofree char *report = run_exit_sequence (base_seed + i, n_steps);

      if (report != NULL)
        {
          g_strdelimit (report, "\n", '|');
          g_test_fail_printf ("model mismatch: %s | reproduce with THREADREF_MODEL_SEED=%u "
                              "THREADREF_MODEL_ITERATIONS=1 THREADREF_MODEL_STEPS=%u",
                              report, base_seed + i, n_steps * 4);
          break;
        }
    }

  g_test_message ("ran %" G_GUINT64_FORMAT " exit sequences; events checked at exit: "
                  "fin %" G_GUINT64_FORMAT ", plain %" G_GUINT64_FORMAT ", ref %" G_GUINT64_FORMAT
                  ", destroy %" G_GUINT64_FORMAT,
                  stats.sequences, stats.events[EV_FIN], stats.events[EV_PLAIN],
                  stats.events[EV_REF], stats.events[EV_DESTROY]);
}

static void
test_model_detects_mismatch (void)
{
  const Mutation mutations[] = { MUTATE_OLDEST_FIRST, MUTATE_CALL_ON_OWNER };

  g_test_summary ("The model test fails when the model is wrong: with a "
                  "deliberately wrong model (oldest first; call() on the "
                  "owner's thread) a sequence fails and shrinks to a few steps");

  for (guint i = 0; i < G_N_ELEMENTS (mutations); i++)
    {
      Run *run = NULL;
      Specs *specs = NULL;
      guint32 seed;

      model_mutation = mutations[i];
      for (seed = 1; seed <= 50 && run == NULL; seed++)
        run = run_one (seed, 100, &specs);
      g_assert_nonnull (run);

      {
        GArray *failing = failing_steps (run);
        guint n_replays;
        GString *shrunk = shrink (run->seed, specs, failing, &n_replays);
        const char *first_line;
        guint n_lines = 0;

        g_assert_nonnull (shrunk);
        g_assert_true (g_str_has_prefix (shrunk->str, "seed "));
        /* The shortest sequences need 3 steps (two registrations and an
         * end; a spawn, a creation on it and a call elsewhere); allow some
         * slack for what a cleanup adds. */
        first_line = strstr (shrunk->str, "sequence (");
        g_assert_nonnull (first_line);
        for (const char *p = strchr (first_line, '\n'); p != NULL; p = strchr (p + 1, '\n'))
          n_lines++;
        g_test_message ("mutation %u: seed %u failed at step %u of %u; shrunk in %u replays to: %s",
                        mutations[i], run->seed, run->failed_step, run->executed->len,
                        n_replays, shrunk->str);
        g_assert_cmpuint (n_lines - 1, <=, 10);

        g_string_free (shrunk, TRUE);
        g_array_unref (failing);
      }

      run_free (run);
      specs_free (specs);
    }

  model_mutation = MUTATE_NONE;
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);

  current_thread_number = 0;
  graveyard = g_ptr_array_new ();

  g_test_add_func ("/threadref/model/random", test_model_random);
  g_test_add_func ("/threadref/model/exit", test_model_exit);
  g_test_add_func ("/threadref/model/detects-mismatch", test_model_detects_mismatch);

  status = g_test_run ();

  /* Only a library that passed is trusted not to call into these later. */
  if (status == 0)
    g_ptr_array_set_free_func (graveyard, g_free);
  g_ptr_array_unref (graveyard);

  return status;
}
