/* lb-output-webrtc.c — WHEP viewer: queue ! rtph264pay ! caps ! webrtcbin. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-output-webrtc.h"
#include "lb-encode.h"
#include "lb-error.h"
#include "lb-media-branch.h"
#include "lb-producer.h"

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdlib.h>
#include <string.h>

#define NEGOTIATION_TIMEOUT_US (5 * G_USEC_PER_SEC)

struct _LbOutputWebrtc
{
  LbBranch *branch;
  GstElement *webrtc;
  GstElement *payloader;
  guint64 packets;
  gint64 first_candidate_us; /* atomically set by webrtcbin's thread */
};

/* After the first local candidate the host candidates follow within
 * milliseconds, while "gathering complete" can take over a second (libnice
 * keeps probing): answering at whichever comes first keeps join fast. */
#define CANDIDATE_GRACE_US (150 * 1000)

/* Frames sent before DTLS is up are lost, the join's key frame among them:
 * ask the encoder for another once the viewer is connected. */
static void
on_connection_state (GObject *webrtc, GParamSpec *pspec, gpointer user_data)
{
  LbOutputWebrtc *self = user_data;
  GstWebRTCPeerConnectionState state = 0;

  g_object_get (webrtc, "connection-state", &state, NULL);
  if (state != GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED || self->branch == NULL)
    return;
  g_autoptr (GstPad) sink = gst_element_get_static_pad (lb_branch_get_bin (self->branch), "sink");
  gst_pad_push_event (sink,
                      gst_video_event_new_upstream_force_key_unit (GST_CLOCK_TIME_NONE, TRUE, 0));
}

/* Data-channel messages arrive on the SCTP thread; input is applied on the
 * main loop. The handler lives in the webrtcbin's qdata and is cleared when
 * the output goes, so a message still in flight then is dropped. */
typedef struct
{
  LbWebrtcInputFunc func;
  gpointer data;
} InputHandler;

typedef struct
{
  GstElement *webrtc;
  char *message;
} InputMessage;

static gboolean
deliver_input (gpointer user_data)
{
  InputMessage *m = user_data;
  InputHandler *h = g_object_get_data (G_OBJECT (m->webrtc), "lb-input");
  if (h != NULL && h->func != NULL)
    h->func (m->message, h->data);
  gst_object_unref (m->webrtc);
  g_free (m->message);
  g_free (m);
  return G_SOURCE_REMOVE;
}

static void
on_message (GObject *channel, const char *message, gpointer webrtc)
{
  InputMessage *m = g_new0 (InputMessage, 1);
  m->webrtc = gst_object_ref (webrtc);
  m->message = g_strdup (message);
  g_main_context_invoke (NULL, deliver_input, m);
}

static void
on_data_channel (GstElement *webrtc, GObject *channel, gpointer user_data)
{
  g_signal_connect_object (channel, "on-message-string", G_CALLBACK (on_message), webrtc, 0);
}

static void
on_ice_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer user_data)
{
  LbOutputWebrtc *self = user_data;
  gint64 expected = 0;
  __atomic_compare_exchange_n (&self->first_candidate_us, &expected, g_get_monotonic_time (), FALSE,
                               __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

int
lb_webrtc_offer_h264_payload (const char *offer, GError **error)
{
  GstSDPMessage *sdp = NULL;
  int best = -1, best_rank = 0;

  if (gst_sdp_message_new_from_text (offer, &sdp) != GST_SDP_OK || sdp == NULL
      || gst_sdp_message_medias_len (sdp) == 0)
    {
      if (sdp)
        gst_sdp_message_free (sdp);
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "the body is not an SDP offer");
      return -1;
    }
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      const GstSDPMedia *media = gst_sdp_message_get_media (sdp, m);
      if (g_strcmp0 (gst_sdp_media_get_media (media), "video") != 0)
        continue;
      for (guint f = 0; f < gst_sdp_media_formats_len (media); f++)
        {
          int pt = atoi (gst_sdp_media_get_format (media, f));
          g_autoptr (GstCaps) caps = gst_sdp_media_get_caps_from_media (media, pt);
          if (caps == NULL)
            continue;
          GstStructure *s = gst_caps_get_structure (caps, 0);
          const char *enc = gst_structure_get_string (s, "encoding-name");
          const char *mode = gst_structure_get_string (s, "packetization-mode");
          /* GStreamer turns profile-level-id into "profile". */
          const char *profile = gst_structure_get_string (s, "profile");
          if (g_strcmp0 (enc, "H264") != 0 || g_strcmp0 (mode, "1") != 0 || profile == NULL)
            continue;
          /* Our browser encodes are constrained baseline, which baseline and
           * main decoders also accept; prefer the exact match. */
          int rank = g_str_equal (profile, "constrained-baseline") ? 3
                     : g_str_equal (profile, "baseline")           ? 2
                     : g_str_equal (profile, "main")               ? 1
                                                                   : 0;
          if (rank > best_rank)
            best = pt, best_rank = rank;
        }
    }
  gst_sdp_message_free (sdp);
  if (best < 0)
    g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD,
                 "the SDP offer has no H.264 video with packetization-mode=1 and a baseline or "
                 "main profile");
  return best;
}

