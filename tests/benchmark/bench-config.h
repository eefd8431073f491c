/* bench-config.h: what one benchmark run measures, from the command line
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint    repeat;          /* repetitions of each figure; the median is reported */
  guint    small_n;         /* callbacks per thread, small case (1 000) */
  guint    small_threads;   /* threads per repetition, small case (200) */
  guint    large_n;         /* callbacks per thread, large case (100 000) */
  guint    large_threads;   /* threads per repetition, large case (5) */
  guint    first_threads;   /* threads per repetition for first registration and empty threads */
  GArray  *loads;           /* guint: live registrations for cancel vs. load */
  guint    load_ops;        /* register+cancel pairs per timed batch */
  guint    parallel_n;      /* callbacks per thread, parallel */
  guint    memory_n;        /* live registrations for bytes per registration */
  guint    lifetime_n;      /* registrations per threadref_end_lifetime() */
  guint    lifetime_batches;
  guint    wait_samples;    /* thread ends per wait-latency kind */
  char   **only;            /* sections to run; NULL: all */
  guint32  seed;            /* for the order of cases within a repetition */
} BenchConfig;

gboolean bench_config_wants (const BenchConfig *config,
                             const char        *section);

G_END_DECLS
