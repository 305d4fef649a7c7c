/* lb-encode.c — one encode branch; the encoder element and its settings come
 * from the pool's backend (src/encoders/). */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-encode.h"
#include "lb-config.h"
#include "lb-encoder-backend.h"
#include "lb-error.h"
#include "lb-media-branch.h"
#include "lb-spec.h"
#include "lb-track.h"

/* Raw frames later than the best lateness of the last few seconds by more
 * than this, that arrive faster than real time (by a third), are dropped
 * before the encoder (but one still goes through every LATE_KEEP_ONE_US, so
 * a stream never stops). */
#define LATE_MIN_US (100 * 1000)
#define LATE_FRAMES 3
#define LATE_KEEP_ONE_US (500 * 1000)
#define LATE_WINDOW_US (2 * G_USEC_PER_SEC)

/* A stalled producer (its thread starved of CPU, say during a join burst)
 * catches up by pushing its backlog of frames as fast as it can: encoded and
 * sent, they would reach every viewer late and then fast-forward. A frame
 * of such a backlog is late and arrives sooner after the one before than
 * their timestamps are apart; a producer that is merely slow is late too,
 * but nothing newer is there to show instead, so its frames go on. On the
 * encoder's streaming thread only. */
typedef struct
{
  gint64 threshold_us;
  gint64 window_start_us;          /* monotonic */
  gint64 window_min, previous_min; /* lateness, µs: what this machine achieves now */
  gint64 last_pass_us;
  gint64 previous_arrival_us; /* monotonic */
  gint64 previous_rt_us;      /* running time */
  guint dropping;             /* frames dropped since the last one that was on time */
} LateFrames;

struct _LbEncode
{
  LbTrack *raw; /* borrowed: the producer outlives its encodes */
  LbBranch *branch;
  GstElement *tee; /* encoded video, in the raw track's pipeline */
  LbTrack *track;  /* on @tee */
  LbEncodeClosedFunc closed;
  gpointer closed_data;
};

/* How late @buf is on @pad: the pipeline clock's running time now minus the
 * buffer's running time; FALSE when either is unknown. */
