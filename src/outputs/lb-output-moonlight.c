/* lb-output-moonlight.c — the "moonlight" transport: h264parse (SPS/PPS
 * before every IDR) ! byte-stream access units ! fakesink, and a probe on
 * the sink that hands each access unit to the viewer's peer on the shared
 * Moonlight sockets, on the encode's streaming thread. No thread, socket or
 * payloader element per viewer: the peer packetizes for its viewer. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-output-moonlight.h"
#include "lb-ml-audio-share.h"
#include "lb-ml-audio.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-media-branch.h"
#include "lb-output-impl.h"
#include "lb-spec.h"

#include <gst/video/video.h>

#define AUDIO_DEFAULT_PACKET_MS 5

/* Between two key-frame requests of one viewer waiting for its first IDR
 * (the encoded track coalesces them with other viewers' anyway). */
#define KEY_FRAME_RETRY_US (500 * G_USEC_PER_SEC / 1000)

/* Set by the host glue on the main loop, used by streaming threads: under
 * @stream_host_lock, so that once it is cleared no thread is still inside
 * the host the glue is about to free. */
static LbMlStreamHost *stream_host;
static GMutex stream_host_lock;

void
lb_output_moonlight_set_stream_host (LbMlStreamHost *host)
{
  g_mutex_lock (&stream_host_lock);
  stream_host = host;
  g_mutex_unlock (&stream_host_lock);
}

LbSessionSpec *
lb_output_moonlight_spec_new (const LbLobbySpec *lobby, const char *ml_id, guint width,
                              guint height, guint fps, guint bitrate_kbps, guint audio_packet_ms,
                              gboolean control)
{
  g_return_val_if_fail (lobby != NULL && ml_id != NULL, NULL);
  LbSessionSpec *spec = lb_session_spec_new (lobby, "moonlight");
  spec->profile.width = width;
  spec->profile.height = height;
  spec->profile.fps = fps;
  spec->profile.bitrate_kbps = bitrate_kbps;
  spec->control = control;
  spec->params = json_object_new ();
  json_object_set_string_member (spec->params, "ml_id", ml_id);
  json_object_set_int_member (spec->params, "audio_packet_ms",
                              audio_packet_ms > 0 ? audio_packet_ms : AUDIO_DEFAULT_PACKET_MS);
  return spec;
}

/* What the probe sends with. Shared by the probe (until the pad goes) and
 * the output (until close): the peer is dropped at close while the
 * streaming thread may still be in the probe. */
typedef struct
{
  gint ref;
  char *ml_id;
  LbOutput *output; /* for its counters: it outlives its branch */
  GMutex lock;
  gboolean closed;      /* under @lock */
  LbMlStreamPeer *peer; /* under @lock; NULL until the glue added it */
  gint64 last_request_us;
  /* The audio streaming thread's alone: made once the peer has params. */
  LbMlAudioPacketizer *audio;
  guint audio_packet_ms;
} Sender;

static Sender *
sender_ref (Sender *s)
{
  g_atomic_int_inc (&s->ref);
  return s;
}

static void
sender_unref (gpointer data)
{
  Sender *s = data;
  if (s == NULL || !g_atomic_int_dec_and_test (&s->ref))
    return;
  g_clear_pointer (&s->peer, lb_ml_stream_peer_unref);
  g_clear_pointer (&s->audio, lb_ml_audio_packetizer_free);
  g_mutex_clear (&s->lock);
  g_free (s->ml_id);
  g_free (s);
}

/* The viewer's peer (a reference), looked up again while it is not
 * streaming: the glue adds it at RTSP SETUP and may replace it. */
static LbMlStreamPeer *
sender_peer (Sender *s)
{
  LbMlStreamPeer *peer = NULL;
  g_mutex_lock (&s->lock);
  if (!s->closed)
    {
      if (s->peer == NULL || !lb_ml_stream_peer_is_streaming (s->peer))
        {
          g_mutex_lock (&stream_host_lock);
          LbMlStreamPeer *found
              = stream_host != NULL ? lb_ml_stream_host_find_peer (stream_host, s->ml_id) : NULL;
          g_mutex_unlock (&stream_host_lock);
          if (found != NULL)
            {
              g_clear_pointer (&s->peer, lb_ml_stream_peer_unref);
              s->peer = found;
            }
        }
      if (s->peer != NULL)
        peer = lb_ml_stream_peer_ref (s->peer);
    }
  g_mutex_unlock (&s->lock);
  return peer;
}

typedef struct
{
  LbOutput parent;
  Sender *sender;
  LbMlAudioShare *audio_share; /* NULL: no sound */
} LbOutputMoonlight;

