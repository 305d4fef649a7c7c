/* lb-lobby.c — lobby state and its JSON view. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-lobby.h"
#include "lb-config.h"
#include "lb-desktop.h"
#include "lb-encode.h"
#include "lb-error.h"
#include "lb-log.h"
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
  /* Audio (spec->audio): one Opus encode on the producer's raw audio,
   * opened with the lobby, shared by every session. A failure of the sound
   * server, the source or the encode only costs the lobby its sound. */
  LbEncode *audio_encode;
  gboolean audio_failed;
  char *audio_error;
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
  g_clear_pointer (&self->audio_encode, lb_encode_free); /* encodes go before their producer */
  g_clear_pointer (&self->producer, lb_producer_free);
}

/* The sound server died or the audio source failed: reported like a media
 * error of the branch "audio-source", which the registry turns into the
 * lobby's audio failure (lb_lobby_set_audio_failed), never a lobby failure. */
static void
on_audio_failed (const char *message, gpointer user_data)
{
  LbLobby *self = user_data;
  g_autoptr (GError) error = g_error_new_literal (LB_ERROR, LB_ERROR_MEDIA, message);
  if (self->on_error != NULL)
    self->on_error ("audio-source", error, self->on_error_data);
  else
    lb_lobby_set_audio_failed (self, message);
}

/* The lobby's one audio encode; without a source or an encode the lobby
 * runs without sound and says why. */
static void
start_audio (LbLobby *self, const LbConfig *config)
{
  g_autoptr (GError) error = NULL;
  LbTrack *raw = lb_producer_get_track (self->producer, LB_MEDIA_AUDIO);

  if (raw == NULL)
    {
      const char *why = self->desktop ? lb_desktop_get_audio_error (self->desktop) : NULL;
      if (why == NULL)
        why = lb_producer_get_audio_error (self->producer);
      lb_lobby_set_audio_failed (self, why ? why : "no audio source");
      return;
    }
  g_autofree char *name = g_strdup_printf ("audio-encode-%s", self->id);
  self->audio_encode = lb_encode_new_audio (raw, name, config->audio_bitrate_kbps, &error);
  if (self->audio_encode == NULL)
    {
      g_autofree char *message = g_strdup_printf ("audio encode: %s", error->message);
      /* Not a warning: the lobby runs on, and its view says why. */
      lb_log_lobby (G_LOG_LEVEL_MESSAGE, self->id, "lobby %s: no sound: %s", self->id, message);
      lb_lobby_set_audio_failed (self, message);
    }
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
      self->desktop = lb_desktop_start (
          self->spec->width, self->spec->height, app_argv, config->apps_user,
          config->apps_allow_root, self->spec->audio, config->audio_server_binary,
          config->audio_start_timeout_ms, on_desktop_exit, on_audio_failed, self, &local_error);
      if (self->desktop == NULL)
        {
          lb_lobby_set_failed (self, local_error->message);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  self->producer = lb_producer_new (
      self->id, self->spec, self->desktop ? lb_desktop_get_display (self->desktop) : NULL,
      self->desktop ? lb_desktop_get_sound_server (self->desktop) : NULL, on_error, on_audio_failed,
      self, &local_error);
  if (self->producer == NULL)
    {
      lb_lobby_set_failed (self, local_error->message);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  self->state = LB_LOBBY_RUNNING;
  if (self->spec->audio)
    start_audio (self, config);
  return TRUE;
}

gboolean
lb_lobby_set_audio_failed (LbLobby *self, const char *message)
{
  if (self->audio_failed || !self->spec->audio)
    return FALSE;
  self->audio_failed = TRUE;
  self->audio_error = g_strdup (message);
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
  lb_encode_free (self->audio_encode);
  lb_producer_free (self->producer);
  g_ptr_array_unref (self->sessions);
  lb_lobby_spec_free (self->spec);
  g_free (self->error);
  g_free (self->audio_error);
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
  /* "audio" (the spec) is already there; the rest says what became of it. */
  json_object_set_string_member (obj, "audio_state", lb_lobby_get_audio_state (self));
  if (self->audio_error != NULL)
    json_object_set_string_member (obj, "audio_error", self->audio_error);
  if (self->spec->audio)
    json_object_set_string_member (obj, "audio_source",
                                   self->spec->source_type == LB_SOURCE_X11_APP ? "pulse" : "tone");
  GPid pulse = self->desktop ? lb_desktop_get_sound_server_pid (self->desktop) : 0;
  if (pulse != 0 && lb_desktop_get_sound_server (self->desktop) != NULL)
    {
      JsonObject *server = json_object_new ();
      json_object_set_string_member (server, "address",
                                     lb_desktop_get_sound_server (self->desktop));
      json_object_set_int_member (server, "pid", pulse);
      json_object_set_object_member (obj, "audio_server", server);
    }
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

const char *
lb_lobby_get_audio_state (const LbLobby *self)
{
  if (!self->spec->audio)
    return "off";
  return self->audio_failed || self->state != LB_LOBBY_RUNNING ? "failed" : "running";
}

LbTrack *
lb_lobby_get_audio_track (LbLobby *self)
{
  if (self->audio_encode == NULL || self->audio_failed || self->state != LB_LOBBY_RUNNING)
    return NULL;
  return lb_encode_get_track (self->audio_encode);
}
