/* test-util.c: what the tests share (see test-util.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdlib.h>
#include <string.h>

#include "test-util.h"

#if defined (__SANITIZE_ADDRESS__)
# include <sanitizer/asan_interface.h>
#endif

TestTool
test_tool (void)
{
  const char *preload = g_getenv ("LD_PRELOAD");

  /* valgrind preloads its vgpreload_*.so into the program it runs. */
  if (preload != NULL && strstr (preload, "vgpreload") != NULL)
    return TEST_TOOL_VALGRIND;
#if defined (__SANITIZE_THREAD__)
  return TEST_TOOL_TSAN;
#elif defined (__SANITIZE_ADDRESS__)
  return TEST_TOOL_ASAN;
#else
  return TEST_TOOL_NONE;
#endif
}

const char *
test_tool_name (TestTool tool)
{
  switch (tool)
    {
    case TEST_TOOL_NONE:
      return "no sanitizer or valgrind";
    case TEST_TOOL_ASAN:
      return "AddressSanitizer";
    case TEST_TOOL_TSAN:
      return "ThreadSanitizer";
    case TEST_TOOL_VALGRIND:
      return "valgrind";
    default:
      g_assert_not_reached ();
    }
}

gdouble
test_scale (void)
{
  const char *env = g_getenv ("THREADREF_TEST_SCALE");
  gdouble scale = g_test_thorough () ? 10 : 1;

  if (env != NULL && *env != '\0')
    scale *= g_ascii_strtod (env, NULL);
  return scale;
}

guint
test_size (guint n)
{
  gdouble scaled = n * test_scale ();

  return scaled < 1 ? 1 : scaled > G_MAXUINT ? G_MAXUINT : (guint) scaled;
}

void
counter_finalize_func (gpointer data)
{
  Counter *c = data;

  c->last_thread = pthread_self ();
  g_atomic_int_inc (&c->calls);
}

void
counter_ref_func (ThreadRefRef *ref,
                  gpointer      data)
{
  Counter *c = data;

  g_assert_true (THREADREF_IS_REF (ref));
  c->last_thread = pthread_self ();
  g_atomic_int_inc (&c->calls);
}

void
counter_destroy (gpointer data)
{
  Counter *c = data;

  g_atomic_int_inc (&c->destroys);
}

void
order_log_init (OrderLog *log)
{
  g_mutex_init (&log->mutex);
  log->log = g_string_new (NULL);
}

void
order_log_clear (OrderLog *log)
{
  g_string_free (log->log, TRUE);
  g_mutex_clear (&log->mutex);
}

void
order_log_append (OrderLog   *log,
                  const char *label)
{
  g_mutex_lock (&log->mutex);
  if (log->log->len > 0)
    g_string_append_c (log->log, ' ');
  g_string_append (log->log, label);
  g_mutex_unlock (&log->mutex);
}

void
order_entry_finalize_func (gpointer data)
{
  OrderEntry *e = data;

  order_log_append (e->log, e->label);
}

void
order_entry_ref_func (ThreadRefRef *ref,
                      gpointer      data)
{
  order_entry_finalize_func (data);
}

void
run_in_thread (GThreadFunc func,
               gpointer    data)
{
  GThread *thread = g_thread_new ("test-worker", func, data);

  g_thread_join (thread);
}

static gpointer
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

void
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

void
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

void
test_g_thread_exit (void)
{
#if defined (__SANITIZE_ADDRESS__)
  __asan_handle_no_return ();
#endif
  g_thread_exit (NULL);
  g_assert_not_reached ();
}

void
test_start_line_init (TestStartLine *line,
                      guint          n)
{
  g_atomic_int_set (&line->ready, 0);
  line->n = n;
}

void
test_start_line_wait (TestStartLine *line)
{
  guint spins = 0;

  g_atomic_int_inc (&line->ready);
  while (g_atomic_int_get (&line->ready) < line->n)
    if (++spins % 128 == 0)
      g_thread_yield ();
}

void
test_jitter (guint spins)
{
  for (volatile guint i = 0; i < spins; i++)
    ;
}
