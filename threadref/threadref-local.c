/* threadref-local.c: lifetime-local storage
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A face, like the plain path: each value is a binding, a node attached to
 * the lifetime that was current when it was set, whose function pops it
 * and runs the slot's destroy notify when that lifetime ends. A thread
 * keeps, per slot index, its visible binding in a table of its own; a
 * binding remembers the one it hides (of the lifetime it is nested in),
 * which is visible again once it is popped. Lifetimes end innermost first,
 * so a binding that ends is the visible one of its slot, but for an end
 * left half-way and resumed later (values set meanwhile sit on top of it):
 * then it is taken out from below.
 *
 * Nothing here takes a lock: only the thread itself sets, gets and pops
 * its bindings (they never run at process exit for another thread).
 */

#include "config.h"

#include <string.h>

#include "threadref-local.h"
#include "threadref-thread-private.h"

typedef struct _LocalBinding LocalBinding;

struct _LocalBinding
{
  ThreadRefNode   node;
  ThreadRefLocal *local;
  gpointer        value;
  LocalBinding   *hidden;   /* the binding of an enclosing lifetime */
};

/* The calling thread's visible bindings, by slot index (index 0 is never
 * given out: an unused slot reads NULL without a test). Dynamic TLS, as
 * all of the library's (see threadref-thread.c). */
typedef struct {
  LocalBinding **visible;
  guint          size;
} LocalTable;

static __thread LocalTable local_table;

static guint next_index = 1;

static void local_table_free (gpointer data);

/* Frees the table when the thread is gone: by then its lifetimes have ended
 * and every binding was popped. A value set later still (from another
 * library's key destructor) makes a new table, whose key is set again. */
static GPrivate local_table_key = G_PRIVATE_INIT (local_table_free);

static void
local_table_free (gpointer data)
{
  LocalTable *table = data;

  g_clear_pointer (&table->visible, g_free);
  table->size = 0;
}

static guint
local_index (ThreadRefLocal *local)
{
  guint index = g_atomic_int_get (&local->index);

  if (G_UNLIKELY (index == 0))
    {
      guint fresh = (guint) g_atomic_int_add ((gint *) &next_index, 1);

      /* Two threads may race for it: the first wins, the other index is
       * never used. */
      if (!g_atomic_int_compare_and_exchange ((gint *) &local->index, 0, (gint) fresh))
        fresh = g_atomic_int_get (&local->index);
      index = fresh;
    }

  return index;
}

static LocalBinding **
visible_slot (guint index)
{
  LocalTable *table = &local_table;

  if (G_UNLIKELY (index >= table->size))
    {
      guint size = MAX (16, table->size);

      while (size <= index)
        size *= 2;
      if (table->visible == NULL)
        g_private_set (&local_table_key, table);
      table->visible = g_renew (LocalBinding *, table->visible, size);
      memset (table->visible + table->size, 0, (size - table->size) * sizeof (LocalBinding *));
      table->size = size;
    }

  return &table->visible[index];
}

/* The binding's lifetime ends, on its thread. */
static void
binding_end (gpointer data)
{
  LocalBinding *binding = data;
  gpointer value = g_steal_pointer (&binding->value);
  guint index = __atomic_load_n (&binding->local->index, __ATOMIC_RELAXED);
  GDestroyNotify notify = binding->local->notify;

  /* Taken out first: the destroy notify sees what is visible after it.
   * Usually it is the visible one; after an end left half-way (a callback
   * exited the thread or threw) and resumed later, values set meanwhile in
   * the lifetime it is nested in may hide it. */
  if (index < local_table.size)
    for (LocalBinding **link = &local_table.visible[index]; *link != NULL; link = &(*link)->hidden)
      if (*link == binding)
        {
          *link = binding->hidden;
          break;
        }
  g_free (binding);

  if (value != NULL && notify != NULL)
    notify (value);
}

/* The binding in *slot that belongs to the lifetime current now, if any,
 * made the visible one. It is the visible one but after an end left
 * half-way (a callback exited the thread or threw), whose values stay on
 * top until its end is resumed: a value the current lifetime sets then is
 * what the thread sees. */
static inline LocalBinding *
current_binding (LocalBinding **slot)
{
  ThreadRefSentinel *lifetime;

  if (*slot == NULL)
    return NULL;
  lifetime = threadref_thread_peek_lifetime ();
  if (lifetime == NULL)
    return NULL;
  if ((*slot)->node.sentinel == lifetime)
    return *slot;
  for (LocalBinding **link = &(*slot)->hidden; *link != NULL; link = &(*link)->hidden)
    if ((*link)->node.sentinel == lifetime)
      {
        LocalBinding *binding = *link;

        *link = binding->hidden;
        binding->hidden = *slot;
        *slot = binding;
        return binding;
      }
  return NULL;
}