static GstPadProbeReturn
count_packets (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbOutputWebrtc *self = user_data;
  __atomic_fetch_add (&self->packets, 1, __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

/* Emits @signal with @arg and a promise, and waits for webrtcbin's reply. */
static const GstStructure *
run_promise (GstElement *webrtc, const char *signal, gpointer arg, GstPromise **promise)
{
  *promise = gst_promise_new ();
  g_signal_emit_by_name (webrtc, signal, arg, *promise);
  if (gst_promise_wait (*promise) != GST_PROMISE_RESULT_REPLIED)
    return NULL;
  return gst_promise_get_reply (*promise);
}

static gboolean
negotiate (LbOutputWebrtc *self, const char *offer, char **answer_sdp, GError **error)
{
  GstSDPMessage *sdp = NULL;
  GstPromise *promise = NULL;
  GstWebRTCSessionDescription *answer = NULL;
  const GstStructure *reply;
  GError *promise_error = NULL;

  gst_sdp_message_new_from_text (offer, &sdp);
  GstWebRTCSessionDescription *desc
      = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  reply = run_promise (self->webrtc, "set-remote-description", desc, &promise);
  gst_webrtc_session_description_free (desc);
  if (reply != NULL && gst_structure_get (reply, "error", G_TYPE_ERROR, &promise_error, NULL))
    goto fail;
  g_clear_pointer (&promise, gst_promise_unref);

  promise = gst_promise_new ();
  g_signal_emit_by_name (self->webrtc, "create-answer", NULL, promise);
  if (gst_promise_wait (promise) != GST_PROMISE_RESULT_REPLIED
      || (reply = gst_promise_get_reply (promise)) == NULL
      || !gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, NULL))
    {
      if (reply != NULL)
        gst_structure_get (reply, "error", G_TYPE_ERROR, &promise_error, NULL);
      goto fail;
    }
  g_clear_pointer (&promise, gst_promise_unref);
  reply = run_promise (self->webrtc, "set-local-description", answer, &promise);
  gst_webrtc_session_description_free (answer);
  g_clear_pointer (&promise, gst_promise_unref);

  /* Non-trickle WHEP: the answer must carry the candidates. */
  gint64 deadline = g_get_monotonic_time () + NEGOTIATION_TIMEOUT_US;
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  while (g_get_monotonic_time () < deadline)
    {
      g_object_get (self->webrtc, "ice-gathering-state", &state, NULL);
      gint64 first = __atomic_load_n (&self->first_candidate_us, __ATOMIC_RELAXED);
      if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE
          || (first != 0 && g_get_monotonic_time () - first > CANDIDATE_GRACE_US))
        break;
      g_usleep (5000);
    }
  GstWebRTCSessionDescription *local = NULL;
  g_object_get (self->webrtc, "local-description", &local, NULL);
  if (local == NULL)
    goto fail;
  *answer_sdp = gst_sdp_message_as_text (local->sdp);
  gst_webrtc_session_description_free (local);
  return TRUE;

fail:
  g_set_error (error, LB_ERROR, LB_ERROR_INVALID_FIELD, "WebRTC negotiation failed: %s",
               promise_error ? promise_error->message : "no answer");
  g_clear_error (&promise_error);
  g_clear_pointer (&promise, gst_promise_unref);
  return FALSE;
}

