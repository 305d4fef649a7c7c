/* lb-output-webrtc.c — the "webrtc" transport (WHEP viewer):
 * queue ! rtph264pay ! caps ! webrtcbin, and with the lobby's sound
 * rtpopuspay ! fakesink on its Opus track, pushed into an appsrc !
 * webrtcbin next to the video. */
#define G_LOG_DOMAIN "lobbyd-media"
#include "lb-output-webrtc.h"
#include "lb-allow-list.h"
#include "lb-config.h"
#include "lb-error.h"
#include "lb-h264-fmtp.h"
#include "lb-sdp-h264.h"
#include "lb-sdp-opus.h"
#include "lb-input-json.h"
#include "lb-media-branch.h"
#include "lb-output-impl.h"
#include "lb-output-webrtc-lite.h"
#include "lb-spec.h"
#include "lb-webrtc-ice.h"

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>
#include <stdlib.h>
#include <string.h>

#define NEGOTIATION_TIMEOUT_MS 5000

/* A viewer that connected, then went silent this long, is gone; one that
 * never connects gets this long (or peer_timeout_s, if longer). */
#define CONNECT_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* libnice may report a failure that incoming checks then repair. */
#define FAILED_GRACE_US (3 * G_USEC_PER_SEC)

typedef struct _InputLimit InputLimit;
typedef struct _LbOutputWebrtc LbOutputWebrtc;
typedef struct _Negotiation Negotiation;

struct _LbOutputWebrtc
{
  LbOutput parent;
  GstElement *webrtc;
  GstElement *payloader;
  GstElement *audio_payloader; /* NULL: no audio */
  Negotiation *negotiation;    /* main loop; ours until close */
  InputLimit *limit;           /* owned by the webrtcbin's qdata */
  /* Liveness, checked on the main loop. */
  LbOutputEndedFunc on_ended;
  gpointer ended_data;
  guint watch_source;
  gint64 peer_timeout_us;
  gint64 created_us;
  gint64 connected_us; /* 0 until connected */
  gint64 failed_us;    /* since when the connection reads "failed", or 0 */
  gint64 last_rx_us;   /* atomically set by nicesrc's thread: the last packet from the peer */
  guint n_watched;     /* nicesrc pads probed */
};

/* After the first local candidate the host candidates follow within
 * milliseconds, while "gathering complete" can take over a second (libnice
 * keeps probing): answering at whichever comes first keeps join fast. */
#define CANDIDATE_GRACE_US (150 * 1000)

/* Frames sent before DTLS is up are lost, the join's key frame among them:
 * ask the encoder for another once the viewer is connected. On webrtcbin's
 * thread; the encoded track's limiter makes a burst of connects one key
 * frame per [encoder] join_keyframe_min_interval_ms, not one each. */
