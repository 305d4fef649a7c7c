/* lb-output-webrtc-lite.c — watch-only WebRTC viewers on the shared
 * ICE-lite socket: rtph264pay ! fakesink (and, with the lobby's sound,
 * rtpopuspay ! fakesink on its Opus track), each packet SRTP-protected and
 * sent from the encode's streaming thread; RTCP sender reports for both
 * streams (SRTCP) from a main-loop timer, so browsers lip-sync them. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-output-webrtc-lite.h"
#include "lb-sdp-h264.h"
#include "lb-sdp-opus.h"
#include "lb-allow-list.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-media-branch.h"
#include "lb-output-impl.h"
#include "lb-spec.h"
#include "lb-dtls-srtp.h"
#include "lb-webrtc-host.h"

#include <gst/sdp/sdp.h>
#include <stdlib.h>
#include <string.h>

/* As the webrtcbin path: a viewer that never connects gets this long (or
 * peer_timeout_s, if longer). */
#define CONNECT_TIMEOUT_US (30 * G_USEC_PER_SEC)
#define RTP_MTU 1200
#define MAX_RTP 1500

typedef struct
{
  LbOutput parent;
  LbWebrtcPeer *peer;
  GstElement *payloader;
  GstElement *audio_payloader; /* NULL: no audio answered */
  LbOutputEndedFunc on_ended;
  gpointer ended_data;
} LbOutputWebrtcLite;

extern const LbOutputClass lb_output_webrtc_lite_class;

static gboolean
has_stun_server (const LbConfig *config)
{
  return config->stun_server != NULL && *config->stun_server != '\0';
}

/* "auto" is lite unless a STUN server is set: an ICE-lite agent only has
 * host candidates, and an operator who set one has lobbyd behind a NAT,
 * where webrtcbin's server-reflexive candidates are what viewers reach. It
 * is also webrtcbin where lite's sockets could not be opened. */
static gboolean
uses_lite (const LbConfig *config)
{
  if (config == NULL || g_strcmp0 (config->webrtc_stack, "webrtcbin") == 0)
    return FALSE;
  if (g_strcmp0 (config->webrtc_stack, "lite") == 0)
    return TRUE;
  return !has_stun_server (config)
         && lb_webrtc_host_start ((const char *const *)config->ice_addresses, NULL);
}

gboolean
lb_output_webrtc_lite_wanted (const LbSessionSpec *spec, const LbConfig *config)
{
  return !spec->control && uses_lite (config);
}

gboolean
lb_output_webrtc_lite_configure (const LbConfig *config, GError **error)
{
  g_autoptr (GError) local = NULL;

  if (config == NULL || g_strcmp0 (config->webrtc_stack, "webrtcbin") == 0)
    return TRUE;
  if (g_strcmp0 (config->webrtc_stack, "lite") != 0)
    {
      if (has_stun_server (config))
        g_message ("[webrtc] stack=auto: watch-only viewers use webrtcbin (stun_server is set)");
      else if (!lb_webrtc_host_start ((const char *const *)config->ice_addresses, &local))
        g_warning ("[webrtc] stack=auto: watch-only viewers use webrtcbin: %s", local->message);
      return TRUE;
    }
  if (!lb_webrtc_host_start ((const char *const *)config->ice_addresses, error))
    {
      g_prefix_error (error, "[webrtc] stack=lite: ");
      return FALSE;
    }
  /* An ICE-lite agent only has host candidates: viewers must reach one of
   * lobbyd's addresses (LAN, public host); NATed viewers are fine. */
  if (has_stun_server (config))
    g_warning ("[webrtc] stun_server is not used by stack=lite watch-only viewers (host "
               "candidates only); control viewers still use it");
  return TRUE;
}

/* ---- The offer ---- */

typedef struct
{
  int pt;            /* the H.264 payload type we send */
  guint video;       /* the m-line it is on */
  int audio_pt;      /* the Opus payload type we send, -1: no audio */
  guint audio;       /* its m-line */
  char *ice_ufrag;   /* the viewer's */
  char *fingerprint; /* "sha-256 AB:…" */
} Offer;

