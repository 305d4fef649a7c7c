/* lb-output-rtp.c — the "rtp" transport: rtph264pay ! udpsink on an
 * encode's encoded track, rtpopuspay ! udpsink on the lobby's audio, RTCP
 * sender reports for both, and the SDP a receiver opens it with. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-output-rtp.h"
#include "lb-allow-list.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-json.h"
#include "lb-media-branch.h"
#include "lb-output-impl.h"
#include "lb-rtcp.h"
#include "lb-spec.h"

#include <gio/gio.h>
#include <gst/sdp/sdp.h>

#define PAYLOAD_TYPE 96
#define AUDIO_PAYLOAD_TYPE 97
/* Fits in a 1280-byte IPv6 minimum MTU path with room for tunnels. */
#define RTP_MTU 1200

typedef struct
{
  LbOutput parent;
  char *host;
  guint port;
  char *audio_host; /* NULL: no audio branch */
  guint audio_port;
  GstElement *payloader;
  GstElement *audio_payloader;
  /* Where each stream's SRs go (port + 1); NULL: no such port. */
  GSocketAddress *rtcp_to[LB_OUTPUT_SR_STREAMS];
} LbOutputRtp;

static const char *const members[] = { "destination", "audio_destination", NULL };

/* {"host": an IP literal, "port"} at @member of @request into @params. */
static gboolean
parse_destination (JsonObject *request, const char *member, gboolean required, JsonObject *params,
                   GError **error)
{
  static const char *const dest_members[] = { "host", "port", NULL };
  JsonObject *dest = NULL;
  g_autofree char *host = NULL;
  guint port = 0;

  if (!lb_json_get_object (request, NULL, member, required, &dest, error))
    return FALSE;
  if (dest == NULL)
    return TRUE;
  if (!lb_json_check_members (dest, member, dest_members, error)
      || !lb_json_get_string (dest, member, "host", TRUE, 64, &host, error)
      || !lb_json_get_uint (dest, member, "port", TRUE, 1, 65535, &port, error))
    return FALSE;

  /* Only IP literals: resolving names would make the allow-list depend on DNS. */
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);
  if (addr == NULL)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "field '%s.host' must be an IPv4 or IPv6 address literal", member);
      return FALSE;
    }
  JsonObject *out = json_object_new ();
  json_object_set_string_member (out, "host", host);
  json_object_set_int_member (out, "port", port);
  json_object_set_object_member (params, member, out);
  return TRUE;
}

static const char *
destination_host_port (JsonObject *params, guint *port)
{
  JsonObject *dest = json_object_get_object_member (params, "destination");
  *port = (guint)json_object_get_int_member (dest, "port");
  return json_object_get_string_member (dest, "host");
}

/* The parsed destination (borrowed from @spec). */
static const char *
destination (const LbSessionSpec *spec, guint *port)
{
  JsonObject *dest = json_object_get_object_member (spec->params, "destination");
  *port = (guint)json_object_get_int_member (dest, "port");
  return json_object_get_string_member (dest, "host");
}

/* Where audio goes (borrowed from @spec): "audio_destination", else the
 * video host at port + 2 (port - 2 where port + 2 does not exist), the next
 * RTP/AVP pair after video's RTP and RTCP ports. */
static const char *
audio_destination (const LbSessionSpec *spec, guint *port)
{
  JsonObject *dest = json_object_has_member (spec->params, "audio_destination")
                         ? json_object_get_object_member (spec->params, "audio_destination")
                         : NULL;
  if (dest != NULL)
    {
      *port = (guint)json_object_get_int_member (dest, "port");
      return json_object_get_string_member (dest, "host");
    }
  guint video_port;
  const char *host = destination (spec, &video_port);
  *port = video_port + 2 <= 65535 ? video_port + 2 : video_port - 2;
  return host;
}

/* {"destination": {...}, "audio_destination" (optional): {...}}, as stored
 * and listed. */