static void
on_connection_state (GObject *webrtc, GParamSpec *pspec, gpointer user_data)
{
  LbOutputWebrtc *self = user_data;
  GstWebRTCPeerConnectionState state = 0;

  g_object_get (webrtc, "connection-state", &state, NULL);
  if (state != GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
    return;
  lb_output_request_key_frame (&self->parent);
}

/* Data-channel messages arrive on the SCTP thread; they are parsed into
 * typed events and handed on on the main loop. The handler lives in the
 * webrtcbin's qdata and is cleared when the output goes, so a message still
 * in flight then is dropped. */
typedef struct
{
  LbOutputInputFunc func;
  gpointer data;
  guint width, height; /* the stream's picture: positions are fractions of it */
} InputHandler;

typedef struct
{
  GstElement *webrtc;
  char *message;
} InputMessage;

/* A token bucket per viewer, on the SCTP thread(s): a flood must not queue
 * thousands of callbacks (each an X request and a flush) on the main loop. */
struct _InputLimit
{
  GMutex lock;
  gboolean control; /* FALSE: watch-only, everything is dropped at once */
  double tokens;
  gint64 last_us;
  guint64 dropped; /* atomic */
};

static void
input_limit_free (gpointer data)
{
  InputLimit *limit = data;
  g_mutex_clear (&limit->lock);
  g_free (limit);
}

static gboolean
input_limit_take (InputLimit *limit)
{
  gint64 now = g_get_monotonic_time ();
  gboolean ok;

  g_mutex_lock (&limit->lock);
  limit->tokens = MIN ((double)LB_WEBRTC_INPUT_BURST,
                       limit->tokens + (now - limit->last_us) * (LB_WEBRTC_INPUT_RATE / 1e6));
  limit->last_us = now;
  ok = limit->tokens >= 1.0;
  if (ok)
    limit->tokens -= 1.0;
  g_mutex_unlock (&limit->lock);
  return ok;
}

static gboolean
deliver_input (gpointer user_data)
{
  InputMessage *m = user_data;
  InputHandler *h = g_object_get_data (G_OBJECT (m->webrtc), "lb-input");
  if (h != NULL && h->func != NULL)
    {
      g_autoptr (GError) error = NULL;
      LbInputEvent ev;
      if (lb_input_json_parse (m->message, h->width, h->height, &ev, &error))
        h->func (&ev, h->data);
      else
        {
          /* A message nobody can apply is dropped like one over the limit. */
          InputLimit *limit = g_object_get_data (G_OBJECT (m->webrtc), "lb-input-limit");
          if (limit != NULL)
            __atomic_fetch_add (&limit->dropped, 1, __ATOMIC_RELAXED);
          g_debug ("viewer input dropped: %s", error->message);
        }
    }
  gst_object_unref (m->webrtc);
  g_free (m->message);
  g_free (m);
  return G_SOURCE_REMOVE;
}

static void
on_message (GObject *channel, const char *message, gpointer webrtc)
{
  InputLimit *limit = g_object_get_data (G_OBJECT (webrtc), "lb-input-limit");
  if (limit == NULL || !limit->control
      || strnlen (message, LB_WEBRTC_INPUT_MAX_BYTES + 1) > LB_WEBRTC_INPUT_MAX_BYTES
      || !input_limit_take (limit))
    {
      if (limit != NULL)
        __atomic_fetch_add (&limit->dropped, 1, __ATOMIC_RELAXED);
      return;
    }
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

/* The offer's H.264 formats (RFC 6184 fmtp, lb-h264-fmtp), ranked for a
 * stream that needs @level_idc (0: any). */
static int
offer_h264_payload (const char *offer, guint level_idc, GError **error)
{
  GstSDPMessage *sdp = NULL;

  if (gst_sdp_message_new_from_text (offer, &sdp) != GST_SDP_OK || sdp == NULL
      || gst_sdp_message_medias_len (sdp) == 0)
    {
      if (sdp)
        gst_sdp_message_free (sdp);
      g_set_error (error, LB_ERROR, LB_ERROR_INVALID_SDP, "the body is not an SDP offer");
      return -1;
    }
  int best = lb_sdp_h264_choose (sdp, level_idc, NULL, error);
  gst_sdp_message_free (sdp);
  return best;
}

int
lb_webrtc_offer_h264_payload (const char *offer, GError **error)
{
  return offer_h264_payload (offer, 0, error);
}

static guint
spec_level (const LbSessionSpec *spec)
{
  return lb_h264_level_for (spec->profile.width, spec->profile.height, spec->profile.fps);
}

/* webrtcbin answers a format only where the offer's caps intersect the
 * payloader's, whose profile-level-id is the encoder's SPS (42c01f), and
 * then sends only caps equal to the answer's. GStreamer reads an H.264
 * profile-level-id as a bare profile (no level, no constraint flags) only
 * when level-asymmetry-allowed=1: any other offer got its video inactive,
 * or stalled after one packet. So webrtcbin is handed the offer with that
 * flag on the format we chose, whose profile we checked takes constrained
 * baseline (RFC 6184 §8.2.2: the answer keeps the offer's profile; the
 * flag in the answer alone allows no asymmetry). */
static char *
offer_for_webrtcbin (const char *offer, int pt)
{
  GstSDPMessage *sdp = NULL;
  char *text;

  if (gst_sdp_message_new_from_text (offer, &sdp) != GST_SDP_OK)
    return g_strdup (offer);
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *)gst_sdp_message_get_media (sdp, m);
      if (g_strcmp0 (gst_sdp_media_get_media (media), "video") != 0)
        continue;
      for (guint a = 0; a < gst_sdp_media_attributes_len (media); a++)
        {
          const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
          char *end = NULL;
          if (g_strcmp0 (attr->key, "fmtp") != 0 || attr->value == NULL
              || !g_ascii_isdigit (attr->value[0]) || g_ascii_strtoll (attr->value, &end, 10) != pt)
            continue;
          g_autoptr (GString) v = g_string_new (NULL);
          g_auto (GStrv) params = g_strsplit (end, ";", -1);
          g_string_printf (v, "%d ", pt);
          for (guint i = 0; params[i] != NULL; i++)
            {
              char *param = g_strstrip (params[i]);
              if (*param == '\0' || g_ascii_strncasecmp (param, "level-asymmetry-allowed", 23) == 0)
                continue;
              g_string_append_printf (v, "%s;", param);
            }
          g_string_append (v, "level-asymmetry-allowed=1");
          GstSDPAttribute replacement;
          gst_sdp_attribute_set (&replacement, "fmtp", v->str);
          gst_sdp_media_replace_attribute (media, a, &replacement);
        }
    }
  text = gst_sdp_message_as_text (sdp);
  gst_sdp_message_free (sdp);
  return text;
}

/* Remote candidates name where libnice sends its STUN checks: one outside
 * [webrtc] allowed_candidates would let a WHEP client aim lobbyd's UDP at
 * a third party. A name (mDNS ".local", DNS) cannot be checked before it
 * resolves, so only addresses pass a restrictive list. */
static void
filter_candidates (GstSDPMessage *sdp, const LbAllowList *allowed)
{
  if (allowed == NULL)
    return;
  for (guint m = 0; m < gst_sdp_message_medias_len (sdp); m++)
    {
      GstSDPMedia *media = (GstSDPMedia *)gst_sdp_message_get_media (sdp, m);
      for (guint a = gst_sdp_media_attributes_len (media); a-- > 0;)
        {
          const GstSDPAttribute *attr = gst_sdp_media_get_attribute (media, a);
          if (g_strcmp0 (attr->key, "candidate") != 0)
            continue;
          /* foundation component transport priority address port typ ... */
          g_auto (GStrv) fields = g_strsplit (attr->value ? attr->value : "", " ", 6);
          const char *address = g_strv_length (fields) >= 5 ? fields[4] : "";
          if (g_hostname_is_ip_address (address) && lb_allow_list_contains (allowed, address))
            continue;
          g_debug ("remote candidate %s is not in [webrtc] allowed_candidates: dropped", address);
          gst_sdp_media_remove_attribute (media, a);
        }
    }
}

/* ---- Negotiation, answered from webrtcbin's callbacks ----
 *
 * set-remote-description, create-answer and set-local-description each reply
 * through a promise, on webrtcbin's thread; candidates and the gathering
 * state come on libnice's and webrtcbin's threads. Each of them only hops to
 * the main loop (an idle source holding a reference on the negotiation),
 * where the next step runs: the main loop never waits, and many offers are
 * negotiated at once. The output may be closed at any time meanwhile (the
 * client went away, the lobby was deleted): close cuts the negotiation off
 * its output (self = NULL), and every late hop then only drops its
 * reference. */

