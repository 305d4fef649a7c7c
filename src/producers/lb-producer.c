/* lb-producer.c — a lobby's video producer: a test pattern (videotestsrc ! caps !
 * clockoverlay ! tee) or a desktop's X display (ximagesrc ! … ! caps ! tee),
 * and its audio: a bin "audio-source" (a gated tone, or the desktop's sound
 * server's monitor) ! tee "audio-tee".
 *
 * The pipeline always runs on the system clock: a pulsesrc that provided the
 * clock would stop it, and the video, when its sound server dies. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-producer.h"
#include "lb-error.h"
#include "lb-log.h"
#include "lb-media-branch.h"
#include "lb-spec.h"
#include "lb-track.h"

#include <gst/audio/audio.h>
#include <gst/video/video.h>
#include <string.h>

#define AUDIO_RATE 48000
/* The beep and the flash: the first 100 ms of every second of running time. */
#define BEEP_NS (100 * GST_MSECOND)
/* A source that delivers nothing this long is restarted, and after
 * STALL_RESTARTS restarts that did not help, failed: a capture that stalls
 * must not leave viewers with silence and no word of why. Seen: a pulsesrc
 * that reached PLAYING but whose ring buffer never started (rarely, with
 * two sound servers starting at once). */
#define STALL_S 3
#define STALL_RESTARTS 3

struct _LbProducer
{
  char *lobby_id;
  GstElement *pipeline;
  LbTrack *video; /* the raw-video tee */
  guint bus_watch;
  LbMediaErrorFunc on_error;
  LbAudioFailedFunc on_audio_failed;
  gpointer user_data;
  /* Audio: the source bin stays in the pipeline after a failure, locked in
   * NULL, so late messages from it still resolve to "audio-source". */
  GstElement *audio_bin;
  LbTrack *audio; /* the raw-audio tee */
  char *audio_error;
  guint64 audio_buffers; /* atomic: raw audio buffers out of the source */
  guint64 audio_seen;    /* the count at the last watchdog tick */
  guint audio_idle_s, audio_restarts;
  guint audio_watchdog;
  GstPad *audio_out; /* the source bin's src, counted by a probe */
  gulong audio_probe;
  GstVideoInfo video_info; /* for the flash */
};

static void
set_null (GstElement *element, gpointer user_data)
{
  gst_element_set_state (element, GST_STATE_NULL);
}

/* Stops the audio source for good, without touching the video. The state
 * change runs off the main loop: a pulsesrc may take its time to let go. */
static gboolean
audio_fail (LbProducer *self, const char *message)
{
  if (self->audio_error != NULL)
    return FALSE;
  self->audio_error = g_strdup (message);
  gst_element_set_locked_state (self->audio_bin, TRUE);
  gst_element_call_async (self->audio_bin, set_null, NULL, NULL);
  return TRUE;
}

