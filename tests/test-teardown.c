/* test-teardown.c: registrations made by other libraries' thread-local
 * destructors while a thread ends (rule 7, teardown re-registration)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * glibc runs pthread-key destructors in key order, in at most
 * PTHREAD_DESTRUCTOR_ITERATIONS (4) rounds, and silently drops values set in
 * the last one. Another library's destructor may register with threadref
 * before threadref's own destructor ran (its key is older) or after (its key
 * is newer), in any round.
 */

#include <pthread.h>
#include <threadref.h>

#include "test-util.h"

static pthread_key_t older_key;   /* created before threadref's */
static pthread_key_t newer_key;   /* created after threadref's */

typedef struct {
  gint          rounds_left;   /* how many more rounds the destructor re-arms itself */
  gint          registered;
  gint          ran;
  ThreadRefRef *last;          /* a ref made with the last registration */
} Chain;

static void
chain_func (gpointer data)
{
  g_atomic_int_inc (&((Chain *) data)->ran);
}

/* Registers a finalizer from inside a key destructor, and re-arms the key
 * so that it is called again in the next round. */
static void
registering_destructor (pthread_key_t  key,
                        Chain         *chain)
{
  g_clear_object (&chain->last);
  chain->last = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (threadref_finalize_new (chain_func, chain, NULL));
  chain->registered++;
  if (--chain->rounds_left > 0)
    pthread_setspecific (key, chain);
}

static void
older_destructor (void *data)
{
  registering_destructor (older_key, data);
}

static void
newer_destructor (void *data)
{
  registering_destructor (newer_key, data);
}

typedef struct {
  pthread_key_t key;
  Chain        *chain;
} ChainStart;

static gpointer
arm_and_end (gpointer data)
{
  ChainStart *start = data;

  /* This thread uses threadref too, so its key is set from round 1. */
  g_object_unref (threadref_finalize_new (chain_func, start->chain, NULL));
  start->chain->registered++;
  pthread_setspecific (start->key, start->chain);
  return NULL;
}

static gpointer arm_only (gpointer data);

/* used_before: the thread registered before its destructors ran; else its
 * first registration comes from the destructor, in round 1. */
static void
check_chain (pthread_key_t key,
             gint          rounds,
             gboolean      used_before)
{
  Chain chain = { .rounds_left = rounds };
  ChainStart start = { key, &chain };

  run_in_thread (used_before ? arm_and_end : arm_only, &start);
  g_test_message ("%d registrations, %d ran", chain.registered, chain.ran);
  g_assert_cmpint (chain.registered, ==, used_before ? rounds + 1 : rounds);
  g_assert_cmpint (chain.ran, ==, chain.registered);
  /* The lifetime of the last registration ended too: nothing was dropped. */
  g_assert_nonnull (chain.last);
  g_assert_false (threadref_ref_is_alive (chain.last));
  g_clear_object (&chain.last);
}

/* How many rounds another library's destructor re-registers in. glibc runs
 * four; ThreadSanitizer finishes its own per-thread state from a key
 * destructor that it re-arms into the last round, after which no
 * instrumented code can run on that thread, so a TSan build stops short of
 * it (the full chain runs in every other build). */
#if defined (__SANITIZE_THREAD__)
# define CHAIN_ROUNDS 2
#else
# define CHAIN_ROUNDS 4
#endif

static void
test_teardown_older_key (void)
{
  g_test_summary ("A destructor of an older key registers in every round: "
                  "nothing is lost");
  check_chain (older_key, CHAIN_ROUNDS, TRUE);
}

static void
test_teardown_newer_key (void)
{
  g_test_summary ("A destructor of a newer key registers after threadref's "
                  "own teardown, in every round including the last: nothing "
                  "is lost");
  check_chain (newer_key, CHAIN_ROUNDS, TRUE);
}

static void
test_teardown_first_use_newer_key (void)
{
  g_test_summary ("A thread's first registration comes from a newer key's "
                  "destructor in round 1, which registers again in every "
                  "round: every one runs and nothing stays alive after the "
                  "join");
  check_chain (newer_key, CHAIN_ROUNDS, FALSE);
}

static void
test_teardown_first_use_older_key (void)
{
  g_test_summary ("The same from an older key's destructor");
  check_chain (older_key, CHAIN_ROUNDS, FALSE);
}

static gpointer
arm_only (gpointer data)
{
  ChainStart *start = data;

  /* This thread never used threadref before its destructors ran. */
  pthread_setspecific (start->key, start->chain);
  return NULL;
}

static void
test_teardown_first_use_in_destructor (void)
{
  Chain chain = { .rounds_left = 1 };
  ChainStart start = { newer_key, &chain };

  g_test_summary ("A thread whose first registration is made by a key "
                  "destructor still runs it");

  run_in_thread (arm_only, &start);
  g_assert_cmpint (chain.registered, ==, 1);
  g_assert_cmpint (chain.ran, ==, 1);
  g_assert_false (threadref_ref_is_alive (chain.last));
  g_clear_object (&chain.last);
}

int
main (int   argc,
      char *argv[])
{
  ThreadRefRef *first;

  /* Before anything touches threadref, so that this key is older. */
  pthread_key_create (&older_key, older_destructor);

  g_test_init (&argc, &argv, NULL);

  /* threadref's key exists once something registered. */
  first = threadref_ref_new (NULL, NULL, NULL);
  g_object_unref (first);
  pthread_key_create (&newer_key, newer_destructor);

  g_test_add_func ("/threadref/teardown/older-key", test_teardown_older_key);
  g_test_add_func ("/threadref/teardown/newer-key", test_teardown_newer_key);
  g_test_add_func ("/threadref/teardown/first-use-in-destructor", test_teardown_first_use_in_destructor);
  g_test_add_func ("/threadref/teardown/first-use-newer-key", test_teardown_first_use_newer_key);
  g_test_add_func ("/threadref/teardown/first-use-older-key", test_teardown_first_use_older_key);

  return g_test_run ();
}