static gboolean
rtp_parse (JsonObject *request, JsonObject *params, GError **error)
{
  if (!parse_destination (request, "destination", TRUE, params, error)
      || !parse_destination (request, "audio_destination", FALSE, params, error))
    return FALSE;
  if (!json_object_has_member (params, "audio_destination"))
    return TRUE;
  JsonObject *audio = json_object_get_object_member (params, "audio_destination");
  guint video_port, audio_port = (guint)json_object_get_int_member (audio, "port");
  const char *video_host = destination_host_port (params, &video_port);
  g_autoptr (GInetAddress) va = g_inet_address_new_from_string (video_host);
  g_autoptr (GInetAddress) aa
      = g_inet_address_new_from_string (json_object_get_string_member (audio, "host"));
  /* Video's RTP and RTCP ports, and audio's RTCP (port + 1) on video's
   * RTP port: a receiver would mix the streams up. */
  if (g_inet_address_equal (va, aa) && audio_port + 1 >= video_port && audio_port <= video_port + 1)
    {
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                   "field 'audio_destination.port' must not be %u, %u or %u: the video's RTP and "
                   "RTCP ports",
                   video_port - 1, video_port, video_port + 1);
      return FALSE;
    }
  return TRUE;
}

/* Without [rtp] allowed_destinations any API caller could point RTP at a
 * third party and turn lobbyd into a UDP reflector. */
static gboolean
rtp_configure (const LbConfig *config, GError **error)
{
  g_autoptr (LbAllowList) allow
      = lb_allow_list_new ((const char *const *)config->allowed_destinations, error);
  return allow != NULL;
}

static gboolean
rtp_check (const LbSessionSpec *spec, const LbConfig *config, GError **error)
{
  guint port;
  const char *host = destination (spec, &port);
  /* Checked at start-up (rtp_configure); a few CIDRs parse in microseconds. */
  g_autoptr (LbAllowList) allow
      = lb_allow_list_new ((const char *const *)config->allowed_destinations, NULL);

  if (allow == NULL || !lb_allow_list_contains (allow, host))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_DESTINATION_NOT_ALLOWED,
                   "destination %s is not in [rtp] allowed_destinations", host);
      return FALSE;
    }
  /* Checked even when the lobby has no sound (yet): a request is refused
   * or accepted whatever the lobby's audio state. */
  const char *audio_host = audio_destination (spec, &port);
  if (!lb_allow_list_contains (allow, audio_host))
    {
      g_set_error (error, LB_ERROR, LB_ERROR_DESTINATION_NOT_ALLOWED,
                   "audio_destination %s is not in [rtp] allowed_destinations", audio_host);
      return FALSE;
    }
  return TRUE;
}

/* One unbound, non-blocking UDP socket per address family for every
 * session's RTCP: SRs are a few per second per session, and a socket per
 * session would cost a descriptor each. Main loop only. */
static GSocket *rtcp_sockets[2];

static GSocket *
rtcp_socket (GSocketFamily family)
{
  guint i = family == G_SOCKET_FAMILY_IPV6;
  if (rtcp_sockets[i] == NULL)
    {
      g_autoptr (GError) error = NULL;
      rtcp_sockets[i]
          = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
      if (rtcp_sockets[i] == NULL)
        {
          g_warning ("RTCP socket: %s", error->message);
          return NULL;
        }
      g_socket_set_blocking (rtcp_sockets[i], FALSE);
    }
  return rtcp_sockets[i];
}

/* SRs for @payloader's packets to @host:@port + 1 (none where there is no
 * such port). */
static void
rtcp_stream_init (LbOutputRtp *self, LbOutputSrStream stream, GstElement *payloader,
                  guint32 clock_rate, const char *host, guint port)
{
  if (port + 1 > 65535)
    return;
  self->rtcp_to[stream] = g_inet_socket_address_new_from_string (host, port + 1);
  g_autoptr (GstPad) src = gst_element_get_static_pad (payloader, "src");
  lb_output_sr_probe (&self->parent, stream, src, clock_rate);
}

static gboolean
send_sender_report (LbOutput *output, LbOutputSrStream stream, guint8 *pkt, gsize len)
{
  LbOutputRtp *self = (LbOutputRtp *)output;
  GSocketAddress *to = self->rtcp_to[stream];
  GSocket *socket = rtcp_socket (g_socket_address_get_family (to));
  g_autoptr (GError) error = NULL;
  if (socket == NULL || g_socket_send_to (socket, to, (const char *)pkt, len, NULL, &error) < 0)
    {
      g_debug ("%s: RTCP SR: %s", output->name, error != NULL ? error->message : "no socket");
      return FALSE;
    }
  return TRUE;
}

