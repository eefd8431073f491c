/* test-version.c: the version macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* What a program that supports only the 1.0 API defines. */
#define THREADREF_VERSION_MIN_REQUIRED THREADREF_VERSION_1_0
#define THREADREF_VERSION_MAX_ALLOWED THREADREF_VERSION_1_0

#include <threadref.h>

static void
test_version_macros (void)
{
  g_test_summary ("The version macros agree with each other and with the "
                  "project's version; a program can pin the API version");

  g_assert_cmpint (THREADREF_VERSION_HEX, ==,
                   THREADREF_ENCODE_VERSION (THREADREF_MAJOR_VERSION,
                                             THREADREF_MINOR_VERSION,
                                             THREADREF_MICRO_VERSION));
  g_assert_cmpint (THREADREF_ENCODE_VERSION (1, 2, 0), >, THREADREF_ENCODE_VERSION (1, 1, 9));
  g_assert_cmpint (THREADREF_ENCODE_VERSION (2, 0, 0), >, THREADREF_ENCODE_VERSION (1, 255, 255));

  g_assert_true (THREADREF_CHECK_VERSION (1, 0, 0));
  g_assert_true (THREADREF_CHECK_VERSION (THREADREF_MAJOR_VERSION, THREADREF_MINOR_VERSION,
                                          THREADREF_MICRO_VERSION));
  g_assert_false (THREADREF_CHECK_VERSION (THREADREF_MAJOR_VERSION, THREADREF_MINOR_VERSION,
                                           THREADREF_MICRO_VERSION + 1));
  g_assert_false (THREADREF_CHECK_VERSION (THREADREF_MAJOR_VERSION + 1, 0, 0));

  g_assert_cmpstr (THREADREF_VERSION_S, ==, PACKAGE_VERSION);
  g_assert_cmpint (THREADREF_VERSION_MIN_REQUIRED, ==, THREADREF_VERSION_1_0);
  g_assert_cmpint (THREADREF_VERSION_MAX_ALLOWED, >=, THREADREF_VERSION_MIN_REQUIRED);

  /* The 1.0 API is usable under these bounds (this compiles without a
   * warning, -Werror builds included). */
  threadref_end_lifetime ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/threadref/version/macros", test_version_macros);

  return g_test_run ();
}
