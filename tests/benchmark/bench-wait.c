/* bench-wait.c: how soon another thread learns that a thread ended
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A target thread registers, first, a callback that reads the clock as it
 * returns; being the oldest registration it is the last to run. It hands a
 * ThreadRefRef to itself to the main thread, sleeps a little so that the main
 * thread is surely waiting, and returns. The figure is the time from that
 * last callback to the wake-up of:
 *
 * - the main thread blocked in threadref_ref_wait (ref, -1);
 * - the callback of threadref_ref_wait_async() in a GMainLoop on the main
 *   thread;
 * - for reference, the main thread blocked in g_thread_join(); the probe
 *   is then a hand-written-list callback, and the join also waits for the
 *   rest of the thread's teardown.
 */

#include <threadref.h>

#include "bench-baseline-list.h"
#include "bench-sections.h"

typedef enum {
  WAIT_BLOCKING,
  WAIT_ASYNC,
  WAIT_JOIN,
  N_WAIT_KINDS,
} WaitKind;

static const struct {
  const char *id;
  const char *label;
} wait_kinds[] = {
  { "wait", "threadref_ref_wait" },
  { "wait-async", "threadref_ref_wait_async" },
  { "join", "g_thread_join" },
};

/* Lets the target be sure the main thread is blocked before it ends. */
#define TARGET_LINGER_US 2000

typedef struct {
  WaitKind      kind;
  GAsyncQueue  *handoff;
  ThreadRefRef *ref;
  gint64        ended_ns;  /* as the last callback returns */
  gint64        woken_ns;
  GMainLoop    *loop;
} WaitProbe;

static void
probe_mark_end (gpointer data)
{
  WaitProbe *probe = data;

  probe->ended_ns = bench_now_ns ();
}

static gpointer
target_run (gpointer data)
{
  WaitProbe *probe = data;

  if (probe->kind == WAIT_JOIN)
    list_at_exit (probe_mark_end, probe);
  else
    {
      threadref_at_thread_exit (probe_mark_end, probe, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
      probe->ref = threadref_ref_new (NULL, NULL, NULL);
    }

  g_async_queue_push (probe->handoff, probe);
  g_usleep (TARGET_LINGER_US);

  return NULL;
}

static void
wait_done (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  WaitProbe *probe = data;

  probe->woken_ns = bench_now_ns ();
  if (!threadref_ref_wait_finish (THREADREF_REF (source), result, NULL))
    g_warning ("threadref_ref_wait_async failed");
  g_main_loop_quit (probe->loop);
}

/* Microseconds from the target's last callback to the wake-up, or a
 * negative value if the main thread was not waiting in time. */
static double
measure_once (WaitKind   kind,
              GMainLoop *loop)
{
  WaitProbe probe = { kind, g_async_queue_new (), NULL, 0, 0, loop };
  GThread *target = g_thread_new ("bench-wait", target_run, &probe);
  gint64 waiting;

  g_async_queue_pop (probe.handoff);
  waiting = bench_now_ns ();

  switch (kind)
    {
    case WAIT_BLOCKING:
      threadref_ref_wait (probe.ref, -1);
      probe.woken_ns = bench_now_ns ();
      g_thread_join (target);
      break;

    case WAIT_ASYNC:
      threadref_ref_wait_async (probe.ref, NULL, wait_done, &probe);
      g_main_loop_run (loop);
      g_thread_join (target);
      break;

    case WAIT_JOIN:
    case N_WAIT_KINDS:
    default:
      g_thread_join (target);
      probe.woken_ns = bench_now_ns ();
      break;
    }

  g_clear_object (&probe.ref);
  g_async_queue_unref (probe.handoff);

  if (probe.ended_ns < waiting)
    return -1.0;
  return (probe.woken_ns - probe.ended_ns) / 1000.0;
}

void
bench_section_wait (BenchReport       *report,
                    const BenchConfig *config)
{
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  GArray *samples[N_WAIT_KINDS];
  guint late = 0;

  for (WaitKind k = 0; k < N_WAIT_KINDS; k++)
    {
      samples[k] = g_array_new (FALSE, FALSE, sizeof (double));
      measure_once (k, loop);
    }

  for (guint i = 0; i < config->wait_samples; i++)
    for (WaitKind k = 0; k < N_WAIT_KINDS; k++)
      {
        double us = measure_once (k, loop);

        if (us >= 0.0)
          g_array_append_val (samples[k], us);
        else
          late++;
      }

  if (late > 0)
    bench_report_add_note (report, "wait latency: %u samples dropped, the waiter was not waiting in time", late);

  for (WaitKind k = 0; k < N_WAIT_KINDS; k++)
    {
      BenchRow *row = bench_report_add (report, "wait latency", "last callback returns -> waiter wakes",
                                        wait_kinds[k].id, wait_kinds[k].label, 0, "us",
                                        bench_stats ((double *) samples[k]->data, samples[k]->len));

      bench_row_set_ratio_to (row, "join", NULL);
      g_array_unref (samples[k]);
    }

  g_main_loop_unref (loop);
}
