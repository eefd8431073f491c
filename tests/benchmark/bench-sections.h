/* bench-sections.h: the parts of the benchmark, one file each
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "bench-config.h"
#include "bench-report.h"

G_BEGIN_DECLS

/* bench-thread-cost.c */
/* A thread that does nothing, by both clocks. */
typedef struct {
  BenchStats wall;
  BenchStats in_thread;
} BenchEmptyThread;

BenchEmptyThread bench_measure_empty_thread (const BenchConfig *config);
/* Every kind of registration once, on a thread of its own. */
void       bench_use_library           (void);
void       bench_section_empty_thread  (BenchReport            *report,
                                        const BenchEmptyThread *before,
                                        const BenchEmptyThread *after,
                                        const BenchEmptyThread *at_end);
void       bench_section_first         (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-per-callback.c */
void       bench_section_per_callback  (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-load.c */
void       bench_section_load          (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-parallel.c */
void       bench_section_parallel      (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-memory.c */
void       bench_section_memory        (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-lifetime.c */
void       bench_section_lifetime      (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-profile.c: --profile VARIANT:fire|cancel:N */
gboolean   bench_profile_run           (const char        *spec,
                                        GError           **error);
/* bench-wait.c */
void       bench_section_wait          (BenchReport       *report,
                                        const BenchConfig *config);

G_END_DECLS
