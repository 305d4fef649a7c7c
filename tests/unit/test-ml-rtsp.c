/* test-ml-rtsp.c — lb-ml-rtsp: the requests a Moonlight client sends
 * (written as moonlight-common-c's RtspConnection.c and SdpGenerator.c
 * build them for a GFE 7.1.431 / Sunshine-style host: 1920x1080@60,
 * 20000 kbps, packet size 1024, stereo), the replies' exact bytes, a table
 * of malformed requests each refused with its reason, and random mutations
 * of the valid requests (no crash, no leak under ASan). */
#include "lb-ml-launches.h"
#include "lb-ml-rtsp.h"

#include <string.h>

/* ----------------------------------------------------- the client's requests */

#define HEAD(method, target, cseq)                                                                 \
  method " " target " RTSP/1.0\r\n"                                                                \
         "CSeq: " cseq "\r\n"                                                                      \
         "X-GS-ClientVersion: 14\r\n"                                                              \
         "Host: 127.0.0.1\r\n"

static const char req_options[] = HEAD ("OPTIONS", "rtsp://127.0.0.1:48010", "1") "\r\n";

static const char req_describe[] = HEAD ("DESCRIBE", "rtsp://127.0.0.1:48010",
                                         "2") "Accept: application/sdp\r\n"
                                              "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                              "\r\n";

/* The first SETUP has no Session yet; the client takes it from the reply. */
static const char req_setup_audio[] = HEAD (
    "SETUP", "streamid=audio/0/0", "3") "Transport: unicast;X-GS-ClientPort=50000-50001\r\n"
                                        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                        "\r\n";

static const char req_setup_video[] = HEAD (
    "SETUP", "streamid=video/0/0", "4") "Session: lbml7f3a\r\n"
                                        "Transport: unicast;X-GS-ClientPort=50000-50001\r\n"
                                        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                        "\r\n";

static const char req_setup_control[] = HEAD (
    "SETUP", "streamid=control/13/0", "5") "Session: lbml7f3a\r\n"
                                           "Transport: unicast;X-GS-ClientPort=50000-50001\r\n"
                                           "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                                           "\r\n";

/* getSdpPayloadForStreamConfig for a Sunshine host (appversion 7.1.431.-1),
 * local stream, control v2 encryption: header, attributes in the order
 * SdpGenerator.c adds them (each "a=name:value \r\n"), tail. Bitrates: 80%
 * of 20000 for the NV fields, the configured value for x-ml-video. */
#define SDP_1080P60                                                                                \
  "v=0\r\n"                                                                                        \
  "o=android 0 14 IN IPv4 127.0.0.1\r\n"                                                           \
  "s=NVIDIA Streaming Client\r\n"                                                                  \
  "a=x-ml-general.featureFlags:3 \r\n"                                                             \
  "a=x-ss-general.encryptionEnabled:1 \r\n"                                                        \
  "a=x-ss-video[0].chromaSamplingType:0 \r\n"                                                      \
  "a=x-nv-video[0].clientViewportWd:1920 \r\n"                                                     \
  "a=x-nv-video[0].clientViewportHt:1080 \r\n"                                                     \
  "a=x-nv-video[0].maxFPS:60 \r\n"                                                                 \
  "a=x-nv-video[0].packetSize:1024 \r\n"                                                           \
  "a=x-nv-video[0].rateControlMode:4 \r\n"                                                         \
  "a=x-nv-video[0].timeoutLengthMs:7000 \r\n"                                                      \
  "a=x-nv-video[0].framesWithInvalidRefThreshold:0 \r\n"                                           \
  "a=x-nv-video[0].initialBitrateKbps:16000 \r\n"                                                  \
  "a=x-nv-video[0].initialPeakBitrateKbps:16000 \r\n"                                              \
  "a=x-nv-vqos[0].bw.minimumBitrateKbps:16000 \r\n"                                                \
  "a=x-nv-vqos[0].bw.maximumBitrateKbps:16000 \r\n"                                                \
  "a=x-ml-video.configuredBitrateKbps:20000 \r\n"                                                  \
  "a=x-nv-vqos[0].fec.enable:1 \r\n"                                                               \
  "a=x-nv-vqos[0].videoQualityScoreUpdateTime:5000 \r\n"                                           \
  "a=x-nv-vqos[0].qosTrafficType:5 \r\n"                                                           \
  "a=x-nv-aqos.qosTrafficType:4 \r\n"                                                              \
  "a=x-nv-general.featureFlags:135 \r\n"                                                           \
  "a=x-nv-general.useReliableUdp:13 \r\n"                                                          \
  "a=x-nv-vqos[0].fec.minRequiredFecPackets:2 \r\n"                                                \
  "a=x-nv-vqos[0].bllFec.enable:0 \r\n"                                                            \
  "a=x-nv-vqos[0].drc.enable:0 \r\n"                                                               \
  "a=x-nv-general.enableRecoveryMode:0 \r\n"                                                       \
  "a=x-nv-video[0].videoEncoderSlicesPerFrame:1 \r\n"                                              \
  "a=x-nv-clientSupportHevc:0 \r\n"                                                                \
  "a=x-nv-vqos[0].bitStreamFormat:0 \r\n"                                                          \
  "a=x-nv-video[0].dynamicRangeMode:0 \r\n"                                                        \
  "a=x-nv-video[0].maxNumReferenceFrames:1 \r\n"                                                   \
  "a=x-nv-video[0].clientRefreshRateX100:6000 \r\n"                                                \
  "a=x-nv-audio.surround.numChannels:2 \r\n"                                                       \
  "a=x-nv-audio.surround.channelMask:3 \r\n"                                                       \
  "a=x-nv-audio.surround.enable:0 \r\n"                                                            \
  "a=x-nv-audio.surround.AudioQuality:0 \r\n"                                                      \
  "a=x-nv-aqos.packetDuration:5 \r\n"                                                              \
  "a=x-nv-video[0].encoderCscMode:2 \r\n"                                                          \
  "t=0 0\r\n"                                                                                      \
  "m=video 47998  \r\n"

