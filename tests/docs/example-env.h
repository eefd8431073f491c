/* example-env.h: the program around the C examples of the README, the
 * guides and the reference
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The examples are fragments: they call application code (open a
 * connection, run a job) and use variables a real program would have (a ref
 * a worker handed over, a finalizer made earlier). check-examples.py puts
 * each example's statements into example_body() and its functions at file
 * level, and this file gives them those names, as real and as checked as a
 * small program can make them: a connection must be closed exactly once,
 * by the end of the lifetime that opened it, or the example fails.
 *
 * Each example runs twice on one thread, with threadref_end_lifetime() in
 * between, as a job of a thread pool would: state an example keeps across
 * jobs (a GPrivate, a static) meets the end of the first lifetime. Under
 * AddressSanitizer, as the test builds them, a use after free or a leak
 * fails the example.
 */

#pragma once

#include <gio/gio.h>
#include <threadref.h>

G_BEGIN_DECLS

/* --- Application code the examples call ----------------------------------- */

/* A connection: opened, then closed exactly once. Closing one twice, or
 * leaving one open when its lifetime has ended, fails the example. */
typedef struct _Connection Connection;

Connection *connection_open           (void);
void        connection_close          (Connection   *conn);
/* Another owner takes the connection (and closes it). */
void        hand_over                 (Connection   *conn);

/* Something of a thread's own, freed with cache_free(). */
typedef struct _Cache Cache;

Cache      *cache_new                 (void);
void        cache_free                (gpointer      cache);

/* A job of a thread pool; job_run() opens a connection and registers a
 * finalizer that closes it when the lifetime ends. */
void        job_run                   (gpointer      job);
/* Pushes one job to the pool and waits until it has run. */
void        run_one_job               (GThreadPool  *pool);

/* Where the examples write. */
void        write_out                 (const char   *text);

/* Things an application does when it learns that a worker ended. */
void        handle_worker_gone        (gpointer      self);
void        update_ui_worker_finished (gpointer      window);
void        forget_thread             (gpointer      owner,
                                       ThreadRefRef *ref);

/* --- What the examples find in scope -------------------------------------- */

typedef struct {
  /* A ref to a worker thread that runs until the body returns, then ends. */
  ThreadRefRef      *worker_ref;
  /* A ref to the thread that runs the body. */
  ThreadRefRef      *ref;
  /* A finalizer of the body's thread (it frees a cache of the program's). */
  ThreadRefFinalize *fin;
  /* Only if the example names them: an open connection, and a finalizer of
   * the body's thread that closes it. An example that names conn but not
   * conn_finalizer must see conn closed itself. */
  Connection        *conn;
  ThreadRefFinalize *conn_finalizer;
  /* Something that owns what the example does, a window, an action. */
  gpointer           self;
  gpointer           window;
  GSimpleAction     *start_action;
  /* A pool the example may make; the program runs a job on it, then frees
   * it. */
  GThreadPool       *pool;
} ExampleEnv;

typedef enum {
  EXAMPLE_USES_CONN           = 1 << 0,
  EXAMPLE_USES_CONN_FINALIZER = 1 << 1,
} ExampleUses;

/* Runs body twice, as described above, and checks what it left. Returns
 * the exit status. */
int example_main (void (*body) (ExampleEnv *env),
                  ExampleUses uses);

G_END_DECLS
