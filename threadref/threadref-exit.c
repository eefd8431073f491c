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
#include <string.h>

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
/* Claimed, not yet run: oldest first, so that the newest is popped from the
 * end, and what a callback makes (newer than all) is pushed there. Entries
 * taken back by their thread are NULL. Under the registry lock, since the
 * threads whose nodes they are may take them back (and the fork handlers
 * take that lock); grown only outside it. */
static ThreadRefNode **pass_pending;
static guint pass_pending_len;
static guint pass_pending_size;
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

static gint
compare_oldest_first (gconstpointer a,
                      gconstpointer b)
{
  guint64 sa = (*(ThreadRefNode * const *) a)->stamp;
  guint64 sb = (*(ThreadRefNode * const *) b)->stamp;

  return sa < sb ? -1 : sa > sb;
}

/* Claims what the pass may run now and puts it after what is pending: it is
 * all newer. */
static void
take_more (guint64 stamp_limit)
{
  /* Counted first, to allocate outside every lock: the set can only
   * shrink until the claim (only this thread's callbacks add to it). */
  guint n = threadref_sentinel_count_for_exit (stamp_limit);
  ThreadRefNode **claimed;

  if (n == 0)
    return;
  claimed = g_new (ThreadRefNode *, n);
  n = threadref_sentinel_claim_for_exit (stamp_limit, claimed, n);
  if (n == 0)
    {
      /* Their threads took them back in between (they were ending). */
      g_free (claimed);
      return;
    }
  qsort (claimed, n, sizeof *claimed, compare_oldest_first);

  threadref_registry_lock ();
  if (pass_pending_len + n > pass_pending_size)
    {
      /* Grown outside the lock: take it again after. */
      guint size = MAX (pass_pending_size * 2, pass_pending_len + n);
      ThreadRefNode **bigger;

      ThreadRefNode **smaller;

      threadref_registry_unlock ();
      bigger = g_new (ThreadRefNode *, size);
      threadref_registry_lock ();
      /* Only this thread adds; others only clear entries. */
      if (pass_pending_len > 0)
        memcpy (bigger, pass_pending, pass_pending_len * sizeof *bigger);
      smaller = pass_pending;
      pass_pending = bigger;
      pass_pending_size = size;
      memcpy (pass_pending + pass_pending_len, claimed, n * sizeof *claimed);
      pass_pending_len += n;
      threadref_registry_unlock ();
      g_free (smaller);
    }
  else
    {
      memcpy (pass_pending + pass_pending_len, claimed, n * sizeof *claimed);
      pass_pending_len += n;
      threadref_registry_unlock ();
    }

  g_free (claimed);
}

static ThreadRefNode *
pop_pending (void)
{
  ThreadRefNode *node = NULL;

  threadref_registry_lock ();
  while (node == NULL && pass_pending_len > 0)
    node = pass_pending[--pass_pending_len];
  threadref_registry_unlock ();

  return node;
}

void
threadref_exit_take_back (ThreadRefSentinel *lifetime)
{
  ThreadRefNode mine = { 0 };
  ThreadRefNode *mine_tail = &mine;
  guint n = 0;

  /* Newest first. Nodes of its owner's list are not taken back here: they
   * are still linked there, and its end loop takes them back itself. */
  threadref_registry_lock ();
  for (guint i = pass_pending_len; i-- > 0;)
    {
      ThreadRefNode *node = pass_pending[i];

      if (node != NULL && node->sentinel == lifetime &&
          !(__atomic_load_n (&node->kind, __ATOMIC_RELAXED) & THREADREF_NODE_OWN))
        {
          pass_pending[i] = NULL;
          node->older = NULL;
          mine_tail->older = node;
          mine_tail = node;
          n++;
        }
    }
  threadref_registry_unlock ();

  threadref_sentinel_give_back_held (lifetime, mine.older, n);
}

/* stamp_limit: what may run, by creation; a nested pass keeps the outer
 * one's. announced: this exit()'s pass was logged already. */
static void
run_pass (gboolean rearm,
          guint64  stamp_limit,
          gboolean announced)
{
  guint seen_attaches;
  gboolean debug = threadref_debug_enabled ();
  guint n_ran = 0;
  char name[32];

  /* One pass per exit() in the log: glibc's last call of the re-armed
   * handler, after the pass, says something only if it runs something. */
  announced = announced || pass_depth > 0;
  if (G_UNLIKELY (debug))
    {
      threadref_thread_name (name, sizeof name);
      if (!announced)
        g_debug ("process exit on thread “%s”: the pass starts", name);
    }
  if (pass_depth++ == 0)
    pass_stamp_limit = stamp_limit;

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

      if (node == NULL)
        break;
      if (rearm)
        arm_handler ();
      n_ran++;
      threadref_sentinel_run_for_exit (node);

      /* What that callback registered on this thread is newest. */
      thread_hooks->end_lifetimes ();
      if (pass_attaches != seen_attaches)
        {
          seen_attaches = pass_attaches;
          take_more (pass_stamp_limit);
        }
    }

  if (G_UNLIKELY (debug) && !announced)
    g_debug ("process exit on thread “%s”: the pass ran %u finalizers and plain "
             "registrations of other threads", name, n_ran);
  else if (G_UNLIKELY (debug) && n_ran > 0)
    g_debug ("process exit on thread “%s”: the pass went on (a callback called exit()) "
             "and ran %u more", name, n_ran);
  pass_depth--;
}

void
threadref_exit_fork_child (void)
{
  /* Every pending node is another thread's, which is not in the child. */
  for (guint i = 0; i < pass_pending_len; i++)
    if (pass_pending[i] != NULL)
      threadref_sentinel_pass_drop_locked (pass_pending[i]);
  pass_pending_len = 0;
}

static void
exit_handler (void)
{
  /* The snapshot is taken once, when exit() first calls the handler. The
   * handler is put back before each callback, for a callback that calls
   * exit() again; once the pass is over, glibc calls it once more, and a
   * fresh snapshot then would take in whatever other threads registered
   * meanwhile, and again after that, for as long as they register. */
  gboolean first = !handler_ran;

  if (first)
    exit_stamp_limit = threadref_sentinel_exit_snapshot ();
  handler_armed = FALSE;
  handler_ran = TRUE;
  run_pass (TRUE, exit_stamp_limit, !first);
}

void
threadref_exit_run_pass (void)
{
  run_pass (FALSE, threadref_sentinel_exit_snapshot (), FALSE);
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
