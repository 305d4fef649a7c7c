/* lb-output-webrtc.h — one browser viewer over WebRTC (WHEP): a webrtcbin
 * branch on an encode's tee, negotiated from the viewer's SDP offer. */
#pragma once

#include <gst/gst.h>
#include "lb-types.h"

G_BEGIN_DECLS

typedef struct _LbOutputWebrtc LbOutputWebrtc;
typedef struct _LbEncode LbEncode;

/* The H.264 payload type the offer accepts for packetization-mode 1 and a
 * constrained-baseline/baseline profile-level-id, or -1 (error set). */
int lb_webrtc_offer_h264_payload (const char *offer_sdp, GError **error);

/* Text messages from the viewer's data channel, on the main loop. */
typedef void (*LbWebrtcInputFunc) (const char *message, gpointer user_data);

/* Answers @offer_sdp (non-trickle: the answer carries every ICE candidate,
 * as WHEP clients expect). @stun_server: "stun://host:port" or NULL.
 * @on_input: NULL drops what the viewer sends (watch-only). */
LbOutputWebrtc *lb_output_webrtc_new (LbEncode *encode, const char *name, const char *offer_sdp,
                                      const char *stun_server, LbWebrtcInputFunc on_input,
                                      gpointer input_data, char **answer_sdp, GError **error);
void lb_output_webrtc_free (LbOutputWebrtc *output);
gboolean lb_output_webrtc_move (LbOutputWebrtc *output, LbEncode *encode, GError **error);
guint64 lb_output_webrtc_get_packets (LbOutputWebrtc *output);
/* "new", "connecting", "connected", "failed", ... (RTCPeerConnectionState). */
char *lb_output_webrtc_get_state (LbOutputWebrtc *output);

/* How RTP timestamps map to wall-clock capture time: a frame stamped T was
 * produced at zero_unix_us + (T - timestamp_offset) / 90 kHz. For
 * glass-to-glass estimates (bench/browser). */
gboolean lb_output_webrtc_get_rtp_clock (LbOutputWebrtc *output, guint *timestamp_offset,
                                         gint64 *zero_unix_us);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LbOutputWebrtc, lb_output_webrtc_free)

G_END_DECLS
