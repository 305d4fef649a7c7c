/* lb-ml-streaming.c — each Moonlight launch's session, its RTSP setup,
 * media peer and control stream, and how the launch ends. */
#define G_LOG_DOMAIN "lobbyd-ml-streaming"
#include "lb-ml-streaming.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-log.h"
#include "lb-lobby.h"
#include "lb-ml-control.h"
#include "lb-ml-rtsp-server.h"
#include "lb-ml-stream.h"
#include "lb-output-moonlight.h"
#include "lb-pools.h"
#include "lb-registry.h"
#include "lb-session.h"
#include "lb-shared-encode.h"
#include "lb-spec.h"

#include <string.h>
#include <sys/random.h>

/* The reason code of control's 0x0109: the host ended the stream. */
#define TERMINATION_HOST_ENDED 0x80030023u
/* A launch whose client never got to ANNOUNCE is forgotten after this. */
#define UNCLAIMED_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* The bitrate of a launch's admission check (which does not depend on
 * it); the ANNOUNCE names the real one. */
#define LAUNCH_BITRATE_KBPS 10000
/* What a refused client is told to wait (the API's Retry-After too). */
#define RETRY_AFTER_S 5

typedef struct
{
  char *ml_id;
  char *lobby_id;
  char *client_name;
  char *client_address;
  char *client_ip; /* the RTSP peer's address: pings and control must come from it */
  char *session_id;
  guint8 rikey[16];
  guint32 rikeyid;
  gboolean control;
  char ping_payload[LB_ML_STREAM_PING_PAYLOAD_LEN + 1];
  guint32 connect_data;
  gboolean control_up;
  LbMlStreamPeer *peer;
  gint64 created_us;
} MlStream;

struct _LbMlStreaming
{
  const LbConfig *config;
  LbRegistry *registry;
  LbMlLaunchTable *launches;
  LbMlStreamingCallbacks cb;
  gpointer user_data;
  LbMlRtspServer *rtsp;
  LbMlStreamHost *media;
  LbMlControl *control;
  GHashTable *streams; /* ml_id → MlStream */
  guint sweep_id;
};

static void
ml_stream_free (MlStream *st)
{
  g_free (st->ml_id);
  g_free (st->lobby_id);
  g_free (st->client_name);
  g_free (st->client_address);
  g_free (st->client_ip);
  g_free (st->session_id);
  g_clear_pointer (&st->peer, lb_ml_stream_peer_unref);
  g_free (st);
}

/* Tokens a client hands back (ping payload, connect data) come from the
 * kernel's generator: whoever guesses one could steer another viewer's
 * video. */
static void
random_bytes (void *buf, gsize len)
{
  gsize got = 0;
  while (got < len)
    {
      ssize_t n = getrandom ((guint8 *)buf + got, len - got, 0);
      if (n > 0)
        got += (gsize)n;
    }
}

static void
new_ping_payload (char out[LB_ML_STREAM_PING_PAYLOAD_LEN + 1])
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  guint8 r[LB_ML_STREAM_PING_PAYLOAD_LEN];
  random_bytes (r, sizeof r);
  for (guint i = 0; i < sizeof r; i++)
    out[i] = alphabet[r[i] % (sizeof alphabet - 1)];
  out[LB_ML_STREAM_PING_PAYLOAD_LEN] = '\0';
}

static LbSession *
stream_session (LbMlStreaming *s, MlStream *st)
{
  return st->session_id != NULL ? lb_registry_find_session (s->registry, st->session_id) : NULL;
}

/* ---- joining ---- */

/* The refusal a Moonlight client shows its user: the capacity in words. */
static void
explain_capacity (LbMlStreaming *s, GError **error)
{
  guint used;
  int limit;
  lb_pools_hardware_totals (lb_registry_get_pools (s->registry), &used, &limit);
  g_autofree char *hw = NULL;
  if (limit > 0)
    hw = g_strdup_printf ("GPU encoder sessions exhausted (%u/%d)", used, limit);
  else if (limit == 0)
    hw = g_strdup ("no GPU encoder available");
  else
    hw = g_strdup_printf ("GPU encoders refused the session (%u in use)", used);
  const char *sw = strstr ((*error)->message, "software_budget_exhausted") != NULL
                       ? "software budget full"
                       : "software fallback not allowed";
  g_autofree char *msg = g_strdup_printf ("%s, %s; try again in %d s", hw, sw, RETRY_AFTER_S);
  g_free ((*error)->message);
  (*error)->message = g_steal_pointer (&msg);
}