static gboolean
buffer_lateness (GstPad *pad, GstBuffer *buf, gint64 *late_us, gint64 *rt_us)
{
  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return FALSE;
  g_autoptr (GstEvent) segment_event = gst_pad_get_sticky_event (pad, GST_EVENT_SEGMENT, 0);
  g_autoptr (GstElement) element = gst_pad_get_parent_element (pad);
  if (segment_event == NULL || element == NULL)
    return FALSE;
  g_autoptr (GstClock) clock = gst_element_get_clock (element);
  if (clock == NULL)
    return FALSE;
  const GstSegment *segment = NULL;
  gst_event_parse_segment (segment_event, &segment);
  GstClockTime rt = gst_segment_to_running_time (segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  GstClockTime base = gst_element_get_base_time (element);
  GstClockTime now = gst_clock_get_time (clock);
  if (rt == GST_CLOCK_TIME_NONE || now < base)
    return FALSE;
  *late_us = GST_CLOCK_DIFF (rt, now - base) / 1000;
  *rt_us = (gint64)(rt / 1000);
  return TRUE;
}

static GstPadProbeReturn
drop_late_frames (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LateFrames *self = user_data;
  gint64 late_us, rt_us, now = g_get_monotonic_time ();

  if (!buffer_lateness (pad, GST_PAD_PROBE_INFO_BUFFER (info), &late_us, &rt_us))
    return GST_PAD_PROBE_OK;
  gboolean catching_up
      = self->previous_arrival_us != 0
        && (now - self->previous_arrival_us) * 4 < (rt_us - self->previous_rt_us) * 3;
  self->previous_arrival_us = now;
  self->previous_rt_us = rt_us;
  /* The best lateness of the last two windows is the baseline: a machine
   * that is steadily slower is not "behind", and a lasting offset becomes
   * the baseline within two windows. */
  if (now - self->window_start_us >= LATE_WINDOW_US)
    {
      self->previous_min = self->window_min;
      self->window_min = G_MAXINT64;
      self->window_start_us = now;
    }
  self->window_min = MIN (self->window_min, late_us);
  gint64 baseline = MIN (self->window_min, self->previous_min);
  if (catching_up && late_us > baseline + self->threshold_us
      && now - self->last_pass_us < LATE_KEEP_ONE_US)
    {
      self->dropping++;
      return GST_PAD_PROBE_DROP;
    }
  if (self->dropping > 0 && late_us <= baseline + self->threshold_us)
    {
      g_debug ("%s: dropped %u late raw frames (back to %" G_GINT64_FORMAT " ms late)",
               GST_OBJECT_NAME (GST_OBJECT_PARENT (GST_PAD_PARENT (pad))), self->dropping,
               late_us / 1000);
      self->dropping = 0;
    }
  self->last_pass_us = now;
  return GST_PAD_PROBE_OK;
}

/* @e (NULL-terminated) as the bin @name on @raw's tee, ending in the
 * encode's own tee "<name>-tee" (its encoded track), which runs first. */
static gboolean
attach_chain (LbEncode *self, LbTrack *raw, const char *name, GstElement **e, GError **error)
{
  g_autofree char *tee_name = g_strdup_printf ("%s-tee", name);
  GstElement *pipeline = lb_track_get_pipeline (raw);
  GstElement *bin = lb_media_chain_bin (name, e, error);
  if (bin == NULL)
    return FALSE;
  self->tee = lb_media_make ("tee", tee_name, error);
  if (self->tee == NULL)
    {
      gst_object_unref (bin);
      return FALSE;
    }
  g_object_set (self->tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add (GST_BIN (pipeline), gst_object_ref (self->tee));
  gst_element_sync_state_with_parent (self->tee);
  self->branch = lb_branch_attach (pipeline, lb_track_get_tee (raw), bin, self->tee, error);
  return self->branch != NULL;
}

LbEncode *
lb_encode_new (LbTrack *raw, const char *name, const LbProfile *profile,
               const LbEncoderSettings *settings, GError **error)
{
  g_autoptr (LbEncode) self = g_new0 (LbEncode, 1);
  GstElement *pipeline = lb_track_get_pipeline (raw);
  GstElement *e[9] = { NULL };

  self->raw = raw;
  /* Only video encoders exist so far; the audio work adds its chain. */
  if (lb_track_is_encoded (raw) || lb_track_get_kind (raw) != profile->kind
      || profile->kind != LB_MEDIA_VIDEO)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "%s: cannot encode %s from a %s %s track", name,
                   lb_media_kind_name (profile->kind),
                   lb_track_is_encoded (raw) ? "encoded" : "raw",
                   lb_media_kind_name (lb_track_get_kind (raw)));
      return NULL;
    }
  if (profile->fps > lb_track_get_fps (raw))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_OUT_OF_RANGE,
                   "field 'profile.fps' must not exceed the lobby's %u fps",
                   lb_track_get_fps (raw));
      return NULL;
    }

  const LbElementSpec chain[] = {
    { "queue", NULL },        { "videoscale", NULL }, { "videorate", NULL },
    { "videoconvert", NULL }, { "capsfilter", NULL }, { settings->factory, "encoder" },
    { "capsfilter", NULL },   { "h264parse", NULL },
  };
  if (!lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return NULL;

  /* A slow encoder drops its own oldest frames instead of stalling the
   * producer and with it every other encode of the lobby. */
  g_object_set (e[0], "leaky", 2 /* downstream */, "max-size-buffers", 2, "max-size-bytes", 0,
                "max-size-time", (guint64)0, NULL);
  /* Only ever drop frames to reach a lower rate; lb-encode refuses higher ones. */
  g_object_set (e[2], "drop-only", TRUE, NULL);
  g_autoptr (GstCaps) caps
      = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT,
                             (int)profile->width, "height", G_TYPE_INT, (int)profile->height,
                             "framerate", GST_TYPE_FRACTION, (int)profile->fps, 1, NULL);
  g_object_set (e[4], "caps", caps, NULL);

  settings->backend->configure (e[5], settings, profile);

  /* Browsers decode constrained baseline only (no B-frames, CAVLC): the
   * encoder negotiates its profile from these caps. */
  g_autoptr (GstCaps) h264 = gst_caps_new_empty_simple ("video/x-h264");
  if (profile->h264_profile == LB_H264_CONSTRAINED_BASELINE)
    gst_caps_set_simple (h264, "profile", G_TYPE_STRING, "constrained-baseline", NULL);
  g_object_set (e[6], "caps", h264, NULL);

  if (!attach_chain (self, raw, name, e, error))
    return NULL;
  /* Late raw frames go before they cost an encode: every viewer stays live. */
  LateFrames *late = g_new0 (LateFrames, 1);
  late->threshold_us = MAX (LATE_MIN_US, (gint64)LATE_FRAMES * G_USEC_PER_SEC / profile->fps);
  late->window_min = late->previous_min = G_MAXINT64;
  late->window_start_us = g_get_monotonic_time ();
  g_autoptr (GstPad) queue_src = gst_element_get_static_pad (e[0], "src");
  gst_pad_add_probe (queue_src, GST_PAD_PROBE_TYPE_BUFFER, drop_late_frames, late, g_free);

  /* Every key-frame request of its viewers is rate-limited on the track. */
  self->track = lb_track_new_encoded (
      pipeline, self->tee, profile,
      settings->config != NULL ? settings->config->join_keyframe_min_interval_ms : 0);
  g_debug ("%s: %s %ux%u@%u %u kbps started", name, settings->factory, profile->width,
           profile->height, profile->fps, profile->bitrate_kbps);
  return g_steal_pointer (&self);
}

