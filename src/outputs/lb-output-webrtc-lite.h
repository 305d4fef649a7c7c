/* lb-output-webrtc-lite.h — the "webrtc" transport for watch-only viewers
 * without webrtcbin: per viewer an `rtph264pay ! fakesink` branch (no queue,
 * no thread, like an RTP viewer) whose packets are SRTP-protected and sent
 * on the shared ICE-lite socket (lb-webrtc-host.h), and an SDP answer
 * written here (a=ice-lite, setup:passive, the offer's H.264 payload type
 * sendonly, the data channel rejected). Chosen by lb-output-webrtc.c when
 * [webrtc] stack = lite and the viewer does not control; the session, its
 * JSON and its end reasons are those of the webrtcbin path. */
#pragma once

#include "lb-output.h"

G_BEGIN_DECLS

/* TRUE when @spec's viewer takes the lite path under @config. */
gboolean lb_output_webrtc_lite_wanted (const LbSessionSpec *spec, const LbConfig *config);
/* Start-up with [webrtc] stack = lite: opens the shared sockets. */
gboolean lb_output_webrtc_lite_configure (const LbConfig *config, GError **error);
LbOutput *lb_output_webrtc_lite_open (LbTrack *track, const LbSessionSpec *spec,
                                      const LbOutputSetup *setup, GError **error);

G_END_DECLS
