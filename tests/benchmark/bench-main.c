/* bench-main.c: the threadref benchmark: options, the order of the
 * sections, the table and the CSV
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every figure is the median of --repeat repetitions, and every variant is
 * measured in each repetition, in a new random order each time. Ratios to
 * the hand-written list of the same run are what the targets are about: the
 * machine is shared and noisy, absolute times are not comparable from run
 * to run.
 *
 * Targets are printed with PASS/FAIL but never change the exit status:
 * timing must not fail a test run.
 */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <threadref.h>

#include "bench-clock.h"
#include "bench-config.h"
#include "bench-report.h"
#include "bench-sections.h"

static const char *const all_sections[] = {
  "idle", "per-callback", "first", "load", "parallel", "memory", "lifetime", "local", "wait", NULL,
};

gboolean
bench_config_wants (const BenchConfig *config,
                    const char        *section)
{
  return config->only == NULL || g_strv_contains ((const char *const *) config->only, section);
}

/* GLib 2.74 hands GObject instances out of GSlice magazines, which
 * mallinfo2() does not see as separate allocations; G_SLICE=always-malloc
 * makes them plain mallocs. GSlice reads it once, already in GLib's own
 * constructors, so setting it in main() is too late: run again with it set.
 * Called before any GLib function. */
static void
ensure_slice_always_malloc (char **argv)
{
  const char *slice = getenv ("G_SLICE");

  if (slice != NULL && strstr (slice, "always-malloc") != NULL)
    return;
  if (getenv ("THREADREF_BENCH_REEXEC") != NULL)
    return;   /* tried once already; the memory note says what happened */

  setenv ("G_SLICE", "always-malloc", 1);
  setenv ("THREADREF_BENCH_REEXEC", "1", 1);
  execv ("/proc/self/exe", argv);
  /* No /proc: go on; the empty-GObject memory row shows the undercount. */
}

static gboolean
parse_list (const char  *text,
            GArray      *values,
            GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  g_array_set_size (values, 0);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      guint64 value;

      if (!g_ascii_string_to_unsigned (g_strstrip (parts[i]), 10, 1, G_MAXUINT, &value, error))
        return FALSE;
      g_array_append_vals (values, &(guint) { (guint) value }, 1);
    }

  return values->len > 0;
}

/* "N:THREADS" */
static gboolean
parse_size (const char  *text,
            guint       *n,
            guint       *threads,
            GError     **error)
{
  g_auto(GStrv) parts = g_strsplit (text, ":", 2);
  guint64 a, b;

  if (g_strv_length (parts) != 2)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "expected N:THREADS, got “%s”", text);
      return FALSE;
    }
  if (!g_ascii_string_to_unsigned (parts[0], 10, 1, G_MAXUINT, &a, error) ||
      !g_ascii_string_to_unsigned (parts[1], 10, 1, G_MAXUINT, &b, error))
    return FALSE;
  *n = (guint) a;
  *threads = (guint) b;

  return TRUE;
}

static char *
read_cpu_model (void)
{
  g_autofree char *cpuinfo = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    return g_strdup ("unknown CPU");
  lines = g_strsplit (cpuinfo, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "model name"))
      {
        const char *colon = strchr (lines[i], ':');

        if (colon != NULL)
          return g_strstrip (g_strdup (colon + 1));
      }

  return g_strdup ("unknown CPU");
}

static void
add_header_notes (BenchReport       *report,
                  const BenchConfig *config)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format_iso8601 (now);
  g_autofree char *cpu = read_cpu_model ();
  g_autoptr(GString) loads = g_string_new (NULL);
  const char *slice = g_getenv ("G_SLICE");

  for (guint i = 0; i < config->loads->len; i++)
    g_string_append_printf (loads, "%s%u", i ? "," : "", g_array_index (config->loads, guint, i));

  bench_report_add_note (report, "threadref %s benchmark, %s", THREADREF_VERSION_S, date);
  bench_report_add_note (report, "%s, %u CPUs online; GLib %u.%u.%u; G_SLICE=%s",
                         cpu, (guint) sysconf (_SC_NPROCESSORS_ONLN),
                         glib_major_version, glib_minor_version, glib_micro_version,
                         slice ? slice : "(unset: GObject bytes undercounted)");
  bench_report_add_note (report, "median of %u repetitions; per callback: %u x %u threads and %u x %u threads; "
                                 "loads %s, %u ops per batch; parallel %u; memory %u; lifetime %u x %u; wait %u",
                         config->repeat, config->small_n, config->small_threads,
                         config->large_n, config->large_threads, loads->str, config->load_ops,
                         config->parallel_n, config->memory_n, config->lifetime_n,
                         config->lifetime_batches, config->wait_samples);
  bench_report_add_note (report, "%s; cases in a new random order in each repetition (--seed %u)",
                         bench_clock_describe (bench_clock_get ()), config->seed);
  bench_report_add_note (report, "ratio: to the hand-written list in this run unless the row says otherwise");
}