static void
offer_clear (Offer *o)
{
  g_free (o->ice_ufrag);
  g_free (o->fingerprint);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Offer, offer_clear)

/* A media attribute, else the session's. */
static const char *
attribute (const GstSDPMessage *sdp, const GstSDPMedia *media, const char *key)
{
  const char *v = media ? gst_sdp_media_get_attribute_val (media, key) : NULL;
  return v != NULL ? v : gst_sdp_message_get_attribute_val (sdp, key);
}

/* The mids of the offer's BUNDLE groups (NULL: none). */
static gboolean
in_bundle (const GstSDPMessage *sdp, const char *mid)
{
  for (guint i = 0; mid != NULL && i < gst_sdp_message_attributes_len (sdp); i++)
    {
      const GstSDPAttribute *a = gst_sdp_message_get_attribute (sdp, i);
      if (g_strcmp0 (a->key, "group") != 0 || a->value == NULL
          || !g_str_has_prefix (a->value, "BUNDLE"))
        continue;
      g_auto (GStrv) mids = g_strsplit (a->value + strlen ("BUNDLE"), " ", -1);
      if (g_strv_contains ((const char *const *)mids, mid))
        return TRUE;
    }
  return FALSE;
}

/* The offer's Opus, when the lobby has sound: only on an m-line BUNDLEd
 * with the video, the one transport a lite peer has. */
static void
read_offer_audio (const GstSDPMessage *sdp, Offer *o)
{
  o->audio_pt = -1;
  int pt;
  guint mline;
  if (!lb_sdp_opus_choose (sdp, &pt, &mline, NULL))
    return;
  const GstSDPMedia *audio = gst_sdp_message_get_media (sdp, mline);
  const char *mid = gst_sdp_media_get_attribute_val (audio, "mid");
  const char *vmid
      = gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, o->video), "mid");
  if (mline == o->video || g_strcmp0 (mid, vmid) == 0 || !in_bundle (sdp, mid)
      || !in_bundle (sdp, vmid))
    return;
  o->audio_pt = pt;
  o->audio = mline;
}

/* The offer's best H.264 for our constrained-baseline stream (lb-sdp-h264,
 * as the webrtcbin path chooses) and what ICE/DTLS need. */
static gboolean
read_offer (const GstSDPMessage *sdp, Offer *o, GError **error)
{
  o->audio_pt = -1;
  o->pt = lb_sdp_h264_choose (sdp, 0, &o->video, error);
  if (o->pt < 0)
    return FALSE;
  const GstSDPMedia *video = gst_sdp_message_get_media (sdp, o->video);
  const char *ufrag = attribute (sdp, video, "ice-ufrag");
  const char *pwd = attribute (sdp, video, "ice-pwd");
  const char *fp = attribute (sdp, video, "fingerprint");
  const char *setup = attribute (sdp, video, "setup");
  /* Only SHA-256 fingerprints are checked (lb-dtls-srtp): any other hash
   * would let any certificate through, so it is refused here. */
  if (ufrag == NULL || *ufrag == '\0' || pwd == NULL || *pwd == '\0' || fp == NULL
      || g_ascii_strncasecmp (fp, "sha-256 ", 8) != 0
      || (g_strcmp0 (setup, "actpass") != 0 && g_strcmp0 (setup, "active") != 0))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_SDP,
                   "the SDP offer needs a=ice-ufrag, a=ice-pwd, a=fingerprint:sha-256 and a "
                   "DTLS client (a=setup:actpass or active)");
      return FALSE;
    }
  /* A BUNDLE group must name the video: it is what we answer on. */
  const char *mid = gst_sdp_media_get_attribute_val (video, "mid");
  for (guint i = 0; i < gst_sdp_message_attributes_len (sdp); i++)
    {
      const GstSDPAttribute *a = gst_sdp_message_get_attribute (sdp, i);
      if (g_strcmp0 (a->key, "group") != 0 || a->value == NULL
          || !g_str_has_prefix (a->value, "BUNDLE"))
        continue;
      g_auto (GStrv) mids = g_strsplit (a->value + strlen ("BUNDLE"), " ", -1);
      if (mid == NULL || !g_strv_contains ((const char *const *)mids, mid))
        {
          g_set_error (error, LB_ERROR, LB_ERROR_INVALID_SDP,
                       "the offer's BUNDLE group does not name its video m-line");
          return FALSE;
        }
    }
  o->ice_ufrag = g_strdup (ufrag);
  o->fingerprint = g_strdup (fp);
  return TRUE;
}

