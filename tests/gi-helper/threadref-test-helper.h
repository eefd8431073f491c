/* threadref-test-helper.h: a tiny introspectable library for the binding
 * tests, which makes worker threads that languages such as GJS cannot make
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <threadref.h>

G_BEGIN_DECLS

ThreadRefRef *thread_ref_test_spawn_worker (guint run_ms);

G_END_DECLS
