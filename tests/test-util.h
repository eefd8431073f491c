/* test-util.h: what the tests share — counters, order logs, thread
 * hand-offs, start lines and jitter, and how big a test runs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <pthread.h>
#include <threadref.h>

G_BEGIN_DECLS

/* --- Sizes ------------------------------------------------------------------
 *
 * One way to size the tests: a scale, 1 by default, 10 with `-m thorough`,
 * multiplied by THREADREF_TEST_SCALE if that is set (0.1 for a quick run,
 * 100 for a long one). Tests that run under valgrind or a sanitizer shrink
 * their own sizes further for the tool (test_tool()); that is not a knob. */

typedef enum {
  TEST_TOOL_NONE,
  TEST_TOOL_ASAN,
  TEST_TOOL_TSAN,
  TEST_TOOL_VALGRIND,
} TestTool;

TestTool    test_tool      (void);
const char *test_tool_name (TestTool tool);
gdouble     test_scale     (void);
/* n at the test's scale, at least 1. */
guint       test_size      (guint n);

/* --- Counting and ordering callbacks -------------------------------------- */

/* Counts calls and remembers which OS thread made the last one. pthread_t,
 * not GThread: while a thread ends, GLib's own GThread for it may be gone
 * and g_thread_self() would make a new one. */
typedef struct {
  gint      calls;
  gint      destroys;
  pthread_t last_thread;
} Counter;

void counter_finalize_func (gpointer      data);
void counter_ref_func      (ThreadRefRef *ref,
                            gpointer      data);
void counter_destroy       (gpointer      data);

/* Records the order in which callbacks ran, as a string of labels. */
typedef struct {
  GMutex   mutex;
  GString *log;
} OrderLog;

typedef struct {
  OrderLog   *log;
  const char *label;
} OrderEntry;

void order_log_init            (OrderLog     *log);
void order_log_clear           (OrderLog     *log);
void order_log_append          (OrderLog     *log,
                                const char   *label);
void order_entry_finalize_func (gpointer      data);
void order_entry_ref_func      (ThreadRefRef *ref,
                                gpointer      data);

/* --- Threads -------------------------------------------------------------- */

/* Runs func(data) in a new GThread and joins it. */
void run_in_thread (GThreadFunc func,
                    gpointer    data);

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

/* Starts the worker and returns once setup has run on it. */
void held_thread_start  (HeldThread *h,
                         const char *name,
                         void      (*setup) (gpointer data),
                         gpointer    data);
/* Lets the worker end and joins it. */
void held_thread_finish (HeldThread *h);

/* g_thread_exit(), declared as never returning. GLib 2.74 does not declare
 * it so: AddressSanitizer then leaves the redzones of the frames it unwinds
 * poisoned and trips over them in its own thread teardown
 * (google/sanitizers#1399). */
G_NORETURN void test_g_thread_exit (void);

/* --- Races ---------------------------------------------------------------- */

/* Lets n threads start a race at the same moment. */
typedef struct {
  gint ready;
  gint n;
} TestStartLine;

void test_start_line_init (TestStartLine *line,
                           guint          n);
/* Returns once all n threads have arrived. It spins, to let them go at
 * once, but yields now and then: with more threads than cores the others
 * may not be running. */
void test_start_line_wait (TestStartLine *line);
/* Spins for a while: a random jitter moves one racer against the others. */
void test_jitter          (guint          spins);

G_END_DECLS
