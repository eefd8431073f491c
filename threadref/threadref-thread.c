/* threadref-thread.c: the calling thread's lifetimes, and how its end ends
 * them (see threadref-thread-private.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A thread's lifetime ends, whichever comes first:
 *
 *  - in a thread-local destructor registered the way C++ thread_local
 *    objects register theirs (__cxa_thread_atexit_impl). glibc runs these
 *    when the thread ends (return, g_thread_exit(), pthread_exit(),
 *    cancellation), before any pthread-key destructor, and at the very
 *    start of exit() for the exiting thread, before any atexit() handler;
 *  - in the destructor of a pthread key (a GPrivate), for a thread whose
 *    end the first hook does not cover: one whose first registration came
 *    from another library's key destructor, a main thread that ends with
 *    pthread_exit(), or a C library without the first hook;
 *  - in the process-exit pass (threadref-exit.c);
 *  - on purpose, with threadref_end_lifetime().
 *
 * An end may be left half-way: a callback may exit the thread, throw, or
 * call exit(). Nothing of the lifetime is lost then: each end in progress
 * is an EndFrame on the thread's stack, and a frame left by unwinding
 * (the library is built with -fexceptions so that its cleanup runs) puts
 * its lifetime on the thread's list of interrupted ends, which the next
 * end — the thread's own, at the latest — resumes. A callback that calls
 * exit() never comes back: the exit pass drains the lifetimes whose frames
 * it finds on the stack. An interrupted end of a nested lifetime remembers
 * what it is nested in, and is resumed before that one ends (innermost
 * first); a nested lifetime that a callback opened and left open during an
 * end is ended as soon as that callback returns. No end recurses into a
 * lifetime already being
 * ended up the stack: a callback that ends its own lifetime returns at once
 * and the loop below it goes on, so the stack depth does not grow with the
 * number of registrations.
 *
 * Late destructor rounds: glibc calls key destructors in up to four rounds
 * and drops, without a word, what is set in the last one. A registration
 * made from another library's key destructor after threadref's ran starts
 * a new lifetime, ended by threadref's key destructor in the next round —
 * unless there is no next round. Knowing the round: the thread-local
 * destructor runs before round 1 and arms the key, and the key's
 * destructor re-arms itself up to the round before the last, so its calls
 * count glibc's rounds exactly until then.
 * Where the first hook did not run (first use inside a key destructor, a
 * main thread's pthread_exit()), the round is unknown and a late
 * registration's lifetime ends right after it. docs/design.md says why no
 * hook can know the round of a thread's very first registration, and
 * threadref-sentinel.c warns at exit about a lifetime lost that way.
 */

#include "config.h"

#include "threadref-exit-private.h"
#include "threadref-fork-private.h"
#include "threadref-thread-private.h"
#include "threadref-unload-private.h"

#ifndef PTHREAD_DESTRUCTOR_ITERATIONS
# define PTHREAD_DESTRUCTOR_ITERATIONS 4
#endif

/* The last round the key re-arms itself into: one short of glibc's last.
 * Code of other libraries finishes its own per-thread state in the last
 * round (AddressSanitizer and ThreadSanitizer do, after which no
 * instrumented code may run on the thread), so threadref never asks to be
 * called in it. A registration made after threadref's destructor ran in
 * this round may be in this round or the last: it ends at once. */
#define LAST_ARMED_ROUND (PTHREAD_DESTRUCTOR_ITERATIONS - 1)

typedef struct _EndFrame EndFrame;
typedef struct _NestedFrame NestedFrame;

/* Where an end belongs, for the order of ends left half-way: innermost
 * first. */
typedef struct {
  gboolean           nested;         /* the end of a nested lifetime */
  ThreadRefSentinel *nested_in;      /* ...which is nested in this one (NULL: the thread's
                                      * base, before any lifetime) */
  gboolean           end_all_after;  /* a callback asked to end the whole lifetime after it */
} EndPlace;