/* On the encode's streaming thread: one access unit to the viewer. */
static GstPadProbeReturn
on_access_unit (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Sender *s = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  g_autoptr (LbMlStreamPeer) peer = sender_peer (s);
  if (peer == NULL || buf == NULL)
    return GST_PAD_PROBE_OK;
  gboolean idr = !GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DELTA_UNIT);
  GstClockTime pts = GST_BUFFER_PTS_IS_VALID (buf) ? GST_BUFFER_PTS (buf) : GST_BUFFER_DTS (buf);
  guint32 ts
      = GST_CLOCK_TIME_IS_VALID (pts) ? (guint32)gst_util_uint64_scale (pts, 90000, GST_SECOND) : 0;
  LbMlStreamStats before, after;
  lb_ml_stream_peer_get_stats (peer, &before);
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  gboolean sent = lb_ml_stream_peer_send_video (peer, map.data, map.size, ts, idr);
  gst_buffer_unmap (buf, &map);
  if (sent)
    {
      lb_ml_stream_peer_get_stats (peer, &after);
      __atomic_fetch_add (&s->output->packets, after.datagrams - before.datagrams,
                          __ATOMIC_RELAXED);
      __atomic_fetch_add (&s->output->bytes, after.bytes - before.bytes, __ATOMIC_RELAXED);
      return GST_PAD_PROBE_OK;
    }
  /* A viewer that started streaming waits for an IDR: ask for one (the
   * upstream force-key-unit event goes through the branch to the encoded
   * track's limiter, as lb_output_request_key_frame's does). */
  if (!idr && lb_ml_stream_peer_is_streaming (peer))
    {
      gint64 now = g_get_monotonic_time ();
      gboolean ask = FALSE;
      g_mutex_lock (&s->lock);
      if (s->last_request_us == 0 || now - s->last_request_us >= KEY_FRAME_RETRY_US)
        {
          s->last_request_us = now;
          ask = TRUE;
        }
      g_mutex_unlock (&s->lock);
      if (ask)
        {
          g_debug ("moonlight %s: viewer waits for an IDR; asking for one", s->ml_id);
          gst_pad_push_event (
              pad, gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
        }
    }
  return GST_PAD_PROBE_OK;
}

/* On the audio streaming thread (the lobby's re-encode for this packet
 * duration): one Opus packet to this viewer. */
static void
on_opus_packet (const guint8 *opus, gsize len, gpointer user_data)
{
  Sender *s = user_data;
  g_autoptr (LbMlStreamPeer) peer = sender_peer (s);
  if (peer == NULL || !lb_ml_stream_peer_is_streaming (peer))
    return;
  if (s->audio == NULL)
    {
      LbMlStreamParams p;
      if (!lb_ml_stream_peer_get_params (peer, &p))
        return;
      if (p.audio_packet_ms != s->audio_packet_ms)
        g_warning ("moonlight %s: the client wants %u ms audio packets, the branch makes %u ms",
                   s->ml_id, p.audio_packet_ms, s->audio_packet_ms);
      s->audio
          = lb_ml_audio_packetizer_new (s->audio_packet_ms, p.encrypt_audio, p.rikey, p.rikeyid);
    }
  guint n = lb_ml_audio_packetize (s->audio, opus, len);
  for (guint i = 0; i < n; i++)
    {
      gsize dlen;
      const guint8 *d = lb_ml_audio_packetizer_get_datagram (s->audio, i, &dlen);
      if (lb_ml_stream_peer_send_audio_datagram (peer, d, dlen))
        {
          __atomic_fetch_add (&s->output->audio_packets, 1, __ATOMIC_RELAXED);
          __atomic_fetch_add (&s->output->audio_bytes, dlen, __ATOMIC_RELAXED);
        }
    }
}

static guint
audio_packet_ms_of (const LbSessionSpec *spec)
{
  gint64 ms = spec->params != NULL
                  ? json_object_get_int_member_with_default (spec->params, "audio_packet_ms", 0)
                  : 0;
  return ms == 5 || ms == 10 || ms == 20 ? (guint)ms : AUDIO_DEFAULT_PACKET_MS;
}

static const char *
ml_id_of (const LbSessionSpec *spec)
{
  if (spec->params == NULL || !json_object_has_member (spec->params, "ml_id"))
    return NULL;
  JsonNode *n = json_object_get_member (spec->params, "ml_id");
  return JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING
             ? json_node_get_string (n)
             : NULL;
}

static gboolean
moonlight_check (const LbSessionSpec *spec, const LbConfig *config, GError **error)
{
  const char *ml_id = ml_id_of (spec);
  if (ml_id == NULL || *ml_id == '\0')
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "a moonlight session needs its launch id");
      return FALSE;
    }
  if (spec->profile.codec != LB_CODEC_H264)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "moonlight sessions are H.264 only");
      return FALSE;
    }
  return TRUE;
}