typedef enum
{
  STEP_REMOTE, /* set-remote-description */
  STEP_ANSWER, /* create-answer */
  STEP_LOCAL,  /* set-local-description */
  STEP_GATHER, /* waiting for a candidate (then CANDIDATE_GRACE_US) or the end of gathering */
  STEP_DONE,
} Step;

struct _Negotiation
{
  /* Main loop only. */
  LbOutputWebrtc *self; /* NULL once the output is closed */
  Step step;
  LbOutputReadyFunc on_ready;
  gpointer ready_data;
  guint deadline; /* NEGOTIATION_TIMEOUT_MS after open */
  guint grace;    /* CANDIDATE_GRACE_US after the first candidate */
  /* Written by webrtcbin's threads. */
  gint64 first_candidate_us; /* atomic */
};

static void watch_receive (LbOutputWebrtc *self);
static gboolean watch_peer (gpointer user_data);

static Negotiation *
negotiation_ref (Negotiation *neg)
{
  return g_atomic_rc_box_acquire (neg);
}

static void
negotiation_unref (gpointer neg)
{
  g_atomic_rc_box_release (neg);
}

static void
negotiation_closure_unref (gpointer neg, GClosure *closure)
{
  negotiation_unref (neg);
}

/* Stops the timers and the candidate/gathering handlers (main loop). */
static void
negotiation_stop (Negotiation *neg)
{
  neg->step = STEP_DONE;
  g_clear_handle_id (&neg->deadline, g_source_remove);
  g_clear_handle_id (&neg->grace, g_source_remove);
  if (neg->self != NULL && neg->self->webrtc != NULL)
    g_signal_handlers_disconnect_by_data (neg->self->webrtc, neg);
}

/* The output was closed: nothing of it may be touched any more. */
static void
negotiation_cancel (Negotiation *neg)
{
  negotiation_stop (neg);
  neg->self = NULL;
  negotiation_unref (neg);
}

static void
negotiation_fail (Negotiation *neg, GError *error)
{
  LbOutputWebrtc *self = neg->self;
  g_autoptr (GError) owned = error;

  negotiation_stop (neg);
  g_debug ("%s: WebRTC negotiation failed: %s", self->parent.name, error->message);
  /* The callee closes the output (negotiation_cancel) from here. */
  neg->on_ready (&self->parent, error, neg->ready_data);
}

static void
negotiation_fail_sdp (Negotiation *neg, GError *promise_error)
{
  /* webrtcbin rejected the offer or could not answer it. */
  negotiation_fail (neg,
                    g_error_new (LB_ERROR, LB_ERROR_INVALID_SDP, "WebRTC negotiation failed: %s",
                                 promise_error ? promise_error->message : "no answer"));
  g_clear_error (&promise_error);
}

static void
negotiation_finish (Negotiation *neg)
{
  LbOutputWebrtc *self = neg->self;
  GstWebRTCSessionDescription *local = NULL;

  g_object_get (self->webrtc, "local-description", &local, NULL);
  if (local == NULL)
    {
      negotiation_fail_sdp (neg, NULL);
      return;
    }
  negotiation_stop (neg);
  self->parent.answer = gst_sdp_message_as_text (local->sdp);
  gst_webrtc_session_description_free (local);
  watch_receive (self);
  if (self->n_watched == 0)
    g_warning ("%s: no ICE transport to watch; a vanished viewer will not be noticed",
               self->parent.name);
  if (self->on_ended != NULL)
    self->watch_source = g_timeout_add_seconds (1, watch_peer, self);
  g_debug ("%s: WebRTC answered", self->parent.name);
  neg->on_ready (&self->parent, NULL, neg->ready_data);
}

static gboolean
on_grace (gpointer user_data)
{
  Negotiation *neg = user_data;
  neg->grace = 0;
  negotiation_finish (neg);
  return G_SOURCE_REMOVE;
}

/* Non-trickle WHEP: the answer must carry the candidates. After the first
 * one the other host candidates follow within milliseconds, while "gathering
 * complete" can take over a second (libnice keeps probing): answer at
 * whichever comes first. */
static void
negotiation_check (Negotiation *neg)
{
  if (neg->self == NULL || neg->step != STEP_GATHER)
    return;
  GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
  g_object_get (neg->self->webrtc, "ice-gathering-state", &state, NULL);
  gint64 first = __atomic_load_n (&neg->first_candidate_us, __ATOMIC_RELAXED);
  if (first == 0)
    {
      /* An answer without a single candidate cannot connect. */
      if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE)
        negotiation_fail (neg, g_error_new (LB_ERROR, LB_ERROR_NEGOTIATION_TIMEOUT,
                                            "WebRTC negotiation failed: ICE gathering "
                                            "ended without a usable ICE candidate"));
      return;
    }
  gint64 left = first + CANDIDATE_GRACE_US - g_get_monotonic_time ();
  if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE || left <= 0)
    negotiation_finish (neg);
  else if (neg->grace == 0)
    neg->grace = g_timeout_add ((guint)(left / 1000) + 1, on_grace, neg);
}

static gboolean
on_deadline (gpointer user_data)
{
  Negotiation *neg = user_data;

  neg->deadline = 0;
  if (__atomic_load_n (&neg->first_candidate_us, __ATOMIC_RELAXED) != 0 && neg->step == STEP_GATHER)
    negotiation_finish (neg);
  else
    /* That is our timeout, not the client's mistake. */
    negotiation_fail (neg, g_error_new (LB_ERROR, LB_ERROR_NEGOTIATION_TIMEOUT,
                                        "WebRTC negotiation timed out: no ICE candidate "
                                        "gathered in %d s",
                                        NEGOTIATION_TIMEOUT_MS / 1000));
  return G_SOURCE_REMOVE;
}

static void negotiation_reply (Negotiation *neg, GstPromise *promise);

typedef struct
{
  Negotiation *neg;    /* a reference */
  GstPromise *promise; /* a reference, or NULL: a candidate or gathering change */
} Hop;

