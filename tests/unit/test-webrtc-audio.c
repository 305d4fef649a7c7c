/* Unit tests for WebRTC audio (issue 12) on both stacks: a viewer whose
 * offer has Opus in an audio m-line gets it answered next to the video
 * (BUNDLEd, its own SSRC, one msid stream "lobbyd" for lip-sync) and an
 * audio branch on the lobby's encoded audio; without lobby audio, without
 * Opus or outside the BUNDLE group the m-line is rejected (port 0). Real
 * encoders (x264enc, opusenc) on a live test pattern and tone; the lite
 * sockets and libnice only on 127.0.0.1, and the offers carry no
 * candidates, so nothing is sent anywhere. */
#include "lb-config.h"
#include "lb-error.h"
#include "lb-media-branch.h"
#include "lb-output-impl.h"
#include "lb-spec.h"
#include "lb-track.h"
#include "lb-webrtc-host.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <string.h>

/* Debian's chromium's offer for web/viewer.js (recvonly video, then
 * recvonly audio), trimmed to the formats that matter, no candidates. */
#define OFFER_HEAD "v=0\r\no=- 205396683953683907 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define CREDENTIALS                                                                                \
  "a=ice-ufrag:a4+1\r\na=ice-pwd:u0eUtSGGeiVsKsgFdQd/mPZ9\r\na=ice-options:trickle\r\n"            \
  "a=fingerprint:sha-256 "                                                                         \
  "F0:58:EE:C6:42:AD:56:70:26:19:00:64:FF:74:D2:71:9B:7B:C1:F2:CF:89:15:3A:5E:DF:9D:30:F7:5E:99:"  \
  "63\r\na=setup:actpass\r\n"
#define VIDEO_MLINE                                                                                \
  "m=video 9 UDP/TLS/RTP/SAVPF 96 102 103\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 "                 \
  "0.0.0.0\r\n" CREDENTIALS "a=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"              \
  "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack pli\r\n"                                             \
  "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 ccm fir\r\na=rtcp-fb:102 nack\r\n"                     \
  "a=rtcp-fb:102 nack pli\r\n"                                                                     \
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"          \
  "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
#define AUDIO_MLINE(formats, rtpmap)                                                               \
  "m=audio 9 UDP/TLS/RTP/SAVPF " formats                                                           \
  "\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" CREDENTIALS                                \
  "a=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n" rtpmap
#define OPUS_MLINE                                                                                 \
  AUDIO_MLINE ("111 63 0 126", "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"       \
                               "a=fmtp:111 minptime=10;useinbandfec=1\r\n"                         \
                               "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"                  \
                               "a=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\n")

static const char offer_av[]
    = OFFER_HEAD "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n" VIDEO_MLINE OPUS_MLINE;
/* The audio m-line outside the BUNDLE group: it would need its own
 * transport, which lobbyd does not open. */
static const char offer_unbundled[]
    = OFFER_HEAD "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n" VIDEO_MLINE OPUS_MLINE;
static const char offer_no_opus[]
    = OFFER_HEAD "a=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n" VIDEO_MLINE AUDIO_MLINE (
        "0 8", "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n");

