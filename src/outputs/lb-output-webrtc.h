/* lb-output-webrtc.h — the "webrtc" transport: one browser viewer over
 * WebRTC (WHEP), a webrtcbin branch on an encode's track negotiated from the
 * viewer's SDP offer (the spec's offer; WHEP makes the spec with
 * lb_output_spec_new ("webrtc"), constrained-baseline H.264 at 2500 kbps).
 * Opened through lb_output_class_lookup ("webrtc"), with its settings from
 * the config's [webrtc] keys: negotiated (the class's `negotiated`): open
 * returns at once, the setup's on_ready says when the answer is
 * lb_output_get_answer() or why there is none;
 * data-channel text from control viewers is parsed (lb-input-json.h) into
 * the setup's on_input; a vanished viewer is its on_ended
 * ("connection_failed": ICE or DTLS failed, "connect_timeout": never
 * connected, "peer_timeout": connected, then silent for peer_timeout_s).
 * Stats add connection_state (RTCPeerConnectionState), input_dropped
 * (messages over the rate limit or the size limit, and messages that are no
 * input event) and rtp_clock (how RTP timestamps map to wall-clock capture time, for
 * glass-to-glass estimates). */
#pragma once

#include "lb-output.h"

G_BEGIN_DECLS

/* The H.264 payload type the offer accepts for packetization-mode 1 and a
 * constrained-baseline/baseline/main profile-level-id (RFC 6184 fmtp, any
 * order, defaults for missing parameters: lb-h264-fmtp.h), or -1 (error
 * set, LB_ERROR_INVALID_SDP: the client's mistake). Only dynamic payload
 * types (96-127, RFC 3551) written as plain decimal count. */
int lb_webrtc_offer_h264_payload (const char *offer_sdp, GError **error);

/* Input from one viewer is limited to this many messages a second, with
 * bursts up to INPUT_BURST, and to messages of INPUT_MAX_BYTES (an input
 * event is under 100); the rest is dropped on the data channel's thread,
 * before it reaches the main loop, and counted. */
#define LB_WEBRTC_INPUT_RATE 250
#define LB_WEBRTC_INPUT_BURST 100
#define LB_WEBRTC_INPUT_MAX_BYTES 4096

G_END_DECLS