static gboolean
run_hop (gpointer user_data)
{
  Hop *hop = user_data;

  if (hop->neg->self != NULL)
    {
      if (hop->promise != NULL)
        negotiation_reply (hop->neg, hop->promise);
      else
        negotiation_check (hop->neg);
    }
  g_clear_pointer (&hop->promise, gst_promise_unref);
  negotiation_unref (hop->neg);
  g_free (hop);
  return G_SOURCE_REMOVE;
}

/* Any thread: runs the next step on the main loop. Never at once, even on
 * the main thread (a promise webrtcbin refuses is replied from inside the
 * signal emission): the steps never run inside each other or inside open. */
static void
hop_to_main_loop (Negotiation *neg, GstPromise *promise)
{
  Hop *hop = g_new0 (Hop, 1);
  hop->neg = negotiation_ref (neg);
  hop->promise = promise != NULL ? gst_promise_ref (promise) : NULL;
  g_idle_add_full (G_PRIORITY_DEFAULT, run_hop, hop, NULL);
}

/* webrtcbin's thread. */
static void
on_promise (GstPromise *promise, gpointer user_data)
{
  hop_to_main_loop (user_data, promise);
}

/* Emits @signal with @arg and a promise whose reply comes back to the main loop. */
static void
emit_with_promise (Negotiation *neg, Step step, const char *signal, gpointer arg)
{
  GstPromise *promise
      = gst_promise_new_with_change_func (on_promise, negotiation_ref (neg), negotiation_unref);
  neg->step = step;
  g_signal_emit_by_name (neg->self->webrtc, signal, arg, promise);
  gst_promise_unref (promise);
}

/* Main loop: webrtcbin replied to the step's promise. */
static void
negotiation_reply (Negotiation *neg, GstPromise *promise)
{
  const GstStructure *reply = gst_promise_wait (promise) == GST_PROMISE_RESULT_REPLIED
                                  ? gst_promise_get_reply (promise)
                                  : NULL;
  GError *promise_error = NULL;
  GstWebRTCSessionDescription *answer = NULL;

  switch (neg->step)
    {
    case STEP_REMOTE:
      if (reply != NULL && gst_structure_get (reply, "error", G_TYPE_ERROR, &promise_error, NULL))
        {
          negotiation_fail_sdp (neg, promise_error);
          return;
        }
      emit_with_promise (neg, STEP_ANSWER, "create-answer", NULL);
      break;
    case STEP_ANSWER:
      if (reply == NULL
          || !gst_structure_get (reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer,
                                 NULL))
        {
          if (reply != NULL)
            gst_structure_get (reply, "error", G_TYPE_ERROR, &promise_error, NULL);
          negotiation_fail_sdp (neg, promise_error);
          return;
        }
      emit_with_promise (neg, STEP_LOCAL, "set-local-description", answer);
      gst_webrtc_session_description_free (answer);
      break;
    case STEP_LOCAL:
      neg->step = STEP_GATHER;
      negotiation_check (neg);
      break;
    default:
      break;
    }
}

/* libnice lists an active TCP candidate (it connects out: no socket yet) on
 * an address it cannot bind, e.g. one this host does not have: only UDP and
 * passive TCP candidates show that the agent can be reached. */
static gboolean
candidate_is_usable (const char *candidate)
{
  return candidate != NULL && strstr (candidate, "tcptype active") == NULL;
}

