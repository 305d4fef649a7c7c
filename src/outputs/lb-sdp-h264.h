/* lb-sdp-h264.h — which H.264 format of an SDP offer lobbyd sends on: the
 * offer's video m-lines read with GstSDP, the choice made by lb-h264-fmtp
 * (RFC 6184). Shared by both WebRTC stacks (webrtcbin and lite). */
#pragma once

#include <gst/sdp/sdp.h>
#include "lb-types.h"

G_BEGIN_DECLS

/* The payload type to send on, and in *@media_index (nullable) its m-line;
 * -1 and LB_ERROR_INVALID_SDP when no offered format fits. Formats must be
 * dynamic (96-127, plain decimal); @level_idc is the level the stream needs
 * (0: any). */
int lb_sdp_h264_choose (const GstSDPMessage *offer, guint level_idc, guint *media_index,
                        GError **error);

G_END_DECLS
