/* threadref-object-node-private.h: what ThreadRefRef and ThreadRefFinalize share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both public types are a GObject around a node and a callback with its
 * user data and destroy notify. Their constructors hand the callback (and,
 * for a watch, the lifetime of another thread) to constructed() through a
 * private construct-only property, "init", which constructed() reads to
 * attach the node: the object is complete before anything can run it, and
 * what g_object_new() alone makes is decided in the open (a ref with no
 * callback works; a finalizer with no function is a critical).
 */

#pragma once

#include <glib-object.h>

#include "threadref-sentinel-private.h"

G_BEGIN_DECLS

typedef struct {
  ThreadRefNode      node;
  gpointer           callback;        /* ThreadRefRefFunc or ThreadRefFinalizeFunc */
  gpointer           user_data;
  GDestroyNotify     destroy_notify;
  ThreadRefSentinel *watched;         /* from "init": another thread's lifetime */
} ThreadRefObjectNode;

/* The value of the "init" property. */
typedef struct {
  gpointer           callback;
  gpointer           user_data;
  GDestroyNotify     destroy_notify;
  ThreadRefSentinel *watched;         /* NULL: the calling thread's lifetime */
} ThreadRefObjectNodeInit;

/* From instance init: not attached yet. */
void      threadref_object_node_init          (ThreadRefObjectNode        *self);
/* Installs "init" as property prop_id of klass. */
void      threadref_object_node_install_init  (GObjectClass               *klass,
                                               guint                       prop_id);
/* From set_property: keeps what init says until attach(). */
void      threadref_object_node_set_init      (ThreadRefObjectNode        *self,
                                               const GValue               *value);
/* Makes an object of type with init, through the "init" property. */
gpointer  threadref_object_node_new           (GType                       type,
                                               const ThreadRefObjectNodeInit *init);

/* From constructed: pins the callbacks' modules and attaches the node to
 * the watched lifetime or the calling thread's, with fire(object) as its
 * function. FALSE if it could not be attached (that lifetime has ended). */
gboolean  threadref_object_node_attach        (ThreadRefObjectNode        *self,
                                               GObject                    *object,
                                               ThreadRefNodeKind           kind,
                                               GDestroyNotify              fire,
                                               guint                       flags);
gboolean  threadref_object_node_is_attached   (ThreadRefObjectNode        *self);

/* Runs the destroy notify, once, and forgets the callback. Also usable as
 * a cleanup function (__attribute__ ((cleanup))). */
void      threadref_object_node_destroy_notify (ThreadRefObjectNode       *self);

/* The lifetime the node belongs to, or NULL if it never attached. */
static inline ThreadRefSentinel *
threadref_object_node_get_lifetime (ThreadRefObjectNode *self)
{
  return self->node.sentinel;
}

G_END_DECLS
