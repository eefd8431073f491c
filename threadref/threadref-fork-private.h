/* threadref-fork-private.h: fork()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs the pthread_atfork() handlers, once per process. */
void threadref_fork_init (void);

G_END_DECLS
