/* threadref-fork-private.h: fork() handling
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs the pthread_atfork() handlers, once per process. */
void threadref_fork_init               (void);

/* In threadref-sentinel.c. */
void threadref_sentinel_fork_prepare   (void);
void threadref_sentinel_fork_parent    (void);
void threadref_sentinel_fork_child     (void);

G_END_DECLS
