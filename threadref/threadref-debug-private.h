/* threadref-debug-private.h: what a developer sees with
 * G_MESSAGES_DEBUG=ThreadRef
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Below every tier. The messages go through g_debug(), so GLib's log writer
 * decides whether they are shown (G_MESSAGES_DEBUG=ThreadRef or =all, read
 * once; g_log_set_debug_enabled() at any time). The check is made once per
 * lifetime and once per process-exit pass, never per registration, and costs
 * a load or two (the benchmark's "debug" section measures it).
 */

#pragma once

#include <sys/types.h>

#include <glib.h>

G_BEGIN_DECLS

/* Whether g_debug() of our log domain is to be shown. */
gboolean    threadref_debug_enabled (void);

/* The calling thread's name (pthread_getname_np(); GLib sets it from
 * g_thread_new()'s name if that has at most 15 bytes, glibc refusing longer
 * ones), or "(unnamed)", into buf of size bytes. */
const char *threadref_thread_name   (char  *buf,
                                     gsize  size);

/* The same for another thread of the process, by its kernel id; for
 * warnings, not for hot paths (it reads /proc). */
const char *threadref_thread_name_of (pid_t  tid,
                                      char  *buf,
                                      gsize  size);

G_END_DECLS
