/* lb-session.c — a session's media (one encode + one RTP output for now). */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-session.h"
#include "lb-encode.h"
#include "lb-lobby.h"
#include "lb-output-rtp.h"
#include "lb-error.h"
#include "lb-spec.h"

struct _LbSession
{
  char *id;
  LbLobby *lobby; /* borrowed: a lobby outlives its sessions */
  LbSessionSpec *spec;
  gint64 created_at;
  char *error;
  char *encode_name; /* "encode-<id>", the media branch names */
  char *output_name; /* "session-<id>" */
  LbEncode *encode;
  LbOutputRtp *output;
};

LbSession *
lb_session_new (const char *id, LbLobby *lobby, LbSessionSpec *spec, gint64 created_at)
{
  LbSession *self = g_new0 (LbSession, 1);
  self->id = g_strdup (id);
  self->lobby = lobby;
  self->spec = spec;
  self->created_at = created_at;
  self->encode_name = g_strdup_printf ("encode-%s", id);
  self->output_name = g_strdup_printf ("session-%s", id);
  return self;
}

static void
stop_media (LbSession *self)
{
  /* Outputs before their encode: an output is a branch of the encode's tee. */
  g_clear_pointer (&self->output, lb_output_rtp_free);
  g_clear_pointer (&self->encode, lb_encode_free);
}

gboolean
lb_session_start (LbSession *self, const char *x264_speed_preset, guint keyframe_interval_ms,
                  GError **error)
{
  LbProducer *producer = lb_lobby_get_producer (self->lobby);
  LbEncoderSettings settings = { x264_speed_preset, keyframe_interval_ms };
  g_autoptr (GError) local_error = NULL;

  if (producer == NULL)
    {
      g_set_error (&local_error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s is not running: %s",
                   lb_lobby_get_id (self->lobby), lb_lobby_get_error (self->lobby));
      goto fail;
    }
  self->encode
      = lb_encode_new (producer, self->encode_name, &self->spec->profile, &settings, &local_error);
  if (self->encode == NULL)
    goto fail;
  self->output = lb_output_rtp_new (self->encode, self->output_name, self->spec->host,
                                    self->spec->port, &local_error);
  if (self->output == NULL)
    goto fail;
  g_clear_pointer (&self->error, g_free);
  return TRUE;

fail:
  lb_session_set_failed (self, local_error->message);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

void
lb_session_set_failed (LbSession *self, const char *message)
{
  stop_media (self);
  g_free (self->error);
  self->error = g_strdup (message);
}

gboolean
lb_session_owns_branch (const LbSession *self, const char *branch)
{
  return g_strcmp0 (branch, self->encode_name) == 0 || g_strcmp0 (branch, self->output_name) == 0;
}

void
lb_session_free (LbSession *self)
{
  if (self == NULL)
    return;
  stop_media (self);
  lb_session_spec_free (self->spec);
  g_free (self->encode_name);
  g_free (self->output_name);
  g_free (self->error);
  g_free (self->id);
  g_free (self);
}

const char *
lb_session_get_id (const LbSession *self)
{
  return self->id;
}

LbLobby *
lb_session_get_lobby (const LbSession *self)
{
  return self->lobby;
}

const LbSessionSpec *
lb_session_get_spec (const LbSession *self)
{
  return self->spec;
}

gboolean
lb_session_is_running (const LbSession *self)
{
  return self->output != NULL;
}

char *
lb_session_get_sdp (const LbSession *self)
{
  return self->output != NULL ? lb_output_rtp_get_sdp (self->output) : NULL;
}

JsonNode *
lb_session_to_json (const LbSession *self)
{
  JsonNode *node = lb_session_spec_to_json (self->spec);
  JsonObject *obj = json_node_get_object (node);
  g_autoptr (GDateTime) created = g_date_time_new_from_unix_utc (self->created_at);
  g_autofree char *created_text = g_date_time_format_iso8601 (created);

  json_object_set_string_member (obj, "id", self->id);
  json_object_set_string_member (obj, "lobby_id", lb_lobby_get_id (self->lobby));
  json_object_set_string_member (obj, "state", self->output != NULL ? "running" : "failed");
  if (self->error != NULL)
    json_object_set_string_member (obj, "error", self->error);
  json_object_set_string_member (obj, "created_at", created_text);
  /* Software-only until encoder pools exist: x264 is the one encoder. */
  json_object_set_string_member (obj, "encoder", "x264");
  json_object_set_boolean_member (obj, "hardware", FALSE);
  if (self->output != NULL)
    {
      JsonObject *stats = json_object_new ();
      json_object_set_int_member (stats, "packets_sent",
                                  (gint64)lb_output_rtp_get_packets (self->output));
      json_object_set_int_member (stats, "bytes_sent",
                                  (gint64)lb_output_rtp_get_bytes (self->output));
      json_object_set_int_member (stats, "ssrc", lb_output_rtp_get_ssrc (self->output));
      json_object_set_object_member (obj, "stats", stats);
    }
  return node;
}