typedef struct
{
  LbConfig *config;
  GstElement *pipeline;
  LbTrack *video, *audio;
  GMainLoop *loop;
  LbOutput *ready; /* on_ready's */
  GError *error;
} Fixture;

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->config = lb_config_new_default ();
  g_strfreev (f->config->ice_addresses);
  f->config->ice_addresses = g_strsplit ("127.0.0.1", ",", -1);
  g_free (f->config->webrtc_stack);
  f->config->webrtc_stack = g_strdup (data);
  f->config->peer_timeout_s = 0;
  g_assert_true (lb_webrtc_host_start ((const char *const *)f->config->ice_addresses, &error));
  g_assert_no_error (error);
  f->pipeline = gst_parse_launch (
      "videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1 "
      "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 "
      "! video/x-h264,profile=constrained-baseline ! h264parse ! tee name=v allow-not-linked=true "
      "audiotestsrc is-live=true samplesperbuffer=480 ! audio/x-raw,rate=48000,channels=2 "
      "! opusenc frame-size=20 ! tee name=a allow-not-linked=true",
      &error);
  g_assert_no_error (error);
  g_autoptr (GstElement) vtee = gst_bin_get_by_name (GST_BIN (f->pipeline), "v");
  g_autoptr (GstElement) atee = gst_bin_get_by_name (GST_BIN (f->pipeline), "a");
  LbProfile video = { LB_CODEC_H264, LB_H264_CONSTRAINED_BASELINE, 64, 48, 30, 500 };
  LbProfile audio = { .codec = LB_CODEC_OPUS, .bitrate_kbps = 96, .kind = LB_MEDIA_AUDIO };
  f->video = lb_track_new_encoded (f->pipeline, vtee, &video, 0);
  f->audio = lb_track_new_encoded (f->pipeline, atee, &audio, 0);
  g_assert_cmpint (gst_element_set_state (f->pipeline, GST_STATE_PLAYING), !=,
                   GST_STATE_CHANGE_FAILURE);
  gst_element_get_state (f->pipeline, NULL, NULL, 5 * GST_SECOND);
  f->loop = g_main_loop_new (NULL, FALSE);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  g_assert_true (lb_branch_wait_detaches (5000));
  gst_element_set_state (f->pipeline, GST_STATE_NULL);
  lb_track_free (f->video);
  lb_track_free (f->audio);
  gst_object_unref (f->pipeline);
  g_main_loop_unref (f->loop);
  g_clear_error (&f->error);
  lb_config_free (f->config);
}

static void
on_ready (LbOutput *output, const GError *error, gpointer user_data)
{
  Fixture *f = user_data;
  f->ready = output;
  if (error != NULL)
    f->error = g_error_copy (error);
  g_main_loop_quit (f->loop);
}

static gboolean
on_timeout (gpointer user_data)
{
  g_main_loop_quit (((Fixture *)user_data)->loop);
  return G_SOURCE_REMOVE;
}

/* Opens a watch-only WebRTC viewer of @offer, with the lobby's audio or
 * without, and waits for its answer (the session's path: the "webrtc"
 * class, which picks the stack from the config). */
static LbOutput *
open_viewer (Fixture *f, const char *offer, gboolean with_audio)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LbLobbySpec) lobby = lb_lobby_spec_new_default ();
  g_autoptr (LbSessionSpec) spec = lb_session_spec_new (lobby, "webrtc");
  const LbOutputClass *klass = lb_output_class_lookup ("webrtc", &error);
  g_assert_no_error (error);
  if (klass->init_spec != NULL)
    klass->init_spec (spec);
  spec->profile.width = 64, spec->profile.height = 48, spec->profile.fps = 30;
  spec->offer = g_strdup (offer);
  LbOutputSetup setup = {
    .name = "session-audio-test",
    .config = f->config,
    .on_ready = on_ready,
    .ready_data = f,
    .audio = with_audio ? f->audio : NULL,
  };
  f->ready = NULL;
  g_clear_error (&f->error);
  LbOutput *output = klass->open (f->video, spec, &setup, &error);
  g_assert_no_error (error);
  g_assert_nonnull (output);
  guint timeout = g_timeout_add_seconds (10, on_timeout, f);
  g_main_loop_run (f->loop);
  g_source_remove (timeout);
  g_assert_no_error (f->error);
  g_assert_true (f->ready == output);
  g_assert_nonnull (lb_output_get_answer (output));
  return output;
}

static GstSDPMessage *
parse_answer (LbOutput *output)
{
  GstSDPMessage *sdp = NULL;
  g_test_message ("answer:\n%s", lb_output_get_answer (output));
  g_assert_cmpint (gst_sdp_message_new_from_text (lb_output_get_answer (output), &sdp), ==,
                   GST_SDP_OK);
  g_assert_cmpuint (gst_sdp_message_medias_len (sdp), ==, 2);
  return sdp;
}

/* The value of the m-line's a=ssrc:<n> @what line, and its SSRC in *@ssrc. */
static const char *
ssrc_attribute (const GstSDPMedia *media, const char *what, guint64 *ssrc)
{
  for (guint i = 0;; i++)
    {
      const char *v = gst_sdp_media_get_attribute_val_n (media, "ssrc", i);
      char *end = NULL;
      if (v == NULL)
        return NULL;
      guint64 n = g_ascii_strtoull (v, &end, 10);
      if (g_str_has_prefix (end, " ") && g_str_has_prefix (end + 1, what))
        {
          *ssrc = n;
          return end + 1 + strlen (what);
        }
    }
}