static const char sdp_1080p60[] = SDP_1080P60;

static char *
announce_request (const char *sdp)
{
  return g_strdup_printf (
      HEAD ("ANNOUNCE", "streamid=control/13/0", "6") "Session: lbml7f3a\r\n"
                                                      "Content-type: application/sdp\r\n"
                                                      "Content-length: %zu\r\n"
                                                      "\r\n%s",
      strlen (sdp), sdp);
}

static const char req_play[] = HEAD ("PLAY", "/", "7") "Session: lbml7f3a\r\n\r\n";

static LbMlRtspRequest *
parse_ok (const char *text, gsize len)
{
  g_autoptr (GError) error = NULL;
  LbMlRtspRequest *req = lb_ml_rtsp_request_parse (text, len, TRUE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (req);
  return req;
}

static char *
reply_text (LbMlRtspReply *r)
{
  gsize len;
  char *s = lb_ml_rtsp_reply_to_string (r, &len);
  g_assert_cmpuint (strlen (s), ==, len);
  return s;
}

/* ------------------------------------------------------------ the sequence */

static void
test_options (void)
{
  g_autoptr (LbMlRtspRequest) req = parse_ok (req_options, sizeof req_options - 1);
  g_assert_cmpint (lb_ml_rtsp_request_get_method (req), ==, LB_ML_RTSP_METHOD_OPTIONS);
  g_assert_cmpstr (lb_ml_rtsp_request_get_method_name (req), ==, "OPTIONS");
  g_assert_cmpstr (lb_ml_rtsp_request_get_target (req), ==, "rtsp://127.0.0.1:48010");
  g_assert_cmpint (lb_ml_rtsp_request_get_cseq (req), ==, 1);
  g_assert_cmpuint (lb_ml_rtsp_request_get_n_headers (req), ==, 3);
  /* Names are case-insensitive for us (RFC 2326 §4.2). */
  g_assert_cmpstr (lb_ml_rtsp_request_get_header (req, "x-gs-clientversion"), ==, "14");
  g_assert_cmpstr (lb_ml_rtsp_request_get_header (req, "HOST"), ==, "127.0.0.1");
  gsize blen = 99;
  g_assert_cmpstr (lb_ml_rtsp_request_get_body (req, &blen), ==, "");
  g_assert_cmpuint (blen, ==, 0);

  g_autoptr (LbMlRtspReply) r = lb_ml_rtsp_reply_options (lb_ml_rtsp_request_get_cseq (req));
  g_autofree char *s = reply_text (r);
  g_assert_cmpstr (s, ==,
                   "RTSP/1.0 200 OK\r\n"
                   "CSeq: 1\r\n"
                   "Public: OPTIONS, DESCRIBE, SETUP, ANNOUNCE, PLAY\r\n"
                   "\r\n");
}

static void
test_describe (void)
{
  g_autoptr (LbMlRtspRequest) req = parse_ok (req_describe, sizeof req_describe - 1);
  g_assert_cmpint (lb_ml_rtsp_request_get_method (req), ==, LB_ML_RTSP_METHOD_DESCRIBE);
  g_assert_cmpstr (lb_ml_rtsp_request_get_header (req, "If-Modified-Since"), ==,
                   "Thu, 01 Jan 1970 00:00:00 GMT");

  g_autoptr (LbMlRtspReply) r
      = lb_ml_rtsp_reply_describe (lb_ml_rtsp_request_get_cseq (req),
                                   LB_ML_ENC_CONTROL_V2 | LB_ML_ENC_AUDIO, LB_ML_ENC_CONTROL_V2);
  g_autofree char *s = reply_text (r);
  static const char body[] = "a=x-ss-general.featureFlags:0\r\n"
                             "a=x-ss-general.encryptionSupported:5\r\n"
                             "a=x-ss-general.encryptionRequested:1\r\n"
                             "a=fmtp:97 surround-params=642012453\r\n"
                             "a=fmtp:97 surround-params=85301245673\r\n";
  g_autofree char *want = g_strdup_printf ("RTSP/1.0 200 OK\r\n"
                                           "CSeq: 2\r\n"
                                           "Content-length: %zu\r\n"
                                           "\r\n%s",
                                           strlen (body), body);
  g_assert_cmpstr (s, ==, want);
  /* What the client looks for by substring (RtspConnection.c): no HEVC, no
   * AV1, no reference-frame invalidation; one line per surround layout (a
   * second one would offer the high-quality layout). */
  g_assert_null (strstr (s, "sprop-parameter-sets=AAAAAU"));
  g_assert_null (strstr (s, "AV1/90000"));
  g_assert_null (strstr (s, "refPicInvalidation"));
  const char *six = strstr (s, "a=fmtp:97 surround-params=6");
  g_assert_nonnull (six);
  g_assert_null (strstr (six + 1, "a=fmtp:97 surround-params=6"));
  g_assert_nonnull (strstr (s, "a=fmtp:97 surround-params=8"));

  /* The client's un-rotation of the normal-quality mapping (LFE from the
   * last index to index 3) gives the identity order our encoder uses. */
  for (guint ch = 6; ch <= 8; ch += 2)
    {
      g_autofree char *prefix = g_strdup_printf ("a=fmtp:97 surround-params=%u", ch);
      const char *p = strstr (s, prefix) + strlen (prefix) + 2;
      guint8 adv[8], map[8];
      for (guint i = 0; i < ch; i++)
        adv[i] = p[i] - '0';
      memcpy (map, adv, ch);
      map[3] = adv[ch - 1];
      memcpy (map + 4, adv + 3, ch - 4);
      for (guint i = 0; i < ch; i++)
        g_assert_cmpuint (map[i], ==, i);
    }
}

static void
test_setup (void)
{
  static const struct
  {
    const char *text;
    LbMlStream stream;
    gboolean has_session;
  } cases[] = {
    { req_setup_audio, LB_ML_STREAM_AUDIO, FALSE },
    { req_setup_video, LB_ML_STREAM_VIDEO, TRUE },
    { req_setup_control, LB_ML_STREAM_CONTROL, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (LbMlRtspRequest) req = parse_ok (cases[i].text, strlen (cases[i].text));
      g_assert_cmpint (lb_ml_rtsp_request_get_method (req), ==, LB_ML_RTSP_METHOD_SETUP);
      LbMlStream stream;
      g_assert_true (
          lb_ml_rtsp_parse_setup_target (lb_ml_rtsp_request_get_target (req), &stream, &error));
      g_assert_no_error (error);
      g_assert_cmpint (stream, ==, cases[i].stream);
      g_assert_cmpint (lb_ml_rtsp_request_check_session (req, "lbml7f3a", NULL), ==,
                       cases[i].has_session);
    }

  g_autoptr (GError) error = NULL;
  g_autoptr (LbMlRtspReply) a = lb_ml_rtsp_reply_setup (3, LB_ML_STREAM_AUDIO, "lbml7f3a", 48000,
                                                        "0123456789ABCDEF", FALSE, 0, &error);
  g_assert_no_error (error);
  g_autofree char *sa = reply_text (a);
  g_assert_cmpstr (sa, ==,
                   "RTSP/1.0 200 OK\r\n"
                   "CSeq: 3\r\n"
                   "Session: lbml7f3a\r\n"
                   "Transport: server_port=48000\r\n"
                   "X-SS-Ping-Payload: 0123456789ABCDEF\r\n"
                   "\r\n");
  g_autoptr (LbMlRtspReply) v
      = lb_ml_rtsp_reply_setup (4, LB_ML_STREAM_VIDEO, "lbml7f3a", 47998, NULL, FALSE, 0, &error);
  g_assert_no_error (error);
  g_autofree char *sv = reply_text (v);
  g_assert_cmpstr (sv, ==,
                   "RTSP/1.0 200 OK\r\n"
                   "CSeq: 4\r\n"
                   "Session: lbml7f3a\r\n"
                   "Transport: server_port=47998\r\n"
                   "\r\n");
  g_autoptr (LbMlRtspReply) c = lb_ml_rtsp_reply_setup (5, LB_ML_STREAM_CONTROL, "lbml7f3a", 47999,
                                                        NULL, TRUE, 4000000000u, &error);
  g_assert_no_error (error);
  g_autofree char *sc = reply_text (c);
  g_assert_cmpstr (sc, ==,
                   "RTSP/1.0 200 OK\r\n"
                   "CSeq: 5\r\n"
                   "Session: lbml7f3a\r\n"
                   "Transport: server_port=47999\r\n"
                   "X-SS-Connect-Data: 4000000000\r\n"
                   "\r\n");

  /* Parameters a reply must not carry. */
  static const struct
  {
    LbMlStream stream;
    const char *session;
    guint16 port;
    const char *ping;
    gboolean has_cd;
  } bad[] = {
    { LB_ML_STREAM_AUDIO, "", 48000, NULL, FALSE },
    { LB_ML_STREAM_AUDIO, "a;b", 48000, NULL, FALSE },
    { LB_ML_STREAM_AUDIO, "abc\r\nX-Evil: 1", 48000, NULL, FALSE },
    { LB_ML_STREAM_AUDIO, "abc", 0, NULL, FALSE },
    { LB_ML_STREAM_AUDIO, "abc", 48000, "short", FALSE },
    { LB_ML_STREAM_AUDIO, "abc", 48000, "0123456789ABCDE\n", FALSE },
    { LB_ML_STREAM_AUDIO, "abc", 48000, "0123456789 ABCDE", FALSE },
    { LB_ML_STREAM_CONTROL, "abc", 47999, "0123456789ABCDEF", FALSE },
    { LB_ML_STREAM_VIDEO, "abc", 47998, NULL, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_null (lb_ml_rtsp_reply_setup (1, bad[i].stream, bad[i].session, bad[i].port,
                                             bad[i].ping, bad[i].has_cd, 7, &e));
      g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REPLY);
    }

  static const char *bad_targets[] = {
    "streamid=audio",
    "streamid=video",
    "streamid=control/1/0",
    "streamid=audio/0/0/",
    "streamid=Audio/0/0",
    "rtsp://127.0.0.1:48010/streamid=video/0/0",
    "",
    "streamid=input/0/0",
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad_targets); i++)
    {
      g_autoptr (GError) e = NULL;
      LbMlStream s;
      g_assert_false (lb_ml_rtsp_parse_setup_target (bad_targets[i], &s, &e));
      g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_UNKNOWN_STREAM);
    }
}

