/* model.h: the parts of the randomized model test (tests/test-model.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * model-generate.c makes the random sequences and their log lines,
 * model-reference.c is the reference model of the contract,
 * model-run.c runs a sequence for real and checks it against the model,
 * model-shrink.c shrinks a failing sequence; test-model.c has the tests.
 */

#pragma once

#include <stdio.h>

#include <threadref.h>

G_BEGIN_DECLS

#define MAX_WORKERS   4    /* alive at once */
#define MAX_DEPTH     3    /* levels of registrations made by callbacks */
#define MAX_CHILDREN  2    /* registrations one callback makes */
#define MANY_HELD     20   /* past this, the generator prefers releasing */
#define SHRINK_BUDGET 400  /* replays spent on shrinking a failure */

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

extern const char * const reg_kind_names[];

static inline gboolean
reg_kind_is_ref (RegKind kind)
{
  return kind == REG_REF || kind == REG_WATCH_REF;
}

static inline gboolean
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

extern const char * const op_names[N_OPS];

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

extern const char * const event_names[N_EVENT_KINDS];

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
typedef struct {
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
} ModelStats;

extern ModelStats stats;


/* The status exit sequences end with. */
#define EXIT_STATUS 7

/* Deliberate model bugs, for checking that the test can fail. */
typedef enum {
  MUTATE_NONE,
  MUTATE_OLDEST_FIRST,    /* a lifetime's end runs its oldest node first */
  MUTATE_CALL_ON_OWNER,   /* call() runs the function on the finalizer's thread */
} Mutation;

extern Mutation model_mutation;

/* --- The reference model (model-reference.c) --- */

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

/* --- Running for real (model-run.c) --- */

typedef struct _Run Run;

typedef struct {
  Run        *run;
  const Spec *spec;
  gpointer    object;     /* see real_drop() */
  gboolean    held;       /* the controller holds object */
  gint        runs;       /* atomic */
  gint        destroys;   /* atomic */
  gboolean    detached;   /* a detach() of it returned TRUE */
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

/* model-generate.c: sequences and log lines */
void append_thread (GString *s, gint thread);
void events_format (GString *s, const GArray *events);
void gen_exit_step (Model *m, Specs *specs, GRand *rng, Step *step);
void gen_step (Model *m, Specs *specs, GRand *rng, Step *step);
void specs_free (Specs *specs);
Specs * specs_new (void);
void step_format (GString *s, guint index, const Step *step);

/* model-reference.c */
void model_apply (Model *m, const Step *step);
void model_clear (Model *m);
void model_ensure_reg (Model *m, const Spec *spec);
void model_fork (Model *m);
void model_init (Model *m);
MLifetime * model_lifetime (Model *m, gint lifetime);
MReg * model_reg (Model *m, guint id);
gboolean model_step_valid (Model *m, const Step *step);
MThread * model_thread (Model *m, guint thread);

/* model-run.c */
char * run_exit_sequence (guint32 seed, guint n_steps);
void run_free (Run *run);
Run * run_new (guint32 seed, Specs *specs);
Run * run_one (guint32 seed, guint n_steps, Specs **specs_out);
gboolean run_sequence (Run *run, GRand *rng, guint n_steps, const GArray *replay);

/* model-shrink.c */
GArray * failing_steps (Run *run);
void report_failure (Run *run, guint n_steps);
GString * shrink (guint32 seed, Specs *specs, GArray *failing, guint *n_replays);

void   run_graveyard_init (void);
/* Frees the records of failed runs, unless the library failed: it may still
 * call into them. */
void   run_graveyard_free (gboolean library_passed);

G_END_DECLS