/* An end in progress on this thread, on its stack. */
struct _EndFrame
{
  ThreadRefSentinel *lifetime;
  EndPlace           place;
  NestedFrame      **nested_top;     /* &the thread's state's nested and interrupted: read */
  GSList           **interrupted;    /* after each callback without a thread-local lookup */
  EndFrame          *outer;
  gboolean           completed;      /* FALSE if left by unwinding */
};

/* An end left by unwinding, for a later end to resume: the end of the
 * lifetime it is nested in resumes it first. */
typedef struct {
  ThreadRefSentinel *lifetime;
  EndPlace           place;
} Interrupted;

/* An open nested lifetime. */
struct _NestedFrame
{
  ThreadRefSentinel *nested;
  ThreadRefSentinel *outer;   /* current when it began (NULL: none had started yet) */
  ThreadRefSentinel *parent;  /* what it is nested in: outer, or the lifetime being
                               * ended if a callback of that end began it */
  EndFrame          *frames;  /* the ends in progress when it began */
  NestedFrame       *next;    /* the one it is nested in */
};

/* What this thread is doing with lifetimes. Plain TLS rather than a
 * GPrivate: glibc clears pthread-key slots as it destroys them, while this
 * must last through the whole of the thread's teardown. */
typedef struct {
  ThreadRefSentinel    *current;           /* innermost ALIVE lifetime of this thread, or NULL */
  NestedFrame          *nested;            /* open nested lifetimes, innermost first */
  EndFrame             *frames;            /* ends in progress, innermost first */
  GSList               *interrupted;       /* Interrupted: ENDING lifetimes whose end was left, newest first */
  guint                 key_rounds;        /* calls of the key's destructor */
  gboolean              key_armed;         /* the key's slot is set */
  gboolean              tls_dtor_armed;    /* the thread-local destructor is registered */
  gboolean              tls_dtor_ran;      /* ...and has run: the thread is ending or exiting */
  gboolean              rounds_exact;      /* key_rounds is glibc's round */
  ThreadRefUnloadCache  unload_cache;
} ThreadState;

static const EndPlace WHOLE_END = { FALSE, NULL, FALSE };

/* The dynamic TLS model (a call to __tls_get_addr, a few nanoseconds), not
 * initial-exec: a library with static TLS can be dlopen()ed only while
 * glibc's small reserve lasts, and every GObject-Introspection consumer
 * dlopen()s this one. */
static __thread ThreadState thread_state;

static void thread_key_destroyed (gpointer data);

static GPrivate thread_key = G_PRIVATE_INIT (thread_key_destroyed);

#ifdef HAVE_CXA_THREAD_ATEXIT_IMPL
extern int __cxa_thread_atexit_impl (void (*func) (void *), void *obj, void *dso_symbol);
extern void *__dso_handle;
#endif

static void
key_arm (void)
{
  if (!thread_state.key_armed)
    {
      /* The value only makes glibc call the destructor; the state is here. */
      g_private_set (&thread_key, &thread_state);
      thread_state.key_armed = TRUE;
    }
}

static gboolean
frame_exists (ThreadRefSentinel *lifetime,
              EndFrame          *from)
{
  for (EndFrame *frame = from; frame != NULL; frame = frame->outer)
    if (frame->lifetime == lifetime)
      return TRUE;
  return FALSE;
}

static Interrupted *
interrupted_find (ThreadState       *ts,
                  ThreadRefSentinel *lifetime)
{
  for (GSList *l = ts->interrupted; l != NULL; l = l->next)
    if (((Interrupted *) l->data)->lifetime == lifetime)
      return l->data;
  return NULL;
}

static void
interrupted_remove (ThreadState *ts,
                    Interrupted *in,
                    Interrupted *out)
{
  *out = *in;
  ts->interrupted = g_slist_remove (ts->interrupted, in);
  g_free (in);
}

/* Takes the newest interrupted end of a lifetime nested in parent (NULL:
 * in the thread's base), or with any, the newest of all. */
