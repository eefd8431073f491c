/* threadref-ref-private.h: what the other faces need of a ThreadRef
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "threadref-ref.h"
#include "threadref-sentinel-private.h"

G_BEGIN_DECLS

/* The lifetime ref refers to, or NULL if it never attached. */
ThreadRefSentinel *threadref_ref_get_lifetime (ThreadRef *ref);

G_END_DECLS
