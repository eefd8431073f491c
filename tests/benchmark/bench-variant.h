/* bench-variant.h: one way of running code when a thread ends, as the
 * benchmark drives it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every variant registers bench_count (counter) and nothing else, so that
 * the figures differ only by the mechanism. A variant may lack an operation
 * (C++ thread_local cannot be cancelled): it is then NULL and the figure is
 * not measured.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *id;      /* short, for the CSV: "plain", "list", ... */
  const char *label;   /* for the table */

  /* Registers bench_count (counter) to run once when the calling thread
   * ends; nothing is kept, the registration frees itself after running. */
  void     (*add_fire)  (guint64 *counter);
  /* Registers bench_count (counter) and returns a handle to cancel it. */
  gpointer (*add)       (guint64 *counter);
  /* Cancels a registration from add() and gives its handle back; it has
   * not run. */
  void     (*cancel)    (gpointer  handle);
  /* Runs every registration of this variant on the calling thread now, as
   * its end would, and lets the thread go on. */
  void     (*end_now)   (void);
  /* Registers nothing: bench_count never runs. */
  gboolean   no_callback;
} BenchVariant;

/* threadref (bench-threadref.c) */
extern const BenchVariant bench_plain;              /* THREADREF_AT_THREAD_EXIT_DEFAULT */
extern const BenchVariant bench_plain_thread_only;  /* THREADREF_AT_THREAD_EXIT_THREAD_ONLY */
extern const BenchVariant bench_finalize;
extern const BenchVariant bench_ref;

/* Baselines written here */
extern const BenchVariant bench_list;               /* bench-baseline-list.c: the floor */
extern const BenchVariant bench_naive;              /* bench-baseline-naive.c: no lock, own thread only */
extern const BenchVariant bench_cxa;                /* bench-baseline-cxa.c */
extern const BenchVariant bench_gprivate;           /* bench-baseline-gprivate.c */

/* Not a thread-exit mechanism: g_object_new() + g_object_unref() of an
 * empty type, the floor under ThreadRefFinalize and ThreadRefRef
 * (bench-gobject-floor.c). */
extern const BenchVariant bench_gobject_floor;

/* The variant every ratio is taken against. */
#define BENCH_REFERENCE_ID "list"

G_END_DECLS
