/* Unit tests for lb-sdp-opus (issue 12): which audio m-line and payload
 * type of a WebRTC offer carry lobbyd's Opus, on offers as chromium and
 * Firefox write them; video-only offers and audio without Opus give none. */
#include "lb-error.h"
#include "lb-sdp-opus.h"

#define SESSION "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
#define VIDEO                                                                                      \
  "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=recvonly\r\n"               \
  "a=rtpmap:102 H264/90000\r\n"

/* Debian's chromium, recvonly video then audio (trimmed). */
static const char chromium[] = SESSION
    "a=group:BUNDLE 0 1\r\n" VIDEO "m=audio 42460 UDP/TLS/RTP/SAVPF 63 111 9 0 8 13 110 126\r\n"
    "c=IN IP4 127.0.0.1\r\na=mid:1\r\na=recvonly\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"
    "a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\n"
    "a=rtpmap:126 telephone-event/8000\r\n";

/* Firefox: audio first, Opus on 109, its fmtp before the rtpmap lines. */
static const char firefox[]
    = SESSION "a=group:BUNDLE 0 1\r\n"
              "m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r\nc=IN IP4 0.0.0.0\r\n"
              "a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n"
              "a=fmtp:101 0-15\r\na=mid:0\r\na=recvonly\r\n"
              "a=rtpmap:109 opus/48000/2\r\na=rtpmap:9 G722/8000/1\r\n"
              "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
              "a=rtpmap:101 telephone-event/8000\r\n"
              "m=video 9 UDP/TLS/RTP/SAVPF 126\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\n"
              "a=rtpmap:126 H264/90000\r\n";

static GstSDPMessage *
parse (const char *text)
{
  GstSDPMessage *sdp = NULL;
  g_assert_cmpint (gst_sdp_message_new_from_text (text, &sdp), ==, GST_SDP_OK);
  return sdp;
}

static void
choose_ok (const char *text, int want_pt, guint want_mline)
{
  GstSDPMessage *sdp = parse (text);
  g_autoptr (GError) error = NULL;
  int pt = -1;
  guint mline = 99;
  g_assert_true (lb_sdp_opus_choose (sdp, &pt, &mline, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pt, ==, want_pt);
  g_assert_cmpuint (mline, ==, want_mline);
  gst_sdp_message_free (sdp);
}

static void
choose_none (const char *text)
{
  GstSDPMessage *sdp = parse (text);
  g_autoptr (GError) error = NULL;
  int pt = -1;
  g_assert_false (lb_sdp_opus_choose (sdp, &pt, NULL, &error));
  g_assert_error (error, LB_ERROR, LB_ERROR_INVALID_SDP);
  g_assert_cmpint (pt, ==, -1);
  /* The error is optional. */
  g_assert_false (lb_sdp_opus_choose (sdp, NULL, NULL, NULL));
  gst_sdp_message_free (sdp);
}

static void
test_chromium (void)
{
  choose_ok (chromium, 111, 1);
}

static void
test_firefox (void)
{
  choose_ok (firefox, 109, 0);
}

static void
test_no_audio (void)
{
  choose_none (SESSION "a=group:BUNDLE 0\r\n" VIDEO);
  /* A data channel is no audio. */
  choose_none (SESSION VIDEO "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                             "c=IN IP4 0.0.0.0\r\na=mid:1\r\na=sctp-port:5000\r\n");
}

static void
test_audio_without_opus (void)
{
  choose_none (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 9 0 8\r\nc=IN IP4 0.0.0.0\r\n"
                             "a=mid:1\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
                             "a=rtpmap:8 PCMA/8000\r\n");
  /* Listed but not mapped, mono, another rate, a format that is not the
   * mapped one, a payload type in RTCP's range. */
  choose_none (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n");
  choose_none (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
                             "a=rtpmap:111 opus/48000\r\n");
  choose_none (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
                             "a=rtpmap:111 opus/16000/2\r\n");
  choose_none (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 110\r\nc=IN IP4 0.0.0.0\r\n"
                             "a=rtpmap:111 opus/48000/2\r\n");
  choose_none (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 80\r\nc=IN IP4 0.0.0.0\r\n"
                             "a=rtpmap:80 opus/48000/2\r\n");
  choose_none (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 0111\r\nc=IN IP4 0.0.0.0\r\n"
                             "a=rtpmap:0111 opus/48000/2\r\n");
  /* Opus in a video m-line is no audio. */
  choose_none (SESSION "m=video 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n"
                       "a=rtpmap:111 opus/48000/2\r\n");
}

static void
test_case_insensitive (void)
{
  choose_ok (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=rtpmap:96 OPUS/48000/2\r\n",
             96, 1);
  choose_ok (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 120\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=rtpmap:120 Opus/48000/2 \r\n",
             120, 1);
}

/* The first audio m-line that has Opus; a disabled one (port 0) is skipped
 * unless it is bundle-only. */
static void
test_first_usable_audio (void)
{
  choose_ok (SESSION VIDEO "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=rtpmap:0 PCMU/8000\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 100\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=rtpmap:100 opus/48000/2\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 101\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=rtpmap:101 opus/48000/2\r\n",
             100, 2);
  choose_ok (SESSION VIDEO "m=audio 0 UDP/TLS/RTP/SAVPF 100\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=rtpmap:100 opus/48000/2\r\n"
                           "m=audio 9 UDP/TLS/RTP/SAVPF 101\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=rtpmap:101 opus/48000/2\r\n",
             101, 2);
  choose_ok (SESSION VIDEO "m=audio 0 UDP/TLS/RTP/SAVPF 100\r\nc=IN IP4 0.0.0.0\r\n"
                           "a=bundle-only\r\na=rtpmap:100 opus/48000/2\r\n",
             100, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdp-opus/chromium", test_chromium);
  g_test_add_func ("/sdp-opus/firefox", test_firefox);
  g_test_add_func ("/sdp-opus/no-audio", test_no_audio);
  g_test_add_func ("/sdp-opus/audio-without-opus", test_audio_without_opus);
  g_test_add_func ("/sdp-opus/case-insensitive", test_case_insensitive);
  g_test_add_func ("/sdp-opus/first-usable-audio", test_first_usable_audio);
  return g_test_run ();
}