/* One accepted m-line: the transport is the video's for both (BUNDLE),
 * with the same credentials and candidates on each, as browsers expect. */
static void
write_accepted (GString *a, const char *kind, int pt, const char *mid, const char *credentials,
                const char *family, const char *address, guint port)
{
  g_string_append_printf (a, "m=%s %u UDP/TLS/RTP/SAVPF %d\r\nc=IN %s %s\r\n", kind, port, pt,
                          family, address);
  g_string_append (a, credentials);
  if (mid != NULL)
    g_string_append_printf (a, "a=mid:%s\r\n", mid);
  g_string_append (a, "a=sendonly\r\na=rtcp-mux\r\n");
}

static void
write_candidates (GString *a)
{
  for (const char *const *c = lb_webrtc_host_candidates (); *c != NULL; c++)
    g_string_append_printf (a, "a=%s\r\n", *c);
  g_string_append (a, "a=end-of-candidates\r\n");
}

/* Our answer: every offered m-line in order, the H.264 one accepted, and
 * the Opus one when there is audio (sendonly, rtcp-mux, one BUNDLE group of
 * them, one MediaStream "lobbyd" so the browser lip-syncs them); the data
 * channel and anything else are rejected with port 0, watch-only viewers
 * send nothing. */
static char *
write_answer (const GstSDPMessage *sdp, const Offer *o, LbWebrtcPeer *peer, guint32 ssrc,
              guint32 audio_ssrc)
{
  guint port = 0;
  const char *address = lb_webrtc_host_address (&port);
  const char *family = strchr (address, ':') ? "IP6" : "IP4";
  const GstSDPMedia *video = gst_sdp_message_get_media (sdp, o->video);
  const char *mid = gst_sdp_media_get_attribute_val (video, "mid");
  const char *amid
      = o->audio_pt >= 0
            ? gst_sdp_media_get_attribute_val (gst_sdp_message_get_media (sdp, o->audio), "mid")
            : NULL;
  GString *a = g_string_new (NULL);
  g_autoptr (GString) credentials = g_string_new (NULL);
  g_string_append_printf (credentials,
                          "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
                          "a=setup:passive\r\n",
                          lb_webrtc_peer_get_ufrag (peer), lb_webrtc_peer_get_pwd (peer),
                          lb_dtls_srtp_fingerprint ());

  g_string_append_printf (a, "v=0\r\no=- %" G_GUINT64_FORMAT " 2 IN %s %s\r\ns=-\r\nt=0 0\r\n",
                          (guint64)g_random_int (), family, address);
  if (mid != NULL && amid != NULL)
    g_string_append_printf (a, "a=group:BUNDLE %s %s\r\n", o->audio < o->video ? amid : mid,
                            o->audio < o->video ? mid : amid);
  else if (mid != NULL)
    g_string_append_printf (a, "a=group:BUNDLE %s\r\n", mid);
  g_string_append (a, "a=ice-lite\r\na=msid-semantic: WMS lobbyd\r\n");
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);
      const char *m_mid = gst_sdp_media_get_attribute_val (media, "mid");
      if (m == o->video)
        {
          write_accepted (a, "video", o->pt, mid, credentials->str, family, address, port);
          g_string_append_printf (a,
                                  "a=rtpmap:%d H264/90000\r\n"
                                  "a=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n"
                                  "a=fmtp:%d level-asymmetry-allowed=1;packetization-mode=1;"
                                  "profile-level-id=42e01f\r\n"
                                  "a=ssrc:%u cname:lobbyd\r\na=ssrc:%u msid:lobbyd video\r\n"
                                  "a=msid:lobbyd video\r\n",
                                  o->pt, o->pt, o->pt, o->pt, ssrc, ssrc);
          write_candidates (a);
          continue;
        }
      if (o->audio_pt >= 0 && m == o->audio)
        {
          /* RFC 7587 §7: always opus/48000/2; stereo=1 asks for both
           * channels, sprop-stereo=1 says we send them. */
          write_accepted (a, "audio", o->audio_pt, amid, credentials->str, family, address, port);
          g_string_append_printf (a,
                                  "a=rtpmap:%d opus/48000/2\r\n"
                                  "a=fmtp:%d minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1\r\n"
                                  "a=ssrc:%u cname:lobbyd\r\na=ssrc:%u msid:lobbyd audio\r\n"
                                  "a=msid:lobbyd audio\r\n",
                                  o->audio_pt, o->audio_pt, audio_ssrc, audio_ssrc);
          write_candidates (a);
          continue;
        }
      const char *fmt
          = gst_sdp_media_formats_len (media) > 0 ? gst_sdp_media_get_format (media, 0) : "0";
      g_string_append_printf (a, "m=%s 0 %s %s\r\nc=IN %s 0.0.0.0\r\n",
                              gst_sdp_media_get_media (media), gst_sdp_media_get_proto (media), fmt,
                              "IP4");
      if (m_mid != NULL)
        g_string_append_printf (a, "a=mid:%s\r\n", m_mid);
      /* webrtcbin wants ICE and DTLS lines on rejected m-lines too. */
      g_string_append (a, credentials->str);
    }
  return g_string_free (a, FALSE);
}