static GstPadProbeReturn
count_audio (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbProducer *self = user_data;
  __atomic_fetch_add (&self->audio_buffers, 1, __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

static void
restart_source (GstElement *bin, gpointer user_data)
{
  gst_element_set_state (bin, GST_STATE_NULL);
  gst_element_sync_state_with_parent (bin);
}

/* Once a second, on the main loop: is the audio source delivering? */
static gboolean
audio_watchdog (gpointer user_data)
{
  LbProducer *self = user_data;
  guint64 now = __atomic_load_n (&self->audio_buffers, __ATOMIC_RELAXED);

  if (self->audio_error != NULL)
    {
      self->audio_watchdog = 0;
      return G_SOURCE_REMOVE;
    }
  if (now != self->audio_seen)
    {
      self->audio_seen = now;
      self->audio_idle_s = 0;
      return G_SOURCE_CONTINUE;
    }
  if (++self->audio_idle_s < STALL_S)
    return G_SOURCE_CONTINUE;
  self->audio_idle_s = 0;
  if (self->audio_restarts++ < STALL_RESTARTS)
    {
      lb_log_lobby (G_LOG_LEVEL_MESSAGE, self->lobby_id,
                    "lobby %s: no sound from the audio source for %d s: restarting it (%u of %d)",
                    self->lobby_id, STALL_S, self->audio_restarts, STALL_RESTARTS);
      gst_element_call_async (self->audio_bin, restart_source, NULL, NULL);
      return G_SOURCE_CONTINUE;
    }
  g_autofree char *message = g_strdup_printf ("audio source: no sound for %d s after %d restarts",
                                              STALL_S, STALL_RESTARTS);
  lb_log_lobby (G_LOG_LEVEL_WARNING, self->lobby_id, "lobby %s: %s", self->lobby_id, message);
  self->audio_watchdog = 0;
  if (audio_fail (self, message) && self->on_audio_failed != NULL)
    self->on_audio_failed (message, self->user_data);
  return G_SOURCE_REMOVE;
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  LbProducer *self = user_data;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    {
      g_autoptr (GError) err = NULL;
      g_autofree char *debug = NULL;
      gst_message_parse_error (msg, &err, &debug);
      GstElement *top = lb_media_top_child (self->pipeline, GST_MESSAGE_SRC (msg));
      const char *name = top != NULL ? GST_ELEMENT_NAME (top) : "?";
      gboolean in_branch = top != NULL && GST_IS_BIN (top);

      if (top != NULL && top == self->audio_bin)
        {
          g_autofree char *message = g_strdup_printf ("audio source: %s", err->message);
          if (!audio_fail (self, message))
            {
              /* What stopping a source on a dead server says after its first error. */
              g_debug ("lobby %s: after the audio failure: %s", self->lobby_id, err->message);
              return G_SOURCE_CONTINUE;
            }
          lb_log_lobby (G_LOG_LEVEL_WARNING, self->lobby_id,
                        "lobby %s: audio source failed: %s (%s)", self->lobby_id, err->message,
                        debug ? debug : "");
          if (self->on_audio_failed != NULL)
            self->on_audio_failed (message, self->user_data);
          return G_SOURCE_CONTINUE;
        }

      lb_log_lobby (G_LOG_LEVEL_WARNING, self->lobby_id, "lobby %s: error from %s: %s (%s)",
                    self->lobby_id, name, err->message, debug ? debug : "");
      if (self->on_error != NULL)
        self->on_error (in_branch ? name : NULL, err, self->user_data);
    }
  return G_SOURCE_CONTINUE;
}

/* Silences every sample of the tone outside the first 100 ms of each
 * second of its buffer's running time (PTS): a beep per second, at the
 * same instants as the flash. */
static GstPadProbeReturn
gate_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;

  if (!GST_BUFFER_PTS_IS_VALID (buf))
    return GST_PAD_PROBE_OK;
  buf = gst_buffer_make_writable (buf);
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  if (!gst_buffer_map (buf, &map, GST_MAP_READWRITE))
    return GST_PAD_PROBE_OK;
  gint16 *samples = (gint16 *)map.data;
  GstClockTime pts = GST_BUFFER_PTS (buf);
  if (GST_BUFFER_OFFSET (buf) == 0)
    {
      /* The beep is only where the flash is if the tone is stamped with the
       * running time (timestamp-offset above). */
      GstElement *parent = GST_ELEMENT (gst_pad_get_parent (pad));
      GstClockTime now = parent ? gst_element_get_current_running_time (parent) : 0;
      g_debug ("first tone buffer: pts %" GST_TIME_FORMAT ", running time %" GST_TIME_FORMAT,
               GST_TIME_ARGS (pts), GST_TIME_ARGS (now));
      g_clear_object (&parent);
    }
  for (gsize i = 0; i < map.size / 4; i++)
    if ((pts + gst_util_uint64_scale_int (i, GST_SECOND, AUDIO_RATE)) % GST_SECOND >= BEEP_NS)
      samples[2 * i] = samples[2 * i + 1] = 0;
  gst_buffer_unmap (buf, &map);
  return GST_PAD_PROBE_OK;
}

/* Paints the bottom eighth of the test pattern white (Y 235, U = V = 128)
 * in frames whose PTS is within the beep. */
static GstPadProbeReturn
flash_probe (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbProducer *self = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstVideoFrame frame;

  if (!GST_BUFFER_PTS_IS_VALID (buf) || GST_BUFFER_PTS (buf) % GST_SECOND >= BEEP_NS)
    return GST_PAD_PROBE_OK;
  buf = gst_buffer_make_writable (buf);
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  if (!gst_video_frame_map (&frame, &self->video_info, buf, GST_MAP_WRITE))
    return GST_PAD_PROBE_OK;
  for (guint c = 0; c < 3; c++)
    {
      guint h = GST_VIDEO_FRAME_COMP_HEIGHT (&frame, c);
      guint w = GST_VIDEO_FRAME_COMP_WIDTH (&frame, c);
      guint stride = GST_VIDEO_FRAME_COMP_STRIDE (&frame, c);
      guint8 *data = GST_VIDEO_FRAME_COMP_DATA (&frame, c);
      for (guint y = h - h / 8; y < h; y++)
        memset (data + (gsize)y * stride, c == 0 ? 235 : 128, w);
    }
  gst_video_frame_unmap (&frame);
  return GST_PAD_PROBE_OK;
}

/* bin "audio-source": the lobby's sound as S16LE 48 kHz stereo. */
static GstElement *
make_audio_bin (LbProducer *self, const char *pulse_server, GError **error)
{
  static const LbElementSpec tone_specs[] = {
    { "audiotestsrc", "audio-src" },
    { "capsfilter", "audio-caps" },
  };
  static const LbElementSpec pulse_specs[] = {
    { "pulsesrc", "audio-src" },
    { "audioconvert", NULL },
    { "audioresample", NULL },
    { "capsfilter", "audio-caps" },
  };
  const LbElementSpec *specs = pulse_server ? pulse_specs : tone_specs;
  guint n = pulse_server ? G_N_ELEMENTS (pulse_specs) : G_N_ELEMENTS (tone_specs);
  GstElement *e[G_N_ELEMENTS (pulse_specs) + 1] = { NULL };

  if (!lb_media_make_all (specs, n, e, error))
    return NULL;
  GstElement *src = e[0], *caps = e[n - 1];
  if (pulse_server != NULL)
    /* provide-clock=false: the pipeline keeps the system clock (above).
     * The server address is lobbyd's own (lb-sound-server), never request text. */
    g_object_set (src, "server", pulse_server, "device", "lobby.monitor", "provide-clock", FALSE,
                  "latency-time", (gint64)10000, "client-name", "lobbyd", NULL);
  else
    {
      /* Started into a running pipeline: its timestamps start at the
       * running time of now, not 0, so that a live source is not behind. */
      GstClock *clock = gst_element_get_clock (self->pipeline);
      GstClockTime now = clock ? gst_clock_get_time (clock) : GST_CLOCK_TIME_NONE;
      GstClockTime base = gst_element_get_base_time (self->pipeline);
      gint64 offset = GST_CLOCK_TIME_IS_VALID (now) && now > base ? (gint64)(now - base) : 0;
      g_clear_object (&clock);
      gst_util_set_object_arg (G_OBJECT (src), "wave", "sine");
      g_object_set (src, "is-live", TRUE, "freq", 880.0, "volume", 0.5, "samplesperbuffer", 480,
                    "timestamp-offset", offset, NULL);
    }
  g_autoptr (GstCaps) raw = gst_caps_new_simple (
      "audio/x-raw", "format", G_TYPE_STRING, "S16LE", "rate", G_TYPE_INT, AUDIO_RATE, "channels",
      G_TYPE_INT, 2, "layout", G_TYPE_STRING, "interleaved", NULL);
  g_object_set (caps, "caps", raw, NULL);
  if (pulse_server == NULL)
    {
      g_autoptr (GstPad) pad = gst_element_get_static_pad (caps, "src");
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, gate_probe, NULL, NULL);
    }
  GstElement *bin = gst_bin_new ("audio-source");
  for (guint i = 0; i < n; i++)
    gst_bin_add (GST_BIN (bin), e[i]);
  for (guint i = 0; i + 1 < n; i++)
    if (!gst_element_link (e[i], e[i + 1]))
      {
        g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "cannot link %s", GST_ELEMENT_NAME (e[i]));
        gst_object_unref (gst_object_ref_sink (bin));
        return NULL;
      }
  g_autoptr (GstPad) src_pad = gst_element_get_static_pad (caps, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", src_pad));
  return bin;
}