static const char *
bundle_group (const GstSDPMessage *sdp)
{
  for (guint i = 0;; i++)
    {
      const char *v = gst_sdp_message_get_attribute_val_n (sdp, "group", i);
      if (v == NULL || g_str_has_prefix (v, "BUNDLE"))
        return v;
    }
}

/* Either stack: audio and video answered on one BUNDLE transport, each its
 * own SSRC, both in MediaStream "lobbyd". */
static void
check_audio_answered (GstSDPMessage *sdp)
{
  const GstSDPMedia *video = gst_sdp_message_get_media (sdp, 0);
  const GstSDPMedia *audio = gst_sdp_message_get_media (sdp, 1);
  g_assert_cmpstr (gst_sdp_media_get_media (audio), ==, "audio");
  g_assert_cmpuint (gst_sdp_media_get_port (audio), !=, 0);
  g_assert_cmpstr (gst_sdp_media_get_proto (audio), ==, "UDP/TLS/RTP/SAVPF");
  g_assert_cmpuint (gst_sdp_media_formats_len (audio), ==, 1);
  g_assert_cmpstr (gst_sdp_media_get_format (audio, 0), ==, "111");
  g_autofree char *rtpmap = g_ascii_strdown (gst_sdp_media_get_attribute_val (audio, "rtpmap"), -1);
  g_assert_cmpstr (rtpmap, ==, "111 opus/48000/2");
  g_assert_cmpstr (gst_sdp_media_get_attribute_val (audio, "mid"), ==, "1");
  g_assert_nonnull (gst_sdp_media_get_attribute_val (audio, "sendonly"));
  g_assert_nonnull (gst_sdp_media_get_attribute_val (audio, "rtcp-mux"));
  g_assert_cmpstr (bundle_group (sdp), ==, "BUNDLE 0 1");
  guint64 vssrc = 0, assrc = 0;
  const char *vmsid = ssrc_attribute (video, "msid:", &vssrc);
  const char *amsid = ssrc_attribute (audio, "msid:", &assrc);
  g_assert_nonnull (vmsid);
  g_assert_nonnull (amsid);
  g_assert_cmpuint (vssrc, !=, assrc);
  /* One stream: the same msid stream id on both, the track ids differ. */
  g_assert_true (g_str_has_prefix (vmsid, "lobbyd "));
  g_assert_true (g_str_has_prefix (amsid, "lobbyd "));
  g_assert_cmpstr (vmsid, !=, amsid);
}

/* Lite rejects the m-line (port 0); webrtcbin keeps it, inactive. */
static void
check_audio_rejected (GstSDPMessage *sdp)
{
  const GstSDPMedia *audio = gst_sdp_message_get_media (sdp, 1);
  g_assert_cmpstr (gst_sdp_media_get_media (audio), ==, "audio");
  g_assert_true (gst_sdp_media_get_port (audio) == 0
                 || gst_sdp_media_get_attribute_val (audio, "inactive") != NULL);
  g_assert_null (gst_sdp_media_get_attribute_val (audio, "sendonly"));
  g_assert_cmpuint (gst_sdp_media_get_port (gst_sdp_message_get_media (sdp, 0)), !=, 0);
}

/* Until the audio branch's payloader has sent @n packets (or 5 s). */
static guint
audio_packets (LbOutput *output, guint n)
{
  LbBranch *branch = lb_output_get_audio_branch (output);
  g_assert_nonnull (branch);
  GstElement *bin = lb_branch_get_bin (branch);
  g_autoptr (GstElement) pay = gst_bin_get_by_name (GST_BIN (bin), "audio-payloader");
  g_assert_nonnull (pay);
  guint seen = 0;
  for (int i = 0; i < 50; i++)
    {
      g_autoptr (GstStructure) stats = NULL;
      g_object_get (pay, "stats", &stats, NULL);
      guint seqnum = 0, first = 0;
      gst_structure_get_uint (stats, "seqnum", &seqnum);
      gst_structure_get_uint (stats, "seqnum-offset", &first);
      seen = (guint16)(seqnum - first);
      if (seen >= n)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (100 * 1000);
    }
  return seen;
}