static void
rtp_close (LbOutput *output)
{
  LbOutputRtp *self = (LbOutputRtp *)output;
  for (guint i = 0; i < LB_OUTPUT_SR_STREAMS; i++)
    g_clear_object (&self->rtcp_to[i]);
  g_clear_object (&self->payloader);
  g_clear_object (&self->audio_payloader);
  g_free (self->host);
  g_free (self->audio_host);
}

/* rtpopuspay ! udpsink on the lobby's audio: a second branch that stays
 * put when the video branch moves to another encode. */
static gboolean
rtp_open_audio (LbOutputRtp *self, LbTrack *audio, const LbSessionSpec *spec, GError **error)
{
  GstElement *e[3] = { NULL };
  static const LbElementSpec chain[] = {
    { "rtpopuspay", "audio-payloader" },
    { "udpsink", "audio-udpsink" },
  };
  guint port;
  const char *host = audio_destination (spec, &port);

  if (!lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return FALSE;
  g_object_set (e[0], "pt", AUDIO_PAYLOAD_TYPE, "mtu", RTP_MTU, NULL);
  g_object_set (e[1], "host", host, "port", (int)port, "sync", FALSE, "async", FALSE, NULL);
  GstElement *payloader = gst_object_ref (e[0]);
  if (!lb_output_attach_audio (&self->parent, audio, e, error))
    {
      gst_object_unref (payloader);
      return FALSE;
    }
  self->audio_payloader = payloader;
  self->audio_host = g_strdup (host);
  self->audio_port = port;
  g_autoptr (GstPad) src = gst_element_get_static_pad (payloader, "src");
  lb_output_count_audio_packets (&self->parent, src);
  rtcp_stream_init (self, LB_OUTPUT_SR_AUDIO, payloader, 48000, host, port);
  return TRUE;
}

/* The destination must already be checked (an allowed IP literal). The caller
 * asks the encode for a key frame (rate-limited when it is shared). */
static LbOutput *
rtp_open (LbTrack *track, const LbSessionSpec *spec, const LbOutputSetup *setup, GError **error)
{
  g_autoptr (LbOutput) output
      = lb_output_alloc (sizeof (LbOutputRtp), &lb_output_rtp_class, setup->name);
  LbOutputRtp *self = (LbOutputRtp *)output;
  GstElement *e[3] = { NULL };

  self->host = g_strdup (destination (spec, &self->port));

  /* No queue: the encode's tee pushes straight into payloader and socket.
   * A UDP send does not block, and a thread hand-off per viewer cost 3x more
   * CPU per viewer (bench/fanout, 16 viewers on one encode: +0.034 vs +0.012
   * CPU-s per viewer per 10 s). */
  static const LbElementSpec chain[] = {
    { "rtph264pay", "payloader" },
    { "udpsink", "udpsink" },
  };
  if (!lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return NULL;
  /* config-interval -1: SPS/PPS before every IDR, so a receiver that starts
   * late (or restarts) decodes from the next key frame without the SDP. */
  g_object_set (e[0], "config-interval", -1, "pt", PAYLOAD_TYPE, "mtu", RTP_MTU, NULL);
  /* sync=false: the producer is live already; async=false: joining a PLAYING
   * pipeline must not wait for a preroll that live pipelines never do. */
  g_object_set (e[1], "host", self->host, "port", (int)self->port, "sync", FALSE, "async", FALSE,
                NULL);
  self->payloader = gst_object_ref (e[0]);

  g_autoptr (GstPad) pay_src = gst_element_get_static_pad (e[0], "src");
  lb_output_count_packets (output, pay_src);
  rtcp_stream_init (self, LB_OUTPUT_SR_VIDEO, e[0], 90000, self->host, self->port);

  if (!lb_output_attach (output, track, e, error))
    return NULL;
  if (setup->audio != NULL && !rtp_open_audio (self, setup->audio, spec, error))
    return NULL;
  lb_output_sr_start (output, send_sender_report);

  g_debug ("%s: RTP to %s:%u%s", setup->name, self->host, self->port,
           self->audio_host != NULL ? ", audio too" : "");
  return g_steal_pointer (&output);
}

static char *
rtp_get_sdp (LbOutput *output)
{
  LbOutputRtp *self = (LbOutputRtp *)output;
  g_autoptr (GstPad) src = gst_element_get_static_pad (self->payloader, "src");
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (src);
  GstSDPMessage *msg = NULL;
  GstSDPMedia *media = NULL;
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (self->host);
  const char *family = g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6 ? "IP6" : "IP4";

  if (caps == NULL)
    caps = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "video", "clock-rate",
                                G_TYPE_INT, 90000, "encoding-name", G_TYPE_STRING, "H264",
                                "payload", G_TYPE_INT, PAYLOAD_TYPE, "packetization-mode",
                                G_TYPE_STRING, "1", NULL);

  gst_sdp_message_new (&msg);
  gst_sdp_message_set_version (msg, "0");
  g_autofree char *sess_id = g_strdup_printf ("%" G_GUINT64_FORMAT, (guint64)g_get_real_time ());
  gst_sdp_message_set_origin (msg, "-", sess_id, "1", "IN", family, self->host);
  gst_sdp_message_set_session_name (msg, output->name);
  gst_sdp_message_set_connection (msg, "IN", family, self->host, 0, 0);
  gst_sdp_message_add_time (msg, "0", "0", NULL);

  gst_sdp_media_new (&media);
  gst_sdp_media_set_media_from_caps (caps, media);
  gst_sdp_media_set_port_info (media, self->port, 1);
  gst_sdp_media_set_proto (media, "RTP/AVP");
  gst_sdp_media_add_attribute (media, "recvonly", NULL);
  gst_sdp_message_add_media (msg, media);
  gst_sdp_media_free (media);

  if (self->audio_payloader != NULL)
    {
      /* RTCP at port + 1 is the RTP/AVP default: no a=rtcp. A c= of its
       * own when audio goes elsewhere. */
      g_autofree char *pt = g_strdup_printf ("%d", AUDIO_PAYLOAD_TYPE);
      g_autofree char *rtpmap = g_strdup_printf ("%d OPUS/48000/2", AUDIO_PAYLOAD_TYPE);
      g_autofree char *fmtp = g_strdup_printf ("%d sprop-stereo=1", AUDIO_PAYLOAD_TYPE);
      gst_sdp_media_new (&media);
      gst_sdp_media_set_media (media, "audio");
      gst_sdp_media_set_port_info (media, self->audio_port, 1);
      gst_sdp_media_set_proto (media, "RTP/AVP");
      gst_sdp_media_add_format (media, pt);
      if (g_strcmp0 (self->audio_host, self->host) != 0)
        {
          g_autoptr (GInetAddress) aaddr = g_inet_address_new_from_string (self->audio_host);
          gst_sdp_media_add_connection (
              media, "IN",
              g_inet_address_get_family (aaddr) == G_SOCKET_FAMILY_IPV6 ? "IP6" : "IP4",
              self->audio_host, 0, 0);
        }
      gst_sdp_media_add_attribute (media, "rtpmap", rtpmap);
      gst_sdp_media_add_attribute (media, "fmtp", fmtp);
      gst_sdp_media_add_attribute (media, "recvonly", NULL);
      gst_sdp_message_add_media (msg, media);
      gst_sdp_media_free (media);
    }

  char *text = gst_sdp_message_as_text (msg);
  gst_sdp_message_free (msg);
  return text;
}

static guint32
rtp_get_ssrc (LbOutputRtp *self)
{
  /* The payloader picks a random SSRC; its negotiated caps carry the value. */
  g_autoptr (GstPad) src = gst_element_get_static_pad (self->payloader, "src");
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (src);
  guint ssrc = 0;

  if (caps != NULL)
    gst_structure_get_uint (gst_caps_get_structure (caps, 0), "ssrc", &ssrc);
  return ssrc;
}

static void
rtp_stats_to_json (LbOutput *output, JsonObject *stats)
{
  json_object_set_int_member (stats, "bytes_sent", (gint64)lb_output_get_bytes (output));
  json_object_set_int_member (stats, "ssrc", rtp_get_ssrc ((LbOutputRtp *)output));
  json_object_set_int_member (stats, "rtcp_sr_sent", (gint64)lb_output_sr_sent (output));
}

const LbOutputClass lb_output_rtp_class = {
  .transport = "rtp",
  .stored = TRUE,
  .carries_input = FALSE,
  .members = members,
  .parse = rtp_parse,
  .configure = rtp_configure,
  .check = rtp_check,
  .open = rtp_open,
  .stats_to_json = rtp_stats_to_json,
  .get_sdp = rtp_get_sdp,
  .close = rtp_close,
};