/* ---- Media ---- */

/* What the payloader's probe sends with: rtph264pay's source template
 * takes payload types 96-127 only, so a format on 35-63
 * (lb_rtp_payload_type_is_dynamic) is payloaded on 96 and relabelled in
 * the copy that goes out. */
typedef struct
{
  LbWebrtcPeer *peer;
  int pt;
  LbRtcpSender *sr; /* the output's (it outlives the branch's streaming) */
} Sender;

#define PAYLOADER_MIN_PT 96

static void
sender_free (gpointer data)
{
  Sender *sender = data;
  lb_webrtc_peer_unref (sender->peer);
  g_free (sender);
}

typedef struct
{
  const Sender *sender;
  GstPad *pad;
} SendList;

static void
send_buffer (const Sender *sender, GstPad *pad, GstBuffer *buffer)
{
  guint8 packet[MAX_RTP + LB_WEBRTC_SRTP_ROOM];
  gsize len = gst_buffer_get_size (buffer);
  if (len > MAX_RTP || len < 12)
    return;
  /* One copy out of the payloader's (header + payload) memories, then
   * protected in place. */
  gst_buffer_extract (buffer, 0, packet, len);
  packet[1] = (guint8)((packet[1] & 0x80) | sender->pt);
  lb_output_sr_feed (sender->sr, pad, buffer, packet, len);
  lb_webrtc_peer_send_rtp (sender->peer, packet, len);
}

static gboolean
send_list_item (GstBuffer **buffer, guint idx, gpointer data)
{
  const SendList *list = data;
  send_buffer (list->sender, list->pad, *buffer);
  return TRUE;
}

/* On the encode's streaming thread: the payloader's packets go out on the
 * shared socket here; fakesink only ends the chain. */
static GstPadProbeReturn
on_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  const Sender *sender = user_data;
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    send_buffer (sender, pad, GST_PAD_PROBE_INFO_BUFFER (info));
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      SendList list = { sender, pad };
      gst_buffer_list_foreach (GST_PAD_PROBE_INFO_BUFFER_LIST (info), send_list_item, &list);
    }
  return GST_PAD_PROBE_OK;
}

/* Main loop: an SR as SRTCP on the viewer's transport (rtcp-mux, BUNDLE);
 * not sent (and tried again) until DTLS is up. */
static gboolean
send_sender_report (LbOutput *output, LbOutputSrStream stream, guint8 *packet, gsize len)
{
  G_STATIC_ASSERT (LB_OUTPUT_SR_ROOM >= LB_WEBRTC_SRTCP_ROOM);
  LbOutputWebrtcLite *self = (LbOutputWebrtcLite *)output;
  return self->peer != NULL && lb_webrtc_peer_send_rtcp (self->peer, packet, len);
}