static void
test_audio_answered (Fixture *f, gconstpointer data)
{
  g_autoptr (LbOutput) output = open_viewer (f, offer_av, TRUE);
  g_autoptr (GstSDPMessage) sdp = parse_answer (output);
  check_audio_answered (sdp);
  /* Opus at 20 ms: 50 packets a second go through the viewer's payloader. */
  g_assert_cmpuint (audio_packets (output, 10), >=, 10);
}

static void
test_no_lobby_audio (Fixture *f, gconstpointer data)
{
  g_autoptr (LbOutput) output = open_viewer (f, offer_av, FALSE);
  g_autoptr (GstSDPMessage) sdp = parse_answer (output);
  check_audio_rejected (sdp);
  g_assert_null (lb_output_get_audio_branch (output));
}

static void
test_no_opus (Fixture *f, gconstpointer data)
{
  g_autoptr (LbOutput) output = open_viewer (f, offer_no_opus, TRUE);
  g_autoptr (GstSDPMessage) sdp = parse_answer (output);
  check_audio_rejected (sdp);
  g_assert_null (lb_output_get_audio_branch (output));
}

static void
test_unbundled (Fixture *f, gconstpointer data)
{
  g_autoptr (LbOutput) output = open_viewer (f, offer_unbundled, TRUE);
  g_autoptr (GstSDPMessage) sdp = parse_answer (output);
  check_audio_rejected (sdp);
  g_assert_cmpstr (bundle_group (sdp), ==, "BUNDLE 0");
  g_assert_null (lb_output_get_audio_branch (output));
}

/* The lite answer in detail: the audio m-line shares the video's transport
 * (same port, credentials, fingerprint, candidates). */
static void
test_lite_answer_lines (Fixture *f, gconstpointer data)
{
  g_autoptr (LbOutput) output = open_viewer (f, offer_av, TRUE);
  g_autoptr (GstSDPMessage) sdp = parse_answer (output);
  const GstSDPMedia *video = gst_sdp_message_get_media (sdp, 0);
  const GstSDPMedia *audio = gst_sdp_message_get_media (sdp, 1);
  g_assert_cmpuint (gst_sdp_media_get_port (audio), ==, gst_sdp_media_get_port (video));
  static const char *const same[] = { "ice-ufrag", "ice-pwd", "fingerprint", "setup", "candidate" };
  for (guint i = 0; i < G_N_ELEMENTS (same); i++)
    g_assert_cmpstr (gst_sdp_media_get_attribute_val (audio, same[i]), ==,
                     gst_sdp_media_get_attribute_val (video, same[i]));
  g_assert_cmpstr (gst_sdp_media_get_attribute_val (audio, "msid"), ==, "lobbyd audio");
  g_assert_cmpstr (gst_sdp_media_get_attribute_val (video, "msid"), ==, "lobbyd video");
  g_assert_cmpstr (gst_sdp_media_get_attribute_val (audio, "fmtp"), ==,
                   "111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1");
  guint64 a = 0, b = 0;
  g_assert_cmpstr (ssrc_attribute (audio, "cname:", &a), ==, "lobbyd");
  g_assert_cmpstr (ssrc_attribute (video, "cname:", &b), ==, "lobbyd");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  static const char *const stacks[] = { "lite", "webrtcbin" };
  for (guint i = 0; i < G_N_ELEMENTS (stacks); i++)
    {
      g_autofree char *a = g_strdup_printf ("/webrtc-audio/%s/answered", stacks[i]);
      g_autofree char *b = g_strdup_printf ("/webrtc-audio/%s/no-lobby-audio", stacks[i]);
      g_autofree char *c = g_strdup_printf ("/webrtc-audio/%s/no-opus", stacks[i]);
      g_test_add (a, Fixture, stacks[i], setup, test_audio_answered, teardown);
      g_test_add (b, Fixture, stacks[i], setup, test_no_lobby_audio, teardown);
      g_test_add (c, Fixture, stacks[i], setup, test_no_opus, teardown);
    }
  g_test_add ("/webrtc-audio/lite/unbundled", Fixture, "lite", setup, test_unbundled, teardown);
  g_test_add ("/webrtc-audio/lite/answer-lines", Fixture, "lite", setup, test_lite_answer_lines,
              teardown);
  return g_test_run ();
}
