/* threadref-version-macros.h: symbol visibility, and which API version a
 * program builds against
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * As in GLib and libdex: a program may define THREADREF_VERSION_MIN_REQUIRED
 * (deprecation warnings for what is deprecated in or before that version)
 * and THREADREF_VERSION_MAX_ALLOWED (warnings for what is newer), each one
 * of the THREADREF_VERSION_x_y macros, before it includes <threadref.h>.
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <glib.h>

#include <threadref-version.h>

/* The library is built with hidden visibility; only what carries one of
 * these macros is exported. */
#ifndef _THREADREF_EXTERN
# if defined (THREADREF_COMPILATION) && defined (__GNUC__)
#  define _THREADREF_EXTERN __attribute__((visibility ("default"))) extern
# else
#  define _THREADREF_EXTERN extern
# endif
#endif

/**
 * THREADREF_DEPRECATED_FOR: (skip)
 * @f: the replacement
 *
 * Marks a declaration deprecated in favour of @f; for threadref's headers.
 */

/**
 * THREADREF_UNAVAILABLE: (skip)
 * @maj: the major version that added it
 * @min: the minor version that added it
 *
 * Marks a declaration newer than `THREADREF_VERSION_MAX_ALLOWED`; for
 * threadref's headers.
 */

/**
 * THREADREF_DEPRECATED_IN_1_0_FOR: (skip)
 * @f: the replacement
 *
 * Marks a declaration deprecated in 1.0 in favour of @f; for threadref's
 * headers.
 */

#ifdef THREADREF_DISABLE_DEPRECATION_WARNINGS
# define THREADREF_DEPRECATED _THREADREF_EXTERN
# define THREADREF_DEPRECATED_FOR(f) _THREADREF_EXTERN
# define THREADREF_UNAVAILABLE(maj,min) _THREADREF_EXTERN
#else
# define THREADREF_DEPRECATED G_DEPRECATED _THREADREF_EXTERN
# define THREADREF_DEPRECATED_FOR(f) G_DEPRECATED_FOR (f) _THREADREF_EXTERN
# define THREADREF_UNAVAILABLE(maj,min) G_UNAVAILABLE (maj, min) _THREADREF_EXTERN
#endif

/**
 * THREADREF_VERSION_1_0:
 *
 * The version 1.0 of the API, for `THREADREF_VERSION_MIN_REQUIRED`
 * and `THREADREF_VERSION_MAX_ALLOWED`.
 *
 * ```c
 * #define THREADREF_VERSION_MIN_REQUIRED THREADREF_VERSION_1_0
 * #include <threadref.h>
 * ```
 *
 * Since: 1.0
 */
#define THREADREF_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

/* The API version of these headers: minor versions of one major version
 * add to it. */
#define THREADREF_VERSION_CUR_STABLE (G_ENCODE_VERSION (THREADREF_MAJOR_VERSION, THREADREF_MINOR_VERSION))

/**
 * THREADREF_VERSION_MIN_REQUIRED:
 *
 * Defined by a program before it includes `<threadref.h>`, to one of the
 * `THREADREF_VERSION_x_y` macros: the oldest threadref it supports. What was
 * deprecated in that version or before warns at compile time; what was
 * deprecated later does not. Defaults to the version of these headers.
 *
 * ```c
 * #define THREADREF_VERSION_MIN_REQUIRED THREADREF_VERSION_1_0
 * #include <threadref.h>
 * ```
 *
 * Since: 1.0
 */
#ifndef THREADREF_VERSION_MIN_REQUIRED
# define THREADREF_VERSION_MIN_REQUIRED (THREADREF_VERSION_CUR_STABLE)
#endif

/**
 * THREADREF_VERSION_MAX_ALLOWED:
 *
 * Defined by a program before it includes `<threadref.h>`, to one of the
 * `THREADREF_VERSION_x_y` macros: the newest threadref API it may use. What
 * was added after that version warns at compile time. Defaults to the
 * version of these headers.
 *
 * ```c
 * #define THREADREF_VERSION_MAX_ALLOWED THREADREF_VERSION_1_0
 * #include <threadref.h>
 * ```
 *
 * Since: 1.0
 */
#ifndef THREADREF_VERSION_MAX_ALLOWED
# define THREADREF_VERSION_MAX_ALLOWED (THREADREF_VERSION_CUR_STABLE)
#endif

#if THREADREF_VERSION_MAX_ALLOWED < THREADREF_VERSION_MIN_REQUIRED
# error "THREADREF_VERSION_MAX_ALLOWED must be >= THREADREF_VERSION_MIN_REQUIRED"
#endif

#define THREADREF_AVAILABLE_IN_ALL _THREADREF_EXTERN

#if THREADREF_VERSION_MIN_REQUIRED >= THREADREF_VERSION_1_0
# define THREADREF_DEPRECATED_IN_1_0 THREADREF_DEPRECATED
# define THREADREF_DEPRECATED_IN_1_0_FOR(f) THREADREF_DEPRECATED_FOR (f)
#else
# define THREADREF_DEPRECATED_IN_1_0 _THREADREF_EXTERN
# define THREADREF_DEPRECATED_IN_1_0_FOR(f) _THREADREF_EXTERN
#endif

#if THREADREF_VERSION_MAX_ALLOWED < THREADREF_VERSION_1_0
# define THREADREF_AVAILABLE_IN_1_0 THREADREF_UNAVAILABLE (1, 0)
#else
# define THREADREF_AVAILABLE_IN_1_0 _THREADREF_EXTERN
#endif
