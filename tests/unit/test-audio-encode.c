/* test-audio-encode.c — a lobby's one audio encode: a live raw audio track
 * (audiotestsrc ! caps ! tee) → lb_encode_new_audio → an encoded Opus
 * track; a viewer's branch on it gets 20 ms Opus packets that decode to
 * the tone. Real GStreamer, no lobby. */
#include "lb-config.h"
#include "lb-encode.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-media-branch.h"
#include "lb-output-impl.h"
#include "lb-rtcp.h"
#include "lb-spec.h"
#include "lb-track.h"
#include "test-util.h"

#include <gio/gio.h>
#include <gst/audio/audio.h>
#include <string.h>

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
  test_spin (200);
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
    test_spin (20);
  gint start = g_atomic_int_get (&f.packets);
  test_spin (1000);
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

/* Four consecutive UDP ports on 127.0.0.1 (video RTP, RTCP, audio RTP,
 * RTCP), bound: what a receiver opening the SDP listens on. */
static guint
bind_ports (GSocket **socks, guint n)
{
  for (guint attempt = 0; attempt < 50; attempt++)
    {
      guint base = g_random_int_range (20000, 60000) & ~1u;
      guint i;
      for (i = 0; i < n; i++)
        {
          socks[i] = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                   G_SOCKET_PROTOCOL_UDP, NULL);
          g_autoptr (GSocketAddress) a
              = g_inet_socket_address_new_from_string ("127.0.0.1", base + i);
          if (!g_socket_bind (socks[i], a, FALSE, NULL))
            break;
          g_socket_set_blocking (socks[i], FALSE);
        }
      if (i == n)
        return base;
      for (guint j = 0; j <= i && j < n; j++)
        g_clear_object (&socks[j]);
    }
  g_assert_not_reached ();
}

static guint32
get32 (const guint8 *p)
{
  return ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
}

typedef struct
{
  guint rtp, sr;
  guint32 rtp_ssrc, sr_ssrc;
  guint8 pt;
  guint32 sr_rtp_ts;
  gint64 sr_unix_us;
} Received;

static void
drain (GSocket *rtp, GSocket *rtcp, Received *r)
{
  guint8 buf[2048];
  gssize n;
  while ((n = g_socket_receive (rtp, (char *)buf, sizeof buf, NULL, NULL)) >= 12)
    {
      r->rtp++;
      r->pt = buf[1] & 0x7f;
      r->rtp_ssrc = get32 (buf + 8);
    }
  while ((n = g_socket_receive (rtcp, (char *)buf, sizeof buf, NULL, NULL)) >= 28)
    {
      if (buf[1] != 200)
        continue;
      r->sr++;
      r->sr_ssrc = get32 (buf + 4);
      guint64 secs = get32 (buf + 8), frac = get32 (buf + 12);
      r->sr_unix_us
          = (gint64)(secs - 2208988800u) * G_USEC_PER_SEC + (gint64)((frac * G_USEC_PER_SEC) >> 32);
      r->sr_rtp_ts = get32 (buf + 16);
    }
}

/* When, by @r's last SR, running time 0 was on the wall clock: the SR maps
 * (NTP, RTP ts), the payloader stamps offset + running time × rate. */
static gint64
sr_zero_us (const Received *r, GstElement *payloader, guint rate)
{
  g_autoptr (GstPad) src = gst_element_get_static_pad (payloader, "src");
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (src);
  guint offset = 0;
  g_assert_true (
      gst_structure_get_uint (gst_caps_get_structure (caps, 0), "timestamp-offset", &offset));
  guint32 ticks = r->sr_rtp_ts - offset;
  return r->sr_unix_us - (gint64)ticks * G_USEC_PER_SEC / rate;
}

static GstElement *
find_payloader (LbBranch *branch, const char *factory)
{
  GstElement *bin = lb_branch_get_bin (branch);
  g_autoptr (GstIterator) it = gst_bin_iterate_elements (GST_BIN (bin));
  GValue v = G_VALUE_INIT;
  GstElement *found = NULL;
  while (gst_iterator_next (it, &v) == GST_ITERATOR_OK)
    {
      GstElement *e = g_value_get_object (&v);
      if (g_str_equal (GST_OBJECT_NAME (gst_element_get_factory (e)), factory))
        found = e;
      g_value_reset (&v);
    }
  g_value_unset (&v);
  return found;
}