static gboolean
interrupted_take (ThreadState        *ts,
                  ThreadRefSentinel  *parent,
                  gboolean            any,
                  Interrupted        *out)
{
  for (GSList *l = ts->interrupted; l != NULL; l = l->next)
    {
      Interrupted *in = l->data;

      if (any || (in->place.nested && in->place.nested_in == parent))
        {
          interrupted_remove (ts, in, out);
          return TRUE;
        }
    }
  return FALSE;
}

static void
end_frame_leave (EndFrame *frame)
{
  ThreadState *ts = &thread_state;

  ts->frames = frame->outer;
  /* Left by unwinding: a later end resumes it, where it belongs, and with
   * what its callbacks asked for. */
  if (!frame->completed && interrupted_find (ts, frame->lifetime) == NULL)
    {
      Interrupted *in = g_new (Interrupted, 1);

      in->lifetime = frame->lifetime;
      in->place = frame->place;
      ts->interrupted = g_slist_prepend (ts->interrupted, in);
    }
}

/* Closes the innermost nested lifetime (current must be it): returns where
 * its end belongs, and makes current what was current when it began. */
static EndPlace
nested_pop (ThreadState *ts)
{
  NestedFrame *frame = ts->nested;
  EndPlace place = { TRUE, frame->parent, FALSE };

  g_assert (frame->nested == ts->current);
  ts->current = frame->outer;
  ts->nested = frame->next;
  g_free (frame);

  return place;
}

static gboolean lifetime_run_end (ThreadRefSentinel *lifetime,
                                  EndPlace           place,
                                  gboolean           finish);

/* A callback of the frame's lifetime opened a nested lifetime and returned
 * with it open. */
static gboolean
nested_left_open (EndFrame *frame)
{
  NestedFrame *top = *frame->nested_top;

  return top != NULL && top->frames == frame;
}

/* ...or ended one that it had opened, and that end was left half-way (the
 * callback caught what a callback of it threw). */
static gboolean
nested_left_behind (gpointer data)
{
  EndFrame *frame = data;

  if (nested_left_open (frame))
    return TRUE;
  for (GSList *l = *frame->interrupted; l != NULL; l = l->next)
    {
      Interrupted *in = l->data;

      if (in->place.nested && in->place.nested_in == frame->lifetime)
        return TRUE;
    }
  return FALSE;
}

static gboolean resume_nested_in (ThreadState *ts, ThreadRefSentinel *parent);

/* Ends, innermost first, what callbacks of the frame's lifetime left of
 * nested lifetimes: those they opened and left open, and the rest of
 * those whose end was left half-way. They are nested in that end, so they
 * end before the rest of it runs. */
static void
close_left_behind (ThreadState *ts,
                   EndFrame    *frame)
{
  while (nested_left_open (frame))
    {
      ThreadRefSentinel *open = ts->current;

      if (lifetime_run_end (open, nested_pop (ts), TRUE))
        frame->place.end_all_after = TRUE;
    }
  if (resume_nested_in (ts, frame->lifetime))
    frame->place.end_all_after = TRUE;
}

/* Resumes the ends of lifetimes nested in parent (NULL: in the thread's
 * base) that were left by unwinding, newest first. Returns whether one of
 * them asked for the whole lifetime to end. */
static gboolean
resume_nested_in (ThreadState       *ts,
                  ThreadRefSentinel *parent)
{
  Interrupted in;
  gboolean end_all_after = FALSE;

  while (interrupted_take (ts, parent, FALSE, &in))
    if (!frame_exists (in.lifetime, ts->frames))
      end_all_after |= lifetime_run_end (in.lifetime, in.place, TRUE);
  return end_all_after;
}

/* Resumes what earlier jobs nested in parent left half-way: on the
 * thread's base (no nested lifetime open), also those that began before
 * the base lifetime did. */
static gboolean
resume_siblings (ThreadState       *ts,
                 ThreadRefSentinel *parent)
{
  gboolean end_all_after = resume_nested_in (ts, parent);

  if (parent != NULL && ts->nested == NULL && ts->frames == NULL)
    end_all_after |= resume_nested_in (ts, NULL);
  return end_all_after;
}