/* libnice's or webrtcbin's thread. */
static void
on_ice_candidate (GstElement *webrtc, guint mline, const char *candidate, gpointer user_data)
{
  Negotiation *neg = user_data;
  gint64 expected = 0;

  if (candidate_is_usable (candidate)
      && __atomic_compare_exchange_n (&neg->first_candidate_us, &expected, g_get_monotonic_time (),
                                      FALSE, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    hop_to_main_loop (neg, NULL);
}

static void
on_gathering_state (GObject *webrtc, GParamSpec *pspec, gpointer user_data)
{
  hop_to_main_loop (user_data, NULL);
}

/* Starts answering the spec's offer (non-trickle: the answer will carry the
 * ICE candidates, as WHEP clients expect). */
static void
negotiation_start (LbOutputWebrtc *self, const char *offer, const LbAllowList *allowed,
                   const LbOutputSetup *setup)
{
  Negotiation *neg = g_atomic_rc_box_new0 (Negotiation);
  GstSDPMessage *sdp = NULL;

  neg->self = self;
  neg->on_ready = setup->on_ready;
  neg->ready_data = setup->ready_data;
  self->negotiation = neg;
  g_signal_connect_data (self->webrtc, "on-ice-candidate", G_CALLBACK (on_ice_candidate),
                         negotiation_ref (neg), negotiation_closure_unref, 0);
  g_signal_connect_data (self->webrtc, "notify::ice-gathering-state",
                         G_CALLBACK (on_gathering_state), negotiation_ref (neg),
                         negotiation_closure_unref, 0);
  neg->deadline = g_timeout_add (NEGOTIATION_TIMEOUT_MS, on_deadline, neg);

  gst_sdp_message_new_from_text (offer, &sdp);
  filter_candidates (sdp, allowed);
  GstWebRTCSessionDescription *desc
      = gst_webrtc_session_description_new (GST_WEBRTC_SDP_TYPE_OFFER, sdp);
  emit_with_promise (neg, STEP_REMOTE, "set-remote-description", desc);
  gst_webrtc_session_description_free (desc);
}

/* Everything the peer sends (RTCP, DTLS, SCTP) comes out of nicesrc; STUN
 * stays inside libnice. A browser sends RTCP feedback several times a
 * second, so seconds of silence mean it is gone. libnice's own consent
 * freshness (RFC 7675) would notice too, but webrtcbin 1.22 does not enable
 * it (construct-only on the NiceAgent) and it waits 30 s. */
static GstPadProbeReturn
on_receive (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  LbOutputWebrtc *self = user_data;
  __atomic_store_n (&self->last_rx_us, g_get_monotonic_time (), __ATOMIC_RELAXED);
  return GST_PAD_PROBE_OK;
}

static void
watch_receive (LbOutputWebrtc *self)
{
  GstIterator *it = gst_bin_iterate_recurse (GST_BIN (self->webrtc));
  GValue item = G_VALUE_INIT;
  gboolean done = FALSE;

  while (!done)
    switch (gst_iterator_next (it, &item))
      {
      case GST_ITERATOR_OK:
        {
          GstElement *e = g_value_get_object (&item);
          GstElementFactory *factory = gst_element_get_factory (e);
          if (factory != NULL && g_str_equal (GST_OBJECT_NAME (factory), "nicesrc"))
            {
              g_autoptr (GstPad) src = gst_element_get_static_pad (e, "src");
              if (src != NULL)
                {
                  gst_pad_add_probe (src,
                                     GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                                     on_receive, self, NULL);
                  self->n_watched++;
                }
            }
          g_value_reset (&item);
          break;
        }
      case GST_ITERATOR_RESYNC:
        gst_iterator_resync (it);
        break;
      default:
        done = TRUE;
      }
  g_value_unset (&item);
  gst_iterator_free (it);
}

static const char *
check_peer (LbOutputWebrtc *self)
{
  GstWebRTCPeerConnectionState state = 0;
  GstWebRTCICEConnectionState ice = 0;
  gint64 now = g_get_monotonic_time ();

  g_object_get (self->webrtc, "connection-state", &state, "ice-connection-state", &ice, NULL);
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && self->connected_us == 0)
    self->connected_us = now;
  if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED
      || ice == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
    {
      if (self->failed_us == 0)
        self->failed_us = now;
      else if (now - self->failed_us >= FAILED_GRACE_US)
        return "connection_failed";
    }
  else
    self->failed_us = 0;
  if (self->peer_timeout_us == 0)
    return NULL;
  if (self->connected_us == 0)
    return now - self->created_us > MAX (CONNECT_TIMEOUT_US, self->peer_timeout_us)
               ? "connect_timeout"
               : NULL;
  gint64 heard = MAX (self->connected_us, __atomic_load_n (&self->last_rx_us, __ATOMIC_RELAXED));
  return self->n_watched > 0 && now - heard > self->peer_timeout_us ? "peer_timeout" : NULL;
}

/* Firefox aborts its SCTP association when the page closes its peer
 * connection (or the tab): webrtcbin's sctpenc then posts a resource error
 * from this branch. Once connected, a network read or write error here is
 * the peer leaving, which ends the session like the lite path's DTLS close
 * does, rather than a failure of lobbyd that would keep it listed. */
static const char *
webrtc_branch_error_reason (LbOutput *output, const GError *error)
{
  LbOutputWebrtc *self = (LbOutputWebrtc *)output;
  GstWebRTCPeerConnectionState state = 0;

  if (error == NULL || error->domain != GST_RESOURCE_ERROR)
    return NULL;
  g_object_get (self->webrtc, "connection-state", &state, NULL);
  if (self->connected_us == 0 && state != GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
    return NULL;
  g_info ("WebRTC viewer gone: %s", error->message);
  return "connection_failed";
}

static gboolean
watch_peer (gpointer user_data)
{
  LbOutputWebrtc *self = user_data;
  const char *reason = check_peer (self);

  if (reason == NULL)
    return G_SOURCE_CONTINUE;
  g_info ("WebRTC viewer gone: %s", reason);
  /* The callee frees us (and would remove this source): it is done here. */
  self->watch_source = 0;
  self->on_ended (reason, self->ended_data);
  return G_SOURCE_REMOVE;
}

/* Host candidates only on these addresses (libnice otherwise takes every
 * interface but loopback). */
static void
set_ice_addresses (GstElement *webrtc, const char *const *addresses)
{
  g_autoptr (GObject) ice = NULL;
  g_object_get (webrtc, "ice-agent", &ice, NULL);
  for (guint i = 0; ice != NULL && addresses != NULL && addresses[i] != NULL; i++)
    {
      gboolean ok = FALSE;
      if (*addresses[i] == '\0')
        continue;
      g_signal_emit_by_name (ice, "add-local-ip-address", addresses[i], &ok);
      if (!ok)
        g_warning ("[webrtc] ice_addresses: libnice refused %s", addresses[i]);
    }
}

/* [webrtc] allowed_candidates; NULL when it allows every address (or there
 * is no config). */
static LbAllowList *
allowed_candidates (const LbConfig *config, GError **error)
{
  if (config == NULL)
    return NULL;
  g_autoptr (LbAllowList) allowed
      = lb_allow_list_new ((const char *const *)config->allowed_candidates, error);
  if (allowed == NULL)
    {
      g_prefix_error (error, "[webrtc] allowed_candidates: ");
      return NULL;
    }
  return lb_allow_list_allows_all (allowed) ? NULL : g_steal_pointer (&allowed);
}

/* [webrtc]: the daemon's, or defaults without a config. */
typedef struct
{
  const char *stun_server;          /* "stun://host:port" or NULL */
  const char *const *ice_addresses; /* local IPs for host candidates; NULL or empty = all */
  LbAllowList *allowed_candidates;  /* remote candidates outside it are dropped; NULL = all */
  guint peer_timeout_s;             /* 0 = never end a silent viewer */
} Options;

static void
options_clear (Options *options)
{
  g_clear_pointer (&options->allowed_candidates, lb_allow_list_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Options, options_clear)

static void
read_options (const LbConfig *config, Options *options)
{
  *options = (Options){ 0 };
  if (config == NULL)
    return;
  options->stun_server = config->stun_server;
  options->ice_addresses = (const char *const *)config->ice_addresses;
  /* Checked at start-up (webrtc_configure): it parses here. */
  options->allowed_candidates = allowed_candidates (config, NULL);
  options->peer_timeout_s = config->peer_timeout_s;
}

/* rtph264pay's source template takes payload types 96-127 only, so a
 * format on 35-63 (lb_rtp_payload_type_is_dynamic) is payloaded on 96 and
 * relabelled after it: capssetter rewrites the caps webrtcbin sees (and
 * answers from), this probe each packet's PT byte. */
#define PAYLOADER_MIN_PT 96

static void
relabel_buffer (GstBuffer *buffer, int pt)
{
  GstMapInfo map;
  /* The header is the first memory: mapping it alone copies only that
   * (when shared), never the payload. */
  if (gst_buffer_n_memory (buffer) == 0
      || !gst_buffer_map_range (buffer, 0, 1, &map, GST_MAP_READWRITE))
    return;
  if (map.size >= 2)
    map.data[1] = (guint8)((map.data[1] & 0x80) | pt);
  gst_buffer_unmap (buffer, &map);
}

static gboolean
relabel_list_item (GstBuffer **buffer, guint idx, gpointer pt)
{
  *buffer = gst_buffer_make_writable (*buffer);
  relabel_buffer (*buffer, GPOINTER_TO_INT (pt));
  return TRUE;
}

static GstPadProbeReturn
relabel_payload (GstPad *pad, GstPadProbeInfo *info, gpointer pt)
{
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    {
      GstBuffer *buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
      relabel_buffer (buffer, GPOINTER_TO_INT (pt));
      GST_PAD_PROBE_INFO_DATA (info) = buffer;
    }
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    {
      GstBufferList *list = gst_buffer_list_make_writable (GST_PAD_PROBE_INFO_BUFFER_LIST (info));
      gst_buffer_list_foreach (list, relabel_list_item, pt);
      GST_PAD_PROBE_INFO_DATA (info) = list;
    }
  return GST_PAD_PROBE_OK;
}

/* The offer's Opus payload type, or -1 (no audio m-line with Opus). */
static int
offer_opus_payload (const char *offer)
{
  g_autoptr (GstSDPMessage) sdp = NULL;
  int pt = -1;
  if (gst_sdp_message_new_from_text (offer, &sdp) != GST_SDP_OK || sdp == NULL
      || !lb_sdp_opus_choose (sdp, &pt, NULL, NULL))
    return -1;
  return pt;
}

/* On the audio encode's streaming thread: each RTP packet of the viewer's
 * audio branch goes on to the appsrc in the session's bin. The appsrc has
 * its own thread and a bounded, leaky queue, so webrtcbin never holds up
 * the lobby's one Opus encode (and other viewers). */
typedef struct
{
  GstElement *appsrc;
  int pt; /* the offer's: written into packets payloaded on PAYLOADER_MIN_PT */
} AudioFeed;

static void
audio_feed_free (gpointer data)
{
  AudioFeed *feed = data;
  gst_object_unref (feed->appsrc);
  g_free (feed);
}

static GstPadProbeReturn
on_audio_rtp (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  AudioFeed *feed = user_data;
  GstFlowReturn ret;
  if (feed->pt < PAYLOADER_MIN_PT)
    relabel_payload (pad, info, GINT_TO_POINTER (feed->pt));
  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    g_signal_emit_by_name (feed->appsrc, "push-buffer", GST_PAD_PROBE_INFO_BUFFER (info), &ret);
  else if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
    g_signal_emit_by_name (feed->appsrc, "push-buffer-list", GST_PAD_PROBE_INFO_BUFFER_LIST (info),
                           &ret);
  return GST_PAD_PROBE_OK;
}

/* Audio next to the video on the same webrtcbin, before the offer is set so
 * that the offer's Opus m-line finds this pad's transceiver: an appsrc in
 * the session's bin on webrtcbin's second sink pad, fed by an audio branch
 * (rtpopuspay ! fakesink) on the lobby's Opus track. The webrtcbin stays in
 * the video branch (moved with it to another encode); the audio branch
 * never moves. A viewer whose audio cannot be set up still gets video. */
static gboolean
add_audio (LbOutputWebrtc *self, LbTrack *audio, int pt, GError **error)
{
  GstElement *bin = lb_branch_get_bin (lb_output_get_branch (&self->parent));
  GstElement *e[3] = { NULL };
  static const LbElementSpec chain[] = {
    { "rtpopuspay", "audio-payloader" },
    { "fakesink", NULL },
  };
  g_autoptr (GError) local = NULL;
  g_autoptr (GstElement) src = lb_media_make ("appsrc", "audio-src", &local);
  if (src == NULL || !lb_media_make_all (chain, G_N_ELEMENTS (chain), e, &local))
    {
      g_warning ("%s: no audio: %s", self->parent.name, local->message);
      return TRUE;
    }
  gst_object_ref_sink (src);
  guint32 ssrc = g_random_int ();
  g_autoptr (GstCaps) caps = gst_caps_new_simple (
      "application/x-rtp", "media", G_TYPE_STRING, "audio", "encoding-name", G_TYPE_STRING, "OPUS",
      "clock-rate", G_TYPE_INT, 48000, "payload", G_TYPE_INT, pt, "ssrc", G_TYPE_UINT, ssrc, NULL);
  g_object_set (e[0], "pt", MAX (pt, PAYLOADER_MIN_PT), "ssrc", ssrc, "mtu", 1200, NULL);
  g_object_set (e[1], "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE, NULL);
  /* Timestamps are the pipeline's running time (the same clock and base
   * time as the video): webrtcbin's sender reports then map both streams
   * to one NTP time line. */
  g_object_set (src, "is-live", TRUE, "format", GST_FORMAT_TIME, "caps", caps, "max-bytes",
                (guint64)64 * 1024, "block", FALSE, NULL);
  gst_util_set_object_arg (G_OBJECT (src), "leaky-type", "downstream");
  gst_bin_add (GST_BIN (bin), src);
  GstPadTemplate *templ = gst_element_get_pad_template (self->webrtc, "sink_%u");
  g_autoptr (GstPad) sink = gst_element_request_pad (self->webrtc, templ, NULL, caps);
  g_autoptr (GstPad) src_pad = gst_element_get_static_pad (src, "src");
  if (sink == NULL || gst_pad_link (src_pad, sink) != GST_PAD_LINK_OK)
    {
      g_warning ("%s: no audio: webrtcbin refused an Opus pad", self->parent.name);
      gst_bin_remove (GST_BIN (bin), src);
      for (guint i = 0; e[i] != NULL; i++)
        gst_object_unref (gst_object_ref_sink (e[i]));
      return TRUE;
    }
  g_object_set (sink, "msid", "lobbyd", NULL);
  gst_element_sync_state_with_parent (src);
  self->audio_payloader = gst_object_ref (e[0]);
  g_autoptr (GstPad) pay_src = gst_element_get_static_pad (e[0], "src");
  lb_output_count_audio_packets (&self->parent, pay_src);
  AudioFeed *feed = g_new0 (AudioFeed, 1);
  feed->appsrc = gst_object_ref (src);
  feed->pt = pt;
  gst_pad_add_probe (pay_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                     on_audio_rtp, feed, audio_feed_free);
  return lb_output_attach_audio (&self->parent, audio, e, error);
}

/* Attaches the branch and starts answering the spec's offer; the setup's
 * on_ready hears the outcome. */
static LbOutput *
webrtc_open (LbTrack *track, const LbSessionSpec *spec, const LbOutputSetup *setup, GError **error)
{
  g_auto (Options) opts = { 0 };
  const Options *options = &opts;
  const char *offer = spec->offer;
  const char *name = setup->name;
  LbOutputInputFunc on_input = spec->control ? setup->on_input : NULL;
  g_autoptr (LbOutput) output
      = lb_output_alloc (sizeof (LbOutputWebrtc), &lb_output_webrtc_class, name);
  LbOutputWebrtc *self = (LbOutputWebrtc *)output;
  GstElement *e[6] = { NULL };
  static const LbElementSpec chain[] = {
    { "queue", NULL },
    { "rtph264pay", "payloader" },
    { "capsfilter", NULL },
    { "webrtcbin", "webrtc" },
  };
  /* A payload type below 96: the payloader sends on 96, its caps and
   * packets relabelled on their way to webrtcbin (see relabel_payload). */
  static const LbElementSpec low_pt_chain[] = {
    { "queue", NULL },      { "rtph264pay", "payloader" }, { "capssetter", NULL },
    { "capsfilter", NULL }, { "webrtcbin", "webrtc" },
  };

  g_return_val_if_fail (setup->on_ready != NULL, NULL);
  /* [webrtc] stack = lite: watch-only viewers skip webrtcbin. Lite answers
   * at once (nothing to gather: its sockets are open), yet reports like any
   * negotiated output. */
  if (lb_output_webrtc_lite_wanted (spec, setup->config))
    {
      LbOutput *lite = lb_output_webrtc_lite_open (track, spec, setup, error);
      if (lite != NULL)
        lb_output_ready_soon (lite, setup);
      return lite;
    }
  read_options (setup->config, &opts);
  int pt = offer_h264_payload (offer, spec_level (spec), error);
  if (pt < 0)
    return NULL;
  gboolean relabel = pt < PAYLOADER_MIN_PT;
  if (!(relabel ? lb_media_make_all (low_pt_chain, G_N_ELEMENTS (low_pt_chain), e, error)
                : lb_media_make_all (chain, G_N_ELEMENTS (chain), e, error)))
    return NULL;
  GstElement *capsfilter = e[relabel ? 3 : 2], *webrtc = e[relabel ? 4 : 3];
  /* The queue keeps webrtcbin's own locking off the encoder's thread. */
  g_object_set (e[0], "leaky", 2, "max-size-buffers", 30, "max-size-bytes", 0, "max-size-time",
                (guint64)0, NULL);
  g_object_set (e[1], "config-interval", -1, "pt", relabel ? PAYLOADER_MIN_PT : pt, "mtu", 1200,
                NULL);
  gst_util_set_object_arg (G_OBJECT (e[1]), "aggregate-mode", "zero-latency");
  g_autoptr (GstCaps) caps
      = gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "video", "encoding-name",
                             G_TYPE_STRING, "H264", "payload", G_TYPE_INT, pt, "clock-rate",
                             G_TYPE_INT, 90000, "packetization-mode", G_TYPE_STRING, "1", NULL);
  if (relabel)
    {
      g_autoptr (GstCaps) payload
          = gst_caps_new_simple ("application/x-rtp", "payload", G_TYPE_INT, pt, NULL);
      g_object_set (e[2], "caps", payload, "replace", FALSE, NULL);
      /* The capsfilter would stop the payloader's own caps (96) upstream of
       * capssetter: it checks everything but the payload type. */
      gst_structure_remove_field (gst_caps_get_structure (caps, 0), "payload");
      g_autoptr (GstPad) setter_src = gst_element_get_static_pad (e[2], "src");
      gst_pad_add_probe (setter_src, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST,
                         relabel_payload, GINT_TO_POINTER (pt), NULL);
    }
  g_object_set (capsfilter, "caps", caps, NULL);
  gst_util_set_object_arg (G_OBJECT (webrtc), "bundle-policy", "max-bundle");
  if (options->stun_server != NULL && *options->stun_server != '\0')
    g_object_set (webrtc, "stun-server", options->stun_server, NULL);
  set_ice_addresses (webrtc, options->ice_addresses);
  self->webrtc = gst_object_ref (webrtc);
  self->payloader = gst_object_ref (e[1]);
  self->on_ended = setup->on_ended;
  self->ended_data = setup->ended_data;
  self->created_us = g_get_monotonic_time ();
  self->peer_timeout_us = (gint64)options->peer_timeout_s * G_USEC_PER_SEC;
  g_signal_connect (webrtc, "notify::connection-state", G_CALLBACK (on_connection_state), self);
  g_signal_connect (webrtc, "on-data-channel", G_CALLBACK (on_data_channel), NULL);
  InputHandler *handler = g_new0 (InputHandler, 1);
  handler->func = on_input;
  handler->data = setup->input_data;
  handler->width = spec->profile.width;
  handler->height = spec->profile.height;
  g_object_set_data_full (G_OBJECT (webrtc), "lb-input", handler, g_free);
  self->limit = g_new0 (InputLimit, 1);
  g_mutex_init (&self->limit->lock);
  self->limit->control = on_input != NULL;
  self->limit->tokens = LB_WEBRTC_INPUT_BURST;
  self->limit->last_us = g_get_monotonic_time ();
  g_object_set_data_full (G_OBJECT (webrtc), "lb-input-limit", self->limit, input_limit_free);
  g_autoptr (GstPad) pay_src = gst_element_get_static_pad (e[1], "src");
  lb_output_count_packets (output, pay_src);

  g_autofree char *normalized = offer_for_webrtcbin (offer, pt);
  if (!lb_output_attach (output, track, e, error))
    return NULL;
  /* Both tracks in one MediaStream: the browser lip-syncs them. */
  g_autoptr (GstPad) video_sink = gst_element_get_static_pad (self->webrtc, "sink_0");
  if (video_sink != NULL)
    g_object_set (video_sink, "msid", "lobbyd", NULL);
  int audio_pt = setup->audio != NULL ? offer_opus_payload (offer) : -1;
  if (audio_pt >= 0 && !add_audio (self, setup->audio, audio_pt, error))
    return NULL;
  negotiation_start (self, normalized, options->allowed_candidates, setup);
  g_debug ("%s: WebRTC negotiating (payload type %d)", name, pt);
  return g_steal_pointer (&output);
}

static void
webrtc_close (LbOutput *output)
{
  LbOutputWebrtc *self = (LbOutputWebrtc *)output;
  if (self->watch_source != 0)
    g_source_remove (self->watch_source);
  g_clear_pointer (&self->negotiation, negotiation_cancel);
  if (self->webrtc != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->webrtc, self);
      g_object_set_data (G_OBJECT (self->webrtc), "lb-input", NULL);
    }
  g_clear_object (&self->webrtc);
  g_clear_object (&self->payloader);
  g_clear_object (&self->audio_payloader);
}

static guint64
get_input_dropped (LbOutputWebrtc *self)
{
  return __atomic_load_n (&self->limit->dropped, __ATOMIC_RELAXED);
}

static char *
get_state (LbOutputWebrtc *self)
{
  GstWebRTCPeerConnectionState state = 0;
  g_object_get (self->webrtc, "connection-state", &state, NULL);
  g_autoptr (GEnumClass) klass = g_type_class_ref (GST_TYPE_WEBRTC_PEER_CONNECTION_STATE);
  GEnumValue *v = g_enum_get_value (klass, state);
  return g_strdup (v ? v->value_nick : "unknown");
}

/* How RTP timestamps map to wall-clock capture time: a frame stamped T was
 * produced at zero_unix_us + (T - timestamp_offset) / 90 kHz. For
 * glass-to-glass estimates (bench/browser). */
static gboolean
webrtc_configure (const LbConfig *config, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (LbAllowList) allowed = allowed_candidates (config, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  lb_webrtc_ice_init ();
  return lb_output_webrtc_lite_configure (config, error);
}

/* WHEP sessions: the lobby's video as constrained-baseline H.264 (what
 * browsers decode) at a bitrate a browser viewer gets by default. */
#define DEFAULT_BITRATE 2500

static void
webrtc_init_spec (LbSessionSpec *spec)
{
  spec->profile.h264_profile = LB_H264_CONSTRAINED_BASELINE;
  spec->profile.bitrate_kbps = DEFAULT_BITRATE;
}

static gboolean
webrtc_check (const LbSessionSpec *spec, const LbConfig *config, GError **error)
{
  /* No destination allow-list: ICE checks mean media only flows to a peer
   * that answered with the session's credentials (remote candidates, where
   * the checks go, are filtered by [webrtc] allowed_candidates). A bad offer
   * is the client's error: refuse it before an encoder opens. */
  return offer_h264_payload (spec->offer, spec_level (spec), error) >= 0;
}

static void
webrtc_stats_to_json (LbOutput *output, JsonObject *stats)
{
  LbOutputWebrtc *self = (LbOutputWebrtc *)output;
  g_autofree char *state = get_state (self);

  json_object_set_string_member (stats, "connection_state", state);
  json_object_set_int_member (stats, "input_dropped", (gint64)get_input_dropped (self));
  lb_output_rtp_clock_to_json (output, self->payloader, stats);
}

/* Not stored: a peer connection cannot outlive the process, the viewer
 * reconnects. */
const LbOutputClass lb_output_webrtc_class = {
  .transport = "webrtc",
  .stored = FALSE,
  .carries_input = TRUE,
  .members = NULL,
  .parse = NULL, /* WHEP: lb_output_spec_new ("webrtc") and the offer */
  .init_spec = webrtc_init_spec,
  .configure = webrtc_configure,
  .check = webrtc_check,
  .open = webrtc_open,
  .negotiated = TRUE,
  .stats_to_json = webrtc_stats_to_json,
  .get_sdp = NULL,
  .close = webrtc_close,
  .branch_error_reason = webrtc_branch_error_reason,
};
