/* threadref-exit.c: what runs at process exit
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * glibc runs no pthread-key destructor at exit(), neither for the thread that
 * calls it nor for any other. The exiting thread's own lifetimes end first,
 * at the very start of exit(), from a C++-style thread-local destructor
 * (threadref-thread.c). Then an atexit() handler, installed when threadref
 * is first used, runs the pass, on the exiting thread:
 *
 *  1. whatever the exiting thread registered since, as a thread end;
 *  2. every live finalizer (and plain registration) marked PROCESS_EXIT of
 *     every other thread that has not ended, newest first across threads.
 *
 * The pass runs what existed when it began (a snapshot: the stamp limit),
 * plus whatever its own callbacks register, right after the callback that
 * registered it; other threads that keep registering meanwhile cannot make
 * it last forever. A callback may call exit() again: glibc then runs the
 * handlers that are still registered, so the handler puts itself back
 * before it runs anything, and the nested pass continues where this one
 * stopped (the claimed nodes wait in the pending list).
 *
 * Threads go on running meanwhile, and may end: one of the pass's own
 * callbacks may stop a worker and join it. A thread that ends takes back
 * what the pass claimed of its lifetime and has not run yet, and runs it
 * itself, so that its end (and a join, a wait) still means that its
 * callbacks have run. A thread that was in the middle of ending when the
 * pass began may be running one of its finalizers right then (or about to,
 * having taken it): the pass leaves that one to it and does not wait, as
 * exit() waits for no thread — a callback that never returns must not keep
 * the process from ending. docs/exit-and-main-thread.md says so.
 */

#include "config.h"

#include <stdlib.h>

#include "threadref-debug-private.h"
#include "threadref-exit-private.h"
#include "threadref-registry-private.h"
#include "threadref-sentinel-private.h"

/* How many nodes the exit pass's callbacks may attach to other threads'
 * lifetimes before the pass stops taking them and warns. */
#define MAX_PASS_ATTACHES 1000000

static const ThreadRefExitThreadHooks *thread_hooks;

/* All per thread: exit() may be called from any thread. */
static __thread guint pass_depth;          /* > 0 while this thread runs a pass */
static __thread guint64 pass_stamp_limit;  /* the snapshot of the outermost pass */
/* Claimed, not yet run; newest first. Under the registry lock, since the
 * threads whose nodes they are may take them back (and the fork handlers
 * take that lock). */
static ThreadRefNode *pass_pending;
static __thread guint pass_attaches;       /* EXIT_PASS nodes attached so far */
static __thread gboolean handler_ran;      /* exit() has started here */
static __thread guint64 exit_stamp_limit;  /* its snapshot, for every call of the handler */
static gboolean handler_armed;             /* registered and not yet called */
static gint dropped_warned;

static void exit_handler (void);

static void
arm_handler (void)
{
  if (!handler_armed)
    handler_armed = atexit (exit_handler) == 0;
}

/* Claims what the pass may run now and puts it in front of what is pending:
 * it is all newer. */
static void
take_more (guint64 stamp_limit)
{
  ThreadRefNode *claimed = threadref_sentinel_claim_for_exit (stamp_limit);
  ThreadRefNode *tail = claimed;

  if (claimed == NULL)
    return;
  while (tail->older != NULL)
    tail = tail->older;
  threadref_registry_lock ();
  tail->older = pass_pending;
  pass_pending = claimed;
  threadref_registry_unlock ();
}

static ThreadRefNode *
pop_pending (void)
{
  ThreadRefNode *node;

  threadref_registry_lock ();
  node = pass_pending;
  if (node != NULL)
    {
      pass_pending = node->older;
      node->older = NULL;
    }
  threadref_registry_unlock ();

  return node;
}

void
threadref_exit_take_back (ThreadRefSentinel *lifetime)
{
  ThreadRefNode mine = { 0 };
  ThreadRefNode *mine_tail = &mine;
  ThreadRefNode **link = &pass_pending;
  guint n = 0;

  threadref_registry_lock ();
  while (*link != NULL)
    {
      ThreadRefNode *node = *link;

      if (node->sentinel == lifetime)
        {
          *link = node->older;
          node->older = NULL;
          mine_tail->older = node;
          mine_tail = node;
          n++;
        }
      else
        link = &node->older;
    }
  threadref_registry_unlock ();

  threadref_sentinel_give_back_held (lifetime, mine.older, n);
}

