/* bench-sections.h: the parts of the benchmark, one file each
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "bench-config.h"
#include "bench-report.h"

G_BEGIN_DECLS

/* bench-first.c */
void       bench_section_first         (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-idle-thread.c */
void       bench_section_idle_thread   (BenchReport       *report,
                                        const BenchConfig *config);
/* The child process that bench_section_idle_thread() compares with. */
int        bench_idle_probe_main       (guint              threads,
                                        gboolean           use);
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
/* bench-local.c */
void       bench_section_local         (BenchReport       *report,
                                        const BenchConfig *config);
/* bench-profile.c: --profile VARIANT:fire|cancel:N */
gboolean   bench_profile_run           (const char        *spec,
                                        GError           **error);
/* bench-wait.c */
void       bench_section_wait          (BenchReport       *report,
                                        const BenchConfig *config);

G_END_DECLS
