/* threadref-debug.c: what a developer sees with G_MESSAGES_DEBUG=ThreadRef
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <pthread.h>

#include "threadref-debug-private.h"

/* What G_MESSAGES_DEBUG says for our domain: -1 not read yet. GLib's own
 * check (g_log_writer_default_would_drop()) reads the environment on every
 * call, 27 ns with 37 variables: a tenth of the shortest lifetime (one
 * registration and threadref_end_lifetime(), 240 ns). Read once instead, as
 * G_SLICE and G_DEBUG are; g_log_set_debug_enabled() is still seen at any
 * time. */
static gint env_enables = -1;

gboolean
threadref_debug_enabled (void)
{
  gint enables;

  if (g_log_get_debug_enabled ())
    return TRUE;

  enables = g_atomic_int_get (&env_enables);
  if (G_UNLIKELY (enables < 0))
    {
      /* With g_log_get_debug_enabled() FALSE, only G_MESSAGES_DEBUG decides.
       * Two threads may both get here; they store the same answer. */
      enables = !g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN);
      g_atomic_int_set (&env_enables, enables);
    }

  return enables;
}

const char *
threadref_thread_name_of (pid_t  tid,
                          char  *buf,
                          gsize  size)
{
  char path[64];
  g_autofree char *comm = NULL;

  g_snprintf (path, sizeof path, "/proc/self/task/%d/comm", (int) tid);
  if (g_file_get_contents (path, &comm, NULL, NULL) && comm[0] != '\0')
    g_strlcpy (buf, g_strchomp (comm), size);
  else
    g_strlcpy (buf, "(unnamed)", size);
  return buf;
}

const char *
threadref_thread_name (char   *buf,
                       gsize  size)
{
  if (pthread_getname_np (pthread_self (), buf, size) != 0 || buf[0] == '\0')
    g_strlcpy (buf, "(unnamed)", size);
  return buf;
}
