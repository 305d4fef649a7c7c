/* lb-session.c — a session: its spec, its RTP output and the encode it watches. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-session.h"
#include "lb-encode.h"
#include "lb-lobby.h"
#include "lb-output-rtp.h"
#include "lb-output-webrtc.h"
#include "lb-shared-encode.h"
#include "lb-error.h"
#include "lb-spec.h"

struct _LbSession
{
  char *id;
  LbLobby *lobby; /* borrowed: a lobby outlives its sessions */
  LbSessionSpec *spec;
  gint64 created_at;
  char *error;
  char *output_name;      /* "session-<id>", the output's media branch */
  LbSharedEncode *encode; /* borrowed: the registry closes it after its last viewer */
  LbOutputRtp *output;    /* transport rtp */
  LbOutputWebrtc *webrtc; /* transport webrtc */
  char *answer;           /* webrtc: the SDP answer */
  const LbWebrtcOptions *webrtc_options; /* borrowed from the registry */
  LbSessionEndedFunc on_ended;
  gpointer ended_data;
};

LbSession *
lb_session_new (const char *id, LbLobby *lobby, LbSessionSpec *spec, gint64 created_at)
{
  LbSession *self = g_new0 (LbSession, 1);
  self->id = g_strdup (id);
  self->lobby = lobby;
  self->spec = spec;
  self->created_at = created_at;
  self->output_name = g_strdup_printf ("session-%s", id);
  return self;
}

void
lb_session_set_webrtc (LbSession *self, const LbWebrtcOptions *options, LbSessionEndedFunc on_ended,
                       gpointer user_data)
{
  self->webrtc_options = options;
  self->on_ended = on_ended;
  self->ended_data = user_data;
}

static void
on_input (const char *message, gpointer user_data)
{
  LbSession *self = user_data;
  lb_lobby_input (self->lobby, message);
}

static void
on_webrtc_ended (const char *reason, gpointer user_data)
{
  LbSession *self = user_data;
  self->on_ended (self, reason, self->ended_data);
}

gboolean
lb_session_attach (LbSession *self, LbSharedEncode *encode, GError **error)
{
  g_return_val_if_fail (self->encode == NULL, FALSE);
  if (self->spec->transport == LB_TRANSPORT_WEBRTC)
    {
      static const LbWebrtcOptions no_options = { 0 };
      g_clear_pointer (&self->answer, g_free);
      self->webrtc = lb_output_webrtc_new (
          lb_shared_encode_get_media (encode), self->output_name, self->spec->webrtc_offer,
          self->webrtc_options ? self->webrtc_options : &no_options,
          self->spec->control ? on_input : NULL, self, self->on_ended ? on_webrtc_ended : NULL,
          self, &self->answer, error);
      if (self->webrtc == NULL)
        return FALSE;
    }
  else
    {
      self->output = lb_output_rtp_new (lb_shared_encode_get_media (encode), self->output_name,
                                        self->spec->host, self->spec->port, error);
      if (self->output == NULL)
        return FALSE;
    }
  self->encode = encode;
  g_ptr_array_add (lb_shared_encode_get_sessions (encode), self);
  lb_shared_encode_request_key_frame (encode);
  g_clear_pointer (&self->error, g_free);
  return TRUE;
}

LbSharedEncode *
lb_session_detach (LbSession *self)
{
  LbSharedEncode *encode = self->encode;
  g_clear_pointer (&self->output, lb_output_rtp_free);
  g_clear_pointer (&self->webrtc, lb_output_webrtc_free);
  if (encode != NULL)
    g_ptr_array_remove (lb_shared_encode_get_sessions (encode), self);
  self->encode = NULL;
  return encode;
}

gboolean
lb_session_move_output (LbSession *self, LbEncode *media, GError **error)
{
  if (self->webrtc != NULL)
    return lb_output_webrtc_move (self->webrtc, media, error);
  return lb_output_rtp_move (self->output, media, error);
}

const char *
lb_session_get_answer (const LbSession *self)
{
  return self->answer;
}

LbSharedEncode *
lb_session_get_encode (const LbSession *self)
{
  return self->encode;
}

void
lb_session_set_failed (LbSession *self, const char *message)
{
  g_warn_if_fail (self->encode == NULL);
  g_free (self->error);
  self->error = g_strdup (message);
}

gboolean
lb_session_owns_branch (const LbSession *self, const char *branch)
{
  return g_strcmp0 (branch, self->output_name) == 0;
}

void
lb_session_free (LbSession *self)
{
  if (self == NULL)
    return;
  g_warn_if_fail (self->encode == NULL);
  g_clear_pointer (&self->output, lb_output_rtp_free);
  g_clear_pointer (&self->webrtc, lb_output_webrtc_free);
  g_free (self->answer);
  lb_session_spec_free (self->spec);
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
  return self->output != NULL || self->webrtc != NULL;
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
  json_object_set_string_member (obj, "state", lb_session_is_running (self) ? "running" : "failed");
  if (self->error != NULL)
    json_object_set_string_member (obj, "error", self->error);
  json_object_set_string_member (obj, "created_at", created_text);
  if (self->spec->transport == LB_TRANSPORT_WEBRTC)
    json_object_set_string_member (obj, "role", self->spec->control ? "control" : "watch");
  if (self->encode != NULL)
    json_object_set_object_member (obj, "encoding", lb_shared_encode_to_json (self->encode));
  if (self->webrtc != NULL)
    {
      JsonObject *stats = json_object_new ();
      g_autofree char *state = lb_output_webrtc_get_state (self->webrtc);
      json_object_set_int_member (stats, "packets_sent",
                                  (gint64)lb_output_webrtc_get_packets (self->webrtc));
      json_object_set_string_member (stats, "connection_state", state);
      json_object_set_int_member (stats, "input_dropped",
                                  (gint64)lb_output_webrtc_get_input_dropped (self->webrtc));
      guint offset = 0;
      gint64 zero = 0;
      if (lb_output_webrtc_get_rtp_clock (self->webrtc, &offset, &zero))
        {
          JsonObject *clock = json_object_new ();
          json_object_set_int_member (clock, "timestamp_offset", offset);
          json_object_set_int_member (clock, "running_time_zero_unix_us", zero);
          json_object_set_object_member (stats, "rtp_clock", clock);
        }
      json_object_set_object_member (obj, "stats", stats);
    }
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