/* Runs lifetime's nodes in a new frame. finish: and make it ENDED, unless
 * a frame up the stack (exit() called from one of its callbacks) is still
 * in it. place: where the end belongs (and what an earlier, interrupted
 * run of it was asked). Returns whether a callback asked, while this end
 * ran, for the whole lifetime to end after it. */
static gboolean
lifetime_run_end (ThreadRefSentinel *lifetime,
                  EndPlace           place,
                  gboolean           finish)
{
  ThreadState *ts = &thread_state;
  EndFrame frame __attribute__ ((cleanup (end_frame_leave))) = { lifetime, place, &ts->nested,
                                                                   &ts->interrupted, ts->frames,
                                                                   FALSE };
  gboolean finishing = finish && !frame_exists (lifetime, frame.outer);

  ts->frames = &frame;
  threadref_sentinel_begin_end (lifetime);
  /* Innermost first: what was left half-way of the lifetimes nested in
   * this one (and, for a lifetime of the base, of those nested in the base
   * before it started) ends before this one's own nodes. */
  if (finishing)
    {
      if (resume_nested_in (ts, lifetime))
        frame.place.end_all_after = TRUE;
      if (!place.nested && resume_nested_in (ts, NULL))
        frame.place.end_all_after = TRUE;
    }
  while (!threadref_sentinel_drain_until (lifetime, nested_left_behind, &frame))
    close_left_behind (ts, &frame);
  if (finishing)
    while (!threadref_sentinel_finish_end (lifetime))
      {
        /* The process is exiting and its pass claimed some of this
         * lifetime's nodes: this thread runs them, before its end is over. */
        threadref_exit_take_back (lifetime);
        threadref_sentinel_drain (lifetime);
      }
  frame.completed = TRUE;
  return frame.place.end_all_after;
}

/* Ends the current lifetime and resumes interrupted ends, newest first.
 * take_over_frames: also drain the lifetimes being ended up the stack,
 * whose frames will never resume (exit() was called from a callback). */
static void
end_all (gboolean take_over_frames)
{
  ThreadState *ts = &thread_state;

  if (take_over_frames)
    for (EndFrame *frame = ts->frames; frame != NULL; frame = frame->outer)
      lifetime_run_end (frame->lifetime, frame->place, FALSE);
  else if (ts->frames != NULL)
    {
      /* A callback of an end in progress: that end goes on when the
       * callback returns, and the rest is ended after it (innermost first,
       * newest first), by the caller of that end. */
      ts->frames->place.end_all_after = TRUE;
      return;
    }

  for (;;)
    {
      ThreadRefSentinel *lifetime = ts->current;
      EndPlace place;
      Interrupted in;

      /* Innermost first: the current lifetime (an open nested lifetime)
       * with what was left half-way of those nested in it (its end resumes
       * them first), then what it is nested in, out to the thread's own;
       * then any other half-done end, newest first. */
      if (lifetime != NULL)
        place = ts->nested != NULL ? nested_pop (ts) : (ts->current = NULL, WHOLE_END);
      else if (interrupted_take (ts, NULL, TRUE, &in))
        {
          lifetime = in.lifetime;
          place = in.place;
        }
      else
        break;

      if (!frame_exists (lifetime, ts->frames))
        lifetime_run_end (lifetime, place, TRUE);
    }
}

/* For threadref-exit.c. */
static gboolean
exit_has_work (void)
{
  ThreadState *ts = &thread_state;

  if (ts->current != NULL || ts->interrupted != NULL)
    return TRUE;
  /* Frames of ends that exit() was called from never resume; only their
   * nodes are work. */
  for (EndFrame *frame = ts->frames; frame != NULL; frame = frame->outer)
    if (threadref_sentinel_has_nodes (frame->lifetime))
      return TRUE;
  return FALSE;
}

