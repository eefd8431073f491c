/* test-util.h: small helpers shared by the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <pthread.h>
#include <threadref.h>

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
counter_ref_func (ThreadRef *ref,
                  gpointer   data)
{
  Counter *c = data;

  g_assert_true (THREAD_IS_REF (ref));
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
order_entry_ref_func (ThreadRef *ref,
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