/* The session @st asks for: @width x @height (even: 4:2:0 encoders take
 * nothing else) at @fps (a client asking for more frames than the lobby
 * makes gets all of them), @kbps; NULL when the lobby is gone. */
static LbSessionSpec *
stream_spec (LbMlStreaming *s, MlStream *st, LbLobby **lobby, guint width, guint height, guint fps,
             guint kbps, guint audio_ms, GError **error)
{
  *lobby = lb_registry_find_lobby (s->registry, st->lobby_id);
  if (*lobby == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_NOT_FOUND, "the lobby of this app is gone");
      return NULL;
    }
  const LbLobbySpec *lspec = lb_lobby_get_spec (*lobby);
  LbSessionSpec *spec
      = lb_output_moonlight_spec_new (lspec, st->ml_id, width & ~1u, height & ~1u,
                                      MIN (fps, lspec->fps), kbps, audio_ms, st->control);
  json_object_set_string_member (spec->params, "client_name", st->client_name);
  json_object_set_string_member (spec->params, "client_address", st->client_address);
  return spec;
}

static LbSession *
join (LbMlStreaming *s, MlStream *st, guint width, guint height, guint fps, guint kbps,
      guint audio_ms, GError **error)
{
  LbLobby *lobby;
  LbSessionSpec *spec = stream_spec (s, st, &lobby, width, height, fps, kbps, audio_ms, error);
  LbSession *session = spec != NULL ? lb_registry_join (s->registry, lobby, spec, error) : NULL;
  if (session == NULL && g_error_matches (*error, LB_ERROR, LB_ERROR_CAPACITY))
    explain_capacity (s, error);
  return session;
}

gboolean
lb_ml_streaming_start (LbMlStreaming *s, const char *ml_id, const LbMlLaunchInfo *info,
                       GError **error)
{
  lb_ml_streaming_stop (s, ml_id, "replaced");
  MlStream *st = g_new0 (MlStream, 1);
  st->ml_id = g_strdup (ml_id);
  st->lobby_id = g_strdup (info->lobby_id);
  st->client_name = g_strdup (info->client_name);
  st->client_address = g_strdup (info->client_address);
  memcpy (st->rikey, info->rikey, sizeof st->rikey);
  st->rikeyid = info->rikeyid;
  st->control = info->control;
  st->created_us = g_get_monotonic_time ();
  new_ping_payload (st->ping_payload);
  do
    random_bytes (&st->connect_data, sizeof st->connect_data);
  while (st->connect_data == 0); /* 0: "none" for the client */

  /* Told now, in the launch reply, if the session could not be served:
   * a dry run of the admission with the URL's mode (clients cap its fps
   * or send 0; the bitrate comes with the ANNOUNCE, which joins for real
   * with the announced profile — no encode is opened for a guess). */
  guint fps = info->fps > 0 ? MIN (info->fps, LB_ML_MAX_FPS) : 60;
  LbLobby *lobby;
  g_autoptr (LbSessionSpec) spec
      = stream_spec (s, st, &lobby, info->width, info->height, fps, LAUNCH_BITRATE_KBPS, 0, error);
  if (spec == NULL || !lb_registry_check_join (s->registry, lobby, spec, error))
    {
      if (g_error_matches (*error, LB_ERROR, LB_ERROR_CAPACITY))
        explain_capacity (s, error);
      lb_log_lobby (G_LOG_LEVEL_MESSAGE, info->lobby_id, "launch %s of lobby %s refused: %s", ml_id,
                    info->lobby_id, (*error)->message);
      ml_stream_free (st);
      return FALSE;
    }
  g_hash_table_replace (s->streams, st->ml_id, st);
  lb_log_lobby (G_LOG_LEVEL_MESSAGE, st->lobby_id, "launch %s of lobby %s for %s (%s)", ml_id,
                st->lobby_id, st->client_name, st->client_address);
  return TRUE;
}

/* ---- ending ---- */

static void
end_stream (LbMlStreaming *s, MlStream *st, const char *reason, gboolean tell_host)
{
  g_autofree char *ml_id = g_strdup (st->ml_id);
  g_hash_table_steal (s->streams, ml_id);
  if (st->control_up)
    lb_ml_control_terminate (s->control, ml_id, TERMINATION_HOST_ENDED);
  lb_ml_stream_host_remove_peer (s->media, ml_id);
  if (stream_session (s, st) != NULL)
    lb_registry_leave (s->registry, st->session_id, NULL);
  lb_log_session (G_LOG_LEVEL_MESSAGE, st->lobby_id, st->session_id, "launch %s ended: %s", ml_id,
                  reason);
  ml_stream_free (st);
  if (tell_host && s->cb.ended != NULL)
    s->cb.ended (ml_id, reason, s->user_data);
}

