/* threadref-wait-private.h: waiting for a lifetime to end
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "threadref-sentinel-private.h"

G_BEGIN_DECLS

/* Blocks until lifetime has ENDED or timeout_usec (µs; negative: no limit;
 * 0: only looks) has passed. TRUE if it has ENDED. */
gboolean threadref_wait_block       (ThreadRefSentinel   *lifetime,
                                     gint64               timeout_usec);

/* Completes a GTask with TRUE once lifetime has ENDED, in the calling
 * thread's thread-default main context, or with G_IO_ERROR_CANCELLED. */
void     threadref_wait_async       (ThreadRefSentinel   *lifetime,
                                     gpointer             source_object,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data,
                                     gpointer             source_tag);

/* The fork handlers' share: the lock of blocking waits around fork(). */
void     threadref_wait_fork_prepare (void);
void     threadref_wait_fork_parent  (void);
void     threadref_wait_fork_child   (void);

G_END_DECLS
