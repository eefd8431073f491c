/* test-util.h: small helpers shared by the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <pthread.h>
#include <threadref.h>

#if defined (__SANITIZE_ADDRESS__)
# include <sanitizer/asan_interface.h>
#endif

/* g_thread_exit(), declared as never returning. GLib 2.74 does not declare
 * it so: AddressSanitizer then leaves the redzones of the frames it unwinds
 * poisoned and trips over them in its own thread teardown
 * (google/sanitizers#1399). */
static inline G_NORETURN void
test_g_thread_exit (void)
{
#if defined (__SANITIZE_ADDRESS__)
  __asan_handle_no_return ();
#endif
  g_thread_exit (NULL);
  g_assert_not_reached ();
}

/* Counts calls and remembers which OS thread made the last one. pthread_t,
 * not GThread: while a thread ends, GLib's own GThread for it is already
 * gone and g_thread_self() would make a new one. */
typedef struct {
  gint      calls;
  gint      destroys;
  pthread_t last_thread;
} Counter;

static inline void
counter_finalize_func (gpointer data)
{
  Counter *c = data;

  c->last_thread = pthread_self ();
  g_atomic_int_inc (&c->calls);
}

static inline void
counter_ref_func (ThreadRefRef *ref,
                  gpointer   data)
{
  Counter *c = data;

  g_assert_true (THREADREF_IS_REF (ref));
  c->last_thread = pthread_self ();
  g_atomic_int_inc (&c->calls);
}

static inline void
counter_destroy (gpointer data)
{
  Counter *c = data;

  g_atomic_int_inc (&c->destroys);
}

/* Records the order in which callbacks ran, as a string of labels. */
typedef struct {
  GMutex   mutex;
  GString *log;
} OrderLog;

typedef struct {
  OrderLog   *log;
  const char *label;
} OrderEntry;

static inline void
order_log_init (OrderLog *log)
{
  g_mutex_init (&log->mutex);
  log->log = g_string_new (NULL);
}

static inline void
order_log_clear (OrderLog *log)
{
  g_string_free (log->log, TRUE);
  g_mutex_clear (&log->mutex);
}

static inline void
order_log_append (OrderLog   *log,
                  const char *label)
{
  g_mutex_lock (&log->mutex);
  if (log->log->len > 0)
    g_string_append_c (log->log, ' ');
  g_string_append (log->log, label);
  g_mutex_unlock (&log->mutex);
}

static inline void
order_entry_finalize_func (gpointer data)
{
  OrderEntry *e = data;

  order_log_append (e->log, e->label);
}

static inline void
order_entry_ref_func (ThreadRefRef *ref,
                      gpointer   data)
{
  order_entry_finalize_func (data);
}

/* Runs func(data) in a new GThread and joins it. */
static inline void
run_in_thread (GThreadFunc func,
               gpointer    data)
{
  GThread *thread = g_thread_new ("test-worker", func, data);

  g_thread_join (thread);
}

/* A worker thread that runs setup (data) and then stays alive until the
 * test releases it: the test can use what setup made while the thread still
 * runs, then let it end. */
typedef struct {
  GThread *thread;
  GMutex   mutex;
  GCond    cond;
  gint     stage;                   /* 0 starting, 1 set up, 2 released */
  void   (*setup) (gpointer data);
  gpointer data;
} HeldThread;

static inline gpointer
held_thread_main (gpointer p)
{
  HeldThread *h = p;

  h->setup (h->data);

  g_mutex_lock (&h->mutex);
  h->stage = 1;
  g_cond_broadcast (&h->cond);
  while (h->stage < 2)
    g_cond_wait (&h->cond, &h->mutex);
  g_mutex_unlock (&h->mutex);
  return NULL;   /* and the thread ends */
}

/* Starts the worker and returns once setup has run on it. */
static inline void
held_thread_start (HeldThread *h,
                   const char *name,
                   void      (*setup) (gpointer data),
                   gpointer    data)
{
  h->stage = 0;
  h->setup = setup;
  h->data = data;
  g_mutex_init (&h->mutex);
  g_cond_init (&h->cond);
  h->thread = g_thread_new (name, held_thread_main, h);

  g_mutex_lock (&h->mutex);
  while (h->stage < 1)
    g_cond_wait (&h->cond, &h->mutex);
  g_mutex_unlock (&h->mutex);
}

/* Lets the worker end and joins it. */
static inline void
held_thread_finish (HeldThread *h)
{
  g_mutex_lock (&h->mutex);
  h->stage = 2;
  g_cond_broadcast (&h->cond);
  g_mutex_unlock (&h->mutex);
  g_thread_join (h->thread);
  g_mutex_clear (&h->mutex);
  g_cond_clear (&h->cond);
}