static void
bind (ThreadRefLocal  *local,
      LocalBinding   **slot,
      gpointer         value)
{
  LocalBinding *binding = g_new0 (LocalBinding, 1);

  binding->local = local;
  binding->value = value;
  binding->hidden = *slot;
  *slot = binding;

  /* binding_end() reads the slot and calls its notify, maybe after the
   * module that holds either asked to be unloaded: pin both (the slot is
   * data, but the pin is by address all the same). */
  threadref_thread_pin_code (local);
  if (local->notify != NULL)
    threadref_thread_pin_code (local->notify);
  threadref_node_init_unattached (&binding->node);
  /* Never at process exit for another thread: the value is its thread's.
   * Attaching may end the lifetime at once (late in the thread's
   * teardown), which pops the binding again. */
  if (!threadref_thread_attach (&binding->node, 0, binding_end, binding, 0))
    {
      /* The lifetime takes no more (its callbacks kept registering while it
       * ended): nothing would free the value later, so it goes now. */
      binding->node.sentinel = NULL;
      binding_end (binding);
    }
}

/**
 * threadref_local_get: (skip)
 * @local: a static slot
 *
 * Gets the calling thread's value of @local: the one set in the current
 * lifetime, or in one it is nested in.
 *
 * Costs about what `g_private_get()` does (the benchmark compares them):
 * no lock, no atomic operation.
 *
 * ```c
 * static ThreadRefLocal connection = THREADREF_LOCAL_INIT ((GDestroyNotify) connection_close);
 *
 * Connection *conn = threadref_local_get (&connection);
 * if (conn == NULL)   // none yet in this lifetime
 *   {
 *     conn = connection_open ();
 *     threadref_local_set (&connection, conn);
 *   }
 * ```
 *
 * Returns: (transfer none) (nullable): the value, or %NULL if none was set
 *   in this lifetime (or it was set to %NULL)
 *
 * Since: 1.0
 */
gpointer
threadref_local_get (ThreadRefLocal *local)
{
  guint index;

  g_return_val_if_fail (local != NULL, NULL);

  index = __atomic_load_n (&local->index, __ATOMIC_RELAXED);

  if (G_LIKELY (index < local_table.size))
    {
      LocalBinding *binding = local_table.visible[index];

      return binding != NULL ? binding->value : NULL;
    }

  return NULL;
}

/**
 * threadref_local_set: (skip)
 * @local: a static slot
 * @value: (nullable): the new value
 *
 * Sets the calling thread's value of @local for the current lifetime. As
 * with `g_private_set()`, a value that this lifetime had set before is not
 * freed: use `threadref_local_replace()` for that. The first value set
 * in a lifetime takes its place among the thread's registrations, newest
 * of all: its destroy notify runs when the lifetime ends, in that order,
 * whatever values replace it meanwhile.
 *
 * Inside a nested lifetime, the value hides the one of the lifetime it is
 * nested in until the nested one ends; %NULL hides it too.
 *
 * ```c
 * static ThreadRefLocal connection = THREADREF_LOCAL_INIT ((GDestroyNotify) connection_close);
 *
 * if (threadref_local_get (&connection) == NULL)
 *   threadref_local_set (&connection, connection_open ());   // closed when the lifetime ends
 * ```
 *
 * Since: 1.0
 */
void
threadref_local_set (ThreadRefLocal *local,
                     gpointer        value)
{
  LocalBinding **slot;
  LocalBinding *binding;

  g_return_if_fail (local != NULL);

  slot = visible_slot (local_index (local));
  binding = current_binding (slot);

  if (binding != NULL)
    binding->value = value;
  else if (value != NULL || *slot != NULL)
    bind (local, slot, value);
}

/**
 * threadref_local_replace: (skip)
 * @local: a static slot
 * @value: (nullable): the new value
 *
 * Like `threadref_local_set()`, but frees the value that the current
 * lifetime had set, with the slot's destroy notify, as
 * `g_private_replace()` does. A value of a lifetime this one is nested in
 * is not freed: it is hidden, and visible again when this one ends.
 *
 * ```c
 * static ThreadRefLocal scratch = THREADREF_LOCAL_INIT (g_free);
 *
 * threadref_local_replace (&scratch, g_malloc (4096));   // frees the previous buffer
 * ```
 *
 * Since: 1.0
 */
void
threadref_local_replace (ThreadRefLocal *local,
                         gpointer        value)
{
  LocalBinding **slot;
  LocalBinding *binding;
  gpointer old;

  g_return_if_fail (local != NULL);

  slot = visible_slot (local_index (local));
  binding = current_binding (slot);

  if (binding == NULL)
    {
      if (value != NULL || *slot != NULL)
        bind (local, slot, value);
      return;
    }

  old = binding->value;
  binding->value = value;
  if (old != NULL && old != value && local->notify != NULL)
    local->notify (old);
}