/* Adds the audio source and its tee to the running pipeline. FALSE (and
 * @self->audio_error) if it does not start; the video is not affected. */
static gboolean
start_audio (LbProducer *self, const char *pulse_server)
{
  g_autoptr (GError) error = NULL;
  GstElement *bin = make_audio_bin (self, pulse_server, &error);
  if (bin == NULL)
    {
      self->audio_error = g_strdup_printf ("audio source: %s", error->message);
      return FALSE;
    }
  GstElement *tee = gst_element_factory_make ("tee", "audio-tee");
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (self->pipeline), tee, bin, NULL);
  self->audio_bin = bin;
  if (!gst_element_link (bin, tee) || !gst_element_sync_state_with_parent (tee))
    {
      audio_fail (self, "audio source: cannot link it");
      return FALSE;
    }
  self->audio = lb_track_new_raw_audio (self->pipeline, tee);
  self->audio_out = gst_element_get_static_pad (bin, "src");
  self->audio_probe
      = gst_pad_add_probe (self->audio_out, GST_PAD_PROBE_TYPE_BUFFER, count_audio, self, NULL);
  if (!gst_element_sync_state_with_parent (bin))
    {
      /* Its error message (e.g. the server refused) is logged by the bus watch. */
      audio_fail (self, "audio source: it did not start (see the log)");
      g_clear_pointer (&self->audio, lb_track_free);
      return FALSE;
    }
  self->audio_watchdog = g_timeout_add_seconds (1, audio_watchdog, self);
  return TRUE;
}