LbOutputWebrtc *
lb_output_webrtc_new (LbEncode *encode, const char *name, const char *offer,
                      const char *stun_server, LbWebrtcInputFunc on_input, gpointer input_data,
                      char **answer_sdp, GError **error)
{
  g_autoptr (LbOutputWebrtc) self = g_new0 (LbOutputWebrtc, 1);
  GstElement *e[5] = { NULL };
  static const LbElementSpec chain[] = {
    { "queue", NULL },
    { "rtph264pay", "payloader" },
    { "capsfilter", NULL },
    { "webrtcbin", "webrtc" },
  };

  int pt = lb_webrtc_offer_h264_payload (offer, error);
  if (pt < 0 || !lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error))
    return NULL;
  /* The queue keeps webrtcbin's own locking off the encoder's thread. */
  g_object_set (e[0], "leaky", 2, "max-size-buffers", 30, "max-size-bytes", 0, "max-size-time",
                (guint64)0, NULL);
  g_object_set (e[1], "config-interval", -1, "pt", pt, "mtu", 1200, NULL);
  gst_util_set_object_arg (G_OBJECT (e[1]), "aggregate-mode", "zero-latency");
  g_autoptr (GstCaps) caps
      = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "video", "encoding-name",
                             G_TYPE_STRING, "H264", "payload", G_TYPE_INT, pt, "clock-rate",
                             G_TYPE_INT, 90000, "packetization-mode", G_TYPE_STRING, "1", NULL);
  g_object_set (e[2], "caps", caps, NULL);
  gst_util_set_object_arg (G_OBJECT (e[3]), "bundle-policy", "max-bundle");
  if (stun_server != NULL && *stun_server != '\0')
    g_object_set (e[3], "stun-server", stun_server, NULL);
  self->webrtc = gst_object_ref (e[3]);
  self->payloader = gst_object_ref (e[1]);
  g_signal_connect (e[3], "on-ice-candidate", G_CALLBACK (on_ice_candidate), self);
  g_signal_connect (e[3], "notify::connection-state", G_CALLBACK (on_connection_state), self);
  g_signal_connect (e[3], "on-data-channel", G_CALLBACK (on_data_channel), NULL);
  InputHandler *handler = g_new0 (InputHandler, 1);
  handler->func = on_input;
  handler->data = input_data;
  g_object_set_data_full (G_OBJECT (e[3]), "lb-input", handler, g_free);
  g_autoptr (GstPad) pay_src = gst_element_get_static_pad (e[1], "src");
  gst_pad_add_probe (pay_src, GST_PAD_PROBE_TYPE_BUFFER, count_packets, self, NULL);

  self->branch = lb_encode_attach_output (encode, name, e, error);
  if (self->branch == NULL || !negotiate (self, offer, answer_sdp, error))
    return NULL;
  g_debug ("%s: WebRTC answered (payload type %d)", name, pt);
  return g_steal_pointer (&self);
}

void
lb_output_webrtc_free (LbOutputWebrtc *self)
{
  if (self == NULL)
    return;
  if (self->webrtc != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->webrtc, self);
      g_object_set_data (G_OBJECT (self->webrtc), "lb-input", NULL);
    }
  lb_branch_detach (self->branch);
  g_clear_object (&self->webrtc);
  g_clear_object (&self->payloader);
  g_free (self);
}

gboolean
lb_output_webrtc_move (LbOutputWebrtc *self, LbEncode *encode, GError **error)
{
  if (!lb_branch_move (self->branch, lb_encode_get_tee (encode), error))
    return FALSE;
  lb_encode_request_key_frame (encode);
  return TRUE;
}

guint64
lb_output_webrtc_get_packets (LbOutputWebrtc *self)
{
  return __atomic_load_n (&self->packets, __ATOMIC_RELAXED);
}

char *
lb_output_webrtc_get_state (LbOutputWebrtc *self)
{
  GstWebRTCPeerConnectionState state = 0;
  g_object_get (self->webrtc, "connection-state", &state, NULL);
  g_autoptr (GEnumClass) klass = g_type_class_ref (GST_TYPE_WEBRTC_PEER_CONNECTION_STATE);
  GEnumValue *v = g_enum_get_value (klass, state);
  return g_strdup (v ? v->value_nick : "unknown");
}

gboolean
lb_output_webrtc_get_rtp_clock (LbOutputWebrtc *self, guint *timestamp_offset, gint64 *zero_unix_us)
{
  g_autoptr (GstPad) src = gst_element_get_static_pad (self->payloader, "src");
  g_autoptr (GstCaps) caps = gst_pad_get_current_caps (src);
  if (caps == NULL
      || !gst_structure_get_uint (gst_caps_get_structure (caps, 0), "timestamp-offset",
                                  timestamp_offset))
    return FALSE;
  /* Buffers carry running time (live source), and the payloader stamps
   * offset + running time at 90 kHz: running time 0 happened this long ago. */
  GstElement *pipeline = GST_ELEMENT (gst_object_get_parent (GST_OBJECT (lb_branch_get_bin (self->branch))));
  g_autoptr (GstClock) clock = gst_element_get_clock (pipeline);
  GstClockTime running = clock ? gst_clock_get_time (clock) - gst_element_get_base_time (pipeline) : 0;
  gst_object_unref (pipeline);
  if (clock == NULL)
    return FALSE;
  *zero_unix_us = g_get_real_time () - (gint64)(running / 1000);
  return TRUE;
}
