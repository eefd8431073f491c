/* bench-gobject-floor.c: an empty final GObject type, to show what
 * g_object_new() + g_object_unref() alone cost next to the GObject-based
 * variants
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * It registers nothing: "fire" is g_object_new() + g_object_unref() at
 * once, "add" and "cancel" are g_object_new() and, later,
 * g_object_unref(), the lifetime pattern of a ThreadRefFinalize or a ThreadRef.
 */

#include <glib-object.h>

#include "bench-variant.h"

#define BENCH_TYPE_EMPTY (bench_empty_get_type ())

G_DECLARE_FINAL_TYPE (BenchEmpty, bench_empty, BENCH, EMPTY, GObject)

struct _BenchEmpty
{
  GObject parent_instance;
};

G_DEFINE_FINAL_TYPE (BenchEmpty, bench_empty, G_TYPE_OBJECT)

static void
bench_empty_class_init (BenchEmptyClass *klass)
{
}

static void
bench_empty_init (BenchEmpty *self)
{
}

static void
empty_new_unref (guint64 *counter)
{
  g_object_unref (g_object_new (BENCH_TYPE_EMPTY, NULL));
}

static gpointer
empty_new (guint64 *counter)
{
  return g_object_new (BENCH_TYPE_EMPTY, NULL);
}

static void
empty_unref (gpointer object)
{
  g_object_unref (object);
}

const BenchVariant bench_gobject_floor = {
  .id = "gobject",
  .label = "empty GObject new+unref",
  .add_fire = empty_new_unref,
  .add = empty_new,
  .cancel = empty_unref,
  .no_callback = TRUE,
};
