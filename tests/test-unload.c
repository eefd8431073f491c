/* test-unload.c: a module whose callbacks are pending is closed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * threadref keeps loaded every module whose code a registration will call,
 * as glibc does for C++ thread_local destructors, so g_module_close()
 * (dlclose()) while callbacks are pending cannot leave them pointing at
 * unmapped code.
 */

#include <gmodule.h>
#include <threadref.h>

#include "test-util.h"

typedef ThreadRefRef *(*PluginRegister) (gint *counter);

static gboolean
mapped (const char *path_part)
{
  g_autofree char *maps = NULL;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  return strstr (maps, path_part) != NULL;
}

static char *
module_path (const char *name)
{
  return g_test_build_filename (G_TEST_BUILT, "modules", name, NULL);
}

typedef struct {
  PluginRegister  plugin_register;
  gint            counter;
  ThreadRefRef   *ref;
} UnloadData;

static void
use_plugin (gpointer data)
{
  UnloadData *d = data;

  d->ref = d->plugin_register (&d->counter);
}

static void
test_unload_pending_callbacks (void)
{
  g_autofree char *path = module_path ("libthreadref-test-plugin.so");
  UnloadData d = { 0 };
  GModule *module;
  HeldThread held;

  g_test_summary ("Closing a module while callbacks it registered are pending "
                  "does not unmap them: they run when the thread ends");

  module = g_module_open (path, G_MODULE_BIND_LOCAL);
  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, "plugin_register", (gpointer *) &d.plugin_register));

  held_thread_start (&held, "plugin-user", use_plugin, &d);
  g_assert_true (g_module_close (module));
  g_assert_true (mapped ("libthreadref-test-plugin.so"));
  held_thread_finish (&held);   /* the plugin's callbacks run now */

  /* finalizer + destroy, plain, ref + destroy */
  g_assert_cmpint (d.counter, ==, 5);
  g_object_unref (d.ref);
  g_assert_cmpint (d.counter, ==, 5);
}

typedef void (*PluginSetLocal) (const char *value);

static void
set_plugin_local (gpointer data)
{
  PluginSetLocal set_local = (PluginSetLocal) data;

  set_local ("kept in the plugin's slot");
}

static void
test_unload_local_slot (void)
{
  g_autofree char *path = module_path ("libthreadref-test-local-plugin.so");
  PluginSetLocal set_local;
  GModule *module;
  HeldThread held;

  g_test_summary ("Closing a module whose ThreadRefLocal slot holds a value "
                  "does not unmap the slot: the value's end reads it, though "
                  "the destroy notify (g_free) is not the module's");

  module = g_module_open (path, G_MODULE_BIND_LOCAL);
  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, "plugin_set_local", (gpointer *) &set_local));

  held_thread_start (&held, "local-user", set_plugin_local, set_local);
  g_assert_true (g_module_close (module));
  g_assert_true (mapped ("libthreadref-test-local-plugin.so"));
  held_thread_finish (&held);   /* the value ends now: a crash if unmapped */
}

static void
test_unload_unused_module (void)
{
  g_autofree char *path = module_path ("libthreadref-test-unused-plugin.so");
  GModule *module;

  g_test_summary ("A module that registered nothing unloads as usual (so the "
                  "check above can see unloading)");

  module = g_module_open (path, G_MODULE_BIND_LOCAL);
  g_assert_nonnull (module);
  g_assert_true (mapped ("libthreadref-test-unused-plugin.so"));
  g_assert_true (g_module_close (module));
  g_assert_false (mapped ("libthreadref-test-unused-plugin.so"));
}

static void
test_unload_library_itself (void)
{
  g_test_summary ("libthreadref itself is never unmapped (-z nodelete)");

  if (!mapped ("libthreadref-1.0.so"))
    {
      g_test_skip ("threadref is linked statically into this program");
      return;
    }
  /* Loading and closing it again changes nothing. */
  {
    GModule *self = g_module_open ("libthreadref-1.0.so.0", G_MODULE_BIND_LOCAL);

    g_assert_nonnull (self);
    g_assert_true (g_module_close (self));
  }
  g_assert_true (mapped ("libthreadref-1.0.so"));
}

typedef void (*PluginWait) (ThreadRefRef *worker,
                            gint      *done);

static void
make_ref (gpointer data)
{
  *(ThreadRefRef **) data = threadref_ref_new (NULL, NULL, NULL);
}

static void
test_unload_async_wait_callback (void)
{
  g_autofree char *path = module_path ("libthreadref-test-wait-plugin.so");
  ThreadRefRef *worker_ref = NULL;
  PluginWait plugin_wait;
  GModule *module;
  HeldThread held;
  gint done = 0;

  g_test_summary ("A module that waits for a thread with "
                  "threadref_ref_wait_async() and is then closed: its ready "
                  "callback stays mapped and runs when the thread ends");

  held_thread_start (&held, "waited", make_ref, &worker_ref);

  module = g_module_open (path, G_MODULE_BIND_LOCAL);
  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, "plugin_wait", (gpointer *) &plugin_wait));
  plugin_wait (worker_ref, &done);
  g_assert_true (g_module_close (module));
  g_assert_true (mapped ("libthreadref-test-wait-plugin.so"));

  held_thread_finish (&held);
  while (done == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (done, ==, 1);
  g_object_unref (worker_ref);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/unload/pending-callbacks", test_unload_pending_callbacks);
  g_test_add_func ("/threadref/unload/local-slot", test_unload_local_slot);
  g_test_add_func ("/threadref/unload/unused-module", test_unload_unused_module);
  g_test_add_func ("/threadref/unload/library-itself", test_unload_library_itself);
  g_test_add_func ("/threadref/unload/async-wait-callback", test_unload_async_wait_callback);

  return g_test_run ();
}
