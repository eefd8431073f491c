/* threadref.h: weak references to threads, and finalizers that run when a
 * thread ends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#define THREADREF_INSIDE

#include <gio/gio.h>

#include <threadref-version.h>
#include "threadref-version-macros.h"
#include "threadref-at-thread-exit.h"
#include "threadref-dispatcher.h"
#include "threadref-finalize.h"
#include "threadref-lifetime.h"
#include "threadref-local.h"
#include "threadref-ref.h"
#include "threadref-watch.h"

#undef THREADREF_INSIDE
