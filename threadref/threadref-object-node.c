/* threadref-object-node.c: what ThreadRefRef and ThreadRefFinalize share (see
 * threadref-object-node-private.h)
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
threadref_object_node_install_init (GObjectClass *klass,
                                    guint         prop_id)
{
  /* Not introspected (the types' doc comments mark it skip): language
   * bindings construct through the constructors. */
  g_object_class_install_property (klass, prop_id,
    g_param_spec_pointer ("init", NULL, NULL,
                          G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS));
}

void
threadref_object_node_set_init (ThreadRefObjectNode *self,
                                const GValue        *value)
{
  const ThreadRefObjectNodeInit *init = g_value_get_pointer (value);

  if (init == NULL)
    return;
  self->callback = init->callback;
  self->user_data = init->user_data;
  self->destroy_notify = init->destroy_notify;
  self->watched = init->watched;
}

gpointer
threadref_object_node_new (GType                          type,
                           const ThreadRefObjectNodeInit *init)
{
  return g_object_new (type, "init", init, NULL);
}

gboolean
threadref_object_node_attach (ThreadRefObjectNode *self,
                              GObject             *object,
                              ThreadRefNodeKind    kind,
                              GDestroyNotify       fire,
                              guint                flags)
{
  ThreadRefSentinel *watched = g_steal_pointer (&self->watched);

  /* threadref will call these, maybe long after a module that contains
   * them asked to be unloaded. */
  threadref_thread_pin_code (self->callback);
  threadref_thread_pin_code (self->destroy_notify);

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