static void
exit_end_lifetimes (void)
{
  end_all (TRUE);
}

static const ThreadRefExitThreadHooks exit_hooks = {
  exit_has_work,
  exit_end_lifetimes,
};

#ifdef HAVE_CXA_THREAD_ATEXIT_IMPL
/* The thread is ending, or calling exit(): before any pthread-key
 * destructor or atexit() handler. */
static void
thread_tls_destroyed (void *unused)
{
  ThreadState *ts = &thread_state;

  ts->tls_dtor_armed = FALSE;
  ts->tls_dtor_ran = TRUE;

  /* Put back before any callback runs: one that calls exit() makes glibc
   * run the thread-local destructors again at the start of exit(), before
   * any atexit() handler, and the rest of this end then runs there, while
   * libraries that clean up from atexit() are still up. Once this end is
   * over, glibc calls it once more; there is nothing left then, and it
   * does not put itself back. */
  if (exit_has_work () &&
      __cxa_thread_atexit_impl (thread_tls_destroyed, NULL, &__dso_handle) == 0)
    ts->tls_dtor_armed = TRUE;

  /* From here on the key's destructor is called from glibc's first round,
   * and counts the rounds: a lifetime that starts in this end (a callback
   * opens a nested one) ends there at the latest. */
  ts->rounds_exact = TRUE;
  key_arm ();

  end_all (TRUE);
}
#endif

static void
thread_key_destroyed (gpointer data)
{
  ThreadState *ts = &thread_state;

  ts->key_armed = FALSE;
  ts->key_rounds++;
  end_all (FALSE);

  if (ts->rounds_exact && ts->key_rounds < LAST_ARMED_ROUND)
    key_arm ();
}

static void
process_hooks_init (void)
{
  threadref_exit_init (&exit_hooks);
  threadref_fork_init ();
}

/* Starts a lifetime for a registration outside any end in progress. Sets
 * *end_now if nothing would end it later: it must end right after the
 * registration. */
static ThreadRefSentinel *
lifetime_start (gboolean *end_now)
{
  ThreadState *ts = &thread_state;
  gboolean in_teardown = ts->tls_dtor_ran || ts->key_rounds > 0;
  ThreadRefSentinel *lifetime;

  process_hooks_init ();

  /* Inside the thread's own teardown GLib's GThread is gone already (its
   * key is older) and g_thread_self() would make one that leaks. */
  lifetime = threadref_sentinel_new (!in_teardown);

  if (in_teardown)
    {
      /* Does a later destructor round come? Only a known round before
       * LAST_ARMED_ROUND says so. */
      if (!ts->rounds_exact || ts->key_rounds >= LAST_ARMED_ROUND)
        *end_now = TRUE;
    }
#ifdef HAVE_CXA_THREAD_ATEXIT_IMPL
  else if (!ts->tls_dtor_armed)
    {
      /* Inside the key destructors of a thread that never used threadref
       * before, this is never called: the key's destructor then finds that
       * out (rounds_exact stays FALSE). */
      if (__cxa_thread_atexit_impl (thread_tls_destroyed, NULL, &__dso_handle) == 0)
        ts->tls_dtor_armed = TRUE;
    }
#endif

  if (threadref_exit_note_new_lifetime ())
    *end_now = TRUE;

  key_arm ();
  ts->current = lifetime;
  return lifetime;
}

/* The lifetime a registration of the calling thread goes to, if there is
 * one yet: inside a callback of a lifetime being ended, that one, so that
 * it runs before that end is over (unless the callback opened a nested
 * lifetime since); else the current one. */
static inline ThreadRefSentinel *
registration_lifetime (ThreadState *ts)
{
  if (ts->frames != NULL && (ts->nested == NULL || ts->nested->frames != ts->frames))
    return ts->frames->lifetime;
  return ts->current;
}

ThreadRefSentinel *
threadref_thread_peek_lifetime (void)
{
  return registration_lifetime (&thread_state);
}

