/* threadref-exit-private.h: process exit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs the atexit handler, once per process. */
void     threadref_exit_init                (void);

/* Does, on the calling thread, what the atexit handler does. */
void     threadref_exit_run_pass            (void);

/* Called when the calling thread starts a new lifetime. Returns TRUE if that
 * lifetime must end as soon as its first node is attached, because the
 * process-exit pass already ran on this thread and cannot run again. */
gboolean threadref_exit_note_new_lifetime   (void);

G_END_DECLS