int
main (int    argc,
      char **argv)
{
  BenchConfig config = {
    .repeat = 7,
    .small_n = 1000,
    .small_threads = 200,
    .large_n = 100000,
    .large_threads = 5,
    .first_threads = 200,
    .load_ops = 20000,
    .parallel_n = 100000,
    .memory_n = 1000000,
    .lifetime_n = 1000,
    .lifetime_batches = 20,
    .wait_samples = 50,
  };
  gboolean quick = FALSE;
  gint repeat = 0;
  g_autofree char *small = NULL;
  g_autofree char *large = NULL;
  g_autofree char *loads = NULL;
  g_autofree char *csv = NULL;
  gint memory_n = 0;
  gint64 seed = -1;
  gboolean wall_clock = FALSE;
  g_autofree char *profile = NULL;
  g_autofree char *idle_probe = NULL;
  g_auto(GStrv) only = NULL;
  GOptionEntry entries[] = {
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "Smaller sizes and 3 repetitions (a few seconds)", NULL },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Repetitions per figure (default 7)", "N" },
    { "small", 0, 0, G_OPTION_ARG_STRING, &small, "Small per-callback case (default 1000:200)", "N:THREADS" },
    { "large", 0, 0, G_OPTION_ARG_STRING, &large, "Large per-callback case (default 100000:5)", "N:THREADS" },
    { "loads", 0, 0, G_OPTION_ARG_STRING, &loads, "Live registrations for cancel vs. load (default 1000,100000,1000000)", "L,L,..." },
    { "memory-n", 0, 0, G_OPTION_ARG_INT, &memory_n, "Live registrations for bytes per registration (default 1000000)", "N" },
    { "only", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only, "Run only this section (repeatable): idle, per-callback, first, load, parallel, memory, lifetime, local, wait", "SECTION" },
    { "wall-clock", 0, 0, G_OPTION_ARG_NONE, &wall_clock, "Time threads from creation to join instead of on the thread itself", NULL },
    { "profile", 0, 0, G_OPTION_ARG_STRING, &profile, "Only run one thread of one variant, for a profiler (fire or cancel; variants: plain, plain-thread-only, finalize, ref, list, cxa, gprivate, gobject)", "VARIANT:fire|cancel:N" },
    { "idle-probe", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &idle_probe, "Time blocks of empty threads on request (see bench-idle-thread.c)", "THREADS:USE" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed for the order of cases (default: random, printed)", "N" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Also write every figure to FILE as CSV", "FILE" },
    { NULL },
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  BenchReport *report;

  ensure_slice_always_malloc (argv);

  context = g_option_context_new ("- measure threadref against hand-written baselines");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  bench_clock_init (wall_clock ? BENCH_CLOCK_WALL : BENCH_CLOCK_THREAD);
  if (idle_probe != NULL)
    {
      guint threads, use;

      if (sscanf (idle_probe, "%u:%u", &threads, &use) != 2 || threads == 0)
        return 2;
      return bench_idle_probe_main (threads, use != 0);
    }
  if (profile != NULL)
    {
      if (!bench_profile_run (profile, &error))
        {
          g_printerr ("%s\n", error->message);
          return 2;
        }
      return 0;
    }

  config.loads = g_array_new (FALSE, FALSE, sizeof (guint));
  parse_list ("1000,100000,1000000", config.loads, NULL);
  if (quick)
    {
      config.repeat = 3;
      config.small_threads = 50;
      config.large_n = 20000;
      config.large_threads = 3;
      config.first_threads = 50;
      config.load_ops = 5000;
      config.parallel_n = 20000;
      config.memory_n = 100000;
      config.lifetime_batches = 5;
      config.wait_samples = 10;
      parse_list ("1000,10000,100000", config.loads, NULL);
    }
  if (repeat > 0)
    config.repeat = repeat;
  if (memory_n > 0)
    config.memory_n = memory_n;
  if ((small && !parse_size (small, &config.small_n, &config.small_threads, &error)) ||
      (large && !parse_size (large, &config.large_n, &config.large_threads, &error)) ||
      (loads && !parse_list (loads, config.loads, &error)))
    {
      g_printerr ("%s\n", error ? error->message : "bad --loads");
      return 2;
    }
  for (guint i = 0; only != NULL && only[i] != NULL; i++)
    if (!g_strv_contains (all_sections, only[i]))
      {
        g_printerr ("unknown section “%s”\n", only[i]);
        return 2;
      }
  config.only = only;
  config.seed = seed >= 0 ? (guint32) seed : g_random_int ();
  if (config.memory_n < 2)
    config.memory_n = 2;

  report = bench_report_new ();
  add_header_notes (report, &config);

  /* First, while the process has no allocator arena but the main one: each
   * load worker then builds its list in a fresh arena of its own. Later, a
   * worker may inherit an arena that earlier threads left fragmented, and
   * cancelling the oldest registration becomes a walk through scattered
   * memory for whichever variant drew it. */
  if (bench_config_wants (&config, "load"))
    bench_section_load (report, &config);
  if (bench_config_wants (&config, "per-callback"))
    bench_section_per_callback (report, &config);
  if (bench_config_wants (&config, "first"))
    bench_section_first (report, &config);
  if (bench_config_wants (&config, "parallel"))
    bench_section_parallel (report, &config);
  if (bench_config_wants (&config, "memory"))
    bench_section_memory (report, &config);
  if (bench_config_wants (&config, "lifetime"))
    bench_section_lifetime (report, &config);
  if (bench_config_wants (&config, "local"))
    bench_section_local (report, &config);
  if (bench_config_wants (&config, "wait"))
    bench_section_wait (report, &config);

  /* Last, once the library has been used as much as it gets. */
  if (bench_config_wants (&config, "idle"))
    bench_section_idle_thread (report, &config);

  bench_report_finish (report);
  bench_report_print_table (report, stdout);
  bench_report_print_targets (report, stdout);

  if (csv != NULL && !bench_report_write_csv (report, csv, &error))
    g_printerr ("cannot write %s: %s\n", csv, error->message);
  else if (csv != NULL)
    printf ("CSV written to %s\n", csv);

  bench_report_free (report);
  g_array_unref (config.loads);

  return 0;
}