/* The calling thread's registrations go to the lifetime being ended on
 * this thread if a callback of it is running, else to the current one,
 * started if there is none. */
static ThreadRefNode *
thread_attach (ThreadRefNode     *node,
               ThreadRefNodeKind  kind,
               GDestroyNotify     func,
               gpointer           data,
               guint              flags,
               ThreadRefNodeJoin  join,
               gpointer           key)
{
  ThreadState *ts = &thread_state;
  ThreadRefSentinel *lifetime;
  gboolean end_now = FALSE;
  ThreadRefNode *result;

  if (kind & THREADREF_NODE_PLAIN)
    threadref_unload_pin (&ts->unload_cache, func);

  lifetime = registration_lifetime (ts);
  if (G_UNLIKELY (lifetime == NULL))
    lifetime = lifetime_start (&end_now);

  /* The plain path on the thread's current lifetime, which is ALIVE: its
   * owner's list, without the lock. */
  if ((kind & THREADREF_NODE_PLAIN) && lifetime == ts->current && join == NULL)
    {
      threadref_sentinel_attach_own (lifetime, node, kind, func, data, flags);
      result = node;
    }
  else
    result = threadref_sentinel_attach_or_join (lifetime, node, kind, func, data, flags, join, key);

  if (G_UNLIKELY (end_now))
    {
      ts->current = NULL;
      if (lifetime_run_end (lifetime, WHOLE_END, TRUE))
        end_all (FALSE);
    }

  return result;
}

gboolean
threadref_thread_attach (ThreadRefNode     *node,
                         ThreadRefNodeKind  kind,
                         GDestroyNotify     func,
                         gpointer           data,
                         guint              flags)
{
  return thread_attach (node, kind, func, data, flags, NULL, NULL) != NULL;
}

void
threadref_thread_attach_plain (ThreadRefNode     *node,
                               ThreadRefNodeKind  kind,
                               GDestroyNotify     func,
                               gpointer           data,
                               guint              flags)
{
  ThreadState *ts = &thread_state;

  /* The everyday case, in one call: the thread's current lifetime, outside
   * any end in progress. */
  if (G_LIKELY (ts->current != NULL && ts->frames == NULL))
    {
      threadref_unload_pin (&ts->unload_cache, func);
      threadref_sentinel_attach_own (ts->current, node, kind, func, data, flags);
      return;
    }

  thread_attach (node, kind, func, data, flags, NULL, NULL);
}

ThreadRefNode *
threadref_thread_attach_or_join (ThreadRefNode     *node,
                                 ThreadRefNodeKind  kind,
                                 GDestroyNotify     func,
                                 gpointer           data,
                                 guint              flags,
                                 ThreadRefNodeJoin  join,
                                 gpointer           key)
{
  return thread_attach (node, kind, func, data, flags, join, key);
}

static guint
pass_flags (ThreadRefSentinel *lifetime,
            guint              flags)
{
  /* The exit pass runs what its own callbacks attach to other threads. */
  if (threadref_exit_in_pass () && !threadref_sentinel_is_own (lifetime) &&
      threadref_exit_note_pass_attach ())
    flags |= THREADREF_NODE_EXIT_PASS;
  return flags;
}

gboolean
threadref_thread_attach_to (ThreadRefSentinel *lifetime,
                            ThreadRefNode     *node,
                            ThreadRefNodeKind  kind,
                            GDestroyNotify     func,
                            gpointer           data,
                            guint              flags)
{
  g_assert (!(kind & THREADREF_NODE_PLAIN));

  return threadref_sentinel_attach (lifetime, node, kind, func, data, pass_flags (lifetime, flags));
}

ThreadRefNode *
threadref_thread_attach_to_or_join (ThreadRefSentinel *lifetime,
                                    ThreadRefNode     *node,
                                    ThreadRefNodeKind  kind,
                                    GDestroyNotify     func,
                                    gpointer           data,
                                    guint              flags,
                                    ThreadRefNodeJoin  join,
                                    gpointer           key)
{
  g_assert (!(kind & THREADREF_NODE_PLAIN));

  return threadref_sentinel_attach_or_join (lifetime, node, kind, func, data,
                                            pass_flags (lifetime, flags), join, key);
}