void
lb_ml_streaming_stop (LbMlStreaming *s, const char *ml_id, const char *reason)
{
  MlStream *st = g_hash_table_lookup (s->streams, ml_id);
  if (st != NULL)
    end_stream (s, st, reason, FALSE);
}

const char *
lb_ml_streaming_get_session_id (LbMlStreaming *s, const char *ml_id)
{
  MlStream *st = g_hash_table_lookup (s->streams, ml_id);
  return st != NULL ? st->session_id : NULL;
}

/* Sessions end on lobbyd's side too (lobby deleted, encoder failure with no
 * fallback, DELETE /sessions/{id}): once a second, every launch whose
 * session is gone or failed is ended and its client told. */
static gboolean
sweep (gpointer user_data)
{
  LbMlStreaming *s = user_data;
  gint64 now = g_get_monotonic_time ();
  GHashTableIter it;
  gpointer value;
  g_autoptr (GPtrArray) ended = g_ptr_array_new ();
  g_autoptr (GPtrArray) reasons = g_ptr_array_new ();
  g_hash_table_iter_init (&it, s->streams);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      MlStream *st = value;
      LbSession *session = stream_session (s, st);
      if (st->session_id != NULL && (session == NULL || !lb_session_is_running (session)))
        {
          g_ptr_array_add (ended, st);
          g_ptr_array_add (reasons, "session_ended");
        }
      else if (st->session_id == NULL && now - st->created_us > UNCLAIMED_TIMEOUT_US)
        {
          g_ptr_array_add (ended, st);
          g_ptr_array_add (reasons, "never_connected");
        }
    }
  for (guint i = 0; i < ended->len; i++)
    end_stream (s, g_ptr_array_index (ended, i), g_ptr_array_index (reasons, i), TRUE);
  return G_SOURCE_CONTINUE;
}

/* ---- RTSP ---- */

static MlStream *
find_stream (LbMlStreaming *s, const char *ml_id, GError **error)
{
  MlStream *st = g_hash_table_lookup (s->streams, ml_id);
  if (st == NULL)
    g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH,
                 "launch %s has no stream", ml_id);
  return st;
}

static gboolean
on_setup (const char *ml_id, LbMlStream stream, const char *client_ip, guint16 *port,
          char ping_payload[17], guint32 *connect_data, gpointer user_data, GError **error)
{
  LbMlStreaming *s = user_data;
  MlStream *st = find_stream (s, ml_id, error);
  if (st == NULL)
    return FALSE;
  if (st->client_ip == NULL)
    st->client_ip = g_strdup (client_ip);
  switch (stream)
    {
    case LB_ML_STREAM_AUDIO:
    case LB_ML_STREAM_VIDEO:
      if (st->peer == NULL)
        st->peer = lb_ml_stream_host_add_peer (s->media, ml_id, st->client_ip, st->ping_payload);
      *port = stream == LB_ML_STREAM_AUDIO ? lb_ml_stream_host_get_audio_port (s->media)
                                           : lb_ml_stream_host_get_video_port (s->media);
      memcpy (ping_payload, st->ping_payload, sizeof st->ping_payload);
      return TRUE;
    case LB_ML_STREAM_CONTROL:
      *port = lb_ml_control_get_port (s->control);
      *connect_data = st->connect_data;
      return TRUE;
    }
  g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_UNKNOWN_STREAM, "unknown stream");
  return FALSE;
}

