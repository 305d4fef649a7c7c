/* lb-output-webrtc.h — one browser viewer over WebRTC (WHEP): a webrtcbin
 * branch on an encode's tee, negotiated from the viewer's SDP offer. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbOutputWebrtc LbOutputWebrtc;
typedef struct _LbEncode LbEncode;

/* The H.264 payload type the offer accepts for packetization-mode 1 and a
 * constrained-baseline/baseline/main profile-level-id, or -1 (error set,
 * LB_ERROR_INVALID_SDP: the client's mistake). Only dynamic payload types
 * (96-127, RFC 3551) written as plain decimal count. */
int lb_webrtc_offer_h264_payload (const char *offer_sdp, GError **error);

/* Text messages from the viewer's data channel, on the main loop. */
typedef void (*LbWebrtcInputFunc) (const char *message, gpointer user_data);
/* The viewer is gone (on the main loop): @reason is "connection_failed"
 * (ICE or DTLS failed), "connect_timeout" (never connected) or
 * "peer_timeout" (connected, then silent for peer_timeout_s). The callee
 * frees the output; it sends nothing more. */
typedef void (*LbWebrtcEndedFunc) (const char *reason, gpointer user_data);

typedef struct _LbWebrtcOptions
{
  const char *stun_server;               /* "stun://host:port" or NULL */
  const char *const *ice_addresses;      /* local IPs for host candidates; NULL or empty = all */
  const LbAllowList *allowed_candidates; /* remote candidates outside it are dropped; NULL = all */
  guint peer_timeout_s;                  /* 0 = never end a silent viewer */
} LbWebrtcOptions;

/* Input from one viewer is limited to this many messages a second, with
 * bursts up to INPUT_BURST, and to messages of INPUT_MAX_BYTES (an input
 * event is under 100); the rest is dropped on the data channel's thread,
 * before it reaches the main loop, and counted. */
#define LB_WEBRTC_INPUT_RATE 250
#define LB_WEBRTC_INPUT_BURST 100
#define LB_WEBRTC_INPUT_MAX_BYTES 4096

/* Answers @offer_sdp (non-trickle: the answer carries every ICE candidate,
 * as WHEP clients expect). @on_input: NULL drops what the viewer sends
 * (watch-only). @on_ended: NULL never ends the session from this side. */
LbOutputWebrtc *lb_output_webrtc_new (LbEncode *encode, const char *name, const char *offer_sdp,
                                      const LbWebrtcOptions *options, LbWebrtcInputFunc on_input,
                                      gpointer input_data, LbWebrtcEndedFunc on_ended,
                                      gpointer ended_data, char **answer_sdp, GError **error);
void lb_output_webrtc_free (LbOutputWebrtc *output);
gboolean lb_output_webrtc_move (LbOutputWebrtc *output, LbEncode *encode, GError **error);
guint64 lb_output_webrtc_get_packets (LbOutputWebrtc *output);
/* Input messages dropped by the rate limit. */
guint64 lb_output_webrtc_get_input_dropped (LbOutputWebrtc *output);
/* "new", "connecting", "connected", "failed", ... (RTCPeerConnectionState). */
char *lb_output_webrtc_get_state (LbOutputWebrtc *output);

/* How RTP timestamps map to wall-clock capture time: a frame stamped T was
 * produced at zero_unix_us + (T - timestamp_offset) / 90 kHz. For
 * glass-to-glass estimates (bench/browser). */
gboolean lb_output_webrtc_get_rtp_clock (LbOutputWebrtc *output, guint *timestamp_offset,
                                         gint64 *zero_unix_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbOutputWebrtc, lb_output_webrtc_free)

G_END_DECLS