static void
test_announce (void)
{
  g_autofree char *text = announce_request (sdp_1080p60);
  g_autoptr (LbMlRtspRequest) req = parse_ok (text, strlen (text));
  g_assert_cmpint (lb_ml_rtsp_request_get_method (req), ==, LB_ML_RTSP_METHOD_ANNOUNCE);
  g_assert_cmpstr (lb_ml_rtsp_request_get_target (req), ==, "streamid=control/13/0");
  g_assert_cmpint (lb_ml_rtsp_request_get_cseq (req), ==, 6);
  g_assert_true (lb_ml_rtsp_request_check_session (req, "lbml7f3a", NULL));
  g_autoptr (GError) error = NULL;
  g_assert_false (lb_ml_rtsp_request_check_session (req, "lbml7f3", &error));
  g_assert_error (error, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH);
  g_clear_error (&error);

  gsize blen;
  const char *body = lb_ml_rtsp_request_get_body (req, &blen);
  g_assert_cmpuint (blen, ==, strlen (sdp_1080p60));
  g_assert_cmpstr (body, ==, sdp_1080p60);

  LbMlAnnounce a;
  g_assert_true (lb_ml_rtsp_announce_parse (body, blen, &a, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (a.width, ==, 1920);
  g_assert_cmpuint (a.height, ==, 1080);
  g_assert_cmpuint (a.fps, ==, 60);
  g_assert_cmpuint (a.packet_size, ==, 1024);
  g_assert_cmpuint (a.max_bitrate_kbps, ==, 16000);
  g_assert_cmpuint (a.configured_bitrate_kbps, ==, 20000);
  g_assert_cmpuint (a.bitstream_format, ==, 0);
  g_assert_cmpuint (a.max_ref_frames, ==, 1);
  g_assert_cmpuint (a.encoder_csc_mode, ==, 2);
  g_assert_cmpuint (a.min_fec_packets, ==, 2);
  g_assert_cmpint (a.fec_percent, ==, -1);
  g_assert_cmpuint (a.audio_packet_ms, ==, 5);
  g_assert_cmpuint (a.audio_channels, ==, 2);
  g_assert_cmpuint (a.audio_channel_mask, ==, 3);
  g_assert_cmpuint (a.encryption_enabled, ==, LB_ML_ENC_CONTROL_V2);
  g_assert_cmpuint (a.nv_feature_flags, ==, 135);
  g_assert_cmpuint (a.ml_feature_flags, ==, 3);
  g_assert_false (lb_ml_announce_wants_audio_encryption (&a));

  /* moonlight-embedded's default: featureFlags with 0x20 (audio encryption). */
  g_autofree char *enc = g_strdup (sdp_1080p60);
  char *ff = strstr (enc, "featureFlags:135");
  memcpy (ff, "featureFlags:167", 16);
  g_assert_true (lb_ml_rtsp_announce_parse (enc, strlen (enc), &a, NULL));
  g_assert_true (lb_ml_announce_wants_audio_encryption (&a));

  /* LF-only line ends and the legacy FEC percentage are read too; missing
   * optional attributes take their defaults. */
  static const char minimal[] = "v=0\n"
                                "a=x-nv-video[0].clientViewportWd:1280\n"
                                "a=x-nv-video[0].clientViewportHt:720\n"
                                "a=x-nv-video[0].maxFPS:30\n"
                                "a=x-nv-video[0].packetSize:1392\n"
                                "a=x-nv-vqos[0].bw.maximumBitrateKbps:5000\n"
                                "a=x-nv-vqos[0].fec.repairPercent:20\n"
                                "a=x-nv-audio.surround.numChannels:8\n"
                                "a=x-nv-aqos.packetDuration:10";
  g_assert_true (lb_ml_rtsp_announce_parse (minimal, strlen (minimal), &a, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (a.width, ==, 1280);
  g_assert_cmpuint (a.packet_size, ==, 1392);
  g_assert_cmpuint (a.configured_bitrate_kbps, ==, 0);
  g_assert_cmpint (a.fec_percent, ==, 20);
  g_assert_cmpuint (a.audio_channels, ==, 8);
  g_assert_cmpuint (a.audio_packet_ms, ==, 10);
  g_assert_cmpuint (a.min_fec_packets, ==, 0);

  g_autoptr (LbMlRtspReply) r = lb_ml_rtsp_reply_ok (6);
  g_autofree char *s = reply_text (r);
  g_assert_cmpstr (s, ==, "RTSP/1.0 200 OK\r\nCSeq: 6\r\n\r\n");
}

static void
test_play (void)
{
  g_autoptr (LbMlRtspRequest) req = parse_ok (req_play, sizeof req_play - 1);
  g_assert_cmpint (lb_ml_rtsp_request_get_method (req), ==, LB_ML_RTSP_METHOD_PLAY);
  g_assert_true (lb_ml_rtsp_check_play_target (lb_ml_rtsp_request_get_target (req), NULL));
  g_assert_true (lb_ml_rtsp_request_check_session (req, "lbml7f3a", NULL));
  g_autoptr (GError) e = NULL;
  g_assert_false (lb_ml_rtsp_check_play_target ("streamid=video", &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_TARGET);
  g_autoptr (LbMlRtspReply) r = lb_ml_rtsp_reply_ok (lb_ml_rtsp_request_get_cseq (req));
  g_autofree char *s = reply_text (r);
  g_assert_cmpstr (s, ==, "RTSP/1.0 200 OK\r\nCSeq: 7\r\n\r\n");
}

/* A request arriving in pieces: INCOMPLETE until the last byte, then whole. */
static void
test_incremental (void)
{
  g_autofree char *text = announce_request (sdp_1080p60);
  gsize len = strlen (text);
  for (gsize n = 0; n < len; n++)
    {
      g_autoptr (GError) e = NULL;
      g_autoptr (LbMlRtspRequest) req = lb_ml_rtsp_request_parse (text, n, FALSE, &e);
      g_assert_null (req);
      g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_INCOMPLETE);
    }
  g_autoptr (LbMlRtspRequest) req = lb_ml_rtsp_request_parse (text, len, FALSE, NULL);
  g_assert_nonnull (req);
}

static void
test_reply_refusals (void)
{
  g_autoptr (LbMlRtspReply) r = lb_ml_rtsp_reply_new (200, 9);
  g_autoptr (GError) e = NULL;
  g_assert_false (lb_ml_rtsp_reply_add_header (r, "X-A", "one\r\nX-Injected: two", &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REPLY);
  g_clear_error (&e);
  g_assert_false (lb_ml_rtsp_reply_add_header (r, "X-A", "tab\there", &e));
  g_clear_error (&e);
  g_assert_false (lb_ml_rtsp_reply_add_header (r, "X A", "v", &e));
  g_clear_error (&e);
  g_assert_false (lb_ml_rtsp_reply_add_header (r, "X:A", "v", &e));
  g_clear_error (&e);
  g_assert_false (lb_ml_rtsp_reply_add_header (r, "", "v", &e));
  g_clear_error (&e);
  g_autofree char *s = reply_text (r);
  g_assert_cmpstr (s, ==, "RTSP/1.0 200 OK\r\nCSeq: 9\r\n\r\n");

  /* An error reply: status from the code, the reason in a header, and CSeq
   * 0 when the request's was unreadable (the client's parser needs one
   * header). */
  g_set_error (&e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BODY_TOO_LARGE, "x");
  g_autoptr (LbMlRtspReply) er = lb_ml_rtsp_reply_for_error (e, -1);
  g_autofree char *es = reply_text (er);
  g_assert_cmpstr (es, ==,
                   "RTSP/1.0 413 Request Entity Too Large\r\nCSeq: 0\r\n"
                   "X-Lobbyd-Error: body_too_large\r\n\r\n");
}

/* ------------------------------------------------------------- garbage table */

typedef struct
{
  const char *name;
  const char *text;
  gssize len; /* -1: strlen */
  LbMlRtspError code;
} Bad;

/* A literal with embedded NULs and its length. */
#define WITH_LEN(lit) lit, (gssize)(sizeof (lit) - 1)
#define OPT_HEAD "OPTIONS rtsp://127.0.0.1:48010 RTSP/1.0\r\n"

static const Bad bad_requests[] = {
  { "empty", "", -1, LB_ML_RTSP_ERROR_NO_END_OF_HEADERS },
  { "no-crlf", "OPTIONS rtsp://h RTSP/1.0", -1, LB_ML_RTSP_ERROR_NO_END_OF_HEADERS },
  { "no-blank-line", OPT_HEAD "CSeq: 1\r\n", -1, LB_ML_RTSP_ERROR_NO_END_OF_HEADERS },
  { "lf-only", "OPTIONS rtsp://h RTSP/1.0\nCSeq: 1\n\n", -1, LB_ML_RTSP_ERROR_BAD_LINE_ENDING },
  { "bare-cr", OPT_HEAD "CSeq: 1\rX: y\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_LINE_ENDING },
  { "header-injection-lf", OPT_HEAD "CSeq: 1\r\nSession: a\nTransport: x\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_LINE_ENDING },
  { "header-injection-cr", OPT_HEAD "CSeq: 1\r\nSession: a\rCSeq: 2\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_LINE_ENDING },
  { "nul-in-method", WITH_LEN ("OPT\0ONS rtsp://h RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
    LB_ML_RTSP_ERROR_NUL_BYTE },
  { "nul-in-header", WITH_LEN (OPT_HEAD "CSeq: 1\r\nHost: a\0b\r\n\r\n"),
    LB_ML_RTSP_ERROR_NUL_BYTE },
  { "nul-in-body", WITH_LEN (OPT_HEAD "CSeq: 1\r\nContent-length: 3\r\n\r\na\0b"),
    LB_ML_RTSP_ERROR_NUL_BYTE },
  { "nul-after-head", WITH_LEN (OPT_HEAD "CSeq: 1\r\n\r\n\0"), LB_ML_RTSP_ERROR_TRAILING_DATA },
  { "empty-request-line", "\r\nCSeq: 1\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "only-blank-line", "\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "two-fields", "OPTIONS RTSP/1.0\r\nCSeq: 1\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "double-space", "OPTIONS  rtsp://h RTSP/1.0\r\nCSeq: 1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "lower-method", "options rtsp://h RTSP/1.0\r\nCSeq: 1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "long-method", "OPTIONSOPTIONSOPTIONS rtsp://h RTSP/1.0\r\nCSeq: 1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "tab-in-target", "OPTIONS rtsp://h\tx RTSP/1.0\r\nCSeq: 1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "utf8-target", "OPTIONS rtsp://h\xc3\xa9 RTSP/1.0\r\nCSeq: 1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_REQUEST_LINE },
  { "http-version", "OPTIONS rtsp://h HTTP/1.1\r\nCSeq: 1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_VERSION },
  { "rtsp-2", "OPTIONS rtsp://h RTSP/2.0\r\nCSeq: 1\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_VERSION },
  { "trailing-space-version", "OPTIONS rtsp://h RTSP/1.0 \r\nCSeq: 1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_VERSION },
  { "no-colon", OPT_HEAD "CSeq 1\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_HEADER },
  { "empty-name", OPT_HEAD "CSeq: 1\r\n: x\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_HEADER },
  { "space-in-name", OPT_HEAD "CSeq: 1\r\nX Y: z\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_HEADER },
  { "folded-header", OPT_HEAD "CSeq: 1\r\nX: a\r\n b\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_HEADER },
  { "control-in-value", OPT_HEAD "CSeq: 1\r\nX: a\x01z\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_HEADER },
  { "del-in-value", OPT_HEAD "CSeq: 1\r\nX: a\x7fz\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_HEADER },
  { "missing-cseq", OPT_HEAD "Host: h\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "empty-cseq", OPT_HEAD "CSeq:\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "negative-cseq", OPT_HEAD "CSeq: -1\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "plus-cseq", OPT_HEAD "CSeq: +1\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "hex-cseq", OPT_HEAD "CSeq: 0x10\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "huge-cseq", OPT_HEAD "CSeq: 2147483648\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "cseq-with-junk", OPT_HEAD "CSeq: 1 2\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "duplicate-cseq", OPT_HEAD "CSeq: 1\r\ncseq: 2\r\n\r\n", -1, LB_ML_RTSP_ERROR_BAD_CSEQ },
  { "negative-content-length", OPT_HEAD "CSeq: 1\r\nContent-length: -1\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH },
  { "empty-content-length", OPT_HEAD "CSeq: 1\r\nContent-length:\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH },
  { "alpha-content-length", OPT_HEAD "CSeq: 1\r\nContent-length: 12a\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH },
  { "overflow-content-length", OPT_HEAD "CSeq: 1\r\nContent-length: 18446744073709551617\r\n\r\n",
    -1, LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH },
  { "duplicate-content-length",
    OPT_HEAD "CSeq: 1\r\nContent-length: 1\r\nContent-Length: 1\r\n\r\nx", -1,
    LB_ML_RTSP_ERROR_BAD_CONTENT_LENGTH },
  { "huge-content-length", OPT_HEAD "CSeq: 1\r\nContent-length: 16385\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_BODY_TOO_LARGE },
  { "body-shorter", OPT_HEAD "CSeq: 1\r\nContent-length: 10\r\n\r\nabc", -1,
    LB_ML_RTSP_ERROR_TRUNCATED_BODY },
  { "body-longer", OPT_HEAD "CSeq: 1\r\nContent-length: 2\r\n\r\nabc", -1,
    LB_ML_RTSP_ERROR_TRAILING_DATA },
  { "pipelined", OPT_HEAD "CSeq: 1\r\n\r\n" OPT_HEAD "CSeq: 2\r\n\r\n", -1,
    LB_ML_RTSP_ERROR_TRAILING_DATA },
};

static void
test_garbage (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_requests); i++)
    {
      const Bad *b = &bad_requests[i];
      gsize len = b->len < 0 ? strlen (b->text) : (gsize)b->len;
      g_autoptr (GError) e = NULL;
      g_autoptr (LbMlRtspRequest) req = lb_ml_rtsp_request_parse (b->text, len, TRUE, &e);
      if (req != NULL || e == NULL || e->domain != LB_ML_RTSP_ERROR || e->code != (gint)b->code)
        g_error ("%s: want %s, got %s (%s)", b->name, lb_ml_rtsp_error_reason (b->code),
                 e ? lb_ml_rtsp_error_reason (e->code) : "accepted", e ? e->message : "");
      g_assert_cmpstr (lb_ml_rtsp_error_reason (e->code), !=, "bad_request");
      /* Every refusal can be answered. */
      g_autoptr (LbMlRtspReply) r = lb_ml_rtsp_reply_for_error (e, -1);
      g_autofree char *s = lb_ml_rtsp_reply_to_string (r, NULL);
      g_assert_true (g_str_has_prefix (s, "RTSP/1.0 4") || g_str_has_prefix (s, "RTSP/1.0 5"));
    }
}

static void
test_oversized (void)
{
  /* A head that never ends, and one with too many headers. */
  GString *s = g_string_new (OPT_HEAD "CSeq: 1\r\n");
  while (s->len < LB_ML_RTSP_MAX_HEAD + 10)
    g_string_append (s, "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  for (int eof = 0; eof <= 1; eof++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_null (lb_ml_rtsp_request_parse (s->str, s->len, eof, &e));
      g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_HEAD_TOO_LARGE);
    }
  g_string_free (s, TRUE);

  s = g_string_new (OPT_HEAD "CSeq: 1\r\n");
  for (int i = 0; i < LB_ML_RTSP_MAX_HEADERS; i++)
    g_string_append_printf (s, "X-%d: v\r\n", i);
  g_string_append (s, "\r\n");
  g_autoptr (GError) e = NULL;
  g_assert_null (lb_ml_rtsp_request_parse (s->str, s->len, TRUE, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_TOO_MANY_HEADERS);
  g_string_free (s, TRUE);

  /* A long header name, a long target. */
  g_autofree char *name = g_strnfill (65, 'N');
  g_autofree char *t1 = g_strdup_printf (OPT_HEAD "CSeq: 1\r\n%s: v\r\n\r\n", name);
  g_clear_error (&e);
  g_assert_null (lb_ml_rtsp_request_parse (t1, strlen (t1), TRUE, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_HEADER);
  g_autofree char *target = g_strnfill (1025, 'a');
  g_autofree char *t2 = g_strdup_printf ("OPTIONS %s RTSP/1.0\r\nCSeq: 1\r\n\r\n", target);
  g_clear_error (&e);
  g_assert_null (lb_ml_rtsp_request_parse (t2, strlen (t2), TRUE, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_REQUEST_LINE);

  /* The largest allowed body is accepted. */
  g_autofree char *body = g_strnfill (LB_ML_RTSP_MAX_BODY, 'b');
  g_autofree char *t3 = g_strdup_printf (OPT_HEAD "CSeq: 1\r\nContent-length: %d\r\n\r\n%s",
                                         LB_ML_RTSP_MAX_BODY, body);
  g_autoptr (LbMlRtspRequest) ok = lb_ml_rtsp_request_parse (t3, strlen (t3), TRUE, NULL);
  g_assert_nonnull (ok);
}

/* ANNOUNCE bodies refused: @from replaced by @to in the real SDP. */
static const struct
{
  const char *from, *to;
  LbMlRtspError code;
} bad_announce[] = {
  { "clientViewportWd:1920", "clientViewportWd:0", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "clientViewportWd:1920", "clientViewportWd:100000", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "clientViewportHt:1080", "clientViewportHt:4321", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "clientViewportHt:1080", "clientViewportHt:-1080", LB_ML_RTSP_ERROR_BAD_SDP },
  { "maxFPS:60", "maxFPS:0", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "maxFPS:60", "maxFPS:1000", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "maxFPS:60", "maxFPS:60.5", LB_ML_RTSP_ERROR_BAD_SDP },
  { "packetSize:1024", "packetSize:16", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "packetSize:1024", "packetSize:65536", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "maximumBitrateKbps:16000", "maximumBitrateKbps:99999999", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "maximumBitrateKbps:16000", "maximumBitrateKbps:99999999999", LB_ML_RTSP_ERROR_BAD_SDP },
  { "maximumBitrateKbps:16000", "maximumBitrateKbps:0x3e80", LB_ML_RTSP_ERROR_BAD_SDP },
  { "maximumBitrateKbps:16000", "maximumBitrateKbps:", LB_ML_RTSP_ERROR_BAD_SDP },
  { "configuredBitrateKbps:20000", "configuredBitrateKbps:1", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "a=x-nv-video[0].maxFPS:60 \r\n", "", LB_ML_RTSP_ERROR_MISSING_FIELD },
  { "a=x-nv-vqos[0].bw.maximumBitrateKbps:16000 \r\n", "", LB_ML_RTSP_ERROR_MISSING_FIELD },
  { "bitStreamFormat:0", "bitStreamFormat:1", LB_ML_RTSP_ERROR_UNSUPPORTED },
  { "bitStreamFormat:0", "bitStreamFormat:2", LB_ML_RTSP_ERROR_UNSUPPORTED },
  { "bitStreamFormat:0", "bitStreamFormat:3", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "dynamicRangeMode:0", "dynamicRangeMode:1", LB_ML_RTSP_ERROR_UNSUPPORTED },
  { "chromaSamplingType:0", "chromaSamplingType:1", LB_ML_RTSP_ERROR_UNSUPPORTED },
  { "numChannels:2", "numChannels:5", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "numChannels:2", "numChannels:64", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "packetDuration:5", "packetDuration:7", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "encoderCscMode:2", "encoderCscMode:9", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "maxNumReferenceFrames:1", "maxNumReferenceFrames:17", LB_ML_RTSP_ERROR_OUT_OF_RANGE },
  { "encryptionEnabled:1", "encryptionEnabled:4294967296", LB_ML_RTSP_ERROR_BAD_SDP },
  { "a=x-nv-video[0].maxFPS:60 \r\n",
    "a=x-nv-video[0].maxFPS:60 \r\na=x-nv-video[0].maxFPS:30 \r\n", LB_ML_RTSP_ERROR_BAD_SDP },
  { "t=0 0\r\n", "garbage line\r\n", LB_ML_RTSP_ERROR_BAD_SDP },
  { "t=0 0\r\n", "a=novalue\r\n", LB_ML_RTSP_ERROR_BAD_SDP },
  { "t=0 0\r\n", "a=:x\r\n", LB_ML_RTSP_ERROR_BAD_SDP },
  { "t=0 0\r\n", "a=x\x01y:1\r\n", LB_ML_RTSP_ERROR_BAD_SDP },
};

static char *
replace_once (const char *s, const char *from, const char *to)
{
  const char *p = strstr (s, from);
  g_assert_nonnull (p);
  return g_strdup_printf ("%.*s%s%s", (int)(p - s), s, to, p + strlen (from));
}

static void
test_announce_garbage (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_announce); i++)
    {
      g_autofree char *sdp = replace_once (sdp_1080p60, bad_announce[i].from, bad_announce[i].to);
      g_autoptr (GError) e = NULL;
      LbMlAnnounce a;
      gboolean ok = lb_ml_rtsp_announce_parse (sdp, strlen (sdp), &a, &e);
      if (ok || e == NULL || e->code != (gint)bad_announce[i].code)
        g_error ("ANNOUNCE %s → %s: want %s, got %s (%s)", bad_announce[i].from, bad_announce[i].to,
                 lb_ml_rtsp_error_reason (bad_announce[i].code),
                 e ? lb_ml_rtsp_error_reason (e->code) : "accepted", e ? e->message : "");
      /* The reason names the attribute where there is one. */
      if (bad_announce[i].code == LB_ML_RTSP_ERROR_OUT_OF_RANGE)
        g_assert_nonnull (strstr (e->message, "x-"));
    }
  /* Empty body, NUL in the body, too many lines. */
  g_autoptr (GError) e = NULL;
  LbMlAnnounce a;
  g_assert_false (lb_ml_rtsp_announce_parse ("", 0, &a, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP);
  g_clear_error (&e);
  g_assert_false (lb_ml_rtsp_announce_parse ("v=0\0x", 5, &a, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP);
  g_clear_error (&e);
  GString *many = g_string_new (sdp_1080p60);
  for (int i = 0; i < 300; i++)
    g_string_append (many, "a=x-pad:1\r\n");
  g_assert_false (lb_ml_rtsp_announce_parse (many->str, many->len, &a, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_BAD_SDP);
  g_string_free (many, TRUE);
}

/* --------------------------------------------------------------- mutations */

static void
test_mutations (void)
{
  g_autofree char *announce = announce_request (sdp_1080p60);
  const char *seeds[] = { req_options,       req_describe, req_setup_audio, req_setup_video,
                          req_setup_control, announce,     req_play };
  GRand *rand = g_rand_new_with_seed (0x4c42); /* fixed: a failure reproduces */
  guint accepted = 0, refused = 0;
  for (guint iter = 0; iter < 10000; iter++)
    {
      const char *seed = seeds[iter % G_N_ELEMENTS (seeds)];
      gsize len = strlen (seed);
      /* Room for insertions; a fresh heap copy of exactly the mutated size,
       * so ASan sees any read past it. */
      gsize cap = len + 128;
      guint8 *buf = g_malloc (cap);
      memcpy (buf, seed, len);
      guint n_mut = g_rand_int_range (rand, 1, 6);
      for (guint m = 0; m < n_mut && len > 0; m++)
        {
          gsize at = g_rand_int_range (rand, 0, (gint32)len);
          switch (g_rand_int_range (rand, 0, 6))
            {
            case 0: /* flip a byte */
              buf[at] = (guint8)g_rand_int_range (rand, 0, 256);
              break;
            case 1: /* an interesting byte */
              {
                static const guint8 special[] = { 0, '\r', '\n', ' ', ':', '-', '9', 0x7f, 0xff };
                buf[at] = special[g_rand_int_range (rand, 0, G_N_ELEMENTS (special))];
              }
              break;
            case 2: /* truncate */
              len = at;
              break;
            case 3: /* delete a byte */
              memmove (buf + at, buf + at + 1, len - at - 1);
              len--;
              break;
            case 4: /* insert a byte */
              if (len + 1 <= cap)
                {
                  memmove (buf + at + 1, buf + at, len - at);
                  buf[at] = (guint8)g_rand_int_range (rand, 0, 256);
                  len++;
                }
              break;
            default: /* duplicate a byte run */
              {
                gsize run = MIN ((gsize)g_rand_int_range (rand, 1, 16), len - at);
                if (len + run <= cap)
                  {
                    memmove (buf + at + run, buf + at, len - at);
                    len += run;
                  }
              }
              break;
            }
        }
      guint8 *exact = g_memdup2 (buf, len ? len : 1);
      g_free (buf);
      for (int eof = 0; eof <= 1; eof++)
        {
          g_autoptr (GError) e = NULL;
          g_autoptr (LbMlRtspRequest) req = lb_ml_rtsp_request_parse (exact, len, eof, &e);
          g_assert_true ((req == NULL) != (e == NULL));
          if (req == NULL)
            {
              refused++;
              g_autoptr (LbMlRtspReply) r = lb_ml_rtsp_reply_for_error (e, -1);
              g_autofree char *s = lb_ml_rtsp_reply_to_string (r, NULL);
              continue;
            }
          accepted++;
          LbMlStream st;
          lb_ml_rtsp_parse_setup_target (lb_ml_rtsp_request_get_target (req), &st, NULL);
          lb_ml_rtsp_request_check_session (req, "lbml7f3a", NULL);
          gsize blen;
          const char *body = lb_ml_rtsp_request_get_body (req, &blen);
          LbMlAnnounce a;
          lb_ml_rtsp_announce_parse (body, blen, &a, NULL);
        }
      g_free (exact);
    }
  g_rand_free (rand);
  g_test_message ("mutations: %u parses accepted, %u refused", accepted, refused);
  g_assert_cmpuint (refused, >, 0);
  g_assert_cmpuint (accepted, >, 0);

  /* The SDP alone, mutated. */
  rand = g_rand_new_with_seed (7);
  for (guint iter = 0; iter < 5000; iter++)
    {
      gsize len = strlen (sdp_1080p60);
      char *buf = g_memdup2 (sdp_1080p60, len);
      for (guint m = 0; m < 4; m++)
        buf[g_rand_int_range (rand, 0, (gint32)len)] = (char)g_rand_int_range (rand, 0, 256);
      len = g_rand_int_range (rand, 1, (gint32)len + 1);
      char *exact = g_memdup2 (buf, len);
      g_free (buf);
      LbMlAnnounce a;
      g_autoptr (GError) e = NULL;
      gboolean ok = lb_ml_rtsp_announce_parse (exact, len, &a, &e);
      g_assert_true (ok == (e == NULL));
      g_free (exact);
    }
  g_rand_free (rand);
}

/* ---------------------------------------------------------------- launches */

static guint freed;

static void
count_free (gpointer data)
{
  freed++;
}

static void
test_launches (void)
{
  freed = 0;
  g_autoptr (LbMlLaunchTable) t = lb_ml_launch_table_new (count_free);
  int a = 1, b = 2, c = 3, d = 4;
  /* Two clients launching at once get their own sessions. */
  g_autofree char *sa = g_strdup (lb_ml_launch_table_add (t, "192.0.2.7", 1234, &a, 0));
  g_autofree char *sb = g_strdup (lb_ml_launch_table_add (t, "192.0.2.8", 1234, &b, 0));
  g_assert_cmpuint (strlen (sa), ==, 32);
  g_assert_cmpstr (sa, !=, sb);
  g_assert_true (lb_ml_launch_table_lookup (t, sa) == &a);
  g_assert_true (lb_ml_launch_table_lookup (t, sb) == &b);
  g_assert_null (lb_ml_launch_table_lookup (t, "nope"));

  /* OPTIONS/DESCRIBE match by address without claiming; the audio SETUP
   * claims; the session id the reply carries is the launch's. */
  const char *sid = NULL;
  g_assert_true (lb_ml_launch_table_match_address (t, "192.0.2.8", FALSE, &sid, NULL) == &b);
  g_assert_cmpstr (sid, ==, sb);
  g_assert_true (lb_ml_launch_table_match_address (t, "192.0.2.8", TRUE, &sid, NULL) == &b);
  g_autoptr (GError) e = NULL;
  g_assert_null (lb_ml_launch_table_match_address (t, "192.0.2.8", FALSE, NULL, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_SESSION_MISMATCH);
  g_clear_error (&e);
  /* Still found by its session id. */
  g_assert_true (lb_ml_launch_table_lookup (t, sb) == &b);

  /* Two unclaimed launches behind one address: ambiguous, not crossed;
   * once one is gone the other matches. */
  g_autofree char *sc = g_strdup (lb_ml_launch_table_add (t, "192.0.2.7", 99, &c, 10));
  g_assert_null (lb_ml_launch_table_match_address (t, "192.0.2.7", TRUE, NULL, &e));
  g_assert_error (e, LB_ML_RTSP_ERROR, LB_ML_RTSP_ERROR_AMBIGUOUS_LAUNCH);
  g_assert_cmpuint (lb_ml_rtsp_error_status (e->code), ==, 503);
  g_clear_error (&e);
  g_assert_true (lb_ml_launch_table_remove (t, sa));
  g_assert_cmpuint (freed, ==, 1);
  g_assert_true (lb_ml_launch_table_match_address (t, "192.0.2.7", FALSE, NULL, NULL) == &c);

  /* The same client launching again replaces its launch. */
  const char *sd = lb_ml_launch_table_add (t, "192.0.2.7", 99, &d, 20);
  g_assert_cmpstr (sd, !=, sc);
  g_assert_cmpuint (freed, ==, 2);
  g_assert_null (lb_ml_launch_table_lookup (t, sc));
  g_assert_cmpuint (lb_ml_launch_table_size (t), ==, 2);

  /* A launch nobody came for expires; a claimed one stays. */
  g_assert_cmpuint (lb_ml_launch_table_expire (t, 20 + 10 * G_USEC_PER_SEC, 5 * G_USEC_PER_SEC), ==,
                    1);
  g_assert_cmpuint (lb_ml_launch_table_size (t), ==, 1);
  g_assert_true (lb_ml_launch_table_lookup (t, sb) == &b);
  g_assert_false (lb_ml_launch_table_remove (t, "nope"));
  g_assert_null (lb_ml_launch_table_add (t, "", 1, NULL, 0));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ml-rtsp/options", test_options);
  g_test_add_func ("/ml-rtsp/describe", test_describe);
  g_test_add_func ("/ml-rtsp/setup", test_setup);
  g_test_add_func ("/ml-rtsp/announce", test_announce);
  g_test_add_func ("/ml-rtsp/play", test_play);
  g_test_add_func ("/ml-rtsp/incremental", test_incremental);
  g_test_add_func ("/ml-rtsp/reply-refusals", test_reply_refusals);
  g_test_add_func ("/ml-rtsp/garbage", test_garbage);
  g_test_add_func ("/ml-rtsp/oversized", test_oversized);
  g_test_add_func ("/ml-rtsp/announce-garbage", test_announce_garbage);
  g_test_add_func ("/ml-rtsp/mutations", test_mutations);
  g_test_add_func ("/ml-rtsp/launches", test_launches);
  return g_test_run ();
}
