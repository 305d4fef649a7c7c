/* lb-session.c — a session: its spec, its output (whatever the transport)
 * and the encode it watches. */
#define G_LOG_DOMAIN "lobbyd-registry"
#include "lb-session.h"
#include "lb-encode.h"
#include "lb-lobby.h"
#include "lb-output.h"
#include "lb-shared-encode.h"
#include "lb-error.h"
#include "lb-spec.h"

#include <string.h>

struct _LbSession
{
  char *id;
  LbLobby *lobby; /* borrowed: a lobby outlives its sessions */
  LbSessionSpec *spec;
  gint64 created_at;
  char *error;
  char *output_name;                 /* "session-<id>", the output's media branch */
  LbSharedEncode *encode;            /* borrowed: the registry closes it after its last viewer */
  const LbOutputClass *output_class; /* the spec's transport */
  LbOutput *output;                  /* NULL unless running */
  char *answer;                      /* negotiated transports: the SDP answer */
  const LbConfig *config;            /* borrowed from the registry */
  LbSessionEndedFunc on_ended;
  gpointer ended_data;
  LbSessionReadyFunc on_ready;
  gpointer ready_data;
  gboolean negotiating; /* attached, the output's answer not there yet */
};

LbSession *
lb_session_new (const char *id, LbLobby *lobby, LbSessionSpec *spec, gint64 created_at,
                const LbConfig *config)
{
  LbSession *self = g_new0 (LbSession, 1);
  self->id = g_strdup (id);
  self->lobby = lobby;
  self->spec = spec;
  self->created_at = created_at;
  self->config = config;
  self->output_name = g_strdup_printf ("session-%s", id);
  /* Specs come from lb_output_spec_*: registered transports only. */
  self->output_class = lb_output_class_lookup (spec->transport, NULL);
  g_assert (self->output_class != NULL);
  return self;
}

void
lb_session_set_ended_handler (LbSession *self, LbSessionEndedFunc on_ended, gpointer user_data)
{
  self->on_ended = on_ended;
  self->ended_data = user_data;
}

void
lb_session_set_ready_handler (LbSession *self, LbSessionReadyFunc on_ready, gpointer user_data)
{
  self->on_ready = on_ready;
  self->ready_data = user_data;
}

gboolean
lb_session_is_negotiating (const LbSession *self)
{
  return self->negotiating;
}

static void
on_output_ready (LbOutput *output, const GError *error, gpointer user_data)
{
  LbSession *self = user_data;

  g_return_if_fail (output == self->output);
  self->negotiating = FALSE;
  if (error == NULL)
    self->answer = g_strdup (lb_output_get_answer (output));
  if (self->on_ready != NULL)
    self->on_ready (self, error, self->ready_data);
}

static void
on_input (const LbInputEvent *event, gpointer user_data)
{
  LbSession *self = user_data;
  lb_lobby_input (self->lobby, event);
}

static void
on_output_ended (const char *reason, gpointer user_data)
{
  LbSession *self = user_data;
  self->on_ended (self, reason, self->ended_data);
}

gboolean
lb_session_attach (LbSession *self, LbSharedEncode *encode, GError **error)
{
  g_return_val_if_fail (self->encode == NULL, FALSE);
  const LbOutputSetup setup = {
    .name = self->output_name,
    .config = self->config,
    .on_input = on_input,
    .input_data = self,
    .on_ended = self->on_ended ? on_output_ended : NULL,
    .ended_data = self,
    .on_ready = on_output_ready,
    .ready_data = self,
    .audio = lb_lobby_get_audio_track (self->lobby),
  };
  g_clear_pointer (&self->answer, g_free);
  self->output = self->output_class->open (
      lb_encode_get_track (lb_shared_encode_get_media (encode)), self->spec, &setup, error);
  if (self->output == NULL)
    return FALSE;
  /* Kept after the output goes: the WHEP reply reads it. A negotiated
   * output answers later (on_output_ready). */
  self->negotiating = self->output_class->negotiated;
  if (!self->negotiating)
    self->answer = g_strdup (lb_output_get_answer (self->output));
  self->encode = encode;
  lb_shared_encode_add_output (encode, self->output);
  lb_shared_encode_request_key_frame (encode);
  g_clear_pointer (&self->error, g_free);
  return TRUE;
}

LbSharedEncode *
lb_session_detach (LbSession *self)
{
  LbSharedEncode *encode = self->encode;
  if (encode != NULL)
    lb_shared_encode_remove_output (encode, self->output);
  g_clear_pointer (&self->output, lb_output_close);
  self->encode = NULL;
  self->negotiating = FALSE;
  return encode;
}

GPtrArray *
lb_session_list_viewers (LbSharedEncode *encode)
{
  GPtrArray *sessions = lb_lobby_get_sessions (lb_shared_encode_get_lobby (encode));
  GPtrArray *viewers = g_ptr_array_new ();
  for (guint i = 0; i < sessions->len; i++)
    {
      LbSession *session = g_ptr_array_index (sessions, i);
      if (session->encode == encode)
        g_ptr_array_add (viewers, session);
    }
  return viewers;
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

const char *
lb_session_branch_error_reason (const LbSession *self, const GError *error)
{
  return self->output != NULL ? lb_output_branch_error_reason (self->output, error) : NULL;
}

gboolean
lb_session_owns_branch (const LbSession *self, const char *branch)
{
  /* Its audio branch is "<output>-audio" (lb_output_attach_audio). */
  return g_strcmp0 (branch, self->output_name) == 0
         || (branch != NULL && g_str_has_prefix (branch, self->output_name)
             && g_strcmp0 (branch + strlen (self->output_name), "-audio") == 0);
}

void
lb_session_free (LbSession *self)
{
  if (self == NULL)
    return;
  g_warn_if_fail (self->encode == NULL);
  g_clear_pointer (&self->output, lb_output_close);
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

const LbOutputClass *
lb_session_get_output_class (const LbSession *self)
{
  return self->output_class;
}

gboolean
lb_session_is_running (const LbSession *self)
{
  return self->output != NULL;
}

char *
lb_session_get_sdp (const LbSession *self)
{
  return self->output != NULL ? lb_output_get_sdp (self->output) : NULL;
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
  if (self->output_class->carries_input)
    json_object_set_string_member (obj, "role", self->spec->control ? "control" : "watch");
  if (self->encode != NULL)
    json_object_set_object_member (obj, "encoding", lb_shared_encode_to_json (self->encode));
  if (self->output != NULL)
    json_object_set_object_member (obj, "stats", lb_output_stats_to_json (self->output));
  return node;
}