static gboolean
on_announce (const char *ml_id, const LbMlAnnounce *a, gpointer user_data, GError **error)
{
  LbMlStreaming *s = user_data;
  MlStream *st = find_stream (s, ml_id, error);
  if (st == NULL)
    return FALSE;
  if (st->peer == NULL)
    {
      g_set_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH,
                   "ANNOUNCE before SETUP");
      return FALSE;
    }
  LbMlStreamParams p = {
    .packet_size = a->packet_size,
    .fec_percentage = a->fec_percent >= 0 ? (guint)a->fec_percent : s->config->ml_fec_percentage,
    .min_fec_packets = a->min_fec_packets,
    .encrypt_video = (a->encryption_enabled & LB_ML_ENC_VIDEO) != 0,
    .encrypt_audio = lb_ml_announce_wants_audio_encryption (a),
    .rikeyid = st->rikeyid,
    .audio_packet_ms = a->audio_packet_ms,
  };
  memcpy (p.rikey, st->rikey, sizeof p.rikey);
  if (!lb_ml_stream_peer_set_params (st->peer, &p, error))
    return FALSE;

  /* The announced profile is the session's. A client that announces
   * again with another one is re-joined, the new session first so the
   * lobby's encode (and slot) is not given up in between unless there is
   * no room for both. The comparison is of the spec a join would make
   * (sizes made even, fps capped at the lobby's). */
  guint kbps = a->configured_bitrate_kbps > 0 ? a->configured_bitrate_kbps : a->max_bitrate_kbps;
  kbps = CLAMP (kbps, LB_ML_MIN_BITRATE_KBPS, LB_ML_MAX_BITRATE_KBPS);
  LbSession *old = stream_session (s, st);
  if (old != NULL)
    {
      LbLobby *lobby;
      g_autoptr (LbSessionSpec) want = stream_spec (s, st, &lobby, a->width, a->height, a->fps,
                                                    kbps, a->audio_packet_ms, NULL);
      const LbSessionSpec *cur = lb_session_get_spec (old);
      const LbProfile *w = want != NULL ? &want->profile : NULL, *c = &cur->profile;
      if (w != NULL && w->width == c->width && w->height == c->height && w->fps == c->fps
          && w->bitrate_kbps == c->bitrate_kbps
          && json_object_get_int_member (want->params, "audio_packet_ms")
                 == json_object_get_int_member_with_default (cur->params, "audio_packet_ms", 0))
        return TRUE;
    }
  g_autoptr (GError) first_error = NULL;
  LbSession *session
      = join (s, st, a->width, a->height, a->fps, kbps, a->audio_packet_ms, &first_error);
  if (session == NULL && old != NULL)
    {
      /* No room for both (a full budget): the launch's session makes room. */
      lb_registry_leave (s->registry, st->session_id, NULL);
      g_clear_pointer (&st->session_id, g_free);
      old = NULL;
      session = join (s, st, a->width, a->height, a->fps, kbps, a->audio_packet_ms, error);
    }
  else if (session == NULL)
    g_propagate_error (error, g_steal_pointer (&first_error));
  if (session == NULL)
    {
      lb_log_lobby (G_LOG_LEVEL_MESSAGE, st->lobby_id,
                    "launch %s: announced %ux%u@%u %u kbps refused: %s", ml_id, a->width, a->height,
                    a->fps, kbps, (*error)->message);
      return FALSE;
    }
  g_autofree char *old_id = g_steal_pointer (&st->session_id);
  st->session_id = g_strdup (lb_session_get_id (session));
  if (old != NULL)
    lb_registry_leave (s->registry, old_id, NULL);
  lb_log_session (G_LOG_LEVEL_MESSAGE, st->lobby_id, st->session_id,
                  "launch %s: session %s at the announced %ux%u@%u, %u kbps", ml_id, st->session_id,
                  a->width, a->height, a->fps, kbps);
  return TRUE;
}

static gboolean
on_play (const char *ml_id, gpointer user_data, GError **error)
{
  return find_stream (user_data, ml_id, error) != NULL;
}

/* ---- control stream ---- */

static gboolean
on_control_lookup (guint32 connect_data, const char *client_ip, char **ml_id, guint8 rikey[16],
                   gpointer user_data)
{
  LbMlStreaming *s = user_data;
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, s->streams);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      MlStream *st = value;
      if (st->connect_data != connect_data)
        continue;
      if (st->client_ip == NULL || g_strcmp0 (st->client_ip, client_ip) != 0)
        {
          g_message ("control stream for launch %s from %s refused: RTSP came from %s", st->ml_id,
                     client_ip, st->client_ip ? st->client_ip : "nowhere");
          return FALSE;
        }
      *ml_id = g_strdup (st->ml_id);
      memcpy (rikey, st->rikey, 16);
      st->control_up = TRUE;
      return TRUE;
    }
  return FALSE;
}

static void
on_idr_request (const char *ml_id, gpointer user_data)
{
  LbMlStreaming *s = user_data;
  MlStream *st = g_hash_table_lookup (s->streams, ml_id);
  LbSession *session = st != NULL ? stream_session (s, st) : NULL;
  LbSharedEncode *encode = session != NULL ? lb_session_get_encode (session) : NULL;
  /* The encode's limiter coalesces requests of all its viewers. */
  if (encode != NULL)
    lb_shared_encode_request_key_frame (encode);
}