/* stamp_limit: what may run, by creation; a nested pass keeps the outer
 * one's. */
static void
run_pass (gboolean rearm,
          guint64  stamp_limit)
{
  guint seen_attaches;
  gboolean debug = threadref_debug_enabled ();
  guint n_ran = 0;
  char name[32];

  if (pass_depth++ == 0)
    pass_stamp_limit = stamp_limit;
  if (G_UNLIKELY (debug))
    g_debug ("process exit on thread “%s”: the pass starts",
             threadref_thread_name (name, sizeof name));

  /* Put back only when there is something to run: a handler that always
   * put itself back would be called forever. */
  if (rearm && thread_hooks->has_work ())
    arm_handler ();
  thread_hooks->end_lifetimes ();

  if (g_atomic_int_compare_and_exchange (&dropped_warned, 0, 1))
    threadref_sentinel_warn_dropped ();

  /* Claimed newest first: an older pending list (a pass that a callback
   * left by calling exit()) comes after. */
  take_more (pass_stamp_limit);
  seen_attaches = pass_attaches;

  for (;;)
    {
      ThreadRefNode *node = pop_pending ();
      ThreadRefSentinel *lifetime;

      if (node == NULL)
        break;
      /* The node may be gone once it has run; its lifetime stays until
       * pass_done() says it was run. */
      lifetime = node->sentinel;
      if (rearm)
        arm_handler ();
      n_ran++;
      threadref_node_run (node);
      threadref_sentinel_pass_done (lifetime, 1);

      /* What that callback registered on this thread is newest. */
      thread_hooks->end_lifetimes ();
      if (pass_attaches != seen_attaches)
        {
          seen_attaches = pass_attaches;
          take_more (pass_stamp_limit);
        }
    }

  if (G_UNLIKELY (debug))
    g_debug ("process exit on thread “%s”: the pass ran %u finalizers and plain "
             "registrations of other threads", name, n_ran);
  pass_depth--;
}

void
threadref_exit_fork_child (void)
{
  /* Every pending node is another thread's, which is not in the child. */
  for (ThreadRefNode *node = pass_pending; node != NULL;)
    {
      ThreadRefNode *older = node->older;

      node->older = NULL;
      threadref_sentinel_pass_drop_locked (node);
      node = older;
    }
  pass_pending = NULL;
}

static void
exit_handler (void)
{
  /* The snapshot is taken once, when exit() first calls the handler. The
   * handler is put back before each callback, for a callback that calls
   * exit() again; once the pass is over, glibc calls it once more, and a
   * fresh snapshot then would take in whatever other threads registered
   * meanwhile, and again after that, for as long as they register. */
  if (!handler_ran)
    exit_stamp_limit = threadref_sentinel_stamp_now ();
  handler_armed = FALSE;
  handler_ran = TRUE;
  run_pass (TRUE, exit_stamp_limit);
}

void
threadref_exit_run_pass (void)
{
  run_pass (FALSE, threadref_sentinel_stamp_now ());
}

void
threadref_exit_init (const ThreadRefExitThreadHooks *hooks)
{
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      thread_hooks = hooks;
      if (atexit (exit_handler) != 0)
        g_warning ("threadref: could not install its atexit handler; "
                   "nothing will run at process exit");
      else
        handler_armed = TRUE;
      g_once_init_leave (&initialized, 1);
    }
}

gboolean
threadref_exit_in_pass (void)
{
  return pass_depth > 0;
}

gboolean
threadref_exit_note_pass_attach (void)
{
  if (pass_attaches >= MAX_PASS_ATTACHES)
    return FALSE;
  if (++pass_attaches == MAX_PASS_ATTACHES)
    g_warning ("threadref: callbacks run at process exit kept registering with "
               "other threads; after %d registrations the exit pass runs no "
               "more of them", MAX_PASS_ATTACHES);
  return TRUE;
}

gboolean
threadref_exit_note_new_lifetime (void)
{
  if (!handler_ran)
    return FALSE;

  /* exit() is running on this thread. glibc runs handlers installed while
   * it runs handlers; once it has finished with them it refuses new ones,
   * and then nothing could end this lifetime later. */
  arm_handler ();
  return !handler_armed;
}
