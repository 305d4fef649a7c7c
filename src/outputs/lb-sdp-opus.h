/* lb-sdp-opus.h — where an SDP offer takes lobbyd's audio: the first audio
 * m-line that offers Opus as RFC 7587 names it (opus/48000/2), read with
 * GstSDP. Shared by both WebRTC stacks (webrtcbin and lite). */
#pragma once

#include <gst/sdp/sdp.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* TRUE with the Opus payload type in *@pt and its m-line's index in
 * *@mline (both nullable); FALSE (LB_ERROR_INVALID_SDP in @error, nullable)
 * when no audio m-line offers it: the viewer then gets video only. Only
 * dynamic payload types count (35-63, 96-127: never RTCP's 64-95 under
 * rtcp-mux); a disabled m-line (port 0 without a=bundle-only) is skipped. */
gboolean lb_sdp_opus_choose (const GstSDPMessage *offer, int *pt, guint *mline, GError **error);

G_END_DECLS
