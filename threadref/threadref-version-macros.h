/* threadref-version-macros.h: symbol visibility and availability
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined (THREADREF_INSIDE) && !defined (THREADREF_COMPILATION)
#error "Only <threadref.h> can be included directly."
#endif

#include <glib.h>

/* The library is built with hidden visibility; only what carries one of
 * these macros is exported. */
#ifndef _THREADREF_EXTERN
# if defined (THREADREF_COMPILATION) && defined (__GNUC__)
#  define _THREADREF_EXTERN __attribute__((visibility ("default"))) extern
# else
#  define _THREADREF_EXTERN extern
# endif
#endif

#define THREADREF_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

#define THREADREF_AVAILABLE_IN_ALL _THREADREF_EXTERN
#define THREADREF_AVAILABLE_IN_1_0 _THREADREF_EXTERN