LbProducer *
lb_producer_new (const char *lobby_id, const LbLobbySpec *spec, const char *display,
                 const char *pulse_server, LbMediaErrorFunc on_error,
                 LbAudioFailedFunc on_audio_failed, gpointer user_data, GError **error)
{
  g_autoptr (LbProducer) self = g_new0 (LbProducer, 1);
  g_autofree char *pipeline_name = g_strdup_printf ("lobby-%s", lobby_id);
  GstElement *src, *caps, *tee;

  self->lobby_id = g_strdup (lobby_id);
  self->on_error = on_error;
  self->on_audio_failed = on_audio_failed;
  self->user_data = user_data;
  self->pipeline = gst_pipeline_new (pipeline_name);
  gst_object_ref_sink (self->pipeline);
  g_autoptr (GstClock) clock = gst_system_clock_obtain ();
  gst_pipeline_use_clock (GST_PIPELINE (self->pipeline), clock);
  lb_media_track_pipeline (self->pipeline);

  /* A desktop is captured from its X display; a test pattern gets a clock
   * drawn on it. Either way the raw tee sees I420 at the lobby's size/rate. */
  static const LbElementSpec test_specs[] = {
    { "videotestsrc", "source" },
    { "capsfilter", "source-caps" },
    { "clockoverlay", "clock" },
    { "tee", "raw-tee" },
  };
  static const LbElementSpec x11_specs[] = {
    { "ximagesrc", "source" }, { "videoconvert", NULL },        { "videoscale", NULL },
    { "videorate", NULL },     { "capsfilter", "source-caps" }, { "tee", "raw-tee" },
  };
  const LbElementSpec *specs = display ? x11_specs : test_specs;
  guint n = display ? G_N_ELEMENTS (x11_specs) : G_N_ELEMENTS (test_specs);
  GstElement *e[G_N_ELEMENTS (x11_specs)] = { NULL };
  if (!lb_media_make_all (specs, n, e, error))
    return NULL;
  src = e[0];
  caps = display ? e[4] : e[1];
  tee = e[n - 1];

  g_autoptr (GstCaps) raw = gst_caps_new_simple (
      "video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT, (int)spec->width,
      "height", G_TYPE_INT, (int)spec->height, "framerate", GST_TYPE_FRACTION, (int)spec->fps, 1,
      "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1, NULL);
  g_object_set (caps, "caps", raw, NULL);
  if (display != NULL)
    /* use-damage=false: whole frames, so every frame is complete for the encoder. */
    g_object_set (src, "display-name", display, "use-damage", FALSE, "show-pointer", TRUE, NULL);
  else
    {
      /* is-live: frames are produced at the lobby's rate in real time, like a
       * desktop, not as fast as the CPU allows. The pattern is an enumeration
       * value checked by lb-spec, never request text. */
      g_object_set (src, "is-live", TRUE, NULL);
      gst_util_set_object_arg (G_OBJECT (src), "pattern", spec->pattern);
      g_object_set (e[2], "time-format", "%H:%M:%S", "shaded-background", TRUE, "font-desc",
                    "Sans 36", NULL);
    }
  /* With no viewer the source must keep running, not stall on not-linked. */
  g_object_set (tee, "allow-not-linked", TRUE, NULL);

  for (guint i = 0; i < n; i++)
    gst_bin_add (GST_BIN (self->pipeline), e[i]);
  for (guint i = 0; i + 1 < n; i++)
    if (!gst_element_link (e[i], e[i + 1]))
      {
        g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s: cannot link the producer",
                     lobby_id);
        return NULL;
      }
  self->video = lb_track_new_raw_video (self->pipeline, tee, spec->fps);
  gboolean tone = spec->audio && display == NULL;
  if (tone)
    {
      g_autoptr (GstPad) pad = gst_element_get_static_pad (caps, "src");
      gst_video_info_set_format (&self->video_info, GST_VIDEO_FORMAT_I420, spec->width,
                                 spec->height);
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, flash_probe, self, NULL);
    }

  g_autoptr (GstBus) bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);

  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_MEDIA, "lobby %s: producer failed to start", lobby_id);
      return NULL;
    }
  if ((tone || pulse_server != NULL) && !start_audio (self, tone ? NULL : pulse_server))
    lb_log_lobby (G_LOG_LEVEL_WARNING, lobby_id, "lobby %s: no sound: %s", lobby_id,
                  self->audio_error);
  g_debug ("lobby %s: producer %ux%u@%u (%s) started", lobby_id, spec->width, spec->height,
           spec->fps, display ? display : spec->pattern);
  return g_steal_pointer (&self);
}

