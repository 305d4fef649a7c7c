/* lb-lobby.c — lobby state and its JSON view. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-lobby.h"
#include "lb-config.h"
#include "lb-desktop.h"
#include "lb-error.h"
#include "lb-producer.h"
#include "lb-spec.h"

struct _LbLobby
{
  char *id;
  LbLobbySpec *spec;
  gint64 created_at; /* unix seconds */
  LbLobbyState state;
  char *error;
  LbProducer *producer;
  GPtrArray *sessions; /* LbSession, not owned: the registry owns sessions */
  gpointer owner;      /* the registry */
  LbDesktop *desktop;  /* x11-app lobbies */
  LbMediaErrorFunc on_error;
  gpointer on_error_data;
};

LbLobby *
lb_lobby_new (const char *id, const LbLobbySpec *spec, gint64 created_at, gpointer owner)
{
  LbLobby *self = g_new0 (LbLobby, 1);
  self->owner = owner;
  self->id = g_strdup (id);
  self->spec = lb_lobby_spec_copy (spec);
  self->created_at = created_at;
  self->sessions = g_ptr_array_new ();
  return self;
}

/* The app or the X server went away: the lobby fails instead of streaming a
 * frozen frame forever. */
static void
on_desktop_exit (const char *message, gpointer user_data)
{
  LbLobby *self = user_data;
  g_autoptr (GError) error = g_error_new (LB_ERROR, LB_ERROR_MEDIA, "desktop %s: %s",
                                          lb_desktop_get_display (self->desktop), message);
  if (self->on_error != NULL)
    self->on_error (NULL, error, self->on_error_data);
  g_clear_pointer (&self->producer, lb_producer_free);
}

gboolean
lb_lobby_start (LbLobby *self, const char *const *app_argv, const LbConfig *config,
                LbMediaErrorFunc on_error, gpointer user_data, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  self->on_error = on_error;
  self->on_error_data = user_data;
  if (self->spec->source_type == LB_SOURCE_X11_APP)
    {
      self->desktop
          = lb_desktop_start (self->spec->width, self->spec->height, app_argv, config->apps_user,
                              config->apps_allow_root, on_desktop_exit, self, &local_error);
      if (self->desktop == NULL)
        {
          lb_lobby_set_failed (self, local_error->message);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  self->producer = lb_producer_new (self->id, self->spec,
                                    self->desktop ? lb_desktop_get_display (self->desktop) : NULL,
                                    on_error, user_data, &local_error);
  if (self->producer == NULL)
    {
      lb_lobby_set_failed (self, local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  self->state = LB_LOBBY_RUNNING;
  return TRUE;
}

void
lb_lobby_set_failed (LbLobby *self, const char *message)
{
  self->state = LB_LOBBY_FAILED;
  g_free (self->error);
  self->error = g_strdup (message);
}

void
lb_lobby_free (LbLobby *self)
{
  if (self == NULL)
    return;
  g_warn_if_fail (self->sessions->len == 0);
  /* The desktop first: its X server dies at once, so a capture blocked on a
   * stopped server returns and the producer can stop. */
  lb_desktop_stop (self->desktop);
  lb_producer_free (self->producer);
  g_ptr_array_unref (self->sessions);
  lb_lobby_spec_free (self->spec);
  g_free (self->error);
  g_free (self->id);
  g_free (self);
}

const char *
lb_lobby_get_id (const LbLobby *self)
{
  return self->id;
}

const LbLobbySpec *
lb_lobby_get_spec (const LbLobby *self)
{
  return self->spec;
}

LbLobbyState
lb_lobby_get_state (const LbLobby *self)
{
  return self->state;
}

const char *
lb_lobby_get_error (const LbLobby *self)
{
  return self->error;
}

GPtrArray *
lb_lobby_get_sessions (const LbLobby *self)
{
  return self->sessions;
}

LbProducer *
lb_lobby_get_producer (const LbLobby *self)
{
  return self->producer;
}

JsonNode *
lb_lobby_to_json (const LbLobby *self)
{
  JsonNode *node = lb_lobby_spec_to_json (self->spec);
  JsonObject *obj = json_node_get_object (node);
  g_autoptr (GDateTime) created = g_date_time_new_from_unix_utc (self->created_at);

  json_object_set_string_member (obj, "id", self->id);
  json_object_set_string_member (obj, "state",
                                 self->state == LB_LOBBY_RUNNING ? "running" : "failed");
  if (self->error != NULL)
    json_object_set_string_member (obj, "error", self->error);
  g_autofree char *created_text = g_date_time_format_iso8601 (created);
  json_object_set_string_member (obj, "created_at", created_text);
  json_object_set_int_member (obj, "sessions", self->sessions->len);
  if (self->desktop != NULL)
    json_object_set_string_member (obj, "display", lb_desktop_get_display (self->desktop));
  return node;
}

gpointer
lb_lobby_get_owner (const LbLobby *self)
{
  return self->owner;
}

void
lb_lobby_input (LbLobby *self, const LbInputEvent *event)
{
  if (self->desktop != NULL)
    lb_desktop_input (self->desktop, event);
}

LbTrack *
lb_lobby_get_audio_track (LbLobby *self)
{
  return NULL;
}
