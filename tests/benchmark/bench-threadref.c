/* bench-threadref.c: the library's variants: the plain C path with each
 * flag, ThreadRefFinalize and ThreadRefRef
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <threadref.h>

#include "bench-util.h"
#include "bench-variant.h"

static void
end_lifetime (void)
{
  threadref_end_lifetime ();
}

/* The plain path */

static void
plain_cancel (gpointer handle)
{
  threadref_at_thread_exit_cancel (handle);
}

static void
plain_add_fire (guint64 *counter)
{
  threadref_at_thread_exit (bench_count, counter, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

static gpointer
plain_add (guint64 *counter)
{
  return threadref_at_thread_exit_add (bench_count, counter, THREADREF_AT_THREAD_EXIT_DEFAULT);
}

const BenchVariant bench_plain = {
  .id = "plain",
  .label = "plain C path",
  .add_fire = plain_add_fire,
  .add = plain_add,
  .cancel = plain_cancel,
  .end_now = end_lifetime,
};

static void
plain_thread_only_add_fire (guint64 *counter)
{
  threadref_at_thread_exit (bench_count, counter, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
}

static gpointer
plain_thread_only_add (guint64 *counter)
{
  return threadref_at_thread_exit_add (bench_count, counter, THREADREF_AT_THREAD_EXIT_THREAD_ONLY);
}

const BenchVariant bench_plain_thread_only = {
  .id = "plain-thread-only",
  .label = "plain C path, THREAD_ONLY",
  .add_fire = plain_thread_only_add_fire,
  .add = plain_thread_only_add,
  .cancel = plain_cancel,
  .end_now = end_lifetime,
};

/* ThreadRefFinalize: "fire" drops our reference at once (it keeps itself
 * alive); "cancel" is detach, then our unref. */

static void
finalize_add_fire (guint64 *counter)
{
  g_object_unref (threadref_finalize_new (bench_count, counter, NULL));
}

static gpointer
finalize_add (guint64 *counter)
{
  return threadref_finalize_new (bench_count, counter, NULL);
}

static void
finalize_cancel (gpointer handle)
{
  threadref_finalize_detach (handle);
  g_object_unref (handle);
}

const BenchVariant bench_finalize = {
  .id = "finalize",
  .label = "ThreadRefFinalize",
  .add_fire = finalize_add_fire,
  .add = finalize_add,
  .cancel = finalize_cancel,
  .end_now = end_lifetime,
};

/* ThreadRefRef: "fire" keeps the ref until its thread ends, when its callback
 * drops it; "cancel" drops it before. */

static void
ref_counted (ThreadRefRef *ref,
             gpointer      counter)
{
  bench_count (counter);
}

static void
ref_counted_then_dropped (ThreadRefRef *ref,
                          gpointer      counter)
{
  bench_count (counter);
  g_object_unref (ref);
}

static void
ref_add_fire (guint64 *counter)
{
  /* Owned by ref_counted_then_dropped from here on. */
  ThreadRefRef *ref G_GNUC_UNUSED = threadref_ref_new (ref_counted_then_dropped, counter, NULL);
}

static gpointer
ref_add (guint64 *counter)
{
  return threadref_ref_new (ref_counted, counter, NULL);
}

static void
ref_cancel (gpointer handle)
{
  g_object_unref (handle);
}

const BenchVariant bench_ref = {
  .id = "ref",
  .label = "ThreadRef",
  .add_fire = ref_add_fire,
  .add = ref_add,
  .cancel = ref_cancel,
  .end_now = end_lifetime,
};
