/* threadref-object-node-private.h: what ThreadRefRef and ThreadRefFinalize
 * share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Both public types are a GObject around a node and a callback with its
 * user data and destroy notify, kept in the type's private data.
 *
 * Construction in the open: the constructors make an instance of a private
 * final subtype with g_object_new() and then, explicitly, set the callback
 * up and attach the node (threadref_object_node_setup() and _attach()). The
 * subtype has no constructed() of its own, so GObject takes its fast path.
 * An instance of the public type itself can only come from g_object_new()
 * alone — what a language binding's bare `new` does — and the public type's
 * constructed() decides what that makes: a ref with no callback, which
 * works; a finalizer without a function, which is a critical. No argument
 * travels through a thread-local or a property.
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
} ThreadRefObjectNode;

/* From instance init: not attached yet. */
void      threadref_object_node_init          (ThreadRefObjectNode *self);
/* Sets the callback up; pins the modules of its code. */
void      threadref_object_node_setup         (ThreadRefObjectNode *self,
                                               gpointer             callback,
                                               gpointer             user_data,
                                               GDestroyNotify       destroy_notify);
/* Attaches the node to watched (another thread's lifetime) or, if NULL, to
 * the calling thread's, with fire(object) as its function. FALSE if it
 * could not be attached (that lifetime has ended). */
gboolean  threadref_object_node_attach        (ThreadRefObjectNode *self,
                                               GObject             *object,
                                               ThreadRefSentinel   *watched,
                                               ThreadRefNodeKind    kind,
                                               GDestroyNotify       fire,
                                               guint                flags);
gboolean  threadref_object_node_is_attached   (ThreadRefObjectNode *self);

/* Runs the destroy notify, once, and forgets the callback. */
void      threadref_object_node_destroy_notify (ThreadRefObjectNode *self);

/* For the private subtypes' class_init: back to GObject's own constructed(),
 * which lets GObject skip its bookkeeping for a custom one. */
void      threadref_object_node_impl_class_init (GObjectClass       *klass);

/* The lifetime the node belongs to, or NULL if it never attached. */
static inline ThreadRefSentinel *
threadref_object_node_get_lifetime (ThreadRefObjectNode *self)
{
  return self->node.sentinel;
}

G_END_DECLS
