/* glib-tsan-visible.c: makes GLib's locks visible to ThreadSanitizer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Debian's GLib 2.74 builds GMutex, GCond, GRecMutex and GRWLock on raw
 * futexes, which ThreadSanitizer cannot see: every access they guard in the
 * tests (and the demo) would be reported as a race. This module, preloaded
 * into the tests of a -Db_sanitize=thread build, wraps their public entry
 * points and tells TSan what they do (acquire after locking, release before
 * unlocking). threadref itself does not use them (see
 * threadref-lock-private.h). Calls GLib makes internally to its own locks
 * bypass this, which only matters for data GLib itself owns: GLib is not
 * instrumented, so TSan does not track it.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib.h>
#include <sanitizer/tsan_interface.h>

/* The real function. RTLD_NEXT finds it when GLib is in the global scope;
 * interpreters (python3, gjs) load it with RTLD_LOCAL, so ask GLib's own
 * handle then. */
static void *
real_symbol (const char *name)
{
  void *symbol = dlsym (RTLD_NEXT, name);

  if (symbol == NULL)
    {
      void *glib = dlopen ("libglib-2.0.so.0", RTLD_LAZY | RTLD_NOLOAD);

      if (glib != NULL)
        symbol = dlsym (glib, name);
    }
  if (symbol == NULL)
    {
      static const char message[] = "glib-tsan-visible: cannot find GLib's lock functions\n";

      (void) !write (2, message, sizeof message - 1);
      abort ();
    }
  return symbol;
}

#define REAL(name, ret, ...) \
  static ret (*real_##name) (__VA_ARGS__); \
  static void resolve_##name (void) \
  { \
    if (real_##name == NULL) \
      real_##name = real_symbol (#name); \
  }

REAL (g_mutex_lock, void, GMutex *)
REAL (g_mutex_unlock, void, GMutex *)
REAL (g_mutex_trylock, gboolean, GMutex *)
REAL (g_rec_mutex_lock, void, GRecMutex *)
REAL (g_rec_mutex_unlock, void, GRecMutex *)
REAL (g_rec_mutex_trylock, gboolean, GRecMutex *)
REAL (g_rw_lock_writer_lock, void, GRWLock *)
REAL (g_rw_lock_writer_unlock, void, GRWLock *)
REAL (g_rw_lock_writer_trylock, gboolean, GRWLock *)
REAL (g_rw_lock_reader_lock, void, GRWLock *)
REAL (g_rw_lock_reader_unlock, void, GRWLock *)
REAL (g_rw_lock_reader_trylock, gboolean, GRWLock *)
REAL (g_cond_wait, void, GCond *, GMutex *)
REAL (g_cond_wait_until, gboolean, GCond *, GMutex *, gint64)

void
g_mutex_lock (GMutex *mutex)
{
  resolve_g_mutex_lock ();
  real_g_mutex_lock (mutex);
  __tsan_acquire (mutex);
}

void
g_mutex_unlock (GMutex *mutex)
{
  resolve_g_mutex_unlock ();
  __tsan_release (mutex);
  real_g_mutex_unlock (mutex);
}

gboolean
g_mutex_trylock (GMutex *mutex)
{
  resolve_g_mutex_trylock ();
  if (!real_g_mutex_trylock (mutex))
    return FALSE;
  __tsan_acquire (mutex);
  return TRUE;
}

void
g_rec_mutex_lock (GRecMutex *mutex)
{
  resolve_g_rec_mutex_lock ();
  real_g_rec_mutex_lock (mutex);
  __tsan_acquire (mutex);
}

void
g_rec_mutex_unlock (GRecMutex *mutex)
{
  resolve_g_rec_mutex_unlock ();
  __tsan_release (mutex);
  real_g_rec_mutex_unlock (mutex);
}

gboolean
g_rec_mutex_trylock (GRecMutex *mutex)
{
  resolve_g_rec_mutex_trylock ();
  if (!real_g_rec_mutex_trylock (mutex))
    return FALSE;
  __tsan_acquire (mutex);
  return TRUE;
}

void
g_rw_lock_writer_lock (GRWLock *lock)
{
  resolve_g_rw_lock_writer_lock ();
  real_g_rw_lock_writer_lock (lock);
  __tsan_acquire (lock);
}

void
g_rw_lock_writer_unlock (GRWLock *lock)
{
  resolve_g_rw_lock_writer_unlock ();
  __tsan_release (lock);
  real_g_rw_lock_writer_unlock (lock);
}

gboolean
g_rw_lock_writer_trylock (GRWLock *lock)
{
  resolve_g_rw_lock_writer_trylock ();
  if (!real_g_rw_lock_writer_trylock (lock))
    return FALSE;
  __tsan_acquire (lock);
  return TRUE;
}

void
g_rw_lock_reader_lock (GRWLock *lock)
{
  resolve_g_rw_lock_reader_lock ();
  real_g_rw_lock_reader_lock (lock);
  __tsan_acquire (lock);
}

void
g_rw_lock_reader_unlock (GRWLock *lock)
{
  resolve_g_rw_lock_reader_unlock ();
  __tsan_release (lock);
  real_g_rw_lock_reader_unlock (lock);
}

gboolean
g_rw_lock_reader_trylock (GRWLock *lock)
{
  resolve_g_rw_lock_reader_trylock ();
  if (!real_g_rw_lock_reader_trylock (lock))
    return FALSE;
  __tsan_acquire (lock);
  return TRUE;
}

void
g_cond_wait (GCond  *cond,
             GMutex *mutex)
{
  resolve_g_cond_wait ();
  __tsan_release (mutex);
  real_g_cond_wait (cond, mutex);
  __tsan_acquire (mutex);
}

gboolean
g_cond_wait_until (GCond  *cond,
                   GMutex *mutex,
                   gint64  end_time)
{
  gboolean signalled;

  resolve_g_cond_wait_until ();
  __tsan_release (mutex);
  signalled = real_g_cond_wait_until (cond, mutex, end_time);
  __tsan_acquire (mutex);
  return signalled;
}