static LbOutput *
moonlight_open (LbTrack *track, const LbSessionSpec *spec, const LbOutputSetup *setup,
                GError **error)
{
  if (!moonlight_check (spec, setup->config, error))
    return NULL;
  GstElement *e[4] = { NULL };
  static const LbElementSpec chain[] = {
    { "h264parse", NULL },
    { "capsfilter", NULL },
    { "fakesink", NULL },
  };
  if (!lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return NULL;
  /* SPS and PPS before every IDR: a viewer joining at any key frame can
   * decode it, and the client finds them where it expects them. */
  g_object_set (e[0], "config-interval", -1, NULL);
  g_autoptr (GstCaps) caps
      = gst_caps_from_string ("video/x-h264,stream-format=byte-stream,alignment=au");
  g_object_set (e[1], "caps", caps, NULL);
  g_object_set (e[2], "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);

  g_autoptr (LbOutput) output
      = lb_output_alloc (sizeof (LbOutputMoonlight), &lb_output_moonlight_class, setup->name);
  LbOutputMoonlight *self = (LbOutputMoonlight *)output;
  Sender *s = g_new0 (Sender, 1);
  s->ref = 1;
  s->ml_id = g_strdup (ml_id_of (spec));
  s->output = output;
  g_mutex_init (&s->lock);
  self->sender = s;
  g_autoptr (GstPad) sink = gst_element_get_static_pad (e[2], "sink");
  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, on_access_unit, sender_ref (s), sender_unref);
  s->audio_packet_ms = audio_packet_ms_of (spec);
  if (!lb_output_attach (output, track, e, error))
    return NULL;
  /* Without the lobby's sound (or opusdec/opusenc) the audio stream is set
   * up and silent, which clients accept. */
  if (setup->audio != NULL)
    {
      g_autoptr (GError) local = NULL;
      self->audio_share
          = lb_ml_audio_share_join (setup->audio, s->audio_packet_ms, on_opus_packet, s, &local);
      if (self->audio_share == NULL)
        g_warning ("%s: no Moonlight audio: %s", setup->name, local->message);
    }
  g_debug ("%s: moonlight output for launch %s", setup->name, s->ml_id);
  return g_steal_pointer (&output);
}

static void
moonlight_close (LbOutput *output)
{
  LbOutputMoonlight *self = (LbOutputMoonlight *)output;
  Sender *s = self->sender;
  if (s == NULL)
    return;
  if (self->audio_share != NULL)
    lb_ml_audio_share_leave (g_steal_pointer (&self->audio_share), s);
  g_mutex_lock (&s->lock);
  s->closed = TRUE;
  g_clear_pointer (&s->peer, lb_ml_stream_peer_unref);
  g_mutex_unlock (&s->lock);
  g_clear_pointer (&self->sender, sender_unref);
}

static void
moonlight_stats_to_json (LbOutput *output, JsonObject *stats)
{
  LbOutputMoonlight *self = (LbOutputMoonlight *)output;
  JsonObject *ml = json_object_new ();
  LbMlStreamStats st = { 0 };
  gboolean streaming = FALSE;
  if (self->sender != NULL)
    {
      json_object_set_string_member (ml, "ml_id", self->sender->ml_id);
      g_autoptr (LbMlStreamPeer) peer = sender_peer (self->sender);
      if (peer != NULL)
        {
          lb_ml_stream_peer_get_stats (peer, &st);
          streaming = lb_ml_stream_peer_is_streaming (peer);
        }
    }
  json_object_set_boolean_member (ml, "streaming", streaming);
  json_object_set_int_member (ml, "frames_sent", (gint64)st.frames_sent);
  json_object_set_int_member (ml, "frames_dropped", (gint64)st.frames_dropped);
  json_object_set_int_member (ml, "datagrams", (gint64)st.datagrams);
  json_object_set_int_member (ml, "bytes", (gint64)st.bytes);
  json_object_set_int_member (ml, "video_pings", (gint64)st.video_pings);
  json_object_set_int_member (ml, "audio_pings", (gint64)st.audio_pings);
  json_object_set_object_member (stats, "moonlight", ml);
}

/* No parse: the Moonlight host makes these specs; a POST
 * /api/v1/sessions with transport "moonlight" is refused (invalid_field). */
const LbOutputClass lb_output_moonlight_class = {
  .transport = "moonlight",
  .stored = FALSE,
  .carries_input = TRUE,
  .check = moonlight_check,
  .open = moonlight_open,
  .stats_to_json = moonlight_stats_to_json,
  .close = moonlight_close,
};