/* ---- Peer events (main loop) ---- */

/* Frames sent before DTLS is up are lost, the join's key frame among them. */
static void
on_connected (gpointer user_data)
{
  lb_output_request_key_frame (user_data);
}

static void
on_key_frame (gpointer user_data)
{
  lb_output_request_key_frame (user_data);
}

static void
on_peer_ended (const char *reason, gpointer user_data)
{
  LbOutputWebrtcLite *self = user_data;
  if (self->on_ended != NULL)
    self->on_ended (reason, self->ended_data);
}

LbOutput *
lb_output_webrtc_lite_open (LbTrack *track, const LbSessionSpec *spec, const LbOutputSetup *setup,
                            GError **error)
{
  const LbConfig *config = setup->config;
  g_autoptr (GstSDPMessage) sdp = NULL;
  g_auto (Offer) offer = { 0 };
  GstElement *e[3] = { NULL };
  static const LbElementSpec chain[] = {
    { "rtph264pay", "payloader" },
    { "fakesink", NULL },
  };

  if (!lb_webrtc_host_start ((const char *const *)config->ice_addresses, error))
    return NULL;
  if (gst_sdp_message_new_from_text (spec->offer, &sdp) != GST_SDP_OK || sdp == NULL
      || gst_sdp_message_medias_len (sdp) == 0)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_SDP, "the body is not an SDP offer");
      return NULL;
    }
  if (!read_offer (sdp, &offer, error))
    return NULL;
  if (setup->audio != NULL)
    read_offer_audio (sdp, &offer);
  g_autoptr (LbAllowList) allowed
      = lb_allow_list_new ((const char *const *)config->allowed_candidates, NULL);
  if (allowed != NULL && lb_allow_list_allows_all (allowed))
    g_clear_pointer (&allowed, lb_allow_list_free);
  if (!lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return NULL;
  GstElement *ae[3] = { NULL };
  static const LbElementSpec audio_chain[] = {
    { "rtpopuspay", "audio-payloader" },
    { "fakesink", NULL },
  };
  /* Without the elements the viewer still gets video: the answer rejects
   * the audio m-line. */
  if (offer.audio_pt >= 0)
    {
      g_autoptr (GError) local = NULL;
      if (!lb_media_make_all (audio_chain, G_N_ELEMENTS (audio_chain), ae, &local))
        {
          g_warning ("%s: no audio: %s", setup->name, local->message);
          offer.audio_pt = -1;
        }
    }

  g_autoptr (LbOutput) output
      = lb_output_alloc (sizeof (LbOutputWebrtcLite), &lb_output_webrtc_lite_class, setup->name);
  LbOutputWebrtcLite *self = (LbOutputWebrtcLite *)output;
  guint32 ssrc = g_random_int ();
  g_object_set (e[0], "config-interval", -1, "pt", MAX (offer.pt, PAYLOADER_MIN_PT), "mtu", RTP_MTU,
                "ssrc", ssrc, NULL);
  gst_util_set_object_arg (G_OBJECT (e[0]), "aggregate-mode", "zero-latency");
  g_object_set (e[1], "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
  self->payloader = gst_object_ref (e[0]);
  self->on_ended = setup->on_ended;
  self->ended_data = setup->ended_data;

  gint64 peer_timeout = (gint64)config->peer_timeout_s * G_USEC_PER_SEC;
  LbWebrtcPeerOptions options = {
    .remote_ufrag = offer.ice_ufrag,
    .remote_fingerprint = offer.fingerprint,
    .allowed = g_steal_pointer (&allowed),
    .peer_timeout_us = peer_timeout,
    .connect_timeout_us = peer_timeout > 0 ? MAX (CONNECT_TIMEOUT_US, peer_timeout) : 0,
  };
  static const LbWebrtcPeerFuncs funcs = {
    .connected = on_connected,
    .key_frame = on_key_frame,
    .ended = on_peer_ended,
  };
  self->peer = lb_webrtc_peer_new (&options, &funcs, self);
  g_autoptr (GstPad) pay_src = gst_element_get_static_pad (e[0], "src");
  lb_output_count_packets (output, pay_src);
  /* The probe holds its own reference: the streaming thread may still
   * send (to nobody: closed peers drop) while the branch is detached. */
  Sender *sender = g_new0 (Sender, 1);
  sender->peer = lb_webrtc_peer_ref (self->peer);
  sender->pt = offer.pt;
  sender->sr = lb_output_sr_stream (output, LB_OUTPUT_SR_VIDEO, 90000);
  gst_pad_add_probe (pay_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST, on_rtp,
                     sender, sender_free);
  guint32 audio_ssrc = 0;
  if (offer.audio_pt >= 0)
    {
      do
        audio_ssrc = g_random_int ();
      while (audio_ssrc == ssrc);
      /* As for video: the payloader's own range, the offer's type written
       * into each packet on the way out. */
      g_object_set (ae[0], "pt", MAX (offer.audio_pt, PAYLOADER_MIN_PT), "mtu", RTP_MTU, "ssrc",
                    audio_ssrc, NULL);
      g_object_set (ae[1], "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
      self->audio_payloader = gst_object_ref (ae[0]);
      g_autoptr (GstPad) audio_src = gst_element_get_static_pad (ae[0], "src");
      lb_output_count_audio_packets (output, audio_src);
      Sender *audio_sender = g_new0 (Sender, 1);
      audio_sender->peer = lb_webrtc_peer_ref (self->peer);
      audio_sender->pt = offer.audio_pt;
      audio_sender->sr = lb_output_sr_stream (output, LB_OUTPUT_SR_AUDIO, 48000);
      gst_pad_add_probe (audio_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                         on_rtp, audio_sender, sender_free);
    }
  output->answer = write_answer (sdp, &offer, self->peer, ssrc, audio_ssrc);
  if (!lb_output_attach (output, track, e, error))
    {
      for (guint i = 0; ae[i] != NULL; i++)
        gst_object_unref (gst_object_ref_sink (ae[i]));
      return NULL;
    }
  if (offer.audio_pt >= 0 && !lb_output_attach_audio (output, setup->audio, ae, error))
    return NULL;
  lb_output_sr_start (output, send_sender_report);
  g_debug ("%s: WebRTC lite answered (payload type %d, audio %d, ufrag %s)", setup->name, offer.pt,
           offer.audio_pt, lb_webrtc_peer_get_ufrag (self->peer));
  return g_steal_pointer (&output);
}

static void
lite_close (LbOutput *output)
{
  LbOutputWebrtcLite *self = (LbOutputWebrtcLite *)output;
  g_clear_pointer (&self->peer, lb_webrtc_peer_close);
  g_clear_object (&self->payloader);
  g_clear_object (&self->audio_payloader);
}

/* As lb-output-webrtc.c: how RTP timestamps map to wall-clock capture time. */
static void
lite_stats_to_json (LbOutput *output, JsonObject *stats)
{
  LbOutputWebrtcLite *self = (LbOutputWebrtcLite *)output;

  json_object_set_string_member (stats, "connection_state",
                                 self->peer ? lb_webrtc_peer_get_state (self->peer) : "closed");
  /* Watch-only: no data channel, nothing to drop. */
  json_object_set_int_member (stats, "input_dropped", 0);
  json_object_set_string_member (stats, "stack", "lite");
  json_object_set_int_member (stats, "rtcp_sr_sent", (gint64)lb_output_sr_sent (output));
  lb_output_rtp_clock_to_json (output, self->payloader, stats);
}

/* Opened through lb-output-webrtc.c (the "webrtc" class), never looked up:
 * sessions see the transport "webrtc". */
const LbOutputClass lb_output_webrtc_lite_class = {
  .transport = "webrtc",
  .stored = FALSE,
  .carries_input = TRUE,
  .open = lb_output_webrtc_lite_open,
  .stats_to_json = lite_stats_to_json,
  .close = lite_close,
};
