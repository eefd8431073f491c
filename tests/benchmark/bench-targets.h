/* bench-targets.h: the targets of issue 4, in one place
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Ratios are to the hand-written list measured in the same run: the machine
 * is shared and noisy, so absolute times move from run to run while ratios
 * taken minutes apart move much less.
 */

#pragma once

#define BENCH_TARGET_PLAIN_FIRE_RATIO      1.5   /* plain register+fire, x naive list */
#define BENCH_TARGET_PLAIN_CANCEL_RATIO    1.5   /* plain register+cancel, x naive list */
#define BENCH_TARGET_GOBJECT_FACE_RATIO    1.25  /* Finalize register+fire, Ref register+drop, x empty GObject new+unref */
#define BENCH_TARGET_LOAD_GROWTH           1.5   /* cancel at the largest load / at the smallest */
#define BENCH_TARGET_PARALLEL_SCALING      1.6   /* plain path, 2 threads / 1 thread throughput */
#define BENCH_TARGET_PLAIN_BYTES           64.0  /* bytes per live plain registration */
#define BENCH_TARGET_FINALIZE_BYTES        160.0 /* bytes per live ThreadRefFinalize */
#define BENCH_TARGET_DEBUG_OFF_SHARE       0.02  /* debug check / shortest lifetime, messages off */
#define BENCH_TARGET_LOCAL_GET_RATIO       2.0   /* threadref_local_get() / g_private_get() */
#define BENCH_TARGET_FIRST_NS              2000.0 /* first registration in a thread */
