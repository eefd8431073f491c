/* threadref-ref-private.h: what the other faces need of a ThreadRefRef
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "threadref-ref.h"
#include "threadref-sentinel-private.h"

G_BEGIN_DECLS

/* The lifetime ref refers to, or NULL if it never attached. */
ThreadRefSentinel *threadref_ref_get_lifetime (ThreadRefRef *ref);

G_END_DECLS
