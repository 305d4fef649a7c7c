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
  char *encode_prefix; /* "encode-<id>": every encode of this session starts so */
  char *output_name;   /* "session-<id>" */
  guint encode_serial; /* encodes get "encode-<id>-<n>": old and new coexist in a switch */
  LbEncode *encode;
  LbOutputRtp *output;
  /* Where the encode runs (set by the registry from its admission decision). */
  int pool;
  char *pool_name;
  char *encoder;
  gboolean hardware;
  gboolean fallback;
};

LbSession *
lb_session_new (const char *id, LbLobby *lobby, LbSessionSpec *spec, gint64 created_at)
{
  LbSession *self = g_new0 (LbSession, 1);
  self->id = g_strdup (id);
  self->lobby = lobby;
  self->spec = spec;
  self->created_at = created_at;
  self->encode_prefix = g_strdup_printf ("encode-%s", id);
  self->pool = -1;
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

static LbEncode *
open_encode (LbSession *self, const LbEncoderSettings *settings, GError **error)
{
  LbProducer *producer = lb_lobby_get_producer (self->lobby);
  if (producer == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s is not running: %s",
                   lb_lobby_get_id (self->lobby), lb_lobby_get_error (self->lobby));
      return NULL;
    }
  g_autofree char *name = g_strdup_printf ("%s-%u", self->encode_prefix, ++self->encode_serial);
  return lb_encode_new (producer, name, &self->spec->profile, settings, error);
}

gboolean
lb_session_start (LbSession *self, const LbEncoderSettings *settings, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  self->encode = open_encode (self, settings, &local_error);
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

gboolean
lb_session_switch_encode (LbSession *self, const LbEncoderSettings *settings, GError **error)
{
  g_return_val_if_fail (self->output != NULL, FALSE);
  LbEncode *next = open_encode (self, settings, error);
  if (next == NULL)
    return FALSE; /* the current encode keeps running */
  if (!lb_output_rtp_move (self->output, next, error))
    {
      lb_encode_free (next);
      return FALSE;
    }
  lb_encode_free (self->encode);
  self->encode = next;
  return TRUE;
}

void
lb_session_set_pool (LbSession *self, int pool, const char *pool_name, const char *encoder,
                     gboolean hardware, gboolean fallback)
{
  self->pool = pool;
  g_free (self->pool_name);
  self->pool_name = g_strdup (pool_name);
  g_free (self->encoder);
  self->encoder = g_strdup (encoder);
  self->hardware = hardware;
  self->fallback = fallback;
}

int
lb_session_get_pool (const LbSession *self)
{
  return self->pool;
}

gboolean
lb_session_is_fallback (const LbSession *self)
{
  return self->fallback;
}

guint64
lb_session_get_pixel_rate (const LbSession *self)
{
  const LbProfile *p = &self->spec->profile;
  return (guint64)p->width * p->height * p->fps;
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
  return lb_session_owns_encode_branch (self, branch) || g_strcmp0 (branch, self->output_name) == 0;
}

gboolean
lb_session_owns_encode_branch (const LbSession *self, const char *branch)
{
  return branch != NULL && g_str_has_prefix (branch, self->encode_prefix);
}

void
lb_session_free (LbSession *self)
{
  if (self == NULL)
    return;
  stop_media (self);
  lb_session_spec_free (self->spec);
  g_free (self->encode_prefix);
  g_free (self->pool_name);
  g_free (self->encoder);
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
  JsonObject *enc = json_object_new ();
  if (self->pool_name != NULL)
    {
      json_object_set_string_member (enc, "pool", self->pool_name);
      json_object_set_string_member (enc, "element", self->encoder);
    }
  json_object_set_boolean_member (enc, "hardware", self->hardware);
  json_object_set_boolean_member (enc, "fallback", self->fallback);
  json_object_set_object_member (obj, "encoding", enc);
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