static void
on_input (const char *ml_id, const LbInputEvent *ev, gpointer user_data)
{
  LbMlStreaming *s = user_data;
  MlStream *st = g_hash_table_lookup (s->streams, ml_id);
  if (st == NULL || !st->control)
    return;
  LbLobby *lobby = lb_registry_find_lobby (s->registry, st->lobby_id);
  if (lobby != NULL)
    lb_lobby_input (lobby, ev);
}

static void
on_control_disconnected (const char *ml_id, const char *reason, gpointer user_data)
{
  LbMlStreaming *s = user_data;
  MlStream *st = g_hash_table_lookup (s->streams, ml_id);
  if (st == NULL)
    return;
  st->control_up = FALSE;
  g_autofree char *why = g_strconcat ("control_", reason, NULL);
  end_stream (s, st, why, TRUE);
}

/* ---- media ---- */

static void
on_peer_timeout (const char *ml_id, gpointer user_data)
{
  LbMlStreaming *s = user_data;
  MlStream *st = g_hash_table_lookup (s->streams, ml_id);
  if (st != NULL)
    end_stream (s, st, "ping_timeout", TRUE);
}

/* ---- life ---- */

LbMlStreaming *
lb_ml_streaming_new (const LbConfig *config, LbRegistry *registry, LbMlLaunchTable *launches,
                     const LbMlStreamingCallbacks *cb, gpointer user_data, GError **error)
{
  LbMlStreaming *s = g_new0 (LbMlStreaming, 1);
  s->config = config;
  s->registry = registry;
  s->launches = launches;
  if (cb != NULL)
    s->cb = *cb;
  s->user_data = user_data;
  s->streams
      = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)ml_stream_free);

  static const LbMlStreamCallbacks media_cb = { .peer_timeout = on_peer_timeout };
  s->media = lb_ml_stream_host_new (config->ml_address, (guint16)config->ml_video_port,
                                    (guint16)config->ml_audio_port,
                                    config->ml_ping_timeout_s * 1000, &media_cb, s, error);
  static const LbMlControlCallbacks control_cb = {
    .lookup = on_control_lookup,
    .idr_request = on_idr_request,
    .input = on_input,
    .disconnected = on_control_disconnected,
  };
  if (s->media != NULL)
    s->control = lb_ml_control_new (config->ml_address, (guint16)config->ml_control_port,
                                    &control_cb, s, error);
  static const LbMlRtspCallbacks rtsp_cb = {
    .setup = on_setup,
    .announce = on_announce,
    .play = on_play,
  };
  /* Control v2 is what current clients require; video and audio
   * encryption are theirs to ask for. */
  if (s->control != NULL)
    s->rtsp = lb_ml_rtsp_server_new (config->ml_address, (guint16)config->ml_rtsp_port, launches,
                                     LB_ML_ENC_CONTROL_V2 | LB_ML_ENC_VIDEO | LB_ML_ENC_AUDIO,
                                     LB_ML_ENC_CONTROL_V2, &rtsp_cb, s, error);
  if (s->rtsp == NULL)
    {
      lb_ml_streaming_free (s);
      return NULL;
    }
  lb_output_moonlight_set_stream_host (s->media);
  s->sweep_id = g_timeout_add_seconds (1, sweep, s);
  return s;
}

void
lb_ml_streaming_free (LbMlStreaming *s)
{
  if (s == NULL)
    return;
  g_clear_handle_id (&s->sweep_id, g_source_remove);
  /* Sessions first: their outputs still send through the media host. */
  if (s->streams != NULL)
    {
      GHashTableIter it;
      gpointer value;
      g_hash_table_iter_init (&it, s->streams);
      while (g_hash_table_iter_next (&it, NULL, &value))
        {
          MlStream *st = value;
          if (stream_session (s, st) != NULL)
            lb_registry_leave (s->registry, st->session_id, NULL);
        }
      g_clear_pointer (&s->streams, g_hash_table_unref);
    }
  g_clear_pointer (&s->rtsp, lb_ml_rtsp_server_free);
  g_clear_pointer (&s->control, lb_ml_control_free);
  if (s->media != NULL)
    lb_output_moonlight_set_stream_host (NULL);
  g_clear_pointer (&s->media, lb_ml_stream_host_free);
  g_free (s);
}

guint16
lb_ml_streaming_get_rtsp_port (LbMlStreaming *s)
{
  return lb_ml_rtsp_server_get_port (s->rtsp);
}