ThreadRefSentinel *
threadref_thread_begin_nested (void)
{
  ThreadState *ts = &thread_state;
  NestedFrame *frame;
  gboolean end_now = FALSE;
  ThreadRefSentinel *outer;
  ThreadRefSentinel *nested;

  /* What earlier jobs left half-way (their ends threw, and each job caught
   * it) ends before the next job starts: a pooled worker whose every job
   * throws keeps none of them. */
  if (G_UNLIKELY (ts->interrupted != NULL) &&
      resume_siblings (ts, registration_lifetime (ts)))
    end_all (FALSE);

  frame = g_new (NestedFrame, 1);
  outer = ts->current;

  /* Inside a callback of an end in progress, the new one is nested in the
   * lifetime being ended: what its own callbacks register goes there. */
  frame->parent = registration_lifetime (ts);
  /* lifetime_start() makes the new one current. */
  ts->current = NULL;
  nested = lifetime_start (&end_now);
  frame->nested = nested;
  frame->outer = outer;
  frame->frames = ts->frames;
  frame->next = ts->nested;
  ts->nested = frame;

  if (G_UNLIKELY (end_now))
    {
      /* Nothing would end it later (the thread's teardown is past its last
       * round, or exit() is done): closed at once, as a registration then
       * would be. */
      lifetime_run_end (nested, nested_pop (ts), TRUE);
    }

  return nested;
}

ThreadRefNestedEnd
threadref_thread_end_nested (ThreadRefSentinel *nested)
{
  ThreadState *ts = &thread_state;
  Interrupted *found;

  /* The end of a lifetime nested in this one is in progress (a callback
   * of it asks): this one is not the innermost. */
  for (EndFrame *frame = ts->frames; frame != NULL; frame = frame->outer)
    if (frame->place.nested && frame->place.nested_in == nested)
      return THREADREF_NESTED_NOT_INNERMOST;

  if (ts->nested != NULL && ts->nested->nested == nested)
    {
      EndPlace place = nested_pop (ts);
      gboolean end_all_after = lifetime_run_end (nested, place, TRUE);

      /* Ends of nested lifetimes beside it that were left half-way (a C++
       * exception the job caught): the next end of one resumes them, so
       * that a pooled worker does not keep them for its whole life. */
      end_all_after |= resume_siblings (ts, place.nested_in);
      if (end_all_after)
        end_all (FALSE);
      return THREADREF_NESTED_ENDED;
    }

  /* Its end was left half-way and the job ends it again: resume it. */
  found = interrupted_find (ts, nested);
  if (found != NULL && !frame_exists (nested, ts->frames))
    {
      Interrupted in;

      interrupted_remove (ts, found, &in);
      if (lifetime_run_end (nested, in.place, TRUE))
        end_all (FALSE);
      return THREADREF_NESTED_ENDED;
    }

  for (NestedFrame *frame = ts->nested; frame != NULL; frame = frame->next)
    if (frame->nested == nested)
      return THREADREF_NESTED_NOT_INNERMOST;

  if (!threadref_sentinel_is_own (nested))
    return THREADREF_NESTED_OTHER_THREAD;
  /* Ended already, with the thread's whole lifetime or by its teardown. */
  if (threadref_sentinel_is_ended (nested) || !threadref_sentinel_is_alive (nested))
    return THREADREF_NESTED_GONE;
  return THREADREF_NESTED_NOT_NESTED;
}

void
threadref_thread_pin_code (gconstpointer code)
{
  threadref_unload_pin (&thread_state.unload_cache, code);
}

void
threadref_thread_end_lifetimes (void)
{
  end_all (FALSE);
}

void
threadref_thread_run_exit_pass (void)
{
  process_hooks_init ();
  threadref_exit_run_pass ();
}
