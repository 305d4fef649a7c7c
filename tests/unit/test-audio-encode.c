/* test-audio-encode.c — a lobby's one audio encode: a live raw audio track
 * (audiotestsrc ! caps ! tee) → lb_encode_new_audio → an encoded Opus
 * track; a viewer's branch on it gets 20 ms Opus packets that decode to
 * the tone. Real GStreamer, no lobby. */
#include "lb-encode.h"
#include "lb-error.h"
#include "lb-media-branch.h"
#include "lb-spec.h"
#include "lb-track.h"

#include <gst/audio/audio.h>

typedef struct
{
  GstElement *pipeline;
  GstElement *raw_tee;
  LbTrack *raw;
  LbEncode *encode;
  gint packets;      /* atomic: Opus buffers on the encoded tee */
  gint bad_duration; /* atomic: packets after the first that are not 20 ms */
  gint peak;         /* atomic: largest |sample| decoded by the viewer */
  gint decoded;      /* atomic: decoded buffers */
} Fixture;

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64)ms * 1000;
  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

static GstPadProbeReturn
count_packets (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Fixture *f = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  /* The first packet is shortened by the encoder's look-ahead. */
  if (g_atomic_int_add (&f->packets, 1) > 0 && GST_BUFFER_DURATION (buf) != 20 * GST_MSECOND)
    g_atomic_int_inc (&f->bad_duration);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
measure_peak (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Fixture *f = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return GST_PAD_PROBE_OK;
  const gint16 *s = (const gint16 *)map.data;
  gint peak = 0;
  for (gsize i = 0; i < map.size / 2; i++)
    peak = MAX (peak, ABS ((gint)s[i]));
  gst_buffer_unmap (buf, &map);
  g_atomic_int_inc (&f->decoded);
  gint old = g_atomic_int_get (&f->peak);
  while (peak > old && !g_atomic_int_compare_and_exchange (&f->peak, old, peak))
    old = g_atomic_int_get (&f->peak);
  return GST_PAD_PROBE_OK;
}

static gboolean
have (const char *factory)
{
  g_autoptr (GstElementFactory) f = gst_element_factory_find (factory);
  return f != NULL;
}

/* audiotestsrc is-live ! S16LE/48000/2 ! tee, PLAYING: what a producer's
 * raw audio track looks like. */
static void
fixture_setup (Fixture *f, const char *raw_caps)
{
  g_autoptr (GError) error = NULL;
  f->pipeline = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("audiotestsrc", NULL);
  GstElement *caps = gst_element_factory_make ("capsfilter", NULL);
  f->raw_tee = gst_element_factory_make ("tee", "audio-tee");
  g_object_set (src, "is-live", TRUE, "freq", 880.0, "volume", 0.5, "samplesperbuffer", 480, NULL);
  g_autoptr (GstCaps) c = gst_caps_from_string (raw_caps);
  g_object_set (caps, "caps", c, NULL);
  g_object_set (f->raw_tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (f->pipeline), src, caps, f->raw_tee, NULL);
  g_assert_true (gst_element_link_many (src, caps, f->raw_tee, NULL));
  gst_object_ref (f->raw_tee);
  gst_element_set_state (f->pipeline, GST_STATE_PLAYING);
  f->raw = lb_track_new_raw_audio (f->pipeline, f->raw_tee);
  g_assert_cmpint (lb_track_get_kind (f->raw), ==, LB_MEDIA_AUDIO);
  g_assert_false (lb_track_is_encoded (f->raw));
  (void)error;
}

static void
fixture_teardown (Fixture *f)
{
  lb_encode_free (f->encode);
  spin (200);
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  g_assert_true (lb_branch_wait_detaches (5000));
  lb_track_free (f->raw);
  gst_object_unref (f->raw_tee);
  gst_object_unref (f->pipeline);
}

static void
check_encode (const char *raw_caps)
{
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  if (!have ("opusenc") || !have ("opusdec"))
    {
      g_test_skip ("no opusenc/opusdec");
      return;
    }
  fixture_setup (&f, raw_caps);
  f.encode = lb_encode_new_audio (f.raw, "audio-encode-test", 96, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f.encode);
  LbTrack *encoded = lb_encode_get_track (f.encode);
  g_assert_nonnull (encoded);
  g_assert_cmpint (lb_track_get_kind (encoded), ==, LB_MEDIA_AUDIO);
  g_assert_true (lb_track_is_encoded (encoded));
  const LbProfile *profile = lb_track_get_profile (encoded);
  g_assert_cmpint (profile->kind, ==, LB_MEDIA_AUDIO);
  g_assert_cmpint (profile->codec, ==, LB_CODEC_OPUS);
  g_assert_cmpuint (profile->bitrate_kbps, ==, 96);
  /* Audio has no key frames: asking is harmless. */
  lb_encode_request_key_frame (f.encode);

  g_autoptr (GstPad) tee_sink = gst_element_get_static_pad (lb_track_get_tee (encoded), "sink");
  gst_pad_add_probe (tee_sink, GST_PAD_PROBE_TYPE_BUFFER, count_packets, &f, NULL);

  /* A viewer's branch, as an output attaches it: decode what it gets. */
  GstElement *queue = gst_element_factory_make ("queue", NULL);
  GstElement *dec = gst_element_factory_make ("opusdec", NULL);
  GstElement *conv = gst_element_factory_make ("audioconvert", NULL);
  GstElement *caps = gst_element_factory_make ("capsfilter", NULL);
  GstElement *sink = gst_element_factory_make ("fakesink", NULL);
  g_autoptr (GstCaps) s16 = gst_caps_from_string ("audio/x-raw,format=S16LE");
  g_object_set (caps, "caps", s16, NULL);
  g_object_set (sink, "async", FALSE, "sync", FALSE, NULL);
  g_autoptr (GstPad) sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (sink_pad, GST_PAD_PROBE_TYPE_BUFFER, measure_peak, &f, NULL);
  GstElement *chain[] = { queue, dec, conv, caps, sink, NULL };
  LbBranch *viewer = lb_track_attach (encoded, "session-x-audio", chain, &error);
  g_assert_no_error (error);
  g_assert_nonnull (viewer);

  /* 20 ms packets: ~50 per second. */
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_atomic_int_get (&f.packets) < 5 && g_get_monotonic_time () < end)
    spin (20);
  gint start = g_atomic_int_get (&f.packets);
  spin (1000);
  gint per_second = g_atomic_int_get (&f.packets) - start;
  g_test_message ("%d Opus packets in 1 s, %d decoded buffers, peak %d", per_second,
                  g_atomic_int_get (&f.decoded), g_atomic_int_get (&f.peak));
  g_assert_cmpint (per_second, >=, 25);
  g_assert_cmpint (per_second, <=, 100);
  g_assert_cmpint (g_atomic_int_get (&f.bad_duration), ==, 0);

  /* The caps say what receivers are told: Opus 48 kHz stereo. */
  g_autoptr (GstCaps) out_caps = gst_pad_get_current_caps (tee_sink);
  g_assert_nonnull (out_caps);
  GstStructure *st = gst_caps_get_structure (out_caps, 0);
  g_assert_cmpstr (gst_structure_get_name (st), ==, "audio/x-opus");
  gint rate = 0, channels = 0;
  g_assert_true (gst_structure_get_int (st, "rate", &rate));
  g_assert_true (gst_structure_get_int (st, "channels", &channels));
  g_assert_cmpint (rate, ==, 48000);
  g_assert_cmpint (channels, ==, 2);

  /* The tone (0.5 full scale) comes out of the decoder, not silence. */
  g_assert_cmpint (g_atomic_int_get (&f.decoded), >, 10);
  g_assert_cmpint (g_atomic_int_get (&f.peak), >, 32767 / 4);

  lb_branch_detach_async (viewer, NULL, NULL);
  fixture_teardown (&f);
}

static void
test_encode_s16_stereo (void)
{
  check_encode ("audio/x-raw,format=S16LE,rate=48000,channels=2");
}

/* Whatever a sound server delivers (another rate, mono) is converted. */
static void
test_encode_converts (void)
{
  check_encode ("audio/x-raw,format=S16LE,rate=44100,channels=1");
}

static void
test_refuses_video_track (void)
{
  g_autoptr (GError) error = NULL;
  GstElement *pipeline = gst_pipeline_new (NULL);
  GstElement *tee = gst_element_factory_make ("tee", NULL);
  gst_bin_add (GST_BIN (pipeline), tee);
  LbTrack *video = lb_track_new_raw_video (pipeline, tee, 30);
  LbEncode *encode = lb_encode_new_audio (video, "audio-encode-x", 96, &error);
  g_assert_null (encode);
  g_assert_error (error, LB_ERROR, LB_ERROR_MEDIA);
  lb_track_free (video);
  gst_object_unref (pipeline);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/audio-encode/s16-stereo", test_encode_s16_stereo);
  g_test_add_func ("/audio-encode/converts", test_encode_converts);
  g_test_add_func ("/audio-encode/refuses-video-track", test_refuses_video_track);
  return g_test_run ();
}
