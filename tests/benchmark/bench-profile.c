/* bench-profile.c: one thread of one variant and nothing else, to run under
 * a profiler
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * `threadref-benchmark --profile plain:fire:10000` starts one thread that
 * registers 10 000 callbacks of the plain path and ends. Under
 * `valgrind --tool=callgrind`, the difference between two counts (say 1 and
 * 10 001) over 10 000 is the instructions per registration, a figure that
 * does not depend on the machine's noise: callgrind-per-registration.sh
 * does exactly that for every variant.
 */

#include <string.h>

#include "bench-job.h"
#include "bench-sections.h"

static const BenchVariant *const profiled[] = {
  &bench_plain, &bench_plain_thread_only, &bench_finalize, &bench_ref,
  &bench_naive, &bench_list, &bench_cxa, &bench_gprivate, &bench_gobject_floor,
};

gboolean
bench_profile_run (const char  *spec,
                   GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (spec, ":", 3);
  const BenchVariant *variant = NULL;
  gboolean cancel;
  guint64 n;
  BenchJob job;

  if (g_strv_length (parts) != 3 ||
      (!g_str_equal (parts[1], "fire") && !g_str_equal (parts[1], "cancel")) ||
      !g_ascii_string_to_unsigned (parts[2], 10, 1, G_MAXUINT, &n, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "expected VARIANT:fire|cancel:N, got “%s”", spec);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (profiled); i++)
    if (g_str_equal (profiled[i]->id, parts[0]))
      variant = profiled[i];

  cancel = g_str_equal (parts[1], "cancel");
  if (variant == NULL || (cancel ? variant->cancel == NULL : variant->add_fire == NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "no variant “%s” with %s", parts[0], parts[1]);
      return FALSE;
    }

  bench_job_init (&job, variant, (guint) n, cancel);
  g_thread_join (g_thread_new ("bench-profile", bench_job_run, &job));
  bench_job_check (&job);
  bench_job_clear (&job);

  return TRUE;
}