void
lb_producer_free (LbProducer *self)
{
  if (self == NULL)
    return;
  if (self->bus_watch != 0)
    g_source_remove (self->bus_watch);
  g_clear_handle_id (&self->audio_watchdog, g_source_remove);
  /* A failed source may still be stopping on its own (audio_fail): the
   * probe must not outlive @self. */
  if (self->audio_out != NULL)
    gst_pad_remove_probe (self->audio_out, self->audio_probe);
  g_clear_object (&self->audio_out);
  /* A failed audio source stays locked: the pipeline's way down passes
   * PAUSED, which would have it reconnect to a dead server and fail the
   * whole state change. Its own set_null (audio_fail) takes it to NULL and
   * holds a reference until then. */
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_pointer (&self->audio, lb_track_free);
  g_clear_pointer (&self->video, lb_track_free);
  g_free (self->audio_error);
  gst_object_unref (self->pipeline);
  g_free (self->lobby_id);
  g_free (self);
}

GstElement *
lb_producer_get_pipeline (LbProducer *self)
{
  return self->pipeline;
}

LbTrack *
lb_producer_get_track (LbProducer *self, LbMediaKind kind)
{
  return kind == LB_MEDIA_VIDEO ? self->video : kind == LB_MEDIA_AUDIO ? self->audio : NULL;
}

const char *
lb_producer_get_audio_error (LbProducer *self)
{
  return self->audio_error;
}
