/* threadref-object-node.c: what ThreadRefRef and ThreadRefFinalize share
 * (see threadref-object-node-private.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "threadref-object-node-private.h"
#include "threadref-thread-private.h"

void
threadref_object_node_init (ThreadRefObjectNode *self)
{
  threadref_node_init_unattached (&self->node);
}

void
threadref_object_node_setup (ThreadRefObjectNode *self,
                             gpointer             callback,
                             gpointer             user_data,
                             GDestroyNotify       destroy_notify)
{
  self->callback = callback;
  self->user_data = user_data;
  self->destroy_notify = destroy_notify;

  /* threadref will call these, maybe long after a module that contains
   * them asked to be unloaded. */
  threadref_thread_pin_code (callback);
  threadref_thread_pin_code (destroy_notify);
}

gboolean
threadref_object_node_attach (ThreadRefObjectNode *self,
                              GObject             *object,
                              ThreadRefSentinel   *watched,
                              ThreadRefNodeKind    kind,
                              GDestroyNotify       fire,
                              guint                flags)
{
  if (watched != NULL)
    return threadref_thread_attach_to (watched, &self->node, kind, fire, object, flags);
  return threadref_thread_attach (&self->node, kind, fire, object, flags);
}

gboolean
threadref_object_node_is_attached (ThreadRefObjectNode *self)
{
  return self->node.sentinel != NULL;
}

void
threadref_object_node_destroy_notify (ThreadRefObjectNode *self)
{
  GDestroyNotify destroy_notify = self->destroy_notify;
  gpointer user_data = self->user_data;

  self->callback = NULL;
  self->user_data = NULL;
  self->destroy_notify = NULL;

  if (destroy_notify != NULL)
    destroy_notify (user_data);
}

void
threadref_object_node_impl_class_init (GObjectClass *klass)
{
  GObjectClass *object_class = g_type_class_peek_static (G_TYPE_OBJECT);

  klass->constructor = object_class->constructor;
  klass->constructed = object_class->constructed;
}