/* On the main loop, once the encode's bin is stopped: nothing feeds the
 * encoded tee any more, so stopping it cannot wait. The producer may be
 * gone already (its pipeline then dropped the tee). */
static void
encode_closed (gpointer user_data)
{
  LbEncode *self = user_data;
  if (self->tee != NULL)
    {
      g_autoptr (GstObject) parent = gst_object_get_parent (GST_OBJECT (self->tee));
      gst_element_set_state (self->tee, GST_STATE_NULL);
      if (parent != NULL)
        gst_bin_remove (GST_BIN (parent), self->tee);
      gst_object_unref (self->tee);
    }
  if (self->closed != NULL)
    self->closed (self->closed_data);
  g_free (self);
}

void
lb_encode_close (LbEncode *self, LbEncodeClosedFunc closed, gpointer user_data)
{
  if (self == NULL)
    return;
  self->closed = closed;
  self->closed_data = user_data;
  /* Its viewers are gone; the track's pipeline reference must not outlive
   * the lobby while the encoder stops. */
  g_clear_pointer (&self->track, lb_track_free);
  if (self->branch != NULL)
    lb_branch_detach_async (g_steal_pointer (&self->branch), encode_closed, self);
  else
    encode_closed (self);
}

void
lb_encode_free (LbEncode *self)
{
  lb_encode_close (self, NULL, NULL);
}

void
lb_encode_request_key_frame (LbEncode *self)
{
  lb_track_request_key_frame (self->track);
}

LbTrack *
lb_encode_get_track (LbEncode *self)
{
  return self->track;
}

/* Opus at 48 kHz: what every receiver (RTP/AVP, WebRTC) decodes. */
#define AUDIO_RATE 48000
#define AUDIO_CHANNELS 2
#define AUDIO_FRAME_MS 20
/* An encode that falls behind drops its oldest raw audio past this much
 * instead of holding the producer (and its video) back. */
#define AUDIO_QUEUE_NS (200 * GST_MSECOND)

LbEncode *
lb_encode_new_audio (LbTrack *raw, const char *name, guint bitrate_kbps, GError **error)
{
  g_autoptr (LbEncode) self = g_new0 (LbEncode, 1);
  GstElement *pipeline = lb_track_get_pipeline (raw);
  GstElement *e[6] = { NULL };

  self->raw = raw;
  if (lb_track_is_encoded (raw) || lb_track_get_kind (raw) != LB_MEDIA_AUDIO)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "%s: cannot encode audio from a %s %s track",
                   name, lb_track_is_encoded (raw) ? "encoded" : "raw",
                   lb_media_kind_name (lb_track_get_kind (raw)));
      return NULL;
    }

  const LbElementSpec chain[] = {
    { "queue", NULL },      { "audioconvert", NULL }, { "audioresample", NULL },
    { "capsfilter", NULL }, { "opusenc", "encoder" },
  };
  if (!lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return NULL;
  g_object_set (e[0], "leaky", 2 /* downstream */, "max-size-buffers", 0, "max-size-bytes", 0,
                "max-size-time", (guint64)AUDIO_QUEUE_NS, NULL);
  g_autoptr (GstCaps) caps = gst_caps_new_simple ("audio/x-raw", "rate", G_TYPE_INT, AUDIO_RATE,
                                                  "channels", G_TYPE_INT, AUDIO_CHANNELS, NULL);
  g_object_set (e[3], "caps", caps, NULL);
  /* One encode serves every viewer and rtpopuspay cannot repacketize, so
   * the frame size is the packet duration everyone gets. */
  gst_util_set_object_arg (G_OBJECT (e[4]), "frame-size", "20");
  gst_util_set_object_arg (G_OBJECT (e[4]), "bandwidth", "fullband");
  g_object_set (e[4], "bitrate", (int)(bitrate_kbps * 1000), NULL);

  if (!attach_chain (self, raw, name, e, error))
    return NULL;

  LbProfile profile = {
    .codec = LB_CODEC_OPUS,
    .width = AUDIO_RATE,
    .height = AUDIO_CHANNELS,
    .fps = 1000 / AUDIO_FRAME_MS,
    .bitrate_kbps = bitrate_kbps,
    .kind = LB_MEDIA_AUDIO,
  };
  self->track = lb_track_new_encoded (pipeline, self->tee, &profile, 0);
  g_debug ("%s: opusenc %u kbps %d ms started", name, bitrate_kbps, AUDIO_FRAME_MS);
  return g_steal_pointer (&self);
}
