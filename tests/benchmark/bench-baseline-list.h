/* bench-baseline-list.h: the hand-written floor the library is compared
 * with
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _ListNode ListNode;

/* func (data) runs when the calling thread ends. */
void      list_at_exit        (GDestroyNotify func,
                               gpointer       data);
/* The same, cancellable from any thread through the returned handle, which
 * must be given back exactly once with list_at_exit_cancel(). */
ListNode *list_at_exit_add    (GDestroyNotify func,
                               gpointer       data);
/* TRUE if func had not run and now never will. */
gboolean  list_at_exit_cancel (ListNode      *node);
/* Runs the calling thread's registrations now, newest first. */
void      list_run_now        (void);

G_END_DECLS
