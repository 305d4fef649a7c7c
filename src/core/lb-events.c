/* lb-events.c — event ring and listeners. */
#define G_LOG_DOMAIN "lobbyd-events"
#include "lb-events.h"
#include "lb-json.h"

typedef struct
{
  guint64 id;
  char *type;
  char *data;
} Event;

typedef struct
{
  guint handle;
  LbEventListener func;
  gpointer user_data;
} Listener;

struct _LbEvents
{
  GQueue ring; /* Event, oldest first */
  guint capacity;
  guint64 next_id;
  guint64 dropped_up_to; /* highest id no longer in the ring */
  GArray *listeners;     /* Listener */
  guint next_handle;
};

JsonObject *
lb_event_fields (const char *first, ...)
{
  JsonObject *obj = json_object_new ();
  va_list args;
  va_start (args, first);
  for (const char *key = first; key != NULL; key = va_arg (args, const char *))
    {
      const char *value = va_arg (args, const char *);
      if (value != NULL)
        json_object_set_string_member (obj, key, value);
    }
  va_end (args);
  return obj;
}

LbEvents *
lb_events_new (guint capacity)
{
  LbEvents *self = g_new0 (LbEvents, 1);
  g_queue_init (&self->ring);
  self->capacity = capacity;
  self->next_id = (guint64)g_get_real_time ();
  self->dropped_up_to = self->next_id - 1;
  self->listeners = g_array_new (FALSE, FALSE, sizeof (Listener));
  return self;
}

static void
event_free (gpointer data)
{
  Event *e = data;
  g_free (e->type);
  g_free (e->data);
  g_free (e);
}

void
lb_events_free (LbEvents *self)
{
  if (self == NULL)
    return;
  g_queue_clear_full (&self->ring, event_free);
  g_array_unref (self->listeners);
  g_free (self);
}

guint64
lb_events_emit (LbEvents *self, const char *type, JsonObject *fields)
{
  if (self == NULL)
    {
      if (fields != NULL)
        json_object_unref (fields);
      return 0;
    }
  Event *e = g_new0 (Event, 1);
  JsonObject *obj = fields != NULL ? fields : json_object_new ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format_iso8601 (now);

  e->id = self->next_id++;
  e->type = g_strdup (type);
  json_object_set_string_member (obj, "type", type);
  json_object_set_string_member (obj, "time", time);
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, obj);
  e->data = lb_json_to_string (node);
  json_node_unref (node);

  g_queue_push_tail (&self->ring, e);
  while (g_queue_get_length (&self->ring) > self->capacity)
    {
      Event *old = g_queue_pop_head (&self->ring);
      self->dropped_up_to = old->id;
      event_free (old);
    }
  g_debug ("event %" G_GUINT64_FORMAT " %s %s", e->id, type, e->data);
  /* Listeners may remove themselves while called: iterate over a copy. */
  g_autoptr (GArray) copy = g_array_copy (self->listeners);
  for (guint i = 0; i < copy->len; i++)
    {
      Listener *l = &g_array_index (copy, Listener, i);
      l->func (e->id, e->type, e->data, l->user_data);
    }
  return e->id;
}

gboolean
lb_events_replay (LbEvents *self, guint64 after, LbEventListener func, gpointer user_data)
{
  for (GList *l = self->ring.head; l != NULL; l = l->next)
    {
      Event *e = l->data;
      if (e->id > after)
        func (e->id, e->type, e->data, user_data);
    }
  return after >= self->dropped_up_to;
}

guint
lb_events_add_listener (LbEvents *self, LbEventListener func, gpointer user_data)
{
  Listener l = { ++self->next_handle, func, user_data };
  g_array_append_val (self->listeners, l);
  return l.handle;
}

void
lb_events_remove_listener (LbEvents *self, guint handle)
{
  for (guint i = 0; i < self->listeners->len; i++)
    if (g_array_index (self->listeners, Listener, i).handle == handle)
      {
        g_array_remove_index (self->listeners, i);
        return;
      }
}