/* A video tee fed by x264: an encoded video track for the output. */
static GstElement *
add_video (GstElement *pipeline, const char *tee_name)
{
  GstElement *src = gst_element_factory_make ("videotestsrc", NULL);
  GstElement *caps = gst_element_factory_make ("capsfilter", NULL);
  GstElement *enc = gst_element_factory_make ("x264enc", NULL);
  GstElement *parse = gst_element_factory_make ("h264parse", NULL);
  GstElement *tee = gst_element_factory_make ("tee", tee_name);
  g_object_set (src, "is-live", TRUE, NULL);
  g_autoptr (GstCaps) c = gst_caps_from_string ("video/x-raw,width=64,height=48,framerate=30/1");
  g_object_set (caps, "caps", c, NULL);
  gst_util_set_object_arg (G_OBJECT (enc), "tune", "zerolatency");
  gst_util_set_object_arg (G_OBJECT (enc), "speed-preset", "ultrafast");
  g_object_set (enc, "key-int-max", 30, NULL);
  g_object_set (tee, "allow-not-linked", TRUE, NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, caps, enc, parse, tee, NULL);
  g_assert_true (gst_element_link_many (src, caps, enc, parse, tee, NULL));
  gst_element_sync_state_with_parent (tee);
  gst_element_sync_state_with_parent (parse);
  gst_element_sync_state_with_parent (enc);
  gst_element_sync_state_with_parent (caps);
  gst_element_sync_state_with_parent (src);
  return tee;
}

/* The RTP transport with the lobby's audio: a second m-line, Opus packets
 * at audio port (port + 2), SRs for both streams at port + 1 / + 3 whose
 * (NTP, RTP) pairs put both streams' running time 0 at the same wall clock
 * time (what lets ffmpeg sync them), audio stats, and audio that stays when
 * the video branch moves to another encode. */
static void
test_rtp_output_audio (void)
{
  Fixture f = { 0 };
  g_autoptr (GError) error = NULL;
  if (!have ("opusenc") || !have ("x264enc") || !have ("rtpopuspay"))
    {
      g_test_skip ("no opusenc/x264enc/rtpopuspay");
      return;
    }
  fixture_setup (&f, "audio/x-raw,format=S16LE,rate=48000,channels=2");
  f.encode = lb_encode_new_audio (f.raw, "audio-encode-test", 96, &error);
  g_assert_no_error (error);
  GstElement *vtee = add_video (f.pipeline, "video-tee");
  GstElement *vtee2 = add_video (f.pipeline, "video-tee-2");
  LbProfile profile = { LB_CODEC_H264, LB_H264_ANY, 64, 48, 30, 300 };
  LbTrack *video = lb_track_new_encoded (f.pipeline, vtee, &profile, 0);
  LbTrack *video2 = lb_track_new_encoded (f.pipeline, vtee2, &profile, 0);

  GSocket *socks[4];
  guint base = bind_ports (socks, 4);
  g_autoptr (LbConfig) config = lb_config_new_default ();
  g_autofree char *req
      = g_strdup_printf ("{\"transport\":\"rtp\",\"destination\":{\"host\":\"127.0.0.1\","
                         "\"port\":%u}}",
                         base);
  g_autoptr (JsonNode) node = json_from_string (req, &error);
  g_assert_no_error (error);
  g_autoptr (LbLobbySpec) lobby = lb_lobby_spec_new_default ();
  g_autoptr (LbSessionSpec) spec
      = lb_output_spec_from_json (json_node_get_object (node), lobby, &error);
  g_assert_no_error (error);
  const LbOutputClass *klass = lb_output_class_lookup ("rtp", &error);
  g_assert_true (klass->check (spec, config, &error));
  g_assert_no_error (error);
  LbOutputSetup setup = {
    .name = "session-t",
    .config = config,
    .audio = lb_encode_get_track (f.encode),
  };
  LbOutput *output = klass->open (video, spec, &setup, &error);
  g_assert_no_error (error);
  g_assert_nonnull (output);
  g_assert_nonnull (lb_output_get_audio_branch (output));
  GstElement *apay = find_payloader (lb_output_get_audio_branch (output), "rtpopuspay");
  GstElement *vpay = find_payloader (lb_output_get_branch (output), "rtph264pay");
  g_assert_nonnull (apay);
  g_assert_nonnull (vpay);

  Received v = { 0 }, a = { 0 };
  gint64 end = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  while ((v.sr < 2 || a.sr < 2 || v.rtp < 10 || a.rtp < 50) && g_get_monotonic_time () < end)
    {
      test_spin (50);
      drain (socks[0], socks[1], &v);
      drain (socks[2], socks[3], &a);
    }
  g_test_message ("video %u RTP %u SR, audio %u RTP %u SR", v.rtp, v.sr, a.rtp, a.sr);
  g_assert_cmpuint (a.rtp, >=, 50);
  g_assert_cmpuint (a.pt, ==, 97);
  g_assert_cmpuint (v.pt, ==, 96);
  g_assert_cmpuint (v.sr, >=, 2);
  g_assert_cmpuint (a.sr, >=, 2);
  g_assert_cmpuint (v.sr_ssrc, ==, v.rtp_ssrc);
  g_assert_cmpuint (a.sr_ssrc, ==, a.rtp_ssrc);
  g_assert_cmpuint (a.rtp_ssrc, !=, v.rtp_ssrc);

  /* Both SRs say running time 0 was at the same wall clock time. */
  gint64 vz = sr_zero_us (&v, vpay, 90000), az = sr_zero_us (&a, apay, 48000);
  g_test_message ("running time 0: video %" G_GINT64_FORMAT " audio %" G_GINT64_FORMAT
                  " (%+.1f ms)",
                  vz, az, (az - vz) / 1000.0);
  g_assert_cmpint (ABS (az - vz), <, 20000);
  /* And near when it really was (the SR is NTP now, at most a tick late). */
  g_assert_cmpint (ABS (vz
                        - (g_get_real_time ()
                           - (gint64)(gst_clock_get_time (GST_ELEMENT_CLOCK (f.pipeline))
                                      - gst_element_get_base_time (f.pipeline))
                                 / 1000)),
                   <, 50000);

  /* The SDP: video, then audio at port + 2. */
  g_autofree char *sdp = lb_output_get_sdp (output);
  g_autofree char *mline = g_strdup_printf ("m=audio %u RTP/AVP 97\r\n", base + 2);
  g_assert_nonnull (strstr (sdp, "m=video"));
  g_assert_nonnull (strstr (sdp, mline));
  g_assert_true (strstr (sdp, "m=video") < strstr (sdp, "m=audio"));
  g_assert_nonnull (strstr (sdp, "a=rtpmap:97 OPUS/48000/2\r\n"));
  g_assert_nonnull (strstr (sdp, "a=fmtp:97 sprop-stereo=1\r\n"));

  /* Stats: audio counted on its own. */
  g_autoptr (JsonObject) stats = lb_output_stats_to_json (output);
  JsonObject *as = json_object_get_object_member (stats, "audio");
  g_assert_nonnull (as);
  g_assert_cmpint (json_object_get_int_member (as, "packets_sent"), >=, 50);
  g_assert_cmpint (json_object_get_int_member (as, "bytes_sent"), >, 0);
  g_assert_cmpint (json_object_get_int_member (as, "payload_type"), ==, 97);
  g_assert_cmpint (json_object_get_int_member (as, "ssrc"), ==, a.rtp_ssrc);
  g_assert_cmpint (json_object_get_int_member (stats, "rtcp_sr_sent"), >=, 4);

  /* An encoder move takes the video branch only: audio goes on, same SSRC. */
  g_assert_true (lb_output_move (output, video2, &error));
  g_assert_no_error (error);
  guint before = a.rtp;
  test_spin (1000);
  drain (socks[0], socks[1], &v);
  drain (socks[2], socks[3], &a);
  g_assert_cmpuint (a.rtp - before, >=, 25);
  g_assert_cmpint (json_object_get_int_member (as, "ssrc"), ==, a.rtp_ssrc);

  lb_output_close (output);
  test_spin (300);
  lb_track_free (video);
  lb_track_free (video2);
  for (guint i = 0; i < 4; i++)
    g_object_unref (socks[i]);
  fixture_teardown (&f);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/audio-encode/s16-stereo", test_encode_s16_stereo);
  g_test_add_func ("/audio-encode/converts", test_encode_converts);
  g_test_add_func ("/audio-encode/refuses-video-track", test_refuses_video_track);
  g_test_add_func ("/audio-encode/rtp-output", test_rtp_output_audio);
  return g_test_run ();
}
